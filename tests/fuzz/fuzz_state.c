/* A sandbox's state.json (container/state.c), read back as `ps`, `stop`
 * and `exec` read it. Oracle: what state_load accepts, state_save writes
 * and state_load reads back the same (id, name, status, pid, message). */
#include <sys/stat.h>
#include <unistd.h>

#include "container/state.h"
#include "fuzz.h"

static char root[] = "/tmp/amber-fuzz-state-XXXXXX";
static char dir[sizeof(root) + 32];
static char file[sizeof(dir) + 16];

static void cleanup(void)
{
    unlink(file);
    rmdir(dir);
    rmdir(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    if (mkdtemp(root) == NULL)
        abort();
    snprintf(dir, sizeof(dir), "%s/0123456789abcdef", root);
    snprintf(file, sizeof(file), "%s/state.json", dir);
    if (mkdir(dir, 0700) < 0)
        abort();
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct container a, b;
    struct amber_error err;
    FILE *f = fopen(file, "w");

    if (f == NULL)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    if (state_load(root, "0123456789abcdef", &a, &err) < 0)
        return 0;
    if (state_save(root, &a, &err) == 0) {
        FUZZ_ASSERT(state_load(root, "0123456789abcdef", &b, &err) == 0);
        FUZZ_ASSERT(strcmp(a.id, b.id) == 0 && strcmp(a.name, b.name) == 0);
        FUZZ_ASSERT(a.status == b.status && a.pid == b.pid);
        FUZZ_ASSERT(strcmp(a.message, b.message) == 0);
        container_free(&b);
    }
    container_free(&a);
    return 0;
}
