/* The new job of a retry (interface §8), as `dagexec retry` and a
 * supervisor running `submit --retry` both make it: the earlier job read
 * back, the new job's manifest (the earlier one or an edited one), which
 * nodes run again, and the reused nodes preset in the new job before it
 * starts. One code path for both; neither prints or exits here. */
#ifndef DAGEXEC_RERUN_H
#define DAGEXEC_RERUN_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

struct job;
struct manifest;
struct rerun;

/* Read the earlier job at path (a bundle, verified and unpacked into a new
 * directory under tmpbase, or a job directory) and parse the new job's
 * manifest: the file edited (NULL: the earlier job's own), whose nodes must
 * be the earlier job's unless force. 0 and *out; -1 with errno and either
 * d (a manifest's errors, for diags_print with *name) or *cause: EILSEQ
 * the earlier job is not dagexec's, a manifest is invalid or the two have
 * different nodes (*cause says which); EFBIG edited is too large; other
 * values: it cannot be opened. *name is allocated either way (NULL on
 * success). */
int rerun_open(const char *path, const char *tmpbase, const char *edited,
    bool force, struct rerun **out, struct diags *d, char **name,
    char **cause);
/* Decide what runs: from[] (--from) run again with their descendants and
 * are not taken from the cache. Returns how many nodes run (0: nothing),
 * or -1 with errno EINVAL, *bad the index into from[] of a node the new
 * manifest does not have, and *cause. */
long rerun_plan(struct rerun *r, char *const *from, size_t nfrom,
    size_t *bad, char **cause);
/* The earlier job's id. */
const char *rerun_old_id(const struct rerun *r);
/* The new job's manifest and its bytes; rerun_take_manifest hands the
 * manifest over (the job owns it from then on), the text stays r's. */
struct manifest *rerun_take_manifest(struct rerun *r);
const struct manifest *rerun_manifest(const struct rerun *r);
const char *rerun_text(const struct rerun *r, size_t *len);
/* Per node of the new manifest: not looked up in the cache (--from). */
const bool *rerun_cache_skip(const struct rerun *r);
/* In j (made from the new manifest, not started): end every reused node
 * succeeded, with its outputs, values and logs from the earlier job, needs
 * before what needs them. A log that cannot be copied is a warning
 * (logged). 0, or -1 with *cause: the nodes from the one that failed on
 * are still pending, none of them preset below a pending one. */
int rerun_preset(const struct rerun *r, struct job *j, char **cause);
/* Free it (a manifest not taken too) and remove what was unpacked; NULL is
 * fine. */
void rerun_free(struct rerun *r);

#endif
