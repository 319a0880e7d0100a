/* File helpers: atomic writes, whole-file reads, directory creation. */
#ifndef DAGEXEC_FSUTIL_H
#define DAGEXEC_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Write data to path atomically: PATH.tmp.PID in the same directory, write,
 * fsync, rename, fsync the directory. Returns 0, or -1 with errno set and
 * *cause an allocated message naming the path. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
    char **cause);
/* fs_write_atomic, and the file given to uid:gid before it is renamed into
 * place (uid (uid_t)-1: kept as created). */
int fs_write_atomic_owned(const char *path, const void *data, size_t len,
    mode_t mode, uid_t uid, gid_t gid, char **cause);
/* The same without the syncs: a reader sees the old file or the new one,
 * never a part, but a crash may lose the new one. For the files a job
 * makes again from its journal (state.yaml, summary.txt, the pictures):
 * the journal and the bundle are what is made durable. */
int fs_replace(const char *path, const void *data, size_t len, mode_t mode,
    char **cause);
int fs_replace_owned(const char *path, const void *data, size_t len,
    mode_t mode, uid_t uid, gid_t gid, char **cause);
/* An atomic write in steps, for a file written as it is rendered: create
 * PATH.tmp.PID (read and write, mode, given to uid:gid unless uid is
 * (uid_t)-1) and return its descriptor, *tmp its name (allocated); or -1
 * with errno and *cause. */
int fs_atomic_open(const char *path, mode_t mode, uid_t uid, gid_t gid,
    char **tmp, char **cause);
/* Then: with sync, fsync fd; close it; rename tmp over path; with sync,
 * fsync the directory. tmp is freed (and removed on failure). 0, or -1
 * with errno and *cause. A file that a durable copy is made of (the
 * bundle, fsynced) needs no sync of its own. */
int fs_atomic_commit(int fd, char *tmp, const char *path, bool sync,
    char **cause);
/* Give up: close fd, remove tmp and free it (errno kept). */
void fs_atomic_abort(int fd, char *tmp);

/* Read a whole file into a new NUL-terminated buffer (*len excludes the NUL).
 * Fails with EFBIG when the file holds more than max bytes. O_NOFOLLOW is not
 * used: callers who need it open the file themselves and use fs_read_fd. */
int fs_read_file(const char *path, size_t max, char **buf, size_t *len,
    char **cause);
/* Read everything from fd (at most max bytes, else EFBIG) into a new buffer. */
int fs_read_fd(int fd, const char *name, size_t max, char **buf, size_t *len,
    char **cause);
/* mkdir -p with the given mode for directories it creates. */
int fs_mkdirs(const char *path, mode_t mode, char **cause);
/* rm -rf of path, without following symlinks; ENOENT is not an error. */
int fs_remove_tree(const char *path, char **cause);
/* Write all of buf to fd, retrying on EINTR and short writes. */
int fs_write_all(int fd, const void *buf, size_t len);
/* fsync the directory that holds path. */
int fs_sync_parent(const char *path);
/* fsync the file at path (not following a link), then its directory: what
 * fs_replace wrote is then as durable as fs_write_atomic makes it. 0, or -1
 * with errno. */
int fs_sync_path(const char *path);

#endif
