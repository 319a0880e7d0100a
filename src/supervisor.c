/*
 * A job's supervisor: everything of one job, as its owner.
 *
 * The daemon forks it with every id dropped to the owner's and execs
 * `dagexec supervise`; it reads the dropped file (SUPERVISOR_FILE_FD), asks
 * the daemon for a job id ("name NAME" -> "id JOB"), fills the empty
 * active/JOB/ the daemon made for it, runs the job, packs the bundle
 * beside it and hands it over as an open descriptor ("done STATUS" + fd ->
 * "ok"). Messages on the control channel (ctl.h):
 *
 *   to the daemon                     from the daemon
 *   name NAME | reject TEXT           id JOB | cap N (0: no cap)
 *   running (the manifest is synced)  grant N (one comes unasked
 *                                     after the id, for the first node)
 *   hello JOB HELD + the lock's fd    cancel [now] | stop | stop remote
 *   want 1 | ret N                    ok | fail WHY (the bundle)
 *   done STATUS + the bundle's fd
 *
 * When the daemon goes away the job goes on: nodes that run keep running,
 * and new ones start only within the slots held (all of them when the
 * daemon caps nothing). The supervisor reconnects to SPOOL/ctl every
 * RECONNECT_MS and proves which job it runs by the lock's descriptor.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "cgroup.h"
#include "ctl.h"
#include "diag.h"
#include "fsutil.h"
#include "history.h"
#include "job.h"
#include "log.h"
#include "loop.h"
#include "manifest.h"
#include "rerun.h"
#include "retryreq.h"
#include "spool.h"
#include "supervisor.h"
#include "worker.h"
#include "xmalloc.h"

#define RECONNECT_MS	500	/* without a daemon: try SPOOL/ctl again */
#define NAME_WAIT_MS	60000	/* for the daemon's answer to "name" */
#define PACK_RETRY_S	10	/* a bundle that could not be written */

struct sup {
	const struct supervisor_args *a;
	struct loop	*loop;
	int		 ctl;		/* -1: no daemon */
	char		*job;
	char		*dir;		/* active/JOB */
	char		*userdir;	/* users/UID */
	struct job	*j;
	const struct manifest *m;	/* the job's */
	struct rerun	*rr;		/* a retry's, until its job is made */
	int		 running;	/* the job's nodes running */
	int		 yield_owed;	/* slots the daemon asked back */
	bool		 capped;	/* the daemon hands out node slots */
	int		 held;		/* slots the daemon granted us */
	bool		 asked;		/* a "want" is outstanding */
	bool		 over;		/* the job ended */
	enum dag_status	 status;
	struct worker	*packer;	/* the manifest's sync, the bundle */
	char		*man_path;	/* manifest.yaml, being written */
	char		*man_text;	/* its bytes, until written */
	size_t		 man_len;
	char		*man_cause;	/* why it could not be, or NULL */
	bool		 packing;
	bool		 packed;	/* the bundle is written */
	int		 pack_rc;
	char		*pack_cause;
	char		*bundle;	/* active/JOB/.bundle.tar.gz */
	bool		 collected;	/* the daemon has the bundle */
	bool		 told_open;	/* "cannot open" the bundle was said */
	bool		 rejoining;	/* reconnected, not yet taken back */
	struct loop_timer *reconnect;
	struct loop_timer *retry;
	int		 exit;
	struct cgroup_job *cg;		/* JOB/ when the daemon put us in
					   JOB/supervisor, else NULL */
};

static void	sup_slots(struct job *, void *);
static void	sup_connected(struct sup *);

static void
sup_quit(struct sup *s, int status)
{
	s->exit = status;
	loop_break(s->loop);
}

/* ---- the control channel ----------------------------------------------- */

static void	on_ctl(struct loop *, int, uint32_t, void *);

static void
reconnect_cb(struct loop *l, void *arg)
{
	struct sup *s = arg;
	char *path, *cause = NULL;
	int fd;

	(void)l;
	s->reconnect = NULL;
	path = xasprintf("%s/ctl", s->a->spool);
	fd = ctl_connect(path, &cause);
	free(path);
	free(cause);
	if (fd >= 0 && (ctl_send(fd, SUPERVISOR_LOCK_FD, "hello %s %d",
	    s->job, s->held > s->running ? s->held : s->running) != 0 ||
	    loop_add_fd(s->loop, fd, EPOLLIN, on_ctl, s) != 0)) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		s->reconnect = loop_timer_at(s->loop, loop_now() +
		    RECONNECT_MS, reconnect_cb, s);
		return;
	}
	s->ctl = fd;
	/* what we use is what we hold: the daemon counts it */
	if (s->held < s->running)
		s->held = s->running;
	s->rejoining = true;
	sup_connected(s);
}

/* The daemon is gone: go on alone, and look for the next one. */
static void
ctl_lost(struct sup *s)
{
	if (s->ctl < 0)
		return;
	(void)loop_close_fd(s->loop, s->ctl);
	s->ctl = -1;
	s->asked = false;
	s->yield_owed = 0;
	if (s->job == NULL) {
		/* nothing started yet: the next daemon claims the file
		 * again */
		sup_quit(s, 0);
		return;
	}
	if (!s->rejoining)
		log_event(LOG_INFO, s->job, NULL, "supervisor", "the daemon is "
		    "gone: the job goes on");
	if (s->reconnect == NULL)
		s->reconnect = loop_timer_at(s->loop, loop_now() +
		    RECONNECT_MS, reconnect_cb, s);
}

static void
sup_send(struct sup *s, int fd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
sup_send(struct sup *s, int fd, const char *fmt, ...)
{
	va_list ap;
	char *text;

	if (s->ctl < 0)
		return;
	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	if (ctl_send(s->ctl, fd, "%s", text) != 0)
		ctl_lost(s);
	free(text);
}

static void
send_done(struct sup *s)
{
	int fd;

	if (s->ctl < 0 || !s->packed || s->collected)
		return;
	fd = open(s->bundle, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		/* said once: it is tried again at every reconnection */
		if (!s->told_open)
			log_event(LOG_ERROR, s->job, NULL, "bundle", "cannot "
			    "open '%s': %s", s->bundle, strerror(errno));
		s->told_open = true;
		return;
	}
	sup_send(s, fd, "done %s", dag_status_name(s->status));
	close(fd);
}

/* Connected (first time or again): catch up on what the daemon must
 * know. */
static void
sup_connected(struct sup *s)
{
	send_done(s);
}

/* Remove what is in the job directory (the directory itself is in
 * root's active/: the daemon removes it once we are gone). */
static void
empty_jobdir(struct sup *s)
{
	struct dirent *e;
	char *p, *cause = NULL;
	DIR *d;

	if ((d = opendir(s->dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", s->dir, e->d_name);
		if (fs_remove_tree(p, &cause) != 0) {
			log_event(LOG_ERROR, s->job, NULL, "cleanup", "%s",
			    cause);
			free(cause);
			cause = NULL;
		}
		free(p);
	}
	closedir(d);
}

/* users/UID/history/NAME: the durations this user's jobs of the DAG
 * taught, in the format and under the name `run` uses */
static char *
sup_history_path(struct sup *s)
{
	char *dir = xasprintf("%s/history", s->userdir), *p;

	(void)mkdir(dir, 0700);
	p = history_file(dir, s->m->name);
	free(dir);
	return p;
}

static void
collected(struct sup *s)
{
	char *path, *cause = NULL;

	s->collected = true;
	path = sup_history_path(s);
	if (history_update(path, s->m, job_sched(s->j), &cause) != 0) {
		log_event(LOG_WARN, s->job, NULL, "history", "%s", cause);
		free(cause);
	}
	free(path);
	/* the job directory is emptied once the job is freed (its state
	 * writer may still be at work) */
	sup_quit(s, 0);
}

static void
resend_cb(struct loop *l, void *arg)
{
	struct sup *s = arg;

	(void)l;
	s->retry = NULL;
	send_done(s);
}

static void
on_message(struct sup *s, const char *msg, int fd)
{
	const char *rest;
	long n;

	if (ctl_is(msg, "cap", &rest)) {
		/* the daemon's first answer: it took us back */
		if (s->rejoining)
			log_event(LOG_INFO, s->job, NULL, "supervisor",
			    "reconnected to the daemon");
		s->rejoining = false;
		n = strtol(rest, NULL, 10);
		s->capped = n > 0;
		if (s->j != NULL)
			sup_slots(s->j, s);
	} else if (ctl_is(msg, "grant", &rest)) {
		n = strtol(rest, NULL, 10);
		if (n > 0 && n < INT_MAX - s->held)
			s->held += (int)n;
		s->asked = false;
		if (s->j != NULL)
			sup_slots(s->j, s);
	} else if (ctl_is(msg, "yield", &rest)) {
		n = strtol(rest, NULL, 10);
		if (n > 0 && n < INT_MAX - s->yield_owed)
			s->yield_owed += (int)n;
		if (s->j != NULL)
			sup_slots(s->j, s);
	} else if (ctl_is(msg, "cancel", &rest)) {
		/* "cancel": when: always nodes still run; "cancel now" */
		if (s->j != NULL && !s->over)
			job_cancel(s->j, ctl_is(rest, "now", NULL));
	} else if (ctl_is(msg, "stop", &rest)) {
		if (s->j != NULL && ctl_is(rest, "remote", NULL))
			job_set_cancel_remote(s->j, true);
		if (s->j != NULL && !s->over)
			job_stop(s->j, DS_INTERRUPTED);
		else if (s->j == NULL || !s->packed)
			sup_quit(s, 75);
	} else if (ctl_is(msg, "ok", NULL)) {
		if (s->packed && !s->collected)
			collected(s);
	} else if (ctl_is(msg, "fail", &rest)) {
		log_event(LOG_ERROR, s->job, NULL, "bundle", "the daemon could "
		    "not take the bundle: %s; trying again in %d s", rest,
		    PACK_RETRY_S);
		if (s->retry == NULL)
			s->retry = loop_timer_at(s->loop, loop_now() +
			    PACK_RETRY_S * 1000, resend_cb, s);
	}
	if (fd >= 0)
		close(fd);
}

static bool
ctl_message(void *arg, int fd, const char *msg, int got)
{
	struct sup *s = arg;

	on_message(s, msg, got);
	return s->ctl == fd;
}

static void
on_ctl(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct sup *s = arg;

	(void)l;
	(void)events;
	if (ctl_each(fd, ctl_message, s) == 1 && s->ctl == fd)
		ctl_lost(s);
}

/* ---- slots --------------------------------------------------------------- */

/*
 * With a capped daemon every node start takes a slot it granted. A slot
 * freed by a node's end is used again while the job has a node to start
 * (a round trip through the daemon at every node would cost as much as a
 * short node), and given back when the job has none, or when the daemon
 * asks for it ("yield") because another job waits. One more is asked for
 * while the job has a node to start and no slot. Without a daemon the
 * slots held are used again, and none is asked for.
 */
static void
sup_slots(struct job *j, void *arg)
{
	struct sup *s = arg;
	int avail, n;

	if (!s->capped) {
		(void)job_dispatch(j, INT_MAX);
		return;
	}
	avail = s->held - s->running;
	if (s->ctl >= 0 && s->yield_owed > 0 && avail > 0) {
		n = s->yield_owed < avail ? s->yield_owed : avail;
		s->held -= n;
		s->yield_owed -= n;
		avail -= n;
		sup_send(s, -1, "ret %d", n);
	}
	if (avail > 0)
		(void)job_dispatch(j, avail);
	avail = s->held - s->running;
	if (s->ctl < 0)
		return;
	if (avail > 0 && !job_wants_slot(j)) {
		s->held -= avail;
		sup_send(s, -1, "ret %d", avail);
	} else if (avail <= 0 && !s->asked && !s->over && job_wants_slot(j)) {
		s->asked = true;
		sup_send(s, -1, "want 1");
	}
}

/* ---- the end: pack, hand over ------------------------------------------- */

static void	pack_begin(struct sup *);

static void
pack_work(void *arg)
{
	struct sup *s = arg;
	struct bundle_owner me;

	/* of what the nodes left, only plain files of ours, one link each */
	me.uid = geteuid();
	me.gid = getegid();
	free(s->pack_cause);
	s->pack_cause = NULL;
	s->pack_rc = bundle_write(s->bundle, BUNDLE_TGZ, s->job, s->dir, &me,
	    &s->pack_cause);
}

static void
pack_retry_cb(struct loop *l, void *arg)
{
	struct sup *s = arg;

	(void)l;
	s->retry = NULL;
	pack_begin(s);
}

static void
pack_later(struct sup *s)
{
	if (s->retry == NULL)
		s->retry = loop_timer_at(s->loop, loop_now() +
		    PACK_RETRY_S * 1000, pack_retry_cb, s);
}

static void
pack_done(void *arg)
{
	struct sup *s = arg;

	s->packing = false;
	if (s->pack_rc != 0) {
		log_event(LOG_ERROR, s->job, NULL, "bundle", "%s: trying again "
		    "in %d s", s->pack_cause, PACK_RETRY_S);
		pack_later(s);
		return;
	}
	s->packed = true;
	send_done(s);
}

/* Write what is missing of the job's end (a full disk), then pack it off
 * the loop. */
static void
pack_begin(struct sup *s)
{
	if (job_end_retry(s->j) != 0) {
		log_event(LOG_ERROR, s->job, NULL, "finish", "the job's final "
		    "files cannot be written: trying again in %d s",
		    PACK_RETRY_S);
		pack_later(s);
		return;
	}
	if (s->packer == NULL)
		s->packer = worker_new(s->loop);
	if (s->bundle == NULL)
		s->bundle = xasprintf("%s/.bundle%s", s->dir,
		    bundle_ext(BUNDLE_TGZ));
	s->packing = true;
	worker_run(s->packer, pack_work, pack_done, s);
}

static void
on_finish(struct job *j, void *arg)
{
	struct sup *s = arg;

	s->over = true;
	s->status = job_status(j);
	if (s->status == DS_INTERRUPTED) {
		log_event(LOG_INFO, s->job, NULL, "interrupted", "kept in "
		    "active/ to resume");
		sup_quit(s, 75);
		return;
	}
	if (s->held > 0 && s->ctl >= 0) {
		sup_send(s, -1, "ret %d", s->held);
		s->held = 0;
	}
	s->yield_owed = 0;
	pack_begin(s);
}

/* ---- taking the dropped file in ----------------------------------------- */

/* Wait for the daemon's answer to "name": the job id. */
static char *
wait_for_id(struct sup *s, char **cause)
{
	struct pollfd pfd;
	char *buf = xmalloc(CTL_MAX + 1), *id = NULL;
	const char *rest;
	int64_t until = loop_now() + NAME_WAIT_MS;
	ssize_t n;
	int got;

	pfd.fd = s->ctl;
	pfd.events = POLLIN;
	while (id == NULL) {
		n = ctl_recv(s->ctl, buf, &got);
		if (n < 0 && errno == EAGAIN) {
			if (loop_now() >= until || poll(&pfd, 1, (int)(until -
			    loop_now())) < 0) {
				*cause = xstrdup("the daemon did not answer");
				break;
			}
			continue;
		}
		if (got >= 0)
			close(got);
		if (n <= 0) {
			*cause = xstrdup("the daemon went away");
			break;
		}
		if (ctl_is(buf, "id", &rest))
			id = xstrdup(rest);
		else if (ctl_is(buf, "fail", &rest)) {
			*cause = xstrdup(rest);
			break;
		} else if (ctl_is(buf, "cap", &rest))
			s->capped = strtol(rest, NULL, 10) > 0;
	}
	free(buf);
	return id;
}

/* The slot a capped daemon offers with the id comes in a message right
 * after it: taken before the job is made, so that its first node starts
 * in job_start, not a loop turn later. Only "grant" and "cap" are taken
 * here (looked at first with MSG_PEEK); any other message waits for the
 * loop. */
static void
take_first_grant(struct sup *s)
{
	char peek[16], *buf;
	ssize_t n;
	int got;

	if (s->ctl < 0)
		return;
	buf = xmalloc(CTL_MAX + 1);
	for (;;) {
		n = recv(s->ctl, peek, sizeof peek - 1, MSG_PEEK | MSG_DONTWAIT);
		if (n <= 0)
			break;
		peek[n] = '\0';
		if (!ctl_is(peek, "grant", NULL) && !ctl_is(peek, "cap", NULL))
			break;
		if ((n = ctl_recv(s->ctl, buf, &got)) <= 0) {
			if (got >= 0)
				close(got);
			break;
		}
		on_message(s, buf, got);
	}
	free(buf);
}

/* In a message about a file read through /proc/self/fd/N (src), say the
 * file's name (shown) instead of the descriptor's. */
static void
said_as(char **cause, const char *src, const char *shown)
{
	char *p, *text;

	if (*cause == NULL || (p = strstr(*cause, src)) == NULL)
		return;
	text = xasprintf("%.*s%s%s", (int)(p - *cause), *cause, shown,
	    p + strlen(src));
	free(*cause);
	*cause = text;
}

/* Unpack the dropped archive into a new directory of users/UID/tmp/ and
 * read its dag.yaml. */
static int
unpack_drop(struct sup *s, char **work, char **buf, size_t *len,
    char **cause)
{
	char *tmp = xasprintf("%s/tmp", s->userdir), *src, *man;
	int fd, rc = -1;

	(void)mkdir(tmp, 0700);
	*work = xasprintf("%s/unpack-XXXXXX", tmp);
	free(tmp);
	if (mkdtemp(*work) == NULL) {
		*cause = xasprintf("cannot create '%s': %s", *work,
		    strerror(errno));
		free(*work);
		*work = NULL;
		return -1;
	}
	src = xasprintf("/proc/self/fd/%d", s->a->file_fd);
	rc = bundle_unpack(src, *work, SPOOL_MAX_UNPACKED, 0, 0, 0, cause);
	if (rc != 0)
		said_as(cause, src, s->a->file);
	free(src);
	if (rc != 0)
		return -1;
	man = xasprintf("%s/dag.yaml", *work);
	fd = open(man, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	free(man);
	if (fd < 0) {
		*cause = errno == ENOENT ? xstrdup("the bundle has no dag.yaml "
		    "at its root") : xasprintf("cannot open dag.yaml: %s",
		    strerror(errno));
		return -1;
	}
	rc = fs_read_fd(fd, "dag.yaml", MANIFEST_MAX_BYTES, buf, len, cause);
	close(fd);
	return rc;
}

/* Refuse the dropped file: the daemon moves it to rejected/ with text. */
static void
refuse(struct sup *s, const char *text)
{
	char *t = xstrdup(text);

	if (strlen(t) > CTL_MAX - 16)
		strcpy(t + CTL_MAX - 32, "\n... (cut)\n");
	if (s->ctl >= 0 && ctl_send(s->ctl, -1, "reject %s", t) != 0)
		log_event(LOG_ERROR, NULL, NULL, "reject", "cannot tell the "
		    "daemon: %s", strerror(errno));
	free(t);
}

/* Ask the daemon for the job's id ("name NAME"), unless it has one (a
 * resume taking its file in again): s->job and s->dir. 0, or -1
 * (logged). */
static int
ask_id(struct sup *s, const char *name)
{
	char *cause = NULL;

	if (s->job != NULL)
		return 0;
	if (ctl_send(s->ctl, -1, "name %s", name) == 0) {
		/* while the daemon makes the job's directory: the cgroup
		 * the spawner started us in (JOB/supervisor), when it did */
		if (s->cg == NULL)
			s->cg = cgroup_job_self();
		s->job = wait_for_id(s, &cause);
	}
	if (s->job == NULL) {
		log_event(LOG_ERROR, NULL, NULL, "claim", "file=%s: %s",
		    s->a->file, cause != NULL ? cause : strerror(errno));
		free(cause);
		return -1;
	}
	s->dir = xasprintf("%s/active/%s", s->a->spool, s->job);
	return 0;
}

/*
 * A retry request (retryreq.h). The earlier job is a finished job of the
 * owner's, its bundle in done/ read as the owner (another user's is
 * refused), and the new job is made from it as `dagexec retry` makes it
 * (rerun.c): the earlier manifest, and s->rr to preset the reused nodes
 * once the job exists. Returns as take_in; msg is what a refusal says.
 */
static int
retry_request(struct sup *s, struct manifest **m, char **text, size_t *len,
    char **msg)
{
	const char *file = s->a->file, *t;
	struct retryreq rq;
	struct diags d;
	char *buf = NULL, *cause = NULL, *src = NULL, *shown = NULL;
	char *tmp = NULL, *name = NULL;
	size_t blen, bad;
	long nrun;
	int fd = -1, rc = 1;

	diags_init(&d);
	memset(&rq, 0, sizeof rq);
	if (fs_read_fd(s->a->file_fd, file, SPOOL_MAX_RETRY, &buf, &blen,
	    &cause) != 0) {
		diags_add(&d, 0, 0, "%s", cause);
		goto refused;
	}
	if (retryreq_parse(buf, blen, &rq, &d) != 0)
		goto refused;
	if ((fd = retryreq_open_done(s->a->spool, rq.job, getuid(),
	    &cause)) < 0) {
		diags_add(&d, rq.job_line, 1, "%s", cause);
		goto refused;
	}
	src = xasprintf("/proc/self/fd/%d", fd);
	shown = xasprintf("done/%s.tar.gz", rq.job);
	tmp = xasprintf("%s/tmp", s->userdir);
	(void)mkdir(tmp, 0700);
	if (rerun_open(src, tmp, NULL, false, &s->rr, &d, &name,
	    &cause) != 0) {
		if (d.n > 0) {
			/* the earlier job's own manifest, as validate says */
			*msg = diags_text(name, &d);
			goto out;
		}
		said_as(&cause, src, shown);
		diags_add(&d, rq.job_line, 1, "%s", cause);
		goto refused;
	}
	if ((nrun = rerun_plan(s->rr, rq.from, rq.nfrom, &bad, &cause)) < 0) {
		diags_add(&d, rq.from_line[bad], 1, "job '%s' has no node "
		    "'%s'", rq.job, rq.from[bad]);
		goto refused;
	}
	*m = rerun_take_manifest(s->rr);
	t = rerun_text(s->rr, len);
	*text = xmalloc(*len + 1);
	memcpy(*text, t, *len);
	(*text)[*len] = '\0';
	if (ask_id(s, (*m)->name) != 0) {
		manifest_free(*m);
		*m = NULL;
		free(*text);
		*text = NULL;
		rc = -1;
		goto out;
	}
	log_event(LOG_INFO, s->job, NULL, "retry", "of %s: %zu node(s) "
	    "reused, %ld to run", rq.job, (*m)->nnodes - (size_t)nrun, nrun);
	rc = 0;
	goto out;
refused:
	*msg = diags_text(file, &d);
out:
	if (rc != 0) {
		rerun_free(s->rr);
		s->rr = NULL;
	}
	retryreq_release(&rq);
	if (fd >= 0)
		close(fd);
	free(buf);
	free(src);
	free(shown);
	free(tmp);
	free(name);
	free(cause);
	diags_release(&d);
	return rc;
}

/*
 * Read the dropped file (or unpack it) and parse it. With a job id
 * already given (a resume that finds no manifest.yaml yet), nothing is
 * asked of the daemon. On success *m and *text (the manifest's bytes) are
 * set and the job directory holds work/ for a bundle. 1: refused (the
 * daemon was told), -1: could not be done.
 */
static int
take_in(struct sup *s, struct manifest **m, char **text, size_t *len)
{
	struct diags d;
	char *cause = NULL, *work = NULL, *shown, *msg, *wdir;
	int rc;

	*text = NULL;
	if (s->a->retry) {
		msg = NULL;
		if ((rc = retry_request(s, m, text, len, &msg)) == 1) {
			refuse(s, msg);
			free(msg);
		}
		return rc;
	}
	diags_init(&d);
	if (s->a->bundle) {
		rc = unpack_drop(s, &work, text, len, &cause);
		shown = xasprintf("%s/dag.yaml", s->a->file);
	} else {
		rc = fs_read_fd(s->a->file_fd, s->a->file, MANIFEST_MAX_BYTES,
		    text, len, &cause);
		shown = xstrdup(s->a->file);
	}
	if (rc != 0) {
		msg = xasprintf("%s: error: %s\n", s->a->file, cause);
		goto refused;
	}
	if (manifest_parse(shown, *text, *len, m, &d) != 0) {
		msg = diags_text(shown, &d);
		goto refused;
	}
	if (ask_id(s, (*m)->name) != 0)
		goto fail;
	if (work != NULL) {
		wdir = xasprintf("%s/work", s->dir);
		(void)fs_remove_tree(wdir, NULL);
		if (rename(work, wdir) != 0) {
			log_event(LOG_ERROR, s->job, NULL, "claim", "cannot "
			    "move '%s' to '%s': %s", work, wdir,
			    strerror(errno));
			free(wdir);
			goto fail;
		}
		free(wdir);
	}
	free(work);
	free(shown);
	diags_release(&d);
	return 0;

refused:
	refuse(s, msg);
	free(msg);
	rc = 1;
	goto out;
fail:
	rc = -1;
out:
	manifest_free(*m);
	*m = NULL;
	free(*text);
	*text = NULL;
	if (work != NULL)
		(void)fs_remove_tree(work, NULL);
	free(work);
	free(shown);
	free(cause);
	diags_release(&d);
	return rc;
}

/* ---- the job ------------------------------------------------------------- */

static void
on_signal(struct loop *l, int signo, void *arg)
{
	struct sup *s = arg;

	(void)l;
	log_event(LOG_INFO, s->job, NULL, "stop", "signal %d: ending running "
	    "nodes; the job resumes at the daemon's next start", signo);
	if (s->j != NULL && !s->over)
		job_stop(s->j, DS_INTERRUPTED);
	else
		sup_quit(s, 75);
}

/* The job's manifest.yaml is written and synced on the worker's thread
 * once the first nodes have started (the loop goes on granting and
 * starting nodes); then the daemon may let the dropped copy go. When it
 * cannot be written, the copy stays: a resume that finds no manifest.yaml,
 * or a torn one, takes the job in again from it. */
static void
man_write_work(void *arg)
{
	struct sup *s = arg;

	(void)fs_write_atomic(s->man_path, s->man_text, s->man_len, 0600,
	    &s->man_cause);
}

static void
man_write_done(void *arg)
{
	struct sup *s = arg;

	free(s->man_text);
	s->man_text = NULL;
	if (s->man_cause != NULL)
		log_event(LOG_WARN, s->job, NULL, "start", "%s (the dropped "
		    "file is kept)", s->man_cause);
	else
		sup_send(s, -1, "running");
}

/* Take text (the manifest's bytes) to write it as manifest.yaml. */
static void
manifest_write_begin(struct sup *s, char *text, size_t len)
{
	if (s->packer == NULL)
		s->packer = worker_new(s->loop);
	s->man_path = xasprintf("%s/manifest.yaml", s->dir);
	s->man_text = text;
	s->man_len = len;
	worker_run(s->packer, man_write_work, man_write_done, s);
}

static int
start_job(struct sup *s, struct manifest *m, char *text, size_t len)
{
	struct job_config jc;
	struct stat st;
	char *ev = xasprintf("%s/events.log", s->dir), *cause = NULL, *hist;
	char *cache, *done, when[32];
	int64_t *est;

	memset(&jc, 0, sizeof jc);
	/* a resumed job's (a new one's was looked up in ask_id) */
	if (s->cg == NULL)
		s->cg = cgroup_job_self();
	jc.cgroup = s->cg;
	jc.id = s->job;
	jc.dir = s->dir;
	/* a manifest is written once the first nodes have started (below);
	 * until the daemon hears "running", the dropped copy in claims/ is
	 * kept. A bundle's is written and synced here, before them: taking
	 * a bundle in again would unpack it over work/ */
	if (s->a->bundle) {
		jc.manifest_text = text;
		jc.manifest_len = len;
	}
	jc.clean_env = true;
	jc.spooled = true;
	jc.progress = PROGRESS_LINES;
	jc.on_finish = on_finish;
	jc.arg = s;
	jc.slots = &s->running;
	jc.on_slots = sup_slots;
	jc.cancel_remote = s->a->cancel_remote;
	/* a new job's directory has no journal yet; one taken in again
	 * from the dropped file (its manifest.yaml torn) resumes its own */
	jc.resume_log = stat(ev, &st) == 0 ? ev : NULL;
	jc.lost = s->a->lost && jc.resume_log != NULL;
	if (s->a->scheduled > 0) {
		time_t tt = (time_t)s->a->scheduled;
		struct tm tm;

		gmtime_r(&tt, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		jc.scheduled_at = when;
	}
	est = xcalloc(m->nnodes, sizeof *est);
	s->m = m;
	hist = xasprintf("%s/history", s->userdir);
	if (history_load_dir(hist, m, est, &cause) != 0) {
		log_event(LOG_WARN, s->job, NULL, "history", "%s", cause);
		free(cause);
		cause = NULL;
	}
	free(hist);
	jc.estimates = est;
	/* cache: the user's own store, users/UID/cache/ */
	cache = xasprintf("%s/cache", s->userdir);
	jc.cache_dir = cache;
	jc.cache_skip = s->rr != NULL ? rerun_cache_skip(s->rr) : NULL;
	/* where the daemon puts the bundle, for report.html */
	done = xasprintf("%s/done/%s%s", s->a->spool, s->job,
	    bundle_ext(BUNDLE_TGZ));
	jc.bundle = done;
	jc.spool = s->a->spool;
	take_first_grant(s);
	s->j = job_new(s->loop, m, &jc, &cause);
	free(done);
	free(cache);
	free(est);
	free(ev);
	if (s->j == NULL) {
		s->m = NULL;
		log_event(LOG_ERROR, s->job, NULL, "start", "%s", cause);
		free(cause);
		free(text);
		return -1;
	}
	/* a retry: the reused nodes end before anything starts (in the
	 * journal, so that a resume does not run them); one that cannot be
	 * reused is left to run, as is all that depends on it */
	if (s->rr != NULL && rerun_preset(s->rr, s->j, &cause) != 0) {
		log_event(LOG_WARN, s->job, NULL, "retry", "%s: it and what "
		    "follows run again", cause);
		free(cause);
		cause = NULL;
	}
	rerun_free(s->rr);
	s->rr = NULL;
	if (job_start(s->j, &cause) != 0) {
		log_event(LOG_ERROR, s->job, NULL, "start", "%s", cause);
		free(cause);
	}
	if (text != NULL && !s->a->bundle)
		manifest_write_begin(s, text, len);
	else {
		/* a bundle's manifest.yaml was written and synced by job_new */
		if (text != NULL)
			sup_send(s, -1, "running");
		free(text);
	}
	sup_slots(s->j, s);
	return 0;
}

/* The job: a new one from the dropped file, or one in active/ resumed. */
static int
sup_prepare(struct sup *s)
{
	struct manifest *m = NULL;
	struct diags d;
	struct stat st;
	char *text = NULL, *man, *cause = NULL;
	size_t len = 0;
	int rc;

	if (s->job != NULL) {
		s->dir = xasprintf("%s/active/%s", s->a->spool, s->job);
		man = xasprintf("%s/manifest.yaml", s->dir);
		if (stat(man, &st) == 0) {
			diags_init(&d);
			rc = manifest_load(man, &m, &d, &cause);
			diags_release(&d);
			free(man);
			if (rc == 0) {
				log_event(LOG_INFO, s->job, NULL, "resume",
				    "%s", s->a->lost ? "to end it: lost" :
				    "from its journal");
				return start_job(s, m, NULL, 0);
			}
			/* torn (by an older version, which wrote it without
			 * a sync): the dropped file is still there then */
			log_event(s->a->file_fd < 0 ? LOG_ERROR : LOG_WARN,
			    s->job, NULL, "resume", "%s: %s", s->a->file_fd < 0 ?
			    "cannot resume" : "taken in again from the dropped "
			    "file", cause ? cause : "manifest.yaml is invalid");
			free(cause);
			if (s->a->file_fd < 0)
				return -1;
		} else {
			free(man);
			/* not written yet when the machine went down (it is
			 * written once the first nodes have started) */
			if (s->a->file_fd < 0) {
				log_event(LOG_ERROR, s->job, NULL, "resume",
				    "cannot resume: no manifest.yaml and no "
				    "dropped file");
				return -1;
			}
			log_event(LOG_WARN, s->job, NULL, "resume", "taken in "
			    "again from the dropped file: no manifest.yaml");
		}
	}
	rc = take_in(s, &m, &text, &len);
	if (rc != 0)
		return rc;
	return start_job(s, m, text, len);
}

int
supervisor_main(const struct supervisor_args *a)
{
	struct sup s;
	char *cause = NULL;

	memset(&s, 0, sizeof s);
	s.a = a;
	s.ctl = SUPERVISOR_CTL_FD;
	s.exit = 1;
	/* no node starts before the daemon has said whether it caps them
	 * (its first message) */
	s.capped = true;
	umask(077);
	/* exec'd through /proc/self/exe: named so in ps -o comm, top */
	(void)prctl(PR_SET_NAME, "dagexec", 0, 0, 0);
	(void)fcntl(SUPERVISOR_CTL_FD, F_SETFD, FD_CLOEXEC);
	(void)fcntl(SUPERVISOR_CTL_FD, F_SETFL, O_NONBLOCK);
	(void)fcntl(SUPERVISOR_LOCK_FD, F_SETFD, FD_CLOEXEC);
	if (a->file_fd >= 0)
		(void)fcntl(a->file_fd, F_SETFD, FD_CLOEXEC);
	if (a->job != NULL)
		s.job = xstrdup(a->job);
	s.userdir = xasprintf("%s/users/%ld", a->spool, (long)getuid());
	if ((s.loop = loop_new(&cause)) == NULL) {
		log_event(LOG_ERROR, s.job, NULL, "supervisor", "%s", cause);
		free(cause);
		goto out;
	}
	loop_on_signal(s.loop, SIGTERM, on_signal, &s);
	loop_on_signal(s.loop, SIGINT, on_signal, &s);
	if (loop_add_fd(s.loop, s.ctl, EPOLLIN, on_ctl, &s) != 0) {
		s.ctl = -1;
		if (s.job == NULL)
			goto out;
	}
	if (a->cleanup && s.job != NULL) {
		/* its daemon went away between taking the bundle and removing
		 * the job directory */
		s.dir = xasprintf("%s/active/%s", a->spool, s.job);
		s.collected = true;
		s.exit = 0;
		goto out;
	}
	switch (sup_prepare(&s)) {
	case 0:
		break;
	case 1:
		s.exit = 0;
		goto out;
	default:
		goto out;
	}
	if (a->file_fd >= 0)
		close(a->file_fd);
	if (loop_run(s.loop) != 0)
		log_event(LOG_ERROR, s.job, NULL, "supervisor", "event loop: "
		    "%s", strerror(errno));
out:
	worker_free(s.packer);
	free(s.man_path);
	free(s.man_text);
	free(s.man_cause);
	rerun_free(s.rr);
	if (s.j != NULL)
		job_free(s.j);
	if (s.collected)
		empty_jobdir(&s);
	cgroup_job_free(s.cg);
	if (s.reconnect != NULL)
		loop_timer_cancel(s.loop, s.reconnect);
	if (s.retry != NULL)
		loop_timer_cancel(s.loop, s.retry);
	loop_free(s.loop);
	free(s.pack_cause);
	free(s.bundle);
	free(s.userdir);
	free(s.dir);
	free(s.job);
	return s.exit;
}
