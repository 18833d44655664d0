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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
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
/* cgroup_host_describe(): a temporary tree stands for the host, its
 * control files plain files (a write appends a line). */
static bool described;

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

/* Fill `host` from the texts of /proc/self/mountinfo and /proc/self/cgroup. */
static void host_parse(char *mountinfo, char *self_cgroup)
{
    cleanup_free char *v2_path = NULL;
    char *v1_path[NV1] = {NULL};
    char *save = NULL;

    for (char *line = strtok_r(mountinfo, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save))
        parse_mountinfo_line(line);
    /* "ID:CONTROLLERS:PATH"; v2 is "0::PATH"; v1 may be "4:cpu,cpuacct:/x". */
    save = NULL;
    for (char *line = strtok_r(self_cgroup, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *ctrls, *path;

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
    host.own_v2 = own_dir_for(&host.v2, v2_path);
    for (size_t i = 0; i < NV1; i++) {
        host.own_v1[i] = own_dir_for(&host.v1[i], v1_path[i]);
        free(v1_path[i]);
        if (host.v1[i].mnt != NULL && host.own_v1[i] == NULL)
            log_debug("cgroup: own %s cgroup is outside the mount at '%s'", v1_ctrls[i],
                      host.v1[i].mnt);
    }
}

/* The whole of a /proc file (they have no size to stat), malloc'd. */
static char *read_proc(const char *path)
{
    FILE *f = fopen(path, "re");
    char *text = NULL;
    size_t cap = 0, len = 0, n;

    if (f == NULL) {
        log_debug("cgroup: open '%s': %s", path, strerror(errno));
        return xstrdup("");
    }
    do {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 16384;
            text = xrealloc(text, cap + 1);
        }
        n = fread(text + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    text[len] = '\0';
    return text;
}

static void host_reset(void)
{
    free(host.v2.mnt);
    free(host.v2.root);
    free(host.own_v2);
    for (size_t i = 0; i < NV1; i++) {
        free(host.v1[i].mnt);
        free(host.v1[i].root);
        free(host.own_v1[i]);
    }
    memset(&host, 0, sizeof(host));
    layout_known = false;
}

/* Fill `host` once: mounts from mountinfo, own paths from /proc/self/cgroup. */
static void host_load(void)
{
    cleanup_free char *mi = NULL;
    cleanup_free char *cg = NULL;

    if (host.loaded)
        return;
    host.loaded = true;
    mi = read_proc("/proc/self/mountinfo");
    cg = read_proc("/proc/self/cgroup");
    host_parse(mi, cg);
}

void cgroup_host_describe(const char *mountinfo, const char *self_cgroup)
{
    host_reset();
    described = mountinfo != NULL;
    if (!described)
        return;
    host.loaded = true;
    {
        cleanup_free char *mi = xstrdup(mountinfo);
        cleanup_free char *cg = xstrdup(self_cgroup != NULL ? self_cgroup : "");
        host_parse(mi, cg);
    }
}

enum cgroup_layout cgroup_detect_layout(void)
{
    struct statfs sfs;

    if (layout_known)
        return layout_cached;
    layout_known = true;

    /* Pure v2 in its usual place: one syscall, no file parsing. */
    if (!described && statfs(CGROUP_ROOT, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC) {
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

bool cgroup_ctrl_needed(const struct cgroup_limits *lim, const char *ctrl)
{
    if (strcmp(ctrl, "memory") == 0)
        return lim->memory || lim->memory_swap || lim->memory_reservation;
    if (strcmp(ctrl, "cpu") == 0)
        return lim->cpu_shares || lim->cpu_quota || lim->cpu_period;
    if (strcmp(ctrl, "cpuset") == 0)
        return lim->cpuset_cpus != NULL || lim->cpuset_mems != NULL;
    if (strcmp(ctrl, "pids") == 0)
        return lim->pids != 0;
    if (strcmp(ctrl, "devices") == 0)
        return lim->ndevrules > 0;
    if (strcmp(ctrl, "freezer") == 0)
        return lim->freezer;
    return false;
}

bool cgroup_writable(const struct cgroup_limits *lim)
{
    static const char *const limit_ctrls[] = {"memory", "cpu", "pids", "cpuset"};
    const char *ctrls[4];
    size_t n = 0;

    for (size_t i = 0; i < sizeof(limit_ctrls) / sizeof(limit_ctrls[0]); i++)
        if (cgroup_ctrl_needed(lim, limit_ctrls[i]))
            ctrls[n++] = limit_ctrls[i];

    switch (cgroup_detect_layout()) {
    case CGROUP_LAYOUT_V1:
    case CGROUP_LAYOUT_HYBRID:
        for (size_t i = 0; i < n; i++)
            if (!dir_writable(cgroup_own_dir(ctrls[i])))
                return false;
        return true;
    case CGROUP_LAYOUT_V2: {
        const char *dir = cgroup_own_dir(NULL);
        char want[48] = "";
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

/* The last mkdir of a cgroup dir was refused for want of rights (the
 * `optional` case of cgroup_create: a rootless tree, nothing else). */
static bool mkdir_denied;

const char *cgroup_mkdir(struct amber_cgroup *cg, const char *parent, const char *name,
                         struct amber_error *err)
{
    char path[PATH_MAX];

    /* name becomes one path component under a directory we do not own. */
    if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
        strchr(name, '/') != NULL) {
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
        mkdir_denied = errno == EACCES || errno == EPERM || errno == EROFS;
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
    if (described) {
        cleanup_free char *line = xasprintf("%s\n", value);
        return fs_write_file(path, line, strlen(line), O_CREAT | O_APPEND, 0644, err);
    }
    return fs_write_file(path, value, strlen(value), 0, 0, err);
}

int cgroup_write_each(const char *dir, const char *file, const char *const *values, size_t n,
                      struct amber_error *err)
{
    char path[PATH_MAX];
    cleanup_close int fd = -1;

    if (n == 0)
        return 0;
    if (join_path(path, sizeof(path), dir, file, err) < 0)
        return -1;
    if (described) {
        for (size_t i = 0; i < n; i++)
            if (cgroup_write(dir, file, values[i], err) < 0)
                return -1;
        return 0;
    }
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return amber_error_errno(err, "open '%s'", path);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(values[i]);
        ssize_t w;
        do
            w = write(fd, values[i], len);
        while (w < 0 && errno == EINTR);
        if (w != (ssize_t)len)
            return amber_error_errno(err, "write '%s' to '%s'", values[i], path);
    }
    return 0;
}

int cgroup_read_text(const char *dir, const char *file, char *buf, size_t cap,
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
    int r = cgroup_read_text(dir, file, buf, sizeof(buf), err);

    if (r <= 0)
        return r;
    return parse_u64(buf, dir, file, out, err) < 0 ? -1 : 1;
}

int cgroup_read_key(const char *dir, const char *file, const char *key, uint64_t *out,
                    struct amber_error *err)
{
    char buf[4096];
    size_t klen = strlen(key);
    int r = cgroup_read_text(dir, file, buf, sizeof(buf), err);

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

/* A described tree's control files are plain files: gone with the dir. */
static void remove_plain_files(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL)
        if (e->d_type == DT_REG)
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}

static int rmdir_retry(const char *path, long *slept_ms, long *delay_ms)
{
    if (described)
        remove_plain_files(path);
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

/* A sandbox may make cgroups of its own below its dirs (a container with
 * a writable cgroup mount does): the walks below reach them, to a bounded
 * depth. */
#define CGROUP_TREE_DEPTH 32

/* fn on every directory below dir: before its own subdirectories, or
 * after them (post: so that a child is removed before its parent). */
static int each_subdir(const char *dir, int depth, bool post,
                       int (*fn)(const char *path, void *data), void *data)
{
    DIR *d;
    struct dirent *e;
    int ret = 0;

    if (depth > CGROUP_TREE_DEPTH) {
        errno = ELOOP;
        return -1;
    }
    d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : -1;
    while ((e = readdir(d)) != NULL) {
        char *sub;
        if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        sub = xasprintf("%s/%s", dir, e->d_name);
        if (!post && fn(sub, data) < 0)
            ret = -1;
        if (each_subdir(sub, depth + 1, post, fn, data) < 0)
            ret = -1;
        if (post && fn(sub, data) < 0)
            ret = -1;
        free(sub);
    }
    closedir(d);
    return ret;
}

struct rmdir_budget {
    long slept, delay;
};

static int rmdir_one(const char *path, void *data)
{
    struct rmdir_budget *b = data;
    return rmdir_retry(path, &b->slept, &b->delay);
}

int cgroup_remove_dirs(char *const *paths, int n, struct amber_error *err)
{
    struct rmdir_budget b = {0, 1};
    int ret = 0;

    /* Reverse order of creation; the dirs are siblings across hierarchies,
     * so this only matters for readability of errors. What the sandbox
     * made below them goes first. */
    for (int i = n - 1; i >= 0; i--) {
        if (paths[i] == NULL)
            continue;
        if (each_subdir(paths[i], 0, true, rmdir_one, &b) < 0 && ret == 0)
            ret = amber_error_errno(err, "rmdir below '%s'", paths[i]);
        if (rmdir_one(paths[i], &b) < 0 && ret == 0)
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

const char *cgroup_dir_of(const struct amber_cgroup *cg, const char *ctrl)
{
    const char *mnt;
    size_t len;

    if (cg->mgr == &cgroup_manager_v2)
        return cg->npaths > 0 ? cg->paths[0] : NULL;
    mnt = cgroup_mount_dir(ctrl);
    if (mnt == NULL)
        return NULL;
    len = strlen(mnt);
    for (int i = 0; i < cg->npaths; i++)
        if (strncmp(cg->paths[i], mnt, len) == 0 && cg->paths[i][len] == '/')
            return cg->paths[i];
    return NULL;
}

const char *cgroup_place_dir(struct amber_cgroup *cg, const struct cgroup_place *where,
                             const char *mnt, const char *own, struct amber_error *err)
{
    char path[PATH_MAX];
    const char *rel;

    if (where->name != NULL) {
        if (own == NULL) {
            amber_error_coded(err, ENOENT, "amber's own cgroup under '%s' is not reachable", mnt);
            return NULL;
        }
        return cgroup_mkdir(cg, own, where->name, err);
    }
    rel = where->path != NULL ? where->path : "";
    if (rel[0] == '/') {
        while (*rel == '/')
            rel++;
        snprintf(path, sizeof(path), "%s", mnt);
    } else {
        snprintf(path, sizeof(path), "%s", own != NULL ? own : mnt);
    }
    if (rel[0] == '\0') {
        amber_error_coded(err, EINVAL, "must name a cgroup below the hierarchy's root");
        return NULL;
    }
    for (const char *p = rel; *p != '\0';) {
        size_t n = strcspn(p, "/");
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
            amber_error_coded(err, EINVAL, "'%s': '.' and '..' are not cgroup names", rel);
            return NULL;
        }
        p += n;
        p += strspn(p, "/");
    }
    /* mkdir -p of the parents; the leaf is made (new) by cgroup_mkdir. */
    {
        char parent[PATH_MAX];
        const char *slash = strrchr(rel, '/');
        const char *leaf = slash != NULL ? slash + 1 : rel;
        int w = snprintf(parent, sizeof(parent), "%s", path);

        if (slash != NULL) {
            if ((size_t)w + 2 + (size_t)(slash - rel) >= sizeof(parent)) {
                amber_error_set(err, ENAMETOOLONG, "cgroup path '%s/%s'", path, rel);
                return NULL;
            }
            parent[w++] = '/';
            memcpy(parent + w, rel, (size_t)(slash - rel));
            parent[w + (slash - rel)] = '\0';
            for (char *q = parent + strlen(path) + 1;; q++) {
                char c = *q;
                if (c == '/' || c == '\0') {
                    *q = '\0';
                    if (mkdir(parent, 0755) < 0 && errno != EEXIST) {
                        mkdir_denied = errno == EACCES || errno == EPERM || errno == EROFS;
                        amber_error_errno(err, "mkdir '%s'", parent);
                        return NULL;
                    }
                    *q = c;
                    if (c == '\0')
                        break;
                }
            }
        }
        /* A leaf that exists is another's (or a leftover): never taken over. */
        {
            char full[PATH_MAX];
            if ((size_t)snprintf(full, sizeof(full), "%s/%s", parent, leaf) < sizeof(full)) {
                for (int i = 0; i < cg->npaths; i++)
                    if (strcmp(cg->paths[i], full) == 0)
                        return cg->paths[i]; /* co-mounted controllers share it */
                if (access(full, F_OK) == 0) {
                    amber_error_coded(err, EEXIST, "cgroup '%s' already exists", full);
                    return NULL;
                }
            }
        }
        return cgroup_mkdir(cg, parent, leaf, err);
    }
}

int cgroup_create(struct amber_cgroup *cg, const struct cgroup_place *where,
                  const struct cgroup_limits *lim, struct amber_error *err)
{
    const struct cgroup_manager *mgr = cgroup_manager_for_host();

    memset(cg, 0, sizeof(*cg));
    if (mgr == NULL) {
        if (cgroup_limits_any(lim))
            return amber_error_set(err, 0, "no cgroup hierarchy on this host");
        return 0;
    }
    mkdir_denied = false;
    if (mgr->create(cg, where, lim, err) == 0)
        return 0;
    /* Only a mkdir the tree refused: a write that fails afterwards (a device
     * rule the parent does not allow) is the error it is. */
    if (where->optional && !cgroup_limits_any(lim) && mkdir_denied) {
        log_debug("no cgroup of its own: %s", err->msg);
        amber_error_clear(err);
        memset(cg, 0, sizeof(*cg));
        return 0;
    }
    return -1;
}

int cgroup_freeze(char *const *paths, int n, bool freeze, struct amber_error *err)
{
    for (int i = 0; i < n; i++) {
        char st[32];

        if (cgroup_read_text(paths[i], "freezer.state", st, sizeof(st), NULL) == 1) {
            if (cgroup_write(paths[i], "freezer.state", freeze ? "FROZEN" : "THAWED", err) < 0)
                return -1;
            /* FREEZING -> FROZEN takes a moment. */
            for (int t = 0; freeze && t < 200; t++) {
                struct timespec ts = {0, 5 * 1000000L};
                if (cgroup_read_text(paths[i], "freezer.state", st, sizeof(st), err) < 0)
                    return -1;
                if (strncmp(st, "FROZEN", 6) == 0 || described)
                    break;
                nanosleep(&ts, NULL);
            }
            return 0;
        }
        if (cgroup_read_text(paths[i], "cgroup.freeze", st, sizeof(st), NULL) == 1)
            return cgroup_write(paths[i], "cgroup.freeze", freeze ? "1" : "0", err);
    }
    return 1;
}

int cgroup_join_self(char *const *paths, int n, struct amber_error *err)
{
    /* A thread moving itself through v1 "tasks" skips the slow path that
     * writing a pid to cgroup.procs takes (see cgroup_open_self_join). */
    for (int i = 0; i < n; i++) {
        char st[8];
        const char *file = cgroup_read_text(paths[i], "tasks", st, sizeof(st), NULL) == 1
                               ? "tasks"
                               : "cgroup.procs";
        if (cgroup_write(paths[i], file, "0", err) < 0)
            return -1;
    }
    return 0;
}

struct signal_walk {
    int sig;
    int count;
};

static int signal_dir(const char *dir, void *data)
{
    struct signal_walk *w = data;
    cleanup_free char *p = xasprintf("%s/cgroup.procs", dir);
    cleanup_fclose FILE *f = fopen(p, "re");
    long pid;

    if (f == NULL)
        return 0;
    while (fscanf(f, "%ld", &pid) == 1) {
        if (pid > 0 && kill((pid_t)pid, w->sig) == 0)
            w->count++;
    }
    return 0;
}

int cgroup_signal_all(char *const *paths, int n, int sig)
{
    struct signal_walk w = {sig, 0};

    if (n == 0)
        return 0;
    /* Every process of the sandbox is somewhere below its dir in any one
     * hierarchy: the first is enough, its subtree included. */
    signal_dir(paths[0], &w);
    (void)each_subdir(paths[0], 0, false, signal_dir, &w);
    return w.count;
}

static int dir_busy(const char *dir, void *data)
{
    char buf[64];

    (void)data;
    if (cgroup_read_text(dir, "cgroup.procs", buf, sizeof(buf), NULL) == 1 && buf[0] != '\0')
        return -1;
    return 0;
}

bool cgroup_is_empty(char *const *paths, int n)
{
    if (n == 0)
        return true;
    return dir_busy(paths[0], NULL) == 0 && each_subdir(paths[0], 0, false, dir_busy, NULL) == 0;
}

/* The first of the dirs that has file (with key: its "key N" line). */
static bool usage_u64(char *const *paths, int n, const char *file, const char *key, uint64_t *out)
{
    for (int i = 0; i < n; i++) {
        int r = key != NULL ? cgroup_read_key(paths[i], file, key, out, NULL)
                            : cgroup_read_u64(paths[i], file, out, NULL);
        if (r == 1)
            return true;
    }
    return false;
}

void cgroup_usage_read(char *const *paths, int n, struct cgroup_usage *u)
{
    uint64_t usec;

    memset(u, 0, sizeof(*u));
    u->has_memory = usage_u64(paths, n, "memory.usage_in_bytes", NULL, &u->memory) ||
                    usage_u64(paths, n, "memory.current", NULL, &u->memory);
    if (!usage_u64(paths, n, "memory.limit_in_bytes", NULL, &u->memory_max))
        usage_u64(paths, n, "memory.max", NULL, &u->memory_max);
    u->has_pids = usage_u64(paths, n, "pids.current", NULL, &u->pids);
    u->has_cpu = usage_u64(paths, n, "cpuacct.usage", NULL, &u->cpu_ns);
    if (!u->has_cpu && usage_u64(paths, n, "cpu.stat", "usage_usec", &usec)) {
        u->has_cpu = true;
        u->cpu_ns = usec * 1000;
    }
}

int cgroup_remove_with_parent(char *const *paths, int n, const char *parent_name,
                              struct amber_error *err)
{
    size_t plen = strlen(parent_name);

    if (cgroup_remove_dirs(paths, n, err) < 0)
        return -1;
    /* The shared parent is removed once empty; rmdir fails harmlessly
     * while other sandboxes use it. */
    for (int i = 0; i < n; i++) {
        char parent[PATH_MAX];
        char *slash;
        snprintf(parent, sizeof(parent), "%s", paths[i]);
        slash = strrchr(parent, '/');
        if (slash != NULL && (size_t)(slash - parent) > plen && slash[-(long)plen - 1] == '/' &&
            strncmp(slash - plen, parent_name, plen) == 0) {
            *slash = '\0';
            rmdir(parent);
        }
    }
    return 0;
}
