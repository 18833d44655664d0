/* Capabilities: the workload runs with none, and cannot get any back.
 *
 * What each step stops:
 *  - securebits (NOROOT, NO_SETUID_FIXUP, NO_CAP_AMBIENT_RAISE, all locked,
 *    and KEEP_CAPS locked): uid 0 inside the sandbox gains no capabilities on
 *    execve, changing uid never hands capabilities back, and the ambient set
 *    can never be raised again. Locked bits survive execve and cannot be
 *    unset, even by a process that later finds CAP_SETPCAP.
 *  - the bounding set, emptied: no execve of a file with file capabilities
 *    (or a setuid-root binary, if no_new_privs were ever missing) can put a
 *    capability into the permitted set.
 *  - the ambient set, cleared: nothing is carried across execve implicitly.
 *  - effective/permitted/inheritable, cleared last and then verified: the
 *    workload starts with nothing, and we fail closed if the kernel left
 *    anything behind.
 *
 * No libcap: capget/capset are raw syscalls with the v3 (64-bit) layout and
 * everything else is prctl. */
#include "sandbox/caps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/securebits.h>

#include "util/cleanup.h"

/* The v3 capability sets are two 32-bit words: capabilities 0..63. Loops
 * run up to 63 rather than to cap_last_cap so a capability this binary's
 * headers (or an unreadable /proc) do not know about is still dropped and
 * checked; they stop at the kernel's first EINVAL, which it answers for
 * every number past its own last cap (cap_valid() is one range from 0). */
#define CAPS_WORDS 2
#define CAPS_MAX 63

#define AMBER_SECUREBITS                                                                           \
    (SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |                               \
     SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |       \
     SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)

static int caps_get(struct __user_cap_data_struct data[CAPS_WORDS])
{
    struct __user_cap_header_struct hdr = {
        .version = _LINUX_CAPABILITY_VERSION_3,
        .pid = 0,
    };

    memset(data, 0, sizeof(*data) * CAPS_WORDS);
    return (int)syscall(SYS_capget, &hdr, data);
}

static int caps_set(const struct __user_cap_data_struct data[CAPS_WORDS])
{
    struct __user_cap_header_struct hdr = {
        .version = _LINUX_CAPABILITY_VERSION_3,
        .pid = 0,
    };

    return (int)syscall(SYS_capset, &hdr, data);
}

int caps_last_cap(void)
{
    /* -1 = not read yet. The value is fixed for the kernel's lifetime, so
     * two racing first callers just read the file twice. */
    static _Atomic int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    char buf[32];
    ssize_t r;
    cleanup_close int fd = -1;

    if (v >= 0)
        return v;
    v = CAP_LAST_CAP;
    fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        do {
            r = read(fd, buf, sizeof(buf) - 1);
        } while (r < 0 && errno == EINTR);
        if (r > 0) {
            char *end;
            long l;

            buf[r] = '\0';
            errno = 0;
            l = strtol(buf, &end, 10);
            if (errno == 0 && end != buf && l >= 0 && l <= CAPS_MAX)
                v = (int)l;
        }
    }
    atomic_store_explicit(&cached, v, memory_order_relaxed);
    return v;
}

int caps_drop_bounding(struct amber_error *err)
{
    unsigned long want;
    int old;

    /* Securebits first: PR_SET_SECUREBITS needs CAP_SETPCAP in the
     * effective set, and so does PR_CAPBSET_DROP; neither step removes it
     * from the effective set (dropping CAP_SETPCAP from the bounding set
     * only limits future execs), so the order of the three steps is free.
     * Locking the bits before anything else means a failure later still
     * leaves the strongest part in place. */
    old = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
    if (old < 0)
        return amber_error_errno(err, "caps: prctl(PR_GET_SECUREBITS)");
    /* Keep bits something above us already set (they may be locked, and
     * changing a locked bit is EPERM); clear KEEP_CAPS unless it is locked
     * on, so the lock we add pins it off. */
    want = (unsigned long)old | AMBER_SECUREBITS;
    if (!((unsigned long)old & SECBIT_KEEP_CAPS_LOCKED))
        want &= ~(unsigned long)SECBIT_KEEP_CAPS;
    if ((unsigned long)old != want && prctl(PR_SET_SECUREBITS, want, 0, 0, 0) < 0)
        return amber_error_errno(err, "caps: set securebits 0x%lx", want);

    /* Ambient: needs no privilege. EINVAL means a kernel without ambient
     * capabilities (< 4.3): nothing to clear. NO_CAP_AMBIENT_RAISE, locked
     * above, keeps it empty from here on. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return amber_error_errno(err, "caps: clear the ambient set");

    /* Bounding: effective and permitted are untouched, so the caller keeps
     * CAP_SETUID/CAP_SETGID for the uid change that follows. */
    for (int cap = 0; cap <= CAPS_MAX; cap++) {
        if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) < 0) {
            if (errno == EINVAL)
                break; /* past the kernel's last cap */
            return amber_error_errno(err, "caps: drop capability %d from the bounding set", cap);
        }
    }
    return 0;
}

int caps_clear_and_verify(struct amber_error *err)
{
    struct __user_cap_data_struct data[CAPS_WORDS];

    /* Lowering every set is always allowed, whatever uid we now have. */
    memset(data, 0, sizeof(data));
    if (caps_set(data) < 0)
        return amber_error_errno(err, "caps: capset (clear all)");

    if (caps_get(data) < 0)
        return amber_error_errno(err, "caps: capget");
    for (int w = 0; w < CAPS_WORDS; w++) {
        static const char *const names[] = {"effective", "permitted", "inheritable"};
        uint32_t sets[3] = {data[w].effective, data[w].permitted, data[w].inheritable};

        for (int s = 0; s < 3; s++) {
            if (sets[s] != 0) {
                int cap = w * 32 + __builtin_ctz(sets[s]);

                return amber_error_set(err, 0, "caps: capability %d still in the %s set", cap,
                                       names[s]);
            }
        }
    }

    for (int cap = 0; cap <= CAPS_MAX; cap++) {
        int r = prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0);

        if (r < 0) {
            if (errno == EINVAL)
                break; /* past the kernel's last cap */
            return amber_error_errno(err, "caps: read bounding capability %d", cap);
        }
        if (r != 0)
            return amber_error_set(err, 0, "caps: capability %d still in the bounding set", cap);
    }
    /* The ambient set needs no check of its own: the kernel keeps it a
     * subset of permitted and inheritable (capset drops what leaves them),
     * and both were just read back empty. */
    return 0;
}

/* ---- OCI bundles: the capability sets exactly as written ---- */

/* The one table of capability names (OCI's spelling, "CAP_CHOWN"). */
#define CAP_COUNT 41

static const char *const cap_names[CAP_COUNT] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

int caps_number(const char *name)
{
    for (int i = 0; i < CAP_COUNT; i++)
        if (strcmp(cap_names[i], name) == 0)
            return i;
    return -1;
}

const char *caps_name(int cap)
{
    return cap >= 0 && cap < CAP_COUNT ? cap_names[cap] : NULL;
}

static const char *cap_label(int c, char *buf, size_t n)
{
    if (caps_name(c) != NULL)
        return caps_name(c);
    snprintf(buf, n, "capability %d", c);
    return buf;
}

int caps_keep_for_setuid(struct amber_error *err)
{
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return amber_error_errno(err, "keep capabilities");
    return 0;
}

int caps_bound_to(uint64_t keep, struct amber_error *err)
{
    int last = caps_last_cap();
    char buf[32];

    for (int c = 0; c <= last; c++) {
        if (!(keep & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            return amber_error_errno(err, "process.capabilities.bounding: drop %s",
                                     cap_label(c, buf, sizeof(buf)));
    }
    return 0;
}

int caps_set_all(const uint64_t sets[CAPS_SETS], struct amber_error *err)
{
    struct __user_cap_data_struct data[CAPS_WORDS];
    int last = caps_last_cap();
    char buf[32];

    memset(data, 0, sizeof(data));
    data[0].effective = (uint32_t)sets[CAPS_EFFECTIVE];
    data[1].effective = (uint32_t)(sets[CAPS_EFFECTIVE] >> 32);
    data[0].permitted = (uint32_t)sets[CAPS_PERMITTED];
    data[1].permitted = (uint32_t)(sets[CAPS_PERMITTED] >> 32);
    data[0].inheritable = (uint32_t)sets[CAPS_INHERITABLE];
    data[1].inheritable = (uint32_t)(sets[CAPS_INHERITABLE] >> 32);
    if (caps_set(data) < 0)
        return amber_error_errno(err, "process.capabilities");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return amber_error_errno(err, "process.capabilities.ambient");
    /* The kernel keeps ambient within permitted and inheritable; a cap
     * asked for outside both is not raised (runc skips it the same way). */
    for (int c = 0; c <= last; c++) {
        if ((sets[CAPS_AMBIENT] & sets[CAPS_PERMITTED] & sets[CAPS_INHERITABLE] & (1ULL << c)) &&
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
            return amber_error_errno(err, "process.capabilities.ambient: raise %s",
                                     cap_label(c, buf, sizeof(buf)));
    }
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    return 0;
}
