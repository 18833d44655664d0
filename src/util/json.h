/* JSON values from amber's text. */
#ifndef AMBER_JSON_H
#define AMBER_JSON_H

#include <jansson.h>

/* A JSON string of src made valid UTF-8 (text_utf8_valid: U+FFFD for the
 * bytes that are not); never NULL for a non-NULL src. For what a user
 * reads (messages, names, paths shown); the spec digest encodes bytes
 * exactly instead. */
json_t *json_text(const char *src);

#endif
