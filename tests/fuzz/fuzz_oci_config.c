/* OCI config.json (oci/config.c), whole documents and `exec --process`
 * process objects. Oracle: a parse that fails leaves nothing to free but
 * what spec_free releases (leak check). */
#include "fuzz.h"
#include "oci/oci.h"
#include "spec/spec.h"

FUZZ_QUIET_INIT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int process_only = 0; process_only < 2; process_only++) {
        struct amber_spec spec;
        struct amber_error err;

        spec_init(&spec);
        (void)oci_config_parse((const char *)data, size, &spec, process_only, &err);
        spec_free(&spec);
    }
    return 0;
}
