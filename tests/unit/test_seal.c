/* seal.c: what an amber process keeps of its caller once sealed. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/seal.h"
#include "test.h"

static int open_fd(void)
{
    return open("/dev/null", O_RDONLY); /* not CLOEXEC, as a caller's leak */
}

static int is_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0 || errno != EBADF;
}

/* seal_fds closes everything >= 3 but the kept ones, and stdio stays. */
static void fds(void)
{
    int a = open_fd(), b = open_fd(), c = open_fd(), d = open_fd();
    int hi = fcntl(a, F_DUPFD, 700);
    int keep[] = {c, -1, c, hi};
    struct amber_error err;

    CHECK(a >= 3 && b > a && c > b && d > c && hi >= 700);
    CHECK(seal_fds(keep, sizeof(keep) / sizeof(keep[0]), &err) == 0);
    CHECK(!is_open(a));
    CHECK(!is_open(b));
    CHECK(is_open(c));
    CHECK(!is_open(d));
    CHECK(is_open(hi));
    CHECK(is_open(0) && is_open(1) && is_open(2));
    close(c);
    close(hi);
}

/* seal_fds_from leaves what is below min (the preserved fds) alone. */
static void fds_from(void)
{
    int a = open_fd(), b = open_fd(), c = open_fd();
    int keep[] = {c, a}; /* a is below min: kept anyway, not counted */
    struct amber_error err;

    CHECK(seal_fds_from(b, keep, 2, &err) == 0);
    CHECK(is_open(a));
    CHECK(!is_open(b));
    CHECK(is_open(c));
    close(a);
    close(c);
    {
        /* More than 32 to keep (ignoring those below min) is an error,
         * not a silent close. */
        int many[40];
        for (int i = 0; i < 40; i++)
            many[i] = 100 + i;
        CHECK(seal_fds_from(3, many, 40, &err) < 0);
        CHECK_STR_CONTAINS(err.msg, "too many");
    }
}

/* In a child: what /proc/self/environ shows after seal_environment, and
 * dumpability after seal_undumpable. */
static void environment_and_dumpable(void)
{
    int p[2];
    pid_t pid;
    char buf[4096];
    ssize_t n, got = 0;
    int st;

    CHECK(pipe(p) == 0);
    setenv("AMBER_UNIT_SECRET", "s3cr3t-value", 1);
    pid = fork();
    if (pid == 0) {
        int fd;
        close(p[0]);
        seal_environment("amber-unit");
        seal_undumpable();
        fd = open("/proc/self/environ", O_RDONLY);
        if (fd >= 0) {
            while ((n = read(fd, buf, sizeof(buf))) > 0)
                if (write(p[1], buf, (size_t)n) != n)
                    _exit(2);
            close(fd);
        }
        {
            char cmd[64] = "";
            int c = open("/proc/self/cmdline", O_RDONLY);
            ssize_t k = c >= 0 ? read(c, cmd, sizeof(cmd) - 1) : -1;
            if (c >= 0)
                close(c);
            if (k < 0 || strcmp(cmd, "amber-unit") != 0)
                _exit(3); /* the command line was not replaced */
        }
        _exit(prctl(PR_GET_DUMPABLE) == 0 && getenv("AMBER_UNIT_SECRET") == NULL ? 0 : 1);
    }
    close(p[1]);
    while ((n = read(p[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
        got += n;
    close(p[0]);
    buf[got] = '\0';
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* The kernel still reads the area; every byte of it is now zero. */
    CHECK(memmem(buf, (size_t)got, "s3cr3t-value", 12) == NULL);
    CHECK(memmem(buf, (size_t)got, "AMBER_UNIT_SECRET", 17) == NULL);
}

int main(void)
{
    fds();
    fds_from();
    environment_and_dumpable();
    return test_finish("seal");
}
