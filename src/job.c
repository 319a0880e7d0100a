/* One DAG in flight: the scheduler's decisions carried out through the
 * executors (exec.h), with timers, the journal and the state file. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/fsuid.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bundle.h"
#include "errtail.h"
#include "exec.h"
#include "fsutil.h"
#include "job.h"
#include "job_int.h"
#include "journal.h"
#include "kvfile.h"
#include "log.h"
#include "render.h"
#include "slurm.h"
#include "spawn.h"
#include "state.h"
#include "strmap.h"
#include "units.h"
#include "worker.h"
#include "xmalloc.h"

#define SYNC_INTERVAL_MS	100	/* fdatasync of the journal at most
					   this long after a write */
#define SIDEFILE_MAX		(1u << 20)	/* $DAGEXEC_OUTPUT/METRICS */

/* At most this many skipped or cancelled nodes are logged one by one a
 * job; the rest are counted in one line at its end. */
#define LOG_BULK_MAX	20

static void	job_pump(struct job *);

char job_argv0[] = "dagexec";

/* ---- small helpers ------------------------------------------------------ */

void
job_log(struct job *j, enum log_level lvl, size_t node,
    const char *event, const char *fmt, ...)
{
	va_list ap;
	char *detail;

	if (j->progress != PROGRESS_LINES && lvl < LOG_WARN)
		return;
	va_start(ap, fmt);
	detail = xvasprintf(fmt, ap);
	va_end(ap);
	if (j->line_shown) {
		fputs("\r\033[K", stderr);
		j->line_shown = false;
	}
	log_event(lvl, j->id, node == SIZE_MAX ? NULL : j->m->nodes[node].id,
	    event, "%s", detail);
	free(detail);
}

char *
job_num(int64_t v)
{
	return xasprintf("%lld", (long long)v);
}

/* ---- environment -------------------------------------------------------- */
/* ---- side files: $DAGEXEC_OUTPUT and $DAGEXEC_METRICS ------------------- */

/* Parse KEY=VALUE lines. Returns 0, or -1 with *cause naming the bad line. */
int
job_parse_kv_file(const struct job *j, int dirfd, const char *path,
    const char *what, bool numeric, struct kv **out, size_t *nout,
    char **cause)
{
	char *buf, *c2 = NULL;
	size_t len;
	struct stat st;
	int fd, rc;

	*out = NULL;
	*nout = 0;
	/* the node made this file: no link followed, no FIFO waited on,
	 * nothing but a plain file (under the spool: of the job owner's,
	 * the user we run as) */
	fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		*cause = xasprintf("%s: cannot open: %s", what,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (j->spooled && st.st_uid != geteuid())) {
		close(fd);
		*cause = xasprintf("%s is not a plain file of the node's",
		    what);
		return -1;
	}
	rc = fs_read_fd(fd, what, SIDEFILE_MAX, &buf, &len, &c2);
	close(fd);
	if (rc != 0) {
		*cause = c2;
		return -1;
	}
	rc = kvfile_parse(buf, len, what, numeric, out, nout, cause);
	free(buf);
	/* read: the next attempt starts without it */
	(void)unlinkat(dirfd, path, 0);
	return rc;
}

/* ---- starting and ending attempts -------------------------------------- */

static void
fail_start(struct job *j, size_t i, const char *cause)
{
	struct attempt_end e;
	char *masked = job_mask(j, cause);

	memset(&e, 0, sizeof e);
	e.reason = REASON_SPAWN_ERROR;
	e.exit_code = -1;
	e.error = masked;
	job_log(j, LOG_WARN, i, "spawn-error", "%s", masked);
	sched_ended(j->s, i, loop_now(), &e);
	free(masked);
}

/* The executor of node i: an http node's request is made by a local child
 * (also under executor: slurm); a Slurm node's command runs on Slurm. */
static const struct exec_ops *
job_exec(const struct job *j, size_t i)
{
	const struct node *n = &j->m->nodes[i];

	if (n->kind == NODE_HTTP)
		return &exec_http;
	if (n->executor == EXECUTOR_SLURM)
		return &exec_slurm;
	return &exec_local;
}

/* Start attempt of node i; one that cannot start ends at once, as a spawn
 * error. */
static void
start_node(struct job *j, size_t i, int attempt)
{
	char *cause = NULL;

	if (job_exec(j, i)->start(j, i, attempt, &cause) != 0) {
		fail_start(j, i, cause);
		free(cause);
	}
}

/* Stop node i's attempt, if it runs (sig: SIGTERM, SIGKILL after a grace;
 * SIGKILL at once). */
static void
kill_node(struct job *j, size_t i, int sig)
{
	job_exec(j, i)->kill(j, i, sig);
}

struct nodeproc *
job_proc(struct job *j, size_t i)
{
	if (j->procs[i] == NULL)
		j->procs[i] = xcalloc(1, sizeof *j->procs[i]);
	return j->procs[i];
}

struct ending;
static void	ending_free(struct ending *);

/* What a record still owns (its attempt is over or the job is freed). */
static void
proc_free(struct nodeproc *np)
{
	free(np->out.error);
	free(np->err.error);
	/* a copy the worker did (worker_free waited) but whose end never
	 * ran */
	if (np->ending != NULL)
		ending_free(np->ending);
	meter_end(np);
	free(np->slurm_id);
	free(np->adopt_id);
	free(np->cg);
	free(np);
}

void
job_proc_drop(struct job *j, size_t i)
{
	struct nodeproc *np = j->procs[i];

	if (np == NULL || np->pid != 0 || np->slurm_live ||
	    np->ending != NULL || np->kill_timer != NULL ||
	    np->adopt_id != NULL || np->sbdir != NULL || np->cg != NULL)
		return;
	proc_free(np);
	j->procs[i] = NULL;
}

struct nodeproc *
job_proc_reset(struct job *j, size_t i, int attempt)
{
	struct nodeproc *np = job_proc(j, i);
	char *sbdir = np->sbdir;

	/* the directory of a sandboxed attempt is made before it starts */
	memset(np, 0, sizeof *np);
	np->sbdir = sbdir;
	np->job = j;
	np->node = i;
	np->attempt = attempt;
	return np;
}

/* What every child of the job gets: a private umask. (Under the spool the
 * job's supervisor already runs as the job's owner: so do its children.) */
void
job_spawn_ids(const struct job *j, struct spawn_spec *sp)
{
	(void)j;
	sp->umask = 077;
}

/* False when io/ holds nothing at all (then no node has a side file to
 * read); true when it holds something or cannot be listed. */
static bool
io_may_hold(struct job *j)
{
	struct dirent *de;
	char buf[4096] __attribute__((aligned(8)));
	ssize_t r;

	if (j->io_dir == NULL)
		return true;
	/* io/ was seen empty and nothing was made in it since (inotify):
	 * one read that fails with EAGAIN instead of a listing */
	if (j->io_ino >= 0 && !j->io_dirty) {
		r = read(j->io_ino, buf, sizeof buf);
		if (r == -1 && errno == EAGAIN)
			return false;
		j->io_dirty = true;
	}
	/* what is made from here on is seen at the next call */
	while (j->io_ino >= 0 && read(j->io_ino, buf, sizeof buf) > 0)
		;
	rewinddir(j->io_dir);
	errno = 0;
	while ((de = readdir(j->io_dir)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			return true;
	}
	if (errno != 0)
		return true;
	j->io_dirty = false;
	return false;
}


/*
 * What an attempt left, read at its end: its metrics and $DAGEXEC_OUTPUT
 * values, and its declared outputs, which are copied into outputs/NODE by
 * a thread of their own (a copy of gigabytes must not hold up the loop:
 * other nodes' timeouts, cancels and other jobs go on meanwhile).
 */
struct ending {
	struct nodeproc		*np;
	struct attempt_end	 e;
	char			*cause;		/* the attempt's error line */
	struct kv		*mv, *ov;	/* metrics, output values */
	size_t			 nm, no;
	struct metric		*metrics;
	/* the copy of the declared outputs */
	int			 workdir_fd;
	const char		*workdir_err;	/* why it is -1 */
	char *const		*outputs;	/* the node's declared outputs
					   (its array: a dynamic foreach
					   moves the nodes, not this) */
	size_t			 noutputs;
	char			*dest;		/* DIR/outputs/NODE */
	bool			 check_owner;	/* only plain files of the
						   owner's, with one link */
	struct bundle_owner	 owner;
	char			*copy_cause;	/* why the copy failed */
	struct cachestore	*store;		/* a success to store, or NULL */
	char			*tail;		/* its last lines of stderr */
};

static void	node_end_rest(struct ending *);

/*
 * The attempt's last lines of stderr go with its end. A `run:` line whose
 * shell exited 127 or 126 saying, on its last line, that it found no
 * command or could not execute it is a spawn_error, which retry_on leaves
 * out by default: the command is as missing on the next attempt. (A
 * command that itself exits 127 or 126 says nothing of the kind: exit.)
 */
static void
ending_stderr(struct ending *en, const struct node *n)
{
	const char *why;

	en->tail = en->np->err.tail;
	en->np->err.tail = NULL;
	en->e.stderr_tail = en->tail;
	if (n->kind == NODE_RUN && en->e.reason == REASON_EXIT &&
	    errtail_shell(en->e.exit_code, en->tail, &why) ==
	    REASON_SPAWN_ERROR) {
		en->e.reason = REASON_SPAWN_ERROR;
		if (en->cause == NULL)
			en->cause = xstrdup(why);
	}
}

static void
ending_free(struct ending *en)
{
	free(en->metrics);
	kvfile_free(en->mv, en->nm);
	kvfile_free(en->ov, en->no);
	free(en->cause);
	free(en->copy_cause);
	free(en->tail);
	free(en->dest);
	job_cache_store_free(en->store);
	free(en);
}

/* Copy the declared outputs (under the spool: only plain files of the
 * owner's, the user we run as, with one link). */
static void
ending_copy(struct ending *en)
{
	size_t k;

	if (en->workdir_fd < 0) {
		en->copy_cause = xstrdup(en->workdir_err != NULL ?
		    en->workdir_err : "no work directory");
		return;
	}
	for (k = 0; en->copy_cause == NULL && k < en->noutputs; k++)
		(void)bundle_collect_output(en->workdir_fd, en->outputs[k],
		    en->dest, en->check_owner ? &en->owner : NULL,
		    &en->copy_cause);
	/* stored once its outputs are in outputs/NODE and before its
	 * dependents start (they may change its inputs) */
	if (en->store != NULL && en->copy_cause == NULL)
		job_cache_store_run(en->store);
}

/* The copy is done: the attempt's end goes on, on the loop. */
static void
ending_done(void *arg)
{
	struct ending *en = arg;

	en->np->job->copying--;
	if (en->store != NULL)
		job_cache_store_done(en->store);
	if (en->copy_cause != NULL && en->e.reason == REASON_NONE) {
		en->e.reason = REASON_OUTPUT_MISSING;
		free(en->cause);
		en->cause = en->copy_cause;
		en->copy_cause = NULL;
	}
	node_end_rest(en);
}

static void
ending_work(void *arg)
{
	ending_copy(arg);
}

/* Copy np's declared outputs on the job's worker thread (made on first
 * use; without one, here), then end the attempt. */
static void
ending_copy_start(struct job *j, struct ending *en)
{
	const struct node *n = &j->m->nodes[en->np->node];
	char *c = NULL;

	en->workdir_fd = j->workdir_fd;
	en->workdir_err = j->workdir_err;
	en->outputs = n->outputs;
	en->noutputs = n->noutputs;
	en->dest = xasprintf("%s/outputs/%s", j->dir, n->id);
	/* on the loop, which owns the flag; when it fails, the copy's own
	 * mkdir says why */
	if (job_outputs_dir(j, &c) != 0)
		free(c);
	en->check_owner = j->spooled;
	en->owner.uid = geteuid();
	en->owner.gid = getegid();
	if (j->copier == NULL)
		j->copier = worker_new(j->loop);
	en->np->ending = en;
	j->copying++;
	worker_run(j->copier, ending_work, ending_done, en);
}

/* The attempt of np ended as e says (cause: an error line, taken, or
 * NULL): read what it left, journal its end, tell the scheduler. */
void
job_attempt_ended(struct nodeproc *np, struct attempt_end *ep, char *cause)
{
	struct job *j = np->job;
	size_t i = np->node, k;
	const struct node *n = &j->m->nodes[i];
	const struct exec_ops *ex;
	struct ending *en;
	char *path, *c2 = NULL;
	int iofd;
	bool side;

	np->pid = 0;
	np->slurm_live = false;
	meter_end(np);
	if (np->kill_timer != NULL) {
		loop_timer_cancel(j->loop, np->kill_timer);
		np->kill_timer = NULL;
	}
	j->running--;
	if (j->slots != NULL)
		(*j->slots)--;
	en = xcalloc(1, sizeof *en);
	en->np = np;
	en->e = *ep;
	en->cause = cause;
	/* a log that could not be kept fails the attempt */
	sink_take_error(&np->out, &en->e, &en->cause);
	sink_take_error(&np->err, &en->e, &en->cause);
	ending_stderr(en, n);

	/* most nodes leave no side file: one look at io/ saves two
	 * failing opens (not for Slurm's: another machine makes them,
	 * which inotify does not see) */
	side = np->slurm || io_may_hold(j);
	iofd = j->io_fd >= 0 ? j->io_fd : AT_FDCWD;
	path = !side ? NULL : job_side_path(j, i, "metrics", iofd != AT_FDCWD);
	if (side && job_parse_kv_file(j, iofd, path, "$DAGEXEC_METRICS", true,
	    &en->mv, &en->nm, &c2) != 0) {
		if (en->e.reason == REASON_NONE)
			en->e.reason = REASON_OUTPUT_MISSING;
		free(en->cause);
		en->cause = c2;
		c2 = NULL;
	} else if (en->nm > 0) {
		en->metrics = xcalloc(en->nm, sizeof *en->metrics);
		for (k = 0; k < en->nm; k++) {
			en->metrics[k].name = en->mv[k].key;
			en->metrics[k].value = strtod(en->mv[k].value, NULL);
		}
		en->e.metrics = en->metrics;
		en->e.nmetrics = en->nm;
	}
	free(path);
	if (en->e.reason == REASON_NONE && side) {
		path = job_side_path(j, i, "output", iofd != AT_FDCWD);
		if (job_parse_kv_file(j, iofd, path, "$DAGEXEC_OUTPUT", false,
		    &en->ov, &en->no, &en->cause) != 0)
			en->e.reason = REASON_OUTPUT_MISSING;
		free(path);
	}
	ex = job_exec(j, i);
	if (ex->cleanup != NULL)
		ex->cleanup(j, i);
	if (en->e.reason == REASON_NONE)
		en->store = job_cache_store_new(j, i, en->ov, en->no,
		    en->metrics, en->nm);
	if (en->e.reason == REASON_NONE && (n->noutputs > 0 ||
	    en->store != NULL))
		ending_copy_start(j, en);
	else
		node_end_rest(en);
}

/* Journal node i's $DAGEXEC_OUTPUT values. Those that hold a secret are
 * kept in the job's private side file (secret_values_write), written
 * before the journal says "***" in their place. */
static void
journal_outputs(struct job *j, size_t i)
{
	const struct kvlist *o = &j->outs[i];
	const char *id = j->m->nodes[i].id;
	struct kv *sv;
	size_t k, ns = 0;
	bool *hit;
	char *cause = NULL;

	hit = xcalloc(o->n + 1, sizeof *hit);
	sv = xcalloc(o->n + 1, sizeof *sv);
	for (k = 0; k < o->n; k++)
		if ((hit[k] = secrets_hit(j->secrets, o->v[k].value,
		    strlen(o->v[k].value))))
			sv[ns++] = o->v[k];
	if (ns > 0 && secret_values_write(j->dir, id, sv, ns, &cause) != 0) {
		job_log(j, LOG_ERROR, i, "secret", "%s: a resume will run "
		    "the node again", cause);
		free(cause);
	}
	for (k = 0; k < o->n; k++)
		journal_add(j->jr, loop_wallclock(), "output", "node", id,
		    "key", o->v[k].key, "value", hit[k] ? SECRET_MASK :
		    o->v[k].value, "secret", hit[k] ? "yes" : NULL,
		    (char *)NULL);
	free(sv);
	free(hit);
}

/* The rest of an attempt's end, once its outputs are copied. */
static void
node_end_rest(struct ending *en)
{
	struct nodeproc *np = en->np;
	struct job *j = np->job;
	size_t i = np->node, k;
	const struct node *n = &j->m->nodes[i];
	const struct exec_ops *ex;
	char b1[UNITS_INT_LEN], b2[UNITS_INT_LEN], b3[UNITS_INT_LEN],
	    b4[UNITS_INT_LEN], b5[UNITS_INT_LEN], *masked;
	const struct node_run *run;

	np->ending = NULL;
	ex = job_exec(j, i);
	if (ex->ended != NULL)
		ex->ended(j, i, &en->e, &en->cause);
	/* a sandboxed attempt's directory (side files, TMPDIR) goes once
	 * everything of its end has been read */
	if (np->sbdir != NULL)
		exec_sandbox_remove(j, i, np->sbclean);
	/* an error line may quote what the node wrote or sent */
	masked = job_mask(j, en->cause);
	free(en->cause);
	en->cause = masked;
	en->e.error = en->cause;
	/* a last line that only repeats the error (an http node's child
	 * prints it) is not shown twice */
	en->tail = errtail_unecho(en->tail, en->cause);
	en->e.stderr_tail = en->tail;
	if (en->e.reason == REASON_NONE) {
		kvfile_free(j->outs[i].v, j->outs[i].n);
		j->outs[i].v = en->ov;
		j->outs[i].n = en->no;
		en->ov = NULL;
		en->no = 0;
		journal_outputs(j, i);
	}
	/* the attempt's length on the monotonic clock: a resume takes it
	 * from here, not from the dates, which a jump of the clock moves */
	run = sched_node(j->s, i);
	journal_add(j->jr, loop_wallclock(), "end", "node", n->id,
	    "attempt", units_int(np->attempt, b1), "exit",
	    units_int(en->e.exit_code, b2), "signal",
	    units_int(en->e.signal, b3), "cpu_ms",
	    units_int(en->e.cpu_ms, b4), "duration_ms",
	    run != NULL && run->nhist > 0 ? units_int(loop_now() -
	    run->hist[run->nhist - 1].start_ms, b5) : NULL,
	    (char *)NULL);
	for (k = 0; k < en->nm; k++)
		journal_add(j->jr, loop_wallclock(), "metric", "node", n->id,
		    "name", en->mv[k].key, "value", en->mv[k].value,
		    (char *)NULL);

	sched_ended(j->s, i, loop_now(), &en->e);
	ending_free(en);
	job_proc_drop(j, i);
	job_pump(j);
}


/* ---- the live progress line ------------------------------------------- */

static void
progress_draw(struct job *j, bool force)
{
	size_t counts[NS__COUNT], done, failed;
	int64_t now = loop_now(), elapsed, eta;
	char ebuf[32], tbuf[32];

	if (j->progress != PROGRESS_TTY || (!force && now - j->last_draw < 100))
		return;
	j->last_draw = now;
	sched_counts(j->s, counts);
	done = counts[NS_SUCCEEDED] + counts[NS_FAILED] + counts[NS_SKIPPED] +
	    counts[NS_CANCELLED] + counts[NS_TIMED_OUT];
	failed = counts[NS_FAILED] + counts[NS_TIMED_OUT];
	elapsed = j->started >= 0 ? now - j->started : 0;
	units_format_duration(elapsed / 100 * 100, ebuf, sizeof ebuf);
	if (done > 0 && done < j->m->nnodes) {
		eta = elapsed / (int64_t)done *
		    (int64_t)(j->m->nnodes - done);
		units_format_duration(eta / 1000 * 1000 + 1000, tbuf,
		    sizeof tbuf);
	} else
		snprintf(tbuf, sizeof tbuf, "-");
	fprintf(stderr, "\r\033[K%s: %zu/%zu done, %zu running, %zu failed, "
	    "%s elapsed, eta %s", j->id, done, j->m->nnodes,
	    counts[NS_RUNNING], failed, ebuf, tbuf);
	fflush(stderr);
	j->line_shown = true;
}

/* ---- the pump: carry out what the scheduler decides --------------------- */

static void
sync_timer_cb(struct loop *l, void *arg)
{
	struct job *j = arg;
	char *cause = NULL;

	(void)l;
	j->sync_timer = NULL;
	/* the fdatasync on the journal's thread: the loop goes on starting
	 * nodes meanwhile */
	if (journal_sync_later(j->jr, &cause) != 0) {
		job_log(j, LOG_ERROR, SIZE_MAX, "journal", "%s", cause);
		free(cause);
	}
}

static void
wake_cb(struct loop *l, void *arg)
{
	struct job *j = arg;

	(void)l;
	j->wake_timer = NULL;
	j->wake_at = INT64_MAX;
	job_pump(j);
}

static void
log_change(struct job *j, const struct sched_action *a)
{
	const struct node_run *r = sched_node(j->s, a->node);
	const char *st = node_status_name(a->status);
	char *line;

	journal_add(j->jr, loop_wallclock(), "status", "node",
	    j->m->nodes[a->node].id, "status", st,
	    "reason", a->reason ? reason_name(a->reason) : NULL,
	    "error", r->error, (char *)NULL);
	/* skipped and cancelled nodes come by the thousand when a big DAG
	 * stops: a few are logged, the rest summed up by log_bulk_rest */
	if ((a->status == NS_SKIPPED || a->status == NS_CANCELLED) &&
	    j->nlogged[a->status]++ >= LOG_BULK_MAX)
		return;
	if (a->status == NS_SUCCEEDED) {
		job_log(j, LOG_INFO, a->node, st, "attempts=%d", r->attempts);
		return;
	}
	/* the error and the last lines of stderr: what went wrong, on the
	 * line a person reads first */
	line = errtail_line(r->error, r->stderr_tail);
	job_log(j, a->status == NS_RETRYING || a->status == NS_SKIPPED ?
	    LOG_INFO : LOG_WARN, a->node, st, "%s", line);
	free(line);
}

/* One line for the skipped and cancelled nodes log_change did not log. */
static void
log_bulk_rest(struct job *j)
{
	static const enum node_status bulk[] = { NS_SKIPPED, NS_CANCELLED };
	size_t k, n;
	enum node_status st;

	for (k = 0; k < sizeof bulk / sizeof bulk[0]; k++) {
		st = bulk[k];
		if (j->nlogged[st] <= LOG_BULK_MAX)
			continue;
		n = j->nlogged[st] - LOG_BULK_MAX;
		job_log(j, st == NS_SKIPPED ? LOG_INFO : LOG_WARN, SIZE_MAX,
		    node_status_name(st), "... and %zu more node%s %s", n,
		    n == 1 ? "" : "s", node_status_name(st));
		j->nlogged[st] = LOG_BULK_MAX;
	}
}

/* Room kept on the job's file system for the files of its end: when the
 * disk fills, the reserve is given back and the end written into it, so
 * that state.yaml says how the job ended (its bundle waits for room). */
#define END_RESERVE	(256 << 10)

static void
job_reserve(struct job *j)
{
	char *path = xasprintf("%s/.reserve", j->dir);
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd >= 0) {
		if (posix_fallocate(fd, 0, END_RESERVE) != 0)
			(void)unlink(path);
		close(fd);
	}
	free(path);
}

/* Give the reserve back; true when there was one. */
static bool
job_unreserve(struct job *j)
{
	char *path = xasprintf("%s/.reserve", j->dir);
	bool had = unlink(path) == 0;

	free(path);
	return had;
}

int
job_end_retry(struct job *j)
{
	if (!j->done)
		return -1;
	if (j->end_failed)
		job_write_end(j, false);
	return j->end_failed ? -1 : 0;
}

static void
job_finish(struct job *j)
{
	/* no attempt's directory is being removed once the job is over */
	exec_sandbox_drain(j);
	j->done = true;
	j->finished = loop_now();
	if (j->state_timer != NULL) {
		loop_timer_cancel(j->loop, j->state_timer);
		j->state_timer = NULL;
	}
	if (j->wake_timer != NULL) {
		loop_timer_cancel(j->loop, j->wake_timer);
		j->wake_timer = NULL;
	}
	if (j->sync_timer != NULL) {
		loop_timer_cancel(j->loop, j->sync_timer);
		j->sync_timer = NULL;
	}
	job_write_end(j, true);
	if (j->end_failed && job_unreserve(j)) {
		job_log(j, LOG_WARN, SIZE_MAX, "finish", "the disk is full: "
		    "the job's end is written into its reserve");
		job_write_end(j, false);
	}
	(void)job_unreserve(j);
	if (j->progress == PROGRESS_TTY) {
		progress_draw(j, true);
		fputc('\n', stderr);
		j->line_shown = false;
	}
	log_bulk_rest(j);
	job_log(j, LOG_INFO, SIZE_MAX, "finish", "status=%s",
	    dag_status_name(sched_status(j->s)));
	if (notify_start(j) == 0)
		return;		/* on_finish once the notification ended */
	if (j->on_finish != NULL)
		j->on_finish(j, j->arg);
}

/* Carry out the scheduler's decisions, starting at most max_starts nodes.
 * Returns how many were started. */
static int
job_pump_n(struct job *j, int max_starts)
{
	struct sched_action a;
	int64_t now, wake;
	char *cause = NULL;
	bool changed = false;
	int started = 0;

	if (j->done)
		return 0;
	if (j->in_pump) {
		j->pump_again = true;
		return 0;
	}
	j->in_pump = true;
	do {
		j->pump_again = false;
		if (j->nexpand_wait > 0 && j->copying == 0)
			job_expand_waiting(j);
		now = loop_now();
		while (sched_next(j->s, now, max_starts - started, &a)) {
			changed = true;
			switch (a.kind) {
			case SA_START:
				/* what ended is on file before a start
				 * (a fork and exec) delays it: a kill -9
				 * then finds the success recorded */
				if (journal_write(j->jr, &cause) != 0) {
					job_log(j, LOG_ERROR, SIZE_MAX,
					    "journal", "%s", cause);
					free(cause);
					cause = NULL;
				}
				/* a cache hit ends here, with no attempt */
				if (job_cache_start(j, a.node, a.attempt))
					break;
				started++;
				start_node(j, a.node, a.attempt);
				break;
			case SA_KILL:
				job_log(j, LOG_WARN, a.node, "kill", "%s",
				    reason_name(a.reason));
				kill_node(j, a.node, SIGTERM);
				break;
			case SA_CHANGE:
				log_change(j, &a);
				break;
			case SA_EXPAND:
				job_expand(j, a.node);
				break;
			}
			now = loop_now();
		}
	} while (j->pump_again);
	j->in_pump = false;

	/* written at once: the events survive our death (kill -9); made
	 * durable against a machine crash within SYNC_INTERVAL_MS */
	if (journal_write(j->jr, &cause) != 0) {
		job_log(j, LOG_ERROR, SIZE_MAX, "journal", "%s", cause);
		free(cause);
		cause = NULL;
	}
	if (journal_unsynced(j->jr) && j->sync_timer == NULL)
		j->sync_timer = loop_timer_at(j->loop,
		    loop_now() + SYNC_INTERVAL_MS, sync_timer_cb, j);
	if (sched_finished(j->s) && j->running == 0) {
		job_finish(j);
		return started;
	}
	wake = sched_wakeup(j->s);
	if (wake != j->wake_at) {
		if (j->wake_timer != NULL)
			loop_timer_cancel(j->loop, j->wake_timer);
		j->wake_timer = NULL;
		j->wake_at = wake;
		if (wake != INT64_MAX)
			j->wake_timer = loop_timer_at(j->loop, wake, wake_cb,
			    j);
	}
	if (changed) {
		job_state_touch(j);
		progress_draw(j, false);
	}
	return started;
}

/* Under a shared slot budget the owner dispatches starts (round-robin over
 * its jobs); on our own, start whatever the scheduler allows. */
static void
job_pump(struct job *j)
{
	if (j->slots == NULL) {
		(void)job_pump_n(j, INT_MAX);
		return;
	}
	(void)job_pump_n(j, 0);
	/* also when this job just ended: the slot its last node held goes
	 * to the others (they may have nothing running to wake them) */
	if (j->on_slots != NULL)
		j->on_slots(j, j->arg);
}

void
job_kick(struct job *j)
{
	job_pump(j);
}

void
job_set_cancel_remote(struct job *j, bool yes)
{
	j->cancel_remote = yes;
}

bool
job_wants_slot(struct job *j)
{
	return !j->done && sched_startable(j->s);
}

int
job_dispatch(struct job *j, int max_starts)
{
	int n = job_pump_n(j, max_starts);

	return n;
}

/* ---- lifecycle ---------------------------------------------------------- */

/* DIR/sub: mode 0700 and the job owner's when nodes run as another user,
 * else 0755. */
static int
job_private_dir(struct job *j, const char *sub, char **cause)
{
	char *path = xasprintf("%s/%s", j->dir, sub);
	int rc = 0;

	if (fs_mkdirs(path, j->spooled ? 0700 : 0755, cause) != 0)
		rc = -1;
	free(path);
	return rc;
}

int
job_outputs_dir(struct job *j, char **cause)
{
	if (j->outputs_made)
		return 0;
	if (job_private_dir(j, "outputs", cause) != 0)
		return -1;
	j->outputs_made = true;
	return 0;
}

/* A seed for the jitter of retry delays: it differs from job to job. */
static uint64_t
job_seed(void)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) !=
	    (ssize_t)sizeof seed)
		seed = (uint64_t)loop_wallclock() ^ (uint64_t)getpid();
	return seed;
}

char *
job_make_id(const char *name)
{
	unsigned char r[2] = { 0, 0 };
	struct tm tm;
	time_t t = time(NULL);
	char ts[32];

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
		r[0] = (unsigned char)getpid();
		r[1] = (unsigned char)(t ^ (getpid() >> 8));
	}
	gmtime_r(&t, &tm);
	strftime(ts, sizeof ts, "%Y%m%dT%H%M%S", &tm);
	return xasprintf("%s-%s-%02x%02x", name, ts, r[0], r[1]);
}

/* Open DIR/io, through which side files are looked up (without it, by
 * path), and watch it for anything made in it, so that a node's end need
 * not list it while it stays empty (without inotify, it is listed). */
static void
job_open_io(struct job *j)
{
	char *path = xasprintf("%s/io", j->dir);
	int fd;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) != -1) {
		if ((j->io_dir = fdopendir(fd)) != NULL)
			j->io_fd = fd;
		else
			close(fd);
	}
	j->io_dirty = true;
	if (j->io_dir != NULL &&
	    (j->io_ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) != -1 &&
	    (j->io_wd = inotify_add_watch(j->io_ino, path, IN_CREATE |
	    IN_MOVED_TO | IN_ONLYDIR | IN_DONT_FOLLOW)) == -1) {
		close(j->io_ino);
		j->io_ino = -1;
	}
	free(path);
}

struct job *
job_new(struct loop *l, struct manifest *m, const struct job_config *c,
    char **cause)
{
	struct job *j = xcalloc(1, sizeof *j);
	struct sched_config sc;
	char *path, *abs;
	size_t n0;
	long ncpu;

	j->loop = l;
	j->m = m;
	j->id = xstrdup(c->id);
	j->clean_env = c->clean_env;
	j->progress = c->progress;
	j->on_finish = c->on_finish;
	j->arg = c->arg;
	j->slots = c->slots;
	j->on_slots = c->on_slots;
	j->spooled = c->spooled;
	if (c->scheduled_at != NULL)
		j->scheduled_at = xstrdup(c->scheduled_at);
	j->cancel_remote = c->cancel_remote;
	j->cg = c->cgroup;
	j->bundle = c->bundle != NULL ? xstrdup(c->bundle) : NULL;
	j->spool = c->spool != NULL ? xstrdup(c->spool) : NULL;
	j->workdir_fd = -1;
	j->nodes_fd = -1;
	j->io_fd = -1;
	j->io_ino = -1;
	j->children_fd = -1;
	/* for http nodes and notify: exec this very binary */
	j->self = realpath("/proc/self/exe", NULL);
	j->started = j->finished = -1;
	j->wake_at = INT64_MAX;
	j->last_state = INT64_MIN / 2;
	j->state_interval = STATE_INTERVAL_MS;

	if (fs_mkdirs(c->dir, 0755, cause) != 0)
		goto fail;
	if ((abs = realpath(c->dir, NULL)) == NULL) {
		*cause = xasprintf("cannot resolve '%s': %s", c->dir,
		    strerror(errno));
		goto fail;
	}
	j->dir = abs;
	/* logs and outputs are the job owner's, like its work directory;
	 * state.yaml stays readable by anyone. outputs/ comes after the
	 * first nodes (job_outputs_dir): a new inode costs about 0.1 ms */
	if (job_private_dir(j, "nodes", cause) != 0 ||
	    job_private_dir(j, "io", cause) != 0)
		goto fail;
	path = xasprintf("%s/nodes", j->dir);
	j->nodes_fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	free(path);
	if (j->nodes_fd < 0) {
		*cause = xasprintf("cannot open '%s/nodes': %s", j->dir,
		    strerror(errno));
		goto fail;
	}
	job_open_io(j);
	if (m->workdir != NULL)
		j->workdir = xstrdup(m->workdir);
	else {
		j->workdir = xasprintf("%s/work", j->dir);
		if (fs_mkdirs(j->workdir, 0700, cause) != 0)
			goto fail;
	}
	/* outputs are read through this descriptor */
	j->workdir_fd = open(j->workdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->workdir_fd < 0 && !j->spooled) {
		*cause = xasprintf("cannot open work directory '%s': %s",
		    j->workdir, strerror(errno));
		goto fail;
	}
	/* one the owner cannot enter: their nodes fail to start in it, and
	 * nothing is collected from it */
	if (j->workdir_fd < 0)
		j->workdir_err = xasprintf("cannot open work directory '%s' "
		    "as uid %ld: %s", j->workdir, (long)geteuid(),
		    strerror(errno));
	/* NULL (no line without the shell) when it cannot be had */
	j->pwd = realpath(j->workdir, NULL);
	if (c->manifest_text != NULL) {
		path = xasprintf("%s/manifest.yaml", j->dir);
		if ((c->manifest_nosync ? fs_replace : fs_write_atomic)(path,
		    c->manifest_text, c->manifest_len, 0600, cause) != 0) {
			free(path);
			goto fail;
		}
		free(path);
	}
	path = xasprintf("%s/events.log", j->dir);
	j->jr = journal_open(path, cause);
	free(path);
	if (j->jr == NULL)
		goto fail;
	j->state_path = xasprintf("%s/state.yaml", j->dir);

	memset(&sc, 0, sizeof sc);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	sc.max_parallel = m->max_parallel > 0 ? m->max_parallel :
	    (ncpu > 0 ? (int)ncpu : 1);
	if (c->jobs > 0 && c->jobs < sc.max_parallel)
		sc.max_parallel = c->jobs;
	sc.seed = job_seed();
	/* a resumed job has the instances its journal made, before the
	 * scheduler is made for its nodes (those of the manifest keep
	 * their indices: the estimates given stay theirs) */
	n0 = m->nnodes;
	if (c->resume_log != NULL && job_expand_replay(m, c->resume_log,
	    cause) != 0)
		goto fail;
	if (c->estimates != NULL) {
		j->estimates = xcalloc(m->nnodes, sizeof *j->estimates);
		memcpy(j->estimates, c->estimates,
		    n0 * sizeof *j->estimates);
		sc.estimate_ms = j->estimates;
	}
	j->s = sched_new(m, &sc);
	job_grow(j, 0);
	j->lost = c->lost;
	job_cache_init(j, c);
	if (c->resume_log != NULL) {
		j->resumed = true;
		if (job_resume(j, c->resume_log, cause) != 0)
			goto fail;
	}
	env_init_base(j);
	/* a node's detached processes become our children when its own
	 * process exits, so kill_orphans finds them without a /proc scan */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	j->mono_base = loop_now();
	j->wall_base = loop_wallclock();
	/* state.yaml is first written once the first nodes have started
	 * (job_start): a node's start touches it before then, and waits
	 * for no rewrite */
	j->last_state = loop_now();
	return j;

fail:
	job_free(j);
	return NULL;
}

/* A wall-clock time of an earlier run on the loop's clock: at most now (the
 * clock may have been put back since), and not below 0 (the loop's clock
 * starts at boot: a run before a reboot is put at the boot). */
static int64_t
job_mono(const struct job *j, int64_t wall, int64_t now)
{
	int64_t t = j->mono_base + (wall - j->wall_base);

	if (t > now)
		t = now;
	return t < 0 ? 0 : t;
}

/* A resumed job's times go back to the earlier runs: its start is the
 * journal's first event, each node's the first start of its first attempt
 * (the scheduler only knows the attempts of this run). */
static void
job_resume_times(struct job *j, int64_t now)
{
	int64_t t;
	size_t i;

	if (j->first_wall >= 0)
		j->started = job_mono(j, j->first_wall, now);
	for (i = 0; i < j->m->nnodes; i++) {
		if (j->first_start[i] < 0)
			continue;
		t = job_mono(j, j->first_start[i], now);
		/* a node that succeeded ended before this run began */
		if (j->done_span[i] >= 0 && t > now - j->done_span[i])
			t = now - j->done_span[i] < 0 ? 0 :
			    now - j->done_span[i];
		if (t < j->started)
			j->started = t;
		sched_preset_times(j->s, i, t, j->done_span[i]);
	}
}

static void	job_halt(struct job *, enum dag_status, bool);

int
job_start(struct job *j, char **cause)
{
	int64_t now;
	char *n, *c2 = NULL;

	(void)cause;
	/* the metrics of running nodes, when a budget needs them */
	meter_init(j);
	now = loop_now();
	j->started = now;
	n = job_num((int64_t)j->m->nnodes);
	journal_add(j->jr, loop_wallclock(), "begin", "job", j->id, "dag",
	    j->m->name, "nodes", n, (char *)NULL);
	free(n);
	sched_begin(j->s, now);
	if (j->resumed)
		job_resume_times(j, now);
	job_log(j, LOG_INFO, SIZE_MAX, "begin", "dag=%s nodes=%zu",
	    j->m->name, j->m->nnodes);
	if (j->resume_cancel != 0) {
		/* cancelled before it was interrupted: nothing the cancel
		 * stopped runs again (what it spared still runs) */
		job_log(j, LOG_WARN, SIZE_MAX, "resume", "it was cancelled "
		    "before it was interrupted: it stays cancelled");
		job_halt(j, DS_CANCELLED, j->resume_cancel == 1);
	}
	job_pump(j);
	/* what does not have to come before the first node, after it */
	if (!j->done) {
		statew_flush_first(j);
		job_reserve(j);
	}
	if (job_outputs_dir(j, &c2) != 0) {
		job_log(j, LOG_WARN, SIZE_MAX, "begin", "%s", c2);
		free(c2);
	}
	return 0;
}

/* Stop the job as why; with spare (a cancel), its `when: always` nodes
 * still run once their needs have ended. */
static void
job_halt(struct job *j, enum dag_status why, bool spare)
{
	size_t i;

	if (j->done)
		return;
	if (sched_status(j->s) == why) {
		/* asked twice: do not wait for the grace period */
		for (i = 0; i < j->m->nnodes; i++)
			kill_node(j, i, SIGKILL);
		return;
	}
	if (why == DS_INTERRUPTED)
		j->interrupted = true;
	job_log(j, LOG_WARN, SIZE_MAX, "stop", "%s%s", dag_status_name(why),
	    spare ? " (when: always nodes still run)" : "");
	/* a resume reads it back: a cancelled job stays cancelled */
	journal_add(j->jr, loop_wallclock(), "stop", "status",
	    dag_status_name(why), "spare", spare ? "1" : "0", (char *)NULL);
	if (spare)
		sched_stop(j->s, loop_now());
	else
		sched_cancel(j->s, loop_now(), why);
	job_pump(j);
}

void
job_stop(struct job *j, enum dag_status why)
{
	job_halt(j, why, false);
}

void
job_cancel(struct job *j, bool now)
{
	job_halt(j, DS_CANCELLED, !now);
}

bool
job_finished(const struct job *j)
{
	return j->done && !j->notifying;
}

enum dag_status
job_status(const struct job *j)
{
	return sched_status(j->s);
}

const struct manifest *
job_manifest(const struct job *j)
{
	return j->m;
}

const struct sched *
job_sched(const struct job *j)
{
	return j->s;
}

int64_t
job_duration_ms(const struct job *j)
{
	return j->finished >= 0 && j->started >= 0 ?
	    j->finished - j->started : -1;
}

const char *
job_dir(const struct job *j)
{
	return j->dir;
}

void
job_render_summary(const struct job *j, FILE *fp)
{
	struct state_job sj;

	job_fill_state(j, &sj);
	render_summary(fp, j->m, j->s, &sj, job_duration_ms(j));
}

void
job_free(struct job *j)
{
	size_t i;
	struct nodeproc *np;

	if (j == NULL)
		return;
	statew_stop(j);
	worker_free(j->copier);
	meter_free(j);
	if (j->procs != NULL) {
		for (i = 0; i < j->m->nnodes; i++) {
			if ((np = j->procs[i]) == NULL)
				continue;
			job_exec(j, i)->release(j, i);
			proc_free(np);
		}
		free(j->procs);
	}
	if (j->outs != NULL) {
		for (i = 0; i < j->m->nnodes; i++)
			kvfile_free(j->outs[i].v, j->outs[i].n);
		free(j->outs);
	}
	free(j->expand_wait);
	strmap_free(j->values_done);
	for (i = 0; i < j->nvalues_paths; i++)
		free(j->values_paths[i]);
	free(j->values_paths);
	if (j->slurm_jobs != NULL) {
		for (i = 0; i < j->m->nnodes; i++)
			free(j->slurm_jobs[i]);
		free(j->slurm_jobs);
	}
	slurm_cmds_drop(j->loop);	/* an sbatch, scancel or squeue let go */
	if (j->reused_from != NULL) {
		for (i = 0; i < j->m->nnodes; i++)
			free(j->reused_from[i]);
		free(j->reused_from);
	}
	exec_sandbox_drain(j);
	free(j->sandbox);
	if (j->m != NULL)
		job_cache_free(j);
	if (j->state_timer != NULL)
		loop_timer_cancel(j->loop, j->state_timer);
	if (j->wake_timer != NULL)
		loop_timer_cancel(j->loop, j->wake_timer);
	if (j->sync_timer != NULL)
		loop_timer_cancel(j->loop, j->sync_timer);
	if (j->notify_pid > 0)
		spawn_kill_group(j->notify_pid, SIGKILL);
	free(j->self);
	free(j->scheduled_at);
	free(j->notify_status);
	free(j->notify_error);
	if (j->jr != NULL)
		(void)journal_close(j->jr, NULL);
	if (j->workdir_fd >= 0)
		close(j->workdir_fd);
	free(j->workdir_err);
	if (j->nodes_fd >= 0)
		close(j->nodes_fd);
	if (j->io_dir != NULL)
		closedir(j->io_dir);
	if (j->io_ino >= 0)
		close(j->io_ino);
	if (j->children_fd >= 0)
		close(j->children_fd);
	free(j->children_buf);
	for (i = 0; i < j->nrs_ents; i++) {
		free(j->rs_ents[i].argv0);
		free(j->rs_ents[i].path);
		spawn_free_paths(j->rs_ents[i].paths);
	}
	free(j->rs_ents);
	strmap_free(j->rs);
	sched_free(j->s);
	manifest_free(j->m);
	secrets_free(j->secrets);
	env_free(j->base_env);
	free(j->estimates);
	free(j->first_start);
	free(j->done_span);
	free(j->state_path);
	free(j->workdir);
	free(j->pwd);
	free(j->dir);
	free(j->id);
	free(j->bundle);
	free(j->spool);
	free(j);
}
