/* User namespace id maps.
 *
 * As host root (strict-agent, or --userns auto) the container's ids 0..N-1
 * map to an unprivileged host range, so "root" inside owns nothing outside:
 * the range is the first /etc/subuid (/etc/subgid) entry for "amber", else
 * AMBER_USERNS_DEFAULT_BASE: above the ranges useradd hands out
 * (SUB_UID_MAX is 600100000 on Debian), so it cannot overlap some user's
 * subordinate ids. Explicit --uidmap/--gidmap lines are written as given.
 *
 * Rootless, the kernel lets a process map only its own id (one line, and
 * setgroups must be denied first). Anything more (--userns nomap, explicit
 * maps) goes through Debian's setuid newuidmap/newgidmap, which check the
 * request against /etc/subuid and /etc/subgid. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "sandbox/userns.h"
#include "util/fs.h"
#include "util/passwd.h"
#include "util/xalloc.h"

#define AMBER_USERNS_DEFAULT_BASE 1000000000u
#define AMBER_USERNS_DEFAULT_COUNT 65536u

/* The login name of uid from the host's /etc/passwd. */
static bool user_name(uid_t uid, char *out, size_t cap)
{
    return passwd_field("/etc/passwd", uid, 0, out, cap) == 1;
}

static bool find_range(const char *file, const char *name, const char *num, uint32_t *start,
                       uint32_t *count)
{
    char buf[65536];
    struct amber_error ignore;
    char *save = NULL;

    if (fs_read_file(file, buf, sizeof(buf), &ignore) < 0)
        return false;
    for (char *line = strtok_r(buf, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char user[64];
        unsigned long s, c;

        if (sscanf(line, "%63[^:]:%lu:%lu", user, &s, &c) != 3)
            continue;
        if ((strcmp(user, name) == 0 || (num != NULL && strcmp(user, num) == 0)) && c > 0 &&
            s > 0 && s < 0xffffffffUL && c <= 0xffffffffUL - s) {
            *start = (uint32_t)s;
            *count = (uint32_t)(c < AMBER_USERNS_DEFAULT_COUNT ? c : AMBER_USERNS_DEFAULT_COUNT);
            return true;
        }
    }
    return false;
}

void userns_host_range(const char *file, const char *name, uint32_t *start, uint32_t *count)
{
    if (!find_range(file, name, NULL, start, count)) {
        *start = AMBER_USERNS_DEFAULT_BASE;
        *count = AMBER_USERNS_DEFAULT_COUNT;
    }
}

bool userns_find_range(const char *file, uid_t uid, uint32_t *start, uint32_t *count)
{
    char name[64] = "";
    char num[24];

    snprintf(num, sizeof(num), "%u", (unsigned)uid);
    if (!user_name(uid, name, sizeof(name)))
        snprintf(name, sizeof(name), "%s", num);
    return find_range(file, name, num, start, count);
}

bool userns_mapped(const struct id_map *maps, int n, uint32_t id)
{
    for (int i = 0; i < n; i++) {
        if (id >= maps[i].inside && (uint64_t)id < (uint64_t)maps[i].inside + maps[i].count)
            return true;
    }
    return false;
}

static int write_map(pid_t pid, const char *file, const struct id_map *m, int n,
                     struct amber_error *err)
{
    char path[64];
    char text[SANDBOX_MAX_MAPS * 40] = "";
    size_t len = 0;

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "%u %u %u\n", m[i].inside,
                                m[i].outside, m[i].count);
    if (fs_write_file(path, text, len, 0, 0, err) < 0)
        return amber_error_prefix(err, "user namespace %s", file);
    return 0;
}

/* Run newuidmap/newgidmap PID inside outside count ... and wait for it. */
static int run_newidmap(const char *tool, pid_t pid, const struct id_map *m, int n,
                        struct amber_error *err)
{
    char *argv[2 + 3 * SANDBOX_MAX_MAPS + 1];
    char nums[1 + 3 * SANDBOX_MAX_MAPS][16];
    int a = 0, st, out[2];
    pid_t child;
    char msg[256];
    size_t got = 0;
    ssize_t r;

    argv[a++] = (char *)tool;
    snprintf(nums[0], sizeof(nums[0]), "%d", (int)pid);
    argv[a++] = nums[0];
    for (int i = 0; i < n; i++) {
        snprintf(nums[1 + 3 * i], 16, "%u", m[i].inside);
        snprintf(nums[2 + 3 * i], 16, "%u", m[i].outside);
        snprintf(nums[3 + 3 * i], 16, "%u", m[i].count);
        argv[a++] = nums[1 + 3 * i];
        argv[a++] = nums[2 + 3 * i];
        argv[a++] = nums[3 + 3 * i];
    }
    argv[a] = NULL;
    /* Its complaint goes into amber's one error line, not onto stderr. */
    if (pipe2(out, O_CLOEXEC) < 0)
        return amber_error_errno(err, "%s: pipe", tool);
    child = fork();
    if (child < 0) {
        close(out[0]);
        close(out[1]);
        return amber_error_errno(err, "%s: fork", tool);
    }
    if (child == 0) {
        static char *const envp[] = {"PATH=/usr/bin:/bin", NULL};
        int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (devnull >= 0)
            dup2(devnull, STDOUT_FILENO);
        dup2(out[1], STDERR_FILENO);
        execve(strcmp(tool, "newuidmap") == 0 ? "/usr/bin/newuidmap" : "/usr/bin/newgidmap", argv,
               envp);
        _exit(127);
    }
    close(out[1]);
    while (got < sizeof(msg) - 1 && (r = read(out[0], msg + got, sizeof(msg) - 1 - got)) > 0)
        got += (size_t)r;
    close(out[0]);
    msg[got] = '\0';
    msg[strcspn(msg, "\n")] = '\0';
    while (waitpid(child, &st, 0) < 0) {
        if (errno != EINTR)
            return amber_error_errno(err, "%s: wait", tool);
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
        return amber_error_set(err, 0, "%s not found (install Debian's uidmap package)", tool);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return amber_error_set(err, 0,
                               "%s refused the map (%s); is it within your /etc/sub%cid ranges?",
                               tool, msg[0] ? msg : "no reason given", tool[3] == 'u' ? 'u' : 'g');
    return 0;
}

int userns_write_maps(pid_t pid, const struct sandbox_plan *plan, struct amber_error *err)
{
    if (plan->newidmap) {
        if (run_newidmap("newuidmap", pid, plan->uidmap, plan->nuidmap, err) < 0 ||
            run_newidmap("newgidmap", pid, plan->gidmap, plan->ngidmap, err) < 0)
            return -1;
        return 0;
    }
    if (!plan->host_root) {
        /* An unprivileged writer must deny setgroups before gid_map, so
         * the sandbox cannot drop a group the host uses to deny access. */
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
        if (fs_write_file(path, "deny", 4, 0, 0, err) < 0)
            return -1;
    }
    if (write_map(pid, "uid_map", plan->uidmap, plan->nuidmap, err) < 0 ||
        write_map(pid, "gid_map", plan->gidmap, plan->ngidmap, err) < 0)
        return -1;
    return 0;
}
