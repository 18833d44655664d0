/* What a spec says when it is taken exactly as written (spec->defaults ==
 * AMBER_DEFAULTS_AS_WRITTEN; today: OCI bundles): an explicit mount table,
 * the five capability sets, namespaces new or joined by path, a compiled
 * seccomp policy, devices and device rules, sysctls, masked and read-only
 * paths, hooks, a cgroup path and the full resource set, umask,
 * oom_score_adj, console size. amber's own front-ends leave it zeroed and
 * get amber's hardened defaults instead; the native backend's as-written
 * launch applies it (backend/native_written.c, sandbox/launch_written.c).
 * Plain data: no front-end or backend type appears here. */
#ifndef AMBER_WRITTEN_H
#define AMBER_WRITTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "spec/ns.h"

/* The version of the OCI runtime spec the state document follows. */
#define AMBER_OCI_VERSION "1.0.2"

struct amber_mount_entry {
    char *dst;
    char *src;
    char *type;
    char *data;                /* fs-specific options ("mode=755,size=65536k") */
    unsigned long flags;       /* MS_* of the mount itself */
    unsigned long propagation; /* MS_PRIVATE / MS_SLAVE / ... (| MS_REC), 0 = none */
    bool bind;                 /* "bind" or "rbind" in options, or type "bind" */
    bool recursive;            /* "rbind" */
    bool copy_up;              /* "tmpcopyup": a tmpfs starts with the image's files */
};

struct amber_device {
    char *path;
    char type; /* 'c', 'b', 'p' (fifo) */
    int64_t major, minor;
    mode_t mode;
    uid_t uid;
    gid_t gid;
};

/* One device rule of the v1 devices controller (linux.resources.devices). */
struct amber_devrule {
    bool allow;
    char type;            /* 'a', 'c', 'b' */
    int64_t major, minor; /* -1 = any */
    char access[4];       /* subset of "rwm" */
};

struct amber_hook_cmd {
    char *path;
    char **args; /* NULL-terminated, may be NULL */
    char **env;
    int timeout; /* seconds, 0 = none */
};

enum amber_hook_kind {
    AMBER_HOOK_PRESTART = 0,
    AMBER_HOOK_CREATE_RUNTIME,
    AMBER_HOOK_CREATE_CONTAINER,
    AMBER_HOOK_START_CONTAINER,
    AMBER_HOOK_POSTSTART,
    AMBER_HOOK_POSTSTOP,
    AMBER_HOOK_COUNT,
};

struct amber_resources {
    int64_t memory;      /* bytes, 0 = none */
    int64_t memory_swap; /* memory + swap, bytes; -1 = unlimited, 0 = not set */
    int64_t memory_reservation;
    uint64_t cpu_shares;
    int64_t cpu_quota; /* us per period, 0 = none */
    uint64_t cpu_period;
    char *cpuset_cpus;
    char *cpuset_mems;
    int64_t pids; /* 0 = none, -1 = unlimited */
};

/* A compiled seccomp policy, the one type for amber's default allowlist
 * (compiled at build time, static; sandbox/seccomp.h) and OCI profiles
 * (compiled when the container is created, oci/seccomp.c; malloc'd). What
 * reaches a sandbox is only this finished program. */
struct sock_filter;
struct seccomp_program {
    struct sock_filter *insns;
    size_t len;
    unsigned flags;   /* SECCOMP_FILTER_FLAG_* to pass at load */
    const char *what; /* names the policy in errors ("seccomp", "linux.seccomp") */
    bool owned;       /* insns are malloc'd (seccomp_program_free frees them) */
};

struct amber_written {
    /* Who the sandbox is to its hooks (the OCI state document). */
    char *bundle; /* absolute */
    char *id;
    char *annotations; /* JSON object text */
    double created;    /* when the front-end made it (seconds since the epoch), 0 = unknown */

    bool root_readonly;
    unsigned long rootfs_propagation; /* MS_* | MS_REC; default MS_SLAVE | MS_REC (runc) */
    struct amber_mount_entry *mounts;
    size_t nmounts;
    bool ns_new[AMBER_NS_COUNT];   /* a new namespace of this type */
    char *ns_path[AMBER_NS_COUNT]; /* ... or join the one at this path */
    uint64_t caps[5];              /* bounding, effective, permitted, inheritable, ambient */
    bool no_new_privs;
    bool has_umask;
    mode_t umask;
    bool has_oom_score_adj;
    int oom_score_adj;
    char *domainname;
    char **masked; /* NULL-terminated */
    char **readonly;
    char **sysctl; /* "key=value", NULL-terminated */
    struct amber_device *devices;
    size_t ndevices;
    struct amber_devrule *devrules; /* linux.resources.devices */
    size_t ndevrules;
    struct amber_hook_cmd *hooks[AMBER_HOOK_COUNT];
    size_t nhooks[AMBER_HOOK_COUNT];
    char *cgroups_path; /* NULL = /amber/<id> */
    struct amber_resources res;
    bool has_seccomp;
    struct seccomp_program seccomp;
    unsigned short console_rows, console_cols;

    /* How the engine hands the sandbox over (set by the front-end from
     * its command line, not from the bundle). */
    char *hold_fifo;      /* with spec->hold: the workload waits until this FIFO is written */
    char *console_socket; /* with spec->tty: the terminal's master goes to this socket */
    int preserve_fds;     /* fds 3..3+N-1 are passed to the workload */
    bool detach;          /* the workload will outlive the front-end (backend detach()) */
};

/* Free what w holds and zero it (safe on a zeroed one). */
void written_free(struct amber_written *w);

/* The OCI state document hooks read on stdin (and `state` prints). */
char *written_state_doc(const char *id, const char *status, pid_t pid, const char *bundle,
                        const char *annotations, double created);

#endif
