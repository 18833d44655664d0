/* Allocators that abort on out-of-memory: amber cannot do anything useful
 * after malloc fails, and checking every small allocation hides real errors. */
#ifndef AMBER_XALLOC_H
#define AMBER_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Append s (copied) to a NULL-terminated vector of *len entries. */
void strv_push(char ***v, size_t *len, const char *s);
void strv_free(char **v);

#endif
