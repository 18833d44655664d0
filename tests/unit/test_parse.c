/* Unit tests: size, duration, number, cpu and user parsing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "util/parse.h"
#include "util/passwd.h"

static void sizes(void)
{
    uint64_t v = 0;

    CHECK(parse_size("64M", &v) == 0 && v == 64ULL << 20);
    CHECK(parse_size("64m", &v) == 0 && v == 64ULL << 20);
    CHECK(parse_size("1G", &v) == 0 && v == 1ULL << 30);
    CHECK(parse_size("2GiB", &v) == 0 && v == 2ULL << 30);
    CHECK(parse_size("512k", &v) == 0 && v == 512ULL << 10);
    CHECK(parse_size("1.5G", &v) == 0 && v == 3ULL << 29);
    CHECK(parse_size("1048576", &v) == 0 && v == 1048576);
    CHECK(parse_size("100b", &v) == 0 && v == 100);
    CHECK(parse_size("", &v) < 0);
    CHECK(parse_size("12Q", &v) < 0);
    CHECK(parse_size("M", &v) < 0);
    CHECK(parse_size("-5M", &v) < 0);
    CHECK(parse_size("0", &v) < 0);
    CHECK(parse_size("1.G", &v) < 0);
    CHECK(parse_size("99999999999999999999", &v) < 0);
    CHECK(parse_size("20000000T", &v) < 0);
    CHECK(parse_size(NULL, &v) < 0);
    CHECK(parse_size("0.999999999t", &v) < 0); /* not a whole number of bytes */
    CHECK(parse_size("1.1k", &v) < 0);
    CHECK(parse_size("1.25k", &v) == 0 && v == 1280);
    CHECK(parse_size("1.50G", &v) == 0 && v == 3ULL << 29);
    CHECK(parse_size("16777215.999999999999t", &v) < 0);
    CHECK(parse_size("16777215t", &v) == 0 && v == 16777215ULL << 40);
    CHECK(parse_size("16777216t", &v) < 0); /* 2^64 */
}

static void durations(void)
{
    uint64_t v = 0;

    CHECK(parse_duration("10", &v) == 0 && v == 10000000000ULL);
    CHECK(parse_duration("1.5", &v) == 0 && v == 1500000000ULL);
    CHECK(parse_duration("500ms", &v) == 0 && v == 500000000ULL);
    CHECK(parse_duration("2m", &v) == 0 && v == 120000000000ULL);
    CHECK(parse_duration("1h", &v) == 0 && v == 3600000000000ULL);
    CHECK(parse_duration("3s", &v) == 0 && v == 3000000000ULL);
    CHECK(parse_duration("0", &v) < 0);
    CHECK(parse_duration("abc", &v) < 0);
    CHECK(parse_duration("5x", &v) < 0);
    CHECK(parse_duration("-1", &v) < 0);
    /* Exact or refused: no fraction that overflows, wraps or rounds. */
    CHECK(parse_duration("0.999999999m", &v) == 0 && v == 59999999940ULL);
    CHECK(parse_duration("0.333333333h", &v) == 0 && v == 1199999998800ULL);
    CHECK(parse_duration("18446744073.9", &v) < 0);
    CHECK(parse_duration("18446744073", &v) == 0 && v == 18446744073000000000ULL);
    CHECK(parse_duration("18446744074", &v) < 0);
    CHECK(parse_duration("0.0000000001", &v) < 0); /* a tenth of a nanosecond */
    CHECK(parse_duration("1.500000000000000000000000", &v) == 0 && v == 1500000000ULL);
    CHECK(parse_duration("1.5000000000000000000000001", &v) < 0);
}

static void numbers(void)
{
    uint64_t v = 0;
    uint32_t uid = 0, gid = 0;
    bool has_gid = false;

    CHECK(parse_uint("42", 100, &v) == 0 && v == 42);
    CHECK(parse_uint("101", 100, &v) < 0);
    CHECK(parse_uint("4x", 100, &v) < 0);
    CHECK(parse_uint("", 100, &v) < 0);
    CHECK(parse_uint("+4", 100, &v) < 0);
    CHECK(parse_cpus("0.5", &v) == 0 && v == 500);
    CHECK(parse_cpus("2", &v) == 0 && v == 2000);
    CHECK(parse_cpus("0", &v) < 0);
    CHECK(parse_cpus("0.001", &v) == 0 && v == 1);
    CHECK(parse_cpus("0.3333", &v) < 0); /* finer than a milli-CPU */
    CHECK(parse_cpus("abc", &v) < 0);
    CHECK(parse_cpus("1.5x", &v) < 0);
    CHECK(parse_user("1000", &uid, &gid, &has_gid) == 0 && uid == 1000 && !has_gid);
    CHECK(parse_user("1000:50", &uid, &gid, &has_gid) == 0 && uid == 1000 && gid == 50 && has_gid);
    CHECK(parse_user("root", &uid, &gid, &has_gid) < 0);
    CHECK(parse_user("1:", &uid, &gid, &has_gid) < 0);
    CHECK(parse_user("4294967295", &uid, &gid, &has_gid) < 0);
}

/* passwd_field: the field of the uid's line; malformed lines and a file
 * that is not a regular one (a FIFO would block) read as no match. */
static void passwd(void)
{
    char dir[] = "/tmp/amber-passwd-XXXXXX";
    char path[64], fifo[64], out[64];
    FILE *f;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/passwd", dir);
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    fputs("broken line\n:x:\nroot:x:0:0:root:/root:/bin/sh\nu:x:1000x:1::/bad:/bin/sh\n"
          "u:x:1000:1000::/home/u:/bin/sh\nshort:x:7\nsigned:x:+3:0::/plus:/bin/sh\n",
          f);
    fclose(f);
    CHECK(passwd_field(path, 0, 5, out, sizeof(out)) == 1 && strcmp(out, "/root") == 0);
    CHECK(passwd_field(path, 1000, 5, out, sizeof(out)) == 1 && strcmp(out, "/home/u") == 0);
    CHECK(passwd_field(path, 1000, 0, out, sizeof(out)) == 1 && strcmp(out, "u") == 0);
    CHECK(passwd_field(path, 7, 5, out, sizeof(out)) == 0); /* the line has no home */
    CHECK(passwd_field(path, 7, 0, out, sizeof(out)) == 1 && strcmp(out, "short") == 0);
    CHECK(passwd_field(path, 4242, 5, out, sizeof(out)) == 0);
    CHECK(passwd_field(path, 3, 5, out, sizeof(out)) == 0); /* "+3" is no uid */
    CHECK(passwd_field(path, 1000, 5, out, 4) == 0);        /* does not fit: no match, not cut */
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(passwd_field(fifo, 0, 5, out, sizeof(out)) == 0);
    CHECK(passwd_field("/nonexistent/passwd", 0, 5, out, sizeof(out)) == 0);
    unlink(fifo);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    passwd();
    sizes();
    durations();
    numbers();
    return test_finish("parse");
}
