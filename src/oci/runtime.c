/* The OCI runtime verbs, parent side (see runtime.h). */
#include "oci/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <jansson.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"
#include "container/state.h"
#include "oci/oci_internal.h"
#include "sandbox/cgroup.h"
#include "sandbox/sandbox.h"
#include "sandbox/seal.h"
#include "sandbox/userns.h"
#include "sandbox/sync.h"
#include "util/cleanup.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/xalloc.h"

static double now_real(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Alive means: the same process (start time) and not a zombie waiting for
 * its parent (the engine) to collect the exit status. */
static bool oci_alive(const struct container *c)
{
    char path[64], buf[512];
    struct amber_error ignore;
    const char *p;

    if (c->pid <= 0 || c->pid_start == 0 || state_proc_starttime(c->pid) != c->pid_start)
        return false;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)c->pid);
    if (fs_read_file(path, buf, sizeof(buf), &ignore) < 0)
        return false;
    p = strrchr(buf, ')');
    return p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* Bring c->status in line with the kernel: the process may have exited
 * (stopped) or been started. */
void oci_refresh(const char *root, struct container *c)
{
    enum container_status s = c->status;

    if (!oci_alive(c)) {
        s = CONTAINER_STOPPED;
    } else {
        cleanup_free char *fifo = state_path(root, c->id, "exec.fifo");
        if (access(fifo, F_OK) == 0)
            s = CONTAINER_CREATED;
        else if (s != CONTAINER_PAUSED)
            s = CONTAINER_RUNNING;
    }
    /* Derived on every read, so nothing is written: the read-only verbs
     * (state, ps) stay read-only and delete does not write what it is
     * about to remove. */
    if (s != c->status) {
        c->status = s;
        if (s == CONTAINER_STOPPED && c->finished == 0)
            c->finished = now_real();
    }
}

char *oci_state_doc(const char *id, const char *status, pid_t pid, const char *bundle,
                    const char *annotations, double created)
{
    json_t *o = json_object();
    json_t *a = annotations != NULL ? json_loads(annotations, 0, NULL) : NULL;
    char ts[64] = "";
    char *text;

    if (created > 0) {
        time_t t = (time_t)created;
        struct tm tm;
        gmtime_r(&t, &tm);
        size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(ts + n, sizeof(ts) - n, ".%09ldZ", (long)((created - (double)t) * 1e9));
    }
    json_object_set_new(o, "ociVersion", json_string(OCI_VERSION));
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "pid", json_integer(pid));
    json_object_set_new(o, "bundle", json_string(bundle != NULL ? bundle : ""));
    json_object_set_new(o, "annotations", a != NULL ? a : json_object());
    if (ts[0] != '\0')
        json_object_set_new(o, "created", json_string(ts));
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

/* The container's own copy of its config (for exec and the hooks): kept
 * apart from state.json, which every verb reads, because a profile can
 * make it tens of kilobytes. */
static char *read_saved_config(const char *root, const struct container *c, struct amber_error *err)
{
    cleanup_free char *path = state_path(root, c->id, "config.json");
    char *text = fs_read_alloc(path, NULL, err);

    if (text == NULL)
        amber_error_prefix(err, "container '%s': saved config", c->id);
    return text;
}

static int load_saved_config(const char *root, const struct container *c, struct amber_spec *spec,
                             struct amber_oci *oci, struct amber_error *err)
{
    cleanup_free char *text = NULL;

    spec_init(spec);
    memset(oci, 0, sizeof(*oci));
    text = read_saved_config(root, c, err);
    if (text == NULL)
        return -1;
    oci->bundle = xstrdup(c->bundle);
    oci->id = xstrdup(c->id);
    return oci_config_parse(text, strlen(text), spec, oci, false, err);
}

/* poststart/poststop: a failing hook is a warning and the others still
 * run (runtime spec). */
static void hooks_warn(const struct amber_oci *oci, const struct container *c, int kind,
                       const char *name, const char *status)
{
    cleanup_free char *doc = NULL;
    struct amber_error err;

    if (oci->nhooks[kind] == 0)
        return;
    doc = oci_state_doc(c->id, status, c->pid, c->bundle, c->annotations, c->created);
    for (size_t i = 0; i < oci->nhooks[kind]; i++)
        if (oci_hooks_run_from(oci->hooks[kind], i, i + 1, name, doc, &err) < 0)
            log_warn("%s", err.msg);
}

/* The same from the container's saved config (start, delete). */
static void saved_hooks_warn(const char *root, const struct container *c, int kind,
                             const char *name, const char *status)
{
    struct amber_spec spec;
    struct amber_oci oci;
    struct amber_error err;
    cleanup_free char *text = read_saved_config(root, c, &err);

    /* Most bundles have no hooks: skip parsing the config for them. */
    if (text == NULL || strstr(text, "\"hooks\"") == NULL)
        return;
    spec_init(&spec);
    memset(&oci, 0, sizeof(oci));
    oci.bundle = xstrdup(c->bundle);
    oci.id = xstrdup(c->id);
    if (oci_config_parse(text, strlen(text), &spec, &oci, false, &err) == 0)
        hooks_warn(&oci, c, kind, name, status);
    oci_free(&oci);
    spec_free(&spec);
}

/* Keep internal fds clear of the ones passed with --preserve-fds. */
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

static int write_pid_file(const char *path, pid_t pid, struct amber_error *err)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
    /* An engine may read it the moment it exists: write it whole. */
    return fs_replace(path, buf, (size_t)n, 0644, false, err);
}

struct create_ctx {
    char *config_text;
    int own_pidns; /* create's own pid namespace while it joins another */
    struct amber_spec spec;
    struct amber_oci oci;
    struct amber_cgroup cg;
    struct oci_plan plan;
    struct container c;
    bool have_state;
    int lock;
    int sync_fd;
    pid_t pid;
};

static void create_cleanup(struct create_ctx *x, const char *root, bool failed)
{
    struct amber_error ignore;

    if (failed && x->pid > 0) {
        kill(x->pid, SIGKILL);
        while (waitpid(x->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (failed) {
        cgroup_remove_with_parent(x->cg.paths, x->cg.npaths, OCI_CGROUP_PARENT, &ignore);
        if (x->have_state)
            state_remove(root, x->c.id, &ignore);
    }
    if (x->plan.fifo_fd >= 0)
        close(x->plan.fifo_fd);
    if (x->plan.console_fd >= 0)
        close(x->plan.console_fd);
    for (int i = 0; i < OCI_NS_COUNT; i++)
        if (x->plan.ns_fds[i] >= 0)
            close(x->plan.ns_fds[i]);
    for (int i = 0; i < x->plan.ncgroup_fds; i++)
        close(x->plan.cgroup_fds[i]);
    if (x->sync_fd >= 0)
        close(x->sync_fd);
    if (x->own_pidns >= 0)
        close(x->own_pidns);
    state_unlock(x->lock);
    free(x->config_text);
    for (int i = 0; i < x->cg.npaths; i++)
        free(x->cg.paths[i]);
    container_free(&x->c);
    oci_free(&x->oci);
    spec_free(&x->spec);
}

static int create_prepare(struct create_ctx *x, const struct oci_create_opts *o,
                          struct amber_error *err)
{
    struct amber_oci *oci = &x->oci;
    int min = 3 + o->preserve_fds;

    if (!state_valid_name(o->id) || strlen(o->id) > 64)
        return amber_error_set(err, 0,
                               "invalid container id '%s' (1-64 characters of A-Z a-z 0-9 _ . -, "
                               "not starting with . _ or -)",
                               o->id);
    if (oci_config_load(o->bundle, o->id, &x->spec, oci, &x->config_text, err) < 0)
        return -1;
    if (oci->ns_new[OCI_NS_TIME] || oci->ns_path[OCI_NS_TIME] != NULL)
        return amber_error_set(err, 0,
                               "config.json: linux.namespaces: 'time' is not supported by amber");
    if (x->spec.tty && o->console_socket == NULL)
        return amber_error_set(err, 0, "process.terminal is true: --console-socket is needed");
    if (!x->spec.tty && o->console_socket != NULL)
        return amber_error_set(err, 0, "--console-socket given but process.terminal is false");
    /* OCI processes inherit the engine's stdin. */
    x->spec.interactive = true;
    x->spec.init = 0;
    x->plan.host_root = geteuid() == 0;
    if (state_root_ensure(o->root, err) < 0)
        return -1;
    /* The console socket first: its error should not leave a state dir. */
    if (o->console_socket != NULL) {
        int fd = connect_console(o->console_socket, err);
        x->plan.console_fd = fd < 0 ? -1 : raise_fd(fd, min);
        if (fd >= 0 && x->plan.console_fd < 0)
            amber_error_errno(err, "--console-socket: fd");
        if (x->plan.console_fd < 0)
            return -1;
    }
    for (int t = 0; t < OCI_NS_COUNT; t++) {
        if (oci->ns_path[t] == NULL)
            continue;
        x->plan.ns_fds[t] = raise_fd(open(oci->ns_path[t], O_RDONLY | O_CLOEXEC), min);
        if (x->plan.ns_fds[t] < 0)
            return amber_error_errno(err, "linux.namespaces: %s namespace '%s'", oci_ns_name(t),
                                     oci->ns_path[t]);
    }

    /* A sysctl goes into the namespace the container joins: refuse when that
     * is amber's own (the host's), as for no namespace at all. */
    for (size_t i = 0; oci->sysctl != NULL && oci->sysctl[i] != NULL; i++) {
        const char *k = oci->sysctl[i];
        enum oci_ns t = oci_sysctl_ns(k);
        char own[64];
        struct stat a, b;
        if (x->plan.ns_fds[t] < 0)
            continue;
        snprintf(own, sizeof(own), "/proc/self/ns/%s", oci_ns_proc_name(t));
        if (fstat(x->plan.ns_fds[t], &a) == 0 && stat(own, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev)
            return amber_error_set(
                err, 0,
                "config.json: linux.sysctl %.*s: the %s namespace joined at '%s' "
                "is the host's",
                (int)strcspn(k, "="), k, oci_ns_name(t), oci->ns_path[t]);
    }
    snprintf(x->c.id, sizeof(x->c.id), "%s", o->id);
    x->c.status = CONTAINER_CREATED;
    x->c.oci = true;
    x->c.bundle = xstrdup(oci->bundle);
    x->c.annotations = xstrdup(oci->annotations != NULL ? oci->annotations : "{}");
    x->c.created = now_real();
    x->c.command = xcalloc(x->spec.argc + 1, sizeof(char *));
    for (size_t i = 0; i < x->spec.argc; i++)
        x->c.command[i] = xstrdup(x->spec.argv[i]);
    if (state_create(o->root, &x->c, &x->lock, err) < 0)
        return -1;
    x->have_state = true;
    {
        cleanup_free char *saved = state_path(o->root, o->id, "config.json");
        if (fs_write_file(saved, x->config_text, strlen(x->config_text), O_CREAT | O_EXCL, 0600,
                          err) < 0)
            return -1;
    }
    {
        struct cgroup_limits lim;
        struct cgroup_place where;
        char path[PATH_MAX];

        oci_cgroup_limits(oci, &lim);
        oci_cgroup_place(oci, &where, path);
        if (cgroup_create(&x->cg, &where, &lim, err) < 0)
            return amber_error_prefix(err, "linux.cgroupsPath");
    }
    for (int i = 0; i < x->cg.npaths; i++)
        x->c.cgroups[x->c.ncgroups++] = xstrdup(x->cg.paths[i]);
    /* On disk before any process joins them: if create is killed from here
     * on, delete still finds and removes them. */
    if (x->cg.npaths > 0 && state_save(o->root, &x->c, err) < 0)
        return -1;
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
    if (o->hold) {
        cleanup_free char *fifo = state_path(o->root, o->id, "exec.fifo");
        if (mkfifo(fifo, 0600) < 0)
            return amber_error_errno(err, "create '%s'", fifo);
        /* Read end for the container: opening it non-blocking succeeds
         * without a writer, and `start` can then open the write end
         * without blocking (or learn from ENXIO that nobody waits). */
        x->plan.fifo_fd = raise_fd(open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC), min);
        if (x->plan.fifo_fd < 0)
            return amber_error_errno(err, "open '%s'", fifo);
    }
    return 0;
}

static int write_maps(struct create_ctx *x, struct amber_error *err)
{
    struct sandbox_plan sp;

    memset(&sp, 0, sizeof(sp));
    if (x->spec.nuidmap > SANDBOX_MAX_MAPS || x->spec.ngidmap > SANDBOX_MAX_MAPS)
        return amber_error_set(err, 0, "linux.uidMappings: at most %d lines", SANDBOX_MAX_MAPS);
    for (size_t i = 0; i < x->spec.nuidmap; i++)
        sp.uidmap[i] = (struct id_map){x->spec.uidmap[i].inside, x->spec.uidmap[i].outside,
                                       x->spec.uidmap[i].count};
    for (size_t i = 0; i < x->spec.ngidmap; i++)
        sp.gidmap[i] = (struct id_map){x->spec.gidmap[i].inside, x->spec.gidmap[i].outside,
                                       x->spec.gidmap[i].count};
    sp.nuidmap = (int)x->spec.nuidmap;
    sp.ngidmap = (int)x->spec.ngidmap;
    sp.host_root = x->plan.host_root;
    sp.newidmap = !sp.host_root;
    return userns_write_maps(x->pid, &sp, err);
}

int oci_create(const struct oci_create_opts *o, pid_t *pid_out, struct amber_error *err)
{
    struct create_ctx x;
    unsigned long flags = SIGCHLD;
    int sv[2];
    struct sync_msg msg;
    cleanup_free char *state_text = NULL;
    bool pid_written = false;

    memset(&x, 0, sizeof(x));
    spec_init(&x.spec);
    x.lock = -1;
    x.sync_fd = -1;
    x.own_pidns = -1;
    x.plan.fifo_fd = -1;
    x.plan.console_fd = -1;
    for (int i = 0; i < OCI_NS_COUNT; i++)
        x.plan.ns_fds[i] = -1;
    if (create_prepare(&x, o, err) < 0)
        goto fail;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        amber_error_errno(err, "sync socketpair");
        goto fail;
    }
    sv[0] = raise_fd(sv[0], 3 + o->preserve_fds);
    sv[1] = raise_fd(sv[1], 3 + o->preserve_fds);
    x.sync_fd = sv[0];
    if (sv[0] < 0 || sv[1] < 0) {
        amber_error_errno(err, "sync socketpair");
        if (sv[1] >= 0)
            close(sv[1]);
        goto fail;
    }
    if (x.oci.ns_new[OCI_NS_PID])
        flags |= CLONE_NEWPID;
    if (x.oci.ns_new[OCI_NS_USER])
        flags |= CLONE_NEWUSER;
    /* A pid namespace to join applies to the children of the joiner: only
     * for the clone below; create's later children (hooks, newuidmap) go
     * back to its own. */
    if (x.plan.ns_fds[OCI_NS_PID] >= 0 &&
        ((x.own_pidns = open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC)) < 0 ||
         setns(x.plan.ns_fds[OCI_NS_PID], CLONE_NEWPID) < 0)) {
        amber_error_errno(err, "linux.namespaces: join pid namespace '%s'",
                          x.oci.ns_path[OCI_NS_PID]);
        close(sv[1]);
        goto fail;
    }
    x.plan.spec = &x.spec;
    x.plan.oci = &x.oci;
    x.plan.preserve_fds = o->preserve_fds;
    x.plan.detach = o->detach;
    x.plan.lock_fd = x.lock;
    x.pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
    if (x.pid < 0) {
        amber_error_errno(err, "create the container's namespaces (clone)");
        close(sv[1]);
        goto fail;
    }
    if (x.pid == 0) {
        x.plan.sync_fd = sv[1];
        oci_child(&x.plan);
    }
    close(sv[1]);
    if (x.own_pidns >= 0) {
        int r = setns(x.own_pidns, CLONE_NEWPID);
        close(x.own_pidns);
        x.own_pidns = -1;
        if (r < 0) {
            amber_error_errno(err, "return to amber's pid namespace");
            goto fail;
        }
    }
    if (x.oci.ns_new[OCI_NS_USER] && write_maps(&x, err) < 0)
        goto fail;
    x.c.pid = x.pid;
    x.c.pid_start = state_proc_starttime(x.pid);
    state_text =
        oci_state_doc(o->id, "creating", x.pid, x.oci.bundle, x.oci.annotations, x.c.created);
    if (sync_send(x.sync_fd, SYNC_GO, (int)x.pid, NULL) < 0) {
        amber_error_errno(err, "release the container");
        goto fail;
    }
    for (;;) {
        int r = sync_recv(x.sync_fd, &msg);
        if (r == 1 && msg.type == OCI_SYNC_HOOKS) {
            if (oci_hooks_run(x.oci.hooks[OCI_HOOK_PRESTART], x.oci.nhooks[OCI_HOOK_PRESTART],
                              "prestart", state_text, err) < 0 ||
                oci_hooks_run(x.oci.hooks[OCI_HOOK_CREATE_RUNTIME],
                              x.oci.nhooks[OCI_HOOK_CREATE_RUNTIME], "createRuntime", state_text,
                              err) < 0)
                goto fail;
            if (sync_send(x.sync_fd, SYNC_GO, 0, NULL) < 0) {
                amber_error_errno(err, "release the container");
                goto fail;
            }
            continue;
        }
        if (r == 1 && msg.type == SYNC_READY)
            break;
        if (r == 1 && msg.type == SYNC_ERROR) {
            *err = msg.err;
            err->msg[sizeof(err->msg) - 1] = '\0';
            goto fail;
        }
        amber_error_set(err, r < 0 ? errno : 0, "the container died during setup");
        goto fail;
    }
    if (!o->hold)
        x.c.status = CONTAINER_RUNNING, x.c.started = now_real();
    if (state_save(o->root, &x.c, err) < 0)
        goto fail;
    if (o->pid_file != NULL) {
        if (write_pid_file(o->pid_file, x.pid, err) < 0)
            goto fail;
        pid_written = true;
    }
    if (o->detach) {
        if (sync_send(x.sync_fd, OCI_SYNC_DETACH, 0, NULL) < 0 || sync_recv(x.sync_fd, &msg) != 1 ||
            msg.type != OCI_SYNC_ACK) {
            amber_error_set(err, 0, "the container died during setup");
            goto fail;
        }
    }
    if (!o->hold)
        hooks_warn(&x.oci, &x.c, OCI_HOOK_POSTSTART, "poststart", "running");
    *pid_out = x.pid;
    x.pid = -1;
    create_cleanup(&x, o->root, false);
    return 0;
fail:
    if (pid_written)
        unlink(o->pid_file); /* it names a process that is gone */
    create_cleanup(&x, o->root, true);
    return -1;
}

static int open_container(const char *root, const char *id, struct container *c, int *lock,
                          struct amber_error *err)
{
    char rid[65];

    if (state_resolve(root, id, rid, err) < 0)
        return -1;
    *lock = state_lock(root, rid, true, err);
    if (*lock < 0)
        return -1;
    if (state_load(root, rid, c, err) < 0) {
        /* Another verb (a racing delete) removed it while we waited. */
        state_unlock(*lock);
        amber_error_coded(err, ENOENT, "no such container: '%s'", id);
        return -1;
    }
    if (!c->oci) {
        state_unlock(*lock);
        container_free(c);
        return amber_error_set(err, 0,
                               "container '%s' was not created from a bundle (use amber's own "
                               "verbs)",
                               id);
    }
    oci_refresh(root, c);
    return 0;
}

int oci_start(const char *root, const char *id, struct amber_error *err)
{
    struct container c;
    int lock, fd;
    cleanup_free char *fifo = NULL;

    if (open_container(root, id, &c, &lock, err) < 0)
        return -1;
    if (c.status != CONTAINER_CREATED) {
        amber_error_coded(err, EBUSY, "container '%s' is %s, not created: it can be started once",
                          c.id, container_status_name(c.status));
        goto fail;
    }
    fifo = state_path(root, c.id, "exec.fifo");
    fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        amber_error_coded(err, ESRCH, "container '%s': its process is not waiting to start (%s)",
                          c.id, strerror(errno));
        goto fail;
    }
    if (write(fd, "0", 1) != 1) {
        amber_error_errno(err, "container '%s': start", c.id);
        close(fd);
        goto fail;
    }
    close(fd);
    unlink(fifo);
    c.status = CONTAINER_RUNNING;
    c.started = now_real();
    if (state_save(root, &c, err) < 0)
        goto fail;
    saved_hooks_warn(root, &c, OCI_HOOK_POSTSTART, "poststart", "running");
    state_unlock(lock);
    container_free(&c);
    return 0;
fail:
    state_unlock(lock);
    container_free(&c);
    return -1;
}

int oci_state(const char *root, const char *id, char **json, struct amber_error *err)
{
    struct container c;
    int lock;

    if (open_container(root, id, &c, &lock, err) < 0)
        return -1;
    *json = oci_state_doc(c.id, container_status_name(c.status),
                          c.status == CONTAINER_STOPPED ? 0 : c.pid, c.bundle, c.annotations,
                          c.created);
    state_unlock(lock);
    container_free(&c);
    return 0;
}

int oci_kill(const char *root, const char *id, int sig, bool all, struct amber_error *err)
{
    struct container c;
    int lock, rc = 0;

    if (open_container(root, id, &c, &lock, err) < 0)
        return -1;
    if (c.status == CONTAINER_STOPPED) {
        rc = amber_error_coded(err, ESRCH, "container '%s' is not running", c.id);
    } else {
        if (all)
            cgroup_signal_all(c.cgroups, c.ncgroups, sig);
        /* Through a pidfd opened and then checked to be the container's
         * process: a pid reused since the check above is never signalled. */
        int pfd = (int)syscall(SYS_pidfd_open, c.pid, 0);
        if (pfd >= 0) {
            if (oci_alive(&c) && syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0 &&
                errno != ESRCH)
                rc = amber_error_errno(err, "container '%s': signal %d", c.id, sig);
            close(pfd);
        } else if (errno != ESRCH && kill(c.pid, sig) < 0 && errno != ESRCH) {
            rc = amber_error_errno(err, "container '%s': signal %d", c.id, sig);
        }
    }
    state_unlock(lock);
    container_free(&c);
    return rc;
}

/* Wait (bounded, 5 s) until the container's process is gone. A pidfd
 * becomes readable the moment the process exits, also for a process that
 * is not our child; polling /proc would cost a sleep per check. */
static void wait_gone(struct container *c)
{
    int fd = (int)syscall(SYS_pidfd_open, c->pid, 0);

    if (fd >= 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        /* The pid may have been reused between the check and the open. */
        if (oci_alive(c))
            while (poll(&p, 1, 5000) < 0 && errno == EINTR)
                ;
        close(fd);
        return;
    }
    for (int i = 0; i < 5000 && oci_alive(c); i++) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int oci_delete(const char *root, const char *id, bool force, struct amber_error *err)
{
    struct container c;
    int lock;

    if (open_container(root, id, &c, &lock, err) < 0)
        return -1;
    if ((c.status == CONTAINER_RUNNING || c.status == CONTAINER_PAUSED) && !force) {
        amber_error_coded(err, EBUSY, "container '%s' is %s: stop it first, or use --force", c.id,
                          container_status_name(c.status));
        state_unlock(lock);
        container_free(&c);
        return -1;
    }
    if (c.status != CONTAINER_STOPPED) {
        struct amber_error ignore;
        if (c.status == CONTAINER_PAUSED) {
            /* Frozen tasks only die once thawed. */
            (void)cgroup_freeze(c.cgroups, c.ncgroups, false, &ignore);
        }
        kill(c.pid, SIGKILL);
        cgroup_signal_all(c.cgroups, c.ncgroups, SIGKILL);
        wait_gone(&c);
    }
    /* Other processes (exec'd ones, daemons) may remain in the cgroup. */
    for (int i = 0; i < 1000 && !cgroup_is_empty(c.cgroups, c.ncgroups); i++) {
        struct timespec ts = {0, 1000 * 1000};
        cgroup_signal_all(c.cgroups, c.ncgroups, SIGKILL);
        nanosleep(&ts, NULL);
    }
    /* Kept in the state until removed, so that a later delete can retry. */
    if (cgroup_remove_with_parent(c.cgroups, c.ncgroups, OCI_CGROUP_PARENT, err) < 0) {
        amber_error_prefix(err, "container '%s': its cgroup is still in use", c.id);
        state_unlock(lock);
        container_free(&c);
        return -1;
    }
    saved_hooks_warn(root, &c, OCI_HOOK_POSTSTOP, "poststop", "stopped");
    if (state_remove(root, c.id, err) < 0) {
        state_unlock(lock);
        container_free(&c);
        return -1;
    }
    state_unlock(lock);
    container_free(&c);
    return 0;
}

int oci_signal_parse(const char *s)
{
    static const struct {
        const char *name;
        int sig;
    } sigs[] = {
        {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"ILL", SIGILL},
        {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"BUS", SIGBUS},     {"FPE", SIGFPE},
        {"KILL", SIGKILL},     {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},
        {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},   {"CHLD", SIGCHLD},
        {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
        {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},
        {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
        {"PWR", SIGPWR},       {"SYS", SIGSYS},
    };
    char *end;
    long n;

    if (s == NULL || s[0] == '\0')
        return -1;
    n = strtol(s, &end, 10);
    if (*end == '\0')
        return n > 0 && n < 65 ? (int)n : -1;
    if (strncmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (strcasecmp(sigs[i].name, s) == 0)
            return sigs[i].sig;
    return -1;
}

/* ---- exec ---- */

static int exec_process_spec(const struct oci_exec_opts *o, const struct amber_spec *cspec,
                             const struct amber_oci *coci, struct amber_spec *spec,
                             struct amber_oci *poci, struct amber_error *err)
{
    spec->defaults = cspec->defaults; /* the container's: as written */
    if (o->process != NULL) {
        size_t len = 0;
        cleanup_free char *text = fs_read_alloc(o->process, &len, err);

        if (text == NULL)
            return amber_error_set(err, err->code, "--process '%s': cannot read it", o->process);
        if (oci_config_parse(text, len, spec, poci, true, err) < 0)
            return amber_error_prefix(err, "--process '%s'", o->process);
        return 0;
    }
    if (o->args == NULL || o->args[0] == NULL)
        return amber_error_set(err, 0, "exec: give a command or --process FILE");
    strv_free(spec->argv);
    spec->argv = xcalloc(1, sizeof(char *));
    spec->argc = 0;
    for (size_t i = 0; o->args[i] != NULL; i++)
        strv_push(&spec->argv, &spec->argc, o->args[i]);
    strv_free(spec->env);
    spec->env = xcalloc(1, sizeof(char *));
    spec->nenv = 0;
    for (size_t i = 0; i < cspec->nenv; i++)
        strv_push(&spec->env, &spec->nenv, cspec->env[i]);
    for (size_t i = 0; o->env != NULL && o->env[i] != NULL; i++) {
        char *eq = strchr(o->env[i], '=');
        if (eq == NULL)
            return amber_error_set(err, 0, "--env '%s': expected NAME=VALUE", o->env[i]);
        *eq = '\0';
        spec_setenv(spec, o->env[i], eq + 1);
        *eq = '=';
    }
    spec->workdir = xstrdup(o->cwd != NULL           ? o->cwd
                            : cspec->workdir != NULL ? cspec->workdir
                                                     : "/");
    spec->uid = cspec->uid;
    spec->gid = cspec->gid;
    /* Everything else as the container's own process has it. */
    if (cspec->ngroups > 0) {
        spec->groups = xcalloc(cspec->ngroups, sizeof(uint32_t));
        memcpy(spec->groups, cspec->groups, cspec->ngroups * sizeof(uint32_t));
        spec->ngroups = cspec->ngroups;
    }
    for (size_t i = 0; i < cspec->nulimits; i++)
        spec_set_ulimit(spec, cspec->ulimits[i].resource, cspec->ulimits[i].soft,
                        cspec->ulimits[i].hard);
    poci->has_umask = coci->has_umask;
    poci->umask = coci->umask;
    if (o->user != NULL) {
        bool has_gid;
        if (parse_user(o->user, &spec->uid, &spec->gid, &has_gid) < 0)
            return amber_error_coded(err, EINVAL, "--user '%s': expected UID[:GID]", o->user);
        if (!has_gid)
            spec->gid = 0;
        spec->has_user = true;
    }
    spec->tty = o->tty;
    memcpy(poci->caps, coci->caps, sizeof(poci->caps));
    poci->no_new_privs = coci->no_new_privs || o->no_new_privs;
    return 0;
}

/* exec: one message on the report pipe. */
struct exec_msg {
    pid_t pid; /* from the middle process: the process's pid (host view) */
    bool failed;
    struct amber_error err;
};

/* exec: the process itself, already in the user and pid namespaces. */
__attribute__((noreturn)) static void exec_child(struct amber_spec *spec, struct amber_oci *poci,
                                                 struct amber_oci *coci, const int *nsfd,
                                                 const int *cgfd, int ncg, int console, int min,
                                                 bool setgroups_ok, int report)
{
    struct exec_msg m;
    int tty = -1;

    memset(&m, 0, sizeof(m));
    for (int i = 0; i < ncg; i++) {
        if (write(cgfd[i], "0", 1) != 1) {
            amber_error_errno(&m.err, "join the container's cgroup");
            goto fail;
        }
    }
    for (int t = 0; t < OCI_NS_COUNT; t++) {
        if (nsfd[t] < 0 || t == OCI_NS_PID || t == OCI_NS_USER)
            continue;
        if (setns(nsfd[t], 0) < 0) {
            amber_error_errno(&m.err, "join the container's %s namespace", oci_ns_name(t));
            goto fail;
        }
    }
    if (console >= 0) {
        char name[64];
        tty = oci_console_send(console, 0, 0, name, sizeof(name), &m.err);
        if (tty < 0)
            goto fail;
        close(console);
    }
    /* Its own session without a terminal: no TIOCSTI into the caller's. */
    if (tty < 0 && setsid() < 0) {
        amber_error_errno(&m.err, "setsid");
        goto fail;
    }
    if (oci_apply_process(spec, poci, coci->has_seccomp ? &coci->seccomp : NULL, setgroups_ok,
                          &m.err) < 0)
        goto fail;
    if (coci->has_seccomp && poci->no_new_privs && seccomp_program_load(&coci->seccomp, &m.err) < 0)
        goto fail;
    /* Like the container's first process: only --preserve-fds pass. */
    if (syscall(SYS_close_range, (unsigned)min, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        for (int fd = min; fd < 1024; fd++)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    for (int fd = 3; fd < min; fd++)
        fcntl(fd, F_SETFD, 0);
    amber_exec_workload(spec, tty, &m.err);
fail:
    m.failed = true;
    fs_write_all(report, &m, sizeof(m));
    _exit(m.err.status ? m.err.status : AMBER_EXIT_INTERNAL);
}

int oci_exec(const struct oci_exec_opts *o, struct amber_error *err)
{
    struct container c;
    struct amber_spec cspec, spec;
    struct amber_oci coci, poci;
    int lock = -1, ep[2] = {-1, -1}, console = -1, rc = -1;
    bool setgroups_ok = true;
    int nsfd[OCI_NS_COUNT];
    int cgfd[CGROUP_MAX_PATHS];
    int ncg = 0;
    pid_t pid = -1, mid;
    int min = 3 + o->preserve_fds;

    spec_init(&spec);
    memset(&poci, 0, sizeof(poci));
    memset(&coci, 0, sizeof(coci));
    memset(&cspec, 0, sizeof(cspec)); /* filled by load_saved_config */
    for (int i = 0; i < OCI_NS_COUNT; i++)
        nsfd[i] = -1;
    if (open_container(o->root, o->id, &c, &lock, err) < 0) {
        spec_free(&spec);
        return -1;
    }
    if (c.status != CONTAINER_RUNNING && c.status != CONTAINER_CREATED) {
        amber_error_coded(err, EBUSY, "container '%s' is %s: nothing to exec into", c.id,
                          container_status_name(c.status));
        goto out;
    }
    if (load_saved_config(o->root, &c, &cspec, &coci, err) < 0 ||
        exec_process_spec(o, &cspec, &coci, &spec, &poci, err) < 0)
        goto out;
    spec.interactive = true;
    if (spec.tty && o->console_socket == NULL) {
        amber_error_set(err, 0, "exec with a terminal needs --console-socket");
        goto out;
    }
    if (o->console_socket != NULL) {
        console = raise_fd(connect_console(o->console_socket, err), min);
        if (console < 0)
            goto out;
    }
    /* Enter every namespace the container's process has and amber does
     * not already share (joining one's own user namespace is an error). */
    for (int t = 0; t < OCI_NS_COUNT; t++) {
        char theirs[64], ours[64];
        struct stat a, b;

        snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", (int)c.pid, oci_ns_proc_name(t));
        snprintf(ours, sizeof(ours), "/proc/self/ns/%s", oci_ns_proc_name(t));
        if (stat(theirs, &a) < 0 || (stat(ours, &b) == 0 && a.st_ino == b.st_ino))
            continue;
        nsfd[t] = open(theirs, O_RDONLY | O_CLOEXEC);
        if (nsfd[t] >= 0)
            nsfd[t] = raise_fd(nsfd[t], min);
        if (nsfd[t] < 0) {
            amber_error_errno(err, "container '%s': open %s", c.id, theirs);
            goto out;
        }
    }
    /* The same join as the container's first process (cgroup_open_self_join). */
    if (c.ncgroups > 0) {
        int n = cgroup_open_join_files(
            c.cgroups, c.ncgroups < CGROUP_MAX_PATHS ? c.ncgroups : CGROUP_MAX_PATHS,
            cgroup_detect_layout() == CGROUP_LAYOUT_V2 ? "cgroup.procs" : "tasks", cgfd, err);
        if (n < 0)
            goto out;
        for (ncg = 0; ncg < n; ncg++)
            if ((cgfd[ncg] = raise_fd(cgfd[ncg], min)) < 0) {
                amber_error_errno(err, "exec: cgroup fd");
                /* raise_fd closed the one it failed on; the rest are open. */
                for (int k = ncg + 1; k < n; k++)
                    close(cgfd[k]);
                goto out;
            }
    }
    {
        /* A rootless container's user namespace denies setgroups(2). */
        char path[64], buf[16] = "";
        struct amber_error ignore;
        snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)c.pid);
        setgroups_ok =
            fs_read_file(path, buf, sizeof(buf), &ignore) < 0 || strncmp(buf, "deny", 4) != 0;
    }
    if (pipe2(ep, O_CLOEXEC) < 0) {
        amber_error_errno(err, "exec: pipe");
        goto out;
    }
    ep[0] = raise_fd(ep[0], min);
    ep[1] = raise_fd(ep[1], min);
    if (ep[0] < 0 || ep[1] < 0) {
        amber_error_errno(err, "exec: pipe");
        goto out;
    }
    /* amber itself never enters the container: a middle process joins
     * the user namespace (which grants the rights for the others) and the
     * pid namespace (which only applies to children), forks the process
     * that joins the rest and execs, reports its pid and exits. amber, a
     * subreaper while it waits, then inherits it. */
    if (!o->detach && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
        amber_error_errno(err, "exec: become a subreaper");
        goto out;
    }
    mid = fork();
    if (mid < 0) {
        amber_error_errno(err, "exec: fork");
        goto out;
    }
    if (mid == 0) {
        struct exec_msg m;
        pid_t gc;

        memset(&m, 0, sizeof(m));
        close(ep[0]);
        /* The process forked below is visible in the container until it
         * execs: non-dumpable and without amber exec's caller's
         * environment (seal.h); its descriptors are close-on-exec. */
        seal_undumpable();
        seal_environment("amber-exec");
        if (nsfd[OCI_NS_USER] >= 0 && setns(nsfd[OCI_NS_USER], CLONE_NEWUSER) < 0) {
            amber_error_errno(&m.err, "container '%s': join its user namespace", c.id);
            goto mid_fail;
        }
        if (nsfd[OCI_NS_PID] >= 0 && setns(nsfd[OCI_NS_PID], CLONE_NEWPID) < 0) {
            amber_error_errno(&m.err, "container '%s': join its pid namespace", c.id);
            goto mid_fail;
        }
        gc = fork();
        if (gc < 0) {
            amber_error_errno(&m.err, "exec: fork");
            goto mid_fail;
        }
        if (gc == 0) {
            exec_child(&spec, &poci, &coci, nsfd, cgfd, ncg, console, min, setgroups_ok, ep[1]);
        }
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
        struct exec_msg m;
        ssize_t r;
        do
            r = read(ep[0], &m, sizeof(m));
        while (r < 0 && errno == EINTR);
        if (r != (ssize_t)sizeof(m))
            break;
        if (m.pid > 0)
            pid = m.pid;
        if (m.failed) {
            *err = m.err;
            err->msg[sizeof(err->msg) - 1] = '\0';
            if (pid > 0 && !o->detach)
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                    ;
            goto out;
        }
    }
    if (pid <= 0) {
        amber_error_set(err, 0, "exec: the process could not be started");
        goto out;
    }
    if (o->pid_file != NULL && write_pid_file(o->pid_file, pid, err) < 0) {
        /* The engine cannot track it: do not leave it running. */
        kill(pid, SIGKILL);
        if (!o->detach)
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        goto out;
    }
    state_unlock(lock);
    lock = -1;
    if (o->detach) {
        rc = 0;
    } else {
        int st = 0;
        pid_t r;
        while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
            ;
        if (r < 0) {
            amber_error_errno(err, "exec: wait for the process");
            goto out;
        }
        rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
out:
    for (int i = 0; i < OCI_NS_COUNT; i++)
        if (nsfd[i] >= 0)
            close(nsfd[i]);
    for (int i = 0; i < ncg; i++)
        close(cgfd[i]);
    if (ep[0] >= 0)
        close(ep[0]);
    if (ep[1] >= 0)
        close(ep[1]);
    if (console >= 0)
        close(console);
    state_unlock(lock);
    container_free(&c);
    oci_free(&coci);
    oci_free(&poci);
    spec_free(&cspec);
    spec_free(&spec);
    return rc;
}
