/* The Slurm executor's parts that know Slurm: scripts, command lines,
 * parsing, state mapping, background commands and the tracker. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "log.h"
#include "slurm.h"
#include "strbuf.h"
#include "spawn.h"
#include "xmalloc.h"

#define CMD_OUT_MAX	(16u << 20)
#define TICK_MIN_MS	250
#define TICK_MAX_MS	5000
#define VANISH_TICKS	3

extern char **environ;

/* ---- text: the script and the command lines ----------------------------- */

/* s in single quotes, each ' written as '\'' */
static void
buf_quote(struct strbuf *b, const char *s)
{
	const char *q;

	strbuf_add(b, "'", 1);
	while ((q = strchr(s, '\'')) != NULL) {
		strbuf_add(b, s, (size_t)(q - s));
		strbuf_add(b, "'\\''", 4);
		s = q + 1;
	}
	strbuf_str(b, s);
	strbuf_add(b, "'", 1);
}

static bool
shell_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (i = 0; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	}
	return true;
}

char *
slurm_script(char *const *envp, const char *workdir, const char *run,
    char *const *argv)
{
	struct strbuf b = STRBUF_INIT;
	const char *eq;
	char *code;
	size_t i;

	strbuf_str(&b, "#!/bin/sh\n# written by dagexec: one attempt of one node\n");
	for (i = 0; envp != NULL && envp[i] != NULL; i++) {
		if ((eq = strchr(envp[i], '=')) == NULL ||
		    !shell_name(envp[i], (size_t)(eq - envp[i])))
			continue;
		strbuf_str(&b, "export ");
		strbuf_add(&b, envp[i], (size_t)(eq - envp[i]) + 1);
		buf_quote(&b, eq + 1);
		strbuf_str(&b, "\n");
	}
	strbuf_str(&b, "cd ");
	buf_quote(&b, workdir);
	code = xasprintf(" || { echo \"dagexec: cannot enter the work "
	    "directory on $(hostname): it must be on a filesystem the "
	    "Slurm nodes share\" >&2; exit %d; }\n", SLURM_EXIT_CHDIR);
	strbuf_str(&b, code);
	free(code);
	strbuf_str(&b, "exec");
	if (run != NULL) {
		strbuf_str(&b, " /bin/sh -c ");
		buf_quote(&b, run);
	} else {
		for (i = 0; argv[i] != NULL; i++) {
			strbuf_str(&b, " ");
			buf_quote(&b, argv[i]);
		}
	}
	strbuf_str(&b, "\n");
	return b.s;
}

char *
slurm_comment(const char *job, const char *node, int attempt)
{
	return xasprintf("dagexec:%s:%s:%d", job, node, attempt);
}

struct argv {
	char	**v;
	size_t	  n;
	size_t	  cap;
};

static void
argv_add(struct argv *a, char *s)	/* takes s */
{
	xgrow(&a->v, &a->cap, a->n + 2, sizeof *a->v);
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

char **
slurm_sbatch_argv(const struct node *n, const char *dag, const char *job,
    int attempt, const char *script, const char *out, const char *err,
    const char *workdir)
{
	const struct slurm_spec *s = node_slurm(n);
	struct argv a = { NULL, 0, 0 };
	int64_t mem = 0, ms = 0, min;
	size_t i;

	argv_add(&a, xstrdup("sbatch"));
	argv_add(&a, xstrdup("--parsable"));
	argv_add(&a, xasprintf("--job-name=%s/%s", dag, n->id));
	argv_add(&a, xasprintf("--comment=dagexec:%s:%s:%d", job, n->id,
	    attempt));
	argv_add(&a, xasprintf("--output=%s", out));
	argv_add(&a, xasprintf("--error=%s", err));
	argv_add(&a, xasprintf("--chdir=%s", workdir));
	/* sbatch's own environment is already the clean one slurm_env
	 * made, and the script sets the node's: with NONE, slurmd would
	 * load the user's login environment instead (and slowly) */
	argv_add(&a, xstrdup("--export=ALL"));
	argv_add(&a, xstrdup("--open-mode=truncate"));
	argv_add(&a, xasprintf("--cpus-per-task=%d", s->cpus > 0 ? s->cpus :
	    1));
	if (s->mem > 0)
		mem = s->mem;
	else if (node_limit_set(n, LIMIT_MEMORY))
		mem = node_limit(n, LIMIT_MEMORY);
	if (mem > 0)	/* in MiB, rounded up */
		argv_add(&a, xasprintf("--mem=%lldM",
		    (long long)((mem + (1 << 20) - 1) >> 20)));
	if (s->time_ms > 0)
		ms = s->time_ms;
	else if (n->timeout_ms > 0)
		ms = n->timeout_ms;
	if (ms > 0) {
		min = (ms + 59999) / 60000;
		argv_add(&a, xasprintf("--time=%lld", (long long)min));
	}
	if (s->partition != NULL)
		argv_add(&a, xasprintf("--partition=%s", s->partition));
	if (s->account != NULL)
		argv_add(&a, xasprintf("--account=%s", s->account));
	if (s->qos != NULL)
		argv_add(&a, xasprintf("--qos=%s", s->qos));
	if (s->gres != NULL)
		argv_add(&a, xasprintf("--gres=%s", s->gres));
	for (i = 0; i < s->nextra; i++)
		argv_add(&a, xstrdup(s->extra[i]));
	argv_add(&a, xstrdup(script));
	return a.v;
}

void
slurm_argv_free(char **argv)
{
	char **p;

	if (argv == NULL)
		return;
	for (p = argv; *p != NULL; p++)
		free(*p);
	free(argv);
}

/* ---- parsing ----------------------------------------------------------- */

int
slurm_parse_submit(const char *out, size_t len, char **id)
{
	const char *p, *end = out + len, *line = NULL, *e;
	size_t k;

	/* the last line that starts with a digit: sbatch may warn first */
	for (p = out; p < end; p = e + 1) {
		e = memchr(p, '\n', (size_t)(end - p));
		if (e == NULL)
			e = end;
		if (p < e && *p >= '0' && *p <= '9')
			line = p;
		if (e == end)
			break;
	}
	if (line == NULL)
		return -1;
	for (k = 0; line + k < end && line[k] >= '0' && line[k] <= '9'; k++)
		;
	if (k == 0 || k > 20 || (line + k < end && line[k] != ';' &&
	    line[k] != '\n' && line[k] != '\r'))
		return -1;
	*id = xstrndup(line, k);
	return 0;
}

int
slurm_parse_queue(const char *out, size_t len, struct slurm_job_state **v,
    size_t *n, char **cause)
{
	const char *p, *e, *end = out + len, *f[4];
	struct slurm_job_state *st = NULL;
	size_t nst = 0, cap = 0, lineno = 0, k, flen[4];
	const char *q;
	char *num, *x;
	long ws;

	for (p = out; p < end; p = e + 1) {
		e = memchr(p, '\n', (size_t)(end - p));
		if (e == NULL)
			e = end;
		lineno++;
		if (e == p)
			goto next;
		/* ID|STATE|EXIT|COMMENT| : the comment is ours, the last */
		q = p;
		for (k = 0; k < 3; k++) {
			f[k] = q;
			q = memchr(q, '|', (size_t)(e - q));
			if (q == NULL)
				goto bad;
			flen[k] = (size_t)(q - f[k]);
			q++;
		}
		f[3] = q;
		flen[3] = (size_t)(e - q);
		if (flen[3] > 0 && f[3][flen[3] - 1] == '|')
			flen[3]--;
		if (flen[0] == 0 || flen[1] == 0)
			goto bad;
		for (k = 0; k < flen[0]; k++)
			if (f[0][k] < '0' || f[0][k] > '9')
				goto bad;	/* array or het jobs: not ours */
		num = xstrndup(f[2], flen[2]);
		errno = 0;
		ws = strtol(num, &x, 10);
		if (*num == '\0' || *x != '\0' || errno != 0 || ws < 0 ||
		    ws > 0xffff) {
			free(num);
			goto bad;
		}
		free(num);
		xgrow(&st, &cap, nst + 1, sizeof *st);
		st[nst].id = xstrndup(f[0], flen[0]);
		st[nst].state = xstrndup(f[1], flen[1]);
		st[nst].wstatus = (int)ws;
		if (flen[3] == 0 || (flen[3] == 6 &&
		    memcmp(f[3], "(null)", 6) == 0))
			st[nst].comment = NULL;
		else
			st[nst].comment = xstrndup(f[3], flen[3]);
		nst++;
next:
		if (e == end)
			break;
	}
	*v = st;
	*n = nst;
	return 0;
bad:
	slurm_states_free(st, nst);
	*cause = xasprintf("squeue: cannot read line %zu: '%.*s'", lineno,
	    (int)((e - p) > 80 ? 80 : (e - p)), p);
	return -1;
}

void
slurm_states_free(struct slurm_job_state *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].state);
		free(v[i].comment);
	}
	free(v);
}

char **
slurm_queue_argv(char *const *ids, size_t n, const char *name)
{
	struct argv a = { NULL, 0, 0 };
	struct strbuf b = STRBUF_INIT;
	size_t i;

	argv_add(&a, xstrdup("squeue"));
	argv_add(&a, xstrdup("--noheader"));
	argv_add(&a, xstrdup("--states=all"));
	argv_add(&a, xstrdup("--Format=JobID:|,State:|,exit_code:|,"
	    "Comment:|"));
	if (ids != NULL) {
		strbuf_str(&b, "--jobs=");
		for (i = 0; i < n; i++) {
			if (i > 0)
				strbuf_str(&b, ",");
			strbuf_str(&b, ids[i]);
		}
		argv_add(&a, b.s);
	} else
		argv_add(&a, xasprintf("--name=%s", name));
	return a.v;
}

bool
slurm_map(const char *state, int wstatus, enum reason *reason,
    int *exit_code, int *signo)
{
	static const char *const running[] = { "PENDING", "RUNNING",
	    "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED",
	    "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING",
	    "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD", "SPECIAL_EXIT", NULL };
	size_t i;

	*exit_code = -1;
	*signo = 0;
	for (i = 0; running[i] != NULL; i++)
		if (strcmp(state, running[i]) == 0)
			return false;
	if (WIFEXITED(wstatus))
		*exit_code = WEXITSTATUS(wstatus);
	else if (WIFSIGNALED(wstatus))
		*signo = WTERMSIG(wstatus);
	if (strcmp(state, "COMPLETED") == 0)
		*reason = REASON_NONE;
	else if (strcmp(state, "FAILED") == 0) {
		*reason = *signo != 0 ? REASON_SIGNAL : REASON_EXIT;
		if (*signo == 0 && *exit_code == 0)
			*exit_code = -1;	/* failed without a status */
	} else if (strcmp(state, "TIMEOUT") == 0 ||
	    strcmp(state, "DEADLINE") == 0)
		*reason = REASON_TIMEOUT;
	else if (strcmp(state, "OUT_OF_MEMORY") == 0)
		*reason = REASON_OOM;
	else if (strcmp(state, "CANCELLED") == 0)
		*reason = REASON_CANCELLED;
	else	/* NODE_FAIL, BOOT_FAIL, PREEMPTED, REVOKED, VANISHED... */
		*reason = REASON_LOST;
	return true;
}

bool
slurm_says_oom(const char *text, size_t len)
{
	static const char *const marks[] = { "exceeded memory limit",
	    "Exceeded job memory limit", "Exceeded step memory limit",
	    "oom-kill event", "Out Of Memory", NULL };
	size_t i, k;

	for (i = 0; marks[i] != NULL; i++) {
		k = strlen(marks[i]);
		if (len >= k && memmem(text, len, marks[i], k) != NULL)
			return true;
	}
	return false;
}

char **
slurm_env(char *const *base)
{
	struct argv a = { NULL, 0, 0 };
	bool path = false, conf = false;
	const char *v;
	size_t i;

	argv_add(&a, NULL);	/* keeps a.v non-NULL */
	a.n = 0;
	for (i = 0; base != NULL && base[i] != NULL; i++) {
		if (strncmp(base[i], "SLURM_JOB_ID=", 13) == 0 ||
		    strncmp(base[i], "SLURM_JOBID=", 12) == 0)
			continue;
		if (strncmp(base[i], "PATH=", 5) == 0)
			path = true;
		if (strncmp(base[i], "SLURM_CONF=", 11) == 0)
			conf = true;
		argv_add(&a, xstrdup(base[i]));
	}
	if (!path && (v = getenv("PATH")) != NULL)
		argv_add(&a, xasprintf("PATH=%s", v));
	if (!conf && (v = getenv("SLURM_CONF")) != NULL)
		argv_add(&a, xasprintf("SLURM_CONF=%s", v));
	return a.v;
}

/* ---- commands in the background ---------------------------------------- */

struct slurm_cmd {
	struct loop	*loop;
	pid_t		 pid;
	int		 fd;		/* read end; -1 at EOF */
	bool		 exited;
	int		 status;
	bool		 forgotten;
	struct strbuf	 out;
	slurm_cmd_cb	 cb;
	void		*arg;
	struct slurm_cmd *next;		/* in forgotten, when it is */
};

/* Commands forgotten and not done yet: a job may end before they do. */
static struct slurm_cmd *forgotten;

static void
cmd_done(struct slurm_cmd *c)
{
	struct slurm_cmd **pp;

	if (!c->exited || c->fd >= 0)
		return;
	if (!c->forgotten)
		c->cb(c->status, c->out.s != NULL ? c->out.s : "", c->out.len,
		    c->arg);
	for (pp = &forgotten; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	free(c->out.s);
	free(c);
}

static void
cmd_read(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct slurm_cmd *c = arg;
	char chunk[8192];
	ssize_t n;

	(void)events;
	n = read(fd, chunk, sizeof chunk);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0) {
		if (c->out.len + (size_t)n <= CMD_OUT_MAX)
			strbuf_add(&c->out, chunk, (size_t)n);
		return;
	}
	loop_del_fd(l, fd);
	close(fd);
	c->fd = -1;
	cmd_done(c);
}

static void
cmd_exited(struct loop *l, pid_t pid, int status, const struct rusage *ru,
    void *arg)
{
	struct slurm_cmd *c = arg;

	(void)l;
	(void)pid;
	(void)ru;
	c->exited = true;
	c->status = status;
	cmd_done(c);
}

struct slurm_cmd *
slurm_cmd_run(struct loop *l, char **argv, char **envp,
    slurm_cmd_cb cb, void *arg, char **cause)
{
	struct spawn_spec sp;
	struct slurm_cmd *c;
	int p[2], pidfd = -1;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0 || fcntl(p[0], F_SETFL,
	    O_NONBLOCK) != 0) {
		*cause = xasprintf("cannot create a pipe: %s",
		    strerror(errno));
		return NULL;
	}
	memset(&sp, 0, sizeof sp);
	sp.node = argv[0];
	sp.argv = argv;
	sp.envp = envp;
	sp.paths = spawn_resolve(argv[0], envp);
	sp.cwd = "/";
	sp.stdout_fd = p[1];
	sp.stderr_fd = p[1];
	sp.umask = 077;
	pid = spawn_start(&sp, &pidfd, cause);
	spawn_free_paths(sp.paths);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return NULL;
	}
	c = xcalloc(1, sizeof *c);
	c->loop = l;
	c->pid = pid;
	c->fd = p[0];
	c->cb = cb;
	c->arg = arg;
	if (loop_add_fd(l, p[0], EPOLLIN, cmd_read, c) != 0 ||
	    loop_watch_child(l, pid, pidfd, cmd_exited, c) != 0) {
		log_event(LOG_ERROR, NULL, NULL, "internal",
		    "cannot watch pid %ld: %s", (long)pid, strerror(errno));
		spawn_kill_group(pid, SIGKILL);
		abort();
	}
	return c;
}

void
slurm_cmd_forget(struct loop *l, struct slurm_cmd *c)
{
	(void)l;
	if (c == NULL)
		return;
	c->forgotten = true;
	c->next = forgotten;
	forgotten = c;
	if (!c->exited)
		spawn_kill_group(c->pid, SIGTERM);
}

size_t
slurm_cmds_forgotten(void)
{
	const struct slurm_cmd *c;
	size_t n = 0;

	for (c = forgotten; c != NULL; c = c->next)
		n++;
	return n;
}

void
slurm_cmds_drop(struct loop *l)
{
	struct slurm_cmd *c;

	while ((c = forgotten) != NULL) {
		forgotten = c->next;
		if (c->fd >= 0) {
			loop_del_fd(l, c->fd);
			close(c->fd);
		}
		if (!c->exited)
			(void)loop_unwatch_child(l, c->pid);
		free(c->out.s);
		free(c);
	}
}

/* ---- the tracker ------------------------------------------------------- */

struct tracked {
	char		*id;
	slurm_track_cb	 cb;
	void		*arg;
	char		*last;		/* the state seen last */
	int		 missing;	/* ticks it was not in squeue's answer */
};

static struct {
	struct loop		*loop;
	struct tracked		*v;
	size_t			 n;
	size_t			 cap;
	struct loop_timer	*timer;
	struct slurm_cmd	*query;
	int64_t			 interval;
	bool			 hurry;		/* tick soon after the query */
	int64_t			 last_warn;
} trk;

static void	tick(struct loop *, void *);

static void
arm(int64_t delay)
{
	if (trk.query != NULL || trk.n == 0)
		return;
	if (trk.timer != NULL)
		loop_timer_cancel(trk.loop, trk.timer);
	trk.timer = loop_timer_at(trk.loop, loop_now() + delay, tick, NULL);
}

static void
drop(size_t i)
{
	free(trk.v[i].id);
	free(trk.v[i].last);
	trk.v[i] = trk.v[--trk.n];
}

/* squeue could not be asked or did not answer: say so (once a minute)
 * and ask again at the slowest tick. Takes cause. */
static void
trouble(char *cause)
{
	if (trk.last_warn == 0 || loop_now() - trk.last_warn > 60000) {
		log_event(LOG_WARN, NULL, NULL, "slurm", "%s", cause);
		trk.last_warn = loop_now();
	}
	free(cause);
	trk.interval = TICK_MAX_MS;
	arm(trk.interval);
}

static void
query_done(int status, const char *out, size_t len, void *arg)
{
	static char vanished[] = "VANISHED";
	struct slurm_job_state *st = NULL, gone;
	size_t nst = 0, i, k;
	bool changed = false, ok = true;
	char *cause = NULL, *snap;
	enum reason r;
	int code, sig;

	(void)arg;
	trk.query = NULL;
	if (status != 0) {
		/* a single id squeue no longer knows is an error */
		if (memmem(out, len, "Invalid job id", 14) == NULL) {
			ok = false;
			cause = xasprintf("squeue failed (status %d): %.*s",
			    WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			    (int)(len > 200 ? 200 : len), out);
		}
	} else if (slurm_parse_queue(out, len, &st, &nst, &cause) != 0)
		ok = false;
	if (!ok) {
		trouble(cause);
		return;
	}
	/* callbacks may untrack or track others: walk by id, from a copy */
	for (i = 0; i < trk.n; ) {
		for (k = 0; k < nst; k++)
			if (strcmp(st[k].id, trk.v[i].id) == 0)
				break;
		if (k == nst) {
			if (++trk.v[i].missing < VANISH_TICKS) {
				i++;
				continue;
			}
			memset(&gone, 0, sizeof gone);
			gone.id = trk.v[i].id;
			gone.state = vanished;
			gone.wstatus = 0;
			snap = xstrdup(trk.v[i].id);
			trk.v[i].cb(&gone, trk.v[i].arg);
			changed = true;
		} else {
			trk.v[i].missing = 0;
			if (trk.v[i].last == NULL ||
			    strcmp(trk.v[i].last, st[k].state) != 0) {
				changed = true;
				free(trk.v[i].last);
				trk.v[i].last = xstrdup(st[k].state);
			}
			if (!slurm_map(st[k].state, st[k].wstatus, &r, &code,
			    &sig)) {
				i++;
				continue;
			}
			snap = xstrdup(trk.v[i].id);
			trk.v[i].cb(&st[k], trk.v[i].arg);
		}
		/* the callback's entry is done: remove it if still there */
		if (i < trk.n && strcmp(trk.v[i].id, snap) == 0)
			drop(i);
		free(snap);
	}
	slurm_states_free(st, nst);
	if (changed || trk.hurry)
		trk.interval = TICK_MIN_MS;
	else if ((trk.interval *= 2) > TICK_MAX_MS)
		trk.interval = TICK_MAX_MS;
	trk.hurry = false;
	arm(trk.interval);
}

static void
tick(struct loop *l, void *arg)
{
	char **ids, **argv, **env, *cause = NULL;
	size_t i;

	(void)arg;
	trk.timer = NULL;
	if (trk.n == 0 || trk.query != NULL)
		return;
	ids = xcalloc(trk.n + 1, sizeof *ids);
	for (i = 0; i < trk.n; i++)
		ids[i] = trk.v[i].id;
	argv = slurm_queue_argv(ids, trk.n, NULL);
	free(ids);
	env = slurm_env(NULL);
	trk.query = slurm_cmd_run(l, argv, env, query_done, NULL,
	    &cause);
	slurm_argv_free(argv);
	slurm_argv_free(env);
	if (trk.query == NULL)
		trouble(cause);
}

int
slurm_track(struct loop *l, const char *id, slurm_track_cb cb, void *arg)
{
	trk.loop = l;
	xgrow(&trk.v, &trk.cap, trk.n + 1, sizeof *trk.v);
	memset(&trk.v[trk.n], 0, sizeof trk.v[trk.n]);
	trk.v[trk.n].id = xstrdup(id);
	trk.v[trk.n].cb = cb;
	trk.v[trk.n].arg = arg;
	trk.n++;
	trk.interval = TICK_MIN_MS;
	if (trk.query != NULL)
		trk.hurry = true;
	else if (trk.timer == NULL)
		arm(TICK_MIN_MS);
	return 0;
}

void
slurm_untrack(const char *id, void *arg)
{
	size_t i;

	for (i = 0; i < trk.n; i++) {
		if (trk.v[i].arg == arg && strcmp(trk.v[i].id, id) == 0) {
			drop(i);
			break;
		}
	}
	if (trk.n == 0) {
		if (trk.timer != NULL)
			loop_timer_cancel(trk.loop, trk.timer);
		trk.timer = NULL;
		if (trk.query != NULL) {
			slurm_cmd_forget(trk.loop, trk.query);
			trk.query = NULL;
		}
		free(trk.v);
		trk.v = NULL;
		trk.cap = 0;
	}
}

size_t
slurm_tracked(void)
{
	return trk.n;
}

static void
cancel_done(int status, const char *out, size_t len, void *arg)
{
	char *id = arg;

	if (status != 0)
		log_event(LOG_WARN, NULL, NULL, "slurm",
		    "scancel %s failed: %.*s", id,
		    (int)(len > 200 ? 200 : len), out);
	free(id);
}

void
slurm_cancel(struct loop *l, const char *id)
{
	static char scancel[] = "scancel";
	char *argv[3], **env, *cause = NULL, *copy = xstrdup(id);

	argv[0] = scancel;
	argv[1] = copy;
	argv[2] = NULL;
	env = slurm_env(NULL);
	if (slurm_cmd_run(l, argv, env, cancel_done, copy,
	    &cause) == NULL) {
		log_event(LOG_WARN, NULL, NULL, "slurm", "scancel %s: %s", id,
		    cause);
		free(cause);
		free(copy);
	}
	slurm_argv_free(env);
}
