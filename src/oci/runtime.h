/* The OCI runtime verbs (create, start, state, kill, delete, run, exec) over
 * amber's state directory. The container's first process is the
 * container: no amber process stays behind it (an engine such as conmon
 * reaps it as a subreaper and reads its exit status itself), so `create`
 * leaves it blocked on <state>/exec.fifo until `start`, and `delete`
 * removes what `create` made. */
#ifndef AMBER_OCI_RUNTIME_H
#define AMBER_OCI_RUNTIME_H

#include <stdbool.h>
#include <sys/types.h>

#include "backend/backend.h"
#include "oci/oci.h"

struct oci_create_opts {
    const char *root; /* state root */
    const char *id;
    const char *bundle;
    const char *pid_file;       /* NULL = none */
    const char *console_socket; /* NULL = none */
    int preserve_fds;           /* fds 3..3+N-1 are passed to the process */
    bool hold;                  /* create: wait for `start` (else run at once) */
};

/* create, or run --detach (!o->hold): the container outlives amber. */
int oci_create(const struct oci_create_opts *o, pid_t *pid, struct amber_error *err);
/* run without --detach: create, start and wait; res is the run's result
 * (its exit_code what `run` exits with). The container stays recorded
 * (stopped) for the caller's delete. */
int oci_run(const struct oci_create_opts *o, struct amber_result *res, struct amber_error *err);
int oci_start(const char *root, const char *id, struct amber_error *err);
/* The OCI state JSON of a container (malloc'd). */
int oci_state(const char *root, const char *id, char **json, struct amber_error *err);
int oci_kill(const char *root, const char *id, int sig, bool all, struct amber_error *err);
int oci_delete(const char *root, const char *id, bool force, struct amber_error *err);

struct oci_exec_opts {
    const char *root;
    const char *id;
    const char *process; /* process.json, or NULL to build one from the fields below */
    char **args;         /* with process == NULL */
    char **env;
    const char *cwd;
    const char *user; /* "UID[:GID]" */
    bool tty;
    const char *pid_file;
    const char *console_socket;
    int preserve_fds;
    bool detach;
    bool no_new_privs;
};
/* Returns the exit status of the process (foreground) or 0 (detached). */
int oci_exec(const struct oci_exec_opts *o, struct amber_error *err);

/* Bring a container's recorded status in line with its process. */
struct container;
void oci_refresh(const char *root, struct container *c);

/* Parse a signal: "TERM", "SIGTERM" or "15". */
int oci_signal_parse(const char *s);

#endif
