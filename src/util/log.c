#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/text.h"

static amber_log_sink log_sink;
static void *log_data;
static enum amber_log_level log_level = AMBER_LOG_WARN;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static int log_fd = -1;

void amber_log_set_sink_fd(int fd)
{
    log_fd = fd;
}

int amber_log_sink_fd(void)
{
    return log_fd;
}

void amber_log_set_sink(amber_log_sink sink, void *data)
{
    log_sink = sink;
    log_data = data;
}

void amber_log_set_level(enum amber_log_level level)
{
    log_level = level;
}

enum amber_log_level amber_log_get_level(void)
{
    return log_level;
}

int amber_log_level_parse(const char *s, enum amber_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum amber_log_level)i;
            return 0;
        }
    }
    if (strcmp(s, "warning") == 0) {
        *out = AMBER_LOG_WARN;
        return 0;
    }
    return -1;
}

const char *amber_log_level_name(enum amber_log_level level)
{
    return (unsigned)level < 4 ? level_names[level] : "?";
}

void amber_log(enum amber_log_level level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    if (level > log_level || log_sink == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    text_cut_utf8(buf);
    log_sink(level, buf, log_data);
}
