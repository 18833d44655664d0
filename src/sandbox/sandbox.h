/* The native backend's kernel steps. The parent side lives in
 * src/backend/native.c; the child side is launch_child() (launch.c), which
 * runs the ordered sequence and then becomes the sandbox's PID 1 (init.c).
 *
 * Parent and child talk over a SOCK_SEQPACKET socketpair (the "sync
 * channel"): each message is one struct sync_msg. */
#ifndef AMBER_SANDBOX_H
#define AMBER_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox/cgroup.h"
#include "spec/spec.h"
#include "util/error.h"

enum sync_type {
    SYNC_GO = 1,      /* parent -> child: maps written, cgroup joined; go on */
    SYNC_READY,       /* child -> parent: sandbox built, about to start the workload */
    SYNC_ERROR,       /* child -> parent: setup failed (err) */
    SYNC_EXEC_FAILED, /* worker -> parent: execve failed (err.code = errno) */
    SYNC_STATUS,      /* init -> parent: the workload's wait status */
    SYNC_WARNING,     /* child -> parent: a degradation to report (err.msg) */
    SYNC_SYNCBACK,    /* init -> parent: /workspace follows on the sync-back pipe */
    SYNC_TTY,         /* child -> parent: the pty master (SCM_RIGHTS) for -t */
    SYNC_START,       /* parent -> child: start the held workload (amber create/start) */
    SYNC_NS,          /* child -> parent: one of PID 1's namespaces (SCM_RIGHTS), index
                         `status` in amber_ns_names (spec->enterable) */
    SYNC_TREE,        /* parent -> child: an idmapped mount tree (SCM_RIGHTS) for mount
                         `status` (SANDBOX_TREE_ROOTFS: the --rootfs); GO's status counts them */
};

struct sync_msg {
    int type;
    int status;
    struct amber_error err;
};

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

/* Send one message; returns -1 on failure (peer gone). Async-signal-safe. */
int sync_send(int fd, int type, int status, const struct amber_error *err);
/* Receive one message; returns 0 on EOF, 1 on a message, -1 on error. */
int sync_recv(int fd, struct sync_msg *msg);
/* Send len bytes of data with passfd attached (SCM_RIGHTS) in one message;
 * -1 on failure. Async-signal-safe. */
int send_fd(int sock, const void *data, size_t len, int passfd);
/* The same with n descriptors (at most SEND_FDS_MAX); and the receiving
 * side: exactly len bytes into data, up to max descriptors into fds
 * (close-on-exec; extra ones closed). Returns how many, -1 on error
 * (ENODATA: end of file, the peer is gone). */
#define SEND_FDS_MAX 16
int send_fds(int sock, const void *data, size_t len, const int *fds, int n);
int recv_fds(int sock, void *data, size_t len, int *fds, int max);
/* The same with one file descriptor attached (SCM_RIGHTS); *passfd is -1
 * when the message carried none. */
int sync_send_fd(int fd, int type, int status, int passfd);
int sync_recv_fd(int fd, struct sync_msg *msg, int *passfd);
/* The workload's terminal (-t) in the sandbox child, -1 without. */
extern int tty_slave;

/* Write uid_map/gid_map (and setgroups) for pid. */
int userns_write_maps(pid_t pid, const struct sandbox_plan *plan, struct amber_error *err);
/* Pick the host range for the container's ids: the first /etc/subuid
 * (/etc/subgid) range of user `name`, else a fixed default. */
void userns_host_range(const char *file, const char *name, uint32_t *start, uint32_t *count);
/* The first range of `file` (/etc/subuid, /etc/subgid) for the user with
 * this uid (listed by name or number). Returns false when there is none. */
bool userns_find_range(const char *file, uid_t uid, uint32_t *start, uint32_t *count);
/* Is id mapped inside by one of the lines? */
bool userns_mapped(const struct id_map *maps, int n, uint32_t id);

/* The nosuid/nodev/noexec/atime flags of the mount holding path: a bind
 * remount must carry them over (a user namespace locks them). */
unsigned long mount_flags_of(const char *path);
/* The mount flags of one of the spec's mounts: nosuid, nodev; noexec
 * unless it may be executed; read-only when it is. */
struct amber_mount;
unsigned long sandbox_mount_flags(const struct amber_mount *m);
/* Bind the host's device node host (/dev/null, ...) read-only at tofd (an
 * O_PATH fd) or, with tofd -1, at target: no metadata change reaches the
 * host's inode. */
int dev_bind_node(const char *host, int tofd, const char *target, struct amber_error *err);
/* Build the root filesystem, /dev, /proc, /etc and pivot into it. trees:
 * SANDBOX_MAX_MOUNTS + 1 entries, -1 or an idmapped tree (idmap.h) to
 * attach instead of binding the mount's source (the last: the rootfs). */
int rootfs_setup(const struct sandbox_plan *plan, const int *trees, struct amber_error *err);

/* Bring the loopback interface up in the current network namespace. */
int net_loopback_up(struct amber_error *err);

/* PID 1: start the workload, forward signals, reap, report. Never returns. */
__attribute__((noreturn)) void init_run(const struct sandbox_plan *plan);

/* Open path under rootfd without following symlinks (openat2
 * RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH, with a component-walk fallback for
 * kernels without openat2). Returns an O_PATH fd. */
int path_open_beneath(int rootfd, const char *path, int flags, struct amber_error *err);
/* Test hook: force the fallback path. */
extern bool path_force_fallback;

#endif
