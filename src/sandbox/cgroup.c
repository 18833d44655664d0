/* Cgroup layout detection and the parts shared by both managers.
 *
 * Hosts come in three shapes: pure v2 (cgroup2 at /sys/fs/cgroup), pure v1
 * (one cgroup mount per controller or controller group), and hybrid (v1
 * controllers plus an empty cgroup2 mount, as systemd sets up). The fast
 * path is one statfs() of /sys/fs/cgroup: a cgroup2 magic there means pure
 * v2. Everything else, and the mount roots and own-cgroup paths a manager
 * needs to create anything, comes from one read each of
 * /proc/self/mountinfo and /proc/self/cgroup, cached in statics for the
 * life of the process (amber never moves itself between cgroups, so the
 * answer cannot go stale). The caches are filled from the main thread
 * before any sandbox starts; no locking is needed.
 *
 * Sandbox cgroups are made as children of amber's own cgroup, so whatever
 * limits the caller runs under keep applying to the workload too. */
#include "sandbox/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define CGROUP_ROOT "/sys/fs/cgroup"

/* The v1 controllers the kernel knows. Super options are matched against
 * this list rather than by excluding mount options ("rw", "noprefix",
 * "name=...", "clone_children", ...), so a new mount option can never be
 * mistaken for a controller. Listed in the order `amber check` shows them. */
static const char *const v1_ctrls[] = {
    "cpu",     "cpuacct", "cpuset",  "memory",   "pids",       "blkio", "io",   "devices",
    "freezer", "hugetlb", "net_cls", "net_prio", "perf_event", "rdma",  "misc", "debug",
};
#define NV1 (sizeof(v1_ctrls) / sizeof(v1_ctrls[0]))

struct cgroup_mount {
    char *mnt;  /* mount point */
    char *root; /* root of the mount inside the hierarchy ("/" usually) */
};

static struct {
    bool loaded;
    struct cgroup_mount v2;
    struct cgroup_mount v1[NV1]; /* the mount carrying each v1 controller */
    bool v1_any;                 /* some v1 mount carries a controller */
    char *own_v2;
    char *own_v1[NV1];
} host;

static bool layout_known;
static enum cgroup_layout layout_cached;

static int v1_index(const char *ctrl, size_t len)
{
    for (size_t i = 0; i < NV1; i++)
        if (strlen(v1_ctrls[i]) == len && memcmp(v1_ctrls[i], ctrl, len) == 0)
            return (int)i;
    return -1;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
    char *w = s;

    for (char *r = s; *r != '\0'; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
            r += 3;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* Next space-separated field of *p, NUL-terminated in place. */
static char *next_field(char **p)
{
    char *s = *p;
    char *e;

    if (s == NULL)
        return NULL;
    while (*s == ' ')
        s++;
    if (*s == '\0')
        return NULL;
    e = strchr(s, ' ');
    if (e != NULL) {
        *e = '\0';
        *p = e + 1;
    } else {
        *p = NULL;
    }
    return s;
}

/* A hierarchy can be mounted more than once (bind mounts into containers);
 * prefer the conventional location so paths in messages look familiar. */
static bool better_mount(const struct cgroup_mount *have, const char *mnt)
{
    if (have->mnt == NULL)
        return true;
    return strncmp(have->mnt, CGROUP_ROOT, strlen(CGROUP_ROOT)) != 0 &&
           strncmp(mnt, CGROUP_ROOT, strlen(CGROUP_ROOT)) == 0;
}

static void set_mount(struct cgroup_mount *m, const char *mnt, const char *root)
{
    free(m->mnt);
    free(m->root);
    m->mnt = xstrdup(mnt);
    m->root = xstrdup(root);
}

/* One mountinfo line:
 *   ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS */
static void parse_mountinfo_line(char *line)
{
    char *sep = strstr(line, " - ");
    char *p, *root, *mnt, *fstype, *super;
    bool v2;

    if (sep == NULL)
        return;
    *sep = '\0';
    p = sep + 3;
    fstype = next_field(&p);
    if (fstype == NULL)
        return;
    /* Most lines are other filesystems: decide before parsing the rest. */
    if (strcmp(fstype, "cgroup2") == 0)
        v2 = true;
    else if (strcmp(fstype, "cgroup") == 0)
        v2 = false;
    else
        return;
    (void)next_field(&p); /* the source, unused */
    super = next_field(&p);

    p = line;
    for (int i = 0; i < 3; i++)
        if (next_field(&p) == NULL)
            return;
    root = next_field(&p);
    mnt = next_field(&p);
    if (root == NULL || mnt == NULL)
        return;
    unescape_octal(root);
    unescape_octal(mnt);

    if (v2) {
        if (better_mount(&host.v2, mnt))
            set_mount(&host.v2, mnt, root);
        return;
    }
    if (super == NULL)
        return;
    /* Super options: "rw,memory", "rw,cpu,cpuacct", "rw,name=systemd", ... */
    for (char *opt = super; *opt != '\0';) {
        size_t len = strcspn(opt, ",");
        int idx = v1_index(opt, len);

        if (idx >= 0) {
            host.v1_any = true;
            if (better_mount(&host.v1[idx], mnt))
                set_mount(&host.v1[idx], mnt, root);
        }
        opt += len;
        if (*opt == ',')
            opt++;
    }
}

/* The directory of cgroup path cgpath (as /proc/self/cgroup shows it) under
 * mount m, or NULL when the mount does not reach it (a container that only
 * bind-mounted part of the hierarchy). */
static char *own_dir_for(const struct cgroup_mount *m, const char *cgpath)
{
    const char *rel = cgpath;
    size_t rlen;

    if (m->mnt == NULL || cgpath == NULL)
        return NULL;
    if (strcmp(m->root, "/") != 0) {
        rlen = strlen(m->root);
        if (strncmp(cgpath, m->root, rlen) != 0 || (cgpath[rlen] != '/' && cgpath[rlen] != '\0'))
            return NULL;
        rel = cgpath + rlen;
    }
    if (rel[0] == '\0' || strcmp(rel, "/") == 0)
        return xstrdup(m->mnt);
    if (strcmp(m->mnt, "/") == 0)
        return xstrdup(rel);
    return xasprintf("%s%s", m->mnt, rel);
}

/* Fill `host` once: mounts from mountinfo, own paths from /proc/self/cgroup. */
static void host_load(void)
{
    cleanup_free char *line = NULL;
    cleanup_free char *v2_path = NULL;
    char *v1_path[NV1] = {NULL};
    size_t cap = 0;
    ssize_t n;
    FILE *f;

    if (host.loaded)
        return;
    host.loaded = true;

    f = fopen("/proc/self/mountinfo", "re");
    if (f == NULL) {
        log_debug("cgroup: open '/proc/self/mountinfo': %s", strerror(errno));
        return;
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            line[n - 1] = '\0';
        parse_mountinfo_line(line);
    }
    fclose(f);

    f = fopen("/proc/self/cgroup", "re");
    if (f == NULL) {
        log_debug("cgroup: open '/proc/self/cgroup': %s", strerror(errno));
        return;
    }
    /* "ID:CONTROLLERS:PATH"; v2 is "0::PATH"; v1 may be "4:cpu,cpuacct:/x". */
    while ((n = getline(&line, &cap, f)) > 0) {
        char *ctrls, *path;

        if (line[n - 1] == '\n')
            line[n - 1] = '\0';
        ctrls = strchr(line, ':');
        if (ctrls == NULL)
            continue;
        ctrls++;
        path = strchr(ctrls, ':');
        if (path == NULL)
            continue;
        *path++ = '\0';
        if (ctrls[0] == '\0') {
            free(v2_path);
            v2_path = xstrdup(path);
            continue;
        }
        for (char *c = ctrls; *c != '\0';) {
            size_t len = strcspn(c, ",");
            int idx = v1_index(c, len);
            if (idx >= 0) {
                free(v1_path[idx]);
                v1_path[idx] = xstrdup(path);
            }
            c += len;
            if (*c == ',')
                c++;
        }
    }
    fclose(f);

    host.own_v2 = own_dir_for(&host.v2, v2_path);
    for (size_t i = 0; i < NV1; i++) {
        host.own_v1[i] = own_dir_for(&host.v1[i], v1_path[i]);
        free(v1_path[i]);
        if (host.v1[i].mnt != NULL && host.own_v1[i] == NULL)
            log_debug("cgroup: own %s cgroup is outside the mount at '%s'", v1_ctrls[i],
                      host.v1[i].mnt);
    }
}

enum cgroup_layout cgroup_detect_layout(void)
{
    struct statfs sfs;

    if (layout_known)
        return layout_cached;
    layout_known = true;

    /* Pure v2 in its usual place: one syscall, no file parsing. */
    if (statfs(CGROUP_ROOT, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC) {
        layout_cached = CGROUP_LAYOUT_V2;
        return layout_cached;
    }
    host_load();
    if (host.v1_any)
        layout_cached = host.v2.mnt != NULL ? CGROUP_LAYOUT_HYBRID : CGROUP_LAYOUT_V1;
    else if (host.v2.mnt != NULL)
        layout_cached = CGROUP_LAYOUT_V2; /* mounted somewhere unusual */
    else
        layout_cached = CGROUP_LAYOUT_NONE;
    return layout_cached;
}

const char *cgroup_layout_name(enum cgroup_layout layout)
{
    switch (layout) {
    case CGROUP_LAYOUT_V1:
        return "v1";
    case CGROUP_LAYOUT_HYBRID:
        return "hybrid";
    case CGROUP_LAYOUT_V2:
        return "v2";
    case CGROUP_LAYOUT_NONE:
        break;
    }
    return "none";
}

const struct cgroup_manager *cgroup_manager_for_host(void)
{
    switch (cgroup_detect_layout()) {
    case CGROUP_LAYOUT_V2:
        return &cgroup_manager_v2;
    /* Hybrid hosts keep every controller on v1; their cgroup2 mount only
     * tracks processes, so it cannot limit anything. */
    case CGROUP_LAYOUT_V1:
    case CGROUP_LAYOUT_HYBRID:
        return &cgroup_manager_v1;
    case CGROUP_LAYOUT_NONE:
        break;
    }
    return NULL;
}

const char *cgroup_own_dir(const char *controller)
{
    host_load();
    if (controller == NULL)
        return host.own_v2;
    int idx = v1_index(controller, strlen(controller));
    return idx >= 0 ? host.own_v1[idx] : NULL;
}

const char *cgroup_v2_mount(void)
{
    host_load();
    return host.v2.mnt;
}

const char *cgroup_mount_dir(const char *controller)
{
    int idx;

    host_load();
    if (controller == NULL)
        return host.v2.mnt;
    idx = v1_index(controller, strlen(controller));
    return idx >= 0 ? host.v1[idx].mnt : NULL;
}

char *cgroup_controllers(void)
{
    char buf[512];
    const char *dir;
    char path[PATH_MAX];
    ssize_t n;

    switch (cgroup_detect_layout()) {
    case CGROUP_LAYOUT_V1:
    case CGROUP_LAYOUT_HYBRID:
        host_load();
        buf[0] = '\0';
        for (size_t i = 0; i < NV1; i++)
            if (host.v1[i].mnt != NULL) {
                if (buf[0] != '\0')
                    strcat(buf, " ");
                strcat(buf, v1_ctrls[i]);
            }
        return xstrdup(buf);
    case CGROUP_LAYOUT_V2:
        /* What amber's own cgroup may hand to a child, not what the root has. */
        dir = cgroup_own_dir(NULL);
        if (dir == NULL)
            break;
        snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
        n = fs_read_file(path, buf, sizeof(buf), NULL);
        if (n < 0)
            break;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
            buf[--n] = '\0';
        return xstrdup(buf);
    case CGROUP_LAYOUT_NONE:
        break;
    }
    return xstrdup("");
}

/* Is every controller in want (space-separated) listed in have? */
static bool has_all_words(const char *have, const char *want)
{
    for (const char *w = want; *w != '\0';) {
        size_t len = strcspn(w, " ");
        bool found = false;

        for (const char *h = have; *h != '\0' && !found;) {
            size_t hlen = strcspn(h, " \n");
            found = hlen == len && memcmp(h, w, len) == 0;
            h += hlen;
            h += strspn(h, " \n");
        }
        if (len > 0 && !found)
            return false;
        w += len;
        w += strspn(w, " ");
    }
    return true;
}

static bool dir_writable(const char *dir)
{
    return dir != NULL && access(dir, W_OK) == 0;
}

bool cgroup_writable(const struct cgroup_limits *lim)
{
    const char *ctrls[3];
    size_t n = 0;

    if (lim->memory != 0)
        ctrls[n++] = "memory";
    if (lim->cpus_milli != 0)
        ctrls[n++] = "cpu";
    if (lim->pids != 0)
        ctrls[n++] = "pids";

    switch (cgroup_detect_layout()) {
    case CGROUP_LAYOUT_V1:
    case CGROUP_LAYOUT_HYBRID:
        for (size_t i = 0; i < n; i++)
            if (!dir_writable(cgroup_own_dir(ctrls[i])))
                return false;
        return true;
    case CGROUP_LAYOUT_V2: {
        const char *dir = cgroup_own_dir(NULL);
        char want[32] = "";
        char have[512];
        char path[PATH_MAX];

        if (n == 0)
            return true;
        if (!dir_writable(dir))
            return false;
        for (size_t i = 0; i < n; i++) {
            strcat(want, i > 0 ? " " : "");
            strcat(want, ctrls[i]);
        }
        /* Already enabled for children: creating the child is all it takes. */
        snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
        if (fs_read_file(path, have, sizeof(have), NULL) >= 0 && has_all_words(have, want))
            return true;
        /* Otherwise they must be delegated to us and we must be able to
         * enable them. (Whether the kernel then refuses because our own
         * cgroup holds processes is left to create(), which says why.) */
        if (access(path, W_OK) != 0)
            return false;
        snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
        return fs_read_file(path, have, sizeof(have), NULL) >= 0 && has_all_words(have, want);
    }
    case CGROUP_LAYOUT_NONE:
        break;
    }
    return false;
}

static int join_path(char *buf, size_t cap, const char *dir, const char *file,
                     struct amber_error *err)
{
    int n = snprintf(buf, cap, "%s/%s", dir, file);

    if (n < 0 || (size_t)n >= cap)
        return amber_error_set(err, ENAMETOOLONG, "cgroup path '%s/%s'", dir, file);
    return 0;
}

const char *cgroup_mkdir(struct amber_cgroup *cg, const char *parent, const char *name,
                         struct amber_error *err)
{
    char path[PATH_MAX];

    /* name becomes one path component under a directory we do not own. */
    if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL) {
        amber_error_set(err, EINVAL, "invalid cgroup name '%s'", name);
        return NULL;
    }
    if (join_path(path, sizeof(path), parent, name, err) < 0)
        return NULL;
    for (int i = 0; i < cg->npaths; i++)
        if (strcmp(cg->paths[i], path) == 0)
            return cg->paths[i];
    if (cg->npaths >= CGROUP_MAX_PATHS) {
        amber_error_set(err, 0, "too many cgroup hierarchies (creating '%s')", path);
        return NULL;
    }
    /* EEXIST is an error, not reuse: the dir may belong to another live
     * sandbox, and destroy must only remove what this one made. */
    if (mkdir(path, 0755) < 0) {
        amber_error_errno(err, "mkdir '%s'", path);
        return NULL;
    }
    cg->paths[cg->npaths] = xstrdup(path);
    return cg->paths[cg->npaths++];
}

int cgroup_write(const char *dir, const char *file, const char *value, struct amber_error *err)
{
    char path[PATH_MAX];

    if (join_path(path, sizeof(path), dir, file, err) < 0)
        return -1;
    return fs_write_file(path, value, strlen(value), 0, 0, err);
}

/* Read dir/file into buf. Returns 1, 0 if it does not exist, -1 on error. */
static int read_small(const char *dir, const char *file, char *buf, size_t cap,
                      struct amber_error *err)
{
    char path[PATH_MAX];
    struct amber_error e;

    if (join_path(path, sizeof(path), dir, file, err) < 0)
        return -1;
    if (fs_read_file(path, buf, cap, &e) >= 0)
        return 1;
    if (e.code == ENOENT)
        return 0;
    if (err != NULL)
        *err = e;
    return -1;
}

static int parse_u64(const char *s, const char *dir, const char *file, uint64_t *out,
                     struct amber_error *err)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || (*end != '\0' && *end != '\n' && *end != ' '))
        return amber_error_set(err, EINVAL, "parse '%s/%s'", dir, file);
    *out = v;
    return 0;
}

int cgroup_read_u64(const char *dir, const char *file, uint64_t *out, struct amber_error *err)
{
    char buf[64];
    int r = read_small(dir, file, buf, sizeof(buf), err);

    if (r <= 0)
        return r;
    return parse_u64(buf, dir, file, out, err) < 0 ? -1 : 1;
}

int cgroup_read_key(const char *dir, const char *file, const char *key, uint64_t *out,
                    struct amber_error *err)
{
    char buf[4096];
    size_t klen = strlen(key);
    int r = read_small(dir, file, buf, sizeof(buf), err);

    if (r <= 0)
        return r;
    for (const char *l = buf; *l != '\0';) {
        if (strncmp(l, key, klen) == 0 && l[klen] == ' ')
            return parse_u64(l + klen + 1, dir, file, out, err) < 0 ? -1 : 1;
        l = strchr(l, '\n');
        if (l == NULL)
            break;
        l++;
    }
    return 0;
}

int cgroup_open_join_files(char *const *paths, int n, const char *file, int *fds,
                           struct amber_error *err)
{
    for (int i = 0; i < n; i++) {
        cleanup_free char *path = xasprintf("%s/%s", paths[i], file);
        fds[i] = open(path, O_WRONLY | O_CLOEXEC);
        if (fds[i] < 0) {
            amber_error_errno(err, "open '%s'", path);
            for (int j = 0; j < i; j++) {
                close(fds[j]);
                fds[j] = -1;
            }
            return -1;
        }
    }
    return n;
}

int cgroup_open_self_join(struct amber_cgroup *cg, int fds[CGROUP_MAX_PATHS],
                          struct amber_error *err)
{
    for (int i = 0; i < CGROUP_MAX_PATHS; i++)
        fds[i] = -1;
    return cgroup_open_join_files(cg->paths, cg->npaths, cg->mgr->self_join_file, fds, err);
}

/* rmdir, retrying on EBUSY: the workload has been reaped, but the kernel
 * may still be tearing down its last tasks (or v1 memcg charges) for a
 * moment. *slept_ms is shared by all dirs of one destroy so the whole call
 * is bounded, not each hierarchy. */
#define DESTROY_BUDGET_MS 2000

static int rmdir_retry(const char *path, long *slept_ms, long *delay_ms)
{
    for (;;) {
        if (rmdir(path) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY || *slept_ms >= DESTROY_BUDGET_MS)
            return -1;
        long d = *delay_ms;
        if (d > DESTROY_BUDGET_MS - *slept_ms)
            d = DESTROY_BUDGET_MS - *slept_ms;
        struct timespec ts = {.tv_sec = d / 1000, .tv_nsec = (d % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        *slept_ms += d;
        *delay_ms *= 2;
    }
}

int cgroup_remove_dirs(char *const *paths, int n, struct amber_error *err)
{
    long slept = 0, delay = 1;
    int ret = 0;

    /* Reverse order of creation; the dirs are siblings across hierarchies,
     * so this only matters for readability of errors. */
    for (int i = n - 1; i >= 0; i--) {
        if (paths[i] != NULL && rmdir_retry(paths[i], &slept, &delay) < 0 && ret == 0)
            ret = amber_error_errno(err, "rmdir '%s'", paths[i]);
    }
    return ret;
}

int cgroup_destroy(struct amber_cgroup *cg, struct amber_error *err)
{
    int ret;

    if (cg == NULL)
        return 0;
    ret = cgroup_remove_dirs(cg->paths, cg->npaths, err);
    for (int i = 0; i < cg->npaths; i++) {
        free(cg->paths[i]);
        cg->paths[i] = NULL;
    }
    cg->npaths = 0;
    return ret;
}
