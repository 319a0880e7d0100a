/* state.yaml (interface §6): written directly and replaced atomically, and
 * read back with libyaml. */
#ifndef DAGEXEC_STATE_H
#define DAGEXEC_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "run.h"

/* A node's cache hit, for the state. */
struct state_cached {
	bool		 hit;		/* cached: true */
	struct metric	*saved;		/* what its entry had cost */
	size_t		 nsaved;
};

struct state_job {
	const char	*job;		/* job id */
	enum dag_status	 status;
	int64_t		 mono_base_ms;	/* a monotonic time t maps to the wall */
	int64_t		 wall_base_ms;	/*   clock as wall_base + (t - mono_base) */
	int64_t		 started_ms;	/* monotonic; -1: not started */
	int64_t		 finished_ms;	/* monotonic; -1: not finished */
	const char	*notify_status;	/* "sent", "failed"; NULL: no
					   notification was attempted */
	const char	*notify_error;	/* with "failed", or NULL */
	const char *const *slurm_jobs;	/* per node: the Slurm job id of its
					   last attempt, or NULL; may be NULL */
	const char *const *reused_from;	/* per node: the earlier job whose
					   success it reuses (retry), or NULL;
					   may be NULL */
	const struct state_cached *cached;	/* per node, or NULL */
	const struct metric *saved;	/* the DAG's sums of the hits' */
	size_t		 nsaved;
	const unsigned char *sandbox;	/* per node: the weakest enum
					   sandbox_level of its attempts
					   (SANDBOX_UNSET: none ran with one),
					   or NULL */
	const char	*containment;	/* "cgroup", "cgroup-nolimits",
					   "rlimits"; NULL: not shown */
};

/* The incremental writer of a job's state.yaml: what it needs to render
 * only what changed since the file it wrote last (which it keeps open and
 * copies the rest from). Owned by the loop's thread. */
struct state_inc;

struct state_inc *state_inc_new(void);
void state_inc_free(struct state_inc *si);
/* Node i's entry must be rendered again: its record, or what sj says of it
 * (slurm_jobs, reused_from, cached), changed. */
void state_inc_touch(struct state_inc *si, size_t i);
/* Write the state of these records (as state_render) into fd, a new empty
 * file opened for reading and writing: the entries touched since the last
 * call rendered, the rest copied from the file of the last call (all
 * rendered the first time, after a failure, when nodes or waves went, and
 * when sj's clock bases changed). Nodes added to m since (m->shape moved:
 * a dynamic foreach expanded) are rendered with the entries and wave lines
 * they change; the others are still copied. si then keeps a descriptor of
 * fd's file for the next call. 0, or -1 with errno. */
int state_inc_write(struct state_inc *si, int fd, const struct manifest *m,
    const struct node_run *const *runs, const struct metric *metrics,
    size_t nmetrics, const struct state_job *sj);
/* Bytes of the file the last state_inc_write wrote (0: none). */
size_t state_inc_size(const struct state_inc *si);
/* The YAML text of the state of m: runs[i] is node i's record (runs or
 * runs[i] may be NULL: pending), metrics the DAG's sums, sj the job's own
 * fields. A new NUL-terminated buffer; *len its length. The same text as
 * state_inc_write. */
char *state_render(const struct manifest *m,
    const struct node_run *const *runs, const struct metric *metrics,
    size_t nmetrics, const struct state_job *sj, size_t *len);
/* state_render, then fs_write_atomic into path (mode 0644). */
int state_write(const char *path, const struct manifest *m,
    const struct node_run *const *runs, const struct metric *metrics,
    size_t nmetrics, const struct state_job *sj, char **cause);
struct strbuf;
/* s as a YAML scalar, the way the state writer writes one: plain where
 * libyaml reads it back as the same string (in a flow collection when
 * flow), else double-quoted; NULL as null. */
void state_scalar(struct strbuf *o, const char *s, int flow);
/* Format wall ms as "2026-11-28T10:15:00.120Z" into buf (at least 32). */
char *state_format_time(int64_t wall_ms, char *buf, size_t len);

/* One node of a state.yaml read back. */
struct state_doc_node {
	char		*id;
	char		*status;	/* "pending", "running", ... */
	int		 attempts;
	int64_t		 duration_ms;	/* -1: null */
	char		*reason;	/* NULL: null */
	char		*error;		/* NULL: null */
	char		*stderr_tail;	/* its last lines of stderr, '\n'
					   between them, or NULL */
	char		*reused_from;	/* NULL: absent (it ran here) */
	bool		 cached;	/* a cache hit */
	struct metric	*saved;		/* a hit's metrics, not added */
	size_t		 nsaved;
	char		*sandbox;	/* "enforced", "partial", "none";
					   NULL: absent (no attempt with a
					   sandbox) */
};

/* A state.yaml read back (for `dagexec status`). */
struct state_doc {
	char			*dag;
	char			*job;
	char			*status;	/* "queued", "running", ... */
	char			*started_at;	/* NULL: null */
	char			*finished_at;	/* NULL: null */
	int64_t			 duration_ms;	/* -1: null */
	size_t			 total, pending, running, succeeded, failed,
				 skipped;
	struct state_doc_node	*nodes;		/* in file order */
	size_t			 nnodes;
	struct metric		*saved;		/* the hits' sums, file order */
	size_t			 nsaved;
};

/* Read and check the state.yaml at path (at most 1 GiB). Returns 0 and a new
 * document in *out, or -1 with errno and *cause "PATH: ...". */
int state_read(const char *path, struct state_doc **out, char **cause);
/* The same over a buffer; name is used in messages. */
int state_read_buf(const char *name, const char *buf, size_t len,
    struct state_doc **out, char **cause);
/* Free a document and everything it holds; NULL is fine. */
void state_doc_free(struct state_doc *d);

#endif
