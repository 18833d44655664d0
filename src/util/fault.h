/* Fault injection for tests: the error paths that a real failure reaches
 * only by chance (an open that fails halfway through a list, a fork that
 * fails) are exercised on purpose. A site is a name in the code; the Nth
 * pass through it fails (or, with ":kill", amber is killed there with
 * SIGKILL: what a crash leaves behind is tested the same way).
 * Configured by AMBER_FAULT="SITE[:N[:kill]][,...]"
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
/* A place where amber may be killed (SITE:N:kill): SIGKILL on that pass. */
void fault_kill_point(const char *site);

#endif
