/* Backend lookup by name. */
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
