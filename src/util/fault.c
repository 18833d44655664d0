#include "util/fault.h"

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#define FAULT_SITES 8

static struct {
    char site[32];
    int nth;    /* the pass that fails */
    int passes; /* so far */
    bool kill;  /* SIGKILL instead of a failure */
} faults[FAULT_SITES];

static void set(const char *site, int nth, bool kill);

void fault_set(const char *site, int nth)
{
    set(site, nth, false);
}

static void set(const char *site, int nth, bool kill)
{
    int free_slot = -1;

    for (int i = 0; i < FAULT_SITES; i++) {
        if (strcmp(faults[i].site, site) == 0) {
            faults[i].nth = nth;
            faults[i].passes = 0;
            faults[i].kill = kill;
            return;
        }
        if (free_slot < 0 && faults[i].site[0] == '\0')
            free_slot = i;
    }
    if (free_slot < 0 || nth == 0 || strlen(site) >= sizeof(faults[0].site))
        return;
    strcpy(faults[free_slot].site, site);
    faults[free_slot].nth = nth;
    faults[free_slot].passes = 0;
    faults[free_slot].kill = kill;
}

void fault_init_from_env(void)
{
    /* Never for a process that gained privileges at exec (setuid, file
     * capabilities): its environment is its caller's to choose. */
    const char *v = getauxval(AT_SECURE) ? NULL : getenv("AMBER_FAULT");
    char buf[256];
    char *save = NULL;

    if (v == NULL || strlen(v) >= sizeof(buf))
        return;
    strcpy(buf, v);
    for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(t, ':');
        int nth = 1;
        bool kill = false;
        if (colon != NULL) {
            char *second = strchr(colon + 1, ':');
            *colon = '\0';
            nth = atoi(colon + 1);
            kill = second != NULL && strcmp(second + 1, "kill") == 0;
        }
        if (nth > 0)
            set(t, nth, kill);
    }
}

bool fault_hit(const char *site)
{
    for (int i = 0; i < FAULT_SITES; i++)
        if (faults[i].site[0] != '\0' && !faults[i].kill && strcmp(faults[i].site, site) == 0)
            return ++faults[i].passes == faults[i].nth;
    return false;
}

void fault_kill_point(const char *site)
{
    for (int i = 0; i < FAULT_SITES; i++)
        if (faults[i].site[0] != '\0' && faults[i].kill && strcmp(faults[i].site, site) == 0 &&
            ++faults[i].passes == faults[i].nth)
            raise(SIGKILL);
}
