/* The native backend, parent side: plan the sandbox, create its cgroup,
 * clone the child into new namespaces (it joins the cgroup itself), write
 * its id maps, release it, and collect the result.
 *
 * Ownership: the instance owns the cgroup, the child pid, the sync socket
 * and the watchdog; destroy() releases each, so a failure at any step
 * leaves nothing behind. Mounts need no cleanup: they live only in the
 * child's mount namespace and vanish with it. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/tty.h"
#include "sandbox/cgroup.h"
#include "sandbox/host.h"
#include "sandbox/launch.h"
#include "backend/native.h"
#include "util/fault.h"
#include "util/proc.h"
#include "sandbox/landlock.h"
#include "sandbox/idmap.h"
#include "sandbox/payload.h"
#include "sandbox/sandbox.h"
#include "sandbox/seal.h"
#include "sandbox/userns.h"
#include "sandbox/rootfs.h"
#include "sandbox/sync.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/text.h"

struct watchdog_args {
    int fd;       /* read end */
    int write_fd; /* amber's end: the watchdog closes its own copy */
    const struct amber_cgroup *cg;
};

struct amber_instance {
    const struct amber_spec *spec;
    struct written_instance *w; /* a spec taken as written: native_written.c does the rest */
    struct sandbox_plan plan;
    struct amber_cgroup cg;
    bool have_cg;
    struct amber_applied_limit applied[3]; /* memory, cpus, pids as enforced */
    char *launch_plan;                     /* describe(): for exec (launch_plan_json) */
    pid_t pid;
    int sync_fd;
    pid_t watchdog;
    int watchdog_fd;  /* amber's end: its closing wakes the watchdog */
    int watchdog_rfd; /* the watchdog's end */
    void *watchdog_stack;
    struct watchdog_args watchdog_args;
    bool reaped;
    bool sync_eof;
    bool got_status;
    int worker_status;
    bool exec_failed;
    struct amber_error exec_err;
    bool setup_failed;
    struct amber_error setup_err;
    bool have_payload;
    struct payload payload;
    int payload_wfd;  /* amber's end of the payload pipe */
    int syncback_rfd; /* amber's end of the copy-in-out sync-back pipe */
    bool syncback_failed;
    bool syncback_done;        /* one stream per run: PID 1 asks once */
    int nsfds[AMBER_NS_COUNT]; /* spec->enterable: PID 1's namespaces (SYNC_NS), or -1 */
    struct amber_error syncback_err;
    struct tty_relay tty; /* -t: amber's side of the sandbox's pty */
};

static int native_probe(struct amber_probe *out)
{
    out->available =
        access("/proc/self/ns/pid", F_OK) == 0 && access("/proc/self/ns/mnt", F_OK) == 0;
    snprintf(out->reason, sizeof(out->reason), "%s",
             out->available ? "" : "the kernel lacks pid or mount namespaces");
    return 0;
}

static int plan_ids(struct amber_instance *inst, struct amber_error *err)
{
    const struct amber_spec *spec = inst->spec;
    struct sandbox_plan *plan = &inst->plan;
    uid_t euid = geteuid();
    gid_t egid = getegid();
    bool own_id_only;

    plan->host_root = euid == 0;
    plan->userns = spec->userns == AMBER_USERNS_AUTO || spec->userns == AMBER_USERNS_KEEP_ID ||
                   spec->userns == AMBER_USERNS_NOMAP;
    /* Rootless with nothing but your own id mapped: the default. */
    own_id_only = !plan->host_root && spec->nuidmap == 0 && spec->userns != AMBER_USERNS_NOMAP;
    if (spec->has_user) {
        plan->uid = spec->uid;
        plan->gid = spec->gid;
    } else if (own_id_only) {
        plan->uid = euid;
        plan->gid = egid;
    } else {
        plan->uid = 0;
        plan->gid = 0;
    }
    if (spec->has_group)
        plan->gid = spec->group; /* --group alone changes only the group */
    plan->setgroups_ok = true;
    if (plan->userns) {
        if (spec->nuidmap > 0) {
            if (spec->nuidmap > SANDBOX_MAX_MAPS || spec->ngidmap > SANDBOX_MAX_MAPS)
                return amber_error_set(err, 0, "--uidmap/--gidmap: at most %d lines each",
                                       SANDBOX_MAX_MAPS);
            for (size_t i = 0; i < spec->nuidmap; i++)
                plan->uidmap[i] = (struct id_map){spec->uidmap[i].inside, spec->uidmap[i].outside,
                                                  spec->uidmap[i].count};
            for (size_t i = 0; i < spec->ngidmap; i++)
                plan->gidmap[i] = (struct id_map){spec->gidmap[i].inside, spec->gidmap[i].outside,
                                                  spec->gidmap[i].count};
            plan->nuidmap = (int)spec->nuidmap;
            plan->ngidmap = (int)spec->ngidmap;
            plan->newidmap = !plan->host_root;
        } else if (plan->host_root) {
            uint32_t start, count;
            userns_host_range("/etc/subuid", "amber", &start, &count);
            plan->uidmap[0] = (struct id_map){0, start, count};
            userns_host_range("/etc/subgid", "amber", &start, &count);
            plan->gidmap[0] = (struct id_map){0, start, count};
            plan->nuidmap = plan->ngidmap = 1;
        } else if (spec->userns == AMBER_USERNS_NOMAP) {
            uint32_t start, count;
            if (!userns_find_range("/etc/subuid", euid, &start, &count))
                return amber_error_set(err, 0, "--userns nomap: no /etc/subuid range for uid %u",
                                       (unsigned)euid);
            plan->uidmap[0] = (struct id_map){0, start, count};
            if (!userns_find_range("/etc/subgid", euid, &start, &count))
                return amber_error_set(err, 0, "--userns nomap: no /etc/subgid range for uid %u",
                                       (unsigned)euid);
            plan->gidmap[0] = (struct id_map){0, start, count};
            plan->nuidmap = plan->ngidmap = 1;
            plan->newidmap = true;
        } else {
            plan->uidmap[0] = (struct id_map){euid, euid, 1};
            plan->gidmap[0] = (struct id_map){egid, egid, 1};
            plan->nuidmap = plan->ngidmap = 1;
            plan->setgroups_ok = false; /* denied, as the kernel requires for this map */
        }
        if (!userns_mapped(plan->uidmap, plan->nuidmap, plan->uid) ||
            !userns_mapped(plan->gidmap, plan->ngidmap, plan->gid))
            return amber_error_set(
                err, 0, "--user/--group %u:%u: not mapped in the sandbox's user namespace%s",
                plan->uid, plan->gid, own_id_only ? " (without root only your own ids are)" : "");
        plan->become_root = userns_mapped(plan->uidmap, plan->nuidmap, 0) &&
                            userns_mapped(plan->gidmap, plan->ngidmap, 0);
    }
    plan->groups[0] = plan->gid;
    plan->ngroups = 1;
    for (size_t i = 0; i < spec->ngroups; i++) {
        if (plan->ngroups >= SANDBOX_MAX_GROUPS)
            return amber_error_set(err, 0, "--additional-group: at most %d groups",
                                   SANDBOX_MAX_GROUPS - 1);
        if (plan->userns && !userns_mapped(plan->gidmap, plan->ngidmap, spec->groups[i]))
            return amber_error_set(
                err, 0, "--additional-group %u: not mapped in the user namespace", spec->groups[i]);
        plan->groups[plan->ngroups++] = spec->groups[i];
    }
    return 0;
}

/* Without a cgroup: the memory limit holds each process's data
 * (RLIMIT_DATA), the pids limit the user namespace's processes
 * (RLIMIT_NPROC, rlimit.c); nothing holds the CPUs. */
static void applied_without_cgroup(struct amber_instance *inst)
{
    const struct amber_spec *spec = inst->spec;

    memset(inst->applied, 0, sizeof(inst->applied));
    if (spec->memory)
        inst->applied[0] = (struct amber_applied_limit){spec->memory, AMBER_ENFORCE_RLIMIT};
    if (spec->pids && inst->plan.userns)
        inst->applied[2] = (struct amber_applied_limit){spec->pids, AMBER_ENFORCE_RLIMIT};
}

static int plan_cgroup(struct amber_instance *inst, struct amber_error *err)
{
    const struct amber_spec *spec = inst->spec;
    bool strict = spec->mode == AMBER_MODE_STRICT_AGENT;
    bool explicit_limits = (spec->memory_set && spec->memory) || spec->cpus_milli || spec->pids_set;
    struct cgroup_limits lim;
    const struct cgroup_manager *mgr = cgroup_manager_for_host();
    struct cgroup_place where = {0};
    char name[64];

    cgroup_limits_from_amber(&lim, spec->memory, spec->cpus_milli, spec->pids, spec->freezable);

    if (mgr == NULL || !cgroup_writable(&lim)) {
        const char *why = mgr == NULL ? "no usable cgroup hierarchy on this host"
                                      : "the cgroup tree is not writable by this user";
        if (strict)
            return amber_error_set(err, 0, "strict-agent mode requires cgroup limits, but %s", why);
        inst->plan.memory_rlimit = spec->memory;
        applied_without_cgroup(inst);
        if (explicit_limits)
            log_warn("resource limits (--memory/--cpus/--pids) not applied: %s", why);
        else
            log_info("default limits (memory %llu MiB, pids %llu) not applied by a cgroup: %s; "
                     "each process's data (RLIMIT_DATA) and each tmpfs are held to the memory "
                     "limit, and RLIMIT_NPROC to the pids limit",
                     (unsigned long long)(spec->memory >> 20), (unsigned long long)spec->pids, why);
        return 0;
    }
    snprintf(name, sizeof(name), "amber-%d", (int)getpid());
    where.name = name;
    if (cgroup_create(&inst->cg, &where, &lim, err) < 0) {
        if (strict || explicit_limits)
            return amber_error_prefix(err, "cgroup limits");
        log_warn("default limits (memory, pids) not applied by a cgroup: %s", err->msg);
        inst->plan.memory_rlimit = spec->memory;
        applied_without_cgroup(inst);
        amber_error_clear(err);
        return 0;
    }
    inst->have_cg = true;
    inst->applied[0] = (struct amber_applied_limit){spec->memory, AMBER_ENFORCE_CGROUP};
    inst->applied[1] = (struct amber_applied_limit){spec->cpus_milli, AMBER_ENFORCE_CGROUP};
    inst->applied[2] = (struct amber_applied_limit){spec->pids, AMBER_ENFORCE_CGROUP};
    for (int i = 0; i < 3; i++)
        if (inst->applied[i].value == 0)
            inst->applied[i].by = AMBER_ENFORCE_NONE;
    return 0;
}

static int start_watchdog(struct amber_instance *inst, struct amber_error *err);

static int native_prepare(const struct amber_spec *spec, struct amber_instance **out,
                          struct amber_error *err)
{
    struct amber_instance *inst = xcalloc(1, sizeof(*inst));
    bool strict = spec->mode == AMBER_MODE_STRICT_AGENT;

    inst->spec = spec;
    if (spec->defaults == AMBER_DEFAULTS_AS_WRITTEN) {
        if (written_prepare(spec, &inst->w, err) < 0) {
            written_destroy(inst->w);
            free(inst);
            return -1;
        }
        *out = inst;
        return 0;
    }
    inst->plan.spec = spec;
    inst->pid = -1;
    inst->sync_fd = -1;
    inst->watchdog = -1;
    inst->watchdog_fd = -1;
    inst->watchdog_rfd = -1;

    inst->plan.landlock_abi = landlock_abi_version();
    if (inst->plan.landlock_abi == 0) {
        if (strict || !spec->allow_degraded) {
            amber_error_set(err, 0, "Landlock is not available on this kernel%s",
                            strict ? " (required in strict-agent mode)"
                                   : "; --allow-degraded-security runs without it");
            free(inst);
            return -1;
        }
        inst->plan.allow_no_landlock = true;
    }
    inst->payload_wfd = -1;
    inst->syncback_rfd = -1;
    inst->tty.master = -1;
    for (int i = 0; i < AMBER_NS_COUNT; i++)
        inst->nsfds[i] = -1;
    inst->plan.tty_out[0] = inst->plan.tty_out[1] = -1;
    inst->plan.payload_fd = -1;
    if (plan_ids(inst, err) < 0) {
        free(inst);
        return -1;
    }
    /* Secrets are read and the context hashed before anything is created,
     * so their errors leave nothing behind. */
    switch (payload_prepare(spec, &inst->payload, err)) {
    case -1:
        payload_free(&inst->payload);
        free(inst);
        return -1;
    case 1:
        inst->have_payload = true;
        break;
    default:
        break;
    }
    if (plan_cgroup(inst, err) < 0) {
        payload_free(&inst->payload);
        free(inst);
        return -1;
    }
    /* The watchdog from the moment the cgroup exists: a SIGKILL of amber
     * from here on leaves no cgroup behind. */
    if (inst->have_cg && start_watchdog(inst, err) < 0) {
        struct amber_error ignore;
        cgroup_destroy(&inst->cg, &ignore);
        payload_free(&inst->payload);
        free(inst);
        return -1;
    }
    fault_kill_point("native-prepared"); /* a cgroup exists, nothing runs yet */
    *out = inst;
    return 0;
}

/* If amber is killed (even by SIGKILL) the sandbox dies with it through the
 * parent-death signal, but its cgroup directory would stay. The watchdog is
 * a tiny process outside the cgroup that waits for amber's end of a pipe to
 * close and then removes the cgroup. On a normal exit amber ends the
 * watchdog and removes the cgroup itself.
 *
 * The watchdog shares amber's memory (CLONE_VM, its own small stack): no
 * page tables to copy at every start. That is safe because it touches
 * nothing while amber lives (it blocks in read(), with amber's signal mask,
 * so no handler runs and errno is not written), amber kills it before
 * freeing anything it uses, and after amber's death it is alone with the
 * memory. It uses no malloc (amber may have died holding the allocator
 * lock): only rmdir and nanosleep on the paths already in memory. */
#define WATCHDOG_STACK (64 * 1024)

static int watchdog_main(void *arg)
{
    const struct watchdog_args *a = arg;
    char c;

    close(a->write_fd);
    while (read(a->fd, &c, 1) != 0)
        ; /* only EOF (amber gone) ends the wait */
    for (int i = a->cg->npaths - 1; i >= 0; i--) {
        for (int tries = 0; tries < 200; tries++) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            if (rmdir(a->cg->paths[i]) == 0 || errno != EBUSY)
                break;
            nanosleep(&ts, NULL); /* the last tasks are still exiting */
        }
    }
    _exit(0);
}

static int start_watchdog(struct amber_instance *inst, struct amber_error *err)
{
    int p[2];
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) < 0)
        return amber_error_errno(err, "watchdog pipe");
    inst->watchdog_stack = mmap(NULL, WATCHDOG_STACK, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (inst->watchdog_stack == MAP_FAILED) {
        inst->watchdog_stack = NULL;
        close(p[0]);
        close(p[1]);
        return amber_error_errno(err, "watchdog stack");
    }
    inst->watchdog_args.fd = p[0];
    inst->watchdog_args.write_fd = p[1];
    inst->watchdog_args.cg = &inst->cg;
    pid = clone(watchdog_main, (char *)inst->watchdog_stack + WATCHDOG_STACK, CLONE_VM | SIGCHLD,
                &inst->watchdog_args);
    if (pid < 0) {
        amber_error_errno(err, "start the cgroup watchdog");
        close(p[0]);
        close(p[1]);
        munmap(inst->watchdog_stack, WATCHDOG_STACK);
        inst->watchdog_stack = NULL;
        return -1;
    }
    inst->watchdog = pid;
    inst->watchdog_fd = p[1];
    inst->watchdog_rfd = p[0]; /* closed once the sandbox child is cloned */
    return 0;
}

static int reap_child(struct amber_instance *inst)
{
    int st = 0;
    if (inst->pid > 0 && !inst->reaped) {
        kill(inst->pid, SIGKILL);
        while (waitpid(inst->pid, &st, 0) < 0 && errno == EINTR)
            ;
        inst->reaped = true;
    }
    return st;
}

/* The host id an id inside the sandbox is (through its maps); the id
 * itself without a user namespace. */
static uint32_t host_id(const struct id_map *maps, int n, uint32_t id)
{
    for (int i = 0; i < n; i++) {
        if (id >= maps[i].inside && (uint64_t)id < (uint64_t)maps[i].inside + maps[i].count)
            return maps[i].outside + (id - maps[i].inside);
    }
    return id;
}

/* As host root with a user namespace, the sandbox's ids are an
 * unprivileged host range: host directories are bound through idmapped
 * trees (idmap.h) so that their owner's files are the workload's own and
 * what it writes is the owner's; the --rootfs through the sandbox's own
 * maps, so that its root-owned files are root's inside. A tree that cannot
 * be made (a file system without idmap support) is a warning: the source
 * is then bound as it is, its files foreign to the workload. */
static int make_trees(struct amber_instance *inst, int *trees, struct amber_error *err)
{
    const struct amber_spec *spec = inst->spec;
    const struct sandbox_plan *plan = &inst->plan;
    bool strict = spec->mode == AMBER_MODE_STRICT_AGENT;
    struct {
        uint32_t uid, gid;
        int fd;
    } ns[SANDBOX_MAX_MOUNTS];
    int nns = 0, n = 0, rc = 0;
    uint32_t uid = host_id(plan->uidmap, plan->nuidmap, plan->uid);
    uint32_t gid = host_id(plan->gidmap, plan->ngidmap, plan->gid);

    for (int i = 0; i <= SANDBOX_MAX_MOUNTS; i++)
        trees[i] = -1;
    if (!plan->userns || !plan->host_root)
        return 0;
    for (size_t i = 0; i < spec->nmounts && i < SANDBOX_MAX_MOUNTS && rc == 0; i++) {
        const struct amber_mount *m = &spec->mounts[i];
        /* Opened once, without following a symlink planted since the
         * spec was validated; stat and tree are of this very directory. */
        cleanup_close int src = -1;
        struct amber_error e;
        struct stat st;
        bool partial;
        int k;

        if (m->kind != AMBER_MOUNT_BIND)
            continue;
        src = open(m->src, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (src < 0 || fstat(src, &st) < 0) {
            rc = amber_error_errno(err, "'%s'", m->src);
            break;
        }
        if (strict && (st.st_uid == 0 || st.st_gid == 0)) {
            /* strict-agent never lends host root, not even for one tree. */
            log_info("%s: owned by root, bound as it is (strict-agent mode lends no host root)",
                     m->src);
            continue;
        }
        for (k = 0; k < nns; k++)
            if (ns[k].uid == st.st_uid && ns[k].gid == st.st_gid)
                break;
        if (k == nns) {
            ns[k].uid = st.st_uid;
            ns[k].gid = st.st_gid;
            ns[k].fd = idmap_userns(st.st_uid, uid, st.st_gid, gid, &e);
            if (ns[k].fd < 0) {
                log_warn("%s: no idmapped mount (%s): its files stay foreign to the sandbox",
                         m->src, e.msg);
                continue;
            }
            nns++;
        }
        trees[i] = idmap_tree(src, m->src, ns[k].fd, sandbox_mount_flags(m), &partial, &e);
        if (trees[i] < 0)
            log_warn("%s: no idmapped mount (%s): its files stay foreign to the sandbox", m->src,
                     e.msg);
        else if (partial)
            log_warn("%s: a mount below it cannot be idmapped; it is left out", m->src);
        n += trees[i] >= 0;
    }
    for (int k = 0; k < nns; k++)
        close(ns[k].fd);
    if (rc == 0 && spec->rootfs != NULL) {
        char path[64];
        struct amber_error e;
        bool partial;
        cleanup_close int own = -1;
        cleanup_close int src = open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);

        snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)inst->pid);
        own = open(path, O_RDONLY | O_CLOEXEC);
        if (own < 0 || src < 0) {
            rc = amber_error_errno(err, "open %s", own < 0 ? path : spec->rootfs);
        } else {
            /* Read-only, nosuid, nodev on every mount of it: a writable
             * submount of the rootfs would otherwise hand its root-owned
             * files to the sandbox's root (the overlay's writes go to its
             * upper layer, never to the lower one). */
            trees[SANDBOX_TREE_ROOTFS] =
                idmap_tree(src, spec->rootfs, own, MS_RDONLY | MS_NOSUID | MS_NODEV, &partial, &e);
            if (trees[SANDBOX_TREE_ROOTFS] < 0)
                log_warn("--rootfs '%s': no idmapped mount (%s): its files are foreign to the "
                         "sandbox's ids",
                         spec->rootfs, e.msg);
            n += trees[SANDBOX_TREE_ROOTFS] >= 0;
        }
    }
    if (rc < 0) {
        for (int i = 0; i <= SANDBOX_MAX_MOUNTS; i++)
            if (trees[i] >= 0) {
                close(trees[i]);
                trees[i] = -1;
            }
        return -1;
    }
    return n;
}

/* GO, followed by the idmapped trees the child attaches in place of its
 * binds. */
static int send_go(struct amber_instance *inst, struct amber_error *err)
{
    int trees[SANDBOX_MAX_MOUNTS + 1];
    int n = make_trees(inst, trees, err), rc = 0;

    if (n < 0)
        return -1;
    if (sync_send(inst->sync_fd, SYNC_GO, n, NULL) < 0)
        rc = amber_error_errno(err, "release the sandbox");
    for (int i = 0; i <= SANDBOX_MAX_MOUNTS; i++) {
        if (trees[i] < 0)
            continue;
        if (rc == 0 && sync_send_fd(inst->sync_fd, SYNC_TREE, i, trees[i]) < 0)
            rc = amber_error_errno(err, "hand an idmapped mount to the sandbox");
        close(trees[i]);
    }
    return rc;
}

static int native_start(struct amber_instance *inst, struct amber_error *err)
{
    if (inst->w != NULL)
        return written_start(inst->w, err);
    const struct amber_spec *spec = inst->spec;
    unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD;
    bool undumpable;
    int sv[2];
    struct sync_msg msg;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return amber_error_errno(err, "sync socketpair");
    if (inst->have_payload) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
            close(sv[0]);
            close(sv[1]);
            return amber_error_errno(err, "payload pipe");
        }
        inst->plan.payload_fd = p[0];
        inst->payload_wfd = p[1];
    }
    /* copy-in-out: the sync-back pipe is made only when PID 1 asks for it,
     * after the workload and everything it started are dead (init.c), so
     * no workload process ever shares a descriptor that writes into the
     * host workspace. */
    inst->plan.syncback =
        spec->workspace != NULL && spec->workspace_mode == AMBER_WORKSPACE_COPY_IN_OUT;
    if (spec->network == AMBER_NET_NONE)
        flags |= CLONE_NEWNET;
    if (inst->plan.userns)
        flags |= CLONE_NEWUSER;
    if (inst->have_cg) {
        int n = cgroup_open_self_join(&inst->cg, inst->plan.cgroup_fds, err);
        if (n < 0) {
            close(sv[0]);
            close(sv[1]);
            return -1;
        }
        inst->plan.ncgroup_fds = n;
    }

    if (!spec->tty)
        seal_tty_reopen(inst->plan.tty_out);
    /* The child must start dumpable: without root amber writes its id
     * maps as its owner, which only a dumpable process's /proc files have
     * (it turns non-dumpable itself once they are written). A sealed
     * caller (the supervisor) is dumpable for the clone only. */
    undumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0;
    if (undumpable)
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    inst->pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
    if (inst->pid != 0 && undumpable)
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (inst->pid != 0) {
        for (int i = 0; i < 2; i++) {
            if (inst->plan.tty_out[i] >= 0)
                close(inst->plan.tty_out[i]); /* the child's own now */
            inst->plan.tty_out[i] = -1;
        }
    }
    if (inst->pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        for (int i = 0; i < inst->plan.ncgroup_fds; i++)
            close(inst->plan.cgroup_fds[i]);
        inst->plan.ncgroup_fds = 0;
        return amber_error_set(err, e, "create the sandbox's namespaces (clone%s)",
                               inst->plan.userns ? " with a user namespace" : "");
    }
    if (inst->pid == 0) {
        close(sv[0]);
        inst->plan.sync_fd = sv[1];
        launch_child(&inst->plan);
    }
    close(sv[1]);
    inst->sync_fd = sv[0];
    fault_kill_point("native-cloned"); /* PID 1 waits for GO */
    /* The child's end of the payload pipe is its own now. */
    if (inst->plan.payload_fd >= 0) {
        close(inst->plan.payload_fd);
        inst->plan.payload_fd = -1;
    }
    /* The sandbox child inherited the watchdog's read end (CLOEXEC, closed
     * at its exec); amber itself no longer needs it. */
    if (inst->watchdog_rfd >= 0) {
        close(inst->watchdog_rfd);
        inst->watchdog_rfd = -1;
    }
    for (int i = 0; i < inst->plan.ncgroup_fds; i++)
        close(inst->plan.cgroup_fds[i]);
    inst->plan.ncgroup_fds = 0;

    if (inst->plan.userns && userns_write_maps(inst->pid, &inst->plan, err) < 0)
        goto fail;
    if (send_go(inst, err) < 0)
        goto fail;
    if (inst->have_payload) {
        /* The child reads this after pivot_root, while it builds its root
         * we already write. If it fails first, the pipe breaks (EPIPE) and
         * its own error, waiting on the sync channel, is the one to report. */
        struct amber_error perr;
        int prc = payload_send(inst->payload_wfd, spec, &inst->payload, &perr);
        close(inst->payload_wfd);
        inst->payload_wfd = -1;
        if (prc < 0 && perr.code != EPIPE) {
            *err = perr;
            goto fail;
        }
    }
    for (;;) {
        int passed;
        int r = sync_recv_fd(inst->sync_fd, &msg, &passed);
        if (r == 1 && msg.type == SYNC_TTY && passed >= 0) {
            inst->tty.master = passed;
            continue;
        }
        if (r == 1 && msg.type == SYNC_NS && passed >= 0 && msg.status >= 0 &&
            msg.status < AMBER_NS_COUNT && inst->nsfds[msg.status] < 0) {
            inst->nsfds[msg.status] = passed;
            continue;
        }
        if (passed >= 0)
            close(passed);
        if (r == 1 && msg.type == SYNC_WARNING) {
            log_warn("%s", msg.err.msg);
            continue;
        }
        if (r == 1 && msg.type == SYNC_READY) {
            if (inst->tty.master >= 0)
                tty_relay_start(&inst->tty, inst->tty.master, spec->interactive);
            return 0;
        }
        if (r == 1 && msg.type == SYNC_ERROR) {
            *err = msg.err;
            err->msg[sizeof(err->msg) - 1] = '\0';
            goto fail;
        }
        amber_error_set(err, r < 0 ? errno : 0, "the sandbox died during setup");
        goto fail;
    }
fail:
    reap_child(inst);
    return -1;
}

/* --workspace-mode copy-in-out: the workload exited 0 and PID 1 streams
 * /workspace back. Apply it to the host tree (tree_apply treats the stream
 * as hostile: atomic per file, no symlink followed, only what was copied in
 * may be deleted). */
static void sync_back(struct amber_instance *inst)
{
    const struct amber_spec *spec = inst->spec;
    struct tree_apply_stats st;
    cleanup_close int host = open(spec->workspace, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    memset(&st, 0, sizeof(st));
    if (host < 0) {
        amber_error_errno(&inst->syncback_err, "--workspace '%s'", spec->workspace);
        inst->syncback_failed = true;
    } else if (tree_apply(inst->syncback_rfd, host, &inst->payload.workspace_manifest, &st,
                          &inst->syncback_err) < 0) {
        amber_error_prefix(&inst->syncback_err, "--workspace: sync back");
        inst->syncback_failed = true;
    } else {
        log_info("workspace: synced back %llu written, %llu new dirs, %llu deleted, %llu "
                 "unchanged, %llu skipped",
                 (unsigned long long)st.written, (unsigned long long)st.dirs_created,
                 (unsigned long long)st.deleted, (unsigned long long)st.unchanged,
                 (unsigned long long)st.skipped);
        for (size_t i = 0; i < st.skipped_len; i++)
            log_warn("workspace: not synced back: %s", st.skipped_paths[i]);
    }
    tree_apply_stats_free(&st);
    close(inst->syncback_rfd);
    inst->syncback_rfd = -1;
}

static void drain_messages(struct amber_instance *inst)
{
    struct sync_msg msg;

    for (;;) {
        ssize_t r = recv(inst->sync_fd, &msg, sizeof(msg), MSG_DONTWAIT);
        if (r == 0)
            inst->sync_eof = true; /* PID 1 is gone or going: stop polling it */
        if (r != (ssize_t)sizeof(msg))
            break;
        msg.err.msg[sizeof(msg.err.msg) - 1] = '\0';
        if (msg.type == SYNC_STATUS) {
            inst->got_status = true;
            inst->worker_status = msg.status;
        } else if (msg.type == SYNC_EXEC_FAILED) {
            inst->exec_failed = true;
            inst->exec_err = msg.err;
        } else if (msg.type == SYNC_WARNING) {
            log_warn("%s", msg.err.msg);
        } else if (msg.type == SYNC_ERROR) {
            /* PID 1 could not start the workload (e.g. --pids too small
             * for init + workload): amber's error, not the workload's. */
            inst->setup_failed = true;
            inst->setup_err = msg.err;
        } else if (msg.type == SYNC_SYNCBACK && inst->plan.syncback && !inst->syncback_done) {
            int p[2] = {-1, -1};
            inst->syncback_done = true;
            if (pipe2(p, O_CLOEXEC) < 0 ||
                sync_send_fd(inst->sync_fd, SYNC_SYNCBACK, 0, p[1]) < 0) {
                amber_error_errno(&inst->syncback_err, "--workspace: sync-back pipe");
                inst->syncback_failed = true;
                if (p[0] >= 0) {
                    close(p[0]);
                    close(p[1]);
                }
                continue;
            }
            close(p[1]);
            inst->syncback_rfd = p[0];
            sync_back(inst);
        }
    }
}

static int native_poll_fds(struct amber_instance *inst, struct pollfd *fds, int max)
{
    if (inst->w != NULL)
        return 0;
    int n = 0;

    if (max < 3 || inst->reaped)
        return 0;
    if (!inst->sync_eof)
        fds[n++] = (struct pollfd){.fd = inst->sync_fd, .events = POLLIN};
    return n + tty_relay_poll_fds(&inst->tty, fds + n);
}

static int native_io(struct amber_instance *inst, const struct pollfd *fds, int n,
                     struct amber_error *err)
{
    for (int i = 0; i < n; i++) {
        if (fds[i].fd == inst->sync_fd) {
            if (fds[i].revents != 0)
                drain_messages(inst);
        } else {
            tty_relay_io(&inst->tty, &fds[i]);
        }
    }
    return 0;
}

static int native_wait(struct amber_instance *inst, bool nohang, struct amber_result *res,
                       struct amber_error *err)
{
    if (inst->w != NULL)
        return written_wait(inst->w, nohang, res, err);
    struct rusage ru;
    int st;
    pid_t r;

    if (inst->reaped)
        return 1;
    r = wait4(inst->pid, &st, nohang ? WNOHANG : 0, &ru);
    if (r == 0)
        return 0;
    if (r < 0) {
        if (errno == EINTR)
            return 0;
        return amber_error_errno(err, "wait for the sandbox");
    }
    inst->reaped = true;
    drain_messages(inst);
    tty_relay_drain(&inst->tty);
    res->memory = inst->applied[0];
    res->cpus = inst->applied[1];
    res->pids = inst->applied[2];

    /* Only the memory controller has something to report at the end (OOM
     * kills, peak usage); otherwise rusage covers it. */
    if (inst->have_cg && inst->spec->memory) {
        struct cgroup_stats cs;
        struct amber_error ignore;
        memset(&cs, 0, sizeof(cs));
        if (inst->cg.mgr->stats(&inst->cg, &cs, &ignore) == 0) {
            res->oom = cs.oom_killed;
            res->peak_memory = cs.mem_peak;
        }
    }
    if (inst->setup_failed) {
        *err = inst->setup_err;
        return -1;
    }
    if (inst->syncback_failed) {
        *err = inst->syncback_err;
        return -1;
    }
    if (inst->exec_failed) {
        amber_result_from_wait(res, 0, &ru);
        res->exec_failed = true;
        res->exit_code = inst->exec_err.status;
        text_copy(res->message, sizeof(res->message), inst->exec_err.msg);
        return 1;
    }
    amber_result_from_wait(res, inst->got_status ? inst->worker_status : st, &ru);
    if (res->oom) {
        if (res->signal == SIGKILL)
            res->exit_code = AMBER_EXIT_OOM;
        snprintf(
            res->message, sizeof(res->message),
            "out of memory: the kernel's OOM killer ended the workload (memory limit %llu MiB)",
            (unsigned long long)(inst->spec->memory >> 20));
    }
    return 1;
}

static int native_kill(struct amber_instance *inst, int sig, struct amber_error *err)
{
    if (inst->w != NULL)
        return written_kill(inst->w, sig, err);
    /* With -t the pty is the workload's terminal: a new window size there
     * makes the kernel send SIGWINCH to its foreground process group. */
    if (sig == SIGWINCH && inst->tty.master >= 0) {
        tty_relay_winsize(&inst->tty);
        return 0;
    }
    if (inst->pid > 0 && !inst->reaped && kill(inst->pid, sig) < 0 && errno != ESRCH)
        return amber_error_errno(err, "signal the sandbox");
    return 0;
}

static void native_destroy(struct amber_instance *inst)
{
    struct amber_error ignore;

    if (inst == NULL)
        return;
    if (inst->w != NULL) {
        written_destroy(inst->w);
        free(inst);
        return;
    }
    free(inst->launch_plan);
    reap_child(inst);
    if (inst->sync_fd >= 0)
        close(inst->sync_fd);
    /* The watchdog first: it reads inst->cg, which cgroup_destroy frees. */
    if (inst->watchdog > 0) {
        kill(inst->watchdog, SIGKILL);
        while (waitpid(inst->watchdog, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (inst->watchdog_fd >= 0)
        close(inst->watchdog_fd);
    if (inst->watchdog_rfd >= 0)
        close(inst->watchdog_rfd);
    if (inst->watchdog_stack != NULL)
        munmap(inst->watchdog_stack, WATCHDOG_STACK);
    if (inst->have_cg)
        cgroup_destroy(&inst->cg, &ignore);
    tty_relay_stop(&inst->tty);
    for (int i = 0; i < AMBER_NS_COUNT; i++)
        if (inst->nsfds[i] >= 0)
            close(inst->nsfds[i]);
    if (inst->payload_wfd >= 0)
        close(inst->payload_wfd);
    if (inst->syncback_rfd >= 0)
        close(inst->syncback_rfd);
    if (inst->plan.payload_fd >= 0)
        close(inst->plan.payload_fd);
    payload_free(&inst->payload);
    free(inst);
}

static int native_release(struct amber_instance *inst, struct amber_error *err)
{
    if (inst->w != NULL)
        return amber_error_set(err, 0, "a spec taken as written is held on its FIFO");
    if (sync_send(inst->sync_fd, SYNC_START, 0, NULL) < 0)
        return amber_error_errno(err, "start the workload");
    return 0;
}

static void native_describe(struct amber_instance *inst, struct amber_started *out)
{
    if (inst->w != NULL) {
        written_describe(inst->w, out);
        return;
    }
    out->pid = inst->pid;
    out->cgroups = inst->have_cg ? inst->cg.paths : NULL;
    out->ncgroups = inst->have_cg ? inst->cg.npaths : 0;
    for (int i = 0; i < AMBER_NS_COUNT; i++)
        out->nsfds[i] = inst->nsfds[i];
    /* exec's plan is the plan this sandbox was started with. */
    if (inst->spec->enterable && inst->launch_plan == NULL)
        inst->launch_plan = launch_plan_json(&inst->plan);
    out->launch_plan = inst->launch_plan;
}

static int native_detach(struct amber_instance *inst, struct amber_error *err)
{
    if (inst->w == NULL)
        return amber_error_set(err, 0, "a detached sandbox has a supervisor (run -d)");
    return written_detach(inst->w, err);
}

static int native_signal(const struct amber_recorded *r, int sig, bool all, struct amber_error *err)
{
    if (all)
        cgroup_signal_all(r->cgroups, r->ncgroups, sig);
    /* ESRCH: PID 1 is gone (or the pid is another process's by now). */
    if (proc_signal_if(r->pid, r->pid_start, sig) < 0)
        return amber_error_errno(err, "container %s: signal its PID 1", r->id);
    return 0;
}

static int native_pause(const struct amber_recorded *r, bool freeze, struct amber_error *err)
{
    int rc = cgroup_freeze(r->cgroups, r->ncgroups, freeze, err);

    if (rc == 1)
        return amber_error_set(err, 0, "container %s: no freezer cgroup on this host", r->id);
    return rc;
}

static int native_usage(const struct amber_recorded *r, struct cgroup_usage *u,
                        struct amber_error *err)
{
    (void)err;
    cgroup_usage_read(r->cgroups, r->ncgroups, u);
    return 0;
}

static const struct amber_backend_caps native_caps = {
    .isolates = true,
    .filesystem = true,
    .tty = true,
    .time_ns = true,
    .userns = true,
    .detach = true,
    .hold = true,
    .exec = true,
    .as_written = true,
    .memory = AMBER_ENFORCE_CGROUP,
    .cpus = AMBER_ENFORCE_CGROUP,
    .pids = AMBER_ENFORCE_CGROUP,
};

const struct amber_backend amber_backend_native = {
    .name = "native",
    .caps = &native_caps,
    .host_facts = host_probe,
    .probe = native_probe,
    .prepare = native_prepare,
    .start = native_start,
    .wait = native_wait,
    .kill = native_kill,
    .destroy = native_destroy,
    .poll_fds = native_poll_fds,
    .io = native_io,
    .describe = native_describe,
    .release = native_release,
    .detach = native_detach,
    .signal = native_signal,
    .start_held = written_start_held,
    .teardown = written_teardown,
    .pause = native_pause,
    .usage = native_usage,
    .enter = native_enter,
};
