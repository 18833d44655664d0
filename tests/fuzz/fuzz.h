/* Shared by the libFuzzer targets: each is built with clang
 * -fsanitize=fuzzer,address,undefined (meson -Dfuzz=true) and run by
 * scripts/fuzz for a few seconds per target in CI. A target frees all it
 * gets (leaks are failures) and aborts when an oracle disagrees. */
#ifndef AMBER_FUZZ_H
#define AMBER_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "oracle failed: %s:%d: %s\n", __FILE__, __LINE__, #cond);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The input as a NUL-terminated string (malloc'd). */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Warnings from the code under test are noise here. */
static inline void fuzz_quiet(void)
{
    amber_log_set_sink(NULL, NULL);
}

/* The initializer of a target that needs nothing but quiet. */
#define FUZZ_QUIET_INIT                                                                            \
    int LLVMFuzzerInitialize(int *argc, char ***argv)                                              \
    {                                                                                              \
        (void)argc;                                                                                \
        (void)argv;                                                                                \
        fuzz_quiet();                                                                              \
        return 0;                                                                                  \
    }

#endif
