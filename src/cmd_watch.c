/* dagexec watch: the spool daemon. Picks dropped files up and hands each
 * to a supervisor of its own (wsup.c), which runs it as its owner; caps
 * jobs and nodes across all of them; takes cancel requests; outlives
 * nothing: the jobs outlive it. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "keepdone.h"
#include "log.h"
#include "loop.h"
#include "spool.h"
#include "wsched.h"
#include "wsup.h"
#include "xmalloc.h"

#define WAIT_AGING_S	60	/* a file waiting longer goes first */

struct watch {
	struct loop		*loop;
	struct spool		*sp;
	struct wsups		*sups;
	struct wsched		*sched;		/* schedules/ */
	int			 max_jobs;
	int			 cap;		/* -j across all jobs */
	bool			 drain;
	bool			 cancel_remote;	/* stopping: scancel too */
	bool			 stop_jobs;	/* SIGTERM interrupts the jobs */
	bool			 stopping;
	size_t			 nrejected;	/* files refused here (not by
						   a supervisor) */
	struct keepdone		 keep;		/* --keep-done; zero: all */
	int			 donefd;	/* done/, with --keep-done */
	size_t			 pruned_at;	/* bundles collected at the
						   last pruning */
	struct loop_timer	*keep_timer;
	struct loop_timer	*changed_timer;
	char			**stuck;	/* cancel/ entries that could
						   not be removed, sorted:
						   logged once, not acted on
						   again */
	size_t			 nstuck;
};

static void	watch_scan(struct watch *);
static void	watch_check_done(struct watch *);
static void	watch_keep(struct watch *, bool);

static void
watch_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec watch [-s SPOOL] [-j N] [--max-jobs N] "
	    "[--drain]\n                     [--stop-jobs] [--cancel-remote] "
	    "[--keep-done N|DURATION]\n\n"
	    "The spool daemon: run every manifest or bundle dropped into "
	    "SPOOL/incoming/,\neach job in a supervisor process of its own "
	    "running as the file's owner,\nand move its result bundle into "
	    "SPOOL/done/. Runs in the foreground until\nSIGTERM or SIGINT "
	    "(exit 0): the jobs go on under their supervisors, and the\n"
	    "next start adopts them.\n\n"
	    "  -s, --spool SPOOL   the spool (default $DAGEXEC_SPOOL, then "
	    "%s)\n"
	    "  -j, --jobs N        run at most N nodes at once across all "
	    "jobs\n"
	    "      --max-jobs N    run at most N jobs at once (default 4)\n"
	    "      --drain         take what is already dropped, run it all, "
	    "exit: 0 when\n                      every job succeeded and no "
	    "file was rejected, else 1\n"
	    "      --stop-jobs     on SIGTERM/SIGINT, interrupt the jobs too "
	    "and exit 75\n                      (they resume at the next "
	    "start)\n"
	    "      --cancel-remote with --stop-jobs, also scancel the jobs' "
	    "Slurm jobs\n                      (default: leave them running "
	    "for the next start to adopt)\n"
	    "      --keep-done N|DURATION\n"
	    "                      keep the newest N bundles in SPOOL/done/, "
	    "or those younger\n                      than DURATION (7d, 12h), "
	    "removing the oldest (default:\n                      keep all)"
	    "\n", spool_default());
}

static bool
parse_count(const char *s, int *v)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1 || n > 1000000)
		return false;
	*v = (int)n;
	return true;
}

/* ---- jobs --------------------------------------------------------------- */

static void
changed_cb(struct loop *l, void *arg)
{
	struct watch *w = arg;

	(void)l;
	w->changed_timer = NULL;
	/* firings first: they are due now, what waits in incoming/ is not */
	if (!w->stopping && w->sched != NULL)
		wsched_tick(w->sched);
	if (!w->stopping)
		watch_scan(w);
	watch_keep(w, false);
	watch_check_done(w);
}

/* A supervisor ended, or a file was taken in or refused: look again at
 * what waits, from the loop (not from inside the table's callbacks). */
static void
on_changed(void *arg)
{
	struct watch *w = arg;

	if (w->changed_timer == NULL)
		w->changed_timer = loop_timer_at(w->loop, loop_now(),
		    changed_cb, w);
}

/* Claim incoming/NAME and hand it to a supervisor of its own. */
static void
watch_take(struct watch *w, const char *name)
{
	struct spool_claim c;
	char *cause = NULL;
	int rc;

	rc = spool_claim(w->sp, name, &c, &cause);
	if (rc == 2)
		return;
	if (rc == 1) {
		log_event(LOG_WARN, NULL, NULL, "reject", "file=%s %s", name,
		    cause);
		free(cause);
		w->nrejected++;
		return;
	}
	if (rc < 0) {
		log_event(LOG_ERROR, NULL, NULL, "claim", "%s", cause);
		free(cause);
		return;
	}
	wsups_take(w->sups, &c);
}

/* A file waiting in incoming/, for the order it is taken in. */
struct waiting {
	char	*name;
	off_t	 size;
	time_t	 since;		/* ctime: a rename into incoming/ sets it */
	bool	 old;		/* waited longer than WAIT_AGING_S */
};

static int
waiting_cmp(const void *a, const void *b)
{
	const struct waiting *x = a, *y = b;

	if (x->old != y->old)
		return x->old ? -1 : 1;
	if (x->old && x->since != y->since)
		return x->since < y->since ? -1 : 1;
	if (!x->old && x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * Take what waits in incoming/ while --max-jobs allows: the smallest file
 * first (its size stands for the DAG's, so a small job dropped behind a
 * flood of big ones is not stuck behind all of them), but a file that has
 * waited longer than WAIT_AGING_S before any newer one, oldest first, so
 * that nothing waits for ever (the age and size factors of a batch
 * scheduler's priority).
 */
static void
watch_scan(struct watch *w)
{
	struct waiting *v;
	struct stat st;
	char **names, *dir;
	size_t n, i;
	time_t now = time(NULL);
	int dfd;

	if (w->stopping)
		return;
	names = spool_list(w->sp, "incoming", &n);
	v = xcalloc(n + 1, sizeof *v);
	dir = spool_subdir(w->sp, "incoming");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (i = 0; i < n; i++) {
		v[i].name = names[i];
		if (dfd >= 0 && fstatat(dfd, names[i], &st,
		    AT_SYMLINK_NOFOLLOW) == 0) {
			v[i].size = st.st_size;
			v[i].since = st.st_ctim.tv_sec;
			v[i].old = now - v[i].since > WAIT_AGING_S;
		}
	}
	if (dfd >= 0)
		close(dfd);
	free(dir);
	qsort(v, n, sizeof *v, waiting_cmp);
	for (i = 0; i < n; i++) {
		if ((int)wsups_count(w->sups) < w->max_jobs)
			watch_take(w, v[i].name);
		free(v[i].name);
	}
	free(v);
	free(names);
}

static bool
id_ok(const char *s)
{
	return spool_word_ok(s, 128);
}

/* Cancel a job that is still a file in incoming/ (as `submit` names it: a
 * manifest or a retry request), or in schedules/ (`submit --at`): it goes
 * to rejected/ saying so. */
static void
cancel_queued(struct watch *w, const char *id, uid_t who)
{
	struct spool_claim c;
	char *name = xasprintf("%s.yaml", id), *cause = NULL, *text;
	struct stat st;
	char *path = xasprintf("%s/incoming/%s", spool_path(w->sp), name);
	const char *sub = "incoming";

	if (lstat(path, &st) != 0) {
		free(name);
		free(path);
		name = xasprintf("%s.retry", id);
		path = xasprintf("%s/incoming/%s", spool_path(w->sp), name);
	}
	if (lstat(path, &st) != 0) {
		free(name);
		free(path);
		name = xasprintf("%s.yaml", id);
		path = xasprintf("%s/schedules/%s", spool_path(w->sp), name);
		sub = "schedules";
	}
	if (lstat(path, &st) != 0) {
		log_event(LOG_WARN, id, NULL, "cancel", "no such job");
		goto out;
	}
	if (who != 0 && who != st.st_uid) {
		log_event(LOG_WARN, id, NULL, "cancel-refused",
		    "uid %ld does not own the job", (long)who);
		goto out;
	}
	if (spool_claim_from(w->sp, sub, name, &c, &cause) != 0) {
		free(cause);
		goto out;
	}
	text = xasprintf("%s: error: cancelled before it started (uid %ld)\n",
	    name, (long)who);
	if (spool_reject_claim(w->sp, &c, text, &cause) != 0) {
		log_event(LOG_ERROR, id, NULL, "cancel", "%s", cause);
		free(cause);
	} else
		log_event(LOG_INFO, id, NULL, "cancel", "queued job cancelled");
	w->nrejected++;
	free(text);
	spool_claim_release(&c);
out:
	free(path);
	free(name);
}

static int
stuck_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Act on one cancel/ entry: a request (a plain file of one link named as a
 * job id, JOB; or JOB.now, to kill `when: always` nodes too) from the
 * job's owner (or root) cancels it. Anything else is ignored; *why then
 * says what it is. */
static void
watch_cancel_one(struct watch *w, int dfd, const char *name, char **why)
{
	struct stat st;
	bool refused, now;
	size_t len = strlen(name);
	char *id;

	now = len > 4 && strcmp(name + len - 4, ".now") == 0;
	id = xstrndup(name, now ? len - 4 : len);
	if (!id_ok(id))
		*why = xstrdup("it is not a job id");
	else if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT)
			*why = xasprintf("cannot stat it: %s", strerror(errno));
	} else if (!S_ISREG(st.st_mode))
		*why = xasprintf("it is %s, not a regular file",
		    spool_file_type(st.st_mode));
	/* a hard link to another user's file would borrow its owner */
	else if (st.st_nlink != 1)
		*why = xasprintf("it has %lu links", (unsigned long)st.st_nlink);
	else if (!wsups_cancel(w->sups, id, st.st_uid, now, &refused))
		cancel_queued(w, id, st.st_uid);
	else if (refused)
		log_event(LOG_WARN, id, NULL, "cancel-refused", "uid %ld does "
		    "not own the job", (long)st.st_uid);
	else
		log_event(LOG_INFO, id, NULL, "cancel", "uid=%ld%s",
		    (long)st.st_uid, now ? " now" : "");
	free(id);
}

/*
 * Read cancel/: act on each request, then remove every entry, whatever it
 * is (cancel/ is writable by anyone, so it holds what anyone made). An
 * entry that cannot be removed (a directory that is not empty) is logged
 * once and left alone until it is gone, not logged at every event.
 */
static void
watch_cancels(struct watch *w)
{
	char **names, **stuck = NULL, *dir, *why, *cause;
	size_t n, i, nstuck = 0;
	bool old;
	int dfd;

	names = spool_list_all(w->sp, "cancel", &n);
	dir = spool_subdir(w->sp, "cancel");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (i = 0; i < n; i++) {
		why = cause = NULL;
		old = w->nstuck > 0 && bsearch(&names[i], w->stuck, w->nstuck,
		    sizeof *w->stuck, stuck_cmp) != NULL;
		if (!old && dfd >= 0)
			watch_cancel_one(w, dfd, names[i], &why);
		if (spool_remove(w->sp, "cancel", names[i], &cause) != 0) {
			if (!old)
				log_event(LOG_WARN, NULL, NULL, "cancel",
				    "%s%s%s; left alone until it is gone",
				    cause, why != NULL ? ": " : "",
				    why != NULL ? why : "");
			stuck = xreallocarray(stuck, nstuck + 1,
			    sizeof *stuck);
			stuck[nstuck++] = names[i];
			names[i] = NULL;
		} else if (why != NULL)
			log_event(LOG_WARN, NULL, NULL, "cancel",
			    "removed 'cancel/%s': %s", names[i], why);
		free(cause);
		free(why);
		free(names[i]);
	}
	/* names came sorted, so stuck is too */
	for (i = 0; i < w->nstuck; i++)
		free(w->stuck[i]);
	free(w->stuck);
	w->stuck = stuck;
	w->nstuck = nstuck;
	if (dfd >= 0)
		close(dfd);
	free(dir);
	free(names);
}

static void
on_inotify(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct watch *w = arg;
	bool in = false, cancel = false;

	(void)l;
	(void)fd;
	(void)events;
	spool_drain(w->sp, &in, &cancel);
	if (cancel)
		watch_cancels(w);
	if (in)
		watch_scan(w);
	watch_check_done(w);
}

static void
on_signal(struct loop *l, int signo, void *arg)
{
	struct watch *w = arg;
	size_t n;

	(void)l;
	if (signo == SIGHUP) {
		log_event(LOG_INFO, NULL, NULL, "rescan", "SIGHUP");
		watch_cancels(w);
		wsched_scan(w->sched);
		watch_scan(w);
		return;
	}
	if (w->stopping)
		return;
	w->stopping = true;
	if (!w->stop_jobs) {
		log_event(LOG_INFO, NULL, NULL, "stop", "signal %d: %zu job(s) "
		    "go on under their supervisors; the next start adopts "
		    "them", signo, wsups_count(w->sups));
		loop_break(w->loop);
		return;
	}
	n = wsups_stop(w->sups);
	log_event(LOG_INFO, NULL, NULL, "stop", "signal %d: interrupting "
	    "%zu job(s); they resume at the next start", signo, n);
	watch_check_done(w);
}

static void
watch_check_done(struct watch *w)
{
	size_t n, left;
	char **names;

	if (wsups_count(w->sups) > 0)
		return;
	if (w->stopping) {
		loop_break(w->loop);
		return;
	}
	if (w->drain && wsched_busy(w->sched))
		return;
	if (w->drain) {
		names = spool_list(w->sp, "incoming", &n);
		left = n;
		while (n > 0)
			free(names[--n]);
		free(names);
		if (left == 0)
			loop_break(w->loop);
	}
}

/* The exit status: with --drain, 0 when every job collected succeeded and
 * nothing was refused, else 1 (for cron); interrupted by a signal, 75
 * with --drain (the drain did not finish) or --stop-jobs, else 0. */
static int
watch_status(struct watch *w)
{
	size_t collected, failed, rejected;

	if (w->stopping)
		return w->stop_jobs || w->drain ? EXIT_TEMPFAIL : 0;
	if (!w->drain)
		return 0;
	wsups_outcomes(w->sups, &collected, &failed, &rejected);
	rejected += w->nrejected + wsched_rejected(w->sched);
	log_event(failed + rejected > 0 ? LOG_WARN : LOG_INFO, NULL, NULL,
	    "drained", "%zu job(s) did not succeed, %zu file(s) rejected",
	    failed, rejected);
	return failed + rejected > 0 ? EXIT_DAG_FAILED : 0;
}

/* ---- retention ------------------------------------------------------------ */

#define KEEP_AGAIN_MS	60000	/* done/ is looked at again for old bundles */

/* done/, open for pruning: the spool's own directory, or -1 (said). */
static int
open_done(struct spool *sp)
{
	char *p = spool_subdir(sp, "done");
	int fd;

	fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "dagexec: cannot open '%s': %s\n", p,
		    strerror(errno));
	free(p);
	return fd;
}

static void
keep_cb(struct loop *l, void *arg)
{
	struct watch *w = arg;

	(void)l;
	w->keep_timer = NULL;
	watch_keep(w, true);
}

/* --keep-done: prune done/ after a bundle was collected, or with always
 * (at start-up, and every KEEP_AGAIN_MS for the age bound). */
static void
watch_keep(struct watch *w, bool always)
{
	size_t collected, failed, rejected;
	char *cause = NULL;

	if (w->donefd < 0)
		return;
	wsups_outcomes(w->sups, &collected, &failed, &rejected);
	if (!always && collected == w->pruned_at)
		return;
	w->pruned_at = collected;
	/* the bundles' mtimes are dates: compared with the wall clock */
	if (keepdone_prune(w->donefd, &w->keep, loop_wallclock(),
	    &cause) < 0) {
		log_event(LOG_WARN, NULL, NULL, "keep-done", "%s", cause);
		free(cause);
	}
	if (w->keep.max_age_ms > 0 && w->keep_timer == NULL && !w->stopping)
		w->keep_timer = loop_timer_at(w->loop, loop_now() +
		    KEEP_AGAIN_MS, keep_cb, w);
}

/* ---- start-up: claims to put back, jobs to resume ----------------------- */

#define STAGING_STALE_S	3600	/* a submit's staged file older than this
				   was left by a submit that died */

/* done/JOB.tar.gz.tmp.PID: a bundle whose writer died. The lock makes us the
 * only daemon of the spool, and bundles are written by the daemon alone, so
 * at start-up every one is stale, whatever its PID. */
static bool
done_temp(const char *name, const struct stat *st, void *arg)
{
	(void)st;
	(void)arg;
	return strstr(name, ".tmp.") != NULL;
}

/* tmp/.JOB.yaml.tmp: what `submit` stages before its rename into incoming/.
 * A submit does not need the daemon, so one may be writing right now: only
 * an old one is its leftover. */
static bool
staging_temp(const char *name, const struct stat *st, void *arg)
{
	size_t len = strlen(name);
	time_t now = *(const time_t *)arg;

	return S_ISREG(st->st_mode) && name[0] == '.' && len > 4 &&
	    strcmp(name + len - 4, ".tmp") == 0 &&
	    st->st_mtime < now - STAGING_STALE_S;
}

static void
watch_clean(struct watch *w)
{
	time_t now = time(NULL);
	char *cause = NULL;

	if (spool_clean_temps(w->sp, "done", done_temp, NULL, &cause) < 0) {
		log_event(LOG_WARN, NULL, NULL, "cleanup", "%s", cause);
		free(cause);
		cause = NULL;
	}
	if (spool_clean_temps(w->sp, "tmp", staging_temp, &now, &cause) < 0) {
		log_event(LOG_WARN, NULL, NULL, "cleanup", "%s", cause);
		free(cause);
	}
}

/* schedules/: recurring and one-shot manifests (wsched.c). 0, or -1
 * (said on stderr). */
static int
start_schedules(struct watch *w)
{
	struct wsched_config sc;
	char *cause = NULL;

	memset(&sc, 0, sizeof sc);
	sc.loop = w->loop;
	sc.sp = w->sp;
	sc.sups = w->sups;
	sc.max_jobs = w->max_jobs;
	sc.changed = on_changed;
	sc.arg = w;
	w->sched = wsched_new(&sc);
	if (wsched_start(w->sched, &cause) != 0) {
		fprintf(stderr, "dagexec: %s\n", cause);
		free(cause);
		return -1;
	}
	return 0;
}

int
cmd_watch(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "max-jobs", required_argument, NULL, 'M' },
		{ "drain", no_argument, NULL, 'D' },
		{ "cancel-remote", no_argument, NULL, 'C' },
		{ "stop-jobs", no_argument, NULL, 'S' },
		{ "keep-done", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct wsups_config wc;
	struct watch w;
	const char *dir = NULL, *why;
	char *cause = NULL;
	int c, ifd, ret = 0;
	bool keep = false;

	memset(&w, 0, sizeof w);
	w.donefd = -1;
	w.max_jobs = 4;
	w.cap = INT_MAX;
	while ((c = getopt_long(argc, argv, "+s:j:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			dir = optarg;
			break;
		case 'j':
			if (!parse_count(optarg, &w.cap)) {
				fprintf(stderr, "dagexec: watch: -j takes a "
				    "number from 1 to 1000000\n");
				return EXIT_USAGE;
			}
			break;
		case 'M':
			if (!parse_count(optarg, &w.max_jobs)) {
				fprintf(stderr, "dagexec: watch: --max-jobs "
				    "takes a number from 1 to 1000000\n");
				return EXIT_USAGE;
			}
			break;
		case 'D':
			w.drain = true;
			break;
		case 'C':
			w.cancel_remote = true;
			break;
		case 'S':
			w.stop_jobs = true;
			break;
		case 'K':
			if (keepdone_parse(optarg, &w.keep, &why) != 0) {
				fprintf(stderr, "dagexec: watch: --keep-done "
				    "'%s': %s (a count N, or a duration such "
				    "as 7d)\n", optarg, why);
				return EXIT_USAGE;
			}
			keep = true;
			break;
		case 'h':
			watch_usage(stdout);
			return 0;
		default:
			watch_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		watch_usage(stderr);
		return EXIT_USAGE;
	}
	if (dir == NULL)
		dir = spool_default();
	if ((w.sp = spool_open(dir, true, &cause)) == NULL) {
		fprintf(stderr, "dagexec: %s\n", cause);
		free(cause);
		return EXIT_CANTCREAT;
	}
	if (spool_lock(w.sp, &cause) != 0) {
		fprintf(stderr, "dagexec: %s\n", cause);
		free(cause);
		spool_free(w.sp);
		return EXIT_TEMPFAIL;
	}
	if ((w.loop = loop_new(&cause)) == NULL) {
		fprintf(stderr, "dagexec: %s\n", cause);
		free(cause);
		spool_free(w.sp);
		return EXIT_OSERR;
	}
	memset(&wc, 0, sizeof wc);
	wc.loop = w.loop;
	wc.sp = w.sp;
	wc.cap = w.cap;
	wc.cancel_remote = w.cancel_remote;
	wc.changed = on_changed;
	wc.arg = &w;
	w.sups = wsups_new(&wc);
	if ((ifd = spool_watch(w.sp, &cause)) < 0 ||
	    loop_add_fd(w.loop, ifd, EPOLLIN, on_inotify, &w) != 0 ||
	    wsups_listen(w.sups, &cause) < 0) {
		fprintf(stderr, "dagexec: %s\n", cause ? cause :
		    strerror(errno));
		free(cause);
		ret = EXIT_OSERR;
		goto out;
	}
	loop_on_signal(w.loop, SIGTERM, on_signal, &w);
	loop_on_signal(w.loop, SIGINT, on_signal, &w);
	loop_on_signal(w.loop, SIGHUP, on_signal, &w);
	log_event(LOG_INFO, NULL, NULL, "watch", "spool=%s pid=%ld max-jobs=%d",
	    spool_path(w.sp), (long)getpid(), w.max_jobs);
	watch_clean(&w);
	if (keep && (w.donefd = open_done(w.sp)) < 0) {
		ret = EXIT_CANTCREAT;
		goto out;
	}
	wsups_recover(w.sups);
	watch_keep(&w, true);
	if (start_schedules(&w) != 0) {
		ret = EXIT_OSERR;
		goto out;
	}
	watch_cancels(&w);
	watch_scan(&w);
	watch_check_done(&w);
	if (!(wsups_count(w.sups) == 0 && !wsched_busy(w.sched) &&
	    w.drain)) {
		if (loop_run(w.loop) != 0) {
			fprintf(stderr, "dagexec: event loop: %s\n",
			    strerror(errno));
			ret = EXIT_OSERR;
			goto out;
		}
	}
	if (!w.stopping)
		watch_keep(&w, false);
	ret = watch_status(&w);
out:
	/* the supervisors go on; a bundle being copied is finished first */
	wsched_free(w.sched);
	wsups_free(w.sups);
	while (w.nstuck > 0)
		free(w.stuck[--w.nstuck]);
	free(w.stuck);
	if (w.changed_timer != NULL)
		loop_timer_cancel(w.loop, w.changed_timer);
	if (w.keep_timer != NULL)
		loop_timer_cancel(w.loop, w.keep_timer);
	if (w.donefd >= 0)
		close(w.donefd);
	loop_free(w.loop);
	spool_free(w.sp);
	return ret;
}
