/* The OCI runtime verbs: a front-end. config.json becomes an amber_spec
 * taken as written (oci/config.c); the verbs are the backend's slots
 * (backend.h): create = prepare + start held (the hold is exec.fifo in the
 * state directory) + detach; run = amber_execute(), which returns an
 * amber_result like any other run; start = start_held; kill = signal;
 * delete = teardown; exec = enter. What is recorded between the verbs is
 * the state directory (container/state.h). No system call that changes
 * kernel state is made here (.ci/run checks). */
#include "oci/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"
#include "container/lifecycle.h"
#include "container/state.h"
#include "sandbox/launch_written.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/proc.h"
#include "util/xalloc.h"

static double now_real(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bring c->status in line with the kernel: the process may have exited
 * (stopped) or been started. Alive means the same process (start time) and
 * not a zombie waiting for its parent (the engine) to collect its status. */
void oci_refresh(const char *root, struct container *c)
{
    enum container_status s = c->status;

    if (!proc_running(c->pid, c->pid_start)) {
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
                             struct amber_error *err)
{
    cleanup_free char *text = NULL;

    spec_init(spec);
    text = read_saved_config(root, c, err);
    if (text == NULL)
        return -1;
    spec->written.bundle = xstrdup(c->bundle);
    spec->written.id = xstrdup(c->id);
    return oci_config_parse(text, strlen(text), spec, false, err);
}

/* poststart/poststop: a failing hook is a warning and the others still
 * run (runtime spec). */
static void hooks_warn(const struct amber_written *oci, const struct container *c, int kind,
                       const char *name, const char *status)
{
    cleanup_free char *doc = NULL;
    struct amber_error err;

    if (oci->nhooks[kind] == 0)
        return;
    doc = written_state_doc(c->id, status, c->pid, c->bundle, c->annotations, c->created);
    for (size_t i = 0; i < oci->nhooks[kind]; i++)
        if (hooks_run_from(oci->hooks[kind], i, i + 1, name, doc, &err) < 0)
            log_warn("%s", err.msg);
}

/* The same from the container's saved config (start, delete). */
static void saved_hooks_warn(const char *root, const struct container *c, int kind,
                             const char *name, const char *status)
{
    struct amber_spec spec;
    struct amber_error err;
    cleanup_free char *text = read_saved_config(root, c, &err);

    /* Most bundles have no hooks: skip parsing the config for them. */
    if (text == NULL || strstr(text, "\"hooks\"") == NULL)
        return;
    spec_init(&spec);
    spec.written.bundle = xstrdup(c->bundle);
    spec.written.id = xstrdup(c->id);
    if (oci_config_parse(text, strlen(text), &spec, false, &err) == 0)
        hooks_warn(&spec.written, c, kind, name, status);
    spec_free(&spec);
}

static int write_pid_file(const char *path, pid_t pid, struct amber_error *err)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
    /* An engine may read it the moment it exists: write it whole. */
    return fs_replace(path, buf, (size_t)n, 0644, false, err);
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

int oci_state(const char *root, const char *id, char **json, struct amber_error *err)
{
    struct container c;
    int lock;

    if (open_container(root, id, &c, &lock, err) < 0)
        return -1;
    *json = written_state_doc(c.id, container_status_name(c.status),
                              c.status == CONTAINER_STOPPED ? 0 : c.pid, c.bundle, c.annotations,
                              c.created);
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

static int exec_process_spec(const struct oci_exec_opts *o, const struct amber_spec *cspec,
                             struct amber_spec *spec, struct amber_error *err)
{
    const struct amber_written *coci = &cspec->written;
    struct amber_written *poci = &spec->written;

    spec->defaults = cspec->defaults; /* the container's: as written */
    if (o->process != NULL) {
        size_t len = 0;
        cleanup_free char *text = fs_read_alloc(o->process, &len, err);

        if (text == NULL)
            return amber_error_set(err, err->code, "--process '%s': cannot read it", o->process);
        if (oci_config_parse(text, len, spec, true, err) < 0)
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

/* ---- create and run ---- */

struct create_ctx {
    const struct oci_create_opts *o;
    const struct amber_backend *b;
    struct amber_spec spec;
    char *config_text;
    struct container c;
    bool have_state;
    bool pid_written;
    int lock;
    bool hook_failed; /* run: a hook of amber_execute failed, with hook_err */
    struct amber_error hook_err;
};

static void recorded_of(const char *root, const struct container *c, struct amber_recorded *r,
                        char **hold)
{
    container_recorded(c, r);
    *hold = state_path(root, c->id, "exec.fifo");
    r->hold = *hold;
}

/* Undo a create that failed after its workload was built. */
static void create_undo(struct create_ctx *x)
{
    struct amber_error ignore;

    /* run gives its lock up while the container runs: take it back. */
    if (x->have_state && x->lock < 0)
        x->lock = state_lock(x->o->root, x->c.id, true, &ignore);
    if (x->pid_written)
        unlink(x->o->pid_file); /* it names a process that is gone */
    if (x->c.ncgroups > 0 || x->c.pid > 0) {
        struct amber_recorded r;
        cleanup_free char *hold = NULL;
        recorded_of(x->o->root, &x->c, &r, &hold);
        (void)x->b->teardown(&r, &ignore);
    }
    if (x->have_state)
        state_remove(x->o->root, x->c.id, &ignore);
}

static void create_free(struct create_ctx *x)
{
    state_unlock(x->lock);
    free(x->config_text);
    container_free(&x->c);
    spec_free(&x->spec);
}

/* The spec of a bundle and the container's first state; on success the
 * state dir exists, holds the config and is locked (x->lock). */
static int create_begin(struct create_ctx *x, const struct oci_create_opts *o, bool detach,
                        struct amber_error *err)
{
    struct amber_written *w = &x->spec.written;

    if (!state_valid_name(o->id) || strlen(o->id) > 64)
        return amber_error_set(err, 0,
                               "invalid container id '%s' (1-64 characters of A-Z a-z 0-9 _ . -, "
                               "not starting with . _ or -)",
                               o->id);
    if (oci_config_load(o->bundle, o->id, &x->spec, &x->config_text, err) < 0)
        return -1;
    if (w->ns_new[AMBER_NS_TIME] || w->ns_path[AMBER_NS_TIME] != NULL)
        return amber_error_set(err, 0,
                               "config.json: linux.namespaces: 'time' is not supported by amber");
    if (x->spec.tty && o->console_socket == NULL)
        return amber_error_set(err, 0, "process.terminal is true: --console-socket is needed");
    if (!x->spec.tty && o->console_socket != NULL)
        return amber_error_set(err, 0, "--console-socket given but process.terminal is false");
    /* OCI processes inherit the engine's stdin. */
    x->spec.interactive = true;
    x->spec.init = 0;
    x->spec.hold = o->hold;
    if (o->console_socket != NULL)
        w->console_socket = xstrdup(o->console_socket);
    w->preserve_fds = o->preserve_fds;
    w->detach = detach;
    w->created = now_real();
    if (o->hold)
        w->hold_fifo = state_path(o->root, o->id, "exec.fifo");
    if (spec_validate(&x->spec, geteuid(), err) < 0)
        return -1;
    x->b = amber_backend_find(x->spec.backend);
    if (state_root_ensure(o->root, err) < 0)
        return -1;

    snprintf(x->c.id, sizeof(x->c.id), "%s", o->id);
    snprintf(x->c.backend, sizeof(x->c.backend), "%s", x->b->name);
    x->c.status = CONTAINER_CREATED;
    x->c.oci = true;
    x->c.bundle = xstrdup(w->bundle);
    x->c.annotations = xstrdup(w->annotations != NULL ? w->annotations : "{}");
    x->c.created = w->created;
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
    return 0;
}

/* Record what the backend made (cgroups; PID 1 once it exists). */
static int create_record(struct create_ctx *x, const struct amber_started *st, bool running,
                         struct amber_error *err)
{
    for (int i = x->c.ncgroups; i < st->ncgroups && i < CGROUP_MAX_PATHS; i++)
        x->c.cgroups[x->c.ncgroups++] = xstrdup(st->cgroups[i]);
    if (st->pid > 0) {
        x->c.pid = st->pid;
        x->c.pid_start = proc_starttime(st->pid);
    }
    if (running) {
        x->c.status = CONTAINER_RUNNING;
        x->c.started = now_real();
    }
    return state_save(x->o->root, &x->c, err);
}

int oci_create(const struct oci_create_opts *o, pid_t *pid_out, struct amber_error *err)
{
    struct create_ctx x;
    struct amber_instance *inst = NULL;
    struct amber_started st;

    memset(&x, 0, sizeof(x));
    x.o = o;
    x.lock = -1;
    spec_init(&x.spec);
    if (create_begin(&x, o, true, err) < 0)
        goto fail;
    if (x.b->prepare(&x.spec, &inst, err) < 0) {
        inst = NULL; /* destroyed by prepare */
        goto fail;
    }
    /* The cgroups on disk before any process joins them: if create is
     * killed from here on, delete still finds and removes them. */
    memset(&st, 0, sizeof(st));
    for (int i = 0; i < AMBER_NS_COUNT; i++)
        st.nsfds[i] = -1;
    x.b->describe(inst, &st);
    if (st.ncgroups > 0 && create_record(&x, &st, false, err) < 0)
        goto fail;
    if (x.b->start(inst, err) < 0)
        goto fail;
    x.b->describe(inst, &st);
    if (create_record(&x, &st, !o->hold, err) < 0)
        goto fail;
    if (o->pid_file != NULL) {
        if (write_pid_file(o->pid_file, st.pid, err) < 0)
            goto fail;
        x.pid_written = true;
    }
    if (x.b->detach(inst, err) < 0)
        goto fail;
    if (!o->hold)
        hooks_warn(&x.spec.written, &x.c, AMBER_HOOK_POSTSTART, "poststart", "running");
    *pid_out = st.pid;
    x.b->destroy(inst);
    create_free(&x);
    return 0;
fail:
    if (inst != NULL)
        x.b->destroy(inst);
    create_undo(&x);
    create_free(&x);
    return -1;
}

/* run without --detach: the backend's run loop, with the state recorded
 * as soon as the container is built (an engine may `kill` or `state` it
 * meanwhile). */
static int run_started(const struct amber_started *st, void *data)
{
    struct create_ctx *x = data;
    struct amber_error err;

    if (create_record(x, st, true, &err) < 0)
        goto fail;
    if (x->o->pid_file != NULL) {
        if (write_pid_file(x->o->pid_file, st->pid, &err) < 0)
            goto fail;
        x->pid_written = true;
    }
    /* Verbs on it run while this process waits: they must not wait for
     * its lock. */
    state_unlock(x->lock);
    x->lock = -1;
    hooks_warn(&x->spec.written, &x->c, AMBER_HOOK_POSTSTART, "poststart", "running");
    return 0;
fail:
    x->hook_failed = true;
    x->hook_err = err;
    return -1;
}

/* The cgroups on disk before any process joins them (as for create). */
static int run_prepared(const struct amber_started *st, void *data)
{
    struct create_ctx *x = data;
    struct amber_error err;

    if (st->ncgroups > 0 && create_record(x, st, false, &err) < 0) {
        x->hook_failed = true;
        x->hook_err = err;
        return -1;
    }
    return 0;
}

int oci_run(const struct oci_create_opts *o, struct amber_result *res, struct amber_error *err)
{
    struct create_ctx x;
    struct amber_hooks hooks = {.prepared = run_prepared, .started = run_started, .data = &x};

    memset(&x, 0, sizeof(x));
    x.o = o;
    x.lock = -1;
    spec_init(&x.spec);
    if (create_begin(&x, o, false, err) < 0 || amber_execute(x.b, &x.spec, &hooks, res, err) < 0) {
        if (x.hook_failed)
            *err = x.hook_err; /* what failed, not "stopped before it was started" */
        create_undo(&x);
        create_free(&x);
        return -1;
    }
    create_free(&x);
    return 0;
}

int oci_start(const char *root, const char *id, struct amber_error *err)
{
    struct container c;
    struct amber_recorded r;
    cleanup_free char *hold = NULL;
    int lock;

    if (open_container(root, id, &c, &lock, err) < 0)
        return -1;
    if (c.status != CONTAINER_CREATED) {
        amber_error_coded(err, EBUSY, "container '%s' is %s, not created: it can be started once",
                          c.id, container_status_name(c.status));
        goto fail;
    }
    recorded_of(root, &c, &r, &hold);
    if (container_backend(&c)->start_held(&r, err) < 0)
        goto fail;
    c.status = CONTAINER_RUNNING;
    c.started = now_real();
    if (state_save(root, &c, err) < 0)
        goto fail;
    saved_hooks_warn(root, &c, AMBER_HOOK_POSTSTART, "poststart", "running");
    state_unlock(lock);
    container_free(&c);
    return 0;
fail:
    state_unlock(lock);
    container_free(&c);
    return -1;
}

int oci_kill(const char *root, const char *id, int sig, bool all, struct amber_error *err)
{
    struct container c;
    struct amber_recorded r;
    cleanup_free char *hold = NULL;
    int lock, rc = 0;

    if (open_container(root, id, &c, &lock, err) < 0)
        return -1;
    if (c.status == CONTAINER_STOPPED) {
        rc = amber_error_coded(err, ESRCH, "container '%s' is not running", c.id);
    } else {
        recorded_of(root, &c, &r, &hold);
        /* ESRCH: it ended since the check above (a reused pid is never
         * signalled). */
        if (container_backend(&c)->signal(&r, sig, all, err) < 0 && err->code != ESRCH)
            rc = -1;
    }
    state_unlock(lock);
    container_free(&c);
    return rc;
}

int oci_delete(const char *root, const char *id, bool force, struct amber_error *err)
{
    struct container c;
    struct amber_recorded r;
    cleanup_free char *hold = NULL;
    int lock;

    if (open_container(root, id, &c, &lock, err) < 0)
        return -1;
    if ((c.status == CONTAINER_RUNNING || c.status == CONTAINER_PAUSED) && !force) {
        amber_error_coded(err, EBUSY, "container '%s' is %s: stop it first, or use --force", c.id,
                          container_status_name(c.status));
        goto fail;
    }
    recorded_of(root, &c, &r, &hold);
    if (c.status == CONTAINER_STOPPED)
        r.pid = 0; /* gone: only what it left in its cgroups */
    /* Kept in the state until removed, so that a later delete can retry. */
    if (container_backend(&c)->teardown(&r, err) < 0)
        goto fail;
    saved_hooks_warn(root, &c, AMBER_HOOK_POSTSTOP, "poststop", "stopped");
    if (state_remove(root, c.id, err) < 0)
        goto fail;
    state_unlock(lock);
    container_free(&c);
    return 0;
fail:
    state_unlock(lock);
    container_free(&c);
    return -1;
}

/* ---- exec ---- */

struct exec_ctx {
    const char *pid_file;
    int *lock;
};

static int exec_entered(pid_t pid, void *data, struct amber_error *err)
{
    struct exec_ctx *x = data;

    if (x->pid_file != NULL && write_pid_file(x->pid_file, pid, err) < 0)
        return -1;
    /* The container's lock is held only until the process runs: the
     * other verbs must not wait for it. */
    state_unlock(*x->lock);
    *x->lock = -1;
    return 0;
}

int oci_exec(const struct oci_exec_opts *o, struct amber_error *err)
{
    struct container c;
    struct amber_spec cspec, spec;
    struct amber_recorded r;
    struct amber_enter e;
    cleanup_free char *hold = NULL;
    int lock = -1, rc = -1;

    spec_init(&spec);
    spec_init(&cspec);
    if (open_container(o->root, o->id, &c, &lock, err) < 0) {
        spec_free(&spec);
        spec_free(&cspec);
        return -1;
    }
    if (c.status != CONTAINER_RUNNING && c.status != CONTAINER_CREATED) {
        amber_error_coded(err, EBUSY, "container '%s' is %s: nothing to exec into", c.id,
                          container_status_name(c.status));
        goto out;
    }
    spec_free(&cspec);
    if (load_saved_config(o->root, &c, &cspec, err) < 0 ||
        exec_process_spec(o, &cspec, &spec, err) < 0)
        goto out;
    spec.interactive = true;
    if (spec.tty && o->console_socket == NULL) {
        amber_error_set(err, 0, "exec with a terminal needs --console-socket");
        goto out;
    }
    if (o->console_socket != NULL)
        spec.written.console_socket = xstrdup(o->console_socket);
    spec.written.preserve_fds = o->preserve_fds;
    /* The container's seccomp policy, borrowed (cspec owns it). */
    spec.written.has_seccomp = cspec.written.has_seccomp;
    spec.written.seccomp = cspec.written.seccomp;
    spec.written.seccomp.owned = false;
    recorded_of(o->root, &c, &r, &hold);
    memset(&e, 0, sizeof(e));
    e.process = &spec;
    e.detach = o->detach;
    {
        struct exec_ctx ctx = {o->pid_file, &lock};
        e.entered = exec_entered;
        e.data = &ctx;
        rc = container_backend(&c)->enter(&r, &e, err);
    }
out:
    state_unlock(lock);
    container_free(&c);
    spec_free(&cspec);
    spec_free(&spec);
    return rc;
}
