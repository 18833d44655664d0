#include "util/error.h"

#include <stdio.h>
#include <string.h>

#include "util/text.h"

int amber_error_set(struct amber_error *err, int errnum, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (err == NULL)
        return -1;
    err->code = errnum;
    err->status = 0;
    va_start(ap, fmt);
    n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if (errnum != 0 && (size_t)n < sizeof(err->msg))
        snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(errnum));
    text_cut_utf8(err->msg);
    return -1;
}

int amber_error_coded(struct amber_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return -1;
    err->code = code;
    err->status = 0;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    text_cut_utf8(err->msg);
    return -1;
}

int amber_error_prefix(struct amber_error *err, const char *fmt, ...)
{
    char ctx[AMBER_ERROR_MSG_MAX];
    char old[AMBER_ERROR_MSG_MAX];
    va_list ap;

    if (err == NULL)
        return -1;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof(ctx), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    old[sizeof(old) - 1] = '\0';
    {
        /* ctx + ": " + old, truncated to the buffer. */
        size_t n = strlen(ctx), m = strlen(old), cap = sizeof(err->msg) - 1;
        size_t pos = 0;
        memcpy(err->msg, ctx, n < cap ? n : cap);
        pos = n < cap ? n : cap;
        if (pos + 2 <= cap) {
            memcpy(err->msg + pos, ": ", 2);
            pos += 2;
        }
        if (m > cap - pos)
            m = cap - pos;
        memcpy(err->msg + pos, old, m);
        err->msg[pos + m] = '\0';
        text_cut_utf8(err->msg);
    }
    return -1;
}

void amber_error_clear(struct amber_error *err)
{
    if (err != NULL) {
        err->code = 0;
        err->status = 0;
        err->msg[0] = '\0';
    }
}
