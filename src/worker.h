/* Work that can take long (copying outputs, packing a bundle) done off the
 * event loop: one thread that runs tasks in the order they are given, and
 * each task's completion handed back to the loop. */
#ifndef DAGEXEC_WORKER_H
#define DAGEXEC_WORKER_H

struct loop;
struct worker;

/* A worker whose completions run on l. NULL when no thread (or eventfd)
 * can be had: worker_run then does the work at once, on the caller's
 * thread. The thread blocks every signal (the loop reads them). */
struct worker *worker_new(struct loop *l);
/* Wait for the tasks given so far to be worked, then end the thread; the
 * done callbacks of tasks not yet handed back are not called (the caller
 * frees what they own). NULL is fine. Not from a done callback. */
void worker_free(struct worker *w);
/* Run work(arg) on the worker's thread, then done(arg) on the loop's, in
 * the order of the calls. With w NULL, both run now. */
void worker_run(struct worker *w, void (*work)(void *), void (*done)(void *),
    void *arg);

#endif
