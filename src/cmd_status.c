/* dagexec status [-s SPOOL] [JOB]: jobs and their progress, from their
 * state.yaml files only (so it works while the daemon is down). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <sys/inotify.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "cmd.h"
#include "errtail.h"
#include "fsutil.h"
#include "log.h"
#include "runref.h"
#include "spool.h"
#include "state.h"
#include "strmap.h"
#include "xmalloc.h"

struct entry {
	char			*id;
	char			*when;		/* ISO time, for sorting */
	struct state_doc	*doc;		/* NULL: queued */
};

static void
status_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec status [-s SPOOL] [JOB|BUNDLE|JOBDIR]\n"
	    "       dagexec status [-s SPOOL] --follow JOB|BUNDLE|JOBDIR\n"
	    "       dagexec status [-s SPOOL] --schedules\n\n"
	    "Without JOB: one line a job (id, status, done/total nodes, "
	    "failed, elapsed),\nnewest first. With JOB (a job id of SPOOL, a "
	    "result bundle or a job\ndirectory): one line a node "
	    "(status, attempts, duration, error and the\nlast lines of "
	    "stderr of a failed attempt; \"reused\" or \"cached\" for a "
	    "node\nthat did not run here), then \"saved: ...\" when cache "
	    "hits saved metrics.\nReads state files only; "
	    "works while the daemon is down.\n"
	    "With --follow: watch the job (inotify on its state.yaml) until "
	    "it ends; on a\nterminal a view redrawn in place (progress bar, "
	    "running nodes, last failures),\nelse one line a change.\n\n"
	    "  -s, --spool SPOOL   the spool (default $DAGEXEC_SPOOL, then "
	    "%s)\n"
	    "  -f, --follow        follow JOB until it ends\n"
	    "      --schedules     the schedules of SPOOL/schedules/ (yours; "
	    "root: all):\n"
	    "                      next firing in the schedule's zone, "
	    "expression, zone,\n"
	    "                      overlap, the last firing's job, what "
	    "waits\n\n"
	    "exit status: 0, 1 no such job, 65 its file was rejected, 66 the "
	    "spool or the run\ncannot be read, 64 usage; with --follow: 0 "
	    "the job succeeded, 1 it ended\notherwise, 65 its file was "
	    "rejected, 66 no such job (an interrupted job is\nfollowed until "
	    "it ends)\n",
	    spool_default());
}

static char *
iso_time(time_t t)
{
	struct tm tm;
	char buf[40];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	return xstrdup(buf);
}

/* Milliseconds since the epoch of an ISO time as state.yaml writes it. */
static int64_t
iso_ms(const char *s)
{
	struct tm tm;
	const char *p;
	int ms = 0;

	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof tm);
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		return -1;
	if (*p == '.')
		ms = atoi(p + 1);
	return (int64_t)timegm(&tm) * 1000 + ms;
}

static void
fmt_elapsed(int64_t ms, char *buf, size_t len)
{
	int64_t s = ms / 1000;

	if (ms < 0)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%.1fs", (double)ms / 1000);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", (long long)(s / 60),
		    (long long)(s % 60));
	else
		snprintf(buf, len, "%lldh%02lldm", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
}

static int64_t
doc_elapsed(const struct state_doc *d)
{
	struct timespec ts;
	int64_t start;

	if (d->duration_ms >= 0)
		return d->duration_ms;
	if ((start = iso_ms(d->started_at)) < 0)
		return -1;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - start;
}

static struct state_doc *
read_bundle_state(const char *path, const char *id)
{
	struct state_doc *d = NULL;
	char *member = xasprintf("%s/state.yaml", id), *buf, *cause = NULL;
	size_t len;

	if (bundle_read_member(path, member, 1u << 30, &buf, &len,
	    &cause) == 0) {
		if (state_read_buf(path, buf, len, &d, &cause) != 0)
			d = NULL;
		free(buf);
	}
	if (d == NULL) {
		fprintf(stderr, "dagexec: status: %s\n", cause);
		free(cause);
	}
	free(member);
	return d;
}

static void
add(struct entry **v, size_t *n, size_t *cap, char *id, char *when,
    struct state_doc *doc)
{
	xgrow(v, cap, *n + 1, sizeof **v);
	(*v)[*n].id = id;
	(*v)[*n].when = when;
	(*v)[*n].doc = doc;
	(*n)++;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(y->when, x->when);

	return c != 0 ? c : strcmp(y->id, x->id);
}

static char *
strip_ext(const char *name, const char *ext)
{
	size_t a = strlen(name), b = strlen(ext);

	if (a > b && strcmp(name + a - b, ext) == 0)
		return xstrndup(name, a - b);
	return NULL;
}

/* Every job of the spool. */
static int
collect(const char *spool, struct entry **v, size_t *n)
{
	static const char *const exts[] = { ".tar.gz", ".tar.zst" };
	size_t cap = 0, e;
	char *dir, *path, *id, *cause = NULL;
	struct state_doc *doc;
	struct dirent *de;
	struct stat st;
	DIR *d;

	*v = NULL;
	*n = 0;
	/* queued: files in incoming/ */
	dir = xasprintf("%s/incoming", spool);
	if ((d = opendir(dir)) == NULL && errno != EACCES) {
		fprintf(stderr, "dagexec: status: cannot read '%s': %s\n", dir,
		    strerror(errno));
		free(dir);
		return -1;
	}
	/* incoming/ is 1733: only its owner sees what is queued */
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		id = strip_ext(de->d_name, ".yaml");
		if (id == NULL)
			id = strip_ext(de->d_name, ".retry");
		if (id == NULL)
			id = xstrdup(de->d_name);
		path = xasprintf("%s/%s", dir, de->d_name);
		if (lstat(path, &st) == 0)
			add(v, n, &cap, id, iso_time(st.st_mtime), NULL);
		else
			free(id);
		free(path);
	}
	if (d != NULL)
		closedir(d);
	free(dir);
	/* running (or interrupted): active/JOB/state.yaml */
	dir = xasprintf("%s/active", spool);
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			path = xasprintf("%s/%s/state.yaml", dir, de->d_name);
			if (state_read(path, &doc, &cause) == 0)
				add(v, n, &cap, xstrdup(de->d_name),
				    xstrdup(doc->started_at ? doc->started_at :
				    ""), doc);
			else {
				free(cause);
				cause = NULL;
			}
			free(path);
		}
		closedir(d);
	}
	free(dir);
	/* finished: done/JOB.tar.* */
	dir = xasprintf("%s/done", spool);
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			id = NULL;
			for (e = 0; e < 2 && id == NULL; e++)
				id = strip_ext(de->d_name, exts[e]);
			if (id == NULL || de->d_name[0] == '.') {
				free(id);
				continue;
			}
			path = xasprintf("%s/%s", dir, de->d_name);
			if (access(path, R_OK) == 0 &&
			    (doc = read_bundle_state(path, id)) != NULL)
				add(v, n, &cap, id, xstrdup(doc->started_at ?
				    doc->started_at : ""), doc);
			else
				free(id);
			free(path);
		}
		closedir(d);
	}
	free(dir);
	if (*n > 1)
		qsort(*v, *n, sizeof **v, entry_cmp);
	return 0;
}

static void
print_jobs(const struct entry *v, size_t n)
{
	const struct state_doc *d;
	char el[32], prog[48], *id;
	size_t i;

	if (isatty(STDOUT_FILENO))
		printf("%-48s %-16s %9s %6s %8s\n", "JOB", "STATUS", "DONE",
		    "FAILED", "ELAPSED");
	for (i = 0; i < n; i++) {
		d = v[i].doc;
		id = log_escape(v[i].id, strlen(v[i].id));
		if (d == NULL) {
			printf("%-48s %-16s %9s %6s %8s\n", id, "queued",
			    "-", "-", "-");
			free(id);
			continue;
		}
		snprintf(prog, sizeof prog, "%zu/%zu",
		    d->succeeded + d->failed + d->skipped, d->total);
		fmt_elapsed(doc_elapsed(d), el, sizeof el);
		printf("%-48s %-16s %9s %6zu %8s\n", id, d->status, prog,
		    d->failed, el);
		free(id);
	}
}

/* "name=value name=value" of metrics, escaped (they come from a file). */
static char *
fmt_metrics(const struct metric *v, size_t n)
{
	char	*out = xstrdup(""), *t, *e;
	size_t	 i;

	for (i = 0; i < n; i++) {
		e = log_escape(v[i].name, strlen(v[i].name));
		t = xasprintf("%s%s%s=%.15g", out, i > 0 ? " " : "", e,
		    v[i].value);
		free(e);
		free(out);
		out = t;
	}
	return out;
}

/* One line a node: a node that ran shows its attempts, time and error; a
 * succeeded node that did not run here shows "reused" and the job it came
 * from, or "cached" and what the hit saved. Then the DAG's savings. */
static void
print_nodes(const struct state_doc *d)
{
	const struct state_doc_node *nd;
	char el[32], att[16], *err, *id, *t;
	const char *st;
	size_t i;

	if (isatty(STDOUT_FILENO))
		printf("%-32s %-10s %8s %8s  %s\n", "NODE", "STATUS",
		    "ATTEMPTS", "TIME", "DETAIL");
	for (i = 0; i < d->nnodes; i++) {
		nd = &d->nodes[i];
		st = nd->status;
		fmt_elapsed(nd->duration_ms, el, sizeof el);
		snprintf(att, sizeof att, "%d", nd->attempts);
		if (nd->reused_from != NULL || nd->cached) {
			st = nd->reused_from != NULL ? "reused" : "cached";
			snprintf(att, sizeof att, "-");
			snprintf(el, sizeof el, "-");
		}
		if (nd->reused_from != NULL) {
			t = log_escape(nd->reused_from,
			    strlen(nd->reused_from));
			err = xasprintf("from %s", t);
			free(t);
		} else if (nd->cached && nd->nsaved > 0) {
			t = fmt_metrics(nd->saved, nd->nsaved);
			err = xasprintf("saved %s", t);
			free(t);
		} else {
			/* the error, then the last lines of stderr (safe
			 * text: state_read made it so) */
			t = log_escape(nd->error ? nd->error : "",
			    nd->error ? strlen(nd->error) : 0);
			err = errtail_line(nd->error != NULL ? t : NULL,
			    nd->stderr_tail);
			free(t);
		}
		id = log_escape(nd->id, strlen(nd->id));
		printf("%-32s %-10s %8s %8s  %s\n", id, st, att, el, err);
		free(id);
		free(err);
	}
	/* ':' is in no node id: this line cannot be taken for a node's */
	if (d->nsaved > 0) {
		t = fmt_metrics(d->saved, d->nsaved);
		printf("saved: %s\n", t);
		free(t);
	}
}

/* ---- --follow ------------------------------------------------------------ */

#define FOLLOW_RUNNING	8	/* running nodes listed */
#define FOLLOW_FAILED	5	/* last failures listed */
#define FOLLOW_BAR	30	/* progress bar cells */

struct follow {
	const char	*spool;
	const char	*job;
	char		*jobdir;
	bool		 tty;
	int		 lines;		/* drawn last time (tty) */
	char		*last;		/* the last line printed (pipe) */
	struct strmap	*seen;		/* id -> index into since/ids */
	char		**ids;
	int64_t		*since;		/* when we first saw it running */
	size_t		 nids;
	size_t		 cap;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
status_final(const char *st)
{
	return strcmp(st, "queued") != 0 && strcmp(st, "running") != 0;
}

/* When node id was first seen running (now when it is new). */
static int64_t
follow_since(struct follow *f, const char *id, bool running)
{
	size_t i;

	if (strmap_get(f->seen, id, &i)) {
		if (!running)
			f->since[i] = -1;
		else if (f->since[i] < 0)
			f->since[i] = now_ms();
		return f->since[i];
	}
	if (f->nids == f->cap) {
		f->cap = f->cap == 0 ? 64 : f->cap * 2;
		f->ids = xreallocarray(f->ids, f->cap, sizeof *f->ids);
		f->since = xreallocarray(f->since, f->cap, sizeof *f->since);
	}
	/* the keys are borrowed: ids[] keeps them (pointers, not moved) */
	f->ids[f->nids] = xstrdup(id);
	f->since[f->nids] = running ? now_ms() : -1;
	strmap_put(f->seen, f->ids[f->nids], f->nids, NULL);
	return f->since[f->nids++];
}

/* Where a job is that has no state to read. */
enum whereabouts { JOB_UNKNOWN, JOB_QUEUED, JOB_REJECTED };

/* The file a rejected job was dropped as, rejected/JOB.yaml or
 * rejected/JOB.retry (as `submit` names them), new; NULL when neither
 * is there. */
static char *
follow_rejected(const struct follow *f)
{
	static const char *const exts[] = { "yaml", "retry" };
	struct stat st;
	char *path;
	size_t k;

	for (k = 0; f->spool != NULL && k < sizeof exts / sizeof exts[0];
	    k++) {
		path = xasprintf("%s/rejected/%s.%s", f->spool, f->job,
		    exts[k]);
		if (lstat(path, &st) == 0)
			return path;
		free(path);
	}
	return NULL;
}

/* Is the job somewhere on its way (queued, being claimed, active, done,
 * rejected)? Checked in the order a job moves, so that a move between two
 * checks is seen by a later one. */
static enum whereabouts
follow_known(struct follow *f)
{
	static const char *const exts[] = { "yaml", "retry" };
	struct stat st;
	char *path;
	bool yes = false;
	size_t k;

	if (f->spool == NULL)
		return lstat(f->jobdir, &st) == 0 ? JOB_QUEUED : JOB_UNKNOWN;
	/* queued, or being taken in: claims/.claim-NAME/NAME (claims/ cannot
	 * be listed by users, but the path can be tried); a manifest or a
	 * retry request, as `submit` names them */
	for (k = 0; k < sizeof exts / sizeof exts[0] && !yes; k++) {
		path = xasprintf("%s/incoming/%s.%s", f->spool, f->job,
		    exts[k]);
		yes = lstat(path, &st) == 0;
		free(path);
		path = xasprintf("%s/claims/.claim-%s.%s/%s.%s", f->spool,
		    f->job, exts[k], f->job, exts[k]);
		if (!yes)
			yes = lstat(path, &st) == 0;
		free(path);
	}
	if (!yes)
		yes = lstat(f->jobdir, &st) == 0;
	path = xasprintf("%s/done/%s.tar.gz", f->spool, f->job);
	if (!yes)
		yes = lstat(path, &st) == 0;
	free(path);
	path = xasprintf("%s/done/%s.tar.zst", f->spool, f->job);
	if (!yes)
		yes = lstat(path, &st) == 0;
	free(path);
	if (yes)
		return JOB_QUEUED;
	if ((path = follow_rejected(f)) == NULL)
		return JOB_UNKNOWN;
	free(path);
	return JOB_REJECTED;
}

/* Say why the job was rejected: the first line of its .error (the
 * dropper's alone: another user learns only that it was). */
static void
follow_say_rejected(const struct follow *f)
{
	char *path = follow_rejected(f), *epath, *buf = NULL, *cause = NULL;
	char *id = log_escape(f->job, strlen(f->job)), *e;
	size_t len;

	epath = xasprintf("%s.error", path != NULL ? path : "");
	if (path != NULL && fs_read_file(epath, 1u << 16, &buf, &len,
	    &cause) == 0) {
		e = log_escape(buf, strcspn(buf, "\n"));
		printf("%s rejected: %s\n", id, e);
		free(e);
	} else
		printf("%s rejected\n", id);
	if (path != NULL)
		printf("  see %s\n", epath);
	fflush(stdout);
	free(cause);
	free(buf);
	free(epath);
	free(path);
	free(id);
}

/* The state of the job: from active/JOB/state.yaml, else from its bundle in
 * done/. NULL when there is neither (yet); *where then says whether the job
 * is known all the same (waiting in incoming/, being claimed, just
 * activated) or was rejected. */
static struct state_doc *
follow_read(struct follow *f, enum whereabouts *where)
{
	static const char *const exts[] = { ".tar.gz", ".tar.zst" };
	struct state_doc *d = NULL;
	char *path, *cause = NULL;
	size_t e;

	*where = JOB_UNKNOWN;
	path = xasprintf("%s/state.yaml", f->jobdir);
	if (state_read(path, &d, &cause) != 0) {
		free(cause);
		d = NULL;
	}
	free(path);
	for (e = 0; d == NULL && f->spool != NULL && e < 2; e++) {
		path = xasprintf("%s/done/%s%s", f->spool, f->job, exts[e]);
		if (access(path, R_OK) == 0)
			d = read_bundle_state(path, f->job);
		free(path);
	}
	if (d == NULL)
		*where = follow_known(f);
	return d;
}

static void
follow_line(struct follow *f, const struct state_doc *d)
{
	char el[32], *line, *run = NULL, *t, *id;
	size_t i, k = 0, done;

	for (i = 0; i < d->nnodes; i++) {
		(void)follow_since(f, d->nodes[i].id,
		    strcmp(d->nodes[i].status, "running") == 0);
		if (strcmp(d->nodes[i].status, "running") != 0)
			continue;
		if (k++ < FOLLOW_RUNNING) {
			t = xasprintf("%s%s%s", run != NULL ? run : "",
			    run != NULL ? " " : "", d->nodes[i].id);
			free(run);
			run = t;
		} else if (k == FOLLOW_RUNNING + 1) {
			t = xasprintf("%s ...", run);
			free(run);
			run = t;
		}
	}
	done = d->succeeded + d->failed + d->skipped;
	fmt_elapsed(doc_elapsed(d), el, sizeof el);
	id = log_escape(f->job, strlen(f->job));
	line = xasprintf("%s %s %zu/%zu done, %zu running, %zu failed%s%s",
	    id, d->status, done, d->total, d->running, d->failed,
	    run != NULL ? ": " : "", run != NULL ? run : "");
	free(id);
	free(run);
	/* one line a change: the elapsed time is not a change */
	if (f->last == NULL || strcmp(f->last, line) != 0) {
		printf("%s (%s)\n", line, el);
		fflush(stdout);
		free(f->last);
		f->last = line;
	} else
		free(line);
}

static void
follow_draw(struct follow *f, const struct state_doc *d)
{
	const struct state_doc_node *nd;
	char el[32], *id, *err, *t, *line;
	size_t i, k, done, cells, nfail = 0;
	int lines = 0;
	int64_t since, now = now_ms();

	if (f->lines > 0)
		printf("\033[%dA", f->lines);
	printf("\r\033[J");
	done = d->succeeded + d->failed + d->skipped;
	fmt_elapsed(doc_elapsed(d), el, sizeof el);
	id = log_escape(f->job, strlen(f->job));
	printf("%s  %s  %s\n", id, d->status, el);
	free(id);
	cells = d->total > 0 ? done * FOLLOW_BAR / d->total : 0;
	putchar('[');
	for (i = 0; i < FOLLOW_BAR; i++)
		putchar(i < cells ? '#' : '.');
	printf("] %zu/%zu done, %zu running, %zu failed, %zu skipped\n", done,
	    d->total, d->running, d->failed, d->skipped);
	lines += 2;
	for (i = k = 0; i < d->nnodes; i++) {
		nd = &d->nodes[i];
		since = follow_since(f, nd->id, strcmp(nd->status,
		    "running") == 0);
		if (strcmp(nd->status, "running") != 0)
			continue;
		if (k++ >= FOLLOW_RUNNING)
			continue;
		fmt_elapsed(since >= 0 ? now - since : -1, el, sizeof el);
		printf("  running  %-40s %8s%s\n", nd->id, el,
		    nd->attempts > 1 ? " (retry)" : "");
		lines++;
	}
	if (k > FOLLOW_RUNNING) {
		printf("  ... and %zu more running\n", k - FOLLOW_RUNNING);
		lines++;
	}
	for (i = 0; i < d->nnodes; i++)
		if (strcmp(d->nodes[i].status, "failed") == 0 ||
		    strcmp(d->nodes[i].status, "timed_out") == 0)
			nfail++;
	for (i = 0, k = 0; i < d->nnodes; i++) {
		nd = &d->nodes[i];
		if (strcmp(nd->status, "failed") != 0 &&
		    strcmp(nd->status, "timed_out") != 0)
			continue;
		if (++k + FOLLOW_FAILED <= nfail)
			continue;	/* only the last few */
		t = log_escape(nd->error ? nd->error : "",
		    nd->error ? strlen(nd->error) : 0);
		line = errtail_line(t, nd->stderr_tail);
		err = errtail_cut(line, 60);
		printf("  %-8s %-40s %s\n", nd->status, nd->id, err);
		free(line);
		free(t);
		free(err);
		lines++;
	}
	f->lines = lines;
	fflush(stdout);
}

static void
follow_release(struct follow *f)
{
	strmap_free(f->seen);
	while (f->nids > 0)
		free(f->ids[--f->nids]);
	free(f->ids);
	free(f->since);
	free(f->last);
	free(f->jobdir);
}

/* Watch where the job moves: active/ (claimed) and done/ (finished),
 * rejected/ (refused). 0, or an exit status (said on stderr). */
static int
follow_watch(const struct follow *f, int ifd)
{
	static const struct {
		const char	*sub;
		uint32_t	 mask;
	} dirs[] = {
		{ "active", IN_CREATE | IN_MOVED_TO | IN_DELETE |
		    IN_MOVED_FROM },
		{ "done", IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE },
		{ "rejected", IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE },
	};
	char *path;
	size_t i;

	for (i = 0; f->spool != NULL && i < sizeof dirs / sizeof dirs[0];
	    i++) {
		path = xasprintf("%s/%s", f->spool, dirs[i].sub);
		if (inotify_add_watch(ifd, path, dirs[i].mask |
		    IN_ONLYDIR) < 0) {
			fprintf(stderr, "dagexec: status: cannot watch '%s': "
			    "%s\n", path, strerror(errno));
			free(path);
			return EXIT_NOINPUT;
		}
		free(path);
	}
	return 0;
}

/* Read what inotify says: true when anything changed. The job directory's
 * watch is dropped (*wd_job -1) when the directory goes. */
static bool
follow_events(int ifd, int *wd_job)
{
	char buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	bool changed = false;
	ssize_t n;
	char *p;

	while ((n = read(ifd, buf, sizeof buf)) > 0) {
		changed = true;
		for (p = buf; p < buf + n; p += sizeof *ev + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->wd == *wd_job && (ev->mask & (IN_IGNORED |
			    IN_DELETE_SELF | IN_MOVE_SELF)) != 0) {
				if ((ev->mask & IN_IGNORED) == 0)
					inotify_rm_watch(ifd, *wd_job);
				*wd_job = -1;
			}
		}
	}
	return changed;
}

/* The exit status of a job that ended as status: 0 succeeded, 1 else. */
static int
follow_exit(const char *status)
{
	return strcmp(status, "succeeded") == 0 ? 0 : EXIT_DAG_FAILED;
}

#define REJECT_WAIT	3	/* seconds for a rejected file's .error */

/*
 * Follow job (of spool, in jobdir; spool NULL: a job directory outside a
 * spool) until it ends; the exit status of dagexec(1): 0 succeeded, 1
 * ended otherwise, 65 rejected, 66 unknown. An interrupted job is
 * followed on: it resumes when a daemon next runs.
 */
static int
follow_job(const char *spool, const char *job, const char *jobdir)
{
	struct follow f;
	struct state_doc *d = NULL;
	struct pollfd pfd;
	enum whereabouts where = JOB_UNKNOWN;
	int ifd, wd_job = -1, ret = 0, r, waited = 0;
	bool seen = false, changed = true;
	char *epath, *rpath;

	memset(&f, 0, sizeof f);
	f.spool = spool;
	f.job = job;
	f.jobdir = xstrdup(jobdir);
	f.tty = isatty(STDOUT_FILENO);
	f.seen = strmap_new(64);
	if ((ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0) {
		fprintf(stderr, "dagexec: status: inotify: %s\n",
		    strerror(errno));
		ret = EXIT_OSERR;
		goto out;
	}
	if ((ret = follow_watch(&f, ifd)) != 0)
		goto out;
	for (;;) {
		/* state.yaml is replaced by rename: IN_MOVED_TO */
		if (wd_job < 0)
			wd_job = inotify_add_watch(ifd, f.jobdir, IN_MOVED_TO |
			    IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF |
			    IN_ONLYDIR);
		if (changed) {
			state_doc_free(d);
			d = follow_read(&f, &where);
			if (d == NULL && where == JOB_UNKNOWN && !seen) {
				fprintf(stderr, "dagexec: status: no job '%s' "
				    "in '%s'\n", job, spool != NULL ? spool :
				    jobdir);
				ret = EXIT_NOINPUT;
				goto out;
			}
			seen = true;
			if (d == NULL && where == JOB_QUEUED && !f.tty &&
			    f.last == NULL) {
				f.last = xstrdup("queued");
				printf("%s queued\n", job);
				fflush(stdout);
			}
		}
		if (d == NULL && where == JOB_REJECTED) {
			/* the .error is written just after the file moves:
			 * wait a little for it */
			rpath = follow_rejected(&f);
			epath = xasprintf("%s.error", rpath != NULL ? rpath :
			    "");
			r = access(epath, F_OK);
			free(epath);
			free(rpath);
			if (r == 0 || waited++ >= REJECT_WAIT) {
				follow_say_rejected(&f);
				ret = EXIT_DATAERR;
				goto out;
			}
		}
		if (d != NULL) {
			if (f.tty)
				follow_draw(&f, d);
			else if (changed)
				follow_line(&f, d);
			if (status_final(d->status) &&
			    strcmp(d->status, "interrupted") != 0) {
				ret = follow_exit(d->status);
				break;
			}
		}
		/* on a terminal the clocks tick once a second; otherwise
		 * only inotify wakes us */
		pfd.fd = ifd;
		pfd.events = POLLIN;
		r = poll(&pfd, 1, (f.tty && d != NULL) ||
		    where == JOB_REJECTED ? 1000 : -1);
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "dagexec: status: poll: %s\n",
			    strerror(errno));
			ret = EXIT_OSERR;
			goto out;
		}
		changed = follow_events(ifd, &wd_job);
	}
out:
	if (ifd >= 0)
		close(ifd);
	state_doc_free(d);
	follow_release(&f);
	return ret;
}

/* --follow of a bundle outside a spool: it is over; its line, and the
 * exit status of its end. */
static int
follow_bundle(const struct runref *r)
{
	struct state_doc *d;
	struct follow f;
	char *cause = NULL;
	int ret;

	if (runref_state(r, &d, &cause) != 0) {
		fprintf(stderr, "dagexec: status: %s\n", cause);
		free(cause);
		return errno == EILSEQ ? EXIT_DATAERR : EXIT_NOINPUT;
	}
	memset(&f, 0, sizeof f);
	f.job = r->job;
	f.seen = strmap_new(64);
	follow_line(&f, d);
	ret = status_final(d->status) ? follow_exit(d->status) :
	    EXIT_DAG_FAILED;
	state_doc_free(d);
	follow_release(&f);
	return ret;
}

/* --follow ARG: a job id of the spool dir, or the path of a bundle or a
 * job directory (followed in its spool when it is in one). */
static int
status_follow(const char *dir, const char *arg)
{
	struct runref r;
	struct stat st;
	char *jobdir, *cause = NULL;
	int ret;

	if (stat(arg, &st) != 0) {
		if (strchr(arg, '/') != NULL || arg[0] == '.') {
			fprintf(stderr, "dagexec: status: no job '%s' in "
			    "'%s'\n", arg, dir);
			return EXIT_NOINPUT;
		}
		if (spool_check(dir, &cause) != 0) {
			fprintf(stderr, "dagexec: status: %s\n", cause);
			free(cause);
			return EXIT_NOINPUT;
		}
		jobdir = xasprintf("%s/active/%s", dir, arg);
		ret = follow_job(dir, arg, jobdir);
		free(jobdir);
		return ret;
	}
	if ((ret = cmd_runref("status", arg, dir, &r)) != 0)
		return ret;
	if (r.spool != NULL) {
		jobdir = xasprintf("%s/active/%s", r.spool, r.job);
		ret = follow_job(r.spool, r.job, jobdir);
		free(jobdir);
	} else if (r.dir)
		ret = follow_job(NULL, r.job, r.path);
	else
		ret = follow_bundle(&r);
	runref_release(&r);
	return ret;
}

/* status JOB: one line a node of the run arg (a job id of the spool dir,
 * or the path of a bundle or a job directory). */
static int
status_job(const char *dir, const char *arg)
{
	struct state_doc *d;
	struct runref r;
	char *cause = NULL;
	int ret = 0;

	if (runref_resolve(arg, dir, &r, &cause) != 0) {
		if (errno == EAGAIN)
			printf("%s queued\n", arg);
		else
			fprintf(stderr, "dagexec: status: %s\n", cause);
		free(cause);
		return errno == EAGAIN ? 0 : errno == ENOENT ?
		    EXIT_DAG_FAILED : errno == EILSEQ ? EXIT_DATAERR :
		    EXIT_NOINPUT;
	}
	if (runref_state(&r, &d, &cause) == 0) {
		print_nodes(d);
		state_doc_free(d);
	} else if (errno == ENOENT && r.spool != NULL && r.dir)
		/* claimed, its supervisor not yet started */
		printf("%s queued\n", r.job);
	else {
		fprintf(stderr, "dagexec: status: %s\n", cause);
		ret = errno == EILSEQ ? EXIT_DATAERR : EXIT_NOINPUT;
	}
	free(cause);
	runref_release(&r);
	return ret;
}

int
cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "follow", no_argument, NULL, 'f' },
		{ "schedules", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL, *job = NULL;
	char *cause = NULL;
	struct entry *v;
	size_t n, i;
	int c, ret = 0, follow = 0, schedules = 0;

	while ((c = getopt_long(argc, argv, "+s:fh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			dir = optarg;
			break;
		case 'f':
			follow = 1;
			break;
		case 'S':
			schedules = 1;
			break;
		case 'h':
			status_usage(stdout);
			return 0;
		default:
			status_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		status_usage(stderr);
		return EXIT_USAGE;
	}
	if (argc - optind == 1)
		job = argv[optind];
	if (dir == NULL)
		dir = spool_default();
	if (schedules)
		return job != NULL || follow ? (status_usage(stderr),
		    EXIT_USAGE) : status_schedules(dir);
	if (follow && job == NULL) {
		status_usage(stderr);
		return EXIT_USAGE;
	}
	if (follow)
		return status_follow(dir, job);
	if (job != NULL) {
		ret = status_job(dir, job);
		return fflush(stdout) != 0 ? EXIT_IOERR : ret;
	}
	if (spool_check(dir, &cause) != 0) {
		fprintf(stderr, "dagexec: status: %s\n", cause);
		free(cause);
		return EXIT_NOINPUT;
	}
	if (collect(dir, &v, &n) != 0)
		return EXIT_NOINPUT;
	print_jobs(v, n);
	for (i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].when);
		state_doc_free(v[i].doc);
	}
	free(v);
	if (fflush(stdout) != 0)
		ret = EXIT_IOERR;
	return ret;
}
