/* Unit tests: error paths reached by injected faults (util/fault.h) leave
 * the calling process as it was: no descriptor left open, the signal mask
 * restored. */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "backend/native.h"
#include "test.h"
#include "util/fault.h"

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

int main(void)
{
    char *argv[] = {"true", NULL};
    struct amber_recorded r = {.id = "t", .pid = getpid(), .pid_start = 1, .launch_plan = "{}"};
    struct amber_error err;
    sigset_t before, after;

    /* fault sites count passes: the first fork fails */
    CHECK(!fault_hit("nothing-set"));
    fault_set("x", 2);
    CHECK(!fault_hit("x") && fault_hit("x") && !fault_hit("x"));

    for (int tty = 0; tty < 2; tty++) {
        int fds = count_fds();
        sigprocmask(SIG_SETMASK, NULL, &before);
        struct amber_enter e = {.argv = argv, .tty = tty == 1};
        fault_set("exec-fork", 1);
        CHECK(native_enter(&r, &e, &err) < 0);
        CHECK_STR_CONTAINS(err.msg, "fork");
        sigprocmask(SIG_SETMASK, NULL, &after);
        CHECK(count_fds() == fds); /* -t's socketpair closed too */
        for (int s = 1; s < NSIG; s++)
            CHECK(sigismember(&before, s) == sigismember(&after, s));
    }
    return test_finish("fault");
}
