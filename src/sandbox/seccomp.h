/* The default seccomp allowlist.
 *
 * The policy (which syscalls, which argument filters) is written once, in
 * seccomp_policy.c, against libseccomp. It is compiled to a BPF program at
 * *build* time by tools/seccomp-gen (which links libseccomp) and embedded in
 * libamber, so a sandbox start only copies a ready program into the kernel:
 * "compile once, reuse" with zero per-start compile cost. (OCI bundles bring
 * their own profiles: src/oci/seccomp.c compiles those at create time into
 * the same struct seccomp_program.) */
#ifndef AMBER_SECCOMP_H
#define AMBER_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <seccomp.h>

#include "spec/written.h" /* struct seccomp_program */
#include "util/error.h"

/* The default policy comes in variants, one program each, all compiled at
 * build time (a bitmask of these):
 *  JIT      --allow-jit: pages writable and executable at once, memfds,
 *           executable SysV shm, mremap duplicates (what JITs need);
 *  OWN_TTY  the workload has a terminal of its own (-t): it may change
 *           its settings. Without, the termios setters are refused: the
 *           terminal it can reach is the caller's. */
enum {
    SECCOMP_VARIANT_JIT = 1U << 0,
    SECCOMP_VARIANT_OWN_TTY = 1U << 1,
    SECCOMP_VARIANTS = 4,
};

static inline unsigned seccomp_variant(bool jit, bool own_tty)
{
    return (jit ? SECCOMP_VARIANT_JIT : 0U) | (own_tty ? SECCOMP_VARIANT_OWN_TTY : 0U);
}

/* Build the default policy's variant into ctx (used by tools/seccomp-gen
 * and by tests that compare the embedded program with a fresh compile). */
int seccomp_policy_build(scmp_filter_ctx ctx, unsigned variant, struct amber_error *err);
/* Create a context and build the default policy's variant into it. */
scmp_filter_ctx seccomp_policy_new(unsigned variant, struct amber_error *err);

/* The default policy's variant as a program (static; nothing to free). */
void seccomp_default_program(unsigned variant, struct seccomp_program *out);
/* Load prog into the calling thread. Needs no_new_privs or CAP_SYS_ADMIN.
 * Async-signal-safe: no allocation. */
int seccomp_program_load(const struct seccomp_program *prog, struct amber_error *err);
/* Compile a libseccomp context into an owned program (OCI profiles, at
 * create time; errors say "linux.seccomp: ..."). */
int seccomp_program_export(scmp_filter_ctx ctx, struct seccomp_program *out,
                           struct amber_error *err);
/* Free an owned program's instructions and zero it (safe on a zeroed one). */
void seccomp_program_free(struct seccomp_program *prog);

/* Load a BPF program into the calling thread: seccomp(2) with flags
 * (SECCOMP_FILTER_FLAG_*), prctl on kernels without it. what names the
 * policy in errors. Async-signal-safe. */
int seccomp_load_prog(const struct sock_filter *insns, size_t len, unsigned flags, const char *what,
                      struct amber_error *err);

/* Number of BPF instructions in the embedded variant (for `amber check`). */
size_t seccomp_default_len(unsigned variant);

#endif
