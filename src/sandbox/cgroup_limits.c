/* The one writer of cgroup limit files, v1 and v2, for every front-end:
 * `amber run`'s flags and OCI bundles fill the same struct cgroup_limits,
 * and this file turns it into the same writes. So the same limit asked
 * for by --memory and by config.json ends up as the same files.
 *
 * Order matters in places and is fixed here: v1 memory.limit_in_bytes
 * before memory.memsw.limit_in_bytes (memsw may never be below it), the
 * CFS period before the quota (the quota is checked against it), cpuset's
 * cpus and mems filled before anyone can join. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "sandbox/cgroup.h"
#include "sandbox/rootfs.h"
#include "util/fs.h"
#include "util/log.h"

#define CFS_PERIOD_US 100000
#define CFS_MIN_QUOTA_US 1000 /* the kernel refuses less */

void cgroup_limits_from_written(const struct amber_written *w, struct cgroup_limits *lim)
{
    const struct amber_resources *r = &w->res;

    memset(lim, 0, sizeof(*lim));
    lim->memory = r->memory > 0 ? (uint64_t)r->memory : 0;
    lim->memory_swap = r->memory_swap;
    lim->memory_reservation = r->memory_reservation > 0 ? (uint64_t)r->memory_reservation : 0;
    lim->cpu_shares = r->cpu_shares;
    lim->cpu_quota = r->cpu_quota;
    lim->cpu_period = r->cpu_period;
    lim->cpuset_cpus = r->cpuset_cpus;
    lim->cpuset_mems = r->cpuset_mems;
    lim->pids = r->pids;
    lim->devrules = w->devrules;
    lim->ndevrules = w->ndevrules;
}

void cgroup_limits_from_amber(struct cgroup_limits *lim, uint64_t memory, uint64_t cpus_milli,
                              uint64_t pids, bool freezer)
{
    memset(lim, 0, sizeof(*lim));
    lim->memory = memory;
    /* No swap on top: without it the workload could page out and use far
     * more than the limit. */
    lim->memory_swap = memory > (uint64_t)INT64_MAX ? -1 : (int64_t)memory;
    lim->swap_implied = true;
    if (cpus_milli != 0) {
        /* thousandths of a CPU per 100 ms; tiny limits round up to 1 ms. */
        uint64_t quota = cpus_milli > (uint64_t)INT64_MAX / (CFS_PERIOD_US / 1000)
                             ? (uint64_t)INT64_MAX
                             : cpus_milli * (CFS_PERIOD_US / 1000);
        lim->cpu_quota = quota < CFS_MIN_QUOTA_US ? CFS_MIN_QUOTA_US : (int64_t)quota;
        lim->cpu_period = CFS_PERIOD_US;
    }
    lim->pids = pids > (uint64_t)INT64_MAX ? -1 : (int64_t)pids;
    lim->freezer = freezer;
}

bool cgroup_limits_any(const struct cgroup_limits *lim)
{
    return lim->memory || lim->memory_swap || lim->memory_reservation || lim->cpu_shares ||
           lim->cpu_quota || lim->cpu_period || lim->cpuset_cpus || lim->cpuset_mems || lim->pids;
}

/* v < 0: unlimited, "max" in the files named *.max, -1 in the others. */
static int write_num(const char *dir, const char *file, int64_t v, struct amber_error *err)
{
    size_t n = strlen(file);
    char val[32];

    if (v < 0)
        snprintf(val, sizeof(val), "%s", n > 4 && strcmp(file + n - 4, ".max") == 0 ? "max" : "-1");
    else
        snprintf(val, sizeof(val), "%" PRId64, v);
    return cgroup_write(dir, file, val, err);
}

/* A file the kernel may lack (no swap accounting): a warning, not an error. */
static int write_optional(const char *dir, const char *file, const char *value, bool quiet,
                          struct amber_error *err)
{
    struct amber_error e;

    if (cgroup_write(dir, file, value, &e) == 0)
        return 0;
    if (e.code != ENOENT) {
        if (err != NULL)
            *err = e;
        return -1;
    }
    if (quiet)
        log_debug("cgroup: no %s in '%s'; swap is not limited", file, dir);
    else
        log_warn("the swap limit: not applied (this kernel has no %s)", file);
    return 0;
}

/* A fresh v1 cpuset cgroup has empty cpus/mems and nobody can join it:
 * fill them from the nearest ancestor that has them. */
static int cpuset_inherit(const char *dir, const char *file, struct amber_error *err)
{
    char val[256], parent[PATH_MAX];
    char *slash;
    struct amber_error e;

    val[0] = '\0';
    {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof(path), "%s/%s", dir, file);
        if (fs_read_file(path, val, sizeof(val), &e) < 0 && e.code != ENOENT)
            return amber_error_errno(err, "read '%s'", path);
    }
    if (val[0] != '\n' && val[0] != '\0')
        return 0;
    snprintf(parent, sizeof(parent), "%s", dir);
    slash = strrchr(parent, '/');
    if (slash == NULL || slash == parent)
        return 0;
    *slash = '\0';
    if (cpuset_inherit(parent, file, err) < 0)
        return -1;
    {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof(path), "%s/%s", parent, file);
        if (fs_read_file(path, val, sizeof(val), &e) < 0 || val[0] == '\0' || val[0] == '\n')
            return 0; /* nothing to inherit (a fake tree's root) */
    }
    return cgroup_write(dir, file, val, err);
}

static int v1_memory(const char *dir, const struct cgroup_limits *l, struct amber_error *err)
{
    if (l->memory > 0 && write_num(dir, "memory.limit_in_bytes", (int64_t)l->memory, err) < 0)
        return -1;
    if (l->memory_swap != 0) {
        char val[32];
        snprintf(val, sizeof(val), "%" PRId64, l->memory_swap);
        if (write_optional(dir, "memory.memsw.limit_in_bytes", val, l->swap_implied, err) < 0)
            return -1;
    }
    if (l->memory_reservation > 0 &&
        write_num(dir, "memory.soft_limit_in_bytes", (int64_t)l->memory_reservation, err) < 0)
        return -1;
    return 0;
}

static int v1_cpu(const char *dir, const struct cgroup_limits *l, struct amber_error *err)
{
    if (l->cpu_shares && write_num(dir, "cpu.shares", (int64_t)l->cpu_shares, err) < 0)
        return -1;
    if ((l->cpu_period || l->cpu_quota) &&
        write_num(dir, "cpu.cfs_period_us", l->cpu_period ? (int64_t)l->cpu_period : CFS_PERIOD_US,
                  err) < 0)
        return -1;
    if (l->cpu_quota && write_num(dir, "cpu.cfs_quota_us", l->cpu_quota, err) < 0)
        return -1;
    return 0;
}

static int v1_cpuset(const char *dir, const struct cgroup_limits *l, struct amber_error *err)
{
    if (cpuset_inherit(dir, "cpuset.cpus", err) < 0 || cpuset_inherit(dir, "cpuset.mems", err) < 0)
        return -1;
    if (l->cpuset_cpus != NULL && cgroup_write(dir, "cpuset.cpus", l->cpuset_cpus, err) < 0)
        return -1;
    if (l->cpuset_mems != NULL && cgroup_write(dir, "cpuset.mems", l->cpuset_mems, err) < 0)
        return -1;
    return 0;
}

/* Consecutive rules to the same file go through one open. */
#define AMBER_DEVRULE_BATCH 32
struct devrule_batch {
    const char *file;
    const char *values[AMBER_DEVRULE_BATCH];
    char text[AMBER_DEVRULE_BATCH][96];
    size_t n;
};

static int batch_flush(const char *dir, struct devrule_batch *b, struct amber_error *err)
{
    int rc = cgroup_write_each(dir, b->file, b->values, b->n, err);
    b->n = 0;
    return rc;
}

static int batch_add(const char *dir, struct devrule_batch *b, const char *file, const char *v,
                     struct amber_error *err)
{
    if (b->n > 0 && (strcmp(b->file, file) != 0 || b->n == AMBER_DEVRULE_BATCH) &&
        batch_flush(dir, b, err) < 0)
        return -1;
    b->file = file;
    snprintf(b->text[b->n], sizeof(b->text[b->n]), "%s", v);
    b->values[b->n] = b->text[b->n];
    b->n++;
    return 0;
}

static int v1_devices(const char *dir, const struct cgroup_limits *l, struct amber_error *err)
{
    /* The rules in order, then the devices every container gets (the ones
     * amber creates in /dev, and ptys), as runc does. */
    static const char *const mknod_any[] = {"c *:* m", "b *:* m"};
    static const char *const ptys[] = {"c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm"};
    struct devrule_batch b = {.n = 0};
    char v[96];

    if (l->ndevrules == 0)
        return 0;
    for (size_t i = 0; i < l->ndevrules; i++) {
        const struct amber_devrule *d = &l->devrules[i];
        char maj[24], min[24];

        if (d->major < 0)
            snprintf(maj, sizeof(maj), "*");
        else
            snprintf(maj, sizeof(maj), "%" PRId64, d->major);
        if (d->minor < 0)
            snprintf(min, sizeof(min), "*");
        else
            snprintf(min, sizeof(min), "%" PRId64, d->minor);
        if (d->type == 'a')
            snprintf(v, sizeof(v), "a");
        else
            snprintf(v, sizeof(v), "%c %s:%s %s", d->type, maj, min, d->access);
        if (batch_add(dir, &b, d->allow ? "devices.allow" : "devices.deny", v, err) < 0)
            return -1;
    }
    for (size_t i = 0; i < sizeof(mknod_any) / sizeof(mknod_any[0]); i++)
        if (batch_add(dir, &b, "devices.allow", mknod_any[i], err) < 0)
            return -1;
    for (int i = 0; i < amber_default_devices_count; i++) {
        snprintf(v, sizeof(v), "c %d:%d rwm", amber_default_devices[i].major,
                 amber_default_devices[i].minor);
        if (batch_add(dir, &b, "devices.allow", v, err) < 0)
            return -1;
    }
    for (size_t i = 0; i < sizeof(ptys) / sizeof(ptys[0]); i++)
        if (batch_add(dir, &b, "devices.allow", ptys[i], err) < 0)
            return -1;
    return batch_flush(dir, &b, err);
}

static int v2_write(const char *dir, const struct cgroup_limits *l, struct amber_error *err)
{
    char v[64];

    if (l->memory > 0 && write_num(dir, "memory.max", (int64_t)l->memory, err) < 0)
        return -1;
    if (l->memory_swap != 0) {
        /* memory_swap is memory + swap; v2's memory.swap.max is swap alone. */
        int64_t swap = l->memory_swap < 0                     ? -1
                       : (uint64_t)l->memory_swap > l->memory ? l->memory_swap - (int64_t)l->memory
                                                              : 0;
        if (swap < 0)
            snprintf(v, sizeof(v), "max");
        else
            snprintf(v, sizeof(v), "%" PRId64, swap);
        if (write_optional(dir, "memory.swap.max", v, l->swap_implied, err) < 0)
            return -1;
    }
    if (l->memory_reservation > 0 &&
        write_num(dir, "memory.low", (int64_t)l->memory_reservation, err) < 0)
        return -1;
    if (l->pids != 0 && write_num(dir, "pids.max", l->pids, err) < 0)
        return -1;
    if (l->cpu_shares) {
        /* The conversion runc and crun use: shares 2..262144 -> weight 1..10000. */
        uint64_t s = l->cpu_shares < 2 ? 2 : l->cpu_shares > 262144 ? 262144 : l->cpu_shares;
        if (write_num(dir, "cpu.weight", (int64_t)(1 + ((s - 2) * 9999) / 262142), err) < 0)
            return -1;
    }
    if (l->cpu_quota != 0 || l->cpu_period) {
        uint64_t period = l->cpu_period ? l->cpu_period : CFS_PERIOD_US;
        if (l->cpu_quota > 0)
            snprintf(v, sizeof(v), "%" PRId64 " %" PRIu64, l->cpu_quota, period);
        else
            snprintf(v, sizeof(v), "max %" PRIu64, period);
        if (cgroup_write(dir, "cpu.max", v, err) < 0)
            return -1;
    }
    if (l->cpuset_cpus != NULL && cgroup_write(dir, "cpuset.cpus", l->cpuset_cpus, err) < 0)
        return -1;
    if (l->cpuset_mems != NULL && cgroup_write(dir, "cpuset.mems", l->cpuset_mems, err) < 0)
        return -1;
    if (l->ndevrules > 0)
        log_debug("cgroup v2: device rules are not enforced (they need a BPF program); the "
                  "sandbox's /dev holds only the default and listed devices");
    return 0;
}

int cgroup_write_limits(const struct amber_cgroup *cg, const struct cgroup_limits *lim,
                        struct amber_error *err)
{
    const char *dir;

    if (cg->mgr == &cgroup_manager_v2)
        return cg->npaths > 0 ? v2_write(cg->paths[0], lim, err) : 0;
    if ((dir = cgroup_dir_of(cg, "memory")) != NULL && v1_memory(dir, lim, err) < 0)
        return -1;
    if ((dir = cgroup_dir_of(cg, "pids")) != NULL && lim->pids != 0 &&
        write_num(dir, "pids.max", lim->pids, err) < 0)
        return -1;
    if ((dir = cgroup_dir_of(cg, "cpu")) != NULL && v1_cpu(dir, lim, err) < 0)
        return -1;
    if ((dir = cgroup_dir_of(cg, "cpuset")) != NULL && v1_cpuset(dir, lim, err) < 0)
        return -1;
    if ((dir = cgroup_dir_of(cg, "devices")) != NULL && v1_devices(dir, lim, err) < 0)
        return -1;
    return 0;
}
