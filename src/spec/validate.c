/* spec_validate(): the one place where defaults and the mode rules are
 * applied. Every front-end calls it after filling the spec; a backend may
 * assume a validated spec. */
#include "spec/spec.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/caps.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/xalloc.h"

static int check_abs_dir(const char *what, const char *path, bool must_exist,
                         struct amber_error *err)
{
    struct stat st;

    if (path[0] != '/')
        return amber_error_set(err, 0, "%s '%s': must be an absolute path", what, path);
    if (!must_exist)
        return 0;
    if (stat(path, &st) < 0)
        return amber_error_errno(err, "%s '%s'", what, path);
    if (!S_ISDIR(st.st_mode))
        return amber_error_set(err, 0, "%s '%s': not a directory", what, path);
    return 0;
}

static int check_hostname(const char *h, struct amber_error *err)
{
    size_t n = strlen(h);

    if (n == 0 || n > 63)
        return amber_error_set(err, 0, "--hostname '%s': must be 1-63 characters", h);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!isalnum(c) && c != '-' && c != '.')
            return amber_error_set(err, 0, "--hostname '%s': invalid character '%c'", h, c);
    }
    return 0;
}

/* Remove LD_* (dynamic loader controls) unless the user asked to keep them:
 * they change what code runs inside, which should be an explicit choice. */
static void drop_ld_env(struct amber_spec *spec)
{
    size_t j = 0;

    for (size_t i = 0; i < spec->nenv; i++) {
        if (strncmp(spec->env[i], "LD_", 3) == 0) {
            char *eq = strchr(spec->env[i], '=');
            log_warn("dropping %.*s from the environment (use --keep-ld-env to keep it)",
                     (int)(eq ? eq - spec->env[i] : 40), spec->env[i]);
            free(spec->env[i]);
            continue;
        }
        spec->env[j++] = spec->env[i];
    }
    spec->nenv = j;
    spec->env[j] = NULL;
}

/* Normalise an absolute sandbox path in place: collapse "//", drop "." and a
 * trailing "/", refuse ".." (it would make overlap checks meaningless). */
static int clean_dst(const char *what, char **path, struct amber_error *err)
{
    const char *in = *path;
    char *out, *w;

    if (in[0] != '/')
        return amber_error_set(err, 0, "%s '%s': must be an absolute path inside the sandbox", what,
                               in);
    out = xmalloc(strlen(in) + 2);
    w = out;
    for (const char *p = in; *p != '\0';) {
        const char *q;
        size_t n;

        while (*p == '/')
            p++;
        if (*p == '\0')
            break;
        q = strchr(p, '/');
        n = q ? (size_t)(q - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            amber_error_set(err, 0, "%s '%s': '..' is not allowed", what, in);
            free(out);
            return -1;
        }
        if (!(n == 1 && p[0] == '.')) {
            *w++ = '/';
            memcpy(w, p, n);
            w += n;
        }
        p += n;
    }
    if (w == out)
        *w++ = '/';
    *w = '\0';
    free(*path);
    *path = out;
    return 0;
}

/* a is b or lies below it */
static bool path_within(const char *a, const char *b)
{
    size_t n = strlen(b);
    if (strcmp(b, "/") == 0)
        return true;
    return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

static bool path_overlaps(const char *a, const char *b)
{
    return path_within(a, b) || path_within(b, a);
}

/* A host source: must exist; made absolute (symlinks in it are the user's
 * own choice, resolved now, once). */
static int resolve_src(const char *what, char **src, bool want_dir, struct amber_error *err)
{
    char *real = realpath(*src, NULL);
    struct stat st;

    if (real == NULL)
        return amber_error_errno(err, "%s '%s'", what, *src);
    if (stat(real, &st) < 0) {
        amber_error_errno(err, "%s '%s'", what, *src);
        free(real);
        return -1;
    }
    if (want_dir && !S_ISDIR(st.st_mode)) {
        amber_error_set(err, 0, "%s '%s': not a directory", what, *src);
        free(real);
        return -1;
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
        amber_error_set(err, 0, "%s '%s': not a file or directory", what, *src);
        free(real);
        return -1;
    }
    free(*src);
    *src = real;
    return 0;
}

static const char *role_flag(const struct amber_mount *m)
{
    switch (m->role) {
    case AMBER_ROLE_VOLUME:
        return "--volume";
    case AMBER_ROLE_TMPFS:
        return "--tmpfs";
    case AMBER_ROLE_WORKSPACE:
        return "--workspace";
    case AMBER_ROLE_CONTEXT:
        return "--context";
    case AMBER_ROLE_PROVIDER_CONFIG:
        return m->readonly ? "--provider-config-ro" : "--provider-config-rw";
    }
    return "mount";
}

static struct amber_mount *push_mount(struct amber_spec *spec)
{
    struct amber_mount *m;
    spec->mounts = xrealloc(spec->mounts, (spec->nmounts + 1) * sizeof(*spec->mounts));
    m = &spec->mounts[spec->nmounts++];
    memset(m, 0, sizeof(*m));
    m->mode = -1;
    return m;
}

#define SECRET_MAX (1 << 20)

/* Nothing written through one mount may be executed through another: a
 * host directory bound writable must not also be reachable, above or
 * below, through a mount the workload executes from. An executable bind
 * (a read-only volume) that overlaps a writable one loses exec, with a
 * warning; a writable bind inside the system directories the sandbox runs
 * programs from (or the --rootfs) is refused: those stay executable.
 * Sources are compared as resolved paths (resolve_src). */
static int check_write_exec_overlap(struct amber_spec *spec, struct amber_error *err)
{
    static const char *const system_dirs[] = {"/usr",   "/bin",   "/sbin",  "/lib",
                                              "/lib64", "/lib32", "/libx32"};

    for (size_t i = 0; i < spec->nmounts; i++) {
        struct amber_mount *w = &spec->mounts[i];

        if (w->kind != AMBER_MOUNT_BIND || w->readonly || w->src == NULL)
            continue;
        for (size_t j = 0; j < spec->nmounts; j++) {
            struct amber_mount *x = &spec->mounts[j];
            if (j == i || x->kind != AMBER_MOUNT_BIND || x->src == NULL || !x->exec || !x->readonly)
                continue;
            if (path_overlaps(w->src, x->src)) {
                log_warn("%s '%s' (read-only) overlaps the writable %s '%s' on the host: not "
                         "executable, so nothing written through %s runs through %s",
                         role_flag(x), x->dst, role_flag(w), w->dst, w->dst, x->dst);
                x->exec = false;
            }
        }
        if (spec->rootfs != NULL) {
            cleanup_free char *root = realpath(spec->rootfs, NULL);
            if (root != NULL && path_overlaps(w->src, root))
                return amber_error_set(err, 0,
                                       "%s '%s': its source '%s' overlaps --rootfs '%s', which "
                                       "the sandbox executes from; bind it read-only",
                                       role_flag(w), w->dst, w->src, spec->rootfs);
            continue;
        }
        for (size_t d = 0; d < sizeof(system_dirs) / sizeof(system_dirs[0]); d++) {
            cleanup_free char *sys = realpath(system_dirs[d], NULL);
            if (sys != NULL && path_overlaps(w->src, sys))
                return amber_error_set(err, 0,
                                       "%s '%s': its source '%s' overlaps %s, which the sandbox "
                                       "executes from; bind it read-only",
                                       role_flag(w), w->dst, w->src, system_dirs[d]);
        }
    }
    return 0;
}

/* Workspace, context, volumes, tmpfs, home, provider configs and secrets:
 * sources exist, destinations are clean absolute paths that neither
 * overlap each other nor amber's own mounts. */
static int validate_surface(struct amber_spec *spec, const struct amber_backend_caps *caps,
                            struct amber_error *err)
{
    static const char *const reserved[] = {"/proc", "/dev", "/sys"};
    const char *home;

    if (spec->workspace_mode_set && spec->workspace == NULL)
        return amber_error_set(err, 0, "--workspace-mode: needs --workspace DIR");
    if (spec->workspace_exec && spec->workspace == NULL)
        return amber_error_set(err, 0, "--workspace-exec: needs --workspace DIR");
    if (spec->context == NULL && (spec->context_mode_set || spec->ncontext_excludes ||
                                  spec->context_verbose || spec->verify_context))
        return amber_error_set(err, 0,
                               "--context-mode, --context-exclude, --context-verbose, "
                               "--verify-context-integrity: need --context DIR");
    if (spec->context != NULL && spec->context_mode == AMBER_CONTEXT_BIND &&
        (spec->ncontext_excludes || spec->verify_context))
        return amber_error_set(err, 0,
                               "--context-exclude and --verify-context-integrity apply "
                               "to --context-mode copy");

    if (spec->workspace != NULL && spec->workspace_mode == AMBER_WORKSPACE_COPY_IN_OUT &&
        spec->init == 0)
        return amber_error_set(err, 0,
                               "--workspace-mode copy-in-out: needs the init (it syncs "
                               "back), not --no-init");
    if (!caps->filesystem && (spec->nmounts || spec->nsecrets || spec->context || spec->workspace ||
                              spec->home || (spec->tty && !caps->tty)))
        return amber_error_set(err, 0,
                               "--backend %s: has no sandbox to give --workspace, "
                               "--context, --volume, --tmpfs, --home, --secret or --tty",
                               spec->backend);
    if (spec->home != NULL && clean_dst("--home", &spec->home, err) < 0)
        return -1;
    home = spec_home(spec);

    if (spec->workspace != NULL) {
        struct amber_mount *m;
        if (resolve_src("--workspace", &spec->workspace, true, err) < 0)
            return -1;
        m = push_mount(spec);
        m->role = AMBER_ROLE_WORKSPACE;
        m->dst = xstrdup(AMBER_WORKSPACE);
        m->exec = spec->workspace_exec;
        if (spec->workspace_mode == AMBER_WORKSPACE_COPY_IN_OUT) {
            m->kind = AMBER_MOUNT_TMPFS; /* filled by copy, synced back on exit 0 */
        } else {
            m->kind = AMBER_MOUNT_BIND;
            m->src = xstrdup(spec->workspace);
            m->readonly = spec->workspace_mode == AMBER_WORKSPACE_BIND_RO;
        }
    }
    if (spec->context != NULL) {
        struct amber_mount *m;
        if (resolve_src("--context", &spec->context, true, err) < 0)
            return -1;
        m = push_mount(spec);
        m->role = AMBER_ROLE_CONTEXT;
        m->dst = xstrdup(AMBER_CONTEXT);
        if (spec->context_mode == AMBER_CONTEXT_BIND) {
            m->kind = AMBER_MOUNT_BIND;
            m->src = xstrdup(spec->context);
            m->readonly = true;
        } else {
            m->kind = AMBER_MOUNT_TMPFS; /* filled by copy */
        }
    }
    if (spec->nmounts > AMBER_MAX_MOUNTS)
        return amber_error_set(err, 0,
                               "--volume, --tmpfs, --provider-config-*, --workspace and "
                               "--context: %zu mounts, at most %d",
                               spec->nmounts, AMBER_MAX_MOUNTS);

    for (size_t i = 0; i < spec->nmounts; i++) {
        struct amber_mount *m = &spec->mounts[i];
        const char *flag = role_flag(m);

        if (m->role == AMBER_ROLE_PROVIDER_CONFIG && m->dst[0] != '/') {
            char *abs = xasprintf("%s/%s", home, m->dst);
            free(m->dst);
            m->dst = abs;
        }
        if (clean_dst(flag, &m->dst, err) < 0)
            return -1;
        /* A read-only volume may hold tools to run; a writable one may not:
         * nothing the workload writes is executable (noexec + Landlock),
         * unless --allow-write-exec. */
        if (m->role == AMBER_ROLE_VOLUME)
            m->exec = m->readonly || spec->allow_write_exec;
        if (m->kind == AMBER_MOUNT_TMPFS && m->role == AMBER_ROLE_TMPFS)
            m->exec = spec->allow_write_exec;
        if (m->kind == AMBER_MOUNT_BIND && m->role != AMBER_ROLE_WORKSPACE &&
            m->role != AMBER_ROLE_CONTEXT && resolve_src(flag, &m->src, false, err) < 0)
            return -1;
        if (strcmp(m->dst, "/") == 0)
            return amber_error_set(err, 0, "%s '%s': cannot replace the root", flag, m->dst);
        for (size_t r = 0; r < sizeof(reserved) / sizeof(reserved[0]); r++) {
            if (path_within(m->dst, reserved[r]))
                return amber_error_set(err, 0, "%s '%s': %s is amber's own", flag, m->dst,
                                       reserved[r]);
        }
        if (m->role == AMBER_ROLE_PROVIDER_CONFIG) {
            if (!path_within(m->dst, home) || strcmp(m->dst, home) == 0)
                return amber_error_set(err, 0, "%s '%s': must be below the home (%s)", flag, m->dst,
                                       home);
        } else if (path_overlaps(m->dst, home)) {
            return amber_error_set(err, 0,
                                   "%s '%s' overlaps the home (%s): choose another --home "
                                   "or destination",
                                   flag, m->dst, home);
        }
        if (spec->nsecrets > 0 && path_overlaps(m->dst, AMBER_SECRETS))
            return amber_error_set(err, 0, "%s '%s' overlaps " AMBER_SECRETS " (--secret)", flag,
                                   m->dst);
        for (size_t j = 0; j < i; j++) {
            if (path_overlaps(m->dst, spec->mounts[j].dst))
                return amber_error_set(err, 0, "%s '%s' overlaps %s '%s'", flag, m->dst,
                                       role_flag(&spec->mounts[j]), spec->mounts[j].dst);
        }
    }
    if (check_write_exec_overlap(spec, err) < 0)
        return -1;
    if (strcmp(home, "/") == 0)
        return amber_error_set(err, 0, "--home '%s': not a usable home", home);
    for (size_t r = 0; r < sizeof(reserved) / sizeof(reserved[0]); r++) {
        if (path_overlaps(home, reserved[r]))
            return amber_error_set(err, 0, "--home '%s': not a usable home", home);
    }
    if (spec->nsecrets > 0 && path_overlaps(home, AMBER_SECRETS))
        return amber_error_set(err, 0, "--home '%s' overlaps " AMBER_SECRETS, home);

    for (size_t i = 0; i < spec->nsecrets; i++) {
        struct stat st;
        const char *src = spec->secrets[i].src;

        /* lstat: a symlink at SRC is refused, never followed. */
        if (lstat(src, &st) < 0)
            return amber_error_errno(err, "--secret '%s'", src);
        if (S_ISLNK(st.st_mode))
            return amber_error_set(err, 0, "--secret '%s': is a symlink; give the file itself",
                                   src);
        if (!S_ISREG(st.st_mode))
            return amber_error_set(err, 0, "--secret '%s': not a regular file", src);
        if (st.st_size > SECRET_MAX)
            return amber_error_set(err, 0, "--secret '%s': larger than 1 MiB", src);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(spec->secrets[i].name, spec->secrets[j].name) == 0)
                return amber_error_set(err, 0, "--secret: two secrets named '%s'",
                                       spec->secrets[i].name);
        }
    }
    return 0;
}

static bool ranges_overlap(const struct amber_idmap *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if ((uint64_t)m[i].inside < (uint64_t)m[j].inside + m[j].count &&
                (uint64_t)m[j].inside < (uint64_t)m[i].inside + m[i].count)
                return true;
    return false;
}

static int validate_identity(struct amber_spec *spec, struct amber_error *err)
{
    bool strict = spec->mode == AMBER_MODE_STRICT_AGENT;

    if (spec->has_group)
        spec->gid = spec->group;
    if (!spec->rootless &&
        (spec->userns == AMBER_USERNS_KEEP_ID || spec->userns == AMBER_USERNS_NOMAP))
        return amber_error_set(err, 0,
                               "--userns %s: only for unprivileged users (as root use auto)",
                               spec->userns == AMBER_USERNS_KEEP_ID ? "keep-id" : "nomap");
    if ((spec->nuidmap || spec->ngidmap) && spec->userns == AMBER_USERNS_HOST)
        return amber_error_set(err, 0,
                               "--uidmap/--gidmap: need a user namespace (not --userns host)");
    if ((spec->nuidmap == 0) != (spec->ngidmap == 0))
        return amber_error_set(err, 0, "--uidmap and --gidmap: give both");
    if (ranges_overlap(spec->uidmap, spec->nuidmap))
        return amber_error_set(err, 0, "--uidmap: the ranges overlap inside the sandbox");
    if (ranges_overlap(spec->gidmap, spec->ngidmap))
        return amber_error_set(err, 0, "--gidmap: the ranges overlap inside the sandbox");
    if (spec->nuidmap > 0 && spec->userns == AMBER_USERNS_DEFAULT)
        spec->userns = AMBER_USERNS_AUTO;
    if (spec->rootless && spec->ngroups > 0 && spec->nuidmap == 0 &&
        spec->userns != AMBER_USERNS_NOMAP)
        return amber_error_set(err, 0,
                               "--additional-group: needs --uidmap/--gidmap or --userns "
                               "nomap when running without root");
    if (spec->init == 0 && strict)
        return amber_error_set(err, 0, "--no-init: strict-agent mode always runs an init");
    if (spec->init < 0)
        spec->init = 1;
    return 0;
}

/* The limits given explicitly against what the backend can enforce. A
 * default limit the backend cannot enforce is not asked for: the result's
 * "limits" shows it was not applied, without a warning. */
static int check_enforced(const struct amber_spec *spec, const struct amber_backend_caps *caps,
                          bool strict, struct amber_error *err)
{
    const struct {
        const char *flag;
        bool given;
        enum amber_enforce can;
        const char *rlimit_what;
    } limits[] = {
        {"--memory", spec->memory_set && spec->memory > 0, caps->memory,
         "each process's data (RLIMIT_DATA), not to the sandbox as a whole"},
        {"--cpus", spec->cpus_milli > 0, caps->cpus, NULL},
        {"--pids", spec->pids_set && spec->pids > 0, caps->pids,
         "the processes of its user namespace (RLIMIT_NPROC), not to a cgroup"},
    };

    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        if (!limits[i].given || limits[i].can == AMBER_ENFORCE_CGROUP)
            continue;
        if (strict)
            return amber_error_set(err, 0,
                                   "%s: the %s backend cannot enforce it for the whole sandbox; "
                                   "refused in strict-agent mode",
                                   limits[i].flag, spec->backend);
        if (limits[i].can == AMBER_ENFORCE_RLIMIT)
            log_warn("degraded limit (%s): the %s backend applies it to %s", limits[i].flag,
                     spec->backend, limits[i].rlimit_what);
        else
            log_warn("degraded limit (%s): not applied, the %s backend cannot enforce it",
                     limits[i].flag, spec->backend);
    }
    return 0;
}

static int check_reopeners(const struct amber_spec *spec, const struct amber_backend_caps *caps,
                           bool strict, struct amber_error *err)
{
    /* The flags that reopen a hole the defaults close: explicit, refused
     * in strict-agent mode, a warning in agent mode on every run (after
     * every other check, so a refused command line warns of nothing). */
    const struct {
        bool on;
        const char *flag, *what;
    } reopen[] = {
        {spec->allow_jit, "--allow-jit",
         "pages may be writable and executable, memfds and shared memory executable"},
        {spec->allow_write_exec, "--allow-write-exec",
         "the workload may execute what it writes in /tmp, /dev/shm, the home and writable "
         "volumes"},
        {spec->workspace_exec, "--workspace-exec",
         "the workload may execute what it writes in /workspace"},
    };
    for (size_t i = 0; i < sizeof(reopen) / sizeof(reopen[0]); i++) {
        if (!reopen[i].on)
            continue;
        if (strict)
            return amber_error_set(err, 0, "%s: refused in strict-agent mode (%s)", reopen[i].flag,
                                   reopen[i].what);
        log_warn("degraded security (%s): %s", reopen[i].flag, reopen[i].what);
    }
    for (int k = 0; k < 2; k++) {
        const struct amber_idmap *maps = k == 0 ? spec->uidmap : spec->gidmap;
        size_t n = k == 0 ? spec->nuidmap : spec->ngidmap;
        for (size_t i = 0; i < n; i++) {
            if (maps[i].outside != 0)
                continue;
            if (strict)
                return amber_error_set(err, 0,
                                       "%s %u:0:%u: maps host %s 0; refused in strict-agent mode "
                                       "(container root must not be host root)",
                                       k == 0 ? "--uidmap" : "--gidmap", maps[i].inside,
                                       maps[i].count, k == 0 ? "uid" : "gid");
            log_warn("degraded security (%s %u:0:%u): host %s 0 is one of the sandbox's ids",
                     k == 0 ? "--uidmap" : "--gidmap", maps[i].inside, maps[i].count,
                     k == 0 ? "uid" : "gid");
        }
    }
    if (spec->userns == AMBER_USERNS_HOST && caps->userns)
        log_warn("degraded security (--userns host): the workload's root is the host's root; "
                 "whatever host object it reaches is its own to change");
    if (spec->memory_set && spec->memory == 0) {
        if (strict)
            return amber_error_set(err, 0,
                                   "--memory unlimited: refused in strict-agent mode (the "
                                   "sandbox could exhaust the host's memory)");
        log_warn("degraded security (--memory unlimited): no memory limit; the sandbox can "
                 "exhaust the host's memory");
    }
    return 0;
}

int spec_check_limit(enum amber_limit_kind kind, uint64_t value, const char *what,
                     struct amber_error *err)
{
    switch (kind) {
    case AMBER_LIMIT_MEMORY:
        if (value < AMBER_MIN_MEMORY)
            return amber_error_set(err, 0, "%s: must be at least 4M (4194304 bytes)", what);
        if (value > AMBER_MAX_MEMORY)
            return amber_error_set(err, 0, "%s: must be at most 1E (use --memory unlimited)", what);
        return 0;
    case AMBER_LIMIT_PIDS:
        if (value < 1 || value > AMBER_MAX_PIDS)
            return amber_error_set(err, 0, "%s: must be from 1 to %llu", what, AMBER_MAX_PIDS);
        return 0;
    }
    return amber_error_set(err, 0, "%s: unknown limit", what);
}

/* The lengths of the lists, before anything that grows with them. */
static int check_counts(const struct amber_spec *spec, struct amber_error *err)
{
    const struct {
        const char *what;
        size_t n, max;
    } lists[] = {
        {"--volume, --tmpfs and --provider-config-*", spec->nmounts, AMBER_MAX_MOUNTS},
        {"--uidmap", spec->nuidmap, AMBER_MAX_IDMAP},
        {"--gidmap", spec->ngidmap, AMBER_MAX_IDMAP},
        {"--additional-group", spec->ngroups, AMBER_MAX_GROUPS},
        {"--secret", spec->nsecrets, AMBER_MAX_SECRETS},
        {"--env and --env-fd", spec->nenv + spec->nsecret_env, AMBER_MAX_ENV},
        {"--context-exclude", spec->ncontext_excludes, AMBER_MAX_EXCLUDES},
    };

    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        if (lists[i].n > lists[i].max)
            return amber_error_set(err, 0, "%s: %zu given, at most %zu", lists[i].what, lists[i].n,
                                   lists[i].max);
    return 0;
}

/* The spec's backend (the default when none is named) and its descriptor. */
static const struct amber_backend_caps *spec_backend_caps(struct amber_spec *spec,
                                                          struct amber_error *err)
{
    const struct amber_backend_caps *caps;

    if (spec->backend == NULL)
        spec->backend = xstrdup(amber_backend_default());
    caps = amber_backend_caps(spec->backend);
    if (caps == NULL)
        amber_error_set(err, 0, "--backend '%s': unknown backend (%s)", spec->backend,
                        amber_backend_names());
    return caps;
}

int spec_validate(struct amber_spec *spec, uid_t euid, struct amber_error *err)
{
    bool strict = spec->mode == AMBER_MODE_STRICT_AGENT;
    const struct amber_backend_caps *caps;

    spec->rootless = euid != 0;
    if (spec->defaults == AMBER_DEFAULTS_AS_WRITTEN) {
        /* Exactly as written: no default is filled in and no mode rule or
         * flag limit applies (the front-end checked every field as it read
         * it, the limits with spec_check_limit(), with its own field
         * names); only what the backend can do. */
        if ((caps = spec_backend_caps(spec, err)) == NULL)
            return -1;
        if (!caps->as_written)
            return amber_error_set(err, 0, "the %s backend cannot run a spec as written",
                                   spec->backend);
        if (spec->hold && !caps->hold)
            return amber_error_set(err, 0, "create: the %s backend cannot hold a workload",
                                   spec->backend);
        return 0;
    }
    if (check_counts(spec, err) < 0)
        return -1;
    {
        /* Flags check as they are read (naming the text given); a spec
         * filled otherwise is checked here, by the same function. */
        char what[64];
        snprintf(what, sizeof(what), "--memory %llu", (unsigned long long)spec->memory);
        if (spec->memory_set && spec->memory != 0 &&
            spec_check_limit(AMBER_LIMIT_MEMORY, spec->memory, what, err) < 0)
            return -1;
        snprintf(what, sizeof(what), "--pids %llu", (unsigned long long)spec->pids);
        if (spec->pids_set && spec_check_limit(AMBER_LIMIT_PIDS, spec->pids, what, err) < 0)
            return -1;
    }

    if (spec->argc == 0 || spec->argv == NULL || spec->argv[0] == NULL || spec->argv[0][0] == '\0')
        return amber_error_set(err, 0,
                               "no command given (usage: amber run [OPTIONS] -- COMMAND [ARG...])");

    if ((caps = spec_backend_caps(spec, err)) == NULL)
        return -1;
    if (strict && !caps->isolates)
        return amber_error_set(err, 0,
                               "--backend %s: refused in strict-agent mode (it does not isolate)",
                               spec->backend);
    if (spec->tty && !caps->tty)
        return amber_error_set(err, 0, "-t: the %s backend has no terminal to give", spec->backend);
    if (spec->hold && !caps->hold)
        return amber_error_set(err, 0, "create: the %s backend cannot hold a workload for start",
                               spec->backend);

    if (strict && spec->allow_degraded)
        return amber_error_set(
            err, 0,
            "--allow-degraded-security: conflicts with strict-agent mode, which fails closed");
    if (strict && spec->allow_chroot_fallback)
        return amber_error_set(err, 0, "--allow-chroot-fallback: only allowed in agent mode");

    if (spec->rootfs != NULL) {
        if (check_abs_dir("--rootfs", spec->rootfs, true, err) < 0)
            return -1;
    } else if (spec->rootfs_mode == AMBER_ROOTFS_OVERLAY) {
        return amber_error_set(err, 0, "--rootfs-mode overlay: needs --rootfs DIR");
    }
    if (spec->workdir != NULL && check_abs_dir("--workdir", spec->workdir, false, err) < 0)
        return -1;

    if (spec->network == AMBER_NET_HOST && !spec->allow_host_network)
        return amber_error_set(
            err, 0,
            "--network host: needs --allow-host-network (it shares the host's network stack)");
    if (strict && spec->network == AMBER_NET_HOST)
        return amber_error_set(err, 0, "--network host: refused in strict-agent mode");

    if (spec->hostname == NULL)
        spec->hostname = xstrdup(AMBER_DEFAULT_HOSTNAME);
    if (check_hostname(spec->hostname, err) < 0)
        return -1;

    if (validate_identity(spec, err) < 0)
        return -1;

    /* User namespaces, always by default: rootless runs need one (only a
     * user namespace grants the mount and namespace rights); as host root
     * one makes the sandbox's root an unprivileged host uid, so that
     * nothing of the host that becomes reachable is the workload's to
     * change. --userns host (host root is the workload's root) is explicit,
     * a warning, and refused in strict-agent mode. */
    if (spec->userns == AMBER_USERNS_DEFAULT)
        spec->userns = AMBER_USERNS_AUTO;
    if (spec->userns == AMBER_USERNS_HOST && spec->rootless && caps->userns)
        return amber_error_set(
            err, 0, "--userns host: not possible without root (a user namespace is required)");
    if (spec->userns == AMBER_USERNS_HOST && strict)
        return amber_error_set(
            err, 0,
            "--userns host: refused in strict-agent mode (container root must not be host root)");
    if (spec->rootless && spec->has_user && spec->uid != euid && spec->nuidmap == 0 &&
        spec->userns != AMBER_USERNS_NOMAP)
        return amber_error_set(err, 0,
                               "--user %u: only your own uid (%u) is mapped when running without "
                               "root (see --uidmap, --userns nomap)",
                               spec->uid, (unsigned)euid);
    if (spec->time_ns && !caps->time_ns)
        return amber_error_set(err, 0, "--time-namespace: the %s backend has no time namespace",
                               spec->backend);

    if (validate_surface(spec, caps, err) < 0)
        return -1;

    if (!spec->pids_set)
        spec->pids = AMBER_DEFAULT_PIDS;
    if (!spec->memory_set)
        spec->memory = AMBER_DEFAULT_MEMORY;
    if (check_reopeners(spec, caps, strict, err) < 0)
        return -1;
    if (check_enforced(spec, caps, strict, err) < 0)
        return -1;

    if (!spec->keep_ld_env)
        drop_ld_env(spec);
    if (spec_getenv(spec, "PATH") == NULL)
        spec_setenv(spec, "PATH", AMBER_DEFAULT_PATH);
    if (spec_getenv(spec, "HOME") == NULL)
        spec_setenv(spec, "HOME", spec_home(spec));
    if (spec_getenv(spec, "HOSTNAME") == NULL)
        spec_setenv(spec, "HOSTNAME", spec->hostname);

    /* What exec gets: --env-fd's variables win over --env. They are kept
     * apart from env so that they stay out of the digest and of messages. */
    free(spec->exec_env);
    spec->exec_env = xcalloc(spec->nenv + spec->nsecret_env + 1, sizeof(char *));
    {
        size_t k = 0;
        for (size_t i = 0; i < spec->nenv; i++) {
            size_t nlen = strcspn(spec->env[i], "=");
            bool overridden = false;
            for (size_t j = 0; j < spec->nsecret_env; j++)
                if (strncmp(spec->secret_env[j], spec->env[i], nlen + 1) == 0)
                    overridden = true;
            if (!overridden)
                spec->exec_env[k++] = spec->env[i];
        }
        for (size_t j = 0; j < spec->nsecret_env; j++)
            spec->exec_env[k++] = spec->secret_env[j];
    }
    return 0;
}
