/* The caller's terminal around a run that does not give the workload a
 * terminal of its own: whatever the workload managed to change in it
 * (echo, canonical mode, flow control), the caller gets the settings back
 * when amber returns. (Native sandboxes cannot change them at all: their
 * seccomp variant without -t refuses the termios setters.) */
#include "cli/cli.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

void cli_term_save(struct cli_term *t)
{
    for (int fd = 0; fd <= 2; fd++)
        t->fl[fd] = fcntl(fd, F_GETFL);
    t->fd = -1;
    for (int fd = 0; fd <= 2; fd++) {
        if (isatty(fd) && tcgetattr(fd, &t->saved) == 0) {
            t->fd = fd;
            return;
        }
    }
}

void cli_term_restore(const struct cli_term *t)
{
    struct termios now;

    /* O_NONBLOCK & co. on an open file the workload shared (stdin with -i). */
    for (int fd = 0; fd <= 2; fd++)
        if (t->fl[fd] >= 0 && fcntl(fd, F_GETFL) != t->fl[fd])
            fcntl(fd, F_SETFL, t->fl[fd]);

    if (t->fd < 0 || tcgetattr(t->fd, &now) < 0)
        return;
    /* TCSADRAIN: output the workload wrote still comes out as it would. */
    tcsetattr(t->fd, TCSADRAIN, &t->saved);
    tcflow(t->fd, TCOON);
}
