/* The Slurm executor: an attempt is a batch job, submitted with sbatch as
 * the job's user, followed by the tracker (squeue), cancelled with scancel;
 * on file before sbatch runs, so that a restart adopts it instead of
 * submitting it twice. Its logs are the files Slurm wrote, copied in. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "fsutil.h"
#include "job_int.h"
#include "journal.h"
#include "slurm.h"
#include "xmalloc.h"

#define SLURM_RECANCEL_MS	10000	/* scancel again while it runs */

static char *
slurm_io(const struct job *j, size_t i, int attempt, const char *ext)
{
	return xasprintf("%s/io/%s.%d.%s", j->dir, j->m->nodes[i].id,
	    attempt, ext);
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

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		goto out;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (j->spooled && st.st_uid != geteuid())) {
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
	(void)unlink(path);
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
	(void)unlink(path);	/* it holds the node's environment */
	free(path);

	if (r == REASON_EXIT && code == SLURM_EXIT_CHDIR) {
		e.reason = REASON_SPAWN_ERROR;
		cause = xasprintf("Slurm job %s cannot enter the work "
		    "directory '%s': it must be on a filesystem the Slurm "
		    "nodes share", st->id, j->workdir);
	} else if (oom && r != REASON_NONE && r != REASON_CANCELLED) {
		e.reason = REASON_OOM;
		cause = xasprintf("Slurm job %s was killed for memory "
		    "(limit %s)", st->id, node_slurm(n)->mem > 0 ||
		    node_limit_set(n, LIMIT_MEMORY) ? "from the manifest" :
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
	job_attempt_ended(np, &e, cause);
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
	job_state_node(j, i);
	if (journal) {
		a = job_num(np->attempt);
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
	job_state_touch(j);
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
	(void)unlink(path);
	free(path);
	job_attempt_ended(np, &e, cause);
}

static void
slurm_fail(struct nodeproc *np, char *cause)
{
	struct attempt_end e;

	memset(&e, 0, sizeof e);
	e.exit_code = -1;
	e.reason = REASON_SPAWN_ERROR;
	job_log(np->job, LOG_WARN, np->node, "spawn-error", "%s", cause);
	job_attempt_ended(np, &e, cause);
}

/* Write the attempt's batch script and run sbatch as the job's user. */
static void
slurm_submit(struct nodeproc *np)
{
	struct job *j = np->job;
	size_t i = np->node;
	const struct node *n = &j->m->nodes[i];
	char *out_path, *met_path, **envp, *text, *script, *so, *se;
	char **argv, **env, *a, *cause = NULL;
	size_t k;
	int rc;

	out_path = xasprintf("%s/io/%s.output", j->dir, n->id);
	met_path = xasprintf("%s/io/%s.metrics", j->dir, n->id);
	script = slurm_io(j, i, np->attempt, "sbatch");
	so = slurm_io(j, i, np->attempt, "out");
	se = slurm_io(j, i, np->attempt, "err");
	envp = env_build(j, i, np->attempt, out_path, met_path, NULL, NULL,
	    NULL, 0, &cause);
	if (envp == NULL) {
		slurm_fail(np, cause);
		goto out;
	}
	/* the script holds the environment: a value from a need that holds
	 * a secret must not go into it (nor secrets, refused at validation;
	 * the caller's own environment is the caller's) */
	for (k = 0; envp[k] != NULL; k++)
		if (strncmp(envp[k], "DAGEXEC_IN_", 11) == 0 &&
		    secrets_hit(j->secrets, envp[k], strlen(envp[k])))
			break;
	if (envp[k] != NULL) {
		cause = xasprintf("'%.*s' holds a secret: it would be written "
		    "into the batch script", (int)strcspn(envp[k], "="),
		    envp[k]);
		env_build_free(j, envp);
		slurm_fail(np, cause);
		goto out;
	}
	text = slurm_script(envp, j->workdir, n->kind == NODE_RUN ? n->run :
	    NULL, n->argv);
	/* the script is the user's: sbatch reads it as them */
	if (j->resumed) {
		(void)unlink(out_path);
		(void)unlink(met_path);
	}
	rc = fs_write_atomic(script, text, strlen(text), 0600, &cause);
	env_build_free(j, envp);
	free(text);
	if (rc != 0) {
		slurm_fail(np, cause);
		goto out;
	}
	/* on file before sbatch runs: a restart looks the attempt up by its
	 * comment instead of submitting it twice */
	a = job_num(np->attempt);
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
	np->slurm_cmd = slurm_cmd_run(j->loop, argv, env,
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
		job_attempt_ended(np, &e, NULL);
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
	np->slurm_cmd = slurm_cmd_run(j->loop, argv, env,
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
	struct nodeproc *np = job_proc(j, i);
	int adopt = np->adopt_attempt;
	char *adopt_id = np->adopt_id;

	job_proc_reset(j, i, attempt);
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
	struct nodeproc *np = j->procs[i];
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
	struct nodeproc *np = j->procs[i];

	if (np == NULL || !np->slurm_live)
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

/* Submitting cannot fail here: an sbatch that fails ends the attempt (it
 * is counted as running from the start). */
static int
exec_slurm_start(struct job *j, size_t i, int attempt, char **cause)
{
	(void)cause;
	slurm_start(j, i, attempt);
	return 0;
}

/* Any signal: scancel. */
static void
exec_slurm_kill(struct job *j, size_t i, int sig)
{
	(void)sig;
	slurm_kill(j, i);
}

/* The job is freed: its Slurm job runs on, and a restart adopts it. */
static void
exec_slurm_release(struct job *j, size_t i)
{
	struct nodeproc *np = j->procs[i];

	if (np->kill_timer != NULL)
		loop_timer_cancel(j->loop, np->kill_timer);
	if (np->slurm_live && np->slurm_id != NULL)
		slurm_untrack(np->slurm_id, np);
	if (np->slurm_live)
		slurm_cmd_forget(j->loop, np->slurm_cmd);
}

const struct exec_ops exec_slurm = {
	.name = "slurm",
	.start = exec_slurm_start,
	.kill = exec_slurm_kill,
	.release = exec_slurm_release,
};
