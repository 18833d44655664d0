/* Tree streams: copying a directory tree across the sandbox boundary.
 * The format is documented in tree.h.
 *
 * Why this is safe.
 *
 * Sender (tree_send, tree_digest): every entry is opened relative to its
 * parent directory's fd with O_NOFOLLOW (directories also with O_DIRECTORY),
 * so a symlink in the source, planted before or during the walk, is read as
 * a link and never followed into; a directory fd that had to be closed to
 * bound the number of open fds is reopened with path_open_beneath (no
 * symlinks, no escape). Regular files are opened O_NONBLOCK and checked
 * with fstat, so a file swapped for a fifo cannot hang the walk. Symlinks
 * are sent only when their target cannot leave the tree (see
 * target_inside), so the copy never contains a way out that the source
 * did not also contain inside it.
 *
 * Receivers (tree_recv, tree_apply) trust nothing in the stream:
 *  - every path is validated (relative, no "", "." or ".." components, no
 *    NUL, bounded) and every entry must come in canonical order: its parent
 *    must be the directory this receiver entered last or one of its
 *    ancestors, and names within a directory strictly increase. A stream
 *    therefore can only put an entry inside a directory it sent as a
 *    directory record; "a -> /etc" followed by "a/passwd" is refused because
 *    "a" was never entered as a directory;
 *  - entries are created with *at() calls on the fd of their parent, which
 *    the receiver opened itself with O_DIRECTORY|O_NOFOLLOW one component
 *    at a time; no multi-component path is ever resolved, except when a
 *    closed directory fd is reopened or a manifest entry is deleted, and
 *    those go through path_open_beneath (RESOLVE_BENEATH|NO_SYMLINKS);
 *  - the final component is never followed either: files are created with
 *    O_CREAT|O_EXCL|O_NOFOLLOW (tree_recv) or written to a fresh O_EXCL temp
 *    file and renamed over the target (tree_apply; rename replaces a symlink
 *    or a hard link, not what it points to); existing files are opened
 *    O_NOFOLLOW; stat, unlink and chown use AT_SYMLINK_NOFOLLOW or act on
 *    the entry itself;
 *  - modes are permission bits only (setuid/setgid/sticky are rejected);
 *  - memory is bounded by the depth of the tree (one path buffer and a
 *    fixed array of levels), plus, for tree_apply, one flag per manifest
 *    entry and a capped report list.
 *
 * Why not sendfile()/splice(): the stream carries a SHA-256 of the content,
 * so the bytes have to reach user space for hashing anyway. The sender reads
 * each file into its output buffer, hashes it there and writes the buffer:
 * what is hashed is exactly what is sent, even if the file changes while it
 * is read (sendfile would send page-cache pages that may differ from the
 * bytes hashed, making a concurrent edit look like tampering). On the
 * receiving side splice(pipe -> file) would copy just the same (the data
 * must be hashed before it is trusted). Small records are batched in a
 * 256 KiB buffer, so a tree of small files costs about one write per 256 KiB.
 */
#include "tree/tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/resolve.h"
#include "util/fs.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#define TREE_MAGIC "AMBTREE\x01"
#define TREE_MAGIC_LEN 8
#define HDR_LEN 12
#define REC_END 'E'
/* "a/b/c": a path of at most 4095 bytes has at most 2048 components. */
#define MAX_DEPTH (TREE_PATH_MAX / 2)
#define MAX_FILE_SIZE (UINT64_C(1) << 62)
#define IOBUF_SIZE (256 * 1024)
/* Directory fds kept open along the current chain; deeper ancestors are
 * closed and reopened on demand, so a deep tree cannot exhaust fds (the
 * sandbox's setup process may run under a low RLIMIT_NOFILE). */
#define OPEN_FDS 16

/* ---- small helpers ---- */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* Names from a stream end up in messages and logs: show control bytes as
 * '?' (no terminal escapes) and cut long ones. */
static const char *shown_(const char *s, char *buf, size_t cap)
{
    size_t i = 0;

    for (; s[i] != '\0' && i + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (s[i] != '\0') {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}
#define SHOWN(s) shown_((s), (char[200]){0}, 200)

static int proto_error(struct amber_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int proto_error(struct amber_error *err, const char *fmt, ...)
{
    char msg[AMBER_ERROR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    amber_error_set(err, 0, "tree stream: %s", msg);
    if (err != NULL)
        err->code = EPROTO;
    return -1;
}

/* Read exactly n bytes at off; returns the count read (< n at EOF) or -1. */
static ssize_t pread_full(int fd, uint8_t *p, size_t n, off_t off)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = pread(fd, p + got, n - got, off + (off_t)got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Canonical stream order as a comparison of relative paths: component by
 * component with strcmp, an ancestor before its descendants. That is a
 * byte comparison in which '/' sorts before every other byte ("a" < "a/x" <
 * "a-b", while strcmp would put "a-b" before "a/x"). */
static int pathcmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned ca = (unsigned char)*a, cb = (unsigned char)*b;

        if (ca == cb) {
            if (ca == 0)
                return 0;
            continue;
        }
        ca = ca == '/' ? 1 : ca == 0 ? 0 : ca + 1;
        cb = cb == '/' ? 1 : cb == 0 ? 0 : cb + 1;
        return ca < cb ? -1 : 1;
    }
}

/* NULL when p (len bytes) is a valid relative path, else why not. */
static const char *check_relpath(const char *p, size_t len)
{
    size_t start = 0;

    if (len == 0 || len >= TREE_PATH_MAX)
        return "bad path length";
    if (memchr(p, '\0', len) != NULL)
        return "NUL in path";
    if (p[0] == '/')
        return "absolute path";
    for (size_t i = 0; i <= len; i++) {
        if (i < len && p[i] != '/')
            continue;
        size_t n = i - start;
        if (n == 0)
            return "empty path component";
        if (n > NAME_MAX)
            return "path component too long";
        if (p[start] == '.' && (n == 1 || (n == 2 && p[start + 1] == '.')))
            return "'.' or '..' component";
        start = i + 1;
    }
    return NULL;
}

/* Whether a symlink whose directory is `depth` components below the root,
 * with this target, stays inside the tree. Absolute targets never do. A
 * relative one does if every ".." comes before the first real name and
 * there are at most `depth` of them: climbing from the link's directory,
 * which is a real directory of the tree, is then exact, and descending by
 * names stays inside (a name that is itself a symlink was checked by the
 * same rule). A ".." after a name is refused because the name may be a
 * symlink, and ".." climbs from where it points, not lexically. */
static bool target_inside(const char *t, size_t depth)
{
    size_t ups = 0;
    bool named = false;

    if (t[0] == '\0' || t[0] == '/')
        return false;
    for (const char *c = t; *c != '\0';) {
        const char *e = strchrnul(c, '/');
        size_t n = (size_t)(e - c);

        if (n == 2 && c[0] == '.' && c[1] == '.') {
            if (named)
                return false;
            ups++;
        } else if (n > 0 && !(n == 1 && c[0] == '.')) {
            named = true;
        }
        c = *e != '\0' ? e + 1 : e;
    }
    return ups <= depth;
}

static enum tree_type type_of_mode(mode_t m)
{
    if (S_ISDIR(m))
        return TREE_DIR;
    if (S_ISREG(m))
        return TREE_FILE;
    if (S_ISLNK(m))
        return TREE_SYMLINK;
    return 0;
}

/* Reopen the directory at relative path rel (any length: copied) as an
 * O_RDONLY fd, refusing symlinks and escapes. */
static int reopen_dir(int rootfd, const char *rel, size_t len, struct amber_error *err)
{
    char path[TREE_PATH_MAX];
    cleanup_close int opath = -1;
    int fd;

    memcpy(path, rel, len);
    path[len] = '\0';
    opath = path_open_beneath(rootfd, path, O_DIRECTORY, err);
    if (opath < 0)
        return -1;
    fd = openat(opath, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return amber_error_errno(err, "open '%s'", SHOWN(path));
    return fd;
}

/* ---- filter ---- */

static const char *const default_excludes[] = {".env*", "*.pem", "*.key", ".ssh", ".aws"};

struct pattern {
    char *pat;
    bool match_path; /* against the relative path, else the basename */
    bool dir_only;
};

struct matcher {
    bool defaults;
    struct pattern *p;
    size_t n;
};

static void matcher_init(struct matcher *m, const struct tree_filter *f)
{
    m->defaults = f == NULL || !f->no_default_excludes;
    m->p = NULL;
    m->n = 0;
    if (f == NULL || f->patterns == NULL)
        return;
    m->p = xcalloc(f->npatterns, sizeof(*m->p));
    for (size_t i = 0; i < f->npatterns; i++) {
        const char *s = f->patterns[i];
        size_t len;
        struct pattern *p = &m->p[m->n];

        if (s == NULL)
            continue;
        while (*s == '/') /* "/build": anchored, as every path pattern is */
            s++;
        len = strlen(s);
        while (len > 0 && s[len - 1] == '/') {
            p->dir_only = true;
            len--;
        }
        if (len == 0)
            continue;
        p->pat = xmalloc(len + 1);
        memcpy(p->pat, s, len);
        p->pat[len] = '\0';
        p->match_path = strchr(p->pat, '/') != NULL;
        m->n++;
    }
}

static void matcher_free(struct matcher *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->p[i].pat);
    free(m->p);
}

static bool matcher_excludes(const struct matcher *m, const char *rel, const char *base,
                             bool is_dir)
{
    if (m->defaults) {
        for (size_t i = 0; i < sizeof(default_excludes) / sizeof(default_excludes[0]); i++)
            if (fnmatch(default_excludes[i], base, 0) == 0)
                return true;
    }
    for (size_t i = 0; i < m->n; i++) {
        const struct pattern *p = &m->p[i];

        if (p->dir_only && !is_dir)
            continue;
        if (p->match_path ? fnmatch(p->pat, rel, FNM_PATHNAME) == 0 : fnmatch(p->pat, base, 0) == 0)
            return true;
    }
    return false;
}

/* ---- sender and digest: the walk ---- */

struct walker {
    dev_t rootdev;
    int rootfd; /* borrowed: the caller's srcdirfd, for reopening */
    struct matcher match;
    const struct tree_filter *f;
    bool reporting;
    struct tree_stats *st;
    struct tree_manifest *man;
    struct sha256_ctx sha;
    int outfd; /* -1: digest only, the buffer is discarded */
    uint8_t *buf;
    size_t len;
    bool epipe;
    char path[TREE_PATH_MAX];
    size_t pathlen;
    struct amber_error *err;
};

static int w_flush(struct walker *w)
{
    if (w->outfd >= 0 && w->len > 0 && fs_write_all(w->outfd, w->buf, w->len) < 0) {
        if (errno == EPIPE) {
            w->epipe = true;
            return amber_error_set(w->err, EPIPE, "write tree stream: the receiver went away");
        }
        return amber_error_errno(w->err, "write tree stream");
    }
    w->len = 0;
    return 0;
}

/* Append to the stream; hashed unless it is the magic or the end record. */
static int w_emit(struct walker *w, const void *data, size_t n, bool hash)
{
    const uint8_t *p = data;

    if (hash)
        sha256_update(&w->sha, n, p);
    while (n > 0) {
        size_t k = IOBUF_SIZE - w->len;

        if (k == 0) {
            if (w_flush(w) < 0)
                return -1;
            continue;
        }
        if (k > n)
            k = n;
        memcpy(w->buf + w->len, p, k);
        w->len += k;
        p += k;
        n -= k;
    }
    return 0;
}

static int w_header(struct walker *w, int type, uint32_t mode)
{
    uint8_t h[HDR_LEN] = {(uint8_t)type, 0, 0, 0};

    put32(h + 4, mode);
    put32(h + 8, (uint32_t)w->pathlen);
    if (w_emit(w, h, sizeof(h), true) < 0 || w_emit(w, w->path, w->pathlen, true) < 0)
        return -1;
    return 0;
}

static void w_report(struct walker *w, enum tree_event ev)
{
    if (w->reporting && w->f != NULL && w->f->report != NULL)
        w->f->report(ev, w->path, w->f->report_data);
}

static void w_manifest(struct walker *w, enum tree_type type)
{
    struct tree_manifest *m = w->man;

    if (m == NULL)
        return;
    if (m->len == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->entries = xrealloc(m->entries, m->cap * sizeof(*m->entries));
    }
    m->entries[m->len].path = xstrdup(w->path);
    m->entries[m->len].type = type;
    m->len++;
}

static int w_file(struct walker *w, int dirfd, const char *name)
{
    cleanup_close int fd = -1;
    struct stat st;
    uint8_t size[8];
    uint64_t left;

    /* O_NONBLOCK: if the entry became a fifo since readdir, open must not
     * wait for a writer; fstat below then skips it. */
    fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) /* removed since readdir: as if walked a moment later */
            return 0;
        if (errno == ELOOP) { /* replaced by a symlink since readdir */
            w->st->skipped_symlinks++;
            w_report(w, TREE_EV_SKIPPED_SYMLINK);
            return 0;
        }
        return amber_error_errno(w->err, "open '%s'", SHOWN(w->path));
    }
    if (fstat(fd, &st) < 0)
        return amber_error_errno(w->err, "stat '%s'", SHOWN(w->path));
    if (!S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode))
            return amber_error_set(w->err, 0, "'%s' changed while being copied", SHOWN(w->path));
        w->st->skipped_special++;
        w_report(w, TREE_EV_SKIPPED_SPECIAL);
        return 0;
    }
    left = (uint64_t)st.st_size;
    put64(size, left);
    if (w_header(w, TREE_FILE, (uint32_t)(st.st_mode & 0777)) < 0 ||
        w_emit(w, size, sizeof(size), true) < 0)
        return -1;
    /* Read straight into the output buffer and hash there: the bytes hashed
     * are the bytes sent. Only st_size bytes are sent if the file grows. */
    while (left > 0) {
        size_t want = IOBUF_SIZE - w->len;
        ssize_t r;

        if (want == 0) {
            if (w_flush(w) < 0)
                return -1;
            continue;
        }
        if (want > left)
            want = (size_t)left;
        r = read(fd, w->buf + w->len, want);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return amber_error_errno(w->err, "read '%s'", SHOWN(w->path));
        }
        if (r == 0)
            return amber_error_set(w->err, 0, "'%s' shrank while being copied", SHOWN(w->path));
        sha256_update(&w->sha, (size_t)r, w->buf + w->len);
        w->len += (size_t)r;
        left -= (uint64_t)r;
    }
    w->st->files++;
    w->st->bytes += (uint64_t)st.st_size;
    w_manifest(w, TREE_FILE);
    return 0;
}

static int w_symlink(struct walker *w, int dirfd, const char *name, size_t depth)
{
    char target[TREE_PATH_MAX];
    uint8_t tl[4];
    ssize_t n = readlinkat(dirfd, name, target, sizeof(target));

    if (n < 0) {
        if (errno == ENOENT) /* removed since readdir */
            return 0;
        return amber_error_errno(w->err, "readlink '%s'", SHOWN(w->path));
    }
    if (n == 0 || (size_t)n >= sizeof(target)) {
        w->st->skipped_symlinks++;
        w_report(w, TREE_EV_SKIPPED_SYMLINK);
        return 0;
    }
    target[n] = '\0';
    if (!target_inside(target, depth)) {
        w->st->skipped_symlinks++;
        w_report(w, TREE_EV_SKIPPED_SYMLINK);
        return 0;
    }
    put32(tl, (uint32_t)n);
    if (w_header(w, TREE_SYMLINK, 0) < 0 || w_emit(w, tl, sizeof(tl), true) < 0 ||
        w_emit(w, target, (size_t)n, true) < 0)
        return -1;
    w->st->symlinks++;
    w_manifest(w, TREE_SYMLINK);
    return 0;
}

struct dent {
    char *name;
    unsigned char type;
};

static int dent_cmp(const void *a, const void *b)
{
    return strcmp(((const struct dent *)a)->name, ((const struct dent *)b)->name);
}

static void dents_free(struct dent *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

static int read_sorted(struct walker *w, int dirfd, struct dent **out, size_t *outn)
{
    cleanup_closedir DIR *d = NULL;
    struct dent *v = NULL;
    size_t n = 0, cap = 0;
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0 || (d = fdopendir(fd)) == NULL) {
        amber_error_errno(w->err, "open directory '%s'", w->pathlen ? SHOWN(w->path) : ".");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (;;) {
        struct dirent *de;

        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            if (errno != 0) {
                dents_free(v, n);
                return amber_error_errno(w->err, "read directory '%s'",
                                         w->pathlen ? SHOWN(w->path) : ".");
            }
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            v = xrealloc(v, cap * sizeof(*v));
        }
        v[n].name = xstrdup(de->d_name);
        v[n].type = de->d_type;
        n++;
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), dent_cmp);
    *out = v;
    *outn = n;
    return 0;
}

/* Walk the directory at w->path, whose fd is dirfd_in (owned: closed on
 * return), depth components below the root. */
static int walk_dir(struct walker *w, int dirfd_in, size_t depth)
{
    cleanup_close int dirfd = dirfd_in;
    struct dent *ents = NULL;
    size_t n = 0, base = w->pathlen;
    int rc = -1;

    if (read_sorted(w, dirfd, &ents, &n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *name = ents[i].name;
        size_t nl = strlen(name), sep = base ? 1 : 0;
        unsigned char type = ents[i].type;
        int r = 0;

        w->path[base] = '\0';
        w->pathlen = base;
        if (dirfd < 0) {
            dirfd = reopen_dir(w->rootfd, w->path, base, w->err);
            if (dirfd < 0)
                goto out;
        }
        if (base + sep + nl >= TREE_PATH_MAX) {
            amber_error_set(w->err, ENAMETOOLONG, "'%s/%s'", SHOWN(w->path), SHOWN(name));
            goto out;
        }
        if (sep)
            w->path[base] = '/';
        memcpy(w->path + base + sep, name, nl + 1);
        w->pathlen = base + sep + nl;

        if (type == DT_UNKNOWN) {
            struct stat st;

            if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT) /* removed since readdir */
                    continue;
                amber_error_errno(w->err, "stat '%s'", SHOWN(w->path));
                goto out;
            }
            type = S_ISDIR(st.st_mode)   ? DT_DIR
                   : S_ISREG(st.st_mode) ? DT_REG
                   : S_ISLNK(st.st_mode) ? DT_LNK
                                         : DT_FIFO;
        }
        if (matcher_excludes(&w->match, w->path, name, type == DT_DIR)) {
            w->st->excluded++;
            strv_push(&w->st->excluded_paths, &w->st->excluded_len, w->path);
            w_report(w, TREE_EV_EXCLUDED);
            continue;
        }
        switch (type) {
        case DT_REG:
            r = w_file(w, dirfd, name);
            break;
        case DT_LNK:
            r = w_symlink(w, dirfd, name, depth);
            break;
        case DT_DIR: {
            struct stat st;
            int child = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

            if (child < 0) {
                if (errno == ENOENT) /* removed since readdir */
                    break;
                amber_error_errno(w->err, "open directory '%s'", SHOWN(w->path));
                goto out;
            }
            if (fstat(child, &st) < 0) {
                amber_error_errno(w->err, "stat '%s'", SHOWN(w->path));
                close(child);
                goto out;
            }
            if (st.st_dev != w->rootdev && !(w->f != NULL && w->f->cross_mounts)) {
                close(child);
                w->st->skipped_mounts++;
                w_report(w, TREE_EV_SKIPPED_MOUNT);
                break;
            }
            if (w_header(w, TREE_DIR, (uint32_t)(st.st_mode & 0777)) < 0) {
                close(child);
                goto out;
            }
            w->st->dirs++;
            w_manifest(w, TREE_DIR);
            /* Bound the fds held along the chain; reopened above if needed. */
            if (depth + 1 >= OPEN_FDS) {
                close(dirfd);
                dirfd = -1;
            }
            r = walk_dir(w, child, depth + 1);
            break;
        }
        default:
            w->st->skipped_special++;
            w_report(w, TREE_EV_SKIPPED_SPECIAL);
            break;
        }
        if (r < 0)
            goto out;
    }
    rc = 0;
out:
    w->path[base] = '\0';
    w->pathlen = base;
    dents_free(ents, n);
    return rc;
}

/* Shared by tree_send_manifest (outfd >= 0) and tree_digest (outfd < 0). */
static int walk_tree(int srcdirfd, int outfd, const struct tree_filter *f, struct tree_stats *st,
                     struct tree_manifest *manifest, uint8_t digest[TREE_DIGEST_SIZE],
                     struct amber_error *err)
{
    struct tree_stats local;
    struct walker *w = xcalloc(1, sizeof(*w));
    struct stat rst;
    sigset_t pipeset, oldmask, pending;
    bool was_pending = false;
    uint8_t d[TREE_DIGEST_SIZE];
    int rootfd, rc = -1;

    sigemptyset(&pipeset);
    sigemptyset(&oldmask);
    if (st == NULL)
        st = &local;
    memset(st, 0, sizeof(*st));
    if (manifest != NULL)
        memset(manifest, 0, sizeof(*manifest));
    w->st = st;
    w->man = manifest;
    w->f = f;
    w->reporting = outfd >= 0;
    w->outfd = outfd;
    w->err = err;
    w->rootfd = srcdirfd;
    w->buf = xmalloc(IOBUF_SIZE);
    matcher_init(&w->match, f);
    sha256_init(&w->sha);

    if (outfd >= 0) {
        struct stat ost;

        /* A writer to a dead pipe gets SIGPIPE, which would kill amber:
         * block it in this thread for the duration and swallow the one our
         * own write raised (it is thread-directed); EPIPE is the error. */
        sigaddset(&pipeset, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipeset, &oldmask);
        if (sigpending(&pending) == 0)
            was_pending = sigismember(&pending, SIGPIPE) == 1;
        /* A bigger pipe means fewer context switches between sender and
         * receiver; failure (pipe-user-pages limits) costs only speed. */
        if (fstat(outfd, &ost) == 0 && S_ISFIFO(ost.st_mode))
            (void)fcntl(outfd, F_SETPIPE_SZ, 1024 * 1024);
    }

    rootfd = openat(srcdirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        amber_error_errno(err, "open source directory");
        goto out;
    }
    if (fstat(rootfd, &rst) < 0) {
        amber_error_errno(err, "stat source directory");
        close(rootfd);
        goto out;
    }
    w->rootdev = rst.st_dev;
    if (w_emit(w, TREE_MAGIC, TREE_MAGIC_LEN, false) < 0) {
        close(rootfd);
        goto out;
    }
    if (walk_dir(w, rootfd, 0) < 0)
        goto out;
    sha256_digest(&w->sha, sizeof(d), d);
    {
        uint8_t end[HDR_LEN] = {REC_END, 0, 0, 0};

        if (w_emit(w, end, sizeof(end), false) < 0 || w_emit(w, d, sizeof(d), false) < 0 ||
            w_flush(w) < 0)
            goto out;
    }
    if (digest != NULL)
        memcpy(digest, d, sizeof(d));
    rc = 0;
out:
    if (outfd >= 0) {
        if (w->epipe && !was_pending) {
            struct timespec zero = {0, 0};
            (void)sigtimedwait(&pipeset, NULL, &zero);
        }
        pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
    }
    if (rc < 0 && manifest != NULL)
        tree_manifest_free(manifest);
    if (st == &local)
        tree_stats_free(&local);
    matcher_free(&w->match);
    free(w->buf);
    free(w);
    return rc;
}

int tree_send_manifest(int srcdirfd, int outfd, const struct tree_filter *f, struct tree_stats *st,
                       struct tree_manifest *manifest, uint8_t digest[TREE_DIGEST_SIZE],
                       struct amber_error *err)
{
    if (outfd < 0)
        return amber_error_set(err, EBADF, "tree stream: no output");
    return walk_tree(srcdirfd, outfd, f, st, manifest, digest, err);
}

int tree_send(int srcdirfd, int outfd, const struct tree_filter *f, struct tree_stats *st,
              uint8_t digest[TREE_DIGEST_SIZE], struct amber_error *err)
{
    return tree_send_manifest(srcdirfd, outfd, f, st, NULL, digest, err);
}

int tree_digest(int dirfd, const struct tree_filter *f, uint8_t digest[TREE_DIGEST_SIZE],
                struct amber_error *err)
{
    return walk_tree(dirfd, -1, f, NULL, NULL, digest, err);
}

/* ---- receivers: reading records ---- */

struct reader {
    int fd;
    struct sha256_ctx sha;
    struct amber_error *err;
};

/* Exactly n bytes; never reads beyond what the format says comes next, so
 * the caller can keep using infd after the end record. */
static int read_exact(struct reader *r, void *buf, size_t n, bool hash)
{
    uint8_t *p = buf;
    size_t got = 0;

    while (got < n) {
        ssize_t k = read(r->fd, p + got, n - got);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return amber_error_errno(r->err, "read tree stream");
        }
        if (k == 0)
            return proto_error(r->err, "truncated");
        got += (size_t)k;
    }
    if (hash)
        sha256_update(&r->sha, n, p);
    return 0;
}

struct record {
    int type;
    uint32_t mode;
    char path[TREE_PATH_MAX];
    size_t pathlen;
    uint64_t size;                    /* 'F': content follows, read by the caller */
    char target[TREE_PATH_MAX];       /* 'L' */
    uint8_t digest[TREE_DIGEST_SIZE]; /* 'E' */
};

static int read_magic(struct reader *r)
{
    uint8_t m[TREE_MAGIC_LEN];

    if (read_exact(r, m, sizeof(m), false) < 0)
        return -1;
    if (memcmp(m, TREE_MAGIC, TREE_MAGIC_LEN) != 0)
        return proto_error(r->err, "not an amber tree stream (bad magic)");
    return 0;
}

static int read_record(struct reader *r, struct record *rec)
{
    uint8_t h[HDR_LEN];
    uint32_t plen;
    const char *why;

    if (read_exact(r, h, sizeof(h), false) < 0)
        return -1;
    rec->type = h[0];
    rec->mode = get32(h + 4);
    plen = get32(h + 8);
    if (h[1] != 0 || h[2] != 0 || h[3] != 0)
        return proto_error(r->err, "bad record header");
    if (rec->type == REC_END) {
        if (rec->mode != 0 || plen != 0)
            return proto_error(r->err, "bad end record");
        return read_exact(r, rec->digest, sizeof(rec->digest), false);
    }
    if (rec->type != TREE_DIR && rec->type != TREE_FILE && rec->type != TREE_SYMLINK)
        return proto_error(r->err, "unknown record type 0x%02x", (unsigned)rec->type);
    sha256_update(&r->sha, sizeof(h), h);
    if (plen == 0 || plen >= TREE_PATH_MAX)
        return proto_error(r->err, "bad path length %u", plen);
    if (read_exact(r, rec->path, plen, true) < 0)
        return -1;
    rec->path[plen] = '\0';
    rec->pathlen = plen;
    if ((why = check_relpath(rec->path, plen)) != NULL)
        return proto_error(r->err, "'%s': %s", SHOWN(rec->path), why);
    if (rec->type == TREE_SYMLINK ? rec->mode != 0 : (rec->mode & ~(uint32_t)0777) != 0)
        return proto_error(r->err, "'%s': bad mode 0%o", SHOWN(rec->path), rec->mode);
    if (rec->type == TREE_FILE) {
        uint8_t s[8];

        if (read_exact(r, s, sizeof(s), true) < 0)
            return -1;
        rec->size = get64(s);
        if (rec->size >= MAX_FILE_SIZE)
            return proto_error(r->err, "'%s': bad size", SHOWN(rec->path));
    } else if (rec->type == TREE_SYMLINK) {
        uint8_t s[4];
        uint32_t tlen;

        if (read_exact(r, s, sizeof(s), true) < 0)
            return -1;
        tlen = get32(s);
        if (tlen == 0 || tlen >= TREE_PATH_MAX)
            return proto_error(r->err, "'%s': bad symlink target length", SHOWN(rec->path));
        if (read_exact(r, rec->target, tlen, true) < 0)
            return -1;
        if (memchr(rec->target, '\0', tlen) != NULL)
            return proto_error(r->err, "'%s': NUL in symlink target", SHOWN(rec->path));
        rec->target[tlen] = '\0';
    }
    return 0;
}

/* Consume n content bytes, into fd when fd >= 0. */
static int read_content(struct reader *r, int fd, uint64_t n, uint8_t *buf, const char *path)
{
    while (n > 0) {
        size_t k = n > IOBUF_SIZE ? IOBUF_SIZE : (size_t)n;

        if (read_exact(r, buf, k, true) < 0)
            return -1;
        if (fd >= 0 && fs_write_all(fd, buf, k) < 0)
            return amber_error_errno(r->err, "write '%s'", SHOWN(path));
        n -= k;
    }
    return 0;
}

/* ---- receivers: the directory chain ---- */

struct dlevel {
    int fd;     /* O_RDONLY directory fd; -1 when closed (reopened on demand) */
    size_t end; /* cur[0..end) is this directory's relative path */
    uint32_t mode;
    bool set_mode; /* apply mode when leaving the directory */
    bool skip;     /* tree_apply: a subtree whose entries are not applied */
};

struct dstack {
    int rootfd; /* borrowed */
    char cur[TREE_PATH_MAX];
    struct dlevel lv[MAX_DEPTH + 1];
    size_t depth;
    char last[NAME_MAX + 1]; /* last name seen in the current directory */
};

static struct dstack *ds_new(int rootfd)
{
    struct dstack *ds = xcalloc(1, sizeof(*ds));

    ds->rootfd = rootfd;
    ds->lv[0].fd = rootfd;
    return ds;
}

static void ds_free(struct dstack *ds)
{
    if (ds == NULL)
        return;
    for (size_t i = 1; i <= ds->depth; i++)
        if (ds->lv[i].fd >= 0)
            close(ds->lv[i].fd);
    free(ds);
}

static int ds_fd(struct dstack *ds, size_t i, struct amber_error *err)
{
    if (ds->lv[i].fd < 0)
        ds->lv[i].fd = reopen_dir(ds->rootfd, ds->cur, ds->lv[i].end, err);
    return ds->lv[i].fd;
}

/* Check rec's place in canonical order and find its parent on the chain.
 * Returns the parent's depth and sets *name; the caller then pops to it. */
static int ds_locate(struct dstack *ds, const struct record *rec, size_t *k, const char **name,
                     struct amber_error *err)
{
    const char *slash = memrchr(rec->path, '/', rec->pathlen);
    size_t plen = slash ? (size_t)(slash - rec->path) : 0, depth = 0;

    if (slash != NULL) {
        depth = 1;
        for (size_t i = 0; i < plen; i++)
            depth += rec->path[i] == '/';
    }
    /* The parent must be a directory this stream entered and has not left:
     * anything else (a symlink, a file, a directory already finished) is
     * either an attack or a broken sender. */
    if (depth > ds->depth || ds->lv[depth].end != plen || memcmp(ds->cur, rec->path, plen) != 0)
        return proto_error(err, "'%s': parent is not the directory entered last", SHOWN(rec->path));
    *k = depth;
    *name = slash ? slash + 1 : rec->path;
    return 0;
}

/* Leave the deepest directory: apply its mode, close it. */
static int ds_pop(struct dstack *ds, struct amber_error *err)
{
    struct dlevel *l = &ds->lv[ds->depth];
    size_t start = ds->lv[ds->depth - 1].end;
    int rc = 0;

    if (ds->depth > 1)
        start++; /* the '/' */
    if (l->set_mode && !l->skip) {
        int fd = ds_fd(ds, ds->depth, err);

        if (fd < 0 || fchmod(fd, l->mode) < 0) {
            if (fd >= 0)
                amber_error_errno(err, "chmod '%s'", SHOWN(ds->cur));
            rc = -1;
        }
    }
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    /* The directory we leave is the last name seen in its parent. */
    memcpy(ds->last, ds->cur + start, l->end - start);
    ds->last[l->end - start] = '\0';
    ds->cur[ds->lv[ds->depth - 1].end] = '\0';
    ds->depth--;
    return rc;
}

static int ds_pop_to(struct dstack *ds, size_t k, struct amber_error *err)
{
    while (ds->depth > k)
        if (ds_pop(ds, err) < 0)
            return -1;
    return 0;
}

/* Names within a directory must strictly increase. */
static int ds_order(struct dstack *ds, const struct record *rec, const char *name,
                    struct amber_error *err)
{
    if (strcmp(name, ds->last) <= 0)
        return proto_error(err, "'%s': out of order or duplicate", SHOWN(rec->path));
    snprintf(ds->last, sizeof(ds->last), "%s", name);
    return 0;
}

/* Enter directory `name` (a child of the current one). */
static void ds_push(struct dstack *ds, const char *name, int fd, uint32_t mode, bool set_mode,
                    bool skip)
{
    size_t base = ds->lv[ds->depth].end, sep = ds->depth ? 1 : 0, nl = strlen(name);
    struct dlevel *l = &ds->lv[++ds->depth];

    /* Cannot overflow: the record's path, checked < TREE_PATH_MAX, is this. */
    if (sep)
        ds->cur[base] = '/';
    memcpy(ds->cur + base + sep, name, nl + 1);
    l->end = base + sep + nl;
    l->fd = fd;
    l->mode = mode;
    l->set_mode = set_mode;
    l->skip = skip;
    ds->last[0] = '\0';
    if (ds->depth > OPEN_FDS) {
        struct dlevel *old = &ds->lv[ds->depth - OPEN_FDS];

        if (old->fd >= 0) {
            close(old->fd);
            old->fd = -1;
        }
    }
}

/* ---- tree_recv ---- */

static int recv_chown(int fd, const char *name, uid_t uid, gid_t gid, const char *path,
                      struct amber_error *err)
{
    int rc;

    if (uid == (uid_t)-1 && gid == (gid_t)-1)
        return 0;
    rc = name ? fchownat(fd, name, uid, gid, AT_SYMLINK_NOFOLLOW) : fchown(fd, uid, gid);
    if (rc == 0)
        return 0;
    /* Without CAP_CHOWN, chown to our own ids fails on some filesystems
     * while the entry is already ours. */
    if (errno == EPERM && (uid == (uid_t)-1 || uid == geteuid()) &&
        (gid == (gid_t)-1 || gid == getegid()))
        return 0;
    return amber_error_errno(err, "chown '%s'", SHOWN(path));
}

int tree_recv(int infd, int dstdirfd, uid_t uid, gid_t gid, uint8_t digest[TREE_DIGEST_SIZE],
              struct amber_error *err)
{
    struct reader r = {.fd = infd, .err = err};
    struct record *rec = xmalloc(sizeof(*rec));
    struct dstack *ds = ds_new(dstdirfd);
    uint8_t *buf = xmalloc(IOBUF_SIZE);
    uint8_t d[TREE_DIGEST_SIZE];
    int rc = -1;

    sha256_init(&r.sha);
    if (read_magic(&r) < 0)
        goto out;
    for (;;) {
        const char *name;
        size_t k;
        int pd;

        if (read_record(&r, rec) < 0)
            goto out;
        if (rec->type == REC_END) {
            if (ds_pop_to(ds, 0, err) < 0)
                goto out;
            sha256_digest(&r.sha, sizeof(d), d);
            if (digest != NULL)
                memcpy(digest, d, sizeof(d));
            if (memcmp(d, rec->digest, sizeof(d)) != 0) {
                proto_error(err, "digest mismatch: the tree received is not the tree sent");
                goto out;
            }
            break;
        }
        if (ds_locate(ds, rec, &k, &name, err) < 0 || ds_pop_to(ds, k, err) < 0 ||
            ds_order(ds, rec, name, err) < 0)
            goto out;
        if ((pd = ds_fd(ds, k, err)) < 0)
            goto out;
        switch (rec->type) {
        case TREE_DIR: {
            int fd;

            /* 0700 until its contents are in; the stream's mode at the end. */
            if (mkdirat(pd, name, 0700) < 0) {
                amber_error_errno(err, "mkdir '%s'", SHOWN(rec->path));
                goto out;
            }
            fd = openat(pd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) {
                amber_error_errno(err, "open '%s'", SHOWN(rec->path));
                goto out;
            }
            ds_push(ds, name, fd, rec->mode, true, false);
            if (recv_chown(fd, NULL, uid, gid, rec->path, err) < 0)
                goto out;
            break;
        }
        case TREE_FILE: {
            cleanup_close int fd = openat(
                pd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);

            if (fd < 0) {
                amber_error_errno(err, "create '%s'", SHOWN(rec->path));
                goto out;
            }
            if (read_content(&r, fd, rec->size, buf, rec->path) < 0 ||
                recv_chown(fd, NULL, uid, gid, rec->path, err) < 0)
                goto out;
            if (fchmod(fd, rec->mode) < 0) {
                amber_error_errno(err, "chmod '%s'", SHOWN(rec->path));
                goto out;
            }
            break;
        }
        case TREE_SYMLINK:
            /* The sender never sends these; a stream that does is hostile. */
            if (!target_inside(rec->target, k)) {
                proto_error(err, "'%s': symlink target '%s' could leave the tree", SHOWN(rec->path),
                            SHOWN(rec->target));
                goto out;
            }
            if (symlinkat(rec->target, pd, name) < 0) {
                amber_error_errno(err, "symlink '%s'", SHOWN(rec->path));
                goto out;
            }
            if (recv_chown(pd, name, uid, gid, rec->path, err) < 0)
                goto out;
            break;
        }
    }
    rc = 0;
out:
    ds_free(ds);
    free(rec);
    free(buf);
    return rc;
}

/* ---- tree_apply ---- */

struct applier {
    int rootfd;
    dev_t rootdev;
    const struct tree_manifest *man;
    bool *seen;
    size_t mi; /* merge pointer: manifest and stream share the canonical order */
    struct tree_apply_stats *st;
    struct dstack *ds;
    struct reader r;
    struct record *rec;
    uint8_t *buf, *buf2;
    unsigned tmpseq;
    struct amber_error *err;
};

static void a_skip(struct applier *a, const char *path, const char *reason)
{
    a->st->skipped++;
    if (a->st->skipped_len < TREE_APPLY_REPORT_MAX) {
        char *s = xasprintf("%s: %s", SHOWN(path), reason);
        strv_push(&a->st->skipped_paths, &a->st->skipped_len, s);
        free(s);
    }
}

/* The manifest entry for path, or -1; marks it present in the stream. */
static ssize_t a_find(struct applier *a, const char *path)
{
    const struct tree_manifest *m = a->man;

    if (m == NULL)
        return -1;
    while (a->mi < m->len && pathcmp(m->entries[a->mi].path, path) < 0)
        a->mi++;
    if (a->mi < m->len && pathcmp(m->entries[a->mi].path, path) == 0) {
        a->seen[a->mi] = true;
        return (ssize_t)a->mi++;
    }
    return -1;
}

/* Give a new entry the owner of its directory, a replacement the owner of
 * what it replaces: when the caller is root this keeps the user's tree the
 * user's; otherwise chown is a no-op or fails with EPERM, which is fine. */
static void a_chown(int fd, const char *name, uid_t uid, gid_t gid)
{
    if (uid == geteuid() && gid == getegid())
        return;
    if (name != NULL)
        (void)fchownat(fd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
    else
        (void)fchown(fd, uid, gid);
}

/* Create a fresh temp file (fd returned) or symlink (target != NULL; 0
 * returned) in directory pd, named into tmp. */
static int a_temp(struct applier *a, int pd, char tmp[64], const char *target)
{
    for (int tries = 0; tries < 1000; tries++) {
        int fd = 0;

        snprintf(tmp, 64, ".amber-sync.%ld.%u", (long)getpid(), a->tmpseq++);
        if (target != NULL) {
            if (symlinkat(target, pd, tmp) == 0)
                return 0;
        } else {
            fd = openat(pd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
                        0600);
            if (fd >= 0)
                return fd;
        }
        if (errno != EEXIST)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

/* Rename tmp over name. replace == false: only if name does not exist. */
static int a_rename(int pd, const char *tmp, const char *name, bool replace)
{
    if (replace)
        return renameat(pd, tmp, pd, name);
    if (renameat2(pd, tmp, pd, name, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    /* No RENAME_NOREPLACE on this filesystem: link() never replaces. */
    if (linkat(pd, tmp, pd, name, 0) < 0)
        return -1;
    unlinkat(pd, tmp, 0);
    return 0;
}

/* Copy the first len bytes of src into dst (both at offset 0); leaves dst's
 * file offset at len. */
static int copy_prefix(int src, int dst, uint64_t len, uint8_t *buf)
{
    loff_t in = 0, out = 0;

    while ((uint64_t)in < len) {
        ssize_t n = copy_file_range(src, &in, dst, &out, (size_t)(len - (uint64_t)in), 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
                return -1;
            /* No in-kernel copy here: fall back to read/write. */
            while ((uint64_t)in < len) {
                size_t k =
                    len - (uint64_t)in > IOBUF_SIZE ? IOBUF_SIZE : (size_t)(len - (uint64_t)in);
                ssize_t got = pread_full(src, buf, k, in);

                if (got < 0)
                    return -1;
                if ((size_t)got < k) {
                    errno = EIO; /* shrank under us */
                    return -1;
                }
                if (pwrite(dst, buf, k, out) != (ssize_t)k)
                    return -1;
                in += (loff_t)k;
                out += (loff_t)k;
            }
            break;
        }
        if (n == 0) {
            errno = EIO;
            return -1;
        }
    }
    return lseek(dst, (off_t)len, SEEK_SET) < 0 ? -1 : 0;
}

/* Result of applying one entry: done, skipped (reported, stream consumed),
 * or a fatal stream error. */
enum { A_FATAL = -1, A_DONE = 0, A_SKIPPED = 1 };

/* Remove the manifest entry idx from the host, if it is still what was
 * copied in. Never fatal: what cannot be removed is reported. */
static void a_delete(struct applier *a, size_t idx)
{
    const struct tree_manifest_entry *e = &a->man->entries[idx];
    const char *slash = strrchr(e->path, '/');
    const char *name = slash ? slash + 1 : e->path;
    char parent[TREE_PATH_MAX];
    struct amber_error perr;
    struct stat st;
    cleanup_close int pfd = -1;

    snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - e->path) : 0, e->path);
    pfd = path_open_beneath(a->rootfd, parent, O_DIRECTORY, &perr);
    if (pfd < 0) {
        if (perr.code != ENOENT)
            a_skip(a, e->path,
                   "not deleted: its directory cannot be reached without "
                   "following a symlink");
        return;
    }
    if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno != ENOENT)
            a_skip(a, e->path, "not deleted: cannot stat it");
        return;
    }
    if (type_of_mode(st.st_mode) != e->type) {
        a_skip(a, e->path, "not deleted: it changed type on the host");
        return;
    }
    if (unlinkat(pfd, name, e->type == TREE_DIR ? AT_REMOVEDIR : 0) < 0) {
        if (errno == ENOENT)
            return;
        a_skip(a, e->path,
               errno == ENOTEMPTY || errno == EEXIST ? "not deleted: directory not empty"
                                                     : "not deleted: unlink failed");
        return;
    }
    a->st->deleted++;
}

/* The host has a manifest directory at idx where the stream has a
 * non-directory: remove the directory's manifest contents, deepest first,
 * then the directory. Returns 0 when it is gone. */
static int a_clear_dir(struct applier *a, size_t idx, int pd, const char *name)
{
    const struct tree_manifest *m = a->man;
    const char *p = m->entries[idx].path;
    size_t plen = strlen(p), end = idx + 1;

    while (end < m->len && strncmp(m->entries[end].path, p, plen) == 0 &&
           m->entries[end].path[plen] == '/')
        end++;
    for (size_t j = end; j-- > idx + 1;) {
        a->seen[j] = true; /* handled here, not in the final pass */
        a_delete(a, j);
    }
    if (a->mi < end)
        a->mi = end;
    if (unlinkat(pd, name, AT_REMOVEDIR) < 0)
        return -1;
    a->st->deleted++;
    return 0;
}

/* Stream content of rec->size bytes for pd/name. old: the host file it may
 * replace (in the manifest with the same type), NULL for a new entry;
 * owner: who the result belongs to. */
static int a_file(struct applier *a, int pd, const char *name, const struct stat *old, uid_t ouid,
                  gid_t ogid)
{
    const struct record *rec = a->rec;
    cleanup_close int oldfd = -1;
    cleanup_close int tmpfd = -1;
    char tmp[64] = "";
    uint64_t off = 0;
    size_t pending = 0; /* bytes in a->buf read from the stream, not yet written */
    const char *why = NULL;

    if (old != NULL && S_ISREG(old->st_mode)) {
        struct stat ost;

        oldfd = openat(pd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (oldfd >= 0 && (fstat(oldfd, &ost) < 0 || ost.st_ino != old->st_ino ||
                           ost.st_dev != old->st_dev || !S_ISREG(ost.st_mode))) {
            close(oldfd);
            oldfd = -1;
        }
    }
    /* Same size: compare chunk by chunk while reading, writing nothing until
     * the first difference. Then the host file's prefix (equal to what was
     * read so far) is copied into the temp file, so memory stays bounded. */
    if (oldfd >= 0 && (uint64_t)old->st_size == rec->size) {
        while (off < rec->size) {
            size_t k = rec->size - off > IOBUF_SIZE ? IOBUF_SIZE : (size_t)(rec->size - off);
            ssize_t got;

            if (read_exact(&a->r, a->buf, k, true) < 0)
                return A_FATAL;
            got = pread_full(oldfd, a->buf2, k, (off_t)off);
            if (got != (ssize_t)k || memcmp(a->buf, a->buf2, k) != 0) {
                pending = k;
                break;
            }
            off += k;
        }
        if (off == rec->size) {
            if ((old->st_mode & 0777) == rec->mode) {
                a->st->unchanged++;
                return A_DONE;
            }
            /* Mode only. fchmod on a file with other hard links would also
             * change them (they may be outside the tree): rewrite instead. */
            if (old->st_nlink == 1) {
                if (fchmod(oldfd, rec->mode) < 0) {
                    a_skip(a, rec->path, "chmod failed");
                    return A_SKIPPED;
                }
                a->st->modes++;
                return A_DONE;
            }
        }
    }
    tmpfd = a_temp(a, pd, tmp, NULL);
    if (tmpfd < 0) {
        why = "cannot create a temp file beside it";
        goto drain;
    }
    if (off > 0 && copy_prefix(oldfd, tmpfd, off, a->buf2) < 0) {
        why = "cannot copy the unchanged prefix";
        goto drain;
    }
    if (pending > 0) {
        if (fs_write_all(tmpfd, a->buf, pending) < 0) {
            why = "write failed";
            goto drain;
        }
        off += pending;
        pending = 0;
    }
    while (off < rec->size) {
        size_t k = rec->size - off > IOBUF_SIZE ? IOBUF_SIZE : (size_t)(rec->size - off);

        if (read_exact(&a->r, a->buf, k, true) < 0)
            goto fatal;
        off += k;
        if (fs_write_all(tmpfd, a->buf, k) < 0) {
            why = "write failed";
            goto drain;
        }
    }
    a_chown(tmpfd, NULL, ouid, ogid);
    if (fchmod(tmpfd, rec->mode) < 0) {
        why = "chmod failed";
        goto drain;
    }
    if (a_rename(pd, tmp, name, old != NULL) < 0) {
        why = errno == EEXIST ? "appeared on the host meanwhile" : "rename failed";
        goto drain;
    }
    a->st->written++;
    return A_DONE;

drain:
    if (tmp[0] != '\0')
        unlinkat(pd, tmp, 0);
    off += pending;
    if (read_content(&a->r, -1, rec->size - off, a->buf, rec->path) < 0)
        return A_FATAL;
    a_skip(a, rec->path, why);
    return A_SKIPPED;
fatal:
    unlinkat(pd, tmp, 0);
    return A_FATAL;
}

static int a_symlink(struct applier *a, int pd, const char *name, const struct stat *old,
                     uid_t ouid, gid_t ogid)
{
    const struct record *rec = a->rec;
    char tmp[64];

    if (old != NULL && S_ISLNK(old->st_mode)) {
        char cur[TREE_PATH_MAX];
        ssize_t n = readlinkat(pd, name, cur, sizeof(cur) - 1);

        if (n >= 0) {
            cur[n] = '\0';
            if (strcmp(cur, rec->target) == 0) {
                a->st->unchanged++;
                return A_DONE;
            }
        }
    }
    if (old == NULL) {
        if (symlinkat(rec->target, pd, name) < 0) {
            a_skip(a, rec->path,
                   errno == EEXIST ? "appeared on the host meanwhile" : "symlink failed");
            return A_SKIPPED;
        }
        a_chown(pd, name, ouid, ogid);
        a->st->written++;
        return A_DONE;
    }
    if (a_temp(a, pd, tmp, rec->target) < 0) {
        a_skip(a, rec->path, "cannot create a temp symlink beside it");
        return A_SKIPPED;
    }
    a_chown(pd, tmp, ouid, ogid);
    if (renameat(pd, tmp, pd, name) < 0) {
        unlinkat(pd, tmp, 0);
        a_skip(a, rec->path, "rename failed");
        return A_SKIPPED;
    }
    a->st->written++;
    return A_DONE;
}

/* Skip the entry: drain a file's content, enter a directory as skipped. */
static int a_skip_entry(struct applier *a, const char *name, const char *why)
{
    const struct record *rec = a->rec;

    if (why != NULL)
        a_skip(a, rec->path, why);
    else
        a->st->skipped++; /* inside a skipped subtree: counted, reported once */
    if (rec->type == TREE_FILE && read_content(&a->r, -1, rec->size, a->buf, rec->path) < 0)
        return A_FATAL;
    if (rec->type == TREE_DIR)
        ds_push(a->ds, name, -1, 0, false, true);
    return A_SKIPPED;
}

static int a_entry(struct applier *a, size_t k, const char *name)
{
    const struct record *rec = a->rec;
    struct stat hst;
    uid_t ouid;
    gid_t ogid;
    bool exists, replaceable;
    ssize_t idx;
    int pd;

    idx = a_find(a, rec->path);
    if (a->ds->lv[k].skip)
        return a_skip_entry(a, name, NULL);
    /* Before anything on the host is touched for it. */
    if (rec->type == TREE_SYMLINK && !target_inside(rec->target, k))
        return a_skip_entry(a, name, "symlink target could leave the tree; not created");
    if ((pd = ds_fd(a->ds, k, a->err)) < 0)
        return A_FATAL;
    exists = fstatat(pd, name, &hst, AT_SYMLINK_NOFOLLOW) == 0;
    if (!exists && errno != ENOENT)
        return a_skip_entry(a, name, "cannot stat it on the host");
    /* Only what was copied in, and still has the type it had, may be
     * replaced; anything else on the host is not ours to destroy. */
    replaceable = exists && idx >= 0 && a->man->entries[idx].type == type_of_mode(hst.st_mode);
    if (exists && !replaceable && !(rec->type == TREE_DIR && S_ISDIR(hst.st_mode))) {
        if (S_ISLNK(hst.st_mode) && rec->type == TREE_DIR)
            return a_skip_entry(a, name, "is a symlink on the host; not followed");
        if (idx < 0)
            return a_skip_entry(a, name, "exists on the host and was not copied in");
        return a_skip_entry(a, name, "changed type on the host since copy-in");
    }
    /* Replacing a directory by a non-directory: its copied-in contents go
     * first (they cannot be in the stream: it has no such directory). */
    if (replaceable && S_ISDIR(hst.st_mode) && rec->type != TREE_DIR) {
        if (a_clear_dir(a, (size_t)idx, pd, name) < 0)
            return a_skip_entry(a, name, "directory on the host could not be removed");
        exists = false;
    }
    if (replaceable && !S_ISDIR(hst.st_mode) && rec->type == TREE_DIR) {
        if (unlinkat(pd, name, 0) < 0)
            return a_skip_entry(a, name, "could not be removed for a directory");
        a->st->deleted++;
        exists = false;
    }
    if (exists) {
        ouid = hst.st_uid;
        ogid = hst.st_gid;
    } else {
        struct stat pst;

        ouid = geteuid();
        ogid = getegid();
        if (fstat(pd, &pst) == 0) {
            ouid = pst.st_uid;
            ogid = pst.st_gid;
        }
    }

    switch (rec->type) {
    case TREE_DIR: {
        int fd;
        bool set_mode = false;

        if (!exists) {
            if (mkdirat(pd, name, 0700) < 0)
                return a_skip_entry(
                    a, name, errno == EEXIST ? "appeared on the host meanwhile" : "mkdir failed");
            set_mode = true;
        }
        fd = openat(pd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return a_skip_entry(a, name, "cannot be entered without following a symlink");
        /* Like tree_send: a mount point in the host tree was not copied
         * in, so nothing from the sandbox goes into it either. */
        if (exists && hst.st_dev != a->rootdev) {
            close(fd);
            return a_skip_entry(a, name, "is on another filesystem on the host");
        }
        if (!exists) {
            a_chown(fd, NULL, ouid, ogid);
            a->st->dirs_created++;
        } else if (replaceable && (hst.st_mode & 0777) != rec->mode) {
            /* Loosening now lets us write inside; tightening waits until
             * the contents are in. */
            if ((rec->mode & 0700) == 0700 && fchmod(fd, rec->mode) == 0)
                a->st->modes++;
            else {
                set_mode = true;
                a->st->modes++;
            }
        } else {
            a->st->unchanged++;
        }
        ds_push(a->ds, name, fd, rec->mode, set_mode, false);
        return A_DONE;
    }
    case TREE_FILE:
        return a_file(a, pd, name, exists ? &hst : NULL, ouid, ogid);
    case TREE_SYMLINK:
        return a_symlink(a, pd, name, exists ? &hst : NULL, ouid, ogid);
    }
    return A_DONE;
}

int tree_apply(int infd, int hostdirfd, const struct tree_manifest *before,
               struct tree_apply_stats *st, struct amber_error *err)
{
    struct tree_apply_stats local;
    struct applier a = {.rootfd = hostdirfd, .man = before, .err = err};
    int rc = -1;

    if (st == NULL)
        st = &local;
    memset(st, 0, sizeof(*st));
    a.st = st;
    {
        struct stat rst;

        if (fstat(hostdirfd, &rst) < 0) {
            amber_error_errno(err, "stat host directory");
            goto out_stats;
        }
        a.rootdev = rst.st_dev;
    }
    if (before != NULL) {
        for (size_t i = 0; i < before->len; i++) {
            const char *p = before->entries[i].path;

            if (check_relpath(p, strlen(p)) != NULL ||
                (i > 0 && pathcmp(before->entries[i - 1].path, p) >= 0)) {
                amber_error_set(err, EINVAL, "tree manifest: '%s' invalid or out of order",
                                SHOWN(p));
                goto out_stats;
            }
        }
        a.seen = xcalloc(before->len, sizeof(bool));
    }
    a.r.fd = infd;
    a.r.err = err;
    sha256_init(&a.r.sha);
    a.rec = xmalloc(sizeof(*a.rec));
    a.buf = xmalloc(IOBUF_SIZE);
    a.buf2 = xmalloc(IOBUF_SIZE);
    a.ds = ds_new(hostdirfd);

    if (read_magic(&a.r) < 0)
        goto out;
    for (;;) {
        const char *name;
        size_t k;

        if (read_record(&a.r, a.rec) < 0)
            goto out;
        if (a.rec->type == REC_END) {
            uint8_t d[TREE_DIGEST_SIZE];

            if (ds_pop_to(a.ds, 0, err) < 0)
                goto out;
            sha256_digest(&a.r.sha, sizeof(d), d);
            if (memcmp(d, a.rec->digest, sizeof(d)) != 0) {
                proto_error(err, "digest mismatch: nothing deleted");
                goto out;
            }
            break;
        }
        if (ds_locate(a.ds, a.rec, &k, &name, err) < 0 || ds_pop_to(a.ds, k, err) < 0 ||
            ds_order(a.ds, a.rec, name, err) < 0)
            goto out;
        if (a_entry(&a, k, name) == A_FATAL)
            goto out;
    }
    /* The whole stream arrived intact: what was copied in and is not in it
     * any more was deleted in the sandbox. Deepest first, so directories are
     * empty by the time they are reached. */
    if (before != NULL)
        for (size_t i = before->len; i-- > 0;)
            if (!a.seen[i])
                a_delete(&a, i);
    rc = 0;
out:
    ds_free(a.ds);
    free(a.rec);
    free(a.buf);
    free(a.buf2);
    free(a.seen);
out_stats:
    if (st == &local)
        tree_apply_stats_free(&local);
    return rc;
}

/* ---- freeing ---- */

void tree_stats_free(struct tree_stats *st)
{
    if (st == NULL)
        return;
    strv_free(st->excluded_paths);
    st->excluded_paths = NULL;
    st->excluded_len = 0;
}

void tree_apply_stats_free(struct tree_apply_stats *st)
{
    if (st == NULL)
        return;
    strv_free(st->skipped_paths);
    st->skipped_paths = NULL;
    st->skipped_len = 0;
}

void tree_manifest_free(struct tree_manifest *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->len; i++)
        free(m->entries[i].path);
    free(m->entries);
    memset(m, 0, sizeof(*m));
}
