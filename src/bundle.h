/* Result bundles (libarchive): JOB.tar.gz / JOB.tar.zst, and copying a
 * node's declared outputs out of the work directory safely. */
#ifndef DAGEXEC_BUNDLE_H
#define DAGEXEC_BUNDLE_H

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

#endif
