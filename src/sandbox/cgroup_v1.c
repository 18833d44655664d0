/* The cgroup v1 manager, for pure v1 and hybrid hosts.
 *
 * v1 has one hierarchy per controller (or per co-mounted group such as
 * "cpu,cpuacct"), so a sandbox gets one dir in each hierarchy whose
 * controller a limit needs, and nothing in the others: every extra dir is a
 * mkdir, a join (the child's write to its tasks file) and an rmdir on the
 * start-up path for no benefit. Which dir belongs to which controller is not stored; it follows
 * from the dir's parent being amber's own cgroup in that hierarchy. */
#include "sandbox/cgroup.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"

/* CFS bandwidth: the kernel refuses quotas below 1 ms, so tiny CPU limits
 * are rounded up to it rather than failing. */
#define CFS_PERIOD_US 100000
#define CFS_MIN_QUOTA_US 1000

/* Make name under amber's own cgroup in the hierarchy carrying ctrl. */
static const char *v1_mkdir(struct amber_cgroup *cg, const char *ctrl, const char *name,
                            struct amber_error *err)
{
    const char *own = cgroup_own_dir(ctrl);

    if (own == NULL) {
        amber_error_set(err, 0, "cgroup v1 '%s' controller is not mounted where amber can reach it",
                        ctrl);
        if (err != NULL)
            err->code = ENOENT;
        return NULL;
    }
    return cgroup_mkdir(cg, own, name, err);
}

/* The dir of cg that lives in the hierarchy carrying ctrl, or NULL. */
static const char *v1_dir(const struct amber_cgroup *cg, const char *ctrl)
{
    const char *own = cgroup_own_dir(ctrl);
    size_t len;

    if (own == NULL)
        return NULL;
    len = strlen(own);
    for (int i = 0; i < cg->npaths; i++) {
        const char *p = cg->paths[i];
        if (p != NULL && strncmp(p, own, len) == 0 && p[len] == '/' &&
            strchr(p + len + 1, '/') == NULL)
            return p;
    }
    return NULL;
}

static int v1_set_memory(const char *dir, uint64_t bytes, struct amber_error *err)
{
    struct amber_error e;
    char val[32];

    snprintf(val, sizeof(val), "%" PRIu64, bytes);
    /* memsw (memory+swap) may never be below the memory limit, so the
     * memory limit goes first. Without the memsw limit, the workload could
     * page out to swap and use far more than `bytes`. */
    if (cgroup_write(dir, "memory.limit_in_bytes", val, err) < 0)
        return -1;
    if (cgroup_write(dir, "memory.memsw.limit_in_bytes", val, &e) < 0) {
        if (e.code != ENOENT) {
            if (err != NULL)
                *err = e;
            return -1;
        }
        /* The kernel runs without swap accounting (swapaccount=0 or no
         * CONFIG_MEMCG_SWAP): there is no memsw file to set. */
        log_debug("cgroup: no memory.memsw.limit_in_bytes in '%s'; swap is not limited", dir);
    }
    return 0;
}

static int v1_set_cpu(const char *dir, uint64_t cpus_milli, struct amber_error *err)
{
    uint64_t quota;
    char val[32];

    /* cpus_milli thousandths of a CPU per 100000 us period. */
    quota = cpus_milli > UINT64_MAX / (CFS_PERIOD_US / 1000) ? UINT64_MAX
                                                             : cpus_milli * (CFS_PERIOD_US / 1000);
    if (quota < CFS_MIN_QUOTA_US)
        quota = CFS_MIN_QUOTA_US;
    /* The period first: the quota is checked against it. */
    snprintf(val, sizeof(val), "%d", CFS_PERIOD_US);
    if (cgroup_write(dir, "cpu.cfs_period_us", val, err) < 0)
        return -1;
    snprintf(val, sizeof(val), "%" PRIu64, quota);
    return cgroup_write(dir, "cpu.cfs_quota_us", val, err);
}

static int v1_create(struct amber_cgroup *cg, const char *name, const struct cgroup_limits *lim,
                     struct amber_error *err)
{
    struct amber_error scratch;
    const char *dir;
    char val[32];

    memset(cg, 0, sizeof(*cg));
    cg->mgr = &cgroup_manager_v1;

    if (lim->memory != 0) {
        if ((dir = v1_mkdir(cg, "memory", name, err)) == NULL ||
            v1_set_memory(dir, lim->memory, err) < 0)
            goto fail;
    }
    if (lim->cpus_milli != 0) {
        if ((dir = v1_mkdir(cg, "cpu", name, err)) == NULL ||
            v1_set_cpu(dir, lim->cpus_milli, err) < 0)
            goto fail;
    }
    if (lim->pids != 0) {
        snprintf(val, sizeof(val), "%" PRIu64, lim->pids);
        if ((dir = v1_mkdir(cg, "pids", name, err)) == NULL ||
            cgroup_write(dir, "pids.max", val, err) < 0)
            goto fail;
    }
    /* Detached sandboxes can be paused: v1 needs a freezer cgroup for that
     * (v2 has cgroup.freeze in every cgroup). Skipped where the host has no
     * freezer hierarchy; `amber pause` then says so. */
    if (lim->freezer && cgroup_own_dir("freezer") != NULL &&
        v1_mkdir(cg, "freezer", name, err) == NULL)
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
    if ((dir = v1_dir(cg, "memory")) != NULL) {
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
    if ((dir = v1_dir(cg, "cpuacct")) != NULL &&
        cgroup_read_u64(dir, "cpuacct.usage", &st->cpu_usage_ns, err) < 0)
        return -1;
    if ((dir = v1_dir(cg, "pids")) != NULL &&
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
