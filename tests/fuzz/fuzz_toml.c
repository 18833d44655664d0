/* The TOML parser (util/toml.c) and its conversion to JSON. Oracle: a
 * document that parses converts, and the conversion is deterministic. */
#include "fuzz.h"
#include "util/toml.h"

FUZZ_QUIET_INIT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct toml_error err;
    struct toml_value *v = toml_parse((const char *)data, size, &err);
    json_t *a, *b;
    char *sa, *sb;

    if (v == NULL)
        return 0;
    a = toml_to_json(v);
    b = toml_to_json(v);
    toml_free(v);
    /* Keys with a NUL and strings of bytes jansson refuses may fail to
     * convert; both conversions must then agree. */
    FUZZ_ASSERT((a == NULL) == (b == NULL));
    if (a != NULL) {
        sa = json_dumps(a, JSON_SORT_KEYS | JSON_ENCODE_ANY);
        sb = json_dumps(b, JSON_SORT_KEYS | JSON_ENCODE_ANY);
        FUZZ_ASSERT(sa != NULL && sb != NULL && strcmp(sa, sb) == 0);
        free(sa);
        free(sb);
    }
    json_decref(a);
    json_decref(b);
    return 0;
}
