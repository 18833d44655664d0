/* Copying a directory tree across the sandbox boundary as a byte stream.
 *
 * "--context DIR" and "--workspace DIR --workspace-mode copy-in-out" copy a
 * host tree into a tmpfs inside the sandbox. The host-side amber process
 * walks the host tree (tree_send) and streams it over a pipe; the sandbox's
 * setup process writes it (tree_recv), so every file is created with the
 * sandbox's own credentials and nothing is staged on the host. For
 * copy-in-out the sandbox's PID 1 streams /workspace back at the end
 * (tree_send) and the host applies it (tree_apply). Each receiver treats its
 * sender as hostile: a stream can only create entries below the destination
 * directory, whatever it contains.
 *
 * STREAM FORMAT (all integers big-endian):
 *
 *   stream  := "AMBTREE" 0x01  entry*  end
 *   entry   := header path body
 *   header  := type:u8  0:u8 0:u8 0:u8  mode:u32  path_len:u32
 *   type    := 'D' (directory) | 'F' (regular file) | 'L' (symlink) | 'E' (end)
 *   mode    := permission bits, <= 0777 (never setuid/setgid/sticky); 0 for 'L'
 *   path    := path_len bytes, 1 <= path_len <= 4095: the path relative to
 *              the tree's root: no leading '/', no empty, "." or ".."
 *              components, no NUL, components <= 255 bytes. The root itself
 *              is never sent (its mode belongs to whoever made it).
 *   body    := 'D': nothing
 *              'F': size:u64 (< 2^62), then size bytes of content
 *              'L': target_len:u32 (1..4095), then the target (no NUL)
 *   end     := 'E' 0 0 0  mode=0:u32  path_len=0:u32  digest:32 bytes
 *
 * Entries come in canonical order: depth first, a directory before its
 * contents, the names inside a directory in strcmp() order. Receivers
 * enforce that order (every entry's parent must be the directory entered
 * last or one of its ancestors, and names within a directory strictly
 * increase). It makes duplicates impossible, lets a receiver keep only the
 * current directory chain (memory bounded by the depth, not the tree) and
 * makes the stream, and so its digest, a function of the tree alone.
 *
 * digest = SHA-256 over the exact bytes of all entries (headers, paths,
 * bodies), i.e. the stream without the 8-byte magic and the end record.
 * tree_digest() computes the same value from a tree on disk. Ownership,
 * timestamps, xattrs and hard links are not part of the stream or the digest.
 *
 * What a sender leaves out (and reports):
 *  - names excluded by the filter (see struct tree_filter);
 *  - special files: fifos, sockets, devices;
 *  - symlinks that could leave the tree: absolute targets, and relative
 *    targets unless every ".." comes before the first real name and there
 *    are no more of them than the link's depth. This is lexical resolution
 *    made sound: a ".." after a name could climb out of a directory reached
 *    through another symlink ("d/up/.." where d/up -> ..);
 *  - directories on another filesystem than the root (mount points, btrfs
 *    subvolumes), unless filter->cross_mounts, like `cp -ax`: a tree may
 *    contain a bind mount of something large or remote.
 *
 * SIGPIPE: tree_send blocks SIGPIPE in the calling thread while it writes
 * and swallows the one it caused, so a reader that dies yields an EPIPE
 * error rather than killing the process. Callers should still ignore
 * SIGPIPE process-wide if other threads write to pipes.
 *
 * Data passes through user space on both sides because it is hashed; see
 * tree.c for why sendfile()/splice() would not save a copy. */
#ifndef AMBER_TREE_H
#define AMBER_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

#define TREE_DIGEST_SIZE 32
#define TREE_PATH_MAX 4096 /* bytes including the NUL: paths are at most 4095 */

enum tree_type {
    TREE_DIR = 'D',
    TREE_FILE = 'F',
    TREE_SYMLINK = 'L',
};

/* What a sender reports through tree_filter.report. */
enum tree_event {
    TREE_EV_EXCLUDED,        /* matched an exclude pattern; not descended into */
    TREE_EV_SKIPPED_SPECIAL, /* fifo, socket or device */
    TREE_EV_SKIPPED_SYMLINK, /* symlink that could leave the tree */
    TREE_EV_SKIPPED_MOUNT,   /* directory on another filesystem */
};

/* Which entries to leave out. A zeroed struct (or NULL) means: default
 * secret excludes on, no user patterns, stay on one filesystem.
 *
 * Default excludes, matched with fnmatch() against each entry's basename,
 * for every type of entry: ".env*" (.env, .env.local, .envrc, ...), "*.pem",
 * "*.key", ".ssh", ".aws". ".git" is not excluded.
 *
 * User patterns (--context-exclude): a trailing '/' restricts the pattern to
 * directories; a leading '/' is dropped (patterns are anchored at the root
 * anyway); a pattern still containing '/' is matched against the relative
 * path with FNM_PATHNAME, any other against the basename. An excluded
 * directory is not descended into. */
struct tree_filter {
    bool no_default_excludes;    /* the workspace: the user wants it as-is */
    const char *const *patterns; /* user patterns, npatterns of them */
    size_t npatterns;
    bool cross_mounts; /* descend into other filesystems */
    /* Called by tree_send for every entry left out (not by tree_digest). */
    void (*report)(enum tree_event ev, const char *relpath, void *data);
    void *report_data;
};

struct tree_stats {
    uint64_t files, dirs, symlinks;
    uint64_t bytes; /* file content sent */
    uint64_t skipped_special, skipped_symlinks, skipped_mounts;
    uint64_t excluded;
    char **excluded_paths; /* NULL-terminated, excluded_len entries; free with tree_stats_free */
    size_t excluded_len;
};
void tree_stats_free(struct tree_stats *st);

/* The entries a tree_send sent, in stream (canonical) order; tree_apply uses
 * it to know what it may delete. */
struct tree_manifest_entry {
    char *path;
    enum tree_type type;
};
struct tree_manifest {
    struct tree_manifest_entry *entries;
    size_t len, cap;
};
void tree_manifest_free(struct tree_manifest *m);

/* Stream the tree under srcdirfd to outfd. Everything is opened relative to
 * its parent's fd with O_NOFOLLOW; a symlink is never followed. st (may be
 * NULL) is zeroed and filled; digest (may be NULL) receives the digest sent
 * in the end record. Fails if an entry cannot be read, a file shrinks while
 * being read, a relative path exceeds 4095 bytes or outfd fails (EPIPE when
 * the reader went away). */
int tree_send(int srcdirfd, int outfd, const struct tree_filter *f, struct tree_stats *st,
              uint8_t digest[TREE_DIGEST_SIZE], struct amber_error *err);
/* Same, also filling manifest (zeroed first; may be NULL) with every entry sent. */
int tree_send_manifest(int srcdirfd, int outfd, const struct tree_filter *f, struct tree_stats *st,
                       struct tree_manifest *manifest, uint8_t digest[TREE_DIGEST_SIZE],
                       struct amber_error *err);

/* Read a stream from infd and create it under dstdirfd, which should be
 * empty (entries are created with O_EXCL). Every entry is created relative
 * to a directory fd this call created and opened with O_NOFOLLOW, never by
 * resolving a path, so neither the stream nor anything already in dstdirfd
 * can redirect a write outside it. Entries are chowned to uid:gid ((uid_t)-1
 * / (gid_t)-1: leave; EPERM is ignored when they are the caller's own ids),
 * files and symlinks get their mode at once, directories after their
 * contents. A malformed stream (bad path, bad order, a symlink whose target
 * could leave the tree, truncation) or a digest that does not match what
 * was received is an error; the tree may then be partly populated and must
 * not be used. Reads exactly up to the end record, never beyond it. digest
 * (may be NULL) receives the digest computed over what was received. */
int tree_recv(int infd, int dstdirfd, uid_t uid, gid_t gid, uint8_t digest[TREE_DIGEST_SIZE],
              struct amber_error *err);

/* The digest tree_send with the same filter would send, computed from the
 * tree under dirfd without writing anything. To compare a populated copy
 * with its source, use the same filter on both sides. */
int tree_digest(int dirfd, const struct tree_filter *f, uint8_t digest[TREE_DIGEST_SIZE],
                struct amber_error *err);

#define TREE_APPLY_REPORT_MAX 1000

struct tree_apply_stats {
    uint64_t written; /* regular files and symlinks created or replaced */
    uint64_t dirs_created;
    uint64_t unchanged; /* entries already equal on the host: left untouched */
    uint64_t modes;     /* permission changes on otherwise unchanged entries */
    uint64_t deleted;   /* manifest entries absent from the stream, removed */
    uint64_t skipped;   /* stream entries not applied, manifest entries not removed */
    /* "path: reason" for skipped entries, the first TREE_APPLY_REPORT_MAX of
     * them; NULL-terminated. Free with tree_apply_stats_free. */
    char **skipped_paths;
    size_t skipped_len;
};
void tree_apply_stats_free(struct tree_apply_stats *st);

/* Copy-in-out sync-back, on the host: make the tree under hostdirfd equal
 * to the stream read from infd (sent by the sandbox: hostile), where safe.
 * before: the manifest tree_send_manifest returned when the tree was copied
 * in (NULL: empty). The rules:
 *  - directories are entered with O_NOFOLLOW from their parent's fd; a host
 *    path component that is not a directory we may enter (e.g. a symlink
 *    planted after copy-in) makes the entry and its subtree skipped;
 *  - a changed regular file is written to a temp file in the same directory
 *    (O_CREAT|O_EXCL|O_NOFOLLOW) and renamed over the target, which replaces
 *    a symlink or hard link itself, never what it points to; a file whose
 *    size and bytes are equal is left untouched (its mode updated in place,
 *    or by a rewrite when it has other hard links);
 *  - a host entry is replaced or removed only if its path is in `before`
 *    with the same type it has now; otherwise the stream entry is skipped
 *    and reported (new paths are created);
 *  - symlinks are created only if their target stays inside the tree (same
 *    rule as tree_send); modes are permission bits only;
 *  - manifest entries absent from the stream are deleted only after the
 *    whole stream was read and its digest verified, deepest first;
 *    directories only if empty. (One exception: when the stream replaces a
 *    copied-in directory by a file or symlink, the directory's copied-in
 *    contents are removed when that entry arrives, so it can be replaced.)
 *  - host directories on another filesystem than hostdirfd (mount points)
 *    are not entered, as tree_send does not enter them.
 * New entries are chowned to the owner of their directory, replaced files
 * keep the owner of the file they replace (no-ops unless the caller is root).
 * A malformed stream is an error; changes applied until then stay (each file
 * atomically) but nothing absent is deleted. st may be NULL. */
int tree_apply(int infd, int hostdirfd, const struct tree_manifest *before,
               struct tree_apply_stats *st, struct amber_error *err);

#endif
