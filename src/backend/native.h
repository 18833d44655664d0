/* The native backend's parts in other files than native.c. */
#ifndef AMBER_NATIVE_H
#define AMBER_NATIVE_H

#include "backend/backend.h"

/* The enter slot (native_enter.c): run argv inside the recorded sandbox:
 * its cgroup and every namespace of its PID 1 (from the supervisor's
 * namespace keeper), then the launch sequence's process steps from its
 * stored launch plan. Returns the command's exit status (128+N for signal
 * N), or -1 with err before it ran. */
int native_enter(const struct amber_recorded *r, char **argv, bool tty, bool interactive,
                 struct amber_error *err);

#endif
