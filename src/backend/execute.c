/* Running a spec to completion on any backend: the supervision loop shared
 * by every backend. Signals amber receives are forwarded to the workload;
 * --timeout kills it; the result is filled from the backend's wait(). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"
#include "util/log.h"

static void wait_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGCHLD);
    for (int i = 0; i < amber_forward_signals_count; i++)
        sigaddset(set, amber_forward_signals[i]);
}

void amber_signals_block(void)
{
    sigset_t set;
    wait_set(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#define MAX_POLL 8

/* Forward what signalfd has queued; SIGCHLD only wakes the loop. */
static void forward_signals(const struct amber_backend *backend, struct amber_instance *inst,
                            const struct amber_spec *spec, int sfd, struct amber_error *err)
{
    struct signalfd_siginfo si;

    while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGCHLD)
            continue;
        /* INT, QUIT and WINCH from amber's terminal (SI_KERNEL) also reach
         * the sandbox directly when it shares amber's foreground process
         * group (no -t): the workload (process backend) or the sandbox's
         * PID 1, which passes them on (native: the workload has a session
         * of its own). Forwarding them too would deliver them twice, or,
         * as two of one signal merge while pending, hide one. Anything else
         * from the kernel, like the SIGHUP of a terminal hangup that only
         * amber (the session leader) gets, is forwarded; with -t the
         * workload has its own terminal and WINCH becomes its new size. */
        /* A spec taken as written gets a session of its own (OCI: setsid
         * without a console), so the terminal reaches only amber. */
        if (si.ssi_code == SI_KERNEL && !spec->tty && spec->defaults != AMBER_DEFAULTS_AS_WRITTEN &&
            (si.ssi_signo == SIGINT || si.ssi_signo == SIGQUIT || si.ssi_signo == SIGWINCH))
            continue;
        log_debug("forwarding signal %u to the workload", si.ssi_signo);
        backend->kill(inst, (int)si.ssi_signo, err);
    }
}

/* A hook with what a supervisor records of the instance; -1 if it says stop. */
static int call_hook(const struct amber_backend *backend, struct amber_instance *inst,
                     int (*fn)(const struct amber_started *, void *), void *data,
                     struct amber_error *err)
{
    struct amber_started st = {.pid = 0};

    if (fn == NULL)
        return 0;
    for (int i = 0; i < AMBER_NS_COUNT; i++)
        st.nsfds[i] = -1;
    if (backend->describe != NULL)
        backend->describe(inst, &st);
    if (fn(&st, data) != 0)
        return amber_error_set(err, 0, "stopped before it was started");
    return 0;
}

int amber_execute(const struct amber_backend *backend, const struct amber_spec *spec,
                  const struct amber_hooks *hooks, struct amber_result *res,
                  struct amber_error *err)
{
    struct amber_instance *inst = NULL;
    uint64_t start = now_ns();
    uint64_t deadline = spec->timeout_ns ? start + spec->timeout_ns : 0;
    bool timed_out = false;
    sigset_t set;
    int sfd, r;

    memset(res, 0, sizeof(*res));
    res->backend = backend->name;
    res->mode = spec->mode;
    if (spec_digest(spec, res->spec_digest, err) < 0)
        return -1;

    /* The forwarded signals and SIGCHLD are blocked (amber_signals_block)
     * and read here, so one poll() waits for them, the timeout and the
     * backend's descriptors together. */
    {
        struct amber_probe probe;
        if (backend->probe(&probe) < 0 || !probe.available)
            return amber_error_set(err, 0, "--backend %s: not available on this host: %s",
                                   backend->name, probe.reason);
    }
    wait_set(&set);
    sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0)
        return amber_error_errno(err, "signalfd");

    if (backend->prepare(spec, &inst, err) < 0) {
        close(sfd);
        return -1;
    }
    if (hooks != NULL && call_hook(backend, inst, hooks->prepared, hooks->data, err) < 0) {
        backend->destroy(inst);
        close(sfd);
        return -1;
    }
    if (backend->start(inst, err) < 0) {
        backend->destroy(inst);
        close(sfd);
        return -1;
    }
    if (hooks != NULL && call_hook(backend, inst, hooks->started, hooks->data, err) < 0) {
        backend->destroy(inst);
        close(sfd);
        return -1;
    }
    if (spec->hold) {
        if (backend->release == NULL || backend->release(inst, err) < 0) {
            if (backend->release == NULL)
                amber_error_set(err, 0, "the %s backend cannot hold a workload", backend->name);
            backend->destroy(inst);
            close(sfd);
            return -1;
        }
    }

    for (;;) {
        struct pollfd fds[MAX_POLL];
        int n = 1, timeout_ms = -1;

        r = backend->wait(inst, true, res, err);
        if (r != 0)
            break;
        if (deadline && !timed_out) {
            uint64_t now = now_ns();
            uint64_t left = deadline > now ? deadline - now : 0;
            if (left == 0) {
                log_info("timeout: killing the workload");
                timed_out = true;
                backend->kill(inst, SIGKILL, err);
                continue;
            }
            timeout_ms = (int)((left + 999999) / 1000000);
        }
        fds[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
        if (backend->poll_fds != NULL)
            n += backend->poll_fds(inst, fds + 1, MAX_POLL - 1);
        if (poll(fds, (nfds_t)n, timeout_ms) < 0) {
            if (errno == EINTR)
                continue;
            r = amber_error_errno(err, "poll");
            break;
        }
        if (fds[0].revents & POLLIN)
            forward_signals(backend, inst, spec, sfd, err);
        if (n > 1 && backend->io != NULL && backend->io(inst, fds + 1, n - 1, err) < 0) {
            r = -1;
            break;
        }
    }
    close(sfd);
    if (r < 0) {
        /* The workload may have run: report, but as amber's error. */
        backend->destroy(inst);
        return -1;
    }
    res->wall_ns = now_ns() - start;
    if (timed_out) {
        res->timed_out = true;
        res->exit_code = AMBER_EXIT_TIMEOUT;
        snprintf(res->message, sizeof(res->message),
                 "timed out after %.3gs: the workload was killed", (double)spec->timeout_ns / 1e9);
    }
    backend->destroy(inst);
    return 0;
}
