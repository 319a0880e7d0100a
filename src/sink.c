/* A node's logs: each output stream of an attempt into
 * DIR/nodes/NODE/NAME, its secrets masked, capped, opened with the job
 * owner's ids. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errtail.h"
#include "job_int.h"
#include "xmalloc.h"

/* A log sink for attempt `attempt` into DIR/nodes/NODE/NAME; the file is
 * made on the first byte, so a silent node costs none. */
void
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
	/* what a person reads first of a failure: stderr's last lines */
	ls->keep_last = strcmp(name, "stderr.log") == 0;
}

/* Keep the last ERRTAIL_KEEP bytes written, whatever the log keeps. */
static void
sink_keep_last(struct logsink *ls, const char *buf, size_t len)
{
	size_t first;

	if (ls->last == NULL)
		ls->last = xmalloc(ERRTAIL_KEEP);
	ls->last_seen += (int64_t)len;
	if (len >= ERRTAIL_KEEP) {
		memcpy(ls->last, buf + len - ERRTAIL_KEEP, ERRTAIL_KEEP);
		ls->last_pos = 0;
		return;
	}
	first = ERRTAIL_KEEP - ls->last_pos;
	if (first > len)
		first = len;
	memcpy(ls->last + ls->last_pos, buf, first);
	memcpy(ls->last, buf + first, len - first);
	ls->last_pos = (ls->last_pos + len) % ERRTAIL_KEEP;
}

/* The last lines of what was kept into ls->tail; the bytes are let go. */
static void
sink_take_last(struct logsink *ls)
{
	char *lin;
	size_t n;

	if (ls->last == NULL)
		return;
	if (ls->last_seen <= ERRTAIL_KEEP) {
		n = (size_t)ls->last_seen;
		lin = ls->last;
	} else {
		/* oldest first: from the write position round to it */
		n = ERRTAIL_KEEP;
		lin = xmalloc(n);
		memcpy(lin, ls->last + ls->last_pos, n - ls->last_pos);
		memcpy(lin + n - ls->last_pos, ls->last, ls->last_pos);
	}
	free(ls->tail);
	ls->tail = errtail_new(lin, n, ls->last_seen > ERRTAIL_KEEP);
	if (lin != ls->last)
		free(lin);
	free(ls->last);
	ls->last = NULL;
}

/*
 * Open nodes/NODE/NAME for appending. nodes/ is the job owner's, who may
 * have put anything in it: the directory and the file are made and opened
 * with the owner's file-system ids (a file root made there could be moved
 * by them, a link they planted would be followed with root's rights), no
 * link is followed, no FIFO waited on, and only a plain file of the
 * owner's with one link is written to.
 */
int
sink_open(struct logsink *ls)
{
	const struct job *j = ls->job;
	struct stat st;
	const char *why = NULL;
	char *sep;
	int dfd = -1, fd = -1;

	if (ls->file >= 0 || ls->failed)
		return ls->file;
	if (j->nodes_fd < 0)
		why = "no nodes directory";
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
	}
	if (dfd >= 0)
		close(dfd);
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_nlink != 1 || (j->spooled && st.st_uid != geteuid()))) {
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

/* Append len bytes, already masked: the head to the file, the tail to
 * the ring. */
static void
sink_put(struct logsink *ls, const char *buf, size_t len)
{
	size_t take, first;

	if (len > 0 && ls->keep_last)
		sink_keep_last(ls, buf, len);
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

static void
sink_put_cb(void *arg, const char *buf, size_t len)
{
	sink_put(arg, buf, len);
}

/*
 * Append len bytes of what the node wrote. The secret values the job has
 * read are masked first, before the cut of log_limit and across reads: a
 * value split between two reads (a node that writes it byte by byte) is
 * held back until the next read shows whether it is whole.
 */
void
sink_write(struct logsink *ls, const char *buf, size_t len)
{
	if (len == 0)
		return;
	secrets_stream(ls->job->secrets, &ls->mask, buf, len, sink_put_cb, ls);
}

/* Write the kept tail and close the file. */
void
sink_finish(struct logsink *ls)
{
	char *line;
	int64_t start;

	/* the stream is over: what was held back goes out, masked, and
	 * then its last lines are taken */
	secrets_stream_end(ls->job->secrets, &ls->mask, sink_put_cb, ls);
	sink_take_last(ls);
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
void
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
