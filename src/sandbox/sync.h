/* The sync channel between amber and a sandbox's first process: a
 * SOCK_SEQPACKET socketpair, each message one struct sync_msg, descriptors
 * passed with SCM_RIGHTS. */
#ifndef AMBER_SYNC_H
#define AMBER_SYNC_H

#include <stddef.h>

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
                         `status` an enum amber_ns (spec->enterable) */
    SYNC_TREE,        /* parent -> child: an idmapped mount tree (SCM_RIGHTS) for mount
                         `status` (SANDBOX_TREE_ROOTFS: the --rootfs); GO's status counts them */
};

struct sync_msg {
    int type;
    int status;
    struct amber_error err;
};

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

#endif
