/* Cgroup resource limits behind one manager vtable, with two managers:
 * v2 (unified) and v1 (separate hierarchies; also "hybrid" hosts where v1
 * controllers sit beside an empty v2 mount, as on these machines).
 *
 * One cgroup per sandbox, created as a child of amber's own cgroup in each
 * hierarchy that is needed ("amber-<pid>"), so the caller's own limits keep
 * applying (on v2, as root, a shared <root>/amber when amber's own cgroup
 * holds processes: see cgroup_v2.c). The sandbox's owner removes it (cgroup_destroy); a watchdog
 * (see native backend) removes it if amber itself is killed. */
#ifndef AMBER_CGROUP_H
#define AMBER_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

enum cgroup_layout {
    CGROUP_LAYOUT_NONE = 0,
    CGROUP_LAYOUT_V1,     /* v1 controllers, no usable v2 */
    CGROUP_LAYOUT_HYBRID, /* v1 controllers + a v2 mount without them */
    CGROUP_LAYOUT_V2,     /* unified */
};

struct cgroup_limits {
    uint64_t memory;     /* bytes, 0 = none */
    uint64_t cpus_milli; /* 0 = none */
    uint64_t pids;       /* 0 = none */
    bool freezer;        /* v1: also a freezer cgroup (pause/resume of detached sandboxes) */
};

struct cgroup_stats {
    bool oom_killed;   /* the kernel's OOM killer ran in this cgroup */
    uint64_t mem_peak; /* bytes, 0 if unknown */
    uint64_t cpu_usage_ns;
    uint64_t pids_current;
};

#define CGROUP_MAX_PATHS 4

struct amber_cgroup {
    const struct cgroup_manager *mgr;
    int npaths;
    char *paths[CGROUP_MAX_PATHS]; /* absolute dirs created for this sandbox */
};

struct cgroup_manager {
    const char *name; /* "v1" or "v2" */
    /* Create the cgroup(s) and write the limits. On failure nothing is left. */
    int (*create)(struct amber_cgroup *cg, const char *name, const struct cgroup_limits *lim,
                  struct amber_error *err);
    /* The file a single-threaded process writes "0" to in order to move
     * itself (see cgroup_open_self_join). */
    const char *self_join_file;
    int (*stats)(struct amber_cgroup *cg, struct cgroup_stats *st, struct amber_error *err);
};

/* Detect the host layout (cached after the first call). */
enum cgroup_layout cgroup_detect_layout(void);
const char *cgroup_layout_name(enum cgroup_layout layout);
/* The manager for this host, NULL when no cgroup hierarchy is usable. */
const struct cgroup_manager *cgroup_manager_for_host(void);
/* Controllers available (space-separated, e.g. "cpu memory pids"), for
 * `amber check`. Returns a malloc'd string. */
char *cgroup_controllers(void);
/* Can this process create the cgroups it would need? (rootless: usually not) */
bool cgroup_writable(const struct cgroup_limits *lim);

/* Open, in each dir of cg, the file through which a process moves itself.
 * The sandbox child writes "0" to each fd first thing after clone.
 *
 * Why: writing another process's pid to cgroup.procs takes the global
 * cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period
 * (measured here: ~10-15 ms per start). A thread that moves only itself
 * through v1 "tasks" skips that lock (~0.03 ms). Returns the number of fds
 * opened (CLOEXEC) or -1; fds beyond the count are set to -1. */
int cgroup_open_self_join(struct amber_cgroup *cg, int fds[CGROUP_MAX_PATHS],
                          struct amber_error *err);
/* The same for any list of dirs: open dir/file (O_WRONLY|O_CLOEXEC) for
 * each into fds[]; on failure none stays open. Returns n or -1. */
int cgroup_open_join_files(char *const *paths, int n, const char *file, int *fds,
                           struct amber_error *err);
/* rmdir each dir, last first, retrying on EBUSY while the last tasks leave
 * (2 s in all); a dir already gone is fine. */
int cgroup_remove_dirs(char *const *paths, int n, struct amber_error *err);

/* Remove the cgroup dirs (retrying briefly while the last processes exit).
 * Safe to call twice and on a zeroed struct. */
int cgroup_destroy(struct amber_cgroup *cg, struct amber_error *err);

extern const struct cgroup_manager cgroup_manager_v1;
extern const struct cgroup_manager cgroup_manager_v2;

/* Lower-level helpers: the layout cgroup.c detects and caches, and plain
 * reads and writes. Used by the managers and by the OCI runtime, whose
 * containers live at paths engines choose (src/oci/cgroup.c). */

/* amber's own cgroup directory in the v1 hierarchy that carries controller
 * ("cpu", "cpuacct", "memory", "pids"), or in the cgroup2 hierarchy when
 * controller is NULL. NULL when there is none. Cached; do not free. */
const char *cgroup_own_dir(const char *controller);
/* The cgroup2 mount point visible to amber (the root of what it can
 * reach), or NULL. Cached; do not free. */
const char *cgroup_v2_mount(void);
/* Mount point of the v1 hierarchy carrying controller (or of cgroup2 when
 * controller is NULL), for paths given relative to the hierarchy's root
 * (an OCI bundle's cgroupsPath). NULL when not mounted. */
const char *cgroup_mount_dir(const char *controller);
/* mkdir parent/name and record it in cg (a recorded dir is removed by
 * cgroup_destroy). A dir already recorded (co-mounted v1 controllers) is
 * not made twice. Returns the recorded path or NULL. */
const char *cgroup_mkdir(struct amber_cgroup *cg, const char *parent, const char *name,
                         struct amber_error *err);
/* Write value to dir/file in one write(). */
int cgroup_write(const char *dir, const char *file, const char *value, struct amber_error *err);
/* Read a file holding one number. Returns 1, 0 when the file does not exist
 * (controller or kernel feature absent), -1 on error. */
int cgroup_read_u64(const char *dir, const char *file, uint64_t *out, struct amber_error *err);
/* Read the "key N" line of a flat-keyed file (memory.events, cpu.stat, ...).
 * Returns 1, 0 when the file or key does not exist, -1 on error. */
int cgroup_read_key(const char *dir, const char *file, const char *key, uint64_t *out,
                    struct amber_error *err);

#endif
