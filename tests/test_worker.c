/* CUnit suite for worker.c: work off the loop's thread, completions back
 * on it, in order. */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "cunit_main.h"
#include "loop.h"
#include "worker.h"
#include "xmalloc.h"

#define NTASKS	200

struct rec {
	pthread_t	 loop_thread;
	pthread_t	 work_thread[NTASKS];
	int		 worked[NTASKS];	/* order in which work ran */
	int		 done[NTASKS];		/* order in which done ran */
	int		 nworked;
	int		 ndone;
	int		 done_off_loop;
	int		 done_before_work;
	pthread_mutex_t	 mu;
};

struct item {
	struct rec	*r;
	int		 k;
};

static void
work(void *arg)
{
	struct item *it = arg;
	struct rec *r = it->r;

	if (it->k % 17 == 0)
		usleep(2000);	/* a slow one keeps the others waiting */
	pthread_mutex_lock(&r->mu);
	r->work_thread[it->k] = pthread_self();
	r->worked[r->nworked++] = it->k;
	pthread_mutex_unlock(&r->mu);
}

static void
done(void *arg)
{
	struct item *it = arg;
	struct rec *r = it->r;
	int k, seen = 0;

	if (!pthread_equal(pthread_self(), r->loop_thread))
		r->done_off_loop++;
	pthread_mutex_lock(&r->mu);
	for (k = 0; k < r->nworked; k++)
		if (r->worked[k] == it->k)
			seen = 1;
	pthread_mutex_unlock(&r->mu);
	if (!seen)
		r->done_before_work++;
	r->done[r->ndone++] = it->k;
	free(it);
}

static struct rec *
rec_new(void)
{
	struct rec *r = xcalloc(1, sizeof *r);

	r->loop_thread = pthread_self();
	pthread_mutex_init(&r->mu, NULL);
	return r;
}

static void
submit_all(struct worker *w, struct rec *r)
{
	struct item *it;
	int k;

	for (k = 0; k < NTASKS; k++) {
		it = xcalloc(1, sizeof *it);
		it->r = r;
		it->k = k;
		worker_run(w, work, done, it);
	}
}

/* Work runs on another thread, in order; done on the loop's, in order,
 * each after its work. */
static void
test_order(void)
{
	char *cause = NULL;
	struct loop *l = loop_new(&cause);
	struct worker *w;
	struct rec *r = rec_new();
	int64_t giveup;
	int k;

	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	w = worker_new(l);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	submit_all(w, r);
	/* nothing is handed back before the loop turns */
	CU_ASSERT_EQUAL(r->ndone, 0);
	giveup = loop_now() + 10000;
	while (r->ndone < NTASKS && loop_now() < giveup)
		CU_ASSERT(loop_run_once(l, 100) >= 0);
	CU_ASSERT_EQUAL(r->ndone, NTASKS);
	CU_ASSERT_EQUAL(r->nworked, NTASKS);
	for (k = 0; k < NTASKS; k++) {
		CU_ASSERT_EQUAL(r->worked[k], k);
		CU_ASSERT_EQUAL(r->done[k], k);
		CU_ASSERT(!pthread_equal(r->work_thread[k], r->loop_thread));
		CU_ASSERT(pthread_equal(r->work_thread[k], r->work_thread[0]));
	}
	CU_ASSERT_EQUAL(r->done_off_loop, 0);
	CU_ASSERT_EQUAL(r->done_before_work, 0);
	worker_free(w);
	loop_free(l);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* worker_free waits for every task given: all are worked, though the loop
 * never turned to hand them back. */
static void
test_free_waits(void)
{
	char *cause = NULL;
	struct loop *l = loop_new(&cause);
	struct worker *w;
	struct rec *r = rec_new();
	struct item *it;
	int k;

	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	w = worker_new(l);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	/* the items are freed here: done never runs */
	struct item *items = xcalloc(NTASKS, sizeof *items);
	for (k = 0; k < NTASKS; k++) {
		it = &items[k];
		it->r = r;
		it->k = k;
		worker_run(w, work, done, it);
	}
	worker_free(w);
	CU_ASSERT_EQUAL(r->nworked, NTASKS);
	CU_ASSERT_EQUAL(r->ndone, 0);
	free(items);
	loop_free(l);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* Without a worker, both run at once on the caller's thread. */
static void
test_null_inline(void)
{
	struct rec *r = rec_new();

	submit_all(NULL, r);
	CU_ASSERT_EQUAL(r->nworked, NTASKS);
	CU_ASSERT_EQUAL(r->ndone, NTASKS);
	CU_ASSERT(pthread_equal(r->work_thread[0], r->loop_thread));
	CU_ASSERT_EQUAL(r->done_before_work, 0);
	worker_free(NULL);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "work off the loop, completions on it, in order",
		    test_order },
		{ "worker_free waits for what was given", test_free_waits },
		{ "no worker: at once", test_null_inline },
		{ NULL, NULL }
	};

	return (cunit_run("worker", NULL, NULL, tests));
}
