/* spec_validate(): the one place where defaults and the mode rules are
 * applied. Every front-end calls it after filling the spec; a backend may
 * assume a validated spec. */
#include "spec/spec.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

int spec_validate(struct amber_spec *spec, uid_t euid, struct amber_error *err)
{
    bool strict = spec->mode == AMBER_MODE_STRICT_AGENT;

    spec->rootless = euid != 0;

    if (spec->argc == 0 || spec->argv == NULL || spec->argv[0] == NULL || spec->argv[0][0] == '\0')
        return amber_error_set(err, 0,
                               "no command given (usage: amber run [OPTIONS] -- COMMAND [ARG...])");

    if (spec->backend == NULL)
        spec->backend = xstrdup("native");
    if (strcmp(spec->backend, "native") != 0 && strcmp(spec->backend, "process") != 0)
        return amber_error_set(err, 0, "--backend '%s': unknown backend (native, process)",
                               spec->backend);
    if (strict && strcmp(spec->backend, "process") == 0)
        return amber_error_set(
            err, 0, "--backend process: refused in strict-agent mode (it does not isolate)");

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

    /* User namespaces: rootless runs always need one (only a user namespace
     * grants the mount and namespace rights); strict-agent as host root
     * needs one so that container root is not host root. */
    if (spec->userns == AMBER_USERNS_DEFAULT)
        spec->userns = (spec->rootless || strict) ? AMBER_USERNS_AUTO : AMBER_USERNS_HOST;
    if (spec->userns == AMBER_USERNS_HOST && spec->rootless && strcmp(spec->backend, "native") == 0)
        return amber_error_set(
            err, 0, "--userns host: not possible without root (a user namespace is required)");
    if (spec->userns == AMBER_USERNS_HOST && strict)
        return amber_error_set(
            err, 0,
            "--userns host: refused in strict-agent mode (container root must not be host root)");
    if (spec->rootless && spec->has_user && (spec->uid != euid))
        return amber_error_set(
            err, 0, "--user %u: only your own uid (%u) is mapped when running without root",
            spec->uid, (unsigned)euid);
    if (spec->time_ns && strcmp(spec->backend, "native") != 0)
        return amber_error_set(err, 0, "--time-namespace: needs the native backend");

    if (!spec->pids_set)
        spec->pids = AMBER_DEFAULT_PIDS;

    if (!spec->keep_ld_env)
        drop_ld_env(spec);
    if (spec_getenv(spec, "PATH") == NULL)
        spec_setenv(spec, "PATH", AMBER_DEFAULT_PATH);
    if (spec_getenv(spec, "HOME") == NULL)
        spec_setenv(spec, "HOME", AMBER_HOME);
    if (spec_getenv(spec, "HOSTNAME") == NULL)
        spec_setenv(spec, "HOSTNAME", spec->hostname);
    return 0;
}
