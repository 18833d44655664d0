/* stderr output: the log sink and error lines, as text or JSON. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/json.h"

static enum log_format log_fmt = LOG_FORMAT_TEXT;
static FILE *log_file; /* --log FILE: a copy of every line (engines read it) */

static void emit(const char *level, const char *msg)
{
    if (log_fmt == LOG_FORMAT_JSON) {
        struct timespec ts;
        json_t *o;
        char *s;

        char when[64];
        struct tm tm;
        size_t n;

        /* RFC 3339, as runc writes it: engines (podman) parse it as a string. */
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(when + n, sizeof(when) - n, ".%09ldZ", ts.tv_nsec);
        o = json_pack("{s:s,s:s,s:o,s:i}", "time", when, "level", level, "msg", json_text(msg),
                      "pid", (int)getpid());
        s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s != NULL)
            fprintf(stderr, "%s\n", s);
        /* A sealed process closed the file's descriptor (seal.c): its
         * number may name something else now. */
        if (s != NULL && log_file != NULL && amber_log_sink_fd() >= 0)
            fprintf(log_file, "%s\n", s);
        free(s);
        json_decref(o);
    } else if (strcmp(level, "error") == 0) {
        fprintf(stderr, "amber: %s\n", msg);
        if (log_file != NULL)
            fprintf(log_file, "amber: %s\n", msg);
    } else {
        fprintf(stderr, "amber: %s: %s\n", level, msg);
        if (log_file != NULL)
            fprintf(log_file, "amber: %s: %s\n", level, msg);
    }
    fflush(stderr);
    if (log_file != NULL)
        fflush(log_file);
}

static void sink(enum amber_log_level level, const char *msg, void *data)
{
    (void)data;
    emit(amber_log_level_name(level), msg);
}

void cli_log_init(void)
{
    amber_log_set_sink(sink, NULL);
}

int cli_log_configure(const char *level, const char *format, struct amber_error *err)
{
    if (level != NULL) {
        enum amber_log_level l;
        if (amber_log_level_parse(level, &l) < 0)
            return amber_error_set(err, 0, "--log-level '%s': expected error, warn, info or debug",
                                   level);
        amber_log_set_level(l);
    }
    if (format != NULL) {
        if (strcmp(format, "text") == 0)
            log_fmt = LOG_FORMAT_TEXT;
        else if (strcmp(format, "json") == 0)
            log_fmt = LOG_FORMAT_JSON;
        else
            return amber_error_set(err, 0, "--log-format '%s': expected text or json", format);
    }
    return 0;
}

int cli_log_file(const char *path, struct amber_error *err)
{
    log_file = fopen(path, "ae");
    if (log_file == NULL)
        return amber_error_errno(err, "--log '%s'", path);
    amber_log_set_sink_fd(fileno(log_file));
    return 0;
}

void cli_error(const struct amber_error *err)
{
    emit("error", err->msg[0] ? err->msg : "unknown error");
}

void cli_errorf(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    emit("error", buf);
}

void cli_warn_loud(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    emit("WARNING", buf);
}
