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

#include "spec/written.h" /* struct amber_devrule */
#include "util/error.h"

enum cgroup_layout {
    CGROUP_LAYOUT_NONE = 0,
    CGROUP_LAYOUT_V1,     /* v1 controllers, no usable v2 */
    CGROUP_LAYOUT_HYBRID, /* v1 controllers + a v2 mount without them */
    CGROUP_LAYOUT_V2,     /* unified */
};

/* The whole limit set, as every front-end asks for it. cgroup_limits.c is
 * the one place that writes it to a cgroup (v1 files or v2 files); the
 * front-ends only fill it: amber's own flags through
 * cgroup_limits_from_amber() (--memory means no swap on top; --cpus is a
 * quota per 100 ms period, at least 1 ms), specs taken as written (OCI
 * bundles) through cgroup_limits_from_written(). */
struct cgroup_limits {
    uint64_t memory;             /* bytes, 0 = none */
    int64_t memory_swap;         /* memory + swap, bytes; 0 = not set, -1 = unlimited */
    bool swap_implied;           /* memory_swap is amber's "no swap on top", not asked for:
                                    a kernel without swap accounting is no warning then */
    uint64_t memory_reservation; /* bytes (v1 soft limit, v2 memory.low); 0 = none */
    uint64_t cpu_shares;         /* v1 cpu.shares (v2: converted to cpu.weight); 0 = none */
    int64_t cpu_quota;           /* us per period; 0 = none, -1 = unlimited */
    uint64_t cpu_period;         /* us; 0 = the default (100000) */
    const char *cpuset_cpus;     /* NULL = none */
    const char *cpuset_mems;
    int64_t pids;                         /* 0 = none, -1 = unlimited */
    const struct amber_devrule *devrules; /* v1 only (v2 needs a BPF program) */
    size_t ndevrules;
    bool freezer; /* v1: also a freezer cgroup (pause/resume of detached sandboxes) */
};

/* amber's semantics for --memory/--cpus/--pids (0 = not limited). */
void cgroup_limits_from_amber(struct cgroup_limits *lim, uint64_t memory, uint64_t cpus_milli,
                              uint64_t pids, bool freezer);
/* A spec taken as written (an OCI bundle's linux.resources): swap as given. */
void cgroup_limits_from_written(const struct amber_written *w, struct cgroup_limits *lim);
/* Does lim limit a resource (a reason for a cgroup of its own)? Device
 * rules alone are not: the sandbox's /dev holds only the devices it may
 * use, and v2 and rootless runtimes (runc, crun) do not apply them. */
bool cgroup_limits_any(const struct cgroup_limits *lim);

/* Where a sandbox's cgroup goes. */
struct cgroup_place {
    /* amber's own sandboxes: name, a new child of amber's cgroup in each
     * hierarchy a limit needs (v2, as root, when that cgroup holds
     * processes: under a shared <root>/amber). */
    const char *name;
    /* OCI containers (linux.cgroupsPath): "/a/b" from each hierarchy's
     * root, "a/b" below amber's own cgroup; made with mkdir -p, and its
     * last component must be new. Used when name is NULL. */
    const char *path;
    /* A dir in every hierarchy an engine reads (memory, pids, cpu,
     * devices, freezer; cpuset when asked for), not only where a limit is. */
    bool every_hierarchy;
    /* Without limits, a tree this user may not write means no cgroup
     * (rootless OCI, as runc and crun do) instead of an error. */
    bool optional;
};

struct cgroup_stats {
    bool oom_killed;   /* the kernel's OOM killer ran in this cgroup */
    uint64_t mem_peak; /* bytes, 0 if unknown */
    uint64_t cpu_usage_ns;
    uint64_t pids_current;
};

#define CGROUP_MAX_PATHS 8

struct amber_cgroup {
    const struct cgroup_manager *mgr;
    int npaths;
    char *paths[CGROUP_MAX_PATHS]; /* absolute dirs created for this sandbox */
};

struct cgroup_manager {
    const char *name; /* "v1" or "v2" */
    /* Make the cgroup dir(s) where says, enable what lim needs (v2), and
     * write lim (cgroup_write_limits). On failure nothing is left. */
    int (*create)(struct amber_cgroup *cg, const struct cgroup_place *where,
                  const struct cgroup_limits *lim, struct amber_error *err);
    /* The file a single-threaded process writes "0" to in order to move
     * itself (see cgroup_open_self_join). */
    const char *self_join_file;
    int (*stats)(struct amber_cgroup *cg, struct cgroup_stats *st, struct amber_error *err);
};

/* Create a sandbox's cgroup with the host's manager. No hierarchy at all:
 * an error when lim limits something, else nothing is made (npaths 0). */
int cgroup_create(struct amber_cgroup *cg, const struct cgroup_place *where,
                  const struct cgroup_limits *lim, struct amber_error *err);
/* Write lim into the dirs of cg (the one writer of limit files). */
int cgroup_write_limits(const struct amber_cgroup *cg, const struct cgroup_limits *lim,
                        struct amber_error *err);
/* The dir of cg in the hierarchy carrying ctrl (v1), or its one dir (v2). */
const char *cgroup_dir_of(const struct amber_cgroup *cg, const char *ctrl);

/* The operations on a running sandbox's cgroup dirs, as recorded in its
 * state (paths, n): the verbs use these, nothing else opens a cgroup file. */
/* Freeze (true) or thaw every process; waits for v1's FREEZING to settle.
 * Returns 1 when no dir has a freezer, 0 done, -1 error. */
int cgroup_freeze(char *const *paths, int n, bool freeze, struct amber_error *err);
/* Move the calling (single-threaded) process into the dirs. */
int cgroup_join_self(char *const *paths, int n, struct amber_error *err);
/* Send sig to every process; returns how many were signalled. */
int cgroup_signal_all(char *const *paths, int n, int sig);
/* No process left (or no dir)? */
bool cgroup_is_empty(char *const *paths, int n);
/* Usage now, for `amber stats`: what the dirs have (0 = unknown). */
struct cgroup_usage {
    bool has_memory, has_pids, has_cpu;
    uint64_t memory, memory_max, pids, cpu_ns;
};
void cgroup_usage_read(char *const *paths, int n, struct cgroup_usage *u);
/* cgroup_remove_dirs, then the shared parent named parent_name of each
 * (OCI's default /amber/<id>) once it is empty. */
int cgroup_remove_with_parent(char *const *paths, int n, const char *parent_name,
                              struct amber_error *err);

/* Use a described host instead of this one (unit tests): mountinfo and
 * self_cgroup are the texts of /proc/self/mountinfo and /proc/self/cgroup
 * naming directories of a temporary tree. Control files there are plain
 * files: a write appends "VALUE\n" (the tree then shows every write, in
 * order). NULL texts go back to the host. */
void cgroup_host_describe(const char *mountinfo, const char *self_cgroup);

/* Detect the host layout (cached after the first call). */
enum cgroup_layout cgroup_detect_layout(void);
const char *cgroup_layout_name(enum cgroup_layout layout);
/* The manager for this host, NULL when no cgroup hierarchy is usable. */
const struct cgroup_manager *cgroup_manager_for_host(void);
/* Controllers available (space-separated, e.g. "cpu memory pids"), for
 * `amber check`. Returns a malloc'd string. */
char *cgroup_controllers(void);
/* Can this process create the cgroups lim would need? (rootless: usually not) */
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
 * reads and writes, for the managers (cgroup_v1.c, cgroup_v2.c) and the
 * limit writer (cgroup_limits.c) only. */

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
/* Does lim need a cgroup of controller ctrl ("memory", "cpu", ...)? */
bool cgroup_ctrl_needed(const struct cgroup_limits *lim, const char *ctrl);
/* Make (and record in cg) where's dir in the hierarchy mounted at mnt, in
 * which amber's own cgroup is own (NULL: unreachable). */
const char *cgroup_place_dir(struct amber_cgroup *cg, const struct cgroup_place *where,
                             const char *mnt, const char *own, struct amber_error *err);
/* Read dir/file (whole, NUL-terminated). 1, 0 when absent, -1 on error. */
int cgroup_read_text(const char *dir, const char *file, char *buf, size_t cap,
                     struct amber_error *err);
/* Write value to dir/file in one write(). */
int cgroup_write(const char *dir, const char *file, const char *value, struct amber_error *err);
/* The same for n values, one write(2) each through one open (a v1
 * devices.allow takes one rule per write). */
int cgroup_write_each(const char *dir, const char *file, const char *const *values, size_t n,
                      struct amber_error *err);
/* Read a file holding one number. Returns 1, 0 when the file does not exist
 * (controller or kernel feature absent), -1 on error. */
int cgroup_read_u64(const char *dir, const char *file, uint64_t *out, struct amber_error *err);
/* Read the "key N" line of a flat-keyed file (memory.events, cpu.stat, ...).
 * Returns 1, 0 when the file or key does not exist, -1 on error. */
int cgroup_read_key(const char *dir, const char *file, const char *key, uint64_t *out,
                    struct amber_error *err);

#endif
