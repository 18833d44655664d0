/* Launch files (spec/config.c): JSON or TOML into an amber_spec, then its
 * digest. Oracle: the same text gives the same spec digest twice. */
#include "fuzz.h"
#include "spec/spec.h"

FUZZ_QUIET_INIT

static int load(const uint8_t *data, size_t size, char digest[65])
{
    struct amber_spec spec;
    struct amber_error err;
    int rc;

    spec_init(&spec);
    rc = spec_from_config_text(&spec, (const char *)data, size, "fuzz", &err);
    if (rc == 0)
        rc = spec_digest(&spec, digest, &err);
    spec_free(&spec);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char a[65], b[65];
    int ra = load(data, size, a), rb = load(data, size, b);

    FUZZ_ASSERT(ra == rb);
    if (ra == 0)
        FUZZ_ASSERT(strcmp(a, b) == 0);
    return 0;
}
