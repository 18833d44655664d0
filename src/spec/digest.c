/* The spec digest: SHA-256 (nettle) over a canonical JSON form of the spec
 * (sorted keys, compact). Two runs with the same inputs get the same digest,
 * which is what an execution record will key on. */
#include <jansson.h>
#include <linux/filter.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <string.h>

#include "backend/caps.h"
#include "spec/spec.h"
#include "util/xalloc.h"

/* A string exactly: as itself when it is UTF-8, else as {"hex": its
 * bytes}, so no two specs that differ in a byte share a digest (jansson
 * refuses invalid UTF-8, which would drop the value). */
static json_t *str_json(const char *s)
{
    json_t *j;
    char *hex;
    size_t n;

    if (s == NULL)
        return json_null();
    j = json_string(s);
    if (j != NULL)
        return j;
    n = strlen(s);
    hex = xmalloc(2 * n + 1);
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", (unsigned char)s[i]);
    j = json_pack("{s:s}", "hex", hex);
    free(hex);
    return j;
}

static json_t *strv_json(char **v)
{
    json_t *a = json_array();

    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        json_array_append_new(a, str_json(v[i]));
    return a;
}

static json_t *hex_json(const uint8_t *b, size_t n)
{
    char *hex = xmalloc(2 * n + 1);
    json_t *j;

    hex[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", b[i]);
    j = json_string(hex);
    free(hex);
    return j;
}

static json_t *idmap_json(const struct amber_idmap *m, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("[III]", (json_int_t)m[i].inside,
                                           (json_int_t)m[i].outside, (json_int_t)m[i].count));
    return a;
}

/* Everything a spec taken as written adds (spec->written), so that two
 * bundles that run differently never share a digest. The seccomp program
 * enters as the SHA-256 of its instructions. */
static json_t *written_json(const struct amber_spec *spec)
{
    const struct amber_written *w = &spec->written;
    json_t *o = json_object();
    json_t *a = json_array();

    for (size_t i = 0; i < w->nmounts; i++) {
        const struct amber_mount_entry *m = &w->mounts[i];
        json_array_append_new(
            a, json_pack("{s:o,s:o,s:o,s:o,s:I,s:I,s:b,s:b,s:b}", "dst", str_json(m->dst), "src",
                         str_json(m->src), "type", str_json(m->type), "data", str_json(m->data),
                         "flags", (json_int_t)m->flags, "propagation", (json_int_t)m->propagation,
                         "bind", m->bind, "recursive", m->recursive, "copy_up", m->copy_up));
    }
    json_object_set_new(o, "mounts", a);
    a = json_array();
    for (int k = 0; k < AMBER_NS_COUNT; k++)
        if (w->ns_new[k] || w->ns_path[k] != NULL)
            json_array_append_new(a, json_pack("[so]", amber_ns_name(k), str_json(w->ns_path[k])));
    json_object_set_new(o, "namespaces", a);
    a = json_array();
    for (int i = 0; i < 5; i++)
        json_array_append_new(a, json_integer((json_int_t)w->caps[i]));
    json_object_set_new(o, "caps", a);
    json_object_set_new(o, "no_new_privs", json_boolean(w->no_new_privs));
    json_object_set_new(o, "umask", w->has_umask ? json_integer(w->umask) : json_null());
    json_object_set_new(o, "oom_score_adj",
                        w->has_oom_score_adj ? json_integer(w->oom_score_adj) : json_null());
    json_object_set_new(o, "domainname", str_json(w->domainname));
    json_object_set_new(o, "root_readonly", json_boolean(w->root_readonly));
    json_object_set_new(o, "rootfs_propagation", json_integer((json_int_t)w->rootfs_propagation));
    json_object_set_new(o, "masked", strv_json(w->masked));
    json_object_set_new(o, "readonly", strv_json(w->readonly));
    json_object_set_new(o, "sysctl", strv_json(w->sysctl));
    a = json_array();
    for (size_t i = 0; i < w->ndevices; i++) {
        const struct amber_device *d = &w->devices[i];
        json_array_append_new(a, json_pack("[oiIIiII]", str_json(d->path), d->type,
                                           (json_int_t)d->major, (json_int_t)d->minor, (int)d->mode,
                                           (json_int_t)d->uid, (json_int_t)d->gid));
    }
    json_object_set_new(o, "devices", a);
    a = json_array();
    for (size_t i = 0; i < w->ndevrules; i++) {
        const struct amber_devrule *r = &w->devrules[i];
        json_array_append_new(a, json_pack("[biIIs]", r->allow, r->type, (json_int_t)r->major,
                                           (json_int_t)r->minor, r->access));
    }
    json_object_set_new(o, "devrules", a);
    a = json_array();
    for (int k = 0; k < AMBER_HOOK_COUNT; k++) {
        json_t *h = json_array();
        for (size_t i = 0; i < w->nhooks[k]; i++)
            json_array_append_new(h,
                                  json_pack("[oooi]", str_json(w->hooks[k][i].path),
                                            strv_json(w->hooks[k][i].args),
                                            strv_json(w->hooks[k][i].env), w->hooks[k][i].timeout));
        json_array_append_new(a, h);
    }
    json_object_set_new(o, "hooks", a);
    json_object_set_new(o, "cgroups_path", str_json(w->cgroups_path));
    json_object_set_new(o, "resources",
                        json_pack("[IIIIIIooI]", (json_int_t)w->res.memory,
                                  (json_int_t)w->res.memory_swap,
                                  (json_int_t)w->res.memory_reservation,
                                  (json_int_t)w->res.cpu_shares, (json_int_t)w->res.cpu_quota,
                                  (json_int_t)w->res.cpu_period, str_json(w->res.cpuset_cpus),
                                  str_json(w->res.cpuset_mems), (json_int_t)w->res.pids));
    if (w->has_seccomp) {
        struct sha256_ctx ctx;
        uint8_t d[SHA256_DIGEST_SIZE];
        sha256_init(&ctx);
        sha256_update(&ctx, w->seccomp.len * sizeof(struct sock_filter),
                      (const uint8_t *)w->seccomp.insns);
        sha256_digest(&ctx, sizeof(d), d);
        json_object_set_new(o, "seccomp",
                            json_pack("{s:o,s:I}", "sha256", hex_json(d, sizeof(d)), "flags",
                                      (json_int_t)w->seccomp.flags));
    } else {
        json_object_set_new(o, "seccomp", json_null());
    }
    json_object_set_new(o, "console", json_pack("[ii]", w->console_rows, w->console_cols));
    a = json_array();
    for (size_t i = 0; i < spec->ngroups; i++)
        json_array_append_new(a, json_integer((json_int_t)spec->groups[i]));
    json_object_set_new(o, "groups", a);
    json_object_set_new(o, "uidmap", idmap_json(spec->uidmap, spec->nuidmap));
    json_object_set_new(o, "gidmap", idmap_json(spec->gidmap, spec->ngidmap));
    return o;
}

int spec_digest(const struct amber_spec *spec, char out[65], struct amber_error *err)
{
    json_t *o = json_object();
    json_t *ul = json_array();
    struct sha256_ctx ctx;
    uint8_t d[SHA256_DIGEST_SIZE];
    char *text;

    json_object_set_new(o, "command", strv_json(spec->argv));
    if (spec->defaults != AMBER_DEFAULTS_HARDENED) {
        json_object_set_new(o, "defaults", json_string("as-written"));
        json_object_set_new(o, "written", written_json(spec));
    }
    json_object_set_new(o, "env", strv_json(spec->env));
    json_object_set_new(o, "workdir", str_json(spec->workdir));
    json_object_set_new(o, "hostname", str_json(spec->hostname));
    json_object_set_new(o, "user",
                        spec->has_user
                            ? json_pack("[II]", (json_int_t)spec->uid, (json_int_t)spec->gid)
                            : json_null());
    json_object_set_new(o, "rootfs", str_json(spec->rootfs));
    json_object_set_new(o, "rootfs_mode", json_integer(spec->rootfs_mode));
    json_object_set_new(o, "network", json_integer(spec->network));
    json_object_set_new(o, "userns", json_integer(spec->userns));
    json_object_set_new(o, "time_ns", json_boolean(spec->time_ns));
    json_object_set_new(o, "mode", json_string(spec_mode_name(spec->mode)));
    json_object_set_new(o, "backend",
                        json_string(spec->backend ? spec->backend : amber_backend_default()));
    json_object_set_new(o, "memory", json_integer((json_int_t)spec->memory));
    json_object_set_new(o, "cpus_milli", json_integer((json_int_t)spec->cpus_milli));
    json_object_set_new(o, "pids", json_integer((json_int_t)spec->pids));
    json_object_set_new(o, "timeout_ns", json_integer((json_int_t)spec->timeout_ns));
    for (size_t i = 0; i < spec->nulimits; i++)
        json_array_append_new(ul, json_pack("[sII]", spec_rlimit_name(spec->ulimits[i].resource),
                                            (json_int_t)spec->ulimits[i].soft,
                                            (json_int_t)spec->ulimits[i].hard));
    json_object_set_new(o, "ulimits", ul);

    text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(o);
    if (text == NULL)
        return amber_error_set(err, 0, "spec digest: cannot encode spec");
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(text), (const uint8_t *)text);
    sha256_digest(&ctx, sizeof(d), d);
    free(text);
    for (size_t i = 0; i < sizeof(d); i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    return 0;
}
