/* The launch sequence (launch.c) as other code uses it: the first start of
 * a sandbox (launch_child, native backend) and the entry of one more
 * process into a running one (`amber exec`). Both end in the same process
 * steps, applied by launch_process_steps() in one place, from one plan:
 * what exec must re-apply is the sandbox's own launch plan, stored in its
 * state directory when it started (launch_plan_json), never re-derived
 * from flags. */
#ifndef AMBER_LAUNCH_H
#define AMBER_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox/landlock.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp.h"
#include "spec/spec.h"
#include "util/error.h"

/* What a process of the sandbox gets, whichever way it entered (its first
 * start or an `exec`). */
struct launch_process {
    const struct amber_spec *limits; /* its --ulimit entries and pids limit (rlimit.c) */
    bool userns;                     /* in a user namespace of its own (RLIMIT_NPROC) */
    uint32_t uid, gid;
    const gid_t *groups; /* supplementary groups: gid first */
    size_t ngroups;
    bool setgroups_ok;       /* setgroups(2) allowed (not denied for an unprivileged map) */
    bool setgroups_eperm_ok; /* a plan from an older amber: EPERM means denied */
    const char *workdir;     /* chdir there; */
    bool workdir_given;      /* else a missing one means "/" */
    const struct landlock_path *rules;
    size_t nrules;
    int landlock_abi;       /* 0: unavailable */
    bool allow_no_landlock; /* agent mode + --allow-degraded-security */
    bool allow_jit;         /* the JIT seccomp variant */
    bool tty;               /* its own terminal (the seccomp variant that keeps termios) */

    /* OCI bundles: exactly as written, no amber defaults. Instead of
     * amber's (every capability gone, no_new_privs, Landlock, the default
     * seccomp variant): the bundle's rlimits only, its umask, its five
     * capability sets, no_new_privs if asked, its seccomp profile if any
     * (before the uid change when no_new_privs is not set: it then needs
     * CAP_SYS_ADMIN; else last, or by the caller with seccomp_late). */
    bool as_written;
    const uint64_t *caps; /* CAPS_SETS sets (sandbox/caps.h) */
    bool no_new_privs;
    bool has_umask;
    mode_t umask;
    const struct seccomp_program *seccomp; /* NULL: none */
    bool seccomp_late; /* the caller loads it right before exec (after startContainer hooks) */
};

/* The process steps of the launch sequence, in order (launch.c 5-9):
 * rlimits; bounding set dropped (securebits locked); groups, gid, uid; seal
 * again (a uid change resets dumpability); chdir; no_new_privs; Landlock;
 * every capability cleared and verified; seccomp. (as_written: the
 * bundle's own choices at the same places.) *warning is set when a
 * degradation was allowed (no Landlock); the caller reports it. */
int launch_process_steps(const struct launch_process *p, const char **warning,
                         struct amber_error *err);

/* The plan exec needs, as JSON text (malloc'd), from the plan the sandbox
 * was started with: ids, groups, workdir, environment, Landlock rules,
 * rlimits, the memory bound without a cgroup, the seccomp variant. */
char *launch_plan_json(const struct sandbox_plan *plan);

/* A decoded launch plan (launch_plan_read); owns its storage. */
struct launch_plan_stored {
    struct launch_process p;
    struct amber_spec limits;
    char **env;
    uint64_t memory_rlimit;
    gid_t groups[SANDBOX_MAX_GROUPS];
    struct landlock_path rules[SANDBOX_MAX_RULES];
    void *json; /* the parsed document the strings point into */
};
int launch_plan_read(const char *text, struct launch_plan_stored *out, struct amber_error *err);
void launch_plan_stored_free(struct launch_plan_stored *s);

#endif
