/* Cgroups of OCI containers: the bundle's resources and path handed to
 * the one cgroup manager. Unlike amber's own sandboxes (a child of amber's
 * cgroup, only where a limit needs one), an OCI container lives at the
 * bundle's linux.cgroupsPath, which engines name and read back (podman:
 * /libpod_parent/libpod-<id>), in every hierarchy an engine may look at;
 * and it outlives the `create` process, so `delete` removes it. */
#include "oci/cgroup.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

void oci_cgroup_limits(const struct amber_oci *oci, struct cgroup_limits *lim)
{
    const struct oci_resources *r = &oci->res;

    memset(lim, 0, sizeof(*lim));
    lim->memory = r->memory > 0 ? (uint64_t)r->memory : 0;
    lim->memory_swap = r->memory_swap;
    lim->memory_reservation = r->memory_reservation > 0 ? (uint64_t)r->memory_reservation : 0;
    lim->cpu_shares = r->cpu_shares;
    lim->cpu_quota = r->cpu_quota;
    lim->cpu_period = r->cpu_period;
    lim->cpuset_cpus = r->cpuset_cpus;
    lim->cpuset_mems = r->cpuset_mems;
    lim->pids = r->pids;
    lim->devrules = oci->devrules;
    lim->ndevrules = oci->ndevrules;
}

void oci_cgroup_place(const struct amber_oci *oci, struct cgroup_place *where, char *path)
{
    memset(where, 0, sizeof(*where));
    if (oci->cgroups_path != NULL)
        snprintf(path, PATH_MAX, "%s", oci->cgroups_path);
    else
        snprintf(path, PATH_MAX, "/" OCI_CGROUP_PARENT "/%s", oci->id);
    where->path = path;
    where->every_hierarchy = true;
    where->optional = true;
}
