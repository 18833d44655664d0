/* amber_spec: the one model every front-end fills (CLI flags, --config
 * launch file, later OCI bundles and HTTP requests) and every backend
 * consumes. Plain data; spec_validate() applies the mode rules in one place. */
#ifndef AMBER_SPEC_H
#define AMBER_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
};

struct amber_ulimit {
    int resource; /* RLIMIT_* */
    uint64_t soft;
    uint64_t hard;
};

#define AMBER_UNLIMITED UINT64_MAX

struct amber_spec {
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
    char *backend; /* "native" (default) or "process" */
    bool allow_degraded;
    bool allow_chroot_fallback;

    /* limits; 0 = none */
    uint64_t memory;     /* bytes */
    uint64_t cpus_milli; /* CPUs * 1000 */
    uint64_t pids;
    bool pids_set; /* --pids given (else the default applies where cgroups work) */
    struct amber_ulimit *ulimits;
    size_t nulimits;
    uint64_t timeout_ns;

    /* outputs */
    char *result_json;

    /* filled by spec_validate() */
    bool rootless; /* amber is not running as host root */
};

#define AMBER_DEFAULT_PIDS 4096
#define AMBER_DEFAULT_HOSTNAME "amber"
#define AMBER_HOME "/home/agent"
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

/* Fill spec from a JSON launch file (keys = long flag names in snake_case,
 * the command under "command"). Unknown keys are errors. */
int spec_from_json_file(struct amber_spec *spec, const char *path, struct amber_error *err);

#endif
