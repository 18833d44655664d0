/* amber exec: a second process in a running detached sandbox. */
#ifndef AMBER_CONTAINER_EXEC_H
#define AMBER_CONTAINER_EXEC_H

#include <stdbool.h>

#include "container/state.h"
#include "spec/spec.h"

/* Start the namespace keeper for c (a child of this process, the
 * supervisor): it holds PID 1's namespaces (amber_started.nsfds) and hands
 * them to `exec` over the socket sock; c's exec policy records sock. */
int container_ns_keeper_start(struct container *c, const char *sock, const int *nsfds,
                              struct amber_error *err);

/* Run argv inside c: enter its cgroup and every namespace of its PID 1,
 * then the same capability drop, no_new_privs, Landlock and seccomp as
 * the sandbox's own workload. Returns the process's exit status (128+N
 * for signal N), or -1 with err before it ran. */
int container_exec(const struct container *c, char **argv, bool tty, bool interactive,
                   struct amber_error *err);

#endif
