/* The state directory (see state.h). Every write of state.json goes to a
 * temp file in the same directory and is renamed over the old one, so a
 * reader (or a crash) never sees half a state. Verbs that change a
 * container hold its flock, so two of them never interleave. */
#include "container/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/proc.h"
#include "util/xalloc.h"
#include "util/json.h"
#include "util/text.h"

static const char *const status_names[] = {"created", "running", "paused", "stopped"};

const char *container_status_name(enum container_status s)
{
    return (unsigned)s < 4 ? status_names[s] : "unknown";
}

const char *state_root(const char *override)
{
    static char buf[256];
    const char *xdg;

    if (override != NULL)
        return override;
    if (geteuid() == 0)
        return "/run/amber";
    xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg != NULL && xdg[0] == '/')
        snprintf(buf, sizeof(buf), "%s/amber", xdg);
    else
        snprintf(buf, sizeof(buf), "/tmp/amber-%u", (unsigned)geteuid());
    return buf;
}

int state_root_ensure(const char *root, struct amber_error *err)
{
    struct stat st;

    if (mkdir(root, 0700) < 0 && errno != EEXIST)
        return amber_error_errno(err, "state directory '%s'", root);
    if (lstat(root, &st) < 0)
        return amber_error_errno(err, "state directory '%s'", root);
    /* A shared /tmp: refuse a root someone else planted. */
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
        return amber_error_set(err, 0, "state directory '%s': not a directory owned by you", root);
    return 0;
}

void state_new_id(char out[65])
{
    unsigned char r[8];

    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        uint64_t t = (uint64_t)getpid() ^ ((uint64_t)time(NULL) << 20);
        memcpy(r, &t, sizeof(r));
    }
    for (size_t i = 0; i < sizeof(r); i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
}

bool state_valid_name(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n >= 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
            return false;
    }
    return true;
}

char *state_path(const char *root, const char *id, const char *file)
{
    if (file == NULL)
        return xasprintf("%s/%s", root, id);
    return xasprintf("%s/%s/%s", root, id, file);
}

static json_t *strv_to_json(char **v)
{
    json_t *a = json_array();
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        json_array_append_new(a, json_text(v[i]));
    return a;
}

int state_save(const char *root, const struct container *c, struct amber_error *err)
{
    json_t *o = json_object();
    json_t *cg = json_array();
    cleanup_free char *path = state_path(root, c->id, "state.json");
    char *text;
    int rc;

    json_object_set_new(o, "id", json_string(c->id));
    json_object_set_new(o, "name", json_text(c->name));
    json_object_set_new(o, "status", json_string(container_status_name(c->status)));
    json_object_set_new(o, "supervisor", json_integer(c->supervisor));
    json_object_set_new(o, "supervisor_start", json_integer((json_int_t)c->supervisor_start));
    json_object_set_new(o, "pid", json_integer(c->pid));
    json_object_set_new(o, "exit_code", json_integer(c->exit_code));
    json_object_set_new(o, "oom", json_boolean(c->oom));
    json_object_set_new(o, "message", json_text(c->message));
    json_object_set_new(o, "created", json_real(c->created));
    json_object_set_new(o, "started", json_real(c->started));
    json_object_set_new(o, "finished", json_real(c->finished));
    json_object_set_new(o, "command", strv_to_json(c->command));
    json_object_set_new(o, "spec_digest", json_string(c->spec_digest));
    if (c->backend[0] != '\0')
        json_object_set_new(o, "backend", json_string(c->backend));
    for (int i = 0; i < c->ncgroups; i++)
        json_array_append_new(cg, json_text(c->cgroups[i]));
    json_object_set_new(o, "cgroups", cg);
    json_object_set_new(o, "pid_start", json_integer((json_int_t)c->pid_start));
    if (c->oci) {
        json_t *a = c->annotations != NULL ? json_loads(c->annotations, 0, NULL) : NULL;
        json_object_set_new(o, "oci", json_true());
        json_object_set_new(o, "bundle", json_text(c->bundle != NULL ? c->bundle : ""));
        json_object_set_new(o, "annotations", a != NULL ? a : json_object());
    }
    if (c->exec_json != NULL) {
        json_t *e = json_loads(c->exec_json, 0, NULL);
        if (e != NULL)
            json_object_set_new(o, "exec", e);
    }
    text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    json_decref(o);
    if (text == NULL)
        return amber_error_set(err, 0, "state: cannot encode");
    rc = fs_replace(path, text, strlen(text), 0600, false, err);
    free(text);
    return rc;
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

int state_load(const char *root, const char *id, struct container *c, struct amber_error *err)
{
    cleanup_free char *path = state_path(root, id, "state.json");
    json_error_t jerr;
    json_t *o = json_load_file(path, 0, &jerr);
    json_t *v;
    size_t i;

    memset(c, 0, sizeof(*c));
    if (o == NULL)
        return amber_error_set(err, ENOENT, "container '%s': no readable state (%s)", id,
                               jerr.text);
    snprintf(c->id, sizeof(c->id), "%s", jstr(o, "id"));
    text_copy(c->name, sizeof(c->name), jstr(o, "name"));
    for (int s = 0; s < 4; s++)
        if (strcmp(jstr(o, "status"), status_names[s]) == 0)
            c->status = (enum container_status)s;
    c->supervisor = (pid_t)json_integer_value(json_object_get(o, "supervisor"));
    c->supervisor_start = (uint64_t)json_integer_value(json_object_get(o, "supervisor_start"));
    c->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
    c->exit_code = (int)json_integer_value(json_object_get(o, "exit_code"));
    c->oom = json_is_true(json_object_get(o, "oom"));
    text_copy(c->message, sizeof(c->message), jstr(o, "message"));
    c->created = json_number_value(json_object_get(o, "created"));
    c->started = json_number_value(json_object_get(o, "started"));
    c->finished = json_number_value(json_object_get(o, "finished"));
    snprintf(c->spec_digest, sizeof(c->spec_digest), "%s", jstr(o, "spec_digest"));
    text_copy(c->backend, sizeof(c->backend), jstr(o, "backend"));
    c->command = xcalloc(json_array_size(json_object_get(o, "command")) + 1, sizeof(char *));
    for (i = 0; i < json_array_size(json_object_get(o, "command")); i++) {
        v = json_array_get(json_object_get(o, "command"), i);
        c->command[i] = xstrdup(json_is_string(v) ? json_string_value(v) : "");
    }
    json_array_foreach(json_object_get(o, "cgroups"), i, v)
    {
        if (c->ncgroups < 8 && json_is_string(v))
            c->cgroups[c->ncgroups++] = xstrdup(json_string_value(v));
    }
    v = json_object_get(o, "exec");
    if (v != NULL)
        c->exec_json = json_dumps(v, JSON_COMPACT);
    c->pid_start = (uint64_t)json_integer_value(json_object_get(o, "pid_start"));
    c->oci = json_is_true(json_object_get(o, "oci"));
    if (c->oci) {
        c->bundle = xstrdup(jstr(o, "bundle"));
        v = json_object_get(o, "annotations");
        c->annotations = json_is_object(v) ? json_dumps(v, JSON_COMPACT) : xstrdup("{}");
    }
    json_decref(o);
    return 0;
}

void container_free(struct container *c)
{
    strv_free(c->command);
    free(c->spec_json);
    free(c->exec_json);
    free(c->bundle);
    free(c->annotations);
    for (int i = 0; i < c->ncgroups; i++)
        free(c->cgroups[i]);
    memset(c, 0, sizeof(*c));
}

char **state_list(const char *root, struct amber_error *err)
{
    cleanup_closedir DIR *d = opendir(root);
    char **ids = xcalloc(1, sizeof(char *));
    size_t n = 0;
    struct dirent *e;

    if (d == NULL) {
        if (errno == ENOENT)
            return ids;
        free(ids);
        amber_error_errno(err, "state directory '%s'", root);
        return NULL;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        strv_push(&ids, &n, e->d_name);
    }
    return ids;
}

int state_resolve(const char *root, const char *ref, char id[65], struct amber_error *err)
{
    cleanup_strv char **ids = state_list(root, err);
    int found = 0;

    if (ids == NULL)
        return -1;
    for (size_t i = 0; ids[i] != NULL; i++) {
        if (strcmp(ids[i], ref) == 0) {
            snprintf(id, 65, "%s", ids[i]);
            return 0;
        }
    }
    for (size_t i = 0; ids[i] != NULL; i++) {
        struct container c;
        struct amber_error ignore;
        if (state_load(root, ids[i], &c, &ignore) == 0) {
            bool match = strcmp(c.name, ref) == 0;
            container_free(&c);
            if (match) {
                snprintf(id, 65, "%s", ids[i]);
                return 0;
            }
        }
    }
    for (size_t i = 0; ids[i] != NULL; i++) {
        if (strncmp(ids[i], ref, strlen(ref)) == 0 && strlen(ref) >= 3) {
            if (found++ == 0)
                snprintf(id, 65, "%s", ids[i]);
        }
    }
    if (found == 1)
        return 0;
    if (found > 1)
        return amber_error_set(err, 0, "container '%s': ambiguous id prefix", ref);
    amber_error_coded(err, ENOENT, "no such container: '%s'", ref);
    return -1;
}

int state_create(const char *root, struct container *c, int *lockfd, struct amber_error *err)
{
    cleanup_free char *dir = state_path(root, c->id, NULL);
    int lock;

    if (c->name[0] != '\0') {
        char other[65];
        struct amber_error ignore;
        if (state_resolve(root, c->name, other, &ignore) == 0)
            return amber_error_set(err, EEXIST, "--name '%s': already in use by %s", c->name,
                                   other);
    }
    if (mkdir(dir, 0700) < 0) {
        if (errno == EEXIST)
            return amber_error_coded(err, EEXIST, "container '%s' already exists", c->id);
        return amber_error_errno(err, "create '%s'", dir);
    }
    /* Locked before its first state exists: no other verb sees it half
     * made. */
    lock = state_lock(root, c->id, true, err);
    if (lock < 0 || state_save(root, c, err) < 0) {
        struct amber_error ignore;
        state_remove(root, c->id, &ignore);
        state_unlock(lock);
        return -1;
    }
    if (lockfd != NULL)
        *lockfd = lock;
    else
        state_unlock(lock);
    return 0;
}

int state_lock(const char *root, const char *id, bool wait, struct amber_error *err)
{
    /* The lock is on the container's directory itself: no lock file to
     * create (a file creation is the costliest step of a create on some
     * filesystems), and it goes away with the directory. */
    cleanup_free char *path = state_path(root, id, NULL);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0) {
        if (errno == ENOENT)
            return amber_error_set(err, ENOENT, "no such container: '%s'", id);
        return amber_error_errno(err, "lock container '%s'", id);
    }
    if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
        int e = errno;
        close(fd);
        return amber_error_set(err, e, "container '%s' is busy (another command holds it)", id);
    }
    {
        /* While we waited, the holder may have removed the directory (rm,
         * delete) and another create made a new one under the same id. */
        struct stat held, now;
        if (fstat(fd, &held) < 0 || stat(path, &now) < 0 || held.st_ino != now.st_ino ||
            held.st_dev != now.st_dev) {
            close(fd);
            return amber_error_coded(err, ENOENT, "no such container: '%s'", id);
        }
    }
    return fd;
}

void state_unlock(int lockfd)
{
    if (lockfd >= 0)
        close(lockfd);
}

int state_remove(const char *root, const char *id, struct amber_error *err)
{
    static const char *const files[] = {"state.json", "log",         "log.1", "start",
                                        "exec.fifo",  "config.json", "lock",  "ns.sock"};
    cleanup_free char *dir = state_path(root, id, NULL);

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        cleanup_free char *p = state_path(root, id, files[i]);
        unlink(p);
    }
    if (rmdir(dir) < 0 && errno != ENOENT)
        return amber_error_errno(err, "remove '%s'", dir);
    return 0;
}

int state_signal_pid1(const struct container *c, int sig)
{
    return proc_signal_if(c->pid, c->pid_start, sig);
}

uint64_t state_proc_starttime(pid_t pid)
{
    return proc_starttime(pid);
}

bool state_supervisor_alive(const struct container *c)
{
    return c->supervisor > 0 && state_proc_starttime(c->supervisor) == c->supervisor_start &&
           c->supervisor_start != 0;
}
