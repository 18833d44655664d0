/* Pure parsers for user-supplied numbers: no side effects, unit-tested. */
#ifndef AMBER_PARSE_H
#define AMBER_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/* "64M", "1G", "512k", "1048576", "2GiB": bytes (binary units). */
int parse_size(const char *s, uint64_t *out);
/* "10", "1.5", "500ms", "2m", "1h": nanoseconds. A bare number is seconds. */
int parse_duration(const char *s, uint64_t *out_ns);
/* Decimal unsigned integer that fits in max. */
int parse_uint(const char *s, uint64_t max, uint64_t *out);
/* "0.5", "2": CPUs in thousandths ("millicpus"). */
int parse_cpus(const char *s, uint64_t *out_milli);
/* "UID" or "UID:GID". */
int parse_user(const char *s, uint32_t *uid, uint32_t *gid, bool *has_gid);

#endif
