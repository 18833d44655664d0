#ifndef AMBER_RLIMIT_H
#define AMBER_RLIMIT_H

#include "spec/spec.h"

/* Apply amber's defaults (no core dumps; a bounded open-file limit) and
 * then the spec's --ulimit entries. */
int rlimit_apply(const struct amber_spec *spec, struct amber_error *err);

#endif
