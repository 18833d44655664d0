/* The verbs on a detached sandbox after it started, through its backend's
 * post-start slots (backend.h): the CLI only parses and prints. */
#ifndef AMBER_LIFECYCLE_H
#define AMBER_LIFECYCLE_H

#include <stdbool.h>

#include "backend/backend.h"
#include "container/state.h"

/* The backend the sandbox runs on (its state names it). */
const struct amber_backend *container_backend(const struct container *c);
/* What the backend's post-start slots get of c. */
void container_recorded(const struct container *c, struct amber_recorded *r);

/* Deliver sig: SIGKILL to its PID 1 (named by pidfd + start time, never a
 * bare pid), anything else to its supervisor, which forwards it as `amber
 * run` does; a paused sandbox is thawed so that the signal acts. */
int container_signal(const struct container *c, int sig, struct amber_error *err);
int container_freeze(const struct container *c, bool freeze, struct amber_error *err);
int container_usage(const struct container *c, struct cgroup_usage *u, struct amber_error *err);
/* Run argv inside c; returns its exit status, -1 with err before it ran. */
int container_exec(const struct container *c, char **argv, bool tty, bool interactive,
                   struct amber_error *err);

#endif
