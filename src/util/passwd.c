#include "util/passwd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "util/cleanup.h"
#include "util/xalloc.h"

#define PASSWD_MAX (1 << 20)

static char *read_regular(const char *path)
{
    /* No magic links: a container's "/etc/passwd -> /proc/self/fd/N" must
     * not reopen one of amber's descriptors. */
    struct open_how how = {
        .flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
        .resolve = RESOLVE_NO_MAGICLINKS,
    };
    cleanup_close int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
    struct stat st;
    char *buf;
    size_t got = 0;

    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PASSWD_MAX)
        return NULL;
    buf = xmalloc((size_t)st.st_size + 1);
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    buf[got] = '\0';
    return buf;
}

int passwd_field(const char *path, uid_t uid, int field, char *out, size_t cap)
{
    cleanup_free char *text = read_regular(path);
    char *save = NULL;

    if (text == NULL || cap == 0)
        return 0;
    for (char *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        /* name:password:uid:gid:gecos:home:shell */
        const char *f[7] = {NULL};
        size_t len[7] = {0};
        int n = 0;
        char *end;
        unsigned long id;

        for (char *p = line; n < 7; n++) {
            char *c = strchr(p, ':');
            f[n] = p;
            len[n] = c != NULL ? (size_t)(c - p) : strlen(p);
            if (c == NULL) {
                n++;
                break;
            }
            p = c + 1;
        }
        if (n < 3 || field >= n || len[2] == 0 || f[2][0] < '0' || f[2][0] > '9')
            continue; /* strtoul would take " 2", "+3", "-1" */
        errno = 0;
        id = strtoul(f[2], &end, 10);
        if (errno != 0 || end != f[2] + len[2] || id != (unsigned long)uid)
            continue;
        if (len[field] >= cap)
            return 0;
        memcpy(out, f[field], len[field]);
        out[len[field]] = '\0';
        return 1;
    }
    return 0;
}
