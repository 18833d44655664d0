/* Loading the default seccomp program.
 *
 * The program is compiled from src/sandbox/seccomp_policy.c at build time
 * by tools/seccomp-gen and linked in as amber_seccomp_default_progs, one
 * program per variant (a generated file), so loading it is one system call: no libseccomp at run
 * time, no per-start compile cost, and the exact same bytes every start.
 *
 * The caller must have set no_new_privs (or hold CAP_SYS_ADMIN); the
 * filter applies to the calling thread and is inherited across fork and
 * execve. */
#include "sandbox/seccomp.h"

#include "util/cleanup.h"
#include "util/xalloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

/* Defined in the generated seccomp_filter.c. */
extern const struct sock_filter *const amber_seccomp_default_progs[SECCOMP_VARIANTS];
extern const size_t amber_seccomp_default_lens[SECCOMP_VARIANTS];

int seccomp_load_prog(const struct sock_filter *insns, size_t len, unsigned flags, const char *what,
                      struct amber_error *err)
{
    struct sock_fprog prog;
    long rc;
    int e;

    if (insns == NULL || len == 0 || len > BPF_MAXINSNS)
        return amber_error_set(err, 0, "%s: load filter: a program of %zu instructions", what, len);
    prog.len = (unsigned short)len;
    /* The kernel only reads the program; sock_fprog just lacks the const. */
    prog.filter = (struct sock_filter *)(uintptr_t)insns;

    rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (rc == 0)
        return 0;
    /* With TSYNC, a positive result is the id of a thread that could not
     * be synchronized, and nothing was loaded. */
    if (rc > 0)
        return amber_error_set(err, 0, "%s: load filter: thread %ld cannot be synchronized", what,
                               rc);
    e = errno;
    if (e == ENOSYS && flags == 0) {
        /* Kernels before 3.17 only have the prctl interface (no flags). */
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0)
            return 0;
        e = errno;
    }
    if (e == EACCES)
        return amber_error_set(err, e, "%s: load filter (needs no_new_privs or CAP_SYS_ADMIN)",
                               what);
    return amber_error_set(err, e, "%s: load filter", what);
}

void seccomp_default_program(unsigned variant, struct seccomp_program *out)
{
    variant %= SECCOMP_VARIANTS;
    /* The kernel only reads the program; the type just lacks the const. */
    out->insns = (struct sock_filter *)(uintptr_t)amber_seccomp_default_progs[variant];
    out->len = amber_seccomp_default_lens[variant];
    out->flags = 0;
    out->what = "seccomp";
    out->owned = false;
}

int seccomp_program_load(const struct seccomp_program *prog, struct amber_error *err)
{
    if (prog == NULL || prog->insns == NULL)
        return amber_error_set(err, 0, "%s: load filter: no program",
                               prog != NULL && prog->what != NULL ? prog->what : "seccomp");
    return seccomp_load_prog(prog->insns, prog->len, prog->flags,
                             prog->what != NULL ? prog->what : "seccomp", err);
}

void seccomp_program_free(struct seccomp_program *prog)
{
    if (prog == NULL)
        return;
    if (prog->owned)
        free(prog->insns);
    memset(prog, 0, sizeof(*prog));
}

size_t seccomp_default_len(unsigned variant)
{
    return amber_seccomp_default_lens[variant % SECCOMP_VARIANTS];
}

/* libseccomp 2.5 exports only to a file descriptor: a memfd holds the
 * program without a size limit (a pipe would block past its buffer) and
 * without touching the file system. */
int seccomp_program_export(scmp_filter_ctx ctx, struct seccomp_program *out,
                           struct amber_error *err)
{
    cleanup_close int fd = memfd_create("amber-seccomp", MFD_CLOEXEC);
    cleanup_free struct sock_filter *insns = NULL;
    struct stat st;
    size_t size, done = 0;
    int rc;

    if (fd < 0)
        return amber_error_errno(err, "linux.seccomp: memfd_create");
    rc = seccomp_export_bpf(ctx, fd);
    if (rc < 0)
        return amber_error_set(err, -rc, "linux.seccomp: export BPF");
    if (fstat(fd, &st) < 0)
        return amber_error_errno(err, "linux.seccomp: stat exported BPF");
    size = (size_t)st.st_size;
    if (size == 0 || size % sizeof(struct sock_filter) != 0)
        return amber_error_set(err, 0, "linux.seccomp: exported BPF has odd size %zu", size);
    /* The kernel refuses longer programs at load time; say so now. */
    if (size / sizeof(struct sock_filter) > BPF_MAXINSNS)
        return amber_error_set(err, 0,
                               "linux.seccomp: the profile compiles to %zu BPF instructions, the "
                               "kernel accepts at most %d",
                               size / sizeof(struct sock_filter), BPF_MAXINSNS);
    insns = xmalloc(size);
    while (done < size) {
        ssize_t r = pread(fd, (char *)insns + done, size - done, (off_t)done);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return amber_error_errno(err, "linux.seccomp: read exported BPF");
        if (r == 0)
            return amber_error_set(err, 0, "linux.seccomp: read exported BPF: short file");
        done += (size_t)r;
    }
    out->insns = steal_pointer(&insns);
    out->len = size / sizeof(struct sock_filter);
    out->what = "linux.seccomp";
    out->owned = true;
    return 0;
}
