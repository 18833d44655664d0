/* Resource limits for the workload: what cgroups do not cover per process.
 *
 * What the defaults stop:
 *  - RLIMIT_CORE 0:0: a crashing workload writes no core file (which could
 *    hold secrets, fill the disk, or be piped to a host core_pattern
 *    helper that runs outside the sandbox).
 *  - RLIMIT_NOFILE: some hosts run with a soft limit of a billion; programs
 *    that loop "close every fd up to the limit" then spin for minutes, and
 *    select()-based code breaks past 1024. A huge soft limit is brought back
 *    to 1024; the hard limit is kept so the workload may raise it again.
 *  - RLIMIT_NPROC = the pids limit, inside a user namespace: the kernel
 *    counts a user's processes per user namespace, so in the sandbox's own
 *    one this bounds the sandbox's processes even where no pids cgroup
 *    could be made (rootless on a host that gives the user no cgroup).
 *    Outside a user namespace the workload is host root, whom the kernel
 *    never holds to RLIMIT_NPROC; the cgroup does that there.
 *  - RLIMIT_DATA = the memory limit, when no memory cgroup could be made
 *    (rootless on a host that gives the user none): a per-process bound
 *    on private writable memory, which is what an allocation takes; the
 *    cgroup, where there is one, bounds the sandbox as a whole instead.
 *    Set in the workload only (rlimit_data_bound, just before its exec),
 *    not in amber's PID 1.
 * The spec's --ulimit entries come after and replace a default for the same
 * resource (the default is then skipped rather than applied and
 * overridden: lowering a hard limit cannot be undone without
 * CAP_SYS_RESOURCE, so "core=unlimited" has to win without the 0:0 first). */
#include "sandbox/rlimit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

/* Above this a soft open-file limit is not a real choice, only a host
 * default leaking in. */
#define NOFILE_SANE_MAX 1048576
#define NOFILE_DEFAULT_SOFT 1024

static const char *rlimit_name(int resource, char *buf, size_t len)
{
    const char *name = spec_rlimit_name(resource);

    if (strcmp(name, "?") != 0)
        return name;
    snprintf(buf, len, "resource %d", resource);
    return buf;
}

static rlim_t to_rlim(uint64_t v)
{
    /* Values rlim_t cannot hold (only possible where it is 32 bits) mean
     * "more than the kernel can count": unlimited. */
    if (v == AMBER_UNLIMITED || v >= (uint64_t)RLIM_INFINITY)
        return RLIM_INFINITY;
    return (rlim_t)v;
}

static const char *fmt_value(uint64_t v, char *buf, size_t len)
{
    if (v == AMBER_UNLIMITED)
        return "unlimited";
    snprintf(buf, len, "%" PRIu64, v);
    return buf;
}

static bool spec_sets(const struct amber_spec *spec, int resource)
{
    if (spec == NULL)
        return false;
    for (size_t i = 0; i < spec->nulimits; i++) {
        if (spec->ulimits[i].resource == resource)
            return true;
    }
    return false;
}

static int apply_defaults(const struct amber_spec *spec, bool userns, struct amber_error *err)
{
    struct rlimit rl;

    if (userns && spec != NULL && spec->pids > 0 && !spec_sets(spec, RLIMIT_NPROC)) {
        if (getrlimit(RLIMIT_NPROC, &rl) == 0 &&
            (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)spec->pids)) {
            rl.rlim_cur = rl.rlim_max = (rlim_t)spec->pids;
            if (setrlimit(RLIMIT_NPROC, &rl) < 0)
                return amber_error_errno(err, "ulimit nproc=%llu (the pids limit)",
                                         (unsigned long long)spec->pids);
        }
    }

    if (!spec_sets(spec, RLIMIT_CORE)) {
        rl.rlim_cur = 0;
        rl.rlim_max = 0;
        /* Lowering both limits needs no privilege. */
        if (setrlimit(RLIMIT_CORE, &rl) < 0)
            return amber_error_errno(err, "ulimit core=0:0");
    }

    if (!spec_sets(spec, RLIMIT_NOFILE)) {
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
            return amber_error_errno(err, "ulimit nofile: getrlimit");
        if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > NOFILE_SANE_MAX) {
            rlim_t soft = NOFILE_DEFAULT_SOFT;

            if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < soft)
                soft = rl.rlim_max;
            rl.rlim_cur = soft;
            /* Only the soft limit moves, and downwards: always allowed. */
            if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                return amber_error_errno(err, "ulimit nofile=%llu", (unsigned long long)soft);
        }
    }
    return 0;
}

int rlimit_data_bound(const struct amber_spec *spec, uint64_t data, struct amber_error *err)
{
    struct rlimit rl;

    if (data == 0 || spec_sets(spec, RLIMIT_DATA) || getrlimit(RLIMIT_DATA, &rl) < 0 ||
        (rl.rlim_max != RLIM_INFINITY && rl.rlim_max <= (rlim_t)data))
        return 0;
    rl.rlim_cur = rl.rlim_max = (rlim_t)data;
    if (setrlimit(RLIMIT_DATA, &rl) < 0)
        return amber_error_errno(err, "ulimit data=%llu (the memory limit)",
                                 (unsigned long long)data);
    return 0;
}

int rlimit_apply(const struct amber_spec *spec, bool userns, struct amber_error *err)
{
    if (apply_defaults(spec, userns, err) < 0)
        return -1;
    if (spec == NULL)
        return 0;

    for (size_t i = 0; i < spec->nulimits; i++) {
        const struct amber_ulimit *u = &spec->ulimits[i];
        struct rlimit rl = {.rlim_cur = to_rlim(u->soft), .rlim_max = to_rlim(u->hard)};
        char nbuf[32], sbuf[24], hbuf[24];

        if (setrlimit(u->resource, &rl) < 0) {
            /* Saved first: the formatting helpers may touch errno. */
            int e = errno;

            return amber_error_set(
                err, e, "ulimit %s=%s:%s", rlimit_name(u->resource, nbuf, sizeof(nbuf)),
                fmt_value(u->soft, sbuf, sizeof(sbuf)), fmt_value(u->hard, hbuf, sizeof(hbuf)));
        }
    }
    return 0;
}

int rlimit_apply_exact(const struct amber_spec *spec, const char *what, struct amber_error *err)
{
    char nbuf[32];

    for (size_t i = 0; i < spec->nulimits; i++) {
        const struct amber_ulimit *u = &spec->ulimits[i];
        struct rlimit rl = {.rlim_cur = to_rlim(u->soft), .rlim_max = to_rlim(u->hard)};

        if (setrlimit(u->resource, &rl) < 0)
            return amber_error_errno(err, "%s %s", what,
                                     rlimit_name(u->resource, nbuf, sizeof(nbuf)));
    }
    return 0;
}
