/* The last step of every backend that runs the workload as a Linux
 * process: exec it with a clean signal state and exactly the spec's
 * environment, and classify a failure the way shells do. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "sandbox/workload.h"

#include <stddef.h>

extern char **environ;

const int amber_forward_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
const int amber_forward_signals_count =
    (int)(sizeof(amber_forward_signals) / sizeof(amber_forward_signals[0]));

void amber_exec_workload(const struct amber_spec *spec, int tty, struct amber_error *err)
{
    sigset_t none;
    int e;

    /* Handlers amber installed would be reset by exec anyway; ignored
     * signals and the blocked mask would not, and the workload must start
     * with the defaults. */
    for (int i = 0; i < amber_forward_signals_count; i++)
        signal(amber_forward_signals[i], SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_DFL); /* amber ignores it; the workload must not inherit that */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (tty >= 0) {
        /* A new session whose controlling terminal is the pty: job control
         * and ^C work inside, and nothing reaches amber's own terminal. */
        if (setsid() < 0 || ioctl(tty, TIOCSCTTY, 0) < 0 || dup2(tty, STDIN_FILENO) < 0 ||
            dup2(tty, STDOUT_FILENO) < 0 || dup2(tty, STDERR_FILENO) < 0) {
            amber_error_errno(err, "--tty: attach the terminal");
            err->status = AMBER_EXIT_INTERNAL;
            return;
        }
        if (tty > STDERR_FILENO)
            close(tty);
    }
    if (!spec->interactive) {
        /* Without -i the workload reads nothing from amber's stdin. */
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            close(null);
        }
    }

    /* execvp searches the PATH of the current environment: make that the
     * spec's own. */
    environ = spec->exec_env != NULL ? spec->exec_env : spec->env;
    execvp(spec->argv[0], spec->argv);
    e = errno;
    if (e == ENOENT)
        amber_error_set(err, 0, "%s: command not found", spec->argv[0]);
    else
        amber_error_set(err, e, "%s: cannot execute", spec->argv[0]);
    err->code = e;
    err->status = e == ENOENT ? AMBER_EXIT_NOTFOUND : AMBER_EXIT_NOEXEC;
}
