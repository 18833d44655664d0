/* /etc/passwd without NSS (amber is static): one reader for the host's
 * file (user namespace ranges) and a container's (HOME for a process that
 * has none). The file is untrusted: a line too long, a file that is not a
 * regular file (a FIFO would block the reader), reached through a magic
 * link, or bigger than 1 MiB reads as no match. */
#ifndef AMBER_PASSWD_H
#define AMBER_PASSWD_H

#include <stddef.h>
#include <sys/types.h>

/* Field `field` (0 = name, 5 = home, ...) of uid's line in path into out.
 * Returns 1, 0 when there is no such line (or the file cannot be read). */
int passwd_field(const char *path, uid_t uid, int field, char *out, size_t cap);

#endif
