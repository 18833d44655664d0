/* The child side of the native backend: the ordered sequence of kernel
 * steps that turns a freshly cloned process into a sealed sandbox.
 *
 * The order, and why it is safe:
 *  0. Move into the sandbox's cgroup (cgroup.h: cgroup_open_self_join).
 *  1. Seal this process (seal.h): the caller's environment wiped, every
 *     inherited fd closed except the channels to amber (a descriptor
 *     leaked from the caller could name a host directory and walk around
 *     every later restriction, and PID 1 stays visible to the workload
 *     through /proc/1); non-dumpable once the id maps are written (2).
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
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/caps.h"
#include "sandbox/landlock.h"
#include "sandbox/launch.h"
#include "sandbox/payload.h"
#include "sandbox/rlimit.h"
#include "sandbox/sandbox.h"
#include "sandbox/seal.h"
#include "sandbox/workload.h"
#include "sandbox/seccomp.h"
#include "sandbox/sync.h"
#include "sandbox/rootfs.h"
#include "sandbox/net.h"
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

int send_fds(int sock, const void *data, size_t len, const int *fds, int n)
{
    struct iovec iov = {.iov_base = (void *)(uintptr_t)data, .iov_len = len};
    union {
        char buf[CMSG_SPACE(sizeof(int) * SEND_FDS_MAX)];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    struct cmsghdr *c;

    if (n < 0 || n > SEND_FDS_MAX)
        return -1;
    memset(&u, 0, sizeof(u));
    if (n > 0) {
        mh.msg_control = u.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
    }
    for (;;) {
        ssize_t w = sendmsg(sock, &mh, MSG_NOSIGNAL);
        if (w == (ssize_t)len)
            return 0;
        if (w < 0 && errno == EINTR)
            continue;
        return -1;
    }
}

int send_fd(int sock, const void *data, size_t len, int passfd)
{
    return send_fds(sock, data, len, &passfd, 1);
}

int recv_fds(int sock, void *data, size_t len, int *fds, int max)
{
    struct iovec iov = {.iov_base = data, .iov_len = len};
    union {
        char buf[CMSG_SPACE(sizeof(int) * SEND_FDS_MAX)];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    ssize_t r;
    int n = 0;

    do
        r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (r < 0 && errno == EINTR);
    if (r != (ssize_t)len) {
        if (r >= 0)
            errno = r == 0 ? ENODATA : EPROTO; /* ENODATA: the peer is gone (EOF) */
        n = -1;
    }
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (n >= 0 && n < max)
                fds[n++] = fd;
            else
                close(fd); /* more than asked for, or a bad message */
        }
    }
    return n;
}

int sync_send_fd(int fd, int type, int status, int passfd)
{
    struct sync_msg m;

    memset(&m, 0, sizeof(m));
    m.type = type;
    m.status = status;
    return send_fd(fd, &m, sizeof(m), passfd);
}

int sync_recv_fd(int fd, struct sync_msg *msg, int *passfd)
{
    *passfd = -1;
    if (recv_fds(fd, msg, sizeof(*msg), passfd, 1) < 0)
        return errno == ENODATA ? 0 : -1;
    return 1;
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

/* Landlock rights of one of the spec's mounts: read everywhere; write and
 * create where the mount is writable; execute only where it is allowed
 * (--workspace-exec, read-only volumes), so nothing the workload writes can
 * be run. */
static unsigned mount_access(const struct amber_mount *m)
{
    unsigned a = LL_READ;

    if (!m->readonly)
        a |= LL_WRITE | LL_CREATE;
    if (m->exec)
        a |= LL_EXEC;
    return a;
}

size_t sandbox_landlock_rules(const struct amber_spec *spec, struct landlock_path *rules,
                              size_t max)
{
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
    };
    const struct landlock_path *base = spec->rootfs == NULL ? own_root : user_root;
    size_t nbase = spec->rootfs == NULL ? sizeof(own_root) / sizeof(own_root[0])
                                        : sizeof(user_root) / sizeof(user_root[0]);
    size_t n = 0;

    /* --allow-write-exec: the workload's own writable space may run code. */
    unsigned own_exec = spec->allow_write_exec ? LL_EXEC : 0;

    for (size_t i = 0; i < nbase && n < max; i++) {
        rules[n] = base[i];
        if (strcmp(rules[n].path, "/tmp") == 0 || strcmp(rules[n].path, "/dev/shm") == 0)
            rules[n].access |= own_exec;
        n++;
    }
    if (n < max)
        rules[n++] =
            (struct landlock_path){spec_home(spec), LL_READ | LL_WRITE | LL_CREATE | own_exec};
    if (spec->nsecrets > 0 && n < max)
        rules[n++] = (struct landlock_path){AMBER_SECRETS, LL_READ};
    for (size_t i = 0; i < spec->nmounts && n < max; i++)
        rules[n++] = (struct landlock_path){spec->mounts[i].dst, mount_access(&spec->mounts[i])};
    return n;
}

/* `run -d`: hand amber this process's namespaces for `exec` (a process
 * may always open its own /proc/self/ns, dumpable or not). The time
 * namespace is the one its children, the workload, are in. */
static int send_namespaces(const struct sandbox_plan *plan, struct amber_error *err)
{
    for (int i = 0; i < AMBER_NS_COUNT; i++) {
        bool time = strcmp(amber_ns_file(i), "time") == 0;
        char path[64];
        int fd, rc;

        snprintf(path, sizeof(path), "/proc/self/ns/%s",
                 time ? "time_for_children" : amber_ns_file(i));
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && time && errno == ENOENT)
            continue; /* a kernel without time namespaces */
        if (fd < 0)
            return amber_error_errno(err, "open %s", path);
        rc = sync_send_fd(plan->sync_fd, SYNC_NS, i, fd);
        close(fd);
        if (rc < 0)
            return amber_error_errno(err, "hand %s to amber", path);
    }
    return 0;
}

int tty_slave = -1;
static int trees[SANDBOX_MAX_MOUNTS + 1];

/* Groups, gid, uid (messages name the flag or the config.json field), then
 * seal again: a uid change resets dumpability to fs.suid_dumpable. */
static int set_ids(const struct launch_process *p, struct amber_error *err)
{
    bool oci = p->as_written;

    if (p->setgroups_ok && setgroups(p->ngroups, p->groups) < 0 &&
        !(p->setgroups_eperm_ok && errno == EPERM))
        return amber_error_errno(err, "%s", oci ? "process.user.additionalGids" : "setgroups");
    if (setresgid(p->gid, p->gid, p->gid) < 0)
        return amber_error_errno(err, "%s %u", oci ? "process.user.gid" : "--user: setgid", p->gid);
    if (setresuid(p->uid, p->uid, p->uid) < 0)
        return amber_error_errno(err, "%s %u", oci ? "process.user.uid" : "--user: setuid", p->uid);
    seal_undumpable();
    return 0;
}

/* OCI: the bundle's process exactly as written (see launch.h). Messages
 * name the config.json field. */
static int process_steps_as_written(const struct launch_process *p, struct amber_error *err)
{
    bool early_seccomp = p->seccomp != NULL && !p->no_new_privs;

    if (rlimit_apply_exact(p->limits, "process.rlimits", err) < 0)
        return -1;
    if (p->has_umask)
        umask(p->umask);
    /* seccomp needs no_new_privs or CAP_SYS_ADMIN: without the first, load
     * it while the second is still held. */
    if (early_seccomp && seccomp_program_load(p->seccomp, err) < 0)
        return -1;
    if (caps_keep_for_setuid(err) < 0 || caps_bound_to(p->caps[CAPS_BOUNDING], err) < 0 ||
        set_ids(p, err) < 0)
        return -1;
    if (caps_set_all(p->caps, err) < 0)
        return -1;
    if (p->workdir != NULL && chdir(p->workdir) < 0)
        return amber_error_errno(err, "process.cwd '%s'", p->workdir);
    if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return amber_error_errno(err, "process.noNewPrivileges");
    if (!early_seccomp && p->seccomp != NULL && !p->seccomp_late)
        return seccomp_program_load(p->seccomp, err);
    return 0;
}

int launch_process_steps(const struct launch_process *p, const char **warning,
                         struct amber_error *err)
{
    const char *wd = p->workdir != NULL ? p->workdir : "/";
    struct seccomp_program prog;

    *warning = NULL;
    if (p->as_written)
        return process_steps_as_written(p, err);
    /* 5. (the part every process gets) */
    if (rlimit_apply(p->limits, p->userns, err) < 0)
        return -1;
    /* 6. */
    if (caps_drop_bounding(err) < 0 || set_ids(p, err) < 0)
        return -1;
    /* A --rootfs without /home/agent starts in "/"; an explicit --workdir
     * that does not exist is an error. */
    if (!p->workdir_given && access(wd, F_OK) < 0)
        wd = "/";
    if (chdir(wd) < 0)
        return amber_error_errno(err, "--workdir '%s'", wd);
    /* 7. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return amber_error_errno(err, "set no_new_privs");
    /* 8. */
    if (p->landlock_abi == 0) {
        if (!p->allow_no_landlock)
            return amber_error_set(err, 0, "Landlock is not available on this kernel");
        *warning = "Landlock unavailable: running without filesystem access rules "
                   "(--allow-degraded-security)";
    } else {
        int abi = 0;
        if (landlock_apply(p->rules, p->nrules, &abi, err) < 0)
            return -1;
    }
    if (caps_clear_and_verify(err) < 0)
        return -1;
    /* 9. */
    seccomp_default_program(seccomp_variant(p->allow_jit, p->tty), &prog);
    return seccomp_program_load(&prog, err);
}

void launch_child(const struct sandbox_plan *plan)
{
    const struct amber_spec *spec = plan->spec;
    struct amber_error err;
    struct sync_msg msg;
    struct sigaction sa;

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

    /* 1. Sealed before anything of the sandbox exists: the caller's
     * environment and command line wiped, every descriptor closed but the
     * channels to amber (non-dumpable follows at GO, 2). Close, not CLOEXEC:
     * PID 1 never execs, and the clone copied amber's whole table (the
     * --context source directory, whatever the caller leaked to amber). */
    {
        const int keep[] = {plan->sync_fd, plan->payload_fd};
        int out[2] = {plan->tty_out[0], plan->tty_out[1]};
        seal_tty_install(out);
        seal_environment("amber-init");
        amber_log_set_sink_fd(-1); /* closed below: the sink must not write to its number */
        if (seal_fds(keep, sizeof(keep) / sizeof(keep[0]), &err) < 0)
            fail(plan, &err);
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
    /* Non-dumpable only now: without root, amber writes the id maps in
     * /proc/PID as the owner of this process, which a non-dumpable process
     * no longer has (its /proc files turn root's). Until GO nothing else
     * runs in the sandbox. */
    seal_undumpable();
    /* The idmapped trees amber made for this sandbox's binds (idmap.h). */
    for (int i = 0; i <= SANDBOX_MAX_MOUNTS; i++)
        trees[i] = -1;
    for (int k = 0; k < msg.status; k++) {
        struct sync_msg t;
        int fd = -1;
        if (sync_recv_fd(plan->sync_fd, &t, &fd) != 1 || t.type != SYNC_TREE || fd < 0 ||
            t.status < 0 || t.status > SANDBOX_MAX_MOUNTS)
            _exit(AMBER_EXIT_INTERNAL);
        trees[t.status] = fd;
    }
    /* Now inside the sandbox's cgroup: a cgroup namespace rooted here hides
     * the host's cgroup paths from /proc/self/cgroup. */
    if (unshare(CLONE_NEWCGROUP) < 0) {
        amber_error_errno(&err, "unshare the cgroup namespace");
        fail(plan, &err);
    }

    /* 3. */
    if (plan->userns && plan->become_root) {
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
            amber_error_errno(&err, "become root of the user namespace");
            fail(plan, &err);
        }
        seal_undumpable(); /* the uid change reset it to fs.suid_dumpable */
    }
    if (plan->setgroups_ok && setgroups(0, NULL) < 0) {
        amber_error_errno(&err, "drop supplementary groups");
        fail(plan, &err);
    }

    /* 4. */
    if (rootfs_setup(plan, trees, &err) < 0)
        fail(plan, &err);
    for (int i = 0; i <= SANDBOX_MAX_MOUNTS; i++)
        if (trees[i] >= 0)
            close(trees[i]);
    /* 4b. Populate /run/secrets, /context, /workspace from the host's
     * payload. After pivot_root the paths can only name the sandbox's own
     * mounts; files are created with the sandbox's credentials. */
    if (plan->payload_fd >= 0) {
        if (payload_recv(plan->payload_fd, plan, &err) < 0)
            fail(plan, &err);
        close(plan->payload_fd);
    }

    /* 4c. -t: a pty from the sandbox's own devpts. amber gets the master;
     * the workload gets the slave as its controlling terminal. */
    if (spec->tty) {
        int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        int unlock = 0;

        if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) < 0) {
            amber_error_errno(&err, "--tty: open /dev/ptmx");
            fail(plan, &err);
        }
        tty_slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (tty_slave < 0) {
            amber_error_errno(&err, "--tty: open the pty's terminal");
            fail(plan, &err);
        }
        if (sync_send_fd(plan->sync_fd, SYNC_TTY, 0, master) < 0) {
            amber_error_errno(&err, "--tty: hand the pty to amber");
            fail(plan, &err);
        }
        close(master);
    }

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
    /* 6.-9.: the process steps, the same for an `exec` entry. */
    {
        struct landlock_path rules[SANDBOX_MAX_RULES];
        size_t nrules = sandbox_landlock_rules(spec, rules, SANDBOX_MAX_RULES);
        struct launch_process lp = {
            .limits = spec,
            .userns = plan->userns,
            .uid = plan->uid,
            .gid = plan->gid,
            .groups = plan->groups,
            .ngroups = (size_t)plan->ngroups,
            .setgroups_ok = plan->setgroups_ok,
            .workdir = spec_workdir(spec),
            .workdir_given = spec->workdir != NULL,
            .rules = rules,
            .nrules = nrules,
            .landlock_abi = plan->landlock_abi,
            .allow_no_landlock = plan->allow_no_landlock,
            .allow_jit = spec->allow_jit,
            .tty = spec->tty,
        };
        const char *warning = NULL;

        if (nrules >= SANDBOX_MAX_RULES) {
            amber_error_set(&err, 0, "Landlock: too many mounts");
            fail(plan, &err);
        }
        if (launch_process_steps(&lp, &warning, &err) < 0)
            fail(plan, &err);
        if (warning != NULL)
            warn_parent(plan, warning);
    }

    /* 10. */
    /* `exec` enters through these: all of them, or the start fails. */
    if (spec->enterable && send_namespaces(plan, &err) < 0)
        fail(plan, &err);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (sync_send(plan->sync_fd, SYNC_READY, 0, NULL) < 0)
        _exit(AMBER_EXIT_INTERNAL);
    /* `amber create`: the sandbox is built; the workload starts only when
     * `amber start` releases it (or never: the parent's death ends us). */
    if (spec->hold) {
        if (sync_recv(plan->sync_fd, &msg) != 1 || msg.type != SYNC_START)
            _exit(AMBER_EXIT_INTERNAL);
    }
    if (!spec->init) {
        /* --no-init: the workload itself becomes PID 1. */
        if (rlimit_data_bound(spec, plan->memory_rlimit, &err) < 0)
            err.status = AMBER_EXIT_INTERNAL;
        else {
            if (!spec->tty)
                setsid(); /* out of the caller's session: no controlling terminal */
            amber_exec_workload(spec, tty_slave, &err);
        }
        sync_send(plan->sync_fd, SYNC_EXEC_FAILED, err.status, &err);
        _exit(err.status);
    }
    init_run(plan);
}
