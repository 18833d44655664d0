/* The OCI runtime front-end: a bundle's config.json becomes an amber_spec
 * (what every backend understands: the command, environment, ids, rlimits,
 * root, terminal, id maps) plus a struct amber_oci for what only an OCI
 * engine asks for and amber's own front-ends never do (an explicit mount
 * table, capability sets, a seccomp profile, masked paths, namespaces to
 * join, devices, sysctls, hooks, a cgroup path).
 *
 * Fields amber does not implement are refused with an error naming the
 * field; nothing in a bundle is silently ignored (docs/oci.md lists every
 * field and its status). */
#ifndef AMBER_OCI_H
#define AMBER_OCI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/seccomp.h"
#include "sandbox/caps.h"
#include "sandbox/cgroup.h"
#include "spec/spec.h"
#include "util/error.h"

#define OCI_VERSION "1.0.2"

enum oci_ns {
    OCI_NS_USER = 0, /* first: joining or creating it changes what the others may do */
    OCI_NS_MNT,
    OCI_NS_PID,
    OCI_NS_NET,
    OCI_NS_IPC,
    OCI_NS_UTS,
    OCI_NS_CGROUP,
    OCI_NS_TIME,
    OCI_NS_COUNT,
};

struct oci_mount {
    char *dst;
    char *src;
    char *type;
    char *data;                /* fs-specific options ("mode=755,size=65536k") */
    unsigned long flags;       /* MS_* of the mount itself */
    unsigned long propagation; /* MS_PRIVATE / MS_SLAVE / ... (| MS_REC), 0 = none */
    bool bind;                 /* "bind" or "rbind" in options, or type "bind" */
    bool recursive;            /* "rbind" */
    bool copy_up;              /* "tmpcopyup": a tmpfs starts with the image's files */
};

struct oci_device {
    char *path;
    char type; /* 'c', 'b', 'p' (fifo) */
    int64_t major, minor;
    mode_t mode;
    uid_t uid;
    gid_t gid;
};

struct oci_hook {
    char *path;
    char **args; /* NULL-terminated, may be NULL */
    char **env;
    int timeout; /* seconds, 0 = none */
};

enum oci_hook_kind {
    OCI_HOOK_PRESTART = 0,
    OCI_HOOK_CREATE_RUNTIME,
    OCI_HOOK_CREATE_CONTAINER,
    OCI_HOOK_START_CONTAINER,
    OCI_HOOK_POSTSTART,
    OCI_HOOK_POSTSTOP,
    OCI_HOOK_COUNT,
};

struct oci_resources {
    int64_t memory;      /* bytes, 0 = none */
    int64_t memory_swap; /* memory + swap, bytes; -1 = unlimited, 0 = not set */
    int64_t memory_reservation;
    uint64_t cpu_shares;
    int64_t cpu_quota; /* us per period, 0 = none */
    uint64_t cpu_period;
    char *cpuset_cpus;
    char *cpuset_mems;
    int64_t pids; /* 0 = none, -1 = unlimited */
};

struct amber_oci {
    char *bundle; /* absolute */
    char *id;
    bool root_readonly;
    unsigned long rootfs_propagation; /* MS_* | MS_REC; default MS_SLAVE | MS_REC (runc) */
    struct oci_mount *mounts;
    size_t nmounts;
    bool ns_new[OCI_NS_COUNT];   /* a new namespace of this type */
    char *ns_path[OCI_NS_COUNT]; /* ... or join the one at this path */
    uint64_t caps[5];            /* bounding, effective, permitted, inheritable, ambient */
    bool no_new_privs;
    bool has_umask;
    mode_t umask;
    bool has_oom_score_adj;
    int oom_score_adj;
    char *domainname;
    char **masked; /* NULL-terminated */
    char **readonly;
    char **sysctl; /* "key=value", NULL-terminated */
    struct oci_device *devices;
    size_t ndevices;
    struct cgroup_devrule *devrules; /* linux.resources.devices */
    size_t ndevrules;
    struct oci_hook *hooks[OCI_HOOK_COUNT];
    size_t nhooks[OCI_HOOK_COUNT];
    char *cgroups_path; /* NULL = /amber/<id> */
    struct oci_resources res;
    bool has_seccomp;
    struct seccomp_program seccomp;
    unsigned short console_rows, console_cols;
    char *annotations; /* JSON object text, for `state` */
};

/* Parse <bundle>/config.json into spec (initialised by the caller) and oci;
 * *text (if text != NULL) gets the file's text.
 * Errors name the field ("config.json: process.args: must be a non-empty
 * array"). */
int oci_config_load(const char *bundle, const char *id, struct amber_spec *spec,
                    struct amber_oci *oci, char **text, struct amber_error *err);
/* Parse a config.json text (also used for `exec --process`: with
 * process_only the text is a process object). */
int oci_config_parse(const char *text, size_t len, struct amber_spec *spec, struct amber_oci *oci,
                     bool process_only, struct amber_error *err);
void oci_free(struct amber_oci *oci);

const char *oci_ns_name(enum oci_ns ns);
/* Its file under /proc/PID/ns/ ("mnt" for mount, "net" for network). */
const char *oci_ns_proc_name(enum oci_ns ns);
/* The namespace a sysctl ("net.x", "kernel.hostname" or "key=value")
 * belongs to: network, uts or ipc. */
enum oci_ns oci_sysctl_ns(const char *key);

/* The hardened default config.json (`amber spec`), as JSON text (malloc'd). */
char *oci_default_config(bool rootless);
/* The `features` document (malloc'd JSON text). */
char *oci_features(void);

#endif
