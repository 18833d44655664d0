/* Launch files (--config FILE, --config-fd N): JSON or TOML. Keys are the
 * `amber run` long flag names in snake_case and are applied through the
 * same option table as the command line, so a key and its flag can never
 * mean different things. A TOML document is turned into the same JSON
 * value a JSON file would give, then applied by the same code. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
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

/* A JSON or TOML real as the decimal text the option parser reads: the
 * shortest text that reads back as the same double, without an exponent.
 * That is exactly the literal written whenever the literal has at most 15
 * significant digits (a double holds every such decimal); a JSON document
 * with a longer literal is refused before it is parsed (check_json_numbers),
 * and a double that needs more than 15 digits here is refused too. (TOML
 * defines floats as binary64 values: a longer TOML literal means the
 * nearest double, which is what is read.) */
static int real_text(double d, char *out, size_t cap)
{
    char e[40], digits[20];
    int p, exp, nd = 0;
    size_t w = 0;
    const char *m;

    if (d != d || d - d != 0) /* NaN, infinities */
        return -1;
    for (p = 1; p <= 17; p++) {
        snprintf(e, sizeof(e), "%.*e", p - 1, d);
        if (strtod(e, NULL) == d)
            break;
    }
    if (p > 15)
        return -1;
    /* e is [-]D[.DDD]e(+|-)XX */
    m = e;
    if (*m == '-') {
        out[w++] = '-';
        m++;
    }
    for (; *m != 'e'; m++)
        if (*m != '.')
            digits[nd++] = *m;
    exp = atoi(m + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    if (exp > 40 || exp < -40 || cap < 100)
        return -1;
    if (exp < 0) {
        out[w++] = '0';
        out[w++] = '.';
        for (int i = 0; i < -exp - 1; i++)
            out[w++] = '0';
        for (int i = 0; i < nd; i++)
            out[w++] = digits[i];
    } else {
        for (int i = 0; i <= exp; i++)
            out[w++] = i < nd ? digits[i] : '0';
        if (nd > exp + 1) {
            out[w++] = '.';
            for (int i = exp + 1; i < nd; i++)
                out[w++] = digits[i];
        }
    }
    out[w] = '\0';
    return 0;
}

/* JSON numbers are read as doubles (reals) or 64-bit integers: refuse a
 * literal whose value neither keeps exactly, naming it, instead of reading
 * a nearby number. Reals: at most 15 significant digits; integers: at most
 * 18 digits (anything longer may not fit in 64 bits). */
static int check_json_numbers(const char *text, size_t len, const char *name,
                              struct amber_error *err)
{
    bool in_string = false;
    int line = 1;
    size_t str_start = 0, key_start = 0, key_len = 0;

    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        size_t start, sig = 0, digits = 0, zeros = 0;
        bool real = false, leading = true;

        if (c == '\n')
            line++;
        if (in_string) {
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                size_t j = i + 1;
                in_string = false;
                while (j < len && strchr(" \t\r\n", text[j]) != NULL)
                    j++;
                if (j < len && text[j] == ':') { /* the key the next value is for */
                    key_start = str_start;
                    key_len = i - str_start;
                }
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
            str_start = i + 1;
            continue;
        }
        if (!(c == '-' || (c >= '0' && c <= '9')))
            continue;
        start = i;
        if (c == '-')
            i++;
        for (; i < len && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.'); i++) {
            if (text[i] == '.') {
                real = true;
                continue;
            }
            digits++;
            if (text[i] == '0' && leading)
                continue;
            leading = false;
            /* trailing zeros do not count: 1.500 is 1.5 */
            if (text[i] == '0') {
                zeros++;
            } else {
                sig += zeros + 1;
                zeros = 0;
            }
        }
        if (i < len && (text[i] == 'e' || text[i] == 'E')) {
            real = true;
            for (i++; i < len && strchr("+-0123456789", text[i]) != NULL; i++)
                ;
        }
        if ((real && sig > 15) || (!real && digits > 18))
            return amber_error_set(err, 0,
                                   "%s: line %d: key '%.*s': the number %.*s has more digits "
                                   "than amber reads exactly; give it as a string",
                                   name, line, (int)(key_len > 40 ? 40 : key_len), text + key_start,
                                   (int)(i - start > 40 ? 40 : i - start), text + start);
        i--; /* the loop's i++ */
    }
    return 0;
}

/* A string value with a NUL inside would be read as its prefix. */
static bool has_nul(json_t *v)
{
    return json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v);
}

static int apply_value(struct amber_spec *spec, const struct spec_option *o, const char *key,
                       json_t *v, const char *name, struct amber_error *err)
{
    char buf[128];
    const char *s = NULL;

    if (o->metavar == NULL) {
        if (!json_is_boolean(v))
            return amber_error_set(err, 0, "%s: key '%s': expected true or false", name, key);
        return json_is_true(v) ? o->apply(spec, "", err) : 0;
    }
    if (has_nul(v)) {
        return amber_error_set(err, 0, "%s: key '%s': the value contains a NUL character", name,
                               key);
    } else if (json_is_string(v)) {
        s = json_string_value(v);
    } else if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        s = buf;
    } else if (json_is_real(v)) {
        if (real_text(json_real_value(v), buf, sizeof(buf)) < 0)
            return amber_error_set(err, 0,
                                   "%s: key '%s': %.17g cannot be read exactly (more than 15 "
                                   "significant digits); give it as a string",
                                   name, key, json_real_value(v));
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
    size_t key_len;
    json_t *v;

    if (!json_is_object(root))
        return amber_error_set(err, 0, "%s: expected an object (a table) at the top", name);
    json_object_keylen_foreach(root, key, key_len, v)
    {
        char opt[64];
        const struct spec_option *o;

        if (strlen(key) != key_len)
            return amber_error_set(err, 0, "%s: unknown key '%s' (it contains a NUL character)",
                                   name, key);

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
                if (has_nul(arg))
                    return amber_error_set(err, 0, "%s: command[%zu]: contains a NUL character",
                                           name, i);
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
        if (check_json_numbers(text, len, name, err) < 0)
            return -1;
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
