/* Cleanup attributes: a variable declared with one of these is released
 * when it goes out of scope, so every early return is safe. To hand
 * ownership on, set the variable to NULL / -1 (see steal_pointer). */
#ifndef AMBER_CLEANUP_H
#define AMBER_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

static inline void cleanup_freep(void *p)
{
    free(*(void **)p);
}

static inline void cleanup_closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

static inline void cleanup_fclosep(FILE **f)
{
    if (*f != NULL)
        fclose(*f);
}

static inline void cleanup_closedirp(DIR **d)
{
    if (*d != NULL)
        closedir(*d);
}

static inline void cleanup_strvp(char ***v)
{
    if (*v != NULL) {
        for (char **p = *v; *p != NULL; p++)
            free(*p);
        free(*v);
    }
}

#define cleanup_free __attribute__((cleanup(cleanup_freep)))
#define cleanup_close __attribute__((cleanup(cleanup_closep)))
#define cleanup_fclose __attribute__((cleanup(cleanup_fclosep)))
#define cleanup_closedir __attribute__((cleanup(cleanup_closedirp)))
#define cleanup_strv __attribute__((cleanup(cleanup_strvp)))

static inline void *steal_pointer_(void **pp)
{
    void *p = *pp;
    *pp = NULL;
    return p;
}
#define steal_pointer(pp) steal_pointer_((void **)(pp))

static inline int steal_fd(int *fd)
{
    int r = *fd;
    *fd = -1;
    return r;
}

#endif
