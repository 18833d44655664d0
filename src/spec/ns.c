#include "spec/ns.h"

#include <sched.h>
#include <string.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

const struct amber_ns_kind amber_ns_kinds[AMBER_NS_COUNT] = {
    [AMBER_NS_USER] = {"user", "user", CLONE_NEWUSER},
    [AMBER_NS_CGROUP] = {"cgroup", "cgroup", CLONE_NEWCGROUP},
    [AMBER_NS_IPC] = {"ipc", "ipc", CLONE_NEWIPC},
    [AMBER_NS_UTS] = {"uts", "uts", CLONE_NEWUTS},
    [AMBER_NS_NET] = {"network", "net", CLONE_NEWNET},
    [AMBER_NS_PID] = {"pid", "pid", CLONE_NEWPID},
    [AMBER_NS_TIME] = {"time", "time", CLONE_NEWTIME},
    [AMBER_NS_MNT] = {"mount", "mnt", CLONE_NEWNS},
};

int amber_ns_by_name(const char *name)
{
    for (int k = 0; name != NULL && k < AMBER_NS_COUNT; k++)
        if (strcmp(amber_ns_kinds[k].name, name) == 0)
            return k;
    return -1;
}

enum amber_ns amber_sysctl_ns(const char *key)
{
    size_t n = strcspn(key, "=");

    if (strncmp(key, "net.", 4) == 0)
        return AMBER_NS_NET;
    if ((n == 15 && strncmp(key, "kernel.hostname", 15) == 0) ||
        (n == 17 && strncmp(key, "kernel.domainname", 17) == 0))
        return AMBER_NS_UTS;
    return AMBER_NS_IPC; /* kernel.msg*, sem*, shm*, fs.mqueue.* */
}
