/* The native backend's parts in other files than native.c. */
#ifndef AMBER_NATIVE_H
#define AMBER_NATIVE_H

#include "backend/backend.h"

/* The enter slot (native_enter.c): run e->argv inside the recorded sandbox:
 * its cgroup and every namespace of its PID 1 (from the supervisor's
 * namespace keeper), then the launch sequence's process steps from its
 * stored launch plan. With e->process, a sandbox started as written
 * (written_enter). Returns the command's exit status (128+N for signal
 * N), or -1 with err before it ran. */
int native_enter(const struct amber_recorded *r, const struct amber_enter *e,
                 struct amber_error *err);

/* A spec taken as written (native_written.c): the instance behind the
 * native slots when spec->defaults is AMBER_DEFAULTS_AS_WRITTEN. */
struct written_instance;
int written_prepare(const struct amber_spec *spec, struct written_instance **out,
                    struct amber_error *err);
int written_start(struct written_instance *x, struct amber_error *err);
void written_describe(struct written_instance *x, struct amber_started *out);
int written_detach(struct written_instance *x, struct amber_error *err);
int written_wait(struct written_instance *x, bool nohang, struct amber_result *res,
                 struct amber_error *err);
int written_kill(struct written_instance *x, int sig, struct amber_error *err);
void written_destroy(struct written_instance *x);
int written_start_held(const struct amber_recorded *r, struct amber_error *err);
int written_teardown(const struct amber_recorded *r, struct amber_error *err);
int written_enter(const struct amber_recorded *r, const struct amber_enter *e,
                  struct amber_error *err);

#endif
