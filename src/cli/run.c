/* amber run: fill an amber_spec from flags or a launch file, validate it,
 * run it on the chosen backend, report. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "spec/flags.h"

static int fail(struct amber_spec *spec, const struct amber_error *err)
{
    cli_error(err);
    spec_free(spec);
    return err->status ? err->status : 125;
}

int cmd_run(int argc, char **argv)
{
    struct amber_spec spec;
    struct run_meta meta;
    struct amber_result res;
    struct amber_error err;
    const struct amber_backend *backend;
    int code;

    amber_error_clear(&err);
    memset(&meta, 0, sizeof(meta));
    spec_init(&spec);
    if (spec_parse_run_args(&spec, argc, argv, &meta, &err) < 0)
        return fail(&spec, &err);
    if (meta.help) {
        help_run();
        spec_free(&spec);
        return 0;
    }
    if (cli_log_configure(meta.log_level, meta.log_format, &err) < 0)
        return fail(&spec, &err);
    if (meta.config != NULL) {
        if (meta.spec_flags > 0 || spec.argc > 0) {
            amber_error_set(&err, 0,
                            "--config '%s': cannot be combined with other run options or a command "
                            "line; put them in the file",
                            meta.config);
            return fail(&spec, &err);
        }
        if (spec_from_json_file(&spec, meta.config, &err) < 0)
            return fail(&spec, &err);
    }
    if (spec_validate(&spec, geteuid(), &err) < 0)
        return fail(&spec, &err);
    backend = amber_backend_find(spec.backend);
    if (backend == NULL) {
        amber_error_set(&err, 0, "--backend '%s': unknown backend", spec.backend);
        return fail(&spec, &err);
    }
    if (strcmp(backend->name, "process") == 0)
        cli_warn_loud("--backend process: the workload runs WITHOUT ANY ISOLATION "
                      "(no namespaces, no seccomp, no Landlock, no limits); development use only");

    amber_signals_block();
    if (amber_execute(backend, &spec, &res, &err) < 0)
        return fail(&spec, &err);

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
