/* Landlock: the last filesystem fence, applied by the sandbox init after the
 * mount namespace is built.
 *
 * What it stops: the mount namespace decides what is *visible*; Landlock
 * decides what the workload may *do* with what it sees. Even if something
 * is reachable by mistake (a bind mount that is writable, a path through
 * /proc/<pid>/root, an fd passed in), the workload can only read, write,
 * execute or create beneath the paths listed here, cannot create device
 * nodes anywhere (MAKE_CHAR/MAKE_BLOCK are handled and never granted), and
 * with ABI >= 6 cannot connect to abstract unix sockets or signal processes
 * outside its Landlock domain (the host's, or amber's own supervisor).
 * The restriction is inherited across fork and execve and cannot be lifted.
 *
 * Landlock has no libc wrappers and Debian 12's <linux/landlock.h> only
 * knows ABI 1-2, so the syscalls are raw and the newer constants are
 * defined here. Every right is masked by the running kernel's ABI (the way
 * minijail does it): asking for a right the kernel does not know is EINVAL,
 * so one binary works from 5.13 to today, with the protection the kernel
 * can give. Network rights are deliberately left unhandled: network
 * isolation is the network namespace's job. */
#include "sandbox/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/landlock.h>

#include "util/cleanup.h"
#include "util/log.h"

/* The Landlock syscalls were added after the syscall-number unification, so
 * they have the same number on every architecture. */
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule 445
#endif
#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self 446
#endif

#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif

/* ABI 2 (5.19) */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
/* ABI 3 (6.2) */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
/* ABI 5 (6.10) */
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
/* ABI 6 (6.12) */
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#endif
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

/* ABI 1 rights: bits 0..12. */
#define LL_FS_ABI1                                                                                 \
    (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |   \
     LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR |                                 \
     LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | \
     LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |   \
     LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM)

/* The rights the kernel accepts on a rule whose path is not a directory. */
#define LL_FS_FILE                                                                                 \
    (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |   \
     LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)

#define LL_ALL (LL_READ | LL_EXEC | LL_WRITE | LL_CREATE | LL_DEV | LL_LIST)

/* Our own copy of struct landlock_ruleset_attr with every field up to ABI 6.
 * The kernel is told how many bytes it may read (attr_size), so older kernels
 * only see the fields they know. */
struct amber_ll_ruleset_attr {
    uint64_t handled_access_fs;  /* ABI 1 */
    uint64_t handled_access_net; /* ABI 4 */
    uint64_t scoped;             /* ABI 6 */
};

/* Same layout as the kernel's; declared here so this file does not depend on
 * the header's version of it. */
struct amber_ll_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

_Static_assert(sizeof(struct amber_ll_path_beneath_attr) == 12,
               "landlock_path_beneath_attr is 12 packed bytes");

#ifndef LANDLOCK_RULE_PATH_BENEATH
#define LANDLOCK_RULE_PATH_BENEATH 1
#endif

static int ll_create_ruleset(const void *attr, size_t size, uint32_t flags)
{
    return (int)syscall(__NR_landlock_create_ruleset, attr, size, flags);
}

static int ll_add_rule(int ruleset_fd, int rule_type, const void *attr, uint32_t flags)
{
    return (int)syscall(__NR_landlock_add_rule, ruleset_fd, rule_type, attr, flags);
}

static int ll_restrict_self(int ruleset_fd, uint32_t flags)
{
    return (int)syscall(__NR_landlock_restrict_self, ruleset_fd, flags);
}

/* Every filesystem right the given ABI knows. */
static uint64_t ll_fs_handled(int abi)
{
    uint64_t r = LL_FS_ABI1;

    if (abi >= 2)
        r |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3)
        r |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5)
        r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    return r;
}

/* How many bytes of the ruleset attr this ABI reads. */
static size_t ll_attr_size(int abi)
{
    if (abi >= 6)
        return offsetof(struct amber_ll_ruleset_attr, scoped) + sizeof(uint64_t);
    if (abi >= 4)
        return offsetof(struct amber_ll_ruleset_attr, handled_access_net) + sizeof(uint64_t);
    return offsetof(struct amber_ll_ruleset_attr, handled_access_fs) + sizeof(uint64_t);
}

/* Map LL_* to kernel rights. The result may hold rights the ABI lacks; the
 * caller masks with ll_fs_handled(). */
static uint64_t ll_map_access(unsigned access)
{
    uint64_t r = 0;

    if (access & LL_READ)
        r |= LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
    if (access & LL_LIST)
        r |= LANDLOCK_ACCESS_FS_READ_DIR;
    if (access & LL_EXEC)
        r |= LANDLOCK_ACCESS_FS_EXECUTE;
    if (access & LL_WRITE)
        r |= LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE;
    if (access & LL_CREATE)
        /* Never MAKE_CHAR or MAKE_BLOCK: device nodes are never creatable. */
        r |= LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_DIR |
             LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_MAKE_FIFO |
             LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_REMOVE_DIR |
             LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_REFER;
    if (access & LL_DEV)
        r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    return r;
}

int landlock_abi_version(void)
{
    /* -1 = not asked yet. The answer cannot change while we run, so a race
     * between two first callers only asks the kernel twice. */
    static _Atomic int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);

    if (v >= 0)
        return v;
    v = ll_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (v < 0) {
        /* ENOSYS: not built in; EOPNOTSUPP: built in but disabled at boot.
         * Anything else (a seccomp filter answering EPERM, say) also means
         * we cannot use it. */
        v = 0;
    }
    atomic_store_explicit(&cached, v, memory_order_relaxed);
    return v;
}

static int ll_add_path(int ruleset_fd, const struct landlock_path *p, uint64_t handled,
                       struct amber_error *err)
{
    struct amber_ll_path_beneath_attr pb;
    struct stat st;
    uint64_t allowed;
    cleanup_close int fd = -1;

    if (p->path == NULL)
        return amber_error_set(err, EINVAL, "landlock: rule without a path");
    if (p->access & ~(unsigned)LL_ALL)
        return amber_error_set(err, EINVAL, "landlock: add rule for '%s': unknown access 0x%x",
                               p->path, p->access & ~(unsigned)LL_ALL);

    fd = open(p->path, O_PATH | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            log_debug("landlock: '%s' does not exist, no rule", p->path);
            return 0;
        }
        return amber_error_errno(err, "landlock: add rule for '%s': open", p->path);
    }
    if (fstat(fd, &st) < 0)
        return amber_error_errno(err, "landlock: add rule for '%s': stat", p->path);

    allowed = ll_map_access(p->access) & handled;
    /* The kernel refuses directory rights (read_dir, make_*, remove_*,
     * refer) on anything that is not a directory: a regular file, a device
     * node such as /dev/null, a socket. */
    if (!S_ISDIR(st.st_mode))
        allowed &= LL_FS_FILE;
    if (allowed == 0) {
        /* E.g. LL_DEV alone on a kernel before ABI 5, or LL_CREATE alone on
         * a file: the kernel would answer ENOMSG; granting nothing is the
         * same as having no rule. */
        log_debug("landlock: '%s': no access this kernel can grant, no rule", p->path);
        return 0;
    }

    memset(&pb, 0, sizeof(pb));
    pb.allowed_access = allowed;
    pb.parent_fd = fd;
    if (ll_add_rule(ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
        return amber_error_errno(err, "landlock: add rule for '%s'", p->path);
    return 0;
}

int landlock_apply(const struct landlock_path *paths, size_t n, int *abi, struct amber_error *err)
{
    struct amber_ll_ruleset_attr attr;
    cleanup_close int ruleset_fd = -1;
    int v;
    int nnp;

    if (abi != NULL)
        *abi = 0;

    /* landlock_restrict_self() needs no_new_privs (or CAP_SYS_ADMIN, which
     * the sandbox has already dropped or will drop). Insisting on NNP here
     * means a setuid binary can never run inside a domain it did not expect. */
    nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    if (nnp < 0)
        return amber_error_errno(err, "landlock: prctl(PR_GET_NO_NEW_PRIVS)");
    if (nnp != 1)
        return amber_error_set(err, EPERM, "landlock: no_new_privs is not set");

    v = landlock_abi_version();
    if (v <= 0)
        return amber_error_set(err, EOPNOTSUPP, "landlock: not available on this kernel");

    memset(&attr, 0, sizeof(attr));
    attr.handled_access_fs = ll_fs_handled(v);
    /* handled_access_net stays 0: the network namespace does that job. */
    if (v >= 6)
        attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;

    ruleset_fd = ll_create_ruleset(&attr, ll_attr_size(v), 0);
    if (ruleset_fd < 0)
        return amber_error_errno(err, "landlock: create ruleset (ABI %d)", v);

    for (size_t i = 0; i < n; i++) {
        if (ll_add_path(ruleset_fd, &paths[i], attr.handled_access_fs, err) < 0)
            return -1;
    }

    /* Nothing above changed the thread: a failure before this point leaves
     * it exactly as it was. restrict_self is all-or-nothing. */
    if (ll_restrict_self(ruleset_fd, 0) < 0)
        return amber_error_errno(err, "landlock: restrict self (ABI %d)", v);

    log_debug("landlock: restricted to %zu paths (ABI %d)", n, v);
    if (abi != NULL)
        *abi = v;
    return 0;
}
