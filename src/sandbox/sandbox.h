/* The native backend's plan: everything the child needs, computed by the
 * parent (src/backend/native.c) before clone. The child side is
 * launch_child() (launch.c), which runs the ordered sequence and then
 * becomes the sandbox's PID 1 (init.c). The other concerns have headers of
 * their own: the sync channel (sync.h), user namespaces (userns.h), the
 * root filesystem (rootfs.h), loopback (net.h), path resolution
 * (resolve.h), the process steps shared with exec (launch.h). */
#ifndef AMBER_SANDBOX_H
#define AMBER_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox/cgroup.h"
#include "spec/spec.h"
#include "util/error.h"

#define SANDBOX_MAX_MAPS AMBER_MAX_IDMAP
#define SANDBOX_MAX_GROUPS (AMBER_MAX_GROUPS + 1)
#define SANDBOX_MAX_MOUNTS AMBER_MAX_MOUNTS
#define SANDBOX_MAX_RULES (SANDBOX_MAX_MOUNTS + 24)
/* Index of the --rootfs tree among the idmapped trees (idmap.h). */
#define SANDBOX_TREE_ROOTFS SANDBOX_MAX_MOUNTS

/* One uid/gid map line: container id, host id, count. */
struct id_map {
    uint32_t inside;
    uint32_t outside;
    uint32_t count;
};

/* Everything the child needs, computed by the parent before clone so that
 * the child only performs kernel steps. */
struct sandbox_plan {
    const struct amber_spec *spec;
    int sync_fd; /* child's end of the sync channel */
    bool userns; /* a new user namespace is created */
    struct id_map uidmap[SANDBOX_MAX_MAPS];
    struct id_map gidmap[SANDBOX_MAX_MAPS];
    int nuidmap, ngidmap;
    bool newidmap;     /* maps written by newuidmap/newgidmap (rootless, several ranges) */
    bool become_root;  /* uid and gid 0 are mapped: setup runs as root of the namespace */
    bool setgroups_ok; /* setgroups(2) is allowed (not denied for an unprivileged map) */
    uint32_t uid;      /* workload uid/gid inside the sandbox */
    uint32_t gid;
    gid_t groups[SANDBOX_MAX_GROUPS]; /* supplementary groups: gid first, then --additional-group */
    int ngroups;
    int payload_fd;         /* child's read end of the payload pipe (secrets, copies), -1 if none */
    bool syncback;          /* copy-in-out: PID 1 streams /workspace back after a clean exit */
    int landlock_abi;       /* 0: unavailable */
    bool allow_no_landlock; /* agent mode + --allow-degraded-security */
    bool host_root;         /* amber runs as host root (not rootless) */
    int cgroup_fds[CGROUP_MAX_PATHS]; /* cgroup_open_self_join(): the child writes "0" to each */
    uint64_t memory_rlimit; /* no memory cgroup: RLIMIT_DATA at the memory limit (0: none) */
    int tty_out[2]; /* without -t: a write-only open of the terminal on stdout, stderr (or -1) */
    int ncgroup_fds;
};

struct landlock_path;
/* The Landlock rules of a sandbox made from spec (also used by `exec` to
 * give a second process the same rules). Returns how many were written;
 * max when they did not fit. */
size_t sandbox_landlock_rules(const struct amber_spec *spec, struct landlock_path *rules,
                              size_t max);

/* Child side: never returns. */
__attribute__((noreturn)) void launch_child(const struct sandbox_plan *plan);

/* The workload's terminal (-t) in the sandbox child, -1 without. */
extern int tty_slave;

/* PID 1: start the workload, forward signals, reap, report. Never returns. */
__attribute__((noreturn)) void init_run(const struct sandbox_plan *plan);

#endif
