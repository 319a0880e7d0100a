/* A parallel gzip writer (libdeflate): the input is cut into chunks, each
 * compressed whole as an independent gzip member (RFC 1952 2.2) by a pool
 * of threads, and the members are written in order. */
#ifndef DAGEXEC_PGZ_H
#define DAGEXEC_PGZ_H

#include <stddef.h>

#ifndef PGZ_CHUNK
#define PGZ_CHUNK	(1024 * 1024)	/* input bytes a member */
#endif
#define PGZ_MAX_THREADS	4

#define PGZ_MIN_LEVEL		0	/* stored blocks only */
#define PGZ_MAX_LEVEL		12	/* libdeflate's slowest */
#define PGZ_DEFAULT_LEVEL	6	/* what -1 means, gzip's default */

struct pgz;

/* The default number of threads: the online CPUs, at most PGZ_MAX_THREADS. */
int pgz_threads(void);

/* Start writing gzip data to fd (not closed by pgz) at libdeflate level
 * (0 to 12, or -1 for PGZ_DEFAULT_LEVEL; others fail with EINVAL) with
 * nthreads compressing threads (0: pgz_threads()). Returns the writer, or
 * NULL with errno and *cause. */
struct pgz *pgz_open(int fd, int level, int nthreads, char **cause);

/* Compress len bytes of buf. Returns 0, or -1 with errno and *cause; after
 * a failure every call fails and the writer is only good for pgz_close or
 * pgz_free. */
int pgz_write(struct pgz *p, const void *buf, size_t len, char **cause);

/* Compress and write what is left, join the threads and free p. Returns 0,
 * or -1 with errno and *cause (p is freed either way). */
int pgz_close(struct pgz *p, char **cause);

/* Abandon p: join the threads and free it without writing more (p may be
 * NULL). errno is kept. */
void pgz_free(struct pgz *p);

#endif
