/* Fault injection for tests: the error paths that a real failure reaches
 * only by chance (an open that fails halfway through a list, a fork that
 * fails) are exercised on purpose. A site is a name in the code; the Nth
 * pass through it fails. Configured by AMBER_FAULT="SITE[:N][,SITE[:N]...]"
 * (read once by the CLI at start, before anything is sealed) or by
 * fault_set() in unit tests. It can only make amber fail, never succeed
 * where it would not. */
#ifndef AMBER_FAULT_H
#define AMBER_FAULT_H

#include <stdbool.h>

void fault_init_from_env(void);
/* The nth pass (from 1) through site fails; nth 0 clears it. */
void fault_set(const char *site, int nth);
/* Count a pass through site; true when this one is to fail. */
bool fault_hit(const char *site);

#endif
