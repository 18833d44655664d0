/* The first process of a spec taken as written (an OCI container): the
 * bundle's config applied in
 * the order the runtime spec and the kernel need.
 *
 *  1. Close what the caller had open (but --preserve-fds and the plan's
 *     own), join the cgroup, wait for the parent (id maps written).
 *  2. Join the namespaces given by path, create the rest (the pid and user
 *     namespaces came with clone), become root of a new user namespace.
 *  3. createRuntime / prestart hooks (run by the parent, in the runtime's
 *     namespaces), createContainer hooks (here, before pivot_root).
 *  4. Root: rslave "/", bind the rootfs on itself, the config's mounts in
 *     order (targets resolved inside the rootfs: a symlink in the image can
 *     never point a mount at the host), default devices, pivot_root.
 *  5. sysctl, masked and read-only paths, read-only root, hostname, console.
 *  6. rlimits, then the capability sets and ids, cwd, no_new_privs.
 *  7. Report READY; with --detach stop depending on the parent; wait on
 *     exec.fifo until `start`; startContainer hooks; seccomp; exec.
 * Errors before READY go to the parent (SYNC_ERROR); after it, to stderr. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <sys/statvfs.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"
#include "sandbox/caps.h"
#include "sandbox/cgroup.h"
#include "sandbox/launch.h"
#include "sandbox/launch_written.h"
#include "sandbox/sandbox.h"
#include "sandbox/idmap.h"
#include "sandbox/seal.h"
#include "sandbox/sync.h"
#include "sandbox/rootfs.h"
#include "sandbox/net.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/passwd.h"
#include "util/xalloc.h"
#include "util/log.h"

extern char **environ;

__attribute__((noreturn)) static void fail(const struct written_plan *plan,
                                           const struct amber_error *err)
{
    sync_send(plan->sync_fd, SYNC_ERROR, 0, err);
    _exit(AMBER_EXIT_INTERNAL);
}

/* openat2 with the rootfs as "/": symlinks inside the image resolve inside
 * it, ".." stops at its top. */
static int written_open_in_root(int rootfd, const char *path, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .mode = 0,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    const char *p = path;

    while (*p == '/')
        p++;
    if (*p == '\0')
        return fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
    return (int)syscall(SYS_openat2, rootfd, p, &how, sizeof(how));
}

/* Create path inside the root (mkdir -p; the last component a file when
 * !dir) and return an O_PATH fd to it. */
static int make_in_root(int rootfd, const char *path, bool dir, int depth, struct amber_error *err)
{
    char buf[4096];
    size_t len = strlen(path);
    int fd;

    if (len >= sizeof(buf))
        return amber_error_set(err, ENAMETOOLONG, "'%s'", path);
    if (depth > 40)
        return amber_error_set(err, ELOOP, "'%s': too many symbolic links", path);
    fd = written_open_in_root(rootfd, path, O_PATH);
    if (fd >= 0 || errno != ENOENT)
        return fd >= 0 ? fd : amber_error_errno(err, "open '%s' in the rootfs", path);
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        bool last = i == len;
        char save;
        int pfd;
        char *slash;
        const char *name;

        if (!last && buf[i] != '/')
            continue;
        save = buf[i];
        buf[i] = '\0';
        fd = written_open_in_root(rootfd, buf, O_PATH);
        if (fd >= 0) {
            if (!last)
                close(fd);
            buf[i] = save;
            if (last)
                return fd;
            continue;
        }
        if (errno != ENOENT) {
            amber_error_errno(err, "open '%s' in the rootfs", buf);
            buf[i] = save;
            return -1;
        }
        slash = strrchr(buf, '/');
        name = slash + 1;
        *slash = '\0';
        pfd = written_open_in_root(rootfd, buf[0] == '\0' ? "/" : buf, O_PATH | O_DIRECTORY);
        *slash = '/';
        if (pfd < 0) {
            amber_error_errno(err, "open the parent of '%s' in the rootfs", buf);
            buf[i] = save;
            return -1;
        }
        {
            /* A dangling symlink on the way: what it names is made, inside
             * the rootfs (runc does the same; resolution stays in the root). */
            struct stat st;
            char target[4096], next[8192];
            ssize_t n;
            if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
                (n = readlinkat(pfd, name, target, sizeof(target) - 1)) > 0) {
                int r;
                target[n] = '\0';
                *slash = '\0';
                r = snprintf(next, sizeof(next), "%s%s%s%s", target[0] == '/' ? "" : buf,
                             target[0] == '/' ? "" : "/", target, last ? "" : path + i);
                *slash = '/';
                close(pfd);
                buf[i] = save;
                if (r < 0 || (size_t)r >= sizeof(next))
                    return amber_error_set(err, ENAMETOOLONG, "'%s'", path);
                return make_in_root(rootfd, next, dir, depth + 1, err);
            }
        }
        if (!last || dir) {
            if (mkdirat(pfd, name, 0755) < 0 && errno != EEXIST) {
                amber_error_errno(err, "mkdir '%s' in the rootfs", buf);
                close(pfd);
                return -1;
            }
        } else {
            int f = openat(pfd, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
            if (f < 0) {
                amber_error_errno(err, "create '%s' in the rootfs", buf);
                close(pfd);
                return -1;
            }
            close(f);
        }
        close(pfd);
        buf[i] = save;
        if (last) {
            fd = written_open_in_root(rootfd, buf, O_PATH);
            if (fd < 0)
                return amber_error_errno(err, "open '%s' in the rootfs", buf);
            return fd;
        }
    }
    return amber_error_set(err, EINVAL, "'%s': empty path", path);
}

static int written_make_in_root(int rootfd, const char *path, bool dir, struct amber_error *err)
{
    return make_in_root(rootfd, path, dir, 0, err);
}

static int written_remount(const char *target, unsigned long flags, struct amber_error *err)
{
    unsigned long f = MS_BIND | MS_REMOUNT | (flags & ~(MS_REC | MS_BIND | MS_REMOUNT));

    if (mount(NULL, target, NULL, f, NULL) == 0)
        return 0;
    /* In a user namespace the kernel locks the flags the mount had. */
    if (errno == EPERM && mount(NULL, target, NULL, f | mount_flags_of(target), NULL) == 0)
        return 0;
    return amber_error_errno(err, "remount '%s'", target);
}

static bool is_mounted_type(const char *type, const char *want)
{
    return type != NULL && strcmp(type, want) == 0;
}

/* Does a comma-separated option string hold mode=...? */
static bool has_mode_option(const char *data)
{
    for (const char *p = data; p != NULL && *p != '\0';) {
        if (strncmp(p, "mode=", 5) == 0)
            return true;
        p = strchr(p, ',');
        if (p != NULL)
            p++;
    }
    return false;
}

/* Copy the directory tree at src (the image's own /tmp, say) into dst:
 * "tmpcopyup" keeps an image's files visible under a tmpfs mounted over
 * them. Regular files, directories and symlinks; nothing else is copied. */
static int copy_tree(int src, int dst, struct amber_error *err)
{
    cleanup_closedir DIR *d = fdopendir(dup(src));
    struct dirent *e;

    if (d == NULL)
        return amber_error_errno(err, "tmpcopyup: read directory");
    while ((e = readdir(d)) != NULL) {
        struct stat st;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (fstatat(src, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return amber_error_errno(err, "tmpcopyup: stat '%s'", e->d_name);
        if (S_ISDIR(st.st_mode)) {
            cleanup_close int s2 = -1;
            cleanup_close int d2 = -1;
            if (mkdirat(dst, e->d_name, st.st_mode & 07777) < 0 && errno != EEXIST)
                return amber_error_errno(err, "tmpcopyup: mkdir '%s'", e->d_name);
            s2 = openat(src, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            d2 = openat(dst, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (s2 < 0 || d2 < 0 || copy_tree(s2, d2, err) < 0)
                return err->msg[0] ? -1 : amber_error_errno(err, "tmpcopyup: '%s'", e->d_name);
        } else if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t n = readlinkat(src, e->d_name, target, sizeof(target) - 1);
            if (n < 0)
                return amber_error_errno(err, "tmpcopyup: readlink '%s'", e->d_name);
            target[n] = '\0';
            if (symlinkat(target, dst, e->d_name) < 0)
                return amber_error_errno(err, "tmpcopyup: symlink '%s'", e->d_name);
        } else if (S_ISREG(st.st_mode)) {
            cleanup_close int in = openat(src, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            cleanup_close int out =
                openat(dst, e->d_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
            char buf[65536];
            ssize_t r;
            if (in < 0 || out < 0)
                return amber_error_errno(err, "tmpcopyup: copy '%s'", e->d_name);
            while ((r = read(in, buf, sizeof(buf))) > 0)
                if (fs_write_all(out, buf, (size_t)r) < 0)
                    return amber_error_errno(err, "tmpcopyup: write '%s'", e->d_name);
        } else {
            continue;
        }
        fchownat(dst, e->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
    }
    return 0;
}

static int do_mount(const struct written_plan *plan, int rootfd, const struct amber_mount_entry *m,
                    struct amber_error *err)
{
    struct stat st;
    bool dir = true;
    cleanup_close int tfd = -1;
    cleanup_close int below = -1;
    char target[64];
    unsigned long flags = m->flags & ~MS_REMOUNT;

    if (m->bind) {
        if (stat(m->src, &st) < 0)
            return amber_error_errno(err, "mount '%s': source '%s'", m->dst, m->src);
        dir = S_ISDIR(st.st_mode);
    }
    tfd = written_make_in_root(rootfd, m->dst, dir, err);
    if (tfd < 0)
        return amber_error_prefix(err, "mount '%s'", m->dst);
    snprintf(target, sizeof(target), "/proc/self/fd/%d", tfd);
    if (m->copy_up) {
        /* What the image has there, reachable after the tmpfs covers it. */
        below = written_open_in_root(rootfd, m->dst, O_RDONLY | O_DIRECTORY);
        if (below < 0)
            return amber_error_errno(err, "mount '%s': tmpcopyup", m->dst);
    }
    if (m->bind) {
        if (mount(m->src, target, NULL, MS_BIND | (m->recursive ? MS_REC : 0), NULL) < 0)
            return amber_error_errno(err, "bind '%s' on '%s'", m->src, m->dst);
    } else if (is_mounted_type(m->type, "cgroup") || is_mounted_type(m->type, "cgroup2")) {
        /* A container sees its own cgroup only through a cgroup namespace
         * on a unified host; elsewhere it gets an empty read-only tmpfs
         * rather than the host's hierarchy (docs/oci.md). */
        bool v2 = cgroup_detect_layout() == CGROUP_LAYOUT_V2 &&
                  plan->spec->written.ns_new[AMBER_NS_CGROUP];
        if (v2) {
            if (mount("cgroup2", target, "cgroup2", flags, NULL) < 0)
                return amber_error_errno(err, "mount cgroup2 on '%s'", m->dst);
        } else if (mount("tmpfs", target, "tmpfs", flags & ~MS_RDONLY, "mode=755,size=4k") < 0) {
            return amber_error_errno(err, "mount an empty tmpfs on '%s'", m->dst);
        }
        flags |= MS_RDONLY;
    } else {
        char data[4096];
        const char *d = m->data;
        struct stat below_st;
        int r;

        /* A tmpfs without mode= takes the mode of the directory it covers
         * (runc does the same), not tmpfs's own 1777. */
        if (is_mounted_type(m->type, "tmpfs") && (d == NULL || !has_mode_option(d)) &&
            fstat(tfd, &below_st) == 0 && S_ISDIR(below_st.st_mode)) {
            int n = snprintf(data, sizeof(data), "mode=%o%s%s", below_st.st_mode & 07777,
                             d != NULL && d[0] != '\0' ? "," : "", d != NULL ? d : "");
            if (n < 0 || (size_t)n >= sizeof(data))
                return amber_error_set(err, E2BIG, "mount '%s': options too long", m->dst);
            d = data;
        }
        r = mount(m->src != NULL ? m->src : m->type, target, m->type, flags, d);
        if (r < 0 && errno == EPERM &&
            (is_mounted_type(m->type, "sysfs") || is_mounted_type(m->type, "mqueue"))) {
            /* Without its own network (sysfs) or ipc (mqueue) namespace
             * owned by our user namespace the kernel refuses a new
             * instance: bind the host's, with the flags asked for. */
            const char *host = is_mounted_type(m->type, "sysfs") ? "/sys" : "/dev/mqueue";
            /* Recursive (a user namespace may not split /sys from its
             * submounts); the flags then go on every submount too. */
            r = mount(host, target, NULL, MS_BIND | MS_REC, NULL);
            if (r == 0 && mount_set_recursive(AT_FDCWD, target, flags, err) < 0)
                return amber_error_prefix(err, "mount '%s'", m->dst);
        } else if (r == 0) {
            flags = 0; /* applied by the mount itself */
        }
        if (r < 0)
            return amber_error_errno(err, "mount %s on '%s'", m->type, m->dst);
    }
    /* The fd names what was there before the mount: reopen it to reach the
     * new mount for the remount, the copy and the propagation change. */
    close(tfd);
    tfd = written_open_in_root(rootfd, m->dst, O_PATH);
    if (tfd < 0)
        return amber_error_errno(err, "mount '%s': reopen", m->dst);
    snprintf(target, sizeof(target), "/proc/self/fd/%d", tfd);
    if (below >= 0) {
        cleanup_close int top = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (top < 0 || copy_tree(below, top, err) < 0)
            return err->msg[0] ? amber_error_prefix(err, "mount '%s'", m->dst)
                               : amber_error_errno(err, "mount '%s': tmpcopyup", m->dst);
    }
    if ((flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME |
                  MS_RELATIME | MS_STRICTATIME)) != 0 &&
        written_remount(target, flags, err) < 0)
        return amber_error_prefix(err, "mount '%s'", m->dst);
    if (m->propagation != 0 && mount(NULL, target, NULL, m->propagation, NULL) < 0)
        return amber_error_errno(err, "mount '%s': set propagation", m->dst);
    return 0;
}

/* /dev/null, zero, full, random, urandom, tty: bound from the host (works
 * in a user namespace too, where mknod does not), unless the image or the
 * config already put something there. */
static int default_devices(const struct written_plan *plan, int rootfd, struct amber_error *err)
{
    static const char *const links[][2] = {{"fd", "/proc/self/fd"},
                                           {"stdin", "/proc/self/fd/0"},
                                           {"stdout", "/proc/self/fd/1"},
                                           {"stderr", "/proc/self/fd/2"}};
    const struct amber_written *oci = &plan->spec->written;
    cleanup_close int devfd = written_make_in_root(rootfd, "/dev", true, err);

    if (devfd < 0)
        return -1;
    for (size_t i = 0; i < oci->ndevices; i++) {
        const struct amber_device *d = &oci->devices[i];
        cleanup_close int tfd = -1;
        char target[64];
        mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;

        if (plan->host_root && !oci->ns_new[AMBER_NS_USER]) {
            cleanup_close int pfd = -1;
            char parent[4096];
            char *slash;
            snprintf(parent, sizeof(parent), "%s", d->path);
            slash = strrchr(parent, '/');
            *slash = '\0';
            pfd = written_make_in_root(rootfd, parent[0] ? parent : "/", true, err);
            if (pfd < 0)
                return -1;
            unlinkat(pfd, slash + 1, 0);
            if (mknodat(pfd, slash + 1, type | (d->mode & 07777),
                        makedev((unsigned)d->major, (unsigned)d->minor)) < 0)
                return amber_error_errno(err, "linux.devices: mknod '%s'", d->path);
            if (fchownat(pfd, slash + 1, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
                fchmodat(pfd, slash + 1, d->mode & 07777, 0) < 0)
                return amber_error_errno(err, "linux.devices: chown/chmod '%s'", d->path);
            continue;
        }
        tfd = written_make_in_root(rootfd, d->path, false, err);
        if (tfd < 0)
            return -1;
        snprintf(target, sizeof(target), "/proc/self/fd/%d", tfd);
        if (dev_bind_node(d->path, tfd, target, err) < 0)
            return amber_error_prefix(err, "linux.devices");
    }
    for (int i = 0; i < amber_default_devices_count; i++) {
        const char *dev = amber_default_devices[i].name;
        cleanup_close int tfd = -1;
        char target[64], host[32];
        struct stat st;

        if (fstatat(devfd, dev, &st, AT_SYMLINK_NOFOLLOW) == 0)
            continue;
        tfd = openat(devfd, dev, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (tfd < 0)
            return amber_error_errno(err, "create /dev/%s", dev);
        snprintf(target, sizeof(target), "/proc/self/fd/%d", tfd);
        snprintf(host, sizeof(host), "/dev/%s", dev);
        if (dev_bind_node(host, tfd, target, err) < 0)
            return amber_error_prefix(err, "the host's %s", host);
    }
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        if (symlinkat(links[i][1], devfd, links[i][0]) < 0 && errno != EEXIST)
            return amber_error_errno(err, "symlink /dev/%s", links[i][0]);
    }
    /* With a devpts of its own, /dev/ptmx must be that instance's. */
    if (faccessat(devfd, "pts/ptmx", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
        struct stat st;
        if (fstatat(devfd, "ptmx", &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode))
            unlinkat(devfd, "ptmx", 0);
        if (symlinkat("pts/ptmx", devfd, "ptmx") < 0 && errno != EEXIST)
            return amber_error_errno(err, "symlink /dev/ptmx");
    }
    return 0;
}

/* pivot_root refuses a new root whose parent mount is shared: with a
 * shared rootfsPropagation, make (only) that mount private, as runc does. */
static int parent_mount_private(const char *rootfs, struct amber_error *err)
{
    cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
    char parent[4096], best[4096] = "/";
    char line[8192];

    /* Called before rootfs is bound on itself: the mount holding it now is
     * the parent of that bind. */
    snprintf(parent, sizeof(parent), "%s", rootfs);
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        char mp[4096];
        size_t n;
        /* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... (mount points are octal-escaped;
         * a path with spaces simply does not match) */
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
            continue;
        n = strlen(mp);
        if (strncmp(parent, mp, n) == 0 && (parent[n] == '/' || parent[n] == '\0' || n == 1) &&
            n >= strlen(best))
            snprintf(best, sizeof(best), "%s", mp);
    }
    if (mount(NULL, best, NULL, MS_PRIVATE, NULL) < 0)
        return amber_error_errno(err, "linux.rootfsPropagation: make '%s' private", best);
    return 0;
}

static int setup_root(const struct written_plan *plan, const char *state, struct amber_error *err)
{
    const struct amber_spec *spec = plan->spec;
    const struct amber_written *oci = &plan->spec->written;
    cleanup_close int rootfd = -1;

    /* linux.rootfsPropagation (default rslave, as runc: the host's later
     * mounts still reach in, nothing mounted here reaches out) applies to
     * the whole tree before the container's own mounts, so a mount's own
     * propagation option is the last word for it. */
    if (mount(NULL, "/", NULL, oci->rootfs_propagation, NULL) < 0)
        return amber_error_errno(err, "linux.rootfsPropagation");
    if ((oci->rootfs_propagation & MS_SHARED) && parent_mount_private(spec->rootfs, err) < 0)
        return -1;
    if (mount(spec->rootfs, spec->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return amber_error_errno(err, "root.path '%s'", spec->rootfs);
    rootfd = open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return amber_error_errno(err, "root.path '%s'", spec->rootfs);
    for (size_t i = 0; i < oci->nmounts; i++)
        if (do_mount(plan, rootfd, &oci->mounts[i], err) < 0)
            return -1;
    if (default_devices(plan, rootfd, err) < 0)
        return -1;
    if (spec->tty) {
        /* The pty is bound here later (console_setup); the file must exist
         * before the root may turn read-only. */
        int fd = written_make_in_root(rootfd, "/dev/console", false, err);
        if (fd < 0)
            return amber_error_prefix(err, "process.terminal");
        close(fd);
    }
    /* The process's cwd is created when missing, as runc does: here,
     * before the root may turn read-only. */
    if (spec->workdir != NULL) {
        int fd = written_make_in_root(rootfd, spec->workdir, true, err);
        if (fd < 0)
            return amber_error_prefix(err, "process.cwd");
        close(fd);
    }
    if (oci->nhooks[AMBER_HOOK_CREATE_CONTAINER] > 0 &&
        hooks_run(oci->hooks[AMBER_HOOK_CREATE_CONTAINER], oci->nhooks[AMBER_HOOK_CREATE_CONTAINER],
                  "createContainer", state, err) < 0)
        return -1;
    if (fchdir(rootfd) < 0)
        return amber_error_errno(err, "chdir to the rootfs");
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return amber_error_errno(err, "pivot_root");
    if (umount2(".", MNT_DETACH) < 0)
        return amber_error_errno(err, "detach the old root");
    if (chdir("/") < 0)
        return amber_error_errno(err, "chdir /");
    return 0;
}

/* Is the process's uid 0 host uid 0 (no user namespace, or one that maps
 * 0 to 0)? */
static bool root_is_host_root(void)
{
    char buf[4096];
    struct amber_error ignore;
    char *save = NULL;

    if (fs_read_file("/proc/self/uid_map", buf, sizeof(buf), &ignore) < 0)
        return true;
    for (char *line = strtok_r(buf, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        unsigned long in, out, count;
        if (sscanf(line, "%lu %lu %lu", &in, &out, &count) == 3 && in == 0 && out == 0)
            return true;
    }
    return false;
}

/* When the container's uid 0 is host root, it owns procfs's global entries
 * (cpuinfo, slabinfo, tty/, driver/, ...): a chmod of one changes it for
 * the whole host (pid directories and /proc/sys refuse chmod themselves).
 * Each global entry of the procfs mounted at dst (followed: an image may
 * make /proc a symlink) that is not already a mount (masked, read-only) is
 * bound read-only onto itself, so that no metadata change gets through
 * (EROFS) while reads still work. */
static int lock_proc_entries(const char *dst, struct amber_error *err)
{
    cleanup_close int pfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cleanup_closedir DIR *d = NULL;
    char real[256], link[64];
    struct statx top;
    struct statfs sf;
    struct dirent *e;
    ssize_t n;
    bool batch;
    int nbound = 0;

    if (pfd < 0)
        return 0; /* nothing mounted there any more */
    if (fstatfs(pfd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
        return 0;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", pfd);
    n = readlink(link, real, sizeof(real) - 1);
    if (n <= 0 || (size_t)n >= sizeof(real) - 1)
        return amber_error_errno(err, "mount '%s': where procfs is", dst);
    real[n] = '\0';
    if (statx(pfd, "", AT_EMPTY_PATH, STATX_MNT_ID, &top) < 0 || !(top.stx_mask & STATX_MNT_ID))
        return 0;
    d = fdopendir(dup(pfd));
    if (d == NULL)
        return amber_error_errno(err, "mount '%s': list procfs", dst);
    /* mount_setattr (Linux 5.12) sets the flags of all binds in one call;
     * without it, each is remounted. */
    {
        struct mount_attr none = {0};
        batch = syscall(SYS_mount_setattr, pfd, "", AT_EMPTY_PATH, &none, sizeof(none)) == 0;
    }
    while ((e = readdir(d)) != NULL) {
        char path[512];
        struct statx sx;

        if (e->d_name[0] == '.' || (e->d_name[0] >= '0' && e->d_name[0] <= '9') ||
            e->d_type == DT_LNK || strcmp(e->d_name, "sys") == 0)
            continue;
        if (statx(pfd, e->d_name, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) < 0 ||
            sx.stx_mnt_id != top.stx_mnt_id)
            continue;
        snprintf(path, sizeof(path), "%s/%s", strcmp(real, "/") == 0 ? "" : real, e->d_name);
        if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
            if (errno == ENOENT)
                continue;
            return amber_error_errno(err, "bind procfs entry '%s' read-only", path);
        }
        if (!batch && written_remount(path, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, err) < 0)
            return -1;
        nbound++;
    }
    if (batch && nbound > 0) {
        /* Every bind at once: read-only (and the rest) for the whole tree
         * below this procfs, then read-write again for the procfs itself
         * (if it was): 2 calls instead of one remount per entry. */
        struct mount_attr clr = {.attr_clr = MOUNT_ATTR_RDONLY};
        if (mount_set_recursive(pfd, "", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, err) < 0)
            return amber_error_prefix(err, "lock procfs entries at '%s'", dst);
        if (!(sf.f_flags & ST_RDONLY) &&
            syscall(SYS_mount_setattr, pfd, "", AT_EMPTY_PATH, &clr, sizeof(clr)) < 0)
            return amber_error_errno(err, "procfs at '%s': read-write again", dst);
    }
    return 0;
}

static int apply_paths(const struct written_plan *plan, struct amber_error *err)
{
    const struct amber_written *oci = &plan->spec->written;
    const char *first_dir = NULL;

    for (size_t i = 0; oci->sysctl != NULL && oci->sysctl[i] != NULL; i++) {
        char path[512];
        const char *eq = strchr(oci->sysctl[i], '=');
        size_t klen = (size_t)(eq - oci->sysctl[i]);

        snprintf(path, sizeof(path), "/proc/sys/%.*s", (int)klen, oci->sysctl[i]);
        for (char *p = path + 10; *p != '\0'; p++)
            if (*p == '.')
                *p = '/';
        if (fs_write_file(path, eq + 1, strlen(eq + 1), 0, 0, err) < 0)
            return amber_error_prefix(err, "linux.sysctl %.*s", (int)klen, oci->sysctl[i]);
    }
    /* Before the masked and read-only paths: the lock's one recursive
     * mount_setattr must not reach their binds (a masked file bound from
     * /dev/null would become nodev, unreadable). */
    if (root_is_host_root()) {
        for (size_t i = 0; i < oci->nmounts; i++)
            if (is_mounted_type(oci->mounts[i].type, "proc") &&
                lock_proc_entries(oci->mounts[i].dst, err) < 0)
                return -1;
    }
    for (size_t i = 0; oci->masked != NULL && oci->masked[i] != NULL; i++) {
        const char *p = oci->masked[i];
        struct stat st;
        int r;

        if (lstat(p, &st) < 0) {
            if (errno == ENOENT)
                continue;
            return amber_error_errno(err, "linux.maskedPaths '%s'", p);
        }
        /* One empty read-only tmpfs; every further masked directory is a
         * bind of it (cheaper than a new superblock each, as rootfs.c does
         * for amber's own /proc masks). */
        if (S_ISDIR(st.st_mode) && first_dir == NULL) {
            r = mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                      "size=0,mode=000");
            first_dir = p;
        } else if (S_ISDIR(st.st_mode))
            r = mount(first_dir, p, NULL, MS_BIND, NULL);
        else
            r = mount("/dev/null", p, NULL, MS_BIND, NULL);
        if (r < 0)
            return amber_error_errno(err, "linux.maskedPaths '%s'", p);
    }
    for (size_t i = 0; oci->readonly != NULL && oci->readonly[i] != NULL; i++) {
        const char *p = oci->readonly[i];
        if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
            if (errno == ENOENT)
                continue;
            return amber_error_errno(err, "linux.readonlyPaths '%s'", p);
        }
        if (written_remount(p, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, err) < 0)
            return amber_error_prefix(err, "linux.readonlyPaths");
    }
    if (oci->root_readonly && written_remount("/", MS_RDONLY, err) < 0)
        return amber_error_prefix(err, "root.readonly");
    return 0;
}

/* --console-socket: a pty from the container's own devpts; the master
 * goes to the engine, the terminal becomes the process's stdio. */
int written_console_send(int sock, unsigned short rows, unsigned short cols, char *name,
                         size_t namecap, struct amber_error *err)
{
    cleanup_close int master = -1;
    int unlock = 0, n = -1, slave;

    snprintf(name, namecap, "/dev/pts/?");
    master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) < 0)
        return amber_error_errno(err, "process.terminal: open /dev/ptmx in the container");
    slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        return amber_error_errno(err, "process.terminal: open the pty");
    if (ioctl(master, TIOCGPTN, &n) == 0)
        snprintf(name, namecap, "/dev/pts/%d", n);
    if (rows > 0) {
        struct winsize ws = {.ws_row = rows, .ws_col = cols};
        ioctl(slave, TIOCSWINSZ, &ws);
    }
    /* The message carries the pty's name, as runc's does. */
    if (send_fd(sock, name, strlen(name), master) < 0) {
        amber_error_errno(err, "--console-socket: send the terminal");
        close(slave);
        return -1;
    }
    return slave;
}

/* --console-socket: the pty goes to the engine; its terminal becomes the
 * process's stdio and the spec's /dev/console (created in setup_root,
 * before the root may turn read-only). */
static int console_setup(const struct written_plan *plan, int *slave, struct amber_error *err)
{
    char name[64];

    *slave = written_console_send(plan->console_fd, plan->spec->written.console_rows,
                                  plan->spec->written.console_cols, name, sizeof(name), err);
    if (*slave < 0)
        return -1;
    close(plan->console_fd);
    if (mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0)
        return amber_error_errno(err, "process.terminal: bind the pty to /dev/console");
    return 0;
}

const struct amber_spec *written_with_home(const struct amber_spec *spec, struct amber_spec *copy)
{
    char home[PATH_MAX];

    if (spec_getenv(spec, "HOME") != NULL)
        return spec;
    if (passwd_field("/etc/passwd", spec->uid, 5, home, sizeof(home)) != 1 || home[0] == '\0')
        snprintf(home, sizeof(home), "/");
    *copy = *spec;
    copy->env = xcalloc(spec->nenv + 2, sizeof(char *));
    if (spec->nenv > 0)
        memcpy(copy->env, spec->env, spec->nenv * sizeof(char *));
    copy->env[spec->nenv] = xasprintf("HOME=%s", home);
    copy->nenv = spec->nenv + 1;
    return copy;
}

int written_apply_process(const struct amber_spec *spec, const struct seccomp_program *seccomp,
                          bool setgroups_ok, struct amber_error *err)
{
    const struct amber_written *oci = &spec->written;
    /* The launch sequence's process steps, with the bundle's choices. */
    gid_t groups[64];
    size_t ngroups = spec->ngroups < 64 ? spec->ngroups : 64;
    struct launch_process lp = {
        .limits = spec,
        .uid = spec->uid,
        .gid = spec->gid,
        .groups = groups,
        .ngroups = ngroups,
        .setgroups_ok = setgroups_ok,
        .workdir = spec->workdir,
        .as_written = spec->defaults == AMBER_DEFAULTS_AS_WRITTEN,
        .caps = oci->caps,
        .no_new_privs = oci->no_new_privs,
        .has_umask = oci->has_umask,
        .umask = oci->umask,
        .seccomp = seccomp,
        .seccomp_late = true,
    };
    const char *warning;

    for (size_t i = 0; i < ngroups; i++)
        groups[i] = spec->groups[i];
    return launch_process_steps(&lp, &warning, err);
}

/* What execvp would run: args[0] if it has a '/', else the first match
 * on the process's PATH (its env, else the default). */
int written_find_executable(const struct amber_spec *spec, struct amber_error *err)
{
    const char *name = spec->argv[0];
    const char *path = "/bin:/usr/bin"; /* execvp's own default without PATH */

    if (strchr(name, '/') != NULL) {
        if (access(name, X_OK) == 0)
            return 0;
        amber_error_coded(err, errno, "process.args[0] '%s': %s", name,
                          errno == ENOENT ? "not found in the container" : strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < spec->nenv; i++)
        if (strncmp(spec->env[i], "PATH=", 5) == 0)
            path = spec->env[i] + 5;
    for (const char *p = path;;) {
        size_t n = strcspn(p, ":");
        char full[4096];
        if (snprintf(full, sizeof(full), "%.*s/%s", (int)n, n ? p : ".", name) <
                (int)sizeof(full) &&
            access(full, X_OK) == 0)
            return 0;
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    amber_error_coded(err, ENOENT, "process.args[0] '%s': not found in the container's PATH", name);
    return -1;
}

/* Block until `start` writes to exec.fifo. */
static void wait_for_start(int fifo)
{
    struct pollfd p = {.fd = fifo, .events = POLLIN};
    char c;

    for (;;) {
        int r = poll(&p, 1, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            _exit(AMBER_EXIT_INTERNAL);
        r = (int)read(fifo, &c, 1);
        if (r == 1)
            break;
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        _exit(AMBER_EXIT_INTERNAL);
    }
    close(fifo);
}

__attribute__((noreturn)) static void die_after_ready(const struct amber_error *err, int status)
{
    dprintf(STDERR_FILENO, "amber: %s\n", err->msg);
    _exit(status ? status : AMBER_EXIT_INTERNAL);
}

void written_child(const struct written_plan *plan)
{
    const struct amber_spec *spec = plan->spec;
    const struct amber_written *oci = &plan->spec->written;
    struct amber_error err;
    struct sync_msg msg;
    int unshare_flags = 0;
    int tty = -1;
    bool userns = oci->ns_new[AMBER_NS_USER];
    char *state;
    struct amber_spec home_spec;
    const struct amber_spec *exec_spec = spec;

    amber_error_clear(&err);
    /* 1. Nothing the caller had open but the preserved fds and the plan's
     * own reaches the container (a state lock held here would block every
     * verb on it until the process execs). */
    {
        int keep[3 + AMBER_NS_COUNT + CGROUP_MAX_PATHS];
        int nkeep = 0;
        keep[nkeep++] = plan->sync_fd;
        keep[nkeep++] = plan->fifo_fd;
        keep[nkeep++] = plan->console_fd;
        for (int t = 0; t < AMBER_NS_COUNT; t++)
            keep[nkeep++] = plan->ns_fds[t];
        for (int i = 0; i < plan->ncgroup_fds; i++)
            keep[nkeep++] = plan->cgroup_fds[i];
        /* The plan's fds are all above the preserved ones. The log sink's
         * fd goes too: nothing may write to its number later. */
        amber_log_set_sink_fd(-1);
        if (seal_fds_from(3 + plan->preserve_fds, keep, (size_t)nkeep, &err) < 0)
            fail(plan, &err);
    }
    /* Until it execs, this process is amber's own, visible to whatever
     * runs in the container (an `exec` into a created container, a hook):
     * without the caller's environment and, after GO, non-dumpable
     * (seal.h). Its descriptors are close-on-exec below and unreachable
     * meanwhile. */
    seal_environment("amber-init");
    for (int i = 0; i < plan->ncgroup_fds; i++) {
        if (write(plan->cgroup_fds[i], "0", 1) != 1) {
            amber_error_errno(&err, "join the container's cgroup");
            fail(plan, &err);
        }
        close(plan->cgroup_fds[i]);
    }
    if (syscall(SYS_close_range, 3U + (unsigned)plan->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        for (int fd = 3 + plan->preserve_fds; fd < 1024; fd++)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    seal_preserved(3 + plan->preserve_fds);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (sync_recv(plan->sync_fd, &msg) != 1 || msg.type != SYNC_GO)
        _exit(AMBER_EXIT_INTERNAL);
    /* Non-dumpable once the parent has written the id maps (without root
     * it does so as this process's owner, which a non-dumpable process's
     * /proc files no longer have). */
    seal_undumpable();
    /* Hooks run from here read the state with our pid on the host. */
    state =
        written_state_doc(oci->id, "creating", (pid_t)msg.status, oci->bundle, oci->annotations, 0);
    if (oci->has_oom_score_adj) {
        char v[16];
        snprintf(v, sizeof(v), "%d", oci->oom_score_adj);
        if (fs_write_file("/proc/self/oom_score_adj", v, strlen(v), 0, 0, &err) < 0) {
            amber_error_prefix(&err, "process.oomScoreAdj");
            fail(plan, &err);
        }
    }

    /* 2. */
    if (userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
        amber_error_errno(&err, "become root of the user namespace");
        fail(plan, &err);
    }
    seal_undumpable(); /* after any uid change (fs.suid_dumpable) */
    for (int t = 0; t < AMBER_NS_COUNT; t++) {
        if (plan->ns_fds[t] < 0 || t == AMBER_NS_PID)
            continue;
        if (setns(plan->ns_fds[t], 0) < 0) {
            amber_error_errno(&err, "linux.namespaces: join %s namespace '%s'", amber_ns_name(t),
                              oci->ns_path[t]);
            fail(plan, &err);
        }
        close(plan->ns_fds[t]);
    }
    if (oci->ns_new[AMBER_NS_MNT])
        unshare_flags |= CLONE_NEWNS;
    if (oci->ns_new[AMBER_NS_NET])
        unshare_flags |= CLONE_NEWNET;
    if (oci->ns_new[AMBER_NS_IPC])
        unshare_flags |= CLONE_NEWIPC;
    if (oci->ns_new[AMBER_NS_UTS])
        unshare_flags |= CLONE_NEWUTS;
    if (oci->ns_new[AMBER_NS_CGROUP])
        unshare_flags |= CLONE_NEWCGROUP;
    if (unshare_flags != 0 && unshare(unshare_flags) < 0) {
        amber_error_errno(&err, "linux.namespaces: create the namespaces");
        fail(plan, &err);
    }
    if (oci->ns_new[AMBER_NS_NET] && net_loopback_up(&err) < 0)
        fail(plan, &err);

    /* 3. */
    if (oci->nhooks[AMBER_HOOK_PRESTART] + oci->nhooks[AMBER_HOOK_CREATE_RUNTIME] > 0) {
        if (sync_send(plan->sync_fd, WRITTEN_SYNC_HOOKS, 0, NULL) < 0 ||
            sync_recv(plan->sync_fd, &msg) != 1 || msg.type != SYNC_GO)
            _exit(AMBER_EXIT_INTERNAL);
    }

    /* 4. */
    if (setup_root(plan, state, &err) < 0)
        fail(plan, &err);

    /* 5. */
    if (apply_paths(plan, &err) < 0)
        fail(plan, &err);
    if (oci->ns_new[AMBER_NS_UTS] && spec->hostname != NULL &&
        sethostname(spec->hostname, strlen(spec->hostname)) < 0) {
        amber_error_errno(&err, "hostname '%s'", spec->hostname);
        fail(plan, &err);
    }
    if (oci->ns_new[AMBER_NS_UTS] && oci->domainname != NULL &&
        setdomainname(oci->domainname, strlen(oci->domainname)) < 0) {
        amber_error_errno(&err, "domainname '%s'", oci->domainname);
        fail(plan, &err);
    }
    if (plan->console_fd >= 0 && console_setup(plan, &tty, &err) < 0)
        fail(plan, &err);
    /* Without a terminal of its own the container gets its own session
     * (runc and crun do the same): left in the caller's, it could TIOCSTI
     * input into the caller's terminal. */
    if (tty < 0 && setsid() < 0) {
        amber_error_errno(&err, "setsid");
        fail(plan, &err);
    }

    /* 6. The container's /etc/passwd, now "/etc/passwd", names HOME when
     * the process has none (before the ids change: root reads it). */
    exec_spec = written_with_home(spec, &home_spec);
    if (written_apply_process(spec, oci->has_seccomp ? &oci->seccomp : NULL,
                              !userns || plan->host_root, &err) < 0)
        fail(plan, &err);

    /* An engine learns at create, not after start, that the command is
     * missing. */
    if (written_find_executable(spec, &err) < 0)
        fail(plan, &err);

    /* 7. */
    if (sync_send(plan->sync_fd, SYNC_READY, 0, NULL) < 0)
        _exit(AMBER_EXIT_INTERNAL);
    if (plan->detach) {
        /* The parent has saved the state and is about to exit: from now on
         * the container must survive it. The ack tells it we did. */
        if (sync_recv(plan->sync_fd, &msg) != 1 || msg.type != WRITTEN_SYNC_DETACH)
            _exit(AMBER_EXIT_INTERNAL);
        prctl(PR_SET_PDEATHSIG, 0);
        if (sync_send(plan->sync_fd, WRITTEN_SYNC_ACK, 0, NULL) < 0)
            _exit(AMBER_EXIT_INTERNAL);
    }
    close(plan->sync_fd);
    if (plan->fifo_fd >= 0)
        wait_for_start(plan->fifo_fd);
    if (oci->nhooks[AMBER_HOOK_START_CONTAINER] > 0 &&
        hooks_run(oci->hooks[AMBER_HOOK_START_CONTAINER], oci->nhooks[AMBER_HOOK_START_CONTAINER],
                  "startContainer", state, &err) < 0)
        die_after_ready(&err, 0);
    if (oci->has_seccomp && oci->no_new_privs && seccomp_program_load(&oci->seccomp, &err) < 0)
        die_after_ready(&err, 0);
    amber_exec_workload(exec_spec, tty, &err);
    die_after_ready(&err, err.status);
}

int hooks_run(const struct amber_hook_cmd *hooks, size_t n, const char *kind, const char *state,
              struct amber_error *err)
{
    return hooks_run_from(hooks, 0, n, kind, state, err);
}

int hooks_run_from(const struct amber_hook_cmd *hooks, size_t first, size_t n, const char *kind,
                   const char *state, struct amber_error *err)
{
    for (size_t i = first; i < n; i++) {
        const struct amber_hook_cmd *h = &hooks[i];
        int in[2], st = 0;
        pid_t pid;
        long waited_ms = 0;

        if (pipe2(in, O_CLOEXEC) < 0)
            return amber_error_errno(err, "hooks.%s[%zu]: pipe", kind, i);
        pid = fork();
        if (pid < 0) {
            close(in[0]);
            close(in[1]);
            return amber_error_errno(err, "hooks.%s[%zu]: fork", kind, i);
        }
        if (pid == 0) {
            char *const dflt_args[] = {h->path, NULL};
            sigset_t none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, NULL);
            dup2(in[0], STDIN_FILENO);
            /* Without "env" a hook gets the runtime's environment, as
             * runc's do (Go's exec with a nil Env). */
            execve(h->path, h->args != NULL ? h->args : dflt_args,
                   h->env != NULL ? h->env : environ);
            _exit(127);
        }
        close(in[0]);
        fs_write_all(in[1], state, strlen(state));
        close(in[1]);
        for (;;) {
            pid_t r = waitpid(pid, &st, h->timeout > 0 ? WNOHANG : 0);
            if (r == pid)
                break;
            if (r < 0 && errno != EINTR)
                return amber_error_errno(err, "hooks.%s[%zu]: wait", kind, i);
            if (r == 0) {
                struct timespec ts = {0, 10 * 1000 * 1000};
                if (waited_ms >= (long)h->timeout * 1000) {
                    kill(pid, SIGKILL);
                    waitpid(pid, &st, 0);
                    return amber_error_set(err, ETIMEDOUT,
                                           "hooks.%s[%zu] '%s': timed out after %d s", kind, i,
                                           h->path, h->timeout);
                }
                nanosleep(&ts, NULL);
                waited_ms += 10;
            }
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return amber_error_set(err, 0, "hooks.%s[%zu] '%s' failed (%s %d)", kind, i, h->path,
                                   WIFEXITED(st) ? "exit status" : "signal",
                                   WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    }
    return 0;
}
