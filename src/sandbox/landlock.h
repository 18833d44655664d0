/* Landlock: unprivileged, stackable filesystem access control. Rules are
 * masked to the running kernel's ABI version so one binary works on old and
 * new kernels (the habit taken from minijail). */
#ifndef AMBER_LANDLOCK_H
#define AMBER_LANDLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* Abstract access classes; landlock.c maps them to the kernel's bits. */
enum {
    LL_READ = 1 << 0,   /* read files, list directories */
    LL_EXEC = 1 << 1,   /* execute files */
    LL_WRITE = 1 << 2,  /* write/truncate existing files */
    LL_CREATE = 1 << 3, /* create/remove/rename entries (files, dirs, symlinks) */
    LL_DEV = 1 << 4,    /* ioctl on device files (ABI >= 5) */
    LL_LIST = 1 << 5,   /* list directories only (READ_DIR), not read files */
};

struct landlock_path {
    const char *path; /* absolute, in the sandbox's view (after pivot_root) */
    unsigned access;  /* LL_* */
};

/* The kernel's Landlock ABI version, or 0 when Landlock is unavailable. */
int landlock_abi_version(void);

/* Restrict the calling thread to the given paths. Paths that do not exist
 * are skipped. Requires no_new_privs. Returns the ABI used via *abi. */
int landlock_apply(const struct landlock_path *paths, size_t n, int *abi, struct amber_error *err);

#endif
