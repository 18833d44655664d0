/* The sandbox's filesystem: a new root, /dev, /proc, /etc, /tmp, the home,
 * then pivot_root into it.
 *
 * Why this is safe:
 * - The first step makes every mount private, so nothing below propagates
 *   back to the host's mount table (and nothing of the host's later mounts
 *   propagates in).
 * - Every mount target inside the new root is opened with
 *   path_open_beneath() (no symlinks, no escape) and mounted through its
 *   /proc/self/fd path, so a rootfs that plants "tmp -> /etc" cannot make
 *   amber mount over a host directory.
 * - Host directories enter only as read-only, nosuid, nodev bind mounts; the
 *   root itself is remounted read-only before the workload sees it (except
 *   --rootfs-mode overlay, whose writable layer is a private tmpfs).
 * - pivot_root + detaching the old root leaves no path back to the host's
 *   tree; chroot (escapable by a process with CAP_SYS_CHROOT) is used only
 *   in agent mode with --allow-chroot-fallback, and capabilities are gone
 *   before the workload runs in any case. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

/* Where the tmpfs root (or the overlay's layers) is assembled. This mount
 * exists only in the sandbox's private mount namespace. */
#define STAGING "/tmp"

struct fdpath {
    char s[32];
};

static struct fdpath fdp(int fd)
{
    struct fdpath p;
    snprintf(p.s, sizeof(p.s), "/proc/self/fd/%d", fd);
    return p;
}

static int do_mount(const char *src, const char *target, const char *what, const char *type,
                    unsigned long flags, const char *data, struct amber_error *err)
{
    if (mount(src, target, type, flags, data) < 0)
        return amber_error_errno(err, "mount %s", what);
    return 0;
}

/* Mount flags that must be carried over on a bind remount: in a user
 * namespace the kernel locks them, and dropping one gives EPERM. */
static unsigned long locked_flags(const char *path)
{
    struct statvfs sv;
    unsigned long f = 0;

    if (statvfs(path, &sv) < 0)
        return 0;
    if (sv.f_flag & ST_NOSUID)
        f |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV)
        f |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC)
        f |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME)
        f |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME)
        f |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME)
        f |= MS_RELATIME;
    return f;
}

static int remount_ro(const char *path, const char *what, unsigned long extra,
                      struct amber_error *err)
{
    unsigned long f = MS_REMOUNT | MS_BIND | MS_RDONLY | extra | locked_flags(path);
    return do_mount(NULL, path, what, NULL, f, NULL, err);
}

/* Open a mount target beneath root; a missing target is ENOENT. */
static int target(int rootfd, const char *rel, bool dir, struct amber_error *err)
{
    return path_open_beneath(rootfd, rel, dir ? O_DIRECTORY : 0, err);
}

/* Bind host path `src` read-only onto rel (created as dir or file). */
static int bind_ro(int rootfd, const char *src, const char *rel, bool dir, struct amber_error *err)
{
    cleanup_close int fd = -1;
    struct fdpath p;

    fd = target(rootfd, rel, dir, err);
    if (fd < 0)
        return -1;
    p = fdp(fd);
    if (do_mount(src, p.s, src, NULL, MS_BIND, NULL, err) < 0)
        return -1;
    /* fd still names the covered directory; look the path up again to reach
     * the new mount, which is what the remount must change. */
    close(fd);
    fd = target(rootfd, rel, dir, err);
    if (fd < 0)
        return -1;
    p = fdp(fd);
    return remount_ro(p.s, src, MS_NOSUID | MS_NODEV, err);
}

/* The host's system directories, each a read-only bind or, where the host
 * has a merged /usr symlink, the same symlink. */
static int system_dirs(int rootfd, struct amber_error *err)
{
    static const char *const dirs[] = {"usr", "bin", "sbin", "lib", "lib64", "lib32", "libx32"};

    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char host[16];
        char link[256];
        struct stat st;
        ssize_t n;

        snprintf(host, sizeof(host), "/%s", dirs[i]);
        if (lstat(host, &st) < 0)
            continue;
        if (S_ISLNK(st.st_mode)) {
            n = readlink(host, link, sizeof(link) - 1);
            if (n < 0)
                continue;
            link[n] = '\0';
            if (symlinkat(link, rootfd, dirs[i]) < 0)
                return amber_error_errno(err, "symlink /%s", dirs[i]);
            continue;
        }
        if (!S_ISDIR(st.st_mode))
            continue;
        if (mkdirat(rootfd, dirs[i], 0755) < 0)
            return amber_error_errno(err, "mkdir /%s", dirs[i]);
        if (bind_ro(rootfd, host, dirs[i], true, err) < 0)
            return -1;
    }
    return 0;
}

static int write_at(int dirfd, const char *rel, const char *text, struct amber_error *err)
{
    return fs_write_fileat(dirfd, rel, text, strlen(text), O_CREAT | O_EXCL | O_NOFOLLOW, 0644,
                           err);
}

/* A generated /etc: only what programs need to resolve users and hosts.
 * Never the host's shadow, never its real passwd. */
static int write_etc(int rootfd, const struct sandbox_plan *plan, struct amber_error *err)
{
    const struct amber_spec *spec = plan->spec;
    char buf[1024];

    if (mkdirat(rootfd, "etc", 0755) < 0)
        return amber_error_errno(err, "mkdir /etc");
    if (plan->uid == 0)
        snprintf(buf, sizeof(buf),
                 "root:x:0:0:root:" AMBER_HOME ":/bin/sh\n"
                 "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
    else
        snprintf(buf, sizeof(buf),
                 "root:x:0:0:root:/root:/bin/sh\n"
                 "agent:x:%u:%u:agent:" AMBER_HOME ":/bin/sh\n"
                 "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
                 plan->uid, plan->gid);
    if (write_at(rootfd, "etc/passwd", buf, err) < 0)
        return -1;
    if (plan->gid == 0)
        snprintf(buf, sizeof(buf), "root:x:0:\nnogroup:x:65534:\n");
    else
        snprintf(buf, sizeof(buf), "root:x:0:\nagent:x:%u:\nnogroup:x:65534:\n", plan->gid);
    if (write_at(rootfd, "etc/group", buf, err) < 0)
        return -1;
    snprintf(buf, sizeof(buf),
             "127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n",
             spec->hostname);
    if (write_at(rootfd, "etc/hosts", buf, err) < 0)
        return -1;
    if (write_at(rootfd, "etc/nsswitch.conf",
                 "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n", err) < 0)
        return -1;
    if (spec->network == AMBER_NET_HOST) {
        char rc[4096];
        struct amber_error ignore;
        if (fs_read_file("/etc/resolv.conf", rc, sizeof(rc), &ignore) < 0)
            rc[0] = '\0';
        return write_at(rootfd, "etc/resolv.conf", rc, err);
    }
    return write_at(rootfd, "etc/resolv.conf", "# no network: --network none\n", err);
}

/* Minimal /dev: a few host character devices bound in, a private devpts,
 * /dev/shm, and the fd links. Then /dev itself is made read-only. */
static int setup_dev(int rootfd, const struct sandbox_plan *plan, struct amber_error *err)
{
    static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
    cleanup_close int devfd = -1;
    struct fdpath p;
    char opts[96];

    devfd = target(rootfd, "dev", true, err);
    if (devfd < 0)
        return amber_error_prefix(err, "rootfs /dev");
    p = fdp(devfd);
    if (do_mount("tmpfs", p.s, "tmpfs on /dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
                 "mode=0755,size=64k", err) < 0)
        return -1;
    close(devfd);
    devfd = target(rootfd, "dev", true, err);
    if (devfd < 0)
        return -1;

    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        char host[32];
        cleanup_close int fd = -1;
        cleanup_close int t = -1;

        snprintf(host, sizeof(host), "/dev/%s", nodes[i]);
        fd = openat(devfd, nodes[i], O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
        if (fd < 0)
            return amber_error_errno(err, "create /dev/%s", nodes[i]);
        t = openat(devfd, nodes[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (t < 0)
            return amber_error_errno(err, "open /dev/%s", nodes[i]);
        p = fdp(t);
        if (mount(host, p.s, NULL, MS_BIND, NULL) < 0) {
            if (errno == ENOENT) /* host lacks it: leave the empty file out */
                continue;
            return amber_error_errno(err, "bind %s", host);
        }
    }

    if (mkdirat(devfd, "pts", 0755) < 0 || mkdirat(devfd, "shm", 01777) < 0)
        return amber_error_errno(err, "mkdir /dev/pts, /dev/shm");
    {
        cleanup_close int pts = openat(devfd, "pts", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (pts < 0)
            return amber_error_errno(err, "open /dev/pts");
        p = fdp(pts);
        /* gid=5 (tty) only when it exists for us: in a user namespace an
         * unmapped gid is EINVAL. */
        snprintf(opts, sizeof(opts), "newinstance,ptmxmode=0666,mode=0620%s",
                 plan->userns ? "" : ",gid=5");
        if (do_mount("devpts", p.s, "devpts on /dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, opts,
                     err) < 0)
            return -1;
    }
    {
        cleanup_close int shm = openat(devfd, "shm", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (shm < 0)
            return amber_error_errno(err, "open /dev/shm");
        p = fdp(shm);
        if (do_mount("tmpfs", p.s, "tmpfs on /dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                     "mode=1777", err) < 0)
            return -1;
    }
    if (symlinkat("pts/ptmx", devfd, "ptmx") < 0 || symlinkat("/proc/self/fd", devfd, "fd") < 0 ||
        symlinkat("/proc/self/fd/0", devfd, "stdin") < 0 ||
        symlinkat("/proc/self/fd/1", devfd, "stdout") < 0 ||
        symlinkat("/proc/self/fd/2", devfd, "stderr") < 0)
        return amber_error_errno(err, "symlinks in /dev");
    p = fdp(devfd);
    return remount_ro(p.s, "/dev read-only", MS_NOSUID | MS_NOEXEC, err);
}

/* A fresh /proc for the new pid namespace, with the paths that expose the
 * host kernel masked and the tunables read-only. */
static int setup_proc(int rootfd, struct amber_error *err)
{
    static const char *const mask_files[] = {
        "kcore",       "kallsyms",      "keys",        "key-users",     "timer_list",
        "sched_debug", "latency_stats", "timer_stats", "sysrq-trigger", "kpagecount",
        "kpageflags",  "kpagecgroup",   "config.gz",   "vmallocinfo",
    };
    static const char *const mask_dirs[] = {"acpi", "scsi", "asound", "firmware", "driver"};
    static const char *const ro_dirs[] = {"sys", "bus", "fs", "irq"};
    cleanup_close int procfd = -1;
    cleanup_close int mask_file = -1;
    cleanup_close int mask_dir = -1;
    struct fdpath p;

    procfd = target(rootfd, "proc", true, err);
    if (procfd < 0)
        return amber_error_prefix(err, "rootfs /proc");
    p = fdp(procfd);
    if (do_mount("proc", p.s, "proc on /proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
                 err) < 0)
        return -1;
    close(procfd);
    procfd = target(rootfd, "proc", true, err);
    if (procfd < 0)
        return -1;

    /* The first mask is a read-only bind of /dev/null (files) or a
     * read-only empty tmpfs (dirs); every further mask is a bind of that
     * first one, which copies its read-only flag: one mount call per path
     * instead of two (start-up time). */
    for (size_t i = 0; i < sizeof(mask_files) / sizeof(mask_files[0]); i++) {
        cleanup_close int fd = openat(procfd, mask_files[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            continue; /* not present on this kernel */
        p = fdp(fd);
        if (mask_file < 0) {
            if (mount("/dev/null", p.s, NULL, MS_BIND, NULL) < 0)
                return amber_error_errno(err, "mask /proc/%s", mask_files[i]);
            close(fd);
            fd = openat(procfd, mask_files[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0)
                return amber_error_errno(err, "reopen /proc/%s", mask_files[i]);
            p = fdp(fd);
            if (remount_ro(p.s, "/proc mask", MS_NOSUID | MS_NODEV | MS_NOEXEC, err) < 0)
                return -1;
            mask_file = steal_fd(&fd);
            continue;
        }
        if (mount(fdp(mask_file).s, p.s, NULL, MS_BIND, NULL) < 0)
            return amber_error_errno(err, "mask /proc/%s", mask_files[i]);
    }
    for (size_t i = 0; i < sizeof(mask_dirs) / sizeof(mask_dirs[0]); i++) {
        cleanup_close int fd =
            openat(procfd, mask_dirs[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            continue;
        p = fdp(fd);
        if (mask_dir < 0) {
            if (mount("tmpfs", p.s, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                      "size=0,mode=0555") < 0)
                return amber_error_errno(err, "mask /proc/%s", mask_dirs[i]);
            close(fd);
            fd = openat(procfd, mask_dirs[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0)
                return amber_error_errno(err, "reopen /proc/%s", mask_dirs[i]);
            mask_dir = steal_fd(&fd);
            continue;
        }
        if (mount(fdp(mask_dir).s, p.s, NULL, MS_BIND, NULL) < 0)
            return amber_error_errno(err, "mask /proc/%s", mask_dirs[i]);
    }
    for (size_t i = 0; i < sizeof(ro_dirs) / sizeof(ro_dirs[0]); i++) {
        cleanup_close int fd =
            openat(procfd, ro_dirs[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            continue;
        p = fdp(fd);
        if (mount(p.s, p.s, NULL, MS_BIND | MS_REC, NULL) < 0)
            return amber_error_errno(err, "bind /proc/%s", ro_dirs[i]);
        close(fd);
        fd = openat(procfd, ro_dirs[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return amber_error_errno(err, "reopen /proc/%s", ro_dirs[i]);
        p = fdp(fd);
        if (remount_ro(p.s, "/proc read-only", MS_NOSUID | MS_NODEV | MS_NOEXEC, err) < 0)
            return -1;
    }
    return 0;
}

/* A private tmpfs at rel (skipped when the rootfs lacks the directory and
 * cannot be written). */
static int tmpfs_at(int rootfd, const char *rel, const char *opts, bool required,
                    struct amber_error *err)
{
    cleanup_close int fd = target(rootfd, rel, true, err);
    struct fdpath p;

    if (fd < 0) {
        if (!required && err->code == ENOENT) {
            log_debug("rootfs has no /%s; not mounting a tmpfs there", rel);
            amber_error_clear(err);
            return 0;
        }
        return amber_error_prefix(err, "rootfs /%s", rel);
    }
    p = fdp(fd);
    return do_mount("tmpfs", p.s, rel, "tmpfs", MS_NOSUID | MS_NODEV, opts, err);
}

static int pivot(const struct sandbox_plan *plan, int rootfd, struct amber_error *err)
{
    if (fchdir(rootfd) < 0)
        return amber_error_errno(err, "chdir to the new root");
    if (syscall(SYS_pivot_root, ".", ".") == 0) {
        /* The old root is now stacked on "/"; detach it so no path leads back. */
        if (umount2(".", MNT_DETACH) < 0)
            return amber_error_errno(err, "detach the old root");
        if (chdir("/") < 0)
            return amber_error_errno(err, "chdir /");
        return 0;
    }
    if (plan->spec->allow_chroot_fallback && plan->spec->mode == AMBER_MODE_AGENT) {
        log_warn("pivot_root failed (%s); falling back to chroot (--allow-chroot-fallback)",
                 strerror(errno));
        if (chroot(".") < 0 || chdir("/") < 0)
            return amber_error_errno(err, "chroot");
        return 0;
    }
    return amber_error_errno(err, "pivot_root");
}

int rootfs_setup(const struct sandbox_plan *plan, struct amber_error *err)
{
    const struct amber_spec *spec = plan->spec;
    cleanup_close int rootfd = -1;
    char homeopts[96];
    bool own_root = spec->rootfs == NULL;
    bool writable_root = spec->rootfs_mode == AMBER_ROOTFS_OVERLAY;

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return amber_error_errno(err, "make mounts private");

    if (own_root) {
        if (do_mount("tmpfs", STAGING, "tmpfs root", "tmpfs", MS_NOSUID | MS_NODEV,
                     "mode=0755,size=1m", err) < 0)
            return -1;
        rootfd = open(STAGING, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
            return amber_error_errno(err, "open the new root");
        if (system_dirs(rootfd, err) < 0 || write_etc(rootfd, plan, err) < 0)
            return -1;
        if (mkdirat(rootfd, "dev", 0755) < 0 || mkdirat(rootfd, "proc", 0555) < 0 ||
            mkdirat(rootfd, "tmp", 01777) < 0 || mkdirat(rootfd, "home", 0755) < 0 ||
            mkdirat(rootfd, "home/agent", 0700) < 0 || mkdirat(rootfd, "root", 0700) < 0)
            return amber_error_errno(err, "mkdir in the new root");
    } else if (!writable_root) {
        /* Bound at the staging point, not onto itself: "/" bound onto "/"
         * would stack on the current root, which pivot_root refuses. */
        if (do_mount(spec->rootfs, STAGING, spec->rootfs, NULL, MS_BIND | MS_REC, NULL, err) < 0)
            return -1;
        rootfd = open(STAGING, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
            return amber_error_errno(err, "open rootfs '%s'", spec->rootfs);
    } else {
        cleanup_close int lower = open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        char opts[160];

        if (lower < 0)
            return amber_error_errno(err, "open rootfs '%s'", spec->rootfs);
        /* The lower dir is named by fd so that the staging tmpfs cannot hide
         * it even when it lives under /tmp. */
        snprintf(opts, sizeof(opts),
                 "lowerdir=/proc/self/fd/%d,upperdir=" STAGING "/upper,workdir=" STAGING "/work",
                 lower);
        if (do_mount("tmpfs", STAGING, "overlay staging tmpfs", "tmpfs", MS_NOSUID | MS_NODEV,
                     "mode=0755", err) < 0)
            return -1;
        if (mkdir(STAGING "/upper", 0755) < 0 || mkdir(STAGING "/work", 0755) < 0 ||
            mkdir(STAGING "/root", 0755) < 0)
            return amber_error_errno(err, "mkdir overlay layers");
        if (do_mount("overlay", STAGING "/root", "overlay root", "overlay", MS_NOSUID, opts, err) <
            0)
            return -1;
        rootfd = open(STAGING "/root", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
            return amber_error_errno(err, "open the overlay root");
        /* Make sure the standard mount points exist in the writable layer. */
        mkdirat(rootfd, "home", 0755);
        mkdirat(rootfd, "home/agent", 0700);
        mkdirat(rootfd, "tmp", 01777);
    }

    if (setup_dev(rootfd, plan, err) < 0 || setup_proc(rootfd, err) < 0)
        return -1;
    if (tmpfs_at(rootfd, "tmp", "mode=1777", own_root, err) < 0)
        return -1;
    snprintf(homeopts, sizeof(homeopts), "mode=0700,uid=%u,gid=%u", plan->uid, plan->gid);
    if (tmpfs_at(rootfd, "home/agent", homeopts, own_root, err) < 0)
        return -1;

    if (!writable_root) {
        struct fdpath p = fdp(rootfd);
        if (remount_ro(p.s, "root read-only", MS_NOSUID | MS_NODEV, err) < 0)
            return -1;
    }
    return pivot(plan, rootfd, err);
}
