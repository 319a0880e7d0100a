/* Result bundles (libarchive): JOB.tar.gz / JOB.tar.zst, and copying a
 * node's declared outputs out of the work directory safely. */
#ifndef DAGEXEC_BUNDLE_H
#define DAGEXEC_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BUNDLE_MAX_MEMBERS	100000	/* in a dropped bundle */

enum bundle_format { BUNDLE_TGZ, BUNDLE_TZST };

/* The file extension: ".tar.gz" or ".tar.zst". */
const char *bundle_ext(enum bundle_format f);

/* Pack the job directory jobdir into out_path as members JOB/...:
 * manifest.yaml, state.yaml, events.log, summary.txt, graph.dot,
 * timeline.svg, trace.json (those that exist, in that order), then
 * nodes/NODE/{stdout,stderr}.log and outputs/NODE/... sorted by name.
 * work/ is not packed. Written to out_path.tmp.PID, fsynced, renamed.
 * Owners and modes are normalised (root, 0644/0755). Returns 0 or -1 with
 * *cause; nothing is left at out_path on failure. */
int bundle_write(const char *out_path, enum bundle_format fmt,
    const char *job, const char *jobdir, char **cause);

/* Copy the output rel (a file or a directory tree, relative to the work
 * directory open as workdir_fd) into destdir/rel. Resolution stays beneath
 * the work directory (openat2 RESOLVE_BENEATH): a path or symlink leading
 * out of it fails. Symlinks inside a copied tree are not followed and not
 * copied. Returns 0, or -1 with errno (ENOENT: missing) and *cause. */
int bundle_collect_output(int workdir_fd, const char *rel, const char *destdir,
    char **cause);

/* Read the member named member (e.g. "JOB/state.yaml") of the bundle at path
 * into a new NUL-terminated buffer (at most max bytes). Returns 0, or -1 with
 * *cause (ENOENT: no such member). */
int bundle_read_member(const char *path, const char *member, size_t max,
    char **buf, size_t *len, char **cause);

/* Unpack a dropped bundle (.tar, .tar.gz, .tgz, .tar.zst) into the existing
 * directory destdir. Every member is checked first and the archive refused
 * as a whole when one is an absolute path, holds '..', is a link leading out
 * of destdir, is a device or FIFO, or when the members add up to more than
 * max_bytes (or BUNDLE_MAX_MEMBERS members); then it is extracted with
 * libarchive's secure flags, without set-id bits, and with chown_to the
 * files are given to uid:gid. Not thread-safe (it changes directory for the
 * extraction). Returns 0 or -1 with *cause. */
int bundle_unpack(const char *path, const char *destdir, uint64_t max_bytes,
    int chown_to, uid_t uid, gid_t gid, char **cause);

#endif
