/* Idmapped mounts: how a sandbox whose ids are an unprivileged host range
 * (a user namespace as host root) still reads and writes the caller's
 * files as their owner.
 *
 * A host directory bound into such a sandbox is seen through an idmapped
 * mount (Linux 5.12; mount_setattr MOUNT_ATTR_IDMAP): its owner's uid and
 * gid on disk appear as the workload's own ids, and what the workload
 * creates there is owned on disk by the directory's owner, as if that user
 * had written it. Nothing else is mapped: files of other owners stay
 * foreign (nobody), and no other host id is lent to the sandbox (in strict-agent mode not even for
 * a directory root owns: that one is bound as it is). The trees are made by amber on the host side
 * (only host root may idmap a host file system) and attached in the sandbox by move_mount. */
#ifndef AMBER_IDMAP_H
#define AMBER_IDMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

/* A user namespace (its fd) mapping only disk_uid to uid and disk_gid to
 * gid (host ids), made by a short-lived child. -1 with err on failure. */
int idmap_userns(uint32_t disk_uid, uint32_t uid, uint32_t disk_gid, uint32_t gid,
                 struct amber_error *err);

/* A detached copy of the mount tree at srcfd (an O_PATH fd of src, which
 * names it in errors; with its submounts), idmapped
 * through userns_fd, with ms_flags (MS_RDONLY, MS_NOSUID, MS_NODEV,
 * MS_NOEXEC) set on all of it. If a submount's file system cannot be
 * idmapped, the top mount alone (*partial). Returns the tree's fd. */
int idmap_tree(int srcfd, const char *src, int userns_fd, unsigned long ms_flags, bool *partial,
               struct amber_error *err);

/* Attach a detached tree at tofd (an O_PATH fd, AT_EMPTY_PATH) or, with
 * tofd -1, at topath. */
int mount_move_tree(int tree, int tofd, const char *topath, struct amber_error *err);

/* MOUNT_ATTR_* for the MS_* flags among RDONLY, NOSUID, NODEV, NOEXEC. */
uint64_t mount_attr_of(unsigned long ms_flags);

/* Set those flags on the mount at path (relative to dirfd; "" for dirfd
 * itself) and on every mount below it: a recursive bind must not bring a
 * writable or exec submount in under a read-only or noexec one. */
int mount_set_recursive(int dirfd, const char *path, unsigned long ms_flags,
                        struct amber_error *err);

#endif
