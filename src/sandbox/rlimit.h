#ifndef AMBER_RLIMIT_H
#define AMBER_RLIMIT_H

#include "spec/spec.h"

#include <stdbool.h>

/* Apply amber's defaults (no core dumps; a bounded open-file limit; in a
 * user namespace, RLIMIT_NPROC at the pids limit) and then the spec's
 * --ulimit entries. */
int rlimit_apply(const struct amber_spec *spec, bool userns, struct amber_error *err);

#endif
