/*
 * Schedules, as root.
 *
 * SPOOL/schedules/ (1733, as incoming/) holds recurring manifests (a
 * top-level `cron:`) and one-shot jobs (`submit --at`, named as the job
 * id whose time is when it runs). The files stay where their owners put
 * them: an owner replaces one to change it and removes it to stop it.
 * Root only looks at them (fstatat, never following), and moves what is
 * no schedule to rejected/.
 *
 * A recurring one is read by a helper started as the file's owner
 * (schedule.c, through the supervisors' spawner, as every process reading
 * a user's files is): it checks it, hands back the checked bytes as a sealed memfd and
 * computes the firings in the schedule's zone. Root keeps, in its own
 * SPOOL/sched/ (0711; its files 0600):
 *
 *   NAME.yaml    the bytes the helper checked, which each firing runs
 *   NAME.last    the last firing handled (run or skipped), the one that
 *                waits (overlap: queue) and the last firing's job id
 *   UID.list     what `status --schedules` shows that user (given to
 *                them; root never reads it)
 *
 * A firing at T is the job DAG-YYYYMMDDTHHMMSS-XXXX, T in UTC and XXXX
 * from the schedule's owner and name: the same firing always has the same
 * id, and one whose id is in use anywhere in the spool has run. It is
 * made in sched/.fire-ID/ (the file and its mark, spool_mark_write) and
 * renamed whole into claims/.claim-ID.yaml; then NAME.last is written and
 * the claim handed to a supervisor (wsups_take) as a dropped file would
 * be. A crash before the rename leaves a .fire- directory (removed at
 * the next start, and the firing made again); after it, the claim (taken
 * in again at the next start, keeping its time); before NAME.last, the
 * id in use. So a firing runs once.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "fsutil.h"
#include "log.h"
#include "loop.h"
#include "manifest.h"
#include "schedule.h"
#include "spawner.h"
#include "spool.h"
#include "strbuf.h"
#include "wsched.h"
#include "wsup.h"
#include "xmalloc.h"

#define RESCAN_MS	60000	/* schedules/ and the clock looked at again */
#define HELPER_MS	30000	/* a helper that has not ended is killed */
#define RETRY_MS	60000	/* a helper that failed is started again */
#define SCHED_MAX	10000	/* schedules at most */
#define HELPERS_MAX	8	/* readers at once: a flood of files waits */
#define NAME_MAX_LEN	128

static const char *const overlap_words[] = { "skip", "queue", "all" };

/* One file of schedules/. */
struct sent {
	struct wsched	*w;
	char		*name;
	bool		 seen;		/* in the last scan */
	bool		 removed;	/* forgotten: freed when its helper
					   ends */
	uid_t		 uid;
	gid_t		 gid;		/* the owner's primary group */
	struct stat	 st;		/* the file as last read */
	/* a one-shot job */
	bool		 at;
	int64_t		 at_time;
	/* a recurring one, as its helper said */
	bool		 ok;
	char		*dag;
	char		*expr;
	char		*zone;		/* "": the system's */
	int		 overlap;	/* enum overlap */
	int64_t		 catch_up_s;
	int64_t		 next[SCHEDULE_NEXT_MAX];
	size_t		 nnext;
	size_t		 inext;
	/* root's record */
	int64_t		 last;
	int64_t		 pending;	/* overlap: queue, or 0 */
	char		*job;		/* the last firing's */
	/* now */
	int64_t		 due;		/* waits for a job slot, or 0 */
	pid_t		 hpid;		/* its helper, or 0 */
	int		 hsock;
	bool		 again;		/* read it again when the helper ends */
	bool		 hwait;		/* waits for a reader (HELPERS_MAX) */
	int64_t		 retry_at;	/* monotonic ms: a failed helper again */
	struct loop_timer *kill;
};

struct wsched {
	struct wsched_config c;
	struct sent	**v;
	size_t		 n;
	size_t		 cap;
	int		 ifd;
	struct loop_timer *timer;
	struct loop_timer *soon;
	int		 helpers;
	size_t		 rejected;	/* files moved to rejected/ */
	bool		 lists_dirty;
	uid_t		*listed;	/* uids with a UID.list */
	size_t		 nlisted;
};

static void	arm(struct wsched *);
static void	flush(struct wsched *);

static int64_t
now_s(void)
{
	return loop_wallclock() / 1000;
}

static const char *
iso(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static char *
sched_path(struct wsched *w, const char *name, const char *ext)
{
	return xasprintf("%s/sched/%s%s", spool_path(w->c.sp), name, ext);
}

/* ---- the table --------------------------------------------------------- */

struct wsched *
wsched_new(const struct wsched_config *c)
{
	struct wsched *w = xcalloc(1, sizeof *w);

	w->c = *c;
	w->ifd = -1;
	return w;
}

static void
sent_free(struct sent *e)
{
	if (e->kill != NULL)
		loop_timer_cancel(e->w->c.loop, e->kill);
	if (e->hsock >= 0)
		close(e->hsock);
	free(e->name);
	free(e->dag);
	free(e->expr);
	free(e->zone);
	free(e->job);
	free(e);
}

void
wsched_free(struct wsched *w)
{
	size_t i;

	if (w == NULL)
		return;
	for (i = 0; i < w->n; i++)
		sent_free(w->v[i]);
	free(w->v);
	loop_timer_cancel(w->c.loop, w->timer);
	loop_timer_cancel(w->c.loop, w->soon);
	if (w->ifd >= 0)
		(void)loop_close_fd(w->c.loop, w->ifd);
	free(w->listed);
	free(w);
}

static struct sent *
sent_find(struct wsched *w, const char *name)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (!w->v[i]->removed && strcmp(w->v[i]->name, name) == 0)
			return w->v[i];
	return NULL;
}

static struct sent *
sent_add(struct wsched *w, const char *name)
{
	struct sent *e = xcalloc(1, sizeof *e);

	e->w = w;
	e->name = xstrdup(name);
	e->hsock = -1;
	xgrow(&w->v, &w->cap, w->n + 1, sizeof *w->v);
	w->v[w->n++] = e;
	return e;
}

static void
sent_drop(struct sent *e)
{
	struct wsched *w = e->w;
	size_t i;

	for (i = 0; i < w->n; i++)
		if (w->v[i] == e)
			break;
	if (i < w->n) {
		memmove(&w->v[i], &w->v[i + 1], (w->n - i - 1) * sizeof *w->v);
		w->n--;
	}
	sent_free(e);
	w->lists_dirty = true;
}

/* The file is gone (or refused): root forgets it, and what it kept. */
static void
sent_forget(struct sent *e, bool keep_files)
{
	char *p;

	if (!keep_files && !e->at) {
		p = sched_path(e->w, e->name, "");
		(void)unlink(p);
		free(p);
		p = sched_path(e->w, e->name, ".last");
		(void)unlink(p);
		free(p);
	}
	if (e->hpid > 0) {
		e->removed = true;
		e->w->lists_dirty = true;
		return;
	}
	sent_drop(e);
}

/* ---- root's record ------------------------------------------------------ */

static void
record_save(struct sent *e)
{
	char *p = sched_path(e->w, e->name, ".last"), *text, *cause = NULL;

	text = xasprintf("uid %ld\nlast %lld\npending %lld\njob %s\n",
	    (long)e->uid, (long long)e->last, (long long)e->pending,
	    e->job != NULL ? e->job : "-");
	if (fs_write_atomic(p, text, strlen(text), 0600, &cause) != 0) {
		log_event(LOG_ERROR, NULL, NULL, "schedule", "%s", cause);
		free(cause);
	}
	free(text);
	free(p);
	e->w->lists_dirty = true;
}

static void
record_load(struct sent *e)
{
	char *p = sched_path(e->w, e->name, ".last"), *buf = NULL, *cause;
	char job[256];
	long long last, pending;
	long uid;
	size_t len;

	cause = NULL;
	if (fs_read_file(p, 4096, &buf, &len, &cause) == 0 &&
	    sscanf(buf, "uid %ld last %lld pending %lld job %255s", &uid, &last,
	    &pending, job) == 4 && (uid_t)uid == e->uid && last >= 0 &&
	    pending >= 0) {
		e->last = last;
		e->pending = pending;
		free(e->job);
		e->job = strcmp(job, "-") == 0 ? NULL : xstrdup(job);
	}
	free(cause);
	free(buf);
	free(p);
}

/* ---- firing ------------------------------------------------------------- */

/* The id of the firing at t: the same for the same firing, always. */
static char *
firing_id(const struct sent *e, int64_t t)
{
	uint32_t h = 2166136261u;
	char ts[32], *key;
	time_t tt = (time_t)t;
	struct tm tm;
	const char *p;

	key = xasprintf("%ld:%s", (long)e->uid, e->name);
	for (p = key; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	free(key);
	gmtime_r(&tt, &tm);
	strftime(ts, sizeof ts, "%Y%m%dT%H%M%S", &tm);
	return xasprintf("%s-%s-%04x", e->dag, ts, (unsigned)((h ^ (h >> 16)) &
	    0xffff));
}

/* Is there anything at SPOOL/BEFORE ID AFTER? */
static bool
exists(struct wsched *w, const char *before, const char *id,
    const char *after)
{
	struct stat st;
	char *p;
	bool yes;

	p = xasprintf("%s/%s%s%s", spool_path(w->c.sp), before, id, after);
	yes = lstat(p, &st) == 0 || errno != ENOENT;
	free(p);
	return yes;
}

/* Is the job id in use anywhere in the spool: then that firing ran. */
static bool
id_in_use(struct wsched *w, const char *id)
{
	static const char *const where[][2] = { { "claims/", "" },
	    { "claims/.claim-", ".yaml" }, { "active/", "" },
	    { "done/", ".tar.gz" }, { "done/", ".tar.zst" },
	    { "rejected/", ".yaml" }, { "incoming/", ".yaml" } };
	size_t i;

	for (i = 0; i < sizeof where / sizeof where[0]; i++)
		if (exists(w, where[i][0], id, where[i][1]))
			return true;
	return false;
}

/* Does the schedule's last job still run (or wait to be taken in)? */
static bool
job_running(struct sent *e)
{
	return e->job != NULL && (exists(e->w, "claims/", e->job, "") ||
	    exists(e->w, "claims/.claim-", e->job, ".yaml"));
}

static bool
slot_free(struct wsched *w)
{
	return (int)wsups_count(w->c.sups) < w->c.max_jobs;
}

/* sched/.fire-ID/ with ID.yaml (the schedule's checked bytes) and its
 * mark, renamed whole into claims/.claim-ID.yaml. */
static int
make_claim(struct sent *e, const char *id, int64_t t, char **cause)
{
	char *snap = sched_path(e->w, e->name, ""), *tmp, *file, *dest;
	char *buf = NULL;
	size_t len;
	int rc = -1;

	tmp = xasprintf("%s/sched/.fire-%s", spool_path(e->w->c.sp), id);
	file = xasprintf("%s/%s.yaml", tmp, id);
	dest = xasprintf("%s/claims/.claim-%s.yaml", spool_path(e->w->c.sp),
	    id);
	(void)fs_remove_tree(tmp, NULL);
	if (fs_read_file(snap, MANIFEST_MAX_BYTES, &buf, &len, cause) != 0)
		goto out;
	if (mkdir(tmp, 0711) != 0) {
		*cause = xasprintf("cannot create '%s': %s", tmp,
		    strerror(errno));
		goto out;
	}
	if (fs_write_atomic(file, buf, len, 0600, cause) != 0 ||
	    spool_mark_write(tmp, t, e->uid, e->gid, cause) != 0)
		goto out;
	if (rename(tmp, dest) != 0) {
		*cause = xasprintf("cannot rename '%s' to '%s': %s", tmp, dest,
		    strerror(errno));
		goto out;
	}
	(void)fs_sync_parent(dest);
	rc = 0;
out:
	if (rc != 0)
		(void)fs_remove_tree(tmp, NULL);
	free(buf);
	free(snap);
	free(tmp);
	free(file);
	free(dest);
	return rc;
}

/* Start the job of the firing at t. */
static void
launch(struct sent *e, int64_t t)
{
	struct spool_claim c;
	char *id, *claim, *cause = NULL, when[32];

	id = firing_id(e, t);
	iso(t, when, sizeof when);
	if (t > e->last)
		e->last = t;
	if (id_in_use(e->w, id)) {
		log_event(LOG_INFO, id, NULL, "schedule", "file=%s scheduled=%s: "
		    "ran already", e->name, when);
		free(e->job);
		e->job = id;
		record_save(e);
		return;
	}
	if (make_claim(e, id, t, &cause) != 0) {
		log_event(LOG_ERROR, id, NULL, "schedule", "file=%s scheduled=%s:"
		    " %s", e->name, when, cause);
		free(cause);
		free(id);
		record_save(e);
		return;
	}
	free(e->job);
	e->job = id;
	record_save(e);
	claim = xasprintf(".claim-%s.yaml", id);
	if (spool_claim_reopen(e->w->c.sp, claim, &c, &cause) != 0) {
		/* the next start takes it in */
		log_event(LOG_ERROR, id, NULL, "schedule", "%s", cause);
		free(cause);
		free(claim);
		return;
	}
	free(claim);
	c.uid = e->uid;
	c.gid = e->gid;
	c.scheduled = t;
	log_event(LOG_INFO, id, NULL, "fire", "file=%s scheduled=%s uid=%ld",
	    e->name, when, (long)e->uid);
	wsups_take(e->w->c.sups, &c);
}

/* A firing whose time has come: overlap, then a job slot, decide. */
static void
fire(struct sent *e, int64_t t)
{
	char when[32];

	iso(t, when, sizeof when);
	if (e->overlap != OVERLAP_ALL && job_running(e)) {
		if (e->overlap == OVERLAP_QUEUE && e->pending == 0) {
			e->pending = t;
			log_event(LOG_INFO, e->job, NULL, "schedule", "file=%s "
			    "scheduled=%s: queued until this job ends",
			    e->name, when);
		} else
			log_event(LOG_INFO, e->job, NULL, "schedule", "file=%s "
			    "scheduled=%s: skipped, this job still runs%s",
			    e->name, when, e->pending != 0 ? " and a firing "
			    "is queued" : "");
		if (t > e->last)
			e->last = t;
		record_save(e);
		return;
	}
	if (!slot_free(e->w)) {
		/* --max-jobs: it runs when a job ends */
		e->due = t;
		e->w->lists_dirty = true;
		return;
	}
	launch(e, t);
}

/* A one-shot job whose time has come: claimed from schedules/ as a
 * dropped file is, its time kept. */
static void
fire_at(struct sent *e)
{
	struct spool_claim c;
	char *cause = NULL;
	int rc;

	if (!slot_free(e->w)) {
		e->due = e->at_time;
		return;
	}
	rc = spool_claim_from(e->w->c.sp, "schedules", e->name, &c, &cause);
	if (rc == 0 && spool_mark_write(c.dir, e->at_time, c.uid, c.gid,
	    &cause) != 0) {
		log_event(LOG_WARN, NULL, NULL, "schedule", "%s", cause);
		free(cause);
		cause = NULL;
	}
	if (rc == 0) {
		c.scheduled = e->at_time;
		log_event(LOG_INFO, NULL, NULL, "at", "file=%s uid=%ld",
		    e->name, (long)c.uid);
		wsups_take(e->w->c.sups, &c);
	} else if (rc == 1) {
		log_event(LOG_WARN, NULL, NULL, "reject", "file=schedules/%s",
		    e->name);
		e->w->rejected++;
	}
	else if (rc < 0) {
		log_event(LOG_ERROR, NULL, NULL, "at", "%s", cause);
		free(cause);
		return;		/* left: tried again */
	}
	sent_forget(e, false);
}

static void	helper_start(struct sent *);

/* What is due of e at now. */
static void
sent_due(struct sent *e, int64_t now)
{
	int64_t t = 0;
	size_t skipped = 0;
	char when[32];

	if (e->removed)
		return;
	if (e->at) {
		if (e->at_time <= now && e->due == 0)
			fire_at(e);
		return;
	}
	if (!e->ok)
		return;
	while (e->inext < e->nnext && e->next[e->inext] <= now) {
		if (t != 0)
			skipped++;
		t = e->next[e->inext++];
	}
	if (t != 0 && t > e->last) {
		iso(t, when, sizeof when);
		if (skipped > 0)
			log_event(LOG_WARN, NULL, NULL, "schedule", "file=%s: %zu "
			    "firing(s) before %s missed", e->name, skipped,
			    when);
		if (now - t <= SCHEDULE_GRACE_S || now - t <= e->catch_up_s)
			fire(e, t);
		else {
			log_event(LOG_WARN, NULL, NULL, "schedule", "file=%s "
			    "scheduled=%s: missed (the daemon was late)",
			    e->name, when);
			e->last = t;
			record_save(e);
		}
	}
	/* the last one known: ask for more */
	if (e->inext + 1 >= e->nnext && e->hpid == 0 && e->nnext > 0)
		helper_start(e);
}

/* ---- the helper ------------------------------------------------------------ */

static bool
dag_ok(const char *s)
{
	return spool_word_ok(s, 64) && s[0] != '-';
}

static bool
text_ok(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n > max)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* The checked bytes: a sealed memfd (or any file nobody can change). */
static int
take_copy(struct sent *e, int fd, char **cause)
{
	struct stat st;
	char *buf = NULL, *p;
	size_t len;
	int seals, rc;

	seals = fcntl(fd, F_GET_SEALS);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || seals < 0 ||
	    (seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)) !=
	    (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW) ||
	    st.st_size > (off_t)MANIFEST_MAX_BYTES) {
		*cause = xstrdup("its reader sent no sealed copy");
		return -1;
	}
	if (lseek(fd, 0, SEEK_SET) != 0 || fs_read_fd(fd, e->name,
	    MANIFEST_MAX_BYTES, &buf, &len, cause) != 0)
		return -1;
	p = sched_path(e->w, e->name, "");
	rc = fs_write_atomic(p, buf, len, 0600, cause);
	free(p);
	free(buf);
	return rc;
}

/* "ok DAG OVERLAP CATCHUP_MS MISSED NMISSED NEXT...\nEXPR\nZONE" */
static int
take_ok(struct sent *e, char *msg, int fd, int64_t *missed, int64_t *nmissed,
    char **cause)
{
	char *l2, *l3, *tok, *save = NULL, *end;
	long long v;
	int64_t next[SCHEDULE_NEXT_MAX], cu;
	size_t n = 0;
	int k, ov = -1;

	if ((l2 = strchr(msg, '\n')) == NULL ||
	    (l3 = strchr(l2 + 1, '\n')) == NULL)
		goto bad;
	*l2++ = '\0';
	*l3++ = '\0';
	if (!text_ok(l2, 200) || !text_ok(l3, 255) ||
	    (tok = strtok_r(msg, " ", &save)) == NULL || !dag_ok(tok))
		goto bad;
	free(e->dag);
	e->dag = xstrdup(tok);
	if ((tok = strtok_r(NULL, " ", &save)) == NULL)
		goto bad;
	for (k = 0; k < 3; k++)
		if (strcmp(tok, overlap_words[k]) == 0)
			ov = k;
	if (ov < 0 || (tok = strtok_r(NULL, " ", &save)) == NULL ||
	    (cu = strtoll(tok, &end, 10)) < 0 || *end != '\0' ||
	    (tok = strtok_r(NULL, " ", &save)) == NULL ||
	    (v = strtoll(tok, &end, 10)) < 0 || *end != '\0' || v % 60 != 0)
		goto bad;
	*missed = v;
	if ((tok = strtok_r(NULL, " ", &save)) == NULL ||
	    (*nmissed = strtoll(tok, &end, 10)) < 0 || *end != '\0')
		goto bad;
	while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
		v = strtoll(tok, &end, 10);
		/* minutes, later and later: cron's resolution */
		if (*end != '\0' || v <= 0 || v % 60 != 0 || n ==
		    SCHEDULE_NEXT_MAX || (n > 0 && v <= next[n - 1]))
			goto bad;
		next[n++] = v;
	}
	if (take_copy(e, fd, cause) != 0)
		return -1;
	e->overlap = ov;
	e->catch_up_s = cu / 1000;
	free(e->expr);
	e->expr = xstrdup(l2);
	free(e->zone);
	e->zone = xstrdup(l3);
	memcpy(e->next, next, n * sizeof *next);
	e->nnext = n;
	e->inext = 0;
	e->ok = true;
	return 0;
bad:
	*cause = xstrdup("its reader's answer is not understood");
	return -1;
}

/* Refuse the file: to rejected/, when it is still the one that was read. */
static void
refuse(struct sent *e, const char *text)
{
	char *dir, *cause = NULL, *first;
	struct stat st;
	int dfd;

	dir = xasprintf("%s/schedules", spool_path(e->w->c.sp));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (dfd >= 0 && fstatat(dfd, e->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_ino == e->st.st_ino && st.st_dev == e->st.st_dev &&
	    st.st_mtim.tv_sec == e->st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == e->st.st_mtim.tv_nsec) {
		first = xstrndup(text, strcspn(text, "\n"));
		if (spool_reject_file(e->w->c.sp, "schedules", e->name, text,
		    &cause) != 0) {
			log_event(LOG_ERROR, NULL, NULL, "reject", "%s", cause);
			free(cause);
		} else {
			log_event(LOG_WARN, NULL, NULL, "reject", "file=schedules/"
			    "%s %s", e->name, first);
			e->w->rejected++;
		}
		free(first);
	}
	if (dfd >= 0)
		close(dfd);
	sent_forget(e, false);
}

static void
helper_answer(struct sent *e, int status)
{
	char *buf = xmalloc(CTL_MAX + 1), *cause = NULL, when[32];
	const char *rest;
	int64_t missed = 0, nmissed = 0, now = now_s();
	ssize_t n;
	int fd = -1;
	bool fresh = !e->ok;

	n = ctl_recv(e->hsock, buf, &fd);
	if (n > 0 && ctl_is(buf, "ok", &rest)) {
		if (take_ok(e, buf + (rest - buf), fd, &missed, &nmissed,
		    &cause) == 0) {
			if (fresh && e->last == 0) {
				/* a new schedule: nothing before it is missed */
				e->last = now;
				record_save(e);
			}
			log_event(LOG_INFO, NULL, NULL, "schedule", "file=%s uid=%ld "
			    "cron='%s' next=%s", e->name, (long)e->uid, e->expr,
			    iso(e->nnext > 0 ? e->next[0] : 0, when,
			    sizeof when));
			if (nmissed > (missed > e->last ? 1 : 0))
				log_event(LOG_WARN, NULL, NULL, "schedule",
				    "file=%s: %lld firing(s) missed while no "
				    "daemon ran%s", e->name, (long long)nmissed,
				    missed > e->last ? "; the latest runs now, "
				    "within catch_up" : "");
			if (missed > e->last) {
				log_event(LOG_INFO, NULL, NULL, "schedule",
				    "file=%s scheduled=%s: late: run now",
				    e->name, iso(missed, when, sizeof when));
				fire(e, missed);
			}
		} else {
			log_event(LOG_ERROR, NULL, NULL, "schedule", "file=%s: %s",
			    e->name, cause);
			e->retry_at = loop_now() + RETRY_MS;
		}
	} else if (n > 0 && ctl_is(buf, "reject", &rest))
		refuse(e, rest);
	else if (n > 0 && ctl_is(buf, "gone", NULL))
		sent_forget(e, false);
	else if (n > 0 && ctl_is(buf, "busy", NULL))
		/* read again at the next event (its close) or scan */
		memset(&e->st, 0, sizeof e->st);
	else {
		log_event(LOG_ERROR, NULL, NULL, "schedule", "file=%s: its reader "
		    "%s without an answer", e->name, status >= 0 &&
		    WIFSIGNALED(status) ? "was killed" : "exited");
		e->retry_at = loop_now() + RETRY_MS;
	}
	if (fd >= 0)
		close(fd);
	free(cause);
	free(buf);
}

/* Start the readers that wait for one of HELPERS_MAX. */
static void
helpers_more(struct wsched *w)
{
	size_t i;

	for (i = 0; i < w->n && w->helpers < HELPERS_MAX; i++)
		if (w->v[i]->hwait && !w->v[i]->removed)
			helper_start(w->v[i]);
}

static void
on_helper(struct loop *l, pid_t pid, int status, const struct rusage *ru,
    void *arg)
{
	struct sent *e = arg;
	struct wsched *w = e->w;

	(void)l;
	(void)pid;
	(void)ru;
	if (e->kill != NULL) {
		loop_timer_cancel(w->c.loop, e->kill);
		e->kill = NULL;
	}
	/* with hpid still set, an answer that forgets e (a refusal, a file
	 * gone) only marks it removed: it is freed below */
	if (!e->removed)
		helper_answer(e, status);
	e->hpid = 0;
	w->helpers--;
	if (e->hsock >= 0) {
		close(e->hsock);
		e->hsock = -1;
	}
	if (e->removed)
		sent_drop(e);
	else if (e->again) {
		e->again = false;
		helper_start(e);
	}
	helpers_more(w);
	flush(w);
	arm(w);
	if (w->c.changed != NULL)
		w->c.changed(w->c.arg);
}

static void
kill_cb(struct loop *l, void *arg)
{
	struct sent *e = arg;

	(void)l;
	e->kill = NULL;
	if (e->hpid > 0) {
		log_event(LOG_ERROR, NULL, NULL, "schedule", "file=%s: its reader "
		    "did not end within %d s: killed", e->name, HELPER_MS / 1000);
		(void)kill(e->hpid, SIGKILL);
	}
}

static void
helper_start(struct sent *e)
{
	struct wsched *w = e->w;
	struct spawner_req req;
	char *argv[16], *cause = NULL;
	int sv[2], k = 0, pidfd;
	pid_t pid;

	if (e->hpid > 0) {
		e->again = true;
		return;
	}
	if (w->helpers >= HELPERS_MAX) {
		e->hwait = true;
		return;
	}
	e->hwait = false;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		log_event(LOG_ERROR, NULL, NULL, "schedule", "socketpair: %s",
		    strerror(errno));
		e->retry_at = loop_now() + RETRY_MS;
		return;
	}
	argv[k++] = xstrdup("dagexec");
	argv[k++] = xstrdup("__schedule");
	argv[k++] = xstrdup("--spool");
	argv[k++] = xstrdup(spool_path(w->c.sp));
	argv[k++] = xstrdup("--name");
	argv[k++] = xstrdup(e->name);
	argv[k++] = xstrdup("--last");
	argv[k++] = xasprintf("%lld", (long long)e->last);
	argv[k++] = xstrdup("--now");
	argv[k++] = xasprintf("%lld", (long long)now_s());
	argv[k++] = xstrdup("--count");
	argv[k++] = xasprintf("%d", SCHEDULE_NEXT_MAX);
	argv[k] = NULL;
	/* as a supervisor is started: every id the owner's */
	memset(&req, 0, sizeof req);
	req.drop = geteuid() == 0;
	req.uid = e->uid;
	req.fgid = e->st.st_gid;
	req.argv = argv;
	req.sock = sv[1];
	req.lockfd = -1;
	req.filefd = -1;
	pid = wsups_spawn(w->c.sups, &req, &cause);
	close(sv[1]);
	while (k > 0)
		free(argv[--k]);
	if (pid < 0) {
		log_event(LOG_ERROR, NULL, NULL, "schedule", "file=%s: cannot "
		    "start its reader: %s", e->name, cause);
		free(cause);
		close(sv[0]);
		e->retry_at = loop_now() + RETRY_MS;
		return;
	}
	e->hsock = sv[0];
	(void)fcntl(e->hsock, F_SETFL, O_NONBLOCK);
	e->hpid = pid;
	e->retry_at = 0;
	w->helpers++;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (loop_watch_child(w->c.loop, pid, pidfd, on_helper, e) != 0 &&
	    pidfd >= 0)
		close(pidfd);
	e->kill = loop_timer_at(w->c.loop, loop_now() + HELPER_MS, kill_cb, e);
}

/* ---- schedules/ ------------------------------------------------------------ */

/* NAME.yaml or NAME.yml, of [A-Za-z0-9._-]: the name of root's files in
 * sched/ too. */
static bool
sched_name_ok(const char *s)
{
	size_t n = strlen(s);

	return spool_word_ok(s, NAME_MAX_LEN) && s[0] != '-' &&
	    ((n > 5 && strcmp(s + n - 5, ".yaml") == 0) ||
	    (n > 4 && strcmp(s + n - 4, ".yml") == 0));
}

/* What makes a file of schedules/ no schedule, or NULL. */
static char *
file_problem(const char *name, const struct stat *st, bool at)
{
	if (S_ISLNK(st->st_mode))
		return xasprintf("'%s' is a symbolic link: not followed", name);
	if (!S_ISREG(st->st_mode))
		return xasprintf("'%s' is not a regular file (%s)", name,
		    spool_file_type(st->st_mode));
	if (st->st_nlink != 1)
		return xasprintf("'%s' has %lu links: a dropped file must have "
		    "exactly one", name, (unsigned long)st->st_nlink);
	if (st->st_size > (off_t)MANIFEST_MAX_BYTES)
		return xasprintf("'%s' is larger than %u bytes", name,
		    MANIFEST_MAX_BYTES);
	if (!at && !sched_name_ok(name))
		return xasprintf("'%s' is not a schedule: a file of schedules/ "
		    "is a manifest named NAME.yaml or NAME.yml, NAME of "
		    "[A-Za-z0-9._-] (at most %d bytes)", name, NAME_MAX_LEN);
	return NULL;
}

static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size && a->st_uid == b->st_uid &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void
scan_one(struct wsched *w, int dfd, const char *name)
{
	struct sent *e;
	struct stat st;
	char *why, *cause = NULL, *dag = NULL;
	struct passwd *pw;
	int64_t when = 0;
	bool at;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return;
	at = schedule_at_name(name, &dag, &when) == 0;
	if ((why = file_problem(name, &st, at)) != NULL) {
		if (spool_reject_file(w->c.sp, "schedules", name, why,
		    &cause) != 0) {
			log_event(LOG_ERROR, NULL, NULL, "reject", "%s", cause);
			free(cause);
		} else {
			log_event(LOG_WARN, NULL, NULL, "reject", "file=schedules/"
			    "%s %s", name, why);
			w->rejected++;
		}
		free(why);
		free(dag);
		if ((e = sent_find(w, name)) != NULL)
			sent_forget(e, false);
		return;
	}
	if ((e = sent_find(w, name)) == NULL) {
		if (w->n >= SCHED_MAX) {
			free(dag);
			return;
		}
		e = sent_add(w, name);
	}
	e->seen = true;
	if (e->st.st_ino != 0 && same_file(&e->st, &st)) {
		free(dag);
		return;
	}
	if (e->st.st_ino != 0 && e->uid != st.st_uid) {
		/* another owner's now: what was kept is not theirs */
		e->last = e->pending = 0;
		free(e->job);
		e->job = NULL;
		e->ok = false;
	}
	e->st = st;
	e->uid = st.st_uid;
	e->gid = (pw = getpwuid(st.st_uid)) != NULL ? pw->pw_gid : st.st_gid;
	w->lists_dirty = true;
	if (at) {
		e->at = true;
		e->at_time = when;
		free(e->dag);
		e->dag = dag;
		e->ok = true;
		return;
	}
	free(dag);
	if (e->last == 0)
		record_load(e);
	helper_start(e);
}

void
wsched_scan(struct wsched *w)
{
	char **names, *dir;
	size_t n, i;
	int dfd;

	names = spool_list(w->c.sp, "schedules", &n);
	dir = xasprintf("%s/schedules", spool_path(w->c.sp));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	for (i = 0; i < w->n; i++)
		w->v[i]->seen = false;
	for (i = 0; i < n; i++) {
		if (dfd >= 0)
			scan_one(w, dfd, names[i]);
		free(names[i]);
	}
	free(names);
	if (dfd < 0)
		return;		/* schedules/ is not there: nothing forgotten */
	close(dfd);
	for (i = w->n; i > 0; i--)
		if (!w->v[i - 1]->seen && !w->v[i - 1]->removed) {
			if (!w->v[i - 1]->at)
				log_event(LOG_INFO, NULL, NULL, "schedule",
				    "file=%s: removed", w->v[i - 1]->name);
			sent_forget(w->v[i - 1], false);
		}
	flush(w);
	arm(w);
}

/* ---- the clock ------------------------------------------------------------- */

static void
on_timer(struct loop *l, void *arg)
{
	struct wsched *w = arg;
	int64_t now = now_s(), mono = loop_now();
	size_t i;

	(void)l;
	w->timer = NULL;
	for (i = 0; i < w->n; i++) {
		if (w->v[i]->retry_at != 0 && w->v[i]->retry_at <= mono &&
		    w->v[i]->hpid == 0 && !w->v[i]->removed)
			helper_start(w->v[i]);
	}
	/* sent_due may forget an entry: walk a copy of the table */
	for (i = w->n; i > 0; i--)
		if (i - 1 < w->n)
			sent_due(w->v[i - 1], now);
	/* and schedules/ again: an event may have been lost */
	wsched_scan(w);
}

/* Wake at the next firing, and at least every RESCAN_MS (a clock set
 * forward, a file whose event was lost). */
static void
arm(struct wsched *w)
{
	int64_t now = now_s(), at = now + RESCAN_MS / 1000, t;
	size_t i;
	struct sent *e;

	for (i = 0; i < w->n; i++) {
		e = w->v[i];
		if (e->removed || e->due != 0)
			continue;
		t = e->at ? e->at_time : e->ok && e->inext < e->nnext ?
		    e->next[e->inext] : INT64_MAX;
		if (t < at)
			at = t;
	}
	if (w->timer != NULL)
		loop_timer_cancel(w->c.loop, w->timer);
	w->timer = loop_timer_at(w->c.loop, loop_now() + (at > now ?
	    (at - now) * 1000 : 0), on_timer, w);
}

void
wsched_tick(struct wsched *w)
{
	struct sent *e;
	int64_t t;
	size_t i;

	for (i = w->n; i > 0; i--) {
		if (i - 1 >= w->n || !slot_free(w))
			continue;
		e = w->v[i - 1];
		if (e->removed)
			continue;
		if (e->due != 0) {
			t = e->due;
			e->due = 0;
			if (e->at)
				fire_at(e);
			else
				fire(e, t);
		} else if (e->pending != 0 && !job_running(e)) {
			t = e->pending;
			e->pending = 0;
			launch(e, t);
		}
	}
	flush(w);
}

size_t
wsched_rejected(const struct wsched *w)
{
	return w != NULL ? w->rejected : 0;
}

bool
wsched_busy(const struct wsched *w)
{
	int64_t now = now_s();
	size_t i;

	if (w == NULL)
		return false;
	if (w->helpers > 0)
		return true;
	for (i = 0; i < w->n; i++)
		if (w->v[i]->hwait && !w->v[i]->removed)
			return true;
	for (i = 0; i < w->n; i++)
		if (!w->v[i]->removed && (w->v[i]->due != 0 ||
		    w->v[i]->pending != 0 || (w->v[i]->at &&
		    w->v[i]->at_time <= now)))
			return true;
	return false;
}

/* ---- status --schedules ------------------------------------------------------ */

/* sched/UID.list for each owner: one line a schedule, tab-separated:
 * NAME DAG NEXT EXPR ZONE OVERLAP LAST JOB STATE (times in seconds). */
static void
write_list(struct wsched *w, uid_t uid, gid_t gid)
{
	struct strbuf b = STRBUF_INIT;
	struct sent *e;
	char *p, *cause = NULL, state[48];
	int64_t next;
	size_t i;

	for (i = 0; i < w->n; i++) {
		e = w->v[i];
		if (e->removed || e->uid != uid)
			continue;
		next = e->at ? e->at_time : e->ok && e->inext < e->nnext ?
		    e->next[e->inext] : 0;
		if (e->due != 0)
			snprintf(state, sizeof state, "waiting:%lld",
			    (long long)e->due);
		else if (e->pending != 0)
			snprintf(state, sizeof state, "queued:%lld",
			    (long long)e->pending);
		else
			snprintf(state, sizeof state, "%s", e->at || e->ok ?
			    "ok" : e->hpid > 0 || e->hwait ? "reading" :
			    "error");
		strbuf_str(&b, e->name);
		strbuf_lit(&b, "\t");
		strbuf_str(&b, e->dag != NULL ? e->dag : "-");
		strbuf_lit(&b, "\t");
		strbuf_int(&b, next);
		strbuf_lit(&b, "\t");
		strbuf_str(&b, e->at ? "at" : e->expr != NULL ? e->expr : "-");
		strbuf_lit(&b, "\t");
		strbuf_str(&b, e->zone != NULL && *e->zone ? e->zone : "-");
		strbuf_lit(&b, "\t");
		strbuf_str(&b, e->at ? "-" : overlap_words[e->overlap]);
		strbuf_lit(&b, "\t");
		strbuf_int(&b, e->last);
		strbuf_lit(&b, "\t");
		strbuf_str(&b, e->job != NULL ? e->job : "-");
		strbuf_lit(&b, "\t");
		strbuf_str(&b, state);
		strbuf_lit(&b, "\n");
	}
	p = xasprintf("%s/sched/%ld.list", spool_path(w->c.sp), (long)uid);
	if (b.len == 0)
		(void)unlink(p);
	else if (fs_write_atomic_owned(p, b.s, b.len, 0600, uid, gid,
	    &cause) != 0) {
		log_event(LOG_WARN, NULL, NULL, "schedule", "%s", cause);
		free(cause);
	}
	free(p);
	free(b.s);
}

static void
flush(struct wsched *w)
{
	uid_t *now = NULL;
	size_t n = 0, i, k;

	if (!w->lists_dirty)
		return;
	w->lists_dirty = false;
	for (i = 0; i < w->n; i++) {
		if (w->v[i]->removed)
			continue;
		for (k = 0; k < n && now[k] != w->v[i]->uid; k++)
			;
		if (k == n) {
			now = xreallocarray(now, n + 1, sizeof *now);
			now[n++] = w->v[i]->uid;
			write_list(w, w->v[i]->uid, w->v[i]->gid);
		}
	}
	/* owners without a schedule any more */
	for (i = 0; i < w->nlisted; i++) {
		for (k = 0; k < n && now[k] != w->listed[i]; k++)
			;
		if (k == n)
			write_list(w, w->listed[i], 0);
	}
	free(w->listed);
	w->listed = now;
	w->nlisted = n;
}

/* ---- start-up ---------------------------------------------------------------- */

static void
soon_cb(struct loop *l, void *arg)
{
	struct wsched *w = arg;

	(void)l;
	w->soon = NULL;
	wsched_scan(w);
}

static void
on_inotify(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct wsched *w = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	(void)events;
	while (read(fd, buf, sizeof buf) > 0)
		;
	if (w->soon == NULL)
		w->soon = loop_timer_at(l, loop_now(), soon_cb, w);
}

/* What a firing cut short before its rename left (sched/.fire-*), and
 * what root kept of schedules that are gone (NAME.yaml, NAME.last, and
 * the lists, written again). */
static void
clean(struct wsched *w)
{
	char **names, *p, *base;
	size_t n, i, len;

	names = spool_list_all(w->c.sp, "sched", &n);
	for (i = 0; i < n; i++) {
		p = xasprintf("%s/sched/%s", spool_path(w->c.sp), names[i]);
		len = strlen(names[i]);
		base = NULL;
		if (len > 5 && strcmp(names[i] + len - 5, ".last") == 0)
			base = xstrndup(names[i], len - 5);
		if (strncmp(names[i], ".fire-", 6) == 0) {
			log_event(LOG_INFO, NULL, NULL, "cleanup", "removed "
			    "'sched/%s': a firing cut short (it is made "
			    "again)", names[i]);
			(void)fs_remove_tree(p, NULL);
		} else if (len > 5 && strcmp(names[i] + len - 5, ".list") == 0) {
			(void)unlink(p);
		} else if (sent_find(w, base != NULL ? base : names[i]) ==
		    NULL && names[i][0] != '.')
			(void)unlink(p);
		free(base);
		free(p);
		free(names[i]);
	}
	free(names);
	w->lists_dirty = true;
}

int
wsched_start(struct wsched *w, char **cause)
{
	char *dir = xasprintf("%s/schedules", spool_path(w->c.sp));

	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ifd < 0 || inotify_add_watch(w->ifd, dir, IN_CLOSE_WRITE |
	    IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB |
	    IN_ONLYDIR | IN_DELETE_SELF | IN_MOVE_SELF) < 0 ||
	    loop_add_fd(w->c.loop, w->ifd, EPOLLIN, on_inotify, w) != 0) {
		*cause = xasprintf("cannot watch '%s': %s", dir,
		    strerror(errno));
		free(dir);
		if (w->ifd >= 0)
			close(w->ifd);
		w->ifd = -1;
		return -1;
	}
	free(dir);
	/* the table first: what it holds is not cleaned away */
	wsched_scan(w);
	clean(w);
	flush(w);
	return 0;
}
