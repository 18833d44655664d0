/* Logging. The library never prints: it hands each message to the sink the
 * front-end installed (the CLI's writes text or JSON lines to stderr). */
#ifndef AMBER_LOG_H
#define AMBER_LOG_H

enum amber_log_level {
    AMBER_LOG_ERROR = 0,
    AMBER_LOG_WARN = 1,
    AMBER_LOG_INFO = 2,
    AMBER_LOG_DEBUG = 3,
};

typedef void (*amber_log_sink)(enum amber_log_level level, const char *msg, void *data);

void amber_log_set_sink(amber_log_sink sink, void *data);
/* A descriptor the sink writes to besides stderr (-1: none): a process
 * that closes every descriptor it does not need (seal_fds) keeps it only
 * if it stays on the host side and goes on logging. */
void amber_log_set_sink_fd(int fd);
int amber_log_sink_fd(void);
void amber_log_set_level(enum amber_log_level level);
enum amber_log_level amber_log_get_level(void);
int amber_log_level_parse(const char *s, enum amber_log_level *out);
const char *amber_log_level_name(enum amber_log_level level);
void amber_log(enum amber_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) amber_log(AMBER_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) amber_log(AMBER_LOG_WARN, __VA_ARGS__)
#define log_info(...) amber_log(AMBER_LOG_INFO, __VA_ARGS__)
#define log_debug(...) amber_log(AMBER_LOG_DEBUG, __VA_ARGS__)

#endif
