/* The native backend's launch of a spec taken exactly as written
 * (spec->written; an OCI bundle): the parent's side. The first process is
 * the sandbox: no amber process stays behind it (an engine such as conmon
 * reaps it as a subreaper and reads its exit status itself), so with
 * spec->hold it waits on the hold FIFO until start_held(), and after
 * detach() it outlives the process that made it; teardown() removes what
 * prepare made. The child's steps are sandbox/launch_written.c.
 *
 * Every descriptor made here is raised above 3 + preserve_fds, so that
 * none lands on a descriptor the engine passes. */
#include "backend/native.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/cgroup.h"
#include "sandbox/launch_written.h"
#include "sandbox/sandbox.h"
#include "sandbox/seal.h"
#include "sandbox/seccomp.h"
#include "sandbox/sync.h"
#include "sandbox/userns.h"
#include "util/cleanup.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/parse.h"
#include "util/proc.h"
#include "util/xalloc.h"

/* Below each hierarchy's root, a bundle without linux.cgroupsPath gets
 * /amber/<id>; teardown removes that parent too once it is empty. */
#define WRITTEN_CGROUP_PARENT "amber"

struct written_instance {
    const struct amber_spec *spec;
    struct amber_cgroup cg;
    struct written_plan plan;
    char cgroup_path[PATH_MAX];
    pid_t pid;
    int sync_fd;
    bool started;  /* the workload reached READY: its cgroups are the caller's now */
    bool detached; /* it no longer depends on this process */
    bool reaped;
};

/* An engine names the container's cgroup (podman: /libpod_parent/libpod-<id>)
 * and reads it back, in every hierarchy it may look at; it outlives the
 * create process, so teardown removes it. */
static void cgroup_placement(const struct amber_written *w, struct cgroup_place *where, char *path)
{
    memset(where, 0, sizeof(*where));
    if (w->cgroups_path != NULL)
        snprintf(path, PATH_MAX, "%s", w->cgroups_path);
    else
        snprintf(path, PATH_MAX, "/" WRITTEN_CGROUP_PARENT "/%s", w->id);
    where->path = path;
    where->every_hierarchy = true;
    where->optional = true;
}

/* Keep internal fds clear of the ones passed with preserve_fds. */
static int raise_fd(int fd, int min)
{
    int n, e;

    if (fd < 0 || fd >= min)
        return fd;
    n = fcntl(fd, F_DUPFD_CLOEXEC, min);
    e = errno;
    close(fd);
    errno = e; /* -1 with errno when there is no fd to spare */
    return n;
}

static int connect_console(const char *path, struct amber_error *err)
{
    struct sockaddr_un sa;
    int fd;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path))
        return amber_error_set(err, ENAMETOOLONG, "--console-socket '%s'", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return amber_error_errno(err, "--console-socket: socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        amber_error_errno(err, "--console-socket '%s'", path);
        close(fd);
        return -1;
    }
    return fd;
}

void written_destroy(struct written_instance *x)
{
    struct amber_error ignore;

    if (x == NULL)
        return;
    if (!x->detached && x->pid > 0 && !x->reaped) {
        kill(x->pid, SIGKILL);
        while (waitpid(x->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    /* Until the workload is built its cgroups are ours to remove; after,
     * the caller has recorded them and removes them with teardown(). */
    if (!x->started)
        cgroup_remove_with_parent(x->cg.paths, x->cg.npaths, WRITTEN_CGROUP_PARENT, &ignore);
    if (x->plan.fifo_fd >= 0)
        close(x->plan.fifo_fd);
    if (x->plan.console_fd >= 0)
        close(x->plan.console_fd);
    for (int i = 0; i < AMBER_NS_COUNT; i++)
        if (x->plan.ns_fds[i] >= 0)
            close(x->plan.ns_fds[i]);
    for (int i = 0; i < x->plan.ncgroup_fds; i++)
        if (x->plan.cgroup_fds[i] >= 0)
            close(x->plan.cgroup_fds[i]);
    if (x->sync_fd >= 0)
        close(x->sync_fd);
    for (int i = 0; i < x->cg.npaths; i++)
        free(x->cg.paths[i]);
    free(x);
}

int written_prepare(const struct amber_spec *spec, struct written_instance **out,
                    struct amber_error *err)
{
    const struct amber_written *w = &spec->written;
    struct written_instance *x = xcalloc(1, sizeof(*x));
    int min = 3 + w->preserve_fds;

    x->spec = spec;
    x->sync_fd = -1;
    x->plan.spec = spec;
    x->plan.fifo_fd = -1;
    x->plan.console_fd = -1;
    x->plan.sync_fd = -1;
    x->plan.preserve_fds = w->preserve_fds;
    x->plan.detach = w->detach;
    x->plan.host_root = geteuid() == 0;
    for (int i = 0; i < AMBER_NS_COUNT; i++)
        x->plan.ns_fds[i] = -1;
    *out = x;

    if (w->console_socket != NULL) {
        int fd = connect_console(w->console_socket, err);
        x->plan.console_fd = fd < 0 ? -1 : raise_fd(fd, min);
        if (fd >= 0 && x->plan.console_fd < 0)
            amber_error_errno(err, "--console-socket: fd");
        if (x->plan.console_fd < 0)
            return -1;
    }
    for (int t = 0; t < AMBER_NS_COUNT; t++) {
        if (w->ns_path[t] == NULL)
            continue;
        x->plan.ns_fds[t] = raise_fd(open(w->ns_path[t], O_RDONLY | O_CLOEXEC), min);
        if (x->plan.ns_fds[t] < 0)
            return amber_error_errno(err, "linux.namespaces: %s namespace '%s'", amber_ns_name(t),
                                     w->ns_path[t]);
    }
    /* A sysctl goes into the namespace the sandbox joins: refuse when that
     * is amber's own (the host's), as for no namespace at all. */
    for (size_t i = 0; w->sysctl != NULL && w->sysctl[i] != NULL; i++) {
        const char *k = w->sysctl[i];
        enum amber_ns t = amber_sysctl_ns(k);
        char own[64];
        struct stat a, b;
        if (x->plan.ns_fds[t] < 0)
            continue;
        snprintf(own, sizeof(own), "/proc/self/ns/%s", amber_ns_file(t));
        if (fstat(x->plan.ns_fds[t], &a) == 0 && stat(own, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev)
            return amber_error_set(err, 0,
                                   "config.json: linux.sysctl %.*s: the %s namespace joined at "
                                   "'%s' is the host's",
                                   (int)strcspn(k, "="), k, amber_ns_name(t), w->ns_path[t]);
    }
    {
        struct cgroup_limits lim;
        struct cgroup_place where;

        cgroup_limits_from_written(w, &lim);
        cgroup_placement(w, &where, x->cgroup_path);
        if (cgroup_create(&x->cg, &where, &lim, err) < 0)
            return amber_error_prefix(err, "linux.cgroupsPath");
    }
    x->plan.ncgroup_fds =
        x->cg.npaths > 0 ? cgroup_open_self_join(&x->cg, x->plan.cgroup_fds, err) : 0;
    if (x->plan.ncgroup_fds < 0) {
        x->plan.ncgroup_fds = 0;
        return -1;
    }
    for (int i = 0; i < x->plan.ncgroup_fds; i++) {
        if (fault_hit("oci-raise-fd")) {
            close(x->plan.cgroup_fds[i]);
            x->plan.cgroup_fds[i] = -1;
            errno = EMFILE;
        } else {
            x->plan.cgroup_fds[i] = raise_fd(x->plan.cgroup_fds[i], min);
        }
        if (x->plan.cgroup_fds[i] < 0)
            return amber_error_errno(err, "cgroup join fd");
    }
    if (spec->hold && w->hold_fifo != NULL) {
        if (mkfifo(w->hold_fifo, 0600) < 0)
            return amber_error_errno(err, "create '%s'", w->hold_fifo);
        /* Read end for the workload: opening it non-blocking succeeds
         * without a writer, and start_held() can then open the write end
         * without blocking (or learn from ENXIO that nobody waits). */
        x->plan.fifo_fd = raise_fd(open(w->hold_fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC), min);
        if (x->plan.fifo_fd < 0)
            return amber_error_errno(err, "open '%s'", w->hold_fifo);
    }
    return 0;
}

void written_describe(struct written_instance *x, struct amber_started *out)
{
    out->pid = x->pid > 0 ? x->pid : 0;
    out->cgroups = x->cg.paths;
    out->ncgroups = x->cg.npaths;
}

static int write_maps(struct written_instance *x, struct amber_error *err)
{
    const struct amber_spec *spec = x->spec;
    struct sandbox_plan sp;

    memset(&sp, 0, sizeof(sp));
    if (spec->nuidmap > SANDBOX_MAX_MAPS || spec->ngidmap > SANDBOX_MAX_MAPS)
        return amber_error_set(err, 0, "linux.uidMappings: at most %d lines", SANDBOX_MAX_MAPS);
    for (size_t i = 0; i < spec->nuidmap; i++)
        sp.uidmap[i] =
            (struct id_map){spec->uidmap[i].inside, spec->uidmap[i].outside, spec->uidmap[i].count};
    for (size_t i = 0; i < spec->ngidmap; i++)
        sp.gidmap[i] =
            (struct id_map){spec->gidmap[i].inside, spec->gidmap[i].outside, spec->gidmap[i].count};
    sp.nuidmap = (int)spec->nuidmap;
    sp.ngidmap = (int)spec->ngidmap;
    sp.host_root = x->plan.host_root;
    sp.newidmap = !sp.host_root;
    return userns_write_maps(x->pid, &sp, err);
}

int written_start(struct written_instance *x, struct amber_error *err)
{
    const struct amber_written *w = &x->spec->written;
    unsigned long flags = SIGCHLD;
    int sv[2], own_pidns = -1;
    struct sync_msg msg;
    cleanup_free char *state = NULL;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return amber_error_errno(err, "sync socketpair");
    sv[0] = raise_fd(sv[0], 3 + w->preserve_fds);
    sv[1] = raise_fd(sv[1], 3 + w->preserve_fds);
    x->sync_fd = sv[0];
    if (sv[0] < 0 || sv[1] < 0) {
        if (sv[1] >= 0)
            close(sv[1]);
        return amber_error_errno(err, "sync socketpair");
    }
    if (w->ns_new[AMBER_NS_PID])
        flags |= CLONE_NEWPID;
    if (w->ns_new[AMBER_NS_USER])
        flags |= CLONE_NEWUSER;
    /* A pid namespace to join applies to the children of the joiner: only
     * for the clone below; later children (hooks, newuidmap) go back to
     * amber's own. */
    if (x->plan.ns_fds[AMBER_NS_PID] >= 0 &&
        ((own_pidns = raise_fd(open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC),
                               3 + w->preserve_fds)) < 0 ||
         setns(x->plan.ns_fds[AMBER_NS_PID], CLONE_NEWPID) < 0)) {
        amber_error_errno(err, "linux.namespaces: join pid namespace '%s'",
                          w->ns_path[AMBER_NS_PID]);
        if (own_pidns >= 0)
            close(own_pidns);
        close(sv[1]);
        return -1;
    }
    x->plan.sync_fd = sv[1];
    x->pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
    if (x->pid == 0)
        written_child(&x->plan);
    close(sv[1]);
    x->plan.sync_fd = -1;
    if (own_pidns >= 0) {
        int r = setns(own_pidns, CLONE_NEWPID);
        close(own_pidns);
        if (r < 0 && x->pid > 0)
            return amber_error_errno(err, "return to amber's pid namespace");
    }
    if (x->pid < 0)
        return amber_error_errno(err, "create the container's namespaces (clone)");
    if (w->ns_new[AMBER_NS_USER] && write_maps(x, err) < 0)
        return -1;
    state = written_state_doc(w->id, "creating", x->pid, w->bundle, w->annotations, w->created);
    if (sync_send(x->sync_fd, SYNC_GO, (int)x->pid, NULL) < 0)
        return amber_error_errno(err, "release the container");
    for (;;) {
        int r = sync_recv(x->sync_fd, &msg);
        if (r == 1 && msg.type == WRITTEN_SYNC_HOOKS) {
            if (hooks_run(w->hooks[AMBER_HOOK_PRESTART], w->nhooks[AMBER_HOOK_PRESTART], "prestart",
                          state, err) < 0 ||
                hooks_run(w->hooks[AMBER_HOOK_CREATE_RUNTIME], w->nhooks[AMBER_HOOK_CREATE_RUNTIME],
                          "createRuntime", state, err) < 0)
                return -1;
            if (sync_send(x->sync_fd, SYNC_GO, 0, NULL) < 0)
                return amber_error_errno(err, "release the container");
            continue;
        }
        if (r == 1 && msg.type == SYNC_READY)
            break;
        if (r == 1 && msg.type == SYNC_ERROR) {
            *err = msg.err;
            err->msg[sizeof(err->msg) - 1] = '\0';
            return -1;
        }
        return amber_error_set(err, r < 0 ? errno : 0, "the container died during setup");
    }
    x->started = true;
    return 0;
}

int written_detach(struct written_instance *x, struct amber_error *err)
{
    struct sync_msg msg;

    if (!x->plan.detach)
        return amber_error_set(err, 0, "detach: the spec did not ask for it (written.detach)");
    /* The caller has recorded it: from now on it must survive the caller.
     * The ack says it no longer has a parent-death signal. */
    if (sync_send(x->sync_fd, WRITTEN_SYNC_DETACH, 0, NULL) < 0 ||
        sync_recv(x->sync_fd, &msg) != 1 || msg.type != WRITTEN_SYNC_ACK)
        return amber_error_set(err, 0, "the container died during setup");
    x->detached = true;
    return 0;
}

int written_wait(struct written_instance *x, bool nohang, struct amber_result *res,
                 struct amber_error *err)
{
    struct rusage ru;
    int st = 0;
    pid_t r;

    if (x->reaped)
        return 1;
    do
        r = wait4(x->pid, &st, nohang ? WNOHANG : 0, &ru);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return 0;
    if (r < 0)
        return amber_error_errno(err, "wait for the container's process");
    x->reaped = true;
    amber_result_from_wait(res, st, &ru);
    return 1;
}

int written_kill(struct written_instance *x, int sig, struct amber_error *err)
{
    if (x->pid > 0 && !x->reaped && kill(x->pid, sig) < 0 && errno != ESRCH)
        return amber_error_errno(err, "signal the container");
    return 0;
}

int written_start_held(const struct amber_recorded *r, struct amber_error *err)
{
    int fd;

    if (r->hold == NULL)
        return amber_error_set(err, 0, "container '%s' is not held", r->id);
    fd = open(r->hold, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return amber_error_coded(err, ESRCH,
                                 "container '%s': its process is not waiting to start (%s)", r->id,
                                 strerror(errno));
    if (write(fd, "0", 1) != 1) {
        amber_error_errno(err, "container '%s': start", r->id);
        close(fd);
        return -1;
    }
    close(fd);
    unlink(r->hold);
    return 0;
}

/* Wait (bounded, 5 s) until PID 1 is gone. A pidfd becomes readable the
 * moment the process exits, also for a process that is not our child;
 * polling /proc would cost a sleep per check. */
static void wait_gone(const struct amber_recorded *r)
{
    int fd = (int)syscall(SYS_pidfd_open, r->pid, 0);

    if (fd >= 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        /* The pid may have been reused between the check and the open. */
        if (proc_running(r->pid, r->pid_start))
            while (poll(&p, 1, 5000) < 0 && errno == EINTR)
                ;
        close(fd);
        return;
    }
    for (int i = 0; i < 5000 && proc_running(r->pid, r->pid_start); i++) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int written_teardown(const struct amber_recorded *r, struct amber_error *err)
{
    if (proc_running(r->pid, r->pid_start) || !cgroup_is_empty(r->cgroups, r->ncgroups)) {
        struct amber_error ignore;
        if (r->frozen) /* frozen tasks only die once thawed */
            (void)cgroup_freeze(r->cgroups, r->ncgroups, false, &ignore);
        (void)proc_signal_if(r->pid, r->pid_start, SIGKILL);
        cgroup_signal_all(r->cgroups, r->ncgroups, SIGKILL);
        wait_gone(r);
    }
    /* Other processes (exec'd ones, daemons) may remain in the cgroup. */
    for (int i = 0; i < 1000 && !cgroup_is_empty(r->cgroups, r->ncgroups); i++) {
        struct timespec ts = {0, 1000 * 1000};
        cgroup_signal_all(r->cgroups, r->ncgroups, SIGKILL);
        nanosleep(&ts, NULL);
    }
    if (cgroup_remove_with_parent(r->cgroups, r->ncgroups, WRITTEN_CGROUP_PARENT, err) < 0)
        return amber_error_prefix(err, "container '%s': its cgroup is still in use", r->id);
    return 0;
}

/* ---- exec into a sandbox started as written ---- */

/* One message on the report pipe. */
struct enter_msg {
    pid_t pid; /* from the middle process: the process's pid (host view) */
    bool failed;
    struct amber_error err;
};

struct enter_fds {
    int ns[AMBER_NS_COUNT];
    int cg[CGROUP_MAX_PATHS];
    int ncg;
    int console;
    int min;
    bool setgroups_ok;
};

/* The process itself, already in the user and pid namespaces. */
__attribute__((noreturn)) static void enter_child(const struct amber_spec *p,
                                                  const struct enter_fds *f, int report)
{
    const struct amber_written *w = &p->written;
    struct amber_spec home_spec;
    struct enter_msg m;
    int tty = -1;

    memset(&m, 0, sizeof(m));
    for (int i = 0; i < f->ncg; i++) {
        if (write(f->cg[i], "0", 1) != 1) {
            amber_error_errno(&m.err, "join the container's cgroup");
            goto fail;
        }
    }
    for (int t = 0; t < AMBER_NS_COUNT; t++) {
        if (f->ns[t] < 0 || t == AMBER_NS_PID || t == AMBER_NS_USER)
            continue;
        if (setns(f->ns[t], 0) < 0) {
            amber_error_errno(&m.err, "join the container's %s namespace", amber_ns_name(t));
            goto fail;
        }
    }
    /* In the container's mount namespace now: its /etc/passwd. */
    p = written_with_home(p, &home_spec);
    if (f->console >= 0) {
        char name[64];
        tty = written_console_send(f->console, 0, 0, name, sizeof(name), &m.err);
        if (tty < 0)
            goto fail;
        close(f->console);
    }
    /* Its own session without a terminal: no TIOCSTI into the caller's. */
    if (tty < 0 && setsid() < 0) {
        amber_error_errno(&m.err, "setsid");
        goto fail;
    }
    if (written_apply_process(p, w->has_seccomp ? &w->seccomp : NULL, f->setgroups_ok, &m.err) < 0)
        goto fail;
    if (w->has_seccomp && w->no_new_privs && seccomp_program_load(&w->seccomp, &m.err) < 0)
        goto fail;
    /* Like the sandbox's first process: only preserve_fds pass. */
    if (syscall(SYS_close_range, (unsigned)f->min, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        for (int fd = f->min; fd < 1024; fd++)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    seal_preserved(f->min);
    amber_exec_workload(p, tty, &m.err);
fail:
    m.failed = true;
    fs_write_all(report, &m, sizeof(m));
    _exit(m.err.status ? m.err.status : AMBER_EXIT_INTERNAL);
}

static int enter_open(const struct amber_recorded *r, const struct amber_spec *p,
                      struct enter_fds *f, struct amber_error *err)
{
    const struct amber_written *w = &p->written;

    if (w->console_socket != NULL) {
        f->console = raise_fd(connect_console(w->console_socket, err), f->min);
        if (f->console < 0)
            return -1;
    }
    /* Enter every namespace PID 1 has and amber does not already share
     * (joining one's own user namespace is an error). */
    for (int t = 0; t < AMBER_NS_COUNT; t++) {
        char theirs[64], ours[64];
        struct stat a, b;

        snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", (int)r->pid, amber_ns_file(t));
        snprintf(ours, sizeof(ours), "/proc/self/ns/%s", amber_ns_file(t));
        if (stat(theirs, &a) < 0 || (stat(ours, &b) == 0 && a.st_ino == b.st_ino))
            continue;
        f->ns[t] = open(theirs, O_RDONLY | O_CLOEXEC);
        if (f->ns[t] >= 0)
            f->ns[t] = raise_fd(f->ns[t], f->min);
        if (f->ns[t] < 0)
            return amber_error_errno(err, "container '%s': open %s", r->id, theirs);
    }
    /* The same join as the first process (cgroup_open_self_join). */
    if (r->ncgroups > 0) {
        int n = cgroup_open_join_files(
            r->cgroups, r->ncgroups < CGROUP_MAX_PATHS ? r->ncgroups : CGROUP_MAX_PATHS,
            cgroup_detect_layout() == CGROUP_LAYOUT_V2 ? "cgroup.procs" : "tasks", f->cg, err);
        if (n < 0)
            return -1;
        for (f->ncg = 0; f->ncg < n; f->ncg++)
            if ((f->cg[f->ncg] = raise_fd(f->cg[f->ncg], f->min)) < 0) {
                amber_error_errno(err, "exec: cgroup fd");
                /* raise_fd closed the one it failed on; the rest are open. */
                for (int k = f->ncg + 1; k < n; k++)
                    close(f->cg[k]);
                return -1;
            }
    }
    {
        /* A rootless container's user namespace denies setgroups(2). */
        char path[64], buf[16] = "";
        struct amber_error ignore;
        snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)r->pid);
        f->setgroups_ok =
            fs_read_file(path, buf, sizeof(buf), &ignore) < 0 || strncmp(buf, "deny", 4) != 0;
    }
    return 0;
}

int written_enter(const struct amber_recorded *r, const struct amber_enter *e,
                  struct amber_error *err)
{
    const struct amber_spec *p = e->process;
    struct enter_fds f;
    int ep[2] = {-1, -1}, rc = -1;
    pid_t pid = -1, mid;

    memset(&f, 0, sizeof(f));
    f.console = -1;
    f.min = 3 + p->written.preserve_fds;
    for (int i = 0; i < AMBER_NS_COUNT; i++)
        f.ns[i] = -1;
    if (enter_open(r, p, &f, err) < 0)
        goto out;
    if (pipe2(ep, O_CLOEXEC) < 0) {
        amber_error_errno(err, "exec: pipe");
        goto out;
    }
    ep[0] = raise_fd(ep[0], f.min);
    ep[1] = raise_fd(ep[1], f.min);
    if (ep[0] < 0 || ep[1] < 0) {
        amber_error_errno(err, "exec: pipe");
        goto out;
    }
    /* amber itself never enters the sandbox: a middle process joins the
     * user namespace (which grants the rights for the others) and the pid
     * namespace (which only applies to children), forks the process that
     * joins the rest and execs, reports its pid and exits. amber, a
     * subreaper while it waits, then inherits it. */
    if (!e->detach && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
        amber_error_errno(err, "exec: become a subreaper");
        goto out;
    }
    mid = fork();
    if (mid < 0) {
        amber_error_errno(err, "exec: fork");
        goto out;
    }
    if (mid == 0) {
        struct enter_msg m;
        pid_t gc;

        memset(&m, 0, sizeof(m));
        close(ep[0]);
        /* The process forked below is visible in the sandbox until it
         * execs: non-dumpable and without the caller's environment
         * (seal.h); its descriptors are close-on-exec. */
        seal_undumpable();
        seal_environment("amber-exec");
        if (f.ns[AMBER_NS_USER] >= 0 && setns(f.ns[AMBER_NS_USER], CLONE_NEWUSER) < 0) {
            amber_error_errno(&m.err, "container '%s': join its user namespace", r->id);
            goto mid_fail;
        }
        if (f.ns[AMBER_NS_PID] >= 0 && setns(f.ns[AMBER_NS_PID], CLONE_NEWPID) < 0) {
            amber_error_errno(&m.err, "container '%s': join its pid namespace", r->id);
            goto mid_fail;
        }
        gc = fork();
        if (gc < 0) {
            amber_error_errno(&m.err, "exec: fork");
            goto mid_fail;
        }
        if (gc == 0)
            enter_child(p, &f, ep[1]);
        m.pid = gc;
        fs_write_all(ep[1], &m, sizeof(m));
        _exit(0);
    mid_fail:
        m.failed = true;
        fs_write_all(ep[1], &m, sizeof(m));
        _exit(AMBER_EXIT_INTERNAL);
    }
    close(ep[1]);
    ep[1] = -1;
    while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
        ;
    /* First the middle process's word (the pid, or its failure), then the
     * process's own if it fails before exec; EOF = it exec'd. */
    for (;;) {
        struct enter_msg m;
        ssize_t n;
        do
            n = read(ep[0], &m, sizeof(m));
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t)sizeof(m))
            break;
        if (m.pid > 0)
            pid = m.pid;
        if (m.failed) {
            *err = m.err;
            err->msg[sizeof(err->msg) - 1] = '\0';
            if (pid > 0 && !e->detach)
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                    ;
            goto out;
        }
    }
    if (pid <= 0) {
        amber_error_set(err, 0, "exec: the process could not be started");
        goto out;
    }
    if (e->entered != NULL && e->entered(pid, e->data, err) < 0) {
        /* The caller cannot track it: do not leave it running. */
        kill(pid, SIGKILL);
        if (!e->detach)
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        goto out;
    }
    if (e->detach) {
        rc = 0;
    } else {
        int st = 0;
        pid_t q;
        while ((q = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
            ;
        if (q < 0) {
            amber_error_errno(err, "exec: wait for the process");
            goto out;
        }
        rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
out:
    for (int i = 0; i < AMBER_NS_COUNT; i++)
        if (f.ns[i] >= 0)
            close(f.ns[i]);
    for (int i = 0; i < f.ncg; i++)
        close(f.cg[i]);
    if (ep[0] >= 0)
        close(ep[0]);
    if (ep[1] >= 0)
        close(ep[1]);
    if (f.console >= 0)
        close(f.console);
    return rc;
}
