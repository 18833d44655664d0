/* OCI linux.seccomp -> classic BPF (see oci/seccomp.h).
 *
 * The profile is checked field by field while it is translated into a
 * libseccomp filter context; the context is then compiled to BPF by the
 * sandbox's seccomp_program_export(). Everything that can fail for a reason
 * in the profile fails here, at create time, with the field named, so the
 * container's init only has a ready program to hand to the kernel.
 *
 * Where the profile's meaning depends on libseccomp, libseccomp decides:
 * the conditions of one rule are ANDed (seccomp_rule_add_array), rules are
 * ORed, and a syscall name is resolved for the native architecture and
 * translated by libseccomp for every architecture in the filter (so x86-only
 * names such as "_llseek" still reach the i386 part of an x86_64 filter). */
#include "oci/seccomp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <seccomp.h>
#include <linux/seccomp.h>

#include "sandbox/seccomp.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Older kernel headers lack the newer flags; the values are ABI. */
#ifndef SECCOMP_FILTER_FLAG_LOG
#define SECCOMP_FILTER_FLAG_LOG (1UL << 1)
#endif
#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif

/* Room for "linux.seccomp.syscalls[N].args[M]" with any size_t N and M. */
#define WHERE_MAX 96

/* A syscall has six arguments; OCI "index" counts from 0. */
#define ARG_COUNT 6

/* SECCOMP_RET_ERRNO carries the errno in 16 bits, but the kernel clamps it
 * to MAX_ERRNO (4095) and libseccomp refuses 4095 and above, so the usable
 * range is 0-4094. SECCOMP_RET_TRACE hands all 16 bits to the tracer. */
#define ERRNO_RET_MAX 4094
#define TRACE_RET_MAX 0xffff

static void seccomp_releasep(scmp_filter_ctx *ctx)
{
    if (*ctx != NULL)
        seccomp_release(*ctx);
}
#define cleanup_seccomp __attribute__((cleanup(seccomp_releasep)))

/* jansson's object iterator takes a non-const object although it only reads
 * it; the profile is never modified here. */
static json_t *unconst(const json_t *v)
{
    return (json_t *)(uintptr_t)v;
}

/* Every key of obj must be in allowed (NULL-terminated): a field amber does
 * not know could change what the filter means, so it is an error, never
 * silently dropped. */
static int only_keys(const json_t *obj, const char *where, const char *const *allowed,
                     struct amber_error *err)
{
    json_t *o = unconst(obj);

    for (void *it = json_object_iter(o); it != NULL; it = json_object_iter_next(o, it)) {
        const char *key = json_object_iter_key(it);
        bool known = false;

        for (size_t i = 0; allowed[i] != NULL && !known; i++)
            known = strcmp(allowed[i], key) == 0;
        if (!known)
            return amber_error_set(err, 0, "%s.%.64s: unknown field (not supported by amber)",
                                   where, key);
    }
    return 0;
}

/* An optional array: 0 when absent or null, 1 with *out set, -1 if it is
 * something else. */
static int get_array(const json_t *obj, const char *key, const char *where, const json_t **out,
                     struct amber_error *err)
{
    const json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return amber_error_set(err, 0, "%s.%s: must be an array", where, key);
    *out = v;
    return 1;
}

/* An unsigned integer up to max. JSON numbers arrive as jansson's signed
 * 64-bit integers, so the largest representable value is INT64_MAX. */
static int get_uint(const json_t *v, const char *where, const char *key, uint64_t max,
                    uint64_t *out, struct amber_error *err)
{
    json_int_t n;

    if (!json_is_integer(v) || (n = json_integer_value(v)) < 0)
        return amber_error_set(err, 0, "%s.%s: must be a non-negative integer", where, key);
    if ((uint64_t)n > max)
        return amber_error_set(err, 0,
                               "%s.%s: %" JSON_INTEGER_FORMAT " is out of range (0-%" PRIu64 ")",
                               where, key, n, max);
    *out = (uint64_t)n;
    return 0;
}

/* ---- actions ---- */

enum ret_kind {
    RET_NONE,  /* the action takes no errnoRet */
    RET_ERRNO, /* errnoRet is the errno, EPERM when absent */
    RET_TRACE, /* errnoRet is the message for the tracer, EPERM when absent (as runc) */
};

static const struct {
    const char *name;
    uint32_t action; /* with a zero return value */
    enum ret_kind ret;
    bool kernel_4_14; /* needs SECCOMP_GET_ACTION_AVAIL-era kernels (libseccomp API 3) */
} actions[] = {
    /* SCMP_ACT_KILL has always meant "kill the thread" (libseccomp defines
     * it as SCMP_ACT_KILL_THREAD); runc maps it the same way. */
    {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, RET_NONE, false},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, RET_NONE, false},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, RET_NONE, true},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, RET_NONE, false},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), RET_ERRNO, false},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), RET_TRACE, false},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, RET_NONE, false},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, RET_NONE, true},
};

/* obj[act_key] (+ obj[ret_key]) -> a libseccomp action value. Used for
 * defaultAction/defaultErrnoRet and for each rule's action/errnoRet. */
static int parse_action(const json_t *obj, const char *where, const char *act_key,
                        const char *ret_key, uint32_t *out, struct amber_error *err)
{
    const json_t *v = json_object_get(obj, act_key);
    const json_t *r = json_object_get(obj, ret_key);
    const char *name;
    size_t i;
    uint64_t ret = EPERM;

    if (v == NULL)
        return amber_error_set(err, 0, "%s.%s: missing (required)", where, act_key);
    if (!json_is_string(v))
        return amber_error_set(err, 0, "%s.%s: must be a string", where, act_key);
    name = json_string_value(v);
    /* User notification needs a seccomp agent listening on listenerPath,
     * which amber does not provide; without one every such call would
     * fail with ENOSYS, which is not what the profile asked for. */
    if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
        return amber_error_set(err, 0,
                               "%s.%s: SCMP_ACT_NOTIFY is not supported (amber has no seccomp "
                               "agent support)",
                               where, act_key);
    for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (strcmp(actions[i].name, name) == 0)
            break;
    if (i == sizeof(actions) / sizeof(actions[0]))
        return amber_error_set(err, 0, "%s.%s: unknown action '%.64s'", where, act_key, name);
    /* libseccomp would only say "Invalid argument" when the rule is added. */
    if (actions[i].kernel_4_14 && seccomp_api_get() < 3)
        return amber_error_set(err, 0, "%s.%s: %s is not supported by the running kernel", where,
                               act_key, name);

    if (r != NULL && !json_is_null(r)) {
        if (actions[i].ret == RET_NONE)
            return amber_error_set(err, 0,
                                   "%s.%s: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, "
                                   "not %s",
                                   where, ret_key, name);
        if (get_uint(r, where, ret_key, actions[i].ret == RET_ERRNO ? ERRNO_RET_MAX : TRACE_RET_MAX,
                     &ret, err) < 0)
            return -1;
    }
    switch (actions[i].ret) {
    case RET_ERRNO:
        *out = SCMP_ACT_ERRNO((uint32_t)ret);
        break;
    case RET_TRACE:
        *out = SCMP_ACT_TRACE((uint32_t)ret);
        break;
    case RET_NONE:
        *out = actions[i].action;
        break;
    }
    return 0;
}

/* ---- architectures and flags ---- */

/* OCI names are libseccomp's in upper case behind "SCMP_ARCH_"
 * (SCMP_ARCH_X86_64 is "x86_64"), so the name is translated rather than
 * listed: whatever architectures the linked libseccomp knows are accepted.
 * Returns 0 for a name not of that form or unknown to libseccomp. */
static uint32_t arch_from_oci(const char *name)
{
    static const char prefix[] = "SCMP_ARCH_";
    char lower[32];
    size_t j;

    if (strncmp(name, prefix, sizeof(prefix) - 1) != 0)
        return 0;
    name += sizeof(prefix) - 1;
    for (j = 0; name[j] != '\0'; j++) {
        char c = name[j];

        if (j + 1 >= sizeof(lower))
            return 0;
        if (c >= 'A' && c <= 'Z')
            lower[j] = (char)(c - 'A' + 'a');
        else if ((c >= '0' && c <= '9') || c == '_')
            lower[j] = c;
        else
            return 0;
    }
    if (j == 0)
        return 0;
    lower[j] = '\0';
    return seccomp_arch_resolve_name(lower);
}

static int add_arch(scmp_filter_ctx ctx, const json_t *v, const char *where,
                    struct amber_error *err)
{
    const char *name;
    uint32_t arch;
    int rc;

    if (!json_is_string(v))
        return amber_error_set(err, 0, "%s: must be a string", where);
    name = json_string_value(v);
    arch = arch_from_oci(name);
    if (arch == 0)
        return amber_error_set(err, 0, "%s: unknown architecture '%.64s'", where, name);
    rc = seccomp_arch_add(ctx, arch);
    /* The native architecture is in every context from the start, and a
     * profile may list an architecture twice. */
    if (rc == -EEXIST)
        return 0;
    if (rc < 0)
        return amber_error_set(err, -rc, "%s: add architecture '%s'", where, name);
    return 0;
}

/* The flags are seccomp(2) flags, not part of the program: they are
 * returned in oci_bpf.flags for the loader. They are also set as libseccomp
 * attributes because libseccomp then probes whether the running kernel has
 * them, so an unsupported flag fails here and not in the container. */
static int add_flag(scmp_filter_ctx ctx, const json_t *v, const char *where, unsigned *flags,
                    struct amber_error *err)
{
    static const struct {
        const char *name;
        unsigned flag;
        enum scmp_filter_attr attr;
    } known[] = {
        /* A container's init is single-threaded when the filter is loaded,
         * so TSYNC changes nothing there; it is honoured rather than refused
         * because podman and Docker profiles may carry it. */
        {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC, SCMP_FLTATR_CTL_TSYNC},
        {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG, SCMP_FLTATR_CTL_LOG},
        {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW, SCMP_FLTATR_CTL_SSB},
    };
    const char *name;
    int rc;

    if (!json_is_string(v))
        return amber_error_set(err, 0, "%s: must be a string", where);
    name = json_string_value(v);
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(known[i].name, name) != 0)
            continue;
        rc = seccomp_attr_set(ctx, known[i].attr, 1);
        if (rc < 0)
            return amber_error_set(err, -rc, "%s: %s is not supported by the running kernel", where,
                                   name);
        *flags |= known[i].flag;
        return 0;
    }
    if (strcmp(name, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") == 0)
        return amber_error_set(
            err, 0, "%s: %s is not supported (it only applies to SCMP_ACT_NOTIFY)", where, name);
    return amber_error_set(err, 0, "%s: unknown flag '%.64s'", where, name);
}

/* ---- rules ---- */

static const struct {
    const char *name;
    enum scmp_compare op;
} ops[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

/* One element of a rule's args[]. For SCMP_CMP_MASKED_EQ, value is the mask
 * and valueTwo the value compared after masking (libseccomp's datum_a and
 * datum_b); every other op compares with value only. */
static int parse_arg(const json_t *a, const char *where, struct scmp_arg_cmp *cmp,
                     struct amber_error *err)
{
    static const char *const keys[] = {"index", "value", "valueTwo", "op", NULL};
    const json_t *v;
    const char *name;
    uint64_t index, value, two = 0;
    size_t i;

    if (!json_is_object(a))
        return amber_error_set(err, 0, "%s: must be an object", where);
    if (only_keys(a, where, keys, err) < 0)
        return -1;
    if ((v = json_object_get(a, "index")) == NULL)
        return amber_error_set(err, 0, "%s.index: missing (required)", where);
    if (get_uint(v, where, "index", ARG_COUNT - 1, &index, err) < 0)
        return -1;
    if ((v = json_object_get(a, "value")) == NULL)
        return amber_error_set(err, 0, "%s.value: missing (required)", where);
    if (get_uint(v, where, "value", UINT64_MAX, &value, err) < 0)
        return -1;
    if ((v = json_object_get(a, "valueTwo")) != NULL && !json_is_null(v) &&
        get_uint(v, where, "valueTwo", UINT64_MAX, &two, err) < 0)
        return -1;
    if ((v = json_object_get(a, "op")) == NULL)
        return amber_error_set(err, 0, "%s.op: missing (required)", where);
    if (!json_is_string(v))
        return amber_error_set(err, 0, "%s.op: must be a string", where);
    name = json_string_value(v);
    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(ops[i].name, name) == 0)
            break;
    if (i == sizeof(ops) / sizeof(ops[0]))
        return amber_error_set(err, 0, "%s.op: unknown operator '%.64s'", where, name);
    /* libseccomp ignores datum_b for these ops; a profile that sets it
     * expects it to mean something. */
    if (ops[i].op != SCMP_CMP_MASKED_EQ && two != 0)
        return amber_error_set(err, 0, "%s.valueTwo: only used with SCMP_CMP_MASKED_EQ, not %s",
                               where, name);
    cmp->arg = (unsigned)index;
    cmp->op = ops[i].op;
    cmp->datum_a = value;
    cmp->datum_b = two;
    return 0;
}

/* syscalls[i]: check all of it, then add one libseccomp rule per name. */
static int add_rule(scmp_filter_ctx ctx, const json_t *rule, size_t i, uint32_t def_action,
                    struct amber_error *err)
{
    static const char *const keys[] = {"names", "action", "errnoRet", "args", NULL};
    char where[WHERE_MAX];
    char awhere[WHERE_MAX];
    struct scmp_arg_cmp cmps[ARG_COUNT];
    unsigned ncmp = 0, seen = 0;
    const json_t *names, *args;
    uint32_t action;
    size_t n;
    int rc;

    snprintf(where, sizeof(where), "linux.seccomp.syscalls[%zu]", i);
    if (!json_is_object(rule))
        return amber_error_set(err, 0, "%s: must be an object", where);
    if (only_keys(rule, where, keys, err) < 0)
        return -1;
    names = json_object_get(rule, "names");
    if (names == NULL || !json_is_array(names) || json_array_size(names) == 0)
        return amber_error_set(err, 0, "%s.names: must be a non-empty array of syscall names",
                               where);
    n = json_array_size(names);
    for (size_t j = 0; j < n; j++)
        if (!json_is_string(json_array_get(names, j)))
            return amber_error_set(err, 0, "%s.names[%zu]: must be a string", where, j);
    if (parse_action(rule, where, "action", "errnoRet", &action, err) < 0)
        return -1;
    if (get_array(rule, "args", where, &args, err) < 0)
        return -1;
    for (size_t j = 0; args != NULL && j < json_array_size(args); j++) {
        snprintf(awhere, sizeof(awhere), "%s.args[%zu]", where, j);
        if (ncmp == ARG_COUNT)
            return amber_error_set(err, 0, "%s: more conditions than a syscall has arguments",
                                   awhere);
        if (parse_arg(json_array_get(args, j), awhere, &cmps[ncmp], err) < 0)
            return -1;
        /* libseccomp refuses two conditions on one argument in a rule, for
         * every op. runc then splits the rule into one rule per condition,
         * which turns "a AND b" into "a OR b" and can widen an allow rule;
         * the profile is refused instead. */
        if (seen & (1U << cmps[ncmp].arg))
            return amber_error_set(err, 0,
                                   "%s.index: a second condition on argument %u in one rule "
                                   "(libseccomp allows one per argument; use separate rules "
                                   "to match any of several values)",
                                   awhere, cmps[ncmp].arg);
        seen |= 1U << cmps[ncmp].arg;
        ncmp++;
    }

    /* libseccomp refuses a rule whose action is the default action; such a
     * rule changes nothing, and runc drops it the same way. */
    if (action == def_action)
        return 0;

    for (size_t j = 0; j < n; j++) {
        const char *name = json_string_value(json_array_get(names, j));
        int nr = seccomp_syscall_resolve_name(name);

        /* A name libseccomp does not know is skipped, as runc does:
         * profiles list syscalls newer than the library (or the kernel),
         * and the default action applies to those anyway. Names known on
         * some other architecture resolve to a pseudo number here and are
         * placed by libseccomp. */
        if (nr == __NR_SCMP_ERROR) {
            log_debug("%s.names[%zu]: unknown syscall '%.64s' skipped", where, j, name);
            continue;
        }
        rc = seccomp_rule_add_array(ctx, action, nr, ncmp, cmps);
        if (rc == -EEXIST)
            return amber_error_set(err, EEXIST,
                                   "%s.names[%zu]: syscall '%s': the rule conflicts with an "
                                   "earlier rule for the same syscall",
                                   where, j, name);
        if (rc < 0)
            return amber_error_set(err, -rc,
                                   "%s.names[%zu]: syscall '%s': libseccomp refused the rule",
                                   where, j, name);
    }
    return 0;
}

/* ---- entry points ---- */

int oci_seccomp_compile(const json_t *seccomp, struct seccomp_program *out, struct amber_error *err)
{
    /* listenerPath and listenerMetadata pass only when empty (see below). */
    static const char *const keys[] = {
        "defaultAction", "defaultErrnoRet", "architectures",    "flags",
        "syscalls",      "listenerPath",    "listenerMetadata", NULL};
    static const char *const listener_keys[] = {"listenerPath", "listenerMetadata"};
    static const char where[] = "linux.seccomp";
    cleanup_seccomp scmp_filter_ctx ctx = NULL;
    const json_t *arr;
    char ewhere[WHERE_MAX];
    uint32_t def_action;
    unsigned flags = 0;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(seccomp))
        return amber_error_set(err, 0, "%s: must be an object", where);
    /* The listener fields only serve SCMP_ACT_NOTIFY, which is refused;
     * an empty value (as some engines write) asks for nothing. */
    for (size_t i = 0; i < sizeof(listener_keys) / sizeof(listener_keys[0]); i++) {
        const json_t *v = json_object_get(seccomp, listener_keys[i]);

        if (v != NULL && !json_is_null(v) &&
            !(json_is_string(v) && json_string_value(v)[0] == '\0'))
            return amber_error_set(err, 0,
                                   "%s.%s: not supported (amber has no seccomp agent support)",
                                   where, listener_keys[i]);
    }
    if (only_keys(seccomp, where, keys, err) < 0)
        return -1;
    if (parse_action(seccomp, where, "defaultAction", "defaultErrnoRet", &def_action, err) < 0)
        return -1;
    ctx = seccomp_init(def_action);
    if (ctx == NULL)
        return amber_error_set(
            err, 0, "%s.defaultAction: libseccomp cannot create a filter with it", where);

    /* Architectures first: libseccomp places each rule in the architectures
     * the context has when the rule is added. */
    if (get_array(seccomp, "architectures", where, &arr, err) < 0)
        return -1;
    for (size_t i = 0; arr != NULL && i < json_array_size(arr); i++) {
        snprintf(ewhere, sizeof(ewhere), "%s.architectures[%zu]", where, i);
        if (add_arch(ctx, json_array_get(arr, i), ewhere, err) < 0)
            return -1;
    }
    if (get_array(seccomp, "flags", where, &arr, err) < 0)
        return -1;
    for (size_t i = 0; arr != NULL && i < json_array_size(arr); i++) {
        snprintf(ewhere, sizeof(ewhere), "%s.flags[%zu]", where, i);
        if (add_flag(ctx, json_array_get(arr, i), ewhere, &flags, err) < 0)
            return -1;
    }
    if (get_array(seccomp, "syscalls", where, &arr, err) < 0)
        return -1;
    for (size_t i = 0; arr != NULL && i < json_array_size(arr); i++)
        if (add_rule(ctx, json_array_get(arr, i), i, def_action, err) < 0)
            return -1;

    if (seccomp_program_export(ctx, out, err) < 0)
        return -1;
    out->flags = flags;
    return 0;
}
