/* The cgroup v2 (unified) manager.
 *
 * One dir per sandbox, under amber's own cgroup (or, as root when that
 * cgroup holds processes, under a shared <root>/amber, see v2_create). v2 only gives a child the
 * controllers its parent lists in cgroup.subtree_control, so the needed
 * ones are enabled there first, and only when missing: the read is cheap,
 * the write changes a cgroup amber does not own. The enablement is not
 * undone on failure or destroy; other children may rely on it, and a
 * controller enabled without users costs nothing. */
#include "sandbox/cgroup.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/log.h"

#define CPU_PERIOD_US 100000
#define CPU_MIN_QUOTA_US 1000 /* the kernel refuses less */

/* Keep errno in err for callers while the message explains it in words. */
static int error_code(struct amber_error *err, int code)
{
    if (err != NULL)
        err->code = code;
    return -1;
}

/* Is word (a controller name) in the space-separated list? */
static bool word_in(const char *list, const char *word)
{
    size_t len = strlen(word);

    for (const char *p = list; *p != '\0';) {
        size_t n = strcspn(p, " \n");
        if (n == len && memcmp(p, word, len) == 0)
            return true;
        p += n;
        p += strspn(p, " \n");
    }
    return false;
}

/* Make sure every controller in ctrls[] is enabled for own's children. */
static int v2_enable(const char *own, const char *const *ctrls, size_t n, struct amber_error *err)
{
    char have[512] = "";
    char add[64] = "";
    char path[PATH_MAX];
    struct amber_error e;

    snprintf(path, sizeof(path), "%s/cgroup.subtree_control", own);
    if (fs_read_file(path, have, sizeof(have), err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (word_in(have, ctrls[i]))
            continue;
        if (add[0] != '\0')
            strcat(add, " ");
        strcat(add, "+");
        strcat(add, ctrls[i]);
    }
    if (add[0] == '\0')
        return 0;

    /* All in one write: the kernel applies the whole list or none of it. */
    if (fs_write_file(path, add, strlen(add), 0, 0, &e) == 0)
        return 0;
    if (e.code == EBUSY) {
        /* The "no internal processes" rule: a non-root cgroup that holds
         * processes (amber itself is one) may not enable controllers for
         * its children. Say so; the bare EBUSY explains nothing. */
        amber_error_set(err, 0,
                        "cgroup v2: cannot enable '%s' in '%s': amber's cgroup has processes, "
                        "and only a cgroup without processes (or the root) may enable "
                        "controllers for its children",
                        add, path);
        return error_code(err, EBUSY);
    }
    if (e.code == ENOENT) {
        /* The parent did not delegate the controller to us. */
        char avail[512] = "";
        snprintf(path, sizeof(path), "%s/cgroup.controllers", own);
        (void)fs_read_file(path, avail, sizeof(avail), NULL);
        avail[strcspn(avail, "\n")] = '\0';
        amber_error_set(err, 0,
                        "cgroup v2: cannot enable '%s' in '%s/cgroup.subtree_control': not "
                        "delegated to amber (available: '%s')",
                        add, own, avail);
        return error_code(err, ENOENT);
    }
    if (err != NULL)
        *err = e;
    return -1;
}

static int v2_create(struct amber_cgroup *cg, const char *name, const struct cgroup_limits *lim,
                     struct amber_error *err)
{
    const char *ctrls[3];
    size_t n = 0;
    struct amber_error e, scratch;
    const char *own, *dir;
    uint64_t quota;
    char val[48];

    memset(cg, 0, sizeof(*cg));
    cg->mgr = &cgroup_manager_v2;

    if (lim->memory != 0)
        ctrls[n++] = "memory";
    if (lim->cpus_milli != 0)
        ctrls[n++] = "cpu";
    if (lim->pids != 0)
        ctrls[n++] = "pids";
    if (n == 0)
        return 0; /* nothing to limit: no dir, nothing to clean up */

    own = cgroup_own_dir(NULL);
    if (own == NULL) {
        amber_error_set(err, 0, "cgroup v2 hierarchy is not mounted where amber can reach it");
        return error_code(err, ENOENT);
    }
    /* Before mkdir, so a refusal leaves nothing to remove. */
    if (v2_enable(own, ctrls, n, &e) < 0) {
        /* amber's own cgroup holds processes (a login session, a service):
         * v2 lets it enable no controllers for children. As root, use a
         * shared "amber" cgroup below the hierarchy's root instead: the root
         * is exempt from that rule and amber/ itself holds no processes.
         * The caller's own limits then do not cover the sandbox. */
        const char *mnt = cgroup_v2_mount();
        char shared[PATH_MAX];

        if (e.code != EBUSY || geteuid() != 0 || mnt == NULL) {
            if (err != NULL)
                *err = e;
            return -1;
        }
        snprintf(shared, sizeof(shared), "%s/amber", mnt);
        if (v2_enable(mnt, ctrls, n, err) < 0)
            return -1;
        if (mkdir(shared, 0755) < 0 && errno != EEXIST) {
            amber_error_errno(err, "mkdir '%s'", shared);
            return -1;
        }
        if (v2_enable(shared, ctrls, n, err) < 0)
            return -1;
        log_debug("cgroup v2: %s holds processes; using %s", own, shared);
        if ((dir = cgroup_mkdir(cg, shared, name, err)) == NULL)
            return -1;
    } else if ((dir = cgroup_mkdir(cg, own, name, err)) == NULL) {
        return -1;
    }

    if (lim->memory != 0) {
        snprintf(val, sizeof(val), "%" PRIu64, lim->memory);
        if (cgroup_write(dir, "memory.max", val, err) < 0)
            goto fail;
        /* Without this the workload could page out to swap and use far
         * more than the limit. No file = no swap accounting on this kernel. */
        if (cgroup_write(dir, "memory.swap.max", "0", &e) < 0) {
            if (e.code != ENOENT) {
                if (err != NULL)
                    *err = e;
                goto fail;
            }
            log_debug("cgroup: no memory.swap.max in '%s'; swap is not limited", dir);
        }
    }
    if (lim->cpus_milli != 0) {
        quota = lim->cpus_milli > UINT64_MAX / (CPU_PERIOD_US / 1000)
                    ? UINT64_MAX
                    : lim->cpus_milli * (CPU_PERIOD_US / 1000);
        if (quota < CPU_MIN_QUOTA_US)
            quota = CPU_MIN_QUOTA_US;
        snprintf(val, sizeof(val), "%" PRIu64 " %d", quota, CPU_PERIOD_US);
        if (cgroup_write(dir, "cpu.max", val, err) < 0)
            goto fail;
    }
    if (lim->pids != 0) {
        snprintf(val, sizeof(val), "%" PRIu64, lim->pids);
        if (cgroup_write(dir, "pids.max", val, err) < 0)
            goto fail;
    }
    return 0;

fail:
    /* The dir is fresh and empty, so this cannot block; its own error
     * would only hide the one that matters. */
    cgroup_destroy(cg, &scratch);
    cg->mgr = NULL;
    return -1;
}

static int v2_stats(struct amber_cgroup *cg, struct cgroup_stats *st, struct amber_error *err)
{
    const char *dir;
    uint64_t v;
    int r;

    memset(st, 0, sizeof(*st));
    if (cg->npaths == 0 || (dir = cg->paths[0]) == NULL)
        return 0;
    /* Files of a controller that is not enabled here do not exist; those
     * read as "unknown" (0), not as errors. */
    if ((r = cgroup_read_key(dir, "memory.events", "oom_kill", &v, err)) < 0)
        return -1;
    st->oom_killed = r > 0 && v > 0;
    /* memory.peak: Linux 5.19 and later. */
    if (cgroup_read_u64(dir, "memory.peak", &st->mem_peak, err) < 0)
        return -1;
    if ((r = cgroup_read_key(dir, "cpu.stat", "usage_usec", &v, err)) < 0)
        return -1;
    if (r > 0)
        st->cpu_usage_ns = v * 1000;
    if (cgroup_read_u64(dir, "pids.current", &st->pids_current, err) < 0)
        return -1;
    return 0;
}

const struct cgroup_manager cgroup_manager_v2 = {
    .name = "v2",
    .create = v2_create,
    .self_join_file = "cgroup.procs",
    .stats = v2_stats,
};
