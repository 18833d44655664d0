/* The default seccomp policy, written against libseccomp.
 *
 * This file is linked only into tools/seccomp-gen (and tests): the policy is
 * compiled to BPF at build time and embedded in libamber, which never links
 * libseccomp (see sandbox/seccomp.h).
 *
 * Shape of the policy:
 *  - default-deny: anything not allowed below fails with EPERM, so a workload
 *    sees an ordinary "operation not permitted" rather than being killed;
 *  - the allowlist follows Docker/Moby's default profile: what shells,
 *    interpreters, compilers, git, node and the like actually call;
 *  - a few syscalls are allowed only for harmless arguments (clone without
 *    namespace flags, sockets of ordinary families, ioctl except terminal
 *    injection, mprotect without W+X, personality for the values Docker
 *    allows);
 *  - only the native ABI is allowed: a foreign ABI (i386 or x32 on x86_64,
 *    AArch32 on aarch64) kills the process, because each ABI has its own
 *    syscall numbers and a filter checked against the wrong table is a hole;
 *  - syscalls newer than this policy get ENOSYS instead of EPERM, as runc
 *    does, so libc wrappers that probe a new syscall fall back to the old one
 *    instead of failing (clone3 is the case that exists today).
 *
 * Syscalls are named as strings and resolved for the native arch, so one
 * table serves every 64-bit architecture; names the arch does not have
 * (arch_prctl on aarch64, open on aarch64, ...) are skipped. */
#include "sandbox/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <asm/termbits.h> /* struct termios2, for the size in TCSETS2 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/netlink.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* The tables are laid out by hand, grouped by purpose. */
/* clang-format off */

/* ------------------------------------------------------------------------
 * Unconditionally allowed syscalls. Each list is NULL-terminated.
 * ------------------------------------------------------------------------ */

/* Process lifecycle, identity and signalling of processes the workload can
 * already see (the PID namespace bounds "kill"). fork/vfork/execve are what
 * every shell does; clone is in the conditional section. */
static const char *const allow_process[] = {
    "exit", "exit_group", "fork", "vfork", "execve", "execveat", "wait4", "waitid",
    "getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid", "setsid",
    "set_tid_address", "set_robust_list", "get_robust_list", "rseq", "restart_syscall",
    "prctl", "getrusage", "times", "getpriority", "setpriority", "capget", "capset",
    "kill", "tkill", "tgkill", "pidfd_open", "pidfd_send_signal", "process_mrelease",
    NULL,
};

/* User and group ids. Changing them is governed by capabilities, which the
 * sandbox drops; the calls themselves are needed by su-less tools that
 * merely query or drop ids. */
static const char *const allow_credentials[] = {
    "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups",
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
    "setfsuid", "setfsgid",
    NULL,
};

/* Signal handling. */
static const char *const allow_signals[] = {
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending",
    "rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "signalfd",
    "signalfd4", "pause", "alarm",
    NULL,
};

/* Memory management of the process's own address space. mmap, mprotect,
 * pkey_mprotect and mremap are conditional (no W+X, no second view of
 * shared memory), memfd_create and memfd_secret too, see below. */
static const char *const allow_memory[] = {
    "brk", "munmap", "madvise", "mincore", "msync", "mlock", "mlock2",
    "munlock", "mlockall", "munlockall", "membarrier",
    "pkey_alloc", "pkey_free", "remap_file_pages", "map_shadow_stack", "mseal",
    NULL,
};

/* File descriptors and file data. Access control is the filesystem's (and
 * Landlock's) job, not seccomp's. */
static const char *const allow_file_io[] = {
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
    "preadv2", "pwritev2", "close", "close_range",
    "dup", "dup2", "dup3", "lseek", "fcntl", "flock", "fsync", "fdatasync", "sync",
    "syncfs", "sync_file_range", "fadvise64", "readahead", "fallocate", "ftruncate",
    "truncate", "sendfile", "splice", "tee", "vmsplice", "copy_file_range", "pipe", "pipe2",
    "cachestat",
    NULL,
};

/* Paths, directories and metadata. mknod/mknodat stay allowed (for FIFOs
 * and sockets: device nodes need CAP_MKNOD, which the sandbox drops), like
 * open, creat, mkdir and chmod, but without setuid/setgid bits (below). */
static const char *const allow_file_meta[] = {
    "stat", "fstat", "lstat", "newfstatat", "statx", "statfs", "fstatfs", "access",
    "faccessat", "faccessat2", "getcwd", "chdir", "fchdir", "rmdir",
    "rename", "renameat", "renameat2", "link", "linkat", "unlink", "unlinkat", "symlink",
    "symlinkat", "readlink", "readlinkat",
    "chown", "fchown", "fchownat", "lchown", "umask", "utime", "utimes", "utimensat",
    "futimesat", "getdents", "getdents64", "file_getattr",
    "file_setattr",
    "getxattr", "lgetxattr", "fgetxattr", "getxattrat", "setxattr", "lsetxattr",
    "fsetxattr", "setxattrat", "listxattr", "llistxattr", "flistxattr", "listxattrat",
    "removexattr", "lremovexattr", "fremovexattr", "removexattrat",
    NULL,
};

/* Waiting for events: poll/select/epoll, eventfd, inotify. */
static const char *const allow_events[] = {
    "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl",
    "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "inotify_init",
    "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
    NULL,
};

/* Reading clocks, sleeping and timers. Setting the clock is denied. */
static const char *const allow_time[] = {
    "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
    "getitimer", "setitimer", "timer_create", "timer_settime", "timer_gettime",
    "timer_getoverrun", "timer_delete", "timerfd_create", "timerfd_settime",
    "timerfd_gettime",
    NULL,
};

/* Threads: futexes, scheduling and CPU affinity (bounded by the cgroup). */
static const char *const allow_threads[] = {
    "futex", "futex_waitv", "futex_wake", "futex_wait", "futex_requeue", "sched_yield",
    "sched_getaffinity", "sched_setaffinity", "sched_getparam", "sched_setparam",
    "sched_getscheduler", "sched_setscheduler", "sched_get_priority_max",
    "sched_get_priority_min", "sched_rr_get_interval", "sched_getattr", "sched_setattr",
    "getcpu", "ioprio_get", "ioprio_set",
    NULL,
};

/* Limits, system information and randomness. */
static const char *const allow_info[] = {
    "getrlimit", "setrlimit", "prlimit64", "uname", "sysinfo", "getrandom",
    NULL,
};

/* Socket operations on sockets the workload was allowed to create (socket
 * and socketpair themselves are conditional, see below). */
static const char *const allow_sockets[] = {
    "bind", "connect", "listen", "accept", "accept4", "getsockname", "getpeername",
    "getsockopt", "setsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg",
    "recvmmsg", "shutdown",
    NULL,
};

/* SysV IPC and POSIX message queues: scoped by the IPC namespace. */
static const char *const allow_ipc[] = {
    "shmget", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl",
    "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend",
    "mq_timedreceive", "mq_notify", "mq_getsetattr",
    NULL,
};

/* Legacy Linux AIO (databases, some build tools). io_uring is denied. */
static const char *const allow_aio[] = {
    "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents",
    NULL,
};

/* Self-sandboxing: letting the workload restrict itself further is safe and
 * is what well-behaved programs (and nested tools) do. */
static const char *const allow_self_sandbox[] = {
    "seccomp", "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
    NULL,
};

/* Arch-specific process setup: TLS on x86 (arch_prctl, *_thread_area),
 * per-process LDT on x86 (Docker allows it), icache flushing for JITs on
 * riscv. Skipped on arches that do not have them. */
static const char *const allow_arch[] = {
    "arch_prctl", "get_thread_area", "set_thread_area", "modify_ldt", "riscv_flush_icache",
    NULL,
};

static const char *const *const allow_groups[] = {
    allow_process, allow_credentials, allow_signals, allow_memory, allow_file_io,
    allow_file_meta, allow_events, allow_time, allow_threads, allow_info, allow_sockets,
    allow_ipc, allow_aio, allow_self_sandbox, allow_arch, NULL,
};

/* ------------------------------------------------------------------------
 * Syscalls handled by argument (see seccomp_policy_build). Listed here so
 * the consistency check keeps them out of the unconditional lists.
 * ------------------------------------------------------------------------ */
static const char *const conditional[] = {
    "clone", "clone3", "socket", "socketpair", "ioctl", "mmap", "mprotect", "pkey_mprotect",
    "personality", "memfd_create", "memfd_secret", "mremap", "shmat", "open", "openat",
    "openat2", "creat", "mkdir", "mkdirat", "mknod", "mknodat", "chmod", "fchmod", "fchmodat",
    "fchmodat2",
    NULL,
};

/* ------------------------------------------------------------------------
 * Explicitly denied syscalls. They need no rule (the default action denies
 * them); the lists document the intent and the build fails if one of them
 * ever shows up in an allow list.
 * ------------------------------------------------------------------------ */

/* Mounts and the new mount API: would let the workload rearrange or escape
 * its filesystem view. */
static const char *const deny_mount[] = {
    "mount", "umount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount",
    "fspick", "move_mount", "open_tree", "open_tree_attr", "mount_setattr",
    NULL,
};

/* Namespaces: new user namespaces are the classic kernel attack surface
 * (clone with CLONE_NEW* and clone3 are handled by argument). */
static const char *const deny_namespaces[] = {
    "unshare", "setns",
    NULL,
};

/* Inspecting or modifying other processes. */
static const char *const deny_cross_process[] = {
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "process_madvise",
    NULL,
};

/* Large, frequently exploited kernel interfaces. */
static const char *const deny_attack_surface[] = {
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register",
    NULL,
};

/* Kernel keyrings are not namespaced. */
static const char *const deny_keyring[] = {
    "keyctl", "add_key", "request_key",
    NULL,
};

/* Loading code into or replacing the kernel. */
static const char *const deny_kernel_code[] = {
    "init_module", "finit_module", "delete_module", "create_module", "get_kernel_syms",
    "query_module", "kexec_load", "kexec_file_load", "reboot",
    NULL,
};

/* Host-wide state: clocks, swap, accounting, kernel log, quotas, hostname,
 * terminals of other sessions. */
static const char *const deny_host_state[] = {
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "stime", "swapon",
    "swapoff", "acct", "syslog", "quotactl", "quotactl_fd", "nfsservctl", "vhangup",
    "lookup_dcookie", "sethostname", "setdomainname",
    NULL,
};

/* File handles bypass path-based access control (the "shocker" escape). */
static const char *const deny_file_handles[] = {
    "open_by_handle_at", "name_to_handle_at",
    NULL,
};

/* Raw hardware access and NUMA placement (Docker requires CAP_SYS_RAWIO and
 * CAP_SYS_NICE for these). */
static const char *const deny_hardware[] = {
    "iopl", "ioperm", "mbind", "set_mempolicy", "get_mempolicy", "set_mempolicy_home_node",
    "migrate_pages", "move_pages",
    NULL,
};

/* Obsolete interfaces nothing current needs. */
static const char *const deny_obsolete[] = {
    "sysfs", "_sysctl", "ustat", "uselib", "vm86", "vm86old",
    NULL,
};

static const char *const *const deny_groups[] = {
    deny_mount, deny_namespaces, deny_cross_process, deny_attack_surface, deny_keyring,
    deny_kernel_code, deny_host_state, deny_file_handles, deny_hardware, deny_obsolete, NULL,
};

/* ------------------------------------------------------------------------
 * Syscalls added since Linux 5.1 have the same number on every
 * architecture we build for (x86_64, aarch64, riscv64). This table lets a
 * libseccomp older than the syscall still place the rule, and marks the
 * newest syscall this policy knows about (see the ENOSYS range below).
 * Keep it sorted; the last entry is the newest syscall.
 * ------------------------------------------------------------------------ */
struct late_syscall {
    const char *name;
    int nr;
};

static const struct late_syscall late_syscalls[] = {
    {"pidfd_send_signal", 424},
    {"io_uring_setup", 425},
    {"io_uring_enter", 426},
    {"io_uring_register", 427},
    {"open_tree", 428},
    {"move_mount", 429},
    {"fsopen", 430},
    {"fsconfig", 431},
    {"fsmount", 432},
    {"fspick", 433},
    {"pidfd_open", 434},
    {"clone3", 435},
    {"close_range", 436},
    {"openat2", 437},
    {"pidfd_getfd", 438},
    {"faccessat2", 439},
    {"process_madvise", 440},
    {"epoll_pwait2", 441},
    {"mount_setattr", 442},
    {"quotactl_fd", 443},
    {"landlock_create_ruleset", 444},
    {"landlock_add_rule", 445},
    {"landlock_restrict_self", 446},
    {"memfd_secret", 447},
    {"process_mrelease", 448},
    {"futex_waitv", 449},
    {"set_mempolicy_home_node", 450},
    {"cachestat", 451},
    {"fchmodat2", 452},
    {"map_shadow_stack", 453},
    {"futex_wake", 454},
    {"futex_wait", 455},
    {"futex_requeue", 456},
    {"statmount", 457},
    {"listmount", 458},
    {"lsm_get_self_attr", 459},
    {"lsm_set_self_attr", 460},
    {"lsm_list_modules", 461},
    {"mseal", 462},
    {"setxattrat", 463},
    {"getxattrat", 464},
    {"listxattrat", 465},
    {"removexattrat", 466},
    {"open_tree_attr", 467},
    {"file_getattr", 468},
    {"file_setattr", 469},
};

/* clang-format on */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Numbers above the newest known syscall, up to this one, answer ENOSYS.
 * 512 is where x86_64's x32 compatibility numbers start. */
#define FUTURE_SYSCALL_LAST 511

/* Deny memory that is writable and executable at once, whether mapped so
 * (mmap) or changed so (mprotect, pkey_mprotect): injected code cannot be
 * written and run from the same page. Caveat: JITs that use RWX pages
 * abort (V8 in node/Chromium unless --jitless; HotSpot's code cache);
 * JITs that flip between RW and RX keep working. Build with
 * -DAMBER_SECCOMP_DENY_WX_MPROTECT=0 to allow W+X. */
#ifndef AMBER_SECCOMP_DENY_WX_MPROTECT
#define AMBER_SECCOMP_DENY_WX_MPROTECT 1
#endif

/* ioctl requests denied: TIOCSTI pushes input into the controlling
 * terminal (a classic escape when the terminal is shared with the host);
 * TIOCLINUX can do the same through the console selection buffer. */
static const uint32_t denied_ioctls[] = {TIOCSTI, TIOCLINUX};

/* Without a terminal of its own (no -t), whatever terminal the workload
 * can reach is the caller's: it may read its settings and size, not
 * change them (echo, line discipline, flow control, foreground process
 * group, window size, exclusive mode). */
static const uint32_t denied_ioctls_shared_tty[] = {
    TIOCSTI,   TIOCLINUX,  TCSETS,    TCSETSW,   TCSETSF,        TCSETA,       TCSETAW,
    TCSETAF,   TCSETS2,    TCSETSW2,  TCSETSF2,  TIOCSETD,       TCXONC,       TCFLSH,
    TIOCSPGRP, TIOCSWINSZ, TIOCEXCL,  TIOCNXCL,  TIOCSBRK,       TIOCCBRK,     TCSBRK,
    TCSBRKP,   TIOCCONS,   TIOCSCTTY, TIOCNOTTY, TIOCSLCKTRMIOS, TIOCSSOFTCAR,
};

/* Namespace flags clone must not carry (CLONE_NEWTIME shares its bit with
 * the exit-signal byte of clone(), where no valid signal sets it). */
#define CLONE_NS_FLAGS                                                                             \
    (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |     \
     CLONE_NEWCGROUP | CLONE_NEWTIME)

/* personality() values Docker allows: PER_LINUX, PER_LINUX32, UNAME26,
 * PER_LINUX32|UNAME26, and 0xffffffff (query the current persona). */
static const uint32_t allowed_personalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

/* The kernel reads int-typed arguments from the low 32 bits of the
 * register; compare the same bits so junk in the upper half neither slips
 * past a deny nor spoils an allow. */
#define LOW32 0xffffffffULL

static bool arch_has_unified_late_numbers(uint32_t arch)
{
    return arch == SCMP_ARCH_X86_64 || arch == SCMP_ARCH_AARCH64 || arch == SCMP_ARCH_RISCV64;
}

static bool in_list(const char *const *list, const char *name)
{
    for (; *list != NULL; list++) {
        if (strcmp(*list, name) == 0)
            return true;
    }
    return false;
}

static bool in_groups(const char *const *const *groups, const char *name)
{
    for (; *groups != NULL; groups++) {
        if (in_list(*groups, name))
            return true;
    }
    return false;
}

/* Resolve name for the native arch. Returns 1 and sets *nr when the arch has
 * the syscall, 0 when it does not (or this libseccomp is too old to know it
 * and the number cannot be supplied), -1 for a name nobody knows: that is a
 * typo in the tables, and failing the build is better than silently
 * allowing or denying the wrong thing. */
static int resolve(const char *name, int *nr, struct amber_error *err)
{
    int n = seccomp_syscall_resolve_name(name);

    if (n >= 0) {
        *nr = n;
        return 1;
    }
    if (n != __NR_SCMP_ERROR)
        return 0; /* a pseudo number: known, but not on this arch */
    for (size_t i = 0; i < ARRAY_SIZE(late_syscalls); i++) {
        if (strcmp(late_syscalls[i].name, name) == 0) {
            if (!arch_has_unified_late_numbers(seccomp_arch_native()))
                return 0;
            *nr = late_syscalls[i].nr;
            return 1;
        }
    }
    return amber_error_set(err, 0, "seccomp policy: unknown syscall name '%s'", name);
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, const char *name, int nr,
                    unsigned int ncmp, const struct scmp_arg_cmp *cmp, struct amber_error *err)
{
    int rc = seccomp_rule_add_array(ctx, action, nr, ncmp, cmp);

    if (rc < 0)
        return amber_error_set(err, -rc, "seccomp policy: add rule for '%s'", name);
    return 0;
}

/* Allow `name` when the low 32 bits of argument `arg` equal one of values[]. */
static int allow_if_low32_in(scmp_filter_ctx ctx, const char *name, unsigned int arg,
                             const uint32_t *values, size_t n, struct amber_error *err)
{
    int nr;
    int r = resolve(name, &nr, err);

    if (r <= 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        struct scmp_arg_cmp cmp = SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, LOW32, values[i]);

        if (add_rule(ctx, SCMP_ACT_ALLOW, name, nr, 1, &cmp, err) < 0)
            return -1;
    }
    return 0;
}

/* One step of allow_unless_low32_in: allow every value whose top `depth`
 * bits equal `prefix`, except the excluded ones. */
static int allow_prefix_except(scmp_filter_ctx ctx, const char *name, int nr, unsigned int arg,
                               uint32_t prefix, unsigned int depth, const uint32_t *excluded,
                               size_t n, struct amber_error *err)
{
    uint32_t mask = depth == 0 ? 0 : UINT32_MAX << (32 - depth);
    bool hit = false;

    for (size_t i = 0; i < n; i++) {
        if ((excluded[i] & mask) == prefix)
            hit = true;
    }
    if (!hit) {
        struct scmp_arg_cmp cmp = SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, mask, prefix);

        return add_rule(ctx, SCMP_ACT_ALLOW, name, nr, 1, &cmp, err);
    }
    if (depth == 32)
        return 0; /* exactly an excluded value: left to the default action */
    if (allow_prefix_except(ctx, name, nr, arg, prefix, depth + 1, excluded, n, err) < 0)
        return -1;
    return allow_prefix_except(ctx, name, nr, arg, prefix | (UINT32_C(1) << (31 - depth)),
                               depth + 1, excluded, n, err);
}

/* Allow `name` unless the low 32 bits of argument `arg` are one of
 * excluded[]. libseccomp can neither say "!=" under a mask nor combine an
 * unconditional allow with a conditional deny (the unconditional rule
 * swallows the other; and a deny equal to the default action is refused),
 * so the complement is written as allow rules on bit prefixes: every
 * subtree of the 32-bit value space that contains no excluded value gets one
 * MASKED_EQ rule. That is at most 32 rules per excluded value (34 for the
 * two ioctls here; libseccomp chains them, so an ioctl costs up to ~100
 * BPF instructions). */
static int allow_unless_low32_in(scmp_filter_ctx ctx, const char *name, unsigned int arg,
                                 const uint32_t *excluded, size_t n, struct amber_error *err)
{
    int nr;
    int r = resolve(name, &nr, err);

    if (r <= 0)
        return r;
    return allow_prefix_except(ctx, name, nr, arg, 0, 0, excluded, n, err);
}

/* Allow `name` when (argument `arg` & mask) is one of values[]. */
static int allow_if_masked_in(scmp_filter_ctx ctx, const char *name, unsigned int arg,
                              uint64_t mask, const uint64_t *values, size_t n,
                              struct amber_error *err)
{
    int nr;
    int r = resolve(name, &nr, err);

    if (r <= 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        struct scmp_arg_cmp cmp = SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, mask, values[i]);

        if (add_rule(ctx, SCMP_ACT_ALLOW, name, nr, 1, &cmp, err) < 0)
            return -1;
    }
    return 0;
}

static int add_unconditional(scmp_filter_ctx ctx, uint32_t action, const char *name,
                             struct amber_error *err)
{
    int nr;
    int r = resolve(name, &nr, err);

    if (r <= 0)
        return r;
    return add_rule(ctx, action, name, nr, 0, NULL, err);
}

/* The tables must not contradict each other: a denied or argument-checked
 * syscall in an unconditional allow list would silently win. Also resolves
 * every denied name so typos there fail the build too. */
static int check_tables(struct amber_error *err)
{
    for (const char *const *const *g = allow_groups; *g != NULL; g++) {
        for (const char *const *p = *g; *p != NULL; p++) {
            if (in_groups(deny_groups, *p) || in_list(conditional, *p))
                return amber_error_set(err, 0,
                                       "seccomp policy: '%s' is both allowed and restricted", *p);
        }
    }
    for (const char *const *const *g = deny_groups; *g != NULL; g++) {
        for (const char *const *p = *g; *p != NULL; p++) {
            int nr;

            if (in_list(conditional, *p))
                return amber_error_set(err, 0,
                                       "seccomp policy: '%s' is both denied and conditional", *p);
            if (resolve(*p, &nr, err) < 0)
                return -1;
        }
    }
    return 0;
}

static int add_conditional_rules(scmp_filter_ctx ctx, unsigned variant, struct amber_error *err)
{
    bool jit = (variant & SECCOMP_VARIANT_JIT) != 0;
    bool own_tty = (variant & SECCOMP_VARIANT_OWN_TTY) != 0;
    uint32_t arch = seccomp_arch_native();

    /* clone: plain fork/thread creation only. The flags are argument 0
     * except on s390, where the first two arguments are swapped. */
    {
        unsigned int flags_arg = (arch == SCMP_ARCH_S390 || arch == SCMP_ARCH_S390X) ? 1 : 0;
        const uint64_t none = 0;

        if (allow_if_masked_in(ctx, "clone", flags_arg, CLONE_NS_FLAGS, &none, 1, err) < 0)
            return -1;
    }

    /* clone3 passes its flags in a struct seccomp cannot read. ENOSYS makes
     * glibc (and others) fall back to clone, whose flags are checked. */
    if (add_unconditional(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", err) < 0)
        return -1;

    /* socket: local and IP sockets, plus rtnetlink (getifaddrs, ip addr).
     * Packet, raw-netlink, crypto (AF_ALG), vsock, key sockets etc. are the
     * less-travelled and more exploited code paths. */
    {
        static const uint32_t families[] = {AF_UNIX, AF_INET, AF_INET6};
        int nr;
        int r;

        if (allow_if_low32_in(ctx, "socket", 0, families, ARRAY_SIZE(families), err) < 0)
            return -1;
        r = resolve("socket", &nr, err);
        if (r < 0)
            return -1;
        if (r > 0) {
            const struct scmp_arg_cmp cmp[] = {
                SCMP_A0(SCMP_CMP_MASKED_EQ, LOW32, AF_NETLINK),
                SCMP_A2(SCMP_CMP_MASKED_EQ, LOW32, NETLINK_ROUTE),
            };

            if (add_rule(ctx, SCMP_ACT_ALLOW, "socket", nr, ARRAY_SIZE(cmp), cmp, err) < 0)
                return -1;
        }
    }

    /* socketpair: only AF_UNIX can make pairs anyway; say so. */
    {
        static const uint32_t families[] = {AF_UNIX};

        if (allow_if_low32_in(ctx, "socketpair", 0, families, ARRAY_SIZE(families), err) < 0)
            return -1;
    }

    /* ioctl: everything except terminal input injection. The request is
     * an unsigned int to the kernel, so only its low 32 bits count. */
    if (own_tty ? allow_unless_low32_in(ctx, "ioctl", 1, denied_ioctls, ARRAY_SIZE(denied_ioctls),
                                        err) < 0
                : allow_unless_low32_in(ctx, "ioctl", 1, denied_ioctls_shared_tty,
                                        ARRAY_SIZE(denied_ioctls_shared_tty), err) < 0)
        return -1;

    /* Code the workload writes must not become executable. Files: every
     * writable mount is noexec, which the kernel checks at mmap and
     * mprotect too. What no mount governs is refused here: memfds (their
     * internal mount allows exec: execveat of a memfd, or one mapped
     * writable and executable through two mappings), memfd_secret, SysV
     * shm attached with SHM_EXEC, and mremap with old_size 0 (a second
     * mapping of shared memory, writable in one and executable in the
     * other). ENOSYS for the memfds: libraries that try them fall back to
     * files. The JIT variant (--allow-jit) allows all of it. */
    if (jit) {
        if (add_unconditional(ctx, SCMP_ACT_ALLOW, "memfd_create", err) < 0 ||
            add_unconditional(ctx, SCMP_ACT_ALLOW, "memfd_secret", err) < 0 ||
            add_unconditional(ctx, SCMP_ACT_ALLOW, "mremap", err) < 0 ||
            add_unconditional(ctx, SCMP_ACT_ALLOW, "shmat", err) < 0)
            return -1;
    } else {
        static const uint64_t no_exec[] = {0};
        int nr, r;

        if (add_unconditional(ctx, SCMP_ACT_ERRNO(ENOSYS), "memfd_create", err) < 0 ||
            add_unconditional(ctx, SCMP_ACT_ERRNO(ENOSYS), "memfd_secret", err) < 0 ||
            allow_if_masked_in(ctx, "shmat", 2, SHM_EXEC, no_exec, 1, err) < 0)
            return -1;
        r = resolve("mremap", &nr, err);
        if (r < 0)
            return -1;
        if (r > 0) {
            struct scmp_arg_cmp cmp = SCMP_A1(SCMP_CMP_NE, 0);
            if (add_rule(ctx, SCMP_ACT_ALLOW, "mremap", nr, 1, &cmp, err) < 0)
                return -1;
        }
    }

    /* No setuid or setgid bit on anything the workload creates or
     * changes: a file it writes into a host directory (a workspace, a
     * volume) keeps its mode on the host, where a setuid bit would hand its
     * owner's uid to whoever runs it. Inside the sandbox every mount is
     * nosuid and no_new_privs holds, so the bits mean nothing there.
     * open/openat: the mode counts only when the call creates (O_CREAT,
     * O_TMPFILE); openat2 keeps its mode in a struct no filter can read,
     * so it gets ENOSYS (libc falls back to openat). */
    {
        static const uint64_t none[] = {0};
        const uint64_t setid = S_ISUID | S_ISGID;
        const uint64_t creates = O_CREAT | __O_TMPFILE;
        static const struct {
            const char *name;
            unsigned int mode_arg;
        } by_mode[] = {
            {"open", 2},    {"openat", 3},   {"creat", 1},     {"mkdir", 1},
            {"mkdirat", 2}, {"mknod", 1},    {"mknodat", 2},   {"chmod", 1},
            {"fchmod", 1},  {"fchmodat", 2}, {"fchmodat2", 2},
        };

        for (size_t i = 0; i < ARRAY_SIZE(by_mode); i++) {
            if (allow_if_masked_in(ctx, by_mode[i].name, by_mode[i].mode_arg, setid, none, 1, err) <
                0)
                return -1;
        }
        if (allow_if_masked_in(ctx, "open", 1, creates, none, 1, err) < 0 ||
            allow_if_masked_in(ctx, "openat", 2, creates, none, 1, err) < 0 ||
            add_unconditional(ctx, SCMP_ACT_ERRNO(ENOSYS), "openat2", err) < 0)
            return -1;
    }

    /* mmap, mprotect, pkey_mprotect: no page both writable and executable
     * at once (see AMBER_SECCOMP_DENY_WX_MPROTECT). prot is argument 2 of
     * all three. */
    if (AMBER_SECCOMP_DENY_WX_MPROTECT && !jit) {
        static const uint64_t not_wx[] = {0, PROT_WRITE, PROT_EXEC};
        const uint64_t wx = PROT_WRITE | PROT_EXEC;

        if (allow_if_masked_in(ctx, "mmap", 2, wx, not_wx, ARRAY_SIZE(not_wx), err) < 0 ||
            allow_if_masked_in(ctx, "mprotect", 2, wx, not_wx, ARRAY_SIZE(not_wx), err) < 0 ||
            allow_if_masked_in(ctx, "pkey_mprotect", 2, wx, not_wx, ARRAY_SIZE(not_wx), err) < 0)
            return -1;
    } else {
        if (add_unconditional(ctx, SCMP_ACT_ALLOW, "mmap", err) < 0 ||
            add_unconditional(ctx, SCMP_ACT_ALLOW, "mprotect", err) < 0 ||
            add_unconditional(ctx, SCMP_ACT_ALLOW, "pkey_mprotect", err) < 0)
            return -1;
    }

    /* personality: the personas Docker allows; others (READ_IMPLIES_EXEC,
     * ADDR_NO_RANDOMIZE, ...) weaken exploit mitigations. */
    return allow_if_low32_in(ctx, "personality", 0, allowed_personalities,
                             ARRAY_SIZE(allowed_personalities), err);
}

/* Syscall numbers newer than the newest one this policy knows get ENOSYS:
 * the syscall "does not exist yet" from the workload's point of view, so a
 * libc that tries it first falls back. Only where the late numbers are
 * shared across arches; elsewhere they stay at the default EPERM. */
static int add_future_range(scmp_filter_ctx ctx, struct amber_error *err)
{
    int first = late_syscalls[ARRAY_SIZE(late_syscalls) - 1].nr + 1;

    if (!arch_has_unified_late_numbers(seccomp_arch_native()))
        return 0;
    for (int nr = first; nr <= FUTURE_SYSCALL_LAST; nr++) {
        int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);

        if (rc < 0)
            return amber_error_set(err, -rc, "seccomp policy: add ENOSYS rule for syscall %d", nr);
    }
    return 0;
}

int seccomp_policy_build(scmp_filter_ctx ctx, unsigned variant, struct amber_error *err)
{
    uint32_t def = 0;
    int rc;

    if (check_tables(err) < 0)
        return -1;

    /* Everything above relies on "not listed" meaning EPERM. */
    rc = seccomp_attr_get(ctx, SCMP_FLTATR_ACT_DEFAULT, &def);
    if (rc < 0)
        return amber_error_set(err, -rc, "seccomp policy: get default action");
    if (def != SCMP_ACT_ERRNO(EPERM))
        return amber_error_set(err, 0,
                               "seccomp policy: context default action must be ERRNO(EPERM)");

    rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (rc < 0)
        return amber_error_set(err, -rc, "seccomp policy: set bad-arch action");
    /* Binary search over syscall numbers instead of a linear chain: the
     * allowlist is a few hundred entries long. */
    rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (rc < 0)
        return amber_error_set(err, -rc, "seccomp policy: set optimization level");

    for (const char *const *const *g = allow_groups; *g != NULL; g++) {
        for (const char *const *p = *g; *p != NULL; p++) {
            if (add_unconditional(ctx, SCMP_ACT_ALLOW, *p, err) < 0)
                return -1;
        }
    }
    if (add_conditional_rules(ctx, variant, err) < 0)
        return -1;
    return add_future_range(ctx, err);
}

scmp_filter_ctx seccomp_policy_new(unsigned variant, struct amber_error *err)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));

    if (ctx == NULL) {
        amber_error_set(err, ENOMEM, "seccomp policy: create filter context");
        return NULL;
    }
    if (seccomp_policy_build(ctx, variant, err) < 0) {
        seccomp_release(ctx);
        return NULL;
    }
    return ctx;
}
