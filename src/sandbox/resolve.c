/* Resolving paths inside a root that a user or a rootfs tree controls.
 *
 * A mount target such as "<rootfs>/tmp" must never be reached through a
 * symlink: a planted "tmp -> /etc" would otherwise put amber's mount on a
 * host directory. openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) refuses
 * both escapes and symlinks in the kernel; on kernels without openat2 (< 5.6)
 * the fallback walks the path one component at a time with O_NOFOLLOW, which
 * gives the same answer. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "sandbox/resolve.h"
#include "util/cleanup.h"

bool path_force_fallback;

static int walk_fallback(int rootfd, const char *path, int flags, struct amber_error *err)
{
    char buf[4096];
    char *save = NULL;
    int cur;

    if (strlen(path) >= sizeof(buf))
        return amber_error_set(err, ENAMETOOLONG, "resolve '%s'", path);
    strcpy(buf, path);
    cur = dup(rootfd);
    if (cur < 0)
        return amber_error_errno(err, "resolve '%s': dup", path);
    for (char *c = strtok_r(buf, "/", &save); c != NULL; c = strtok_r(NULL, "/", &save)) {
        int next;

        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0) {
            close(cur);
            return amber_error_set(err, EXDEV, "resolve '%s': '..' not allowed", path);
        }
        next = openat(cur, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        close(cur);
        if (next < 0)
            return amber_error_errno(err, "resolve '%s'", path);
        cur = next;
        {
            /* O_PATH|O_NOFOLLOW opens the symlink itself: refuse it. */
            char tmp[2];
            if (readlinkat(cur, "", tmp, sizeof(tmp)) >= 0) {
                close(cur);
                amber_error_set(err, 0,
                                "'%s' is or passes through a symlink; refusing to follow it", path);
                err->code = ELOOP;
                return -1;
            }
        }
    }
    if (flags & O_DIRECTORY) {
        cleanup_close int d = openat(cur, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (d < 0) {
            amber_error_errno(err, "resolve '%s'", path);
            close(cur);
            return -1;
        }
    }
    return cur;
}

int path_open_beneath(int rootfd, const char *path, int flags, struct amber_error *err)
{
    struct open_how how = {
        .flags = (uint64_t)(O_PATH | O_CLOEXEC | (flags & O_DIRECTORY)),
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    int fd;

    while (*path == '/')
        path++;
    if (*path == '\0')
        path = ".";
    if (path_force_fallback)
        return walk_fallback(rootfd, path, flags, err);
    fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
    if (fd >= 0)
        return fd;
    if (errno == ENOSYS || errno == EPERM /* seccomp'd container hosts */)
        return walk_fallback(rootfd, path, flags, err);
    if (errno == ELOOP) {
        amber_error_set(err, 0, "'%s' is or passes through a symlink; refusing to follow it", path);
        err->code = ELOOP;
        return -1;
    }
    if (errno == EXDEV) {
        amber_error_set(err, 0, "'%s' escapes the root", path);
        err->code = EXDEV;
        return -1;
    }
    return amber_error_errno(err, "resolve '%s'", path);
}
