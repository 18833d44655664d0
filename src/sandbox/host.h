/* What this host supports, for `amber check` and for backend decisions. */
#ifndef AMBER_HOST_H
#define AMBER_HOST_H

#include <stdbool.h>

#include "sandbox/cgroup.h"

struct amber_host {
    char kernel[128];
    char arch[32];
    bool rootless;
    bool ns_mnt, ns_pid, ns_net, ns_uts, ns_ipc, ns_cgroup, ns_user, ns_time;
    bool userns_unprivileged; /* unprivileged users may create user namespaces */
    int max_user_namespaces;
    int landlock_abi;
    bool seccomp_filter;
    bool openat2;
    enum cgroup_layout cgroup_layout;
    char cgroup_controllers[256];
    bool cgroup_writable;
    bool kvm;
    char runsc[256]; /* path, "" if absent */
    char qemu[256];
};

void host_probe(struct amber_host *h);

#endif
