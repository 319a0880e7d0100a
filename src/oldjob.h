/* A finished job read back for a retry: a result bundle (checked against
 * its SHA256SUMS, then unpacked) or a job directory kept with run --keep.
 * What a retry needs of it: its id, its manifest, how each node ended, the
 * $DAGEXEC_OUTPUT values of the nodes that succeeded, and their declared
 * outputs and logs. */
#ifndef DAGEXEC_OLDJOB_H
#define DAGEXEC_OLDJOB_H

#include <stdbool.h>
#include <stddef.h>

#include "manifest.h"
#include "sched.h"

struct oldjob;

/* Read the job at path: a directory holding manifest.yaml and events.log,
 * or a bundle, which is verified first and unpacked into a new directory
 * under tmpbase (removed by oldjob_free). Returns 0 and *out, or -1 with
 * *cause and errno: EILSEQ when path is not dagexec's (no bundle, no
 * SHA256SUMS or a member that fails it, no manifest or journal, a journal
 * that cannot be read); other values when it cannot be opened. */
int oldjob_open(const char *path, const char *tmpbase, struct oldjob **out,
    char **cause);
/* Free it and remove what was unpacked; NULL is fine. */
void oldjob_free(struct oldjob *o);
/* Its job id. */
const char *oldjob_id(const struct oldjob *o);
/* The bytes of its manifest.yaml (not NUL-terminated: *len). */
const char *oldjob_manifest(const struct oldjob *o, size_t *len);
/* True when its state lists node id (a run --target lists only some of
 * the manifest's nodes); true for every id when it has no state. */
bool oldjob_has_node(const struct oldjob *o, const char *id);
/* The same for a foreach node as written (group): true when its state
 * lists the node or one of its instances (group[...]). */
bool oldjob_has_group(const struct oldjob *o, const char *group);
/* How node id ended (NS_PENDING: it never did) and, when it succeeded,
 * the values its last attempt wrote to $DAGEXEC_OUTPUT (*values may be
 * NULL). A success with a value that held a secret is NS_PENDING: the
 * journal holds "***" for it, so the node must run again. */
enum node_status oldjob_node(const struct oldjob *o, const char *id,
    const struct kv **values, size_t *nvalues);
/* True when every output node id declares (n) is among its kept outputs. */
bool oldjob_has_outputs(const struct oldjob *o, const struct node *n);
/* Its outputs/ID directory, open (the caller closes it), or -1 with errno
 * (ENOENT: none were kept). */
int oldjob_outputs_fd(const struct oldjob *o, const char *id);
/* Copy node id's logs (nodes/ID/) into destdir/ID/; none is fine.
 * 0, or -1 with *cause. */
int oldjob_copy_logs(const struct oldjob *o, const char *id,
    const char *destdir, char **cause);

#endif
