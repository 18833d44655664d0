/* The cgroup v2 (unified) manager.
 *
 * One dir per sandbox, under amber's own cgroup (or, as root when that
 * cgroup holds processes, under a shared <root>/amber, see v2_create). v2 only gives a child the
 * controllers its parent lists in cgroup.subtree_control, so the needed
 * ones are enabled there first, and only when missing: the read is cheap,
 * the write changes a cgroup amber does not own (an OCI container's path:
 * in every dir on the way down). The limits themselves are written by
 * cgroup_limits.c. The enablement is not
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

/* Enable, in dir, each controller of ctrls[] its children need and it does
 * not list yet: one write per controller, so one the parent did not
 * delegate does not keep the others off. A failure is an error for the
 * controllers in required (bit i for ctrls[i]); for the others (an OCI
 * container's, engines read them) it is only noted. */
static int v2_enable(const char *dir, const char *const *ctrls, size_t n, unsigned required,
                     struct amber_error *err)
{
    char have[512] = "";

    if (cgroup_read_text(dir, "cgroup.subtree_control", have, sizeof(have), err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char add[32];
        struct amber_error e;

        if (word_in(have, ctrls[i]))
            continue;
        snprintf(add, sizeof(add), "+%s", ctrls[i]);
        if (cgroup_write(dir, "cgroup.subtree_control", add, &e) == 0)
            continue;
        if (!(required & (1u << i))) {
            log_debug("cgroup v2: %s", e.msg);
            continue;
        }
        if (e.code == EBUSY) {
            /* The "no internal processes" rule: a non-root cgroup that
             * holds processes (amber itself is one) may not enable
             * controllers for its children. Say so; the bare EBUSY
             * explains nothing. */
            amber_error_set(err, 0,
                            "cgroup v2: cannot enable '%s' in '%s/cgroup.subtree_control': the "
                            "cgroup has processes, and only a cgroup without processes (or the "
                            "root) may enable controllers for its children",
                            add, dir);
            return error_code(err, EBUSY);
        }
        if (e.code == ENOENT) {
            /* The parent did not delegate the controller to us. */
            char avail[512] = "";
            (void)cgroup_read_text(dir, "cgroup.controllers", avail, sizeof(avail), NULL);
            avail[strcspn(avail, "\n")] = '\0';
            amber_error_set(err, 0,
                            "cgroup v2: cannot enable '%s' in '%s/cgroup.subtree_control': not "
                            "delegated to amber (available: '%s')",
                            add, dir, avail);
            return error_code(err, ENOENT);
        }
        if (err != NULL)
            *err = e;
        return -1;
    }
    return 0;
}

/* Enable in every dir from the mount down to leaf's parent (an OCI path
 * may be deep; each level must pass the controllers on). */
static int v2_enable_down(const char *mnt, const char *leaf, const char *const *ctrls, size_t n,
                          unsigned required, struct amber_error *err)
{
    char path[PATH_MAX];
    size_t mlen = strlen(mnt);

    snprintf(path, sizeof(path), "%s", leaf);
    for (char *p = path + mlen; p != NULL && *p != '\0'; p = strchr(p + 1, '/')) {
        char c = *p;
        *p = '\0';
        if (v2_enable(p == path + mlen ? mnt : path, ctrls, n, required, err) < 0)
            return -1;
        *p = c;
    }
    return 0;
}

static int v2_create(struct amber_cgroup *cg, const struct cgroup_place *where,
                     const struct cgroup_limits *lim, struct amber_error *err)
{
    static const char *const all[] = {"memory", "cpu", "pids", "cpuset"};
    const char *ctrls[4];
    size_t n = 0;
    unsigned required = 0;
    struct amber_error e, scratch;
    const char *own = cgroup_own_dir(NULL), *mnt = cgroup_v2_mount(), *dir;

    memset(cg, 0, sizeof(*cg));
    cg->mgr = &cgroup_manager_v2;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        bool needed = cgroup_ctrl_needed(lim, all[i]);
        if (!needed && !where->every_hierarchy)
            continue;
        if (needed)
            required |= 1u << n;
        ctrls[n++] = all[i];
    }
    if (where->name != NULL && required == 0)
        return 0; /* nothing to limit: no dir, nothing to clean up (v2 freezes any cgroup) */
    if (mnt == NULL || (where->name != NULL && own == NULL)) {
        amber_error_set(err, 0, "cgroup v2 hierarchy is not mounted where amber can reach it");
        return error_code(err, ENOENT);
    }

    if (where->name == NULL) {
        /* OCI: the dirs on the way down, each passing the controllers on. */
        char probe[PATH_MAX];
        if ((dir = cgroup_place_dir(cg, where, mnt, own, err)) == NULL)
            return -1;
        snprintf(probe, sizeof(probe), "%s", dir);
        if (v2_enable_down(mnt, probe, ctrls, n, required, err) < 0)
            goto fail;
    } else if (v2_enable(own, ctrls, n, required, &e) == 0) {
        /* Before mkdir, so a refusal leaves nothing to remove. */
        if ((dir = cgroup_place_dir(cg, where, mnt, own, err)) == NULL)
            return -1;
    } else {
        /* amber's own cgroup holds processes (a login session, a service):
         * v2 lets it enable no controllers for children. As root, use a
         * shared "amber" cgroup below the hierarchy's root instead: the root
         * is exempt from that rule and amber/ itself holds no processes.
         * The caller's own limits then do not cover the sandbox. */
        char shared[PATH_MAX];

        if (e.code != EBUSY || geteuid() != 0) {
            if (err != NULL)
                *err = e;
            return -1;
        }
        snprintf(shared, sizeof(shared), "%s/amber", mnt);
        if (v2_enable(mnt, ctrls, n, required, err) < 0)
            return -1;
        if (mkdir(shared, 0755) < 0 && errno != EEXIST)
            return amber_error_errno(err, "mkdir '%s'", shared);
        if (v2_enable(shared, ctrls, n, required, err) < 0)
            return -1;
        log_debug("cgroup v2: %s holds processes; using %s", own, shared);
        if ((dir = cgroup_mkdir(cg, shared, where->name, err)) == NULL)
            return -1;
    }
    if (cgroup_write_limits(cg, lim, err) < 0)
        goto fail;
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
