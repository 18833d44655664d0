/* Strict TOML 1.0.0 parser and its conversion to jansson: see util/toml.h.
 *
 * The parser is a hand-written recursive descent over the raw bytes. The
 * whole document is first checked to be valid UTF-8, so later stages only
 * look at ASCII bytes and copy the others through. Errors record a byte
 * offset; the line and column are computed from it once, at the end.
 *
 * Table rules (TOML 1.0.0 "Table" and "Array of Tables" sections) are kept
 * with a few flags per table:
 *   T_HEADER    defined by a [header] (or an element made by [[header]]):
 *               defining it again is an error; dotted keys may not enter it
 *               from another section.
 *   T_IMPLICIT  created as an intermediate of a header path ([a.b] makes
 *               a): a later [a] may define it once, or dotted keys in its
 *               parent's section may define it (it becomes T_DOTTED), as
 *               table sections may come in any order (toml-lang/toml#771).
 *   T_DOTTED    created by a dotted key (a.b = 1 makes a): further dotted
 *               keys may extend it, headers may add sub-tables below it,
 *               but [a] may not define it. Only the section that made it
 *               can reach it with dotted keys: any other path to it passes
 *               a T_HEADER table or an array of tables.
 *   T_INLINE    an inline table or any table inside one: immutable.
 * Arrays made by [[header]] carry A_TABLES; other arrays are static and
 * can be neither appended to nor entered by headers or dotted keys. */
#include "util/toml.h"

#include "util/text.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    T_HEADER = 1u << 0,
    T_IMPLICIT = 1u << 1,
    T_DOTTED = 1u << 2,
    T_INLINE = 1u << 3,
    A_TABLES = 1u << 4,
};

struct toml_kv {
    char *key;
    size_t keylen;
    struct toml_value *val;
};

struct toml_value {
    enum toml_type type;
    unsigned flags;
    union {
        struct {
            struct toml_kv *kv;
            size_t len, cap;
            size_t *index; /* open addressing, slot = entry + 1; NULL when small */
            size_t index_cap;
        } tab;
        struct {
            struct toml_value **items;
            size_t len, cap;
        } arr;
        struct {
            char *ptr;
            size_t len;
        } str;
        int64_t i;
        double f;
        bool b;
        struct {
            struct toml_datetime dt;
            char text[40];
        } dt;
    } u;
};

/* A key part or string being built. */
struct buf {
    char *p;
    size_t len, cap;
};

struct parser {
    const char *s;
    size_t len;
    size_t pos;
    bool failed;
    size_t err_pos;
    bool err_nopos;
    char msg[256];
};

/* A dotted key or header path. */
struct keypath {
    struct buf parts[TOML_MAX_DEPTH];
    size_t n;
    size_t pos[TOML_MAX_DEPTH]; /* offset of each part, for errors */
};

/* ------------------------------------------------------------------ */
/* Errors */

__attribute__((format(printf, 3, 4))) static void fail_at(struct parser *p, size_t pos,
                                                          const char *fmt, ...)
{
    va_list ap;

    if (p->failed)
        return;
    p->failed = true;
    p->err_pos = pos;
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
    va_end(ap);
}

static void fail_oom(struct parser *p)
{
    if (p->failed)
        return;
    p->failed = true;
    p->err_nopos = true;
    snprintf(p->msg, sizeof(p->msg), "out of memory");
}

/* Describe the byte at pos for messages. */
static const char *describe(const struct parser *p, size_t pos, char *tmp, size_t n)
{
    unsigned char c;

    if (pos >= p->len)
        return "end of file";
    c = (unsigned char)p->s[pos];
    if (c == '\n')
        return "end of line";
    if (c == '\r')
        return "carriage return";
    if (c < 0x20 || c == 0x7f)
        snprintf(tmp, n, "control character U+%04X", c);
    else if (c >= 0x80)
        snprintf(tmp, n, "non-ASCII character");
    else
        snprintf(tmp, n, "'%c'", c);
    return tmp;
}

static void fail_unexpected(struct parser *p, size_t pos, const char *expected)
{
    char tmp[48];

    fail_at(p, pos, "expected %s, found %s", expected, describe(p, pos, tmp, sizeof(tmp)));
}

/* ------------------------------------------------------------------ */
/* Buffers and values */

static bool buf_reserve(struct parser *p, struct buf *b, size_t extra)
{
    size_t ncap;
    char *np;

    if (b->len + extra + 1 <= b->cap)
        return true;
    ncap = b->cap ? b->cap : 32;
    while (ncap < b->len + extra + 1) {
        if (ncap > SIZE_MAX / 2) {
            fail_oom(p);
            return false;
        }
        ncap *= 2;
    }
    np = realloc(b->p, ncap);
    if (np == NULL) {
        fail_oom(p);
        return false;
    }
    b->p = np;
    b->cap = ncap;
    return true;
}

static bool buf_put(struct parser *p, struct buf *b, const char *s, size_t n)
{
    if (!buf_reserve(p, b, n))
        return false;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return true;
}

static bool buf_putc(struct parser *p, struct buf *b, char c)
{
    return buf_put(p, b, &c, 1);
}

static struct toml_value *value_new(struct parser *p, enum toml_type type)
{
    struct toml_value *v = calloc(1, sizeof(*v));

    if (v == NULL) {
        fail_oom(p);
        return NULL;
    }
    v->type = type;
    return v;
}

void toml_free(struct toml_value *v)
{
    size_t i;

    if (v == NULL)
        return;
    switch (v->type) {
    case TOML_TABLE:
        for (i = 0; i < v->u.tab.len; i++) {
            free(v->u.tab.kv[i].key);
            toml_free(v->u.tab.kv[i].val);
        }
        free(v->u.tab.kv);
        free(v->u.tab.index);
        break;
    case TOML_ARRAY:
        for (i = 0; i < v->u.arr.len; i++)
            toml_free(v->u.arr.items[i]);
        free(v->u.arr.items);
        break;
    case TOML_STRING:
        free(v->u.str.ptr);
        break;
    default:
        break;
    }
    free(v);
}

static size_t key_hash(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211ULL;
    }
    return (size_t)(h ^ (h >> 32));
}

/* Tables with more than this many keys get a hash index. */
#define INDEX_MIN 8

static bool table_reindex(struct parser *p, struct toml_value *t)
{
    size_t cap = 16, i, *idx;

    while (cap < t->u.tab.len * 2)
        cap *= 2;
    idx = calloc(cap, sizeof(*idx));
    if (idx == NULL) {
        fail_oom(p);
        return false;
    }
    for (i = 0; i < t->u.tab.len; i++) {
        size_t h = key_hash(t->u.tab.kv[i].key, t->u.tab.kv[i].keylen) & (cap - 1);
        while (idx[h] != 0)
            h = (h + 1) & (cap - 1);
        idx[h] = i + 1;
    }
    free(t->u.tab.index);
    t->u.tab.index = idx;
    t->u.tab.index_cap = cap;
    return true;
}

static struct toml_value *table_find(const struct toml_value *t, const char *k, size_t n)
{
    size_t i;

    if (t->u.tab.index != NULL) {
        size_t mask = t->u.tab.index_cap - 1;
        size_t h = key_hash(k, n) & mask;
        while (t->u.tab.index[h] != 0) {
            const struct toml_kv *kv = &t->u.tab.kv[t->u.tab.index[h] - 1];
            if (kv->keylen == n && memcmp(kv->key, k, n) == 0)
                return kv->val;
            h = (h + 1) & mask;
        }
        return NULL;
    }
    for (i = 0; i < t->u.tab.len; i++) {
        const struct toml_kv *kv = &t->u.tab.kv[i];
        if (kv->keylen == n && memcmp(kv->key, k, n) == 0)
            return kv->val;
    }
    return NULL;
}

/* Add key -> val (key not present; checked by the caller). The table takes
 * ownership of val even on failure. */
static bool table_add(struct parser *p, struct toml_value *t, const struct buf *key,
                      struct toml_value *val)
{
    struct toml_kv *kv;
    char *k;

    if (t->u.tab.len == t->u.tab.cap) {
        size_t ncap = t->u.tab.cap ? t->u.tab.cap * 2 : 4;
        kv = realloc(t->u.tab.kv, ncap * sizeof(*kv));
        if (kv == NULL) {
            toml_free(val);
            fail_oom(p);
            return false;
        }
        t->u.tab.kv = kv;
        t->u.tab.cap = ncap;
    }
    k = malloc(key->len + 1);
    if (k == NULL) {
        toml_free(val);
        fail_oom(p);
        return false;
    }
    if (key->len > 0)
        memcpy(k, key->p, key->len);
    k[key->len] = '\0';
    kv = &t->u.tab.kv[t->u.tab.len++];
    kv->key = k;
    kv->keylen = key->len;
    kv->val = val;

    if (t->u.tab.index != NULL && t->u.tab.len * 2 <= t->u.tab.index_cap) {
        size_t mask = t->u.tab.index_cap - 1;
        size_t h = key_hash(k, key->len) & mask;
        while (t->u.tab.index[h] != 0)
            h = (h + 1) & mask;
        t->u.tab.index[h] = t->u.tab.len;
    } else if (t->u.tab.len > INDEX_MIN) {
        return table_reindex(p, t);
    }
    return true;
}

static bool array_add(struct parser *p, struct toml_value *a, struct toml_value *val)
{
    if (a->u.arr.len == a->u.arr.cap) {
        size_t ncap = a->u.arr.cap ? a->u.arr.cap * 2 : 4;
        struct toml_value **items = realloc(a->u.arr.items, ncap * sizeof(*items));
        if (items == NULL) {
            toml_free(val);
            fail_oom(p);
            return false;
        }
        a->u.arr.items = items;
        a->u.arr.cap = ncap;
    }
    a->u.arr.items[a->u.arr.len++] = val;
    return true;
}

/* ------------------------------------------------------------------ */
/* Lexical helpers */

static int peek_at(const struct parser *p, size_t pos)
{
    return pos < p->len ? (unsigned char)p->s[pos] : -1;
}

static int peek(const struct parser *p)
{
    return peek_at(p, p->pos);
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_bare(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '-';
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
        p->pos++;
}

/* At a newline (LF or CRLF)? Returns its length, 0 if none. */
static size_t newline_len(const struct parser *p, size_t pos)
{
    if (peek_at(p, pos) == '\n')
        return 1;
    if (peek_at(p, pos) == '\r' && peek_at(p, pos + 1) == '\n')
        return 2;
    return 0;
}

/* Control characters other than tab are not allowed in comments and
 * strings. */
static bool is_control(int c)
{
    return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
}

/* p at '#': consume the comment up to (not including) the newline. */
static bool skip_comment(struct parser *p)
{
    p->pos++;
    while (p->pos < p->len) {
        int c = peek(p);
        if (c == '\n' || newline_len(p, p->pos) == 2)
            break;
        if (is_control(c)) {
            char tmp[48];
            fail_at(p, p->pos, "%s not allowed in a comment",
                    describe(p, p->pos, tmp, sizeof(tmp)));
            return false;
        }
        p->pos++;
    }
    return true;
}

/* Skip whitespace, comments and newlines (inside arrays). */
static bool skip_ws_nl(struct parser *p)
{
    for (;;) {
        size_t nl;

        skip_ws(p);
        if (peek(p) == '#') {
            if (!skip_comment(p))
                return false;
        }
        nl = newline_len(p, p->pos);
        if (nl == 0)
            return true;
        p->pos += nl;
    }
}

/* After an expression: optional whitespace and comment, then a newline or
 * the end of the document. */
static bool expect_eol(struct parser *p)
{
    size_t nl;

    skip_ws(p);
    if (peek(p) == '#' && !skip_comment(p))
        return false;
    if (p->pos >= p->len)
        return true;
    nl = newline_len(p, p->pos);
    if (nl == 0) {
        fail_unexpected(p, p->pos, "end of line");
        return false;
    }
    p->pos += nl;
    return true;
}

static bool put_utf8(struct parser *p, struct buf *b, uint32_t cp)
{
    char o[4];
    size_t n;

    if (cp < 0x80) {
        o[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        o[0] = (char)(0xf0 | (cp >> 18));
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return buf_put(p, b, o, n);
}

/* ------------------------------------------------------------------ */
/* Strings */

/* p at a backslash inside a basic string. */
static bool parse_escape(struct parser *p, struct buf *b, bool multiline)
{
    size_t start = p->pos;
    int e = peek_at(p, p->pos + 1);
    char tmp[48];

    switch (e) {
    case 'b':
        p->pos += 2;
        return buf_putc(p, b, '\b');
    case 't':
        p->pos += 2;
        return buf_putc(p, b, '\t');
    case 'n':
        p->pos += 2;
        return buf_putc(p, b, '\n');
    case 'f':
        p->pos += 2;
        return buf_putc(p, b, '\f');
    case 'r':
        p->pos += 2;
        return buf_putc(p, b, '\r');
    case '"':
        p->pos += 2;
        return buf_putc(p, b, '"');
    case '\\':
        p->pos += 2;
        return buf_putc(p, b, '\\');
    case 'u':
    case 'U': {
        size_t n = e == 'u' ? 4 : 8, i;
        uint32_t cp = 0;

        for (i = 0; i < n; i++) {
            int h = peek_at(p, p->pos + 2 + i);
            if (!is_hex(h)) {
                fail_at(p, start, "\\%c escape needs %zu hexadecimal digits", e, n);
                return false;
            }
            cp = cp * 16 + (uint32_t)(is_digit(h) ? h - '0' : (h | 0x20) - 'a' + 10);
        }
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            fail_at(p, start, "escape \\%c%.*s is not a Unicode scalar value", e, (int)n,
                    p->s + start + 2);
            return false;
        }
        p->pos += 2 + n;
        return put_utf8(p, b, cp);
    }
    default:
        break;
    }
    if (multiline && (e == ' ' || e == '\t' || e == '\n' || e == '\r')) {
        /* Line-ending backslash: whitespace up to a newline, then trim all
         * whitespace and newlines. */
        size_t q = p->pos + 1;
        while (peek_at(p, q) == ' ' || peek_at(p, q) == '\t')
            q++;
        if (newline_len(p, q) == 0) {
            fail_at(p, start, "a backslash followed by whitespace must end the line");
            return false;
        }
        for (;;) {
            size_t nl = newline_len(p, q);
            if (nl > 0)
                q += nl;
            else if (peek_at(p, q) == ' ' || peek_at(p, q) == '\t')
                q++;
            else
                break;
        }
        p->pos = q;
        return true;
    }
    if (e < 0 || e == '\n' || e == '\r')
        fail_at(p, start, "invalid escape: backslash at end of line");
    else if (e >= 0x20 && e < 0x7f)
        fail_at(p, start, "invalid escape sequence '\\%c'", e);
    else
        fail_at(p, start, "invalid escape sequence: backslash followed by %s",
                describe(p, p->pos + 1, tmp, sizeof(tmp)));
    return false;
}

/* p at the opening quote of any string kind; the content goes to b. */
static bool parse_string(struct parser *p, struct buf *b, bool allow_multiline)
{
    size_t start = p->pos;
    char q = p->s[p->pos];
    bool literal = q == '\'';
    bool multiline = peek_at(p, p->pos + 1) == q && peek_at(p, p->pos + 2) == q;
    char tmp[48];

    if (!buf_reserve(p, b, 0))
        return false;
    b->p[b->len] = '\0';
    if (multiline) {
        if (!allow_multiline) {
            fail_at(p, start, "a multi-line string cannot be a key");
            return false;
        }
        p->pos += 3;
        p->pos += newline_len(p, p->pos); /* trim a newline right after the opening */
    } else {
        p->pos++;
    }
    for (;;) {
        int c = peek(p);
        size_t nl;

        if (c < 0) {
            /* A multi-line string that runs to the end is reported where
             * it opens; a single-line one at the end of its line. */
            if (multiline)
                fail_at(p, start, "unterminated multi-line string");
            else
                fail_at(p, p->pos, "unterminated string");
            return false;
        }
        if (c == q) {
            if (!multiline) {
                p->pos++;
                return true;
            }
            size_t n = 0;
            while (peek_at(p, p->pos + n) == q)
                n++;
            if (n < 3) {
                if (!buf_put(p, b, p->s + p->pos, n))
                    return false;
                p->pos += n;
                continue;
            }
            if (n > 5) {
                fail_at(p, p->pos + 5, "too many quotes at the end of a multi-line string");
                return false;
            }
            if (!buf_put(p, b, p->s + p->pos, n - 3))
                return false;
            p->pos += n;
            return true;
        }
        if (c == '\\' && !literal) {
            if (!parse_escape(p, b, multiline))
                return false;
            continue;
        }
        nl = newline_len(p, p->pos);
        if (nl > 0 || c == '\r') {
            if (!multiline) {
                fail_at(p, p->pos, "unterminated string: end of line before the closing quote");
                return false;
            }
            if (nl == 0) {
                fail_at(p, p->pos, "carriage return not followed by a line feed in a string");
                return false;
            }
            if (!buf_putc(p, b, '\n'))
                return false;
            p->pos += nl;
            continue;
        }
        if (is_control(c)) {
            fail_at(p, p->pos, "%s not allowed in a string (use an escape)",
                    describe(p, p->pos, tmp, sizeof(tmp)));
            return false;
        }
        /* Copy a run of ordinary bytes (UTF-8 already validated). */
        {
            size_t e = p->pos;
            while (e < p->len) {
                int d = (unsigned char)p->s[e];
                if (d == q || (d == '\\' && !literal) || d == '\n' || d == '\r' || is_control(d))
                    break;
                e++;
            }
            if (!buf_put(p, b, p->s + p->pos, e - p->pos))
                return false;
            p->pos = e;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Keys */

static void keypath_clear(struct keypath *kp)
{
    size_t i;

    for (i = 0; i < kp->n; i++)
        free(kp->parts[i].p);
    kp->n = 0;
}

static bool parse_simple_key(struct parser *p, struct buf *b)
{
    int c = peek(p);

    b->len = 0;
    if (c == '"' || c == '\'')
        return parse_string(p, b, false);
    if (!is_bare(c)) {
        fail_unexpected(p, p->pos, "a key");
        return false;
    }
    {
        size_t s = p->pos;
        while (is_bare(peek(p)))
            p->pos++;
        return buf_put(p, b, p->s + s, p->pos - s);
    }
}

static bool parse_key(struct parser *p, struct keypath *kp)
{
    kp->n = 0;
    for (;;) {
        if (kp->n == TOML_MAX_DEPTH) {
            fail_at(p, p->pos, "key has too many parts (limit %d)", TOML_MAX_DEPTH);
            return false;
        }
        kp->parts[kp->n] = (struct buf){0};
        kp->pos[kp->n] = p->pos;
        kp->n++;
        if (!parse_simple_key(p, &kp->parts[kp->n - 1]))
            return false;
        skip_ws(p);
        if (peek(p) != '.')
            return true;
        p->pos++;
        skip_ws(p);
    }
}

/* Quote a key for messages. */
static const char *key_str(const struct buf *k, char *tmp, size_t n)
{
    size_t i, o = 0;

    for (i = 0; i < k->len && o + 5 < n; i++) {
        unsigned char c = (unsigned char)k->p[i];
        tmp[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (i < k->len) {
        /* Cut at a character boundary: keys are valid UTF-8. */
        while (i > 0 && o > 0 && ((unsigned char)k->p[i] & 0xc0) == 0x80) {
            i--;
            o--;
        }
        memcpy(tmp + o, "...", 3);
        o += 3;
    }
    tmp[o] = '\0';
    return tmp;
}

/* "an integer", "a static array", ... for messages. */
static const char *a_kind(const struct toml_value *v)
{
    switch (v->type) {
    case TOML_TABLE:
        return (v->flags & T_INLINE) ? "an inline table" : "a table";
    case TOML_ARRAY:
        return (v->flags & A_TABLES) ? "an array of tables" : "a static array";
    case TOML_STRING:
        return "a string";
    case TOML_INTEGER:
        return "an integer";
    case TOML_FLOAT:
        return "a float";
    case TOML_BOOL:
        return "a boolean";
    case TOML_DATETIME:
        return "an offset date-time";
    case TOML_DATETIME_LOCAL:
        return "a local date-time";
    case TOML_DATE_LOCAL:
        return "a local date";
    case TOML_TIME_LOCAL:
        return "a local time";
    }
    return "a value";
}

/* ------------------------------------------------------------------ */
/* Values */

static struct toml_value *parse_value(struct parser *p, int depth);
static bool parse_keyval(struct parser *p, struct toml_value *tab, int depth, struct keypath *kp);

static bool digits2(const char *t, int *out)
{
    if (!is_digit(t[0]) || !is_digit(t[1]))
        return false;
    *out = (t[0] - '0') * 10 + (t[1] - '0');
    return true;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

/* Parse "HH:MM:SS[.frac]" at t (n bytes available); returns bytes used or 0. */
static size_t parse_time(struct parser *p, size_t at, const char *t, size_t n,
                         struct toml_datetime *dt, char *text, size_t *tl)
{
    size_t i;
    int nd;

    if (n < 8 || !digits2(t, &dt->hour) || t[2] != ':' || !digits2(t + 3, &dt->minute) ||
        t[5] != ':' || !digits2(t + 6, &dt->second)) {
        fail_at(p, at, "invalid time: expected HH:MM:SS");
        return 0;
    }
    if (dt->hour > 23 || dt->minute > 59 || dt->second > 60) {
        fail_at(p, at, "invalid time %.8s: out of range", t);
        return 0;
    }
    memcpy(text + *tl, t, 8);
    *tl += 8;
    i = 8;
    if (i < n && t[i] == '.') {
        i++;
        if (i >= n || !is_digit(t[i])) {
            fail_at(p, at + i, "invalid time: expected digits after '.'");
            return 0;
        }
        text[(*tl)++] = '.';
        nd = 0;
        while (i < n && is_digit(t[i])) {
            if (nd < 9) {
                dt->nanosecond = dt->nanosecond * 10 + (t[i] - '0');
                text[(*tl)++] = t[i];
                nd++;
            }
            i++;
        }
        for (; nd < 9; nd++)
            dt->nanosecond *= 10;
    }
    return i;
}

static struct toml_value *parse_datetime(struct parser *p, size_t at, const char *t, size_t n)
{
    struct toml_datetime dt = {0};
    char text[40];
    size_t tl = 0, i = 0, used;
    enum toml_type type;
    struct toml_value *v;

    if (n >= 3 && t[2] == ':') {
        used = parse_time(p, at, t, n, &dt, text, &tl);
        if (used == 0)
            return NULL;
        if (used != n) {
            fail_at(p, at + used, "invalid local time: unexpected text after the time");
            return NULL;
        }
        type = TOML_TIME_LOCAL;
        goto done;
    }
    if (n < 10 || !is_digit(t[0]) || !is_digit(t[1]) || !is_digit(t[2]) || !is_digit(t[3]) ||
        t[4] != '-' || !digits2(t + 5, &dt.month) || t[7] != '-' || !digits2(t + 8, &dt.day)) {
        fail_at(p, at, "invalid date: expected YYYY-MM-DD");
        return NULL;
    }
    dt.year = (t[0] - '0') * 1000 + (t[1] - '0') * 100 + (t[2] - '0') * 10 + (t[3] - '0');
    if (dt.month < 1 || dt.month > 12) {
        fail_at(p, at, "invalid date %.10s: month out of range", t);
        return NULL;
    }
    if (dt.day < 1 || dt.day > days_in_month(dt.year, dt.month)) {
        fail_at(p, at, "invalid date %.10s: day out of range", t);
        return NULL;
    }
    memcpy(text, t, 10);
    tl = 10;
    if (n == 10) {
        type = TOML_DATE_LOCAL;
        goto done;
    }
    if (t[10] != 'T' && t[10] != 't' && t[10] != ' ') {
        fail_at(p, at + 10, "invalid date-time: expected 'T' or a space after the date");
        return NULL;
    }
    text[tl++] = 'T';
    i = 11;
    used = parse_time(p, at + i, t + i, n - i, &dt, text, &tl);
    if (used == 0)
        return NULL;
    i += used;
    if (i == n) {
        type = TOML_DATETIME_LOCAL;
        goto done;
    }
    type = TOML_DATETIME;
    if ((t[i] == 'Z' || t[i] == 'z') && i + 1 == n) {
        text[tl++] = 'Z';
    } else if ((t[i] == '+' || t[i] == '-') && n - i == 6) {
        int oh, om;
        if (!digits2(t + i + 1, &oh) || t[i + 3] != ':' || !digits2(t + i + 4, &om)) {
            fail_at(p, at + i, "invalid time offset: expected +HH:MM or -HH:MM");
            return NULL;
        }
        if (oh > 23 || om > 59) {
            fail_at(p, at + i, "invalid time offset %.6s: out of range", t + i);
            return NULL;
        }
        dt.offset_minutes = (oh * 60 + om) * (t[i] == '-' ? -1 : 1);
        memcpy(text + tl, t + i, 6);
        tl += 6;
    } else {
        fail_at(p, at + i, "invalid date-time: expected 'Z', an offset or the end of the value");
        return NULL;
    }
done:
    v = value_new(p, type);
    if (v == NULL)
        return NULL;
    text[tl] = '\0';
    v->u.dt.dt = dt;
    memcpy(v->u.dt.text, text, tl + 1);
    return v;
}

/* Digits of the given base with single underscores between digits. Returns
 * the end offset, or 0 on a syntax error (reported). */
static size_t scan_digits(struct parser *p, size_t at, const char *t, size_t i, size_t n, int base,
                          const char *what)
{
    size_t s = i;

    for (;;) {
        int c = i < n ? (unsigned char)t[i] : -1;
        bool ok = base == 16 ? is_hex(c) : (c >= '0' && c < '0' + base);
        if (ok) {
            i++;
            continue;
        }
        if (c == '_') {
            int d = i + 1 < n ? (unsigned char)t[i + 1] : -1;
            bool next = base == 16 ? is_hex(d) : (d >= '0' && d < '0' + base);
            if (i == s || !next) {
                fail_at(p, at + i, "invalid %s: '_' must be between two digits", what);
                return 0;
            }
            i++;
            continue;
        }
        break;
    }
    if (i == s) {
        fail_at(p, at + i, "invalid %s: expected a digit", what);
        return 0;
    }
    return i;
}

static struct toml_value *parse_number(struct parser *p, size_t at, const char *t, size_t n)
{
    size_t i = 0, e;
    bool neg = false, is_float = false;
    struct toml_value *v;

    if (t[0] == '+' || t[0] == '-') {
        neg = t[0] == '-';
        i = 1;
    }
    if (n - i == 3 && (memcmp(t + i, "inf", 3) == 0 || memcmp(t + i, "nan", 3) == 0)) {
        v = value_new(p, TOML_FLOAT);
        if (v != NULL) {
            if (t[i] == 'i')
                v->u.f = neg ? -INFINITY : INFINITY;
            else
                v->u.f = neg ? -NAN : NAN;
        }
        return v;
    }
    if (i < n && t[i] == '0' && i + 1 < n &&
        (t[i + 1] == 'x' || t[i + 1] == 'o' || t[i + 1] == 'b')) {
        int base = t[i + 1] == 'x' ? 16 : t[i + 1] == 'o' ? 8 : 2;
        uint64_t acc = 0;
        size_t k;

        if (i > 0) {
            fail_at(p, at, "a sign is not allowed on hexadecimal, octal or binary integers");
            return NULL;
        }
        e = scan_digits(p, at, t, 2, n, base, "integer");
        if (e == 0)
            return NULL;
        if (e != n) {
            fail_at(p, at + e, "invalid integer '%.*s'", (int)(n > 40 ? 40 : n), t);
            return NULL;
        }
        for (k = 2; k < n; k++) {
            int c = (unsigned char)t[k], d;
            if (c == '_')
                continue;
            d = is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
            if (acc > ((uint64_t)INT64_MAX - (uint64_t)d) / (uint64_t)base) {
                fail_at(p, at, "integer %.*s does not fit in 64 bits", (int)n, t);
                return NULL;
            }
            acc = acc * (uint64_t)base + (uint64_t)d;
        }
        v = value_new(p, TOML_INTEGER);
        if (v != NULL)
            v->u.i = (int64_t)acc;
        return v;
    }
    if (i >= n || !is_digit(t[i])) {
        fail_at(p, at, "invalid value '%.*s'", (int)(n > 40 ? 40 : n), t);
        return NULL;
    }
    if (t[i] == '0' && i + 1 < n && (is_digit(t[i + 1]) || t[i + 1] == '_')) {
        fail_at(p, at + i, "leading zeros are not allowed in decimal numbers");
        return NULL;
    }
    e = scan_digits(p, at, t, i, n, 10, "number");
    if (e == 0)
        return NULL;
    if (e < n && t[e] == '.') {
        is_float = true;
        e = scan_digits(p, at, t, e + 1, n, 10, "float");
        if (e == 0)
            return NULL;
    }
    if (e < n && (t[e] == 'e' || t[e] == 'E')) {
        is_float = true;
        e++;
        if (e < n && (t[e] == '+' || t[e] == '-'))
            e++;
        e = scan_digits(p, at, t, e, n, 10, "float exponent");
        if (e == 0)
            return NULL;
    }
    if (e != n) {
        fail_at(p, at + e, "invalid %s '%.*s'", is_float ? "float" : "integer",
                (int)(n > 40 ? 40 : n), t);
        return NULL;
    }
    if (is_float) {
        char *clean = malloc(n + 1), *end;
        size_t k, o = 0;
        double d;

        if (clean == NULL) {
            fail_oom(p);
            return NULL;
        }
        for (k = 0; k < n; k++)
            if (t[k] != '_')
                clean[o++] = t[k];
        clean[o] = '\0';
        errno = 0;
        d = strtod(clean, &end);
        if (*end != '\0' || (errno == ERANGE && isinf(d))) {
            free(clean);
            fail_at(p, at, "float %.*s is out of range", (int)(n > 40 ? 40 : n), t);
            return NULL;
        }
        free(clean);
        v = value_new(p, TOML_FLOAT);
        if (v != NULL)
            v->u.f = d;
        return v;
    } else {
        uint64_t acc = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        size_t k;

        for (k = i; k < n; k++) {
            int d;
            if (t[k] == '_')
                continue;
            d = t[k] - '0';
            if (acc > (lim - (uint64_t)d) / 10) {
                fail_at(p, at, "integer %.*s does not fit in 64 bits", (int)(n > 40 ? 40 : n), t);
                return NULL;
            }
            acc = acc * 10 + (uint64_t)d;
        }
        v = value_new(p, TOML_INTEGER);
        if (v != NULL)
            v->u.i = neg ? (int64_t)(0 - acc) : (int64_t)acc;
        return v;
    }
}

static bool is_token_char(int c)
{
    return is_bare(c) || c == '+' || c == '.' || c == ':';
}

/* Booleans, numbers and dates: scan a run of token characters (plus the
 * space between date and time), then classify it. */
static struct toml_value *parse_scalar(struct parser *p)
{
    size_t s = p->pos, n;
    const char *t = p->s + s;
    struct toml_value *v;

    while (is_token_char(peek(p)))
        p->pos++;
    n = p->pos - s;
    if (n == 10 && t[4] == '-' && t[7] == '-' && peek(p) == ' ' &&
        is_digit(peek_at(p, p->pos + 1)) && is_digit(peek_at(p, p->pos + 2)) &&
        peek_at(p, p->pos + 3) == ':') {
        p->pos++;
        while (is_token_char(peek(p)))
            p->pos++;
        n = p->pos - s;
    }
    if (n == 0) {
        fail_unexpected(p, s, "a value");
        return NULL;
    }
    if ((n == 4 && memcmp(t, "true", 4) == 0) || (n == 5 && memcmp(t, "false", 5) == 0)) {
        v = value_new(p, TOML_BOOL);
        if (v != NULL)
            v->u.b = n == 4;
        return v;
    }
    if ((n >= 5 && is_digit(t[0]) && is_digit(t[1]) && is_digit(t[2]) && is_digit(t[3]) &&
         t[4] == '-') ||
        (n >= 3 && is_digit(t[0]) && is_digit(t[1]) && t[2] == ':'))
        return parse_datetime(p, s, t, n);
    if (!is_digit(t[0]) && t[0] != '+' && t[0] != '-' && t[0] != 'i' && t[0] != 'n') {
        fail_at(p, s, "invalid value '%.*s' (strings must be quoted)", (int)(n > 40 ? 40 : n), t);
        return NULL;
    }
    return parse_number(p, s, t, n);
}

/* Mark a finished inline table, and the tables its dotted keys made,
 * immutable. */
static void mark_inline(struct toml_value *t)
{
    size_t i;

    t->flags |= T_INLINE;
    for (i = 0; i < t->u.tab.len; i++) {
        struct toml_value *c = t->u.tab.kv[i].val;
        if (c->type == TOML_TABLE && !(c->flags & T_INLINE))
            mark_inline(c);
    }
}

static struct toml_value *parse_inline_table(struct parser *p, int depth)
{
    struct toml_value *t = value_new(p, TOML_TABLE);
    struct keypath *kp;

    if (t == NULL)
        return NULL;
    kp = calloc(1, sizeof(*kp));
    if (kp == NULL) {
        fail_oom(p);
        toml_free(t);
        return NULL;
    }
    p->pos++;
    skip_ws(p);
    if (peek(p) == '}') {
        p->pos++;
        goto done;
    }
    for (;;) {
        bool ok = parse_keyval(p, t, depth, kp);
        keypath_clear(kp);
        if (!ok)
            goto fail;
        skip_ws(p);
        if (peek(p) == ',') {
            p->pos++;
            skip_ws(p);
            if (peek(p) == '}') {
                fail_at(p, p->pos, "trailing comma not allowed in an inline table");
                goto fail;
            }
            continue;
        }
        if (peek(p) == '}') {
            p->pos++;
            break;
        }
        if (newline_len(p, p->pos) > 0 || peek(p) == '#')
            fail_at(p, p->pos, "inline tables must be on one line (expected ',' or '}')");
        else
            fail_unexpected(p, p->pos, "',' or '}' in inline table");
        goto fail;
    }
done:
    free(kp);
    mark_inline(t);
    return t;
fail:
    free(kp);
    toml_free(t);
    return NULL;
}

static struct toml_value *parse_array(struct parser *p, int depth)
{
    struct toml_value *a = value_new(p, TOML_ARRAY);

    if (a == NULL)
        return NULL;
    p->pos++;
    for (;;) {
        struct toml_value *v;

        if (!skip_ws_nl(p))
            goto fail;
        if (peek(p) == ']') {
            p->pos++;
            return a;
        }
        v = parse_value(p, depth + 1);
        if (v == NULL || !array_add(p, a, v))
            goto fail;
        if (!skip_ws_nl(p))
            goto fail;
        if (peek(p) == ',') {
            p->pos++;
            continue;
        }
        if (peek(p) == ']') {
            p->pos++;
            return a;
        }
        fail_unexpected(p, p->pos, "',' or ']' in array");
        goto fail;
    }
fail:
    toml_free(a);
    return NULL;
}

/* Parse a value whose node will sit at the given tree depth. */
static struct toml_value *parse_value(struct parser *p, int depth)
{
    int c = peek(p);

    if (depth > TOML_MAX_DEPTH) {
        fail_at(p, p->pos, "nesting too deep (limit %d levels)", TOML_MAX_DEPTH);
        return NULL;
    }
    if (c == '"' || c == '\'') {
        struct buf b = {0};
        struct toml_value *v;

        if (!parse_string(p, &b, true)) {
            free(b.p);
            return NULL;
        }
        v = value_new(p, TOML_STRING);
        if (v == NULL) {
            free(b.p);
            return NULL;
        }
        v->u.str.ptr = b.p;
        v->u.str.len = b.len;
        return v;
    }
    if (c == '[')
        return parse_array(p, depth);
    if (c == '{')
        return parse_inline_table(p, depth);
    return parse_scalar(p);
}

/* key = value, with the key's dotted parts resolved below tab (which sits
 * at the given depth). kp is scratch space; the caller clears it. */
static bool parse_keyval(struct parser *p, struct toml_value *tab, int depth, struct keypath *kp)
{
    struct toml_value *cur = tab, *v;
    size_t i;
    char tmp[64];

    if (!parse_key(p, kp))
        return false;
    if (depth + (int)kp->n > TOML_MAX_DEPTH) {
        fail_at(p, kp->pos[0], "nesting too deep (limit %d levels)", TOML_MAX_DEPTH);
        return false;
    }
    for (i = 0; i + 1 < kp->n; i++) {
        struct toml_value *next = table_find(cur, kp->parts[i].p, kp->parts[i].len);
        if (next == NULL) {
            next = value_new(p, TOML_TABLE);
            if (next == NULL)
                return false;
            next->flags = T_DOTTED;
            if (!table_add(p, cur, &kp->parts[i], next))
                return false;
        } else if (next->type != TOML_TABLE) {
            fail_at(p, kp->pos[i], "key '%s' is already defined as %s, not a table",
                    key_str(&kp->parts[i], tmp, sizeof(tmp)), a_kind(next));
            return false;
        } else if (next->flags & T_INLINE) {
            fail_at(p, kp->pos[i], "cannot add keys to inline table '%s'",
                    key_str(&kp->parts[i], tmp, sizeof(tmp)));
            return false;
        } else if (next->flags & T_HEADER) {
            fail_at(p, kp->pos[i],
                    "cannot add keys to table '%s' with dotted keys: it is defined "
                    "by a [table] header",
                    key_str(&kp->parts[i], tmp, sizeof(tmp)));
            return false;
        } else if (next->flags & T_IMPLICIT) {
            /* [a.b.c] then [a] with b.d = 1: the dotted key defines a.b
             * (as [a] b.d = 1 then [a.b.c] would). */
            next->flags = T_DOTTED;
        }
        cur = next;
    }
    if (table_find(cur, kp->parts[i].p, kp->parts[i].len) != NULL) {
        fail_at(p, kp->pos[i], "duplicate key '%s'", key_str(&kp->parts[i], tmp, sizeof(tmp)));
        return false;
    }
    if (peek(p) != '=') {
        fail_unexpected(p, p->pos, "'=' after the key");
        return false;
    }
    p->pos++;
    skip_ws(p);
    v = parse_value(p, depth + (int)kp->n);
    if (v == NULL)
        return false;
    return table_add(p, cur, &kp->parts[i], v);
}

/* [a.b.c] or [[a.b.c]]: returns the table that following keys go to. */
static struct toml_value *parse_header(struct parser *p, struct toml_value *root, int *depth,
                                       struct keypath *kp)
{
    bool aot = peek_at(p, p->pos + 1) == '[';
    struct toml_value *cur = root, *next;
    size_t i, open = p->pos;
    int d = 0;
    char tmp[64];

    p->pos += aot ? 2 : 1;
    skip_ws(p);
    if (!parse_key(p, kp))
        return NULL;
    if (peek(p) != ']' || (aot && peek_at(p, p->pos + 1) != ']')) {
        fail_unexpected(p, p->pos,
                        aot ? "']]' to close the array of tables header"
                            : "']' to close the table header");
        return NULL;
    }
    p->pos += aot ? 2 : 1;

    for (i = 0; i + 1 < kp->n; i++) {
        next = table_find(cur, kp->parts[i].p, kp->parts[i].len);
        if (next == NULL) {
            next = value_new(p, TOML_TABLE);
            if (next == NULL)
                return NULL;
            next->flags = T_IMPLICIT;
            if (!table_add(p, cur, &kp->parts[i], next))
                return NULL;
        } else if (next->type == TOML_ARRAY && (next->flags & A_TABLES)) {
            d++;
            next = next->u.arr.items[next->u.arr.len - 1];
        } else if (next->type != TOML_TABLE) {
            fail_at(p, kp->pos[i], "key '%s' is already defined as %s, not a table",
                    key_str(&kp->parts[i], tmp, sizeof(tmp)), a_kind(next));
            return NULL;
        } else if (next->flags & T_INLINE) {
            fail_at(p, kp->pos[i], "cannot extend inline table '%s'",
                    key_str(&kp->parts[i], tmp, sizeof(tmp)));
            return NULL;
        }
        cur = next;
        d++;
        if (d + 2 > TOML_MAX_DEPTH)
            break;
    }
    if (d + 2 > TOML_MAX_DEPTH) {
        fail_at(p, open, "nesting too deep (limit %d levels)", TOML_MAX_DEPTH);
        return NULL;
    }
    next = table_find(cur, kp->parts[i].p, kp->parts[i].len);
    if (aot) {
        struct toml_value *arr = next, *t;

        if (arr == NULL) {
            arr = value_new(p, TOML_ARRAY);
            if (arr == NULL)
                return NULL;
            arr->flags = A_TABLES;
            if (!table_add(p, cur, &kp->parts[i], arr))
                return NULL;
        } else if (arr->type != TOML_ARRAY || !(arr->flags & A_TABLES)) {
            fail_at(p, kp->pos[i],
                    "cannot define '%s' as an array of tables: it is already "
                    "defined as %s",
                    key_str(&kp->parts[i], tmp, sizeof(tmp)), a_kind(arr));
            return NULL;
        }
        t = value_new(p, TOML_TABLE);
        if (t == NULL)
            return NULL;
        t->flags = T_HEADER;
        if (!array_add(p, arr, t))
            return NULL;
        *depth = d + 2;
        return t;
    }
    if (next == NULL) {
        next = value_new(p, TOML_TABLE);
        if (next == NULL)
            return NULL;
        next->flags = T_HEADER;
        if (!table_add(p, cur, &kp->parts[i], next))
            return NULL;
    } else if (next->type != TOML_TABLE) {
        fail_at(p, kp->pos[i], "cannot define table '%s': it is already defined as %s",
                key_str(&kp->parts[i], tmp, sizeof(tmp)), a_kind(next));
        return NULL;
    } else if (!(next->flags & T_IMPLICIT)) {
        fail_at(p, kp->pos[i], "table '%s' is already defined%s",
                key_str(&kp->parts[i], tmp, sizeof(tmp)),
                (next->flags & T_INLINE)   ? " as an inline table"
                : (next->flags & T_DOTTED) ? " by dotted keys"
                                           : "");
        return NULL;
    } else {
        next->flags = (next->flags & ~(unsigned)T_IMPLICIT) | T_HEADER;
    }
    *depth = d + 1;
    return next;
}

/* ------------------------------------------------------------------ */
/* Entry point */

static void fill_error(const struct parser *p, struct toml_error *err)
{
    size_t i, line_start = 0;
    int line = 1, col = 1;

    if (err == NULL)
        return;
    snprintf(err->msg, sizeof(err->msg), "%s", p->msg);
    if (p->err_nopos) {
        err->line = 0;
        err->column = 0;
        return;
    }
    for (i = 0; i < p->err_pos && i < p->len; i++) {
        if (p->s[i] == '\n') {
            line++;
            line_start = i + 1;
        }
    }
    if (line_start == 0 && p->len >= 3 && memcmp(p->s, "\xef\xbb\xbf", 3) == 0)
        line_start = 3; /* the BOM is not a column */
    for (i = line_start; i < p->err_pos && i < p->len; i++)
        if (((unsigned char)p->s[i] & 0xc0) != 0x80)
            col++;
    err->line = line;
    err->column = col;
}

struct toml_value *toml_parse(const char *text, size_t len, struct toml_error *err)
{
    struct parser p = {.s = text, .len = len};
    struct toml_value *root, *cur;
    struct keypath *kp;
    size_t bad;
    int depth = 0;

    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (text == NULL && len > 0) {
        if (err != NULL)
            snprintf(err->msg, sizeof(err->msg), "no input");
        return NULL;
    }
    bad = text_utf8_check(text, len);
    if (bad != len) {
        fail_at(&p, bad, "invalid UTF-8");
        fill_error(&p, err);
        return NULL;
    }
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        p.pos = 3;

    root = value_new(&p, TOML_TABLE);
    kp = calloc(1, sizeof(*kp));
    if (root == NULL || kp == NULL) {
        free(kp);
        toml_free(root);
        fail_oom(&p);
        fill_error(&p, err);
        return NULL;
    }
    root->flags = T_HEADER;
    cur = root;
    while (!p.failed) {
        size_t nl;
        int c;
        bool ok;

        skip_ws(&p);
        c = peek(&p);
        if (c < 0)
            break;
        nl = newline_len(&p, p.pos);
        if (nl > 0) {
            p.pos += nl;
            continue;
        }
        if (c == '#') {
            if (skip_comment(&p))
                expect_eol(&p);
            continue;
        }
        if (c == '[') {
            struct toml_value *t = parse_header(&p, root, &depth, kp);
            ok = t != NULL;
            if (ok)
                cur = t;
        } else if (is_bare(c) || c == '"' || c == '\'') {
            ok = parse_keyval(&p, cur, depth, kp);
        } else {
            fail_unexpected(&p, p.pos, "a key or a [table] header");
            ok = false;
        }
        keypath_clear(kp);
        if (ok)
            expect_eol(&p);
    }
    free(kp);
    if (p.failed) {
        toml_free(root);
        fill_error(&p, err);
        return NULL;
    }
    return root;
}

/* ------------------------------------------------------------------ */
/* Accessors */

enum toml_type toml_type_of(const struct toml_value *v)
{
    return v->type;
}

const char *toml_type_name(enum toml_type type)
{
    switch (type) {
    case TOML_TABLE:
        return "table";
    case TOML_ARRAY:
        return "array";
    case TOML_STRING:
        return "string";
    case TOML_INTEGER:
        return "integer";
    case TOML_FLOAT:
        return "float";
    case TOML_BOOL:
        return "bool";
    case TOML_DATETIME:
        return "datetime";
    case TOML_DATETIME_LOCAL:
        return "datetime-local";
    case TOML_DATE_LOCAL:
        return "date-local";
    case TOML_TIME_LOCAL:
        return "time-local";
    }
    return "unknown";
}

size_t toml_table_len(const struct toml_value *v)
{
    return v != NULL && v->type == TOML_TABLE ? v->u.tab.len : 0;
}

const char *toml_table_key(const struct toml_value *v, size_t i, size_t *len)
{
    if (v == NULL || v->type != TOML_TABLE || i >= v->u.tab.len)
        return NULL;
    if (len != NULL)
        *len = v->u.tab.kv[i].keylen;
    return v->u.tab.kv[i].key;
}

const struct toml_value *toml_table_value(const struct toml_value *v, size_t i)
{
    if (v == NULL || v->type != TOML_TABLE || i >= v->u.tab.len)
        return NULL;
    return v->u.tab.kv[i].val;
}

const struct toml_value *toml_table_getn(const struct toml_value *v, const char *key, size_t len)
{
    if (v == NULL || v->type != TOML_TABLE || key == NULL)
        return NULL;
    return table_find(v, key, len);
}

const struct toml_value *toml_table_get(const struct toml_value *v, const char *key)
{
    return key == NULL ? NULL : toml_table_getn(v, key, strlen(key));
}

size_t toml_array_len(const struct toml_value *v)
{
    return v != NULL && v->type == TOML_ARRAY ? v->u.arr.len : 0;
}

const struct toml_value *toml_array_at(const struct toml_value *v, size_t i)
{
    if (v == NULL || v->type != TOML_ARRAY || i >= v->u.arr.len)
        return NULL;
    return v->u.arr.items[i];
}

const char *toml_string(const struct toml_value *v, size_t *len)
{
    if (v == NULL || v->type != TOML_STRING)
        return NULL;
    if (len != NULL)
        *len = v->u.str.len;
    return v->u.str.ptr != NULL ? v->u.str.ptr : "";
}

int64_t toml_integer(const struct toml_value *v)
{
    return v != NULL && v->type == TOML_INTEGER ? v->u.i : 0;
}

double toml_float(const struct toml_value *v)
{
    return v != NULL && v->type == TOML_FLOAT ? v->u.f : 0.0;
}

bool toml_bool(const struct toml_value *v)
{
    return v != NULL && v->type == TOML_BOOL ? v->u.b : false;
}

static bool is_datetime_type(enum toml_type t)
{
    return t == TOML_DATETIME || t == TOML_DATETIME_LOCAL || t == TOML_DATE_LOCAL ||
           t == TOML_TIME_LOCAL;
}

const struct toml_datetime *toml_datetime(const struct toml_value *v)
{
    return v != NULL && is_datetime_type(v->type) ? &v->u.dt.dt : NULL;
}

const char *toml_datetime_text(const struct toml_value *v)
{
    return v != NULL && is_datetime_type(v->type) ? v->u.dt.text : NULL;
}

/* ------------------------------------------------------------------ */
/* jansson */

json_t *toml_to_json(const struct toml_value *v)
{
    json_t *j = NULL;
    size_t i;

    if (v == NULL)
        return NULL;
    switch (v->type) {
    case TOML_TABLE:
        j = json_object();
        if (j == NULL)
            return NULL;
        for (i = 0; i < v->u.tab.len; i++) {
            const struct toml_kv *kv = &v->u.tab.kv[i];
            json_t *c = toml_to_json(kv->val);
            int rc;
            if (c == NULL) {
                json_decref(j);
                return NULL;
            }
#if JANSSON_VERSION_HEX >= 0x020e00
            rc = json_object_setn_new(j, kv->key, kv->keylen, c);
#else
            rc = json_object_set_new(j, kv->key, c);
#endif
            if (rc != 0) {
                json_decref(j);
                return NULL;
            }
        }
        return j;
    case TOML_ARRAY:
        j = json_array();
        if (j == NULL)
            return NULL;
        for (i = 0; i < v->u.arr.len; i++) {
            json_t *c = toml_to_json(v->u.arr.items[i]);
            if (c == NULL || json_array_append_new(j, c) != 0) {
                json_decref(j);
                return NULL;
            }
        }
        return j;
    case TOML_STRING:
        return json_stringn(v->u.str.ptr != NULL ? v->u.str.ptr : "", v->u.str.len);
    case TOML_INTEGER:
        return json_integer((json_int_t)v->u.i);
    case TOML_FLOAT:
        if (isnan(v->u.f))
            return json_string("nan");
        if (isinf(v->u.f))
            return json_string(v->u.f < 0 ? "-inf" : "inf");
        return json_real(v->u.f);
    case TOML_BOOL:
        return json_boolean(v->u.b);
    case TOML_DATETIME:
    case TOML_DATETIME_LOCAL:
    case TOML_DATE_LOCAL:
    case TOML_TIME_LOCAL:
        return json_string(v->u.dt.text);
    }
    return NULL;
}
