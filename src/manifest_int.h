/* The manifest parser's own parts, shared by manifest.c (the top level and
 * the graph), manifest_tree.c (the YAML tree and the readers of its values)
 * and manifest_node.c (one node's keys and the defaults).  Nothing outside
 * the parser includes this. */
#ifndef DAGEXEC_MANIFEST_INT_H
#define DAGEXEC_MANIFEST_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest.h"

#define MANIFEST_MAX_ERRORS	1000	/* stop reporting after this many */
#define MANIFEST_ALIAS_VISITS	1000000	/* nodes walked through aliases */
#define MANIFEST_MAX_MESSAGE	400	/* bytes of one message */
#define MANIFEST_DEFAULT_COPIES	2000000	/* values copied from defaults */
#define MANIFEST_CYCLE_SHOW	20	/* ids of a cycle named; a longer
					   one shows its first and last
					   halves of these */

/* The classes a node may retry on (retry_on). */
#define RETRYABLE_MASK ((1u << REASON_EXIT) | (1u << REASON_SIGNAL) | \
	(1u << REASON_TIMEOUT) | (1u << REASON_RLIMIT_CPU) | \
	(1u << REASON_RLIMIT_FSIZE) | (1u << REASON_SPAWN_ERROR) | \
	(1u << REASON_OUTPUT_MISSING) | (1u << REASON_HTTP_STATUS) | \
	(1u << REASON_CHECKSUM) | (1u << REASON_LOST) | \
	(1u << REASON_OOM))
#define RETRY_ON_DEFAULT (RETRYABLE_MASK & ~(1u << REASON_SPAWN_ERROR))

/* A small YAML tree with positions, built from libyaml events in an arena.
 * Aliases point at their anchor's node (shared, never copied). */
enum ytype { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
	int		 line;
	int		 col;
	uint32_t	 n;		/* scalar length; kids (map: 2 a pair);
					   the text is at most 1 GiB */
	unsigned char	 type;
	unsigned char	 plain;		/* plain scalar (not quoted, no tag) */
	union {
		char		*s;	/* NUL-terminated copy */
		struct ynode	**kids;
	} u;
};

#define ACHUNK_SIZE	(256u << 10)	/* an arena's chunk, header included,
					   unless one value needs more */

struct achunk {
	struct achunk	*next;
	size_t		 used;
	size_t		 size;		/* of data */
	bool		 mapped;	/* mmap'd, else malloc'd */
	char		 data[] __attribute__((aligned(8)));
};

struct arena {
	struct achunk	*head;
};

/* A need on one instance of a foreach node ("NODE[LABEL]"), resolved once
 * the instances are made. */
struct ineed {
	size_t		 node;		/* the node that needs it */
	size_t		 base;		/* NODE */
	char		*label;		/* LABEL */
	int		 line;
	int		 col;
};

struct ctx {
	const char	*file;
	struct diags	*d;
	size_t		 nerr;
	bool		 stop;		/* too many errors, or a blown bound */
	struct manifest	*m;
	struct arena	 arena;
	size_t		 ntree;		/* nodes in the tree */
	size_t		 visits;	/* kids walked */
	size_t		 maxvisits;
	size_t		 copies;	/* values copied from defaults */
	size_t		 merged;	/* pairs added by merge keys */
	struct strmap	*pools;		/* pool name -> index */
	size_t		*mark;		/* per node: last node + 1 needing it */
	size_t		*pairidx;	/* per pair of `nodes`: its node, or
					   SIZE_MAX */
	size_t		 suggested;	/* node ids compared for suggestions */
	struct ineed	*ineeds;	/* needs on one instance */
	size_t		 nineeds;
	size_t		 ineedcap;
};

struct mapit {
	const struct ynode	*map;
	size_t			 i;
	struct strmap		*seen;
};

/* The keys of a recurring manifest: cron, timezone, overlap, catch_up,
 * each with its key node and value, or NULL (manifest_cron.c). */
enum { CRONK_CRON, CRONK_TIMEZONE, CRONK_OVERLAP, CRONK_CATCH_UP, CRONK__N };
void parse_cron_keys(struct ctx *c, struct ynode *const *keys,
    struct ynode *const *vals);
/* Whether the value of `schedule` looks like a cron expression (a user of
 * Dagu writes one there): then the error says where it goes. */
bool cron_misplaced(struct ctx *c, const struct ynode *v);

/* errors */
void err_add(struct ctx *c, int line, int col, const char *msg);
void ctx_err(struct ctx *c, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void yerr(struct ctx *c, const struct ynode *y, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool charge(struct ctx *c, const struct ynode *y, size_t n);
void text_position(const char *text, size_t len, size_t off, int *line, int *col);

/* the tree */
struct ynode *yaml_build(struct ctx *c, const char *text, size_t len);
void arena_free(struct arena *a);

/* scalars and values */
bool is_null(const struct ynode *y);
bool is_bool(const struct ynode *y, bool *b);
bool is_numlike(const struct ynode *y);
const char *ydesc(const struct ynode *y);
int get_str(struct ctx *c, const char *key, const struct ynode *v,
    const char **out);
int get_nestr(struct ctx *c, const char *key, const struct ynode *v, char **out);
int get_int(struct ctx *c, const char *key, const struct ynode *v, int64_t lo,
    int64_t hi, int64_t *out);
int get_intv(struct ctx *c, const char *key, const struct ynode *v, int lo,
    int hi, int *out);
int get_bool(struct ctx *c, const char *key, const struct ynode *v, bool *out);
int get_duration(struct ctx *c, const char *key, const struct ynode *v,
    int64_t *out);
int get_size(struct ctx *c, const char *key, const struct ynode *v, int64_t lo,
    int64_t *out);
int get_enum(struct ctx *c, const char *key, const struct ynode *v,
    const char *const *names, int *out);

/* names and keys */
bool valid_id(const char *s, size_t n);
bool valid_envname(const char *s);
bool valid_budgetname(const char *s);
const char *suggest(const char *s, const char *const *cand, size_t n);
/* The node id of c's manifest closest to s, when close enough, or NULL;
 * node skip (the one asking) is never offered. */
const char *suggest_node(struct ctx *c, const char *s, size_t skip);
void unknown_key(struct ctx *c, const struct ynode *k, const char *what,
    const char *const *cand, size_t n);
int key_index(const char *s, const char *const *names);
size_t count_names(const char *const *names);

/* maps and sequences */
void mapit_init(struct mapit *it, const struct ynode *map);
void mapit_release(struct mapit *it);
bool map_next(struct ctx *c, struct mapit *it, struct ynode **k, struct ynode **v);
int want_map(struct ctx *c, const char *key, const struct ynode *v);
int want_seq(struct ctx *c, const char *key, const struct ynode *v);

/* paths, urls, lists, environments */
bool check_relpath(struct ctx *c, const char *key, const struct ynode *v,
    const char *s);
bool check_url(struct ctx *c, const char *key, const struct ynode *v,
    const char *s);
bool url_is_loopback(const char *url);
void strv_free(char **v, size_t n);
int get_strlist(struct ctx *c, const char *key, const struct ynode *v,
    bool single, bool relpath, bool nonempty, char ***vp, size_t *np);
void kvlist_free(struct kvlist *l);
int get_env(struct ctx *c, const char *key, const struct ynode *v,
    struct kvlist *l);

/* nodes (manifest_node.c) */
extern const char *const node_keys[];
extern const char *const top_keys[];	/* manifest.c */
void node_init(struct node *n);
void parse_node_keys(struct ctx *c, const struct ynode *map, struct node *n,
    size_t self, uint32_t *set);
void merge_defaults(struct ctx *c, struct node *n, uint32_t nset,
    const struct node *d, uint32_t dset);
/* secrets: NAME -> FILE (absolute, or ~/ under the owner's home). */
void parse_secrets(struct ctx *c, const struct ynode *v, struct kvlist *l);
/* After defaults: the manifest's secrets merged into node n, and the
 * checks that need all of a node's keys (secrets on Slurm, a name in both
 * env and secrets). */
void node_finish(struct ctx *c, struct node *n);

/* budgets (manifest.c) */
void parse_budget_map(struct ctx *c, const char *key, const struct ynode *v,
    struct budget_item **items, size_t *n);
void budget_free(struct budget_item *items, size_t n);
void check_node_merged(struct ctx *c, const struct node *n, uint32_t set);
/* manifest_names_each for the tables of manifest_node.c. */
void manifest_node_names_each(void (*fn)(void *, const char *,
    const char *), void *arg);
/* fn(arg, what, name) for each name of the NULL-terminated names. */
void names_each(void (*fn)(void *, const char *, const char *), void *arg,
    const char *what, const char *const *names);
/* Copy what src runs and how into dst (uninitialised): everything but its
 * id, needs, need_groups and foreach parts (dst gets none). Every pointer
 * a node owns is copied here: a key added to struct node that owns memory
 * must be copied here too. */
void node_copy(struct node *dst, const struct node *src);

/* http: (manifest_http.c) */
void parse_http(struct ctx *c, const struct ynode *v, struct node *n);
struct http_spec *node_http_copy(const struct http_spec *h);
void node_http_free(struct http_spec *h);
/* manifest_names_each for the http: keys and methods. */
void http_names_each(void (*fn)(void *, const char *, const char *),
    void *arg);
char *str_copy(const char *s);		/* NULL stays NULL */

/* foreach (manifest_foreach.c) */
void parse_foreach(struct ctx *c, const struct ynode *k,
    const struct ynode *v, struct node *n, size_t self);
/* A need named s that is no node id: true when it names an instance
 * (NODE[LABEL] of a known NODE), recorded for foreach_expand. */
bool foreach_need(struct ctx *c, const struct ynode *it, const char *s,
    size_t self);
/* Make the instances of every foreach with lists, resolve needs on
 * foreach nodes and their instances, and make the ids again. */
void foreach_expand(struct ctx *c);
void foreach_spec_free(struct foreach_spec *f);
/* manifest_names_each for the keys of a dynamic foreach. */
void foreach_names_each(void (*fn)(void *, const char *, const char *),
    void *arg);
/* The ids and the graph of m made again from its nodes; -1 on a cycle
 * (manifest_keep.c). */
int manifest_reindex(struct manifest *m);
#endif
