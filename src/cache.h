/* The content-addressed node cache (interface §8): keys (SHA-256 over what
 * a node's result depends on), entries (what a success left: declared
 * outputs, $DAGEXEC_OUTPUT values, metrics), lookup, store, restore and
 * gc. It knows nothing of jobs or processes: the caller says what goes
 * into a key and what an entry holds.
 *
 * Store layout: DIR/XX/KEY/ for the entry whose key (64 hex digits) starts
 * with XX, holding `meta` (text: the entry's fields, a listing of its
 * outputs with each file's size and SHA-256, and a SHA-256 of all that) and
 * `outputs/` (the declared outputs under their names); DIR/tmp/ holds
 * entries being written, renamed into place when complete. */
#ifndef DAGEXEC_CACHE_H
#define DAGEXEC_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest.h"

#define CACHE_KEY_LEN	64		/* hex digits of a key */

/* ---- keys ---------------------------------------------------------------- */

struct cache_hash;

/* A key being computed (never NULL: allocation failure dies). */
struct cache_hash *cache_hash_new(void);
/* Add field name with len bytes of v, framed as "NAME LEN:BYTES\n" so that
 * no value can pass for another field. */
void cache_hash_add(struct cache_hash *h, const char *name, const void *v,
    size_t len);
/* Add a string field; NULL (unset) is framed apart from "". */
void cache_hash_str(struct cache_hash *h, const char *name, const char *v);
/* Add the content of rel beneath the directory dirfd: a file's bytes, or
 * a directory's tree (names sorted, symbolic links inside it skipped).
 * follow: rel itself may be a symbolic link. A missing rel is added as
 * missing (*missing true). 0, or -1 with *cause when it cannot be read. */
int cache_hash_path(struct cache_hash *h, const char *name, int dirfd,
    const char *rel, bool follow, bool *missing, char **cause);
/* Add the content of every path that glob pattern pat matches beneath the
 * directory dir (absolute; open as dirfd), sorted; *nmatch their count
 * (none adds an empty match). 0, or -1 with *cause. */
int cache_hash_glob(struct cache_hash *h, const char *dir, int dirfd,
    const char *pat, size_t *nmatch, char **cause);
/* The key in hex (CACHE_KEY_LEN digits and a NUL); frees h. 0, or -1 with
 * *cause when the digest failed. */
int cache_hash_final(struct cache_hash *h, char key[CACHE_KEY_LEN + 1],
    char **cause);
/* Free a key not finished; NULL is fine. */
void cache_hash_free(struct cache_hash *h);

/* What a node's key is made of, besides its definition in the manifest. */
struct cache_keyin {
	const struct manifest	*m;
	size_t			 node;
	const char		*workdir;	/* absolute: where inputs are */
	int			 workdir_fd;
	int			 outputs_fd;	/* the job's outputs/: each need's
						   declared outputs in NEED/ */
	const struct kv *const	*need_values;	/* per need of the node (in
						   its needs order): the
						   $DAGEXEC_OUTPUT values it
						   passes on */
	const size_t		*nneed_values;
	char *const		*env;		/* the caller's environment,
						   NAME=VALUE, NULL-ended */
};

/* The key of node in->node: its id and canonical definition (nodedef),
 * the values its needs pass on, the content of its needs' declared
 * outputs, the caller's variables its cache.env names and the content of
 * its cache.inputs. Nothing of the job (id, attempt, work directory). 0,
 * or -1 with *cause when an input cannot be read. *warn (new, or NULL)
 * says which inputs matched nothing, "; "-separated. (cachekey.c) */
int cache_node_key(const struct cache_keyin *in, char key[CACHE_KEY_LEN + 1],
    char **warn, char **cause);

/* ---- entries --------------------------------------------------------------- */

/* One entry, read back and verified. */
struct cache_entry {
	char		 key[CACHE_KEY_LEN + 1];
	char		*dir;		/* its directory */
	char		*node;		/* the node, DAG and job that stored */
	char		*dag;
	char		*job;
	int64_t		 created_ms;	/* wall clock */
	int64_t		 used_ms;	/* last hit (wall clock) */
	int64_t		 duration_ms;	/* what the node took */
	int64_t		 size;		/* bytes of its outputs */
	struct kv	*values;	/* $DAGEXEC_OUTPUT */
	size_t		 nvalues;
	struct kv	*metrics;	/* NAME -> number, as the node wrote */
	size_t		 nmetrics;
	char		**outputs;	/* the declared outputs it holds */
	size_t		 noutputs;
	bool		 ok;		/* cache_scan: meta verified */
	int		 fd;		/* cache_lookup: its directory, open
					   (the one verified); else -1 */
};

/* Which directory an entry was, to tell it from one stored in its place
 * later; both zero for none. */
struct cache_id {
	uint64_t	 dev;
	uint64_t	 ino;
};

/* What a success stores. */
struct cache_put {
	const char		*key;
	const char		*node;
	const char		*dag;
	const char		*job;
	int64_t			 created_ms;
	int64_t			 duration_ms;
	const struct kv		*values;
	size_t			 nvalues;
	const struct kv		*metrics;
	size_t			 nmetrics;
	char *const		*outputs;	/* declared outputs, */
	size_t			 noutputs;
	int			 outputs_fd;	/* found beneath this directory
						   (-1 when there are none) */
	struct cache_id		 refused;	/* the entry of the key this
						   run looked at and did not
						   use, replaced by this one;
						   any other whole entry of
						   the key is kept instead */
};

/* The cache directory: dir when not NULL, else $DAGEXEC_CACHE, else
 * $XDG_CACHE_HOME/dagexec, else $HOME/.cache/dagexec. A new string, or
 * NULL with *cause when none can be found. */
char *cache_dir_default(const char *dir, char **cause);
/* Look key up in the store dir: 1 and a verified entry in *out (marked
 * used), 0 when there is none, or -1 with *cause when there is one that
 * cannot be read or fails its checksums (a miss, never a wrong hit). *seen
 * (when not NULL) says which entry was looked at, if any. */
int cache_lookup(const char *dir, const char *key, struct cache_entry **out,
    struct cache_id *seen, char **cause);
/* Which entry of key the store dir holds now, if any. */
void cache_id_of(const char *dir, const char *key, struct cache_id *id);
/* The directory of e's outputs, open (O_DIRECTORY), or -1 with *cause. */
int cache_entry_outputs(const struct cache_entry *e, char **cause);
/* Free an entry; NULL is fine. */
void cache_entry_free(struct cache_entry *e);
/* Store p in dir, atomically: written under DIR/tmp/, every file synced,
 * renamed into place (over an older entry of the key). A declared output
 * that is missing refuses the entry: only what was produced is stored.
 * 0; 1 when another run stored the key, whole, since p's attempt began
 * (p->created_ms - p->duration_ms): that entry stays, p's is dropped; or
 * -1 with *cause. */
int cache_store(const char *dir, const struct cache_put *p, char **cause);

/* ---- the store as a whole (dagexec cache) --------------------------------- */

/* Every entry of dir, in *out (*n of them, free with cache_entries_free),
 * by last use, oldest first; an entry whose meta fails its checksum (with
 * verify, or whose outputs fail theirs) has ok false. 0, or -1 with
 * *cause. */
int cache_scan(const char *dir, bool verify, struct cache_entry ***out,
    size_t *n, char **cause);
void cache_entries_free(struct cache_entry **v, size_t n);
/* Remove the entries of dir that are unreadable or damaged (outputs read
 * back), unused for older_ms
 * (< 0: no bound), and then the least recently used ones until the rest
 * hold at most max_size bytes (< 0: no bound); and leftovers in tmp/ older
 * than an hour (all of them with everything). *nremoved and *freed say
 * what went. 0, or -1 with *cause. */
int cache_gc(const char *dir, int64_t older_ms, int64_t max_size,
    bool everything, int64_t now_ms, size_t *nremoved, int64_t *freed,
    char **cause);

#endif
