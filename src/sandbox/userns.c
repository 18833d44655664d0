/* User namespace id maps.
 *
 * As host root (strict-agent, or --userns auto) the container's ids 0..N-1
 * map to an unprivileged host range, so "root" inside owns nothing outside:
 * the range is the first /etc/subuid (/etc/subgid) entry for "amber", else
 * AMBER_USERNS_DEFAULT_BASE: above the ranges useradd hands out
 * (SUB_UID_MAX is 600100000 on Debian), so it cannot overlap some user's
 * subordinate ids. Rootless, the only id an
 * unprivileged process may map is its own, so the sandbox gets one mapping
 * (your uid -> your uid); multi-range maps via newuidmap come later. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/sandbox.h"
#include "util/fs.h"

#define AMBER_USERNS_DEFAULT_BASE 1000000000u
#define AMBER_USERNS_DEFAULT_COUNT 65536u

void userns_host_range(const char *file, const char *name, uint32_t *start, uint32_t *count)
{
    char buf[8192];
    struct amber_error ignore;
    char *save = NULL;

    *start = AMBER_USERNS_DEFAULT_BASE;
    *count = AMBER_USERNS_DEFAULT_COUNT;
    if (fs_read_file(file, buf, sizeof(buf), &ignore) < 0)
        return;
    for (char *line = strtok_r(buf, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char user[64];
        unsigned long s, c;

        if (sscanf(line, "%63[^:]:%lu:%lu", user, &s, &c) != 3)
            continue;
        if (strcmp(user, name) == 0 && c > 0 && s > 0 && s < 0xffffffffUL &&
            c <= 0xffffffffUL - s) {
            *start = (uint32_t)s;
            *count = (uint32_t)(c < AMBER_USERNS_DEFAULT_COUNT ? c : AMBER_USERNS_DEFAULT_COUNT);
            return;
        }
    }
}

static int write_map(pid_t pid, const char *file, const struct id_map *m, struct amber_error *err)
{
    char path[64];
    char line[64];

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    snprintf(line, sizeof(line), "%u %u %u\n", m->inside, m->outside, m->count);
    if (fs_write_file(path, line, strlen(line), 0, 0, err) < 0)
        return amber_error_prefix(err, "user namespace map '%s'", line[0] ? file : file);
    return 0;
}

int userns_write_maps(pid_t pid, const struct sandbox_plan *plan, struct amber_error *err)
{
    if (!plan->host_root) {
        /* An unprivileged writer must deny setgroups before gid_map, so
         * the sandbox cannot drop a group the host uses to deny access. */
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
        if (fs_write_file(path, "deny", 4, 0, 0, err) < 0)
            return -1;
    }
    if (write_map(pid, "uid_map", &plan->uidmap, err) < 0 ||
        write_map(pid, "gid_map", &plan->gidmap, err) < 0)
        return -1;
    return 0;
}
