/* The executor interface. Every backend consumes only an amber_spec and
 * returns an amber_result; no backend parses user input and no front-end
 * touches the kernel. Later backends (gVisor, microVM) plug in here. */
#ifndef AMBER_BACKEND_H
#define AMBER_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <poll.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend/caps.h"
#include "sandbox/cgroup.h"
#include "sandbox/host.h"
#include "sandbox/workload.h"
#include "spec/spec.h"
#include "util/error.h"

/* A limit as it was applied to a run: 0 / NONE when it was not. */
struct amber_applied_limit {
    uint64_t value; /* bytes, millicpus, processes */
    enum amber_enforce by;
};

struct amber_result {
    int exit_code;    /* what `amber run` exits with */
    int signal;       /* signal that ended the workload, 0 if it exited */
    bool oom;         /* ended by the out-of-memory killer */
    bool timed_out;   /* ended by --timeout */
    bool exec_failed; /* the workload never started (126/127) */
    uint64_t wall_ns;
    uint64_t user_ns;
    uint64_t sys_ns;
    uint64_t peak_memory; /* bytes */
    const char *backend;
    enum amber_mode mode;
    char spec_digest[65];
    char message[256]; /* one line for the user when not a plain exit */
    /* What the backend enforced (never what was only asked for). */
    struct amber_applied_limit memory, cpus, pids;
};

struct amber_probe {
    bool available;
    char reason[256]; /* why not, when !available */
};

struct amber_instance; /* a backend's running sandbox */

/* What a supervisor records of a started sandbox (describe). */
struct amber_started {
    pid_t pid;            /* the sandbox's PID 1 on the host */
    char *const *cgroups; /* its cgroup dirs */
    int ncgroups;
    /* With spec->enterable: PID 1's namespaces as descriptors the instance
     * holds open (-1: not handed out), in enum amber_ns order. PID 1 is
     * not dumpable, so no one without CAP_SYS_PTRACE opens them from its
     * /proc; `exec` gets them from the supervisor's namespace keeper. */
    int nsfds[AMBER_NS_COUNT];
    /* With spec->enterable: the launch plan a process entering the sandbox
     * gets (sandbox/launch.h, JSON; NULL: none), owned by the instance. */
    const char *launch_plan;
};

/* A sandbox that runs, as its state records it. The post-start verbs
 * (exec, pause and resume, stats, signal) run in another process than the
 * one that started it (the supervisor holds the instance) and reach the
 * sandbox through these. */
struct amber_recorded {
    const char *id;
    pid_t pid;          /* PID 1 on the host */
    uint64_t pid_start; /* its start time: signals go only to that very process */
    char *const *cgroups;
    int ncgroups;
    const char *launch_plan; /* what a process entering it gets (amber_started.launch_plan) */
    const char *hold;        /* a held workload waits on this FIFO (as written), or NULL */
    bool frozen;             /* paused: its processes must be thawed to die */
};

/* What `exec` runs inside a recorded sandbox. */
struct amber_enter {
    /* amber's own: the command; the sandbox's launch plan does the rest. */
    char **argv;
    bool tty, interactive;
    /* A sandbox started as written (an OCI container): the whole process,
     * as written too (argv, env, ids, caps, ...; argv above unused). */
    const struct amber_spec *process;
    bool detach; /* return once it runs (0) instead of its exit status */
    /* Optional, with process: called with its pid before amber waits; -1
     * (err filled) kills it. */
    int (*entered)(pid_t pid, void *data, struct amber_error *err);
    void *data;
};

struct amber_backend {
    const char *name;
    const struct amber_backend_caps *caps;
    /* Can this backend run here? */
    int (*probe)(struct amber_probe *out);
    /* Optional: what this host offers the backend (`amber check`). */
    void (*host_facts)(struct amber_host *out);
    /* Allocate an instance and every host resource needed before start
     * (cgroups, ...). On failure nothing is left behind. */
    int (*prepare)(const struct amber_spec *spec, struct amber_instance **out,
                   struct amber_error *err);
    /* Start the workload. Errors before the workload runs are returned here. */
    int (*start)(struct amber_instance *inst, struct amber_error *err);
    /* Returns 1 and fills res when the workload has ended, 0 while it runs
     * (only with nohang), -1 on error. */
    int (*wait)(struct amber_instance *inst, bool nohang, struct amber_result *res,
                struct amber_error *err);
    /* Deliver a signal to the workload. */
    int (*kill)(struct amber_instance *inst, int sig, struct amber_error *err);
    /* Resource usage so far (optional, NULL if unsupported). */
    int (*stats)(struct amber_instance *inst, struct amber_result *res, struct amber_error *err);
    /* Pre-start instances / drain them (optional, NULL if unsupported). */
    int (*warm)(const struct amber_spec *spec, unsigned count, struct amber_error *err);
    int (*drain)(struct amber_error *err);
    /* Release everything the instance holds. Safe after any failure. */
    void (*destroy)(struct amber_instance *inst);
    /* Optional: descriptors the run loop should poll for the backend
     * (terminal proxying, messages from the sandbox); returns how many it
     * filled (at most max). io() is called after every poll with them. */
    int (*poll_fds)(struct amber_instance *inst, struct pollfd *fds, int max);
    int (*io)(struct amber_instance *inst, const struct pollfd *fds, int n,
              struct amber_error *err);
    /* Optional: start a workload held by spec->hold (amber create/start). */
    int (*release)(struct amber_instance *inst, struct amber_error *err);
    /* Optional: the workload's PID 1 on the host and its cgroup dirs. */
    void (*describe)(struct amber_instance *inst, struct amber_started *out);
    /* Optional: let the workload outlive this process (an OCI engine's
     * create): destroy() then leaves it running and its cgroups in place,
     * for the post-start slots (start_held, signal, teardown). */
    int (*detach)(struct amber_instance *inst, struct amber_error *err);

    /* Post-start verbs on a recorded sandbox (optional; caps says which). */
    /* sig to PID 1 (only the very process recorded); with all, to every
     * process in its cgroups first. */
    int (*signal)(const struct amber_recorded *r, int sig, bool all, struct amber_error *err);
    /* Release a workload held on r->hold (a detached instance's release). */
    int (*start_held)(const struct amber_recorded *r, struct amber_error *err);
    /* End every process of it and remove what it holds on the host (its
     * cgroups); fine when it has already ended. */
    int (*teardown)(const struct amber_recorded *r, struct amber_error *err);
    /* Freeze (true) or thaw every process of it. */
    int (*pause)(const struct amber_recorded *r, bool freeze, struct amber_error *err);
    int (*usage)(const struct amber_recorded *r, struct cgroup_usage *u, struct amber_error *err);
    /* Run a process inside it (`amber exec`); returns its exit status. */
    int (*enter)(const struct amber_recorded *r, const struct amber_enter *e,
                 struct amber_error *err);
};

extern const struct amber_backend amber_backend_native;
extern const struct amber_backend amber_backend_process;

/* Look a backend up by name; NULL if unknown. */
const struct amber_backend *amber_backend_find(const char *name);
/* The i-th backend (from 0), NULL past the last: `amber check` lists them. */
const struct amber_backend *amber_backend_at(size_t i);

/* Run spec to completion on backend: start, forward signals, enforce the
 * timeout, wait, fill res. The caller must have called
 * amber_signals_block() first. Returns -1 only for errors before the
 * workload started (res->exit_code is then meaningless). */
struct amber_hooks {
    /* Optional: called once prepare() made what the sandbox holds on the
     * host (its cgroups, in the amber_started given), before anything
     * runs; non-zero stops there. */
    int (*prepared)(const struct amber_started *s, void *data);
    /* Called once the sandbox is built, with what a supervisor records of
     * it (its state file). With spec->hold the workload waits until this
     * returns 0 (then it is released); a non-zero return stops the sandbox
     * before it ran. */
    int (*started)(const struct amber_started *s, void *data);
    void *data;
};

int amber_execute(const struct amber_backend *backend, const struct amber_spec *spec,
                  const struct amber_hooks *hooks, struct amber_result *res,
                  struct amber_error *err);

/* Block the signals amber forwards (and SIGCHLD) so they queue until
 * amber_execute() waits for them; children restore the mask. */
void amber_signals_block(void);

struct rusage;
/* Fill exit_code/signal/times from a wait status and the rusage of the
 * workload (the rusage may be NULL). */
void amber_result_from_wait(struct amber_result *res, int wstatus, const struct rusage *ru);

/* Write res as JSON to path (atomically: temp file + rename). */
int amber_result_write_json(const struct amber_result *res, const char *path,
                            struct amber_error *err);

#endif
