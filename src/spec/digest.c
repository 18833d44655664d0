/* The spec digest: SHA-256 (nettle) over a canonical JSON form of the spec
 * (sorted keys, compact). Two runs with the same inputs get the same digest,
 * which is what an execution record will key on. */
#include <jansson.h>
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

int spec_digest(const struct amber_spec *spec, char out[65], struct amber_error *err)
{
    json_t *o = json_object();
    json_t *ul = json_array();
    struct sha256_ctx ctx;
    uint8_t d[SHA256_DIGEST_SIZE];
    char *text;

    json_object_set_new(o, "command", strv_json(spec->argv));
    if (spec->defaults != AMBER_DEFAULTS_HARDENED)
        json_object_set_new(o, "defaults", json_string("as-written"));
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
