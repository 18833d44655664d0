/* The child side of the native backend: the ordered sequence of kernel
 * steps that turns a freshly cloned process into a sealed sandbox.
 *
 * The order, and why it is safe:
 *  0. Move into the sandbox's cgroup (cgroup.h: cgroup_open_self_join).
 *  1. Close every inherited fd except the sync channel (close_range with
 *     CLOEXEC): a descriptor leaked from the caller could name a host
 *     directory and walk around every later restriction.
 *  2. Parent-death signal, then wait for GO: the parent writes the user
 *     namespace maps before anything runs, so no step runs with unmapped
 *     ids. Then a cgroup namespace rooted at the sandbox's cgroup.
 *  3. Become root of the user namespace (if any) and drop the host's
 *     supplementary groups.
 *  4. Filesystem (rootfs.c): private mounts, new root, /dev, /proc, pivot.
 *     Needs CAP_SYS_ADMIN, so it comes before any capability drop.
 *  5. Hostname, loopback, time namespace, rlimits: still privileged steps.
 *  6. Lock securebits and drop the bounding set (needs CAP_SETPCAP), then
 *     switch to the workload uid/gid (needs CAP_SETUID/SETGID).
 *  7. no_new_privs: from here no exec can gain privileges (setuid bits,
 *     file capabilities); it is also what lets an unprivileged process
 *     install Landlock and seccomp.
 *  8. Landlock (needs the final root to name paths), then clear every
 *     capability and verify all five sets are empty.
 *  9. seccomp last: it forbids mount, unshare, setns..., which the steps
 *     above needed. The filter then also confines PID 1.
 * 10. Re-arm the parent-death signal (a uid change clears it), report READY
 *     and become PID 1 (init.c). If amber dies, PID 1 gets SIGKILL and the
 *     kernel kills the whole pid namespace with it.
 * Any failure sends SYNC_ERROR with the message and exits 125. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend/backend.h"
#include "sandbox/caps.h"
#include "sandbox/landlock.h"
#include "sandbox/rlimit.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp.h"
#include "util/log.h"

int sync_send(int fd, int type, int status, const struct amber_error *err)
{
    struct sync_msg m;

    memset(&m, 0, sizeof(m));
    m.type = type;
    m.status = status;
    if (err != NULL)
        m.err = *err;
    for (;;) {
        ssize_t w = send(fd, &m, sizeof(m), MSG_NOSIGNAL);
        if (w == (ssize_t)sizeof(m))
            return 0;
        if (w < 0 && errno == EINTR)
            continue;
        return -1;
    }
}

int sync_recv(int fd, struct sync_msg *msg)
{
    for (;;) {
        ssize_t r = recv(fd, msg, sizeof(*msg), 0);
        if (r == (ssize_t)sizeof(*msg))
            return 1;
        if (r == 0)
            return 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return -1;
        if (r > 0)
            errno = EPROTO;
        return -1;
    }
}

__attribute__((noreturn)) static void fail(const struct sandbox_plan *plan,
                                           const struct amber_error *err)
{
    sync_send(plan->sync_fd, SYNC_ERROR, 0, err);
    _exit(AMBER_EXIT_INTERNAL);
}

static void noop_handler(int sig)
{
    (void)sig;
}

static void warn_parent(const struct sandbox_plan *plan, const char *msg)
{
    struct amber_error w;
    amber_error_set(&w, 0, "%s", msg);
    sync_send(plan->sync_fd, SYNC_WARNING, 0, &w);
}

static int apply_landlock(const struct sandbox_plan *plan, struct amber_error *err)
{
    const struct amber_spec *spec = plan->spec;
    static const struct landlock_path own_root[] = {
        {"/", LL_LIST},
        {"/usr", LL_READ | LL_EXEC},
        {"/bin", LL_READ | LL_EXEC},
        {"/sbin", LL_READ | LL_EXEC},
        {"/lib", LL_READ | LL_EXEC},
        {"/lib64", LL_READ | LL_EXEC},
        {"/lib32", LL_READ | LL_EXEC},
        {"/libx32", LL_READ | LL_EXEC},
        {"/etc", LL_READ},
        {"/proc", LL_READ},
        {"/dev", LL_READ | LL_WRITE | LL_DEV},
        {"/dev/shm", LL_READ | LL_WRITE | LL_CREATE},
        {"/tmp", LL_READ | LL_WRITE | LL_CREATE},
        {AMBER_HOME, LL_READ | LL_WRITE | LL_CREATE},
    };
    /* A user-chosen rootfs is read-only (bind) or a private writable layer
     * (overlay): its whole tree is the sandbox's system. */
    const struct landlock_path user_root[] = {
        {"/", spec->rootfs_mode == AMBER_ROOTFS_OVERLAY
                  ? (unsigned)(LL_READ | LL_EXEC | LL_WRITE | LL_CREATE)
                  : (unsigned)(LL_READ | LL_EXEC)},
        {"/proc", LL_READ},
        {"/dev", LL_READ | LL_WRITE | LL_DEV},
        {"/dev/shm", LL_READ | LL_WRITE | LL_CREATE},
        {"/tmp", LL_READ | LL_WRITE | LL_CREATE},
        {AMBER_HOME, LL_READ | LL_WRITE | LL_CREATE},
    };
    int abi = 0;

    if (plan->landlock_abi == 0) {
        if (!plan->allow_no_landlock)
            return amber_error_set(err, 0, "Landlock is not available on this kernel");
        warn_parent(plan, "Landlock unavailable: running without filesystem access rules "
                          "(--allow-degraded-security)");
        return 0;
    }
    if (spec->rootfs == NULL)
        return landlock_apply(own_root, sizeof(own_root) / sizeof(own_root[0]), &abi, err);
    return landlock_apply(user_root, sizeof(user_root) / sizeof(user_root[0]), &abi, err);
}

void launch_child(const struct sandbox_plan *plan)
{
    const struct amber_spec *spec = plan->spec;
    struct amber_error err;
    struct sync_msg msg;
    struct sigaction sa;
    const char *wd;

    amber_error_clear(&err);

    /* 0. Join the sandbox's cgroup before anything else, so every later
     * step and every descendant is accounted and limited. */
    for (int i = 0; i < plan->ncgroup_fds; i++) {
        if (write(plan->cgroup_fds[i], "0", 1) != 1) {
            amber_error_errno(&err, "join the sandbox cgroup");
            fail(plan, &err);
        }
        close(plan->cgroup_fds[i]);
    }

    /* 1. */
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
        for (int fd = 3; fd < 1024; fd++) {
            if (fd != plan->sync_fd)
                fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
    }

    /* PID 1 of a pid namespace drops signals it has no handler for; install
     * handlers now (the signals stay blocked, queued for init.c). */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = noop_handler;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < amber_forward_signals_count; i++)
        sigaction(amber_forward_signals[i], &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);

    /* 2. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (sync_recv(plan->sync_fd, &msg) != 1 || msg.type != SYNC_GO)
        _exit(AMBER_EXIT_INTERNAL);
    /* Now inside the sandbox's cgroup: a cgroup namespace rooted here hides
     * the host's cgroup paths from /proc/self/cgroup. */
    if (unshare(CLONE_NEWCGROUP) < 0) {
        amber_error_errno(&err, "unshare the cgroup namespace");
        fail(plan, &err);
    }

    /* 3. */
    if (plan->userns && plan->host_root) {
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
            amber_error_errno(&err, "become root of the user namespace");
            fail(plan, &err);
        }
    }
    if (plan->host_root && setgroups(0, NULL) < 0) {
        amber_error_errno(&err, "drop supplementary groups");
        fail(plan, &err);
    }

    /* 4. */
    if (rootfs_setup(plan, &err) < 0)
        fail(plan, &err);

    /* 5. */
    if (sethostname(spec->hostname, strlen(spec->hostname)) < 0) {
        amber_error_errno(&err, "sethostname '%s'", spec->hostname);
        fail(plan, &err);
    }
    if (spec->network == AMBER_NET_NONE && net_loopback_up(&err) < 0)
        fail(plan, &err);
    if (spec->time_ns && unshare(CLONE_NEWTIME) < 0) {
        amber_error_errno(&err, "--time-namespace: unshare(CLONE_NEWTIME)");
        fail(plan, &err);
    }
    if (rlimit_apply(spec, &err) < 0)
        fail(plan, &err);

    /* 6. */
    if (caps_drop_bounding(&err) < 0)
        fail(plan, &err);
    if (plan->host_root) { /* rootless: setgroups is denied by the id map */
        gid_t g = plan->gid;
        if (setgroups(1, &g) < 0) {
            amber_error_errno(&err, "setgroups %u", plan->gid);
            fail(plan, &err);
        }
    }
    if (setresgid(plan->gid, plan->gid, plan->gid) < 0) {
        amber_error_errno(&err, "--user: setgid %u", plan->gid);
        fail(plan, &err);
    }
    if (setresuid(plan->uid, plan->uid, plan->uid) < 0) {
        amber_error_errno(&err, "--user: setuid %u", plan->uid);
        fail(plan, &err);
    }
    wd = spec->workdir ? spec->workdir : AMBER_HOME;
    /* A --rootfs without /home/agent starts in "/"; an explicit --workdir
     * that does not exist is an error. */
    if (spec->workdir == NULL && access(wd, F_OK) < 0)
        wd = "/";
    if (chdir(wd) < 0) {
        amber_error_errno(&err, "--workdir '%s'", wd);
        fail(plan, &err);
    }

    /* 7. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        amber_error_errno(&err, "set no_new_privs");
        fail(plan, &err);
    }

    /* 8. */
    if (apply_landlock(plan, &err) < 0)
        fail(plan, &err);
    if (caps_clear_and_verify(&err) < 0)
        fail(plan, &err);

    /* 9. */
    if (seccomp_load_default(&err) < 0)
        fail(plan, &err);

    /* 10. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (sync_send(plan->sync_fd, SYNC_READY, 0, NULL) < 0)
        _exit(AMBER_EXIT_INTERNAL);
    init_run(plan);
}
