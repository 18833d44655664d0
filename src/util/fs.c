#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/xalloc.h"

int fs_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int fs_write_fileat(int dirfd, const char *path, const char *data, size_t len, int flags,
                    mode_t mode, struct amber_error *err)
{
    cleanup_close int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | flags, mode);

    if (fd < 0)
        return amber_error_errno(err, "open '%s'", path);
    if (fs_write_all(fd, data, len) < 0)
        return amber_error_errno(err, "write '%s'", path);
    return 0;
}

int fs_write_file(const char *path, const char *data, size_t len, int flags, mode_t mode,
                  struct amber_error *err)
{
    return fs_write_fileat(AT_FDCWD, path, data, len, flags, mode, err);
}

char *fs_read_alloc(const char *path, size_t *len, struct amber_error *err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t n = 0, cap = 0;
    char *buf = NULL;

    if (fd < 0) {
        amber_error_errno(err, "open '%s'", path);
        return NULL;
    }
    for (;;) {
        ssize_t r;
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 16384;
            buf = xrealloc(buf, cap);
        }
        r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            amber_error_errno(err, "read '%s'", path);
            free(buf);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

ssize_t fs_read_file(const char *path, char *buf, size_t cap, struct amber_error *err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t off = 0;

    if (fd < 0)
        return amber_error_errno(err, "open '%s'", path);
    while (off + 1 < cap) {
        ssize_t r = read(fd, buf + off, cap - 1 - off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return amber_error_errno(err, "read '%s'", path);
        }
        if (r == 0)
            break;
        off += (size_t)r;
    }
    buf[off] = '\0';
    return (ssize_t)off;
}

int fs_write_atomic(const char *path, const char *data, size_t len, mode_t mode,
                    struct amber_error *err)
{
    return fs_replace(path, data, len, mode, true, err);
}

int fs_replace(const char *path, const char *data, size_t len, mode_t mode, bool durable,
               struct amber_error *err)
{
    cleanup_free char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);

    if (fd < 0)
        return amber_error_errno(err, "create '%s'", tmp);
    if (fs_write_all(fd, data, len) < 0 || (durable && fsync(fd) < 0)) {
        amber_error_errno(err, "write '%s'", tmp);
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        amber_error_errno(err, "rename '%s' to '%s'", tmp, path);
        unlink(tmp);
        return -1;
    }
    return 0;
}
