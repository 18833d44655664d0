/* Unit tests: tree streams. A send -> recv round trip through a pipe, the
 * filters, what a sender skips, hostile streams crafted by hand (they must
 * be refused without writing outside the destination) and the copy-in-out
 * sync-back (tree_apply) against a host tree changed behind its back. */
#include <fcntl.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/resolve.h"
#include "tree/tree.h"
#include "test.h"

/* ---- helpers ---- */

static const char *pj(const char *a, const char *b)
{
    static char bufs[8][4096];
    static int n;
    char *s = bufs[n++ % 8];

    snprintf(s, 4096, "%s/%s", a, b);
    return s;
}

static void mkfile(const char *dir, const char *rel, const char *data, mode_t mode)
{
    const char *p = pj(dir, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(write(fd, data, strlen(data)) == (ssize_t)strlen(data));
    CHECK(fchmod(fd, mode) == 0);
    close(fd);
}

static void mkdirm(const char *dir, const char *rel, mode_t mode)
{
    const char *p = pj(dir, rel);

    CHECK(mkdir(p, 0700) == 0);
    CHECK(chmod(p, mode) == 0);
}

static void mklink(const char *dir, const char *rel, const char *target)
{
    CHECK(symlink(target, pj(dir, rel)) == 0);
}

/* Content of dir/rel, "" if unreadable (static buffer). */
static const char *content(const char *dir, const char *rel)
{
    static char buf[8192];
    int fd = open(pj(dir, rel), O_RDONLY | O_NOFOLLOW);
    ssize_t n;

    buf[0] = '\0';
    if (fd < 0)
        return "<missing>";
    n = read(fd, buf, sizeof(buf) - 1);
    buf[n < 0 ? 0 : n] = '\0';
    close(fd);
    return buf;
}

static bool exists(const char *dir, const char *rel)
{
    struct stat st;
    return lstat(pj(dir, rel), &st) == 0;
}

static mode_t lmode(const char *dir, const char *rel)
{
    struct stat st;
    return lstat(pj(dir, rel), &st) == 0 ? st.st_mode : 0;
}

static ino_t inode(const char *dir, const char *rel)
{
    struct stat st;
    return lstat(pj(dir, rel), &st) == 0 ? st.st_ino : 0;
}

static const char *linktarget(const char *dir, const char *rel)
{
    static char buf[4096];
    ssize_t n = readlink(pj(dir, rel), buf, sizeof(buf) - 1);

    buf[n < 0 ? 0 : n] = '\0';
    return buf;
}

static int count_entries(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 0", dir);
    return system(cmd) == 0 ? 0 : 1;
}

static char *mktemp_dir(const char *tag)
{
    char tmpl[128];
    snprintf(tmpl, sizeof(tmpl), "/tmp/amber-tree-%s-XXXXXX", tag);
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static void rmrf(const char *d)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", d, d);
    CHECK(system(cmd) == 0);
}

static int dirfd_of(const char *d)
{
    int fd = open(d, O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);
    return fd;
}

static bool same(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, TREE_DIGEST_SIZE) == 0;
}

static bool has_str(char **v, const char *s)
{
    for (; v != NULL && *v != NULL; v++)
        if (strcmp(*v, s) == 0)
            return true;
    return false;
}

static bool has_prefix(char **v, const char *s)
{
    for (; v != NULL && *v != NULL; v++)
        if (strncmp(*v, s, strlen(s)) == 0)
            return true;
    return false;
}

/* Send a tree into a memfd (a stream at rest) and rewind it. */
static int send_to_memfd(int srcfd, const struct tree_filter *f, struct tree_stats *st,
                         struct tree_manifest *man, uint8_t d[32])
{
    struct amber_error err;
    int fd = memfd_create("tree", MFD_CLOEXEC);

    CHECK(fd >= 0);
    if (tree_send_manifest(srcfd, fd, f, st, man, d, &err) < 0) {
        fprintf(stderr, "tree_send: %s\n", err.msg);
        CHECK(0);
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

/* ---- a stream built by hand ---- */

struct sb {
    uint8_t *p;
    size_t len, cap;
    struct sha256_ctx sha;
};

static void sb_raw(struct sb *b, const void *data, size_t n, bool hash)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    if (hash)
        sha256_update(&b->sha, n, data);
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void sb_init(struct sb *b)
{
    memset(b, 0, sizeof(*b));
    sha256_init(&b->sha);
    sb_raw(b, "AMBTREE\x01", 8, false);
}

/* data: file content or symlink target; NULL for a directory. */
static void sb_rec(struct sb *b, char type, uint32_t mode, const char *path, const char *data)
{
    uint8_t h[12] = {(uint8_t)type, 0, 0, 0};
    uint8_t n[8] = {0};

    be32(h + 4, mode);
    be32(h + 8, (uint32_t)strlen(path));
    sb_raw(b, h, sizeof(h), true);
    sb_raw(b, path, strlen(path), true);
    if (type == 'F') {
        be32(n + 4, (uint32_t)strlen(data));
        sb_raw(b, n, 8, true);
        sb_raw(b, data, strlen(data), true);
    } else if (type == 'L') {
        be32(n, (uint32_t)strlen(data));
        sb_raw(b, n, 4, true);
        sb_raw(b, data, strlen(data), true);
    }
}

static void sb_end(struct sb *b, bool good_digest)
{
    uint8_t h[12] = {'E', 0, 0, 0};
    uint8_t d[32] = {0};

    sb_raw(b, h, sizeof(h), false);
    if (good_digest)
        sha256_digest(&b->sha, sizeof(d), d);
    sb_raw(b, d, sizeof(d), false);
}

static int sb_fd(struct sb *b, size_t len)
{
    int fd = memfd_create("hostile", MFD_CLOEXEC);

    CHECK(fd >= 0);
    CHECK(write(fd, b->p, len) == (ssize_t)len);
    lseek(fd, 0, SEEK_SET);
    free(b->p);
    b->p = NULL;
    return fd;
}

/* ---- round trip through a pipe ---- */

struct sender {
    int srcfd, outfd;
    struct tree_stats st;
    uint8_t digest[32];
    int rc;
    struct amber_error err;
};

static void *send_thread(void *arg)
{
    struct sender *s = arg;

    s->rc = tree_send(s->srcfd, s->outfd, NULL, &s->st, s->digest, &s->err);
    close(s->outfd);
    return NULL;
}

static void build_source(const char *src)
{
    char big[6000];
    char deep[4096] = "";
    char deep20[4096] = "";

    mkfile(src, "a.txt", "hello\n", 0644);
    mkfile(src, "suid", "#!/bin/sh\n", 04755);
    mkdirm(src, "sub", 0750);
    for (size_t i = 0; i < sizeof(big) - 1; i++)
        big[i] = (char)('a' + i % 26);
    big[sizeof(big) - 1] = '\0';
    mkfile(src, "sub/big.txt", big, 0600);
    mkfile(src, "sub/exec.sh", "echo hi\n", 0755);
    mkdirm(src, "sub/deep", 0755);
    mkdirm(src, "sub/deep/er", 0711);
    mkfile(src, "sub/deep/er/empty", "", 0640);
    mkdirm(src, "ro", 0755);
    mkfile(src, "ro/f", "read only\n", 0444);
    CHECK(chmod(pj(src, "ro"), 0555) == 0);
    /* internal symlinks: kept */
    mklink(src, "link", "a.txt");
    mklink(src, "sub/up", "../a.txt");
    mklink(src, "sub/dirlink", "deep");
    mklink(src, "sub/dot", "./exec.sh");
    /* could leave the tree: skipped */
    mklink(src, "abs", "/etc/passwd");
    mklink(src, "esc", "../outside");
    mklink(src, "sub/esc2", "../../x");
    mklink(src, "sub/tricky", "dirlink/../../.."); /* ".." after a name */
    /* special */
    CHECK(mkfifo(pj(src, "fifo"), 0644) == 0);
    /* secrets: excluded by default */
    mkfile(src, ".env", "SECRET=1\n", 0600);
    mkfile(src, ".env.local", "SECRET=2\n", 0600);
    mkfile(src, "id.pem", "pem\n", 0600);
    mkfile(src, "x.key", "key\n", 0600);
    mkdirm(src, ".ssh", 0700);
    mkfile(src, ".ssh/id_rsa", "rsa\n", 0600);
    mkdirm(src, ".aws", 0700);
    mkfile(src, ".aws/credentials", "aws\n", 0600);
    /* not secrets */
    mkdirm(src, ".git", 0755);
    mkfile(src, ".git/config", "[core]\n", 0644);
    mkfile(src, "normal.txt", "normal\n", 0644);
    mkfile(src, "envoy.txt", "not .env*\n", 0644);
    /* deeper than the fds kept open on either side */
    strcpy(deep, "d");
    mkdirm(src, deep, 0755);
    for (int i = 1; i < 40; i++) {
        strcat(deep, "/d");
        mkdirm(src, deep, 0755);
        if (i == 20)
            strcpy(deep20, deep);
    }
    /* a sibling after the deep chain, where the fds were closed */
    mkfile(src, pj(deep20, "zz-deep"), "deep sibling\n", 0644);
    strcat(deep, "/leaf");
    mkfile(src, deep, "leaf\n", 0644);
    mkfile(src, "d/d/zz-after", "after\n", 0644); /* after climbing back out */
}

static void test_roundtrip(void)
{
    char *base = mktemp_dir("rt");
    const char *src, *dst;
    struct sender s = {0};
    struct amber_error err;
    uint8_t drecv[32], dsrc[32], ddst[32];
    pthread_t th;
    int pfd[2], dstfd, rc;
    struct stat st;
    uid_t uid;
    gid_t gid;

    CHECK(base != NULL);
    if (base == NULL)
        return;
    src = strdup(pj(base, "src"));
    dst = strdup(pj(base, "dst"));
    CHECK(mkdir(src, 0755) == 0 && mkdir(dst, 0755) == 0);
    CHECK(mkdir(pj(base, "outside"), 0755) == 0);
    build_source(src);

    s.srcfd = dirfd_of(src);
    dstfd = dirfd_of(dst);
    CHECK(pipe(pfd) == 0);
    s.outfd = pfd[1];
    CHECK(pthread_create(&th, NULL, send_thread, &s) == 0);
    /* chown needs root; unprivileged, the receiver's own ids must work */
    uid = geteuid() == 0 ? 1234 : geteuid();
    gid = geteuid() == 0 ? 4321 : getegid();
    rc = tree_recv(pfd[0], dstfd, uid, gid, drecv, &err);
    if (rc < 0)
        fprintf(stderr, "tree_recv: %s\n", err.msg);
    CHECK(rc == 0);
    pthread_join(th, NULL);
    close(pfd[0]);
    if (s.rc < 0)
        fprintf(stderr, "tree_send: %s\n", s.err.msg);
    CHECK(s.rc == 0);
    CHECK(same(s.digest, drecv));
    CHECK(tree_digest(s.srcfd, NULL, dsrc, &err) == 0);
    CHECK(tree_digest(dstfd, NULL, ddst, &err) == 0);
    CHECK(same(dsrc, s.digest));
    CHECK(same(ddst, s.digest));

    /* stats */
    CHECK(s.st.skipped_special == 1);
    CHECK(s.st.skipped_symlinks == 4);
    CHECK(s.st.symlinks == 4);
    CHECK(s.st.excluded == 6);
    CHECK(s.st.excluded_len == 6);
    CHECK(has_str(s.st.excluded_paths, ".env"));
    CHECK(has_str(s.st.excluded_paths, ".env.local"));
    CHECK(has_str(s.st.excluded_paths, "id.pem"));
    CHECK(has_str(s.st.excluded_paths, "x.key"));
    CHECK(has_str(s.st.excluded_paths, ".ssh"));
    CHECK(has_str(s.st.excluded_paths, ".aws"));
    CHECK(s.st.files == 12);
    CHECK(s.st.dirs == 5 + 40);
    tree_stats_free(&s.st);

    /* content, modes, owners */
    CHECK(strcmp(content(dst, "a.txt"), "hello\n") == 0);
    CHECK(strlen(content(dst, "sub/big.txt")) == 5999);
    CHECK(strcmp(content(src, "sub/big.txt"), content(dst, "sub/big.txt")) == 0);
    CHECK((lmode(dst, "a.txt") & 07777) == 0644);
    CHECK((lmode(dst, "suid") & 07777) == 0755); /* no setuid from the source */
    CHECK((lmode(dst, "sub") & 07777) == 0750);
    CHECK((lmode(dst, "sub/big.txt") & 07777) == 0600);
    CHECK((lmode(dst, "sub/exec.sh") & 07777) == 0755);
    CHECK((lmode(dst, "sub/deep/er") & 07777) == 0711);
    CHECK((lmode(dst, "sub/deep/er/empty") & 07777) == 0640);
    CHECK((lmode(dst, "ro") & 07777) == 0555);
    CHECK((lmode(dst, "ro/f") & 07777) == 0444);
    CHECK(strcmp(content(dst, "ro/f"), "read only\n") == 0);
    CHECK(lstat(pj(dst, "sub/exec.sh"), &st) == 0 && st.st_uid == uid && st.st_gid == gid);
    CHECK(lstat(pj(dst, "sub"), &st) == 0 && st.st_uid == uid && st.st_gid == gid);
    CHECK(lstat(pj(dst, "link"), &st) == 0 && st.st_uid == uid);
    CHECK(S_ISLNK(lmode(dst, "link")) && strcmp(linktarget(dst, "link"), "a.txt") == 0);
    CHECK(strcmp(linktarget(dst, "sub/up"), "../a.txt") == 0);
    CHECK(strcmp(linktarget(dst, "sub/dirlink"), "deep") == 0);
    CHECK(strcmp(linktarget(dst, "sub/dot"), "./exec.sh") == 0);
    CHECK(!exists(dst, "abs") && !exists(dst, "esc") && !exists(dst, "sub/esc2"));
    CHECK(!exists(dst, "sub/tricky"));
    CHECK(!exists(dst, "fifo"));
    CHECK(!exists(dst, ".env") && !exists(dst, ".env.local") && !exists(dst, "id.pem"));
    CHECK(!exists(dst, "x.key") && !exists(dst, ".ssh") && !exists(dst, ".aws"));
    CHECK(strcmp(content(dst, ".git/config"), "[core]\n") == 0);
    CHECK(strcmp(content(dst, "normal.txt"), "normal\n") == 0);
    CHECK(exists(dst, "envoy.txt"));
    {
        char deep[4096] = "d";
        for (int i = 1; i < 40; i++)
            strcat(deep, "/d");
        strcat(deep, "/leaf");
        CHECK(strcmp(content(dst, deep), "leaf\n") == 0);
        deep[2 * 21 - 1] = '\0';
        CHECK(strcmp(content(dst, pj(deep, "zz-deep")), "deep sibling\n") == 0);
        CHECK(strcmp(content(dst, "d/d/zz-after"), "after\n") == 0);
    }
    CHECK(count_entries(pj(base, "outside")) == 0);

    /* A changed copy has a different digest. */
    CHECK(chmod(pj(dst, "a.txt"), 0600) == 0);
    CHECK(tree_digest(dstfd, NULL, ddst, &err) == 0);
    CHECK(!same(ddst, s.digest));

    /* The reader dies: EPIPE is an error, not a SIGPIPE death. */
    {
        int p2[2];
        struct tree_stats st2;
        CHECK(pipe(p2) == 0);
        close(p2[0]);
        CHECK(tree_send(s.srcfd, p2[1], NULL, &st2, NULL, &err) < 0);
        CHECK(err.code == EPIPE);
        close(p2[1]);
        tree_stats_free(&st2);
    }
    close(s.srcfd);
    close(dstfd);
    rmrf(base);
    free(base);
    free((void *)src);
    free((void *)dst);
}

/* ---- filters ---- */

static int excluded_seen;
static void on_report(enum tree_event ev, const char *path, void *data)
{
    (void)data;
    if (ev == TREE_EV_EXCLUDED && strcmp(path, "x.log") == 0)
        excluded_seen++;
}

static void test_filters(void)
{
    char *base = mktemp_dir("flt");
    const char *src, *dst;
    const char *pats[] = {"*.log", "build/", "/sub/skip.txt", "gen/*.o"};
    struct tree_filter f = {.patterns = pats, .npatterns = 4, .report = on_report};
    struct tree_stats st;
    struct amber_error err;
    uint8_t d[32], d2[32];
    int srcfd, dstfd, in;

    CHECK(base != NULL);
    if (base == NULL)
        return;
    src = strdup(pj(base, "src"));
    dst = strdup(pj(base, "dst"));
    CHECK(mkdir(src, 0755) == 0 && mkdir(dst, 0755) == 0);
    mkfile(src, "x.log", "log\n", 0644);
    mkdirm(src, "sub", 0755);
    mkfile(src, "sub/y.log", "log\n", 0644);
    mkfile(src, "sub/skip.txt", "skip\n", 0644);
    mkfile(src, "skip.txt", "keep (pattern has a '/')\n", 0644);
    mkdirm(src, "build", 0755);
    mkfile(src, "build/out", "out\n", 0644);
    mkdirm(src, "sub/build", 0755);
    mkdirm(src, "gen", 0755);
    mkfile(src, "gen/a.o", "o\n", 0644);
    mkfile(src, "gen/a.c", "c\n", 0644);
    mkfile(src, "sub/a.o", "o\n", 0644);
    mkdirm(src, "other", 0755);
    mkfile(src, "other/build", "a file named build: kept (dir-only pattern)\n", 0644);
    mkfile(src, ".env", "SECRET\n", 0600);

    srcfd = dirfd_of(src);
    dstfd = dirfd_of(dst);
    in = send_to_memfd(srcfd, &f, &st, NULL, d);
    CHECK(tree_recv(in, dstfd, (uid_t)-1, (gid_t)-1, d2, &err) == 0);
    CHECK(same(d, d2));
    close(in);
    CHECK(excluded_seen == 1);
    CHECK(st.excluded == 7);
    CHECK(has_str(st.excluded_paths, "sub/build"));
    CHECK(has_str(st.excluded_paths, "gen/a.o"));
    tree_stats_free(&st);
    CHECK(!exists(dst, "x.log") && !exists(dst, "sub/y.log") && !exists(dst, "sub/skip.txt"));
    CHECK(!exists(dst, "build") && !exists(dst, "sub/build") && !exists(dst, "gen/a.o"));
    CHECK(!exists(dst, ".env"));
    CHECK(exists(dst, "skip.txt") && exists(dst, "gen/a.c") && exists(dst, "sub/a.o"));
    CHECK(exists(dst, "other/build"));
    /* The filter is part of the digest: the same one on both sides agrees. */
    CHECK(tree_digest(dstfd, &f, d2, &err) == 0 && same(d, d2));

    /* The workspace: no default excludes. */
    {
        struct tree_filter ws = {.no_default_excludes = true};
        const char *dst2 = pj(base, "dst2");
        int fd2;

        CHECK(mkdir(dst2, 0755) == 0);
        fd2 = dirfd_of(dst2);
        in = send_to_memfd(srcfd, &ws, &st, NULL, d);
        CHECK(st.excluded == 0);
        tree_stats_free(&st);
        CHECK(tree_recv(in, fd2, (uid_t)-1, (gid_t)-1, NULL, &err) == 0);
        CHECK(strcmp(content(pj(base, "dst2"), ".env"), "SECRET\n") == 0);
        CHECK(exists(pj(base, "dst2"), "build/out"));
        close(in);
        close(fd2);
    }
    close(srcfd);
    close(dstfd);
    rmrf(base);
    free(base);
    free((void *)src);
    free((void *)dst);
}

/* ---- hostile streams into tree_recv ---- */

/* Receive stream b into a fresh base/dst; expect failure mentioning msg (or
 * any failure if NULL) and nothing written to base/outside. */
static void expect_refused(const char *base, struct sb *b, size_t len, const char *msg)
{
    struct amber_error err;
    const char *dst = pj(base, "dst");
    char cmd[4200];
    int in = sb_fd(b, len ? len : b->len);
    int dstfd;

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dst);
    CHECK(system(cmd) == 0);
    CHECK(mkdir(dst, 0755) == 0);
    /* a planted symlink in the destination: must not be followed either */
    CHECK(symlink("../outside", pj(dst, "planted")) == 0);
    dstfd = dirfd_of(dst);
    err.msg[0] = '\0';
    CHECK(tree_recv(in, dstfd, (uid_t)-1, (gid_t)-1, NULL, &err) < 0);
    if (msg != NULL)
        CHECK_STR_CONTAINS(err.msg, msg);
    CHECK(count_entries(pj(base, "outside")) == 0);
    CHECK(access("/tmp/amber-tree-pwned", F_OK) != 0);
    close(in);
    close(dstfd);
}

static void test_hostile_recv(void)
{
    char *base = mktemp_dir("hostile");
    struct sb b;

    CHECK(base != NULL);
    if (base == NULL)
        return;
    CHECK(mkdir(pj(base, "outside"), 0755) == 0);

    sb_init(&b);
    sb_rec(&b, 'F', 0644, "../x", "pwned");
    sb_end(&b, true);
    expect_refused(base, &b, 0, "'..'");

    sb_init(&b);
    sb_rec(&b, 'F', 0644, "/tmp/amber-tree-pwned", "pwned");
    sb_end(&b, true);
    expect_refused(base, &b, 0, "absolute");

    sb_init(&b);
    sb_rec(&b, 'D', 0755, "a", NULL);
    sb_rec(&b, 'F', 0644, "a/../../b", "pwned");
    sb_end(&b, true);
    expect_refused(base, &b, 0, "'..'");

    sb_init(&b);
    sb_rec(&b, 'F', 0644, "a//b", "x");
    sb_end(&b, true);
    expect_refused(base, &b, 0, "empty");

    /* symlink to outside, then a write through it */
    sb_init(&b);
    sb_rec(&b, 'L', 0, "a", "../outside");
    sb_rec(&b, 'F', 0644, "a/passwd", "pwned");
    sb_end(&b, true);
    expect_refused(base, &b, 0, "could leave the tree");

    sb_init(&b);
    sb_rec(&b, 'L', 0, "a", "/etc");
    sb_rec(&b, 'F', 0644, "a/passwd", "pwned");
    sb_end(&b, true);
    expect_refused(base, &b, 0, "could leave the tree");

    /* an innocent-looking symlink, then a write through it */
    sb_init(&b);
    sb_rec(&b, 'D', 0755, "sub", NULL);
    sb_rec(&b, 'L', 0, "t", "sub");
    sb_rec(&b, 'F', 0644, "t/x", "x");
    sb_end(&b, true);
    expect_refused(base, &b, 0, "parent is not");

    /* writing through a symlink already in the destination */
    sb_init(&b);
    sb_rec(&b, 'F', 0644, "planted/passwd", "pwned");
    sb_end(&b, true);
    expect_refused(base, &b, 0, "parent is not");
    sb_init(&b);
    sb_rec(&b, 'D', 0755, "planted", NULL);
    sb_rec(&b, 'F', 0644, "planted/passwd", "pwned");
    sb_end(&b, true);
    expect_refused(base, &b, 0, "planted");
    sb_init(&b);
    sb_rec(&b, 'F', 0644, "planted", "pwned");
    sb_end(&b, true);
    expect_refused(base, &b, 0, "planted");

    /* re-entering a directory already left */
    sb_init(&b);
    sb_rec(&b, 'D', 0755, "a", NULL);
    sb_rec(&b, 'D', 0755, "b", NULL);
    sb_rec(&b, 'F', 0644, "a/x", "x");
    sb_end(&b, true);
    expect_refused(base, &b, 0, "parent is not");

    /* out of order, duplicates */
    sb_init(&b);
    sb_rec(&b, 'F', 0644, "b", "x");
    sb_rec(&b, 'F', 0644, "a", "x");
    sb_end(&b, true);
    expect_refused(base, &b, 0, "out of order");
    sb_init(&b);
    sb_rec(&b, 'F', 0644, "a", "x");
    sb_rec(&b, 'D', 0755, "a", NULL);
    sb_end(&b, true);
    expect_refused(base, &b, 0, "duplicate");

    /* setuid */
    sb_init(&b);
    sb_rec(&b, 'F', 04755, "a", "x");
    sb_end(&b, true);
    expect_refused(base, &b, 0, "mode");

    /* truncated in the middle of a file */
    sb_init(&b);
    sb_rec(&b, 'F', 0644, "a", "0123456789");
    sb_end(&b, true);
    expect_refused(base, &b, 8 + 12 + 1 + 8 + 5, "truncated");
    /* truncated before the end record */
    sb_init(&b);
    sb_rec(&b, 'F', 0644, "a", "0123456789");
    expect_refused(base, &b, 0, "truncated");

    /* wrong digest */
    sb_init(&b);
    sb_rec(&b, 'F', 0644, "a", "0123456789");
    sb_end(&b, false);
    expect_refused(base, &b, 0, "digest mismatch");

    /* garbage */
    sb_init(&b);
    b.p[0] = 'X';
    expect_refused(base, &b, 0, "magic");

    /* A good stream; the reader stops at the end record. */
    {
        struct amber_error err;
        const char *dst = pj(base, "good");
        char rest[16] = {0};
        int in, dstfd;

        sb_init(&b);
        sb_rec(&b, 'D', 0700, "a", NULL);
        sb_rec(&b, 'F', 0640, "a/f", "data");
        sb_rec(&b, 'L', 0, "a/l", "../a/f");
        sb_end(&b, true);
        sb_raw(&b, "TRAILER", 7, false);
        in = sb_fd(&b, b.len);
        CHECK(mkdir(dst, 0755) == 0);
        dstfd = dirfd_of(dst);
        CHECK(tree_recv(in, dstfd, (uid_t)-1, (gid_t)-1, NULL, &err) == 0);
        CHECK(read(in, rest, sizeof(rest)) == 7 && strcmp(rest, "TRAILER") == 0);
        CHECK(strcmp(content(dst, "a/f"), "data") == 0);
        CHECK(strcmp(linktarget(dst, "a/l"), "../a/f") == 0);
        close(in);
        close(dstfd);
    }
    rmrf(base);
    free(base);
}

/* ---- tree_apply ---- */

static int apply_stream(int in, const char *host, const struct tree_manifest *man,
                        struct tree_apply_stats *st, struct amber_error *err)
{
    int fd = dirfd_of(host);
    int rc = tree_apply(in, fd, man, st, err);

    close(fd);
    close(in);
    return rc;
}

static void test_apply(void)
{
    char *base = mktemp_dir("apply");
    const char *host, *sbx, *out;
    struct tree_filter ws = {.no_default_excludes = true};
    struct tree_manifest man;
    struct tree_apply_stats ast;
    struct amber_error err;
    struct stat st;
    uint8_t d[32];
    ino_t keep_ino, mod_ino, mode_ino, link_ino;
    int hfd, sfd, in, rc;

    CHECK(base != NULL);
    if (base == NULL)
        return;
    host = strdup(pj(base, "host"));
    sbx = strdup(pj(base, "sandbox"));
    out = strdup(pj(base, "outside"));
    CHECK(mkdir(host, 0755) == 0 && mkdir(sbx, 0755) == 0 && mkdir(out, 0755) == 0);
    mkfile(host, "keep.txt", "keep\n", 0644);
    mkfile(host, "mod.txt", "old content\n", 0644);
    mkfile(host, "samesize.txt", "AAAA-BBBB\n", 0644);
    mkfile(host, "del.txt", "delete me\n", 0644);
    mkfile(host, "mode.txt", "mode\n", 0644);
    mkfile(host, "hl.txt", "hard link\n", 0644);
    CHECK(link(pj(host, "hl.txt"), pj(out, "hl-outside")) == 0);
    mkdirm(host, "sub", 0755);
    mkfile(host, "sub/inner.txt", "inner\n", 0644);
    mkfile(host, "sub/inner2.txt", "inner2\n", 0644);
    mkdirm(host, "dir2", 0755);
    mkfile(host, "dir2/gone.txt", "gone\n", 0644);
    mkfile(host, "t1", "file becomes dir\n", 0644);
    mkdirm(host, "t2", 0755);
    mkfile(host, "t2/x", "dir becomes file\n", 0644);
    mklink(host, "lnk", "keep.txt");
    mkfile(host, "excluded.pem", "host secret\n", 0600);
    mkdirm(host, "tight", 0755);
    mkfile(host, "tight/f", "f\n", 0644);

    /* copy in (the default excludes leave excluded.pem out of the manifest) */
    hfd = dirfd_of(host);
    sfd = dirfd_of(sbx);
    in = send_to_memfd(hfd, NULL, NULL, &man, d);
    CHECK(tree_recv(in, sfd, (uid_t)-1, (gid_t)-1, NULL, &err) == 0);
    close(in);
    CHECK(man.len == 17);
    keep_ino = inode(host, "keep.txt");
    mod_ino = inode(host, "mod.txt");
    mode_ino = inode(host, "mode.txt");
    link_ino = inode(host, "lnk");

    /* the workload changes the sandbox copy */
    mkfile(sbx, "mod.txt", "new content, longer\n", 0644);
    mkfile(sbx, "samesize.txt", "AAAA-CCCC\n", 0644);
    CHECK(unlink(pj(sbx, "del.txt")) == 0);
    mkfile(sbx, "new.txt", "brand new\n", 0640);
    CHECK(chmod(pj(sbx, "mode.txt"), 0600) == 0);
    CHECK(chmod(pj(sbx, "hl.txt"), 0666) == 0);
    CHECK(unlink(pj(sbx, "dir2/gone.txt")) == 0 && rmdir(pj(sbx, "dir2")) == 0);
    mkfile(sbx, "sub/new_in_sub.txt", "via symlink?\n", 0644);
    mkfile(sbx, "sub/inner.txt", "changed inner\n", 0644);
    CHECK(unlink(pj(sbx, "sub/inner2.txt")) == 0);
    CHECK(unlink(pj(sbx, "t1")) == 0);
    mkdirm(sbx, "t1", 0755);
    mkfile(sbx, "t1/y", "y\n", 0644);
    CHECK(unlink(pj(sbx, "t2/x")) == 0 && rmdir(pj(sbx, "t2")) == 0);
    mkfile(sbx, "t2", "now a file\n", 0644);
    CHECK(unlink(pj(sbx, "lnk")) == 0);
    mklink(sbx, "lnk", "mod.txt");
    mklink(sbx, "newlink", "keep.txt");
    mkfile(sbx, "excluded.pem", "sandbox's version\n", 0644);
    mkfile(sbx, "conflict.txt", "sandbox's version\n", 0644);
    mkfile(sbx, "tight/g", "g\n", 0644);
    CHECK(chmod(pj(sbx, "tight"), 0500) == 0);

    /* meanwhile on the host: sub replaced by a symlink to an outside
     * directory, a file created that the sandbox also creates, one the
     * sandbox knows nothing about */
    CHECK(mkdir(pj(out, "subdir"), 0755) == 0);
    mkfile(out, "subdir/inner.txt", "outside inner\n", 0644);
    mkfile(out, "subdir/inner2.txt", "outside inner2\n", 0644);
    CHECK(rename(pj(host, "sub"), pj(base, "sub.moved")) == 0);
    mklink(host, "sub", "../outside/subdir");
    mkfile(host, "conflict.txt", "host's version\n", 0644);
    mkfile(host, "hostonly.txt", "host only\n", 0644);

    /* sync back */
    in = send_to_memfd(sfd, &ws, NULL, NULL, d);
    rc = apply_stream(in, host, &man, &ast, &err);
    if (rc < 0)
        fprintf(stderr, "tree_apply: %s\n", err.msg);
    CHECK(rc == 0);
    for (size_t i = 0; i < ast.skipped_len; i++)
        printf("# skipped %s\n", ast.skipped_paths[i]);

    CHECK(inode(host, "keep.txt") == keep_ino);
    CHECK(strcmp(content(host, "mod.txt"), "new content, longer\n") == 0);
    CHECK(inode(host, "mod.txt") != mod_ino);
    CHECK(strcmp(content(host, "samesize.txt"), "AAAA-CCCC\n") == 0);
    CHECK(!exists(host, "del.txt"));
    CHECK(strcmp(content(host, "new.txt"), "brand new\n") == 0);
    CHECK((lmode(host, "new.txt") & 07777) == 0640);
    CHECK((lmode(host, "mode.txt") & 07777) == 0600 && inode(host, "mode.txt") == mode_ino);
    /* a mode change on a hard-linked file must not reach the other link */
    CHECK((lmode(host, "hl.txt") & 07777) == 0666);
    CHECK((lmode(out, "hl-outside") & 07777) == 0644);
    CHECK(strcmp(content(host, "hl.txt"), "hard link\n") == 0);
    CHECK(!exists(host, "dir2"));
    /* the planted symlink is not followed, in either direction */
    CHECK(S_ISLNK(lmode(host, "sub")));
    CHECK(strcmp(content(out, "subdir/inner.txt"), "outside inner\n") == 0);
    CHECK(strcmp(content(out, "subdir/inner2.txt"), "outside inner2\n") == 0);
    CHECK(!exists(out, "subdir/new_in_sub.txt"));
    CHECK(has_prefix(ast.skipped_paths, "sub: is a symlink on the host"));
    CHECK(has_prefix(ast.skipped_paths, "sub/inner2.txt: not deleted"));
    /* type changes */
    CHECK(S_ISDIR(lmode(host, "t1")) && strcmp(content(host, "t1/y"), "y\n") == 0);
    CHECK(S_ISREG(lmode(host, "t2")) && strcmp(content(host, "t2"), "now a file\n") == 0);
    CHECK(strcmp(linktarget(host, "lnk"), "mod.txt") == 0 && inode(host, "lnk") != link_ino);
    CHECK(strcmp(linktarget(host, "newlink"), "keep.txt") == 0);
    /* not copied in: never replaced, never deleted */
    CHECK(strcmp(content(host, "excluded.pem"), "host secret\n") == 0);
    CHECK(strcmp(content(host, "conflict.txt"), "host's version\n") == 0);
    CHECK(has_prefix(ast.skipped_paths, "conflict.txt: exists on the host"));
    CHECK(strcmp(content(host, "hostonly.txt"), "host only\n") == 0);
    /* a tightened directory gets its mode after its new contents */
    CHECK(strcmp(content(host, "tight/g"), "g\n") == 0);
    CHECK((lmode(host, "tight") & 07777) == 0500);
    CHECK(ast.unchanged >= 1 && ast.deleted >= 4 && ast.written >= 5 && ast.skipped >= 3);
    tree_apply_stats_free(&ast);
    CHECK(chmod(pj(host, "tight"), 0755) == 0);

    /* A copied-in file the host replaced by a symlink is not the
     * manifest's any more: not deleted below. */
    CHECK(unlink(pj(host, "samesize.txt")) == 0);
    mklink(host, "samesize.txt", "keep.txt");

    /* A hostile stream: outside symlinks are not created, paths not in the
     * manifest are created, nothing outside the manifest is deleted even
     * though the stream leaves it out. */
    {
        struct sb b;

        sb_init(&b);
        sb_rec(&b, 'F', 0644, "aaa-new", "created\n");
        sb_rec(&b, 'L', 0, "evil", "/etc/passwd");
        sb_rec(&b, 'L', 0, "evil2", "../outside/subdir");
        sb_rec(&b, 'F', 04755, "keep.txt", "x"); /* setuid: the stream is refused */
        sb_end(&b, true);
        in = sb_fd(&b, b.len);
        CHECK(apply_stream(in, host, &man, &ast, &err) < 0);
        CHECK_STR_CONTAINS(err.msg, "mode");
        tree_apply_stats_free(&ast);
        /* refused mid-way: applied so far stays, nothing deleted */
        CHECK(strcmp(content(host, "aaa-new"), "created\n") == 0);
        CHECK(!exists(host, "evil") && !exists(host, "evil2"));
        CHECK(exists(host, "keep.txt") && exists(host, "hostonly.txt"));

        sb_init(&b);
        sb_rec(&b, 'L', 0, "evil", "/etc/passwd");
        sb_rec(&b, 'L', 0, "evil2", "../outside/subdir");
        sb_rec(&b, 'F', 0644, "zzz-new", "zzz\n");
        sb_end(&b, true);
        in = sb_fd(&b, b.len);
        CHECK(apply_stream(in, host, &man, &ast, &err) == 0);
        CHECK(!exists(host, "evil") && !exists(host, "evil2"));
        CHECK(has_prefix(ast.skipped_paths, "evil: symlink target could leave"));
        CHECK(strcmp(content(host, "zzz-new"), "zzz\n") == 0);
        /* everything from the manifest is gone (it was deleted "in the
         * sandbox"), except what is not the manifest's any more */
        CHECK(!exists(host, "keep.txt") && !exists(host, "mod.txt"));
        CHECK(exists(host, "hostonly.txt") && exists(host, "conflict.txt"));
        CHECK(exists(host, "excluded.pem") && exists(host, "aaa-new"));
        CHECK(exists(host, "new.txt")); /* created by the first sync, not in the manifest */
        CHECK(S_ISLNK(lmode(host, "samesize.txt")));
        CHECK(has_prefix(ast.skipped_paths, "samesize.txt: not deleted: it changed type"));
        CHECK(S_ISLNK(lmode(host, "sub")));
        CHECK(exists(out, "subdir/inner.txt") && exists(out, "subdir/inner2.txt"));
        CHECK(exists(out, "hl-outside"));
        tree_apply_stats_free(&ast);
    }

    /* A truncated sync-back deletes nothing. */
    {
        struct sb b;

        mkfile(host, "keep2.txt", "keep2\n", 0644);
        tree_manifest_free(&man);
        in = send_to_memfd(hfd, NULL, NULL, &man, d);
        close(in);
        sb_init(&b);
        sb_rec(&b, 'F', 0644, "new3", "n\n");
        in = sb_fd(&b, b.len);
        CHECK(apply_stream(in, host, &man, &ast, &err) < 0);
        CHECK_STR_CONTAINS(err.msg, "truncated");
        CHECK(exists(host, "keep2.txt"));
        tree_apply_stats_free(&ast);

        sb_init(&b);
        sb_rec(&b, 'F', 0644, "new3", "n\n");
        sb_end(&b, false);
        in = sb_fd(&b, b.len);
        CHECK(apply_stream(in, host, &man, &ast, &err) < 0);
        CHECK_STR_CONTAINS(err.msg, "digest");
        CHECK(exists(host, "keep2.txt"));
        tree_apply_stats_free(&ast);
    }
    CHECK(lstat(pj(host, "new3"), &st) == 0);
    tree_manifest_free(&man);
    close(hfd);
    close(sfd);
    rmrf(base);
    rmrf(pj("/tmp", "amber-tree-pwned"));
    free(base);
    free((void *)host);
    free((void *)sbx);
    free((void *)out);
}

int main(void)
{
    test_roundtrip();
    test_filters();
    test_hostile_recv();
    test_apply();
    /* again with path_open_beneath's component walk (kernels < 5.6) */
    path_force_fallback = true;
    test_roundtrip();
    test_apply();
    return test_finish("tree");
}
