/* What every backend that runs the workload as a Linux process shares
 * with the launch sequence below it: the exec of the workload itself, the
 * signals amber forwards, and the names of the namespaces `exec` enters.
 * (Here, below both src/backend and the sandbox's kernel steps, so that
 * neither includes the other.) */
#ifndef AMBER_WORKLOAD_H
#define AMBER_WORKLOAD_H

#include "spec/spec.h"
#include "util/error.h"

/* The namespaces of a sandbox that `exec` enters, in the order it enters
 * them: the user namespace first (it grants the rights for the others),
 * the mount namespace last (it changes root and cwd). "time" is the time
 * namespace of PID 1's children (/proc/PID/ns/time_for_children). */
#define AMBER_NS_COUNT 8
extern const char *const amber_ns_names[AMBER_NS_COUNT];

/* The forwarded signals: INT TERM HUP QUIT USR1 USR2 WINCH. */
extern const int amber_forward_signals[];
extern const int amber_forward_signals_count;

/* Exec the spec's command with default signal state and exactly the spec's
 * environment; tty (or -1) becomes its controlling terminal and stdio,
 * else stdin is /dev/null unless spec->interactive. Returns only on
 * failure, with err->status 127 (not found) or 126 (cannot execute). */
void amber_exec_workload(const struct amber_spec *spec, int tty, struct amber_error *err);

#endif
