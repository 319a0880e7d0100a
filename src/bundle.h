/* Result bundles (libarchive): JOB.tar.gz / JOB.tar.zst, and copying a
 * node's declared outputs out of the work directory safely. */
#ifndef DAGEXEC_BUNDLE_H
#define DAGEXEC_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BUNDLE_MAX_MEMBERS	100000	/* in a dropped bundle */

enum bundle_format { BUNDLE_TGZ, BUNDLE_TZST };

/* The user a job's nodes ran as: of what they left in nodes/ and outputs/,
 * only plain files of that user's with one link are packed (a hard link
 * could name a file of someone else's). */
struct bundle_owner {
	uid_t	uid;
	gid_t	gid;
};

/* The file extension: ".tar.gz" or ".tar.zst". */
const char *bundle_ext(enum bundle_format f);

/* Pack the job directory jobdir into out_path as members JOB/...:
 * manifest.yaml, state.yaml, events.log, summary.txt, graph.dot,
 * timeline.svg, trace.json (those that exist, in that order), then
 * nodes/NODE/{stdout,stderr}.log and outputs/NODE/... sorted by name, and
 * last SHA256SUMS over every other regular-file member.
 * work/ is not packed. Written to out_path.tmp.PID, fsynced, renamed.
 * Owners and modes are normalised (root, 0644/0755). With owner (else
 * NULL), only the plain files of nodes/ and outputs/ that are owner's with
 * one link are packed. Returns 0 or -1 with *cause; nothing is
 * left at out_path on failure. */
int bundle_write(const char *out_path, enum bundle_format fmt,
    const char *job, const char *jobdir, const struct bundle_owner *owner,
    char **cause);

/* Copy the output rel (a file or a directory tree, relative to the work
 * directory open as workdir_fd) into destdir/rel. Resolution stays beneath
 * the work directory (openat2 RESOLVE_BENEATH): a path or symlink leading
 * out of it fails. Symlinks inside a copied tree are not followed and not
 * copied. Files are written 0600, never through a link or into a FIFO.
 * With owner (else NULL), every file copied must be a plain file of that
 * user's with one link, else the output is refused. Returns 0, or -1 with errno (ENOENT:
 * missing) and *cause. */
int bundle_collect_output(int workdir_fd, const char *rel, const char *destdir,
    const struct bundle_owner *owner, char **cause);

/* Read the member named member (e.g. "JOB/state.yaml") of the bundle at path
 * into a new NUL-terminated buffer (at most max bytes). Returns 0, or -1 with
 * *cause (ENOENT: no such member). */
int bundle_read_member(const char *path, const char *member, size_t max,
    char **buf, size_t *len, char **cause);

/* The job name of the bundle at path: the first component of its first
 * member, new in *job. Returns 0, or -1 with errno (EILSEQ: not a readable
 * archive or not a bundle; else the file cannot be opened) and *cause. */
int bundle_job(const char *path, char **job, char **cause);

/* What is wrong with one member of a bundle. */
enum bundle_bad {
	BUNDLE_FAILED,		/* its SHA-256 differs from SHA256SUMS */
	BUNDLE_MISSING,		/* listed in SHA256SUMS, not in the archive */
	BUNDLE_NOT_LISTED	/* a regular file SHA256SUMS does not list */
};

/* Check the bundle at path against its member JOB/SHA256SUMS (which
 * bundle_write adds last, "HEX  JOB/member" lines as sha256sum(1) writes
 * them, over every other regular-file member). bad is called once a bad
 * member, in SHA256SUMS order, then archive order. Returns the number of
 * bad members (0: whole), or -1 with *cause and errno: EILSEQ when the
 * archive is corrupt, not a bundle, or has no (or a malformed)
 * SHA256SUMS; otherwise the file cannot be opened. */
int bundle_verify(const char *path,
    void (*bad)(const char *member, enum bundle_bad why, void *arg),
    void *arg, char **cause);

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

/* Initialise what writing and checking bundles needs (OpenSSL's digests):
 * about 1.5 ms of CPU at its first use. The spawner calls it once, so that
 * every supervisor it forks finds it done. */
void bundle_init(void);

#endif
