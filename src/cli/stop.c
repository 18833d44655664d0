/* amber stop ID [-t SECONDS], amber kill ID [SIGNAL], amber rm ID [-f]. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "oci/runtime.h"
#include "cli/container_common.h"
#include "container/lifecycle.h"
#include "util/parse.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wait until the supervisor of id has recorded the end (or is gone). */
static bool wait_stopped(const char *ref, double seconds)
{
    for (double waited = 0; waited <= seconds; waited += 0.02) {
        struct container c;
        bool done;
        if (cli_container_open(ref, &c, NULL) < 0)
            return true;
        done = c.status == CONTAINER_STOPPED && !state_supervisor_alive(&c);
        container_free(&c);
        if (done)
            return true;
        sleep_ms(20);
    }
    return false;
}

/* Signal the container: OCI containers (no supervisor) through the OCI
 * runtime, amber's own through the lifecycle (container_signal). */
static int signal_container(const struct container *c, int sig)
{
    struct amber_error err;

    if (c->status == CONTAINER_STOPPED)
        return 0;
    if (c->oci)
        return oci_kill(state_root(cli_root), c->id, sig, sig == SIGKILL, &err) < 0 ? -1 : 0;
    return container_signal(c, sig, &err);
}

int cmd_stop(int argc, char **argv)
{
    const char *ref = NULL;
    uint64_t secs = 10;
    struct container c;

    for (int i = 0; i < argc; i++) {
        if ((strcmp(argv[i], "-t") == 0 || strcmp(argv[i], "--time") == 0) && i + 1 < argc) {
            if (parse_uint(argv[++i], 3600, &secs) < 0) {
                cli_errorf("stop: -t '%s': expected seconds (0-3600)", argv[i]);
                return 125;
            }
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("Usage: amber stop ID [-t SECONDS]\n\n"
                   "Send SIGTERM to the sandbox, then SIGKILL after SECONDS (default 10).\n");
            return 0;
        } else if (ref == NULL && argv[i][0] != '-') {
            ref = argv[i];
        } else {
            cli_errorf("stop: unexpected argument '%s'", argv[i]);
            return 125;
        }
    }
    if (ref == NULL) {
        cli_errorf("stop: which container? (amber stop ID)");
        return 125;
    }
    if (cli_container_open(ref, &c, NULL) < 0)
        return 125;
    if (c.status != CONTAINER_STOPPED) {
        signal_container(&c, SIGTERM);
        if (!wait_stopped(c.id, (double)secs)) {
            signal_container(&c, SIGKILL);
            wait_stopped(c.id, 10);
        }
    }
    printf("%s\n", c.id);
    container_free(&c);
    return 0;
}

int cmd_kill(int argc, char **argv)
{
    const char *ref = NULL, *signame = "KILL";
    struct container c;
    int sig = -1;

    if (argc >= 1 &&
        (strcmp(argv[0], "--all") == 0 || strcmp(argv[0], "-a") == 0 || cli_ref_is_oci(argv[0])))
        return cmd_oci_kill(argc, argv);
    if (cli_wants_help(argc, argv)) {
        printf("Usage: amber kill ID [SIGNAL]\n\n"
               "Send SIGNAL (a name like TERM or a number; default KILL) to the sandbox.\n");
        return 0;
    }
    if (argc < 1 || argc > 2) {
        cli_errorf("kill: usage: amber kill ID [SIGNAL]");
        return 125;
    }
    ref = argv[0];
    if (argc == 2)
        signame = argv[1];
    if (strncmp(signame, "SIG", 3) == 0)
        signame += 3;
    for (int s = 1; s < NSIG; s++) {
        const char *n = sigabbrev_np(s);
        if (n != NULL && strcasecmp(n, signame) == 0)
            sig = s;
    }
    if (sig < 0) {
        uint64_t v;
        if (parse_uint(signame, NSIG - 1, &v) < 0 || v == 0) {
            cli_errorf("kill: '%s': not a signal", argv[1]);
            return 125;
        }
        sig = (int)v;
    }
    if (cli_container_open(ref, &c, NULL) < 0)
        return 125;
    if (c.status == CONTAINER_STOPPED) {
        cli_errorf("kill: container %s is not running", c.id);
        container_free(&c);
        return 1;
    }
    if (signal_container(&c, sig) < 0) {
        cli_errorf("kill: container %s: %s", c.id, strerror(errno));
        container_free(&c);
        return 1;
    }
    container_free(&c);
    return 0;
}

int cmd_rm(int argc, char **argv)
{
    const char *root = state_root(cli_root);
    bool force = false;
    int rc = 0, n = 0;

    for (int i = 0; i < argc; i++) {
        struct container c;
        struct amber_error err;
        int lock;

        if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--force") == 0) {
            force = true;
            continue;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("Usage: amber rm [-f] ID...\n\n"
                   "Remove stopped sandboxes; -f kills running ones first.\n");
            return 0;
        }
        n++;
        if (cli_ref_is_oci(argv[i])) {
            if (oci_delete(root, argv[i], force, &err) < 0) {
                cli_error(&err);
                rc = 1;
            }
            continue;
        }
        if (cli_container_open(argv[i], &c, NULL) < 0) {
            rc = 1;
            continue;
        }
        if (c.status != CONTAINER_STOPPED) {
            if (!force) {
                cli_errorf("rm: container %s is %s (stop it first, or rm -f)", c.id,
                           container_status_name(c.status));
                container_free(&c);
                rc = 1;
                continue;
            }
            signal_container(&c, SIGKILL);
            if (!wait_stopped(c.id, 10)) {
                cli_errorf("rm: container %s did not stop", c.id);
                container_free(&c);
                rc = 1;
                continue;
            }
        }
        lock = state_lock(root, c.id, true, &err);
        if (lock >= 0) {
            /* Another rm may have won the race while we waited. */
            struct container again;
            if (state_load(root, c.id, &again, &err) < 0) {
                amber_error_set(&err, 0, "no such container: '%s'", argv[i]);
                state_unlock(lock);
                lock = -1;
            } else {
                container_free(&again);
            }
        }
        if (lock < 0 || state_remove(root, c.id, &err) < 0) {
            cli_error(&err);
            rc = 1;
        } else {
            printf("%s\n", c.id);
        }
        state_unlock(lock);
        container_free(&c);
    }
    if (n == 0) {
        cli_errorf("rm: which container? (amber rm [-f] ID...)");
        return 125;
    }
    return rc;
}

int cmd_start(int argc, char **argv)
{
    const char *root = state_root(cli_root);
    struct container c;
    char *fifo;
    int fd;

    if (argc == 1 && cli_ref_is_oci(argv[0]))
        return cmd_oci_start(argc, argv);
    if (cli_wants_help(argc, argv)) {
        printf("Usage: amber start ID\n\n"
               "Start the workload of a sandbox made with `amber create`.\n");
        return 0;
    }
    if (argc != 1) {
        cli_errorf("start: usage: amber start ID");
        return 125;
    }
    if (cli_container_open(argv[0], &c, NULL) < 0)
        return 125;
    if (c.status != CONTAINER_CREATED) {
        cli_errorf("start: container %s is %s (only a created one can be started)", c.id,
                   container_status_name(c.status));
        container_free(&c);
        return 1;
    }
    fifo = state_path(root, c.id, "start");
    fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    free(fifo);
    if (fd < 0 || write(fd, "s", 1) != 1) {
        cli_errorf("start: container %s: its supervisor is not waiting (%s)", c.id,
                   strerror(errno));
        if (fd >= 0)
            close(fd);
        container_free(&c);
        return 1;
    }
    close(fd);
    for (int i = 0; i < 500; i++) {
        struct container now;
        bool started;
        if (cli_container_open(c.id, &now, NULL) < 0)
            break;
        started = now.status != CONTAINER_CREATED;
        container_free(&now);
        if (started)
            break;
        sleep_ms(10);
    }
    printf("%s\n", c.id);
    container_free(&c);
    return 0;
}
