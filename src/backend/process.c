/* The process backend: no isolation at all, for developing amber itself and
 * for comparing. It still honours the command, environment, working
 * directory, rlimits, the memory limit (per process, as RLIMIT_DATA) and
 * the timeout, so it is a faithful baseline. The CLI
 * warns loudly whenever it is used; spec_validate() refuses it in
 * strict-agent mode. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/backend.h"
#include "sandbox/rlimit.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "util/text.h"

struct amber_instance {
    const struct amber_spec *spec;
    pid_t pid;
    int errpipe; /* read end: the child's exec error, if any */
    bool reaped;
};

static int process_probe(struct amber_probe *out)
{
    out->available = true;
    out->reason[0] = '\0';
    return 0;
}

static int process_prepare(const struct amber_spec *spec, struct amber_instance **out,
                           struct amber_error *err)
{
    struct amber_instance *inst = xcalloc(1, sizeof(*inst));

    inst->spec = spec;
    inst->pid = -1;
    inst->errpipe = -1;
    *out = inst;
    return 0;
}

__attribute__((noreturn)) static void child(const struct amber_spec *spec, int errfd)
{
    struct amber_error err;

    amber_error_clear(&err);
    /* Even without isolation, the workload must not outlive amber. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (rlimit_apply(spec, false, &err) < 0 || rlimit_data_bound(spec, spec->memory, &err) < 0)
        goto fail;
    if (spec->workdir != NULL && chdir(spec->workdir) < 0) {
        amber_error_errno(&err, "--workdir '%s'", spec->workdir);
        goto fail;
    }
    amber_exec_workload(spec, -1, &err);
fail:
    if (err.status == 0)
        err.status = AMBER_EXIT_INTERNAL;
    fs_write_all(errfd, &err, sizeof(err));
    _exit(err.status);
}

static int process_start(struct amber_instance *inst, struct amber_error *err)
{
    int p[2];

    if (pipe2(p, O_CLOEXEC) < 0)
        return amber_error_errno(err, "pipe");
    inst->pid = fork();
    if (inst->pid < 0) {
        close(p[0]);
        close(p[1]);
        return amber_error_errno(err, "fork");
    }
    if (inst->pid == 0) {
        close(p[0]);
        child(inst->spec, p[1]);
    }
    close(p[1]);
    inst->errpipe = p[0];
    return 0;
}

static int process_wait(struct amber_instance *inst, bool nohang, struct amber_result *res,
                        struct amber_error *err)
{
    struct rusage ru;
    int st;
    pid_t r = wait4(inst->pid, &st, nohang ? WNOHANG : 0, &ru);

    if (r == 0)
        return 0;
    if (r < 0) {
        if (errno == EINTR)
            return 0;
        return amber_error_errno(err, "wait for the workload");
    }
    inst->reaped = true;
    amber_result_from_wait(res, st, &ru);
    /* Each process's data is held to the memory limit; nothing holds the
     * CPUs or counts the processes (caps below). */
    if (inst->spec->memory)
        res->memory = (struct amber_applied_limit){inst->spec->memory, AMBER_ENFORCE_RLIMIT};
    {
        struct amber_error cerr;
        if (read(inst->errpipe, &cerr, sizeof(cerr)) == (ssize_t)sizeof(cerr)) {
            cerr.msg[sizeof(cerr.msg) - 1] = '\0';
            if (cerr.status != AMBER_EXIT_INTERNAL) {
                res->exec_failed = true;
                res->exit_code = cerr.status;
                res->signal = 0;
                text_copy(res->message, sizeof(res->message), cerr.msg);
            } else {
                *err = cerr;
                return -1;
            }
        }
    }
    return 1;
}

static int process_kill(struct amber_instance *inst, int sig, struct amber_error *err)
{
    if (inst->pid > 0 && !inst->reaped && kill(inst->pid, sig) < 0 && errno != ESRCH)
        return amber_error_errno(err, "kill %d", (int)inst->pid);
    return 0;
}

static void process_destroy(struct amber_instance *inst)
{
    if (inst == NULL)
        return;
    if (inst->pid > 0 && !inst->reaped) {
        kill(inst->pid, SIGKILL);
        waitpid(inst->pid, NULL, 0);
    }
    if (inst->errpipe >= 0)
        close(inst->errpipe);
    free(inst);
}

static const struct amber_backend_caps process_caps = {
    .memory = AMBER_ENFORCE_RLIMIT,
};

const struct amber_backend amber_backend_process = {
    .name = "process",
    .caps = &process_caps,
    .probe = process_probe,
    .prepare = process_prepare,
    .start = process_start,
    .wait = process_wait,
    .kill = process_kill,
    .destroy = process_destroy,
};
