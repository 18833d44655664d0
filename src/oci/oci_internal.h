/* Shared by the OCI runtime's create (launch.c) and exec (runtime.c). */
#ifndef AMBER_OCI_INTERNAL_H
#define AMBER_OCI_INTERNAL_H

#include <stdbool.h>

#include "oci/oci.h"

/* openat2(RESOLVE_IN_ROOT) below rootfd: the rootfs acts as "/". */
int oci_open_in_root(int rootfd, const char *path, int flags);
/* mkdir -p path inside the root (the last component a file when !dir);
 * returns an O_PATH fd to it. */
int oci_make_in_root(int rootfd, const char *path, bool dir, struct amber_error *err);
/* Bind-remount target with flags, keeping the flags a user namespace locks. */
int oci_remount(const char *target, unsigned long flags, struct amber_error *err);
/* rlimits, umask, cwd, capability sets, ids, no_new_privs; seccomp too
 * when it must come before the capabilities go (no noNewPrivileges). */
int oci_apply_process(const struct amber_spec *spec, const struct amber_oci *oci,
                      const struct seccomp_program *seccomp, bool setgroups_ok,
                      struct amber_error *err);

/* A pty from /dev/ptmx (the container's own devpts): its master goes to
 * the engine over sock (SCM_RIGHTS, with the pty's name, which is also
 * left in name); returns the terminal's fd or -1. */
int oci_console_send(int sock, unsigned short rows, unsigned short cols, char *name, size_t namecap,
                     struct amber_error *err);
/* Is the process's command there to run (as execvp would find it)? */
int oci_find_executable(const struct amber_spec *spec, struct amber_error *err);
/* The OCI state document (what `state` prints and hooks read on stdin). */
char *oci_state_doc(const char *id, const char *status, pid_t pid, const char *bundle,
                    const char *annotations, double created);

#endif
