#ifndef AMBER_RLIMIT_H
#define AMBER_RLIMIT_H

#include "spec/spec.h"

#include <stdbool.h>
#include <stdint.h>

/* Apply amber's defaults (no core dumps; a bounded open-file limit; in a
 * user namespace, RLIMIT_NPROC at the pids limit) and then the spec's
 * --ulimit entries. */
int rlimit_apply(const struct amber_spec *spec, bool userns, struct amber_error *err);
/* Exactly the spec's --ulimit entries, nothing of amber's defaults (OCI
 * bundles); what names them in errors ("process.rlimits"). */
int rlimit_apply_exact(const struct amber_spec *spec, const char *what, struct amber_error *err);
/* RLIMIT_DATA at data (the memory limit where no cgroup holds it; 0:
 * nothing to do), unless the spec sets RLIMIT_DATA itself. */
int rlimit_data_bound(const struct amber_spec *spec, uint64_t data, struct amber_error *err);

#endif
