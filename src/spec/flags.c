/* The `amber run` option table and its parser. */
#include "spec/flags.h"

#include <errno.h>
#include <stdio.h>
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

/* "--flag 'TEXT'" for messages (static buffer: one at a time). */
static const char *what_given(const char *flag, const char *text)
{
    static char buf[96];
    snprintf(buf, sizeof(buf), "%s '%.60s'", flag, text);
    return buf;
}

static int opt_memory(struct amber_spec *s, const char *a, struct amber_error *e)
{
    s->memory_set = true;
    if (strcmp(a, "unlimited") == 0) {
        s->memory = 0;
        return 0;
    }
    if (parse_size(a, &s->memory) < 0)
        return amber_error_set(e, 0, "--memory '%s': expected a size like 512M or 2G", a);
    return spec_check_limit(AMBER_LIMIT_MEMORY, s->memory, what_given("--memory", a), e);
}

static int opt_cpus(struct amber_spec *s, const char *a, struct amber_error *e)
{
    if (parse_cpus(a, &s->cpus_milli) < 0)
        return amber_error_set(e, 0, "--cpus '%s': expected a positive number like 0.5 or 2", a);
    return 0;
}

static int opt_pids(struct amber_spec *s, const char *a, struct amber_error *e)
{
    if (parse_uint(a, UINT64_MAX, &s->pids) < 0)
        return amber_error_set(e, 0, "--pids '%s': expected a number from 1 to %llu", a,
                               AMBER_MAX_PIDS);
    s->pids_set = true;
    return spec_check_limit(AMBER_LIMIT_PIDS, s->pids, what_given("--pids", a), e);
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
    else if (strcmp(a, "keep-id") == 0)
        s->userns = AMBER_USERNS_KEEP_ID;
    else if (strcmp(a, "nomap") == 0)
        s->userns = AMBER_USERNS_NOMAP;
    else
        return amber_error_set(e, 0, "--userns '%s': expected auto, keep-id, nomap or host", a);
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

static int opt_allow_jit(struct amber_spec *s, const char *a, struct amber_error *e)
{
    s->allow_jit = true;
    return 0;
}

static int opt_allow_write_exec(struct amber_spec *s, const char *a, struct amber_error *e)
{
    s->allow_write_exec = true;
    return 0;
}

static int opt_allow_chroot(struct amber_spec *s, const char *a, struct amber_error *e)
{
    s->allow_chroot_fallback = true;
    return 0;
}

static struct amber_mount *add_mount(struct amber_spec *s, enum amber_mount_kind kind,
                                     enum amber_mount_role role)
{
    struct amber_mount *m;

    s->mounts = xrealloc(s->mounts, (s->nmounts + 1) * sizeof(*s->mounts));
    m = &s->mounts[s->nmounts++];
    memset(m, 0, sizeof(*m));
    m->kind = kind;
    m->role = role;
    m->mode = -1;
    return m;
}

/* Split "A:B" (c == NULL) or "A:B[:C]" at the colons; A and B non-empty. */
static int split3(const char *flag, const char *arg, char **a, char **b, char **c,
                  struct amber_error *e)
{
    const char *p = strchr(arg, ':');
    const char *q;

    *a = *b = NULL;
    if (c != NULL)
        *c = NULL;
    if (p == NULL || p == arg || p[1] == '\0' || p[1] == ':')
        return amber_error_set(e, 0, "%s '%s': expected SRC:DST", flag, arg);
    q = strchr(p + 1, ':');
    if (q != NULL && c == NULL)
        return amber_error_set(e, 0, "%s '%s': expected SRC:DST (one ':')", flag, arg);
    *a = xstrndup(arg, (size_t)(p - arg));
    if (q == NULL) {
        *b = xstrdup(p + 1);
    } else {
        *b = xstrndup(p + 1, (size_t)(q - p - 1));
        *c = xstrdup(q + 1);
    }
    return 0;
}

static int opt_volume(struct amber_spec *s, const char *a, struct amber_error *e)
{
    char *src, *dst, *opt;
    struct amber_mount *m;

    if (split3("--volume", a, &src, &dst, &opt, e) < 0)
        return -1;
    if (opt != NULL && strcmp(opt, "ro") != 0 && strcmp(opt, "rw") != 0) {
        amber_error_set(e, 0, "--volume '%s': option '%s' is not ro or rw", a, opt);
        free(src);
        free(dst);
        free(opt);
        return -1;
    }
    m = add_mount(s, AMBER_MOUNT_BIND, AMBER_ROLE_VOLUME);
    m->src = src;
    m->dst = dst;
    m->readonly = opt != NULL && strcmp(opt, "ro") == 0;
    free(opt);
    return 0;
}

static int opt_tmpfs(struct amber_spec *s, const char *a, struct amber_error *e)
{
    const char *colon = strchr(a, ':');
    struct amber_mount *m;
    char opts[128];
    char *save = NULL;

    if (a[0] == '\0' || colon == a)
        return amber_error_set(e, 0, "--tmpfs '%s': expected DST[:size=N,mode=M]", a);
    m = add_mount(s, AMBER_MOUNT_TMPFS, AMBER_ROLE_TMPFS);
    m->dst = colon ? xstrndup(a, (size_t)(colon - a)) : xstrdup(a);
    if (colon == NULL)
        return 0;
    if (strlen(colon + 1) >= sizeof(opts))
        return amber_error_set(e, 0, "--tmpfs '%s': options too long", a);
    strcpy(opts, colon + 1);
    for (char *o = strtok_r(opts, ",", &save); o != NULL; o = strtok_r(NULL, ",", &save)) {
        if (strncmp(o, "size=", 5) == 0) {
            if (parse_size(o + 5, &m->size) < 0)
                return amber_error_set(e, 0, "--tmpfs '%s': bad size '%s'", a, o + 5);
        } else if (strncmp(o, "mode=", 5) == 0) {
            char *end;
            unsigned long v = strtoul(o + 5, &end, 8);
            if (o[5] == '\0' || *end != '\0' || v > 07777)
                return amber_error_set(e, 0, "--tmpfs '%s': bad mode '%s' (octal, e.g. 1777)", a,
                                       o + 5);
            m->mode = (int)v;
        } else {
            return amber_error_set(e, 0, "--tmpfs '%s': unknown option '%s' (size=, mode=)", a, o);
        }
    }
    return 0;
}

static int provider_config(struct amber_spec *s, const char *a, bool ro, struct amber_error *e)
{
    char *src, *dst;
    struct amber_mount *m;

    if (split3(ro ? "--provider-config-ro" : "--provider-config-rw", a, &src, &dst, NULL, e) < 0)
        return -1;
    m = add_mount(s, AMBER_MOUNT_BIND, AMBER_ROLE_PROVIDER_CONFIG);
    m->src = src;
    m->dst = dst; /* relative to the home, or absolute under it: spec_validate */
    m->readonly = ro;
    return 0;
}

static int opt_provider_ro(struct amber_spec *s, const char *a, struct amber_error *e)
{
    return provider_config(s, a, true, e);
}

static int opt_provider_rw(struct amber_spec *s, const char *a, struct amber_error *e)
{
    return provider_config(s, a, false, e);
}

static int opt_home(struct amber_spec *s, const char *a, struct amber_error *e)
{
    return set_str(&s->home, a);
}

static int opt_context(struct amber_spec *s, const char *a, struct amber_error *e)
{
    return set_str(&s->context, a);
}

static int opt_context_mode(struct amber_spec *s, const char *a, struct amber_error *e)
{
    if (strcmp(a, "copy") == 0)
        s->context_mode = AMBER_CONTEXT_COPY;
    else if (strcmp(a, "bind") == 0)
        s->context_mode = AMBER_CONTEXT_BIND;
    else
        return amber_error_set(e, 0, "--context-mode '%s': expected copy or bind", a);
    s->context_mode_set = true;
    return 0;
}

static int opt_context_exclude(struct amber_spec *s, const char *a, struct amber_error *e)
{
    if (a[0] == '\0')
        return amber_error_set(e, 0, "--context-exclude: empty pattern");
    strv_push(&s->context_excludes, &s->ncontext_excludes, a);
    return 0;
}

static int opt_context_verbose(struct amber_spec *s, const char *a, struct amber_error *e)
{
    s->context_verbose = true;
    return 0;
}

static int opt_verify_context(struct amber_spec *s, const char *a, struct amber_error *e)
{
    s->verify_context = true;
    return 0;
}

static int opt_workspace(struct amber_spec *s, const char *a, struct amber_error *e)
{
    return set_str(&s->workspace, a);
}

static int opt_workspace_mode(struct amber_spec *s, const char *a, struct amber_error *e)
{
    if (strcmp(a, "bind-rw") == 0)
        s->workspace_mode = AMBER_WORKSPACE_BIND_RW;
    else if (strcmp(a, "bind-ro") == 0)
        s->workspace_mode = AMBER_WORKSPACE_BIND_RO;
    else if (strcmp(a, "copy-in-out") == 0)
        s->workspace_mode = AMBER_WORKSPACE_COPY_IN_OUT;
    else
        return amber_error_set(
            e, 0, "--workspace-mode '%s': expected bind-rw, bind-ro or copy-in-out", a);
    s->workspace_mode_set = true;
    return 0;
}

static int opt_workspace_exec(struct amber_spec *s, const char *a, struct amber_error *e)
{
    s->workspace_exec = true;
    return 0;
}

static int opt_secret(struct amber_spec *s, const char *a, struct amber_error *e)
{
    char *src, *dst;
    const char *name;

    if (split3("--secret", a, &src, &dst, NULL, e) < 0)
        return -1;
    /* DST is a name under /run/secrets, or that absolute path. */
    name = dst;
    if (strncmp(name, AMBER_SECRETS "/", strlen(AMBER_SECRETS) + 1) == 0)
        name += strlen(AMBER_SECRETS) + 1;
    if (name[0] == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0) {
        amber_error_set(e, 0, "--secret '%s': DST must be a file name in " AMBER_SECRETS, a);
        free(src);
        free(dst);
        return -1;
    }
    s->secrets = xrealloc(s->secrets, (s->nsecrets + 1) * sizeof(*s->secrets));
    s->secrets[s->nsecrets].src = src;
    s->secrets[s->nsecrets].name = xstrdup(name);
    s->nsecrets++;
    free(dst);
    return 0;
}

static int opt_env_fd(struct amber_spec *s, const char *a, struct amber_error *e)
{
    uint64_t fd;

    if (parse_uint(a, 1 << 20, &fd) < 0)
        return amber_error_set(e, 0, "--env-fd '%s': expected a file descriptor number", a);
    return spec_read_env_fd(s, (int)fd, e);
}

static int parse_id(const char *flag, const char *a, uint32_t *out, struct amber_error *e)
{
    uint64_t v;

    if (parse_uint(a, 0xfffffffeULL, &v) < 0)
        return amber_error_set(e, 0, "%s '%s': expected a numeric id", flag, a);
    *out = (uint32_t)v;
    return 0;
}

static int opt_group(struct amber_spec *s, const char *a, struct amber_error *e)
{
    if (parse_id("--group", a, &s->group, e) < 0)
        return -1;
    s->has_group = true;
    return 0;
}

static int opt_additional_group(struct amber_spec *s, const char *a, struct amber_error *e)
{
    uint32_t g = 0;

    if (parse_id("--additional-group", a, &g, e) < 0)
        return -1;
    s->groups = xrealloc(s->groups, (s->ngroups + 1) * sizeof(*s->groups));
    s->groups[s->ngroups++] = g;
    return 0;
}

static int parse_idmap(const char *flag, const char *a, struct amber_idmap **maps, size_t *n,
                       struct amber_error *e)
{
    uint64_t v[3];
    const char *p = a;
    int i;

    /* Exactly three fields, each a number: no empty field, no extra one. */
    for (i = 0; i < 3; i++) {
        const char *colon = strchr(p, ':');
        size_t len = colon != NULL ? (size_t)(colon - p) : strlen(p);
        char field[16];

        if (len == 0 || len >= sizeof(field) || (i < 2) != (colon != NULL))
            break;
        memcpy(field, p, len);
        field[len] = '\0';
        if (parse_uint(field, 0xffffffffULL, &v[i]) < 0)
            break;
        p = colon != NULL ? colon + 1 : p + len;
    }
    if (i != 3 || v[2] == 0 || v[0] + v[2] > 0x100000000ULL || v[1] + v[2] > 0x100000000ULL)
        return amber_error_set(e, 0, "%s '%s': expected INSIDE:HOST:COUNT (numbers, COUNT > 0)",
                               flag, a);
    *maps = xrealloc(*maps, (*n + 1) * sizeof(**maps));
    (*maps)[*n] = (struct amber_idmap){(uint32_t)v[0], (uint32_t)v[1], (uint32_t)v[2]};
    (*n)++;
    return 0;
}

static int opt_uidmap(struct amber_spec *s, const char *a, struct amber_error *e)
{
    return parse_idmap("--uidmap", a, &s->uidmap, &s->nuidmap, e);
}

static int opt_gidmap(struct amber_spec *s, const char *a, struct amber_error *e)
{
    return parse_idmap("--gidmap", a, &s->gidmap, &s->ngidmap, e);
}

static int opt_init(struct amber_spec *s, const char *a, struct amber_error *e)
{
    s->init = 1;
    return 0;
}

static int opt_no_init(struct amber_spec *s, const char *a, struct amber_error *e)
{
    s->init = 0;
    return 0;
}

static int opt_tty(struct amber_spec *s, const char *a, struct amber_error *e)
{
    s->tty = true;
    return 0;
}

static int opt_interactive(struct amber_spec *s, const char *a, struct amber_error *e)
{
    s->interactive = true;
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
    {"workspace", 0, "DIR", false, "the project tree at /workspace (then the default workdir)",
     opt_workspace},
    {"workspace-mode", 0, "MODE", false,
     "bind-rw (default), bind-ro, or copy-in-out (a private copy, synced back only when the "
     "workload exits 0)",
     opt_workspace_mode},
    {"workspace-exec", 0, NULL, false,
     "allow executing files from /workspace (noexec otherwise); a logged degradation",
     opt_workspace_exec},
    {"context", 0, "DIR", false,
     "populate /context from DIR: a copy (default) without secret-bearing files, or a read-only "
     "bind",
     opt_context},
    {"context-mode", 0, "MODE", false, "copy (default) or bind (read-only, nosuid, nodev, noexec)",
     opt_context_mode},
    {"context-exclude", 0, "PATTERN", true,
     "leave out of the context copy what matches PATTERN (a name, or a relative path if it has a "
     "'/'), e.g. .git",
     opt_context_exclude},
    {"context-verbose", 0, NULL, false, "list on stderr what the context copy left out",
     opt_context_verbose},
    {"verify-context-integrity", 0, NULL, false,
     "hash the context source before launch and the copy inside after; refuse to start on a "
     "mismatch",
     opt_verify_context},
    {"volume", 'v', "SRC:DST[:ro|rw]", true, "bind host SRC at DST (nosuid, nodev; rw unless :ro)",
     opt_volume},
    {"tmpfs", 0, "DST[:size=N,mode=M]", true,
     "a private writable tmpfs at DST (nosuid, nodev, noexec)", opt_tmpfs},
    {"home", 0, "PATH", false,
     "where the private home tmpfs is mounted (default /home/agent); HOME points there", opt_home},
    {"provider-config-ro", 0, "SRC:DEST", true,
     "bind a host config file or dir read-only under the home (DEST relative to the home, or "
     "absolute under it)",
     opt_provider_ro},
    {"provider-config-rw", 0, "SRC:DEST", true,
     "the same, writable (only for tools that must refresh tokens)", opt_provider_rw},
    {"secret", 0, "SRC:DST", true,
     "copy file SRC into the in-memory " AMBER_SECRETS "/DST, readable only by the workload user",
     opt_secret},
    {"env-fd", 0, "N", false,
     "read environment variables from fd N: a JSON object {\"NAME\": \"VALUE\"} or array "
     "[\"NAME=VALUE\"]; values stay out of argv, logs and results",
     opt_env_fd},
    {"memory", 'm', "SIZE", false,
     "memory limit, e.g. 512M or 2G (cgroup; swap and the sandbox's tmpfs included; default "
     "1G); unlimited: none (refused in strict-agent)",
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
    {"user", 'u', "UID[:GID]", false,
     "run the workload as UID and GID inside the sandbox (default 0, or your own uid when "
     "rootless)",
     opt_user},
    {"group", 'g', "GID", false,
     "the workload's primary group inside (overrides the GID of --user)", opt_group},
    {"additional-group", 0, "GID", true, "a supplementary group of the workload inside",
     opt_additional_group},
    {"userns", 0, "MODE", false,
     "auto (default: a new user namespace, its root an unprivileged host uid), keep-id "
     "(rootless: your ids inside are the same as outside), nomap (rootless: only your "
     "subordinate ids are mapped, not yours) or host (as root: the workload's root is host "
     "root; a logged degradation, refused in strict-agent)",
     opt_userns},
    {"uidmap", 0, "INSIDE:HOST:COUNT", true,
     "an explicit uid map line for the user namespace (rootless: newuidmap checks it against "
     "/etc/subuid)",
     opt_uidmap},
    {"gidmap", 0, "INSIDE:HOST:COUNT", true,
     "an explicit gid map line (rootless: via newgidmap and /etc/subgid)", opt_gidmap},
    {"time-namespace", 0, NULL, false,
     "give the sandbox its own time namespace (monotonic and boot clocks)", opt_time_ns},
    {"hostname", 0, "NAME", false, "hostname inside the sandbox (default amber)", opt_hostname},
    {"env", 'e', "NAME[=VALUE]", true,
     "set a variable; NAME alone copies the host's value. Nothing else is inherited", opt_env},
    {"keep-ld-env", 0, NULL, false, "keep LD_* variables given with --env (dropped by default)",
     opt_keep_ld_env},
    {"workdir", 'w', "DIR", false,
     "working directory inside the sandbox (absolute; default the home, /home/agent)", opt_workdir},
    {"init", 0, NULL, false,
     "run a small PID 1 that reaps zombies and forwards signals (the default)", opt_init},
    {"no-init", 0, NULL, false,
     "agent mode: the workload itself is PID 1 (no zombie reaping; as PID 1 it ignores signals it "
     "has no handler for)",
     opt_no_init},
    {"tty", 't', NULL, false,
     "give the workload a terminal: a pty inside the sandbox, window size following yours",
     opt_tty},
    {"interactive", 'i', NULL, false, "keep stdin open (otherwise the workload reads /dev/null)",
     opt_interactive},
    {"result-json", 0, "FILE", false,
     "write the result (exit, signal, oom, times, peak memory, digest) as JSON to FILE",
     opt_result_json},
    {"allow-degraded-security", 0, NULL, false,
     "agent mode: run even when a kernel feature (Landlock, cgroups, ...) is missing, with a "
     "warning",
     opt_allow_degraded},
    {"allow-chroot-fallback", 0, NULL, false,
     "agent mode: use chroot when pivot_root is impossible", opt_allow_chroot},
    {"allow-jit", 0, NULL, false,
     "agent mode: allow what JIT compilers need (pages writable and executable at once, "
     "memfds, executable shared memory); a logged degradation",
     opt_allow_jit},
    {"allow-write-exec", 0, NULL, false,
     "agent mode: let the workload execute what it writes in /tmp, /dev/shm, the home and "
     "writable volumes (noexec otherwise); a logged degradation",
     opt_allow_write_exec},
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
    else if (strcmp(name, "config-fd") == 0)
        meta->config_fd = val;
    else if (strcmp(name, "name") == 0)
        meta->name = val;
    else if (strcmp(name, "detach") == 0) {
        *takes_arg = false;
        meta->detach = true;
    } else if (strcmp(name, "log-level") == 0)
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
            if (a[1] == 'd' && a[2] == '\0') {
                meta->detach = true;
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
