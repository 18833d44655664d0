#include "util/proc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/fs.h"

uint64_t proc_starttime(pid_t pid)
{
    char path[64], buf[1024];
    struct amber_error ignore;
    char *p;
    unsigned long long v = 0;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (fs_read_file(path, buf, sizeof(buf), &ignore) < 0)
        return 0;
    /* The command name may hold spaces and ')': skip to the last ')'. */
    p = strrchr(buf, ')');
    if (p == NULL)
        return 0;
    /* Fields after ')': state is field 3; starttime is field 22. */
    if (sscanf(p + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
               "%*d %llu",
               &v) != 1)
        return 0;
    return v;
}

bool proc_running(pid_t pid, uint64_t start)
{
    char path[64], buf[512];
    struct amber_error ignore;
    const char *p;

    if (pid <= 0 || start == 0 || proc_starttime(pid) != start)
        return false;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (fs_read_file(path, buf, sizeof(buf), &ignore) < 0)
        return false;
    p = strrchr(buf, ')');
    return p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

int proc_signal_if(pid_t pid, uint64_t start, int sig)
{
    int pfd, rc = -1;

    if (pid <= 0 || start == 0) {
        errno = ESRCH;
        return -1;
    }
    pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd < 0)
        return -1;
    /* Held by the pidfd: the start time now tells whether it is ours. */
    if (proc_starttime(pid) == start)
        rc = (int)syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0);
    else
        errno = ESRCH;
    close(pfd);
    return rc;
}
