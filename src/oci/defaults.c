/* `amber spec` (a hardened default config.json) and `amber features`. */
#include <jansson.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "oci/oci.h"
#include "sandbox/caps.h"

/* System calls a container has no business making: kernel modules, other
 * processes' memory, new mount APIs, keyrings, BPF, perf, io_uring, clocks,
 * reboot, swap, namespaces. Everything else is allowed: the default config
 * must run ordinary programs; tighten it with `amber run`'s own allowlist
 * or an engine's profile. */
static const char *const denied[] = {
    "acct",
    "add_key",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "delete_module",
    "finit_module",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "init_module",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "ioperm",
    "iopl",
    "kcmp",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "mount",
    "mount_setattr",
    "move_mount",
    "name_to_handle_at",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "pidfd_getfd",
    "pivot_root",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
    "quotactl",
    "reboot",
    "request_key",
    "setns",
    "settimeofday",
    "swapoff",
    "swapon",
    "syslog",
    "umount2",
    "unshare",
    "userfaultfd",
    "vhangup",
};

/* Every namespace flag clone(2) takes: one rule each (the rules of one
 * entry's args all have to hold). */
static const unsigned long clone_ns[] = {CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                         CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET};

static json_t *strs(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *mnt(const char *dst, const char *type, const char *src, const char *opts)
{
    json_t *o = json_array();
    const char *p = opts;

    while (*p != '\0') {
        size_t n = 0;
        while (p[n] != '\0' && p[n] != ',')
            n++;
        json_array_append_new(o, json_stringn(p, n));
        p += n + (p[n] == ',');
    }
    return json_pack("{s:s,s:s,s:s,s:o}", "destination", dst, "type", type, "source", src,
                     "options", o);
}

char *oci_default_config(bool rootless)
{
    static const char *const masked[] = {"/proc/acpi",
                                         "/proc/asound",
                                         "/proc/kcore",
                                         "/proc/keys",
                                         "/proc/latency_stats",
                                         "/proc/timer_list",
                                         "/proc/timer_stats",
                                         "/proc/sched_debug",
                                         "/proc/scsi",
                                         "/sys/firmware",
                                         "/sys/devices/virtual/powercap"};
    static const char *const ro[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                     "/proc/sysrq-trigger"};
    static const char *const ns[] = {"pid", "network", "ipc", "uts", "mount", "cgroup"};
    json_t *namespaces = json_array();
    json_t *mounts = json_array();
    json_t *linux_, *seccomp, *syscalls;
    json_t *doc;
    char *text;

    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
        json_array_append_new(namespaces, json_pack("{s:s}", "type", ns[i]));
    json_array_append_new(mounts, mnt("/proc", "proc", "proc", "nosuid,noexec,nodev"));
    json_array_append_new(mounts,
                          mnt("/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"));
    json_array_append_new(mounts, mnt("/dev/pts", "devpts", "devpts",
                                      "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620"));
    json_array_append_new(
        mounts, mnt("/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k"));
    json_array_append_new(mounts, mnt("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
    json_array_append_new(mounts, mnt("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"));
    json_array_append_new(
        mounts, mnt("/tmp", "tmpfs", "tmpfs", "nosuid,nodev,noexec,mode=1777,size=65536k"));
    /* New namespaces come from unshare (denied above), clone with a
     * CLONE_NEW* flag, and clone3, whose flags sit in memory a filter
     * cannot read: ENOSYS makes libc fall back to clone. A new user
     * namespace would hand the container a full capability set over
     * everything it creates in it. */
    syscalls = json_pack("[{s:o,s:s,s:i},{s:[s],s:s,s:i}]", "names",
                         strs(denied, sizeof(denied) / sizeof(denied[0])), "action",
                         "SCMP_ACT_ERRNO", "errnoRet", 1, "names", "clone3", "action",
                         "SCMP_ACT_ERRNO", "errnoRet", 38 /* ENOSYS */);
    for (size_t i = 0; i < sizeof(clone_ns) / sizeof(clone_ns[0]); i++)
        json_array_append_new(syscalls,
                              json_pack("{s:[s],s:s,s:i,s:[{s:i,s:I,s:I,s:s}]}", "names", "clone",
                                        "action", "SCMP_ACT_ERRNO", "errnoRet", 1, "args", "index",
                                        0, "value", (json_int_t)clone_ns[i], "valueTwo",
                                        (json_int_t)clone_ns[i], "op", "SCMP_CMP_MASKED_EQ"));
    seccomp = json_pack("{s:s,s:[s,s,s],s:o}", "defaultAction", "SCMP_ACT_ALLOW", "architectures",
                        "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "syscalls", syscalls);
    linux_ = json_pack("{s:o,s:{s:[{s:b,s:s}],s:{s:i}},s:o,s:o,s:o}", "namespaces", namespaces,
                       "resources", "devices", "allow", 0, "access", "rwm", "pids", "limit", 4096,
                       "maskedPaths", strs(masked, sizeof(masked) / sizeof(masked[0])),
                       "readonlyPaths", strs(ro, sizeof(ro) / sizeof(ro[0])), "seccomp", seccomp);
    if (rootless) {
        /* Without root there is usually no cgroup to put a limit in. */
        json_object_del(json_object_get(linux_, "resources"), "pids");
        json_array_append_new(namespaces, json_pack("{s:s}", "type", "user"));
        json_object_set_new(
            linux_, "uidMappings",
            json_pack("[{s:i,s:i,s:i}]", "containerID", 0, "hostID", (int)geteuid(), "size", 1));
        json_object_set_new(
            linux_, "gidMappings",
            json_pack("[{s:i,s:i,s:i}]", "containerID", 0, "hostID", (int)getegid(), "size", 1));
    }
    doc = json_pack("{s:s,s:{s:b,s:{s:i,s:i},s:[s],s:[s,s],s:s,s:{s:[],s:[],s:[],s:[],s:[]},"
                    "s:[{s:s,s:i,s:i}],s:b},s:{s:s,s:b},s:s,s:o,s:o}",
                    "ociVersion", OCI_VERSION, "process", "terminal", 0, "user", "uid", 0, "gid", 0,
                    "args", "sh", "env",
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "TERM=xterm", "cwd", "/", "capabilities", "bounding", "effective", "permitted",
                    "inheritable", "ambient", "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024,
                    "soft", 1024, "noNewPrivileges", 1, "root", "path", "rootfs", "readonly", 1,
                    "hostname", "amber", "mounts", mounts, "linux", linux_);
    text = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    return text;
}

char *oci_features(void)
{
    static const char *const hooks[] = {"prestart",       "createRuntime", "createContainer",
                                        "startContainer", "poststart",     "poststop"};
    static const char *const mount_opts[] = {
        "async",      "atime",         "bind",    "defaults", "dev",         "diratime",  "dirsync",
        "exec",       "mand",          "noatime", "nodev",    "nodiratime",  "noexec",    "nomand",
        "norelatime", "nostrictatime", "nosuid",  "private",  "rbind",       "relatime",  "remount",
        "ro",         "rprivate",      "rshared", "rslave",   "runbindable", "rw",        "shared",
        "slave",      "strictatime",   "suid",    "sync",     "tmpcopyup",   "unbindable"};
    static const char *const ns[] = {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"};
    static const char *const actions[] = {
        "SCMP_ACT_ALLOW",       "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",   "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"};
    static const char *const ops[] = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
                                      "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
                                      "SCMP_CMP_NE"};
    static const char *const archs[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
                                        "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
    json_t *caps = json_array();
    json_t *doc;
    char *text;

    for (int c = 0; caps_name(c) != NULL; c++)
        json_array_append_new(caps, json_string(caps_name(c)));
    doc = json_pack(
        "{s:s,s:s,s:o,s:o,s:{s:o,s:o,s:{s:b,s:b,s:b,s:b},s:{s:b,s:o,s:o,s:o},s:{s:b},s:{s:b}},"
        "s:{}}",
        "ociVersionMin", "1.0.0", "ociVersionMax", OCI_VERSION, "hooks",
        strs(hooks, sizeof(hooks) / sizeof(hooks[0])), "mountOptions",
        strs(mount_opts, sizeof(mount_opts) / sizeof(mount_opts[0])), "linux", "namespaces",
        strs(ns, sizeof(ns) / sizeof(ns[0])), "capabilities", caps, "cgroup", "v1", 1, "v2", 1,
        "systemd", 0, "systemdUser", 0, "seccomp", "enabled", 1, "actions",
        strs(actions, sizeof(actions) / sizeof(actions[0])), "operators",
        strs(ops, sizeof(ops) / sizeof(ops[0])), "archs",
        strs(archs, sizeof(archs) / sizeof(archs[0])), "apparmor", "enabled", 0, "selinux",
        "enabled", 0, "annotations");
    text = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    return text;
}
