/* amber_spec: the one model every front-end fills (CLI flags, --config
 * launch file, OCI bundles with src/oci/, later HTTP requests) and every backend
 * consumes. Plain data; spec_validate() applies the mode rules in one place. */
#ifndef AMBER_SPEC_H
#define AMBER_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "spec/written.h"
#include "util/error.h"

enum amber_mode {
    AMBER_MODE_AGENT = 0,   /* default: fast; degrade only with --allow-degraded-security */
    AMBER_MODE_STRICT_AGENT /* fail closed; user namespace when amber runs as root */
};

enum amber_network {
    AMBER_NET_NONE = 0, /* new network namespace with only loopback, up */
    AMBER_NET_HOST,     /* the host's network; needs allow_host_network */
};

enum amber_rootfs_mode {
    AMBER_ROOTFS_BIND = 0, /* --rootfs DIR bound read-only */
    AMBER_ROOTFS_OVERLAY,  /* DIR as the lower layer, tmpfs upper: writable, discarded */
};

enum amber_userns {
    AMBER_USERNS_DEFAULT = 0, /* decided by spec_validate(): mode and privilege */
    AMBER_USERNS_HOST,        /* no user namespace */
    AMBER_USERNS_AUTO,        /* new user namespace: an unprivileged host range as root,
                                 the caller's own id when rootless */
    AMBER_USERNS_KEEP_ID,     /* rootless: your uid/gid inside are the same as outside */
    AMBER_USERNS_NOMAP,       /* rootless: only your subordinate ids are mapped, not your
                                 own (newuidmap); the workload cannot touch your files */
};

/* A filesystem the sandbox gets besides its root (--volume, --tmpfs,
 * --workspace, --context bind, --provider-config-*). */
enum amber_mount_kind {
    AMBER_MOUNT_BIND = 0,
    AMBER_MOUNT_TMPFS,
};

enum amber_mount_role {
    AMBER_ROLE_VOLUME = 0,
    AMBER_ROLE_TMPFS,
    AMBER_ROLE_WORKSPACE,
    AMBER_ROLE_CONTEXT,
    AMBER_ROLE_PROVIDER_CONFIG,
};

struct amber_mount {
    enum amber_mount_kind kind;
    enum amber_mount_role role;
    char *src; /* host path (bind), absolute after validation */
    char *dst; /* absolute path inside the sandbox */
    bool readonly;
    bool exec;     /* executable (otherwise noexec and no Landlock execute right) */
    uint64_t size; /* tmpfs size in bytes, 0 = kernel default */
    int mode;      /* tmpfs mode, -1 = default (1777 for tmpfs) */
};

enum amber_context_mode { AMBER_CONTEXT_COPY = 0, AMBER_CONTEXT_BIND };
enum amber_workspace_mode {
    AMBER_WORKSPACE_BIND_RW = 0,
    AMBER_WORKSPACE_BIND_RO,
    AMBER_WORKSPACE_COPY_IN_OUT,
};

/* --secret SRC:DST: SRC's bytes are copied into /run/secrets/DST. */
struct amber_secret {
    char *src;
    char *name; /* file name under /run/secrets */
};

/* One user namespace id map line: ids inside..inside+count map to
 * outside..outside+count on the host. */
struct amber_idmap {
    uint32_t inside;
    uint32_t outside;
    uint32_t count;
};

struct amber_ulimit {
    int resource; /* RLIMIT_* */
    uint64_t soft;
    uint64_t hard;
};

#define AMBER_UNLIMITED UINT64_MAX

/* Whose defaults apply to what a spec leaves open. */
enum amber_defaults {
    AMBER_DEFAULTS_HARDENED = 0, /* amber's own front-ends: every hardening default */
    AMBER_DEFAULTS_AS_WRITTEN,   /* OCI bundles: exactly what config.json says */
};

struct amber_spec {
    enum amber_defaults defaults;

    /* what runs */
    char **argv; /* NULL-terminated */
    size_t argc;
    char **env; /* "NAME=VALUE", NULL-terminated; the complete environment */
    size_t nenv;
    char *workdir;  /* absolute; NULL = HOME */
    char *hostname; /* NULL = "amber" */
    bool has_user;
    uint32_t uid;
    uint32_t gid;
    bool keep_ld_env; /* keep LD_* variables given with --env */

    /* root filesystem */
    char *rootfs; /* NULL: tmpfs root with the host's system dirs read-only */
    enum amber_rootfs_mode rootfs_mode;

    /* isolation */
    enum amber_network network;
    bool allow_host_network;
    enum amber_userns userns;
    bool time_ns;
    enum amber_mode mode;
    char *backend; /* a backend's name (src/backend/registry.c); NULL: the default */
    bool allow_degraded;
    bool allow_chroot_fallback;
    bool allow_jit;        /* --allow-jit: W+X pages and memfds (the JIT seccomp variant) */
    bool allow_write_exec; /* --allow-write-exec: /tmp, /dev/shm, home, writable volumes exec */

    /* limits; 0 = none */
    uint64_t memory;     /* bytes; the default unless memory_set */
    bool memory_set;     /* --memory given ("unlimited" leaves memory 0) */
    uint64_t cpus_milli; /* CPUs * 1000 */
    uint64_t pids;
    bool pids_set; /* --pids given (else the default applies where cgroups work) */
    struct amber_ulimit *ulimits;
    size_t nulimits;
    uint64_t timeout_ns;

    /* what the workload gets to work with (issue: the agent's surface) */
    struct amber_mount *mounts;
    size_t nmounts;
    char *context; /* --context DIR (host) */
    enum amber_context_mode context_mode;
    bool context_mode_set;
    char **context_excludes; /* --context-exclude PATTERN */
    size_t ncontext_excludes;
    bool context_verbose;
    bool verify_context;
    char *workspace; /* --workspace DIR (host) */
    enum amber_workspace_mode workspace_mode;
    bool workspace_mode_set;
    bool workspace_exec;
    char *home; /* --home PATH inside; NULL = AMBER_HOME */
    struct amber_secret *secrets;
    size_t nsecrets;
    char **secret_env; /* from --env-fd: "NAME=VALUE", kept out of logs and the digest */
    size_t nsecret_env;
    char **exec_env; /* filled by spec_validate(): env + secret_env, what exec gets */

    /* identity */
    bool has_group; /* --group overrides the gid of --user */
    uint32_t group;
    uint32_t *groups; /* --additional-group */
    size_t ngroups;
    struct amber_idmap *uidmap; /* --uidmap C:H:N */
    struct amber_idmap *gidmap; /* --gidmap C:H:N */
    size_t nuidmap, ngidmap;

    /* process */
    int init;         /* --init: 1 on, 0 off (--no-init), -1 mode default */
    bool tty;         /* -t */
    bool interactive; /* -i: keep stdin open (otherwise /dev/null) */

    /* outputs */
    char *result_json;

    bool freezable; /* set by `run -d`: the sandbox may be paused (freezer cgroup) */
    bool enterable; /* set by `run -d`: PID 1 hands its namespaces out for `exec` */
    bool hold;      /* set by `create`: build the sandbox, start the workload on release */

    /* With AMBER_DEFAULTS_AS_WRITTEN: everything else the front-end said
     * (mount table, capability sets, namespaces, seccomp policy, devices,
     * hooks, cgroup path and resources, ...); zeroed otherwise. */
    struct amber_written written;

    /* filled by spec_validate() */
    bool rootless; /* amber is not running as host root */
};

/* How long each list of a spec may be. spec_validate() checks these first,
 * before any work that grows with a list, so a launch file of megabytes is
 * refused in microseconds, not validated for minutes. The native backend
 * sizes its plan with them (sandbox/sandbox.h). */
#define AMBER_MAX_MOUNTS 64     /* --volume, --tmpfs, --provider-config-*, workspace, context */
#define AMBER_MAX_IDMAP 8       /* --uidmap, and --gidmap, lines */
#define AMBER_MAX_GROUPS 31     /* --additional-group (with the primary gid: 32) */
#define AMBER_MAX_SECRETS 64    /* --secret */
#define AMBER_MAX_ENV 4096      /* --env, --env-fd variables */
#define AMBER_MAX_EXCLUDES 1024 /* --context-exclude */

/* The ranges of the limits, the same from every front-end (flags, launch
 * files, OCI bundles): spec_check_limit() is the one check. */
#define AMBER_MIN_MEMORY (4ULL << 20)
#define AMBER_MAX_MEMORY (1ULL << 60) /* 1 EiB: above, a cgroup file would read it as "max" */
#define AMBER_MAX_PIDS 4194304ULL
enum amber_limit_kind { AMBER_LIMIT_MEMORY, AMBER_LIMIT_PIDS };
/* what names the field in the error ("--memory", "linux.resources.memory.limit"). */
int spec_check_limit(enum amber_limit_kind kind, uint64_t value, const char *what,
                     struct amber_error *err);

#define AMBER_DEFAULT_PIDS 4096
/* The memory limit (swap included) of a sandbox without --memory. */
#define AMBER_DEFAULT_MEMORY (1ULL << 30)
#define AMBER_DEFAULT_HOSTNAME "amber"
#define AMBER_HOME "/home/agent"
#define AMBER_WORKSPACE "/workspace"
#define AMBER_CONTEXT "/context"
#define AMBER_SECRETS "/run/secrets"
#define AMBER_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

void spec_init(struct amber_spec *spec);
void spec_free(struct amber_spec *spec);

/* Set or replace NAME in the environment ("NAME=VALUE"). */
void spec_setenv(struct amber_spec *spec, const char *name, const char *value);
const char *spec_getenv(const struct amber_spec *spec, const char *name);
/* Add or replace a ulimit. */
void spec_set_ulimit(struct amber_spec *spec, int resource, uint64_t soft, uint64_t hard);

/* Apply defaults and the mode rules; returns -1 with err naming the culprit.
 * `euid` is the caller's effective uid (passed in so tests can vary it). */
int spec_validate(struct amber_spec *spec, uid_t euid, struct amber_error *err);

/* SHA-256 of the spec's canonical JSON form, as 64 hex chars + NUL. */
int spec_digest(const struct amber_spec *spec, char out[65], struct amber_error *err);

const char *spec_mode_name(enum amber_mode mode);
int spec_mode_parse(const char *s, enum amber_mode *out);
/* "nofile" -> RLIMIT_NOFILE */
int spec_rlimit_parse(const char *name, int *resource);
const char *spec_rlimit_name(int resource);
/* "NAME=SOFT[:HARD]"; "unlimited" allowed. */
int spec_parse_ulimit(const char *s, struct amber_spec *spec, struct amber_error *err);

/* Fill spec from a launch file, JSON or TOML (by content: a document
 * starting with '{' is JSON). Keys are the long flag names in snake_case,
 * the command under "command". Unknown keys are errors. `name` is used in
 * messages. */
int spec_from_config_text(struct amber_spec *spec, const char *text, size_t len, const char *name,
                          struct amber_error *err);
int spec_from_config_file(struct amber_spec *spec, const char *path, struct amber_error *err);
/* Read the launch file from fd (--config-fd N). */
int spec_from_config_fd(struct amber_spec *spec, int fd, struct amber_error *err);
/* Read a JSON object {"NAME": "VALUE"} or array ["NAME=VALUE"] from fd
 * (--env-fd N) into spec->secret_env. Values never appear in messages. */
int spec_read_env_fd(struct amber_spec *spec, int fd, struct amber_error *err);

/* The home directory inside the sandbox (--home, default /home/agent). */
const char *spec_home(const struct amber_spec *spec);
/* The workload's working directory inside (--workdir, else /workspace
 * with --workspace, else the home). */
const char *spec_workdir(const struct amber_spec *spec);

#endif
