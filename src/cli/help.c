/* --help texts. `amber run --help` is generated from the option table, so
 * it lists exactly the flags the parser accepts. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "spec/flags.h"

void help_main(void)
{
    printf("amber %s: run code in sealed sandboxes\n\n"
           "Usage: amber [--root DIR] [--log-level LEVEL] [--log-format text|json] [--log FILE]\n"
           "             COMMAND [ARGS]\n\n"
           "Commands:\n"
           "  run      run a command in a new sandbox (-d: detached, managed below)\n"
           "  create   build a detached sandbox; its workload waits for start\n"
           "  start    start the workload of a created sandbox\n"
           "  ps       list detached sandboxes\n"
           "  state    show one detached sandbox's state\n"
           "  logs     print a detached sandbox's output\n"
           "  attach   follow a detached sandbox until it ends, forwarding signals\n"
           "  exec     run a command inside a running detached sandbox\n"
           "  stats    cpu, memory and processes of a detached sandbox\n"
           "  stop     stop a detached sandbox (TERM, then KILL)\n"
           "  kill     send a signal to a detached sandbox\n"
           "  rm       remove stopped detached sandboxes\n"
           "  pause    freeze every process of a detached sandbox\n"
           "  resume   thaw a paused detached sandbox\n"
           "  delete   delete a container (OCI; for amber's own sandboxes: rm)\n"
           "  features print the OCI runtime features amber implements (JSON)\n"
           "  spec     write a hardened OCI config.json into a bundle directory\n"
           "  check    show what this host supports\n"
           "  help     show help for a command\n"
           "  version  print the version (also --version)\n\n"
           "Global options:\n"
           "  --root DIR           state directory of detached sandboxes (default /run/amber,\n"
           "                       or $XDG_RUNTIME_DIR/amber without root)\n"
           "  --log-level LEVEL    error, warn (default), info or debug\n"
           "  --log-format FORMAT  text (default) or json (one object per line on stderr)\n"
           "  --log FILE           also append every log and error line to FILE\n"
           "  --debug              the same as --log-level debug\n\n"
           "OCI runtime: with --bundle DIR, create and run take an OCI bundle (config.json\n"
           "and its rootfs), as runc does; start, state, kill, delete and exec then follow\n"
           "the OCI runtime CLI (docs/oci.md). Engines: podman --runtime $(command -v amber).\n\n"
           "Run 'amber COMMAND --help' for a command's options.\n",
           AMBER_VERSION);
}

void help_run(void)
{
    printf("Usage: amber run [OPTIONS] [--] COMMAND [ARG...]\n"
           "       amber run --config FILE\n\n"
           "Run COMMAND in a new sandbox: new pid, mount, network, uts, ipc and cgroup\n"
           "namespaces; a tmpfs root with the host's /usr, /bin, /lib read-only; all\n"
           "capabilities dropped; no_new_privs; a seccomp allowlist; Landlock rules; a\n"
           "pids limit. The environment is only what you pass with --env plus PATH, HOME\n"
           "and HOSTNAME.\n\n"
           "Options:\n");
    for (const struct spec_option *o = spec_run_options; o->name != NULL; o++) {
        char left[64];
        if (o->short_name)
            snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name,
                     o->metavar ? " " : "", o->metavar ? o->metavar : "");
        else
            snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->metavar ? " " : "",
                     o->metavar ? o->metavar : "");
        if (strlen(left) > 30)
            printf("  %s\n  %-30s %s\n", left, "", o->help);
        else
            printf("  %-30s %s\n", left, o->help);
    }
    printf("  %-30s %s\n", "    --config FILE",
           "read the options from a JSON launch file (keys: the long names in snake_case,");
    printf("  %-30s %s\n", "", "the command under \"command\"); cannot be mixed with flags");
    printf("  %-30s %s\n", "-d, --detach",
           "run in the background under a supervisor; prints the id (see amber ps)");
    printf("  %-30s %s\n", "    --name NAME", "with -d: a unique name to use instead of the id");
    printf("  %-30s %s\n", "    --log-level LEVEL", "error, warn, info or debug");
    printf("  %-30s %s\n", "    --log-format FORMAT", "text or json");
    printf("  %-30s %s\n", "-h, --help", "show this help");
    printf("\nExit status:\n"
           "  the workload's own status; 128+N when it was killed by signal N;\n"
           "  124 after --timeout; 137 with an \"out of memory\" message when the memory\n"
           "  limit killed it; 125 for amber's own errors (bad input, setup failure);\n"
           "  126 when COMMAND cannot be executed; 127 when it is not found.\n\n"
           "Examples:\n"
           "  amber run -- /bin/sh -c 'echo hello from $(hostname)'\n"
           "  amber run --memory 256M --pids 64 --timeout 30 -- python3 script.py\n"
           "  amber run --service-mode strict-agent -- /bin/true\n");
}

void help_check(void)
{
    printf("Usage: amber check [--json]\n\n"
           "Show what this host supports: kernel, namespaces, user namespaces, cgroup\n"
           "layout and controllers, Landlock ABI, seccomp, openat2, /dev/kvm, runsc, qemu.\n\n"
           "Options:\n"
           "  --json     print one JSON object\n"
           "  -h, --help show this help\n");
}

int cmd_help(int argc, char **argv)
{
    if (argc == 0) {
        help_main();
        return 0;
    }
    if (strcmp(argv[0], "run") == 0) {
        help_run();
    } else if (strcmp(argv[0], "check") == 0) {
        help_check();
    } else {
        static const struct {
            const char *name;
            int (*fn)(int, char **);
        } verbs[] = {{"ps", cmd_ps},         {"state", cmd_state},   {"logs", cmd_logs},
                     {"exec", cmd_exec},     {"stats", cmd_stats},   {"stop", cmd_stop},
                     {"kill", cmd_kill},     {"rm", cmd_rm},         {"pause", cmd_pause},
                     {"resume", cmd_resume}, {"attach", cmd_attach}, {"create", cmd_create},
                     {"start", cmd_start}};
        char *help[] = {"--help", NULL};
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
            if (strcmp(argv[0], verbs[i].name) == 0)
                return verbs[i].fn(1, help);
        }
        cli_errorf("help: unknown command '%s'", argv[0]);
        return 125;
    }
    return 0;
}
