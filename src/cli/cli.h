/* The command-line front-end. Only this directory prints and chooses exit
 * codes; everything below it returns errors. */
#ifndef AMBER_CLI_H
#define AMBER_CLI_H

#include <stdbool.h>
#include <termios.h>

#include "util/error.h"
#include "util/log.h"

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* Install the stderr log sink. */
void cli_log_init(void);
int cli_log_configure(const char *level, const char *format, struct amber_error *err);
/* --log FILE: also append every log and error line to FILE. */
int cli_log_file(const char *path, struct amber_error *err);
/* Print "amber: <msg>" (or a JSON error line) to stderr. */
void cli_error(const struct amber_error *err);
void cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A loud, unconditional warning (not subject to --log-level). */
void cli_warn_loud(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The caller's terminal settings (the first of stdin, stdout, stderr that
 * is a terminal), saved before a run without -t and restored after it. */
struct cli_term {
    int fd; /* -1: none is a terminal */
    struct termios saved;
    int fl[3]; /* the file status flags of stdin, stdout, stderr */
};
void cli_term_save(struct cli_term *t);
void cli_term_restore(const struct cli_term *t);

/* main's argv, as amber was started. */
extern char **cli_argv;
/* Continue only as a sealed memfd copy of amber (seal_exe): re-executes
 * amber, or returns 0 when already sealed, or prints why not and returns -1. */
int cli_seal_exe(void);

/* --root DIR (global), NULL for the default state root. */
extern const char *cli_root;

int cmd_run(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_check(int argc, char **argv);
/* The OCI runtime interface (oci.c). */
int cmd_delete(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_spec(int argc, char **argv);
bool cli_oci_create_args(int argc, char **argv);
bool cli_ref_is_oci(const char *ref);
int cmd_oci_create(int argc, char **argv, bool run);
int cmd_oci_start(int argc, char **argv);
int cmd_oci_state(int argc, char **argv);
int cmd_oci_kill(int argc, char **argv);
int cmd_oci_exec(int argc, char **argv);
int cmd_help(int argc, char **argv);
void help_main(void);
void help_run(void);
void help_check(void);

#endif
