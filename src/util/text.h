/* Text in fixed-size fields and in JSON. Messages, names and error lines
 * are cut to the size of the field that holds them, always at a UTF-8
 * character boundary, and whatever reaches JSON is valid UTF-8: a path or
 * argument that is not UTF-8 is written with U+FFFD in place of the bytes
 * that are not, instead of the key silently disappearing (jansson refuses
 * invalid UTF-8). */
#ifndef AMBER_TEXT_H
#define AMBER_TEXT_H

#include <stddef.h>

/* The length of the well-formed UTF-8 sequence (RFC 3629: no overlongs,
 * surrogates or code points above U+10FFFF) at s, n bytes available; 0
 * when the bytes there are not one. */
size_t text_utf8_seq(const unsigned char *s, size_t n);
/* The offset of the first byte of s[0..len) that is not well-formed
 * UTF-8, or len. */
size_t text_utf8_check(const char *s, size_t len);

/* Cut s (NUL-terminated) back so that it does not end inside a UTF-8
 * sequence: a multi-byte character whose tail was cut off is removed. */
void text_cut_utf8(char *s);

/* Copy src into dst (cap bytes, cap > 0), truncated at a character
 * boundary; returns dst. */
char *text_copy(char *dst, size_t cap, const char *src);

/* src as valid UTF-8: a newly allocated copy in which every byte that is
 * not part of a well-formed sequence (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF) is replaced by U+FFFD. */
char *text_utf8_valid(const char *src);

#endif
