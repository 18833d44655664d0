/* OCI linux.seccomp profiles.
 *
 * The built-in default policy is compiled at build time (sandbox/seccomp.h);
 * an OCI profile arrives with the container's config.json, so it is
 * compiled when the container is created, in the runtime's own process,
 * with libseccomp. What reaches the container's init is only the finished
 * classic-BPF program, so loading it there is one system call that neither
 * allocates nor touches libseccomp (it runs after fork, and after the
 * workload's mounts and ids are in place).
 *
 * The compiler follows runc where the spec leaves room (unknown syscall
 * names are skipped, a rule with the default action is dropped, KILL means
 * KILL_THREAD, errnoRet defaults to EPERM) and refuses anything amber does
 * not implement (SCMP_ACT_NOTIFY, listenerPath, unknown keys) with an error
 * naming the field, so an engine never gets a weaker filter than it asked
 * for without being told. */
#ifndef AMBER_OCI_SECCOMP_H
#define AMBER_OCI_SECCOMP_H

#include <stddef.h>
#include <jansson.h>
#include <linux/filter.h>

#include "sandbox/seccomp.h"
#include "util/error.h"

/* Compile an OCI linux.seccomp object. Errors name the field, e.g.
 * "linux.seccomp.syscalls[3].action: unknown action 'SCMP_ACT_FOO'".
 * Returns 0 / -1; on failure *out is zeroed. */
int oci_seccomp_compile(const json_t *seccomp, struct seccomp_program *out,
                        struct amber_error *err);

#endif
