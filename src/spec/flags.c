/* The `amber run` option table and its parser. */
#include "spec/flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse.h"
#include "util/xalloc.h"

static int set_str(char **dst, const char *arg)
{
    free(*dst);
    *dst = xstrdup(arg);
    return 0;
}

static int opt_backend(struct amber_spec *s, const char *a, struct amber_error *e)
{
    return set_str(&s->backend, a);
}

static int opt_mode(struct amber_spec *s, const char *a, struct amber_error *e)
{
    if (spec_mode_parse(a, &s->mode) < 0)
        return amber_error_set(e, 0, "--service-mode '%s': unknown mode (agent, strict-agent)", a);
    return 0;
}

static int opt_rootfs(struct amber_spec *s, const char *a, struct amber_error *e)
{
    return set_str(&s->rootfs, a);
}

static int opt_rootfs_mode(struct amber_spec *s, const char *a, struct amber_error *e)
{
    if (strcmp(a, "bind") == 0)
        s->rootfs_mode = AMBER_ROOTFS_BIND;
    else if (strcmp(a, "overlay") == 0)
        s->rootfs_mode = AMBER_ROOTFS_OVERLAY;
    else
        return amber_error_set(e, 0, "--rootfs-mode '%s': expected bind or overlay", a);
    return 0;
}

static int opt_memory(struct amber_spec *s, const char *a, struct amber_error *e)
{
    if (parse_size(a, &s->memory) < 0)
        return amber_error_set(e, 0, "--memory '%s': expected a size like 512M or 2G", a);
    if (s->memory < (4ULL << 20))
        return amber_error_set(e, 0, "--memory '%s': must be at least 4M", a);
    return 0;
}

static int opt_cpus(struct amber_spec *s, const char *a, struct amber_error *e)
{
    if (parse_cpus(a, &s->cpus_milli) < 0)
        return amber_error_set(e, 0, "--cpus '%s': expected a positive number like 0.5 or 2", a);
    return 0;
}

static int opt_pids(struct amber_spec *s, const char *a, struct amber_error *e)
{
    if (parse_uint(a, 4194304, &s->pids) < 0 || s->pids == 0)
        return amber_error_set(e, 0, "--pids '%s': expected a number from 1 to 4194304", a);
    s->pids_set = true;
    return 0;
}

static int opt_ulimit(struct amber_spec *s, const char *a, struct amber_error *e)
{
    return spec_parse_ulimit(a, s, e);
}

static int opt_timeout(struct amber_spec *s, const char *a, struct amber_error *e)
{
    if (parse_duration(a, &s->timeout_ns) < 0)
        return amber_error_set(e, 0, "--timeout '%s': expected seconds (10, 1.5) or 500ms/2m/1h",
                               a);
    return 0;
}

static int opt_network(struct amber_spec *s, const char *a, struct amber_error *e)
{
    if (strcmp(a, "none") == 0)
        s->network = AMBER_NET_NONE;
    else if (strcmp(a, "host") == 0)
        s->network = AMBER_NET_HOST;
    else
        return amber_error_set(e, 0, "--network '%s': expected none or host", a);
    return 0;
}

static int opt_allow_host_network(struct amber_spec *s, const char *a, struct amber_error *e)
{
    s->allow_host_network = true;
    return 0;
}

static int opt_userns(struct amber_spec *s, const char *a, struct amber_error *e)
{
    if (strcmp(a, "auto") == 0)
        s->userns = AMBER_USERNS_AUTO;
    else if (strcmp(a, "host") == 0)
        s->userns = AMBER_USERNS_HOST;
    else
        return amber_error_set(e, 0, "--userns '%s': expected auto or host", a);
    return 0;
}

static int opt_time_ns(struct amber_spec *s, const char *a, struct amber_error *e)
{
    s->time_ns = true;
    return 0;
}

static int opt_user(struct amber_spec *s, const char *a, struct amber_error *e)
{
    bool has_gid;

    if (parse_user(a, &s->uid, &s->gid, &has_gid) < 0)
        return amber_error_set(e, 0, "--user '%s': expected UID[:GID] (numbers)", a);
    if (!has_gid)
        s->gid = s->uid;
    s->has_user = true;
    return 0;
}

static int opt_hostname(struct amber_spec *s, const char *a, struct amber_error *e)
{
    return set_str(&s->hostname, a);
}

static int opt_env(struct amber_spec *s, const char *a, struct amber_error *e)
{
    const char *eq = strchr(a, '=');

    if (eq == a || a[0] == '\0')
        return amber_error_set(e, 0, "--env '%s': expected NAME=VALUE or NAME", a);
    if (eq == NULL) {
        /* NAME alone passes the host's value explicitly; unset stays unset. */
        const char *v = getenv(a);
        if (v != NULL)
            spec_setenv(s, a, v);
        return 0;
    }
    {
        char *name = xmalloc((size_t)(eq - a) + 1);
        memcpy(name, a, (size_t)(eq - a));
        name[eq - a] = '\0';
        spec_setenv(s, name, eq + 1);
        free(name);
    }
    return 0;
}

static int opt_keep_ld_env(struct amber_spec *s, const char *a, struct amber_error *e)
{
    s->keep_ld_env = true;
    return 0;
}

static int opt_workdir(struct amber_spec *s, const char *a, struct amber_error *e)
{
    return set_str(&s->workdir, a);
}

static int opt_result_json(struct amber_spec *s, const char *a, struct amber_error *e)
{
    return set_str(&s->result_json, a);
}

static int opt_allow_degraded(struct amber_spec *s, const char *a, struct amber_error *e)
{
    s->allow_degraded = true;
    return 0;
}

static int opt_allow_chroot(struct amber_spec *s, const char *a, struct amber_error *e)
{
    s->allow_chroot_fallback = true;
    return 0;
}

const struct spec_option spec_run_options[] = {
    {"backend", 0, "NAME", false,
     "native (default: namespaces, cgroups, seccomp, Landlock) or process (no isolation, "
     "development only)",
     opt_backend},
    {"service-mode", 0, "MODE", false,
     "agent (default) or strict-agent (fail closed, user namespace when run as root)", opt_mode},
    {"rootfs", 0, "DIR", false,
     "use DIR as the root instead of a tmpfs with the host's /usr, /bin, /lib read-only",
     opt_rootfs},
    {"rootfs-mode", 0, "MODE", false,
     "bind (DIR read-only, default) or overlay (writable tmpfs layer over DIR, discarded)",
     opt_rootfs_mode},
    {"memory", 'm', "SIZE", false, "memory limit, e.g. 512M or 2G (cgroup; swap is included)",
     opt_memory},
    {"cpus", 0, "N", false, "CPU limit in CPUs, e.g. 0.5 or 2", opt_cpus},
    {"pids", 0, "N", false, "maximum number of processes and threads (default 4096)", opt_pids},
    {"ulimit", 0, "NAME=SOFT[:HARD]", true,
     "resource limit, e.g. nofile=1024:4096 (names: as core cpu data fsize locks memlock msgqueue "
     "nice nofile nproc rss rtprio rttime sigpending stack)",
     opt_ulimit},
    {"timeout", 0, "DURATION", false,
     "kill the workload after DURATION (10, 1.5, 500ms, 2m, 1h) and exit 124", opt_timeout},
    {"network", 0, "MODE", false,
     "none (default: only loopback) or host (needs --allow-host-network)", opt_network},
    {"allow-host-network", 0, NULL, false, "permit --network host", opt_allow_host_network},
    {"userns", 0, "MODE", false,
     "auto (new user namespace; default when rootless or strict-agent) or host", opt_userns},
    {"time-namespace", 0, NULL, false,
     "give the sandbox its own time namespace (monotonic and boot clocks)", opt_time_ns},
    {"user", 'u', "UID[:GID]", false,
     "run the workload as UID and GID inside the sandbox (default 0, or your own uid when "
     "rootless)",
     opt_user},
    {"hostname", 0, "NAME", false, "hostname inside the sandbox (default amber)", opt_hostname},
    {"env", 'e', "NAME[=VALUE]", true,
     "set a variable; NAME alone copies the host's value. Nothing else is inherited", opt_env},
    {"keep-ld-env", 0, NULL, false, "keep LD_* variables given with --env (dropped by default)",
     opt_keep_ld_env},
    {"workdir", 'w', "DIR", false,
     "working directory inside the sandbox (absolute; default the home, /home/agent)", opt_workdir},
    {"result-json", 0, "FILE", false,
     "write the result (exit, signal, oom, times, peak memory, digest) as JSON to FILE",
     opt_result_json},
    {"allow-degraded-security", 0, NULL, false,
     "agent mode: run even when a kernel feature (Landlock, cgroups, ...) is missing, with a "
     "warning",
     opt_allow_degraded},
    {"allow-chroot-fallback", 0, NULL, false,
     "agent mode: use chroot when pivot_root is impossible", opt_allow_chroot},
    {NULL, 0, NULL, false, NULL, NULL},
};

const struct spec_option *spec_option_find(const char *name)
{
    for (const struct spec_option *o = spec_run_options; o->name != NULL; o++) {
        if (strcmp(o->name, name) == 0)
            return o;
    }
    return NULL;
}

static const struct spec_option *find_short(char c)
{
    for (const struct spec_option *o = spec_run_options; o->name != NULL; o++) {
        if (o->short_name == c)
            return o;
    }
    return NULL;
}

/* Meta options: not part of the spec. */
static int meta_option(const char *name, const char *val, struct run_meta *meta, bool *takes_arg)
{
    *takes_arg = true;
    if (strcmp(name, "config") == 0)
        meta->config = val;
    else if (strcmp(name, "log-level") == 0)
        meta->log_level = val;
    else if (strcmp(name, "log-format") == 0)
        meta->log_format = val;
    else if (strcmp(name, "help") == 0) {
        *takes_arg = false;
        meta->help = true;
    } else
        return 0;
    return 1;
}

int spec_parse_run_args(struct amber_spec *spec, int argc, char **argv, struct run_meta *meta,
                        struct amber_error *err)
{
    int i = 0;

    while (i < argc) {
        const char *a = argv[i];
        const struct spec_option *o = NULL;
        const char *val = NULL;
        char name[64];

        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0')
            break;
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            bool takes_arg;

            if (n >= sizeof(name))
                return amber_error_set(err, 0, "unknown option '%.64s'", a);
            memcpy(name, a + 2, n);
            name[n] = '\0';
            if (eq != NULL)
                val = eq + 1;
            {
                const char *probe = val ? val : (i + 1 < argc ? argv[i + 1] : NULL);
                if (meta_option(name, probe, meta, &takes_arg)) {
                    if (takes_arg && probe == NULL)
                        return amber_error_set(err, 0, "option '--%s' needs a value", name);
                    if (!takes_arg && val != NULL)
                        return amber_error_set(err, 0, "option '--%s' takes no value", name);
                    i += (takes_arg && val == NULL) ? 2 : 1;
                    continue;
                }
            }
            o = spec_option_find(name);
            if (o == NULL)
                return amber_error_set(err, 0, "unknown option '--%s' (see amber run --help)",
                                       name);
        } else {
            if (a[1] == 'h' && a[2] == '\0') {
                meta->help = true;
                i++;
                continue;
            }
            o = find_short(a[1]);
            if (o == NULL)
                return amber_error_set(err, 0, "unknown option '-%c' (see amber run --help)", a[1]);
            if (a[2] != '\0')
                val = a + 2;
        }
        if (o->metavar == NULL) {
            if (val != NULL)
                return amber_error_set(err, 0, "option '--%s' takes no value", o->name);
            i++;
        } else if (val == NULL) {
            if (i + 1 >= argc)
                return amber_error_set(err, 0, "option '--%s' needs a value (%s)", o->name,
                                       o->metavar);
            val = argv[i + 1];
            i += 2;
        } else {
            i++;
        }
        if (o->apply(spec, val ? val : "", err) < 0)
            return -1;
        meta->spec_flags++;
    }
    for (; i < argc; i++)
        strv_push(&spec->argv, &spec->argc, argv[i]);
    return 0;
}
