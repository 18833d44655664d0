/* The launch sequence for a spec taken exactly as written (spec->written;
 * an OCI bundle's config): the first process's steps below, the hooks,
 * and the helpers `exec` into such a sandbox shares with it. The native
 * backend drives it (backend/native_written.c). */
#ifndef AMBER_LAUNCH_WRITTEN_H
#define AMBER_LAUNCH_WRITTEN_H

#include <stdbool.h>
#include <stddef.h>

#include "sandbox/cgroup.h"
#include "spec/spec.h"
#include "util/error.h"

/* Child <-> parent messages beyond sync.h's types. */
enum {
    WRITTEN_SYNC_HOOKS = 100, /* child -> parent: run createRuntime/prestart now */
    WRITTEN_SYNC_DETACH,      /* parent -> child: state saved; stop depending on the parent */
    WRITTEN_SYNC_ACK,         /* child -> parent: detached */
};

/* What the first process needs, prepared by the backend. Every fd here is
 * above 3 + preserve_fds. */
struct written_plan {
    const struct amber_spec *spec;
    int sync_fd;
    int fifo_fd;    /* the hold FIFO opened O_RDONLY|O_NONBLOCK, -1 without hold */
    int console_fd; /* connected console socket, -1 */
    int ns_fds[AMBER_NS_COUNT];
    int cgroup_fds[CGROUP_MAX_PATHS];
    int ncgroup_fds;
    int preserve_fds;
    bool detach;
    bool host_root; /* amber runs as host root */
};

/* The first process; never returns. It closes every descriptor it
 * inherited but the plan's and the preserved ones. */
__attribute__((noreturn)) void written_child(const struct written_plan *plan);

/* Run hooks[first..n-1] of one kind with the state document on stdin; -1
 * at the first failure (err names the hook by its index). A hook without
 * env gets the runtime's environment (as runc's). */
int hooks_run_from(const struct amber_hook_cmd *hooks, size_t first, size_t n, const char *kind,
                   const char *state, struct amber_error *err);
int hooks_run(const struct amber_hook_cmd *hooks, size_t n, const char *kind, const char *state,
              struct amber_error *err);

/* The process steps (rlimits, umask, cwd, capability sets, ids,
 * no_new_privs; seccomp too when it must come before the capabilities go,
 * i.e. without noNewPrivileges) with spec->written's choices. */
int written_apply_process(const struct amber_spec *spec, const struct seccomp_program *seccomp,
                          bool setgroups_ok, struct amber_error *err);
/* A pty from /dev/ptmx (the sandbox's own devpts): its master goes to
 * the engine over sock (SCM_RIGHTS, with the pty's name, which is also
 * left in name); returns the terminal's fd or -1. */
int written_console_send(int sock, unsigned short rows, unsigned short cols, char *name,
                         size_t namecap, struct amber_error *err);
/* The spec the workload is exec'd with: spec itself, or (in copy, with
 * its own env array) spec plus HOME when its environment has none: the
 * user's home from "/etc/passwd" (the container's, once its root is in
 * place), else "/", as runc does. For the child that execs it only. */
const struct amber_spec *written_with_home(const struct amber_spec *spec, struct amber_spec *copy);
/* Is the process's command there to run (as execvp would find it)? */
int written_find_executable(const struct amber_spec *spec, struct amber_error *err);

#endif
