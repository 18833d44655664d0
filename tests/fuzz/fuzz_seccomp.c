/* OCI linux.seccomp profiles (oci/seccomp.c) compiled with libseccomp.
 * Oracle: a compiled program is non-empty and ends in a return. */
#include <linux/filter.h>

#include "fuzz.h"
#include "oci/seccomp.h"

FUZZ_QUIET_INIT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    struct seccomp_program prog;
    struct amber_error err;

    if (j == NULL)
        return 0;
    if (oci_seccomp_compile(j, &prog, &err) == 0) {
        FUZZ_ASSERT(prog.len > 0 && prog.insns != NULL);
        FUZZ_ASSERT(BPF_CLASS(prog.insns[prog.len - 1].code) == BPF_RET);
        seccomp_program_free(&prog);
    } else {
        FUZZ_ASSERT(prog.insns == NULL && prog.len == 0);
    }
    json_decref(j);
    return 0;
}
