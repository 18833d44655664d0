/* The namespace keeper of a detached sandbox (keeper.c): what `amber exec`
 * enters through. */
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

#endif
