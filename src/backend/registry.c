/* Backend lookup by name, and the backends' capability descriptors. */
#include <stdio.h>
#include <string.h>

#include "backend/backend.h"

static const struct amber_backend *const backends[] = {
    &amber_backend_native,
    &amber_backend_process,
};

const struct amber_backend *amber_backend_find(const char *name)
{
    for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i];
    }
    return NULL;
}

const struct amber_backend *amber_backend_at(size_t i)
{
    return i < sizeof(backends) / sizeof(backends[0]) ? backends[i] : NULL;
}

const struct amber_backend_caps *amber_backend_caps(const char *name)
{
    const struct amber_backend *b = name != NULL ? amber_backend_find(name) : NULL;
    return b != NULL ? b->caps : NULL;
}

const char *amber_backend_default(void)
{
    return backends[0]->name;
}

const char *amber_backend_names(void)
{
    static char names[128];

    if (names[0] == '\0') {
        size_t w = 0;
        for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
            w += (size_t)snprintf(names + w, sizeof(names) - w, "%s%s", i ? ", " : "",
                                  backends[i]->name);
    }
    return names;
}

const char *amber_enforce_name(enum amber_enforce e)
{
    switch (e) {
    case AMBER_ENFORCE_RLIMIT:
        return "rlimit";
    case AMBER_ENFORCE_CGROUP:
        return "cgroup";
    case AMBER_ENFORCE_NONE:
        break;
    }
    return NULL;
}
