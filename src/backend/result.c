/* amber_result as JSON (--result-json). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "util/fs.h"
#include "util/json.h"

int amber_result_write_json(const struct amber_result *res, const char *path,
                            struct amber_error *err)
{
    json_t *o = json_object();
    char *text;
    int rc;

    json_object_set_new(o, "exit_code", json_integer(res->exit_code));
    json_object_set_new(o, "signal", res->signal ? json_integer(res->signal) : json_null());
    json_object_set_new(
        o, "signal_name",
        res->signal ? json_string(sigabbrev_np(res->signal) ? sigabbrev_np(res->signal) : "?")
                    : json_null());
    json_object_set_new(o, "oom", json_boolean(res->oom));
    json_object_set_new(o, "timed_out", json_boolean(res->timed_out));
    json_object_set_new(o, "exec_failed", json_boolean(res->exec_failed));
    json_object_set_new(o, "wall_time_s", json_real((double)res->wall_ns / 1e9));
    json_object_set_new(o, "user_time_s", json_real((double)res->user_ns / 1e9));
    json_object_set_new(o, "sys_time_s", json_real((double)res->sys_ns / 1e9));
    json_object_set_new(o, "peak_memory_bytes", json_integer((json_int_t)res->peak_memory));
    json_object_set_new(o, "backend", json_string(res->backend ? res->backend : "?"));
    json_object_set_new(o, "mode", json_string(spec_mode_name(res->mode)));
    json_object_set_new(o, "spec_digest", json_string(res->spec_digest));
    json_object_set_new(o, "message", res->message[0] ? json_text(res->message) : json_null());
    {
        /* What was enforced, and how: {"memory": {"value": N, "by":
         * "cgroup"}, "cpus": null, ...}; null when it was not. */
        const struct {
            const char *key;
            const struct amber_applied_limit *l;
        } limits[] = {{"memory", &res->memory}, {"cpus", &res->cpus}, {"pids", &res->pids}};
        json_t *lo = json_object();
        for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
            const struct amber_applied_limit *l = limits[i].l;
            json_object_set_new(lo, limits[i].key,
                                l->by != AMBER_ENFORCE_NONE
                                    ? json_pack("{s:I,s:s}", "value", (json_int_t)l->value, "by",
                                                amber_enforce_name(l->by))
                                    : json_null());
        }
        json_object_set_new(o, "limits", lo);
    }
    text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
    json_decref(o);
    if (text == NULL)
        return amber_error_set(err, 0, "--result-json: cannot encode the result");
    {
        size_t n = strlen(text);
        char *withnl = realloc(text, n + 2);
        if (withnl == NULL) {
            free(text);
            return amber_error_set(err, ENOMEM, "--result-json");
        }
        text = withnl;
        text[n] = '\n';
        text[n + 1] = '\0';
    }
    rc = fs_write_atomic(path, text, strlen(text), 0644, err);
    free(text);
    if (rc < 0)
        return amber_error_prefix(err, "--result-json");
    return 0;
}

void amber_result_from_wait(struct amber_result *res, int wstatus, const struct rusage *ru)
{
    if (WIFEXITED(wstatus)) {
        res->exit_code = WEXITSTATUS(wstatus);
        res->signal = 0;
    } else if (WIFSIGNALED(wstatus)) {
        res->signal = WTERMSIG(wstatus);
        res->exit_code = 128 + res->signal;
        snprintf(res->message, sizeof(res->message), "the workload was killed by signal %d (SIG%s)",
                 res->signal, sigabbrev_np(res->signal) ? sigabbrev_np(res->signal) : "?");
    }
    if (ru != NULL) {
        res->user_ns = (uint64_t)ru->ru_utime.tv_sec * 1000000000ULL +
                       (uint64_t)ru->ru_utime.tv_usec * 1000ULL;
        res->sys_ns = (uint64_t)ru->ru_stime.tv_sec * 1000000000ULL +
                      (uint64_t)ru->ru_stime.tv_usec * 1000ULL;
        if (res->peak_memory == 0)
            res->peak_memory = (uint64_t)ru->ru_maxrss * 1024ULL;
    }
}
