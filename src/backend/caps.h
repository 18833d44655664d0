/* What a backend can do and enforce: its capability descriptor. A leaf
 * header (no other amber header) so that spec_validate() can check a spec
 * against the backend it names without depending on the executor
 * interface: the mode rules stay in one place, and no backend's name
 * appears outside src/backend/ (and the CLI's --backend parsing).
 *
 * A spec that asks for something its backend cannot do:
 *  - what the backend has no place for at all (a mount without a mount
 *    namespace, a terminal, a detached sandbox): refused, in every mode;
 *  - a limit the backend cannot enforce: refused in strict-agent mode
 *    (exit 125, naming the option and the backend); in agent mode one
 *    warning, and the result's "limits" says it was not applied. */
#ifndef AMBER_BACKEND_CAPS_H
#define AMBER_BACKEND_CAPS_H

#include <stdbool.h>

/* How a limit is enforced, at best (a descriptor) or in fact (a result). */
enum amber_enforce {
    AMBER_ENFORCE_NONE = 0, /* not at all */
    AMBER_ENFORCE_RLIMIT,   /* by an rlimit: per process (RLIMIT_DATA for memory), or
                               per user namespace (RLIMIT_NPROC for pids) */
    AMBER_ENFORCE_CGROUP,   /* by the sandbox's cgroup, for all its processes together */
};
/* "cgroup", "rlimit", NULL for none (--result-json). */
const char *amber_enforce_name(enum amber_enforce e);

struct amber_backend_caps {
    bool isolates;   /* namespaces, seccomp, Landlock; false: refused in strict-agent */
    bool filesystem; /* --rootfs, --workspace, --context, --volume, --tmpfs, --home, --secret */
    bool tty;        /* -t */
    bool time_ns;    /* --time-namespace */
    bool userns;     /* user namespaces (--userns, --uidmap) */
    bool detach;     /* run -d: a supervisor owns it; exec, pause, stats through it */
    bool hold;       /* create/start: built first, the workload released later */
    bool exec;       /* exec into the running sandbox */
    bool as_written; /* a spec taken exactly as written (AMBER_DEFAULTS_AS_WRITTEN: OCI bundles) */
    enum amber_enforce memory, cpus, pids;
};

/* The descriptor of the backend called name; NULL if there is none. */
const struct amber_backend_caps *amber_backend_caps(const char *name);
/* The backend a spec without --backend gets. */
const char *amber_backend_default(void);
/* The backends' names, comma-separated ("native, process"), for messages. */
const char *amber_backend_names(void);

#endif
