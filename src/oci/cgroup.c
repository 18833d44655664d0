/* Cgroups of OCI containers. Unlike amber's own sandboxes (a child of
 * amber's cgroup, only where a limit needs one), an OCI container lives at
 * the bundle's linux.cgroupsPath, which engines name and read back
 * (podman: /libpod_parent/libpod-<id>), in every hierarchy an engine may
 * look at; and it outlives the `create` process, so `delete` removes it.
 *
 * cgroupsPath: absolute = from the root of each hierarchy; relative = under
 * amber's own cgroup; absent = /amber/<id>. */
#include "oci/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/cgroup.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

/* v1 hierarchies a container joins: those amber writes limits to or reads
 * (stats, pause) and engines read. cpuset only when asked for: a fresh v1
 * cpuset cgroup is empty and must be filled before anyone can join. blkio
 * is not joined: amber sets no I/O limits (linux.resources.blockIO is
 * refused). */
static const char *const v1_join[] = {"memory", "pids", "cpu", "devices", "freezer", "cpuset"};

static bool wants_cpuset(const struct amber_oci *oci)
{
    return oci->res.cpuset_cpus != NULL || oci->res.cpuset_mems != NULL;
}

/* mkdir -p base/rel. The last component must be new: it is the
 * container's, which delete kills and removes, so an existing cgroup (a
 * leftover, another container's, a path naming a parent) is never taken
 * over. */
static int mkdir_path(const char *base, const char *rel, char *out, size_t cap,
                      struct amber_error *err)
{
    char *p;

    if (rel[0] == '\0')
        return amber_error_coded(err, EINVAL, "must name a cgroup below the hierarchy's root");
    if ((size_t)snprintf(out, cap, "%s/%s", base, rel) >= cap)
        return amber_error_set(err, ENAMETOOLONG, "cgroup path '%s/%s'", base, rel);
    for (p = out + strlen(base) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        if (mkdir(out, 0755) < 0 && errno != EEXIST) {
            amber_error_errno(err, "mkdir '%s'", out);
            *p = '/';
            return -1;
        }
        *p = '/';
    }
    if (mkdir(out, 0755) < 0) {
        if (errno == EEXIST)
            return amber_error_coded(err, EEXIST, "cgroup '%s' already exists", out);
        return amber_error_errno(err, "mkdir '%s'", out);
    }
    return 0;
}

static bool has_path(const struct oci_cgroup *cg, const char *path)
{
    for (int i = 0; i < cg->n; i++)
        if (strcmp(cg->paths[i], path) == 0)
            return true;
    return false;
}

static int add_path(struct oci_cgroup *cg, const char *path)
{
    if (has_path(cg, path))
        return 0; /* co-mounted controllers share a dir */
    if (cg->n >= OCI_CGROUP_MAX)
        return -1;
    cg->paths[cg->n++] = xstrdup(path);
    return 1;
}

/* A fresh v1 cpuset cgroup has empty cpus/mems and nobody can join it:
 * fill them from the nearest ancestor that has them. */
static int cpuset_inherit(const char *dir, const char *file, struct amber_error *err)
{
    char val[256], parent[PATH_MAX];
    char path[PATH_MAX + 32];
    char *slash;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    if (fs_read_file(path, val, sizeof(val), err) < 0)
        return -1;
    if (val[0] != '\n' && val[0] != '\0')
        return 0;
    snprintf(parent, sizeof(parent), "%s", dir);
    slash = strrchr(parent, '/');
    if (slash == NULL || slash == parent)
        return 0;
    *slash = '\0';
    if (cpuset_inherit(parent, file, err) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/%s", parent, file);
    if (fs_read_file(path, val, sizeof(val), err) < 0)
        return -1;
    return cgroup_write(dir, file, val, err);
}

static int v1_limits(const struct amber_oci *oci, const char *ctrl, const char *dir,
                     struct amber_error *err)
{
    const struct oci_resources *r = &oci->res;
    struct amber_error e;
    char v[64];

    if (strcmp(ctrl, "memory") == 0) {
        if (r->memory > 0) {
            snprintf(v, sizeof(v), "%" PRId64, r->memory);
            if (cgroup_write(dir, "memory.limit_in_bytes", v, err) < 0)
                return -1;
        }
        if (r->memory_swap != 0) {
            snprintf(v, sizeof(v), "%" PRId64, r->memory_swap);
            if (cgroup_write(dir, "memory.memsw.limit_in_bytes", v, &e) < 0) {
                if (e.code != ENOENT) {
                    *err = e;
                    return -1;
                }
                log_warn("linux.resources.memory.swap: not applied (this kernel has no swap "
                         "accounting: no memory.memsw.limit_in_bytes)");
            }
        }
        if (r->memory_reservation > 0) {
            snprintf(v, sizeof(v), "%" PRId64, r->memory_reservation);
            if (cgroup_write(dir, "memory.soft_limit_in_bytes", v, err) < 0)
                return -1;
        }
    } else if (strcmp(ctrl, "pids") == 0 && r->pids != 0) {
        if (r->pids > 0)
            snprintf(v, sizeof(v), "%" PRId64, r->pids);
        else
            snprintf(v, sizeof(v), "max");
        return cgroup_write(dir, "pids.max", v, err);
    } else if (strcmp(ctrl, "cpu") == 0) {
        if (r->cpu_shares) {
            snprintf(v, sizeof(v), "%" PRIu64, r->cpu_shares);
            if (cgroup_write(dir, "cpu.shares", v, err) < 0)
                return -1;
        }
        if (r->cpu_period) {
            snprintf(v, sizeof(v), "%" PRIu64, r->cpu_period);
            if (cgroup_write(dir, "cpu.cfs_period_us", v, err) < 0)
                return -1;
        }
        if (r->cpu_quota != 0) {
            snprintf(v, sizeof(v), "%" PRId64, r->cpu_quota);
            if (cgroup_write(dir, "cpu.cfs_quota_us", v, err) < 0)
                return -1;
        }
    } else if (strcmp(ctrl, "cpuset") == 0) {
        if (cpuset_inherit(dir, "cpuset.cpus", err) < 0 ||
            cpuset_inherit(dir, "cpuset.mems", err) < 0)
            return -1;
        if (r->cpuset_cpus != NULL && cgroup_write(dir, "cpuset.cpus", r->cpuset_cpus, err) < 0)
            return -1;
        if (r->cpuset_mems != NULL && cgroup_write(dir, "cpuset.mems", r->cpuset_mems, err) < 0)
            return -1;
    } else if (strcmp(ctrl, "devices") == 0 && oci->ndevrules > 0) {
        /* The bundle's rules in order, then the devices every container
         * gets (the ones amber creates in /dev, and ptys), as runc does. */
        static const char *const defaults[] = {"c *:* m",   "b *:* m",   "c 1:3 rwm",  "c 1:5 rwm",
                                               "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",  "c 5:0 rwm",
                                               "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm"};
        for (size_t i = 0; i < oci->ndevrules; i++) {
            const struct oci_devrule *d = &oci->devrules[i];
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
            if (cgroup_write(dir, d->allow ? "devices.allow" : "devices.deny", v, err) < 0)
                return -1;
        }
        for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
            if (cgroup_write(dir, "devices.allow", defaults[i], err) < 0)
                return -1;
    }
    return 0;
}

static int v2_limits(const struct amber_oci *oci, const char *dir, struct amber_error *err)
{
    const struct oci_resources *r = &oci->res;
    char v[64];

    if (r->memory > 0) {
        snprintf(v, sizeof(v), "%" PRId64, r->memory);
        if (cgroup_write(dir, "memory.max", v, err) < 0)
            return -1;
    }
    if (r->memory_swap != 0) {
        /* OCI's swap is memory+swap; v2's memory.swap.max is swap alone. */
        if (r->memory_swap < 0)
            snprintf(v, sizeof(v), "max");
        else
            snprintf(v, sizeof(v), "%" PRId64,
                     r->memory_swap > r->memory ? r->memory_swap - r->memory : 0);
        if (cgroup_write(dir, "memory.swap.max", v, err) < 0)
            return -1;
    }
    if (r->memory_reservation > 0) {
        snprintf(v, sizeof(v), "%" PRId64, r->memory_reservation);
        if (cgroup_write(dir, "memory.low", v, err) < 0)
            return -1;
    }
    if (r->pids != 0) {
        if (r->pids > 0)
            snprintf(v, sizeof(v), "%" PRId64, r->pids);
        else
            snprintf(v, sizeof(v), "max");
        if (cgroup_write(dir, "pids.max", v, err) < 0)
            return -1;
    }
    if (r->cpu_shares) {
        /* The conversion runc and crun use: shares 2..262144 -> weight 1..10000. */
        uint64_t s = r->cpu_shares < 2 ? 2 : r->cpu_shares > 262144 ? 262144 : r->cpu_shares;
        snprintf(v, sizeof(v), "%" PRIu64, 1 + ((s - 2) * 9999) / 262142);
        if (cgroup_write(dir, "cpu.weight", v, err) < 0)
            return -1;
    }
    if (r->cpu_quota != 0 || r->cpu_period) {
        if (r->cpu_quota > 0)
            snprintf(v, sizeof(v), "%" PRId64 " %" PRIu64, r->cpu_quota,
                     r->cpu_period ? r->cpu_period : 100000);
        else
            snprintf(v, sizeof(v), "max %" PRIu64, r->cpu_period ? r->cpu_period : 100000);
        if (cgroup_write(dir, "cpu.max", v, err) < 0)
            return -1;
    }
    if (r->cpuset_cpus != NULL && cgroup_write(dir, "cpuset.cpus", r->cpuset_cpus, err) < 0)
        return -1;
    if (r->cpuset_mems != NULL && cgroup_write(dir, "cpuset.mems", r->cpuset_mems, err) < 0)
        return -1;
    if (oci->ndevrules > 0)
        log_debug("cgroup v2: linux.resources.devices is not enforced (needs a BPF program); "
                  "the container's /dev holds only the default and listed devices");
    return 0;
}

/* v2: every ancestor below the mount must pass the controllers down. One
 * write per controller: the kernel rejects a whole list when one of them is
 * not available. A limit written later for a controller that could not be
 * enabled fails and names the file. */
static void v2_enable_path(const char *mnt, const char *leaf)
{
    static const char *const ctrls[] = {"+memory", "+pids", "+cpu", "+cpuset"};
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s", leaf);
    /* The hierarchy's root first, then each ancestor of the leaf. */
    for (char *p = path + strlen(mnt); p != NULL; p = strchr(p + 1, '/')) {
        *p = '\0';
        for (size_t i = 0; i < sizeof(ctrls) / sizeof(ctrls[0]); i++) {
            struct amber_error e;
            if (cgroup_write(path, "cgroup.subtree_control", ctrls[i], &e) < 0)
                log_debug("cgroup v2: %s", e.msg);
        }
        *p = '/';
    }
}

static char *relative_path(const struct amber_oci *oci, const char *own, const char *mnt)
{
    const char *p = oci->cgroups_path;

    if (p == NULL)
        return xasprintf("amber/%s", oci->id);
    if (p[0] == '/') {
        while (*p == '/')
            p++;
        return xstrdup(p);
    }
    /* Relative: under amber's own cgroup in this hierarchy. */
    if (own != NULL && strncmp(own, mnt, strlen(mnt)) == 0) {
        const char *o = own + strlen(mnt);
        while (*o == '/')
            o++;
        return o[0] == '\0' ? xstrdup(p) : xasprintf("%s/%s", o, p);
    }
    return xstrdup(p);
}

/* Rootless without a delegated cgroup: a bundle that asks for no limits
 * runs without a cgroup of its own (as crun and runc do). */
static bool unwritable(const struct amber_oci *oci, struct amber_error *err)
{
    if (oci->res.any || (err->code != EACCES && err->code != EPERM && err->code != EROFS))
        return false;
    log_debug("no cgroup for the container: %s", err->msg);
    amber_error_clear(err);
    return true;
}

int oci_cgroup_create(const struct amber_oci *oci, struct oci_cgroup *cg, struct amber_error *err)
{
    enum cgroup_layout layout = cgroup_detect_layout();
    char path[PATH_MAX];

    memset(cg, 0, sizeof(*cg));
    if (layout == CGROUP_LAYOUT_NONE) {
        if (oci->res.any)
            return amber_error_set(err, 0, "linux.resources: no cgroup hierarchy on this host");
        return 0;
    }
    if (layout == CGROUP_LAYOUT_V2) {
        const char *mnt = cgroup_mount_dir(NULL);
        cleanup_free char *rel = relative_path(oci, cgroup_own_dir(NULL), mnt);
        if (mkdir_path(mnt, rel, path, sizeof(path), err) < 0) {
            if (unwritable(oci, err))
                return 0;
            goto fail;
        }
        cg->v2 = true;
        add_path(cg, path);
        v2_enable_path(mnt, path);
        if (v2_limits(oci, path, err) < 0)
            goto fail;
        return 0;
    }
    for (size_t i = 0; i < sizeof(v1_join) / sizeof(v1_join[0]); i++) {
        const char *ctrl = v1_join[i];
        const char *mnt = cgroup_mount_dir(ctrl);
        cleanup_free char *rel = NULL;

        if (mnt == NULL || (strcmp(ctrl, "cpuset") == 0 && !wants_cpuset(oci)))
            continue;
        rel = relative_path(oci, cgroup_own_dir(ctrl), mnt);
        snprintf(path, sizeof(path), "%s/%s", mnt, rel);
        /* Co-mounted controllers share one dir, made once. */
        if (!has_path(cg, path) && mkdir_path(mnt, rel, path, sizeof(path), err) < 0) {
            if (unwritable(oci, err))
                return 0;
            goto fail;
        }
        if (add_path(cg, path) < 0) {
            amber_error_set(err, 0, "too many cgroup hierarchies");
            goto fail;
        }
        if (v1_limits(oci, ctrl, path, err) < 0)
            goto fail;
    }
    return 0;
fail : {
    struct amber_error ignore;
    amber_error_prefix(err, "linux.cgroupsPath");
    oci_cgroup_remove(cg->paths, cg->n, &ignore);
    oci_cgroup_free(cg);
    return -1;
}
}

int oci_cgroup_open_join(const struct oci_cgroup *cg, int *fds, struct amber_error *err)
{
    /* A thread moving itself through v1 "tasks" avoids the slow
     * cgroup.procs path (sandbox/cgroup.h); v2 has only cgroup.procs. */
    return cgroup_open_join_files(cg->paths, cg->n, cg->v2 ? "cgroup.procs" : "tasks", fds, err);
}

int oci_cgroup_remove(char *const *paths, int n, struct amber_error *err)
{
    if (cgroup_remove_dirs(paths, n, err) < 0)
        return -1;
    /* amber's default parent (/amber/<id>): removed once empty; rmdir
     * fails harmlessly while other containers use it. */
    for (int i = 0; i < n; i++) {
        char parent[PATH_MAX];
        char *slash;
        snprintf(parent, sizeof(parent), "%s", paths[i]);
        slash = strrchr(parent, '/');
        if (slash != NULL && slash - parent >= 6 && strncmp(slash - 6, "/amber", 6) == 0) {
            *slash = '\0';
            rmdir(parent);
        }
    }
    return 0;
}

int oci_cgroup_signal(char *const *paths, int n, int sig)
{
    cleanup_free char *p = NULL;
    cleanup_fclose FILE *f = NULL;
    int count = 0;
    long pid;

    if (n == 0)
        return 0;
    p = xasprintf("%s/cgroup.procs", paths[0]);
    f = fopen(p, "re");
    if (f == NULL)
        return 0;
    while (fscanf(f, "%ld", &pid) == 1) {
        if (pid > 0 && kill((pid_t)pid, sig) == 0)
            count++;
    }
    return count;
}

bool oci_cgroup_empty(char *const *paths, int n)
{
    char buf[64];
    struct amber_error ignore;
    cleanup_free char *p = NULL;

    if (n == 0)
        return true;
    p = xasprintf("%s/cgroup.procs", paths[0]);
    if (fs_read_file(p, buf, sizeof(buf), &ignore) < 0)
        return true;
    return buf[0] == '\0';
}

void oci_cgroup_free(struct oci_cgroup *cg)
{
    for (int i = 0; i < cg->n; i++)
        free(cg->paths[i]);
    cg->n = 0;
}
