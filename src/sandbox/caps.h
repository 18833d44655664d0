/* Capabilities: drop every set and check that they are gone. */
#ifndef AMBER_CAPS_H
#define AMBER_CAPS_H

#include "util/error.h"

/* Lock the securebits so root gets no capabilities back on exec, drop the
 * bounding set and clear the ambient set. Needs CAP_SETPCAP: call while still
 * privileged (before changing uid). */
int caps_drop_bounding(struct amber_error *err);
/* Clear the effective, permitted and inheritable sets of the calling
 * thread, then verify all five sets are empty. */
int caps_clear_and_verify(struct amber_error *err);
/* Highest capability number the kernel knows. */
int caps_last_cap(void);

#endif
