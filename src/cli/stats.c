/* amber stats ID [--format text|json]: cpu, memory and pids of a detached
 * sandbox, read from its cgroup by the cgroup manager (cgroup_usage_read). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/container_common.h"
#include "container/lifecycle.h"

int cmd_stats(int argc, char **argv)
{
    const char *ref = NULL;
    bool json = false;
    struct container c;
    struct cgroup_usage u;
    unsigned long long mem, memmax, pids, cpu_ns;
    bool has_mem, has_pids, has_cpu;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            if (cli_parse_format(argv[++i], &json) < 0)
                return 125;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("Usage: amber stats ID [--format text|json]\n\n"
                   "CPU time, memory and processes of a running sandbox, from its cgroup.\n");
            return 0;
        } else if (ref == NULL && argv[i][0] != '-') {
            ref = argv[i];
        } else {
            cli_errorf("stats: unexpected argument '%s'", argv[i]);
            return 125;
        }
    }
    if (ref == NULL) {
        cli_errorf("stats: which container? (amber stats ID)");
        return 125;
    }
    if (cli_container_open(ref, &c, NULL) < 0)
        return 125;
    if (c.status == CONTAINER_STOPPED) {
        cli_errorf("stats: container %s is not running", c.id);
        container_free(&c);
        return 1;
    }
    {
        struct amber_error err;
        if (container_usage(&c, &u, &err) < 0) {
            cli_error(&err);
            container_free(&c);
            return 1;
        }
    }
    has_mem = u.has_memory;
    has_pids = u.has_pids;
    has_cpu = u.has_cpu;
    mem = u.memory;
    memmax = u.memory_max;
    pids = u.pids;
    cpu_ns = u.cpu_ns;
    if (json) {
        json_t *o =
            json_pack("{s:s,s:o,s:o,s:o,s:o}", "id", c.id, "memory_bytes",
                      has_mem ? json_integer((json_int_t)mem) : json_null(), "memory_limit_bytes",
                      memmax ? json_integer((json_int_t)memmax) : json_null(), "pids",
                      has_pids ? json_integer((json_int_t)pids) : json_null(), "cpu_ns",
                      has_cpu ? json_integer((json_int_t)cpu_ns) : json_null());
        char *s = json_dumps(o, JSON_INDENT(2));
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(o);
    } else {
        printf("%-16s  %-14s  %-8s  %s\n", "ID", "MEMORY", "PIDS", "CPU");
        printf("%-16.16s  ", c.id);
        if (has_mem)
            printf("%-14.1f  ", (double)mem / (1 << 20));
        else
            printf("%-14s  ", "-");
        if (has_pids)
            printf("%-8llu  ", pids);
        else
            printf("%-8s  ", "-");
        if (has_cpu)
            printf("%.3fs\n", (double)cpu_ns / 1e9);
        else
            printf("-\n");
    }
    container_free(&c);
    return 0;
}
