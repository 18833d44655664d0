/* The `amber run` option table: one entry per flag, shared by the command
 * line parser, the JSON launch file (keys are the long names in snake_case)
 * and the generated --help text, so the three cannot drift apart. */
#ifndef AMBER_FLAGS_H
#define AMBER_FLAGS_H

#include <stdbool.h>

#include "spec/spec.h"

struct spec_option {
    const char *name;    /* long name without "--" */
    char short_name;     /* 0 if none */
    const char *metavar; /* NULL: a boolean switch */
    bool repeatable;
    const char *help;
    int (*apply)(struct amber_spec *spec, const char *arg, struct amber_error *err);
};

extern const struct spec_option spec_run_options[];

const struct spec_option *spec_option_find(const char *name);

/* Options of `amber run` that are not part of the spec. */
struct run_meta {
    const char *config;    /* --config FILE */
    const char *config_fd; /* --config-fd N */
    bool detach;           /* -d, --detach */
    const char *name;      /* --name NAME (with -d) */
    const char *log_level;
    const char *log_format;
    bool help;
    int spec_flags; /* how many spec options were given (to refuse mixing with --config) */
};

/* Parse argv (after the verb). Stops at "--" or the first non-option; the
 * rest is the command. */
int spec_parse_run_args(struct amber_spec *spec, int argc, char **argv, struct run_meta *meta,
                        struct amber_error *err);

#endif
