#include "container/lifecycle.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

const struct amber_backend *container_backend(const struct container *c)
{
    const struct amber_backend *b =
        amber_backend_find(c->backend[0] != '\0' ? c->backend : amber_backend_default());
    return b != NULL ? b : amber_backend_find(amber_backend_default());
}

void container_recorded(const struct container *c, struct amber_recorded *r)
{
    r->id = c->id;
    r->pid = c->pid;
    r->pid_start = c->pid_start;
    r->cgroups = c->cgroups;
    r->ncgroups = c->ncgroups;
    r->launch_plan = c->exec_json;
    r->hold = NULL;
    r->frozen = c->status == CONTAINER_PAUSED;
}

int container_signal(const struct container *c, int sig, struct amber_error *err)
{
    const struct amber_backend *b = container_backend(c);
    struct amber_recorded r;
    int rc = -1;

    if (c->status == CONTAINER_STOPPED || !state_supervisor_alive(c))
        return 0;
    container_recorded(c, &r);
    /* SIGKILL goes to PID 1 itself; where it cannot be named so, to the
     * supervisor, whose death takes PID 1 along (parent-death signal). */
    if (sig == SIGKILL && c->pid > 0 && b->signal != NULL &&
        b->signal(&r, SIGKILL, false, err) == 0)
        rc = 0;
    else if ((rc = kill(c->supervisor, sig)) < 0)
        amber_error_errno(err, "container %s: signal its supervisor", c->id);
    if (c->status == CONTAINER_PAUSED) {
        /* A frozen process acts on a signal only once thawed. */
        struct amber_error ignore;
        container_freeze(c, false, &ignore);
    }
    return rc;
}

int container_freeze(const struct container *c, bool freeze, struct amber_error *err)
{
    const struct amber_backend *b = container_backend(c);
    struct amber_recorded r;

    if (b->pause == NULL)
        return amber_error_set(err, 0, "container %s: the %s backend cannot pause", c->id, b->name);
    container_recorded(c, &r);
    return b->pause(&r, freeze, err);
}

int container_usage(const struct container *c, struct cgroup_usage *u, struct amber_error *err)
{
    const struct amber_backend *b = container_backend(c);
    struct amber_recorded r;

    memset(u, 0, sizeof(*u));
    if (b->usage == NULL)
        return 0;
    container_recorded(c, &r);
    return b->usage(&r, u, err);
}

int container_exec(const struct container *c, char **argv, bool tty, bool interactive,
                   struct amber_error *err)
{
    const struct amber_backend *b = container_backend(c);
    struct amber_recorded r;

    if (c->status != CONTAINER_RUNNING || c->pid <= 0)
        return amber_error_set(err, 0, "container %s is not running", c->id);
    if (b->enter == NULL)
        return amber_error_set(err, 0, "container %s: the %s backend cannot exec", c->id, b->name);
    container_recorded(c, &r);
    {
        struct amber_enter e = {.argv = argv, .tty = tty, .interactive = interactive};
        return b->enter(&r, &e, err);
    }
}
