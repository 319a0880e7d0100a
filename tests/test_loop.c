/* CUnit suite for loop.c: timers, descriptors, signals and real children. */
#include "config.h"

#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "cunit_main.h"
#include "loop.h"
#include "xmalloc.h"

/* Turn the loop while cond holds, giving up after 10 s so that a failure
 * cannot hang the suite (a bound, not a timed assertion). */
#define RUN_WHILE(l, cond) do {						\
	int64_t	giveup_ = loop_now() + 10000;				\
									\
	while ((cond) && loop_now() < giveup_)				\
		CU_ASSERT(loop_run_once((l), 100) >= 0);		\
} while (0)

static struct loop *
new_loop(void)
{
	struct loop	*l;
	char		*cause = NULL;

	l = loop_new(&cause);
	if (l == NULL) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
	}
	return (l);
}

/* ---- timers ------------------------------------------------------------ */

struct order {
	int	got[64];
	int	n;
};

struct order_ent {
	struct order	*o;
	int		 id;
};

static void
order_cb(struct loop *l, void *arg)
{
	struct order_ent	*e = arg;

	if (e->o->n < 64)
		e->o->got[e->o->n++] = e->id;
}

static void
test_timer_order(void)
{
	struct loop		*l = new_loop();
	struct order		 o = { .n = 0 };
	struct order_ent	 e[5];
	int64_t			 now;
	int			 i;

	CU_ASSERT_FATAL(l != NULL);
	for (i = 0; i < 5; i++) {
		e[i].o = &o;
		e[i].id = i;
	}
	now = loop_now();
	loop_timer_at(l, now + 40, order_cb, &e[0]);
	loop_timer_at(l, now + 10, order_cb, &e[1]);
	loop_timer_at(l, now + 25, order_cb, &e[2]);
	loop_timer_at(l, now - 100, order_cb, &e[3]);
	loop_timer_at(l, now + 25, order_cb, &e[4]);	/* after 2: FIFO */
	RUN_WHILE(l, o.n < 5);
	CU_ASSERT_EQUAL(o.n, 5);
	CU_ASSERT_EQUAL(o.got[0], 3);
	CU_ASSERT_EQUAL(o.got[1], 1);
	CU_ASSERT_EQUAL(o.got[2], 2);
	CU_ASSERT_EQUAL(o.got[3], 4);
	CU_ASSERT_EQUAL(o.got[4], 0);
	loop_free(l);
}

static void
count_cb(struct loop *l, void *arg)
{
	(*(int *)arg)++;
}

static void
test_timer_past(void)
{
	struct loop	*l = new_loop();
	int		 fired = 0;

	CU_ASSERT_FATAL(l != NULL);
	loop_timer_at(l, loop_now() - 5000, count_cb, &fired);
	/* A long timeout: the past timer must not wait for it. */
	CU_ASSERT_EQUAL(loop_run_once(l, 10000), 1);
	CU_ASSERT_EQUAL(fired, 1);
	loop_timer_at(l, 0, count_cb, &fired);	/* time zero: still fires */
	CU_ASSERT_EQUAL(loop_run_once(l, 10000), 1);
	CU_ASSERT_EQUAL(fired, 2);
	loop_free(l);
}

/* A timer callback that adds a past timer: that one runs on the next turn,
 * not in the same one (no starvation). */
static void
readd_cb(struct loop *l, void *arg)
{
	int	*fired = arg;

	(*fired)++;
	loop_timer_at(l, loop_now() - 1, count_cb, fired);
}

static void
test_timer_added_in_callback(void)
{
	struct loop	*l = new_loop();
	int		 fired = 0;

	CU_ASSERT_FATAL(l != NULL);
	loop_timer_at(l, loop_now() - 1, readd_cb, &fired);
	CU_ASSERT_EQUAL(loop_run_once(l, 10000), 1);
	CU_ASSERT_EQUAL(fired, 1);
	CU_ASSERT_EQUAL(loop_run_once(l, 10000), 1);
	CU_ASSERT_EQUAL(fired, 2);
	loop_free(l);
}

static void
test_timer_cancel(void)
{
	struct loop		*l = new_loop();
	struct loop_timer	*t;
	int			 a = 0, b = 0;
	int64_t			 now;

	CU_ASSERT_FATAL(l != NULL);
	now = loop_now();
	t = loop_timer_at(l, now + 5, count_cb, &a);
	loop_timer_at(l, now + 20, count_cb, &b);
	loop_timer_cancel(l, t);
	loop_timer_cancel(l, NULL);
	RUN_WHILE(l, b == 0);
	CU_ASSERT_EQUAL(b, 1);
	CU_ASSERT_EQUAL(a, 0);	/* its time passed before b's */
	loop_free(l);
}

struct many {
	int64_t	last;
	int	fired;
	int	disorder;
	int64_t	at[1];
};

struct many_ent {
	struct many	*m;
	int64_t		 at;
	int		 cancelled;
};

static void
many_cb(struct loop *l, void *arg)
{
	struct many_ent	*e = arg;

	if (e->cancelled)
		e->m->disorder++;
	if (e->at < e->m->last)
		e->m->disorder++;
	e->m->last = e->at;
	e->m->fired++;
}

static void
many_timers(int n)
{
	struct loop		 *l = new_loop();
	struct many		  m = { .last = INT64_MIN };
	struct many_ent		 *e;
	struct loop_timer	**t;
	int64_t			  now;
	int			  i, ncancel = 0;

	CU_ASSERT_FATAL(l != NULL);
	e = xcalloc((size_t)n, sizeof *e);
	t = xcalloc((size_t)n, sizeof *t);
	srandom(42);
	now = loop_now();
	for (i = 0; i < n; i++) {
		e[i].m = &m;
		e[i].at = now - 20 + random() % 80;
		t[i] = loop_timer_at(l, e[i].at, many_cb, &e[i]);
		CU_ASSERT_PTR_NOT_NULL(t[i]);
	}
	for (i = 0; i < n; i += 3) {
		e[i].cancelled = 1;
		loop_timer_cancel(l, t[i]);
		ncancel++;
	}
	RUN_WHILE(l, m.fired < n - ncancel);
	CU_ASSERT_EQUAL(m.fired, n - ncancel);
	CU_ASSERT_EQUAL(m.disorder, 0);
	free(t);
	free(e);
	loop_free(l);
}

static void
test_timer_many(void)
{
	many_timers(10000);
}

static void
test_timer_100k(void)
{
	many_timers(100000);
}

/* Timers left pending are freed by loop_free (ASan checks). */
static void
test_timer_pending_at_free(void)
{
	struct loop	*l = new_loop();
	int		 fired = 0, i;

	CU_ASSERT_FATAL(l != NULL);
	for (i = 0; i < 100; i++)
		loop_timer_at(l, loop_now() + 100000, count_cb, &fired);
	CU_ASSERT_EQUAL(loop_run_once(l, 0), 0);
	loop_free(l);
	CU_ASSERT_EQUAL(fired, 0);
}

/* ---- descriptors ------------------------------------------------------- */

struct fdrec {
	int		 calls;
	uint32_t	 events;
	char		 buf[16];
	ssize_t		 got;
};

static void
fdrec_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct fdrec	*r = arg;

	r->calls++;
	r->events = events;
	r->got = read(fd, r->buf, sizeof r->buf);
}

/* loop_close_fd: the close takes the pipe out of epoll; the same number,
 * reused at once, can be watched again and only its new callback runs. */
static void
test_fd_close(void)
{
	struct loop	*l = new_loop();
	struct fdrec	 r1, r2;
	int		 p[2], q[2];

	CU_ASSERT_FATAL(l != NULL);
	memset(&r1, 0, sizeof r1);
	memset(&r2, 0, sizeof r2);
	CU_ASSERT_FATAL(pipe(p) == 0);
	CU_ASSERT_EQUAL(loop_add_fd(l, p[0], EPOLLIN, fdrec_cb, &r1), 0);
	CU_ASSERT_EQUAL(write(p[1], "a", 1), 1);
	CU_ASSERT_EQUAL(loop_close_fd(l, p[0]), 0);
	CU_ASSERT_EQUAL(loop_close_fd(l, p[0]), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_EQUAL(loop_run_once(l, 20), 0);	/* gone from epoll */
	CU_ASSERT_EQUAL(r1.calls, 0);
	close(p[1]);
	CU_ASSERT_FATAL(pipe(q) == 0);
	CU_ASSERT_EQUAL(q[0], p[0]);			/* the number again */
	CU_ASSERT_EQUAL(loop_add_fd(l, q[0], EPOLLIN, fdrec_cb, &r2), 0);
	CU_ASSERT_EQUAL(write(q[1], "b", 1), 1);
	CU_ASSERT_EQUAL(loop_run_once(l, 5000), 1);
	CU_ASSERT_EQUAL(r1.calls, 0);
	CU_ASSERT_EQUAL(r2.calls, 1);
	CU_ASSERT_EQUAL(loop_close_fd(l, q[0]), 0);
	close(q[1]);
	loop_free(l);
}

/* loop_close_fd while another process still holds the descriptor (as a
 * child just spawned does for a moment after its exec let us go on): the
 * file stays open, but its events must never reach the forgotten entry,
 * whose memory is freed at the end of the turn. */
static void
test_fd_close_held(void)
{
	struct loop	*l = new_loop();
	struct fdrec	 r, r2;
	int		 p[2], go[2], q[4][2], k;
	pid_t		 pid;
	char		 c;

	CU_ASSERT_FATAL(l != NULL);
	memset(&r, 0, sizeof r);
	memset(&r2, 0, sizeof r2);
	CU_ASSERT_FATAL(pipe(p) == 0);
	CU_ASSERT_FATAL(pipe(go) == 0);
	CU_ASSERT_EQUAL(loop_add_fd(l, p[0], EPOLLIN, fdrec_cb, &r), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		/* holds p[0] until told to go */
		close(go[1]);
		(void)read(go[0], &c, 1);
		_exit(0);
	}
	close(go[0]);
	CU_ASSERT_EQUAL(loop_close_fd(l, p[0]), 0);
	CU_ASSERT_EQUAL(loop_run_once(l, 0), 0);	/* the entry is freed */
	/* new entries, likely in the freed memory: none of their pipes
	 * has anything to read */
	for (k = 0; k < 4; k++) {
		CU_ASSERT_FATAL(pipe2(q[k], O_NONBLOCK) == 0);
		CU_ASSERT_EQUAL(loop_add_fd(l, q[k][0], EPOLLIN, fdrec_cb,
		    &r2), 0);
	}
	/* the pipe becomes readable and hung up while the child holds it */
	CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
	close(p[1]);
	for (k = 0; k < 5; k++)
		CU_ASSERT_EQUAL(loop_run_once(l, 20), 0);
	CU_ASSERT_EQUAL(r.calls, 0);
	CU_ASSERT_EQUAL(r2.calls, 0);
	close(go[1]);
	CU_ASSERT_EQUAL(waitpid(pid, NULL, 0), pid);
	for (k = 0; k < 4; k++) {
		CU_ASSERT_EQUAL(loop_close_fd(l, q[k][0]), 0);
		close(q[k][1]);
	}
	loop_free(l);
}

static void
test_fd_pipe(void)
{
	struct loop	*l = new_loop();
	struct fdrec	 r;
	int		 p[2];

	CU_ASSERT_FATAL(l != NULL);
	memset(&r, 0, sizeof r);
	CU_ASSERT_FATAL(pipe(p) == 0);
	CU_ASSERT_EQUAL(loop_add_fd(l, p[0], EPOLLIN, fdrec_cb, &r), 0);
	CU_ASSERT_EQUAL(loop_add_fd(l, p[0], EPOLLIN, fdrec_cb, &r), -1);
	CU_ASSERT_EQUAL(errno, EEXIST);
	CU_ASSERT_EQUAL(loop_run_once(l, 0), 0);
	CU_ASSERT_EQUAL(r.calls, 0);
	CU_ASSERT_EQUAL(write(p[1], "ab", 2), 2);
	CU_ASSERT_EQUAL(loop_run_once(l, 5000), 1);
	CU_ASSERT_EQUAL(r.calls, 1);
	CU_ASSERT(r.events & EPOLLIN);
	CU_ASSERT_EQUAL(r.got, 2);
	CU_ASSERT_EQUAL(memcmp(r.buf, "ab", 2), 0);
	CU_ASSERT_EQUAL(loop_del_fd(l, p[0]), 0);
	CU_ASSERT_EQUAL(loop_del_fd(l, p[0]), -1);
	CU_ASSERT_EQUAL(write(p[1], "c", 1), 1);
	CU_ASSERT_EQUAL(loop_run_once(l, 20), 0);
	CU_ASSERT_EQUAL(r.calls, 1);
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

/* Two readable pipes; whichever callback runs first removes the other,
 * closes it and frees its record. The other must not run (ASan would see a
 * use after free if the loop touched it). */
struct victim {
	struct loop	*l;
	int		 fd;
	int		 wfd;
	int		 calls;
	struct victim	*other;
	struct loop_timer *timer;
	int		*timer_fired;
};

static void
victim_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct victim	*v = arg;
	struct victim	*o = v->other;
	char		 c;

	v->calls++;
	(void)read(fd, &c, 1);
	if (o != NULL) {
		loop_del_fd(l, o->fd);
		close(o->fd);
		close(o->wfd);
		free(o);
		v->other = NULL;
	}
	if (v->timer != NULL) {
		loop_timer_cancel(l, v->timer);
		v->timer = NULL;
	}
}

static void
test_fd_remove_other(void)
{
	struct loop	*l = new_loop();
	struct victim	*a, *b, *survivor;
	int		 p[2], q[2], fired = 0;

	CU_ASSERT_FATAL(l != NULL);
	CU_ASSERT_FATAL(pipe(p) == 0 && pipe(q) == 0);
	a = xcalloc(1, sizeof *a);
	b = xcalloc(1, sizeof *b);
	a->fd = p[0]; a->wfd = p[1]; a->other = b;
	b->fd = q[0]; b->wfd = q[1]; b->other = a;
	/* Both are ready in the same turn, and so is a timer. */
	a->timer = b->timer = loop_timer_at(l, loop_now() - 1, count_cb,
	    &fired);
	CU_ASSERT(write(p[1], "x", 1) == 1 && write(q[1], "y", 1) == 1);
	CU_ASSERT_EQUAL(loop_add_fd(l, a->fd, EPOLLIN, victim_cb, a), 0);
	CU_ASSERT_EQUAL(loop_add_fd(l, b->fd, EPOLLIN, victim_cb, b), 0);
	CU_ASSERT_EQUAL(loop_run_once(l, 5000), 1);
	CU_ASSERT_EQUAL(fired, 0);	/* cancelled within the turn */
	/* Exactly one survived; it ran once and holds no pointer. */
	survivor = a->other == NULL ? a : b;
	CU_ASSERT_EQUAL(survivor->calls, 1);
	CU_ASSERT_PTR_NULL(survivor->other);
	CU_ASSERT_EQUAL(loop_run_once(l, 20), 0);
	loop_del_fd(l, survivor->fd);
	close(survivor->fd);
	close(survivor->wfd);
	free(survivor);
	loop_free(l);
}

/* A callback that removes itself and adds a new entry for the same
 * descriptor number: the stale one must not run again this turn. */
struct readd {
	int	calls_old;
	int	calls_new;
};

static void readd_new_cb(struct loop *, int, uint32_t, void *);

static void
readd_old_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct readd	*r = arg;

	r->calls_old++;
	loop_del_fd(l, fd);
	loop_add_fd(l, fd, EPOLLIN, readd_new_cb, r);
}

static void
readd_new_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct readd	*r = arg;
	char		 c;

	r->calls_new++;
	(void)read(fd, &c, 1);
}

static void
test_fd_readd_self(void)
{
	struct loop	*l = new_loop();
	struct readd	 r = { 0, 0 };
	int		 p[2];

	CU_ASSERT_FATAL(l != NULL);
	CU_ASSERT_FATAL(pipe(p) == 0);
	CU_ASSERT(write(p[1], "z", 1) == 1);
	CU_ASSERT_EQUAL(loop_add_fd(l, p[0], EPOLLIN, readd_old_cb, &r),
	    0);
	CU_ASSERT_EQUAL(loop_run_once(l, 5000), 1);
	CU_ASSERT_EQUAL(r.calls_old, 1);
	CU_ASSERT_EQUAL(r.calls_new, 0);
	CU_ASSERT_EQUAL(loop_run_once(l, 5000), 1);
	CU_ASSERT_EQUAL(r.calls_new, 1);
	loop_del_fd(l, p[0]);
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

/* A timer callback removing a descriptor whose event is pending. */
struct tdel {
	int	fd;
	int	fd_calls;
};

static void
tdel_fd_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	((struct tdel *)arg)->fd_calls++;
}

static void
tdel_timer_cb(struct loop *l, void *arg)
{
	struct tdel	*t = arg;

	loop_del_fd(l, t->fd);
}

static void
test_timer_removes_fd(void)
{
	struct loop	*l = new_loop();
	struct tdel	 t = { -1, 0 };
	int		 p[2];

	CU_ASSERT_FATAL(l != NULL);
	CU_ASSERT_FATAL(pipe(p) == 0);
	t.fd = p[0];
	CU_ASSERT_EQUAL(loop_add_fd(l, p[0], EPOLLIN, tdel_fd_cb, &t),
	    0);
	loop_timer_at(l, loop_now() - 1, tdel_timer_cb, &t);
	CU_ASSERT_EQUAL(loop_run_once(l, 5000), 1);
	CU_ASSERT(write(p[1], "q", 1) == 1);
	CU_ASSERT_EQUAL(loop_run_once(l, 20), 0);
	CU_ASSERT_EQUAL(t.fd_calls, 0);
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

/* ---- children ---------------------------------------------------------- */

struct childrec {
	int		calls;
	pid_t		pid;
	int		status;
	struct rusage	ru;
};

static void
child_cb(struct loop *l, pid_t pid, int status, const struct rusage *ru,
    void *arg)
{
	struct childrec	*c = arg;

	c->calls++;
	c->pid = pid;
	c->status = status;
	if (ru != NULL)
		c->ru = *ru;
}

static pid_t
fork_exit(int code)
{
	pid_t		pid;
	volatile long	x = 0;
	long		i;

	pid = fork();
	if (pid == 0) {
		for (i = 0; i < 20000000; i++)	/* some CPU for rusage */
			x += i;
		_exit(code);
	}
	return (pid);
}

static void
watch_one(int use_pidfd)
{
	struct loop	*l = new_loop();
	struct childrec	 c;
	pid_t		 pid, other;
	int		 pidfd = -1, i, st;

	CU_ASSERT_FATAL(l != NULL);
	memset(&c, 0, sizeof c);
	/* A child nobody watches: the loop must leave it to us. */
	other = fork_exit(3);
	CU_ASSERT_FATAL(other > 0);
	pid = fork_exit(7);
	CU_ASSERT_FATAL(pid > 0);
	if (use_pidfd) {
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		CU_ASSERT_FATAL(pidfd >= 0);
	}
	CU_ASSERT_EQUAL(loop_watch_child(l, pid, pidfd, child_cb, &c), 0);
	RUN_WHILE(l, c.calls == 0);
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_EQUAL(c.pid, pid);
	CU_ASSERT(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 7);
	CU_ASSERT(c.ru.ru_maxrss > 0);
	CU_ASSERT(c.ru.ru_utime.tv_sec > 0 || c.ru.ru_utime.tv_usec > 0 ||
	    c.ru.ru_stime.tv_sec > 0 || c.ru.ru_stime.tv_usec > 0);
	/* Only once, and it is reaped. */
	for (i = 0; i < 3; i++)
		loop_run_once(l, 10);
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_EQUAL(waitpid(pid, &st, WNOHANG), -1);
	CU_ASSERT_EQUAL(errno, ECHILD);
	/* The unwatched one was not waited for. */
	CU_ASSERT_EQUAL(waitpid(other, &st, 0), other);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 3);
	loop_free(l);
}

static void
test_child_pidfd(void)
{
	watch_one(1);
}

static void
test_child_sigchld(void)
{
	watch_one(0);
}

/* Watched after it has already exited and its SIGCHLD been consumed. */
static void
test_child_exited_before_watch(void)
{
	struct loop	*l = new_loop();
	struct childrec	 c;
	pid_t		 pid;
	int		 i, fired = 0;

	CU_ASSERT_FATAL(l != NULL);
	memset(&c, 0, sizeof c);
	pid = fork();
	if (pid == 0)
		_exit(5);
	CU_ASSERT_FATAL(pid > 0);
	/* Let it exit and the SIGCHLD be read by a turn. */
	for (i = 0; i < 10; i++) {
		loop_timer_at(l, loop_now() + 10, count_cb, &fired);
		loop_run_once(l, 1000);
	}
	CU_ASSERT_EQUAL(loop_watch_child(l, pid, -1, child_cb, &c), 0);
	RUN_WHILE(l, c.calls == 0);
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 5);
	loop_free(l);
}

static int
sum_calls(const struct childrec *c, int n)
{
	int	i, sum = 0;

	for (i = 0; i < n; i++)
		sum += c[i].calls;
	return (sum);
}

/* Several children at once, mixed. */
static void
test_child_many(void)
{
	struct loop	*l = new_loop();
	struct childrec	 c[8];
	pid_t		 pid[8];
	int		 k, pidfd;

	CU_ASSERT_FATAL(l != NULL);
	memset(c, 0, sizeof c);
	for (k = 0; k < 8; k++) {
		pid[k] = fork();
		if (pid[k] == 0)
			_exit(10 + k);
		CU_ASSERT_FATAL(pid[k] > 0);
		pidfd = k % 2 ? (int)syscall(SYS_pidfd_open, pid[k], 0) : -1;
		CU_ASSERT_EQUAL(loop_watch_child(l, pid[k], pidfd, child_cb,
		    &c[k]), 0);
	}
	RUN_WHILE(l, sum_calls(c, 8) < 8);
	for (k = 0; k < 8; k++) {
		CU_ASSERT_EQUAL(c[k].calls, 1);
		CU_ASSERT_EQUAL(c[k].pid, pid[k]);
		CU_ASSERT(WIFEXITED(c[k].status) &&
		    WEXITSTATUS(c[k].status) == 10 + k);
	}
	loop_free(l);
}

/* SIGCHLD ignored when the loop is made (it survives exec): children must
 * still be reaped by the loop with their status, and SIG_IGN comes back at
 * loop_free. */
static void
test_child_sigchld_ignored(void)
{
	struct loop		*l;
	struct sigaction	 sa;
	struct childrec		 c;
	pid_t			 pid;

	signal(SIGCHLD, SIG_IGN);
	l = new_loop();
	CU_ASSERT_FATAL(l != NULL);
	memset(&c, 0, sizeof c);
	pid = fork();
	if (pid == 0)
		_exit(9);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(loop_watch_child(l, pid, -1, child_cb, &c), 0);
	RUN_WHILE(l, c.calls == 0);
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 9);
	loop_free(l);
	CU_ASSERT(sigaction(SIGCHLD, NULL, &sa) == 0 &&
	    sa.sa_handler == SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
}

/* ---- signals ----------------------------------------------------------- */

struct sigrec {
	int	calls;
	int	signo;
};

static void
sig_cb(struct loop *l, int signo, void *arg)
{
	struct sigrec	*s = arg;

	s->calls++;
	s->signo = signo;
	loop_break(l);
}

/* Ends loop_run if the event under test never comes. */
static void
giveup_cb(struct loop *l, void *arg)
{
	CU_FAIL("gave up waiting");
	loop_break(l);
}

static void
test_signal_term(void)
{
	struct loop		*l = new_loop();
	struct loop_timer	*giveup;
	struct sigrec		 s = { 0, 0 };

	CU_ASSERT_FATAL(l != NULL);
	CU_ASSERT_EQUAL(loop_on_signal(l, SIGTERM, sig_cb, &s), 0);
	CU_ASSERT_EQUAL(loop_on_signal(l, SIGKILL, sig_cb, &s), -1);
	CU_ASSERT_EQUAL(kill(getpid(), SIGTERM), 0);
	giveup = loop_timer_at(l, loop_now() + 10000, giveup_cb, NULL);
	CU_ASSERT_EQUAL(loop_run(l), 0);	/* sig_cb breaks */
	loop_timer_cancel(l, giveup);
	CU_ASSERT_EQUAL(s.calls, 1);
	CU_ASSERT_EQUAL(s.signo, SIGTERM);
	loop_free(l);
}

static void
test_signal_hup_int(void)
{
	struct loop	*l = new_loop();
	struct sigrec	 h = { 0, 0 }, n = { 0, 0 };

	CU_ASSERT_FATAL(l != NULL);
	CU_ASSERT_EQUAL(loop_on_signal(l, SIGHUP, sig_cb, &h), 0);
	CU_ASSERT_EQUAL(loop_on_signal(l, SIGINT, sig_cb, &n), 0);
	CU_ASSERT_EQUAL(kill(getpid(), SIGHUP), 0);
	CU_ASSERT_EQUAL(kill(getpid(), SIGINT), 0);
	RUN_WHILE(l, (h.calls == 0 || n.calls == 0));
	CU_ASSERT_EQUAL(h.calls, 1);
	CU_ASSERT_EQUAL(h.signo, SIGHUP);
	CU_ASSERT_EQUAL(n.calls, 1);
	CU_ASSERT_EQUAL(n.signo, SIGINT);
	loop_free(l);
}

/* The mask and the SIGPIPE disposition come back after loop_free. */
static void
test_signal_restore(void)
{
	struct loop		*l;
	struct sigaction	 sa;
	sigset_t		 before, during, after;

	CU_ASSERT_FATAL(sigprocmask(SIG_SETMASK, NULL, &before) == 0);
	l = new_loop();
	CU_ASSERT_FATAL(l != NULL);
	CU_ASSERT_FATAL(sigprocmask(SIG_SETMASK, NULL, &during) == 0);
	CU_ASSERT(sigismember(&during, SIGCHLD));
	CU_ASSERT(sigismember(&during, SIGTERM));
	CU_ASSERT(sigaction(SIGPIPE, NULL, &sa) == 0 &&
	    sa.sa_handler == SIG_IGN);
	loop_free(l);
	CU_ASSERT_FATAL(sigprocmask(SIG_SETMASK, NULL, &after) == 0);
	CU_ASSERT_EQUAL(sigismember(&after, SIGCHLD),
	    sigismember(&before, SIGCHLD));
	CU_ASSERT_EQUAL(sigismember(&after, SIGTERM),
	    sigismember(&before, SIGTERM));
	CU_ASSERT(sigaction(SIGPIPE, NULL, &sa) == 0 &&
	    sa.sa_handler == SIG_DFL);
	loop_free(NULL);
}

/* ---- misc -------------------------------------------------------------- */

static void
test_idle(void)
{
	struct loop	*l = new_loop();

	CU_ASSERT_FATAL(l != NULL);
	CU_ASSERT_EQUAL(loop_run_once(l, 20), 0);
	CU_ASSERT_EQUAL(loop_run_once(l, 0), 0);
	loop_free(l);
}

static void
break_cb(struct loop *l, void *arg)
{
	(*(int *)arg)++;
	loop_break(l);
}

static void
test_run_break(void)
{
	struct loop	*l = new_loop();
	int		 fired = 0, other = 0;

	CU_ASSERT_FATAL(l != NULL);
	loop_timer_at(l, loop_now() + 5, break_cb, &fired);
	loop_timer_at(l, loop_now() + 100000, count_cb, &other);
	CU_ASSERT_EQUAL(loop_run(l), 0);
	CU_ASSERT_EQUAL(fired, 1);
	CU_ASSERT_EQUAL(other, 0);
	loop_free(l);
}

static void
test_clocks(void)
{
	int64_t	a, b, w;

	a = loop_now();
	b = loop_now();
	CU_ASSERT(a > 0);
	CU_ASSERT(b >= a);
	w = loop_wallclock();
	CU_ASSERT(w / 1000 >= (int64_t)time(NULL) - 1);
	CU_ASSERT(w / 1000 <= (int64_t)time(NULL) + 1);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "timers fire in order", test_timer_order },
		{ "a past timer fires next turn", test_timer_past },
		{ "a timer added by a timer waits a turn",
		    test_timer_added_in_callback },
		{ "cancel", test_timer_cancel },
		{ "10,000 timers", test_timer_many },
		{ "100,000 timers", test_timer_100k },
		{ "pending timers at free", test_timer_pending_at_free },
		{ "fd callback on a pipe", test_fd_pipe },
		{ "loop_close_fd", test_fd_close },
		{ "loop_close_fd while another process holds the fd",
		    test_fd_close_held },
		{ "a callback removes another fd and a timer",
		    test_fd_remove_other },
		{ "a callback re-adds its own fd", test_fd_readd_self },
		{ "a timer removes a ready fd", test_timer_removes_fd },
		{ "child with pidfd", test_child_pidfd },
		{ "child by SIGCHLD", test_child_sigchld },
		{ "child exited before watch", test_child_exited_before_watch },
		{ "many children", test_child_many },
		{ "SIGCHLD ignored before the loop",
		    test_child_sigchld_ignored },
		{ "SIGTERM through loop_on_signal", test_signal_term },
		{ "SIGHUP and SIGINT", test_signal_hup_int },
		{ "mask and SIGPIPE restored", test_signal_restore },
		{ "idle loop", test_idle },
		{ "loop_run and loop_break", test_run_break },
		{ "clocks", test_clocks },
		{ NULL, NULL }
	};

	return (cunit_run("loop", NULL, NULL, tests));
}
