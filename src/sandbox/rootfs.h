/* The sandbox's root filesystem, /dev and /proc (rootfs.c). */
#ifndef AMBER_ROOTFS_H
#define AMBER_ROOTFS_H

#include "sandbox/sandbox.h"
#include "spec/spec.h"

/* The nosuid/nodev/noexec/atime flags of the mount holding path: a bind
 * remount must carry them over (a user namespace locks them). */
unsigned long mount_flags_of(const char *path);
/* The mount flags of one of the spec's mounts: nosuid, nodev; noexec
 * unless it may be executed; read-only when it is. */
struct amber_mount;
unsigned long sandbox_mount_flags(const struct amber_mount *m);
/* Bind the host's device node host (/dev/null, ...) read-only at tofd (an
 * O_PATH fd) or, with tofd -1, at target: no metadata change reaches the
 * host's inode. */
int dev_bind_node(const char *host, int tofd, const char *target, struct amber_error *err);
/* Build the root filesystem, /dev, /proc, /etc and pivot into it. trees:
 * SANDBOX_MAX_MOUNTS + 1 entries, -1 or an idmapped tree (idmap.h) to
 * attach instead of binding the mount's source (the last: the rootfs). */
int rootfs_setup(const struct sandbox_plan *plan, const int *trees, struct amber_error *err);

/* The device nodes every sandbox and container gets in its /dev (the
 * host's, bound read-only), and the cgroup device rules that allow them:
 * the one table. */
struct amber_dev_node {
    const char *name; /* under /dev */
    int major, minor; /* character device */
};
extern const struct amber_dev_node amber_default_devices[];
extern const int amber_default_devices_count;

#endif
