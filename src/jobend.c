/* A job's end: the files written beside the final state (summary.txt,
 * timeline.svg, trace.json, report.html, graph.dot), each rendered on a
 * thread of its own, and the notification sent when it ends. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "job_int.h"
#include "journal.h"
#include "kvfile.h"
#include "log.h"
#include "render.h"
#include "report.h"
#include "spawn.h"
#include "state.h"
#include "timeline.h"
#include "trace.h"
#include "xmalloc.h"

/* ---- notify -------------------------------------------------------------- */

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
	if (job_parse_kv_file(j, AT_FDCWD, path, "the notify result", false, &v,
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
	statew_flush(j);
	j->notifying = false;
	if (j->on_finish != NULL)
		j->on_finish(j, j->arg);
}

/* When manifest.notify asks for this end, start `dagexec __notify URL
 * STATE RESULT` in a child process (it never blocks the loop). Returns 0
 * when one was started (notify_exited calls on_finish), else -1. */
int
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
		statew_flush(j);
		return -1;
	}
	result = xasprintf("%s/io/.notify.result", j->dir);
	if (unlink(result) != 0 && errno != ENOENT)
		job_log(j, LOG_WARN, SIZE_MAX, "notify",
		    "cannot remove '%s': %s", result, strerror(errno));
	argv[0] = job_argv0;
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
	job_spawn_ids(j, &sp);
	pid = spawn_start(&sp, &pidfd, &cause);
	spawn_free_paths(sp.paths);
	free(argv[1]);
	free(argv[5]);
	free(result);
	if (pid < 0) {
		j->notify_status = xstrdup("failed");
		j->notify_error = cause;
		job_log(j, LOG_WARN, SIZE_MAX, "notify", "failed: %s", cause);
		statew_flush(j);
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

/* summary.txt, timeline.svg, trace.json and report.html (which inlines
 * the timeline when it is small) are each rendered by a thread of their
 * own while the loop writes the final state and the graph: the end of a
 * run is on the critical path of every `dagexec run`. Each is written into
 * its file as it is made (a DAG of a million nodes is never held whole in
 * memory) and renamed into place without an fsync of its own: the bundle
 * they go into is fsynced, and a job directory that outlives a crash is
 * made again from the journal. The threads only read the finished job
 * (nothing changes it any more) and write into the job directory with the
 * identity the state writer has: the process's own, never a node owner's. */
#define FINALE_FILES	4

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
	const char		 *bundle;
	const char		 *spool;
	pthread_mutex_t		  svg_lock;	/* the timeline, for the */
	pthread_cond_t		  svg_cond;	/*   report: */
	bool			  svg_done;	/* written, or failed */
	bool			  svg_ok;	/* written */
	struct finale_file	  file[FINALE_FILES];
};

static const char *const finale_names[FINALE_FILES] = {
	"summary.txt", "timeline.svg", "trace.json", "report.html"
};

/* report.html, with the timeline inlined when it is small: it waits for
 * the timeline's thread to have written it. */
static char *
finale_report(struct finale *f, size_t *len)
{
	struct report_in in;
	struct stat st;
	char *path, *svg = NULL, *text;
	size_t svg_len = 0;
	bool ok;

	pthread_mutex_lock(&f->svg_lock);
	while (!f->svg_done)
		pthread_cond_wait(&f->svg_cond, &f->svg_lock);
	ok = f->svg_ok;
	pthread_mutex_unlock(&f->svg_lock);
	path = xasprintf("%s/timeline.svg", f->dir);
	if (ok && stat(path, &st) == 0) {
		/* a large one is linked: only its size is read */
		if (st.st_size > (off_t)REPORT_SVG_MAX)
			svg_len = (size_t)st.st_size;
		else if (fs_read_file(path, REPORT_SVG_MAX, &svg, &svg_len,
		    NULL) != 0)
			svg = NULL;
	}
	free(path);
	memset(&in, 0, sizeof in);
	in.m = f->m;
	in.runs = f->runs;
	in.metrics = sched_metrics(f->s, &in.nmetrics);
	in.sj = &f->sj;
	in.svg = svg != NULL ? svg : svg_len > 0 ? "" : NULL;
	in.svg_len = svg_len;
	in.dir = f->dir;
	in.bundle = f->bundle;
	in.spool = f->spool;
	text = report_render(&in, len);
	free(svg);
	return text;
}

/* Render file k of the end into fd. 0, or -1 with errno. */
static int
finale_render(struct finale *f, size_t k, int fd)
{
	FILE *fp;
	char *text;
	size_t len;
	int rc, dfd;

	switch (k) {
	case 0:
		if ((dfd = dup(fd)) < 0)
			return -1;
		if ((fp = fdopen(dfd, "w")) == NULL) {
			close(dfd);
			return -1;
		}
		render_summary(fp, f->m, f->s, &f->sj, f->duration);
		return fclose(fp) == 0 ? 0 : -1;
	case 1:
		return timeline_write_fd(fd, f->m, f->runs, &f->sj);
	case 2:
		return trace_write_fd(fd, f->m, f->runs, &f->sj);
	default:
		text = finale_report(f, &len);
		rc = fs_write_all(fd, text, len);
		free(text);
		return rc;
	}
}

static void *
finale_main(void *arg)
{
	struct finale_file *ff = arg;
	struct finale *f = ff->f;
	char *path, *tmp;
	int fd, rc = -1;

	path = xasprintf("%s/%s", f->dir, finale_names[ff->k]);
	fd = fs_atomic_open(path, 0600, (uid_t)-1, (gid_t)-1, &tmp,
	    &ff->cause);
	if (fd >= 0 && finale_render(f, ff->k, fd) != 0) {
		ff->cause = xasprintf("cannot write '%s': %s", path,
		    strerror(errno));
		fs_atomic_abort(fd, tmp);
	} else if (fd >= 0)
		rc = fs_atomic_commit(fd, tmp, path, false, &ff->cause);
	free(path);
	if (ff->k == 1) {
		pthread_mutex_lock(&f->svg_lock);
		f->svg_ok = rc == 0;
		f->svg_done = true;
		pthread_cond_signal(&f->svg_cond);
		pthread_mutex_unlock(&f->svg_lock);
	}
	return NULL;
}

/* Start the threads, with every signal blocked in them (the loop reads
 * them from its signalfd); a file no thread can be had for is done at the
 * join (the timeline before the report, which waits for it). */
static void
finale_start(struct job *j, struct finale *f)
{
	sigset_t all, old;
	size_t k;

	memset(f, 0, sizeof *f);
	f->m = j->m;
	f->s = j->s;
	f->runs = sched_runs(j->s);
	job_fill_state(j, &f->sj);
	f->duration = j->finished - j->started;
	f->dir = j->dir;
	f->bundle = j->bundle;
	f->spool = j->spool;
	pthread_mutex_init(&f->svg_lock, NULL);
	pthread_cond_init(&f->svg_cond, NULL);
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
	pthread_mutex_destroy(&f->svg_lock);
	pthread_cond_destroy(&f->svg_cond);
}

/* graph.dot, coloured by the nodes' statuses, written as it is made. */
static void
job_write_dot(struct job *j)
{
	char *path, *tmp, *cause = NULL;
	FILE *fp = NULL;
	int fd, dfd = -1;

	path = xasprintf("%s/graph.dot", j->dir);
	fd = fs_atomic_open(path, 0600, (uid_t)-1, (gid_t)-1, &tmp, &cause);
	if (fd >= 0 && ((dfd = dup(fd)) < 0 ||
	    (fp = fdopen(dfd, "w")) == NULL)) {
		if (dfd >= 0)
			close(dfd);
		fp = NULL;
	}
	if (fp != NULL)
		render_dot(fp, j->m, j->s);
	if (fd >= 0 && (fp == NULL || fclose(fp) != 0)) {
		cause = xasprintf("cannot write '%s': %s", path,
		    strerror(errno));
		fs_atomic_abort(fd, tmp);
	} else if (fd >= 0)
		(void)fs_atomic_commit(fd, tmp, path, false, &cause);
	if (cause != NULL) {
		job_log(j, LOG_ERROR, SIZE_MAX, "finish", "%s", cause);
		free(cause);
		j->end_failed = true;
	}
	free(path);
}

/* Write the files of the job's end: the final state, summary.txt,
 * timeline.svg, trace.json, report.html and graph.dot, and sync the
 * journal (with journal, its finish is added first), while the threads
 * render. j->end_failed says whether one of them could not be written. */
void
job_write_end(struct job *j, bool journal)
{
	struct finale f;
	char *cause = NULL;

	j->end_failed = false;
	finale_start(j, &f);
	/* no node reads io/ any more: its watch is let go now, so that its
	 * mark is destroyed in the kernel's background while the end is
	 * written (closing a descriptor that still watches waits for an RCU
	 * grace period, 10-15 ms at the very end of the command) */
	if (j->io_ino >= 0 && sched_finished(j->s))
		(void)inotify_rm_watch(j->io_ino, j->io_wd);
	statew_flush(j);
	if (journal)
		journal_add(j->jr, loop_wallclock(), "finish", "status",
		    dag_status_name(sched_status(j->s)), (char *)NULL);
	/* what could not be written stays buffered for the next try */
	if (journal_sync(j->jr, &cause) != 0) {
		job_log(j, LOG_ERROR, SIZE_MAX, "journal", "%s", cause);
		free(cause);
		j->end_failed = true;
	}
	job_write_dot(j);
	finale_join(j, &f);
}
