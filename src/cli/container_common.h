/* Shared by the container verbs: resolve a reference, load and lock. */
#ifndef AMBER_CLI_CONTAINER_H
#define AMBER_CLI_CONTAINER_H

#include <stdbool.h>

#include "container/state.h"

/* Resolve ref, take the lock (if lockfd != NULL), load the state, and
 * notice a dead supervisor (recording the container as stopped). Prints
 * the error and returns -1 on failure. */
int cli_container_open(const char *ref, struct container *c, int *lockfd);
/* Does argv[i] ask for help? */
bool cli_wants_help(int argc, char **argv);
int cli_parse_format(const char *arg, bool *json);

#endif
