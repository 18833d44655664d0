/* amber run: fill an amber_spec from flags or a launch file, validate it,
 * run it on the chosen backend, report. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "container/supervisor.h"
#include "spec/flags.h"
#include "util/parse.h"
#include "util/text.h"

static int fail(struct amber_spec *spec, const struct amber_error *err)
{
    cli_error(err);
    spec_free(spec);
    return err->status ? err->status : 125;
}

static int run_main(int argc, char **argv, bool create);

int cmd_run(int argc, char **argv)
{
    if (cli_oci_create_args(argc, argv))
        return cmd_oci_create(argc, argv, true);
    return run_main(argc, argv, false);
}

/* amber create: `run -d` whose workload waits for `amber start`. */
int cmd_create(int argc, char **argv)
{
    if (cli_oci_create_args(argc, argv))
        return cmd_oci_create(argc, argv, false);
    return run_main(argc, argv, true);
}

static int run_main(int argc, char **argv, bool create)
{
    struct amber_spec spec;
    struct run_meta meta;
    struct amber_result res;
    struct amber_error err;
    const struct amber_backend *backend;
    struct cli_term term;
    int code, rc;

    amber_error_clear(&err);
    memset(&meta, 0, sizeof(meta));
    spec_init(&spec);
    /* Logging options first, so that even errors in the other options are
     * reported in the requested format. */
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *level = NULL, *format = NULL;
        if (strncmp(argv[i], "--log-level=", 12) == 0)
            level = argv[i] + 12;
        else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc)
            level = argv[i + 1];
        else if (strncmp(argv[i], "--log-format=", 13) == 0)
            format = argv[i] + 13;
        else if (strcmp(argv[i], "--log-format") == 0 && i + 1 < argc)
            format = argv[i + 1];
        if ((level || format) && cli_log_configure(level, format, &err) < 0)
            return fail(&spec, &err);
    }
    if (spec_parse_run_args(&spec, argc, argv, &meta, &err) < 0)
        return fail(&spec, &err);
    if (meta.help) {
        if (create)
            printf("Usage: amber create [--name NAME] [RUN OPTIONS] [--] COMMAND [ARG...]\n\n"
                   "Build a detached sandbox like `amber run -d` but do not start COMMAND until\n"
                   "`amber start ID`. Prints the id. The options are those of amber run.\n");
        else
            help_run();
        spec_free(&spec);
        return 0;
    }
    if (create) {
        meta.detach = true;
        spec.hold = true;
    }
    if (cli_log_configure(meta.log_level, meta.log_format, &err) < 0)
        return fail(&spec, &err);
    if (meta.config != NULL || meta.config_fd != NULL) {
        const char *what = meta.config != NULL ? "--config" : "--config-fd";
        uint64_t fd;

        if (meta.config != NULL && meta.config_fd != NULL) {
            amber_error_set(&err, 0, "--config and --config-fd: give one launch file");
            return fail(&spec, &err);
        }
        if (meta.spec_flags > 0 || spec.argc > 0) {
            amber_error_set(&err, 0,
                            "%s: cannot be combined with other run options or a command line; "
                            "put them in the file",
                            what);
            return fail(&spec, &err);
        }
        if (meta.config != NULL) {
            if (spec_from_config_file(&spec, meta.config, &err) < 0)
                return fail(&spec, &err);
        } else {
            if (parse_uint(meta.config_fd, 1 << 20, &fd) < 0) {
                amber_error_set(&err, 0, "--config-fd '%s': expected a file descriptor number",
                                meta.config_fd);
                return fail(&spec, &err);
            }
            if (spec_from_config_fd(&spec, (int)fd, &err) < 0)
                return fail(&spec, &err);
        }
    }
    if (spec_validate(&spec, geteuid(), &err) < 0)
        return fail(&spec, &err);
    backend = amber_backend_find(spec.backend); /* spec_validate() knows it */
    if (!backend->caps->isolates)
        cli_warn_loud("--backend %s: the workload runs WITHOUT ANY ISOLATION (no namespaces, no "
                      "seccomp, no Landlock, no cgroup limits); development use only",
                      backend->name);

    if (meta.name != NULL && !meta.detach) {
        amber_error_set(&err, 0, "--name: only with -d/--detach");
        return fail(&spec, &err);
    }
    if (meta.detach) {
        char id[65];
        if (spec.tty || spec.interactive) {
            amber_error_set(&err, 0, "-d: cannot be combined with -t or -i (use amber exec)");
            return fail(&spec, &err);
        }
        if (!backend->caps->detach) {
            amber_error_set(&err, 0, "-d: the %s backend cannot run detached", backend->name);
            return fail(&spec, &err);
        }
        spec.freezable = true;
        spec.enterable = true;
        if (supervisor_start(state_root(cli_root), backend, &spec, meta.name, id, &err) < 0)
            return fail(&spec, &err);
        printf("%s\n", id);
        spec_free(&spec);
        return 0;
    }

    amber_signals_block();
    if (!spec.tty)
        cli_term_save(&term);
    rc = amber_execute(backend, &spec, NULL, &res, &err);
    if (!spec.tty)
        cli_term_restore(&term);
    if (rc < 0) {
        /* Still leave a result for automation: exit 125 and the reason. */
        if (spec.result_json != NULL) {
            struct amber_error werr;
            res.exit_code = err.status ? err.status : 125;
            text_copy(res.message, sizeof(res.message), err.msg);
            if (amber_result_write_json(&res, spec.result_json, &werr) < 0)
                cli_error(&werr);
        }
        return fail(&spec, &err);
    }

    if (res.exec_failed || res.oom || res.timed_out)
        cli_errorf("%s", res.message);
    else if (res.signal)
        log_info("%s", res.message);
    code = res.exit_code;
    if (spec.result_json != NULL && amber_result_write_json(&res, spec.result_json, &err) < 0) {
        cli_error(&err);
        code = 125;
    }
    spec_free(&spec);
    return code;
}
