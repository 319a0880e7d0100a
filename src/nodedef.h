/* A node's definition in a canonical form: what it runs, the environment
 * the manifest and the node give it, its limits, its outputs, its
 * executor, its foreach item (or what a dynamic foreach expands over) and
 * which secret files it reads (not their content); not its needs, its
 * retry policy or the YAML's bytes and
 * comments. Two manifests' nodes are compared with it (retry --manifest),
 * and a cache key can hash it. */
#ifndef DAGEXEC_NODEDEF_H
#define DAGEXEC_NODEDEF_H

#include <stdbool.h>
#include <stddef.h>

#include "manifest.h"

/* Node i of m, canonical: a new NUL-terminated buffer of *len bytes (a
 * manifest holds no NUL byte, so neither does this). */
char *nodedef_canon(const struct manifest *m, size_t i, size_t *len);

/* Compare the nodes of an earlier manifest a with those of b, by id:
 * changed[i] (for node i of b) is true when its canonical form or the ids
 * of its needs differ from a's node of that id, or a has no such node.
 * *only_a and *only_b (new, or NULL when there is none) list the ids found
 * in one manifest only, quoted and comma-separated. Returns how many ids
 * are in one manifest only. */
size_t nodedef_diff(const struct manifest *a, const struct manifest *b,
    bool *changed, char **only_a, char **only_b);

#endif
