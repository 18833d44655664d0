/* amber exec, the native backend's enter slot. The new process enters the sandbox the way the
 * sandbox's own workload was confined, in the same order and for the same reasons (launch.c):
 * cgroup first (accounted from the start), then the user namespace (which grants the rights to
 * enter the others), the other namespaces with the mount namespace last (it changes root and cwd to
 * the sandbox's), then in a forked child (the pid namespace applies to children): bounding set,
 * ids, no_new_privs, Landlock with the sandbox's rules, capabilities cleared and verified, seccomp
 * last. */
#include "backend/native.h"

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
#include "sandbox/sandbox.h"
#include "sandbox/seal.h"
#include "sandbox/seccomp.h"
#include "sandbox/sync.h"
#include "util/cleanup.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/proc.h"
#include "util/xalloc.h"

/* PID 1's namespaces from the keeper: out[i] an fd or -1. */
static int fetch_namespaces(const char *sock, int *out, struct amber_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int present[AMBER_NS_COUNT];
    int fds[AMBER_NS_COUNT];
    cleanup_close int s = -1;
    int n, k = 0;

    for (int i = 0; i < AMBER_NS_COUNT; i++)
        out[i] = -1;
    if (strlen(sock) >= sizeof(sa.sun_path))
        return amber_error_set(err, ENAMETOOLONG, "'%s'", sock);
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return amber_error_errno(err, "its namespaces ('%s')", sock);
    n = recv_fds(s, present, sizeof(present), fds, AMBER_NS_COUNT);
    if (n < 0)
        return amber_error_errno(err, "its namespaces ('%s')", sock);
    for (int i = 0; i < AMBER_NS_COUNT; i++)
        if (present[i] && k < n)
            out[i] = fds[k++];
    return 0;
}

#define NNS AMBER_NS_COUNT

/* The command's process, in the sandbox's namespaces and cgroup: the
 * launch sequence's process steps from the sandbox's own launch plan
 * (sandbox/launch.h), as its PID 1 got them, then the command. */
__attribute__((noreturn)) static void child_main(const char *plan_json, char **argv, int tty,
                                                 bool interactive)
{
    struct amber_error err;
    struct launch_plan_stored lp;
    const char *warning = NULL;
    sigset_t none;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (launch_plan_read(plan_json, &lp, &err) < 0)
        goto fail;
    if (tty >= 0) {
        /* -t: a new session whose controlling terminal is the pty. */
        if (setsid() < 0 || ioctl(tty, TIOCSCTTY, 0) < 0 || dup2(tty, STDIN_FILENO) < 0 ||
            dup2(tty, STDOUT_FILENO) < 0 || dup2(tty, STDERR_FILENO) < 0) {
            amber_error_errno(&err, "-t: attach the terminal");
            goto fail;
        }
        close(tty);
    }
    if (tty < 0)
        setsid(); /* out of amber exec's session: no controlling terminal */
    if (!interactive) {
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            close(null);
        }
    }
    lp.p.tty = tty >= 0;
    if (launch_process_steps(&lp.p, &warning, &err) < 0)
        goto fail;
    if (warning != NULL)
        fprintf(stderr, "amber: warn: %s\n", warning);
    /* As the workload got it: without a memory cgroup, each process's
     * data is held to the memory limit. */
    if (rlimit_data_bound(&lp.limits, lp.memory_rlimit, &err) < 0)
        goto fail;
    signal(SIGPIPE, SIG_DFL);
    execvpe(argv[0], argv, lp.env);
    fprintf(stderr, "amber: exec: %s: %s\n", argv[0],
            errno == ENOENT ? "command not found" : strerror(errno));
    _exit(errno == ENOENT ? AMBER_EXIT_NOTFOUND : AMBER_EXIT_NOEXEC);
fail:
    fprintf(stderr, "amber: exec: %s\n", err.msg);
    _exit(AMBER_EXIT_INTERNAL);
}

/* Forward the signals amber exec receives to child until it ends; returns
 * its exit status (128+N for signal N). */
static int relay(pid_t child, const sigset_t *set, bool skip_terminal)
{
    int st = 0;

    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(set, &si);
        if (sig == SIGCHLD) {
            if (waitpid(child, &st, WNOHANG) == child)
                break;
            continue;
        }
        if (sig > 0 && !(skip_terminal && si.si_code == SI_KERNEL &&
                         (sig == SIGINT || sig == SIGQUIT || sig == SIGWINCH)))
            kill(child, sig);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The middle process: enters the cgroup and the namespaces (so amber
 * exec itself never changes namespaces), forks the command into the pid
 * namespace, relays signals to it and exits with its status. */
__attribute__((noreturn)) static void enter_main(const struct amber_recorded *c, json_t *pol,
                                                 char **argv, const sigset_t *set, int ttysock,
                                                 bool interactive)
{
    struct amber_error err;
    int fds[NNS];
    int slave = -1;
    const char *sock;
    pid_t child;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* Sealed before it enters anything (seal.h): the command forked below
     * is visible inside the sandbox until it execs, and must show the
     * workload neither amber exec's caller's environment and descriptors
     * nor amber's memory. The command's own environment is in pol. */
    for (size_t i = 0; i < NNS; i++)
        fds[i] = -1;
    if (ttysock < 0) {
        /* Without -t: the terminal on stdout/stderr write-only (seal.h). */
        int out[2];
        seal_tty_reopen(out);
        seal_tty_install(out);
    }
    /* argv points into amber exec's own command line: copied before that
     * is wiped. */
    {
        char **copy = NULL;
        size_t n = 0;
        for (size_t i = 0; argv[i] != NULL; i++)
            strv_push(&copy, &n, argv[i]);
        argv = copy;
    }
    if (seal_process(&ttysock, 1, "amber-exec", &err) < 0)
        goto fail;
    amber_log_set_sink_fd(-1); /* its descriptor is closed (seal_process) */
    sock = json_string_value(json_object_get(pol, "ns_socket"));
    if (sock != NULL && fetch_namespaces(sock, fds, &err) < 0) {
        amber_error_prefix(&err, "container %s", c->id);
        goto fail;
    }
    /* Every namespace but time (a kernel may lack it) must be there: a
     * missing one would leave the process in the host's. A state from an
     * older amber has no keeper: /proc/PID/ns then (root only). Once they
     * are open, one that is ours already (no user namespace, the host's
     * network) is not entered (joining one's own user namespace is an
     * error). */
    for (size_t i = 0; i < NNS; i++) {
        bool time = strcmp(amber_ns_file(i), "time") == 0;
        char mine[64];
        struct stat a, b;

        if (sock == NULL) {
            snprintf(mine, sizeof(mine), "/proc/%d/ns/%s", (int)c->pid,
                     time ? "time_for_children" : amber_ns_file(i));
            fds[i] = open(mine, O_RDONLY | O_CLOEXEC);
            if (fds[i] < 0 && !(time && errno == ENOENT)) {
                amber_error_errno(&err, "container %s: open %s", c->id, mine);
                goto fail;
            }
        } else if (fds[i] < 0 && !time) {
            amber_error_set(&err, ENOENT, "container %s: its %s namespace is not at hand", c->id,
                            amber_ns_file(i));
            goto fail;
        }
        snprintf(mine, sizeof(mine), "/proc/self/ns/%s", amber_ns_file(i));
        if (fds[i] >= 0 && fstat(fds[i], &a) == 0 && stat(mine, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
    /* Opened by pid (no keeper): only if that pid is still the sandbox's
     * PID 1 now that the files are held, not a process that reused it. */
    if (sock == NULL && c->pid_start != 0 && proc_starttime(c->pid) != c->pid_start) {
        amber_error_set(&err, ESRCH, "container %s: its PID 1 is gone", c->id);
        goto fail;
    }
    /* The cgroup before anything runs inside: a thread moving itself
     * through v1 "tasks" (or v2 cgroup.procs). */
    if (cgroup_join_self(c->cgroups, c->ncgroups, &err) < 0) {
        amber_error_prefix(&err, "container %s: join its cgroup", c->id);
        goto fail;
    }
    for (size_t i = 0; i < NNS; i++) {
        if (fds[i] >= 0 && setns(fds[i], 0) < 0) {
            amber_error_errno(&err, "container %s: enter its %s namespace", c->id,
                              amber_ns_file(i));
            goto fail;
        }
        if (fds[i] >= 0)
            close(fds[i]);
    }
    if (ttysock >= 0) {
        /* -t: a pty from the sandbox's own devpts (we are in its mount
         * namespace now); amber exec gets the master. */
        int unlock = 0;
        int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) < 0 ||
            (slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 ||
            sync_send_fd(ttysock, SYNC_TTY, 0, master) < 0) {
            amber_error_errno(&err, "-t: open a pty in the sandbox");
            goto fail;
        }
        close(master);
        close(ttysock);
    }
    child = fork();
    if (child < 0) {
        amber_error_errno(&err, "fork");
        goto fail;
    }
    if (child == 0)
        child_main(c->launch_plan, argv, slave, interactive || slave >= 0);
    if (slave >= 0)
        close(slave);
    /* INT, QUIT, WINCH from the terminal reached this process and amber
     * exec alike; the command, in a session of its own, gets them from
     * here (amber exec drops them: two of one signal would merge). With
     * -t they are the caller's terminal's, not the command's. */
    _exit(relay(child, set, slave >= 0));
fail:
    fprintf(stderr, "amber: %s\n", err.msg);
    _exit(AMBER_EXIT_INTERNAL);
}

/* -t: relay amber exec's terminal to the pty while the middle process
 * lives; SIGWINCH becomes the pty's window size, other signals go on. */
static int relay_tty(pid_t child, const sigset_t *set, int master, bool interactive)
{
    struct tty_relay t;
    int sfd = signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
    int st = 0;

    tty_relay_start(&t, master, interactive);
    for (;;) {
        struct pollfd fds[3];
        struct signalfd_siginfo si;
        int n = 1;
        bool done = false;

        fds[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
        n += tty_relay_poll_fds(&t, fds + 1);
        if (poll(fds, (nfds_t)n, -1) < 0 && errno != EINTR)
            break;
        for (int i = 1; i < n; i++)
            tty_relay_io(&t, &fds[i]);
        while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
            if (si.ssi_signo == SIGCHLD) {
                if (waitpid(child, &st, WNOHANG) == child)
                    done = true;
            } else if (si.ssi_signo == SIGWINCH) {
                tty_relay_winsize(&t);
            } else {
                kill(child, (int)si.ssi_signo);
            }
        }
        if (done)
            break;
    }
    tty_relay_drain(&t);
    tty_relay_stop(&t);
    close(sfd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int native_enter(const struct amber_recorded *c, const struct amber_enter *e,
                 struct amber_error *err)
{
    char **argv = e->argv;
    bool tty = e->tty, interactive = e->interactive;
    json_t *pol;
    pid_t child;
    sigset_t set, saved;
    int sv[2] = {-1, -1};

    if (e->process != NULL)
        return written_enter(c, e, err);
    if (c->pid <= 0)
        return amber_error_set(err, 0, "container %s is not running", c->id);
    if (c->launch_plan == NULL || (pol = json_loads(c->launch_plan, 0, NULL)) == NULL)
        return amber_error_set(err, 0, "container %s: no exec policy in its state", c->id);
    if (tty && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        json_decref(pol);
        return amber_error_errno(err, "socketpair");
    }
    sigemptyset(&set);
    for (int i = 0; i < amber_forward_signals_count; i++)
        sigaddset(&set, amber_forward_signals[i]);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &saved);
    if (fault_hit("exec-fork")) {
        errno = EAGAIN;
        child = -1;
    } else {
        child = fork();
    }
    if (child < 0) {
        int saved_errno = errno;
        json_decref(pol);
        if (sv[0] >= 0) {
            close(sv[0]);
            close(sv[1]);
        }
        sigprocmask(SIG_SETMASK, &saved, NULL);
        return amber_error_set(err, saved_errno, "fork");
    }
    if (child == 0) {
        if (sv[0] >= 0)
            close(sv[0]);
        enter_main(c, pol, argv, &set, sv[1], interactive);
    }
    json_decref(pol);
    if (tty) {
        struct sync_msg msg;
        int master = -1;
        close(sv[1]);
        if (sync_recv_fd(sv[0], &msg, &master) == 1 && master >= 0) {
            close(sv[0]);
            return relay_tty(child, &set, master, interactive);
        }
        close(sv[0]);
    }
    return relay(child, &set, true);
}
