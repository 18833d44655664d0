/* amber: dispatch to one file per verb. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/fault.h"
#include "sandbox/seal.h"

const char *cli_root;

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
} verbs[] = {
    {"run", cmd_run},
    {"check", cmd_check},
    {"ps", cmd_ps},
    {"state", cmd_state},
    {"logs", cmd_logs},
    {"stop", cmd_stop},
    {"kill", cmd_kill},
    {"rm", cmd_rm},
    {"exec", cmd_exec},
    {"stats", cmd_stats},
    {"pause", cmd_pause},
    {"resume", cmd_resume},
    {"attach", cmd_attach},
    {"create", cmd_create},
    {"start", cmd_start},
    {"delete", cmd_delete},
    {"features", cmd_features},
    {"spec", cmd_spec},
};

static int global_options(int *argc, char ***argv)
{
    struct amber_error err;
    const char *level = NULL, *format = NULL, *logfile = NULL, *manager = NULL, *ignored = NULL;

    while (*argc > 0 && (*argv)[0][0] == '-') {
        const char *a = (*argv)[0];
        const char **dst = NULL;
        const char *val = NULL;
        size_t n;

        /* runc's flags, which engines pass before the verb. */
        if (strcmp(a, "--debug") == 0) {
            level = "debug";
            (*argc)--, (*argv)++;
            continue;
        }
        if (strcmp(a, "--systemd-cgroup") == 0) {
            cli_errorf("--systemd-cgroup: amber manages cgroups itself (cgroupfs); configure the "
                       "engine with --cgroup-manager cgroupfs");
            return -1;
        }
        if (strncmp(a, "--log-level", 11) == 0)
            dst = &level, n = 11;
        else if (strncmp(a, "--log", 5) == 0 && (a[5] == '\0' || a[5] == '='))
            dst = &logfile, n = 5;
        else if (strncmp(a, "--cgroup-manager", 16) == 0)
            dst = &manager, n = 16;
        else if (strncmp(a, "--rootless", 10) == 0 && (a[10] == '\0' || a[10] == '='))
            dst = &ignored, n = 10;
        else if (strncmp(a, "--root", 6) == 0 && (a[6] == '\0' || a[6] == '='))
            dst = &cli_root, n = 6;
        else if (strncmp(a, "--log-format", 12) == 0)
            dst = &format, n = 12;
        else
            break;
        if (a[n] == '=') {
            val = a + n + 1;
            (*argc)--, (*argv)++;
        } else if (a[n] == '\0' && *argc > 1) {
            val = (*argv)[1];
            *argc -= 2, *argv += 2;
        } else {
            cli_errorf("option '%s' needs a value", a);
            return -1;
        }
        *dst = val;
    }
    if (cli_log_configure(level, format, &err) < 0 ||
        (logfile != NULL && cli_log_file(logfile, &err) < 0)) {
        cli_error(&err);
        return -1;
    }
    if (manager != NULL && strcmp(manager, "cgroupfs") != 0) {
        cli_errorf("--cgroup-manager '%s': amber supports only cgroupfs", manager);
        return -1;
    }
    return 0;
}

char **cli_argv;

/* The verbs whose processes run or enter a sandbox re-execute amber from a
 * sealed copy first (seal.h, CVE-2019-5736). */
int cli_seal_exe(void)
{
    struct amber_error err;

    if (seal_exe(cli_argv, &err) == 0)
        return 0;
    amber_error_prefix(&err, "cannot run from a sealed copy of amber (the protection of the "
                             "host's amber binary against a container reopening it)");
    cli_error(&err);
    return -1;
}

int main(int argc, char **argv)
{
    const char *verb;

    cli_argv = argv;
    fault_init_from_env(); /* before anything is sealed (util/fault.h) */
    cli_log_init();
    /* A reader that went away is an error to report (EPIPE), not a reason
     * to die. Workloads get the default back (amber_exec_workload). */
    signal(SIGPIPE, SIG_IGN);
    argc--, argv++;
    if (global_options(&argc, &argv) < 0)
        return 125;
    if (argc == 0) {
        help_main();
        return 125;
    }
    verb = argv[0];
    if (strcmp(verb, "--version") == 0 || strcmp(verb, "version") == 0) {
        printf("amber %s\n", AMBER_VERSION);
        return 0;
    }
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0)
        return cmd_help(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (strcmp(verb, verbs[i].name) == 0)
            return verbs[i].fn(argc - 1, argv + 1);
    }
    cli_errorf("unknown command '%s' (see amber help)", verb);
    return 125;
}
