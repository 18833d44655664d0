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
#include "container/lifecycle.h"
#include "util/fs.h"
#include "util/xalloc.h"

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
    } else if (container_freeze(&c, freeze, &err) < 0) {
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
