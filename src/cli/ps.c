/* amber ps [--all] [--format text|json], amber state ID [--format ...]:
 * the detached sandboxes in the state directory. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/container_common.h"
#include "util/cleanup.h"
#include "util/json.h"

static json_t *container_json(const struct container *c)
{
    json_t *o = json_object();
    json_t *cmd = json_array();

    for (size_t i = 0; c->command != NULL && c->command[i] != NULL; i++)
        json_array_append_new(cmd, json_string(c->command[i]));
    json_object_set_new(o, "id", json_string(c->id));
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "status", json_string(container_status_name(c->status)));
    json_object_set_new(o, "pid", json_integer(c->status == CONTAINER_STOPPED ? 0 : c->pid));
    json_object_set_new(o, "exit_code",
                        c->status == CONTAINER_STOPPED ? json_integer(c->exit_code) : json_null());
    json_object_set_new(o, "oom", json_boolean(c->oom));
    json_object_set_new(o, "message", json_text(c->message));
    json_object_set_new(o, "created", json_real(c->created));
    json_object_set_new(o, "started", json_real(c->started));
    json_object_set_new(o, "finished", json_real(c->finished));
    json_object_set_new(o, "command", cmd);
    json_object_set_new(o, "spec_digest", json_string(c->spec_digest));
    return o;
}

static void print_status(const struct container *c, char *buf, size_t cap)
{
    /* An OCI container's status is collected by its engine, not amber. */
    if (c->status == CONTAINER_STOPPED && !c->oci)
        snprintf(buf, cap, "exited (%d)", c->exit_code);
    else
        snprintf(buf, cap, "%s", container_status_name(c->status));
}

int cmd_ps(int argc, char **argv)
{
    const char *root = state_root(cli_root);
    struct amber_error err;
    bool all = false, json = false;
    cleanup_strv char **ids = NULL;
    json_t *arr;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-a") == 0 || strcmp(argv[i], "--all") == 0)
            all = true;
        else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            if (cli_parse_format(argv[++i], &json) < 0)
                return 125;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("Usage: amber ps [-a|--all] [--format text|json]\n\n"
                   "List detached sandboxes (running ones; --all also stopped ones).\n");
            return 0;
        } else {
            cli_errorf("ps: unknown option '%s' (see amber ps --help)", argv[i]);
            return 125;
        }
    }
    ids = state_list(root, &err);
    if (ids == NULL) {
        cli_error(&err);
        return 125;
    }
    arr = json_array();
    if (!json)
        printf("%-16s  %-16s  %-12s  %-8s  %s\n", "ID", "NAME", "STATUS", "PID", "COMMAND");
    for (size_t i = 0; ids[i] != NULL; i++) {
        struct container c;
        char status[32];

        if (cli_container_open(ids[i], &c, NULL) < 0)
            continue;
        if (!all && c.status == CONTAINER_STOPPED) {
            container_free(&c);
            continue;
        }
        if (json) {
            json_array_append_new(arr, container_json(&c));
        } else {
            char cmd[256] = "";
            for (size_t k = 0; c.command && c.command[k] && strlen(cmd) < 200; k++) {
                strncat(cmd, c.command[k], sizeof(cmd) - strlen(cmd) - 2);
                strcat(cmd, " ");
            }
            print_status(&c, status, sizeof(status));
            printf("%-16.16s  %-16.16s  %-12s  %-8d  %s\n", c.id, c.name[0] ? c.name : "-", status,
                   c.status == CONTAINER_STOPPED ? 0 : (int)c.pid, cmd);
        }
        container_free(&c);
    }
    if (json) {
        char *s = json_dumps(arr, JSON_INDENT(2));
        printf("%s\n", s ? s : "[]");
        free(s);
    }
    json_decref(arr);
    return 0;
}

int cmd_state(int argc, char **argv)
{
    struct container c;
    bool json = true;
    const char *ref = NULL;
    char *s;

    /* A container made from a bundle answers with the OCI state document. */
    if (argc == 1 && cli_ref_is_oci(argv[0]))
        return cmd_oci_state(argc, argv);
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            if (cli_parse_format(argv[++i], &json) < 0)
                return 125;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("Usage: amber state ID [--format json|text]\n\n"
                   "Show one detached sandbox's state (JSON by default).\n");
            return 0;
        } else if (ref == NULL && argv[i][0] != '-') {
            ref = argv[i];
        } else {
            cli_errorf("state: unexpected argument '%s'", argv[i]);
            return 125;
        }
    }
    if (ref == NULL) {
        cli_errorf("state: which container? (amber state ID)");
        return 125;
    }
    if (cli_container_open(ref, &c, NULL) < 0)
        return 125;
    if (json) {
        json_t *o = container_json(&c);
        s = json_dumps(o, JSON_INDENT(2));
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(o);
    } else {
        char status[32];
        print_status(&c, status, sizeof(status));
        printf("id: %s\nname: %s\nstatus: %s\npid: %d\n", c.id, c.name, status, (int)c.pid);
        if (c.message[0])
            printf("message: %s\n", c.message);
    }
    container_free(&c);
    return 0;
}
