/* The OCI runtime command line, as runc and crun spell it, so engines
 * (podman, containerd) can use amber unchanged:
 *
 *   amber [--root DIR] [--log FILE] [--log-format text|json] create --bundle DIR
 *         [--pid-file F] [--console-socket S] [--preserve-fds N] ID
 *   amber start ID | state ID | kill [--all] ID [SIG] | delete [--force] ID
 *   amber run --bundle DIR [--detach] ... ID
 *   amber exec [--process F] [--detach] [--pid-file F] [--console-socket S] [-t]
 *         [--cwd D] [-e K=V] [-u UID[:GID]] ID [CMD...]
 *   amber features | amber spec [--bundle DIR] [--rootless]
 *
 * create/start/state/kill/exec/run share their names with amber's own
 * detached sandboxes: a bundle (--bundle, or a container made from one)
 * selects the OCI behaviour. Exit codes: 0 success, 1 the container
 * refused the verb (wrong state), 125 bad input or amber's own error. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/container_common.h"
#include "container/state.h"
#include "oci/oci.h"
#include "oci/runtime.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/parse.h"
#include "util/xalloc.h"

/* One option: --name VALUE, --name=VALUE, -name VALUE (urfave/cli style). */
struct opt {
    const char *lng;
    char shrt;
    bool has_arg;
    const char **val; /* has_arg */
    bool *flag;       /* !has_arg */
    char ***list;     /* has_arg and may repeat (--env): every value is kept */
    size_t *nlist;
};

/* Parse options up to the first positional; returns its index or -1. */
static int parse_opts(const char *verb, int argc, char **argv, const struct opt *opts)
{
    int i;

    for (i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *name, *eq;
        size_t nlen;
        bool found = false;

        if (strcmp(a, "--") == 0)
            return i + 1;
        if (a[0] != '-' || a[1] == '\0')
            return i;
        name = a + 1 + (a[1] == '-');
        eq = strchr(name, '=');
        nlen = eq != NULL ? (size_t)(eq - name) : strlen(name);
        for (const struct opt *o = opts; o->lng != NULL; o++) {
            bool match = (strlen(o->lng) == nlen && strncmp(o->lng, name, nlen) == 0) ||
                         (o->shrt != 0 && a[1] == o->shrt && nlen == 1);
            if (!match)
                continue;
            found = true;
            if (!o->has_arg) {
                *o->flag = true;
                break;
            }
            if (eq == NULL && i + 1 >= argc) {
                cli_errorf("%s: option '%s' needs a value", verb, a);
                return -1;
            }
            if (o->list != NULL)
                strv_push(o->list, o->nlist, eq != NULL ? eq + 1 : argv[++i]);
            else
                *o->val = eq != NULL ? eq + 1 : argv[++i];
            break;
        }
        if (!found) {
            cli_errorf("%s: unknown option '%s' (see amber %s --help)", verb, a, verb);
            return -1;
        }
    }
    return i;
}

static int parse_count(const char *verb, const char *what, const char *s, int *out)
{
    uint64_t v;

    if (s == NULL)
        return 0;
    if (parse_uint(s, 4096, &v) < 0) {
        cli_errorf("%s: %s '%s': expected a number", verb, what, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

bool cli_oci_create_args(int argc, char **argv)
{
    /* Up to the first argument that is not an option: after it comes
     * amber's own command (`amber run -- sh -c 'echo --bundle'`). An OCI
     * caller names one of these before the id. */
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0 || a[0] != '-')
            return false;
        if (strcmp(a, "-b") == 0 || strncmp(a, "--bundle", 8) == 0 ||
            strncmp(a, "-bundle", 7) == 0 || strncmp(a, "--pid-file", 10) == 0 ||
            strncmp(a, "--console-socket", 16) == 0 || strncmp(a, "--preserve-fds", 14) == 0)
            return true;
    }
    return false;
}

bool cli_ref_is_oci(const char *ref)
{
    const char *root = state_root(cli_root);
    struct amber_error ignore;
    cleanup_free char *saved = NULL;
    char id[65];

    /* Only containers made from a bundle keep a config.json: one access()
     * instead of parsing state.json twice per verb. */
    if (ref == NULL || state_resolve(root, ref, id, &ignore) < 0)
        return false;
    saved = state_path(root, id, "config.json");
    return access(saved, F_OK) == 0;
}

/* Exit status for a failed verb: the container's state refused it (1) or
 * the input/amber failed (125). */
static int fail_status(const struct amber_error *err)
{
    cli_error(err);
    return err->code == EBUSY || err->code == ESRCH || err->code == ENXIO ? 1 : 125;
}

static int one_id(const char *verb, int argc, char **argv, int i)
{
    if (i < 0)
        return -1;
    if (argc - i != 1) {
        cli_errorf("%s: expected exactly one container id", verb);
        return -1;
    }
    return i;
}

int cmd_oci_create(int argc, char **argv, bool run)
{
    const char *verb = run ? "run" : "create";
    const char *bundle = ".", *pid_file = NULL, *console = NULL, *preserve = NULL;
    const char *ignored = NULL;
    bool detach = false, no_pivot = false, no_keyring = false, keep = false;
    const struct opt opts[] = {
        {"bundle", 'b', true, &bundle, NULL},
        {"pid-file", 0, true, &pid_file, NULL},
        {"console-socket", 0, true, &console, NULL},
        {"preserve-fds", 0, true, &preserve, NULL},
        {"detach", 'd', false, NULL, &detach},
        {"no-pivot", 0, false, NULL, &no_pivot},
        {"no-new-keyring", 0, false, NULL, &no_keyring},
        {"keep", 0, false, NULL, &keep},
        {"criu", 0, true, &ignored, NULL},
        {NULL, 0, false, NULL, NULL},
    };
    struct oci_create_opts o;
    struct cli_term term;
    struct amber_error err;
    pid_t pid;
    int i;

    memset(&o, 0, sizeof(o));
    if (cli_wants_help(argc, argv)) {
        printf("Usage: amber %s --bundle DIR [--pid-file FILE] [--console-socket SOCKET]\n"
               "       [--preserve-fds N]%s ID\n\n"
               "%s an OCI container from the bundle DIR (its config.json and rootfs), as the\n"
               "OCI runtime spec describes. %s\n"
               "Fields amber does not implement are refused (docs/oci.md).\n",
               verb, run ? " [--detach]" : "", run ? "Create and start" : "Create",
               run ? "Without --detach amber waits for the process and exits with its status,\n"
                     "then deletes the container."
                   : "The process waits until `amber start ID`.");
        return 0;
    }
    i = one_id(verb, argc, argv, parse_opts(verb, argc, argv, opts));
    if (i < 0 || parse_count(verb, "--preserve-fds", preserve, &o.preserve_fds) < 0)
        return 125;
    if (no_pivot) {
        cli_errorf("%s: --no-pivot is not supported (amber always uses pivot_root)", verb);
        return 125;
    }
    o.root = state_root(cli_root);
    o.id = argv[i];
    o.bundle = bundle;
    o.pid_file = pid_file;
    o.console_socket = console;
    o.hold = !run;
    if (cli_seal_exe() < 0)
        return 125;
    if (run && !detach) {
        /* Foreground: the backend's run loop forwards amber's signals to
         * the container until it ends; then it is deleted (unless --keep). */
        struct amber_result res;
        int code;
        amber_signals_block();
        cli_term_save(&term);
        if (oci_run(&o, &res, &err) < 0) {
            cli_term_restore(&term);
            return fail_status(&err);
        }
        cli_term_restore(&term);
        code = res.exit_code;
        if (!keep && oci_delete(o.root, o.id, true, &err) < 0)
            cli_error(&err);
        return code;
    }
    if (oci_create(&o, &pid, &err) < 0)
        return fail_status(&err);
    return 0;
}

int cmd_oci_start(int argc, char **argv)
{
    const struct opt opts[] = {{NULL, 0, false, NULL, NULL}};
    struct amber_error err;
    int i = one_id("start", argc, argv, parse_opts("start", argc, argv, opts));

    if (i < 0)
        return 125;
    if (oci_start(state_root(cli_root), argv[i], &err) < 0)
        return fail_status(&err);
    return 0;
}

int cmd_oci_state(int argc, char **argv)
{
    const struct opt opts[] = {{NULL, 0, false, NULL, NULL}};
    struct amber_error err;
    char *json = NULL;
    int i = one_id("state", argc, argv, parse_opts("state", argc, argv, opts));

    if (i < 0)
        return 125;
    if (oci_state(state_root(cli_root), argv[i], &json, &err) < 0)
        return fail_status(&err);
    printf("%s\n", json);
    free(json);
    return 0;
}

int cmd_oci_kill(int argc, char **argv)
{
    bool all = false;
    const struct opt opts[] = {{"all", 'a', false, NULL, &all}, {NULL, 0, false, NULL, NULL}};
    struct amber_error err;
    int i = parse_opts("kill", argc, argv, opts);
    int sig = SIGTERM;

    if (i < 0)
        return 125;
    if (argc - i < 1 || argc - i > 2) {
        cli_errorf("kill: usage: amber kill [--all] ID [SIGNAL]");
        return 125;
    }
    if (argc - i == 2 && (sig = oci_signal_parse(argv[i + 1])) < 0) {
        cli_errorf("kill: '%s': not a signal", argv[i + 1]);
        return 125;
    }
    if (oci_kill(state_root(cli_root), argv[i], sig, all, &err) < 0)
        return fail_status(&err);
    return 0;
}

int cmd_delete(int argc, char **argv)
{
    bool force = false;
    const struct opt opts[] = {{"force", 'f', false, NULL, &force}, {NULL, 0, false, NULL, NULL}};
    struct amber_error err;
    int i;

    if (cli_wants_help(argc, argv)) {
        printf("Usage: amber delete [--force] ID\n\n"
               "Delete a container: its cgroup, its state, and (poststop) hooks. A running\n"
               "container needs --force, which kills it first; --force of a container that\n"
               "is already gone succeeds (as runc's). For amber's own detached sandboxes this\n"
               "is `amber rm`.\n");
        return 0;
    }
    i = one_id("delete", argc, argv, parse_opts("delete", argc, argv, opts));
    if (i < 0)
        return 125;
    {
        char id[65];
        if (state_resolve(state_root(cli_root), argv[i], id, &err) < 0) {
            /* --force of what is already gone succeeds, as runc's and
             * crun's do: an engine deletes again after a crash. */
            if (force && err.code == ENOENT)
                return 0;
            cli_error(&err);
            return 125;
        }
    }
    if (!cli_ref_is_oci(argv[i])) {
        char id[65];
        char *rm_argv[3] = {force ? (char *)"-f" : argv[i], argv[i], NULL};
        /* A racing delete may have removed it since: say so, as for any id. */
        if (state_resolve(state_root(cli_root), argv[i], id, &err) < 0) {
            cli_error(&err);
            return 125;
        }
        return cmd_rm(force ? 2 : 1, rm_argv);
    }
    if (oci_delete(state_root(cli_root), argv[i], force, &err) < 0) {
        if (force && err.code == ENOENT)
            return 0; /* a racing delete removed it meanwhile */
        return fail_status(&err);
    }
    return 0;
}

int cmd_oci_exec(int argc, char **argv)
{
    const char *process = NULL, *pid_file = NULL, *console = NULL, *cwd = NULL, *user = NULL;
    const char *preserve = NULL, *ignored = NULL;
    bool detach = false, tty = false, nnp = false;
    char **env = xcalloc(1, sizeof(char *));
    size_t nenv = 0;
    struct opt opts[] = {
        {"process", 'p', true, &process, NULL},
        {"pid-file", 0, true, &pid_file, NULL},
        {"console-socket", 0, true, &console, NULL},
        {"cwd", 0, true, &cwd, NULL},
        {"user", 'u', true, &user, NULL},
        {"env", 'e', true, NULL, NULL, &env, &nenv},
        {"preserve-fds", 0, true, &preserve, NULL},
        {"process-label", 0, true, &ignored, NULL},
        {"apparmor", 0, true, &ignored, NULL},
        {"detach", 'd', false, NULL, &detach},
        {"tty", 't', false, NULL, &tty},
        {"no-new-privs", 0, false, NULL, &nnp},
        {NULL, 0, false, NULL, NULL},
    };
    struct oci_exec_opts o;
    struct amber_error err;
    int i, rc;

    memset(&o, 0, sizeof(o));
    if (cli_wants_help(argc, argv)) {
        printf("Usage: amber exec [--process FILE] [--detach] [--pid-file FILE]\n"
               "       [--console-socket SOCKET] [--tty] [--cwd DIR] [--env NAME=VALUE]...\n"
               "       [--user UID[:GID]] [--preserve-fds N] [--no-new-privs] ID [COMMAND...]\n\n"
               "Run a process in a container made from a bundle: every namespace, the cgroup\n"
               "and the container's seccomp profile; the capabilities and user of --process\n"
               "(or of the container's own process).\n");
        strv_free(env);
        return 0;
    }
    i = parse_opts("exec", argc, argv, opts);
    if (i < 0) {
        strv_free(env);
        return 125;
    }
    if (ignored != NULL) {
        cli_errorf("exec: --process-label/--apparmor are not supported by amber");
        strv_free(env);
        return 125;
    }
    if (i >= argc) {
        cli_errorf("exec: expected a container id");
        strv_free(env);
        return 125;
    }
    if (parse_count("exec", "--preserve-fds", preserve, &o.preserve_fds) < 0) {
        strv_free(env);
        return 125;
    }
    o.root = state_root(cli_root);
    o.id = argv[i];
    o.process = process;
    o.args = argv + i + 1;
    o.env = env;
    o.cwd = cwd;
    o.user = user;
    o.tty = tty;
    o.pid_file = pid_file;
    o.console_socket = console;
    o.detach = detach;
    o.no_new_privs = nnp;
    if (cli_seal_exe() < 0) {
        strv_free(env);
        return 125;
    }
    rc = oci_exec(&o, &err);
    strv_free(env);
    if (rc < 0)
        return fail_status(&err);
    return rc;
}

int cmd_features(int argc, char **argv)
{
    char *doc;

    if (cli_wants_help(argc, argv)) {
        printf("Usage: amber features\n\nPrint what amber implements of the OCI runtime spec, "
               "as the features JSON document.\n");
        return 0;
    }
    doc = oci_features();
    printf("%s\n", doc);
    free(doc);
    return 0;
}

int cmd_spec(int argc, char **argv)
{
    const char *bundle = ".";
    bool rootless = false;
    const struct opt opts[] = {{"bundle", 'b', true, &bundle, NULL},
                               {"rootless", 0, false, NULL, &rootless},
                               {NULL, 0, false, NULL, NULL}};
    struct amber_error err;
    char *path, *doc;
    int i, rc;

    if (cli_wants_help(argc, argv)) {
        printf("Usage: amber spec [--bundle DIR] [--rootless]\n\n"
               "Write a hardened default config.json into DIR (default: the current directory):\n"
               "no capabilities, no_new_privs, a read-only root, masked /proc paths, a seccomp\n"
               "profile, every namespace (and a user namespace with --rootless). Refuses to\n"
               "overwrite an existing config.json.\n");
        return 0;
    }
    i = parse_opts("spec", argc, argv, opts);
    if (i < 0)
        return 125;
    if (i != argc) {
        cli_errorf("spec: unexpected argument '%s'", argv[i]);
        return 125;
    }
    path = xasprintf("%s/config.json", bundle);
    if (access(path, F_OK) == 0) {
        cli_errorf("spec: '%s' already exists", path);
        free(path);
        return 125;
    }
    doc = oci_default_config(rootless);
    rc = fs_write_atomic(path, doc, strlen(doc), 0644, &err);
    free(doc);
    free(path);
    if (rc < 0) {
        cli_error(&err);
        return 125;
    }
    return 0;
}
