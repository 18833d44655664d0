/* Sealing amber's own processes against the workload (seal.h). */
#include "sandbox/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/mount.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

extern char **environ;

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

/* The seals that make the copy immutable: its contents (write, grow,
 * shrink) and the seal set itself. */
#define EXE_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

void seal_undumpable(void)
{
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* Fields 48 to 51 of /proc/self/stat: where the kernel put the argument
 * strings (a[0], a[1]) and the environment (a[2], a[3]). The command name
 * (field 2) may hold spaces and parentheses, so counting starts after its
 * last ')'. */
static bool stat_areas(uintptr_t a[4])
{
    char buf[2048];
    struct amber_error ignore;
    char *p, *save = NULL;
    int field = 2;

    if (fs_read_file("/proc/self/stat", buf, sizeof(buf), &ignore) < 0)
        return false;
    p = strrchr(buf, ')');
    if (p == NULL)
        return false;
    for (char *t = strtok_r(p + 1, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
        if (++field >= 48 && field <= 51)
            a[field - 48] = (uintptr_t)strtoull(t, NULL, 10);
        if (field == 51)
            return a[0] != 0 && a[1] > a[0] && a[2] != 0 && a[3] > a[2];
    }
    return false;
}

void seal_environment(const char *cmdline)
{
    uintptr_t a[4] = {0, 0, 0, 0};
    size_t n = cmdline != NULL ? strlen(cmdline) : 0;

    if (stat_areas(a)) {
        /* Both areas lie in this process's own stack, which is writable:
         * the kernel reads /proc/PID/environ and cmdline from them at
         * every read. */
        memset((void *)a[2], 0, a[3] - a[2]);
        if (cmdline != NULL && n + 1 <= a[1] - a[0]) {
            memset((void *)a[0], 0, a[1] - a[0]);
            memcpy((void *)a[0], cmdline, n);
        }
    }
    clearenv();
}

/* Close [first, last]; last ~0U: to the end of the table. */
static void close_span(unsigned first, unsigned last)
{
    if (syscall(SYS_close_range, first, last, 0) == 0)
        return;
    /* No close_range (Linux < 5.9): one by one. */
    if (last == ~0U) {
        long max = sysconf(_SC_OPEN_MAX);
        last = max > 0 && max < 65536 ? (unsigned)max : 65536U;
    }
    for (unsigned fd = first; fd <= last; fd++)
        close((int)fd);
}

int seal_fds(const int *keep, size_t nkeep, struct amber_error *err)
{
    return seal_fds_from(3, keep, nkeep, err);
}

int seal_fds_from(int min, const int *keep, size_t nkeep, struct amber_error *err)
{
    int sorted[32];
    size_t n = 0;
    unsigned next = (unsigned)min;

    for (size_t i = 0; i < nkeep; i++) {
        size_t j;
        if (keep[i] < min)
            continue;
        if (n == sizeof(sorted) / sizeof(sorted[0]))
            return amber_error_set(err, EINVAL, "seal: too many descriptors to keep");
        /* Insertion sort, dropping duplicates. */
        for (j = n; j > 0 && sorted[j - 1] > keep[i]; j--)
            sorted[j] = sorted[j - 1];
        if (j > 0 && sorted[j - 1] == keep[i]) {
            memmove(&sorted[j], &sorted[j + 1], (n - j) * sizeof(int));
            continue;
        }
        sorted[j] = keep[i];
        n++;
    }
    for (size_t i = 0; i <= n; i++) {
        unsigned last = i < n ? (unsigned)sorted[i] - 1 : ~0U;
        if (last >= next)
            close_span(next, last);
        if (i < n)
            next = (unsigned)sorted[i] + 1;
    }
    return 0;
}

void seal_preserved(int min)
{
    for (int fd = 3; fd < min; fd++) {
        int fl = fcntl(fd, F_GETFD);
        if (fl < 0)
            continue;
        if (fl & FD_CLOEXEC)
            close(fd); /* the others already pass (no flag to clear) */
    }
}

void seal_tty_reopen(int out[2])
{
    for (int i = 0; i < 2; i++) {
        char path[32];
        out[i] = -1;
        if (!isatty(i + 1))
            continue;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", i + 1);
        out[i] = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    }
}

void seal_tty_install(int out[2])
{
    for (int i = 0; i < 2; i++) {
        if (out[i] < 0)
            continue;
        dup2(out[i], i + 1);
        close(out[i]);
        out[i] = -1;
    }
}

int seal_process(const int *keep, size_t nkeep, const char *cmdline, struct amber_error *err)
{
    seal_undumpable();
    seal_environment(cmdline);
    return seal_fds(keep, nkeep, err);
}

/* The cheap way, as root: a detached bind mount of the binary, made
 * read-only before anything runs from it (no mount namespace sees it; only
 * CAP_SYS_ADMIN over the host's mounts could make it writable again). */
static void exec_from_ro_bind(int self, char **argv)
{
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
    cleanup_close int tree =
        (int)syscall(SYS_open_tree, self, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);

    if (tree < 0 || syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
        return;
    syscall(SYS_execveat, tree, "", argv, environ, AT_EMPTY_PATH);
}

int seal_exe(char **argv, struct amber_error *err)
{
    cleanup_close int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    cleanup_close int copy = -1;
    struct statvfs sv;
    struct stat st;
    int seals;

    if (self < 0)
        return amber_error_errno(err, "open /proc/self/exe");
    /* Already unwritable: on a read-only mount (a read-only /usr, or the
     * bind below), or a sealed copy. */
    if (fstatvfs(self, &sv) == 0 && (sv.f_flag & ST_RDONLY))
        return 0;
    seals = fcntl(self, F_GET_SEALS);
    if (seals >= 0 && (seals & EXE_SEALS) == EXE_SEALS)
        return 0;
    exec_from_ro_bind(self, argv);
    /* Without root (or without the new mount API): a sealed memfd copy. */
    if (fstat(self, &st) < 0)
        return amber_error_errno(err, "stat /proc/self/exe");
    copy = memfd_create("amber", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (copy < 0 && errno == EINVAL) /* kernels before 6.3 know no MFD_EXEC */
        copy = memfd_create("amber", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (copy < 0)
        return amber_error_errno(err, "memfd_create for a sealed copy of amber");
    for (off_t done = 0; done < st.st_size;) {
        ssize_t w = sendfile(copy, self, NULL, (size_t)(st.st_size - done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return amber_error_errno(err, "copy amber into a sealed memfd");
        done += w;
    }
    if (fcntl(copy, F_ADD_SEALS, EXE_SEALS | F_SEAL_EXEC) < 0 &&
        fcntl(copy, F_ADD_SEALS, EXE_SEALS) < 0)
        return amber_error_errno(err, "seal amber's memfd copy");
    syscall(SYS_execveat, copy, "", argv, environ, AT_EMPTY_PATH);
    return amber_error_errno(err, "execute amber's sealed copy");
}
