/* Processes named by pid + start time: a pid read from a file may belong
 * to another process by now; its start time (/proc/PID/stat field 22)
 * tells. A signal goes through a pidfd, and only while the process is the
 * one named. */
#ifndef AMBER_PROC_H
#define AMBER_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* pid's start time in clock ticks since boot; 0 when it does not exist. */
uint64_t proc_starttime(pid_t pid);
/* Is pid (still) the process that started at start, and running: not a
 * zombie waiting for its parent to collect its status? */
bool proc_running(pid_t pid, uint64_t start);
/* Send sig to pid if it is (still) the process that started at start
 * (start 0: never). Returns 0, or -1 with errno (ESRCH: not that process). */
int proc_signal_if(pid_t pid, uint64_t start, int sig);

#endif
