/* amber logs ID [-f] [-n N] [--since DURATION] [--timestamps]: the
 * supervisor's log of a detached sandbox. Lines are stored as
 * "TIMESTAMP STREAM TEXT"; stdout lines go to stdout, stderr lines to
 * stderr. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/container_common.h"
#include "util/cleanup.h"
#include "util/parse.h"
#include "util/xalloc.h"

struct logopts {
    bool timestamps;
    char since[40]; /* lines with a timestamp >= this (same format) */
};

static void emit(const char *line, const struct logopts *o)
{
    const char *sp1 = strchr(line, ' ');
    const char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    FILE *out;

    if (sp2 == NULL)
        return;
    if (o->since[0] && strncmp(line, o->since, (size_t)(sp1 - line)) < 0)
        return;
    out = strncmp(sp1 + 1, "stderr", 6) == 0 ? stderr : stdout;
    if (o->timestamps)
        fprintf(out, "%.*s %s\n", (int)(sp1 - line), line, sp2 + 1);
    else
        fprintf(out, "%s\n", sp2 + 1);
}

/* Print the lines of f from its current position; returns how many. */
static long pump(FILE *f, const struct logopts *o, char **ring, long n, long *count)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long printed = 0;

    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] != '\n') {
            /* a partial line: leave it for the next round */
            fseek(f, -len, SEEK_CUR);
            break;
        }
        line[len - 1] = '\0';
        if (ring != NULL) {
            free(ring[*count % n]);
            ring[*count % n] = xstrdup(line);
        } else {
            emit(line, o);
        }
        (*count)++;
        printed++;
    }
    free(line);
    return printed;
}

static int logs_main(int argc, char **argv, bool attach);

int cmd_logs(int argc, char **argv)
{
    return logs_main(argc, argv, false);
}

/* amber attach ID: follow the sandbox's output from now on until it ends,
 * forwarding INT, TERM, HUP, QUIT, USR1 and USR2 to it; exits with its
 * exit status. */
int cmd_attach(int argc, char **argv)
{
    if (argc == 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        printf("Usage: amber attach ID\n\n"
               "Follow a detached sandbox's output until it ends, forwarding the signals you\n"
               "send (INT, TERM, HUP, QUIT, USR1, USR2) to it; exit with its exit status.\n");
        return 0;
    }
    if (argc != 1) {
        cli_errorf("attach: usage: amber attach ID");
        return 125;
    }
    return logs_main(argc, argv, true);
}

static volatile sig_atomic_t pending_signal;

static void remember_signal(int sig)
{
    pending_signal = sig;
}

static int logs_main(int argc, char **argv, bool attach)
{
    const char *root = state_root(cli_root);
    struct logopts o = {false, ""};
    const char *ref = NULL;
    bool follow = false;
    long tail = -1;
    struct container c;
    char **ring = NULL;
    long count = 0;
    int exit_code = 0;
    FILE *f;

    for (int i = 0; i < argc; i++) {
        uint64_t v;
        if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--follow") == 0) {
            follow = true;
        } else if (strcmp(argv[i], "--timestamps") == 0 || strcmp(argv[i], "-t") == 0) {
            o.timestamps = true;
        } else if ((strcmp(argv[i], "-n") == 0 || strcmp(argv[i], "--tail") == 0) && i + 1 < argc) {
            if (parse_uint(argv[++i], 10000000, &v) < 0) {
                cli_errorf("logs: -n '%s': expected a number of lines", argv[i]);
                return 125;
            }
            tail = (long)v;
        } else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
            struct timespec now;
            struct tm tm;
            time_t t;
            if (parse_duration(argv[++i], &v) < 0) {
                cli_errorf("logs: --since '%s': expected a duration like 30s, 5m, 1h", argv[i]);
                return 125;
            }
            clock_gettime(CLOCK_REALTIME, &now);
            t = now.tv_sec - (time_t)(v / 1000000000ULL);
            gmtime_r(&t, &tm);
            snprintf(o.since, sizeof(o.since), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("Usage: amber logs ID [-f] [-n N] [--since DURATION] [--timestamps]\n\n"
                   "Print what a detached sandbox wrote (stdout to stdout, stderr to stderr).\n"
                   "  -f, --follow      keep printing until the sandbox stops\n"
                   "  -n, --tail N      only the last N lines\n"
                   "  --since DURATION  only lines from the last DURATION (30s, 5m, 1h)\n"
                   "  -t, --timestamps  prefix each line with its time (UTC)\n");
            return 0;
        } else if (ref == NULL && argv[i][0] != '-') {
            ref = argv[i];
        } else {
            cli_errorf("logs: unexpected argument '%s'", argv[i]);
            return 125;
        }
    }
    if (ref == NULL) {
        cli_errorf("logs: which container? (amber logs ID)");
        return 125;
    }
    if (cli_container_open(ref, &c, NULL) < 0)
        return 125;
    if (attach) {
        /* Only what comes from now on; signals go to the sandbox. */
        static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = remember_signal;
        for (size_t k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
            sigaction(sigs[k], &sa, NULL);
        follow = true;
        tail = 0;
    }
    if (tail >= 0)
        ring = xcalloc(tail > 0 ? (size_t)tail : 1, sizeof(char *));
    {
        cleanup_free char *old = state_path(root, c.id, "log.1");
        FILE *r = fopen(old, "re");
        if (r != NULL) {
            pump(r, &o, tail > 0 ? ring : NULL, tail > 0 ? tail : 1, &count);
            fclose(r);
        }
    }
    {
        cleanup_free char *path = state_path(root, c.id, "log");
        f = fopen(path, "re");
    }
    if (f != NULL && tail != 0)
        pump(f, &o, tail > 0 ? ring : NULL, tail > 0 ? tail : 1, &count);
    else if (f != NULL)
        fseek(f, 0, SEEK_END);
    if (tail > 0) {
        long first = count > tail ? count - tail : 0;
        for (long k = first; k < count; k++)
            emit(ring[k % tail], &o);
        for (long k = 0; k < tail; k++)
            free(ring[k]);
    }
    free(ring);
    fflush(stdout);
    while (follow && f != NULL) {
        struct container now;
        bool stopped;
        struct timespec ts = {0, 100 * 1000000L};

        clearerr(f);
        if (pending_signal != 0 && attach && state_supervisor_alive(&c)) {
            /* the supervisor forwards it, like `amber run` does */
            kill(c.supervisor, pending_signal);
            pending_signal = 0;
        }
        if (pump(f, &o, NULL, 1, &count) > 0) {
            fflush(stdout);
            continue;
        }
        if (cli_container_open(c.id, &now, NULL) < 0)
            break;
        if (attach)
            exit_code = now.exit_code;
        stopped = now.status == CONTAINER_STOPPED && !state_supervisor_alive(&now);
        container_free(&now);
        if (stopped) {
            clearerr(f);
            pump(f, &o, NULL, 1, &count);
            break;
        }
        nanosleep(&ts, NULL);
    }
    if (f != NULL)
        fclose(f);
    if (attach && c.status == CONTAINER_STOPPED)
        exit_code = c.exit_code;
    container_free(&c);
    return attach ? exit_code : 0;
}
