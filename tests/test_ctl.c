/*
 * ctl.c: the control channel between `watch` and a supervisor. What one
 * end sent before it closed is read by the other, also when it left
 * messages of ours unread (the kernel then reports ECONNRESET first).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "ctl.h"
#include "cunit_main.h"

struct seen {
	char	 msg[4][64];
	int	 fd[4];
	int	 n;
};

static bool
collect(void *arg, int fd, const char *msg, int got)
{
	struct seen *s = arg;

	(void)fd;
	if (s->n < 4) {
		strncpy(s->msg[s->n], msg, sizeof s->msg[0] - 1);
		s->fd[s->n] = got;
		s->n++;
	} else if (got >= 0)
		close(got);
	return true;
}

/* The peer sends two messages (one with a descriptor) and closes without
 * reading ours: both are read, then the end. */
static void
test_closed_with_unread(void)
{
	struct seen s;
	int sv[2], p[2];
	char buf[8];

	memset(&s, 0, sizeof s);
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	CU_ASSERT_EQUAL(ctl_send(sv[0], -1, "cap %d", 2), 0);
	CU_ASSERT_EQUAL(ctl_send(sv[1], -1, "reject %s", "bad.yaml:1:1"), 0);
	CU_ASSERT_EQUAL(ctl_send(sv[1], p[1], "done %s", "succeeded"), 0);
	close(p[1]);
	close(sv[1]);			/* "cap 2" never read */
	CU_ASSERT_EQUAL(ctl_each(sv[0], collect, &s), 1);
	CU_ASSERT_EQUAL_FATAL(s.n, 2);
	CU_ASSERT_STRING_EQUAL(s.msg[0], "reject bad.yaml:1:1");
	CU_ASSERT_EQUAL(s.fd[0], -1);
	CU_ASSERT_STRING_EQUAL(s.msg[1], "done succeeded");
	CU_ASSERT(s.fd[1] >= 0);
	/* the descriptor is the pipe's write end: its read end sees EOF once
	 * it is closed */
	close(s.fd[1]);
	CU_ASSERT_EQUAL(read(p[0], buf, sizeof buf), 0);
	close(p[0]);
	close(sv[0]);
}

/* Nothing pending on an open channel: not the end. */
static void
test_nothing_pending(void)
{
	struct seen s;
	int sv[2];

	memset(&s, 0, sizeof s);
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	CU_ASSERT_EQUAL(ctl_each(sv[0], collect, &s), 0);
	CU_ASSERT_EQUAL(s.n, 0);
	close(sv[1]);
	CU_ASSERT_EQUAL(ctl_each(sv[0], collect, &s), 1);
	close(sv[0]);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "closed with our messages unread", test_closed_with_unread },
		{ "nothing pending", test_nothing_pending },
		{ NULL, NULL }
	};

	return cunit_run("ctl", NULL, NULL, tests);
}
