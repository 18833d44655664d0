/* The namespace keeper: the server side of `amber exec`'s entry into a
 * detached sandbox (the client is the backend's enter slot). */
#include "container/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>

#include "backend/backend.h"
#include "backend/tty.h"
#include "sandbox/caps.h"
#include "sandbox/landlock.h"
#include "sandbox/launch.h"
#include "sandbox/rlimit.h"
#include "sandbox/seal.h"
#include "sandbox/seccomp.h"
#include "sandbox/sync.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

/* The namespace keeper: a small process of the supervisor's that holds
 * PID 1's namespaces (PID 1 is not dumpable, so its /proc/PID/ns is closed
 * to amber exec without root) and hands them, over a socket in the
 * sandbox's 0700 state directory, to a connecting process of the same user
 * (or root). It is sealed like every amber process next to a sandbox and
 * dies with the supervisor. */
static void keeper_main(int ls, const int *nsfds)
{
    int keep[AMBER_NS_COUNT + 1];
    int present[AMBER_NS_COUNT];
    int sendfds[AMBER_NS_COUNT];
    struct amber_error ignore;
    int n = 0;

    keep[0] = ls;
    for (int i = 0; i < AMBER_NS_COUNT; i++) {
        keep[i + 1] = nsfds[i];
        present[i] = nsfds[i] >= 0;
        if (nsfds[i] >= 0)
            sendfds[n++] = nsfds[i];
    }
    sigset_t none;

    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* the supervisor's blocked set is not its */
    seal_process(keep, AMBER_NS_COUNT + 1, "amber-ns", &ignore);
    {
        /* Not the supervisor's stdio: its stdout and stderr are the log
         * pipes, whose reader waits for every writer to go. */
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        for (int fd = 0; fd <= 2 && null >= 0; fd++)
            dup2(null, fd);
        if (null > 2)
            close(null);
    }
    amber_log_set_sink_fd(-1);
    for (;;) {
        struct ucred cr;
        socklen_t len = sizeof(cr);
        int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);

        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            _exit(0);
        }
        if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 &&
            (cr.uid == getuid() || cr.uid == 0))
            send_fds(c, present, sizeof(present), sendfds, n);
        close(c);
    }
}

int container_ns_keeper_start(struct container *c, const char *sock, const int *nsfds,
                              struct amber_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    json_t *pol = c->exec_json != NULL ? json_loads(c->exec_json, 0, NULL) : NULL;
    pid_t parent = getpid(), pid;
    mode_t old;
    int ls;

    if (pol == NULL)
        return amber_error_set(err, 0, "no exec policy");
    if (strlen(sock) >= sizeof(sa.sun_path)) {
        json_decref(pol);
        return amber_error_set(err, ENAMETOOLONG, "'%s': too long for a socket", sock);
    }
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    ls = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (ls < 0) {
        json_decref(pol);
        return amber_error_errno(err, "socket");
    }
    unlink(sock);
    old = umask(077);
    if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 16) < 0) {
        umask(old);
        amber_error_errno(err, "'%s'", sock);
        close(ls);
        json_decref(pol);
        return -1;
    }
    umask(old);
    pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(0);
        keeper_main(ls, nsfds);
    }
    close(ls);
    if (pid < 0) {
        json_decref(pol);
        unlink(sock);
        return amber_error_errno(err, "fork the namespace keeper");
    }
    json_object_set_new(pol, "ns_socket", json_string(sock));
    free(c->exec_json);
    c->exec_json = json_dumps(pol, JSON_COMPACT);
    json_decref(pol);
    return 0;
}
