/* The one table of namespace kinds: their OCI names ("mount", "network"),
 * their files under /proc/PID/ns/ ("mnt", "net") and their clone flags.
 *
 * The order is the order a process enters them: the user namespace first
 * (it grants the rights for the others), the mount namespace last (it
 * changes root and cwd). "time" is entered through PID 1's
 * time_for_children (a time namespace applies to children only). */
#ifndef AMBER_NS_H
#define AMBER_NS_H

enum amber_ns {
    AMBER_NS_USER = 0,
    AMBER_NS_CGROUP,
    AMBER_NS_IPC,
    AMBER_NS_UTS,
    AMBER_NS_NET,
    AMBER_NS_PID,
    AMBER_NS_TIME,
    AMBER_NS_MNT,
    AMBER_NS_COUNT,
};

struct amber_ns_kind {
    const char *name; /* as the OCI spec names it: "mount", "network", ... */
    const char *file; /* under /proc/PID/ns/: "mnt", "net", ... */
    int clone_flag;   /* CLONE_NEW* */
};

extern const struct amber_ns_kind amber_ns_kinds[AMBER_NS_COUNT];

static inline const char *amber_ns_name(enum amber_ns ns)
{
    return amber_ns_kinds[ns].name;
}
static inline const char *amber_ns_file(enum amber_ns ns)
{
    return amber_ns_kinds[ns].file;
}
/* The kind of an OCI name, -1 if unknown. */
int amber_ns_by_name(const char *name);
/* The namespace a sysctl ("net.x", "kernel.hostname" or "key=value")
 * belongs to: network, uts or ipc. */
enum amber_ns amber_sysctl_ns(const char *key);

#endif
