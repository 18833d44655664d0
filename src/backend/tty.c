/* The terminal relay (see tty.h). */
#include "backend/tty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/fs.h"

static struct termios restore_termios;
static bool restore_needed;

static void restore_atexit(void)
{
    if (restore_needed)
        tcsetattr(STDIN_FILENO, TCSADRAIN, &restore_termios);
}

void tty_relay_winsize(struct tty_relay *t)
{
    struct winsize ws;

    if (t->master >= 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
        ioctl(t->master, TIOCSWINSZ, &ws);
}

void tty_relay_start(struct tty_relay *t, int master, bool interactive)
{
    static bool registered;

    t->master = master;
    t->raw = false;
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    t->stdin_open = interactive;
    tty_relay_winsize(t);
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t->saved) == 0) {
        struct termios raw = t->saved;
        cfmakeraw(&raw);
        restore_termios = t->saved;
        restore_needed = true;
        if (!registered) {
            atexit(restore_atexit);
            registered = true;
        }
        if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0)
            t->raw = true;
    }
}

void tty_relay_stop(struct tty_relay *t)
{
    if (t->raw) {
        tcsetattr(STDIN_FILENO, TCSADRAIN, &t->saved);
        t->raw = false;
        restore_needed = false;
    }
    if (t->master >= 0) {
        close(t->master);
        t->master = -1;
    }
}

/* Copy what the pty has for us to stdout; false once it is closed. */
static bool drain(struct tty_relay *t)
{
    char buf[8192];

    for (;;) {
        ssize_t r = read(t->master, buf, sizeof(buf));
        if (r > 0) {
            if (fs_write_all(STDOUT_FILENO, buf, (size_t)r) < 0)
                return false;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        /* EAGAIN: nothing now; EIO: every slave is closed (workload gone). */
        return r < 0 && errno == EAGAIN;
    }
}

void tty_relay_drain(struct tty_relay *t)
{
    if (t->master >= 0)
        drain(t);
}

int tty_relay_poll_fds(const struct tty_relay *t, struct pollfd *fds)
{
    int n = 0;

    if (t->master < 0)
        return 0;
    fds[n++] = (struct pollfd){.fd = t->master, .events = POLLIN};
    if (t->stdin_open)
        fds[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
    return n;
}

bool tty_relay_io(struct tty_relay *t, const struct pollfd *fd)
{
    if (t->master >= 0 && fd->fd == t->master) {
        if (fd->revents != 0 && !drain(t)) {
            close(t->master);
            t->master = -1;
        }
        return true;
    }
    if (fd->fd == STDIN_FILENO && t->stdin_open) {
        char buf[4096];
        ssize_t r;

        if (fd->revents == 0)
            return true;
        r = read(STDIN_FILENO, buf, sizeof(buf));
        if (r > 0 && t->master >= 0) {
            fs_write_all(t->master, buf, (size_t)r);
        } else if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
            /* EOF on a pipe: send the terminal's EOF character. */
            t->stdin_open = false;
            if (t->master >= 0) {
                char eot = 4;
                fs_write_all(t->master, &eot, 1);
            }
        }
        return true;
    }
    return false;
}
