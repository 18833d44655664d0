/* Sealing an amber process that lives inside or next to a sandbox: the
 * sandbox's PID 1, the supervisor of a detached sandbox, the process that
 * enters a running sandbox (native and OCI exec) and the first process of
 * an OCI container until it execs.
 *
 * Such a process is amber's own code, started by the caller: it holds the
 * caller's environment, whatever descriptors the caller leaked to amber,
 * amber's memory, and /proc/PID/exe names the host's amber binary. A
 * workload that can see it (same pid namespace) must reach none of that. */
#ifndef AMBER_SEAL_H
#define AMBER_SEAL_H

#include <stddef.h>

#include "util/error.h"

/* Non-dumpable: /proc/PID/{fd,fdinfo,environ,mem,maps,exe,cwd,root} and
 * ptrace then need CAP_SYS_PTRACE over this process's user namespace,
 * which no workload has. A uid change resets dumpability to the host's
 * fs.suid_dumpable, so callers seal again after one. Async-signal-safe. */
void seal_undumpable(void);

/* Wipe the caller's environment: the strings the kernel placed on the
 * stack at exec (what /proc/PID/environ reads) are zeroed and environ is
 * emptied; later getenv() calls see nothing. With cmdline, the command
 * line too (the caller's argv: /proc/PID/cmdline, readable by anyone in the
 * pid namespace) becomes cmdline; whatever still points into argv then
 * reads zeros: only for processes that no longer use it. */
void seal_environment(const char *cmdline);

/* Close every descriptor >= 3 except the nkeep in keep (not just
 * close-on-exec: a process that never execs keeps those open, reachable
 * through /proc/PID/fd). Negative entries in keep are ignored. */
int seal_fds(const int *keep, size_t nkeep, struct amber_error *err);
/* The same for every descriptor >= min (at most 32 kept). */
int seal_fds_from(int min, const int *keep, size_t nkeep, struct amber_error *err);
/* Descriptors 3..min-1 are an engine's, passed on (--preserve-fds). One
 * there with close-on-exec set is amber's
 * own (amber opens everything O_CLOEXEC, and an engine's preserved fds
 * survived amber's own exec, so they lack it), landed in a gap of the
 * range: closed, never passed. Async-signal-safe. */
void seal_preserved(int min);

/* Without a terminal of its own, a workload must not read the caller's
 * terminal through its stdout or stderr (a shell opens its terminal
 * read-write, and fd 1 is then a way to read what the user types), nor
 * change the caller's open file (O_NONBLOCK survives it). out[i] becomes a
 * new write-only open of fd i+1 where that is a terminal, else -1. Done
 * with the caller's credentials, before any namespace is entered. */
void seal_tty_reopen(int out[2]);
/* Put them in place (dup2 onto 1 and 2) and close them. */
void seal_tty_install(int out[2]);

/* All three, in that order (cmdline as for seal_environment). */
int seal_process(const int *keep, size_t nkeep, const char *cmdline, struct amber_error *err);

/* CVE-2019-5736: a container whose entry point is "#!/proc/self/exe"
 * makes the process that execs it run amber's own binary inside the
 * container, dumpable again, where the container can open
 * /proc/PID/exe and, once amber exits, reopen it for writing. Unless this
 * process already runs from an unwritable file, re-execute amber (same
 * argv and environment) from one: as root, the binary through a detached,
 * read-only bind mount (EROFS to whoever reopens it); otherwise a sealed
 * memfd copy (write, grow, shrink and seal changes refused). Returns only
 * when already protected (0) or when neither can be made (-1, err says
 * why; nothing changed). */
int seal_exe(char **argv, struct amber_error *err);

#endif
