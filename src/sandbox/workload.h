/* What every backend that runs the workload as a Linux process shares
 * with the launch sequence below it: the exec of the workload itself and
 * the signals amber forwards (the namespace kinds are spec/ns.h).
 * (Here, below both src/backend and the sandbox's kernel steps, so that
 * neither includes the other.) */
#ifndef AMBER_WORKLOAD_H
#define AMBER_WORKLOAD_H

#include "spec/spec.h"
#include "util/error.h"

/* The forwarded signals: INT TERM HUP QUIT USR1 USR2 WINCH. */
extern const int amber_forward_signals[];
extern const int amber_forward_signals_count;

/* Exec the spec's command with default signal state and exactly the spec's
 * environment; tty (or -1) becomes its controlling terminal and stdio,
 * else stdin is /dev/null unless spec->interactive. Returns only on
 * failure, with err->status 127 (not found) or 126 (cannot execute). */
void amber_exec_workload(const struct amber_spec *spec, int tty, struct amber_error *err);

#endif
