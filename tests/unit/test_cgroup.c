/* Unit tests: the one cgroup manager against temporary trees laid out as
 * v1, v2 and hybrid hosts (cgroup_host_describe). The machines this runs
 * on are hybrid, so this is where the v2 code is exercised. Control files
 * in such a tree are plain files that record every write, in order. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/oci.h"
#include "sandbox/cgroup.h"
#include "test.h"
#include "util/fs.h"

static char root[] = "/tmp/amber-cgroup-test-XXXXXX";

/* mkdir -p root/a/b */
static void mkdirs(const char *a, const char *b)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s/%s", root, a, b);
    for (char *p = path + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            mkdir(path, 0755);
            *p = c;
            if (c == '\0')
                break;
        }
    }
}

static void put(const char *rel, const char *text)
{
    char path[PATH_MAX];
    struct amber_error err;
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    CHECK(fs_write_file(path, text, strlen(text), O_CREAT | O_TRUNC, 0644, &err) == 0);
}

/* The contents of root/rel, "" if absent (static buffer). */
static const char *get(const char *rel)
{
    static char buf[4][4096];
    static int k;
    char path[PATH_MAX];
    struct amber_error err;
    char *b = buf[k++ % 4];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    if (fs_read_file(path, b, sizeof(buf[0]), &err) < 0)
        b[0] = '\0';
    return b;
}

static bool exists(const char *rel)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    return access(path, F_OK) == 0;
}

static const char *const v1_ctrls[] = {"memory",  "cpu,cpuacct", "pids",
                                       "freezer", "devices",     "cpuset"};

/* A v1 host (hybrid: plus a cgroup2 mount without controllers). */
static void describe_v1(bool hybrid)
{
    char mi[4096] = "", cg[1024] = "";
    size_t w = 0, c = 0;

    for (size_t i = 0; i < sizeof(v1_ctrls) / sizeof(v1_ctrls[0]); i++) {
        w += (size_t)snprintf(mi + w, sizeof(mi) - w,
                              "%zu 20 0:%zu / %s/v1/%s rw,nosuid - cgroup cgroup rw,%s\n", 30 + i,
                              30 + i, root, v1_ctrls[i], v1_ctrls[i]);
        c += (size_t)snprintf(cg + c, sizeof(cg) - c, "%zu:%s:/user.slice\n", 9 - i, v1_ctrls[i]);
        {
            char d[128];
            snprintf(d, sizeof(d), "v1/%s", v1_ctrls[i]);
            mkdirs(d, "user.slice");
        }
    }
    if (hybrid) {
        w += (size_t)snprintf(mi + w, sizeof(mi) - w,
                              "40 20 0:40 / %s/unified rw - cgroup2 cgroup2 rw\n", root);
        c += (size_t)snprintf(cg + c, sizeof(cg) - c, "0::/user.slice\n");
        mkdirs("unified", "user.slice");
    }
    /* other filesystems are ignored */
    w += (size_t)snprintf(mi + w, sizeof(mi) - w, "22 1 0:21 / /proc rw - proc proc rw\n");
    cgroup_host_describe(mi, cg);
}

static void describe_v2(void)
{
    char mi[1024], cg[64];

    snprintf(mi, sizeof(mi),
             "22 1 0:21 / /proc rw - proc proc rw\n"
             "30 20 0:26 / %s/v2 rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
             root);
    snprintf(cg, sizeof(cg), "0::/user.slice\n");
    mkdirs("v2", "user.slice");
    put("v2/cgroup.controllers", "cpuset cpu io memory pids\n");
    put("v2/user.slice/cgroup.controllers", "cpuset cpu io memory pids\n");
    put("v2/user.slice/cgroup.subtree_control", "");
    cgroup_host_describe(mi, cg);
}

/* The same limit from --memory/--cpus/--pids and from a config.json. */
static void amber_limits(struct cgroup_limits *lim)
{
    cgroup_limits_from_amber(lim, 64ULL << 20, 500, 10, false);
}

static const char config_json[] =
    "{\"ociVersion\": \"1.0.2\", \"process\": {\"args\": [\"true\"], \"cwd\": \"/\"},"
    " \"root\": {\"path\": \"rootfs\"}, \"linux\": {\"namespaces\": [{\"type\": \"mount\"}],"
    " \"resources\": {"
    "  \"memory\": {\"limit\": 67108864, \"swap\": 67108864},"
    "  \"cpu\": {\"quota\": 50000, \"period\": 100000}, \"pids\": {\"limit\": 10}}}}";

static int oci_limits(struct amber_spec *spec, struct cgroup_limits *lim)
{
    struct amber_error err;
    spec_init(spec);
    if (oci_config_parse(config_json, strlen(config_json), spec, false, &err) < 0) {
        fprintf(stderr, "config.json: %s\n", err.msg);
        return -1;
    }
    cgroup_limits_from_written(&spec->written, lim);
    return 0;
}

static void v1(void)
{
    struct cgroup_limits lim;
    struct amber_cgroup cg, oc;
    struct cgroup_place native = {.name = "amber-1"};
    struct cgroup_place pod = {.path = "/pod/c1", .every_hierarchy = true};
    struct amber_error err;
    struct amber_spec spec;

    describe_v1(false);
    CHECK(cgroup_detect_layout() == CGROUP_LAYOUT_V1);
    CHECK(cgroup_manager_for_host() == &cgroup_manager_v1);
    amber_limits(&lim);
    CHECK(cgroup_create(&cg, &native, &lim, &err) == 0);
    /* A dir only where a limit is: memory, cpu, pids. */
    CHECK(cg.npaths == 3);
    CHECK(strcmp(get("v1/memory/user.slice/amber-1/memory.limit_in_bytes"), "67108864\n") == 0);
    CHECK(strcmp(get("v1/memory/user.slice/amber-1/memory.memsw.limit_in_bytes"), "67108864\n") ==
          0);
    CHECK(strcmp(get("v1/cpu,cpuacct/user.slice/amber-1/cpu.cfs_period_us"), "100000\n") == 0);
    CHECK(strcmp(get("v1/cpu,cpuacct/user.slice/amber-1/cpu.cfs_quota_us"), "50000\n") == 0);
    CHECK(strcmp(get("v1/pids/user.slice/amber-1/pids.max"), "10\n") == 0);
    CHECK(!exists("v1/freezer/user.slice/amber-1") && !exists("v1/devices/user.slice/amber-1"));

    /* The same limits from config.json: identical files. */
    CHECK(oci_limits(&spec, &lim) == 0);
    CHECK(cgroup_create(&oc, &pod, &lim, &err) == 0);
    CHECK(oc.npaths == 5); /* memory, cpu, pids, devices, freezer: what engines read */
    {
        static const char *const files[][2] = {{"memory", "memory.limit_in_bytes"},
                                               {"memory", "memory.memsw.limit_in_bytes"},
                                               {"cpu,cpuacct", "cpu.cfs_period_us"},
                                               {"cpu,cpuacct", "cpu.cfs_quota_us"},
                                               {"pids", "pids.max"}};
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
            char fa[512], fb[512];
            snprintf(fa, sizeof(fa), "v1/%s/user.slice/amber-1/%s", files[i][0], files[i][1]);
            snprintf(fb, sizeof(fb), "v1/%s/pod/c1/%s", files[i][0], files[i][1]);
            CHECK(get(fa)[0] != '\0');
            CHECK(strcmp(get(fa), get(fb)) == 0);
            if (strcmp(get(fa), get(fb)) != 0)
                fprintf(stderr, "  %s: '%s' vs '%s'\n", files[i][1], get(fa), get(fb));
        }
    }
    CHECK(exists("v1/freezer/pod/c1") && exists("v1/devices/pod/c1"));
    /* An existing leaf is never taken over. */
    {
        struct amber_cgroup again;
        CHECK(cgroup_create(&again, &pod, &lim, &err) < 0);
        CHECK(err.code == EEXIST);
        CHECK(again.npaths == 0);
    }
    CHECK(cgroup_remove_with_parent(oc.paths, oc.npaths, "pod", &err) == 0);
    CHECK(!exists("v1/memory/pod/c1") && !exists("v1/memory/pod"));
    for (int i = 0; i < oc.npaths; i++)
        free(oc.paths[i]);
    spec_free(&spec);

    /* A failure midway leaves nothing: pids' dir is taken already. */
    {
        struct amber_cgroup bad;
        struct cgroup_place other = {.name = "amber-2"};
        mkdirs("v1/pids/user.slice", "amber-2");
        amber_limits(&lim);
        CHECK(cgroup_create(&bad, &other, &lim, &err) < 0);
        CHECK(!exists("v1/memory/user.slice/amber-2"));
        CHECK(!exists("v1/cpu,cpuacct/user.slice/amber-2"));
        CHECK(exists("v1/pids/user.slice/amber-2")); /* not ours: left alone */
    }
    /* The verbs' operations. */
    {
        struct cgroup_usage u;
        put("v1/memory/user.slice/amber-1/memory.usage_in_bytes", "4096\n");
        put("v1/pids/user.slice/amber-1/pids.current", "3\n");
        cgroup_usage_read(cg.paths, cg.npaths, &u);
        CHECK(u.has_memory && u.memory == 4096 && u.memory_max == 67108864);
        CHECK(u.has_pids && u.pids == 3 && !u.has_cpu);
        CHECK(cgroup_freeze(cg.paths, cg.npaths, true, &err) == 1); /* no freezer dir */
        CHECK(cgroup_join_self(cg.paths, cg.npaths, &err) == 0);
        CHECK(strcmp(get("v1/pids/user.slice/amber-1/cgroup.procs"), "0\n") == 0);
    }
    CHECK(cgroup_destroy(&cg, &err) == 0);
    CHECK(!exists("v1/memory/user.slice/amber-1") && !exists("v1/pids/user.slice/amber-1"));

    /* Freezer for detached sandboxes: a dir in the freezer hierarchy. */
    cgroup_limits_from_amber(&lim, 0, 0, 0, true);
    CHECK(cgroup_create(&cg, &native, &lim, &err) == 0);
    CHECK(cg.npaths == 1 && exists("v1/freezer/user.slice/amber-1"));
    put("v1/freezer/user.slice/amber-1/freezer.state", "THAWED\n");
    CHECK(cgroup_freeze(cg.paths, cg.npaths, true, &err) == 0);
    CHECK(strstr(get("v1/freezer/user.slice/amber-1/freezer.state"), "FROZEN\n") != NULL);
    CHECK(cgroup_destroy(&cg, &err) == 0);
}

static void hybrid(void)
{
    struct cgroup_limits lim;
    struct amber_cgroup cg;
    struct cgroup_place native = {.name = "amber-3"};
    struct amber_error err;

    describe_v1(true);
    CHECK(cgroup_detect_layout() == CGROUP_LAYOUT_HYBRID);
    /* The controllers are all on v1; the cgroup2 mount tracks processes only. */
    CHECK(cgroup_manager_for_host() == &cgroup_manager_v1);
    amber_limits(&lim);
    CHECK(cgroup_create(&cg, &native, &lim, &err) == 0);
    CHECK(strcmp(get("v1/memory/user.slice/amber-3/memory.limit_in_bytes"), "67108864\n") == 0);
    CHECK(!exists("unified/user.slice/amber-3"));
    CHECK(cgroup_destroy(&cg, &err) == 0);
}

static void v2(void)
{
    struct cgroup_limits lim;
    struct amber_cgroup cg, oc;
    struct cgroup_place native = {.name = "amber-1"};
    struct cgroup_place pod = {.path = "/pod/c1", .every_hierarchy = true};
    struct amber_error err;
    struct amber_spec spec;

    describe_v2();
    CHECK(cgroup_detect_layout() == CGROUP_LAYOUT_V2);
    CHECK(cgroup_manager_for_host() == &cgroup_manager_v2);
    amber_limits(&lim);
    CHECK(cgroup_create(&cg, &native, &lim, &err) == 0);
    CHECK(cg.npaths == 1);
    /* one write per controller, only the ones the limits need */
    CHECK(strcmp(get("v2/user.slice/cgroup.subtree_control"), "+memory\n+cpu\n+pids\n") == 0);
    CHECK(strcmp(get("v2/user.slice/amber-1/memory.max"), "67108864\n") == 0);
    CHECK(strcmp(get("v2/user.slice/amber-1/memory.swap.max"), "0\n") == 0);
    CHECK(strcmp(get("v2/user.slice/amber-1/cpu.max"), "50000 100000\n") == 0);
    CHECK(strcmp(get("v2/user.slice/amber-1/pids.max"), "10\n") == 0);

    /* From config.json: the same files; controllers enabled on the way down. */
    CHECK(oci_limits(&spec, &lim) == 0);
    CHECK(cgroup_create(&oc, &pod, &lim, &err) == 0);
    CHECK(oc.npaths == 1);
    {
        static const char *const files[] = {"memory.max", "memory.swap.max", "cpu.max", "pids.max"};
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
            char a[256], b[256];
            snprintf(a, sizeof(a), "v2/user.slice/amber-1/%s", files[i]);
            snprintf(b, sizeof(b), "v2/pod/c1/%s", files[i]);
            CHECK(strcmp(get(a), get(b)) == 0);
        }
    }
    CHECK(strstr(get("v2/cgroup.subtree_control"), "+memory\n") != NULL);
    CHECK(strstr(get("v2/pod/cgroup.subtree_control"), "+pids\n") != NULL);
    /* every_hierarchy: cpuset too, though nothing limits it */
    CHECK(strstr(get("v2/pod/cgroup.subtree_control"), "+cpuset\n") != NULL);
    CHECK(cgroup_remove_with_parent(oc.paths, oc.npaths, "pod", &err) == 0);
    for (int i = 0; i < oc.npaths; i++)
        free(oc.paths[i]);
    spec_free(&spec);

    /* Nothing to limit: no dir at all (v2 freezes any cgroup). */
    {
        struct amber_cgroup none;
        struct cgroup_place p = {.name = "amber-9"};
        cgroup_limits_from_amber(&lim, 0, 0, 0, true);
        CHECK(cgroup_create(&none, &p, &lim, &err) == 0);
        CHECK(none.npaths == 0 && !exists("v2/user.slice/amber-9"));
    }
    /* A controller that cannot be enabled: an error naming it, and nothing
     * made (subtree_control replaced by a directory: writes fail). */
    {
        struct amber_cgroup bad;
        struct cgroup_place p = {.name = "amber-4"};
        char path[PATH_MAX];
        mkdirs("v2", "sub.slice");
        snprintf(path, sizeof(path), "%s/v2/sub.slice/cgroup.subtree_control", root);
        mkdir(path, 0755);
        cgroup_host_describe(NULL, NULL);
        {
            char mi[512];
            snprintf(mi, sizeof(mi), "30 20 0:26 / %s/v2 rw - cgroup2 cgroup2 rw\n", root);
            cgroup_host_describe(mi, "0::/sub.slice\n");
        }
        amber_limits(&lim);
        CHECK(cgroup_create(&bad, &p, &lim, &err) < 0);
        CHECK_STR_CONTAINS(err.msg, "cgroup.subtree_control");
        CHECK(!exists("v2/sub.slice/amber-4"));
        rmdir(path);
    }
    describe_v2();
    CHECK(cgroup_destroy(&cg, &err) == 0);
    CHECK(!exists("v2/user.slice/amber-1"));
}

int main(void)
{
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    v1();
    hybrid();
    v2();
    cgroup_host_describe(NULL, NULL);
    {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        if (system(cmd) != 0)
            CHECK(0);
    }
    return test_finish("cgroup");
}
