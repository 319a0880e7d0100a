/* CUnit suite for src/pgz.c: the parallel gzip writer. Its libdeflate
 * output is checked with an independent decoder, zlib's inflate (zlib is
 * linked into this suite only), and with gzip -dc. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <zlib.h>

#include "cunit_main.h"
#include "fsutil.h"
#include "pgz.h"
#include "xmalloc.h"

static char tmpdir[] = "/tmp/test_pgz.XXXXXX";
static int ncase;

/* n bytes of noise (xorshift, so runs repeat) */
static unsigned char *
random_data(size_t n, unsigned int seed)
{
	unsigned char	*b = xmalloc(n > 0 ? n : 1);
	uint32_t	 x = seed | 1;
	size_t		 i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (unsigned char)x;
	}
	return b;
}

/* n bytes of log-like text */
static unsigned char *
text_data(size_t n)
{
	unsigned char	*b = xmalloc(n > 0 ? n : 1);
	char		 line[128];
	size_t		 i = 0, k, len;

	for (k = 0; i < n; k++) {
		len = (size_t)snprintf(line, sizeof line, "node-%zu: attempt "
		    "%zu exited 0 after %zu ms\n", k, k % 3, (k * 7919) % 1000);
		if (len > n - i)
			len = n - i;
		memcpy(b + i, line, len);
		i += len;
	}
	return b;
}

/* Compress data into a new file with pieces of piece bytes a write; the
 * file's path, or NULL. */
static char *
compress_to_file(const unsigned char *data, size_t len, size_t piece,
    int nthreads, int level)
{
	struct pgz	*p;
	char		*path, *cause = NULL;
	size_t		 off, n;
	int		 fd;

	path = xasprintf("%s/case%d.gz", tmpdir, ncase++);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	p = pgz_open(fd, level, nthreads, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (off = 0; off < len; off += n) {
		n = len - off < piece ? len - off : piece;
		if (pgz_write(p, data + off, n, &cause) != 0) {
			fprintf(stderr, "pgz_write: %s\n", cause);
			free(cause);
			pgz_free(p);
			close(fd);
			free(path);
			return NULL;
		}
	}
	if (pgz_close(p, &cause) != 0) {
		fprintf(stderr, "pgz_close: %s\n", cause);
		free(cause);
		close(fd);
		free(path);
		return NULL;
	}
	CU_ASSERT(close(fd) == 0);
	return path;
}

/* Inflate the gzip file at path member by member with zlib: the data in
 * *out, the number of members returned (-1: not valid gzip). */
static int
inflate_members(const char *path, unsigned char **out, size_t *outlen)
{
	char		*gz, *cause = NULL;
	size_t		 gzlen, cap = 0, len = 0;
	unsigned char	*o = NULL;
	z_stream	 z;
	int		 r, members = 0;

	*out = NULL;
	*outlen = 0;
	if (fs_read_file(path, 256u << 20, &gz, &gzlen, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return -1;
	}
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, 15 + 16) != Z_OK) {
		free(gz);
		return -1;
	}
	z.next_in = (unsigned char *)gz;
	z.avail_in = (uInt)gzlen;
	for (;;) {
		xgrow(&o, &cap, len + 65536, 1);
		z.next_out = o + len;
		z.avail_out = (uInt)(cap - len);
		r = inflate(&z, Z_NO_FLUSH);
		len = cap - z.avail_out;
		if (r == Z_STREAM_END) {
			members++;
			if (z.avail_in == 0)
				break;
			if (inflateReset(&z) != Z_OK) {
				members = -1;
				break;
			}
			continue;
		}
		if (r != Z_OK) {
			members = -1;	/* corrupt or truncated */
			break;
		}
	}
	inflateEnd(&z);
	free(gz);
	*out = o;
	*outlen = len;
	return members;
}

/* What gzip -dc makes of the file at path; NULL when it fails. */
static unsigned char *
gunzip_pipe(const char *path, size_t *outlen)
{
	FILE		*f;
	char		*cmd;
	unsigned char	*o = NULL;
	size_t		 cap = 0, len = 0, n;

	cmd = xasprintf("gzip -dc '%s'", path);
	f = popen(cmd, "r");
	free(cmd);
	if (f == NULL)
		return NULL;
	for (;;) {
		xgrow(&o, &cap, len + 65536, 1);
		n = fread(o + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	if (pclose(f) != 0) {
		free(o);
		return NULL;
	}
	*outlen = len;
	return o;
}

/* Compress data and check both decoders give it back, in want members. */
static void
round_trip(const unsigned char *data, size_t len, size_t piece, int nthreads,
    int want_members)
{
	char		*path;
	unsigned char	*back = NULL;
	size_t		 blen = 0;
	int		 members;

	path = compress_to_file(data, len, piece, nthreads, -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);

	members = inflate_members(path, &back, &blen);
	CU_ASSERT_EQUAL(members, want_members);
	CU_ASSERT_EQUAL(blen, len);
	if (blen == len)
		CU_ASSERT(len == 0 || memcmp(back, data, len) == 0);
	free(back);

	back = gunzip_pipe(path, &blen);
	CU_ASSERT_PTR_NOT_NULL(back);
	if (back != NULL) {
		CU_ASSERT_EQUAL(blen, len);
		if (blen == len)
			CU_ASSERT(len == 0 || memcmp(back, data, len) == 0);
	}
	free(back);
	unlink(path);
	free(path);
}

static void
test_empty(void)
{
	char		*path;
	struct stat	 st;

	round_trip((const unsigned char *)"", 0, 1, 2, 1);
	/* a valid empty member: header, empty deflate block, trailer */
	path = compress_to_file((const unsigned char *)"", 0, 1, 2, -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	CU_ASSERT(stat(path, &st) == 0 && st.st_size >= 18 &&
	    st.st_size < 64);
	unlink(path);
	free(path);
}

static void
test_one_byte(void)
{
	round_trip((const unsigned char *)"x", 1, 1, 2, 1);
}

static void
test_one_chunk(void)
{
	unsigned char	*d = random_data(PGZ_CHUNK, 7);

	round_trip(d, PGZ_CHUNK, PGZ_CHUNK, 2, 1);
	round_trip(d, PGZ_CHUNK, 10240, 2, 1);
	free(d);
}

static void
test_one_chunk_and_one(void)
{
	unsigned char	*d = random_data(PGZ_CHUNK + 1, 8);

	round_trip(d, PGZ_CHUNK + 1, PGZ_CHUNK + 1, 2, 2);
	round_trip(d, PGZ_CHUNK + 1, 4096, 1, 2);
	free(d);
}

static void
test_many_random(void)
{
	size_t		 n = 9 * (size_t)PGZ_CHUNK + 12345;
	unsigned char	*d = random_data(n, 9);

	round_trip(d, n, n, 2, 10);		/* one big write */
	round_trip(d, n, 10240, 2, 10);		/* libarchive's blocks */
	round_trip(d, n, 77777, 1, 10);
	round_trip(d, n, 3 * (size_t)PGZ_CHUNK + 1, 4, 10);
	free(d);
}

static void
test_many_text(void)
{
	size_t		 n = 12 * (size_t)PGZ_CHUNK, glen;
	unsigned char	*d = text_data(n + 100);
	char		*path, *gz, *cause = NULL;

	round_trip(d, n, 10240, 2, 12);	/* a multiple: no empty last member */
	round_trip(d, n + 100, 10240, 3, 13);

	/* text compresses well even cut into chunks */
	path = compress_to_file(d, n, 65536, 2, -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	CU_ASSERT_FATAL(fs_read_file(path, 256u << 20, &gz, &glen,
	    &cause) == 0);
	CU_ASSERT(glen * 5 < n);
	free(gz);
	unlink(path);
	free(path);
	free(d);
}

static void
test_small_writes(void)
{
	size_t		 n = 2 * (size_t)PGZ_CHUNK + 99;
	unsigned char	*d = text_data(n);

	round_trip(d, n, 17, 2, 3);
	free(d);
}

/* pgz_open at level refuses it: NULL, EINVAL, the level in the message. */
static void
bad_level(int level)
{
	struct pgz	*p;
	char		*cause = NULL, *want;

	errno = 0;
	p = pgz_open(1, level, 2, &cause);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	want = xasprintf("level %d:", level);
	CU_ASSERT(strstr(cause, want) != NULL);
	CU_ASSERT(strstr(cause, "0 to 12") != NULL);
	free(want);
	free(cause);
	pgz_free(p);
}

static void
test_bad_level(void)
{
	bad_level(42);
	bad_level(13);		/* one past libdeflate's slowest */
	bad_level(-2);		/* -1 is the default, not any negative */
	bad_level(-100);
}

/* The size of one member made of len bytes of data at level; 0 when it
 * fails. The member must inflate back to data. */
static size_t
member_size(const unsigned char *data, size_t len, int level)
{
	struct stat	 st;
	unsigned char	*back = NULL;
	size_t		 blen = 0, size = 0;
	char		*path;

	path = compress_to_file(data, len, len, 2, level);
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	CU_ASSERT_EQUAL(inflate_members(path, &back, &blen), 1);
	CU_ASSERT_EQUAL(blen, len);
	if (blen == len && memcmp(back, data, len) == 0 &&
	    stat(path, &st) == 0)
		size = (size_t)st.st_size;
	CU_ASSERT(size > 0);
	free(back);
	unlink(path);
	free(path);
	return size;
}

/* Every level libdeflate has is taken, the ends included; a chunk of text
 * comes out smaller than it went in at every level but 0 (stored blocks:
 * a little larger), and the slowest level is no larger than the fastest. */
static void
test_levels(void)
{
	unsigned char	*d = text_data(PGZ_CHUNK);
	size_t		 size[PGZ_MAX_LEVEL + 1];
	int		 level;

	for (level = PGZ_MIN_LEVEL; level <= PGZ_MAX_LEVEL; level++) {
		size[level] = member_size(d, PGZ_CHUNK, level);
		if (level > 0) {
			CU_ASSERT(size[level] > 0);
			CU_ASSERT(size[level] <= PGZ_CHUNK);
			CU_ASSERT(size[level] * 5 < PGZ_CHUNK);
		}
	}
	CU_ASSERT(size[0] > PGZ_CHUNK);
	CU_ASSERT(size[PGZ_MAX_LEVEL] <= size[1]);
	/* -1 is PGZ_DEFAULT_LEVEL: the same deterministic output */
	CU_ASSERT_EQUAL(member_size(d, PGZ_CHUNK, -1),
	    size[PGZ_DEFAULT_LEVEL]);
	free(d);
}

/* Everything written to fd fails: the error shows by close at the latest,
 * with errno want and its text in the message. */
static void
write_fails(int fd, size_t len, int want)
{
	struct pgz	*p;
	unsigned char	*d = random_data(len, 11);
	char		*cause = NULL;
	int		 failed = 0;

	p = pgz_open(fd, 6, 2, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	if (pgz_write(p, d, len, &cause) != 0) {
		failed = 1;
		CU_ASSERT_EQUAL(errno, want);
		CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
		CU_ASSERT(strstr(cause, strerror(want)) != NULL);
		free(cause);
		cause = NULL;
		/* and it stays failed */
		CU_ASSERT(pgz_write(p, d, 1, &cause) == -1);
		CU_ASSERT_EQUAL(errno, want);
		free(cause);
		cause = NULL;
	}
	CU_ASSERT(pgz_close(p, &cause) == -1);
	CU_ASSERT_EQUAL(errno, want);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT(strstr(cause, "cannot write compressed data: ") != NULL);
	CU_ASSERT(strstr(cause, strerror(want)) != NULL);
	free(cause);
	if (len > 8 * (size_t)PGZ_CHUNK)
		CU_ASSERT(failed);	/* slots fill up: a write waits */
	free(d);
}

static void
test_dev_full(void)
{
	int	fd = open("/dev/full", O_WRONLY | O_CLOEXEC);

	CU_ASSERT_FATAL(fd >= 0);
	write_fails(fd, 10, ENOSPC);			/* at close */
	write_fails(fd, 10 * (size_t)PGZ_CHUNK + 5, ENOSPC);
	close(fd);
}

static void
test_closed_pipe(void)
{
	int	fds[2];
	void	(*old)(int);

	old = signal(SIGPIPE, SIG_IGN);
	CU_ASSERT_FATAL(pipe(fds) == 0);
	close(fds[0]);
	write_fails(fds[1], 3, EPIPE);
	write_fails(fds[1], 10 * (size_t)PGZ_CHUNK, EPIPE);
	close(fds[1]);
	signal(SIGPIPE, old);
}

/* Abandoned half way, with chunks queued: the threads end, nothing leaks
 * (the sanitizer build checks), and no more is written. */
static void
test_abandon(void)
{
	struct pgz	*p;
	size_t		 n = 6 * (size_t)PGZ_CHUNK;
	unsigned char	*d = text_data(n);
	char		*path, *cause = NULL;
	struct stat	 st1, st2;
	int		 fd;

	path = xasprintf("%s/abandon.gz", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	p = pgz_open(fd, 9, 2, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT(pgz_write(p, d, n, &cause) == 0);
	errno = EXDEV;
	pgz_free(p);
	CU_ASSERT_EQUAL(errno, EXDEV);
	CU_ASSERT(fstat(fd, &st1) == 0);
	usleep(50000);
	CU_ASSERT(fstat(fd, &st2) == 0);
	CU_ASSERT_EQUAL(st1.st_size, st2.st_size);
	pgz_free(NULL);
	close(fd);
	unlink(path);
	free(path);
	free(d);
}

static void
test_threads(void)
{
	int	n = pgz_threads();

	CU_ASSERT(n >= 1 && n <= PGZ_MAX_THREADS);
}

static int
suite_init(void)
{
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
suite_clean(void)
{
	char	*cause = NULL;

	if (fs_remove_tree(tmpdir, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return -1;
	}
	return 0;
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "empty input: one empty member", test_empty },
		{ "one byte", test_one_byte },
		{ "exactly one chunk: one member", test_one_chunk },
		{ "one chunk and a byte: two members", test_one_chunk_and_one },
		{ "many chunks of noise, any write size", test_many_random },
		{ "many chunks of text", test_many_text },
		{ "many small writes", test_small_writes },
		{ "a bad level fails at open", test_bad_level },
		{ "levels 0 to 12; text comes out smaller", test_levels },
		{ "a full disk fails with ENOSPC", test_dev_full },
		{ "a closed pipe fails with EPIPE", test_closed_pipe },
		{ "abandoned with chunks queued", test_abandon },
		{ "the default thread count", test_threads },
		{ NULL, NULL }
	};

	return cunit_run("pgz", suite_init, suite_clean, tests);
}
