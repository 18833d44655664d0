/* User namespace id maps (userns.c). */
#ifndef AMBER_USERNS_H
#define AMBER_USERNS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox/sandbox.h"

/* Write uid_map/gid_map (and setgroups) for pid. */
int userns_write_maps(pid_t pid, const struct sandbox_plan *plan, struct amber_error *err);
/* Pick the host range for the container's ids: the first /etc/subuid
 * (/etc/subgid) range of user `name`, else a fixed default. */
void userns_host_range(const char *file, const char *name, uint32_t *start, uint32_t *count);
/* The first range of `file` (/etc/subuid, /etc/subgid) for the user with
 * this uid (listed by name or number). Returns false when there is none. */
bool userns_find_range(const char *file, uid_t uid, uint32_t *start, uint32_t *count);
/* Is id mapped inside by one of the lines? */
bool userns_mapped(const struct id_map *maps, int n, uint32_t id);

#endif
