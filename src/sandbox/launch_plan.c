/* A sandbox's launch plan as stored in its state directory (state.json
 * "exec"), for the processes `amber exec` puts into it: written once from
 * the plan the sandbox was started with, read back by exec and applied by
 * the same launch_process_steps(). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/launch.h"
#include "util/json.h"
#include "util/xalloc.h"

char *launch_plan_json(const struct sandbox_plan *plan)
{
    const struct amber_spec *spec = plan->spec;
    struct landlock_path rules[SANDBOX_MAX_RULES];
    size_t n = sandbox_landlock_rules(spec, rules, SANDBOX_MAX_RULES);
    json_t *o = json_object(), *ll = json_array(), *env = json_array(), *groups = json_array();
    json_t *ul = json_array();
    char *text;

    for (size_t i = 0; i < n && i < SANDBOX_MAX_RULES; i++)
        json_array_append_new(ll, json_pack("[si]", rules[i].path, (int)rules[i].access));
    for (size_t i = 0; i < spec->nenv; i++)
        json_array_append_new(env, json_string(spec->env[i]));
    for (int i = 0; i < plan->ngroups; i++)
        json_array_append_new(groups, json_integer(plan->groups[i]));
    for (size_t i = 0; i < spec->nulimits; i++)
        json_array_append_new(ul, json_pack("[iII]", spec->ulimits[i].resource,
                                            (json_int_t)spec->ulimits[i].soft,
                                            (json_int_t)spec->ulimits[i].hard));
    json_object_set_new(o, "uid", json_integer(plan->uid));
    json_object_set_new(o, "gid", json_integer(plan->gid));
    json_object_set_new(o, "groups", groups);
    json_object_set_new(o, "setgroups", json_boolean(plan->setgroups_ok));
    json_object_set_new(o, "workdir", json_string(spec_workdir(spec)));
    json_object_set_new(o, "workdir_given", json_boolean(spec->workdir != NULL));
    json_object_set_new(o, "env", env);
    json_object_set_new(o, "landlock", ll);
    json_object_set_new(o, "landlock_abi", json_integer(plan->landlock_abi));
    json_object_set_new(o, "allow_no_landlock", json_boolean(plan->allow_no_landlock));
    json_object_set_new(o, "allow_jit", json_boolean(spec->allow_jit));
    json_object_set_new(o, "ulimits", ul);
    json_object_set_new(o, "pids", json_integer((json_int_t)spec->pids));
    json_object_set_new(o, "userns", json_boolean(plan->userns));
    json_object_set_new(o, "memory_rlimit", json_integer((json_int_t)plan->memory_rlimit));
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

int launch_plan_read(const char *text, struct launch_plan_stored *out, struct amber_error *err)
{
    json_t *o = text != NULL ? json_loads(text, 0, NULL) : NULL;
    json_t *v;
    size_t i, n;

    memset(out, 0, sizeof(*out));
    spec_init(&out->limits);
    if (!json_is_object(o)) {
        json_decref(o);
        return amber_error_set(err, 0, "no launch plan in its state");
    }
    out->json = o;
    json_array_foreach(json_object_get(o, "ulimits"), i, v)
    {
        spec_set_ulimit(&out->limits, (int)json_integer_value(json_array_get(v, 0)),
                        (uint64_t)json_integer_value(json_array_get(v, 1)),
                        (uint64_t)json_integer_value(json_array_get(v, 2)));
    }
    out->limits.pids = (uint64_t)json_integer_value(json_object_get(o, "pids"));
    n = json_array_size(json_object_get(o, "env"));
    out->env = xcalloc(n + 1, sizeof(char *));
    for (i = 0; i < n; i++)
        out->env[i] = (char *)json_string_value(json_array_get(json_object_get(o, "env"), i));
    n = 0;
    json_array_foreach(json_object_get(o, "groups"), i, v)
    {
        if (n < SANDBOX_MAX_GROUPS)
            out->groups[n++] = (gid_t)json_integer_value(v);
    }
    out->p.ngroups = n;
    n = 0;
    json_array_foreach(json_object_get(o, "landlock"), i, v)
    {
        if (n < SANDBOX_MAX_RULES && json_is_string(json_array_get(v, 0))) {
            out->rules[n].path = json_string_value(json_array_get(v, 0));
            out->rules[n].access = (unsigned)json_integer_value(json_array_get(v, 1));
            n++;
        }
    }
    out->p.nrules = n;
    out->p.rules = out->rules;
    out->p.groups = out->groups;
    out->p.limits = &out->limits;
    out->p.userns = json_is_true(json_object_get(o, "userns"));
    out->p.uid = (uint32_t)json_integer_value(json_object_get(o, "uid"));
    out->p.gid = (uint32_t)json_integer_value(json_object_get(o, "gid"));
    out->p.setgroups_ok = json_is_true(json_object_get(o, "setgroups"));
    /* A plan an older amber stored has neither key: the groups are set
     * (where a user namespace denies setgroups, EPERM is taken as that),
     * and Landlock is applied whenever this kernel has it. */
    if (json_object_get(o, "setgroups") == NULL) {
        out->p.setgroups_ok = true;
        out->p.setgroups_eperm_ok = true;
    }
    out->p.workdir = json_string_value(json_object_get(o, "workdir"));
    out->p.workdir_given = json_is_true(json_object_get(o, "workdir_given"));
    out->p.landlock_abi = json_object_get(o, "landlock_abi") != NULL
                              ? (int)json_integer_value(json_object_get(o, "landlock_abi"))
                              : landlock_abi_version();
    out->p.allow_no_landlock = json_is_true(json_object_get(o, "allow_no_landlock"));
    out->p.allow_jit = json_is_true(json_object_get(o, "allow_jit"));
    out->memory_rlimit = (uint64_t)json_integer_value(json_object_get(o, "memory_rlimit"));
    if (json_object_get(o, "uid") == NULL || out->p.workdir == NULL) {
        launch_plan_stored_free(out);
        return amber_error_set(err, 0, "its launch plan is incomplete");
    }
    return 0;
}

void launch_plan_stored_free(struct launch_plan_stored *s)
{
    free(s->env);
    s->env = NULL;
    spec_free(&s->limits);
    json_decref(s->json);
    s->json = NULL;
}
