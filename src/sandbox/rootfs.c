/* The sandbox's filesystem: a new root, /dev, /proc, /etc, /tmp, the home,
 * then pivot_root into it.
 *
 * Why this is safe:
 * - The first step makes every mount private, so nothing below propagates
 *   back to the host's mount table (and nothing of the host's later mounts
 *   propagates in).
 * - Mount targets in a root amber did not make (--rootfs, and the overlay
 *   whose lower layer is the user's) are opened with path_open_beneath()
 *   (no symlinks, no escape) and mounted through their /proc/self/fd path,
 *   so a rootfs that plants "tmp -> /etc" is refused, and swapping a
 *   directory for a symlink after the check changes nothing. In amber's own
 *   tmpfs root every entry was made by this process in a private mount
 *   namespace, so targets there are addressed by plain path (cheaper: no
 *   /proc lookups on the start path).
 * - Host directories enter only as read-only, nosuid, nodev bind mounts; the
 *   root itself is remounted read-only before the workload sees it (except
 *   --rootfs-mode overlay, whose writable layer is a private tmpfs).
 * - pivot_root + detaching the old root leaves no path back to the host's
 *   tree; chroot (escapable by a process with CAP_SYS_CHROOT) is used only
 *   in agent mode with --allow-chroot-fallback, and capabilities are gone
 *   before the workload runs in any case. */
#include <errno.h>
#include <linux/mount.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/idmap.h"
#include "sandbox/sandbox.h"
#include "sandbox/resolve.h"
#include "sandbox/rootfs.h"
#include "util/cleanup.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/log.h"

/* Where the new root (or the overlay's layers) is assembled. This mount
 * exists only in the sandbox's private mount namespace. */
#define STAGING "/tmp"

/* Flags of amber's own mounts, carried on remounts (a user namespace locks
 * them: dropping one would be EPERM). MS_RELATIME is the kernel's default. */
#define PROC_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME)

/* noexec for the workload's own writable space, unless --allow-write-exec. */
static unsigned long write_noexec(const struct amber_spec *spec)
{
    return spec->allow_write_exec ? 0 : MS_NOEXEC;
}

/* Options of one of amber's private tmpfs mounts (/tmp, /dev/shm, the
 * home): base plus a size of the memory limit. Their pages are charged to
 * the sandbox's memory cgroup, so together they stay within the limit;
 * where no cgroup could be made, the size still bounds each one (the
 * kernel's default is half the host's RAM, per mount). */
static const char *tmpfs_opts(const struct amber_spec *spec, const char *base, char *buf,
                              size_t cap)
{
    if (spec->memory == 0)
        snprintf(buf, cap, "%s", base);
    else
        snprintf(buf, cap, "%s,size=%llu", base, (unsigned long long)spec->memory);
    return buf;
}

struct root {
    int fd;           /* O_PATH fd of the new root */
    bool trusted;     /* amber's own tmpfs root: address targets by path */
    bool creatable;   /* missing mount points may be created (own root, overlay) */
    const char *base; /* the new root's path in this mount namespace */
};

/* A mount target inside the root, as a path the mount calls accept. */
struct target {
    int fd; /* -1 for trusted roots */
    char path[PATH_MAX];
};

static void target_close(struct target *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

static int target_open(const struct root *r, const char *rel, bool dir, struct target *t,
                       struct amber_error *err)
{
    t->fd = -1;
    if (r->trusted) {
        snprintf(t->path, sizeof(t->path), "%s/%s", r->base, rel);
        return 0;
    }
    t->fd = path_open_beneath(r->fd, rel, dir ? O_DIRECTORY : 0, err);
    if (t->fd < 0)
        return -1;
    snprintf(t->path, sizeof(t->path), "/proc/self/fd/%d", t->fd);
    return 0;
}

/* After a mount on the target, an fd opened before it still names the
 * covered inode: look the path up again to reach the new mount. */
static int target_reopen(const struct root *r, const char *rel, bool dir, struct target *t,
                         struct amber_error *err)
{
    if (r->trusted)
        return 0;
    target_close(t);
    return target_open(r, rel, dir, t, err);
}

static int do_mount(const char *src, const char *target, const char *what, const char *type,
                    unsigned long flags, const char *data, struct amber_error *err)
{
    if (mount(src, target, type, flags, data) < 0)
        return amber_error_errno(err, "mount %s", what);
    return 0;
}

/* Mount flags of a mount we did not make (a host directory, a user's
 * rootfs): they must be carried over on a bind remount. */
unsigned long mount_flags_of(const char *path)
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

static int remount_ro(const char *path, const char *what, unsigned long flags,
                      struct amber_error *err)
{
    return do_mount(NULL, path, what, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | flags, NULL, err);
}

int dev_bind_node(const char *host, int tofd, const char *target, struct amber_error *err)
{
    /* The node itself is the host's inode: bound read-only, so that no
     * chmod, chown, utimes or setxattr from the sandbox reaches it (EROFS;
     * a utimes "now" needs only write permission, which 0666 nodes give
     * everyone). Reading and writing the device are not file system writes
     * and work on a read-only mount. A target named by path (amber's own
     * root) is bound and remounted through that path; one named by an fd
     * (a root amber did not make) gets a detached bind, read-only before it
     * is attached there. */
    cleanup_close int tree = -1;

    if (tofd < 0) {
        static unsigned long locked = ~0UL; /* the host /dev's flags, read once */
        if (mount(host, target, NULL, MS_BIND, NULL) < 0)
            return amber_error_errno(err, "bind %s", host);
        if (locked == ~0UL)
            locked = mount_flags_of(host);
        if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked, NULL) < 0)
            return amber_error_errno(err, "%s read-only", host);
        return 0;
    }
    tree = (int)syscall(SYS_open_tree, AT_FDCWD, host, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0)
        return amber_error_errno(err, "bind %s", host);
    if (mount_set_recursive(tree, "", MS_RDONLY | MS_NOSUID | MS_NOEXEC, err) < 0)
        return amber_error_prefix(err, "%s", host);
    return mount_move_tree(tree, tofd, target, err);
}

/* Bind host directory `src` read-only, nosuid, nodev onto rel. */
static int bind_ro(const struct root *r, const char *src, const char *rel, bool dir,
                   struct amber_error *err)
{
    struct target t;
    int rc;

    if (target_open(r, rel, dir, &t, err) < 0)
        return -1;
    rc = do_mount(src, t.path, src, NULL, MS_BIND, NULL, err);
    if (rc == 0)
        rc = target_reopen(r, rel, dir, &t, err);
    if (rc == 0)
        rc = remount_ro(t.path, src, MS_NOSUID | MS_NODEV | mount_flags_of(t.path), err);
    target_close(&t);
    return rc;
}

/* Host /etc entries that belong to the system directories rather than to
 * the host's configuration: the alternatives symlinks (/usr/bin/cc ->
 * /etc/alternatives/cc -> gcc) and the loader's cache. Read-only binds;
 * missing ones are skipped. Nothing else of the host's /etc comes in. */
static int system_etc(const struct root *r, struct amber_error *err)
{
    struct stat st;

    if (stat("/etc/alternatives", &st) == 0 && S_ISDIR(st.st_mode)) {
        if (mkdirat(r->fd, "etc/alternatives", 0755) < 0 ||
            bind_ro(r, "/etc/alternatives", "etc/alternatives", true, err) < 0)
            return amber_error_prefix(err, "/etc/alternatives");
    }
    if (stat("/etc/ld.so.cache", &st) == 0 && S_ISREG(st.st_mode)) {
        int fd = openat(r->fd, "etc/ld.so.cache", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0)
            return amber_error_errno(err, "create /etc/ld.so.cache");
        close(fd);
        if (bind_ro(r, "/etc/ld.so.cache", "etc/ld.so.cache", false, err) < 0)
            return -1;
    }
    return 0;
}

/* The host's system directories, each a read-only bind or, where the host
 * has a merged /usr symlink, the same symlink. */
static int system_dirs(const struct root *r, struct amber_error *err)
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
            if (symlinkat(link, r->fd, dirs[i]) < 0)
                return amber_error_errno(err, "symlink /%s", dirs[i]);
            continue;
        }
        if (!S_ISDIR(st.st_mode))
            continue;
        if (mkdirat(r->fd, dirs[i], 0755) < 0)
            return amber_error_errno(err, "mkdir /%s", dirs[i]);
        if (bind_ro(r, host, dirs[i], true, err) < 0)
            return -1;
    }
    return 0;
}

static int write_at(int dirfd, const char *rel, const char *text, struct amber_error *err)
{
    return fs_write_fileat(dirfd, rel, text, strlen(text), O_CREAT | O_EXCL | O_NOFOLLOW, 0644,
                           err);
}
static int write_etc(int rootfd, const struct sandbox_plan *plan, struct amber_error *err)
{
    const struct amber_spec *spec = plan->spec;
    char buf[1024];

    if (mkdirat(rootfd, "etc", 0755) < 0)
        return amber_error_errno(err, "mkdir /etc");
    if (plan->uid == 0)
        snprintf(buf, sizeof(buf),
                 "root:x:0:0:root:%s:/bin/sh\n"
                 "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
                 spec_home(spec));
    else
        snprintf(buf, sizeof(buf),
                 "root:x:0:0:root:/root:/bin/sh\n"
                 "agent:x:%u:%u:agent:%s:/bin/sh\n"
                 "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
                 plan->uid, plan->gid, spec_home(spec));
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

const struct amber_dev_node amber_default_devices[] = {
    {"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
    {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};
const int amber_default_devices_count =
    (int)(sizeof(amber_default_devices) / sizeof(amber_default_devices[0]));

/* Minimal /dev: a few host character devices bound in, a private devpts,
 * /dev/shm, and the fd links. Then /dev itself is made read-only. */
static int setup_dev(const struct root *r, const struct sandbox_plan *plan, struct amber_error *err)
{
    struct target dev, t;
    cleanup_close int devfd = -1;
    char opts[96];
    int rc = -1;

    if (target_open(r, "dev", true, &dev, err) < 0)
        return amber_error_prefix(err, "rootfs /dev");
    if (do_mount("tmpfs", dev.path, "tmpfs on /dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
                 "mode=0755,size=64k", err) < 0 ||
        target_reopen(r, "dev", true, &dev, err) < 0)
        goto out;
    devfd = open(dev.path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (devfd < 0) {
        amber_error_errno(err, "open /dev");
        goto out;
    }
    /* Entries of the fresh tmpfs are ours: address them below dev.path. */
    for (int i = 0; i < amber_default_devices_count; i++) {
        const char *node = amber_default_devices[i].name;
        char host[32];
        int fd = openat(devfd, node, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);

        if (fd < 0) {
            amber_error_errno(err, "create /dev/%s", node);
            goto out;
        }
        close(fd);
        snprintf(host, sizeof(host), "/dev/%s", node);
        snprintf(t.path, sizeof(t.path), "%s/%s", dev.path, node);
        /* ENOENT: the host lacks the device; the empty file stays. */
        if (dev_bind_node(host, -1, t.path, err) < 0 && err->code != ENOENT)
            goto out;
    }
    if (mkdirat(devfd, "pts", 0755) < 0 || mkdirat(devfd, "shm", 01777) < 0) {
        amber_error_errno(err, "mkdir /dev/pts, /dev/shm");
        goto out;
    }
    /* gid=5 (tty) only outside a user namespace, where it is mapped. */
    snprintf(opts, sizeof(opts), "newinstance,ptmxmode=0666,mode=0620%s",
             plan->userns ? "" : ",gid=5");
    snprintf(t.path, sizeof(t.path), "%s/pts", dev.path);
    if (do_mount("devpts", t.path, "devpts on /dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, opts,
                 err) < 0)
        goto out;
    snprintf(t.path, sizeof(t.path), "%s/shm", dev.path);
    if (do_mount("tmpfs", t.path, "tmpfs on /dev/shm", "tmpfs",
                 MS_NOSUID | MS_NODEV | write_noexec(plan->spec),
                 tmpfs_opts(plan->spec, "mode=1777", opts, sizeof(opts)), err) < 0)
        goto out;
    if (symlinkat("pts/ptmx", devfd, "ptmx") < 0 || symlinkat("/proc/self/fd", devfd, "fd") < 0 ||
        symlinkat("/proc/self/fd/0", devfd, "stdin") < 0 ||
        symlinkat("/proc/self/fd/1", devfd, "stdout") < 0 ||
        symlinkat("/proc/self/fd/2", devfd, "stderr") < 0) {
        amber_error_errno(err, "symlinks in /dev");
        goto out;
    }
    rc = remount_ro(dev.path, "/dev read-only", MS_NOSUID | MS_NOEXEC | MS_RELATIME, err);
out:
    target_close(&dev);
    return rc;
}

/* A fresh /proc for the new pid namespace, with the paths that expose the
 * host kernel masked and the tunables read-only. */
static int setup_proc(const struct root *r, struct amber_error *err)
{
    static const char *const mask_files[] = {
        "kcore",       "kallsyms",      "keys",        "key-users",     "timer_list",
        "sched_debug", "latency_stats", "timer_stats", "sysrq-trigger", "kpagecount",
        "kpageflags",  "kpagecgroup",   "config.gz",   "vmallocinfo",
    };
    static const char *const mask_dirs[] = {"acpi", "scsi", "asound", "firmware", "driver"};
    static const char *const ro_dirs[] = {"sys", "bus", "fs", "irq"};
    struct target proc;
    char p[PATH_MAX + 32];
    char mask_file[PATH_MAX + 32] = "";
    char mask_dir[PATH_MAX + 32] = "";
    struct stat st;
    int rc = -1;

    if (target_open(r, "proc", true, &proc, err) < 0)
        return amber_error_prefix(err, "rootfs /proc");
    if (do_mount("proc", proc.path, "proc on /proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
                 err) < 0 ||
        target_reopen(r, "proc", true, &proc, err) < 0)
        goto out;

    /* Names below are looked up in the fresh procfs, which has no symlinks
     * among them. The first mask is a read-only bind of /dev/null (files)
     * or a read-only empty tmpfs (dirs); every further mask is a bind of
     * that first one, which copies its read-only flag: one mount call per
     * path instead of two. */
    for (size_t i = 0; i < sizeof(mask_files) / sizeof(mask_files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", proc.path, mask_files[i]);
        if (lstat(p, &st) < 0)
            continue; /* not on this kernel */
        if (mask_file[0] == '\0') {
            if (do_mount("/dev/null", p, "mask on /proc", NULL, MS_BIND, NULL, err) < 0 ||
                remount_ro(p, "mask on /proc", PROC_FLAGS, err) < 0)
                goto out;
            snprintf(mask_file, sizeof(mask_file), "%s", p);
        } else if (do_mount(mask_file, p, "mask on /proc", NULL, MS_BIND, NULL, err) < 0) {
            goto out;
        }
    }
    for (size_t i = 0; i < sizeof(mask_dirs) / sizeof(mask_dirs[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", proc.path, mask_dirs[i]);
        if (lstat(p, &st) < 0 || !S_ISDIR(st.st_mode))
            continue;
        if (mask_dir[0] == '\0') {
            if (do_mount("tmpfs", p, "mask on /proc", "tmpfs", MS_RDONLY | PROC_FLAGS,
                         "size=0,mode=0555", err) < 0)
                goto out;
            snprintf(mask_dir, sizeof(mask_dir), "%s", p);
        } else if (do_mount(mask_dir, p, "mask on /proc", NULL, MS_BIND, NULL, err) < 0) {
            goto out;
        }
    }
    for (size_t i = 0; i < sizeof(ro_dirs) / sizeof(ro_dirs[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", proc.path, ro_dirs[i]);
        if (lstat(p, &st) < 0 || !S_ISDIR(st.st_mode))
            continue;
        if (do_mount(p, p, "read-only /proc dir", NULL, MS_BIND | MS_REC, NULL, err) < 0 ||
            remount_ro(p, "read-only /proc dir", PROC_FLAGS, err) < 0)
            goto out;
    }
    rc = 0;
out:
    target_close(&proc);
    return rc;
}

/* A private tmpfs at rel; a --rootfs without the directory gets none. */
static int tmpfs_at(const struct root *r, const char *rel, unsigned long flags, const char *opts,
                    bool required, struct amber_error *err)
{
    struct target t;
    int rc;

    if (target_open(r, rel, true, &t, err) < 0) {
        if (!required && err->code == ENOENT) {
            log_debug("rootfs has no /%s; not mounting a tmpfs there", rel);
            amber_error_clear(err);
            return 0;
        }
        return amber_error_prefix(err, "rootfs /%s", rel);
    }
    rc = do_mount("tmpfs", t.path, rel, "tmpfs", flags, opts, err);
    target_close(&t);
    return rc;
}

/* Create the mount point rel (a directory, or an empty file when !dir)
 * below the root, walking without following symlinks; missing parents are
 * created when the root allows it. */
static int ensure_target(const struct root *r, const char *rel, bool dir, uid_t uid, gid_t gid,
                         struct amber_error *err)
{
    char buf[PATH_MAX];
    char *save = NULL;
    char *c, *next;
    int cur;

    if (strlen(rel) >= sizeof(buf))
        return amber_error_set(err, ENAMETOOLONG, "mount point '/%s'", rel);
    strcpy(buf, rel);
    cur = dup(r->fd);
    if (cur < 0)
        return amber_error_errno(err, "mount point '/%s'", rel);
    for (c = strtok_r(buf, "/", &save); c != NULL; c = next) {
        bool last;
        int fd;

        next = strtok_r(NULL, "/", &save);
        last = next == NULL;
        fd = openat(cur, c, O_PATH | O_NOFOLLOW | O_CLOEXEC | ((last && !dir) ? 0 : O_DIRECTORY));
        if (fd < 0 && errno == ENOENT && r->creatable) {
            if (last && !dir) {
                int f = openat(cur, c, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (f >= 0)
                    close(f);
            } else {
                mkdirat(cur, c, 0755);
            }
            /* Made inside the workload's own space (its home): its owner. */
            if (uid != (uid_t)-1)
                fchownat(cur, c, uid, gid, AT_SYMLINK_NOFOLLOW);
            fd = openat(cur, c,
                        O_PATH | O_NOFOLLOW | O_CLOEXEC | ((last && !dir) ? 0 : O_DIRECTORY));
        }
        if (fd < 0) {
            int e = errno;
            close(cur);
            if (e == ENOTDIR || e == ELOOP)
                return amber_error_set(
                    err, 0, "mount point '/%s': '%s' is a symlink or not a directory", rel, c);
            if (e == ENOENT)
                return amber_error_set(err, ENOENT,
                                       "mount point '/%s': missing in the read-only rootfs", rel);
            return amber_error_set(err, e, "mount point '/%s'", rel);
        }
        close(cur);
        cur = fd;
    }
    close(cur);
    return 0;
}

unsigned long sandbox_mount_flags(const struct amber_mount *m)
{
    return MS_NOSUID | MS_NODEV | (m->exec ? 0 : MS_NOEXEC) | (m->readonly ? MS_RDONLY : 0);
}

/* --volume, --tmpfs, --workspace, --context, --provider-config-*, and the
 * /run/secrets tmpfs: each mount point made (or checked) without following
 * symlinks, then mounted with nosuid, nodev and, unless executable,
 * noexec. */
static int setup_surface(const struct root *r, const struct sandbox_plan *plan, const int *srcfds,
                         const int *trees, struct amber_error *err)
{
    const struct amber_spec *spec = plan->spec;

    for (size_t i = 0; i < spec->nmounts; i++) {
        const struct amber_mount *m = &spec->mounts[i];
        const char *rel = m->dst + 1;
        struct stat st;
        bool dir = true;
        struct target t;
        int rc;

        if (m->kind == AMBER_MOUNT_BIND && fstat(srcfds[i], &st) == 0 && !S_ISDIR(st.st_mode))
            dir = false;
        bool in_home = m->role == AMBER_ROLE_PROVIDER_CONFIG;
        if (ensure_target(r, rel, dir, in_home ? plan->uid : (uid_t)-1,
                          in_home ? plan->gid : (gid_t)-1, err) < 0 ||
            target_open(r, rel, dir, &t, err) < 0)
            return amber_error_prefix(err, "%s", m->dst);
        if (m->kind == AMBER_MOUNT_TMPFS) {
            char opts[128];
            int mode = m->mode >= 0 ? m->mode : (m->role == AMBER_ROLE_TMPFS ? 01777 : 0755);
            int n = snprintf(opts, sizeof(opts), "mode=%o,uid=%u,gid=%u", (unsigned)mode, plan->uid,
                             plan->gid);
            if (m->size)
                snprintf(opts + n, sizeof(opts) - (size_t)n, ",size=%llu",
                         (unsigned long long)m->size);
            rc = do_mount("tmpfs", t.path, m->dst, "tmpfs", sandbox_mount_flags(m), opts, err);
        } else if (trees[i] >= 0) {
            /* Idmapped by amber on the host side, its flags already set on
             * every mount of the tree. */
            rc = mount_move_tree(trees[i], t.fd, t.path, err);
        } else {
            char src[32];
            snprintf(src, sizeof(src), "/proc/self/fd/%d", srcfds[i]);
            rc = do_mount(src, t.path, m->src, NULL, MS_BIND | MS_REC, NULL, err);
            if (rc == 0)
                rc = target_reopen(r, rel, dir, &t, err);
            /* The flags on the bind and every submount it brought along (a
             * read-only volume's submounts are read-only too). */
            if (rc == 0) {
                rc = mount_set_recursive(AT_FDCWD, t.path, sandbox_mount_flags(m), err);
                if (rc < 0 && err->code == ENOSYS) /* Linux < 5.12: the top mount only */
                    rc = do_mount(NULL, t.path, m->dst, NULL,
                                  MS_REMOUNT | MS_BIND | sandbox_mount_flags(m) |
                                      mount_flags_of(t.path),
                                  NULL, err);
            }
        }
        target_close(&t);
        if (rc < 0)
            return -1;
    }
    if (spec->nsecrets > 0) {
        struct target t;
        char opts[96];
        int rc;

        /* In memory only, readable by the workload user alone. Filled after
         * pivot_root from the payload, then made read-only. */
        snprintf(opts, sizeof(opts), "mode=0700,uid=%u,gid=%u,size=%u", plan->uid, plan->gid,
                 (unsigned)(spec->nsecrets * (1u << 20) + (1u << 16)));
        if (ensure_target(r, &AMBER_SECRETS[1], true, (uid_t)-1, (gid_t)-1, err) < 0 ||
            target_open(r, &AMBER_SECRETS[1], true, &t, err) < 0)
            return amber_error_prefix(err, "--secret");
        rc = do_mount("tmpfs", t.path, AMBER_SECRETS, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                      opts, err);
        target_close(&t);
        if (rc < 0)
            return -1;
    }
    return 0;
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

static int setup_root(const struct sandbox_plan *plan, const int *srcfds, const int *trees,
                      struct amber_error *err);

int rootfs_setup(const struct sandbox_plan *plan, const int *trees, struct amber_error *err)
{
    const struct amber_spec *spec = plan->spec;
    int srcfds[SANDBOX_MAX_MOUNTS];
    int rc = -1;

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return amber_error_errno(err, "make mounts private");
    /* Open every bind source now: the staging tmpfs about to cover /tmp
     * must not hide one that lives there, and each is resolved once. All
     * -1 first: a failed open leaves the rest unopened, and they are
     * closed below. */
    for (size_t i = 0; i < SANDBOX_MAX_MOUNTS; i++)
        srcfds[i] = -1;
    for (size_t i = 0; i < spec->nmounts && i < SANDBOX_MAX_MOUNTS; i++) {
        if (spec->mounts[i].kind != AMBER_MOUNT_BIND)
            continue;
        if (fault_hit("rootfs-open")) {
            errno = EIO;
            srcfds[i] = -1;
        } else {
            srcfds[i] = open(spec->mounts[i].src, O_PATH | O_CLOEXEC);
        }
        if (srcfds[i] < 0) {
            amber_error_errno(err, "open '%s'", spec->mounts[i].src);
            goto out;
        }
    }
    if (spec->nmounts > SANDBOX_MAX_MOUNTS) {
        amber_error_set(err, 0, "too many mounts (at most %d)", SANDBOX_MAX_MOUNTS);
        goto out;
    }
    rc = setup_root(plan, srcfds, trees, err);
out:
    for (size_t i = 0; i < spec->nmounts && i < SANDBOX_MAX_MOUNTS; i++) {
        if (srcfds[i] >= 0)
            close(srcfds[i]);
    }
    return rc;
}

static int setup_root(const struct sandbox_plan *plan, const int *srcfds, const int *trees,
                      struct amber_error *err)
{
    int rootfs_tree = trees[SANDBOX_TREE_ROOTFS];
    const struct amber_spec *spec = plan->spec;
    cleanup_close int rootfd = -1;
    struct root r = {.fd = -1, .trusted = false, .base = STAGING};
    char homeopts[128], tmpopts[96];
    bool own_root = spec->rootfs == NULL;
    bool writable_root = spec->rootfs_mode == AMBER_ROOTFS_OVERLAY;

    if (own_root) {
        if (do_mount("tmpfs", STAGING, "tmpfs root", "tmpfs", MS_NOSUID | MS_NODEV,
                     "mode=0755,size=1m", err) < 0)
            return -1;
        rootfd = open(STAGING, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
            return amber_error_errno(err, "open the new root");
        r.fd = rootfd;
        r.trusted = true;
        r.creatable = true;
        if (system_dirs(&r, err) < 0 || write_etc(rootfd, plan, err) < 0 || system_etc(&r, err) < 0)
            return -1;
        if (mkdirat(rootfd, "dev", 0755) < 0 || mkdirat(rootfd, "proc", 0555) < 0 ||
            mkdirat(rootfd, "tmp", 01777) < 0 || mkdirat(rootfd, "root", 0700) < 0)
            return amber_error_errno(err, "mkdir in the new root");
    } else if (!writable_root) {
        /* Bound at the staging point, not onto itself: "/" bound onto "/"
         * would stack on the current root, which pivot_root refuses. */
        if (rootfs_tree >= 0 ? mount_move_tree(rootfs_tree, -1, STAGING, err) < 0
                             : do_mount(spec->rootfs, STAGING, spec->rootfs, NULL, MS_BIND | MS_REC,
                                        NULL, err) < 0)
            return -1;
        /* Every submount the recursive bind brought along is as read-only
         * as the root (the idmapped tree has it already). */
        if (rootfs_tree < 0 &&
            mount_set_recursive(AT_FDCWD, STAGING, MS_RDONLY | MS_NOSUID | MS_NODEV, err) < 0 &&
            err->code != ENOSYS)
            return -1;
        rootfd = open(STAGING, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
            return amber_error_errno(err, "open rootfs '%s'", spec->rootfs);
        r.fd = rootfd;
    } else {
        cleanup_close int lower = open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        char opts[160];

        if (lower < 0)
            return amber_error_errno(err, "open rootfs '%s'", spec->rootfs);
        /* The lower dir is named by fd so that the staging tmpfs cannot hide
         * it even when it lives under /tmp; an idmapped one (a tree of its
         * own) is attached in the staging tmpfs first. */
        if (rootfs_tree >= 0)
            snprintf(opts, sizeof(opts),
                     "lowerdir=" STAGING "/lower,upperdir=" STAGING "/upper,workdir=" STAGING
                     "/work");
        else
            snprintf(opts, sizeof(opts),
                     "lowerdir=/proc/self/fd/%d,upperdir=" STAGING "/upper,workdir=" STAGING
                     "/work",
                     lower);
        if (do_mount("tmpfs", STAGING, "overlay staging tmpfs", "tmpfs", MS_NOSUID | MS_NODEV,
                     "mode=0755", err) < 0)
            return -1;
        if (mkdir(STAGING "/upper", 0755) < 0 || mkdir(STAGING "/work", 0755) < 0 ||
            mkdir(STAGING "/root", 0755) < 0 ||
            (rootfs_tree >= 0 && mkdir(STAGING "/lower", 0755) < 0))
            return amber_error_errno(err, "mkdir overlay layers");
        if (rootfs_tree >= 0 && mount_move_tree(rootfs_tree, -1, STAGING "/lower", err) < 0)
            return -1;
        if (do_mount("overlay", STAGING "/root", "overlay root", "overlay", MS_NOSUID, opts, err) <
            0) {
            if (err->code == EINVAL && plan->userns)
                amber_error_prefix(err,
                                   "--rootfs-mode overlay of '%s' (in a user namespace the "
                                   "lower directory must not contain other mounts)",
                                   spec->rootfs);
            return -1;
        }
        rootfd = open(STAGING "/root", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
            return amber_error_errno(err, "open the overlay root");
        r.fd = rootfd;
        r.base = STAGING "/root";
        r.creatable = true;
        /* Make sure the standard mount points exist in the writable layer. */
        mkdirat(rootfd, "tmp", 01777);
    }

    if (setup_dev(&r, plan, err) < 0 || setup_proc(&r, err) < 0)
        return -1;
    /* /tmp, /dev/shm and the home are the workload's to write, so noexec
     * (--allow-write-exec lifts it): what it writes or downloads cannot be
     * run, also not through the dynamic loader, which maps with PROT_EXEC,
     * refused on a noexec mount. */
    if (tmpfs_at(&r, "tmp", MS_NOSUID | MS_NODEV | write_noexec(spec),
                 tmpfs_opts(spec, "mode=1777", tmpopts, sizeof(tmpopts)), own_root, err) < 0)
        return -1;
    /* The private home: nosuid, nodev, noexec, 0700, owned by the workload
     * user. A --rootfs without the directory gets none (unless the root is
     * writable), and then HOME names a directory that is not there. */
    snprintf(tmpopts, sizeof(tmpopts), "mode=0700,uid=%u,gid=%u", plan->uid, plan->gid);
    tmpfs_opts(spec, tmpopts, homeopts, sizeof(homeopts));
    if (r.creatable && ensure_target(&r, spec_home(spec) + 1, true, (uid_t)-1, (gid_t)-1, err) < 0)
        return -1;
    if (tmpfs_at(&r, spec_home(spec) + 1, MS_NOSUID | MS_NODEV | write_noexec(spec), homeopts,
                 own_root || r.creatable, err) < 0)
        return -1;
    if (setup_surface(&r, plan, srcfds, trees, err) < 0)
        return -1;

    if (!writable_root) {
        char p[32];
        snprintf(p, sizeof(p), "/proc/self/fd/%d", rootfd);
        if (remount_ro(p, "root read-only", MS_NOSUID | MS_NODEV | mount_flags_of(p), err) < 0)
            return -1;
    }
    return pivot(plan, rootfd, err);
}
