/* Unit tests: the error object. */
#include <errno.h>

#include "test.h"
#include "util/error.h"

int main(void)
{
    struct amber_error err;
    char longctx[2000];

    CHECK(amber_error_set(&err, ENOENT, "open '%s'", "/x") == -1);
    CHECK(err.code == ENOENT);
    CHECK(strcmp(err.msg, "open '/x': No such file or directory") == 0);

    amber_error_set(&err, 0, "plain %d", 5);
    CHECK(err.code == 0 && strcmp(err.msg, "plain 5") == 0);

    amber_error_set(&err, EACCES, "write");
    CHECK(amber_error_prefix(&err, "cgroup %s", "pids") == -1);
    CHECK(strcmp(err.msg, "cgroup pids: write: Permission denied") == 0);
    CHECK(err.code == EACCES);

    /* Overlong context truncates instead of overflowing. */
    memset(longctx, 'a', sizeof(longctx) - 1);
    longctx[sizeof(longctx) - 1] = '\0';
    amber_error_set(&err, EIO, "%s", longctx);
    CHECK(strlen(err.msg) == AMBER_ERROR_MSG_MAX - 1);
    amber_error_prefix(&err, "%s", longctx);
    CHECK(strlen(err.msg) == AMBER_ERROR_MSG_MAX - 1);

    amber_error_clear(&err);
    CHECK(err.code == 0 && err.msg[0] == '\0');
    CHECK(amber_error_set(NULL, 0, "x") == -1);
    /* A coded error keeps the errno for callers but adds no strerror text. */
    {
        struct amber_error e;
        CHECK(amber_error_coded(&e, EBUSY, "container '%s' is running", "x") == -1);
        CHECK(e.code == EBUSY);
        CHECK(strcmp(e.msg, "container 'x' is running") == 0);
    }
    return test_finish("error");
}
