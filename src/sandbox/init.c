/* The sandbox's PID 1.
 *
 * A process that is PID 1 of a pid namespace only receives signals it has
 * a handler for, so a plain workload as PID 1 would ignore the SIGTERM
 * amber forwards. amber's own child therefore stays PID 1: it forks the
 * workload, forwards signals to it, reaps every zombie, and reports the
 * workload's wait status to the parent over the sync channel. When it
 * exits, the kernel kills whatever is left in the namespace.
 *
 * Everything here runs after the whole policy (capabilities, Landlock,
 * seccomp) is in force, so PID 1 is as confined as the workload. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/payload.h"
#include "sandbox/rlimit.h"
#include "sandbox/sandbox.h"
#include "sandbox/workload.h"
#include "sandbox/sync.h"

__attribute__((noreturn)) static void exec_workload(const struct sandbox_plan *plan)
{
    struct amber_error err;

    /* Runs in the vfork child: rlimits are per process, PID 1 keeps its. */
    if (rlimit_data_bound(plan->spec, plan->memory_rlimit, &err) < 0) {
        err.status = AMBER_EXIT_INTERNAL;
    } else {
        /* Without -t: a session of its own, so the caller's terminal is not
         * its controlling terminal (no /dev/tty, no job-control ioctls on
         * it; signals from it reach amber, which forwards them). */
        if (!plan->spec->tty)
            setsid();
        amber_exec_workload(plan->spec, tty_slave, &err);
    }
    sync_send(plan->sync_fd, SYNC_EXEC_FAILED, err.status, &err);
    _exit(err.status);
}

/* --workspace-mode copy-in-out, after the workload exited 0: end whatever
 * it left running (so /workspace stops changing), then ask amber for the
 * sync-back pipe and stream /workspace into it. The pipe exists only from
 * here on, when PID 1 is the last process of the sandbox: no workload
 * process ever held a descriptor that writes into the host workspace, so
 * what amber applies came from PID 1. A failure here is reported by the
 * host side as a broken stream. */
static void sync_back(const struct sandbox_plan *plan)
{
    struct tree_filter f;
    struct amber_error err;
    struct sync_msg msg;
    int dir, out = -1;

    kill(-1, SIGKILL);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
        ;
    if (sync_send(plan->sync_fd, SYNC_SYNCBACK, 0, NULL) < 0 ||
        sync_recv_fd(plan->sync_fd, &msg, &out) != 1 || msg.type != SYNC_SYNCBACK || out < 0) {
        if (out >= 0)
            close(out);
        return;
    }
    dir = open(AMBER_WORKSPACE, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir >= 0) {
        payload_workspace_filter(&f);
        tree_send(dir, out, &f, NULL, NULL, &err);
        close(dir);
    }
    close(out);
}

/* Forward signals to the worker and reap every child until the worker
 * ends; returns its wait status. (Apart from init_run so that nothing of
 * it lives in the frame vfork shares.) */
static int supervise(pid_t worker, bool own_tty)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (int i = 0; i < amber_forward_signals_count; i++)
        sigaddset(&set, amber_forward_signals[i]);

    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&set, &si);
        bool done = false;
        int wstatus = 0;

        if (sig < 0)
            continue;
        if (sig == SIGCHLD) {
            pid_t p;
            int st;
            /* Reap everything: orphans re-parented to PID 1 included. */
            while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
                if (p == worker) {
                    wstatus = st;
                    done = true;
                }
            }
            if (done)
                return wstatus;
            continue;
        }
        /* The worker has a session of its own, so INT, QUIT and WINCH from
         * amber's terminal (SI_KERNEL) reached this process, in amber's
         * process group, and not it: they go on (amber does not forward
         * those: two of one signal would merge here). With -t they are the
         * caller's terminal's, not the workload's (amber resizes its pty). */
        if (own_tty && si.si_code == SI_KERNEL &&
            (sig == SIGINT || sig == SIGQUIT || sig == SIGWINCH))
            continue;
        kill(worker, sig);
    }
}

void init_run(const struct sandbox_plan *plan)
{
    pid_t worker;
    int wstatus;

    /* vfork: the workload execs at once, so copying PID 1's page tables
     * would be wasted work on every start. exec_workload only changes
     * per-process state (dispositions, mask) and the environ pointer. */
    worker = vfork();
    if (worker < 0) {
        struct amber_error err;
        amber_error_errno(&err, "start the workload: fork%s",
                          errno == EAGAIN ? " (--pids counts amber's init as well)" : "");
        sync_send(plan->sync_fd, SYNC_ERROR, 0, &err);
        _exit(AMBER_EXIT_INTERNAL);
    }
    if (worker == 0)
        exec_workload(plan);

    wstatus = supervise(worker, plan->spec->tty);
    if (plan->syncback && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)
        sync_back(plan);
    sync_send(plan->sync_fd, SYNC_STATUS, wstatus, NULL);
    _exit(0);
}
