/* An OCI bundle's linux.resources and linux.cgroupsPath in the terms of
 * the one cgroup manager (sandbox/cgroup.h), which makes the dirs and
 * writes the limits. */
#ifndef AMBER_OCI_CGROUP_H
#define AMBER_OCI_CGROUP_H

#include "oci/oci.h"
#include "sandbox/cgroup.h"

/* The limits as written in the bundle. */
void oci_cgroup_limits(const struct amber_oci *oci, struct cgroup_limits *lim);
/* Where: cgroupsPath ("/a/b" from each hierarchy's root, "a/b" below
 * amber's own cgroup; absent: /amber/<id>), a dir in every hierarchy
 * engines read, no cgroup for a rootless bundle without limits where the
 * tree is not writable (as runc and crun). path must hold PATH_MAX. */
void oci_cgroup_place(const struct amber_oci *oci, struct cgroup_place *where, char *path);
/* The parent removed with the container's cgroup once empty (/amber). */
#define OCI_CGROUP_PARENT "amber"

#endif
