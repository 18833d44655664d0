/* Unit tests: text in fixed-size fields and in JSON (util/text.c,
 * util/json.c), and the error object and spec digest that use them. */
#include <stdlib.h>

#include "spec/spec.h"
#include "test.h"
#include "util/error.h"
#include "util/json.h"
#include "util/text.h"
#include "util/xalloc.h"

/* Is s well-formed UTF-8? jansson is the judge the outputs face. */
static int is_utf8(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

int main(void)
{
    char buf[8];
    /* "ab€" is a b E2 82 AC */
    text_copy(buf, 5, "ab\xe2\x82\xac");
    CHECK(strcmp(buf, "ab") == 0); /* the euro sign would not fit whole */
    text_copy(buf, 6, "ab\xe2\x82\xac");
    CHECK(strcmp(buf, "ab\xe2\x82\xac") == 0);
    text_copy(buf, 4, "abcdef");
    CHECK(strcmp(buf, "abc") == 0);
    /* a 4-byte character cut after 1, 2 and 3 bytes */
    for (size_t cap = 2; cap <= 4; cap++) {
        char b[8];
        text_copy(b, cap + 1, "x\xf0\x9f\x98\x80");
        CHECK(strcmp(b, "x") == 0);
    }
    {
        char b[8] = "x\xf0\x9f\x98\x80";
        text_cut_utf8(b);
        CHECK(strcmp(b, "x\xf0\x9f\x98\x80") == 0); /* complete: kept */
    }

    /* An error message that fills the buffer with multi-byte characters
     * ends on a character boundary, whatever the offset. */
    for (int pad = 0; pad < 4; pad++) {
        struct amber_error err;
        char text[1200];
        size_t w = 0;
        for (int i = 0; i < pad; i++)
            text[w++] = 'a';
        while (w + 3 < sizeof(text)) {
            memcpy(text + w, "\xe2\x82\xac", 3);
            w += 3;
        }
        text[w] = '\0';
        amber_error_set(&err, 0, "%s", text);
        CHECK(is_utf8(err.msg));
        CHECK(strlen(err.msg) >= AMBER_ERROR_MSG_MAX - 4);
        amber_error_set(&err, 2, "%s", text);
        CHECK(is_utf8(err.msg));
        amber_error_set(&err, 0, "short");
        amber_error_prefix(&err, "%s", text);
        CHECK(is_utf8(err.msg));
    }

    /* Bytes that are not UTF-8 become U+FFFD; valid text is unchanged. */
    {
        char *v = text_utf8_valid("a\xff"
                                  "b\xc0\xaf"
                                  "c\xed\xa0\x80"
                                  "d\xe2\x82\xac");
        CHECK(strcmp(v, "a\xef\xbf\xbd"
                        "b\xef\xbf\xbd\xef\xbf\xbd"
                        "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                        "d\xe2\x82\xac") == 0);
        CHECK(is_utf8(v));
        free(v);
        json_t *j = json_text("/tmp/\xff\xfe");
        CHECK(j != NULL && json_is_string(j));
        CHECK(strcmp(json_string_value(j), "/tmp/\xef\xbf\xbd\xef\xbf\xbd") == 0);
        json_decref(j);
    }

    /* The spec digest keeps every byte: two commands that differ only in a
     * byte that is not UTF-8 have different digests, and neither equals the
     * digest of the command without it. */
    {
        struct amber_spec a, b, c;
        struct amber_error err;
        char da[65], db[65], dc[65];
        spec_init(&a);
        spec_init(&b);
        spec_init(&c);
        a.argv = xcalloc(3, sizeof(char *));
        b.argv = xcalloc(3, sizeof(char *));
        c.argv = xcalloc(3, sizeof(char *));
        a.argv[0] = xstrdup("echo");
        b.argv[0] = xstrdup("echo");
        c.argv[0] = xstrdup("echo");
        a.argv[1] = xstrdup("\xff");
        b.argv[1] = xstrdup("\xfe");
        a.argc = b.argc = 2;
        c.argc = 1;
        CHECK(spec_digest(&a, da, &err) == 0);
        CHECK(spec_digest(&b, db, &err) == 0);
        CHECK(spec_digest(&c, dc, &err) == 0);
        CHECK(strcmp(da, db) != 0);
        CHECK(strcmp(da, dc) != 0);
        spec_free(&a);
        spec_free(&b);
        spec_free(&c);
    }
    return test_finish("text");
}
