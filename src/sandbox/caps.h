/* Capabilities: drop every set and check that they are gone (amber's own
 * sandboxes), or set them exactly as an OCI bundle writes them. */
#ifndef AMBER_CAPS_H
#define AMBER_CAPS_H

#include <stdint.h>

#include "util/error.h"

/* Lock the securebits so root gets no capabilities back on exec, drop the
 * bounding set and clear the ambient set. Needs CAP_SETPCAP: call while still
 * privileged (before changing uid). */
int caps_drop_bounding(struct amber_error *err);
/* Clear the effective, permitted and inheritable sets of the calling
 * thread, then verify all five sets are empty. */
int caps_clear_and_verify(struct amber_error *err);
/* OCI bundles give all five sets (exactly as written), in this order. */
enum { CAPS_BOUNDING, CAPS_EFFECTIVE, CAPS_PERMITTED, CAPS_INHERITABLE, CAPS_AMBIENT, CAPS_SETS };
/* Keep the permitted set across the uid change that follows (PR_SET_KEEPCAPS). */
int caps_keep_for_setuid(struct amber_error *err);
/* Drop every capability not in keep from the bounding set. */
int caps_bound_to(uint64_t keep, struct amber_error *err);
/* Set effective, permitted, inheritable and ambient as given (after the
 * uid change), and stop keeping capabilities across uid changes. */
int caps_set_all(const uint64_t sets[CAPS_SETS], struct amber_error *err);

/* "CAP_SYS_ADMIN" <-> 21; -1 / NULL when unknown. */
int caps_number(const char *name);
const char *caps_name(int cap);

/* Highest capability number the kernel knows. */
int caps_last_cap(void);

#endif
