/* --network none: the sandbox gets a new network namespace in which only
 * the loopback interface exists. It starts down; bring it up so programs
 * that talk to themselves over 127.0.0.1 work. */
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox/net.h"
#include "util/cleanup.h"

int net_loopback_up(struct amber_error *err)
{
    cleanup_close int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;

    if (s < 0)
        return amber_error_errno(err, "loopback: socket");
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        return amber_error_errno(err, "loopback: get flags of lo");
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        return amber_error_errno(err, "loopback: bring lo up");
    return 0;
}
