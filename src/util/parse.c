#include "util/parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (s == NULL || !isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Parse "<digits>[.<digits>]" times `scale` into *out, leaving *end at the
 * first other character. The value must be exact: a result that is not a
 * whole number of the unit (0.3333 CPUs in milli-CPUs, 1.1k bytes) or
 * that does not fit in 64 bits is refused, never rounded or wrapped.
 * scale 0: only check the syntax and find *end. */
static int parse_decimal(const char *s, uint64_t scale, uint64_t *out, const char **end)
{
    unsigned __int128 ip = 0, frac = 0, div = 1, v;
    const char *p = s;

    if (!isdigit((unsigned char)*p))
        return -1;
    for (; isdigit((unsigned char)*p); p++) {
        ip = ip * 10 + (unsigned)(*p - '0');
        if (ip > UINT64_MAX)
            return -1;
    }
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        for (; isdigit((unsigned char)*p); p++) {
            /* 10^19 still leaves frac * scale (scale < 2^64) in 128 bits;
             * further digits must be zeros. */
            if (div >= 10000000000000000000ULL) {
                if (*p != '0')
                    return -1;
                continue;
            }
            frac = frac * 10 + (unsigned)(*p - '0');
            div *= 10;
        }
    }
    *end = p;
    if (scale == 0)
        return 0;
    if ((frac * scale) % div != 0)
        return -1; /* not a whole number of the unit */
    v = ip * scale;
    if (ip != 0 && v / ip != scale)
        return -1;
    v += (frac * scale) / div;
    if (v > UINT64_MAX)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

struct unit {
    const char *suffix;
    uint64_t mult;
};

/* A positive decimal number followed by one of the units' suffixes. The
 * suffix is found first (at scale 1), then the number is parsed again in
 * that unit so that "1.5G" is exact; overflow is an error. */
static int parse_with_units(const char *s, const struct unit *units, size_t n, bool nocase,
                            uint64_t *out)
{
    const char *end;
    uint64_t v;

    if (s == NULL || parse_decimal(s, 0, &v, &end) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if ((nocase ? strcasecmp(end, units[i].suffix) : strcmp(end, units[i].suffix)) != 0)
            continue;
        if (parse_decimal(s, units[i].mult, &v, &end) < 0 || v == 0)
            return -1;
        *out = v;
        return 0;
    }
    return -1;
}

int parse_size(const char *s, uint64_t *out)
{
    static const struct unit units[] = {
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
    return parse_with_units(s, units, sizeof(units) / sizeof(units[0]), true, out);
}

int parse_duration(const char *s, uint64_t *out_ns)
{
    static const struct unit units[] = {
        {"", 1000000000ULL}, {"s", 1000000000ULL},  {"ms", 1000000ULL},
        {"us", 1000ULL},     {"m", 60000000000ULL}, {"h", 3600000000000ULL},
    };
    return parse_with_units(s, units, sizeof(units) / sizeof(units[0]), false, out_ns);
}

int parse_cpus(const char *s, uint64_t *out_milli)
{
    const char *end;
    uint64_t v;

    if (s == NULL || parse_decimal(s, 1000, &v, &end) < 0 || *end != '\0' || v == 0 ||
        v > 1024 * 1000)
        return -1;
    *out_milli = v;
    return 0;
}

int parse_user(const char *s, uint32_t *uid, uint32_t *gid, bool *has_gid)
{
    char buf[64];
    char *colon;
    uint64_t v;

    if (s == NULL || strlen(s) >= sizeof(buf))
        return -1;
    strcpy(buf, s);
    colon = strchr(buf, ':');
    if (colon != NULL)
        *colon = '\0';
    if (parse_uint(buf, 0xfffffffeULL, &v) < 0)
        return -1;
    *uid = (uint32_t)v;
    *has_gid = false;
    if (colon != NULL) {
        if (parse_uint(colon + 1, 0xfffffffeULL, &v) < 0)
            return -1;
        *gid = (uint32_t)v;
        *has_gid = true;
    }
    return 0;
}
