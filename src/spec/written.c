#include "spec/written.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/xalloc.h"

static void hooks_free(struct amber_hook_cmd *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(h[i].path);
        strv_free(h[i].args);
        strv_free(h[i].env);
    }
    free(h);
}

void written_free(struct amber_written *w)
{
    free(w->bundle);
    free(w->id);
    for (size_t i = 0; i < w->nmounts; i++) {
        free(w->mounts[i].dst);
        free(w->mounts[i].src);
        free(w->mounts[i].type);
        free(w->mounts[i].data);
    }
    free(w->mounts);
    for (int i = 0; i < AMBER_NS_COUNT; i++)
        free(w->ns_path[i]);
    free(w->domainname);
    strv_free(w->masked);
    strv_free(w->readonly);
    strv_free(w->sysctl);
    for (size_t i = 0; i < w->ndevices; i++)
        free(w->devices[i].path);
    free(w->devices);
    free(w->devrules);
    for (int k = 0; k < AMBER_HOOK_COUNT; k++)
        hooks_free(w->hooks[k], w->nhooks[k]);
    free(w->cgroups_path);
    free(w->res.cpuset_cpus);
    free(w->res.cpuset_mems);
    if (w->has_seccomp && w->seccomp.owned)
        free(w->seccomp.insns);
    free(w->annotations);
    free(w->hold_fifo);
    free(w->console_socket);
    memset(w, 0, sizeof(*w));
}

char *written_state_doc(const char *id, const char *status, pid_t pid, const char *bundle,
                        const char *annotations, double created)
{
    json_t *o = json_object();
    json_t *a = annotations != NULL ? json_loads(annotations, 0, NULL) : NULL;
    char ts[64] = "";
    char *text;

    if (created > 0) {
        time_t t = (time_t)created;
        struct tm tm;
        gmtime_r(&t, &tm);
        size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(ts + n, sizeof(ts) - n, ".%09ldZ", (long)((created - (double)t) * 1e9));
    }
    json_object_set_new(o, "ociVersion", json_string(AMBER_OCI_VERSION));
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "pid", json_integer(pid));
    json_object_set_new(o, "bundle", json_string(bundle != NULL ? bundle : ""));
    json_object_set_new(o, "annotations", a != NULL ? a : json_object());
    if (ts[0] != '\0')
        json_object_set_new(o, "created", json_string(ts));
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}
