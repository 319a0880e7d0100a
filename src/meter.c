/* Following $DAGEXEC_METRICS while nodes run: when the DAG or a node has a
 * budget, io/ is watched with inotify through the job's loop, and each
 * line a running node appends to its metrics file is summed and reported
 * to the scheduler (sched_progress) at once, so that a node over its
 * budget is killed while it runs, not at its end. What is read here only
 * counts while the attempt runs: at its end the whole file is read again
 * (job_attempt_ended), with every check, and that is what is recorded. */
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

/* One attempt's reading of its metrics file. */
struct meter {
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
		if (m->nodes[i].nbudget > 0)
			return true;
	return false;
}

static void
meter_reset(struct meter *mt)
{
	metrics_free(mt->sum, mt->nsum);
	free(mt->part);
	memset(mt, 0, sizeof *mt);
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
	struct nodeproc *np = &j->procs[i];
	struct meter *mt = np->meter;
	char *path, buf[8192];
	struct stat st;
	ssize_t r;
	int fd;
	bool grew = false;

	path = xasprintf("%s.metrics", j->m->nodes[i].id);
	fd = openat(j->io_fd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	free(path);
	if (fd < 0)
		return;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (j->spooled && st.st_uid != geteuid()))
		goto out;
	if (mt == NULL)
		mt = np->meter = xcalloc(1, sizeof *mt);
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

/* io/ changed: read the metrics files of the running local attempts it
 * names. */
static void
meter_event(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct job *j = arg;
	char buf[4096] __attribute__((aligned(8)));
	const struct inotify_event *ev;
	size_t len, sfx = strlen(".metrics");
	char *id;
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
			if (ev->len == 0)
				continue;
			len = strlen(ev->name);
			if (len <= sfx ||
			    strcmp(ev->name + len - sfx, ".metrics") != 0)
				continue;
			id = xstrndup(ev->name, len - sfx);
			i = manifest_find(j->m, id);
			free(id);
			if (i < 0 || j->procs[i].pid <= 0 ||
			    j->procs[i].slurm || j->done)
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
	char *path;

	j->meter_ino = -1;
	if (j->io_fd < 0 || !meter_wanted(j->m))
		return;
	if ((j->meter_ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		job_log(j, LOG_WARN, SIZE_MAX, "budget", "cannot follow the "
		    "metrics of running nodes (inotify: %s): budgets are "
		    "checked at each node's end", strerror(errno));
		return;
	}
	path = xasprintf("%s/io", j->dir);
	if (inotify_add_watch(j->meter_ino, path, IN_MODIFY | IN_CLOSE_WRITE |
	    IN_MOVED_TO | IN_ONLYDIR | IN_DONT_FOLLOW) == -1 ||
	    loop_add_fd(j->loop, j->meter_ino, EPOLLIN, meter_event, j) != 0) {
		job_log(j, LOG_WARN, SIZE_MAX, "budget", "cannot follow the "
		    "metrics of running nodes (%s): budgets are checked at "
		    "each node's end", strerror(errno));
		close(j->meter_ino);
		j->meter_ino = -1;
	}
	free(path);
}

void
meter_end(struct nodeproc *np)
{
	if (np->meter == NULL)
		return;
	meter_reset(np->meter);
	free(np->meter);
	np->meter = NULL;
}

void
meter_free(struct job *j)
{
	if (j->meter_ino < 0)
		return;
	(void)loop_close_fd(j->loop, j->meter_ino);
	j->meter_ino = -1;
}
