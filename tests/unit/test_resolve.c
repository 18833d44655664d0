/* Unit tests: resolving mount targets inside a root without following
 * symlinks, through openat2 and through the fallback walk. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/resolve.h"
#include "test.h"

static void run(const char *root)
{
    struct amber_error err;
    int rootfd = open(root, O_PATH | O_DIRECTORY);
    int fd;

    CHECK(rootfd >= 0);
    fd = path_open_beneath(rootfd, "/dev", O_DIRECTORY, &err);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    fd = path_open_beneath(rootfd, "home/agent", O_DIRECTORY, &err);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    /* tmp -> /etc: a planted symlink must be refused, not followed. */
    CHECK(path_open_beneath(rootfd, "/tmp", O_DIRECTORY, &err) < 0);
    CHECK_STR_CONTAINS(err.msg, "symlink");
    /* a symlink in the middle of the path */
    CHECK(path_open_beneath(rootfd, "/link/agent", O_DIRECTORY, &err) < 0);
    CHECK(path_open_beneath(rootfd, "/dev/../../etc", O_DIRECTORY, &err) < 0);
    CHECK(path_open_beneath(rootfd, "/missing", O_DIRECTORY, &err) < 0);
    CHECK(err.code == ENOENT);
    close(rootfd);
}

int main(void)
{
    char tmpl[] = "/tmp/amber-resolve-XXXXXX";
    char *root = mkdtemp(tmpl);
    char path[256];

    CHECK(root != NULL);
    if (root == NULL)
        return test_finish("resolve");
    snprintf(path, sizeof(path), "%s/dev", root);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/home", root);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/home/agent", root);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/tmp", root);
    CHECK(symlink("/etc", path) == 0);
    snprintf(path, sizeof(path), "%s/link", root);
    CHECK(symlink("home", path) == 0);

    path_force_fallback = false;
    run(root);
    path_force_fallback = true;
    run(root);

    snprintf(path, sizeof(path), "rm -rf '%s'", root);
    CHECK(system(path) == 0);
    return test_finish("resolve");
}
