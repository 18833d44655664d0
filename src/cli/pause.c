/* amber pause ID, amber resume ID: freeze and thaw every process of a
 * detached sandbox through its cgroup (v1 freezer.state, v2
 * cgroup.freeze). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/container_common.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* Freeze (true) or thaw the container's cgroup; waits for v1 to settle. */
int cli_container_freeze(const struct container *c, bool freeze, struct amber_error *err)
{
    for (int i = 0; i < c->ncgroups; i++) {
        char *v1 = xasprintf("%s/freezer.state", c->cgroups[i]);
        char *v2 = xasprintf("%s/cgroup.freeze", c->cgroups[i]);
        int rc = 1;

        if (access(v1, W_OK) == 0) {
            const char *want = freeze ? "FROZEN" : "THAWED";
            rc = fs_write_file(v1, want, strlen(want), 0, 0, err);
            /* FREEZING -> FROZEN takes a moment. */
            for (int t = 0; rc == 0 && freeze && t < 200; t++) {
                char st[32];
                struct timespec ts = {0, 5 * 1000000L};
                if (fs_read_file(v1, st, sizeof(st), err) < 0 || strncmp(st, "FROZEN", 6) == 0)
                    break;
                nanosleep(&ts, NULL);
            }
        } else if (access(v2, W_OK) == 0) {
            rc = fs_write_file(v2, freeze ? "1" : "0", 1, 0, 0, err);
        }
        free(v1);
        free(v2);
        if (rc <= 0)
            return rc;
    }
    return amber_error_set(err, 0, "container %s: no freezer cgroup on this host", c->id);
}

static int pause_or_resume(int argc, char **argv, bool freeze)
{
    const char *verb = freeze ? "pause" : "resume";
    const char *root = state_root(cli_root);
    struct container c;
    struct amber_error err;
    int lock, rc = 0;

    if (argc == 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        printf("Usage: amber %s ID\n\n%s every process of a detached sandbox (cgroup freezer).\n",
               verb, freeze ? "Freeze" : "Thaw");
        return 0;
    }
    if (argc != 1) {
        cli_errorf("%s: usage: amber %s ID", verb, verb);
        return 125;
    }
    if (cli_container_open(argv[0], &c, &lock) < 0)
        return 125;
    if (c.status != (freeze ? CONTAINER_RUNNING : CONTAINER_PAUSED)) {
        cli_errorf("%s: container %s is %s", verb, c.id, container_status_name(c.status));
        rc = 1;
    } else if (cli_container_freeze(&c, freeze, &err) < 0) {
        cli_error(&err);
        rc = 1;
    } else {
        c.status = freeze ? CONTAINER_PAUSED : CONTAINER_RUNNING;
        if (state_save(root, &c, &err) < 0) {
            cli_error(&err);
            rc = 1;
        } else {
            printf("%s\n", c.id);
        }
    }
    state_unlock(lock);
    container_free(&c);
    return rc;
}

int cmd_pause(int argc, char **argv)
{
    return pause_or_resume(argc, argv, true);
}

int cmd_resume(int argc, char **argv)
{
    return pause_or_resume(argc, argv, false);
}
