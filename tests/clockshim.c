/*
 * An LD_PRELOAD shim for tests/integration/clock.sh: the wall clock jumps
 * while the monotonic clock does not.
 *
 * CLOCK_REALTIME (and CLOCK_REALTIME_COARSE), time(2) and gettimeofday(2)
 * read the real wall clock plus an offset in seconds, read at each call
 * from the file named by $CLOCKSHIM_FILE (a decimal integer, "3600" or
 * "-3600"; no file, an empty or a bad one: 0).  The test, or a node, writes
 * the file to jump the clock of every process that loaded the shim at the
 * same moment.  CLOCK_MONOTONIC and the other clocks pass through.
 *
 * Build: cc -shared -fPIC -o clockshim.so clockshim.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* The offset of the wall clock now, in seconds. */
static int64_t
offset_s(void)
{
	const char *path = getenv("CLOCKSHIM_FILE");
	char buf[32], *end;
	ssize_t n;
	long long v;
	int fd, saved = errno;

	if (path == NULL || *path == '\0')
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		errno = saved;
		return 0;
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	errno = saved;
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	v = strtoll(buf, &end, 10);
	if (end == buf || (*end != '\0' && *end != '\n'))
		return 0;
	return (int64_t)v;
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	long rc;

	/* the system call itself: no interposed symbol, no vDSO needed */
	rc = syscall(SYS_clock_gettime, id, ts);
	if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		ts->tv_sec += offset_s();
	return (int)rc;
}

int
gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;
	struct timeval *p = tv;

	(void)tz;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return -1;
	if (p != NULL) {
		p->tv_sec = ts.tv_sec;
		p->tv_usec = ts.tv_nsec / 1000;
	}
	return 0;
}

time_t
time(time_t *tp)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return (time_t)-1;
	if (tp != NULL)
		*tp = ts.tv_sec;
	return ts.tv_sec;
}
