/* The payload: secrets and tree copies, host side and sandbox side. See
 * payload.h for the wire order. */
#include "sandbox/payload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/xalloc.h"

#define SECRET_MAX (1 << 20)

static void report_excluded(enum tree_event ev, const char *relpath, void *data)
{
    static const char *const what[] = {
        [TREE_EV_EXCLUDED] = "excluded",
        [TREE_EV_SKIPPED_SPECIAL] = "special file",
        [TREE_EV_SKIPPED_SYMLINK] = "symlink leaving the tree",
        [TREE_EV_SKIPPED_MOUNT] = "other filesystem",
    };
    (void)data;
    amber_log(AMBER_LOG_WARN, "context: left out %s (%s)", relpath, what[ev]);
}

void payload_context_filter(const struct amber_spec *spec, struct tree_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->patterns = (const char *const *)spec->context_excludes;
    f->npatterns = spec->ncontext_excludes;
    if (spec->context_verbose)
        f->report = report_excluded;
}

void payload_workspace_filter(struct tree_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->no_default_excludes = true; /* the user's project, as it is */
}

/* Read a secret without following a symlink at its path, refusing
 * anything but a regular file of at most 1 MiB. */
static int read_secret(const char *src, struct payload_secret *s, struct amber_error *err)
{
    cleanup_close int fd = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    size_t off = 0;

    if (fd < 0) {
        if (errno == ELOOP)
            return amber_error_set(err, 0, "--secret '%s': is a symlink; give the file itself",
                                   src);
        return amber_error_errno(err, "--secret '%s'", src);
    }
    if (fstat(fd, &st) < 0)
        return amber_error_errno(err, "--secret '%s'", src);
    if (!S_ISREG(st.st_mode))
        return amber_error_set(err, 0, "--secret '%s': not a regular file", src);
    if (st.st_size > SECRET_MAX)
        return amber_error_set(err, 0, "--secret '%s': larger than 1 MiB", src);
    s->data = xmalloc((size_t)st.st_size + 1);
    while (off < (size_t)st.st_size) {
        ssize_t r = read(fd, s->data + off, (size_t)st.st_size - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            explicit_bzero(s->data, off);
            return amber_error_set(err, r < 0 ? errno : 0, "--secret '%s': read", src);
        }
        off += (size_t)r;
    }
    s->len = off;
    return 0;
}

int payload_prepare(const struct amber_spec *spec, struct payload *p, struct amber_error *err)
{
    memset(p, 0, sizeof(*p));
    p->context_fd = -1;
    p->workspace_fd = -1;

    if (spec->nsecrets > 0) {
        p->secrets = xcalloc(spec->nsecrets, sizeof(*p->secrets));
        for (size_t i = 0; i < spec->nsecrets; i++) {
            p->nsecrets++;
            p->secrets[i].name = xstrdup(spec->secrets[i].name);
            if (read_secret(spec->secrets[i].src, &p->secrets[i], err) < 0)
                return -1;
        }
    }
    if (spec->context != NULL && spec->context_mode == AMBER_CONTEXT_COPY) {
        p->context_fd = open(spec->context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (p->context_fd < 0)
            return amber_error_errno(err, "--context '%s'", spec->context);
        payload_context_filter(spec, &p->context_filter);
        if (spec->verify_context) {
            struct tree_filter quiet = p->context_filter;
            quiet.report = NULL;
            if (tree_digest(p->context_fd, &quiet, p->context_digest, err) < 0)
                return amber_error_prefix(err, "--verify-context-integrity: hash '%s'",
                                          spec->context);
        }
    }
    if (spec->workspace != NULL && spec->workspace_mode == AMBER_WORKSPACE_COPY_IN_OUT) {
        p->workspace_fd = open(spec->workspace, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (p->workspace_fd < 0)
            return amber_error_errno(err, "--workspace '%s'", spec->workspace);
        payload_workspace_filter(&p->workspace_filter);
    }
    return p->nsecrets > 0 || p->context_fd >= 0 || p->workspace_fd >= 0;
}

static int put_u32(int fd, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    return fs_write_all(fd, b, 4);
}

static int get_all(int fd, void *buf, size_t len)
{
    unsigned char *p = buf;

    while (len > 0) {
        ssize_t r = read(fd, p, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EPIPE;
            return -1;
        }
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

static int get_u32(int fd, uint32_t *v)
{
    unsigned char b[4];
    if (get_all(fd, b, 4) < 0)
        return -1;
    *v = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
    return 0;
}

int payload_send(int fd, const struct amber_spec *spec, struct payload *p, struct amber_error *err)
{
    for (size_t i = 0; i < p->nsecrets; i++) {
        struct payload_secret *s = &p->secrets[i];
        size_t nlen = strlen(s->name);
        int rc = put_u32(fd, (uint32_t)nlen) < 0 || fs_write_all(fd, s->name, nlen) < 0 ||
                 put_u32(fd, (uint32_t)s->len) < 0 || fs_write_all(fd, s->data, s->len) < 0;
        explicit_bzero(s->data, s->len);
        if (rc)
            return amber_error_errno(err, "--secret: hand over '%s'", s->name);
    }
    if (p->context_fd >= 0) {
        struct tree_stats st;
        if (tree_send(p->context_fd, fd, &p->context_filter, &st, NULL, err) < 0)
            return amber_error_prefix(err, "--context: copy");
        log_info("context: copied %llu files, %llu dirs, %llu symlinks (%llu bytes); left out "
                 "%llu",
                 (unsigned long long)st.files, (unsigned long long)st.dirs,
                 (unsigned long long)st.symlinks, (unsigned long long)st.bytes,
                 (unsigned long long)(st.excluded + st.skipped_special + st.skipped_symlinks +
                                      st.skipped_mounts));
        tree_stats_free(&st);
        if (fs_write_all(fd, p->context_digest, sizeof(p->context_digest)) < 0)
            return amber_error_errno(err, "--context: hand over the digest");
    }
    if (p->workspace_fd >= 0) {
        if (tree_send_manifest(p->workspace_fd, fd, &p->workspace_filter, NULL,
                               &p->workspace_manifest, NULL, err) < 0)
            return amber_error_prefix(err, "--workspace: copy in");
    }
    (void)spec;
    return 0;
}

void payload_free(struct payload *p)
{
    for (size_t i = 0; i < p->nsecrets; i++) {
        if (p->secrets[i].data != NULL) {
            explicit_bzero(p->secrets[i].data, p->secrets[i].len);
            free(p->secrets[i].data);
        }
        free(p->secrets[i].name);
    }
    free(p->secrets);
    if (p->context_fd >= 0)
        close(p->context_fd);
    if (p->workspace_fd >= 0)
        close(p->workspace_fd);
    tree_manifest_free(&p->workspace_manifest);
    memset(p, 0, sizeof(*p));
    p->context_fd = p->workspace_fd = -1;
}

static int recv_secrets(int fd, const struct sandbox_plan *plan, struct amber_error *err)
{
    const struct amber_spec *spec = plan->spec;
    cleanup_close int dir = open(AMBER_SECRETS, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (dir < 0)
        return amber_error_errno(err, "open " AMBER_SECRETS);
    for (size_t i = 0; i < spec->nsecrets; i++) {
        char name[256];
        uint32_t nlen, len;
        unsigned char *buf;
        int out, rc;

        if (get_u32(fd, &nlen) < 0 || nlen == 0 || nlen >= sizeof(name) ||
            get_all(fd, name, nlen) < 0)
            return amber_error_set(err, EPROTO, "--secret: bad payload");
        name[nlen] = '\0';
        if (strcmp(name, spec->secrets[i].name) != 0 || get_u32(fd, &len) < 0 || len > SECRET_MAX)
            return amber_error_set(err, EPROTO, "--secret: bad payload");
        buf = xmalloc((size_t)len + 1);
        rc = get_all(fd, buf, len);
        out = rc < 0
                  ? -1
                  : openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
        if (out < 0 || fs_write_all(out, buf, len) < 0 || fchown(out, plan->uid, plan->gid) < 0) {
            int e = errno;
            explicit_bzero(buf, len);
            free(buf);
            if (out >= 0)
                close(out);
            return amber_error_set(err, e, "--secret: write " AMBER_SECRETS "/%s", name);
        }
        explicit_bzero(buf, len);
        free(buf);
        close(out);
    }
    /* Nothing may be added, changed or removed there from now on. */
    if (mount(NULL, AMBER_SECRETS, NULL,
              MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME,
              NULL) < 0)
        return amber_error_errno(err, "--secret: make " AMBER_SECRETS " read-only");
    return 0;
}

static int recv_tree(int fd, const char *dst, const struct sandbox_plan *plan,
                     uint8_t digest[TREE_DIGEST_SIZE], struct amber_error *err)
{
    cleanup_close int dir = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (dir < 0)
        return amber_error_errno(err, "open %s", dst);
    if (tree_recv(fd, dir, plan->uid, plan->gid, digest, err) < 0)
        return amber_error_prefix(err, "copy into %s", dst);
    return 0;
}

int payload_recv(int fd, const struct sandbox_plan *plan, struct amber_error *err)
{
    const struct amber_spec *spec = plan->spec;

    if (spec->nsecrets > 0 && recv_secrets(fd, plan, err) < 0)
        return -1;
    if (spec->context != NULL && spec->context_mode == AMBER_CONTEXT_COPY) {
        uint8_t got[TREE_DIGEST_SIZE], want[TREE_DIGEST_SIZE];

        if (recv_tree(fd, AMBER_CONTEXT, plan, got, err) < 0)
            return amber_error_prefix(err, "--context");
        if (get_all(fd, want, sizeof(want)) < 0)
            return amber_error_errno(err, "--context: read the digest");
        if (spec->verify_context) {
            /* The source was hashed before launch; hash what is now in
             * /context the same way. Any difference (the source changed
             * during the copy, or the copy is not faithful) stops the start. */
            struct tree_filter f;
            cleanup_close int dir = open(AMBER_CONTEXT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            payload_context_filter(spec, &f);
            f.report = NULL;
            if (dir < 0 || tree_digest(dir, &f, got, err) < 0)
                return amber_error_prefix(err, "--verify-context-integrity: hash /context");
            if (memcmp(got, want, sizeof(got)) != 0)
                return amber_error_set(err, 0,
                                       "--verify-context-integrity: /context does not "
                                       "match '%s' as hashed before launch; refusing to "
                                       "start",
                                       spec->context);
        }
    }
    if (spec->workspace != NULL && spec->workspace_mode == AMBER_WORKSPACE_COPY_IN_OUT &&
        recv_tree(fd, AMBER_WORKSPACE, plan, NULL, err) < 0)
        return amber_error_prefix(err, "--workspace");
    return 0;
}
