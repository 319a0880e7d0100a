/* One thread for work that must not hold up the loop (see worker.h). The
 * tasks wait in a list; the thread takes them in order and moves each to
 * a second list when its work is over, and an eventfd wakes the loop to
 * run their done callbacks. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "loop.h"
#include "worker.h"
#include "xmalloc.h"

struct task {
	void		(*work)(void *);
	void		(*done)(void *);
	void		*arg;
	struct task	*next;
};

struct worker {
	struct loop	*loop;
	pthread_t	 thr;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 efd;
	struct task	*todo, **todo_tail;	/* to work, in order */
	struct task	*over, **over_tail;	/* worked, for the loop */
	int		 quit;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct task *t;
	uint64_t one = 1;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->todo == NULL && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if ((t = w->todo) == NULL)
			break;
		if ((w->todo = t->next) == NULL)
			w->todo_tail = &w->todo;
		pthread_mutex_unlock(&w->mu);

		t->work(t->arg);

		pthread_mutex_lock(&w->mu);
		t->next = NULL;
		*w->over_tail = t;
		w->over_tail = &t->next;
		while (write(w->efd, &one, sizeof one) < 0 && errno == EINTR)
			;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* The loop's side: run the done callbacks of what was worked, in order. */
static void
worker_ready(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct worker *w = arg;
	struct task *t, *next;
	uint64_t n;

	(void)l;
	(void)events;
	while (read(fd, &n, sizeof n) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&w->mu);
	t = w->over;
	w->over = NULL;
	w->over_tail = &w->over;
	pthread_mutex_unlock(&w->mu);
	for (; t != NULL; t = next) {
		next = t->next;
		t->done(t->arg);
		free(t);
	}
}

struct worker *
worker_new(struct loop *l)
{
	struct worker *w = xcalloc(1, sizeof *w);
	sigset_t all, old;
	int rc;

	w->loop = l;
	w->todo_tail = &w->todo;
	w->over_tail = &w->over;
	if ((w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		goto fail;
	if (loop_add_fd(l, w->efd, EPOLLIN, worker_ready, w) != 0) {
		close(w->efd);
		goto fail;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->thr, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		loop_del_fd(l, w->efd);
		close(w->efd);
		goto fail;
	}
	return w;
fail:
	free(w);
	return NULL;
}

void
worker_free(struct worker *w)
{
	struct task *t, *next;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->quit = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thr, NULL);
	loop_del_fd(w->loop, w->efd);
	close(w->efd);
	for (t = w->over; t != NULL; t = next) {
		next = t->next;
		free(t);
	}
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

void
worker_run(struct worker *w, void (*work)(void *), void (*done)(void *),
    void *arg)
{
	struct task *t;

	if (w == NULL) {
		work(arg);
		done(arg);
		return;
	}
	t = xcalloc(1, sizeof *t);
	t->work = work;
	t->done = done;
	t->arg = arg;
	pthread_mutex_lock(&w->mu);
	*w->todo_tail = t;
	w->todo_tail = &t->next;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}
