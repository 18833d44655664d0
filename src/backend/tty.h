/* Relaying amber's own terminal (or stdio) to a sandbox's pty: raw mode on
 * amber's terminal (restored by tty_relay_stop and at exit), keys to the
 * pty, output to stdout, window size on request. Used by `run -t` and
 * `exec -t`. */
#ifndef AMBER_TTY_H
#define AMBER_TTY_H

#include <poll.h>
#include <stdbool.h>
#include <termios.h>

struct tty_relay {
    int master;      /* the pty master, -1 when closed */
    bool stdin_open; /* stdin is relayed until EOF (-i) */
    bool raw;        /* amber's terminal is in raw mode */
    struct termios saved;
};

/* Take master (made non-blocking) and put amber's terminal in raw mode. */
void tty_relay_start(struct tty_relay *t, int master, bool interactive);
void tty_relay_stop(struct tty_relay *t);
/* Copy amber's window size to the pty (the kernel then sends SIGWINCH to
 * the pty's foreground process group). */
void tty_relay_winsize(struct tty_relay *t);
/* Fill up to 2 pollfds; returns how many. */
int tty_relay_poll_fds(const struct tty_relay *t, struct pollfd *fds);
/* Handle one polled fd (master or stdin); returns false if not ours. */
bool tty_relay_io(struct tty_relay *t, const struct pollfd *fd);
/* Copy what the pty has to stdout now (at the end). */
void tty_relay_drain(struct tty_relay *t);

#endif
