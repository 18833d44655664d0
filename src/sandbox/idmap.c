/* Idmapped mounts (idmap.h). */
#include "sandbox/idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

int idmap_userns(uint32_t disk_uid, uint32_t uid, uint32_t disk_gid, uint32_t gid,
                 struct amber_error *err)
{
    char path[64], line[64];
    int go[2], done[2], fd = -1;
    pid_t child;
    char c = 0;

    if (pipe2(go, O_CLOEXEC) < 0)
        return amber_error_errno(err, "idmap: pipe");
    if (pipe2(done, O_CLOEXEC) < 0) {
        close(go[0]);
        close(go[1]);
        return amber_error_errno(err, "idmap: pipe");
    }
    /* A child that only holds a new user namespace while its maps are
     * written and the namespace is opened; it does nothing else. */
    child = fork();
    if (child < 0) {
        amber_error_errno(err, "idmap: fork");
        goto out;
    }
    if (child == 0) {
        char b;
        close(go[0]);
        close(done[1]); /* EOF on done[0] once the parent closes its end */
        b = unshare(CLONE_NEWUSER) == 0 ? 1 : 0;
        if (write(go[1], &b, 1) != 1)
            _exit(1);
        while (read(done[0], &b, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    close(go[1]);
    go[1] = -1;
    close(done[0]);
    done[0] = -1;
    if (read(go[0], &c, 1) != 1 || c != 1) {
        amber_error_set(err, EPERM, "idmap: create a user namespace");
        goto out;
    }
    snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)child);
    snprintf(line, sizeof(line), "%u %u 1\n", disk_uid, uid);
    if (fs_write_file(path, line, strlen(line), 0, 0, err) < 0)
        goto out;
    snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)child);
    snprintf(line, sizeof(line), "%u %u 1\n", disk_gid, gid);
    if (fs_write_file(path, line, strlen(line), 0, 0, err) < 0)
        goto out;
    snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)child);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        amber_error_errno(err, "idmap: open %s", path);
out:
    if (done[1] >= 0)
        close(done[1]); /* the child's read ends: it exits */
    if (done[0] >= 0)
        close(done[0]);
    if (go[0] >= 0)
        close(go[0]);
    if (go[1] >= 0)
        close(go[1]);
    if (child > 0)
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
            ;
    return fd;
}

int idmap_tree(int srcfd, const char *src, int userns_fd, unsigned long ms_flags, bool *partial,
               struct amber_error *err)
{
    struct mount_attr attr;
    int fd;

    memset(&attr, 0, sizeof(attr));
    attr.attr_set = MOUNT_ATTR_IDMAP | mount_attr_of(ms_flags);
    attr.userns_fd = (uint64_t)userns_fd;
    *partial = false;
    /* The tree with its submounts, idmapped all through. A submount whose
     * file system cannot be idmapped fails the whole request (EINVAL):
     * then the top mount alone, without what is mounted below it. */
    fd = (int)syscall(SYS_open_tree, srcfd, "",
                      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
    if (fd < 0)
        return amber_error_errno(err, "open_tree '%s'", src);
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) == 0)
        return fd;
    close(fd);
    if (errno != EINVAL)
        return amber_error_errno(err, "idmap '%s'", src);
    fd =
        (int)syscall(SYS_open_tree, srcfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    if (fd < 0)
        return amber_error_errno(err, "open_tree '%s'", src);
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
        amber_error_errno(err, "idmap '%s'", src);
        close(fd);
        return -1;
    }
    *partial = true;
    return fd;
}

uint64_t mount_attr_of(unsigned long ms_flags)
{
    uint64_t a = 0;

    if (ms_flags & MS_RDONLY)
        a |= MOUNT_ATTR_RDONLY;
    if (ms_flags & MS_NOSUID)
        a |= MOUNT_ATTR_NOSUID;
    if (ms_flags & MS_NODEV)
        a |= MOUNT_ATTR_NODEV;
    if (ms_flags & MS_NOEXEC)
        a |= MOUNT_ATTR_NOEXEC;
    return a;
}

int mount_set_recursive(int dirfd, const char *path, unsigned long ms_flags,
                        struct amber_error *err)
{
    struct mount_attr attr;

    memset(&attr, 0, sizeof(attr));
    attr.attr_set = mount_attr_of(ms_flags);
    if (attr.attr_set == 0)
        return 0;
    if (syscall(SYS_mount_setattr, dirfd, path, AT_RECURSIVE | (path[0] ? 0 : AT_EMPTY_PATH), &attr,
                sizeof(attr)) < 0)
        return amber_error_errno(err, "set the flags of '%s' and its submounts",
                                 path[0] ? path : "mount");
    return 0;
}

int mount_move_tree(int tree, int tofd, const char *topath, struct amber_error *err)
{
    long rc;

    if (tofd >= 0)
        rc = syscall(SYS_move_mount, tree, "", tofd, "",
                     MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    else
        rc = syscall(SYS_move_mount, tree, "", AT_FDCWD, topath, MOVE_MOUNT_F_EMPTY_PATH);
    if (rc < 0)
        return amber_error_errno(err, "attach the idmapped mount at '%s'", topath);
    return 0;
}
