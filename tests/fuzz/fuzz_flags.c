/* `amber run` flags (spec/flags.c) and the number parsers under them
 * (util/parse.c). The input is split at NUL bytes into an argv. Oracle for
 * sizes and durations: a value is accepted exactly when it is a whole,
 * non-zero number of bytes or nanoseconds that fits in 64 bits, and then it
 * is that number (computed here independently, in 128-bit arithmetic). */
#include <ctype.h>
#include <fcntl.h>
#include <stdbool.h>
#include <strings.h>
#include <unistd.h>

#include "fuzz.h"
#include "spec/flags.h"
#include "spec/spec.h"
#include "util/parse.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    int fd = open("/dev/null", O_RDONLY);

    (void)argc;
    (void)argv;
    fuzz_quiet();
    /* --config /dev/stdin and friends read nothing, never block. */
    if (fd < 0 || dup2(fd, 0) < 0)
        abort();
    close(fd);
    return 0;
}

struct unit {
    const char *suffix;
    uint64_t mult;
};

static const struct unit sizes[] = {
    {"", 1},
    {"b", 1},
    {"k", 1ULL << 10},
    {"kb", 1ULL << 10},
    {"kib", 1ULL << 10},
    {"m", 1ULL << 20},
    {"mb", 1ULL << 20},
    {"mib", 1ULL << 20},
    {"g", 1ULL << 30},
    {"gb", 1ULL << 30},
    {"gib", 1ULL << 30},
    {"t", 1ULL << 40},
    {"tb", 1ULL << 40},
    {"tib", 1ULL << 40},
};
static const struct unit durations[] = {
    {"", 1000000000ULL}, {"s", 1000000000ULL},  {"ms", 1000000ULL},
    {"us", 1000ULL},     {"m", 60000000000ULL}, {"h", 3600000000000ULL},
};

/* The expected value of s in the given units: 1 and *out, 0 when s must be
 * refused, -1 when the oracle cannot tell (too many digits for 128 bits). */
static int expect(const char *s, const struct unit *u, size_t nu, bool nocase, uint64_t *out)
{
    unsigned __int128 m = 0, div = 1, v;
    size_t digits = 0;
    const char *p = s;

    if (!isdigit((unsigned char)*p))
        return 0;
    for (; isdigit((unsigned char)*p); p++, digits++)
        m = m * 10 + (unsigned)(*p - '0');
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return 0;
        for (; isdigit((unsigned char)*p); p++, digits++) {
            m = m * 10 + (unsigned)(*p - '0');
            div *= 10;
        }
    }
    if (digits > 19)
        return -1;
    for (size_t i = 0; i < nu; i++) {
        if ((nocase ? strcasecmp(p, u[i].suffix) : strcmp(p, u[i].suffix)) != 0)
            continue;
        v = m * u[i].mult;
        if (v % div != 0 || v / div == 0 || v / div > UINT64_MAX)
            return 0;
        *out = (uint64_t)(v / div);
        return 1;
    }
    return 0;
}

static void check(const char *s)
{
    uint64_t got, want;
    int e;

    e = expect(s, sizes, sizeof(sizes) / sizeof(sizes[0]), true, &want);
    if (parse_size(s, &got) == 0)
        FUZZ_ASSERT(e != 0 && (e < 0 || got == want));
    else
        FUZZ_ASSERT(e <= 0);
    e = expect(s, durations, sizeof(durations) / sizeof(durations[0]), false, &want);
    if (parse_duration(s, &got) == 0)
        FUZZ_ASSERT(e != 0 && (e < 0 || got == want));
    else
        FUZZ_ASSERT(e <= 0);
    if (parse_uint(s, UINT64_MAX, &got) == 0) {
        char back[32];
        snprintf(back, sizeof(back), "%llu", (unsigned long long)got);
        /* leading zeros aside, the text is the number */
        const char *t = s;
        while (*t == '0' && t[1] != '\0')
            t++;
        FUZZ_ASSERT(strcmp(back, t) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    char *argv[65];
    int argc = 0;
    struct amber_spec spec;
    struct run_meta meta;
    struct amber_error err;

    for (size_t i = 0; i <= size && argc < 64;) {
        /* Flags that read a descriptor (--env-fd, --config-fd) would read
         * the fuzzer's own: left out. */
        if (strstr(text + i, "-fd") == NULL)
            argv[argc++] = text + i;
        i += strlen(text + i) + 1;
    }
    argv[argc] = NULL;
    for (int i = 0; i < argc; i++)
        check(argv[i]);
    memset(&meta, 0, sizeof(meta));
    spec_init(&spec);
    (void)spec_parse_run_args(&spec, argc, argv, &meta, &err);
    spec_free(&spec);
    free(text);
    return 0;
}
