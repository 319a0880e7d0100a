#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdeflate.h>

#include "pgz.h"
#include "xmalloc.h"

/*
 * The calling thread fills chunks; a full chunk is queued, a worker turns it
 * into one gzip member, and the calling thread writes the members out in
 * the order the chunks were filled. Chunk k lives in slot k % nslots until
 * its member is written: the slots bound the memory (in and out buffers of
 * nslots chunks). A slot is filled and written by the calling thread only,
 * compressed by one worker only; its state, under the lock, says who.
 * A member is made in one call from the whole chunk by libdeflate (which
 * compresses whole buffers only), with the worker's own compressor.
 */

#define PGZ_SLOTS_A_THREAD	2

enum pgz_state {
	PGZ_FREE,	/* the calling thread's: being filled or unused */
	PGZ_QUEUED,	/* waiting for a worker */
	PGZ_BUSY,	/* a worker compresses it */
	PGZ_DONE	/* the member is ready to be written */
};

struct pgz_slot {
	enum pgz_state	 state;
	unsigned char	*in;		/* PGZ_CHUNK bytes, allocated on use */
	size_t		 in_len;
	unsigned char	*out;
	size_t		 out_cap;
	size_t		 out_len;
	int		 failed;	/* the member could not be made */
};

struct pgz_worker {
	struct pgz			*p;
	struct libdeflate_compressor	*c;
	pthread_t			 thread;
};

struct pgz {
	int			 fd;
	int			 nthreads;
	int			 nstarted;	/* threads running */
	struct pgz_worker	*workers;
	size_t			 out_cap;	/* a member's size bound */

	pthread_mutex_t		 lock;
	pthread_cond_t		 work;		/* for the workers */
	pthread_cond_t		 done;		/* for the calling thread */
	int			 stop;

	struct pgz_slot		*slots;
	size_t			 nslots;
	uint64_t		 next_fill;	/* the chunk being filled */
	uint64_t		 next_take;	/* the next for a worker */
	uint64_t		 next_write;	/* the next to write out */

	int			 failed;
	int			 err;		/* errno of the failure */
	char			*cause;
};

int
pgz_threads(void)
{
	long	n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > PGZ_MAX_THREADS ? PGZ_MAX_THREADS : (int)n;
}

/* Record the first failure; later ones are dropped. */
static void
pgz_fail(struct pgz *p, int err, char *msg)
{
	if (p->failed) {
		free(msg);
		return;
	}
	p->failed = 1;
	p->err = err;
	p->cause = msg;
}

/* Hand the recorded failure to a caller. */
static int
pgz_error(struct pgz *p, char **cause)
{
	if (cause != NULL)
		*cause = xstrdup(p->cause);
	errno = p->err;
	return -1;
}

/* Compress slot s as one gzip member with compressor c. */
static void
pgz_compress(struct libdeflate_compressor *c, struct pgz_slot *s, size_t cap)
{
	static const unsigned char	 none[1];
	const unsigned char		*in = s->in != NULL ? s->in : none;

	if (s->out == NULL) {
		s->out = xmalloc(cap);
		s->out_cap = cap;
	}
	/* 0: the member did not fit in the bound, which cannot happen */
	s->out_len = libdeflate_gzip_compress(c, in, s->in_len, s->out,
	    s->out_cap);
	s->failed = s->out_len == 0;
}

static void *
pgz_worker_main(void *arg)
{
	struct pgz_worker	*w = arg;
	struct pgz		*p = w->p;
	struct pgz_slot		*s;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && p->next_take == p->next_fill)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->stop)
			break;
		s = &p->slots[p->next_take++ % p->nslots];
		s->state = PGZ_BUSY;
		pthread_mutex_unlock(&p->lock);

		pgz_compress(w->c, s, p->out_cap);

		pthread_mutex_lock(&p->lock);
		s->state = PGZ_DONE;
		pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Start the workers, with every signal blocked in them. */
static int
pgz_start(struct pgz *p)
{
	sigset_t	all, old;
	int		i, r = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < p->nthreads; i++) {
		r = pthread_create(&p->workers[i].thread, NULL,
		    pgz_worker_main, &p->workers[i]);
		if (r != 0)
			break;
		p->nstarted++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (p->nstarted == 0) {
		pgz_fail(p, r, xasprintf("cannot start a compressing thread: "
		    "%s", strerror(r)));
		return -1;
	}
	return 0;	/* fewer threads than asked for is still fine */
}

/* Write buf out whole. */
static int
pgz_write_fd(struct pgz *p, const unsigned char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = write(p->fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			pgz_fail(p, errno, xasprintf("cannot write compressed "
			    "data: %s", strerror(errno)));
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write out the members of the chunks before upto, in order: those ready
 * now, or (wait) all of them, waiting for the workers. */
static int
pgz_flush(struct pgz *p, uint64_t upto, int wait)
{
	struct pgz_slot	*s;
	enum pgz_state	 state;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		if (p->next_write >= upto) {
			pthread_mutex_unlock(&p->lock);
			return 0;
		}
		s = &p->slots[p->next_write % p->nslots];
		while (s->state != PGZ_DONE && wait)
			pthread_cond_wait(&p->done, &p->lock);
		state = s->state;
		pthread_mutex_unlock(&p->lock);
		if (state != PGZ_DONE)
			return 0;

		if (s->failed) {
			pgz_fail(p, EIO, xasprintf("cannot compress: a chunk "
			    "of %zu bytes does not fit in %zu", s->in_len,
			    s->out_cap));
			return -1;
		}
		if (pgz_write_fd(p, s->out, s->out_len) != 0)
			return -1;

		pthread_mutex_lock(&p->lock);
		s->state = PGZ_FREE;
		s->in_len = 0;
		p->next_write++;
		pthread_mutex_unlock(&p->lock);
	}
}

/* Queue the chunk being filled and make the next slot free to fill. */
static int
pgz_submit(struct pgz *p)
{
	if (p->nstarted == 0 && pgz_start(p) != 0)
		return -1;

	pthread_mutex_lock(&p->lock);
	p->slots[p->next_fill % p->nslots].state = PGZ_QUEUED;
	p->next_fill++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);

	if (pgz_flush(p, p->next_fill, 0) != 0)
		return -1;
	if (p->next_fill - p->next_write >= p->nslots)
		return pgz_flush(p, p->next_fill - p->nslots + 1, 1);
	return 0;
}

struct pgz *
pgz_open(int fd, int level, int nthreads, char **cause)
{
	struct pgz	*p;
	int		 i;

	if (nthreads <= 0)
		nthreads = pgz_threads();
	if (nthreads > PGZ_MAX_THREADS)
		nthreads = PGZ_MAX_THREADS;

	if (level == -1)
		level = PGZ_DEFAULT_LEVEL;
	if (level < PGZ_MIN_LEVEL || level > PGZ_MAX_LEVEL) {
		if (cause != NULL)
			*cause = xasprintf("cannot compress at level %d: not "
			    "%d to %d, or -1 for the default (%d)", level,
			    PGZ_MIN_LEVEL, PGZ_MAX_LEVEL, PGZ_DEFAULT_LEVEL);
		errno = EINVAL;
		return NULL;
	}

	p = xcalloc(1, sizeof *p);
	p->fd = fd;
	p->workers = xcalloc((size_t)nthreads, sizeof *p->workers);
	for (i = 0; i < nthreads; i++) {
		p->workers[i].p = p;
		/* NULL with a good level: out of memory */
		p->workers[i].c = libdeflate_alloc_compressor(level);
		if (p->workers[i].c == NULL) {
			if (cause != NULL)
				*cause = xasprintf("cannot start compressing "
				    "at level %d: %s", level, strerror(ENOMEM));
			p->nthreads = i;
			pgz_free(p);
			errno = ENOMEM;
			return NULL;
		}
		p->nthreads = i + 1;
	}
	p->out_cap = libdeflate_gzip_compress_bound(p->workers[0].c,
	    PGZ_CHUNK);

	p->nslots = (size_t)nthreads * PGZ_SLOTS_A_THREAD;
	p->slots = xcalloc(p->nslots, sizeof *p->slots);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	return p;
}

int
pgz_write(struct pgz *p, const void *buf, size_t len, char **cause)
{
	const unsigned char	*b = buf;
	struct pgz_slot		*s;
	size_t			 n;

	if (p->failed)
		return pgz_error(p, cause);
	while (len > 0) {
		s = &p->slots[p->next_fill % p->nslots];
		if (s->in == NULL)
			s->in = xmalloc(PGZ_CHUNK);
		n = PGZ_CHUNK - s->in_len;
		if (n > len)
			n = len;
		memcpy(s->in + s->in_len, b, n);
		s->in_len += n;
		b += n;
		len -= n;
		if (s->in_len == PGZ_CHUNK && pgz_submit(p) != 0)
			return pgz_error(p, cause);
	}
	return 0;
}

int
pgz_close(struct pgz *p, char **cause)
{
	struct pgz_slot	*s;
	int		 rc = 0;

	if (!p->failed) {
		s = &p->slots[p->next_fill % p->nslots];
		if (p->nstarted == 0) {
			/* less than a chunk in all: one member, made here */
			if (p->next_fill == 0) {
				pgz_compress(p->workers[0].c, s, p->out_cap);
				s->state = PGZ_DONE;
				p->next_fill++;
			}
		} else if (s->in_len > 0) {
			pgz_submit(p);
		}
		if (!p->failed)
			pgz_flush(p, p->next_fill, 1);
	}
	if (p->failed)
		rc = pgz_error(p, cause);
	pgz_free(p);
	return rc;
}

void
pgz_free(struct pgz *p)
{
	size_t	i;
	int	k, saved = errno;

	if (p == NULL)
		return;
	if (p->slots != NULL) {
		pthread_mutex_lock(&p->lock);
		p->stop = 1;
		pthread_cond_broadcast(&p->work);
		pthread_mutex_unlock(&p->lock);
		for (k = 0; k < p->nstarted; k++)
			pthread_join(p->workers[k].thread, NULL);
		pthread_cond_destroy(&p->done);
		pthread_cond_destroy(&p->work);
		pthread_mutex_destroy(&p->lock);
		for (i = 0; i < p->nslots; i++) {
			free(p->slots[i].in);
			free(p->slots[i].out);
		}
		free(p->slots);
	}
	for (k = 0; k < p->nthreads; k++)
		libdeflate_free_compressor(p->workers[k].c);
	free(p->workers);
	free(p->cause);
	free(p);
	errno = saved;
}
