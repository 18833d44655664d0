/* Launch files (--config FILE, --config-fd N): JSON or TOML. Keys are the
 * `amber run` long flag names in snake_case and are applied through the
 * same option table as the command line, so a key and its flag can never
 * mean different things. A TOML document is turned into the same JSON
 * value a JSON file would give, then applied by the same code. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spec/flags.h"
#include "util/cleanup.h"
#include "util/toml.h"
#include "util/xalloc.h"

#define CONFIG_MAX (4 << 20)

static int apply_value(struct amber_spec *spec, const struct spec_option *o, const char *key,
                       json_t *v, const char *name, struct amber_error *err)
{
    char buf[64];
    const char *s = NULL;

    if (o->metavar == NULL) {
        if (!json_is_boolean(v))
            return amber_error_set(err, 0, "%s: key '%s': expected true or false", name, key);
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
        return amber_error_set(err, 0, "%s: key '%s': expected a string or number", name, key);
    }
    if (o->apply(spec, s, err) < 0)
        return amber_error_prefix(err, "%s", name);
    return 0;
}

static int apply_object(struct amber_spec *spec, json_t *root, const char *name,
                        struct amber_error *err)
{
    const char *key;
    json_t *v;

    if (!json_is_object(root))
        return amber_error_set(err, 0, "%s: expected an object (a table) at the top", name);
    json_object_foreach(root, key, v)
    {
        char opt[64];
        const struct spec_option *o;

        if (strcmp(key, "command") == 0) {
            size_t i;
            json_t *arg;

            if (!json_is_array(v) || json_array_size(v) == 0)
                return amber_error_set(
                    err, 0, "%s: key 'command': expected a non-empty array of strings", name);
            json_array_foreach(v, i, arg)
            {
                if (!json_is_string(arg))
                    return amber_error_set(err, 0, "%s: command[%zu]: expected a string", name, i);
                strv_push(&spec->argv, &spec->argc, json_string_value(arg));
            }
            continue;
        }
        /* Snake case only: "env-fd" is not a key, "env_fd" is. Keys that are
         * not options at all (config, log_level) are unknown here too. */
        if (strlen(key) >= sizeof(opt) || strchr(key, '-') != NULL)
            return amber_error_set(err, 0, "%s: unknown key '%s'", name, key);
        strcpy(opt, key);
        for (char *p = opt; *p; p++) {
            if (*p == '_')
                *p = '-';
        }
        o = spec_option_find(opt);
        if (o == NULL)
            return amber_error_set(err, 0, "%s: unknown key '%s'", name, key);
        if (json_is_array(v)) {
            size_t i;
            json_t *item;

            if (!o->repeatable)
                return amber_error_set(err, 0, "%s: key '%s': expected a single value", name, key);
            json_array_foreach(v, i, item)
            {
                if (apply_value(spec, o, key, item, name, err) < 0)
                    return -1;
            }
        } else if (apply_value(spec, o, key, v, name, err) < 0) {
            return -1;
        }
    }
    return 0;
}

int spec_from_config_text(struct amber_spec *spec, const char *text, size_t len, const char *name,
                          struct amber_error *err)
{
    json_t *root;
    size_t i = 0;
    int rc;

    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    if (i < len && text[i] == '{') {
        json_error_t jerr;
        root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (root == NULL)
            return amber_error_set(err, 0, "%s: line %d column %d: %s", name, jerr.line,
                                   jerr.column, jerr.text);
    } else {
        struct toml_error terr;
        struct toml_value *t = toml_parse(text, len, &terr);
        if (t == NULL)
            return amber_error_set(err, 0, "%s: line %d column %d: %s", name, terr.line,
                                   terr.column, terr.msg);
        root = toml_to_json(t);
        toml_free(t);
        if (root == NULL)
            return amber_error_set(err, 0, "%s: cannot convert the TOML document", name);
    }
    rc = apply_object(spec, root, name, err);
    json_decref(root);
    return rc;
}

/* Read all of fd (at most CONFIG_MAX bytes). */
static char *read_all(int fd, size_t *len, const char *name, struct amber_error *err)
{
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);

    for (;;) {
        ssize_t r;
        if (n == cap) {
            if (cap >= CONFIG_MAX) {
                free(buf);
                amber_error_set(err, 0, "%s: larger than %d bytes", name, CONFIG_MAX);
                return NULL;
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(buf);
            amber_error_errno(err, "read %s", name);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *len = n;
    return buf;
}

int spec_from_config_file(struct amber_spec *spec, const char *path, struct amber_error *err)
{
    cleanup_free char *name = xasprintf("--config '%s'", path);
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    cleanup_free char *text = NULL;
    size_t len;

    if (fd < 0)
        return amber_error_errno(err, "%s", name);
    text = read_all(fd, &len, name, err);
    if (text == NULL)
        return -1;
    return spec_from_config_text(spec, text, len, name, err);
}

int spec_from_config_fd(struct amber_spec *spec, int fd, struct amber_error *err)
{
    cleanup_free char *name = xasprintf("--config-fd %d", fd);
    cleanup_free char *text = NULL;
    size_t len;

    text = read_all(fd, &len, name, err);
    if (text == NULL)
        return -1;
    return spec_from_config_text(spec, text, len, name, err);
}

static bool valid_env_name(const char *s, size_t n)
{
    if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

static void push_secret_env(struct amber_spec *spec, const char *name, size_t nlen,
                            const char *value, size_t vlen)
{
    char *entry = xmalloc(nlen + 1 + vlen + 1);

    memcpy(entry, name, nlen);
    entry[nlen] = '=';
    memcpy(entry + nlen + 1, value, vlen);
    entry[nlen + 1 + vlen] = '\0';
    spec->secret_env = xrealloc(spec->secret_env, (spec->nsecret_env + 2) * sizeof(char *));
    spec->secret_env[spec->nsecret_env++] = entry;
    spec->secret_env[spec->nsecret_env] = NULL;
}

/* Values never appear in messages: errors name the variable, at most. */
int spec_read_env_fd(struct amber_spec *spec, int fd, struct amber_error *err)
{
    cleanup_free char *name = xasprintf("--env-fd %d", fd);
    char *text;
    size_t len;
    json_error_t jerr;
    json_t *root;
    int rc = -1;

    if (fcntl(fd, F_GETFD) < 0)
        return amber_error_set(err, 0, "%s: not an open file descriptor", name);
    text = read_all(fd, &len, name, err);
    if (text == NULL)
        return -1;
    root = json_loadb(text, len, 0, &jerr);
    explicit_bzero(text, len);
    free(text);
    if (root == NULL)
        /* jerr.text may quote the input: give only the position. */
        return amber_error_set(err, 0, "%s: not valid JSON (line %d column %d)", name, jerr.line,
                               jerr.column);
    if (json_is_object(root)) {
        const char *k;
        json_t *v;
        json_object_foreach(root, k, v)
        {
            if (!valid_env_name(k, strlen(k))) {
                amber_error_set(err, 0, "%s: '%.64s' is not a variable name", name, k);
                goto out;
            }
            if (!json_is_string(v)) {
                amber_error_set(err, 0, "%s: the value of %s is not a string", name, k);
                goto out;
            }
            push_secret_env(spec, k, strlen(k), json_string_value(v), json_string_length(v));
        }
    } else if (json_is_array(root)) {
        size_t i;
        json_t *v;
        json_array_foreach(root, i, v)
        {
            const char *s = json_is_string(v) ? json_string_value(v) : NULL;
            const char *eq = s ? strchr(s, '=') : NULL;
            if (eq == NULL || !valid_env_name(s, (size_t)(eq - s))) {
                amber_error_set(err, 0, "%s: item %zu is not a NAME=VALUE string", name, i);
                goto out;
            }
            push_secret_env(spec, s, (size_t)(eq - s), eq + 1, strlen(eq + 1));
        }
    } else {
        amber_error_set(err, 0, "%s: expected a JSON object or array", name);
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}
