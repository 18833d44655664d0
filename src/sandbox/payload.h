/* The payload: what the host side hands the sandbox's setup process
 * besides the spec: the bytes of --secret files and the streamed copies of
 * --context (copy mode) and --workspace (copy-in-out). It travels over a
 * pipe, so nothing is staged on the host and every file inside is created
 * by the sandbox with its own credentials.
 *
 * Wire order (both sides derive it from the spec):
 *   for each --secret: name_len:u32 name size:u32 bytes
 *   --context copy:    a tree stream (tree.h), then the 32-byte digest of
 *                      the source taken before launch
 *   --workspace copy-in-out: a tree stream */
#ifndef AMBER_PAYLOAD_H
#define AMBER_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sandbox/sandbox.h"
#include "tree/tree.h"

struct payload_secret {
    char *name;
    unsigned char *data; /* zeroed before free */
    size_t len;
};

struct payload {
    struct payload_secret *secrets;
    size_t nsecrets;
    int context_fd;   /* O_PATH|O_DIRECTORY source, -1 if no context copy */
    int workspace_fd; /* -1 if no copy-in-out */
    struct tree_filter context_filter;
    struct tree_filter workspace_filter;
    uint8_t context_digest[TREE_DIGEST_SIZE]; /* before launch (--verify-context-integrity) */
    struct tree_manifest workspace_manifest;  /* what was copied in, for the sync-back */
};

/* Host side, before the sandbox starts: read the secrets (never following
 * a symlink at SRC), open the trees, hash the context if asked to.
 * Returns 1 when there is a payload to send, 0 when there is none. */
int payload_prepare(const struct amber_spec *spec, struct payload *p, struct amber_error *err);
/* Host side: write the payload to fd; zeroes the secrets as it goes. */
int payload_send(int fd, const struct amber_spec *spec, struct payload *p, struct amber_error *err);
void payload_free(struct payload *p);

/* Sandbox side, after pivot_root: read the payload from fd and populate
 * /run/secrets, /context and /workspace, owned by the workload's ids. */
int payload_recv(int fd, const struct sandbox_plan *plan, struct amber_error *err);

/* The filters both sides use (so that digests agree). */
void payload_context_filter(const struct amber_spec *spec, struct tree_filter *f);
void payload_workspace_filter(struct tree_filter *f);

#endif
