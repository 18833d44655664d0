#include "util/text.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

size_t text_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

size_t text_utf8_check(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        size_t n = text_utf8_seq(u + i, len - i);
        if (n == 0)
            return i;
        i += n;
    }
    return len;
}

void text_cut_utf8(char *s)
{
    size_t n = strlen(s), start;

    if (n == 0 || ((unsigned char)s[n - 1] & 0x80) == 0)
        return;
    /* Find where the last character starts: at most 3 continuation bytes. */
    start = n - 1;
    while (start > 0 && n - start < 4 && ((unsigned char)s[start] & 0xc0) == 0x80)
        start--;
    if (((unsigned char)s[start] & 0xc0) == 0xc0 &&
        text_utf8_seq((const unsigned char *)s + start, n - start) == 0)
        s[start] = '\0';
}

char *text_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);

    if (n >= cap) {
        n = cap - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
        text_cut_utf8(dst);
        return dst;
    }
    memcpy(dst, src, n + 1);
    return dst;
}

char *text_utf8_valid(const char *src)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t n = strlen(src), w = 0;
    /* Each invalid byte becomes 3 bytes. */
    char *out = xmalloc(n * 3 + 1);

    for (size_t i = 0; i < n;) {
        size_t len = text_utf8_seq(s + i, n - i);
        if (len == 0) {
            memcpy(out + w, "\xef\xbf\xbd", 3);
            w += 3;
            i++;
            continue;
        }
        memcpy(out + w, s + i, len);
        w += len;
        i += len;
    }
    out[w] = '\0';
    return out;
}
