/* The JSON launch file (--config FILE). Keys are the `amber run` long flag
 * names in snake_case and are applied through the same option table as the
 * command line, so a key and its flag can never mean different things. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "spec/flags.h"
#include "util/xalloc.h"

static int apply_value(struct amber_spec *spec, const struct spec_option *o, const char *key,
                       json_t *v, const char *path, struct amber_error *err)
{
    char buf[64];
    const char *s = NULL;

    if (o->metavar == NULL) {
        if (!json_is_boolean(v))
            return amber_error_set(err, 0, "%s: key '%s': expected true or false", path, key);
        return json_is_true(v) ? o->apply(spec, "", err) : 0;
    }
    if (json_is_string(v)) {
        s = json_string_value(v);
    } else if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        s = buf;
    } else if (json_is_real(v)) {
        snprintf(buf, sizeof(buf), "%g", json_real_value(v));
        s = buf;
    } else {
        return amber_error_set(err, 0, "%s: key '%s': expected a string or number", path, key);
    }
    if (o->apply(spec, s, err) < 0)
        return amber_error_prefix(err, "%s", path);
    return 0;
}

int spec_from_json_file(struct amber_spec *spec, const char *path, struct amber_error *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    const char *key;
    json_t *v;
    int rc = -1;

    if (root == NULL) {
        if (jerr.line < 0)
            return amber_error_set(err, 0, "--config '%s': %s", path, jerr.text);
        return amber_error_set(err, 0, "--config '%s': line %d column %d: %s", path, jerr.line,
                               jerr.column, jerr.text);
    }
    if (!json_is_object(root)) {
        amber_error_set(err, 0, "--config '%s': expected a JSON object", path);
        goto out;
    }
    json_object_foreach(root, key, v)
    {
        char name[64];
        const struct spec_option *o;

        if (strcmp(key, "command") == 0) {
            size_t i;
            json_t *arg;

            if (!json_is_array(v) || json_array_size(v) == 0) {
                amber_error_set(
                    err, 0, "--config '%s': key 'command': expected a non-empty array of strings",
                    path);
                goto out;
            }
            json_array_foreach(v, i, arg)
            {
                if (!json_is_string(arg)) {
                    amber_error_set(err, 0, "--config '%s': command[%zu]: expected a string", path,
                                    i);
                    goto out;
                }
                strv_push(&spec->argv, &spec->argc, json_string_value(arg));
            }
            continue;
        }
        if (strlen(key) >= sizeof(name) || strchr(key, '-') != NULL) {
            amber_error_set(err, 0, "--config '%s': unknown key '%s'", path, key);
            goto out;
        }
        strcpy(name, key);
        for (char *p = name; *p; p++) {
            if (*p == '_')
                *p = '-';
        }
        o = spec_option_find(name);
        if (o == NULL) {
            amber_error_set(err, 0, "--config '%s': unknown key '%s'", path, key);
            goto out;
        }
        if (json_is_array(v)) {
            size_t i;
            json_t *item;

            if (!o->repeatable) {
                amber_error_set(err, 0, "--config '%s': key '%s': expected a single value", path,
                                key);
                goto out;
            }
            json_array_foreach(v, i, item)
            {
                if (apply_value(spec, o, key, item, path, err) < 0)
                    goto out;
            }
        } else if (apply_value(spec, o, key, v, path, err) < 0) {
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}
