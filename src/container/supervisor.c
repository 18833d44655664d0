/* The supervisor of a detached sandbox.
 *
 * `amber run -d` forks twice (the middle process exits at once, so the
 * supervisor is re-parented and in a new session: no terminal, no job
 * control, it outlives the shell). The supervisor:
 *  - points the sandbox's stdout and stderr at two pipes read by a small
 *    logger process, which writes timestamped lines to <root>/<id>/log and
 *    rotates it to log.1 past SUPERVISOR_LOG_MAX;
 *  - runs the spec with amber_execute(), so the sandbox is exactly what
 *    `amber run` would make, signals it receives (from `amber stop`/`kill`)
 *    are forwarded, and cleanup (cgroup, mounts, watchdog) is the same;
 *  - records created -> running (with the sandbox's PID 1 and cgroups) ->
 *    stopped (exit code, OOM, message) in state.json, under the lock;
 *  - tells the waiting `amber run -d` whether the start worked.
 * If the supervisor is killed, the sandbox dies with it (parent-death
 * signal) and its cgroup watchdog removes the cgroup; the next ps/rm sees a
 * dead supervisor and records the container as stopped. */
#include "container/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container/exec.h"
#include "sandbox/cgroup.h"
#include "sandbox/seal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/text.h"

static double now_real(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- the logger ------------------------------------------------------- */

struct logbuf {
    const char *tag;
    char buf[8192];
    size_t len;
};

static int open_log(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
}

static void log_line(int *fd, const char *path, const char *rot, const char *tag, const char *s,
                     size_t n)
{
    struct timespec ts;
    struct tm tm;
    char head[64];
    struct stat st;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(head, sizeof(head), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ %s ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000, tag);
    if (fstat(*fd, &st) == 0 && st.st_size > SUPERVISOR_LOG_MAX) {
        /* The size cap: keep the previous log as log.1, start afresh. */
        rename(path, rot);
        close(*fd);
        *fd = open_log(path);
        if (*fd < 0)
            return;
    }
    fs_write_all(*fd, head, strlen(head));
    fs_write_all(*fd, s, n);
    fs_write_all(*fd, "\n", 1);
}

static void logger_feed(struct logbuf *b, int *fd, const char *path, const char *rot, bool eof)
{
    size_t start = 0;

    for (size_t i = 0; i < b->len; i++) {
        if (b->buf[i] == '\n') {
            log_line(fd, path, rot, b->tag, b->buf + start, i - start);
            start = i + 1;
        }
    }
    if ((eof || start == 0) && b->len - start == sizeof(b->buf)) {
        log_line(fd, path, rot, b->tag, b->buf + start, b->len - start); /* overlong line */
        start = b->len;
    }
    if (eof && start < b->len) {
        log_line(fd, path, rot, b->tag, b->buf + start, b->len - start);
        start = b->len;
    }
    memmove(b->buf, b->buf + start, b->len - start);
    b->len -= start;
}

__attribute__((noreturn)) static void logger_main(int out, int errp, const char *path,
                                                  const char *rot)
{
    struct logbuf bufs[2] = {{.tag = "stdout"}, {.tag = "stderr"}};
    struct pollfd fds[2] = {{.fd = out, .events = POLLIN}, {.fd = errp, .events = POLLIN}};
    int fd = open_log(path);
    int open_count = 2;

    if (fd < 0)
        _exit(1);
    while (open_count > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            ssize_t r;
            if (fds[i].fd < 0 || fds[i].revents == 0)
                continue;
            r = read(fds[i].fd, bufs[i].buf + bufs[i].len, sizeof(bufs[i].buf) - bufs[i].len);
            if (r > 0) {
                bufs[i].len += (size_t)r;
                logger_feed(&bufs[i], &fd, path, rot, false);
            } else if (r == 0 || errno != EINTR) {
                logger_feed(&bufs[i], &fd, path, rot, true);
                close(fds[i].fd);
                fds[i].fd = -1;
                open_count--;
            }
        }
    }
    _exit(0);
}

/* --- the supervisor --------------------------------------------------- */

struct supervisor_ctx {
    const char *root;
    struct container *c;
    int ready_fd; /* to the waiting `amber run -d`; -1 once told */
    bool hold;    /* `amber create`: wait for `amber start` */
};

static void report_ready(struct supervisor_ctx *ctx, const struct amber_error *err)
{
    struct amber_error ok;

    if (ctx->ready_fd < 0)
        return;
    if (err == NULL) {
        amber_error_clear(&ok);
        err = &ok;
    }
    fs_write_all(ctx->ready_fd, err, sizeof(*err));
    close(ctx->ready_fd);
    ctx->ready_fd = -1;
}

/* Is pid a zombie or gone? */
static bool proc_dead(pid_t pid)
{
    char path[64], buf[512];
    struct amber_error ignore;
    char *p;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (fs_read_file(path, buf, sizeof(buf), &ignore) < 0)
        return true;
    p = strrchr(buf, ')');
    return p == NULL || p[2] == 'Z';
}

/* `amber create`: wait for `amber start` (a byte on <id>/start), or for a
 * stop (TERM, INT, HUP, QUIT) or the sandbox's death. 0 = start. */
static int wait_for_start(struct supervisor_ctx *ctx, pid_t pid)
{
    cleanup_free char *fifo = state_path(ctx->root, ctx->c->id, "start");
    sigset_t set;
    int sfd, ffd, rc = 1;

    sigemptyset(&set);
    for (int i = 0; i < amber_forward_signals_count; i++)
        sigaddset(&set, amber_forward_signals[i]);
    sigaddset(&set, SIGCHLD);
    sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    /* O_RDWR: the FIFO always has a writer (us), so poll never sees a
     * hang-up between two `amber start` attempts. */
    ffd = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (sfd < 0 || ffd < 0)
        goto out;
    for (;;) {
        struct pollfd fds[2] = {{.fd = ffd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        struct signalfd_siginfo si;
        char b;

        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            goto out;
        }
        if ((fds[0].revents & POLLIN) && read(ffd, &b, 1) == 1) {
            rc = 0;
            goto out;
        }
        while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
            if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT || si.ssi_signo == SIGHUP ||
                si.ssi_signo == SIGQUIT)
                goto out;
        }
        if (proc_dead(pid))
            goto out;
    }
out:
    if (sfd >= 0)
        close(sfd);
    if (ffd >= 0)
        close(ffd);
    unlink(fifo);
    return rc;
}

static int on_started(const struct amber_started *s, void *data)
{
    struct supervisor_ctx *ctx = data;
    struct amber_error err;
    int lock = state_lock(ctx->root, ctx->c->id, true, &err);
    pid_t pid = s->pid;

    ctx->c->status = ctx->hold ? CONTAINER_CREATED : CONTAINER_RUNNING;
    ctx->c->pid = pid;
    ctx->c->pid_start = state_proc_starttime(pid);
    if (!ctx->hold)
        ctx->c->started = now_real();
    for (int i = 0; i < s->ncgroups && i < CGROUP_MAX_PATHS; i++)
        ctx->c->cgroups[ctx->c->ncgroups++] = xstrdup(s->cgroups[i]);
    free(ctx->c->exec_json);
    ctx->c->exec_json = s->launch_plan != NULL ? xstrdup(s->launch_plan) : NULL;
    /* exec takes PID 1's namespaces from the keeper (exec.c). */
    if (ctx->c->exec_json != NULL) {
        cleanup_free char *sock = state_path(ctx->root, ctx->c->id, "ns.sock");
        if (container_ns_keeper_start(ctx->c, sock, s->nsfds, &err) < 0)
            log_warn("amber exec will not work for %s: %s", ctx->c->id, err.msg);
    }
    if (ctx->hold) {
        cleanup_free char *fifo = state_path(ctx->root, ctx->c->id, "start");
        if (mkfifo(fifo, 0600) < 0) {
            amber_error_errno(&err, "mkfifo '%s'", fifo);
            state_unlock(lock);
            report_ready(ctx, &err);
            return 1;
        }
    }
    state_save(ctx->root, ctx->c, &err);
    state_unlock(lock);
    report_ready(ctx, NULL);
    if (!ctx->hold)
        return 0;
    if (wait_for_start(ctx, pid) != 0)
        return 1;
    lock = state_lock(ctx->root, ctx->c->id, true, &err);
    ctx->c->status = CONTAINER_RUNNING;
    ctx->c->started = now_real();
    state_save(ctx->root, ctx->c, &err);
    state_unlock(lock);
    return 0;
}

__attribute__((noreturn)) static void supervisor_main(const char *root,
                                                      const struct amber_backend *backend,
                                                      const struct amber_spec *spec,
                                                      struct container *c, int ready_fd)
{
    struct supervisor_ctx ctx = {root, c, ready_fd, spec->hold};
    struct amber_hooks hooks = {.started = on_started, .data = &ctx};
    struct amber_result res;
    struct amber_error err;
    cleanup_free char *logpath = state_path(root, c->id, "log");
    cleanup_free char *rotpath = state_path(root, c->id, "log.1");
    int out[2], errp[2], null, lock, rc;
    pid_t logger;

    /* The supervisor outlives the caller next to the sandbox: it keeps
     * nothing of the caller's but the spec (seal.h): non-dumpable, the
     * caller's environment wiped, every descriptor the caller leaked to
     * amber closed (the sandbox's PID 1 is cloned from this process). */
    const int keep[] = {ready_fd, amber_log_sink_fd()};
    if (seal_process(keep, sizeof(keep) / sizeof(keep[0]), NULL, &err) < 0) {
        report_ready(&ctx, &err);
        _exit(1);
    }
    /* Let go of the caller's terminal and pipes (a `$(amber run -d ...)`
     * must see EOF): stdin, stdout and stderr become /dev/null until the
     * log pipes take over stdout and stderr below. */
    null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
    }
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        amber_error_errno(&err, "log pipes");
        report_ready(&ctx, &err);
        _exit(1);
    }
    logger = fork();
    if (logger == 0) {
        close(out[1]);
        close(errp[1]);
        close(ready_fd);
        logger_main(out[0], errp[0], logpath, rotpath);
    }
    close(out[0]);
    close(errp[0]);
    /* The sandbox inherits these as its stdout and stderr; amber's own
     * messages (the log sink writes to stderr) land in the log too. */
    dup2(out[1], STDOUT_FILENO);
    dup2(errp[1], STDERR_FILENO);
    close(out[1]);
    close(errp[1]);

    amber_signals_block();
    rc = amber_execute(backend, spec, &hooks, &res, &err);

    lock = state_lock(root, c->id, true, &err);
    c->status = CONTAINER_STOPPED;
    c->finished = now_real();
    if (rc < 0) {
        c->exit_code = err.status ? err.status : 125;
        text_copy(c->message, sizeof(c->message), err.msg);
        log_error("%s", err.msg);
    } else {
        c->exit_code = res.exit_code;
        c->oom = res.oom;
        text_copy(c->message, sizeof(c->message), res.message);
        if (res.message[0])
            log_warn("%s", res.message);
    }
    state_save(root, c, &err);
    state_unlock(lock);
    if (rc < 0)
        report_ready(&ctx, &err); /* start failed: `amber run -d` says why */

    /* Let the logger drain and finish. */
    close(STDOUT_FILENO);
    close(STDERR_FILENO);
    while (waitpid(logger, NULL, 0) < 0 && errno == EINTR)
        ;
    _exit(0);
}

int supervisor_start(const char *root, const struct amber_backend *backend,
                     const struct amber_spec *spec, const char *name, char id[65],
                     struct amber_error *err)
{
    struct container c;
    struct amber_error child_err;
    int ready[2];
    pid_t mid;
    ssize_t r;
    int st;

    memset(&c, 0, sizeof(c));
    if (state_root_ensure(root, err) < 0)
        return -1;
    if (name != NULL && !state_valid_name(name))
        return amber_error_set(err, 0, "--name '%s': use letters, digits, '_', '.', '-'", name);
    state_new_id(c.id);
    text_copy(c.name, sizeof(c.name), name ? name : "");
    c.status = CONTAINER_CREATED;
    c.created = now_real();
    c.command = spec->argv;
    c.exec_json = NULL; /* the backend's launch plan, once started (on_started) */
    text_copy(c.backend, sizeof(c.backend), backend->name);
    if (spec_digest(spec, c.spec_digest, err) < 0) {
        free(c.exec_json);
        return -1;
    }
    if (state_create(root, &c, NULL, err) < 0) {
        free(c.exec_json);
        return -1;
    }
    if (pipe2(ready, O_CLOEXEC) < 0) {
        struct amber_error ignore;
        free(c.exec_json);
        state_remove(root, c.id, &ignore);
        return amber_error_errno(err, "pipe");
    }
    mid = fork();
    if (mid < 0) {
        struct amber_error ignore;
        free(c.exec_json);
        close(ready[0]);
        close(ready[1]);
        state_remove(root, c.id, &ignore);
        return amber_error_errno(err, "fork the supervisor");
    }
    if (mid == 0) {
        pid_t sup;
        close(ready[0]);
        setsid();
        sup = fork();
        if (sup != 0)
            _exit(sup < 0 ? 1 : 0);
        c.supervisor = getpid();
        c.supervisor_start = state_proc_starttime(c.supervisor);
        {
            struct amber_error e;
            state_save(root, &c, &e);
        }
        supervisor_main(root, backend, spec, &c, ready[1]);
    }
    close(ready[1]);
    free(c.exec_json); /* the supervisor has its own copy */
    c.exec_json = NULL;
    while (waitpid(mid, &st, 0) < 0 && errno == EINTR)
        ;
    snprintf(id, 65, "%s", c.id);
    do
        r = read(ready[0], &child_err, sizeof(child_err));
    while (r < 0 && errno == EINTR);
    close(ready[0]);
    if (r != (ssize_t)sizeof(child_err)) {
        struct amber_error ignore;
        state_remove(root, c.id, &ignore);
        return amber_error_set(err, 0, "the supervisor died before the sandbox started");
    }
    if (child_err.msg[0] != '\0') {
        /* Nothing half-created: the supervisor has cleaned the sandbox up;
         * remove the container's directory too. */
        struct amber_error ignore;
        int lock = state_lock(root, c.id, true, &ignore);
        *err = child_err;
        state_remove(root, c.id, &ignore);
        state_unlock(lock);
        return -1;
    }
    return 0;
}

void supervisor_reap_lost(const char *root, struct container *c)
{
    struct amber_error ignore;

    if (c->status == CONTAINER_STOPPED || state_supervisor_alive(c))
        return;
    /* The supervisor is gone (SIGKILL, OOM, reboot): so is the sandbox
     * (parent-death signal); remove whatever the watchdog has not. */
    /* PID 1 died with it (parent-death signal). Should it linger, it is
     * killed through a pidfd, and only if it is still the process the state
     * names (pid and start time): never a bare pid that may be another's
     * by now (a state without a start time: nothing is signalled). */
    state_signal_pid1(c, SIGKILL);
    (void)cgroup_remove_dirs(c->cgroups, c->ncgroups, &ignore);
    c->status = CONTAINER_STOPPED;
    c->exit_code = 137;
    if (c->finished == 0)
        c->finished = now_real();
    snprintf(c->message, sizeof(c->message), "the supervisor died; the sandbox was killed");
    state_save(root, c, &ignore);
}
