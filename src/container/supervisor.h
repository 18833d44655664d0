/* Detached sandboxes: a supervisor process owns each one. */
#ifndef AMBER_SUPERVISOR_H
#define AMBER_SUPERVISOR_H

#include "backend/backend.h"
#include "container/state.h"

#define SUPERVISOR_LOG_MAX (8 << 20) /* a log rotates to log.1 past this */

/* Start spec detached under root: create the container's state, start a
 * supervisor (double fork, new session) that runs the sandbox, logs its
 * output with timestamps and records how it ends. Returns when the
 * sandbox runs (0, id filled) or failed to start (-1; nothing is left). */
int supervisor_start(const char *root, const struct amber_backend *backend,
                     const struct amber_spec *spec, const char *name, char id[65],
                     struct amber_error *err);

/* Bring a container whose supervisor died (e.g. SIGKILL) to a consistent
 * stopped state: cgroups removed, status stopped. Caller holds the lock. */
void supervisor_reap_lost(const char *root, struct container *c);

#endif
