/* The local executor: an attempt is a process group of its own, spawned
 * here, its output read from pipes into its logs; it ends once it exited
 * and both pipes are at EOF, and nothing it started outlives it. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "exec.h"
#include "job_int.h"
#include "sandbox.h"
#include "journal.h"
#include "shline.h"
#include "spawn.h"
#include "strmap.h"
#include "units.h"
#include "xmalloc.h"

#define KILL_GRACE_MS		5000	/* SIGTERM -> SIGKILL */
#define CGROUP_END_MS		500	/* at a node's end, for what is left
					   in its cgroup to die */

static void	node_try_end(struct nodeproc *);

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

/* The rlimits of node n; limits.memory is RLIMIT_AS unless the
 * attempt's cgroup has the memory controller (have: its controllers). */
static void
fill_rlimits(struct spawn_spec *sp, const struct node *n, unsigned have)
{
	rlim_t v;

	if (node_limit_set(n, LIMIT_CPU)) {
		/* soft first, so the node gets SIGXCPU (rlimit_cpu), not
		 * SIGKILL at the hard limit */
		v = (rlim_t)((node_limit(n, LIMIT_CPU) + 999) / 1000);
		set_rlimit(sp, RLIMIT_CPU, v, v + 1);
	}
	if (node_limit_set(n, LIMIT_MEMORY) && !(have & CG_MEMORY))
		set_rlimit(sp, RLIMIT_AS, (rlim_t)node_limit(n, LIMIT_MEMORY),
		    (rlim_t)node_limit(n, LIMIT_MEMORY));
	if (node_limit_set(n, LIMIT_FSIZE))
		set_rlimit(sp, RLIMIT_FSIZE, (rlim_t)node_limit(n, LIMIT_FSIZE),
		    (rlim_t)node_limit(n, LIMIT_FSIZE));
	if (node_limit_set(n, LIMIT_NOFILE))
		set_rlimit(sp, RLIMIT_NOFILE,
		    (rlim_t)node_limit(n, LIMIT_NOFILE),
		    (rlim_t)node_limit(n, LIMIT_NOFILE));
	if (node_limit_set(n, LIMIT_NPROC))
		set_rlimit(sp, RLIMIT_NPROC, (rlim_t)node_limit(n, LIMIT_NPROC),
		    (rlim_t)node_limit(n, LIMIT_NPROC));
	v = (rlim_t)node_limit(n, LIMIT_CORE);
	set_rlimit(sp, RLIMIT_CORE, v, v);
}

/* The environment of attempt of node i, with its secrets, read now, as
 * the attempt starts, by us: the job's owner. NULL with *cause when one
 * cannot be read. */
static char **
attempt_env(struct job *j, size_t i, int attempt, const char *out_path,
    const char *met_path, const char *tmpdir, const char *pwd, char **cause)
{
	struct kv *secrets = NULL;
	size_t nsecrets = 0;
	char **envp;

	if (env_secrets_read(j, i, &secrets, &nsecrets, cause) != 0)
		return NULL;
	envp = env_build(j, i, attempt, out_path, met_path, tmpdir, pwd,
	    secrets, nsecrets, cause);
	env_secrets_free(secrets, nsecrets);
	return envp;
}

static char sh_name[] = "sh";
static char sh_c[] = "-c";

/* Where attempt of node i makes its side files (and, sandboxed, its
 * TMPDIR): made ready, the paths allocated. 0, or -1 with *cause. */
static int
side_files(struct job *j, size_t i, char **out_path, char **met_path,
    char **tmpdir, char **cause)
{
	/* sandboxed: in a new directory of the attempt's own */
	if (j->m->nodes[i].sandbox != NULL &&
	    exec_sandbox_take(j, i, cause) != 0)
		return -1;
	*out_path = job_side_path(j, i, "output", false);
	*met_path = job_side_path(j, i, "metrics", false);
	*tmpdir = NULL;
	if (j->m->nodes[i].sandbox != NULL) {
		*tmpdir = job_side_path(j, i, "tmp", false);
		return 0;
	}
	/* the node makes its side files itself (in io/, which is its
	 * user's); an attempt's are removed once read: only an earlier
	 * run's (a resumed job) can be left */
	if (j->resumed && ((unlink(*out_path) != 0 && errno != ENOENT) ||
	    (unlink(*met_path) != 0 && errno != ENOENT))) {
		*cause = xasprintf("cannot remove '%s': %s", *out_path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* The Landlock ruleset of node i's attempt (child: it runs this binary;
 * port: one more TCP port it may connect to, or -1) in *fd, what it
 * enforces in *level. 0, or -1 with *cause. */
static int
sandbox_ruleset(struct job *j, size_t i, bool child, int port, int *fd,
    enum sandbox_level *level, char **cause)
{
	const struct node *n = &j->m->nodes[i];
	const struct node_extra *x = node_extra(n);
	struct sandbox_attempt a;
	const char *id;
	char *dir, *warn = NULL, *c2 = NULL;
	size_t k;
	int rc;

	dir = xasprintf("%s/io/%s", j->dir, j->procs[i]->sbdir);
	a.workdir = j->workdir;
	a.sidedir = dir;
	a.exe = child ? j->self : NULL;
	a.connect_port = port;
	/* the values/ directories of its needs and the groups it needs
	 * whole, and their private/values/ (a value holding a secret):
	 * $DAGEXEC_IN_*_FILE (env_build wrote them) */
	a.nvalues = 0;
	a.values = xcalloc(2 * (n->nneeds + x->nneed_groups) + 1,
	    sizeof *a.values);
	for (k = 0; k < n->nneeds + x->nneed_groups; k++) {
		id = k < x->nneed_groups ? x->need_groups[k] :
		    j->m->nodes[n->needs[k - x->nneed_groups]].id;
		a.values[a.nvalues++] = xasprintf("%s/values/%s", j->dir, id);
		a.values[a.nvalues++] = xasprintf("%s/private/values/%s",
		    j->dir, id);
	}
	rc = sandbox_build(n->sandbox, &a, fd, level, &warn, &c2);
	env_free(a.values);
	if (rc != 0) {
		*cause = xasprintf("cannot start node '%s': %s", n->id, c2);
		free(c2);
	} else if (warn != NULL)
		job_log(j, LOG_WARN, i, "sandbox", "%s (best_effort: %s)",
		    warn, sandbox_level_name(*level));
	free(warn);
	free(dir);
	return rc;
}

/* The limits of node n that only a cgroup enforces, in *cl, checked
 * against have (the job's controllers): one that cannot be enforced fails
 * the attempt, -1 with *cause, unless limits.best_effort. */
static int
cgroup_limits(struct job *j, size_t i, struct cgroup_limits *cl,
    char **cause)
{
	const struct node *n = &j->m->nodes[i];
	unsigned have = cgroup_job_controllers(j->cg), miss = 0;
	const char *what;
	char *why;

	memset(cl, 0, sizeof *cl);
	if (node_limit_set(n, LIMIT_MEMORY) && (have & CG_MEMORY))
		cl->memory = node_limit(n, LIMIT_MEMORY);
	if (node_limit_set(n, LIMIT_PIDS)) {
		if (have & CG_PIDS)
			cl->pids = node_limit(n, LIMIT_PIDS);
		else
			miss |= CG_PIDS;
	}
	if (node_limit_set(n, LIMIT_CPUS)) {
		if (have & CG_CPU)
			cl->cpus_milli = node_limit(n, LIMIT_CPUS);
		else
			miss |= CG_CPU;
	}
	if (miss == 0)
		return 0;
	what = miss == (CG_PIDS | CG_CPU) ? "limits.pids and limits.cpus" :
	    miss == CG_PIDS ? "limits.pids" : "limits.cpus";
	why = cgroup_job_why(j->cg, miss);
	if (node_limit(n, LIMIT_BEST_EFFORT) != 0) {
		job_log(j, LOG_WARN, i, "limits", "%s not enforced "
		    "(best_effort): %s", what, why);
		free(why);
		return 0;
	}
	*cause = xasprintf("cannot start node '%s': %s cannot be enforced "
	    "here: %s (limits.best_effort: true runs it without)", n->id,
	    what, why);
	free(why);
	return -1;
}

/* The cgroup of attempt of node i when the job has cgroups: made with its
 * limits; *dir is it, for the child to start in, and *name its name (-1
 * and NULL without). 0, or -1 with *cause. */
static int
attempt_cgroup(struct job *j, size_t i, int attempt, int *dir, char **name,
    char **cause)
{
	struct cgroup_limits cl;
	char *err = NULL;

	*dir = -1;
	*name = NULL;
	if (cgroup_limits(j, i, &cl, cause) != 0)
		return -1;
	if (j->cg == NULL)
		return 0;
	*dir = cgroup_attempt_new(j->cg, j->m->nodes[i].id, attempt, &cl,
	    name, &err);
	if (*dir == -1) {
		*cause = xasprintf("cannot start node '%s': %s",
		    j->m->nodes[i].id, err);
		free(err);
		return -1;
	}
	return 0;
}

/* Attempt of node i runs as pid, its output in the read ends of the
 * pipes, in its cgroup cg (taken; NULL: none): watch it, journal and log
 * its start. */
static void
attempt_started(struct job *j, size_t i, int attempt, pid_t pid, int outfd,
    int errfd, enum sandbox_level level, char *cg)
{
	const struct node *n = &j->m->nodes[i];
	struct nodeproc *np = job_proc_reset(j, i, attempt);
	char b1[UNITS_INT_LEN], b2[UNITS_INT_LEN], b3[UNITS_INT_LEN];

	np->pid = pid;
	np->cg = cg;
	np->sblevel = (unsigned char)level;
	meter_start(j, i);
	sink_init(&np->out, outfd, j, i, "stdout.log", attempt, n->log_limit);
	sink_init(&np->err, errfd, j, i, "stderr.log", attempt, n->log_limit);
	if (loop_add_fd(j->loop, outfd, EPOLLIN, sink_read, np) != 0 ||
	    loop_add_fd(j->loop, errfd, EPOLLIN, sink_read, np) != 0 ||
	    loop_watch_child(j->loop, pid, -1, child_exited, np) != 0) {
		/* cannot happen short of ENOMEM in epoll: kill and fail */
		job_log(j, LOG_ERROR, i, "internal", "cannot watch pid %ld: %s",
		    (long)pid, strerror(errno));
		spawn_kill_group(pid, SIGKILL);
		abort();
	}
	j->running++;
	if (j->slots != NULL)
		(*j->slots)++;
	exec_sandbox_note(j, i, level);
	journal_add(j->jr, loop_wallclock(), "start", "node", n->id,
	    "attempt", units_int(attempt, b1), "pid", units_int(pid, b2),
	    "pgid", units_int(pid, b3), "sandbox", sandbox_level_name(level),
	    (char *)NULL);
	job_log(j, LOG_INFO, i, "start", "attempt=%d pid=%ld", attempt,
	    (long)pid);
}

int
exec_local_spawn(struct job *j, size_t i, int attempt,
    const struct exec_child *child, char **causep)
{
	const struct node *n = &j->m->nodes[i];
	struct spawn_spec sp;
	char *out_path = NULL, *met_path = NULL, *tmpdir = NULL;
	char *cause = NULL, **envp = NULL, *shargv[4];
	int pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	char *childargv[5] = { NULL, NULL, NULL, NULL, NULL };
	pid_t pid;
	struct resolved *rs = NULL;
	char **words = NULL, *cgname = NULL;
	enum sandbox_level level = SANDBOX_UNSET;
	struct cgroup_usage u;
	int used = -1, rc = 0, sbfd = -1, port = -1, cgdir = -1;

	if (side_files(j, i, &out_path, &met_path, &tmpdir, &cause) != 0)
		goto fail;
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
	envp = attempt_env(j, i, attempt, out_path, met_path, tmpdir,
	    words != NULL ? j->pwd : NULL, &cause);
	if (envp == NULL ||
	    attempt_cgroup(j, i, attempt, &cgdir, &cgname, &cause) != 0)
		goto fail;

again:
	memset(&sp, 0, sizeof sp);
	sp.node = n->id;
	if (child != NULL) {
		used = child->prepare(j, i, envp, childargv, &port, &cause);
		if (used != 0)
			goto fail;
		used = -1;
		sp.argv = childargv;
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
	/* built here, in the parent, once for both tries of a line */
	if (n->sandbox != NULL && level == SANDBOX_UNSET &&
	    sandbox_ruleset(j, i, child != NULL, port, &sbfd, &level,
	    &cause) != 0) {
		if (rs == NULL)
			spawn_free_paths(sp.paths);
		goto fail;
	}
	sp.envp = envp;
	sp.cwd = j->workdir;
	sp.stdout_fd = pout[1];
	sp.stderr_fd = perr[1];
	sp.sandbox_fd = sbfd;
	sp.in_cgroup = cgdir != -1;
	sp.cgroup_dir = cgdir;
	job_spawn_ids(j, &sp);
	fill_rlimits(&sp, n, cgname != NULL ?
	    cgroup_job_controllers(j->cg) : 0);
	sp.path_used = &used;
	/* no pidfd: the loop reaps nodes on SIGCHLD, which it reads
	 * anyway, and saves a descriptor and two epoll_ctl a node */
	pid = spawn_start(&sp, NULL, &cause);
	if (rs == NULL)
		spawn_free_paths(sp.paths);	/* a child's */
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
	attempt_started(j, i, attempt, pid, pout[0], perr[0], level, cgname);
	cgname = NULL;
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
	if (j->procs[i] != NULL && j->procs[i]->sbdir != NULL)
		exec_sandbox_remove(j, i, false);
	if (cgname != NULL)
		cgroup_attempt_end(j->cg, cgname, CGROUP_END_MS, &u);
	*causep = cause;
	cause = NULL;
	rc = -1;
out:
	if (sbfd != -1)
		close(sbfd);
	if (cgdir != -1)
		close(cgdir);
	free(cgname);
	if (child != NULL)
		child->release(childargv);
	shline_free(words);
	env_build_free(j, envp);
	free(cause);
	free(out_path);
	free(met_path);
	free(tmpdir);
	return rc;
}

static bool	proc_of_job(pid_t, const char *, const char *);
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
		if (np->cg != NULL)
			(void)cgroup_attempt_signal(np->job->cg, np->cg,
			    SIGKILL);
		else
			(void)exec_local_kill_strays(np->job, np->node,
			    SIGKILL);
	}
}

/* SIGTERM to the node's process group now, SIGKILL after the grace. */
void
exec_local_kill(struct job *j, size_t i, int sig)
{
	struct nodeproc *np = j->procs[i];

	if (np == NULL || np->pid <= 0)
		return;
	spawn_kill_group(np->pid, sig);
	if (np->cg != NULL)
		(void)cgroup_attempt_signal(j->cg, np->cg, sig);
	else
		(void)exec_local_kill_strays(j, i, sig);
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
		if (np->cg != NULL)
			(void)cgroup_attempt_signal(np->job->cg, np->cg,
			    SIGTERM);
		/* its own process is gone: what it detached is ours now */
		(void)kill_orphans(np->job, np->node, SIGTERM);
		if (np->kill_timer == NULL)
			np->kill_timer = loop_timer_at(np->job->loop,
			    loop_now() + KILL_GRACE_MS, kill_escalate, np);
	}
	node_try_end(np);
}

/* An attempt is over once its process exited and both pipes reached EOF. */
static void
node_try_end(struct nodeproc *np)
{
	struct job *j = np->job;
	size_t i = np->node;
	struct attempt_end e;
	struct cgroup_usage u;
	char *cause = NULL, size[32];
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
	if (np->cg != NULL) {
		/* what is left in its cgroup dies now, whatever it did to
		 * its group, session or environment; the cgroup counts
		 * every process that ran in it, waited for or not */
		cgroup_attempt_end(j->cg, np->cg, CGROUP_END_MS, &u);
		if (u.leftovers > 0)
			job_log(j, LOG_WARN, i, "leftover", "killed what was "
			    "left in the node's cgroup (%d process(es))",
			    u.leftovers);
		/* a sandboxed attempt cannot write to cgroup.procs, so
		 * none of its processes left its cgroup: with the cgroup
		 * gone, they are all gone, and its directory can serve the
		 * next attempt */
		np->sbclean = u.gone && (np->sblevel == SANDBOX_ENFORCED ||
		    np->sblevel == SANDBOX_PARTIAL);
		if (u.cpu_ms >= 0)
			e.cpu_ms = u.cpu_ms;
		if (u.peak_kb >= 0)
			e.max_rss_kb = u.peak_kb;
		if (u.oom_kills > 0 && e.reason != REASON_NONE) {
			e.reason = REASON_OOM;
			cause = xasprintf("killed by the OOM killer: "
			    "limits.memory %s",
			    units_format_size(node_limit(&j->m->nodes[i],
			    LIMIT_MEMORY),
			    size, sizeof size));
		}
		free(np->cg);
		np->cg = NULL;
	}
	job_attempt_ended(np, &e, cause);
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
int
exec_local_kill_strays(struct job *j, size_t i, int sig)
{
	DIR *d;
	struct dirent *e;
	struct stat st;
	char *p;
	long pid;
	uid_t uid = geteuid();
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
		return exec_local_kill_strays(j, i, sig);
	for (;;) {
		if (j->children_cap - len < 4096) {
			if (j->children_cap >= (1u << 20))
				return exec_local_kill_strays(j, i, sig);
			xgrow(&j->children_buf, &j->children_cap,
			    j->children_cap + 4096, 1);
		}
		r = pread(j->children_fd, j->children_buf + len,
		    j->children_cap - len - 1, (off_t)len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return exec_local_kill_strays(j, i, sig);
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
void
exec_local_kill_leftovers(struct job *j, size_t i, pid_t pgid)
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
	/* and whatever left the group: its cgroup holds it */
	if ((killed = cgroup_job_kill_node(j->cg, j->m->nodes[i].id)) > 0)
		job_log(j, LOG_WARN, i, "leftover", "killed %d process(es) "
		    "left in the cgroup of the interrupted attempt", killed);
}

/* The job is freed: its process group gets SIGKILL, its pipes are closed,
 * what its logs kept is written and a sandboxed attempt's directory goes. */
void
exec_local_release(struct job *j, size_t i)
{
	struct nodeproc *np = j->procs[i];
	struct cgroup_usage u;

	if (np == NULL)
		return;
	if (np->pid > 0)
		spawn_kill_group(np->pid, SIGKILL);
	if (np->cg != NULL) {
		(void)cgroup_attempt_signal(j->cg, np->cg, SIGKILL);
		cgroup_attempt_end(j->cg, np->cg, 0, &u);
		free(np->cg);
		np->cg = NULL;
	}
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
		/* no end is reported: nothing takes its last lines */
		free(np->err.tail);
		np->err.tail = NULL;
	}
	/* also of an attempt whose end was still being read */
	if (np->sbdir != NULL)
		exec_sandbox_remove(j, i, false);
}

static int
exec_local_start(struct job *j, size_t i, int attempt, char **cause)
{
	return exec_local_spawn(j, i, attempt, NULL, cause);
}

const struct exec_ops exec_local = {
	.name = "local",
	.start = exec_local_start,
	.kill = exec_local_kill,
	.release = exec_local_release,
};
