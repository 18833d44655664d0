/* The state directory: one directory per container (detached sandbox),
 * holding state.json (written atomically: temp file + rename) and the log;
 * verbs on one container are serialised by flock on its directory.
 *
 *   <root>/<id>/state.json   log, log.1   start (create's FIFO)
 *   OCI containers also: exec.fifo (until start), config.json (the bundle's)
 *
 * <root> is --root, else /run/amber as root, else $XDG_RUNTIME_DIR/amber,
 * else /tmp/amber-<uid>. */
#ifndef AMBER_STATE_H
#define AMBER_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

enum container_status {
    CONTAINER_CREATED = 0, /* supervisor starting the sandbox */
    CONTAINER_RUNNING,
    CONTAINER_PAUSED,
    CONTAINER_STOPPED,
};

struct container {
    char id[65];
    char name[128];
    enum container_status status;
    pid_t supervisor;          /* the process that owns the sandbox */
    uint64_t supervisor_start; /* its start time (/proc/PID/stat field 22), against pid reuse */
    pid_t pid;                 /* the sandbox's PID 1 on the host, 0 before it runs */
    int exit_code;             /* when stopped */
    bool oom;
    char message[256];
    double created, started, finished; /* unix time, 0 if not yet */
    char **command;                    /* NULL-terminated */
    char *spec_json; /* the launch-file form of the spec, for exec (may be NULL) */
    char spec_digest[65];
    char backend[32]; /* the backend it runs on ("": the default) */
    char *cgroups[8]; /* the sandbox cgroup dirs, for stats, pause and cleanup */
    int ncgroups;
    char *exec_json; /* what `exec` needs: ids, workdir, env, Landlock rules (JSON) */
    /* OCI containers (create --bundle): no supervisor; the container's
     * first process is `pid`, identified by its start time. */
    bool oci;
    char *bundle;
    uint64_t pid_start; /* `pid`'s start time: a signal goes only to that very process */
    char *annotations;  /* JSON object text */
};

const char *container_status_name(enum container_status s);

/* The state root for this user (not created). --root overrides. */
const char *state_root(const char *override);
/* Create the root (0700) if needed. */
int state_root_ensure(const char *root, struct amber_error *err);

/* A new random hex id. */
void state_new_id(char out[65]);
/* Is name acceptable ([A-Za-z0-9][A-Za-z0-9_.-]*, < 128)? */
bool state_valid_name(const char *name);

/* Create <root>/<id> exclusively and write the first state under its lock,
 * which is returned in *lockfd (or released when lockfd is NULL). Fails
 * with EEXIST when the id or (non-empty) name is taken. */
int state_create(const char *root, struct container *c, int *lockfd, struct amber_error *err);
/* Write c's state atomically (temp + rename). */
int state_save(const char *root, const struct container *c, struct amber_error *err);
/* Load <root>/<id>/state.json. */
int state_load(const char *root, const char *id, struct container *c, struct amber_error *err);
void container_free(struct container *c);

/* Resolve a user's reference (full id, unique id prefix, or name) to an id. */
int state_resolve(const char *root, const char *ref, char id[65], struct amber_error *err);
/* All container ids under root (NULL-terminated, malloc'd). */
char **state_list(const char *root, struct amber_error *err);

/* Take the container's lock (blocking, or -1 with EWOULDBLOCK when !wait). */
int state_lock(const char *root, const char *id, bool wait, struct amber_error *err);
void state_unlock(int lockfd);

/* Remove <root>/<id> (state, log, lock, exec.fifo, config.json). */
int state_remove(const char *root, const char *id, struct amber_error *err);

/* Path helpers (malloc'd). */
char *state_path(const char *root, const char *id, const char *file);

/* Is the supervisor of c still the process that started it? */
bool state_supervisor_alive(const struct container *c);
/* Start time of pid (field 22 of /proc/PID/stat), 0 if gone. */
uint64_t state_proc_starttime(pid_t pid);
/* Signal c's PID 1 through a pidfd, only if it is still the process the
 * state names (pid and start time); -1 (ESRCH) otherwise. */
int state_signal_pid1(const struct container *c, int sig);

#endif
