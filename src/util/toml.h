/* A strict TOML 1.0.0 parser (Debian ships no C TOML library).
 *
 * toml_parse() turns a whole document into a tree of struct toml_value and
 * rejects anything the specification does not allow: invalid UTF-8, control
 * characters, bad escapes, out-of-range numbers and dates, and every table
 * redefinition rule. It has no global state, never prints and never exits;
 * on failure it returns NULL and fills struct toml_error with the 1-based
 * line and column (in characters) of the problem.
 *
 * Tables keep their keys in document order. Strings are UTF-8 with an
 * explicit length, since an escape (\u0000) can put a NUL inside one; they
 * are also NUL-terminated for convenience. CRLF inside multi-line strings is
 * stored as LF. Nesting (tables, arrays, dotted keys together) is limited to
 * TOML_MAX_DEPTH levels so hostile input cannot exhaust the stack.
 *
 * Choices where TOML 1.0.0 leaves room: integers must fit in int64; a float
 * literal too large for a double (1e400) is an error, not infinity; a
 * seconds field of 60 (leap second) is accepted; fractional seconds beyond
 * nanoseconds are truncated.
 *
 * toml_to_json() converts a tree to jansson for amber's launch files. */
#ifndef AMBER_TOML_H
#define AMBER_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define TOML_MAX_DEPTH 128

enum toml_type {
    TOML_TABLE,
    TOML_ARRAY,
    TOML_STRING,
    TOML_INTEGER,
    TOML_FLOAT,
    TOML_BOOL,
    TOML_DATETIME,       /* offset date-time: 1979-05-27T07:32:00Z */
    TOML_DATETIME_LOCAL, /* 1979-05-27T07:32:00 */
    TOML_DATE_LOCAL,     /* 1979-05-27 */
    TOML_TIME_LOCAL,     /* 07:32:00 */
};

struct toml_error {
    int line;   /* 1-based; 0 when the error has no position (out of memory) */
    int column; /* 1-based, counted in characters (UTF-8 code points) */
    char msg[256];
};

/* The fields of a date/time value; the parts a type lacks are 0. */
struct toml_datetime {
    int year, month, day;
    int hour, minute, second; /* second may be 60 (leap second) */
    int nanosecond;           /* fraction, truncated to 9 digits */
    int offset_minutes;       /* TOML_DATETIME only: minutes east of UTC */
};

struct toml_value;

/* Parse len bytes of text (need not be NUL-terminated; a leading UTF-8 BOM
 * is skipped). Returns the root table, or NULL with *err filled in. err may
 * be NULL. Free the result with toml_free(). */
struct toml_value *toml_parse(const char *text, size_t len, struct toml_error *err);
void toml_free(struct toml_value *v);

enum toml_type toml_type_of(const struct toml_value *v);
/* "table", "array", "string", "integer", "float", "bool", "datetime",
 * "datetime-local", "date-local", "time-local" (toml-test's names). */
const char *toml_type_name(enum toml_type type);

/* Tables: entries in document order. toml_table_key() stores the key's
 * length in *len when len is not NULL. toml_table_get() looks up a key
 * (a C string, so without NUL bytes); toml_table_getn() takes a length.
 * They return NULL when v is not a table or the key is absent. */
size_t toml_table_len(const struct toml_value *v);
const char *toml_table_key(const struct toml_value *v, size_t i, size_t *len);
const struct toml_value *toml_table_value(const struct toml_value *v, size_t i);
const struct toml_value *toml_table_get(const struct toml_value *v, const char *key);
const struct toml_value *toml_table_getn(const struct toml_value *v, const char *key, size_t len);

/* Arrays (both inline arrays and arrays of tables). */
size_t toml_array_len(const struct toml_value *v);
const struct toml_value *toml_array_at(const struct toml_value *v, size_t i);

/* Scalars. The caller checks the type first; a wrong type gives NULL, 0,
 * 0.0 or false. */
const char *toml_string(const struct toml_value *v, size_t *len);
int64_t toml_integer(const struct toml_value *v);
double toml_float(const struct toml_value *v);
bool toml_bool(const struct toml_value *v);
/* All four date/time types: the fields, and the value as normalised TOML
 * text (upper-case 'T' separator, 'Z' for z, fraction cut to 9 digits),
 * e.g. "1979-05-27T07:32:00.5-07:00", "1979-05-27", "07:32:00". */
const struct toml_datetime *toml_datetime(const struct toml_value *v);
const char *toml_datetime_text(const struct toml_value *v);

/* Convert to jansson: table -> object (document key order), array ->
 * array, string -> string, integer -> integer, float -> real, bool -> bool,
 * date/time -> string holding toml_datetime_text(). jansson cannot hold
 * infinities or NaN as reals, so those floats become the strings "inf",
 * "-inf" and "nan". Keys keep document order; a key containing a NUL byte
 * (from a \u0000 escape) keeps it with jansson >= 2.14 and is cut at the NUL
 * with older versions. Returns a new reference, or NULL when out of
 * memory. */
json_t *toml_to_json(const struct toml_value *v);

#endif
