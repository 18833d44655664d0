/* Unit tests: the flag parser, the JSON launch file, spec validation and
 * the spec digest. */
#include <stdlib.h>
#include <linux/filter.h>
#include <sys/resource.h>
#include <unistd.h>

#include "spec/flags.h"
#include "spec/spec.h"
#include "test.h"
#include "util/xalloc.h"

static int parse(struct amber_spec *spec, struct run_meta *meta, struct amber_error *err, int argc,
                 char **argv)
{
    memset(meta, 0, sizeof(*meta));
    spec_init(spec);
    return spec_parse_run_args(spec, argc, argv, meta, err);
}

static void flags(void)
{
    struct amber_spec spec;
    struct run_meta meta;
    struct amber_error err;

    {
        char *argv[] = {"--memory", "64M",        "--cpus=0.5", "-e", "A=1", "-eB=2", "--pids",
                        "10",       "--hostname", "box",        "--", "sh",  "-c",    "exit 3"};
        CHECK(parse(&spec, &meta, &err, 14, argv) == 0);
        CHECK(spec.memory == 64ULL << 20);
        CHECK(spec.cpus_milli == 500);
        CHECK(spec.pids == 10 && spec.pids_set);
        CHECK(strcmp(spec.hostname, "box") == 0);
        CHECK(spec.argc == 3 && strcmp(spec.argv[0], "sh") == 0 &&
              strcmp(spec.argv[2], "exit 3") == 0);
        CHECK(spec_getenv(&spec, "A") && strcmp(spec_getenv(&spec, "A"), "1") == 0);
        CHECK(spec_getenv(&spec, "B") && strcmp(spec_getenv(&spec, "B"), "2") == 0);
        CHECK(meta.spec_flags == 6);
        spec_free(&spec);
    }
    {
        /* The command starts at the first non-option; its own flags stay its own. */
        char *argv[] = {"ls", "--memory", "1G"};
        CHECK(parse(&spec, &meta, &err, 3, argv) == 0);
        CHECK(spec.argc == 3 && spec.memory == 0);
        spec_free(&spec);
    }
    {
        char *argv[] = {"--no-such-flag", "x"};
        CHECK(parse(&spec, &meta, &err, 2, argv) < 0);
        CHECK_STR_CONTAINS(err.msg, "--no-such-flag");
        spec_free(&spec);
    }
    {
        char *argv[] = {"--memory", "12Q", "true"};
        CHECK(parse(&spec, &meta, &err, 3, argv) < 0);
        CHECK_STR_CONTAINS(err.msg, "--memory '12Q'");
        spec_free(&spec);
    }
    {
        char *argv[] = {"--memory"};
        CHECK(parse(&spec, &meta, &err, 1, argv) < 0);
        CHECK_STR_CONTAINS(err.msg, "needs a value");
        spec_free(&spec);
    }
    {
        char *argv[] = {"--allow-host-network=yes", "true"};
        CHECK(parse(&spec, &meta, &err, 2, argv) < 0);
        CHECK_STR_CONTAINS(err.msg, "takes no value");
        spec_free(&spec);
    }
    {
        char *argv[] = {"--service-mode", "paranoid", "true"};
        CHECK(parse(&spec, &meta, &err, 3, argv) < 0);
        CHECK_STR_CONTAINS(err.msg, "paranoid");
        spec_free(&spec);
    }
    {
        char *argv[] = {"--config", "/x.json", "--log-level", "debug", "--help"};
        CHECK(parse(&spec, &meta, &err, 5, argv) == 0);
        CHECK(meta.config && strcmp(meta.config, "/x.json") == 0);
        CHECK(meta.log_level && strcmp(meta.log_level, "debug") == 0);
        CHECK(meta.help && meta.spec_flags == 0);
        spec_free(&spec);
    }
    {
        char *argv[] = {"--ulimit", "nofile=100:200", "--ulimit", "core=0", "true"};
        CHECK(parse(&spec, &meta, &err, 5, argv) == 0);
        CHECK(spec.nulimits == 2);
        CHECK(spec.ulimits[0].resource == RLIMIT_NOFILE && spec.ulimits[0].soft == 100 &&
              spec.ulimits[0].hard == 200);
        CHECK(spec.ulimits[1].resource == RLIMIT_CORE && spec.ulimits[1].hard == 0);
        spec_free(&spec);
    }
    {
        char *bad[] = {"nofile", "nofiles=1", "nofile=2:1", "nofile=x", "stack=unlimited:5"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            char *argv[] = {"--ulimit", bad[i], "true"};
            CHECK(parse(&spec, &meta, &err, 3, argv) < 0);
            CHECK_STR_CONTAINS(err.msg, "--ulimit");
            spec_free(&spec);
        }
    }
}

/* The flags that reopen a hole: accepted (with a warning) in agent mode,
 * refused in strict-agent mode, each naming itself. */
static void reopeners(void)
{
    static const char *const flags[][2] = {
        {"--allow-jit", NULL},     {"--allow-write-exec", NULL}, {"--userns", "host"},
        {"--memory", "unlimited"}, {"--workspace-exec", NULL},
    };
    char ws[] = "/tmp/amber-unit-ws-XXXXXX";

    CHECK(mkdtemp(ws) != NULL);
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        for (int strict = 0; strict <= 1; strict++) {
            struct amber_spec spec;
            struct run_meta meta;
            struct amber_error err;
            char *argv[8];
            int n = 0;

            if (strict) {
                argv[n++] = "--service-mode";
                argv[n++] = "strict-agent";
            }
            argv[n++] = (char *)flags[i][0];
            if (flags[i][1] != NULL)
                argv[n++] = (char *)flags[i][1];
            if (strcmp(flags[i][0], "--workspace-exec") == 0) {
                argv[n++] = "--workspace";
                argv[n++] = ws;
            }
            argv[n++] = "true";
            parse(&spec, &meta, &err, n, argv);
            if (strict) {
                CHECK(spec_validate(&spec, 0, &err) < 0);
                CHECK(strstr(err.msg, flags[i][0]) != NULL);
                CHECK(strstr(err.msg, "strict-agent") != NULL);
            } else {
                CHECK(spec_validate(&spec, 0, &err) == 0);
            }
            spec_free(&spec);
        }
    }
    rmdir(ws);
}

static void validate(void)
{
    struct amber_spec spec;
    struct run_meta meta;
    struct amber_error err;

    {
        char *argv[] = {"true"};
        parse(&spec, &meta, &err, 1, argv);
        setenv("AMBER_TEST_HOST_VAR", "leak", 1);
        CHECK(spec_validate(&spec, 0, &err) == 0);
        CHECK(strcmp(spec.backend, "native") == 0);
        /* As root too: a user namespace, the default limits. */
        CHECK(spec.userns == AMBER_USERNS_AUTO);
        CHECK(spec.pids == AMBER_DEFAULT_PIDS && !spec.pids_set);
        CHECK(spec.memory == AMBER_DEFAULT_MEMORY && !spec.memory_set);
        CHECK(strcmp(spec_getenv(&spec, "HOME"), AMBER_HOME) == 0);
        CHECK(spec_getenv(&spec, "PATH") != NULL);
        CHECK(spec_getenv(&spec, "AMBER_TEST_HOST_VAR") == NULL);
        spec_free(&spec);
    }
    {
        char *argv[] = {"--service-mode", "strict-agent", "true"};
        parse(&spec, &meta, &err, 3, argv);
        CHECK(spec_validate(&spec, 0, &err) == 0);
        CHECK(spec.userns == AMBER_USERNS_AUTO);
        spec_free(&spec);
    }
    {
        char *argv[] = {"true"};
        parse(&spec, &meta, &err, 1, argv);
        CHECK(spec_validate(&spec, 1000, &err) == 0);
        CHECK(spec.rootless && spec.userns == AMBER_USERNS_AUTO);
        spec_free(&spec);
    }
    {
        char *argv[] = {"-e", "LD_PRELOAD=/x.so", "-e", "KEEP=1", "true"};
        parse(&spec, &meta, &err, 5, argv);
        CHECK(spec_validate(&spec, 0, &err) == 0);
        CHECK(spec_getenv(&spec, "LD_PRELOAD") == NULL);
        CHECK(spec_getenv(&spec, "KEEP") != NULL);
        spec_free(&spec);
    }
    {
        char *argv[] = {"--keep-ld-env", "-e", "LD_PRELOAD=/x.so", "true"};
        parse(&spec, &meta, &err, 4, argv);
        CHECK(spec_validate(&spec, 0, &err) == 0);
        CHECK(spec_getenv(&spec, "LD_PRELOAD") != NULL);
        spec_free(&spec);
    }
    {
        struct {
            int argc;
            char *argv[6];
            uid_t euid;
            const char *needle;
        } bad[] = {
            {0, {NULL}, 0, "no command"},
            {3, {"--network", "host", "true"}, 0, "--allow-host-network"},
            {5, {"--service-mode", "strict-agent", "--backend", "process", "true"}, 0, "process"},
            {4,
             {"--service-mode", "strict-agent", "--allow-degraded-security", "true"},
             0,
             "--allow-degraded-security"},
            {3, {"--rootfs", "relative/dir", "true"}, 0, "absolute"},
            {3, {"--rootfs", "/nonexistent-amber-dir", "true"}, 0, "/nonexistent-amber-dir"},
            {3, {"--rootfs", "/etc/hostname", "true"}, 0, "not a directory"},
            {3, {"--rootfs-mode", "overlay", "true"}, 0, "needs --rootfs"},
            {3, {"--workdir", "rel", "true"}, 0, "--workdir 'rel'"},
            {3, {"--hostname", "bad_name!", "true"}, 0, "--hostname"},
            {3, {"--backend", "qemu", "true"}, 0, "qemu"},
            {3, {"--user", "5", "true"}, 1000, "--user 5"},
            {3, {"--userns", "host", "true"}, 1000, "--userns host"},
            {5, {"--userns", "host", "--service-mode", "strict-agent", "true"}, 0, "--userns host"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            parse(&spec, &meta, &err, bad[i].argc, bad[i].argv);
            CHECK(spec_validate(&spec, bad[i].euid, &err) < 0);
            CHECK_STR_CONTAINS(err.msg, bad[i].needle);
            spec_free(&spec);
        }
    }
}

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/amber-unit-XXXXXX");
    int fd = mkstemp(path);
    if (fd >= 0) {
        if (write(fd, text, strlen(text)) < 0)
            CHECK(0);
        close(fd);
    }
    return path;
}

static void config(void)
{
    struct amber_spec spec;
    struct amber_error err;
    char *p;

    p = write_tmp(
        "{\"command\": [\"sh\", \"-c\", \"exit 4\"], \"memory\": \"64M\", \"pids\": 12,\n"
        " \"env\": [\"A=1\", \"B=2\"], \"allow_host_network\": true, \"network\": \"host\",\n"
        " \"service_mode\": \"agent\", \"cpus\": 1.5}\n");
    spec_init(&spec);
    CHECK(spec_from_config_file(&spec, p, &err) == 0);
    CHECK(spec.argc == 3 && strcmp(spec.argv[2], "exit 4") == 0);
    CHECK(spec.memory == 64ULL << 20 && spec.pids == 12 && spec.cpus_milli == 1500);
    CHECK(spec.allow_host_network && spec.network == AMBER_NET_HOST);
    CHECK(spec_getenv(&spec, "B") != NULL);
    spec_free(&spec);
    unlink(p);
    free(p);

    p = write_tmp("{\"command\": [\"true\"], \"memroy\": \"64M\"}");
    spec_init(&spec);
    CHECK(spec_from_config_file(&spec, p, &err) < 0);
    CHECK_STR_CONTAINS(err.msg, "unknown key 'memroy'");
    spec_free(&spec);
    unlink(p);
    free(p);

    p = write_tmp("{\"command\": [\"true\"],\n \"memory\": }");
    spec_init(&spec);
    CHECK(spec_from_config_file(&spec, p, &err) < 0);
    CHECK_STR_CONTAINS(err.msg, "line 2");
    spec_free(&spec);
    unlink(p);
    free(p);

    p = write_tmp("{\"command\": \"true\"}");
    spec_init(&spec);
    CHECK(spec_from_config_file(&spec, p, &err) < 0);
    CHECK_STR_CONTAINS(err.msg, "command");
    spec_free(&spec);
    unlink(p);
    free(p);

    p = write_tmp("{\"command\": [\"true\"], \"memory\": [\"1G\"]}");
    spec_init(&spec);
    CHECK(spec_from_config_file(&spec, p, &err) < 0);
    CHECK_STR_CONTAINS(err.msg, "single value");
    spec_free(&spec);
    unlink(p);
    free(p);

    p = write_tmp("{\"command\": [\"true\"], \"allow_host_network\": \"yes\"}");
    spec_init(&spec);
    CHECK(spec_from_config_file(&spec, p, &err) < 0);
    CHECK_STR_CONTAINS(err.msg, "true or false");
    spec_free(&spec);
    unlink(p);
    free(p);

    spec_init(&spec);
    CHECK(spec_from_config_file(&spec, "/nonexistent/amber.json", &err) < 0);
    CHECK_STR_CONTAINS(err.msg, "/nonexistent/amber.json");
    spec_free(&spec);
}

static int from_text(struct amber_spec *spec, const char *text, size_t len, struct amber_error *err)
{
    spec_init(spec);
    return spec_from_config_text(spec, text, len, "cfg", err);
}

/* Launch-file numbers keep their exact value, or are refused; a key or
 * value with a NUL inside is refused (not read as its prefix); id maps
 * take exactly three fields; over-long lists are refused by their count. */
static void exact_input(void)
{
    struct amber_spec spec;
    struct amber_error err;
    static const struct {
        const char *text;
        uint64_t timeout_ns; /* 0: refused */
    } reals[] = {
        {"{\"command\": [\"true\"], \"timeout\": 123456.7}", 123456700000000ULL},
        {"{\"command\": [\"true\"], \"timeout\": 1000000.5}", 1000000500000000ULL},
        {"{\"command\": [\"true\"], \"timeout\": 0.25}", 250000000ULL},
        {"{\"command\": [\"true\"], \"timeout\": 2.5e2}", 250000000000ULL},
        {"{\"command\": [\"true\"], \"timeout\": 1e-3}", 1000000ULL},
        {"command = [\"true\"]\ntimeout = 123456.7\n", 123456700000000ULL},
        {"command = [\"true\"]\ntimeout = 1_000_000.5\n", 1000000500000000ULL},
        {"{\"command\": [\"true\"], \"timeout\": 1.0000000000000002}", 0},
        {"{\"command\": [\"true\"], \"timeout\": 0.1000000000000000055}", 0},
        {"{\"command\": [\"true\"], \"timeout\": 2.00000000000000001}", 0},
        {"{\"command\": [\"true\"], \"timeout\": 100000000000000000001}", 0},
        {"{\"command\": [\"true\"], \"timeout\": 1.500000000000000000}", 1500000000ULL},
        {"{\"command\": [\"true\", \"3.14159265358979323846\"], \"timeout\": 2}", 2000000000ULL},
        {"{\"command\": [\"true\"], \"timeout\": 1e300}", 0},
        {"command = [\"true\"]\ntimeout = inf\n", 0},
        {"command = [\"true\"]\ntimeout = nan\n", 0},
    };

    for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
        int rc = from_text(&spec, reals[i].text, strlen(reals[i].text), &err);
        if (reals[i].timeout_ns == 0) {
            CHECK(rc < 0);
            CHECK_STR_CONTAINS(err.msg, "timeout");
        } else {
            CHECK(rc == 0);
            CHECK(spec.timeout_ns == reals[i].timeout_ns);
            if (spec.timeout_ns != reals[i].timeout_ns)
                fprintf(stderr, "  %s -> %llu\n", reals[i].text,
                        (unsigned long long)spec.timeout_ns);
        }
        spec_free(&spec);
    }
    {
        double d = 1048576.5;
        char text[128];
        snprintf(text, sizeof(text), "{\"command\": [\"true\"], \"memory\": %.1f}", d);
        CHECK(from_text(&spec, text, strlen(text), &err) < 0); /* half a byte */
        spec_free(&spec);
    }

    /* NUL inside a TOML key or value (jansson refuses \u0000 in JSON). */
    {
        static const char k[] = "command = [\"true\"]\n\"hostname\\u0000junk\" = \"box\"\n";
        static const char v[] = "command = [\"true\"]\nhostname = \"box\\u0000junk\"\n";
        static const char c[] = "command = [\"tr\\u0000ue\"]\n";
        CHECK(from_text(&spec, k, sizeof(k) - 1, &err) < 0);
        CHECK_STR_CONTAINS(err.msg, "NUL");
        CHECK(spec.hostname == NULL);
        spec_free(&spec);
        CHECK(from_text(&spec, v, sizeof(v) - 1, &err) < 0);
        CHECK_STR_CONTAINS(err.msg, "NUL");
        CHECK(spec.hostname == NULL);
        spec_free(&spec);
        CHECK(from_text(&spec, c, sizeof(c) - 1, &err) < 0);
        CHECK_STR_CONTAINS(err.msg, "NUL");
        spec_free(&spec);
    }

    /* --uidmap: exactly INSIDE:HOST:COUNT. */
    {
        static const char *const bad[] = {"::0:0:1::", "0:0:1::", "0:0:1:",  ":0:0:1", "0::1",
                                          "0:0:",      "0:0:0",   "0:0:1:2", "a:0:1",  ""};
        struct run_meta meta;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            char *argv[] = {"--uidmap", (char *)bad[i], "--", "true"};
            CHECK(parse(&spec, &meta, &err, 4, argv) < 0);
            CHECK_STR_CONTAINS(err.msg, "INSIDE:HOST:COUNT");
            spec_free(&spec);
        }
        char *argv[] = {"--uidmap", "0:100000:65536", "--", "true"};
        CHECK(parse(&spec, &meta, &err, 4, argv) == 0);
        CHECK(spec.nuidmap == 1 && spec.uidmap[0].outside == 100000 &&
              spec.uidmap[0].count == 65536);
        spec_free(&spec);
    }

    /* Lists longer than the model holds are refused by count, first
     * (before the checks whose cost grows with them). */
    {
        size_t n = 5000, cap = n * 16 + 64, w = 0;
        char *text = malloc(cap);
        w += (size_t)snprintf(text + w, cap - w, "{\"command\": [\"true\"], \"tmpfs\": [");
        for (size_t i = 0; i < n; i++)
            w += (size_t)snprintf(text + w, cap - w, "%s\"/t%zu\"", i ? "," : "", i);
        w += (size_t)snprintf(text + w, cap - w, "]}");
        CHECK(from_text(&spec, text, w, &err) == 0);
        CHECK(spec_validate(&spec, 0, &err) < 0);
        CHECK_STR_CONTAINS(err.msg, "5000 given, at most 64");
        spec_free(&spec);

        w = (size_t)snprintf(text, cap, "{\"command\": [\"true\"], \"env\": [");
        for (size_t i = 0; i < n; i++)
            w += (size_t)snprintf(text + w, cap - w, "%s\"V%zu=1\"", i ? "," : "", i);
        w += (size_t)snprintf(text + w, cap - w, "]}");
        CHECK(from_text(&spec, text, w, &err) == 0);
        CHECK(spec_validate(&spec, 0, &err) < 0);
        CHECK_STR_CONTAINS(err.msg, "--env");
        spec_free(&spec);
        free(text);
    }
}

static void digest(void)
{
    struct amber_spec a, b;
    struct run_meta meta;
    struct amber_error err;
    char da[65], db[65];
    char *argv1[] = {"--memory", "64M", "echo", "hi"};
    char *argv2[] = {"--memory", "65M", "echo", "hi"};

    parse(&a, &meta, &err, 4, argv1);
    spec_validate(&a, 0, &err);
    parse(&b, &meta, &err, 4, argv1);
    spec_validate(&b, 0, &err);
    CHECK(spec_digest(&a, da, &err) == 0 && spec_digest(&b, db, &err) == 0);
    CHECK(strlen(da) == 64 && strcmp(da, db) == 0);
    spec_free(&b);
    parse(&b, &meta, &err, 4, argv2);
    spec_validate(&b, 0, &err);
    spec_digest(&b, db, &err);
    CHECK(strcmp(da, db) != 0);
    spec_free(&a);
    spec_free(&b);
}

/* A spec taken as written: what only a bundle says (capabilities, the
 * mount table, the seccomp program) is part of the digest. */
static void digest_as_written(void)
{
    struct amber_spec s;
    struct amber_error err;
    char d0[65], d1[65];
    struct sock_filter prog[2] = {{0x06, 0, 0, 0x7fff0000U}, {0x06, 0, 0, 0x7fff0000U}};
    struct amber_mount_entry m = {.dst = "/proc", .src = "proc", .type = "proc"};

    spec_init(&s);
    s.defaults = AMBER_DEFAULTS_AS_WRITTEN;
    strv_push(&s.argv, &s.argc, "true");
    CHECK(spec_digest(&s, d0, &err) == 0);
    s.written.caps[0] = 1ULL << 21;
    CHECK(spec_digest(&s, d1, &err) == 0 && strcmp(d0, d1) != 0);
    strcpy(d0, d1);
    s.written.mounts = &m;
    s.written.nmounts = 1;
    CHECK(spec_digest(&s, d1, &err) == 0 && strcmp(d0, d1) != 0);
    strcpy(d0, d1);
    m.flags = 1; /* MS_RDONLY */
    CHECK(spec_digest(&s, d1, &err) == 0 && strcmp(d0, d1) != 0);
    strcpy(d0, d1);
    s.written.has_seccomp = true;
    s.written.seccomp.insns = prog;
    s.written.seccomp.len = 2;
    CHECK(spec_digest(&s, d1, &err) == 0 && strcmp(d0, d1) != 0);
    strcpy(d0, d1);
    prog[1].k = 0x00050001U; /* ERRNO(1) instead of ALLOW */
    CHECK(spec_digest(&s, d1, &err) == 0 && strcmp(d0, d1) != 0);
    s.written.mounts = NULL; /* borrowed: not for spec_free */
    s.written.nmounts = 0;
    s.written.has_seccomp = false;
    s.written.seccomp.insns = NULL;
    spec_free(&s);
}

/* The one table of namespace kinds: every kind has its /proc file, the
 * OCI names map back, and exec's order starts with user, ends with mount. */
static void namespaces(void)
{
    CHECK(amber_ns_by_name("network") == AMBER_NS_NET);
    CHECK(amber_ns_by_name("mount") == AMBER_NS_MNT);
    CHECK(amber_ns_by_name("mnt") == -1);
    CHECK(amber_ns_by_name(NULL) == -1);
    CHECK(AMBER_NS_USER == 0 && AMBER_NS_MNT == AMBER_NS_COUNT - 1);
    for (int k = 0; k < AMBER_NS_COUNT; k++) {
        char path[64];
        CHECK(amber_ns_by_name(amber_ns_name(k)) == k);
        CHECK(amber_ns_kinds[k].clone_flag != 0);
        snprintf(path, sizeof(path), "/proc/self/ns/%s", amber_ns_file(k));
        if (k != AMBER_NS_TIME && k != AMBER_NS_CGROUP) /* older kernels lack these */
            CHECK(access(path, F_OK) == 0);
    }
    CHECK(amber_sysctl_ns("net.ipv4.ip_forward") == AMBER_NS_NET);
    CHECK(amber_sysctl_ns("kernel.hostname=x") == AMBER_NS_UTS);
    CHECK(amber_sysctl_ns("kernel.shmmax") == AMBER_NS_IPC);
}

int main(void)
{
    namespaces();
    digest_as_written();
    flags();
    validate();
    reopeners();
    config();
    exact_input();
    digest();
    return test_finish("spec");
}
