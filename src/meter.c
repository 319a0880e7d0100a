/* Following $DAGEXEC_METRICS while nodes run: when the DAG or a node has a
 * budget, io/ is watched with inotify through the job's loop (and the own
 * directory of each sandboxed attempt, where its side files are), and
 * each line a running node appends to its metrics file is summed and
 * reported to the scheduler (sched_progress) at once, so that a node over
 * its budget is killed while it runs, not at its end. What is read here
 * only counts while the attempt runs: at its end the whole file is read
 * again (job_attempt_ended), with every check, and that is what is
 * recorded. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "job_int.h"
#include "kvfile.h"
#include "xmalloc.h"

#define METER_MAX	(1u << 20)	/* bytes followed, as SIDEFILE_MAX */
#define METER_LINE	4096		/* a longer line is skipped */
#define METER_EVENTS	(IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | \
	IN_ONLYDIR | IN_DONT_FOLLOW)

/* The job's watches. */
struct meters {
	int		 ino;		/* the inotify instance, in the loop */
	int		 iowd;		/* io/ */
	struct {
		int	 wd;
		size_t	 node;
	}		*sb;		/* sandboxed attempts' directories */
	size_t		 nsb;
	size_t		 sbcap;
};

/* One attempt's reading of its metrics file. */
struct meter {
	int		 wd;		/* its own directory's watch, or -1 */
	off_t		 off;		/* bytes read */
	char		*part;		/* a line not yet ended */
	size_t		 npart;
	bool		 skipping;	/* in a line longer than METER_LINE */
	struct metric	*sum;		/* what it reported so far */
	size_t		 nsum;
};

static bool
meter_wanted(const struct manifest *m)
{
	size_t i;

	if (m->nbudget > 0)
		return true;
	for (i = 0; i < m->nnodes; i++)
		if (node_extra(&m->nodes[i])->nbudget > 0)
			return true;
	return false;
}

static void
meter_reset(struct meter *mt)
{
	int wd = mt->wd;

	metrics_free(mt->sum, mt->nsum);
	free(mt->part);
	memset(mt, 0, sizeof *mt);
	mt->wd = wd;
}

/* Add one line NAME=NUMBER (a malformed one is left to the end's read). */
static void
meter_line(struct meter *mt, const char *line, size_t len)
{
	struct kv *v = NULL;
	char *cause = NULL;
	size_t n = 0;

	if (kvfile_parse(line, len, "$DAGEXEC_METRICS", true, &v, &n,
	    &cause) != 0) {
		free(cause);
		return;
	}
	if (n == 1)
		metric_add(&mt->sum, &mt->nsum, v[0].key,
		    strtod(v[0].value, NULL));
	kvfile_free(v, n);
}

/* Take len bytes that follow what was read: every ended line counts. */
static void
meter_take(struct meter *mt, const char *buf, size_t len)
{
	const char *p = buf, *eol;
	size_t n;

	while (p < buf + len) {
		eol = memchr(p, '\n', (size_t)(buf + len - p));
		n = eol != NULL ? (size_t)(eol - p) : (size_t)(buf + len - p);
		if (!mt->skipping && mt->npart + n <= METER_LINE) {
			mt->part = xreallocarray(mt->part, mt->npart + n + 1,
			    1);
			memcpy(mt->part + mt->npart, p, n);
			mt->npart += n;
		} else
			mt->skipping = true;
		if (eol == NULL)
			break;
		if (!mt->skipping)
			meter_line(mt, mt->part, mt->npart);
		mt->npart = 0;
		mt->skipping = false;
		p = eol + 1;
	}
}

/*
 * Read what node i appended to io/NODE.metrics since the last time, and
 * report the sums when they changed. The node made the file: no link is
 * followed, no FIFO waited on, only a plain file with one link is read
 * (under the spool, of the job's owner, whom the supervisor runs as). A
 * file that shrank was written anew: it is read from its start.
 */
static void
meter_read(struct job *j, size_t i)
{
	struct nodeproc *np = j->procs[i];
	struct meter *mt = np->meter;
	char *path, buf[8192];
	struct stat st;
	ssize_t r;
	int fd;
	bool grew = false;

	path = job_side_path(j, i, "metrics", true);
	fd = openat(j->io_fd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	free(path);
	if (fd < 0)
		return;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (j->spooled && st.st_uid != geteuid()))
		goto out;
	if (mt == NULL) {
		mt = np->meter = xcalloc(1, sizeof *mt);
		mt->wd = -1;
	}
	if (st.st_size < mt->off) {
		meter_reset(mt);
		grew = true;	/* the sums went back */
	}
	while (mt->off < (off_t)METER_MAX) {
		r = pread(fd, buf, sizeof buf, mt->off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		meter_take(mt, buf, (size_t)r);
		mt->off += r;
		grew = true;
	}
	if (grew)
		sched_progress(j->s, i, loop_now(), mt->sum, mt->nsum);
out:
	close(fd);
}

/* The node whose metrics an event of io/ (its name NODE.metrics) or of a
 * sandboxed attempt's directory (its name metrics) is about, or -1. */
static long
meter_node(struct job *j, const struct inotify_event *ev)
{
	struct meters *ms = j->meters;
	size_t len, sfx = strlen(".metrics"), k;
	char *id;
	long i;

	if (ev->len == 0)
		return -1;
	if (ev->wd != ms->iowd) {
		for (k = 0; k < ms->nsb; k++)
			if (ms->sb[k].wd == ev->wd)
				return strcmp(ev->name, "metrics") == 0 ?
				    (long)ms->sb[k].node : -1;
		return -1;
	}
	len = strlen(ev->name);
	if (len <= sfx || strcmp(ev->name + len - sfx, ".metrics") != 0)
		return -1;
	id = xstrndup(ev->name, len - sfx);
	i = manifest_find(j->m, id);
	free(id);
	return i;
}

/* io/ or an attempt's directory changed: read the metrics files of the
 * running local attempts it names. */
static void
meter_event(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct job *j = arg;
	char buf[4096] __attribute__((aligned(8)));
	const struct inotify_event *ev;
	ssize_t r;
	long i;
	bool any = false;

	(void)l;
	(void)events;
	while ((r = read(fd, buf, sizeof buf)) > 0) {
		for (ev = (const struct inotify_event *)buf;
		    (const char *)ev < buf + r;
		    ev = (const struct inotify_event *)((const char *)ev +
		    sizeof *ev + ev->len)) {
			i = meter_node(j, ev);
			if (i < 0 || j->procs[i] == NULL ||
			    j->procs[i]->pid <= 0 ||
			    j->procs[i]->slurm || j->done)
				continue;
			meter_read(j, (size_t)i);
			any = true;
		}
	}
	if (any)
		job_kick(j);
}

void
meter_init(struct job *j)
{
	struct meters *ms;
	char *path;

	j->meters = NULL;
	if (j->io_fd < 0 || !meter_wanted(j->m))
		return;
	ms = xcalloc(1, sizeof *ms);
	if ((ms->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		job_log(j, LOG_WARN, SIZE_MAX, "budget", "cannot follow the "
		    "metrics of running nodes (inotify: %s): budgets are "
		    "checked at each node's end", strerror(errno));
		free(ms);
		return;
	}
	path = xasprintf("%s/io", j->dir);
	if ((ms->iowd = inotify_add_watch(ms->ino, path, METER_EVENTS)) == -1 ||
	    loop_add_fd(j->loop, ms->ino, EPOLLIN, meter_event, j) != 0) {
		job_log(j, LOG_WARN, SIZE_MAX, "budget", "cannot follow the "
		    "metrics of running nodes (%s): budgets are checked at "
		    "each node's end", strerror(errno));
		close(ms->ino);
		free(ms);
	} else
		j->meters = ms;
	free(path);
}

void
meter_start(struct job *j, size_t i)
{
	struct meters *ms = j->meters;
	struct nodeproc *np = j->procs[i];
	char *path;
	int wd;

	if (ms == NULL || np->sbdir == NULL)
		return;
	/* its side files are in a directory of its own, not in io/ */
	path = xasprintf("%s/io/%s", j->dir, np->sbdir);
	wd = inotify_add_watch(ms->ino, path, METER_EVENTS);
	free(path);
	if (wd == -1) {
		job_log(j, LOG_WARN, i, "budget", "cannot follow its metrics "
		    "(%s): its budget is checked at its end", strerror(errno));
		return;
	}
	if (np->meter == NULL)
		np->meter = xcalloc(1, sizeof *np->meter);
	np->meter->wd = wd;
	xgrow(&ms->sb, &ms->sbcap, ms->nsb + 1, sizeof *ms->sb);
	ms->sb[ms->nsb].wd = wd;
	ms->sb[ms->nsb].node = i;
	ms->nsb++;
	/* what it wrote before the watch */
	meter_read(j, i);
}

void
meter_end(struct nodeproc *np)
{
	struct meters *ms = np->job != NULL ? np->job->meters : NULL;
	size_t k;

	if (np->meter == NULL)
		return;
	if (np->meter->wd >= 0 && ms != NULL) {
		(void)inotify_rm_watch(ms->ino, np->meter->wd);
		for (k = 0; k < ms->nsb; k++)
			if (ms->sb[k].wd == np->meter->wd) {
				ms->sb[k] = ms->sb[--ms->nsb];
				break;
			}
	}
	meter_reset(np->meter);
	free(np->meter);
	np->meter = NULL;
}

void
meter_free(struct job *j)
{
	if (j->meters == NULL)
		return;
	(void)loop_close_fd(j->loop, j->meters->ino);
	free(j->meters->sb);
	free(j->meters);
	j->meters = NULL;
}
