/* Loading the default seccomp program.
 *
 * The program is compiled from src/sandbox/seccomp_policy.c at build time
 * by tools/seccomp-gen and linked in as amber_seccomp_default_prog (a
 * generated file), so loading it is one system call: no libseccomp at run
 * time, no per-start compile cost, and the exact same bytes every start.
 *
 * The caller must have set no_new_privs (or hold CAP_SYS_ADMIN); the
 * filter applies to the calling thread and is inherited across fork and
 * execve. */
#include "sandbox/seccomp.h"

#include <errno.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

/* Defined in the generated seccomp_filter.c. */
extern const struct sock_filter amber_seccomp_default_prog[];
extern const size_t amber_seccomp_default_len;

int seccomp_load_default(struct amber_error *err)
{
    struct sock_fprog prog;
    int e;

    if (amber_seccomp_default_len == 0 || amber_seccomp_default_len > BPF_MAXINSNS)
        return amber_error_set(err, 0,
                               "seccomp: load filter: embedded program has %zu instructions",
                               amber_seccomp_default_len);
    prog.len = (unsigned short)amber_seccomp_default_len;
    /* The kernel only reads the program; sock_fprog just lacks the const. */
    prog.filter = (struct sock_filter *)(uintptr_t)amber_seccomp_default_prog;

    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0)
        return 0;
    e = errno;
    if (e == ENOSYS) {
        /* Kernels before 3.17 only have the prctl interface. */
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0)
            return 0;
        e = errno;
    }
    if (e == EACCES)
        return amber_error_set(err, e, "seccomp: load filter (no_new_privs is not set)");
    return amber_error_set(err, e, "seccomp: load filter");
}

size_t seccomp_default_len(void)
{
    return amber_seccomp_default_len;
}
