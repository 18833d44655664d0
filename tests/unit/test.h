/* A minimal unit-test harness: CHECK records a failure and goes on; the
 * test binary exits 1 if any check failed. Output is TAP-like. */
#ifndef AMBER_TEST_H
#define AMBER_TEST_H

#include <stdio.h>
#include <string.h>

static int test_failures;
static int test_checks;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        test_checks++;                                                                             \
        if (!(cond)) {                                                                             \
            test_failures++;                                                                       \
            fprintf(stderr, "not ok: %s:%d: %s\n", __FILE__, __LINE__, #cond);                     \
        }                                                                                          \
    } while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                                            \
    do {                                                                                           \
        test_checks++;                                                                             \
        if (strstr((hay), (needle)) == NULL) {                                                     \
            test_failures++;                                                                       \
            fprintf(stderr, "not ok: %s:%d: '%s' does not contain '%s'\n", __FILE__, __LINE__,     \
                    (hay), (needle));                                                              \
        }                                                                                          \
    } while (0)

static inline int test_finish(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
    return test_failures ? 1 : 0;
}

#endif
