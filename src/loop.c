/* The event loop: epoll, one timerfd over a min-heap of timers, a signalfd,
 * and a pidfd per child (or SIGCHLD and wait4 when there is no pidfd).
 *
 * Callbacks may add and remove descriptors, timers and children while the
 * loop dispatches. A removed descriptor entry is only marked dead and put on
 * a garbage list freed at the end of the turn, so an event already fetched by
 * epoll_wait for it is skipped instead of touching freed memory. Timers are
 * taken one at a time off the heap, so cancelling any other timer from a
 * callback is safe. */
#include "config.h"

#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "spawn.h"
#include "xmalloc.h"

#define LOOP_MAXEVENTS 64

enum loop_kind {
	LOOP_FD,
	LOOP_CHILD,
	LOOP_TIMERFD,
	LOOP_SIGNALFD
};

struct loop_ent {
	enum loop_kind		 kind;
	int			 dead;
	int			 fd;		/* LOOP_CHILD: pidfd or -1 */
	void			*arg;

	uint32_t		 events;
	loop_fd_cb		 fd_cb;

	pid_t			 pid;
	loop_child_cb		 child_cb;
	TAILQ_ENTRY(loop_ent)	 entry;		/* l->children */

	struct loop_ent		*gc_next;
};
TAILQ_HEAD(loop_children, loop_ent);

struct loop_timer {
	int64_t			 at;
	uint64_t		 seq;
	ssize_t			 idx;		/* heap index; -1: running */
	loop_timer_cb		 cb;
	void			*arg;
};

struct loop_sig {
	loop_signal_cb		 cb;
	void			*arg;
};

struct loop {
	int			 epfd;
	int			 tfd;
	int			 sfd;
	struct loop_ent		 tfd_ent;
	struct loop_ent		 sfd_ent;

	struct loop_ent		**fds;		/* indexed by descriptor */
	size_t			 nfds;

	struct loop_children	 children;
	int			 scan_children;	/* wait4 the pidfd-less ones */

	struct loop_timer	**heap;
	size_t			 nheap;
	size_t			 heapcap;
	uint64_t		 seq;
	int64_t			 armed;		/* timerfd armed for; -1: not */

	struct loop_sig		 sigs[_NSIG];

	struct loop_ent		*garbage;
	int			 brk;

	sigset_t		 oldmask;
	struct sigaction	 oldpipe;
	struct sigaction	 oldchld;
};

int64_t
loop_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int64_t
loop_wallclock(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
loop_handled_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

struct loop *
loop_new(char **cause)
{
	struct loop		*l;
	struct epoll_event	 ev;
	struct sigaction	 sa;
	sigset_t		 set;
	const char		*what;

	l = xcalloc(1, sizeof *l);
	l->epfd = l->tfd = l->sfd = -1;
	l->armed = -1;
	TAILQ_INIT(&l->children);
	l->tfd_ent.kind = LOOP_TIMERFD;
	l->sfd_ent.kind = LOOP_SIGNALFD;

	loop_handled_signals(&set);
	if (sigprocmask(SIG_BLOCK, &set, &l->oldmask) == -1) {
		what = "sigprocmask";
		goto fail_mask;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, &l->oldpipe) == -1) {
		what = "sigaction(SIGPIPE)";
		goto fail_pipe;
	}
	/* An ignored SIGCHLD (inherited across exec) would have the kernel
	 * reap our children and take their statuses away. */
	sa.sa_handler = SIG_DFL;
	if (sigaction(SIGCHLD, &sa, &l->oldchld) == -1) {
		what = "sigaction(SIGCHLD)";
		sigaction(SIGPIPE, &l->oldpipe, NULL);
		goto fail_pipe;
	}
	spawn_signals_changed();

	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		what = "epoll_create1";
		goto fail;
	}
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK|TFD_CLOEXEC);
	if (l->tfd == -1) {
		what = "timerfd_create";
		goto fail;
	}
	l->sfd = signalfd(-1, &set, SFD_NONBLOCK|SFD_CLOEXEC);
	if (l->sfd == -1) {
		what = "signalfd";
		goto fail;
	}
	l->tfd_ent.fd = l->tfd;
	l->sfd_ent.fd = l->sfd;

	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN;
	ev.data.ptr = &l->tfd_ent;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->tfd, &ev) == -1) {
		what = "epoll_ctl";
		goto fail;
	}
	ev.data.ptr = &l->sfd_ent;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->sfd, &ev) == -1) {
		what = "epoll_ctl";
		goto fail;
	}
	return (l);

fail:
	if (cause != NULL)
		*cause = xasprintf("cannot create event loop: %s: %s", what,
		    strerror(errno));
	if (l->sfd != -1)
		close(l->sfd);
	if (l->tfd != -1)
		close(l->tfd);
	if (l->epfd != -1)
		close(l->epfd);
	sigaction(SIGCHLD, &l->oldchld, NULL);
	sigaction(SIGPIPE, &l->oldpipe, NULL);
	sigprocmask(SIG_SETMASK, &l->oldmask, NULL);
	free(l);
	return (NULL);

fail_pipe:
	sigprocmask(SIG_SETMASK, &l->oldmask, NULL);
fail_mask:
	if (cause != NULL)
		*cause = xasprintf("cannot create event loop: %s: %s", what,
		    strerror(errno));
	free(l);
	return (NULL);
}

static void
loop_collect(struct loop *l)
{
	struct loop_ent	*e;

	while ((e = l->garbage) != NULL) {
		l->garbage = e->gc_next;
		free(e);
	}
}

void
loop_free(struct loop *l)
{
	struct loop_ent	*e;
	size_t		 i;
	int		 saved = errno;

	if (l == NULL)
		return;
	for (i = 0; i < l->nfds; i++)
		free(l->fds[i]);
	free(l->fds);
	while ((e = TAILQ_FIRST(&l->children)) != NULL) {
		TAILQ_REMOVE(&l->children, e, entry);
		if (e->fd != -1)
			close(e->fd);
		free(e);
	}
	for (i = 0; i < l->nheap; i++)
		free(l->heap[i]);
	free(l->heap);
	loop_collect(l);

	close(l->sfd);
	close(l->tfd);
	close(l->epfd);
	sigaction(SIGCHLD, &l->oldchld, NULL);
	sigaction(SIGPIPE, &l->oldpipe, NULL);
	spawn_signals_changed();
	sigprocmask(SIG_SETMASK, &l->oldmask, NULL);
	free(l);
	errno = saved;
}

static void
loop_bury(struct loop *l, struct loop_ent *e)
{
	e->dead = 1;
	e->gc_next = l->garbage;
	l->garbage = e;
}

int
loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct epoll_event	 ev;
	struct loop_ent		*e;
	size_t			 old;

	if (fd < 0 || cb == NULL) {
		errno = EINVAL;
		return (-1);
	}
	if ((size_t)fd < l->nfds && l->fds[fd] != NULL) {
		errno = EEXIST;
		return (-1);
	}

	e = xcalloc(1, sizeof *e);
	e->kind = LOOP_FD;
	e->fd = fd;
	e->events = events;
	e->fd_cb = cb;
	e->arg = arg;

	memset(&ev, 0, sizeof ev);
	ev.events = events;
	ev.data.ptr = e;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		free(e);
		return (-1);
	}
	if ((size_t)fd >= l->nfds) {
		old = l->nfds;
		xgrow(&l->fds, &l->nfds, (size_t)fd + 1, sizeof *l->fds);
		memset(l->fds + old, 0, (l->nfds - old) * sizeof *l->fds);
	}
	l->fds[fd] = e;
	return (0);
}

int
loop_del_fd(struct loop *l, int fd)
{
	struct loop_ent	*e;

	if (fd < 0 || (size_t)fd >= l->nfds || (e = l->fds[fd]) == NULL) {
		errno = ENOENT;
		return (-1);
	}
	l->fds[fd] = NULL;
	/* EBADF: the caller closed it first; forget it anyway. */
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop_bury(l, e);
	return (0);
}

int
loop_close_fd(struct loop *l, int fd)
{
	struct loop_ent	*e;

	if (fd < 0 || (size_t)fd >= l->nfds || (e = l->fds[fd]) == NULL) {
		errno = ENOENT;
		return (-1);
	}
	l->fds[fd] = NULL;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop_bury(l, e);
	return (close(fd));
}

/* Timers: a binary min-heap on (at, seq); seq keeps equal times in FIFO. */

static int
loop_timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
	if (a->at != b->at)
		return (a->at < b->at);
	return (a->seq < b->seq);
}

static void
loop_heap_set(struct loop *l, size_t i, struct loop_timer *t)
{
	l->heap[i] = t;
	t->idx = (ssize_t)i;
}

static void
loop_heap_up(struct loop *l, size_t i)
{
	struct loop_timer	*t = l->heap[i];
	size_t			 p;

	while (i > 0) {
		p = (i - 1) / 2;
		if (!loop_timer_before(t, l->heap[p]))
			break;
		loop_heap_set(l, i, l->heap[p]);
		i = p;
	}
	loop_heap_set(l, i, t);
}

static void
loop_heap_down(struct loop *l, size_t i)
{
	struct loop_timer	*t = l->heap[i];
	size_t			 c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= l->nheap)
			break;
		if (c + 1 < l->nheap &&
		    loop_timer_before(l->heap[c + 1], l->heap[c]))
			c++;
		if (!loop_timer_before(l->heap[c], t))
			break;
		loop_heap_set(l, i, l->heap[c]);
		i = c;
	}
	loop_heap_set(l, i, t);
}

static void
loop_heap_remove(struct loop *l, struct loop_timer *t)
{
	size_t			 i = (size_t)t->idx;
	struct loop_timer	*last;

	last = l->heap[--l->nheap];
	t->idx = -1;
	if (i == l->nheap)
		return;
	loop_heap_set(l, i, last);
	if (i > 0 && loop_timer_before(last, l->heap[(i - 1) / 2]))
		loop_heap_up(l, i);
	else
		loop_heap_down(l, i);
}

struct loop_timer *
loop_timer_at(struct loop *l, int64_t at_ms, loop_timer_cb cb, void *arg)
{
	struct loop_timer	*t;

	t = xcalloc(1, sizeof *t);
	t->at = at_ms;
	t->seq = l->seq++;
	t->cb = cb;
	t->arg = arg;
	xgrow(&l->heap, &l->heapcap, l->nheap + 1, sizeof *l->heap);
	loop_heap_set(l, l->nheap++, t);
	loop_heap_up(l, (size_t)t->idx);
	return (t);
}

void
loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
	if (t == NULL)
		return;
	if (t->idx < 0)
		return;		/* running: freed when its callback returns */
	loop_heap_remove(l, t);
	free(t);
}

/* Arm the timerfd for the earliest timer; a time in the past expires at
 * once. Only called before epoll_wait, so at most one syscall a turn. */
static int
loop_arm(struct loop *l)
{
	struct itimerspec	its;
	int64_t			at;

	memset(&its, 0, sizeof its);
	if (l->nheap == 0) {
		if (l->armed == -1)
			return (0);
		l->armed = -1;
	} else {
		at = l->heap[0]->at;
		if (at == l->armed)
			return (0);
		l->armed = at;
		if (at < 1)
			at = 1;	/* zero would disarm */
		its.it_value.tv_sec = at / 1000;
		its.it_value.tv_nsec = (at % 1000) * 1000000;
	}
	return (timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL));
}

/* Run the timers due now that existed when the turn began. */
static int
loop_run_timers(struct loop *l)
{
	struct loop_timer	*t;
	uint64_t		 limit = l->seq;
	int64_t			 now = loop_now();
	int			 n = 0;

	while (l->nheap > 0) {
		t = l->heap[0];
		if (t->at > now || t->seq >= limit)
			break;
		loop_heap_remove(l, t);
		t->cb(l, t->arg);
		free(t);
		n++;
	}
	return (n);
}

int
loop_on_signal(struct loop *l, int signo, loop_signal_cb cb, void *arg)
{
	if (signo != SIGINT && signo != SIGTERM && signo != SIGHUP) {
		errno = EINVAL;
		return (-1);
	}
	l->sigs[signo].cb = cb;
	l->sigs[signo].arg = arg;
	return (0);
}

int
loop_watches_child(const struct loop *l, pid_t pid)
{
	const struct loop_ent *e;

	TAILQ_FOREACH(e, &l->children, entry)
		if (e->pid == pid)
			return (1);
	return (0);
}

int
loop_watch_child(struct loop *l, pid_t pid, int pidfd, loop_child_cb cb,
    void *arg)
{
	struct epoll_event	 ev;
	struct loop_ent		*e;

	if (pid <= 0 || cb == NULL) {
		errno = EINVAL;
		return (-1);
	}
	e = xcalloc(1, sizeof *e);
	e->kind = LOOP_CHILD;
	e->fd = pidfd;
	e->pid = pid;
	e->child_cb = cb;
	e->arg = arg;

	if (pidfd != -1) {
		memset(&ev, 0, sizeof ev);
		ev.events = EPOLLIN;
		ev.data.ptr = e;
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, pidfd, &ev) == -1) {
			free(e);
			return (-1);
		}
	} else {
		/* It may have exited already and its SIGCHLD been read. */
		l->scan_children = 1;
	}
	TAILQ_INSERT_TAIL(&l->children, e, entry);
	return (0);
}

/* e is no longer watched: out of the list, its pidfd closed. */
static void
loop_child_forget(struct loop *l, struct loop_ent *e)
{
	TAILQ_REMOVE(&l->children, e, entry);
	if (e->fd != -1) {
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, e->fd, NULL);
		close(e->fd);
		e->fd = -1;
	}
	loop_bury(l, e);
}

static struct loop_ent	*loop_find_child(struct loop *, pid_t);

int
loop_unwatch_child(struct loop *l, pid_t pid)
{
	struct loop_ent	*e;

	if ((e = loop_find_child(l, pid)) == NULL)
		return (-1);
	loop_child_forget(l, e);
	return (0);
}

/* Reap e if it has exited and run its callback; returns 1 if it ran. */
static int
loop_reap(struct loop *l, struct loop_ent *e)
{
	struct rusage	ru;
	pid_t		r;
	int		status;

	memset(&ru, 0, sizeof ru);
	do
		r = wait4(e->pid, &status, WNOHANG, &ru);
	while (r == -1 && errno == EINTR);
	if (r == 0)
		return (0);
	loop_child_forget(l, e);
	if (r == -1)
		return (0);	/* ECHILD: reaped by someone else, no status */
	e->child_cb(l, e->pid, status, &ru, e->arg);
	return (1);
}

static struct loop_ent *
loop_find_child(struct loop *l, pid_t pid)
{
	struct loop_ent	*e;

	TAILQ_FOREACH(e, &l->children, entry)
		if (e->pid == pid)
			return (e);
	return (NULL);
}

/*
 * Reap what has exited. waitid(WNOWAIT) names an exited child without
 * reaping it: a watched one is reaped and its callback run (which may watch
 * new children: they are looked at by the next round), until none is left;
 * one we do not watch (a process a node left behind, reaped by its owner)
 * would be named again and again, so then every pidfd-less child is tried
 * in turn instead. One system call a child, not one per watched child.
 */
static int
loop_scan_children(struct loop *l)
{
	struct loop_ent	*e, *next;
	siginfo_t	 si;
	int		 n = 0;

	for (;;) {
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1) {
			if (errno == EINTR)
				continue;
			break;		/* ECHILD: no child at all */
		}
		if (si.si_pid == 0)
			break;		/* none has exited */
		if ((e = loop_find_child(l, si.si_pid)) == NULL) {
			for (e = TAILQ_FIRST(&l->children); e != NULL;
			    e = next) {
				next = TAILQ_NEXT(e, entry);
				if (e->fd == -1)
					n += loop_reap(l, e);
			}
			break;
		}
		if (loop_reap(l, e))
			n++;
		else if (!e->dead)
			break;		/* not reapable after all */
	}
	l->scan_children = 0;
	return (n);
}

static int
loop_read_signals(struct loop *l)
{
	struct signalfd_siginfo	 si[8];
	struct loop_sig		*s;
	ssize_t			 r;
	size_t			 i;
	int			 n = 0, signo;

	for (;;) {
		r = read(l->sfd, si, sizeof si);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (i = 0; i < (size_t)r / sizeof si[0]; i++) {
			signo = (int)si[i].ssi_signo;
			if (signo == SIGCHLD) {
				l->scan_children = 1;
				continue;
			}
			if (signo <= 0 || signo >= _NSIG)
				continue;
			s = &l->sigs[signo];
			if (s->cb != NULL) {
				s->cb(l, signo, s->arg);
				n++;
			}
		}
		if ((size_t)r < sizeof si)
			break;	/* all that was pending: no read for EAGAIN */
	}
	return (n);
}

int
loop_run_once(struct loop *l, int timeout_ms)
{
	struct epoll_event	 evs[LOOP_MAXEVENTS];
	struct loop_ent		*e;
	uint64_t		 ticks;
	int			 nev, i, n = 0;

	if (loop_arm(l) == -1)
		return (-1);
	if (l->scan_children ||
	    (l->nheap > 0 && l->heap[0]->at <= loop_now()))
		timeout_ms = 0;

	nev = epoll_wait(l->epfd, evs, LOOP_MAXEVENTS, timeout_ms);
	if (nev == -1) {
		if (errno != EINTR)
			return (-1);
		nev = 0;
	}

	for (i = 0; i < nev; i++) {
		e = evs[i].data.ptr;
		if (e->dead)
			continue;
		switch (e->kind) {
		case LOOP_FD:
			e->fd_cb(l, e->fd, evs[i].events, e->arg);
			n++;
			break;
		case LOOP_CHILD:
			n += loop_reap(l, e);
			break;
		case LOOP_TIMERFD:
			while (read(l->tfd, &ticks, sizeof ticks) == -1 &&
			    errno == EINTR)
				;
			break;
		case LOOP_SIGNALFD:
			n += loop_read_signals(l);
			break;
		}
	}
	if (l->scan_children)
		n += loop_scan_children(l);
	n += loop_run_timers(l);

	loop_collect(l);
	return (n);
}

int
loop_run(struct loop *l)
{
	while (!l->brk) {
		if (loop_run_once(l, -1) == -1)
			return (-1);
	}
	l->brk = 0;
	return (0);
}

void
loop_break(struct loop *l)
{
	l->brk = 1;
}
