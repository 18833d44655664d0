/* amber_spec helpers: construction, environment, ulimits, names. */
#include "spec/spec.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "util/parse.h"
#include "util/xalloc.h"

void spec_init(struct amber_spec *spec)
{
    memset(spec, 0, sizeof(*spec));
    spec->env = xcalloc(1, sizeof(char *));
    spec->mode = AMBER_MODE_AGENT;
    spec->network = AMBER_NET_NONE;
    spec->userns = AMBER_USERNS_DEFAULT;
    spec->init = -1;
}

const char *spec_home(const struct amber_spec *spec)
{
    return spec->home != NULL ? spec->home : AMBER_HOME;
}

const char *spec_workdir(const struct amber_spec *spec)
{
    if (spec->workdir != NULL)
        return spec->workdir;
    if (spec->workspace != NULL)
        return AMBER_WORKSPACE;
    return spec_home(spec);
}

void spec_free(struct amber_spec *spec)
{
    strv_free(spec->argv);
    strv_free(spec->env);
    free(spec->workdir);
    free(spec->hostname);
    free(spec->rootfs);
    free(spec->backend);
    free(spec->ulimits);
    free(spec->result_json);
    for (size_t i = 0; i < spec->nmounts; i++) {
        free(spec->mounts[i].src);
        free(spec->mounts[i].dst);
    }
    free(spec->mounts);
    free(spec->context);
    strv_free(spec->context_excludes);
    free(spec->workspace);
    free(spec->home);
    for (size_t i = 0; i < spec->nsecrets; i++) {
        free(spec->secrets[i].src);
        free(spec->secrets[i].name);
    }
    free(spec->secrets);
    for (size_t i = 0; i < spec->nsecret_env; i++)
        explicit_bzero(spec->secret_env[i], strlen(spec->secret_env[i]));
    strv_free(spec->secret_env);
    free(spec->exec_env); /* pointers into env and secret_env */
    free(spec->groups);
    free(spec->uidmap);
    free(spec->gidmap);
    written_free(&spec->written);
    memset(spec, 0, sizeof(*spec));
}

static ssize_t env_find(const struct amber_spec *spec, const char *name, size_t nlen)
{
    for (size_t i = 0; i < spec->nenv; i++) {
        if (strncmp(spec->env[i], name, nlen) == 0 && spec->env[i][nlen] == '=')
            return (ssize_t)i;
    }
    return -1;
}

void spec_setenv(struct amber_spec *spec, const char *name, const char *value)
{
    size_t nlen = strlen(name);
    /* Past the limit spec_validate() refuses the spec whatever it holds:
     * append without the search, so filling it stays linear. */
    ssize_t i = spec->nenv < AMBER_MAX_ENV ? env_find(spec, name, nlen) : -1;
    char *entry = xasprintf("%s=%s", name, value);

    if (i >= 0) {
        free(spec->env[i]);
        spec->env[i] = entry;
        return;
    }
    spec->env = xrealloc(spec->env, (spec->nenv + 2) * sizeof(char *));
    spec->env[spec->nenv++] = entry;
    spec->env[spec->nenv] = NULL;
}

const char *spec_getenv(const struct amber_spec *spec, const char *name)
{
    ssize_t i = env_find(spec, name, strlen(name));
    return i >= 0 ? spec->env[i] + strlen(name) + 1 : NULL;
}

void spec_set_ulimit(struct amber_spec *spec, int resource, uint64_t soft, uint64_t hard)
{
    for (size_t i = 0; i < spec->nulimits; i++) {
        if (spec->ulimits[i].resource == resource) {
            spec->ulimits[i].soft = soft;
            spec->ulimits[i].hard = hard;
            return;
        }
    }
    spec->ulimits = xrealloc(spec->ulimits, (spec->nulimits + 1) * sizeof(*spec->ulimits));
    spec->ulimits[spec->nulimits++] = (struct amber_ulimit){resource, soft, hard};
}

static const char *const mode_names[] = {"agent", "strict-agent"};

const char *spec_mode_name(enum amber_mode mode)
{
    return (unsigned)mode < 2 ? mode_names[mode] : "?";
}

int spec_mode_parse(const char *s, enum amber_mode *out)
{
    for (int i = 0; i < 2; i++) {
        if (strcmp(s, mode_names[i]) == 0) {
            *out = (enum amber_mode)i;
            return 0;
        }
    }
    return -1;
}

static const struct {
    const char *name;
    int resource;
} rlimit_names[] = {
    {"as", RLIMIT_AS},           {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},       {"fsize", RLIMIT_FSIZE},       {"locks", RLIMIT_LOCKS},
    {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"nofile", RLIMIT_NOFILE},   {"nproc", RLIMIT_NPROC},       {"rss", RLIMIT_RSS},
    {"rtprio", RLIMIT_RTPRIO},   {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
    {"stack", RLIMIT_STACK},
};

int spec_rlimit_parse(const char *name, int *resource)
{
    for (size_t i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++) {
        if (strcmp(name, rlimit_names[i].name) == 0) {
            *resource = rlimit_names[i].resource;
            return 0;
        }
    }
    return -1;
}

const char *spec_rlimit_name(int resource)
{
    for (size_t i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++) {
        if (rlimit_names[i].resource == resource)
            return rlimit_names[i].name;
    }
    return "?";
}

static int parse_rlim_value(const char *s, uint64_t *out)
{
    if (strcmp(s, "unlimited") == 0 || strcmp(s, "-1") == 0) {
        *out = AMBER_UNLIMITED;
        return 0;
    }
    return parse_uint(s, UINT64_MAX - 1, out);
}

int spec_parse_ulimit(const char *s, struct amber_spec *spec, struct amber_error *err)
{
    char buf[128];
    char *eq, *colon;
    int resource;
    uint64_t soft, hard;

    if (strlen(s) >= sizeof(buf))
        return amber_error_set(err, 0, "--ulimit '%.40s...': too long", s);
    strcpy(buf, s);
    eq = strchr(buf, '=');
    if (eq == NULL)
        return amber_error_set(err, 0, "--ulimit '%s': expected NAME=SOFT[:HARD]", s);
    *eq = '\0';
    if (spec_rlimit_parse(buf, &resource) < 0)
        return amber_error_set(err, 0, "--ulimit '%s': unknown limit '%s'", s, buf);
    colon = strchr(eq + 1, ':');
    if (colon != NULL)
        *colon = '\0';
    if (parse_rlim_value(eq + 1, &soft) < 0)
        return amber_error_set(err, 0, "--ulimit '%s': bad value '%s'", s, eq + 1);
    hard = soft;
    if (colon != NULL && parse_rlim_value(colon + 1, &hard) < 0)
        return amber_error_set(err, 0, "--ulimit '%s': bad value '%s'", s, colon + 1);
    if (soft > hard)
        return amber_error_set(err, 0, "--ulimit '%s': soft limit above hard limit", s);
    spec_set_ulimit(spec, resource, soft, hard);
    return 0;
}
