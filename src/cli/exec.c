/* amber exec ID [--] COMMAND [ARG...]: run a command in a running
 * detached sandbox, under the sandbox's own policy. */
#include <stdio.h>
#include <string.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "cli/container_common.h"
#include "container/exec.h"

int cmd_exec(int argc, char **argv)
{
    struct container c;
    struct amber_error err;
    int i = 0, rc;

    if (argc > 0 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        printf("Usage: amber exec ID [--] COMMAND [ARG...]\n\n"
               "Run COMMAND inside a running detached sandbox: its namespaces and cgroup,\n"
               "its user, working directory and environment (without --env-fd values),\n"
               "and the same capability drop, no_new_privs, Landlock rules and seccomp\n"
               "filter as its own workload. Exits with COMMAND's status.\n");
        return 0;
    }
    if (argc < 2 || (argc == 2 && strcmp(argv[1], "--") == 0)) {
        cli_errorf("exec: usage: amber exec ID [--] COMMAND [ARG...]");
        return 125;
    }
    i = 1;
    if (strcmp(argv[i], "--") == 0)
        i++;
    if (cli_container_open(argv[0], &c, NULL) < 0)
        return 125;
    amber_signals_block();
    rc = container_exec(&c, argv + i, &err);
    if (rc < 0) {
        cli_error(&err);
        rc = 125;
    }
    container_free(&c);
    return rc;
}
