/* One DAG in flight: the scheduler's decisions carried out with real
 * processes, pipes, timers, the journal and the state file. */
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
#include "fsutil.h"
#include "http.h"
#include "job.h"
#include "journal.h"
#include "kvfile.h"
#include "log.h"
#include "render.h"
#include "slurm.h"
#include "spawn.h"
#include "state.h"
#include "shline.h"
#include "strmap.h"
#include "timeline.h"
#include "trace.h"
#include "units.h"
#include "worker.h"
#include "xmalloc.h"

#define KILL_GRACE_MS		5000	/* SIGTERM -> SIGKILL */
#define STATE_INTERVAL_MS	200	/* at most 5 state writes a second */
#define STATE_COST_SHARE	100	/* rewrites take at most 1/100 of the
					   time (CPU of render and write) */
#define SYNC_INTERVAL_MS	100	/* fdatasync of the journal at most
					   this long after a write */
#define SIDEFILE_MAX		(1u << 20)	/* $DAGEXEC_OUTPUT/METRICS */
#define READ_CHUNK		65536
#define SLURM_RECANCEL_MS	10000	/* scancel again while it runs */

extern char **environ;

/* One output stream of a running attempt, capped at limit bytes: the first
 * half goes straight to the file, the last half is kept in a ring and
 * written at the end, after a line counting what was dropped. */
struct logsink {
	int	 fd;		/* the pipe's read end, -1 at EOF */
	int	 file;		/* the log file; -1 until the first byte */
	const struct job *job;	/* whose nodes/NODE/NAME it is: */
	const char *node;	/* the node's id (borrowed) */
	const char *name;	/* "stdout.log" or "stderr.log" */
	int	 attempt;	/* for the "--- attempt N ---" line */
	bool	 failed;	/* the file could not be opened: */
	char	*error;		/* why, for the attempt's end */
	int64_t	 head_max;	/* limit / 2 */
	int64_t	 tail_max;	/* limit - head_max */
	int64_t	 written;	/* head bytes written */
	char	*ring;		/* tail_max bytes, allocated on overflow */
	int64_t	 ring_pos;	/* next write position */
	int64_t	 ring_len;	/* valid bytes */
	int64_t	 dropped;
};

struct nodeproc {
	struct job		*job;
	size_t			 node;
	int			 attempt;
	pid_t			 pid;		/* 0: not running */
	bool			 exited;
	int			 status;
	struct rusage		 ru;
	struct logsink		 out;
	struct logsink		 err;
	struct loop_timer	*kill_timer;
	bool			 killing;
	struct ending		*ending;	/* its outputs are being copied */
	struct kv		*outputs;	/* $DAGEXEC_OUTPUT of success */
	size_t			 noutputs;
	/* executor: slurm */
	bool			 slurm;		/* this attempt runs on Slurm */
	bool			 slurm_live;	/* submitting or tracked */
	char			*slurm_id;	/* its Slurm job, once known */
	struct slurm_cmd	*slurm_cmd;	/* sbatch or the lookup */
	int			 adopt_attempt;	/* resume: the attempt still
						   on Slurm (0: none) */
	char			*adopt_id;	/* and its journalled id */
};

/* What spawn_resolve gave for one program under one PATH, best first. */
struct resolved {
	char	 *argv0;
	char	 *path;		/* PATH, or NULL when unset */
	char	**paths;
};

struct job {
	struct loop		*loop;
	struct manifest		*m;
	struct sched		*s;
	struct journal		*jr;
	char			*id;
	char			*dir;		/* absolute */
	char			*workdir;	/* absolute */
	char			*pwd;		/* its realpath: PWD for lines
						   run without the shell */
	int			 workdir_fd;
	char			*workdir_err;	/* why workdir_fd is -1 */
	int			 nodes_fd;	/* DIR/nodes, the owner's */
	struct worker		*copier;	/* copies declared outputs */
	struct fs_ids		 fs_saved;	/* as_owner: our own ids */
	DIR			*io_dir;	/* DIR/io, or NULL */
	int			 io_fd;		/* its descriptor, or -1 */
	int			 io_ino;	/* inotify on io/ (creations),
						   or -1 */
	bool			 io_dirty;	/* io/ not known to be empty */
	int			 children_fd;	/* /proc/self/task/TID/children,
						   kept open; -1: not yet */
	char			*children_buf;	/* what it last read */
	size_t			 children_cap;
	struct strmap		*rs;		/* argv0 -> index in rs_ents */
	struct resolved		*rs_ents;	/* spawn_resolve, per program */
	size_t			 nrs_ents;
	size_t			 rs_cap;
	struct statew		*sw;		/* state.yaml writer thread */
	char			*state_path;
	bool			 clean_env;
	enum job_progress	 progress;
	int64_t			 last_draw;
	bool			 line_shown;
	void			(*on_finish)(struct job *, void *);
	void			*arg;
	int			*slots;		/* shared: nodes running */
	bool			 set_ids;
	uid_t			 uid;
	gid_t			 gid;
	gid_t			*groups;
	size_t			 ngroups;
	int64_t			*estimates;
	bool			 resumed;	/* from an earlier run's journal */
	int64_t			 first_wall;	/* resumed: the journal's first
					   event (the job's start); -1 */
	int64_t			*first_start;	/* resumed: each node's first
					   start (wall clock); -1: none */
	int64_t			*done_span;	/* resumed: first start to end
					   of a node that succeeded */
	void			(*on_slots)(struct job *, void *);
	struct nodeproc		*procs;
	char			**base_env;	/* NULL-terminated, owned */
	size_t			 nbase_env;
	int64_t			 wall_base;
	int64_t			 mono_base;
	int64_t			 started;
	int64_t			 finished;
	int64_t			 last_state;
	int64_t			 state_interval;
	bool			 state_dirty;
	struct loop_timer	*state_timer;
	struct loop_timer	*wake_timer;
	struct loop_timer	*sync_timer;
	int64_t			 wake_at;
	bool			 done;
	bool			 end_failed;	/* a file of the end is missing */
	bool			 in_pump;
	bool			 pump_again;
	int			 running;
	char			*self;		/* this binary, for __http and
					   __notify children */
	pid_t			 notify_pid;	/* the __notify child, or 0 */
	bool			 notifying;
	char			*notify_status;	/* "sent", "failed" or NULL */
	char			*notify_error;
	bool			 cancel_remote;	/* interrupted: scancel too */
	bool			 interrupted;	/* job_stop(DS_INTERRUPTED) */
	char			**slurm_jobs;	/* per node, for state.yaml */
	size_t			 nlogged[NS__COUNT];	/* node lines logged,
					   a status (see log_change) */
};

/* At most this many skipped or cancelled nodes are logged one by one a
 * job; the rest are counted in one line at its end. */
#define LOG_BULK_MAX	20

static void	job_pump(struct job *);
static void	as_owner(struct job *, bool);
static void	node_try_end(struct nodeproc *);
static void	slurm_start(struct job *, size_t, int);
static void	slurm_kill(struct job *, size_t);

/* ---- small helpers ------------------------------------------------------ */

static void
job_log(struct job *j, enum log_level lvl, size_t node,
    const char *event, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
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

static char *
num(int64_t v)
{
	return xasprintf("%lld", (long long)v);
}

/* ---- environment -------------------------------------------------------- */

static bool
env_allowed_clean(const char *e)
{
	static const char *const keep[] = { "PATH=", "HOME=", "USER=",
	    "LANG=", "TZ=" };
	size_t i;

	for (i = 0; i < sizeof keep / sizeof keep[0]; i++)
		if (strncmp(e, keep[i], strlen(keep[i])) == 0)
			return true;
	return false;
}

static void
env_init_base(struct job *j)
{
	size_t n = 0, i;
	char **e;

	for (e = environ; e != NULL && *e != NULL; e++)
		n++;
	j->base_env = xcalloc(n + 1, sizeof *j->base_env);
	for (i = 0, e = environ; e != NULL && *e != NULL; e++) {
		if (strncmp(*e, "DAGEXEC_", 8) == 0 &&
		    strncmp(*e, "DAGEXEC_SPOOL=", 14) != 0)
			continue;	/* never pass our own variables down */
		if (j->clean_env && !env_allowed_clean(*e))
			continue;
		if (j->set_ids && (strncmp(*e, "HOME=", 5) == 0 ||
		    strncmp(*e, "USER=", 5) == 0))
			continue;	/* the job owner's, below */
		j->base_env[i++] = xstrdup(*e);
	}
	if (j->set_ids) {
		/* as at(1): the user's own HOME and USER */
		struct passwd *pw = getpwuid(j->uid);

		j->base_env = xreallocarray(j->base_env, i + 3,
		    sizeof *j->base_env);
		if (pw != NULL) {
			j->base_env[i++] = xasprintf("HOME=%s", pw->pw_dir);
			j->base_env[i++] = xasprintf("USER=%s", pw->pw_name);
		} else
			j->base_env[i++] = xstrdup("HOME=/");
		j->base_env[i] = NULL;
	}
	j->nbase_env = i;
}

struct envbuf {
	char	**v;
	size_t	  n;
	size_t	  cap;
	char	**base;		/* v[i] == base[i] is borrowed, not ours */
	size_t	  nbase;
};

/* Set NAME=VALUE, replacing an earlier NAME. */
static void
env_set(struct envbuf *eb, const char *name, const char *value)
{
	size_t i, len = strlen(name);

	for (i = 0; i < eb->n; i++) {
		if (strncmp(eb->v[i], name, len) == 0 && eb->v[i][len] == '=') {
			if (i >= eb->nbase || eb->v[i] != eb->base[i])
				free(eb->v[i]);
			eb->v[i] = xasprintf("%s=%s", name, value);
			return;
		}
	}
	xgrow(&eb->v, &eb->cap, eb->n + 2, sizeof *eb->v);
	eb->v[eb->n++] = xasprintf("%s=%s", name, value);
	eb->v[eb->n] = NULL;
}

static void
env_free(char **v)
{
	char **p;

	if (v == NULL)
		return;
	for (p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

/* NEED and KEY upper-cased, '-' and '.' made '_'. */
static char *
env_in_name(const char *need, const char *key)
{
	char *s = xasprintf("DAGEXEC_IN_%s_%s", need, key), *p;

	for (p = s + 11; *p != '\0'; p++) {
		if (*p == '-' || *p == '.')
			*p = '_';
		else if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	}
	return s;
}

static char **
env_build(struct job *j, size_t i, int attempt, const char *out_path,
    const char *metrics_path, const char *pwd)
{
	const struct node *n = &j->m->nodes[i];
	struct envbuf eb = { NULL, 0, 0, NULL, 0 };
	struct nodeproc *np;
	char nb[UNITS_INT_LEN];
	size_t k, q;
	char *s;

	/* the job's base entries are borrowed, not copied: free the result
	 * with env_build_free */
	xgrow(&eb.v, &eb.cap, j->nbase_env + 16, sizeof *eb.v);
	memcpy(eb.v, j->base_env, j->nbase_env * sizeof *eb.v);
	eb.n = j->nbase_env;
	eb.v[eb.n] = NULL;
	eb.base = j->base_env;
	eb.nbase = j->nbase_env;
	for (k = 0; k < j->m->env.n; k++)
		env_set(&eb, j->m->env.v[k].key, j->m->env.v[k].value);
	for (k = 0; k < n->env.n; k++)
		env_set(&eb, n->env.v[k].key, n->env.v[k].value);
	env_set(&eb, "DAGEXEC_JOB", j->id);
	env_set(&eb, "DAGEXEC_NODE", n->id);
	env_set(&eb, "DAGEXEC_ATTEMPT", units_int(attempt, nb));
	env_set(&eb, "DAGEXEC_WORKDIR", j->workdir);
	env_set(&eb, "DAGEXEC_OUTPUT", out_path);
	env_set(&eb, "DAGEXEC_METRICS", metrics_path);
	for (k = 0; k < n->nneeds; k++) {
		np = &j->procs[n->needs[k]];
		for (q = 0; q < np->noutputs; q++) {
			s = env_in_name(j->m->nodes[n->needs[k]].id,
			    np->outputs[q].key);
			env_set(&eb, s, np->outputs[q].value);
			free(s);
		}
	}
	/* a line run without the shell gets the PWD the shell would set */
	if (pwd != NULL)
		env_set(&eb, "PWD", pwd);
	return eb.v;
}

/* Free what env_build returned (its borrowed entries stay the job's). */
static void
env_build_free(const struct job *j, char **v)
{
	size_t k;

	if (v == NULL)
		return;
	for (k = 0; v[k] != NULL; k++) {
		if (k >= j->nbase_env || v[k] != j->base_env[k])
			free(v[k]);
	}
	free(v);
}

/* spawn_resolve(argv0, envp), kept for the job's next node that runs the
 * same program with the same PATH: the candidates, owned by the job. */
static struct resolved *
job_resolve(struct job *j, const char *argv0, char *const *envp)
{
	struct resolved *r;
	const char *path = NULL;
	size_t k;

	for (k = 0; envp[k] != NULL; k++) {
		if (strncmp(envp[k], "PATH=", 5) == 0) {
			path = envp[k] + 5;
			break;
		}
	}
	if (j->rs == NULL)
		j->rs = strmap_new(8);
	if (strmap_get(j->rs, argv0, &k)) {
		r = &j->rs_ents[k];
		if (path == NULL ? r->path == NULL :
		    r->path != NULL && strcmp(r->path, path) == 0)
			return r;
		/* another PATH (a node's env): the newest wins */
		spawn_free_paths(r->paths);
		free(r->path);
	} else {
		xgrow(&j->rs_ents, &j->rs_cap, j->nrs_ents + 1,
		    sizeof *j->rs_ents);
		r = &j->rs_ents[j->nrs_ents];
		r->argv0 = xstrdup(argv0);
		if (strmap_put(j->rs, r->argv0, j->nrs_ents, NULL) != 0)
			abort();	/* looked up just above */
		j->nrs_ents++;
	}
	r->path = path != NULL ? xstrdup(path) : NULL;
	r->paths = spawn_resolve(argv0, envp);
	return r;
}

/* Candidate k of r exec'd: try it first from now on, as a shell's command
 * hash does (the others stay behind it, in order, for when it is gone). */
static void
job_resolved(struct resolved *r, int k)
{
	char *hit;

	if (k <= 0)
		return;
	hit = r->paths[k];
	memmove(r->paths + 1, r->paths, (size_t)k * sizeof *r->paths);
	r->paths[0] = hit;
}

/* ---- logs --------------------------------------------------------------- */

/* A log sink for attempt `attempt` into DIR/nodes/NODE/NAME; the file is
 * made on the first byte, so a silent node costs none. */
static void
sink_init(struct logsink *ls, int fd, const struct job *j, size_t i,
    const char *name, int attempt, int64_t limit)
{
	memset(ls, 0, sizeof *ls);
	ls->fd = fd;
	ls->file = -1;
	ls->job = j;
	ls->node = j->m->nodes[i].id;
	ls->name = name;
	ls->attempt = attempt;
	ls->head_max = limit / 2;
	ls->tail_max = limit - ls->head_max;
}

/*
 * Open nodes/NODE/NAME for appending. nodes/ is the job owner's, who may
 * have put anything in it: the directory and the file are made and opened
 * with the owner's file-system ids (a file root made there could be moved
 * by them, a link they planted would be followed with root's rights), no
 * link is followed, no FIFO waited on, and only a plain file of the
 * owner's with one link is written to.
 */
static int
sink_open(struct logsink *ls)
{
	const struct job *j = ls->job;
	struct fs_ids old;
	struct stat st;
	const char *why = NULL;
	char *sep;
	int dfd = -1, fd = -1;

	if (ls->file >= 0 || ls->failed)
		return ls->file;
	if (j->nodes_fd < 0)
		why = "no nodes directory";
	else if (fs_ids_enter(j->uid, j->gid, j->set_ids, &old) != 0)
		why = strerror(errno);
	else {
		if (mkdirat(j->nodes_fd, ls->node, 0700) == 0 ||
		    errno == EEXIST)
			dfd = openat(j->nodes_fd, ls->node, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd >= 0)
			fd = openat(dfd, ls->name, O_WRONLY | O_CREAT |
			    O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
			    0600);
		if (fd < 0)
			why = errno == ELOOP || errno == ENOTDIR ?
			    "a symbolic link" : errno == ENXIO ? "a FIFO" :
			    strerror(errno);
		fs_ids_leave(&old);
	}
	if (dfd >= 0)
		close(dfd);
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_nlink != 1 || (j->set_ids && st.st_uid != j->uid))) {
		why = "not a plain file of the job's user";
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		ls->failed = true;
		ls->error = xasprintf("cannot open log 'nodes/%s/%s': %s",
		    ls->node, ls->name, why);
		log_event(LOG_ERROR, j->id, ls->node, "log", "%s", ls->error);
		return -1;
	}
	ls->file = fd;
	if (ls->attempt > 1) {
		sep = xasprintf("--- attempt %d ---\n", ls->attempt);
		(void)fs_write_all(ls->file, sep, strlen(sep));
		free(sep);
	}
	return ls->file;
}

static void
sink_write(struct logsink *ls, const char *buf, size_t len)
{
	size_t take, first;

	if (len == 0 || sink_open(ls) < 0)
		return;
	if (ls->written < ls->head_max) {
		take = len;
		if ((int64_t)take > ls->head_max - ls->written)
			take = (size_t)(ls->head_max - ls->written);
		(void)fs_write_all(ls->file, buf, take);
		ls->written += (int64_t)take;
		buf += take;
		len -= take;
	}
	if (len == 0 || ls->tail_max <= 0) {
		ls->dropped += (int64_t)len;
		return;
	}
	if (ls->ring == NULL)
		ls->ring = xmalloc((size_t)ls->tail_max);
	if ((int64_t)len >= ls->tail_max) {
		/* everything in the ring and all but the last tail_max
		 * bytes of buf are dropped */
		ls->dropped += ls->ring_len + (int64_t)len - ls->tail_max;
		memcpy(ls->ring, buf + len - (size_t)ls->tail_max,
		    (size_t)ls->tail_max);
		ls->ring_pos = 0;
		ls->ring_len = ls->tail_max;
		return;
	}
	if (ls->ring_len + (int64_t)len > ls->tail_max)
		ls->dropped += ls->ring_len + (int64_t)len - ls->tail_max;
	first = (size_t)(ls->tail_max - ls->ring_pos);
	if (first > len)
		first = len;
	memcpy(ls->ring + ls->ring_pos, buf, first);
	memcpy(ls->ring, buf + first, len - first);
	ls->ring_pos = (ls->ring_pos + (int64_t)len) % ls->tail_max;
	ls->ring_len += (int64_t)len;
	if (ls->ring_len > ls->tail_max)
		ls->ring_len = ls->tail_max;
}

/* Write the kept tail and close the file. */
static void
sink_finish(struct logsink *ls)
{
	char *line;
	int64_t start;

	if (ls->file < 0)
		return;
	if (ls->dropped > 0) {
		line = xasprintf("\n[dagexec: %lld bytes dropped]\n",
		    (long long)ls->dropped);
		(void)fs_write_all(ls->file, line, strlen(line));
		free(line);
	}
	if (ls->ring_len > 0) {
		start = (ls->ring_pos - ls->ring_len + ls->tail_max) %
		    ls->tail_max;
		if (start + ls->ring_len <= ls->tail_max)
			(void)fs_write_all(ls->file, ls->ring + start,
			    (size_t)ls->ring_len);
		else {
			(void)fs_write_all(ls->file, ls->ring + start,
			    (size_t)(ls->tail_max - start));
			(void)fs_write_all(ls->file, ls->ring,
			    (size_t)(ls->ring_len - (ls->tail_max - start)));
		}
	}
	free(ls->ring);
	ls->ring = NULL;
	close(ls->file);
	ls->file = -1;
}

/* A log that could not be opened: the attempt fails (output_missing when
 * nothing else failed it) and its error says why, unless it has one. */
static void
sink_take_error(struct logsink *ls, struct attempt_end *e, char **cause)
{
	if (ls->error == NULL)
		return;
	if (e->reason == REASON_NONE)
		e->reason = REASON_OUTPUT_MISSING;
	if (*cause == NULL)
		*cause = ls->error;
	else
		free(ls->error);
	ls->error = NULL;
}

static void
sink_read(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct nodeproc *np = arg;
	struct logsink *ls = (fd == np->out.fd) ? &np->out : &np->err;
	char buf[READ_CHUNK];
	ssize_t n;
	int rounds;

	/* a few reads per wakeup keep one noisy node from starving others;
	 * a hang-up with nothing to read is the end, without a read */
	for (rounds = 0; rounds < 4; rounds++) {
		if (rounds == 0 && (events & (EPOLLIN | EPOLLHUP)) == EPOLLHUP)
			n = 0;
		else
			n = read(fd, buf, sizeof buf);
		if (n > 0) {
			sink_write(ls, buf, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EINTR))
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		/* EOF or error: the stream is over */
		loop_close_fd(l, fd);
		ls->fd = -1;
		node_try_end(np);
		return;
	}
}

/* Read what is in the pipe (a few rounds at most) and close it at EOF;
 * unlike sink_read, never ends the attempt. */
static void
sink_drain(struct loop *l, struct nodeproc *np, struct logsink *ls)
{
	char buf[READ_CHUNK];
	ssize_t n;
	int rounds;

	(void)np;
	for (rounds = 0; ls->fd >= 0 && rounds < 4; rounds++) {
		n = read(ls->fd, buf, sizeof buf);
		if (n > 0) {
			sink_write(ls, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		loop_close_fd(l, ls->fd);
		ls->fd = -1;
	}
}

/* ---- side files: $DAGEXEC_OUTPUT and $DAGEXEC_METRICS ------------------- */

/* Parse KEY=VALUE lines. Returns 0, or -1 with *cause naming the bad line. */
static int
parse_kv_file(const struct job *j, int dirfd, const char *path,
    const char *what, bool numeric, struct kv **out, size_t *nout,
    char **cause)
{
	char *buf, *c2 = NULL;
	size_t len;
	struct stat st;
	struct fs_ids old;
	int fd, rc, saved;

	*out = NULL;
	*nout = 0;
	/* the node made this file: no link followed, no FIFO waited on,
	 * nothing but a plain file of its own, opened with its user's
	 * rights (io/ is theirs) */
	if (fs_ids_enter(j->uid, j->gid, j->set_ids, &old) != 0) {
		*cause = xasprintf("%s: cannot take uid %ld: %s", what,
		    (long)j->uid, strerror(errno));
		return -1;
	}
	fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	saved = errno;
	fs_ids_leave(&old);
	errno = saved;
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		*cause = xasprintf("%s: cannot open: %s", what,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (j->set_ids && st.st_uid != j->uid)) {
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
	if (fs_ids_enter(j->uid, j->gid, j->set_ids, &old) == 0) {
		(void)unlinkat(dirfd, path, 0);
		fs_ids_leave(&old);
	}
	return rc;
}

/* ---- starting and ending attempts -------------------------------------- */

static void
fail_start(struct job *j, size_t i, const char *cause)
{
	struct attempt_end e;

	memset(&e, 0, sizeof e);
	e.reason = REASON_SPAWN_ERROR;
	e.exit_code = -1;
	e.error = cause;
	job_log(j, LOG_WARN, i, "spawn-error", "%s", cause);
	sched_ended(j->s, i, loop_now(), &e);
}

static void	child_exited(struct loop *, pid_t, int, const struct rusage *,
		    void *);

static void
set_rlimit(struct spawn_spec *sp, int res, rlim_t soft, rlim_t hard)
{
	sp->rlimits[sp->nrlimits].resource = res;
	sp->rlimits[sp->nrlimits].lim.rlim_cur = soft;
	sp->rlimits[sp->nrlimits].lim.rlim_max = hard;
	sp->nrlimits++;
}

static void
fill_rlimits(struct spawn_spec *sp, const struct node *n)
{
	rlim_t v;

	if (n->limit_set & (1u << LIMIT_CPU)) {
		/* soft first, so the node gets SIGXCPU (rlimit_cpu), not
		 * SIGKILL at the hard limit */
		v = (rlim_t)((n->limit[LIMIT_CPU] + 999) / 1000);
		set_rlimit(sp, RLIMIT_CPU, v, v + 1);
	}
	if (n->limit_set & (1u << LIMIT_MEMORY))
		set_rlimit(sp, RLIMIT_AS, (rlim_t)n->limit[LIMIT_MEMORY],
		    (rlim_t)n->limit[LIMIT_MEMORY]);
	if (n->limit_set & (1u << LIMIT_FSIZE))
		set_rlimit(sp, RLIMIT_FSIZE, (rlim_t)n->limit[LIMIT_FSIZE],
		    (rlim_t)n->limit[LIMIT_FSIZE]);
	if (n->limit_set & (1u << LIMIT_NOFILE))
		set_rlimit(sp, RLIMIT_NOFILE, (rlim_t)n->limit[LIMIT_NOFILE],
		    (rlim_t)n->limit[LIMIT_NOFILE]);
	if (n->limit_set & (1u << LIMIT_NPROC))
		set_rlimit(sp, RLIMIT_NPROC, (rlim_t)n->limit[LIMIT_NPROC],
		    (rlim_t)n->limit[LIMIT_NPROC]);
	v = (n->limit_set & (1u << LIMIT_CORE)) ?
	    (rlim_t)n->limit[LIMIT_CORE] : 0;
	set_rlimit(sp, RLIMIT_CORE, v, v);
}

static char sh_name[] = "sh";
static char sh_c[] = "-c";

/* ---- http nodes (issue 5) ----------------------------------------------- */

static char http_argv0[] = "dagexec";
static char http_verb[] = "__http";

/* Write the resolved request of http node i into io/NODE.http.json (the
 * job user's) and fill argv with `dagexec __http SPEC RESULT` (argv[2] and
 * argv[3] allocated). ${NAME} comes from the manifest env, the node env
 * and the DAGEXEC_* variables of envp, never from our own environment. */
static int
http_prepare(struct job *j, size_t i, char **envp, char **argv, char **cause)
{
	const struct node *n = &j->m->nodes[i];
	char **vars, **e, *c2 = NULL;
	size_t nv = 0, k;
	int rc = -1;

	if (j->self == NULL) {
		*cause = xstrdup("cannot find the dagexec binary "
		    "(/proc/self/exe)");
		return -1;
	}
	vars = xcalloc(j->m->env.n + n->env.n + 32, sizeof *vars);
	for (k = 0; k < j->m->env.n; k++)
		vars[nv++] = xasprintf("%s=%s", j->m->env.v[k].key,
		    j->m->env.v[k].value);
	for (k = 0; k < n->env.n; k++)
		vars[nv++] = xasprintf("%s=%s", n->env.v[k].key,
		    n->env.v[k].value);
	for (e = envp; *e != NULL; e++) {
		if (strncmp(*e, "DAGEXEC_", 8) != 0 ||
		    strncmp(*e, "DAGEXEC_SPOOL=", 14) == 0)
			continue;
		vars = xreallocarray(vars, nv + 2, sizeof *vars);
		vars[nv++] = xstrdup(*e);
	}
	vars[nv] = NULL;
	argv[0] = http_argv0;
	argv[1] = http_verb;
	argv[2] = xasprintf("%s/io/%s.http.json", j->dir, n->id);
	argv[3] = xasprintf("%s/io/%s.http.result", j->dir, n->id);
	argv[4] = NULL;
	if (unlink(argv[3]) != 0 && errno != ENOENT) {
		*cause = xasprintf("cannot remove '%s': %s", argv[3],
		    strerror(errno));
		goto out;
	}
	if (http_write_spec(argv[2], n->http, n->max_retry_delay_ms, vars,
	    j->set_ids ? j->uid : (uid_t)-1, j->set_ids ? j->gid : (gid_t)-1,
	    &c2) != 0) {
		*cause = xasprintf("http: %s", c2);
		free(c2);
		goto out;
	}
	rc = 0;
out:
	env_free(vars);
	return rc;
}

/* Node i's record, cleared for attempt: only the outputs of its last
 * success stay (its dependants may still read them). */
static void
proc_reset(struct job *j, size_t i, int attempt)
{
	struct nodeproc *np = &j->procs[i];
	struct kv *keep = np->outputs;
	size_t nkeep = np->noutputs;

	memset(np, 0, sizeof *np);
	np->outputs = keep;
	np->noutputs = nkeep;
	np->job = j;
	np->node = i;
	np->attempt = attempt;
}

static void
start_node(struct job *j, size_t i, int attempt)
{
	const struct node *n = &j->m->nodes[i];
	struct nodeproc *np = &j->procs[i];
	struct spawn_spec sp;
	char *out_path = NULL, *met_path = NULL;
	char *cause = NULL, **envp = NULL, *shargv[4];
	int pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	int pidfd = -1;
	char *httpargv[5] = { NULL, NULL, NULL, NULL, NULL };
	char b1[UNITS_INT_LEN], b2[UNITS_INT_LEN], b3[UNITS_INT_LEN];
	pid_t pid;
	struct resolved *rs = NULL;
	char **words = NULL;
	int used = -1;

	if (n->executor == EXECUTOR_SLURM && n->kind != NODE_HTTP) {
		slurm_start(j, i, attempt);
		goto out;
	}
	/* the node makes its side files itself (in io/, which is its
	 * user's); what an earlier attempt left is gone first */
	out_path = xasprintf("%s/io/%s.output", j->dir, n->id);
	met_path = xasprintf("%s/io/%s.metrics", j->dir, n->id);
	/* an attempt's side files are removed once read: only an earlier
	 * run's (a resumed job) can be left */
	as_owner(j, true);
	if (j->resumed && ((unlink(out_path) != 0 && errno != ENOENT) ||
	    (unlink(met_path) != 0 && errno != ENOENT))) {
		cause = xasprintf("cannot remove '%s': %s", out_path,
		    strerror(errno));
		as_owner(j, false);
		goto fail;
	}
	as_owner(j, false);
	/* non-blocking on our end only: the node's end must block, or a
	 * writer faster than us gets EAGAIN */
	if (pipe2(pout, O_CLOEXEC) != 0 || pipe2(perr, O_CLOEXEC) != 0 ||
	    fcntl(pout[0], F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(perr[0], F_SETFL, O_NONBLOCK) != 0) {
		cause = xasprintf("cannot create a pipe: %s", strerror(errno));
		goto fail;
	}
	/* a plain line runs without the shell, as make does; if it
	 * cannot start so, the shell runs it (and says why, as always) */
	if (n->kind == NODE_RUN && j->pwd != NULL)
		words = shline_words(n->run);
	envp = env_build(j, i, attempt, out_path, met_path,
	    words != NULL ? j->pwd : NULL);

again:
	memset(&sp, 0, sizeof sp);
	sp.node = n->id;
	if (n->kind == NODE_HTTP) {
		/* its request file is made in io/, the owner's: as them */
		as_owner(j, true);
		used = http_prepare(j, i, envp, httpargv, &cause);
		as_owner(j, false);
		if (used != 0)
			goto fail;
		used = -1;
		sp.argv = httpargv;
		sp.paths = xcalloc(2, sizeof *sp.paths);
		sp.paths[0] = xstrdup(j->self);
	} else if (words != NULL) {
		sp.argv = words;
		rs = job_resolve(j, words[0], envp);
		sp.paths = rs->paths;
	} else if (n->kind == NODE_RUN) {
		shargv[0] = sh_name;
		shargv[1] = sh_c;
		shargv[2] = n->run;
		shargv[3] = NULL;
		sp.argv = shargv;
		rs = job_resolve(j, "/bin/sh", envp);
		sp.paths = rs->paths;
	} else {
		sp.argv = n->argv;
		rs = job_resolve(j, n->argv[0], envp);
		sp.paths = rs->paths;
	}
	sp.envp = envp;
	sp.cwd = j->workdir;
	sp.stdout_fd = pout[1];
	sp.stderr_fd = perr[1];
	sp.umask = 077;
	sp.set_ids = j->set_ids;
	sp.uid = j->uid;
	sp.gid = j->gid;
	sp.groups = j->groups;
	sp.ngroups = j->ngroups;
	fill_rlimits(&sp, n);
	sp.path_used = &used;
	/* no pidfd: the loop reaps nodes on SIGCHLD, which it reads
	 * anyway, and saves a descriptor and two epoll_ctl a node */
	pid = spawn_start(&sp, NULL, &cause);
	if (rs == NULL)
		spawn_free_paths(sp.paths);	/* an http node's */
	else if (pid >= 0)
		job_resolved(rs, used);
	if (pid < 0 && words != NULL) {
		shline_free(words);
		words = NULL;
		rs = NULL;
		free(cause);
		cause = NULL;
		goto again;
	}
	close(pout[1]);
	close(perr[1]);
	pout[1] = perr[1] = -1;
	if (pid < 0)
		goto fail;

	proc_reset(j, i, attempt);
	np->pid = pid;
	sink_init(&np->out, pout[0], j, i, "stdout.log", attempt,
	    n->log_limit);
	sink_init(&np->err, perr[0], j, i, "stderr.log", attempt,
	    n->log_limit);
	if (loop_add_fd(j->loop, pout[0], EPOLLIN, sink_read, np) != 0 ||
	    loop_add_fd(j->loop, perr[0], EPOLLIN, sink_read, np) != 0 ||
	    loop_watch_child(j->loop, pid, pidfd, child_exited, np) != 0) {
		/* cannot happen short of ENOMEM in epoll: kill and fail */
		job_log(j, LOG_ERROR, i, "internal", "cannot watch pid %ld: %s",
		    (long)pid, strerror(errno));
		spawn_kill_group(pid, SIGKILL);
		abort();
	}
	j->running++;
	if (j->slots != NULL)
		(*j->slots)++;
	journal_add(j->jr, loop_wallclock(), "start", "node", n->id,
	    "attempt", units_int(attempt, b1), "pid", units_int(pid, b2),
	    "pgid", units_int(pid, b3), (char *)NULL);
	job_log(j, LOG_INFO, i, "start", "attempt=%d pid=%ld", attempt,
	    (long)pid);
	goto out;

fail:
	if (pout[0] >= 0)
		close(pout[0]);
	if (pout[1] >= 0)
		close(pout[1]);
	if (perr[0] >= 0)
		close(perr[0]);
	if (perr[1] >= 0)
		close(perr[1]);
	fail_start(j, i, cause);
out:
	free(httpargv[2]);
	free(httpargv[3]);
	shline_free(words);
	env_build_free(j, envp);
	free(cause);
	free(out_path);
	free(met_path);
}

/* An http node's child failed: its RESULT file says why (reason, error,
 * retry_after_ms); *cause is replaced by that error. */
static void
http_result(struct job *j, size_t i, struct attempt_end *e, char **cause)
{
	char *path, *c2 = NULL, *end;
	struct kv *v = NULL;
	size_t nv = 0, k;
	int r;

	path = xasprintf("%s/io/%s.http.result", j->dir, j->m->nodes[i].id);
	if (parse_kv_file(j, AT_FDCWD, path, "the http result", false, &v,
	    &nv, &c2) != 0) {
		job_log(j, LOG_WARN, i, "http", "%s", c2);
		free(c2);
	}
	for (k = 0; k < nv; k++) {
		if (strcmp(v[k].key, "reason") == 0 &&
		    (r = reason_parse(v[k].value)) > 0)
			e->reason = (enum reason)r;
		else if (strcmp(v[k].key, "error") == 0) {
			free(*cause);
			*cause = xstrdup(v[k].value);
		} else if (strcmp(v[k].key, "retry_after_ms") == 0) {
			e->retry_after_ms = strtoll(v[k].value, &end, 10);
			if (*end != '\0' || e->retry_after_ms < 0)
				e->retry_after_ms = 0;
		}
	}
	kvfile_free(v, nv);
	free(path);
}

static bool	proc_of_job(pid_t, const char *, const char *);
static int	kill_strays(struct job *, size_t, int);
static int	kill_orphans(struct job *, size_t, int);

static void
kill_escalate(struct loop *l, void *arg)
{
	struct nodeproc *np = arg;

	(void)l;
	np->kill_timer = NULL;
	if (np->pid > 0) {
		job_log(np->job, LOG_WARN, np->node, "kill",
		    "SIGKILL after %ds", KILL_GRACE_MS / 1000);
		spawn_kill_group(np->pid, SIGKILL);
		(void)kill_strays(np->job, np->node, SIGKILL);
	}
}

/* SIGTERM to the node's process group now, SIGKILL after the grace. */
static void
kill_node(struct job *j, size_t i, int sig)
{
	struct nodeproc *np = &j->procs[i];

	if (np->slurm) {
		slurm_kill(j, i);
		return;
	}
	if (np->pid <= 0)
		return;
	spawn_kill_group(np->pid, sig);
	(void)kill_strays(j, i, sig);
	if (sig != SIGKILL && np->kill_timer == NULL)
		np->kill_timer = loop_timer_at(j->loop,
		    loop_now() + KILL_GRACE_MS, kill_escalate, np);
	np->killing = true;
}

static void
child_exited(struct loop *l, pid_t pid, int status, const struct rusage *ru,
    void *arg)
{
	struct nodeproc *np = arg;

	(void)pid;
	np->exited = true;
	np->status = status;
	np->ru = *ru;
	/* its pipes are at EOF unless something else holds them: read what
	 * is left now rather than wait for their events */
	sink_drain(l, np, &np->out);
	sink_drain(l, np, &np->err);
	/* what the node left behind in its group would hold the pipes open
	 * forever: nothing outlives a node (systemd's KillMode=control-group) */
	if (np->out.fd >= 0 || np->err.fd >= 0) {
		spawn_kill_group(np->pid, SIGTERM);
		/* its own process is gone: what it detached is ours now */
		(void)kill_orphans(np->job, np->node, SIGTERM);
		if (np->kill_timer == NULL)
			np->kill_timer = loop_timer_at(np->job->loop,
			    loop_now() + KILL_GRACE_MS, kill_escalate, np);
	}
	node_try_end(np);
}

/* Open, create and remove what the job owner may have touched (io/, the
 * work directory) with the owner's file-system ids, not the daemon's: a
 * link they planted is followed with their rights only, and what is made
 * is theirs. Only this thread's ids change (no setgroups, which glibc
 * applies to every thread). on false: back to our own. */
static void
as_owner(struct job *j, bool on)
{
	if (on)
		(void)fs_ids_enter(j->uid, j->gid, j->set_ids, &j->fs_saved);
	else
		fs_ids_leave(&j->fs_saved);
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

static void	node_end(struct nodeproc *, struct attempt_end *, char *);

/* An attempt is over once its process exited and both pipes reached EOF. */
static void
node_try_end(struct nodeproc *np)
{
	struct job *j = np->job;
	size_t i = np->node;
	struct attempt_end e;
	int nstray;

	if (!np->exited || np->out.fd >= 0 || np->err.fd >= 0)
		return;
	if (np->kill_timer != NULL) {
		loop_timer_cancel(j->loop, np->kill_timer);
		np->kill_timer = NULL;
	}
	/* detached processes that let go of the pipes: nothing outlives
	 * its node */
	if ((nstray = kill_orphans(j, i, SIGKILL)) > 0)
		job_log(j, LOG_WARN, i, "leftover",
		    "killed %d process(es) left behind by the node", nstray);
	sink_finish(&np->out);
	sink_finish(&np->err);

	memset(&e, 0, sizeof e);
	e.exit_code = -1;
	if (WIFEXITED(np->status))
		e.exit_code = WEXITSTATUS(np->status);
	else if (WIFSIGNALED(np->status))
		e.signal = WTERMSIG(np->status);
	e.reason = sched_classify(e.exit_code < 0 ? 0 : e.exit_code, e.signal);
	e.cpu_ms = (int64_t)np->ru.ru_utime.tv_sec * 1000 +
	    np->ru.ru_utime.tv_usec / 1000 +
	    (int64_t)np->ru.ru_stime.tv_sec * 1000 +
	    np->ru.ru_stime.tv_usec / 1000;
	e.max_rss_kb = np->ru.ru_maxrss;
	node_end(np, &e, NULL);
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
	const struct node	*n;
	char			*dest;		/* DIR/outputs/NODE */
	bool			 set_ids;
	struct bundle_owner	 owner;
	gid_t			*groups;
	size_t			 ngroups;
	char			*copy_cause;	/* why the copy failed */
};

static void	node_end_rest(struct ending *);

static void
ending_free(struct ending *en)
{
	free(en->metrics);
	kvfile_free(en->mv, en->nm);
	kvfile_free(en->ov, en->no);
	free(en->cause);
	free(en->copy_cause);
	free(en->dest);
	free(en);
}

/* Copy the declared outputs with the owner's groups and file-system ids,
 * for the calling thread alone (the raw system calls: glibc's setgroups
 * would change every thread's); ours come back after. */
static void
ending_copy(struct ending *en)
{
	struct fs_ids old;
	gid_t saved[64];
	long nsaved = 0;
	size_t k;

	if (en->workdir_fd < 0) {
		en->copy_cause = xstrdup(en->workdir_err != NULL ?
		    en->workdir_err : "no work directory");
		return;
	}
	if (en->set_ids) {
		nsaved = syscall(SYS_getgroups, 64, saved);
		if (nsaved < 0 || syscall(SYS_setgroups, en->ngroups,
		    en->groups) != 0 || fs_ids_enter(en->owner.uid,
		    en->owner.gid, 1, &old) != 0) {
			en->copy_cause = xasprintf("cannot take the ids of "
			    "uid %ld: %s", (long)en->owner.uid,
			    strerror(errno));
			if (nsaved >= 0)
				(void)syscall(SYS_setgroups, nsaved, saved);
			return;
		}
	}
	for (k = 0; en->copy_cause == NULL && k < en->n->noutputs; k++)
		(void)bundle_collect_output(en->workdir_fd, en->n->outputs[k],
		    en->dest, en->set_ids ? &en->owner : NULL,
		    &en->copy_cause);
	if (en->set_ids) {
		fs_ids_leave(&old);
		(void)syscall(SYS_setgroups, nsaved, saved);
	}
}

/* The copy is done: the attempt's end goes on, on the loop. */
static void
ending_done(void *arg)
{
	struct ending *en = arg;

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
	en->workdir_fd = j->workdir_fd;
	en->workdir_err = j->workdir_err;
	en->n = &j->m->nodes[en->np->node];
	en->dest = xasprintf("%s/outputs/%s", j->dir, en->n->id);
	en->set_ids = j->set_ids;
	en->owner.uid = j->uid;
	en->owner.gid = j->gid;
	en->groups = j->groups;
	en->ngroups = j->ngroups;
	if (j->copier == NULL)
		j->copier = worker_new(j->loop);
	en->np->ending = en;
	worker_run(j->copier, ending_work, ending_done, en);
}

/* The attempt of np ended as e says (cause: an error line, taken, or
 * NULL): read what it left, journal its end, tell the scheduler. */
static void
node_end(struct nodeproc *np, struct attempt_end *ep, char *cause)
{
	struct job *j = np->job;
	size_t i = np->node, k;
	const struct node *n = &j->m->nodes[i];
	struct ending *en;
	char *path, *c2 = NULL;
	int iofd;
	bool side;

	np->pid = 0;
	np->slurm_live = false;
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

	as_owner(j, true);
	/* most nodes leave no side file: one look at io/ saves two
	 * failing opens (not for Slurm's: another machine makes them,
	 * which inotify does not see) */
	side = np->slurm || io_may_hold(j);
	iofd = j->io_fd >= 0 ? j->io_fd : AT_FDCWD;
	path = !side ? NULL : iofd != AT_FDCWD ?
	    xasprintf("%s.metrics", n->id) :
	    xasprintf("%s/io/%s.metrics", j->dir, n->id);
	if (side && parse_kv_file(j, iofd, path, "$DAGEXEC_METRICS", true,
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
		if (iofd != AT_FDCWD)
			path = xasprintf("%s.output", n->id);
		else
			path = xasprintf("%s/io/%s.output", j->dir, n->id);
		if (parse_kv_file(j, iofd, path, "$DAGEXEC_OUTPUT", false,
		    &en->ov, &en->no, &en->cause) != 0)
			en->e.reason = REASON_OUTPUT_MISSING;
		free(path);
	}
	if (n->kind == NODE_HTTP) {
		/* the resolved request may hold a templated secret */
		path = xasprintf("%s/io/%s.http.json", j->dir, n->id);
		(void)unlink(path);
		free(path);
	}
	as_owner(j, false);
	if (en->e.reason == REASON_NONE && n->noutputs > 0)
		ending_copy_start(j, en);
	else
		node_end_rest(en);
}

/* The rest of an attempt's end, once its outputs are copied. */
static void
node_end_rest(struct ending *en)
{
	struct nodeproc *np = en->np;
	struct job *j = np->job;
	size_t i = np->node, k;
	const struct node *n = &j->m->nodes[i];
	char b1[UNITS_INT_LEN], b2[UNITS_INT_LEN], b3[UNITS_INT_LEN],
	    b4[UNITS_INT_LEN], b5[UNITS_INT_LEN];
	const struct node_run *run;

	np->ending = NULL;
	if (n->kind == NODE_HTTP && en->e.exit_code > 0)
		http_result(j, i, &en->e, &en->cause);
	en->e.error = en->cause;
	if (en->e.reason == REASON_NONE) {
		kvfile_free(np->outputs, np->noutputs);
		np->outputs = en->ov;
		np->noutputs = en->no;
		en->ov = NULL;
		en->no = 0;
		for (k = 0; k < np->noutputs; k++)
			journal_add(j->jr, loop_wallclock(), "output",
			    "node", n->id, "key", np->outputs[k].key,
			    "value", np->outputs[k].value, (char *)NULL);
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
	job_pump(j);
}

/* ---- slurm nodes (issue 6) ---------------------------------------------- */

static void	state_touch(struct job *);

static char *
slurm_io(const struct job *j, size_t i, int attempt, const char *ext)
{
	return xasprintf("%s/io/%s.%d.%s", j->dir, j->m->nodes[i].id,
	    attempt, ext);
}

static void
slurm_ids_of(const struct job *j, struct slurm_ids *ids)
{
	ids->set_ids = j->set_ids;
	ids->uid = j->uid;
	ids->gid = j->gid;
	ids->groups = j->groups;
	ids->ngroups = j->ngroups;
}

/*
 * Append the file Slurm wrote for a stream of the attempt to the node's
 * log through ls (capped like a pipe's output), then remove it. The file
 * is opened with the owner's rights and must be a plain file of theirs.
 * *oom: the text says Slurm killed the job for memory.
 */
static void
slurm_copy_log(struct job *j, struct logsink *ls, const char *path, bool *oom)
{
	char buf[READ_CHUNK], win[256];
	struct stat st;
	ssize_t n;
	size_t keep = 0, w;
	int fd;

	as_owner(j, true);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	as_owner(j, false);
	if (fd < 0)
		goto out;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (j->set_ids && st.st_uid != j->uid)) {
		log_event(LOG_WARN, j->id, NULL, "slurm",
		    "'%s' is not a plain file of the job's user", path);
		close(fd);
		goto out;
	}
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		sink_write(ls, buf, (size_t)n);
		/* a mark cut by the chunk border is seen in the window */
		w = (size_t)n < sizeof win - keep ? (size_t)n :
		    sizeof win - keep;
		memcpy(win + keep, buf, w);
		if (slurm_says_oom(buf, (size_t)n) ||
		    slurm_says_oom(win, keep + w))
			*oom = true;
		keep = (size_t)n < 64 ? (size_t)n : 64;
		memcpy(win, buf + n - (ssize_t)keep, keep);
	}
	close(fd);
out:
	as_owner(j, true);
	(void)unlink(path);
	as_owner(j, false);
}

/* The Slurm job of np's attempt reached a final state (the tracker). */
static void
slurm_finished(const struct slurm_job_state *st, void *arg)
{
	struct nodeproc *np = arg;
	struct job *j = np->job;
	size_t i = np->node;
	const struct node *n = &j->m->nodes[i];
	struct attempt_end e;
	enum reason r;
	char *path, *cause = NULL;
	bool oom = false;
	int code, sig;

	memset(&e, 0, sizeof e);
	if (!slurm_map(st->state, st->wstatus, &r, &code, &sig))
		return;		/* not final: the tracker does not call */
	e.reason = r;
	e.exit_code = code;
	e.signal = sig;
	sink_init(&np->out, -1, j, i, "stdout.log", np->attempt,
	    n->log_limit);
	sink_init(&np->err, -1, j, i, "stderr.log", np->attempt,
	    n->log_limit);
	path = slurm_io(j, i, np->attempt, "out");
	slurm_copy_log(j, &np->out, path, &oom);
	free(path);
	path = slurm_io(j, i, np->attempt, "err");
	slurm_copy_log(j, &np->err, path, &oom);
	free(path);
	sink_finish(&np->out);
	sink_finish(&np->err);
	path = slurm_io(j, i, np->attempt, "sbatch");
	as_owner(j, true);
	(void)unlink(path);	/* it holds the node's environment */
	as_owner(j, false);
	free(path);

	if (r == REASON_EXIT && code == SLURM_EXIT_CHDIR) {
		e.reason = REASON_SPAWN_ERROR;
		cause = xasprintf("Slurm job %s cannot enter the work "
		    "directory '%s': it must be on a filesystem the Slurm "
		    "nodes share", st->id, j->workdir);
	} else if (oom && r != REASON_NONE && r != REASON_CANCELLED) {
		e.reason = REASON_OOM;
		cause = xasprintf("Slurm job %s was killed for memory "
		    "(limit %s)", st->id, n->slurm.mem > 0 ||
		    (n->limit_set & (1u << LIMIT_MEMORY)) ? "from the manifest" :
		    "of the partition");
	} else if (r == REASON_OOM)
		cause = xasprintf("Slurm job %s ran out of memory", st->id);
	else if (r == REASON_TIMEOUT)
		cause = xasprintf("Slurm job %s reached its time limit",
		    st->id);
	else if (r == REASON_CANCELLED)
		cause = xasprintf("Slurm job %s was cancelled", st->id);
	else if (r == REASON_LOST)
		cause = xasprintf("Slurm job %s ended as %s", st->id,
		    st->state);
	job_log(j, LOG_INFO, i, "slurm", "job %s %s", st->id, st->state);
	free(np->slurm_id);
	np->slurm_id = NULL;
	node_end(np, &e, cause);
}

/* From now on np's attempt is Slurm job id: on file first (journal = true:
 * fsynced before anything relies on it), then tracked. */
static void
slurm_attach(struct nodeproc *np, const char *id, bool journal)
{
	struct job *j = np->job;
	size_t i = np->node;
	char *a, *cause = NULL;

	np->slurm_id = xstrdup(id);
	if (j->slurm_jobs == NULL)
		j->slurm_jobs = xcalloc(j->m->nnodes, sizeof *j->slurm_jobs);
	free(j->slurm_jobs[i]);
	j->slurm_jobs[i] = xstrdup(id);
	if (journal) {
		a = num(np->attempt);
		journal_add(j->jr, loop_wallclock(), "slurm_job", "node",
		    j->m->nodes[i].id, "attempt", a, "id", id, (char *)NULL);
		free(a);
		if (journal_sync(j->jr, &cause) != 0) {
			job_log(j, LOG_ERROR, i, "journal", "%s", cause);
			free(cause);
		}
	}
	(void)slurm_track(j->loop, id, slurm_finished, np);
	job_log(j, LOG_INFO, i, "slurm", "attempt=%d job %s%s", np->attempt,
	    id, journal ? "" : " (adopted)");
	if (np->killing)	/* asked while sbatch ran */
		slurm_cancel(j->loop, id);
	state_touch(j);
}

/* The first line of a command's output, for an error message. */
static char *
first_line(const char *out, size_t len)
{
	const char *e = memchr(out, '\n', len);
	size_t n = e != NULL ? (size_t)(e - out) : len;

	return log_escape(out, n > 300 ? 300 : n);
}

static void
slurm_submitted(int status, const char *out, size_t len, void *arg)
{
	struct nodeproc *np = arg;
	struct job *j = np->job;
	struct attempt_end e;
	char *id = NULL, *line, *cause, *path;

	np->slurm_cmd = NULL;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    slurm_parse_submit(out, len, &id) == 0) {
		slurm_attach(np, id, true);
		free(id);
		return;
	}
	memset(&e, 0, sizeof e);
	e.exit_code = -1;
	/* a controller that does not answer is worth a retry; a request
	 * Slurm refuses is not */
	if (memmem(out, len, "Unable to contact slurm controller", 34) ||
	    memmem(out, len, "Socket timed out", 16) ||
	    memmem(out, len, "temporarily unable", 18))
		e.reason = REASON_LOST;
	else
		e.reason = REASON_SPAWN_ERROR;
	line = first_line(out, len);
	cause = xasprintf("sbatch failed (%s %d): %s",
	    WIFEXITED(status) ? "status" : "signal", WIFEXITED(status) ?
	    WEXITSTATUS(status) : WTERMSIG(status), *line != '\0' ? line :
	    "no output");
	free(line);
	path = slurm_io(j, np->node, np->attempt, "sbatch");
	as_owner(j, true);
	(void)unlink(path);
	as_owner(j, false);
	free(path);
	node_end(np, &e, cause);
}

static void
slurm_fail(struct nodeproc *np, char *cause)
{
	struct attempt_end e;

	memset(&e, 0, sizeof e);
	e.exit_code = -1;
	e.reason = REASON_SPAWN_ERROR;
	job_log(np->job, LOG_WARN, np->node, "spawn-error", "%s", cause);
	node_end(np, &e, cause);
}

/* Write the attempt's batch script and run sbatch as the job's user. */
static void
slurm_submit(struct nodeproc *np)
{
	struct job *j = np->job;
	size_t i = np->node;
	const struct node *n = &j->m->nodes[i];
	struct slurm_ids ids;
	char *out_path, *met_path, **envp, *text, *script, *so, *se;
	char **argv, **env, *a, *cause = NULL;
	int rc;

	out_path = xasprintf("%s/io/%s.output", j->dir, n->id);
	met_path = xasprintf("%s/io/%s.metrics", j->dir, n->id);
	script = slurm_io(j, i, np->attempt, "sbatch");
	so = slurm_io(j, i, np->attempt, "out");
	se = slurm_io(j, i, np->attempt, "err");
	envp = env_build(j, i, np->attempt, out_path, met_path, NULL);
	text = slurm_script(envp, j->workdir, n->kind == NODE_RUN ? n->run :
	    NULL, n->argv);
	/* the script is the user's: sbatch reads it as them */
	as_owner(j, true);
	if (j->resumed) {
		(void)unlink(out_path);
		(void)unlink(met_path);
	}
	rc = fs_write_atomic(script, text, strlen(text), 0600, &cause);
	as_owner(j, false);
	env_build_free(j, envp);
	free(text);
	if (rc != 0) {
		slurm_fail(np, cause);
		goto out;
	}
	/* on file before sbatch runs: a restart looks the attempt up by its
	 * comment instead of submitting it twice */
	a = num(np->attempt);
	journal_add(j->jr, loop_wallclock(), "start", "node", n->id,
	    "attempt", a, "executor", "slurm", (char *)NULL);
	free(a);
	if (journal_sync(j->jr, &cause) != 0) {
		job_log(j, LOG_ERROR, i, "journal", "%s", cause);
		free(cause);
		cause = NULL;
	}
	argv = slurm_sbatch_argv(n, j->m->name, j->id, np->attempt, script,
	    so, se, j->workdir);
	env = slurm_env(j->base_env);
	slurm_ids_of(j, &ids);
	np->slurm_cmd = slurm_cmd_run(j->loop, argv, env, &ids,
	    slurm_submitted, np, &cause);
	slurm_argv_free(argv);
	slurm_argv_free(env);
	if (np->slurm_cmd == NULL) {
		slurm_fail(np, cause);
		goto out;
	}
	job_log(j, LOG_INFO, i, "submit", "attempt=%d", np->attempt);
out:
	free(out_path);
	free(met_path);
	free(script);
	free(so);
	free(se);
}

static void	slurm_lookup(struct nodeproc *);

static void
slurm_lookup_again(struct loop *l, void *arg)
{
	struct nodeproc *np = arg;

	(void)l;
	np->kill_timer = NULL;
	slurm_lookup(np);
}

/* Resume found the attempt on file but not its Slurm id: find it by its
 * comment, or submit it when Slurm never got it. */
static void
slurm_looked_up(int status, const char *out, size_t len, void *arg)
{
	struct nodeproc *np = arg;
	struct job *j = np->job;
	struct slurm_job_state *st = NULL;
	size_t nst = 0, k;
	char *want, *cause = NULL;

	np->slurm_cmd = NULL;
	if (status != 0 || slurm_parse_queue(out, len, &st, &nst,
	    &cause) != 0) {
		job_log(j, LOG_WARN, np->node, "slurm", "cannot look the "
		    "attempt up, again in 5s: %s", cause != NULL ? cause :
		    "squeue failed");
		free(cause);
		np->kill_timer = loop_timer_at(j->loop, loop_now() + 5000,
		    slurm_lookup_again, np);
		return;
	}
	want = slurm_comment(j->id, j->m->nodes[np->node].id, np->attempt);
	for (k = 0; k < nst; k++)
		if (st[k].comment != NULL && strcmp(st[k].comment, want) == 0)
			break;
	if (k < nst)
		slurm_attach(np, st[k].id, true);
	else if (np->killing) {
		/* stopped before it ever reached Slurm */
		struct attempt_end e;

		memset(&e, 0, sizeof e);
		e.exit_code = -1;
		e.reason = REASON_CANCELLED;
		node_end(np, &e, NULL);
	} else
		slurm_submit(np);
	free(want);
	slurm_states_free(st, nst);
}

static void
slurm_lookup(struct nodeproc *np)
{
	struct job *j = np->job;
	char **argv, **env, *name, *cause = NULL;

	name = xasprintf("%s/%s", j->m->name, j->m->nodes[np->node].id);
	argv = slurm_queue_argv(NULL, 0, name);
	env = slurm_env(NULL);
	np->slurm_cmd = slurm_cmd_run(j->loop, argv, env, NULL,
	    slurm_looked_up, np, &cause);
	slurm_argv_free(argv);
	slurm_argv_free(env);
	free(name);
	if (np->slurm_cmd == NULL)
		slurm_fail(np, cause);
}

/* Start (or, resuming, adopt) attempt of Slurm node i. */
static void
slurm_start(struct job *j, size_t i, int attempt)
{
	struct nodeproc *np = &j->procs[i];
	int adopt = np->adopt_attempt;
	char *adopt_id = np->adopt_id;

	proc_reset(j, i, attempt);
	np->slurm = true;
	np->slurm_live = true;
	np->out.fd = np->err.fd = -1;
	np->out.file = np->err.file = -1;
	j->running++;
	if (j->slots != NULL)
		(*j->slots)++;
	if (adopt == attempt && adopt_id != NULL)
		slurm_attach(np, adopt_id, false);
	else if (adopt == attempt)
		slurm_lookup(np);
	else
		slurm_submit(np);
	free(adopt_id);
}

/* Stop following a Slurm node without touching its Slurm job: the daemon
 * is going away and a restart re-adopts it. No end goes on file. */
static void
slurm_detach(struct job *j, size_t i)
{
	struct nodeproc *np = &j->procs[i];
	struct attempt_end e;

	if (np->slurm_id != NULL)
		slurm_untrack(np->slurm_id, np);
	slurm_cmd_forget(j->loop, np->slurm_cmd);
	np->slurm_cmd = NULL;
	if (np->kill_timer != NULL)
		loop_timer_cancel(j->loop, np->kill_timer);
	np->kill_timer = NULL;
	job_log(j, LOG_WARN, i, "slurm", "left running on Slurm%s%s: a "
	    "restart adopts it", np->slurm_id != NULL ? " as job " : "",
	    np->slurm_id != NULL ? np->slurm_id : "");
	free(np->slurm_id);
	np->slurm_id = NULL;
	np->slurm_live = false;
	j->running--;
	if (j->slots != NULL)
		(*j->slots)--;
	memset(&e, 0, sizeof e);
	e.exit_code = -1;
	e.reason = REASON_CANCELLED;
	sched_ended(j->s, i, loop_now(), &e);
}

/* Until the tracker sees the cancelled job end, scancel again now and
 * then: a controller that did not answer must not let a timeout pass. */
static void
slurm_cancel_again(struct loop *l, void *arg)
{
	struct nodeproc *np = arg;

	np->kill_timer = NULL;
	if (!np->slurm_live)
		return;
	if (np->slurm_id != NULL)
		slurm_cancel(l, np->slurm_id);
	np->kill_timer = loop_timer_at(l, loop_now() + SLURM_RECANCEL_MS,
	    slurm_cancel_again, np);
}

/* kill_node for a Slurm node: scancel (or, interrupted without
 * --cancel-remote, let it run on). */
static void
slurm_kill(struct job *j, size_t i)
{
	struct nodeproc *np = &j->procs[i];

	if (!np->slurm_live)
		return;
	if (j->interrupted && !j->cancel_remote) {
		slurm_detach(j, i);
		return;
	}
	if (np->killing)
		return;
	np->killing = true;
	if (np->slurm_id != NULL)
		slurm_cancel(j->loop, np->slurm_id);
	/* else sbatch is running: slurm_attach cancels */
	if (np->kill_timer == NULL)
		np->kill_timer = loop_timer_at(j->loop, loop_now() +
		    SLURM_RECANCEL_MS, slurm_cancel_again, np);
}

/* ---- state -------------------------------------------------------------- */

static void
fill_state_job(const struct job *j, struct state_job *sj)
{
	sj->job = j->id;
	sj->status = sched_status(j->s);
	sj->mono_base_ms = j->mono_base;
	sj->wall_base_ms = j->wall_base;
	sj->started_ms = j->started;
	sj->finished_ms = j->finished;
	sj->notify_status = j->notify_status;
	sj->notify_error = j->notify_error;
	sj->slurm_jobs = (const char *const *)j->slurm_jobs;
}


/* The calling thread's CPU time in microseconds (0 if it cannot be read). */
static int64_t
thread_cpu_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * The rewrites while the job runs are rendered on the loop but written
 * (create, write, fsync, rename, fsync of the directory) by a thread of
 * the job's: at 10,000 nodes the write is most of a rewrite's cost, and the
 * loop would wait for the disk with its node slots idle. One write at a
 * time, in order; state_flush (the last state, and those of notify) waits
 * until the thread is idle and writes itself. The first state of a new
 * job, every node pending, is rendered by the thread too (from the
 * manifest alone: no scheduler record is read off the loop's thread).
 */
struct statew {
	pthread_t	 thr;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	const char	*path;
	uid_t		 uid;		/* state.yaml is the job owner's */
	gid_t		 gid;		/*   ((uid_t)-1: ours) */
	char		*text;		/* to write; NULL: none */
	size_t		 len;
	const struct manifest *pending_m; /* to render all pending, with */
	struct state_job pending_sj;	/*   these job fields; NULL: none */
	bool		 busy;		/* writing */
	bool		 quit;
	char		*err;		/* why the last write failed */
	int64_t		 cost;		/* CPU us the last write took */
};

static void *
statew_main(void *arg)
{
	struct statew *sw = arg;
	const struct manifest *pm;
	struct state_job psj;
	char *text, *cause;
	size_t len;
	int64_t t0;
	int rc;

	pthread_mutex_lock(&sw->mu);
	for (;;) {
		while (sw->text == NULL && sw->pending_m == NULL && !sw->quit)
			pthread_cond_wait(&sw->cv, &sw->mu);
		if (sw->text == NULL && sw->pending_m == NULL)
			break;
		text = sw->text;
		len = sw->len;
		sw->text = NULL;
		pm = sw->pending_m;
		psj = sw->pending_sj;
		sw->pending_m = NULL;
		sw->busy = true;
		pthread_mutex_unlock(&sw->mu);

		cause = NULL;
		t0 = thread_cpu_us();
		if (text == NULL)
			text = state_render(pm, NULL, &psj, &len);
		rc = fs_write_atomic_owned(sw->path, text, len, 0600, sw->uid,
		    sw->gid, &cause);
		free(text);

		pthread_mutex_lock(&sw->mu);
		sw->busy = false;
		sw->cost = thread_cpu_us() - t0;
		if (rc != 0) {
			free(sw->err);
			sw->err = cause;
		}
		pthread_cond_broadcast(&sw->cv);
	}
	pthread_mutex_unlock(&sw->mu);
	return NULL;
}

/* The writer thread, started on first use with every signal blocked (the
 * loop reads them from its signalfd: none may be taken by this thread).
 * NULL when it cannot be started: then the loop writes. */
static struct statew *
statew_get(struct job *j)
{
	struct statew *sw;
	sigset_t all, old;
	int rc;

	if (j->sw != NULL)
		return j->sw;
	sw = xcalloc(1, sizeof *sw);
	sw->path = j->state_path;
	sw->uid = j->set_ids ? j->uid : (uid_t)-1;
	sw->gid = j->gid;
	pthread_mutex_init(&sw->mu, NULL);
	pthread_cond_init(&sw->cv, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&sw->thr, NULL, statew_main, sw);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&sw->cv);
		pthread_mutex_destroy(&sw->mu);
		free(sw);
		return NULL;
	}
	j->sw = sw;
	return sw;
}

/* What the thread last did: a failed write is logged, and how long its
 * last write took (ms) is returned. With wait, once it has nothing left
 * to do; else *busy says whether it is still writing. Called with the
 * lock not held. */
static int64_t
statew_take(struct job *j, bool wait, bool *busy)
{
	struct statew *sw = j->sw;
	char *err;
	int64_t cost;

	if (busy != NULL)
		*busy = false;
	if (sw == NULL)
		return 0;
	pthread_mutex_lock(&sw->mu);
	while (wait && (sw->busy || sw->text != NULL || sw->pending_m != NULL))
		pthread_cond_wait(&sw->cv, &sw->mu);
	if (busy != NULL)
		*busy = sw->busy || sw->text != NULL || sw->pending_m != NULL;
	err = sw->err;
	sw->err = NULL;
	cost = sw->cost;
	pthread_mutex_unlock(&sw->mu);
	if (err != NULL) {
		job_log(j, LOG_ERROR, SIZE_MAX, "state", "%s", err);
		free(err);
	}
	return cost;
}

static void
statew_stop(struct job *j)
{
	struct statew *sw = j->sw;

	if (sw == NULL)
		return;
	pthread_mutex_lock(&sw->mu);
	sw->quit = true;
	pthread_cond_signal(&sw->cv);
	pthread_mutex_unlock(&sw->mu);
	pthread_join(sw->thr, NULL);
	free(sw->text);
	free(sw->err);
	pthread_cond_destroy(&sw->cv);
	pthread_mutex_destroy(&sw->mu);
	free(sw);
	j->sw = NULL;
}

static void	state_timer_cb(struct loop *, void *);
static void	state_flush(struct job *);

/* A rewrite that took cost us of CPU: a rewrite costs O(nodes), so they
 * are spaced for writing the state to take at most a hundredth of the time,
 * whatever the DAG's size (and never more often than STATE_INTERVAL_MS).
 * CPU, not wall time: a loaded machine or a slow fsync stretches the wall
 * time of a write, not its work, and must not make the state go stale. */
static void
state_space(struct job *j, int64_t cost)
{
	int64_t ms = cost * STATE_COST_SHARE / 1000;

	j->state_interval = ms > STATE_INTERVAL_MS ? ms : STATE_INTERVAL_MS;
}

/* A rewrite while the job runs: rendered here, written by the thread. */
static void
state_flush_async(struct job *j)
{
	struct statew *sw;
	struct state_job sj;
	char *text;
	size_t len;
	int64_t t0, cost;
	bool busy;

	if ((sw = statew_get(j)) == NULL) {
		state_flush(j);
		return;
	}
	cost = statew_take(j, false, &busy);
	if (busy) {
		/* the last one is still being written: try again later */
		if (j->state_timer == NULL)
			j->state_timer = loop_timer_at(j->loop, loop_now() +
			    STATE_INTERVAL_MS, state_timer_cb, j);
		return;
	}
	t0 = thread_cpu_us();
	fill_state_job(j, &sj);
	text = state_render(j->m, j->s, &sj, &len);
	pthread_mutex_lock(&sw->mu);
	sw->text = text;
	sw->len = len;
	pthread_cond_signal(&sw->cv);
	pthread_mutex_unlock(&sw->mu);
	j->last_state = loop_now();
	j->state_dirty = false;
	/* as state_flush, with the thread's last write in the cost: the
	 * state is rewritten as often as when the loop wrote it */
	state_space(j, cost + thread_cpu_us() - t0);
}

/* The first state of a new job, every node pending: rendered and written
 * by the thread while the first nodes start. A resumed job's first state
 * has records the loop owns: rendered here. */
static void
state_flush_first(struct job *j)
{
	struct statew *sw;

	if (j->resumed || (sw = statew_get(j)) == NULL) {
		state_flush_async(j);
		return;
	}
	pthread_mutex_lock(&sw->mu);
	fill_state_job(j, &sw->pending_sj);
	/* no Slurm job yet; the thread reads nothing the loop changes */
	sw->pending_sj.slurm_jobs = NULL;
	sw->pending_m = j->m;
	pthread_cond_signal(&sw->cv);
	pthread_mutex_unlock(&sw->mu);
	j->last_state = loop_now();
	j->state_dirty = false;
}

static void
state_flush(struct job *j)
{
	struct state_job sj;
	char *cause = NULL, *text;
	size_t len;
	int64_t t0;

	(void)statew_take(j, true, NULL);
	t0 = thread_cpu_us();
	fill_state_job(j, &sj);
	text = state_render(j->m, j->s, &sj, &len);
	if (fs_write_atomic_owned(j->state_path, text, len, 0600,
	    j->set_ids ? j->uid : (uid_t)-1, j->gid, &cause) != 0) {
		job_log(j, LOG_ERROR, SIZE_MAX, "state", "%s", cause);
		free(cause);
		j->end_failed = true;
	}
	free(text);
	j->last_state = loop_now();
	j->state_dirty = false;
	state_space(j, thread_cpu_us() - t0);
}

static void
state_timer_cb(struct loop *l, void *arg)
{
	struct job *j = arg;

	(void)l;
	j->state_timer = NULL;
	if (j->state_dirty && !j->done)
		state_flush_async(j);
}

static void
state_touch(struct job *j)
{
	int64_t now = loop_now();

	j->state_dirty = true;
	if (j->state_timer != NULL)
		return;
	if (now - j->last_state >= j->state_interval)
		state_flush_async(j);
	else
		j->state_timer = loop_timer_at(j->loop,
		    j->last_state + j->state_interval, state_timer_cb, j);
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

	journal_add(j->jr, loop_wallclock(), "status", "node",
	    j->m->nodes[a->node].id, "status", st,
	    "reason", a->reason ? reason_name(a->reason) : NULL,
	    "error", r->error, (char *)NULL);
	/* skipped and cancelled nodes come by the thousand when a big DAG
	 * stops: a few are logged, the rest summed up by log_bulk_rest */
	if ((a->status == NS_SKIPPED || a->status == NS_CANCELLED) &&
	    j->nlogged[a->status]++ >= LOG_BULK_MAX)
		return;
	if (a->status == NS_SUCCEEDED)
		job_log(j, LOG_INFO, a->node, st, "attempts=%d", r->attempts);
	else
		job_log(j, a->status == NS_RETRYING ||
		    a->status == NS_SKIPPED ? LOG_INFO : LOG_WARN, a->node, st,
		    "%s", r->error ? r->error : "");
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

/* ---- notify (issue 5) --------------------------------------------------- */

static void
notify_exited(struct loop *l, pid_t pid, int status, const struct rusage *ru,
    void *arg)
{
	struct job *j = arg;
	struct kv *v = NULL;
	size_t nv = 0, k;
	char *path, *c2 = NULL;

	(void)l;
	(void)pid;
	(void)ru;
	j->notify_pid = 0;
	path = xasprintf("%s/io/.notify.result", j->dir);
	if (parse_kv_file(j, AT_FDCWD, path, "the notify result", false, &v,
	    &nv, &c2) != 0) {
		j->notify_error = c2;
		c2 = NULL;
	}
	for (k = 0; k < nv; k++) {
		if (strcmp(v[k].key, "status") == 0 &&
		    strcmp(v[k].value, "sent") == 0 && status == 0)
			j->notify_status = xstrdup("sent");
		else if (strcmp(v[k].key, "error") == 0 &&
		    j->notify_error == NULL)
			j->notify_error = xstrdup(v[k].value);
	}
	kvfile_free(v, nv);
	free(path);
	if (j->notify_status == NULL) {
		j->notify_status = xstrdup("failed");
		if (j->notify_error == NULL)
			j->notify_error = xasprintf("the notifier ended with "
			    "status %d", WIFEXITED(status) ?
			    WEXITSTATUS(status) : 128 + WTERMSIG(status));
		job_log(j, LOG_WARN, SIZE_MAX, "notify", "failed: %s",
		    j->notify_error);
	} else
		job_log(j, LOG_INFO, SIZE_MAX, "notify", "sent to %s",
		    j->m->notify->url);
	journal_add(j->jr, loop_wallclock(), "notify", "status",
	    j->notify_status, "error", j->notify_error, (char *)NULL);
	if (journal_write(j->jr, &c2) != 0) {
		job_log(j, LOG_ERROR, SIZE_MAX, "journal", "%s", c2);
		free(c2);
	}
	state_flush(j);
	j->notifying = false;
	if (j->on_finish != NULL)
		j->on_finish(j, j->arg);
}

/* When manifest.notify asks for this end, start `dagexec __notify URL
 * STATE RESULT` in a child process (it never blocks the loop). Returns 0
 * when one was started (notify_exited calls on_finish), else -1. */
static int
notify_start(struct job *j)
{
	const struct notify_spec *ns = j->m->notify;
	enum dag_status st = sched_status(j->s);
	struct spawn_spec sp;
	char *argv[7], *result, *cause = NULL;
	unsigned want;
	int pidfd = -1;
	pid_t pid;

	if (ns == NULL || st == DS_INTERRUPTED)
		return -1;
	want = st == DS_SUCCEEDED ? NOTIFY_ON_SUCCESS : NOTIFY_ON_FAILURE;
	if (!(ns->on & want))
		return -1;
	if (j->self == NULL) {
		j->notify_status = xstrdup("failed");
		j->notify_error = xstrdup("cannot find the dagexec binary "
		    "(/proc/self/exe)");
		state_flush(j);
		return -1;
	}
	result = xasprintf("%s/io/.notify.result", j->dir);
	as_owner(j, true);
	if (unlink(result) != 0 && errno != ENOENT)
		job_log(j, LOG_WARN, SIZE_MAX, "notify",
		    "cannot remove '%s': %s", result, strerror(errno));
	as_owner(j, false);
	argv[0] = http_argv0;
	argv[1] = xstrdup("__notify");
	argv[2] = ns->url;
	argv[3] = j->state_path;
	argv[4] = result;
	argv[5] = ns->insecure ? xstrdup("--insecure") : NULL;
	argv[6] = NULL;
	memset(&sp, 0, sizeof sp);
	sp.node = "notify";
	sp.argv = argv;
	sp.paths = xcalloc(2, sizeof *sp.paths);
	sp.paths[0] = xstrdup(j->self);
	sp.envp = j->base_env;
	sp.cwd = j->dir;
	sp.stdout_fd = -1;
	sp.stderr_fd = -1;
	sp.umask = 077;
	sp.set_ids = j->set_ids;
	sp.uid = j->uid;
	sp.gid = j->gid;
	sp.groups = j->groups;
	sp.ngroups = j->ngroups;
	pid = spawn_start(&sp, &pidfd, &cause);
	spawn_free_paths(sp.paths);
	free(argv[1]);
	free(argv[5]);
	free(result);
	if (pid < 0) {
		j->notify_status = xstrdup("failed");
		j->notify_error = cause;
		job_log(j, LOG_WARN, SIZE_MAX, "notify", "failed: %s", cause);
		state_flush(j);
		return -1;
	}
	if (loop_watch_child(j->loop, pid, pidfd, notify_exited, j) != 0) {
		job_log(j, LOG_ERROR, SIZE_MAX, "internal",
		    "cannot watch pid %ld: %s", (long)pid, strerror(errno));
		spawn_kill_group(pid, SIGKILL);
		abort();
	}
	j->notify_pid = pid;
	j->notifying = true;
	job_log(j, LOG_INFO, SIZE_MAX, "notify", "pid=%ld url=%s", (long)pid,
	    ns->url);
	return 0;
}

/* ---- the end: the pictures beside the final state ---------------------- */

/* summary.txt, timeline.svg and trace.json are each rendered and written by
 * a thread of their own while the loop writes the final state and the
 * graph: the end of a run is on the critical path of every `dagexec run`,
 * and each file's fsync is a wait the others need not queue behind. The
 * threads only read the finished job (nothing changes it any more) and
 * write into the job directory with the identity the state writer has:
 * the process's own, never a node owner's. */
#define FINALE_FILES	3

struct finale;

struct finale_file {
	struct finale		 *f;
	size_t			  k;		/* which of finale_names */
	pthread_t		  thr;
	bool			  threaded;
	char			 *cause;	/* why the file is missing */
};

struct finale {
	const struct manifest	 *m;
	const struct sched	 *s;
	const struct node_run	**runs;
	struct state_job	  sj;
	int64_t			  duration;
	const char		 *dir;
	struct finale_file	  file[FINALE_FILES];
};

static const char *const finale_names[FINALE_FILES] = {
	"summary.txt", "timeline.svg", "trace.json"
};

static void *
finale_main(void *arg)
{
	struct finale_file *ff = arg;
	struct finale *f = ff->f;
	FILE *fp;
	char *text = NULL, *path;
	size_t len = 0;

	switch (ff->k) {
	case 0:
		if ((fp = open_memstream(&text, &len)) == NULL)
			break;
		render_summary(fp, f->m, f->s, f->duration);
		if (fclose(fp) != 0) {
			free(text);
			text = NULL;
		}
		break;
	case 1:
		text = timeline_render(f->m, f->runs, &f->sj, &len);
		break;
	default:
		text = trace_render(f->m, f->runs, &f->sj, &len);
		break;
	}
	path = xasprintf("%s/%s", f->dir, finale_names[ff->k]);
	if (text == NULL)
		ff->cause = xasprintf("cannot render '%s': %s", path,
		    strerror(errno));
	else
		(void)fs_write_atomic(path, text, len, 0600, &ff->cause);
	free(path);
	free(text);
	return NULL;
}

/* Start the threads, with every signal blocked in them (the loop reads
 * them from its signalfd); a file no thread can be had for is done at the
 * join. */
static void
finale_start(struct job *j, struct finale *f)
{
	sigset_t all, old;
	size_t k;

	memset(f, 0, sizeof *f);
	f->m = j->m;
	f->s = j->s;
	f->runs = sched_runs(j->s);
	fill_state_job(j, &f->sj);
	f->duration = j->finished - j->started;
	f->dir = j->dir;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (k = 0; k < FINALE_FILES; k++) {
		f->file[k].f = f;
		f->file[k].k = k;
		f->file[k].threaded = pthread_create(&f->file[k].thr, NULL,
		    finale_main, &f->file[k]) == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Wait for the threads and log what they could not write. */
static void
finale_join(struct job *j, struct finale *f)
{
	struct finale_file *ff;
	size_t k;

	for (k = 0; k < FINALE_FILES; k++) {
		ff = &f->file[k];
		if (ff->threaded)
			pthread_join(ff->thr, NULL);
		else
			finale_main(ff);
		if (ff->cause != NULL) {
			job_log(j, LOG_ERROR, SIZE_MAX, "finish", "%s",
			    ff->cause);
			j->end_failed = true;
		}
		free(ff->cause);
	}
	free(f->runs);
}

/* Write the files of the job's end: the final state, summary.txt,
 * timeline.svg, trace.json and graph.dot, and sync the journal (with
 * journal, its finish is added first), while the threads render.
 * j->end_failed says whether one of them could not be written. */
static void
job_write_end(struct job *j, bool journal)
{
	struct finale f;
	char *path, *cause = NULL, *text;
	size_t len;
	FILE *fp;

	j->end_failed = false;
	finale_start(j, &f);
	state_flush(j);
	if (journal)
		journal_add(j->jr, loop_wallclock(), "finish", "status",
		    dag_status_name(sched_status(j->s)), (char *)NULL);
	/* what could not be written stays buffered for the next try */
	if (journal_sync(j->jr, &cause) != 0) {
		job_log(j, LOG_ERROR, SIZE_MAX, "journal", "%s", cause);
		free(cause);
		cause = NULL;
		j->end_failed = true;
	}
	path = xasprintf("%s/graph.dot", j->dir);
	if ((fp = open_memstream(&text, &len)) != NULL) {
		render_dot(fp, j->m, j->s);
		if (fclose(fp) == 0 && fs_write_atomic(path, text, len, 0600,
		    &cause) != 0) {
			job_log(j, LOG_ERROR, SIZE_MAX, "finish", "%s", cause);
			free(cause);
			j->end_failed = true;
		}
		free(text);
	}
	free(path);
	finale_join(j, &f);
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
		state_touch(j);
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

int
job_dispatch(struct job *j, int max_starts)
{
	int n = job_pump_n(j, max_starts);

	return n;
}

/* ---- resuming from an earlier run's journal ---------------------------- */

struct resume {
	struct job	*job;
	int		*attempts;	/* highest attempt started */
	bool		*succeeded;
	pid_t		*pgid;		/* of an attempt that never ended */
	int		*lost;		/* attempts that never ended */
	int64_t		*duration;	/* of the last attempt */
	int64_t		*last_start;	/* wall clock */
	int		*slurm_open;	/* a Slurm attempt that never ended */
	char		**slurm_id;	/* and its Slurm job, when on file */
	enum node_status *status;	/* each node's last, NS_PENDING: none */
	bool		 finished;	/* the journal says the job ended: */
	enum dag_status	 end;		/*   as this */
};

/* The status named name (one of n names[]), or -1. */
static int
status_lookup(const char *name, const char *(*names)(int), int n)
{
	int k;

	for (k = 0; name != NULL && k < n; k++)
		if (strcmp(names(k), name) == 0)
			return k;
	return -1;
}

static const char *
node_status_at(int k)
{
	return node_status_name((enum node_status)k);
}

static const char *
dag_status_at(int k)
{
	return dag_status_name((enum dag_status)k);
}

static long
resume_node(const struct resume *r, const struct journal_event *ev)
{
	const char *id = journal_get(ev, "node");

	return id != NULL ? manifest_find(r->job->m, id) : -1;
}

static int
resume_event(const struct journal_event *ev, void *arg)
{
	struct resume *r = arg;
	struct nodeproc *np;
	const char *s, *k, *v;
	long i = resume_node(r, ev);
	long long ms;
	char *end;
	int a;

	/* the job began with the journal: every later run resumed it */
	if (r->job->first_wall < 0)
		r->job->first_wall = ev->wall_ms;
	if (strcmp(ev->event, "finish") == 0) {
		a = status_lookup(journal_get(ev, "status"), dag_status_at,
		    DS__COUNT);
		/* an interrupted end is no end: the job goes on */
		r->finished = a >= DS_SUCCEEDED && a != DS_INTERRUPTED;
		if (r->finished)
			r->end = (enum dag_status)a;
		return 0;
	}
	if (i < 0)
		return 0;
	np = &r->job->procs[i];
	if (strcmp(ev->event, "start") == 0) {
		s = journal_get(ev, "attempt");
		a = s != NULL ? atoi(s) : 0;
		if (a > r->attempts[i])
			r->attempts[i] = a;
		if (r->pgid[i] != 0)
			r->lost[i]++;
		s = journal_get(ev, "pgid");
		r->pgid[i] = s != NULL ? (pid_t)atol(s) : 0;
		s = journal_get(ev, "executor");
		r->slurm_open[i] = s != NULL && strcmp(s, "slurm") == 0 ? a : 0;
		free(r->slurm_id[i]);
		r->slurm_id[i] = NULL;
		r->duration[i] = -ev->wall_ms;
		if (r->job->first_start[i] < 0)
			r->job->first_start[i] = ev->wall_ms;
		r->last_start[i] = ev->wall_ms;
		kvfile_free(np->outputs, np->noutputs);
		np->outputs = NULL;
		np->noutputs = 0;
	} else if (strcmp(ev->event, "slurm_job") == 0) {
		s = journal_get(ev, "attempt");
		v = journal_get(ev, "id");
		if (s != NULL && v != NULL && atoi(s) == r->slurm_open[i]) {
			free(r->slurm_id[i]);
			r->slurm_id[i] = xstrdup(v);
		}
	} else if (strcmp(ev->event, "end") == 0) {
		r->pgid[i] = 0;
		r->slurm_open[i] = 0;
		/* the monotonic length when recorded; else the dates (an
		 * older journal), which a jump of the clock skews */
		s = journal_get(ev, "duration_ms");
		if (s != NULL && *s >= '0' && *s <= '9' &&
		    (ms = strtoll(s, &end, 10)) >= 0 && *end == '\0' &&
		    ms < (1LL << 42))
			r->duration[i] = ms;
		else
			r->duration[i] += ev->wall_ms;
	} else if (strcmp(ev->event, "status") == 0) {
		s = journal_get(ev, "status");
		r->succeeded[i] = s != NULL && strcmp(s, "succeeded") == 0;
		a = status_lookup(s, node_status_at, NS__COUNT);
		r->status[i] = a >= 0 ? (enum node_status)a : NS_PENDING;
	} else if (strcmp(ev->event, "output") == 0) {
		k = journal_get(ev, "key");
		v = journal_get(ev, "value");
		if (k != NULL && v != NULL) {
			np->outputs = xreallocarray(np->outputs,
			    np->noutputs + 1, sizeof *np->outputs);
			np->outputs[np->noutputs].key = xstrdup(k);
			np->outputs[np->noutputs].value = xstrdup(v);
			np->noutputs++;
		}
	}
	return 0;
}

/* Does process pid belong to job id (and to node, unless NULL)? Its
 * environment says so (a node's processes inherit DAGEXEC_JOB and
 * DAGEXEC_NODE); a reused pid would not. */
static bool
proc_of_job(pid_t pid, const char *id, const char *node)
{
	char path[64], *buf, *p, *want, *wantnode = NULL;
	size_t len;
	bool job = false, yes = (node == NULL);

	snprintf(path, sizeof path, "/proc/%ld/environ", (long)pid);
	if (fs_read_file(path, 1u << 20, &buf, &len, NULL) != 0)
		return false;
	want = xasprintf("DAGEXEC_JOB=%s", id);
	if (node != NULL)
		wantnode = xasprintf("DAGEXEC_NODE=%s", node);
	for (p = buf; p < buf + len; p += strlen(p) + 1) {
		if (strcmp(p, want) == 0)
			job = true;
		else if (wantnode != NULL && strcmp(p, wantnode) == 0)
			yes = true;
	}
	free(wantnode);
	free(want);
	free(buf);
	return job && yes;
}

/* Send sig to every process that carries node i's DAGEXEC_JOB and
 * DAGEXEC_NODE, wherever it is: one that left the node's process group
 * and session (setsid) escapes the group kill but not this. Returns how
 * many were signalled. */
static int
kill_strays(struct job *j, size_t i, int sig)
{
	DIR *d;
	struct dirent *e;
	struct stat st;
	char *p;
	long pid;
	uid_t uid = j->set_ids ? j->uid : geteuid();
	int n = 0;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		pid = strtol(e->d_name, &p, 10);
		if (*p != '\0' || pid <= 1 || pid == (long)getpid())
			continue;
		/* a node's processes are its user's: skip the others cheaply */
		if (fstatat(dirfd(d), e->d_name, &st, 0) != 0 ||
		    st.st_uid != uid)
			continue;
		if (proc_of_job((pid_t)pid, j->id, j->m->nodes[i].id) &&
		    kill((pid_t)pid, sig) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/*
 * At a node's end, its detached processes (setsid and gone from its group)
 * are our children: dagexec is a child subreaper, and the node's own
 * process has exited. Our children that the loop does not watch are such
 * orphans: those of node i get sig, and any that are already dead are
 * reaped (nobody else waits for them). Cheap: one small /proc file, no scan
 * of every process. Returns how many were signalled.
 */
static int
kill_orphans(struct job *j, size_t i, int sig)
{
	char path[64], *p, *end;
	size_t len = 0;
	ssize_t r;
	long pid;
	int n = 0, status;

	/* opened once and read again from offset 0 (a seq_file renders it
	 * anew): one pread a node's end instead of open, read, close */
	if (j->children_fd == -1) {
		snprintf(path, sizeof path, "/proc/self/task/%ld/children",
		    (long)getpid());
		j->children_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (j->children_fd == -1)
			j->children_fd = -2;	/* no such file: scan */
	}
	if (j->children_fd < 0)
		return kill_strays(j, i, sig);
	for (;;) {
		if (j->children_cap - len < 4096) {
			if (j->children_cap >= (1u << 20))
				return kill_strays(j, i, sig);
			xgrow(&j->children_buf, &j->children_cap,
			    j->children_cap + 4096, 1);
		}
		r = pread(j->children_fd, j->children_buf + len,
		    j->children_cap - len - 1, (off_t)len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return kill_strays(j, i, sig);
		if (r == 0)
			break;
		len += (size_t)r;
		/* a seq_file read comes short of the request before the end
		 * only when its page is full: less than half a page is all */
		if (r < 2048 && (size_t)r < j->children_cap - len - 1 +
		    (size_t)r)
			break;
	}
	j->children_buf[len] = '\0';
	for (p = j->children_buf; *p != '\0'; p = end) {
		pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid <= 1 || loop_watches_child(j->loop, (pid_t)pid))
			continue;
		if (waitpid((pid_t)pid, &status, WNOHANG) == (pid_t)pid)
			continue;	/* a dead orphan, now reaped */
		if (proc_of_job((pid_t)pid, j->id, j->m->nodes[i].id) &&
		    kill((pid_t)pid, sig) == 0)
			n++;
	}
	return n;
}

/* Kill what is left of an interrupted attempt's process group: every
 * process in group pgid that carries this job's DAGEXEC_JOB. */
static void
kill_leftovers(struct job *j, size_t i, pid_t pgid)
{
	DIR *d;
	struct dirent *e;
	char path[64], *buf, *p;
	size_t len;
	long pid, grp;
	int killed = 0;

	if (pgid <= 1 || (d = opendir("/proc")) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		pid = strtol(e->d_name, &p, 10);
		if (*p != '\0' || pid <= 1)
			continue;
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		if (fs_read_file(path, 4096, &buf, &len, NULL) != 0)
			continue;
		/* pid (comm) state ppid pgrp ...: comm may hold spaces */
		p = strrchr(buf, ')');
		grp = -1;
		if (p != NULL && sscanf(p + 1, " %*c %*d %ld", &grp) != 1)
			grp = -1;
		free(buf);
		if (grp == pgid && proc_of_job((pid_t)pid, j->id, NULL)) {
			kill((pid_t)pid, SIGKILL);
			killed++;
		}
	}
	closedir(d);
	if (killed > 0)
		job_log(j, LOG_WARN, i, "leftover",
		    "killed %d process(es) of group %ld from the interrupted "
		    "run", killed, (long)pgid);
}

static int
job_resume(struct job *j, const char *path, char **cause)
{
	struct resume r;
	size_t n = j->m->nnodes, i;
	int rc, k;

	r.job = j;
	r.attempts = xcalloc(n, sizeof *r.attempts);
	r.succeeded = xcalloc(n, sizeof *r.succeeded);
	r.pgid = xcalloc(n, sizeof *r.pgid);
	r.lost = xcalloc(n, sizeof *r.lost);
	r.duration = xcalloc(n, sizeof *r.duration);
	r.last_start = xcalloc(n, sizeof *r.last_start);
	j->first_wall = -1;
	j->first_start = xreallocarray(NULL, n, sizeof *j->first_start);
	j->done_span = xreallocarray(NULL, n, sizeof *j->done_span);
	for (i = 0; i < n; i++)
		j->first_start[i] = j->done_span[i] = -1;
	r.slurm_open = xcalloc(n, sizeof *r.slurm_open);
	r.slurm_id = xcalloc(n, sizeof *r.slurm_id);
	r.status = xcalloc(n, sizeof *r.status);
	r.finished = false;
	rc = journal_replay(path, resume_event, &r, cause);
	if (rc == 0 && r.finished) {
		/*
		 * The job ended before the daemon went away (its bundle not
		 * yet written): nothing runs again; its end is written anew
		 * from what the journal holds.
		 */
		for (i = 0; i < n; i++) {
			sched_preset_final(j->s, i,
			    node_status_final(r.status[i]) ? r.status[i] :
			    NS_SKIPPED, r.attempts[i],
			    r.duration[i] > 0 ? r.duration[i] : 0);
			if (r.attempts[i] == 0)
				continue;
			j->done_span[i] = r.duration[i] > 0 ?
			    r.duration[i] : 0;
			if (r.last_start[i] > j->first_start[i] &&
			    j->first_start[i] >= 0)
				j->done_span[i] += r.last_start[i] -
				    j->first_start[i];
		}
		sched_preset_end(j->s, r.end);
		job_log(j, LOG_INFO, SIZE_MAX, "resume", "the job had ended "
		    "(%s): nothing runs again", dag_status_name(r.end));
	} else if (rc == 0) {
		for (i = 0; i < n; i++) {
			if (r.pgid[i] != 0) {
				kill_leftovers(j, i, r.pgid[i]);
				/* and what left the group (setsid) */
				if ((k = kill_strays(j, i, SIGKILL)) > 0)
					job_log(j, LOG_WARN, i, "leftover",
					    "killed %d detached process(es) "
					    "from the interrupted run", k);
				r.lost[i]++;
			}
			/*
			 * An attempt cut short by the daemon's death is not
			 * the node's failure: it does not use up a retry.
			 */
			if (r.lost[i] > 0 && !r.succeeded[i] &&
			    j->m->nodes[i].retries >= 0 &&
			    j->m->nodes[i].retries <= INT_MAX - r.lost[i])
				j->m->nodes[i].retries += r.lost[i];
			if (r.succeeded[i]) {
				sched_preset_succeeded(j->s, i, r.attempts[i],
				    r.duration[i] > 0 ? r.duration[i] : 0);
				/* the last attempt's monotonic length, and the
				 * earlier attempts before it by the dates (a
				 * jump of the clock since cannot make it less
				 * than the last attempt) */
				j->done_span[i] = r.duration[i] > 0 ?
				    r.duration[i] : 0;
				if (r.last_start[i] > j->first_start[i] &&
				    j->first_start[i] >= 0)
					j->done_span[i] += r.last_start[i] -
					    j->first_start[i];
			}
			else if (r.slurm_open[i] > 0) {
				/* still Slurm's: its next start adopts the
				 * same attempt, never a second submission */
				j->procs[i].adopt_attempt = r.slurm_open[i];
				j->procs[i].adopt_id = r.slurm_id[i];
				r.slurm_id[i] = NULL;
				sched_preset_attempts(j->s, i,
				    r.slurm_open[i] - 1);
			} else if (r.attempts[i] > 0)
				sched_preset_attempts(j->s, i, r.attempts[i]);
		}
	}
	free(r.attempts);
	free(r.succeeded);
	free(r.pgid);
	free(r.lost);
	free(r.duration);
	free(r.last_start);
	for (i = 0; i < n; i++)
		free(r.slurm_id[i]);
	free(r.slurm_id);
	free(r.slurm_open);
	free(r.status);
	return rc == 0 ? 0 : -1;
}

/* ---- lifecycle ---------------------------------------------------------- */

/* DIR/sub: mode 0700 and the job owner's when nodes run as another user,
 * else 0755. */
static int
job_private_dir(struct job *j, const char *sub, char **cause)
{
	char *path = xasprintf("%s/%s", j->dir, sub);
	int rc = 0;

	if (fs_mkdirs(path, j->set_ids ? 0700 : 0755, cause) != 0)
		rc = -1;
	else if (j->set_ids && (chown(path, j->uid, j->gid) != 0 ||
	    chmod(path, 0700) != 0)) {
		*cause = xasprintf("cannot give '%s' to uid %ld: %s", path,
		    (long)j->uid, strerror(errno));
		rc = -1;
	}
	free(path);
	return rc;
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

struct job *
job_new(struct loop *l, struct manifest *m, const struct job_config *c,
    char **cause)
{
	struct job *j = xcalloc(1, sizeof *j);
	struct sched_config sc;
	char *path, *abs;
	long ncpu;
	int fd;

	j->loop = l;
	j->m = m;
	j->id = xstrdup(c->id);
	j->clean_env = c->clean_env;
	j->progress = c->progress;
	j->on_finish = c->on_finish;
	j->arg = c->arg;
	j->slots = c->slots;
	j->on_slots = c->on_slots;
	j->set_ids = c->set_ids;
	j->cancel_remote = c->cancel_remote;
	j->uid = c->uid;
	j->gid = c->gid;
	if (c->ngroups > 0) {
		j->groups = xcalloc(c->ngroups, sizeof *j->groups);
		memcpy(j->groups, c->groups, c->ngroups * sizeof *j->groups);
		j->ngroups = c->ngroups;
	}
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
	 * state.yaml stays readable by anyone */
	if (job_private_dir(j, "nodes", cause) != 0 ||
	    job_private_dir(j, "outputs", cause) != 0 ||
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
	/* side files are looked up relative to io/; without it, by path */
	path = xasprintf("%s/io", j->dir);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) != -1) {
		if ((j->io_dir = fdopendir(fd)) != NULL)
			j->io_fd = fd;
		else
			close(fd);
	}
	/* watched for anything made in it, so that a node's end need not
	 * list it while it stays empty; without inotify, it is listed */
	j->io_dirty = true;
	if (j->io_dir != NULL &&
	    (j->io_ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) != -1 &&
	    inotify_add_watch(j->io_ino, path, IN_CREATE | IN_MOVED_TO |
	    IN_ONLYDIR | IN_DONT_FOLLOW) == -1) {
		close(j->io_ino);
		j->io_ino = -1;
	}
	free(path);
	if (m->workdir != NULL)
		j->workdir = xstrdup(m->workdir);
	else {
		j->workdir = xasprintf("%s/work", j->dir);
		if (fs_mkdirs(j->workdir, 0700, cause) != 0)
			goto fail;
		if (j->set_ids && chown(j->workdir, j->uid, j->gid) != 0) {
			*cause = xasprintf("cannot give '%s' to uid %ld: %s",
			    j->workdir, (long)j->uid, strerror(errno));
			goto fail;
		}
	}
	/* with the owner's rights: outputs are read through this descriptor,
	 * and a directory only root may enter must not become theirs */
	as_owner(j, true);
	j->workdir_fd = open(j->workdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	as_owner(j, false);
	if (j->workdir_fd < 0 && !j->set_ids) {
		*cause = xasprintf("cannot open work directory '%s': %s",
		    j->workdir, strerror(errno));
		goto fail;
	}
	/* one the owner cannot enter: their nodes fail to start in it, and
	 * nothing is collected from it */
	if (j->workdir_fd < 0)
		j->workdir_err = xasprintf("cannot open work directory '%s' "
		    "as uid %ld: %s", j->workdir, (long)j->uid,
		    strerror(errno));
	/* NULL (no line without the shell) when it cannot be had */
	j->pwd = realpath(j->workdir, NULL);
	if (c->manifest_text != NULL) {
		path = xasprintf("%s/manifest.yaml", j->dir);
		if (fs_write_atomic(path, c->manifest_text, c->manifest_len,
		    0600, cause) != 0) {
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
	if (c->estimates != NULL) {
		j->estimates = xcalloc(m->nnodes, sizeof *j->estimates);
		memcpy(j->estimates, c->estimates,
		    m->nnodes * sizeof *j->estimates);
		sc.estimate_ms = j->estimates;
	}
	j->s = sched_new(m, &sc);
	j->procs = xcalloc(m->nnodes, sizeof *j->procs);
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
	job_reserve(j);
	state_flush_first(j);
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

int
job_start(struct job *j, char **cause)
{
	int64_t now;
	char *n;

	(void)cause;
	now = loop_now();
	j->started = now;
	n = num((int64_t)j->m->nnodes);
	journal_add(j->jr, loop_wallclock(), "begin", "job", j->id, "dag",
	    j->m->name, "nodes", n, (char *)NULL);
	free(n);
	sched_begin(j->s, now);
	if (j->resumed)
		job_resume_times(j, now);
	job_log(j, LOG_INFO, SIZE_MAX, "begin", "dag=%s nodes=%zu",
	    j->m->name, j->m->nnodes);
	job_pump(j);
	return 0;
}

void
job_stop(struct job *j, enum dag_status why)
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
	job_log(j, LOG_WARN, SIZE_MAX, "stop", "%s", dag_status_name(why));
	journal_add(j->jr, loop_wallclock(), "stop", "status",
	    dag_status_name(why), (char *)NULL);
	sched_cancel(j->s, loop_now(), why);
	job_pump(j);
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
job_free(struct job *j)
{
	size_t i;
	struct nodeproc *np;

	if (j == NULL)
		return;
	statew_stop(j);
	worker_free(j->copier);
	if (j->procs != NULL) {
		for (i = 0; i < j->m->nnodes; i++) {
			np = &j->procs[i];
			if (np->pid > 0)
				spawn_kill_group(np->pid, SIGKILL);
			if (np->kill_timer != NULL)
				loop_timer_cancel(j->loop, np->kill_timer);
			if (np->out.fd >= 0 && np->pid > 0) {
				loop_del_fd(j->loop, np->out.fd);
				close(np->out.fd);
			}
			if (np->err.fd >= 0 && np->pid > 0) {
				loop_del_fd(j->loop, np->err.fd);
				close(np->err.fd);
			}
			if (np->pid > 0) {
				sink_finish(&np->out);
				sink_finish(&np->err);
			}
			free(np->out.error);
			free(np->err.error);
			/* a copy the worker did (worker_free waited) but
			 * whose end never ran */
			if (np->ending != NULL)
				ending_free(np->ending);
			kvfile_free(np->outputs, np->noutputs);
			/* a Slurm job runs on: a restart adopts it */
			if (np->slurm_live && np->slurm_id != NULL)
				slurm_untrack(np->slurm_id, np);
			if (np->slurm_live)
				slurm_cmd_forget(j->loop, np->slurm_cmd);
			free(np->slurm_id);
			free(np->adopt_id);
		}
		free(j->procs);
	}
	if (j->slurm_jobs != NULL) {
		for (i = 0; i < j->m->nnodes; i++)
			free(j->slurm_jobs[i]);
		free(j->slurm_jobs);
	}
	if (j->state_timer != NULL)
		loop_timer_cancel(j->loop, j->state_timer);
	if (j->wake_timer != NULL)
		loop_timer_cancel(j->loop, j->wake_timer);
	if (j->sync_timer != NULL)
		loop_timer_cancel(j->loop, j->sync_timer);
	if (j->notify_pid > 0)
		spawn_kill_group(j->notify_pid, SIGKILL);
	free(j->self);
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
	env_free(j->base_env);
	free(j->groups);
	free(j->estimates);
	free(j->first_start);
	free(j->done_span);
	free(j->state_path);
	free(j->workdir);
	free(j->pwd);
	free(j->dir);
	free(j->id);
	free(j);
}
