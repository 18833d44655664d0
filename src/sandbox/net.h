/* Networking inside the sandbox (net.c). */
#ifndef AMBER_NET_H
#define AMBER_NET_H

#include "util/error.h"

/* Bring the loopback interface up in the current network namespace. */
int net_loopback_up(struct amber_error *err);

#endif
