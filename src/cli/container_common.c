/* Helpers shared by the container verbs. */
#include "cli/container_common.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "container/supervisor.h"
#include "oci/runtime.h"

int cli_container_open(const char *ref, struct container *c, int *lockfd)
{
    const char *root = state_root(cli_root);
    struct amber_error err;
    char id[65];
    int lock = -1;

    if (state_resolve(root, ref, id, &err) < 0)
        goto fail;
    lock = state_lock(root, id, true, &err);
    if (lock < 0)
        goto fail;
    if (state_load(root, id, c, &err) < 0)
        goto fail;
    if (c->oci)
        oci_refresh(root, c);
    else
        supervisor_reap_lost(root, c);
    if (lockfd != NULL)
        *lockfd = lock;
    else
        state_unlock(lock);
    return 0;
fail:
    state_unlock(lock);
    cli_error(&err);
    return -1;
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    }
    return false;
}

int cli_parse_format(const char *arg, bool *json)
{
    if (strcmp(arg, "json") == 0)
        *json = true;
    else if (strcmp(arg, "text") == 0 || strcmp(arg, "table") == 0)
        *json = false;
    else {
        cli_errorf("--format '%s': expected text or json", arg);
        return -1;
    }
    return 0;
}
