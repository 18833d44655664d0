#ifndef AMBER_RLIMIT_H
#define AMBER_RLIMIT_H

#include "spec/spec.h"

#include <stdbool.h>
#include <stdint.h>

/* Apply amber's defaults (no core dumps; a bounded open-file limit; in a
 * user namespace, RLIMIT_NPROC at the pids limit; RLIMIT_DATA at data
 * when it is not 0: the memory limit where no cgroup holds it) and then
 * the spec's --ulimit entries. */
int rlimit_apply(const struct amber_spec *spec, bool userns, uint64_t data,
                 struct amber_error *err);

#endif
