/* The OCI runtime front-end: a bundle's config.json becomes an amber_spec
 * (what every backend understands: the command, environment, ids, rlimits,
 * root, terminal, id maps) plus a struct amber_written for what only an OCI
 * engine asks for and amber's own front-ends never do (an explicit mount
 * table, capability sets, a seccomp profile, masked paths, namespaces to
 * join, devices, sysctls, hooks, a cgroup path).
 *
 * Fields amber does not implement are refused with an error naming the
 * field; nothing in a bundle is silently ignored (docs/oci.md lists every
 * field and its status). */
#ifndef AMBER_OCI_H
#define AMBER_OCI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/seccomp.h"
#include "sandbox/caps.h"
#include "sandbox/cgroup.h"
#include "spec/spec.h"
#include "spec/written.h"
#include "util/error.h"

#define OCI_VERSION AMBER_OCI_VERSION

/* Parse <bundle>/config.json into spec (initialised by the caller; what
 * only a bundle says goes to spec->written);
 * *text (if text != NULL) gets the file's text.
 * Errors name the field ("config.json: process.args: must be a non-empty
 * array"). */
int oci_config_load(const char *bundle, const char *id, struct amber_spec *spec, char **text,
                    struct amber_error *err);
/* Parse a config.json text (also used for `exec --process`: with
 * process_only the text is a process object). */
int oci_config_parse(const char *text, size_t len, struct amber_spec *spec, bool process_only,
                     struct amber_error *err);

/* The hardened default config.json (`amber spec`), as JSON text (malloc'd). */
char *oci_default_config(bool rootless);
/* The `features` document (malloc'd JSON text). */
char *oci_features(void);

#endif
