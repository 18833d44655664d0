#include "util/json.h"

#include <stdlib.h>

#include "util/text.h"

json_t *json_text(const char *src)
{
    json_t *j = json_string(src);
    char *fixed;

    if (j != NULL)
        return j;
    fixed = text_utf8_valid(src);
    j = json_string(fixed);
    free(fixed);
    return j;
}
