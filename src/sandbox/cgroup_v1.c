/* The cgroup v1 manager, for pure v1 and hybrid hosts.
 *
 * v1 has one hierarchy per controller (or per co-mounted group such as
 * "cpu,cpuacct"), so a sandbox gets one dir in each hierarchy whose
 * controller a limit needs, and nothing in the others: every extra dir is a
 * mkdir, a join (the child's write to its tasks file) and an rmdir on the
 * start-up path for no benefit (an OCI container gets one in every hierarchy
 * engines read). Which dir belongs to which controller is not stored: it
 * is the one below that hierarchy's mount (cgroup_dir_of). The limits
 * themselves are written by cgroup_limits.c. */
#include "sandbox/cgroup.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"

/* The hierarchies a sandbox may get a dir in, in creation order. cpuset
 * only when asked for (a fresh v1 cpuset cgroup is empty and must be
 * filled before anyone can join); blkio never (no I/O limits). */
static const char *const v1_order[] = {"memory", "cpu", "pids", "cpuset", "devices", "freezer"};
/* What engines read of an OCI container: a dir in each of these. */
static bool v1_every(const char *ctrl)
{
    return strcmp(ctrl, "cpuset") != 0;
}

static int v1_create(struct amber_cgroup *cg, const struct cgroup_place *where,
                     const struct cgroup_limits *lim, struct amber_error *err)
{
    struct amber_error scratch;

    memset(cg, 0, sizeof(*cg));
    cg->mgr = &cgroup_manager_v1;
    for (size_t i = 0; i < sizeof(v1_order) / sizeof(v1_order[0]); i++) {
        const char *ctrl = v1_order[i];
        bool needed = cgroup_ctrl_needed(lim, ctrl);
        const char *mnt;

        if (!needed && !(where->every_hierarchy && v1_every(ctrl)))
            continue;
        mnt = cgroup_mount_dir(ctrl);
        if (mnt == NULL || (where->name != NULL && cgroup_own_dir(ctrl) == NULL)) {
            /* No freezer hierarchy: `amber pause` says so later. */
            if (!needed || strcmp(ctrl, "freezer") == 0)
                continue;
            amber_error_coded(err, ENOENT,
                              "cgroup v1 '%s' controller is not mounted where amber can reach it",
                              ctrl);
            goto fail;
        }
        if (cgroup_place_dir(cg, where, mnt, cgroup_own_dir(ctrl), err) == NULL)
            goto fail;
    }
    if (cgroup_write_limits(cg, lim, err) < 0)
        goto fail;
    return 0;

fail:
    /* The dirs are fresh and empty, so this cannot block; its own error
     * would only hide the one that matters. */
    cgroup_destroy(cg, &scratch);
    cg->mgr = NULL;
    return -1;
}

static int v1_stats(struct amber_cgroup *cg, struct cgroup_stats *st, struct amber_error *err)
{
    const char *dir;
    uint64_t v;
    int r;

    memset(st, 0, sizeof(*st));
    if ((dir = cgroup_dir_of(cg, "memory")) != NULL) {
        /* "oom_kill N" exists since Linux 4.13; older kernels only say
         * under_oom, which is not a count, so report no OOM there. */
        if ((r = cgroup_read_key(dir, "memory.oom_control", "oom_kill", &v, err)) < 0)
            return -1;
        st->oom_killed = r > 0 && v > 0;
        if (cgroup_read_u64(dir, "memory.max_usage_in_bytes", &st->mem_peak, err) < 0)
            return -1;
    }
    /* Only when cpuacct shares a hierarchy with cpu (and cpu was limited):
     * a cpuacct dir just for accounting is not worth its start-up cost,
     * and the caller has rusage for CPU time anyway. */
    if ((dir = cgroup_dir_of(cg, "cpuacct")) != NULL &&
        cgroup_read_u64(dir, "cpuacct.usage", &st->cpu_usage_ns, err) < 0)
        return -1;
    if ((dir = cgroup_dir_of(cg, "pids")) != NULL &&
        cgroup_read_u64(dir, "pids.current", &st->pids_current, err) < 0)
        return -1;
    return 0;
}

const struct cgroup_manager cgroup_manager_v1 = {
    .name = "v1",
    .create = v1_create,
    .self_join_file = "tasks",
    .stats = v1_stats,
};
