/* The library's one error object. Every fallible function takes a
 * `struct amber_error *err`, returns -1 (or NULL) on failure and fills err
 * with the errno and a message that names the object ("open '/x'").
 * Callers add context on the way up with amber_error_prefix(). The object is
 * a fixed-size value so it can be filled in a forked child and copied over
 * the sync channel without allocation. */
#ifndef AMBER_ERROR_H
#define AMBER_ERROR_H

#include <errno.h>
#include <stdarg.h>

#define AMBER_ERROR_MSG_MAX 512

/* Exit codes chosen by the CLI; documented in docs/cli.md. */
enum amber_exit {
    AMBER_EXIT_TIMEOUT = 124,
    AMBER_EXIT_INTERNAL = 125, /* amber's own error before the workload ran */
    AMBER_EXIT_NOEXEC = 126,
    AMBER_EXIT_NOTFOUND = 127,
    AMBER_EXIT_OOM = 137,
};

struct amber_error {
    int code;   /* errno value, 0 when not from a system call */
    int status; /* exit status the CLI should use, 0 = AMBER_EXIT_INTERNAL */
    char msg[AMBER_ERROR_MSG_MAX];
};

/* Fill err; when errnum != 0, ": strerror(errnum)" is appended. Returns -1. */
int amber_error_set(struct amber_error *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Fill err with code (an errno value callers may test, EBUSY for "wrong
 * state", say) but without strerror text: the message says it all. */
int amber_error_coded(struct amber_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like amber_error_set with errno. */
#define amber_error_errno(err, ...) amber_error_set((err), errno, __VA_ARGS__)
/* Prepend "context: " to the message. Returns -1. */
int amber_error_prefix(struct amber_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void amber_error_clear(struct amber_error *err);

#endif
