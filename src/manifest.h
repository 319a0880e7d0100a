/* A DAG manifest (interface.md §2): YAML text -> struct manifest, with every
 * rule checked and every error reported with its line and column. */
#ifndef DAGEXEC_MANIFEST_H
#define DAGEXEC_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "graph.h"
#include "run.h"

struct strmap;

#define MANIFEST_MAX_BYTES	(16u << 20)	/* default size bound */
#define MANIFEST_MAX_SIZE	(1u << 30)	/* the most --max-size takes */
#define MANIFEST_MAX_DEPTH	64		/* nesting of mappings/sequences */
#define MANIFEST_MAX_ALIASES	100		/* alias nodes in one document */
#define MANIFEST_MAX_NODES	1000000
#define MANIFEST_ID_MAX		64
#define MANIFEST_INSTANCES_MAX	10000		/* instances of one foreach */
#define MANIFEST_INSTANCE_ID_MAX 200		/* bytes of NODE[...] */
#define MANIFEST_MAX_EDGES	10000000	/* needs, once foreach expanded */


enum node_kind { NODE_RUN, NODE_ARGV, NODE_HTTP };
enum backoff { BACKOFF_EXPONENTIAL, BACKOFF_FIXED };
enum when { WHEN_SUCCESS, WHEN_ALWAYS, WHEN_FAILURE };
enum on_failure { ONFAIL_CONTINUE, ONFAIL_STOP, ONFAIL_ABORT };
enum schedule { SCHEDULE_CRITICAL_PATH, SCHEDULE_WAVES };
enum executor { EXECUTOR_LOCAL, EXECUTOR_SLURM };

enum limit_kind {
	LIMIT_CPU,		/* seconds (RLIMIT_CPU), stored in ms */
	LIMIT_MEMORY,		/* bytes (RLIMIT_AS) */
	LIMIT_FSIZE,		/* bytes */
	LIMIT_NOFILE,
	LIMIT_NPROC,
	LIMIT_CORE,		/* bytes; 0 unless set */
	LIMIT_PIDS,		/* processes (cgroup pids.max) */
	LIMIT_CPUS,		/* CPUs in thousandths (cgroup cpu.max) */
	LIMIT_BEST_EFFORT,	/* not a limit: 1 when a limit the host
				   cannot enforce is dropped, not failed */
	LIMIT__COUNT
};

struct kv {
	char	*key;
	char	*value;
};

struct kvlist {
	struct kv	*v;
	size_t		 n;
};

struct mpos {
	int	line;
	int	col;
};

struct http_spec {
	char		*url;
	char		*method;		/* upper case; default "GET" */
	struct kvlist	 headers;
	char		*body;			/* NULL when unset */
	char		*body_file;		/* NULL when unset */
	char		*save;			/* NULL when unset */
	char		*sha256;		/* 64 lower-case hex or NULL */
	int		*expect;		/* statuses; NULL: any 2xx */
	size_t		 nexpect;
	bool		 follow_redirects;	/* default true */
	int64_t		 max_bytes;		/* default 1G */
	bool		 insecure;		/* default false */
};

struct slurm_spec {
	char		*partition;
	char		*account;
	char		*qos;
	int		 cpus;			/* 0: unset */
	int64_t		 mem;			/* bytes; 0: unset */
	int64_t		 time_ms;		/* 0: unset */
	char		*gres;
	char		**extra;
	size_t		 nextra;
};

/* What the cache keys a node on, and for how long an entry holds
 * (interface §8). */
struct cache_spec {
	bool		 enabled;		/* default false */
	char		**inputs;		/* globs relative to the work
						   directory, as written */
	size_t		 ninputs;
	char		**env;			/* the caller's variables */
	size_t		 nenv;
	int64_t		 max_age_ms;		/* 0: no bound */
};

/* An exit status range of retry_on ("exit:75", "exit:100-113"). */
struct exit_range {
	int	lo;
	int	hi;
};

struct budget_item;

/* A node's Landlock sandbox (interface §10): the strict profile and what
 * the node lists besides. */
struct sandbox_spec {
	char		**read;			/* absolute paths: read and
						   execute */
	size_t		 nread;
	char		**write;		/* absolute paths: read, write
						   and execute */
	size_t		 nwrite;
	int		*connect;		/* TCP ports it may connect to */
	size_t		 nconnect;
	int		*bind;			/* TCP ports it may bind */
	size_t		 nbind;
	bool		 best_effort;		/* default false */
};

/* foreach (interface §9): the lists of a crossed map, or one list (key
 * NULL), as written; or, for a dynamic foreach, the need and the value
 * whose lines are its items. */
struct foreach_spec {
	struct mpos	 pos;			/* of the foreach key */
	char		**keys;			/* nkeys; NULL entry: a list */
	char		***vals;		/* vals[k][0 .. nvals[k]-1] */
	size_t		*nvals;
	size_t		 nkeys;
	size_t		 from;			/* dynamic: a node index, else
						   SIZE_MAX */
	char		*key;			/* dynamic: the value's key */
	struct mpos	 from_pos;
	struct mpos	 key_pos;
};

/* What a node has only when it uses foreach, retry_on's exit codes,
 * secrets or a budget: behind one pointer, so that a node of a large DAG
 * without them pays 8 bytes, not these 120. */
struct node_extra {
	/* foreach: an instance has group (the id as written) and inst (its
	 * 1-based place among the instances) and its item (one entry with a
	 * NULL key for a list, else one a key of the crossed map); a dynamic
	 * foreach not yet expanded has group and foreach, and inst 0 */
	char		*group;
	size_t		 inst;
	struct kvlist	 item;
	struct foreach_spec *foreach;
	char		**need_groups;		/* foreach nodes needed whole
						   (`needs: [NODE]`): their
						   values reach this one
						   joined, a line an instance */
	size_t		 nneed_groups;
	char		*item_from;		/* an instance of a dynamic
						   foreach: the node and the */
	char		*item_key;		/*   value its item is a line
						   of */
	struct exit_range *retry_exits;		/* retry_on "exit:N[-M]": these
						   exit statuses are retried
						   even when 'exit' is not */
	size_t		 nretry_exits;
	struct kvlist	 secrets;		/* NAME -> file, the manifest's
						   own merged in (the node's
						   win) */
	struct budget_item *budget;		/* caps on this node's metric
						   sums (over its attempts) */
	size_t		 nbudget;
};

/* A node's limits (its `limits:` with the defaults'), one record shared
 * by the nodes that have the same (the defaults', an instance's
 * template's): written only through node_limit_put. */
struct node_limits {
	int64_t		 v[LIMIT__COUNT];	/* valid where set bit */
	unsigned	 set;			/* 1u << enum limit_kind */
	unsigned	 refs;			/* nodes that point to it */
};

struct node {
	/* 4-byte fields in pairs: no padding, a node of a large DAG
	 * costs its bytes */
	char		*id;
	struct mpos	 pos;			/* of the id key */
	enum node_kind	 kind;
	enum backoff	 backoff;		/* default exponential */
	char		*run;			/* NODE_RUN */
	char		**argv;			/* NODE_ARGV, NULL-terminated */
	size_t		 argc;
	struct http_spec *http;			/* NODE_HTTP */
	size_t		*needs;			/* indices into manifest.nodes */
	size_t		 nneeds;
	struct kvlist	 env;
	char		**outputs;		/* paths relative to the workdir */
	size_t		 noutputs;
	int		 retries;		/* default 0 */
	enum executor	 executor;
	int64_t		 retry_delay_ms;	/* default 1000 */
	int64_t		 max_retry_delay_ms;	/* default 300000 (5m) */
	int64_t		 timeout_ms;		/* 0: none */
	struct node_limits *limits;		/* NULL: none; read it with
						   node_limit */
	bool		 allow_failure;
	bool		 jitter;		/* full jitter on retry delays */
	int64_t		 log_limit;		/* bytes; default 10M */
	unsigned	 retry_on;		/* 1u << enum reason; default all
						   but spawn_error */
	enum when	 when;
	char		*pool;			/* NULL: none */
	int		 pool_index;		/* into manifest.pools, or -1 */
	int		 priority;		/* default 0 */
	int64_t		 estimate_ms;		/* -1: unset */
	struct slurm_spec *slurm;		/* NULL: no slurm: key; read
						   it with node_slurm */
	struct cache_spec *cache;		/* NULL: no cache: key; read
						   it with node_cache */
	struct sandbox_spec *sandbox;		/* NULL: none */
	struct node_extra *extra;		/* NULL: no foreach, retry
						   exit codes, secrets or
						   budget; read it with
						   node_extra */
};

/* A node's Slurm options and cache settings, the empty ones when it has
 * none (a node of a large DAG pays a pointer for each, not the struct):
 * never NULL. */
const struct slurm_spec *node_slurm(const struct node *n);
const struct cache_spec *node_cache(const struct node *n);

/* Whether node n sets limit k, and its value (0 where it does not). */
bool node_limit_set(const struct node *n, enum limit_kind k);
int64_t node_limit(const struct node *n, enum limit_kind k);
/* Set limit k of n to v, n's record made its own first. */
void node_limit_put(struct node *n, enum limit_kind k, int64_t v);

/* A node's foreach, retry exit codes, secrets and budget: the empty ones
 * when it has none (never NULL). node_extra_own gives the node its own
 * record first when it has none, to be written. */
const struct node_extra *node_extra(const struct node *n);
struct node_extra *node_extra_own(struct node *n);

struct budget_item {
	char	*name;
	double	 limit;
};

struct pool {
	char	*name;
	int	 cap;
};

#define NOTIFY_ON_SUCCESS	0x1u
#define NOTIFY_ON_FAILURE	0x2u

/* What overlaps under a recurring manifest's `overlap:`. */
enum overlap {
	OVERLAP_SKIP,		/* a firing while the last one runs: none */
	OVERLAP_QUEUE,		/* ... waits for it; at most one waits */
	OVERLAP_ALL		/* every firing runs */
};

/* A recurring manifest's keys (SPOOL/schedules/; elsewhere they are
 * checked and otherwise ignored). */
struct cron_spec {
	char		*expr;			/* canonical (cron_canonical) */
	char		*timezone;		/* NULL: the system's */
	enum overlap	 overlap;		/* default skip */
	int64_t		 catch_up_ms;		/* 0: missed firings are not
						   run */
};

struct notify_spec {
	char		*url;
	unsigned	 on;			/* NOTIFY_ON_*; default both */
	bool		 insecure;
};

struct manifest {
	char			*name;
	int			 max_parallel;	/* 0: number of CPUs */
	enum schedule		 schedule;
	enum on_failure		 on_failure;
	int64_t			 deadline_ms;	/* 0: none */
	struct budget_item	*budget;
	size_t			 nbudget;
	struct kvlist		 env;
	char			*workdir;	/* absolute, or NULL */
	struct pool		*pools;
	size_t			 npools;
	struct notify_spec	*notify;	/* NULL: none */
	struct cron_spec	*cron;		/* NULL: none */
	struct node		*nodes;		/* in manifest order */
	size_t			 nnodes;
	struct graph		 graph;		/* analysed: topo, waves,
						   blevels (weights: estimate
						   in ms, 1000 where unset) */
	struct strmap		*ids;		/* node id -> index */
	size_t			*order;		/* the nodes in the order a
						   person reads them (k ->
						   index), the instances of a
						   dynamic foreach together in
						   its place; NULL: index
						   order */
	size_t			*rank;		/* its inverse (index -> k) */
	struct kvlist		 secrets;	/* top level: NAME -> file (also
						   merged into every node's) */
	unsigned		 shape;		/* bumped whenever the nodes,
						   their ids or the graph are
						   made again (a dynamic
						   foreach expanded): what
						   keeps per-node state fits
						   it again */
};

/* The node shown k-th (see manifest.order). */
#define MANIFEST_AT(m, k)	((m)->order != NULL ? (m)->order[k] : (k))
/* Where node i is shown. */
#define MANIFEST_RANK(m, i)	((m)->rank != NULL ? (m)->rank[i] : (i))

/* Parse and validate len bytes of YAML. file names the input in messages.
 * Returns 0 and a new manifest in *mp; or 1 with *mp NULL and every error,
 * sorted by position, appended to d. Never prints. The text need not be
 * NUL-terminated; NUL bytes inside are an error. */
int manifest_parse(const char *file, const char *text, size_t len,
    struct manifest **mp, struct diags *d);
/* manifest_parse with a size bound of max bytes instead of
 * MANIFEST_MAX_BYTES (at most MANIFEST_MAX_SIZE). */
int manifest_parse_max(const char *file, const char *text, size_t len,
    size_t max, struct manifest **mp, struct diags *d);
/* manifest_load with a size bound of max bytes (at most
 * MANIFEST_MAX_SIZE). */
int manifest_load_max(const char *path, size_t max, struct manifest **mp,
    struct diags *d, char **cause);
/* Read path (at most MANIFEST_MAX_BYTES) and parse it. Returns 0 or 1 as
 * manifest_parse, or -1 with errno set and *cause a message when the file
 * cannot be read. "-" reads standard input. */
int manifest_load(const char *path, struct manifest **mp, struct diags *d,
    char **cause);
/* Free a manifest and everything it owns; NULL is fine. */
void manifest_free(struct manifest *m);
/* Index of the node with this id, or -1. O(1) average (hash table). */
long manifest_find(const struct manifest *m, const char *id);
/* Whether s is a valid node id ([A-Za-z0-9._-], 1 to MANIFEST_ID_MAX). */
bool manifest_id_ok(const char *s);
/* Free what node n owns (not n itself). */
void manifest_node_release(struct node *n);
/* Expand the dynamic foreach node t (its foreach set, not yet expanded) into
 * one instance a line of items (nitems >= 1, each a line without its
 * newline): the first instance takes t's place, the others are appended;
 * every node that needs t needs them all; ids and the graph are made
 * again (pointers into m->nodes do not survive). 0, or -1 with *cause
 * (too many items). (manifest_foreach.c) */
int manifest_expand(struct manifest *m, size_t t, const char *const *items,
    size_t nitems, char **cause);
/* The items of a dynamic foreach in value: its lines, empty ones left out.
 * *items (new) points into *buf, a new copy of value; free both. */
size_t manifest_items(const char *value, char **buf,
    const char ***items);
/* The instance label of the items of one key, as foreach ids show it: the
 * item where it is a valid id and unique among them, else its 1-based
 * place (labels[k] new; free each and the array). */
char **manifest_labels(const char *const *items, size_t n);
/* Mark in on[] the nodes a person names name: the node of that id, else
 * every instance of the foreach node name (or the node itself, a dynamic
 * foreach not yet expanded). False when there is none. */
bool manifest_named(const struct manifest *m, const char *name, bool *on);
/* Warnings about a valid manifest (a dynamic foreach over a value its need
 * does not seem to write), appended to d. */
void manifest_lint(const struct manifest *m, struct diags *d);
/* Keep only the nodes i with keep[i] (which must hold every need of a kept
 * node), in manifest order: the others are freed, needs renumbered, the ids
 * and the graph (topological order, waves, bottom levels) made again.
 * (manifest_keep.c) */
void manifest_keep(struct manifest *m, const bool *keep);
/* Every name the parser accepts, for the check that dagexec.yaml(5) lists
 * them all: fn(arg, what, name) once a name, where what is "key TABLE" for
 * the keys of a mapping (TABLE: top, node, http, slurm, cache, limits,
 * notify, ...) and "value KEY" for the values of a key (on_failure, when,
 * retry_on, ...). A table the parser reads keys from belongs here. */
void manifest_names_each(void (*fn)(void *arg, const char *what,
    const char *name), void *arg);

#endif
