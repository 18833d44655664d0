/* Unit tests: OCI linux.seccomp profiles (src/oci/seccomp.c).
 *
 * podman's default profile (a copy in data/, path passed by meson) must
 * compile and behave as written once loaded; hand-written profiles check
 * the translation (errnoRet defaults, architectures, flags, argument
 * conditions) in the program and, in forked children that load it, in the
 * kernel; bad profiles must be refused with the field named. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/seccomp.h>

#include "oci/seccomp.h"
#include "test.h"

#define NETLINK_AUDIT_PROTO 9

/* ---- helpers ---- */

static int compile_str(const char *text, struct seccomp_program *out, struct amber_error *err)
{
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    int rc;

    if (root == NULL) {
        fprintf(stderr, "bad test JSON (line %d): %s\n%s\n", jerr.line, jerr.text, text);
        amber_error_set(err, 0, "bad test JSON");
        memset(out, 0, sizeof(*out));
        return -1;
    }
    rc = oci_seccomp_compile(root, out, err);
    json_decref(root);
    return rc;
}

/* The profile must be refused with exactly this message (or one containing
 * it, when exact is false), and leave no program behind. */
static void expect_error(int line, const char *text, const char *msg, bool exact)
{
    struct seccomp_program prog = {.insns = (struct sock_filter *)&prog, .len = 99, .flags = 7};
    struct amber_error err = {0};

    if (compile_str(text, &prog, &err) == 0) {
        test_checks++;
        test_failures++;
        fprintf(stderr, "not ok: line %d: compiled, expected '%s'\n", line, msg);
        seccomp_program_free(&prog);
        return;
    }
    CHECK(prog.insns == NULL && prog.len == 0 && prog.flags == 0);
    if (exact && strcmp(err.msg, msg) != 0) {
        test_checks++;
        test_failures++;
        fprintf(stderr, "not ok: line %d: got '%s', expected '%s'\n", line, err.msg, msg);
    } else if (!exact) {
        CHECK_STR_CONTAINS(err.msg, msg);
    }
}
#define REFUSED(text, msg) expect_error(__LINE__, text, msg, true)
#define REFUSED_LIKE(text, msg) expect_error(__LINE__, text, msg, false)

static bool compiles(const char *text, struct seccomp_program *out)
{
    struct amber_error err = {0};

    if (compile_str(text, out, &err) < 0) {
        fprintf(stderr, "compile failed: %s\n", err.msg);
        return false;
    }
    return true;
}

/* Does the program have an instruction with this code and constant? */
static bool has_insn(const struct seccomp_program *prog, uint16_t code, uint32_t k)
{
    for (size_t i = 0; i < prog->len; i++)
        if (prog->insns[i].code == code && prog->insns[i].k == k)
            return true;
    return false;
}

static bool returns(const struct seccomp_program *prog, uint32_t k)
{
    return has_insn(prog, BPF_RET | BPF_K, k);
}

/* Run fn in a child that sets no_new_privs and loads prog; fn returns 0 on
 * success or the number of the step that failed. Returns the raw wait
 * status. */
static int run_confined(const struct seccomp_program *prog, int (*fn)(void *), void *arg)
{
    pid_t pid;
    int status = -1;

    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        struct amber_error err = {0};

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            _exit(100);
        if (seccomp_program_load(prog, &err) < 0) {
            fprintf(stderr, "child: %s\n", err.msg);
            _exit(101);
        }
        _exit(fn(arg));
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

static void check_exit0(int line, int status)
{
    test_checks++;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        test_failures++;
        if (WIFEXITED(status))
            fprintf(stderr, "not ok: line %d: child failed at step %d\n", line,
                    WEXITSTATUS(status));
        else
            fprintf(stderr, "not ok: line %d: child died (status 0x%x)\n", line, status);
    }
}
#define CHECK_CHILD_OK(status) check_exit0(__LINE__, status)

/* -1 with this errno? */
static bool fails(long rc, int e)
{
    return rc == -1 && errno == e;
}

/* ---- podman's default profile ---- */

static int podman_child(void *arg)
{
    int fd;

    (void)arg;
    /* Allowed unconditionally. */
    if (syscall(SYS_getpid) <= 0)
        return 1;
    /* In no rule: the default action, ERRNO(ENOSYS). Without the filter:
     * EFAULT or EINVAL. */
    if (!fails(syscall(SYS_add_key, NULL, NULL, NULL, 0, 0), ENOSYS))
        return 2;
    /* Listed with errnoRet 1; without the filter: EBADF. */
    if (!fails(syscall(SYS_vmsplice, -1, NULL, 0, 0), EPERM))
        return 3;
    /* personality: five rules with one EQ each; 0xffffffff (query) is one
     * of them, 0x0001 is not (without the filter it would be set). */
    if (syscall(SYS_personality, 0xffffffffUL) < 0)
        return 4;
    if (!fails(syscall(SYS_personality, 0x0001UL), ENOSYS))
        return 5;
    /* socket: ERRNO(EINVAL) for AF_NETLINK with NETLINK_AUDIT (two
     * conditions on different arguments, ANDed), allowed otherwise. */
    if (!fails(syscall(SYS_socket, AF_NETLINK, SOCK_RAW, NETLINK_AUDIT_PROTO), EINVAL))
        return 6;
    fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return 7;
    close(fd);
    /* setns is both in the allow list (syscalls[1]) and in an ERRNO(1)
     * list (syscalls[10]): libseccomp keeps the first unconditional rule,
     * as it does for runc, so it is allowed (and fails on the bad fd). */
    if (!fails(syscall(SYS_setns, -1, 0), EBADF))
        return 8;
    return 0;
}

static void test_podman(const char *path)
{
    struct amber_error err = {0};
    struct seccomp_program prog = {0};
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);

    CHECK(root != NULL);
    if (root == NULL) {
        fprintf(stderr, "%s: %s\n", path, jerr.text);
        return;
    }
    CHECK(oci_seccomp_compile(root, &prog, &err) == 0);
    json_decref(root);
    if (prog.insns == NULL) {
        fprintf(stderr, "podman profile: %s\n", err.msg);
        return;
    }
    CHECK(prog.len > 100 && prog.len <= BPF_MAXINSNS);
    CHECK(prog.flags == 0);
    /* The listed architectures are all in the program (the native one,
     * x86_64 here, is checked too). */
    CHECK(has_insn(&prog, BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386));
    CHECK(has_insn(&prog, BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64));
    CHECK(returns(&prog, SECCOMP_RET_ERRNO | ENOSYS)); /* defaultErrnoRet */
    CHECK(returns(&prog, SECCOMP_RET_ERRNO | EPERM));
    CHECK(returns(&prog, SECCOMP_RET_ERRNO | EINVAL));
    CHECK(returns(&prog, SECCOMP_RET_ALLOW));
    CHECK_CHILD_OK(run_confined(&prog, podman_child, NULL));
    seccomp_program_free(&prog);
    CHECK(prog.insns == NULL && prog.len == 0);
    seccomp_program_free(&prog); /* twice is fine */
}

/* ---- behaviour of a hand-written profile ---- */

static const char rules_profile[] =
    "{\"defaultAction\": \"SCMP_ACT_ALLOW\","
    " \"syscalls\": ["
    "  {\"names\": [\"no_such_syscall_amber\", \"getppid\"], \"action\": \"SCMP_ACT_ERRNO\","
    "   \"errnoRet\": 42},"
    /* the default action: dropped, not an error */
    "  {\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ALLOW\"},"
    /* mode == 0712 (mkdirat's mode is argument 2, mkdir's argument 1) */
    "  {\"names\": [\"mkdirat\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 43,"
    "   \"args\": [{\"index\": 2, \"value\": 458, \"op\": \"SCMP_CMP_EQ\"}]},"
    "  {\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 43,"
    "   \"args\": [{\"index\": 1, \"value\": 458, \"op\": \"SCMP_CMP_EQ\"}]},"
    /* (mode & 07) == 05 */
    "  {\"names\": [\"mkdirat\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 44,"
    "   \"args\": [{\"index\": 2, \"value\": 7, \"valueTwo\": 5, \"op\": \"SCMP_CMP_MASKED_EQ\"}]},"
    /* AF_UNIX AND SOCK_DGRAM */
    "  {\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 45,"
    "   \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"},"
    "              {\"index\": 1, \"value\": 2, \"op\": \"SCMP_CMP_EQ\"}]}"
    " ]}";

static int rules_child(void *arg)
{
    int dirfd = *(int *)arg;
    int fd;

    if (!fails(syscall(SYS_getppid), 42))
        return 1;
    if (syscall(SYS_getpid) <= 0)
        return 2;
    if (!fails(syscall(SYS_mkdirat, dirfd, "eq", 0712), 43))
        return 3;
    if (!fails(syscall(SYS_mkdirat, dirfd, "masked", 0705), 44))
        return 4;
    /* Neither condition holds: the default action. */
    if (syscall(SYS_mkdirat, dirfd, "plain", 0700) != 0)
        return 5;
#ifdef SYS_mkdir
    if (fchdir(dirfd) < 0)
        return 6;
    if (!fails(syscall(SYS_mkdir, "eq2", 0712), 43))
        return 7;
    if (syscall(SYS_mkdir, "plain2", 0700) != 0)
        return 8;
#endif
    if (!fails(syscall(SYS_socket, AF_UNIX, SOCK_DGRAM, 0), 45))
        return 9;
    /* Only one of the two ANDed conditions holds. */
    fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return 10;
    close(fd);
    fd = (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 && errno == 45)
        return 11;
    if (fd >= 0)
        close(fd);
    return 0;
}

static void test_rules(void)
{
    char tmpl[] = "/tmp/amber-oci-seccomp-XXXXXX";
    char *dir = mkdtemp(tmpl);
    struct seccomp_program prog = {0};
    struct stat st;
    int dirfd;

    CHECK(dir != NULL);
    if (dir == NULL)
        return;
    dirfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    CHECK(dirfd >= 0);
    CHECK(compiles(rules_profile, &prog));
    if (prog.insns != NULL && dirfd >= 0) {
        CHECK(returns(&prog, SECCOMP_RET_ERRNO | 42));
        CHECK_CHILD_OK(run_confined(&prog, rules_child, &dirfd));
        /* What the child was refused was really not done. */
        CHECK(fstatat(dirfd, "plain", &st, 0) == 0);
        CHECK(fstatat(dirfd, "eq", &st, 0) < 0 && errno == ENOENT);
        CHECK(fstatat(dirfd, "masked", &st, 0) < 0 && errno == ENOENT);
    }
    seccomp_program_free(&prog);
    if (dirfd >= 0) {
        unlinkat(dirfd, "plain", AT_REMOVEDIR);
        unlinkat(dirfd, "plain2", AT_REMOVEDIR);
        close(dirfd);
    }
    CHECK(rmdir(dir) == 0);
}

static int getppid_child(void *arg)
{
    (void)arg;
    syscall(SYS_getppid);
    return 0; /* not reached when the rule kills */
}

static int getppid_errno_child(void *arg)
{
    (void)arg;
    return fails(syscall(SYS_getppid), 42) ? 0 : 1;
}

static void test_kill_and_flags(void)
{
    struct seccomp_program prog = {0};
    int status;

    CHECK(compiles("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                   "[\"getppid\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"}]}",
                   &prog));
    CHECK(returns(&prog, SECCOMP_RET_KILL_PROCESS));
    status = run_confined(&prog, getppid_child, NULL);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS);
    seccomp_program_free(&prog);

    /* SCMP_ACT_KILL kills the thread, as runc has it. */
    CHECK(compiles("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                   "[\"getppid\"], \"action\": \"SCMP_ACT_KILL\"}]}",
                   &prog));
    CHECK(returns(&prog, SECCOMP_RET_KILL_THREAD));
    seccomp_program_free(&prog);

    /* The flags are for seccomp(2), returned to the loader; loading with
     * them works. */
    CHECK(compiles("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": ["
                   "\"SECCOMP_FILTER_FLAG_TSYNC\", \"SECCOMP_FILTER_FLAG_LOG\","
                   " \"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"], \"syscalls\": [{\"names\": "
                   "[\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 42}]}",
                   &prog));
    CHECK(prog.flags ==
          (SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW));
    CHECK_CHILD_OK(run_confined(&prog, getppid_errno_child, NULL));
    seccomp_program_free(&prog);
}

/* ---- translation, checked in the program ---- */

static void test_translation(void)
{
    struct seccomp_program prog = {0};

    /* errnoRet defaults to EPERM for ERRNO and TRACE; a rule equal to the
     * default action (ERRNO 38 == defaultErrnoRet) is dropped, one that
     * only looks like it (ERRNO without errnoRet = EPERM) is not. */
    CHECK(
        compiles("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38,"
                 " \"syscalls\": ["
                 "  {\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38},"
                 "  {\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ERRNO\"},"
                 "  {\"names\": [\"gettid\"], \"action\": \"SCMP_ACT_TRACE\"},"
                 "  {\"names\": [\"getuid\"], \"action\": \"SCMP_ACT_TRACE\", \"errnoRet\": 65535},"
                 "  {\"names\": [\"getgid\"], \"action\": \"SCMP_ACT_LOG\"},"
                 "  {\"names\": [\"getegid\"], \"action\": \"SCMP_ACT_TRAP\"},"
                 "  {\"names\": [\"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": null}"
                 " ]}",
                 &prog));
    CHECK(returns(&prog, SECCOMP_RET_ERRNO | 38));
    CHECK(returns(&prog, SECCOMP_RET_ERRNO | EPERM));
    CHECK(returns(&prog, SECCOMP_RET_TRACE | EPERM));
    CHECK(returns(&prog, SECCOMP_RET_TRACE | 0xffff));
    CHECK(returns(&prog, SECCOMP_RET_LOG));
    CHECK(returns(&prog, SECCOMP_RET_TRAP));
    CHECK(returns(&prog, SECCOMP_RET_ALLOW));
    CHECK(has_insn(&prog, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)SYS_getpid));
    CHECK(!has_insn(&prog, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)SYS_getppid));
    seccomp_program_free(&prog);

    /* Architectures: a foreign one adds its own section (with the
     * native one still there); listing the native one, or one twice, is
     * fine. */
    CHECK(compiles("{\"defaultAction\": \"SCMP_ACT_ALLOW\","
                   " \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_AARCH64\","
                   " \"SCMP_ARCH_AARCH64\"]}",
                   &prog));
    CHECK(has_insn(&prog, BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64));
    CHECK(has_insn(&prog, BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_AARCH64));
    seccomp_program_free(&prog);
    CHECK(compiles("{\"defaultAction\": \"SCMP_ACT_ALLOW\"}", &prog));
    CHECK(!has_insn(&prog, BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_AARCH64) ||
          !has_insn(&prog, BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64));
    CHECK(prog.flags == 0);
    seccomp_program_free(&prog);

    /* Empty listener fields ask for nothing. */
    CHECK(compiles("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"\","
                   " \"listenerMetadata\": \"\", \"syscalls\": []}",
                   &prog));
    seccomp_program_free(&prog);
}

/* ---- refused profiles ---- */

#define RULE_PROFILE(rule) "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [" rule "]}"
#define GETPPID_ERRNO "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\""

static void test_refused(void)
{
    REFUSED("[]", "linux.seccomp: must be an object");
    REFUSED("{}", "linux.seccomp.defaultAction: missing (required)");
    REFUSED("{\"defaultAction\": 1}", "linux.seccomp.defaultAction: must be a string");
    REFUSED("{\"defaultAction\": \"SCMP_ACT_FOO\"}",
            "linux.seccomp.defaultAction: unknown action 'SCMP_ACT_FOO'");
    REFUSED(
        RULE_PROFILE(GETPPID_ERRNO "}, {\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_FOO\"}"),
        "linux.seccomp.syscalls[1].action: unknown action 'SCMP_ACT_FOO'");
    REFUSED(RULE_PROFILE("{\"names\": [\"getpid\"]}"),
            "linux.seccomp.syscalls[0].action: missing (required)");

    /* Unknown keys at every level. */
    REFUSED("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultAction2\": 1}",
            "linux.seccomp.defaultAction2: unknown field (not supported by amber)");
    REFUSED(RULE_PROFILE(GETPPID_ERRNO ", \"comment\": \"x\"}"),
            "linux.seccomp.syscalls[0].comment: unknown field (not supported by amber)");
    REFUSED(RULE_PROFILE(GETPPID_ERRNO ", \"args\": [{\"index\": 0, \"value\": 1, \"op\": "
                                       "\"SCMP_CMP_EQ\", \"valueThree\": 2}]}"),
            "linux.seccomp.syscalls[0].args[0].valueThree: unknown field (not supported by "
            "amber)");

    /* Architectures. */
    REFUSED("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86\", "
            "\"SCMP_ARCH_FOO\"]}",
            "linux.seccomp.architectures[1]: unknown architecture 'SCMP_ARCH_FOO'");
    REFUSED("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"x86_64\"]}",
            "linux.seccomp.architectures[0]: unknown architecture 'x86_64'");
    REFUSED("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_x86_64\"]}",
            "linux.seccomp.architectures[0]: unknown architecture 'SCMP_ARCH_x86_64'");
    REFUSED("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_\"]}",
            "linux.seccomp.architectures[0]: unknown architecture 'SCMP_ARCH_'");
    REFUSED("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": \"SCMP_ARCH_X86\"}",
            "linux.seccomp.architectures: must be an array");

    /* Arguments. */
    REFUSED(RULE_PROFILE(GETPPID_ERRNO ", \"args\": [{\"index\": 6, \"value\": 1, \"op\": "
                                       "\"SCMP_CMP_EQ\"}]}"),
            "linux.seccomp.syscalls[0].args[0].index: 6 is out of range (0-5)");
    REFUSED(RULE_PROFILE(GETPPID_ERRNO ", \"args\": [{\"index\": -1, \"value\": 1, \"op\": "
                                       "\"SCMP_CMP_EQ\"}]}"),
            "linux.seccomp.syscalls[0].args[0].index: must be a non-negative integer");
    REFUSED(RULE_PROFILE(GETPPID_ERRNO ", \"args\": [{\"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}"),
            "linux.seccomp.syscalls[0].args[0].index: missing (required)");
    REFUSED(RULE_PROFILE(GETPPID_ERRNO ", \"args\": [{\"index\": 0, \"op\": \"SCMP_CMP_EQ\"}]}"),
            "linux.seccomp.syscalls[0].args[0].value: missing (required)");
    REFUSED(RULE_PROFILE(GETPPID_ERRNO ", \"args\": [{\"index\": 0, \"value\": -5, \"op\": "
                                       "\"SCMP_CMP_EQ\"}]}"),
            "linux.seccomp.syscalls[0].args[0].value: must be a non-negative integer");
    REFUSED(RULE_PROFILE(GETPPID_ERRNO ", \"args\": [{\"index\": 0, \"value\": 1.5, \"op\": "
                                       "\"SCMP_CMP_EQ\"}]}"),
            "linux.seccomp.syscalls[0].args[0].value: must be a non-negative integer");
    REFUSED(RULE_PROFILE(GETPPID_ERRNO ", \"args\": [{\"index\": 0, \"value\": 1, \"op\": "
                                       "\"SCMP_CMP_XX\"}]}"),
            "linux.seccomp.syscalls[0].args[0].op: unknown operator 'SCMP_CMP_XX'");
    REFUSED(RULE_PROFILE(GETPPID_ERRNO ", \"args\": [{\"index\": 0, \"value\": 1, \"valueTwo\": "
                                       "2, \"op\": \"SCMP_CMP_EQ\"}]}"),
            "linux.seccomp.syscalls[0].args[0].valueTwo: only used with SCMP_CMP_MASKED_EQ, not "
            "SCMP_CMP_EQ");
    REFUSED_LIKE(RULE_PROFILE(GETPPID_ERRNO
                              ", \"args\": ["
                              "{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_GE\"},"
                              "{\"index\": 0, \"value\": 9, \"op\": \"SCMP_CMP_LE\"}]}"),
                 "linux.seccomp.syscalls[0].args[1].index: a second condition on argument 0");
    REFUSED(RULE_PROFILE(GETPPID_ERRNO ", \"args\": {}}"),
            "linux.seccomp.syscalls[0].args: must be an array");

    /* SCMP_ACT_NOTIFY and its listener. */
    REFUSED(RULE_PROFILE("{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_NOTIFY\"}"),
            "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY is not supported (amber has no "
            "seccomp agent support)");
    REFUSED_LIKE("{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}",
                 "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not supported");
    REFUSED_LIKE("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/run/agent.sock\"}",
                 "linux.seccomp.listenerPath: not supported");
    REFUSED_LIKE("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerMetadata\": \"x\"}",
                 "linux.seccomp.listenerMetadata: not supported");

    /* errnoRet. */
    REFUSED(RULE_PROFILE("{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_KILL\", "
                         "\"errnoRet\": 1}"),
            "linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or "
            "SCMP_ACT_TRACE, not SCMP_ACT_KILL");
    REFUSED("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultErrnoRet\": 1}",
            "linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, "
            "not SCMP_ACT_ALLOW");
    REFUSED(RULE_PROFILE(GETPPID_ERRNO ", \"errnoRet\": 4095}"),
            "linux.seccomp.syscalls[0].errnoRet: 4095 is out of range (0-4094)");
    REFUSED(RULE_PROFILE(GETPPID_ERRNO ", \"errnoRet\": \"EPERM\"}"),
            "linux.seccomp.syscalls[0].errnoRet: must be a non-negative integer");
    REFUSED(RULE_PROFILE("{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_TRACE\", "
                         "\"errnoRet\": 65536}"),
            "linux.seccomp.syscalls[0].errnoRet: 65536 is out of range (0-65535)");

    /* names. */
    REFUSED(RULE_PROFILE("{\"names\": [], \"action\": \"SCMP_ACT_ERRNO\"}"),
            "linux.seccomp.syscalls[0].names: must be a non-empty array of syscall names");
    REFUSED(RULE_PROFILE("{\"action\": \"SCMP_ACT_ERRNO\"}"),
            "linux.seccomp.syscalls[0].names: must be a non-empty array of syscall names");
    REFUSED(RULE_PROFILE("{\"names\": [\"getppid\", 5], \"action\": \"SCMP_ACT_ERRNO\"}"),
            "linux.seccomp.syscalls[0].names[1]: must be a string");
    REFUSED(RULE_PROFILE("\"getppid\""), "linux.seccomp.syscalls[0]: must be an object");
    REFUSED("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}",
            "linux.seccomp.syscalls: must be an array");

    /* Flags. */
    REFUSED("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_FOO\"]}",
            "linux.seccomp.flags[0]: unknown flag 'SECCOMP_FILTER_FLAG_FOO'");
    REFUSED_LIKE("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": "
                 "[\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"]}",
                 "linux.seccomp.flags[0]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported");

    /* A rule libseccomp cannot place: the same conditions as an earlier
     * rule with another action. */
    REFUSED_LIKE(RULE_PROFILE("{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": "
                              "[{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]},"
                              "{\"names\": [\"getpid\", \"socket\"], \"action\": \"SCMP_ACT_LOG\", "
                              "\"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}"),
                 "linux.seccomp.syscalls[1].names[1]: syscall 'socket': the rule conflicts");
}

static void test_load_errors(void)
{
    struct seccomp_program empty = {.what = "linux.seccomp"}; /* as a profile names itself */
    struct amber_error err = {0};

    CHECK(seccomp_program_load(&empty, &err) < 0);
    CHECK_STR_CONTAINS(err.msg, "linux.seccomp: load filter");
    CHECK(seccomp_program_load(NULL, &err) < 0);
    seccomp_program_free(NULL);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PODMAN-SECCOMP.json\n", argv[0]);
        return 2;
    }
    test_podman(argv[1]);
    test_rules();
    test_kill_and_flags();
    test_translation();
    test_refused();
    test_load_errors();
    return test_finish("oci_seccomp");
}
