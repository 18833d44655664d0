/* Resolving paths under a root without leaving it (resolve.c). */
#ifndef AMBER_RESOLVE_H
#define AMBER_RESOLVE_H

#include <stdbool.h>

#include "util/error.h"

/* Open path under rootfd without following symlinks (openat2
 * RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH, with a component-walk fallback for
 * kernels without openat2). Returns an O_PATH fd. */
int path_open_beneath(int rootfd, const char *path, int flags, struct amber_error *err);
/* Test hook: force the fallback path. */
extern bool path_force_fallback;

#endif
