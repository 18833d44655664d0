/* config.json -> amber_spec + amber_oci. Every object is checked against
 * the keys amber implements; an unknown or unsupported key is an error
 * that names it, so an engine never gets less isolation than it asked for
 * without being told. */
#include "oci/oci.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sandbox/caps.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* ---- checking helpers: each names the field it rejects ---- */

static int bad(struct amber_error *err, const char *field, const char *why)
{
    return amber_error_coded(err, EINVAL, "config.json: %s: %s", field, why);
}

/* Every key of obj must be in allowed (NULL-terminated). */
static int only_keys(json_t *obj, const char *field, const char *const *allowed,
                     struct amber_error *err)
{
    const char *key;
    void *it;

    if (!json_is_object(obj))
        return bad(err, field, "must be an object");
    for (it = json_object_iter(obj); it != NULL; it = json_object_iter_next(obj, it)) {
        bool ok = false;
        key = json_object_iter_key(it);
        for (size_t i = 0; allowed[i] != NULL; i++)
            if (strcmp(allowed[i], key) == 0)
                ok = true;
        if (!ok)
            return amber_error_coded(
                err, EINVAL, "config.json: %s%s%s: not supported by amber (see docs/oci.md)", field,
                field[0] != '\0' ? "." : "", key);
    }
    return 0;
}

static int get_str(json_t *obj, const char *key, const char *field, char **out,
                   struct amber_error *err)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL)
        return 0;
    if (!json_is_string(v))
        return amber_error_coded(err, EINVAL, "config.json: %s.%s: must be a string", field, key);
    free(*out);
    *out = xstrdup(json_string_value(v));
    return 1;
}

static int get_int(json_t *obj, const char *key, const char *field, int64_t *out,
                   struct amber_error *err)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return amber_error_coded(err, EINVAL, "config.json: %s.%s: must be an integer", field, key);
    *out = json_integer_value(v);
    return 1;
}

static int get_bool(json_t *obj, const char *key, const char *field, bool *out,
                    struct amber_error *err)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL)
        return 0;
    if (!json_is_boolean(v))
        return amber_error_coded(err, EINVAL, "config.json: %s.%s: must be true or false", field,
                                 key);
    *out = json_is_true(v);
    return 1;
}

/* A string array into a NULL-terminated vector (*out may stay NULL). */
static int get_strv(json_t *obj, const char *key, const char *field, char ***out, size_t *count,
                    struct amber_error *err)
{
    json_t *v = json_object_get(obj, key);
    size_t n = 0;

    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return amber_error_coded(err, EINVAL, "config.json: %s.%s: must be an array of strings",
                                 field, key);
    strv_free(*out);
    *out = xcalloc(json_array_size(v) + 1, sizeof(char *));
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *s = json_array_get(v, i);
        if (!json_is_string(s))
            return amber_error_coded(err, EINVAL, "config.json: %s.%s[%zu]: must be a string",
                                     field, key, i);
        strv_push(out, &n, json_string_value(s));
    }
    if (count != NULL)
        *count = n;
    return 1;
}

/* An empty string (or absent) is accepted for fields amber cannot honour:
 * engines often send them blank. */
static int refuse_nonempty(json_t *obj, const char *key, const char *field, struct amber_error *err)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        return 0;
    return amber_error_set(
        err, EINVAL, "config.json: %s.%s: not supported by amber (see docs/oci.md)", field, key);
}

/* ---- process ---- */

static int parse_caps(json_t *c, struct amber_written *oci, struct amber_error *err)
{
    static const char *const sets[] = {"bounding",    "effective", "permitted",
                                       "inheritable", "ambient",   NULL};

    if (only_keys(c, "process.capabilities", sets, err) < 0)
        return -1;
    for (int s = 0; s < 5; s++) {
        json_t *a = json_object_get(c, sets[s]);
        oci->caps[s] = 0;
        if (a == NULL || json_is_null(a))
            continue;
        if (!json_is_array(a))
            return amber_error_coded(err, EINVAL,
                                     "config.json: process.capabilities.%s: must be "
                                     "an array",
                                     sets[s]);
        for (size_t i = 0; i < json_array_size(a); i++) {
            json_t *v = json_array_get(a, i);
            int n = json_is_string(v) ? caps_number(json_string_value(v)) : -1;
            if (n < 0)
                return amber_error_coded(err, EINVAL,
                                         "config.json: process.capabilities.%s[%zu]: unknown "
                                         "capability '%s'",
                                         sets[s], i,
                                         json_is_string(v) ? json_string_value(v) : "?");
            oci->caps[s] |= 1ULL << n;
        }
    }
    return 0;
}

static int parse_rlimits(json_t *a, struct amber_spec *spec, struct amber_error *err)
{
    static const char *const keys[] = {"type", "soft", "hard", NULL};

    if (!json_is_array(a))
        return bad(err, "process.rlimits", "must be an array");
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *r = json_array_get(a, i);
        char field[64];
        const char *type;
        int res = -1;

        snprintf(field, sizeof(field), "process.rlimits[%zu]", i);
        if (only_keys(r, field, keys, err) < 0)
            return -1;
        type = json_string_value(json_object_get(r, "type"));
        /* "RLIMIT_NOFILE" is --ulimit's "nofile": one name table (spec.c). */
        if (type != NULL && strncmp(type, "RLIMIT_", 7) == 0 && strlen(type) < 32) {
            char lower[32];
            size_t n = 0;
            for (const char *c = type + 7; *c != '\0'; c++)
                lower[n++] = (*c >= 'A' && *c <= 'Z') ? (char)(*c - 'A' + 'a') : '~';
            lower[n] = '\0';
            if (spec_rlimit_parse(lower, &res) < 0)
                res = -1;
        }
        if (res < 0)
            return amber_error_coded(err, EINVAL, "config.json: %s.type: unknown rlimit '%s'",
                                     field, type != NULL ? type : "?");
        if (!json_is_integer(json_object_get(r, "soft")) ||
            !json_is_integer(json_object_get(r, "hard")))
            return bad(err, field, "soft and hard must be integers");
        spec_set_ulimit(spec, res, (uint64_t)json_integer_value(json_object_get(r, "soft")),
                        (uint64_t)json_integer_value(json_object_get(r, "hard")));
    }
    return 0;
}

static int parse_process(json_t *p, struct amber_spec *spec, struct amber_written *oci,
                         struct amber_error *err)
{
    static const char *const keys[] = {"terminal",
                                       "consoleSize",
                                       "user",
                                       "args",
                                       "env",
                                       "cwd",
                                       "capabilities",
                                       "rlimits",
                                       "noNewPrivileges",
                                       "apparmorProfile",
                                       "oomScoreAdj",
                                       "selinuxLabel",
                                       NULL};
    static const char *const user_keys[] = {"uid",      "gid", "umask", "additionalGids",
                                            "username", NULL};
    json_t *v;
    int64_t n;
    char *cwd = NULL;

    if (only_keys(p, "process", keys, err) < 0)
        return -1;
    if (refuse_nonempty(p, "apparmorProfile", "process", err) < 0 ||
        refuse_nonempty(p, "selinuxLabel", "process", err) < 0)
        return -1;
    if (get_bool(p, "terminal", "process", &spec->tty, err) < 0)
        return -1;
    if ((v = json_object_get(p, "consoleSize")) != NULL) {
        static const char *const ck[] = {"height", "width", NULL};
        int64_t h = 0, w = 0;
        if (only_keys(v, "process.consoleSize", ck, err) < 0 ||
            get_int(v, "height", "process.consoleSize", &h, err) < 0 ||
            get_int(v, "width", "process.consoleSize", &w, err) < 0)
            return -1;
        oci->console_rows = (unsigned short)h;
        oci->console_cols = (unsigned short)w;
    }
    if (get_strv(p, "args", "process", &spec->argv, &spec->argc, err) < 0)
        return -1;
    if (spec->argv == NULL || spec->argv[0] == NULL || spec->argv[0][0] == '\0')
        return bad(err, "process.args", "must be a non-empty array of strings");
    if (get_strv(p, "env", "process", &spec->env, &spec->nenv, err) < 0)
        return -1;
    if (spec->env == NULL)
        spec->env = xcalloc(1, sizeof(char *));
    for (size_t i = 0; i < spec->nenv; i++)
        if (strchr(spec->env[i], '=') == NULL)
            return amber_error_coded(err, EINVAL,
                                     "config.json: process.env[%zu]: '%s' is not "
                                     "NAME=VALUE",
                                     i, spec->env[i]);
    if (get_str(p, "cwd", "process", &cwd, err) < 0)
        return -1;
    if (cwd == NULL || cwd[0] != '/') {
        free(cwd);
        return bad(err, "process.cwd", "must be an absolute path");
    }
    free(spec->workdir);
    spec->workdir = cwd;
    if ((v = json_object_get(p, "user")) != NULL) {
        json_t *g;
        if (only_keys(v, "process.user", user_keys, err) < 0 ||
            refuse_nonempty(v, "username", "process.user", err) < 0)
            return -1;
        n = 0;
        if (get_int(v, "uid", "process.user", &n, err) < 0)
            return -1;
        spec->uid = (uint32_t)n;
        n = 0;
        if (get_int(v, "gid", "process.user", &n, err) < 0)
            return -1;
        spec->gid = (uint32_t)n;
        spec->has_user = true;
        if (get_int(v, "umask", "process.user", &n, err) < 0)
            return -1;
        if (json_object_get(v, "umask") != NULL) {
            oci->has_umask = true;
            oci->umask = (mode_t)(n & 0777);
        }
        g = json_object_get(v, "additionalGids");
        if (g != NULL && !json_is_null(g)) {
            if (!json_is_array(g))
                return bad(err, "process.user.additionalGids", "must be an array");
            free(spec->groups);
            spec->groups = xcalloc(json_array_size(g) + 1, sizeof(uint32_t));
            spec->ngroups = 0;
            for (size_t i = 0; i < json_array_size(g); i++) {
                if (!json_is_integer(json_array_get(g, i)))
                    return bad(err, "process.user.additionalGids", "must hold integers");
                spec->groups[spec->ngroups++] = (uint32_t)json_integer_value(json_array_get(g, i));
            }
        }
    }
    if ((v = json_object_get(p, "capabilities")) != NULL && parse_caps(v, oci, err) < 0)
        return -1;
    if ((v = json_object_get(p, "rlimits")) != NULL && parse_rlimits(v, spec, err) < 0)
        return -1;
    if (get_bool(p, "noNewPrivileges", "process", &oci->no_new_privs, err) < 0)
        return -1;
    n = 0;
    if (get_int(p, "oomScoreAdj", "process", &n, err) < 0)
        return -1;
    if (json_object_get(p, "oomScoreAdj") != NULL) {
        if (n < -1000 || n > 1000)
            return bad(err, "process.oomScoreAdj", "must be between -1000 and 1000");
        oci->has_oom_score_adj = true;
        oci->oom_score_adj = (int)n;
    }
    return 0;
}

/* ---- mounts ---- */

static const struct {
    const char *name;
    bool clear;
    unsigned long flag;
} mount_flags[] = {
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"defaults", false, 0},
};

static const struct {
    const char *name;
    unsigned long flag;
} propagations[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

static int propagation_parse(const char *s, unsigned long *out)
{
    for (size_t i = 0; i < sizeof(propagations) / sizeof(propagations[0]); i++) {
        if (strcmp(propagations[i].name, s) == 0) {
            *out = propagations[i].flag;
            return 0;
        }
    }
    return -1;
}

static int parse_mount_options(json_t *opts, struct amber_mount_entry *m, const char *field,
                               struct amber_error *err)
{
    size_t dlen = 0;

    if (opts == NULL || json_is_null(opts))
        return 0;
    if (!json_is_array(opts))
        return amber_error_coded(err, EINVAL, "config.json: %s.options: must be an array", field);
    for (size_t i = 0; i < json_array_size(opts); i++) {
        const char *o = json_string_value(json_array_get(opts, i));
        bool known = false;
        unsigned long prop;

        if (o == NULL)
            return amber_error_coded(err, EINVAL, "config.json: %s.options[%zu]: must be a string",
                                     field, i);
        if (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0) {
            m->bind = true;
            m->recursive = m->recursive || o[0] == 'r'; /* any rbind wins, as runc */
            continue;
        }
        if (propagation_parse(o, &prop) == 0) {
            m->propagation = prop;
            continue;
        }
        if (strcmp(o, "tmpcopyup") == 0) {
            m->copy_up = true;
            continue;
        }
        if (strcmp(o, "idmap") == 0 || strcmp(o, "ridmap") == 0 || strncmp(o, "X-", 2) == 0 ||
            strcmp(o, "copy-symlink") == 0)
            return amber_error_set(
                err, EINVAL, "config.json: %s.options: '%s' is not supported by amber", field, o);
        for (size_t k = 0; k < sizeof(mount_flags) / sizeof(mount_flags[0]); k++) {
            if (strcmp(mount_flags[k].name, o) == 0) {
                if (mount_flags[k].clear)
                    m->flags &= ~mount_flags[k].flag;
                else
                    m->flags |= mount_flags[k].flag;
                known = true;
            }
        }
        if (known)
            continue;
        /* Anything else is the filesystem's own option (mode=, size=,
         * newinstance, gid=...), handed to mount(2) as data. */
        m->data = xrealloc(m->data, dlen + strlen(o) + 2);
        if (dlen > 0)
            m->data[dlen++] = ',';
        memcpy(m->data + dlen, o, strlen(o) + 1);
        dlen += strlen(o);
    }
    return 0;
}

static int parse_mounts(json_t *a, struct amber_written *oci, struct amber_error *err)
{
    static const char *const keys[] = {"destination", "type", "source", "options", NULL};

    if (!json_is_array(a))
        return bad(err, "mounts", "must be an array");
    oci->mounts = xcalloc(json_array_size(a) + 1, sizeof(*oci->mounts));
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *j = json_array_get(a, i);
        struct amber_mount_entry *m = &oci->mounts[oci->nmounts++];
        char field[48];

        snprintf(field, sizeof(field), "mounts[%zu]", i);
        if (only_keys(j, field, keys, err) < 0 ||
            get_str(j, "destination", field, &m->dst, err) < 0 ||
            get_str(j, "type", field, &m->type, err) < 0 ||
            get_str(j, "source", field, &m->src, err) < 0 ||
            parse_mount_options(json_object_get(j, "options"), m, field, err) < 0)
            return -1;
        if (m->dst == NULL || m->dst[0] != '/')
            return amber_error_coded(err, EINVAL,
                                     "config.json: %s.destination: must be an "
                                     "absolute path",
                                     field);
        if (strstr(m->dst, "/../") != NULL ||
            strcmp(m->dst + strlen(m->dst) - (strlen(m->dst) >= 3 ? 3 : 0), "/..") == 0)
            return amber_error_coded(err, EINVAL, "config.json: %s.destination: '%s' contains '..'",
                                     field, m->dst);
        if (m->type != NULL && strcmp(m->type, "bind") == 0)
            m->bind = true;
        if (m->type == NULL && !m->bind)
            return amber_error_coded(err, EINVAL,
                                     "config.json: %s.type: needed unless the mount "
                                     "is a bind mount",
                                     field);
        if (m->bind && m->data != NULL)
            return amber_error_coded(
                err, EINVAL, "config.json: %s.options: '%s' is not supported on a bind mount",
                field, m->data);
        if (m->bind && (m->flags & (MS_SYNCHRONOUS | MS_DIRSYNC | MS_MANDLOCK)) != 0)
            return amber_error_coded(err, EINVAL,
                                     "config.json: %s.options: sync, dirsync and mand are not "
                                     "supported on a bind mount",
                                     field);
        if (m->bind && m->src == NULL)
            return amber_error_coded(err, EINVAL,
                                     "config.json: %s.source: a bind mount needs a "
                                     "source",
                                     field);
        if (m->copy_up && (m->type == NULL || strcmp(m->type, "tmpfs") != 0))
            return amber_error_coded(err, EINVAL,
                                     "config.json: %s.options: tmpcopyup needs type "
                                     "tmpfs",
                                     field);
        if (m->bind && m->src[0] != '/') {
            /* Relative sources are relative to the bundle. */
            char *abs = xasprintf("%s/%s", oci->bundle != NULL ? oci->bundle : ".", m->src);
            free(m->src);
            m->src = abs;
        }
        if (!m->bind) {
            static const char *const types[] = {"proc",   "sysfs",   "tmpfs", "devpts", "mqueue",
                                                "cgroup", "cgroup2", "ramfs", NULL};
            bool ok = false;
            for (size_t t = 0; types[t] != NULL; t++)
                ok = ok || strcmp(types[t], m->type) == 0;
            if (!ok)
                return amber_error_coded(err, EINVAL,
                                         "config.json: %s.type: '%s' is not supported "
                                         "by amber (see docs/oci.md)",
                                         field, m->type);
        }
    }
    return 0;
}

/* ---- linux ---- */

static int parse_namespaces(json_t *a, struct amber_written *oci, struct amber_error *err)
{
    static const char *const keys[] = {"type", "path", NULL};

    if (!json_is_array(a))
        return bad(err, "linux.namespaces", "must be an array");
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *n = json_array_get(a, i);
        const char *type;
        char field[48];
        int t = -1;

        snprintf(field, sizeof(field), "linux.namespaces[%zu]", i);
        if (only_keys(n, field, keys, err) < 0)
            return -1;
        type = json_string_value(json_object_get(n, "type"));
        t = amber_ns_by_name(type);
        if (t < 0)
            return amber_error_coded(err, EINVAL, "config.json: %s.type: unknown namespace '%s'",
                                     field, type != NULL ? type : "?");
        if (oci->ns_new[t] || oci->ns_path[t] != NULL)
            return amber_error_coded(err, EINVAL, "config.json: %s: namespace '%s' listed twice",
                                     field, type);
        if (get_str(n, "path", field, &oci->ns_path[t], err) < 0)
            return -1;
        if (oci->ns_path[t] != NULL && oci->ns_path[t][0] != '/')
            return amber_error_coded(err, EINVAL, "config.json: %s.path: must be absolute", field);
        if (oci->ns_path[t] == NULL)
            oci->ns_new[t] = true;
    }
    return 0;
}

static int parse_idmaps(json_t *a, const char *field, struct amber_idmap **out, size_t *n,
                        struct amber_error *err)
{
    static const char *const keys[] = {"containerID", "hostID", "size", NULL};

    if (!json_is_array(a))
        return bad(err, field, "must be an array");
    *out = xcalloc(json_array_size(a) + 1, sizeof(**out));
    *n = 0;
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *m = json_array_get(a, i);
        char f[64];
        int64_t c = -1, h = -1, s = -1;

        snprintf(f, sizeof(f), "%s[%zu]", field, i);
        if (only_keys(m, f, keys, err) < 0 || get_int(m, "containerID", f, &c, err) < 0 ||
            get_int(m, "hostID", f, &h, err) < 0 || get_int(m, "size", f, &s, err) < 0)
            return -1;
        if (c < 0 || h < 0 || s <= 0 || c > UINT32_MAX || h > UINT32_MAX || s > UINT32_MAX)
            return bad(err, f, "containerID, hostID and size must be set (size > 0)");
        (*out)[(*n)++] = (struct amber_idmap){(uint32_t)c, (uint32_t)h, (uint32_t)s};
    }
    return 0;
}

static int parse_devices(json_t *a, struct amber_written *oci, struct amber_error *err)
{
    static const char *const keys[] = {"path",     "type", "major", "minor",
                                       "fileMode", "uid",  "gid",   NULL};

    if (!json_is_array(a))
        return bad(err, "linux.devices", "must be an array");
    oci->devices = xcalloc(json_array_size(a) + 1, sizeof(*oci->devices));
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *d = json_array_get(a, i);
        struct amber_device *dev = &oci->devices[oci->ndevices++];
        char field[48];
        char *type = NULL;
        int64_t v;

        snprintf(field, sizeof(field), "linux.devices[%zu]", i);
        if (only_keys(d, field, keys, err) < 0 || get_str(d, "path", field, &dev->path, err) < 0 ||
            get_str(d, "type", field, &type, err) < 0) {
            free(type);
            return -1;
        }
        if (dev->path == NULL || dev->path[0] != '/' || strstr(dev->path, "..") != NULL) {
            free(type);
            return bad(err, field, "path must be absolute, without '..'");
        }
        /* "/dev/x/" names /dev/x, as runc cleans it. */
        for (size_t n = strlen(dev->path); n > 1 && dev->path[n - 1] == '/'; n--)
            dev->path[n - 1] = '\0';
        if (strcmp(dev->path, "/") == 0) {
            free(type);
            return bad(err, field, "path must name a file, not '/'");
        }
        if (type == NULL || strlen(type) != 1 || strchr("cbup", type[0]) == NULL) {
            free(type);
            return bad(err, field, "type must be c, b, u or p");
        }
        dev->type = type[0] == 'u' ? 'c' : type[0];
        free(type);
        dev->major = dev->minor = 0;
        if (get_int(d, "major", field, &dev->major, err) < 0 ||
            get_int(d, "minor", field, &dev->minor, err) < 0)
            return -1;
        v = 0666;
        if (get_int(d, "fileMode", field, &v, err) < 0)
            return -1;
        dev->mode = (mode_t)(v & 07777);
        v = 0;
        if (get_int(d, "uid", field, &v, err) < 0)
            return -1;
        dev->uid = (uid_t)v;
        v = 0;
        if (get_int(d, "gid", field, &v, err) < 0)
            return -1;
        dev->gid = (gid_t)v;
    }
    return 0;
}

static int parse_devrules(json_t *a, struct amber_written *oci, struct amber_error *err)
{
    static const char *const keys[] = {"allow", "type", "major", "minor", "access", NULL};

    if (!json_is_array(a))
        return bad(err, "linux.resources.devices", "must be an array");
    oci->devrules = xcalloc(json_array_size(a) + 1, sizeof(*oci->devrules));
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *d = json_array_get(a, i);
        struct amber_devrule *r = &oci->devrules[oci->ndevrules++];
        char field[64];
        cleanup_free char *type = NULL;
        cleanup_free char *access = NULL;

        snprintf(field, sizeof(field), "linux.resources.devices[%zu]", i);
        r->major = r->minor = -1;
        if (only_keys(d, field, keys, err) < 0 || get_bool(d, "allow", field, &r->allow, err) < 0 ||
            get_str(d, "type", field, &type, err) < 0 ||
            get_str(d, "access", field, &access, err) < 0 ||
            get_int(d, "major", field, &r->major, err) < 0 ||
            get_int(d, "minor", field, &r->minor, err) < 0)
            return -1;
        if (json_object_get(d, "allow") == NULL)
            return bad(err, field, "allow must be set");
        r->type = type == NULL ? 'a' : type[0];
        if (type != NULL && (strlen(type) != 1 || strchr("acb", type[0]) == NULL))
            return bad(err, field, "type must be a, c or b");
        snprintf(r->access, sizeof(r->access), "%s", access == NULL ? "rwm" : access);
        if (strspn(r->access, "rwm") != strlen(r->access) || (access != NULL && strlen(access) > 3))
            return bad(err, field, "access must be a subset of rwm");
    }
    return 0;
}

static int parse_resources(json_t *r, struct amber_written *oci, struct amber_error *err)
{
    static const char *const keys[] = {"devices", "memory", "cpu", "pids", NULL};
    static const char *const mem_keys[] = {
        "limit", "reservation", "swap", "disableOOMKiller", "useHierarchy", NULL};
    static const char *const cpu_keys[] = {"shares", "quota", "period", "cpus", "mems", NULL};
    static const char *const pid_keys[] = {"limit", NULL};
    struct amber_resources *res = &oci->res;
    json_t *v;
    int64_t n;

    if (only_keys(r, "linux.resources", keys, err) < 0)
        return -1;
    if ((v = json_object_get(r, "devices")) != NULL && parse_devrules(v, oci, err) < 0)
        return -1;
    if ((v = json_object_get(r, "memory")) != NULL) {
        bool disable = false, hier = true;
        if (only_keys(v, "linux.resources.memory", mem_keys, err) < 0 ||
            get_int(v, "limit", "linux.resources.memory", &res->memory, err) < 0 ||
            get_int(v, "reservation", "linux.resources.memory", &res->memory_reservation, err) <
                0 ||
            get_int(v, "swap", "linux.resources.memory", &res->memory_swap, err) < 0 ||
            get_bool(v, "disableOOMKiller", "linux.resources.memory", &disable, err) < 0 ||
            get_bool(v, "useHierarchy", "linux.resources.memory", &hier, err) < 0)
            return -1;
        if (disable)
            return bad(err, "linux.resources.memory.disableOOMKiller",
                       "not supported by amber (a sandbox that cannot be OOM-killed could hang "
                       "the host)");
        if (!hier)
            return bad(err, "linux.resources.memory.useHierarchy",
                       "false is not supported (memory cgroups are hierarchical)");
        if (res->memory < -1 || res->memory_swap < -1)
            return bad(err, "linux.resources.memory", "limits must be positive or -1");
        if (res->memory == -1)
            res->memory = 0;
        if (res->memory > 0) {
            char what[96];
            snprintf(what, sizeof(what), "config.json: linux.resources.memory.limit %lld",
                     (long long)res->memory);
            if (spec_check_limit(AMBER_LIMIT_MEMORY, (uint64_t)res->memory, what, err) < 0)
                return -1;
        }
        if (res->memory > 0 && res->memory_swap > 0 && res->memory_swap < res->memory)
            return bad(err, "linux.resources.memory.swap", "must not be below limit");
    }
    if ((v = json_object_get(r, "cpu")) != NULL) {
        n = 0;
        if (only_keys(v, "linux.resources.cpu", cpu_keys, err) < 0 ||
            get_int(v, "shares", "linux.resources.cpu", &n, err) < 0)
            return -1;
        res->cpu_shares = (uint64_t)n;
        n = 0;
        if (get_int(v, "quota", "linux.resources.cpu", &res->cpu_quota, err) < 0 ||
            get_int(v, "period", "linux.resources.cpu", &n, err) < 0 ||
            get_str(v, "cpus", "linux.resources.cpu", &res->cpuset_cpus, err) < 0 ||
            get_str(v, "mems", "linux.resources.cpu", &res->cpuset_mems, err) < 0)
            return -1;
        res->cpu_period = (uint64_t)n;
    }
    if ((v = json_object_get(r, "pids")) != NULL) {
        if (only_keys(v, "linux.resources.pids", pid_keys, err) < 0 ||
            get_int(v, "limit", "linux.resources.pids", &res->pids, err) < 0)
            return -1;
        if (res->pids > 0) {
            char what[96];
            snprintf(what, sizeof(what), "config.json: linux.resources.pids.limit %lld",
                     (long long)res->pids);
            if (spec_check_limit(AMBER_LIMIT_PIDS, (uint64_t)res->pids, what, err) < 0)
                return -1;
        }
    }
    return 0;
}

static int parse_sysctl(json_t *o, struct amber_written *oci, struct amber_error *err)
{
    size_t n = 0;
    const char *key;
    void *it;

    if (!json_is_object(o))
        return bad(err, "linux.sysctl", "must be an object");
    oci->sysctl = xcalloc(1, sizeof(char *));
    for (it = json_object_iter(o); it != NULL; it = json_object_iter_next(o, it)) {
        json_t *v = json_object_iter_value(it);
        cleanup_free char *kv = NULL;

        key = json_object_iter_key(it);
        if (!json_is_string(v))
            return amber_error_coded(err, EINVAL, "config.json: linux.sysctl.%s: must be a string",
                                     key);
        if (key[0] == '\0' || key[0] == '.' || key[0] == '/' || strstr(key, "..") != NULL)
            return amber_error_coded(err, EINVAL, "config.json: linux.sysctl: bad key '%s'", key);
        /* The hostname is the "hostname" field's (runc refuses it too). */
        if (strcmp(key, "kernel.hostname") == 0)
            return amber_error_coded(err, EINVAL,
                                     "config.json: linux.sysctl.kernel.hostname: not allowed: it "
                                     "conflicts with the \"hostname\" field");
        /* Only namespaced sysctls: the rest would change the host. */
        if (strncmp(key, "net.", 4) != 0 && strncmp(key, "kernel.msg", 10) != 0 &&
            strncmp(key, "kernel.sem", 10) != 0 && strncmp(key, "kernel.shm", 10) != 0 &&
            strncmp(key, "fs.mqueue.", 10) != 0 && strcmp(key, "kernel.domainname") != 0)
            return amber_error_coded(err, EINVAL,
                                     "config.json: linux.sysctl.%s: not a namespaced sysctl "
                                     "(it would change the host)",
                                     key);
        /* Each sysctl must land in a namespace the container owns, or it
         * would change the host: net.* the network, kernel.domainname the
         * uts, the rest (SysV IPC, mqueue) the ipc one. */
        {
            enum amber_ns ns = amber_sysctl_ns(key);
            if (!oci->ns_new[ns] && oci->ns_path[ns] == NULL)
                return amber_error_coded(err, EINVAL,
                                         "config.json: linux.sysctl.%s: needs a %s namespace", key,
                                         amber_ns_name(ns));
        }
        kv = xasprintf("%s=%s", key, json_string_value(v));
        strv_push(&oci->sysctl, &n, kv);
    }
    return 0;
}

static int parse_hooks(json_t *h, struct amber_written *oci, struct amber_error *err)
{
    static const char *const kinds[] = {
        "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
        NULL};
    static const char *const keys[] = {"path", "args", "env", "timeout", NULL};

    if (only_keys(h, "hooks", kinds, err) < 0)
        return -1;
    for (int k = 0; k < AMBER_HOOK_COUNT; k++) {
        json_t *a = json_object_get(h, kinds[k]);
        if (a == NULL || json_is_null(a))
            continue;
        if (!json_is_array(a))
            return amber_error_coded(err, EINVAL, "config.json: hooks.%s: must be an array",
                                     kinds[k]);
        oci->hooks[k] = xcalloc(json_array_size(a) + 1, sizeof(struct amber_hook_cmd));
        for (size_t i = 0; i < json_array_size(a); i++) {
            json_t *j = json_array_get(a, i);
            struct amber_hook_cmd *hk = &oci->hooks[k][oci->nhooks[k]++];
            char field[64];
            int64_t t = 0;

            snprintf(field, sizeof(field), "hooks.%s[%zu]", kinds[k], i);
            if (only_keys(j, field, keys, err) < 0 ||
                get_str(j, "path", field, &hk->path, err) < 0 ||
                get_strv(j, "args", field, &hk->args, NULL, err) < 0 ||
                get_strv(j, "env", field, &hk->env, NULL, err) < 0 ||
                get_int(j, "timeout", field, &t, err) < 0)
                return -1;
            if (hk->path == NULL || hk->path[0] != '/')
                return amber_error_coded(err, EINVAL, "config.json: %s.path: must be absolute",
                                         field);
            if (t < 0 || (json_object_get(j, "timeout") != NULL && t == 0))
                return amber_error_coded(err, EINVAL, "config.json: %s.timeout: must be > 0",
                                         field);
            hk->timeout = (int)t;
        }
    }
    return 0;
}

static int parse_linux(json_t *l, struct amber_spec *spec, struct amber_written *oci,
                       struct amber_error *err)
{
    static const char *const keys[] = {
        "namespaces",    "uidMappings",       "gidMappings", "devices", "cgroupsPath",
        "resources",     "rootfsPropagation", "seccomp",     "sysctl",  "maskedPaths",
        "readonlyPaths", "mountLabel",        NULL};
    json_t *v;
    cleanup_free char *prop = NULL;

    if (only_keys(l, "linux", keys, err) < 0 || refuse_nonempty(l, "mountLabel", "linux", err) < 0)
        return -1;
    if ((v = json_object_get(l, "namespaces")) != NULL && parse_namespaces(v, oci, err) < 0)
        return -1;
    if ((v = json_object_get(l, "uidMappings")) != NULL &&
        parse_idmaps(v, "linux.uidMappings", &spec->uidmap, &spec->nuidmap, err) < 0)
        return -1;
    if ((v = json_object_get(l, "gidMappings")) != NULL &&
        parse_idmaps(v, "linux.gidMappings", &spec->gidmap, &spec->ngidmap, err) < 0)
        return -1;
    if ((spec->nuidmap > 0 || spec->ngidmap > 0) && !oci->ns_new[AMBER_NS_USER])
        return bad(err, "linux.uidMappings", "id mappings need a new user namespace");
    if (oci->ns_new[AMBER_NS_USER] && (spec->nuidmap == 0 || spec->ngidmap == 0))
        return bad(err, "linux.namespaces",
                   "a new user namespace needs linux.uidMappings and linux.gidMappings");
    if ((v = json_object_get(l, "devices")) != NULL && !json_is_null(v) &&
        parse_devices(v, oci, err) < 0)
        return -1;
    if (get_str(l, "cgroupsPath", "linux", &oci->cgroups_path, err) < 0)
        return -1;
    if (oci->cgroups_path != NULL &&
        (strstr(oci->cgroups_path, "..") != NULL || strchr(oci->cgroups_path, ':') != NULL))
        return bad(err, "linux.cgroupsPath",
                   "must be a cgroupfs path without '..' (systemd slice:prefix:name paths are not "
                   "supported; use --cgroup-manager cgroupfs)");
    if ((v = json_object_get(l, "resources")) != NULL && parse_resources(v, oci, err) < 0)
        return -1;
    if (get_str(l, "rootfsPropagation", "linux", &prop, err) < 0)
        return -1;
    if (prop != NULL && prop[0] != '\0' && propagation_parse(prop, &oci->rootfs_propagation) < 0)
        return amber_error_coded(err, EINVAL, "config.json: linux.rootfsPropagation: unknown '%s'",
                                 prop);
    if ((v = json_object_get(l, "seccomp")) != NULL && !json_is_null(v)) {
        if (oci_seccomp_compile(v, &oci->seccomp, err) < 0) {
            err->code = EINVAL;
            return amber_error_prefix(err, "config.json");
        }
        oci->has_seccomp = true;
    }
    if ((v = json_object_get(l, "sysctl")) != NULL && !json_is_null(v) &&
        parse_sysctl(v, oci, err) < 0)
        return -1;
    if (get_strv(l, "maskedPaths", "linux", &oci->masked, NULL, err) < 0 ||
        get_strv(l, "readonlyPaths", "linux", &oci->readonly, NULL, err) < 0)
        return -1;
    for (size_t i = 0; oci->masked != NULL && oci->masked[i] != NULL; i++)
        if (oci->masked[i][0] != '/')
            return bad(err, "linux.maskedPaths", "paths must be absolute");
    for (size_t i = 0; oci->readonly != NULL && oci->readonly[i] != NULL; i++)
        if (oci->readonly[i][0] != '/')
            return bad(err, "linux.readonlyPaths", "paths must be absolute");
    return 0;
}

int oci_config_parse(const char *text, size_t len, struct amber_spec *spec, bool process_only,
                     struct amber_error *err)
{
    struct amber_written *oci = &spec->written;
    static const char *const keys[] = {"ociVersion", "process", "root",  "hostname",
                                       "domainname", "mounts",  "hooks", "annotations",
                                       "linux",      NULL};
    static const char *const root_keys[] = {"path", "readonly", NULL};
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *v;
    int rc = -1;

    /* The bundle's choices, not amber's defaults (sandbox/launch.h). */
    spec->defaults = AMBER_DEFAULTS_AS_WRITTEN;

    if (doc == NULL)
        return amber_error_coded(err, EINVAL, "%s: invalid JSON at line %d: %s",
                                 process_only ? "process" : "config.json", jerr.line, jerr.text);
    oci->rootfs_propagation = MS_SLAVE | MS_REC; /* runc's default */
    if (process_only) {
        rc = parse_process(doc, spec, oci, err);
        if (rc < 0 && strncmp(err->msg, "config.json: ", 13) == 0)
            memmove(err->msg, err->msg + 13, strlen(err->msg + 13) + 1);
        json_decref(doc);
        return rc;
    }
    if (only_keys(doc, "", keys, err) < 0)
        goto out;
    v = json_object_get(doc, "ociVersion");
    if (!json_is_string(v) || strncmp(json_string_value(v), "1.", 2) != 0) {
        bad(err, "ociVersion", "must be a 1.x version string");
        goto out;
    }
    /* linux first: sysctl checks need the namespaces, parse_process the
     * user namespace. */
    v = json_object_get(doc, "linux");
    if (v == NULL) {
        bad(err, "linux", "missing (amber runs Linux containers)");
        goto out;
    }
    if (parse_linux(v, spec, oci, err) < 0)
        goto out;
    v = json_object_get(doc, "process");
    if (v == NULL) {
        bad(err, "process", "missing");
        goto out;
    }
    if (parse_process(v, spec, oci, err) < 0)
        goto out;
    v = json_object_get(doc, "root");
    if (v == NULL) {
        bad(err, "root", "missing");
        goto out;
    }
    if (only_keys(v, "root", root_keys, err) < 0 ||
        get_str(v, "path", "root", &spec->rootfs, err) < 0 ||
        get_bool(v, "readonly", "root", &oci->root_readonly, err) < 0)
        goto out;
    if (spec->rootfs == NULL || spec->rootfs[0] == '\0') {
        bad(err, "root.path", "missing");
        goto out;
    }
    if (spec->rootfs[0] != '/') {
        char *abs = xasprintf("%s/%s", oci->bundle != NULL ? oci->bundle : ".", spec->rootfs);
        free(spec->rootfs);
        spec->rootfs = abs;
    }
    if (get_str(doc, "hostname", "", &spec->hostname, err) < 0 ||
        get_str(doc, "domainname", "", &oci->domainname, err) < 0)
        goto out;
    if (spec->hostname != NULL && spec->hostname[0] != '\0' && !oci->ns_new[AMBER_NS_UTS]) {
        bad(err, "hostname", "needs a new uts namespace");
        goto out;
    }
    if (oci->domainname != NULL && oci->domainname[0] != '\0' && !oci->ns_new[AMBER_NS_UTS]) {
        bad(err, "domainname", "needs a new uts namespace");
        goto out;
    }
    if ((v = json_object_get(doc, "mounts")) != NULL && parse_mounts(v, oci, err) < 0)
        goto out;
    if ((v = json_object_get(doc, "hooks")) != NULL && parse_hooks(v, oci, err) < 0)
        goto out;
    v = json_object_get(doc, "annotations");
    if (v != NULL && !json_is_object(v)) {
        bad(err, "annotations", "must be an object");
        goto out;
    }
    oci->annotations = v != NULL ? json_dumps(v, JSON_COMPACT) : xstrdup("{}");
    if (!oci->ns_new[AMBER_NS_MNT]) {
        bad(err, "linux.namespaces", "amber needs a new mount namespace");
        goto out;
    }
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

int oci_config_load(const char *bundle, const char *id, struct amber_spec *spec, char **text_out,
                    struct amber_error *err)
{
    struct amber_written *oci = &spec->written;
    cleanup_free char *path = NULL;
    cleanup_free char *text = NULL;
    char abs[PATH_MAX];
    size_t len = 0;

    if (realpath(bundle, abs) == NULL)
        return amber_error_errno(err, "--bundle '%s'", bundle);
    oci->bundle = xstrdup(abs);
    oci->id = xstrdup(id);
    path = xasprintf("%s/config.json", abs);
    text = fs_read_alloc(path, &len, err);
    if (text == NULL) {
        amber_error_set(err, err->code, "--bundle '%s': config.json", bundle);
        return -1;
    }
    if (oci_config_parse(text, len, spec, false, err) < 0)
        return -1;
    if (text_out != NULL)
        *text_out = steal_pointer(&text);
    return 0;
}
