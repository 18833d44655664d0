/* amber exec ID [--] COMMAND [ARG...]: run a command in a running
 * detached sandbox, under the sandbox's own policy. */
#include <stdio.h>
#include <string.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "cli/container_common.h"
#include "container/lifecycle.h"

int cmd_exec(int argc, char **argv)
{
    struct container c;
    struct amber_error err;
    bool tty = false, interactive = false;
    const char *ref;
    int i = 0, rc;

    /* The OCI exec: runc's options, or a container made from a bundle. */
    for (int k = 0; k < argc; k++) {
        const char *a = argv[k];
        if (strcmp(a, "--") == 0)
            break;
        if (strcmp(a, "-p") == 0 || strncmp(a, "--process", 9) == 0 ||
            strncmp(a, "--pid-file", 10) == 0 || strncmp(a, "--console-socket", 16) == 0 ||
            strcmp(a, "-d") == 0 || strcmp(a, "--detach") == 0 || strncmp(a, "--cwd", 5) == 0 ||
            strncmp(a, "--env", 5) == 0 || strcmp(a, "-e") == 0 || strncmp(a, "--user", 6) == 0 ||
            strcmp(a, "-u") == 0)
            return cmd_oci_exec(argc, argv);
        if (a[0] != '-') {
            if (cli_ref_is_oci(a))
                return cmd_oci_exec(argc, argv);
            break;
        }
    }
    if (argc > 0 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        printf("Usage: amber exec [-t] [-i] ID [--] COMMAND [ARG...]\n\n"
               "Run COMMAND inside a running detached sandbox: its namespaces and cgroup,\n"
               "its user, working directory and environment (without --env-fd values),\n"
               "and the same capability drop, no_new_privs, Landlock rules and seccomp\n"
               "filter as its own workload. Exits with COMMAND's status.\n"
               "  -t, --tty          a terminal (a pty from the sandbox's devpts)\n"
               "  -i, --interactive  keep stdin open (otherwise /dev/null)\n");
        return 0;
    }
    while (i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0) {
        if (strcmp(argv[i], "-t") == 0 || strcmp(argv[i], "--tty") == 0)
            tty = true;
        else if (strcmp(argv[i], "-i") == 0 || strcmp(argv[i], "--interactive") == 0)
            interactive = true;
        else if (strcmp(argv[i], "-it") == 0 || strcmp(argv[i], "-ti") == 0)
            tty = interactive = true;
        else {
            cli_errorf("exec: unknown option '%s' (see amber exec --help)", argv[i]);
            return 125;
        }
        i++;
    }
    if (argc - i < 2 || (argc - i == 2 && strcmp(argv[i + 1], "--") == 0)) {
        cli_errorf("exec: usage: amber exec [-t] [-i] ID [--] COMMAND [ARG...]");
        return 125;
    }
    ref = argv[i++];
    if (strcmp(argv[i], "--") == 0)
        i++;
    if (cli_seal_exe() < 0)
        return 125;
    if (cli_container_open(ref, &c, NULL) < 0)
        return 125;
    amber_signals_block();
    rc = container_exec(&c, argv + i, tty, interactive, &err);
    if (rc < 0) {
        cli_error(&err);
        rc = 125;
    }
    container_free(&c);
    return rc;
}
