/* Small file helpers with the error convention. */
#ifndef AMBER_FS_H
#define AMBER_FS_H

#include <stddef.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util/error.h"

/* Write len bytes to path (O_WRONLY|O_CLOEXEC, plus flags), retrying short writes. */
int fs_write_file(const char *path, const char *data, size_t len, int flags, mode_t mode,
                  struct amber_error *err);
/* Same, relative to dirfd. */
int fs_write_fileat(int dirfd, const char *path, const char *data, size_t len, int flags,
                    mode_t mode, struct amber_error *err);
/* Read up to cap-1 bytes of path into buf (NUL-terminated); returns length or -1. */
ssize_t fs_read_file(const char *path, char *buf, size_t cap, struct amber_error *err);
/* Read the whole file at path into a new NUL-terminated buffer; *len (if
 * not NULL) gets its length. NULL with err (naming path) on failure. */
char *fs_read_alloc(const char *path, size_t *len, struct amber_error *err);
/* Write all of buf to fd. */
int fs_write_all(int fd, const void *buf, size_t len);
/* Write data to path atomically: a temp file beside it, fsync, rename. */
int fs_write_atomic(const char *path, const char *data, size_t len, mode_t mode,
                    struct amber_error *err);
/* The same; durable = false skips the fsync: for files that describe live
 * processes (container state, pid files), which a crash makes moot anyway,
 * and whose readers only need the rename's atomicity. */
int fs_replace(const char *path, const char *data, size_t len, mode_t mode, bool durable,
               struct amber_error *err);

#endif
