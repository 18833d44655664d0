/* Host probing: read-only checks of what the kernel and the machine offer. */
#include "sandbox/host.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "sandbox/landlock.h"
#include "util/fs.h"

static bool find_in_path(const char *name, char *out, size_t cap)
{
    const char *path = getenv("PATH");
    char buf[4096];
    char *save = NULL;

    if (path == NULL || strlen(path) >= sizeof(buf))
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *d = strtok_r(buf, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, cap, "%s/%s", d, name);
        if (access(out, X_OK) == 0)
            return true;
    }
    out[0] = '\0';
    return false;
}

static int read_int(const char *path, int dflt)
{
    char buf[64];
    struct amber_error ignore;

    if (fs_read_file(path, buf, sizeof(buf), &ignore) < 0)
        return dflt;
    return atoi(buf);
}

void host_probe(struct amber_host *h)
{
    struct utsname u;
    struct open_how how = {.flags = O_PATH | O_CLOEXEC};
    int fd;
    char *ctl;

    memset(h, 0, sizeof(*h));
    if (uname(&u) == 0) {
        snprintf(h->kernel, sizeof(h->kernel), "%s %s", u.sysname, u.release);
        snprintf(h->arch, sizeof(h->arch), "%s", u.machine);
    }
    h->rootless = geteuid() != 0;
    h->ns_mnt = access("/proc/self/ns/mnt", F_OK) == 0;
    h->ns_pid = access("/proc/self/ns/pid", F_OK) == 0;
    h->ns_net = access("/proc/self/ns/net", F_OK) == 0;
    h->ns_uts = access("/proc/self/ns/uts", F_OK) == 0;
    h->ns_ipc = access("/proc/self/ns/ipc", F_OK) == 0;
    h->ns_cgroup = access("/proc/self/ns/cgroup", F_OK) == 0;
    h->ns_user = access("/proc/self/ns/user", F_OK) == 0;
    h->ns_time = access("/proc/self/ns/time", F_OK) == 0;
    h->max_user_namespaces = read_int("/proc/sys/user/max_user_namespaces", 0);
    h->userns_unprivileged =
        h->ns_user && h->max_user_namespaces > 0 &&
        read_int("/proc/sys/kernel/unprivileged_userns_clone", 1) != 0 &&
        read_int("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", 0) == 0;
    h->landlock_abi = landlock_abi_version();
    h->seccomp_filter = access("/proc/sys/kernel/seccomp/actions_avail", F_OK) == 0;
    fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
    h->openat2 = fd >= 0;
    if (fd >= 0)
        close(fd);
    h->cgroup_layout = cgroup_detect_layout();
    ctl = cgroup_controllers();
    snprintf(h->cgroup_controllers, sizeof(h->cgroup_controllers), "%s", ctl ? ctl : "");
    free(ctl);
    {
        struct cgroup_limits lim;
        cgroup_limits_from_amber(&lim, 1, 1, 1, false);
        h->cgroup_writable = cgroup_manager_for_host() != NULL && cgroup_writable(&lim);
    }
    h->kvm = access("/dev/kvm", R_OK | W_OK) == 0;
    find_in_path("runsc", h->runsc, sizeof(h->runsc));
    if (!find_in_path("qemu-system-x86_64", h->qemu, sizeof(h->qemu)))
        find_in_path("qemu-system-aarch64", h->qemu, sizeof(h->qemu));
}
