/* amber check: what this host supports, as text or JSON. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "sandbox/seccomp.h"

static const char *yn(bool b)
{
    return b ? "yes" : "no";
}

/* What each backend says of itself: its probe here and what it enforces. */
static json_t *backends_json(void)
{
    json_t *a = json_array();
    const struct amber_backend *b;

    for (size_t i = 0; (b = amber_backend_at(i)) != NULL; i++) {
        struct amber_probe p = {false, ""};
        const struct amber_backend_caps *c = b->caps;
        const char *mem = amber_enforce_name(c->memory), *cpu = amber_enforce_name(c->cpus),
                   *pids = amber_enforce_name(c->pids);

        b->probe(&p);
        json_array_append_new(
            a, json_pack("{s:s,s:b,s:o,s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:{s:o,s:o,s:o}}", "name",
                         b->name, "available", p.available, "reason",
                         p.available ? json_null() : json_string(p.reason), "isolates", c->isolates,
                         "filesystem", c->filesystem, "tty", c->tty, "time_namespace", c->time_ns,
                         "detach", c->detach, "hold", c->hold, "exec", c->exec, "limits", "memory",
                         mem ? json_string(mem) : json_null(), "cpus",
                         cpu ? json_string(cpu) : json_null(), "pids",
                         pids ? json_string(pids) : json_null()));
    }
    return a;
}

static void print_json(const struct amber_host *h)
{
    json_t *o = json_object();
    json_t *ns = json_object();
    char *s;

    json_object_set_new(o, "backends", backends_json());
    json_object_set_new(o, "kernel", json_string(h->kernel));
    json_object_set_new(o, "arch", json_string(h->arch));
    json_object_set_new(o, "rootless", json_boolean(h->rootless));
    json_object_set_new(ns, "mnt", json_boolean(h->ns_mnt));
    json_object_set_new(ns, "pid", json_boolean(h->ns_pid));
    json_object_set_new(ns, "net", json_boolean(h->ns_net));
    json_object_set_new(ns, "uts", json_boolean(h->ns_uts));
    json_object_set_new(ns, "ipc", json_boolean(h->ns_ipc));
    json_object_set_new(ns, "cgroup", json_boolean(h->ns_cgroup));
    json_object_set_new(ns, "user", json_boolean(h->ns_user));
    json_object_set_new(ns, "time", json_boolean(h->ns_time));
    json_object_set_new(o, "namespaces", ns);
    json_object_set_new(o, "user_namespaces_unprivileged", json_boolean(h->userns_unprivileged));
    json_object_set_new(o, "max_user_namespaces", json_integer(h->max_user_namespaces));
    json_object_set_new(o, "cgroup_layout", json_string(cgroup_layout_name(h->cgroup_layout)));
    json_object_set_new(o, "cgroup_controllers", json_string(h->cgroup_controllers));
    json_object_set_new(o, "cgroup_writable", json_boolean(h->cgroup_writable));
    json_object_set_new(o, "landlock_abi", json_integer(h->landlock_abi));
    json_object_set_new(o, "seccomp_filter", json_boolean(h->seccomp_filter));
    json_object_set_new(o, "seccomp_default_instructions",
                        json_integer((json_int_t)seccomp_default_len(0)));
    json_object_set_new(o, "openat2", json_boolean(h->openat2));
    json_object_set_new(o, "kvm", json_boolean(h->kvm));
    json_object_set_new(o, "runsc", h->runsc[0] ? json_string(h->runsc) : json_null());
    json_object_set_new(o, "qemu", h->qemu[0] ? json_string(h->qemu) : json_null());
    s = json_dumps(o, JSON_INDENT(2));
    printf("%s\n", s ? s : "{}");
    free(s);
    json_decref(o);
}

static void print_text(const struct amber_host *h)
{
    printf("kernel:            %s (%s)\n", h->kernel, h->arch);
    printf("running as:        %s\n", h->rootless ? "unprivileged user (rootless)" : "root");
    printf("namespaces:        mnt=%s pid=%s net=%s uts=%s ipc=%s cgroup=%s user=%s time=%s\n",
           yn(h->ns_mnt), yn(h->ns_pid), yn(h->ns_net), yn(h->ns_uts), yn(h->ns_ipc),
           yn(h->ns_cgroup), yn(h->ns_user), yn(h->ns_time));
    printf("user namespaces:   %s for unprivileged users (max %d)\n",
           h->userns_unprivileged ? "allowed" : "NOT allowed", h->max_user_namespaces);
    printf("cgroups:           %s; controllers: %s; %s\n", cgroup_layout_name(h->cgroup_layout),
           h->cgroup_controllers[0] ? h->cgroup_controllers : "none",
           h->cgroup_writable ? "writable" : "NOT writable (limits unavailable)");
    if (h->landlock_abi > 0)
        printf("landlock:          ABI %d\n", h->landlock_abi);
    else
        printf("landlock:          unavailable\n");
    printf(
        "seccomp filter:    %s (default allowlist: %zu BPF instructions, compiled at build time)\n",
        yn(h->seccomp_filter), seccomp_default_len(0));
    printf("openat2:           %s\n", yn(h->openat2));
    printf("/dev/kvm:          %s\n", h->kvm ? "usable" : "no");
    printf("runsc (gVisor):    %s\n", h->runsc[0] ? h->runsc : "not found");
    printf("qemu:              %s\n", h->qemu[0] ? h->qemu : "not found");
    {
        const struct amber_backend *b;
        for (size_t i = 0; (b = amber_backend_at(i)) != NULL; i++) {
            struct amber_probe p = {false, ""};
            const char *mem = amber_enforce_name(b->caps->memory);
            b->probe(&p);
            printf("backend %-10s %s; %s; memory limit: %s\n", b->name,
                   p.available ? "available" : p.reason,
                   b->caps->isolates ? "isolates" : "NO isolation", mem ? mem : "none");
        }
    }
}

int cmd_check(int argc, char **argv)
{
    struct amber_host h;
    bool json = false;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            help_check();
            return 0;
        } else {
            cli_errorf("check: unknown option '%s' (see amber check --help)", argv[i]);
            return 125;
        }
    }
    /* The host's facts as the backends see them (the first that has any:
     * the kernel, namespaces, cgroups, Landlock, seccomp are the native
     * backend's). */
    memset(&h, 0, sizeof(h));
    for (size_t i = 0; amber_backend_at(i) != NULL; i++) {
        if (amber_backend_at(i)->host_facts != NULL) {
            amber_backend_at(i)->host_facts(&h);
            break;
        }
    }
    if (json)
        print_json(&h);
    else
        print_text(&h);
    return 0;
}
