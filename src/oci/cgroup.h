/* Cgroups of OCI containers (see cgroup.c). */
#ifndef AMBER_OCI_CGROUP_H
#define AMBER_OCI_CGROUP_H

#include <stdbool.h>

#include "oci/oci.h"

#define OCI_CGROUP_MAX 8

struct oci_cgroup {
    bool v2;
    int n;
    char *paths[OCI_CGROUP_MAX];
};

/* Create the container's cgroup dirs (mkdir -p) and write the limits. On
 * failure the leaf dirs are removed again. No hierarchy: n = 0. */
int oci_cgroup_create(const struct amber_oci *oci, struct oci_cgroup *cg, struct amber_error *err);
/* Open the file through which the container's first process joins each
 * dir (it writes "0"). fds must hold OCI_CGROUP_MAX; returns how many. */
int oci_cgroup_open_join(const struct oci_cgroup *cg, int *fds, struct amber_error *err);
/* Remove the dirs (waiting briefly for the last tasks to go). */
int oci_cgroup_remove(char *const *paths, int n, struct amber_error *err);
/* Send sig to every process of the cgroup; returns how many were signalled. */
int oci_cgroup_signal(char *const *paths, int n, int sig);
bool oci_cgroup_empty(char *const *paths, int n);
void oci_cgroup_free(struct oci_cgroup *cg);

#endif
