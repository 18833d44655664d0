#include "util/fault.h"

#include <stdlib.h>
#include <string.h>

#define FAULT_SITES 8

static struct {
    char site[32];
    int nth;    /* the pass that fails */
    int passes; /* so far */
} faults[FAULT_SITES];

void fault_set(const char *site, int nth)
{
    int free_slot = -1;

    for (int i = 0; i < FAULT_SITES; i++) {
        if (strcmp(faults[i].site, site) == 0) {
            faults[i].nth = nth;
            faults[i].passes = 0;
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
}

void fault_init_from_env(void)
{
    const char *v = getenv("AMBER_FAULT");
    char buf[256];
    char *save = NULL;

    if (v == NULL || strlen(v) >= sizeof(buf))
        return;
    strcpy(buf, v);
    for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(t, ':');
        int nth = 1;
        if (colon != NULL) {
            *colon = '\0';
            nth = atoi(colon + 1);
        }
        if (nth > 0)
            fault_set(t, nth);
    }
}

bool fault_hit(const char *site)
{
    for (int i = 0; i < FAULT_SITES; i++)
        if (faults[i].site[0] != '\0' && strcmp(faults[i].site, site) == 0)
            return ++faults[i].passes == faults[i].nth;
    return false;
}
