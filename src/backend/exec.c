/* The last step of every backend that runs the workload as a Linux
 * process: exec it with a clean signal state and exactly the spec's
 * environment, and classify a failure the way shells do. */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "backend/backend.h"

extern char **environ;

void amber_exec_workload(const struct amber_spec *spec, struct amber_error *err)
{
    sigset_t none;
    int e;

    /* Handlers amber installed would be reset by exec anyway; ignored
     * signals and the blocked mask would not, and the workload must start
     * with the defaults. */
    for (int i = 0; i < amber_forward_signals_count; i++)
        signal(amber_forward_signals[i], SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    /* execvp searches the PATH of the current environment: make that the
     * spec's own. */
    environ = spec->env;
    execvp(spec->argv[0], spec->argv);
    e = errno;
    if (e == ENOENT)
        amber_error_set(err, 0, "%s: command not found", spec->argv[0]);
    else
        amber_error_set(err, e, "%s: cannot execute", spec->argv[0]);
    err->code = e;
    err->status = e == ENOENT ? AMBER_EXIT_NOTFOUND : AMBER_EXIT_NOEXEC;
}
