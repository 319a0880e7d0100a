/*
 * The daemon's supervisors. Each job runs in a process of its own, as its
 * owner (supervisor.c); here root starts it, talks to it, and outlives
 * nothing of it: the supervisor outlives the daemon.
 *
 * What root still does for a job: claim the file by rename into
 * claims/.claim-NAME/ (root's), take the job's lock there (an OFD lock on
 * claims/X/lock, whose open file description only the supervisor holds),
 * make the job's cgroup (claim-HEX, under cgroups) and start the
 * supervisor in it with every id the owner's (spawner.c), make the empty
 * active/JOB/ for the owner when the supervisor names the DAG, move a refused file to rejected/, hand out node slots, and copy the
 * finished bundle from the descriptor the supervisor sends into done/.
 * A later daemon finds a live supervisor by its held lock, and knows it,
 * when it reconnects to SPOOL/ctl, by the lock's descriptor it sends.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "ctl.h"
#include "fsutil.h"
#include "job.h"
#include "log.h"
#include "loop.h"
#include "spawner.h"
#include "supervisor.h"
#include "worker.h"
#include "wsup.h"
#include "wsup_int.h"
#include "xmalloc.h"

static void	wsup_spawn(struct wsup *, int, int);
static void	wsup_resume(struct wsup *);
static void	wsup_ended(struct wsup *, int);
static void	grant_round(struct wsups *);
static void	on_sock(struct loop *, int, uint32_t, void *);
static void	probe_later(struct wsups *);
static void	ask_yield(struct wsups *);
static void	send_cancel(struct wsup *);

/* ---- the table ----------------------------------------------------------- */

struct wsups *
wsups_new(const struct wsups_config *c)
{
	struct wsups *t = xcalloc(1, sizeof *t);

	t->c = *c;
	t->lfd = -1;
	return t;
}

static void
wsup_free(struct wsup *ws)
{
	struct loop *l = ws->t->c.loop;

	if (ws->sock >= 0)
		(void)loop_close_fd(l, ws->sock);
	if (ws->pidfd >= 0)
		(void)loop_close_fd(l, ws->pidfd);
	if (ws->again != NULL)
		loop_timer_cancel(l, ws->again);
	if (ws->bfd >= 0)
		close(ws->bfd);
	spool_claim_release(&ws->c);
	free(ws->claim);
	free(ws->job);
	free(ws->cgroup);
	free(ws->file);
	free(ws->bstatus);
	free(ws->copy_cause);
	free(ws);
}

void
wsups_free(struct wsups *t)
{
	if (t == NULL)
		return;
	worker_free(t->copier);
	while (t->n > 0)
		wsup_free(t->v[--t->n]);
	free(t->v);
	if (t->lfd >= 0)
		(void)loop_close_fd(t->c.loop, t->lfd);
	loop_timer_cancel(t->c.loop, t->thaw);
	loop_timer_cancel(t->c.loop, t->probe);
	wsup_record_flush(t);
	spawner_free(t->spawner);
	free(t);
}

void
wsups_outcomes(const struct wsups *t, size_t *collected, size_t *failed,
    size_t *rejected)
{
	*collected = t->ncollected;
	*failed = t->nfailed;
	*rejected = t->nrejected;
}

size_t
wsups_count(const struct wsups *t)
{
	return t->n;
}

static struct wsup *
wsup_add(struct wsups *t, const char *claim)
{
	struct wsup *ws = xcalloc(1, sizeof *ws);

	ws->t = t;
	ws->claim = xstrdup(claim);
	ws->sock = ws->pidfd = ws->bfd = -1;
	ws->c.fd = -1;
	xgrow(&t->v, &t->cap_v, t->n + 1, sizeof *t->v);
	t->v[t->n++] = ws;
	return ws;
}

static void
wsup_remove(struct wsup *ws)
{
	struct wsups *t = ws->t;
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->v[i] == ws)
			break;
	if (i < t->n) {
		memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof *t->v);
		t->n--;
	}
	if (t->rr >= t->n)
		t->rr = 0;
	t->granted -= ws->held;
	wsup_free(ws);
	grant_round(t);
	if (t->c.changed != NULL)
		t->c.changed(t->c.arg);
}

static struct wsup *
wsup_find(struct wsups *t, const char *job)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->v[i]->job != NULL && strcmp(t->v[i]->job, job) == 0)
			return t->v[i];
	return NULL;
}

/* ---- starting a supervisor ---------------------------------------------- */

static void
on_child(struct loop *l, pid_t pid, int status, const struct rusage *ru,
    void *arg)
{
	struct wsup *ws = arg;

	(void)l;
	(void)pid;
	(void)ru;
	ws->child = false;
	wsup_ended(ws, status);
}

/*
 * Start a supervisor for ws (spawner.c): lockfd is the descriptor holding
 * its lock, filefd the dropped file or -1; both are closed here (the
 * supervisor has its copies). Resuming when ws->job is set.
 */
static void
wsup_spawn(struct wsup *ws, int lockfd, int filefd)
{
	struct wsups *t = ws->t;
	struct spawner_req req;
	char *argv[16], *cause = NULL;
	int sv[2], k = 0, pidfd;
	pid_t pid;

	argv[k++] = xstrdup("dagexec");
	argv[k++] = xstrdup("__supervise");
	argv[k++] = xstrdup("--spool");
	argv[k++] = xstrdup(spool_path(t->c.sp));
	if (ws->job != NULL) {
		argv[k++] = xstrdup("--job");
		argv[k++] = xstrdup(ws->job);
	}
	if (filefd >= 0) {
		argv[k++] = xstrdup("--file");
		argv[k++] = xstrdup(ws->file);
		if (ws->bundle)
			argv[k++] = xstrdup("--bundle");
	}
	if (ws->collected)
		argv[k++] = xstrdup("--cleanup");
	else if (ws->lost)
		argv[k++] = xstrdup("--lost");
	if (t->c.cancel_remote)
		argv[k++] = xstrdup("--cancel-remote");
	if (ws->scheduled > 0) {
		argv[k++] = xstrdup("--scheduled-at");
		argv[k++] = xasprintf("%lld", (long long)ws->scheduled);
	}
	argv[k] = NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		log_event(LOG_ERROR, ws->job, NULL, "supervisor", "socketpair: "
		    "%s", strerror(errno));
		pid = -1;
		goto out;
	}
	req.drop = geteuid() == 0;
	req.uid = ws->uid;
	req.fgid = ws->gid;
	req.argv = argv;
	req.sock = sv[1];
	req.lockfd = lockfd;
	req.filefd = filefd;
	/* born in its job's cgroup, made (or emptied) now */
	req.cgroupfd = wsup_cgroup(ws) != NULL ? cgroup_daemon_job(t->c.cg,
	    wsup_cgroup(ws), ws->job, ws->uid, ws->gid) : -1;
	req.in_cgroup = req.cgroupfd >= 0;
	pid = spawner_spawn(&t->spawner, spool_path(t->c.sp), &req, &cause);
	close(sv[1]);
	if (req.in_cgroup)
		close(req.cgroupfd);
	if (pid < 0) {
		log_event(LOG_ERROR, ws->job, NULL, "supervisor", "cannot "
		    "start it: %s", cause);
		free(cause);
		close(sv[0]);
		/* the cgroup made for it goes too */
		if (req.in_cgroup)
			cgroup_daemon_end(t->c.cg, wsup_cgroup(ws), ws->job);
		goto out;
	}
	ws->lost_spawned = ws->lost;
	ws->pid = pid;
	ws->child = true;
	ws->said = true;
	ws->gone = false;
	ws->sock = sv[0];
	(void)fcntl(ws->sock, F_SETFL, O_NONBLOCK);
	/* first of all: whether node slots are asked for; then what waited
	 * for it (a cancel, a stop) */
	(void)ctl_send(ws->sock, -1, "cap %d", t->c.cap == INT_MAX ? 0 :
	    t->c.cap);
	send_cancel(ws);
	if (t->stopping && ws->job != NULL)
		(void)ctl_send(ws->sock, -1, t->c.cancel_remote ?
		    "stop remote" : "stop");
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (loop_watch_child(t->c.loop, pid, pidfd, on_child, ws) != 0 &&
	    pidfd >= 0)
		close(pidfd);
	if (loop_add_fd(t->c.loop, ws->sock, EPOLLIN, on_sock, ws) != 0) {
		close(ws->sock);
		ws->sock = -1;
	}
	log_event(LOG_DEBUG, ws->job, NULL, "supervisor", "pid=%ld uid=%ld",
	    (long)pid, (long)ws->uid);
out:
	close(lockfd);
	if (filefd >= 0)
		close(filefd);
	while (k > 0)
		free(argv[--k]);
	/* the file stays claimed, or the job in active/: the next start
	 * takes them up again */
	if (pid < 0)
		ws->gone = true;
}

void
wsups_take(struct wsups *t, struct spool_claim *c)
{
	struct wsup *ws;
	char *dir = NULL, *cause = NULL;
	struct passwd *pw;
	int lockfd, filefd;

	ws = wsup_add(t, strrchr(c->dir, '/') + 1);
	ws->file = xstrdup(c->name);
	ws->bundle = c->kind != SPOOL_MANIFEST && c->kind != SPOOL_RETRY;
	ws->uid = c->uid;
	ws->gid = c->gid;
	ws->scheduled = c->scheduled;
	ws->c = *c;
	memset(c, 0, sizeof *c);
	c->fd = -1;
	filefd = ws->c.fd;
	ws->c.fd = -1;
	/* the owner's primary group, as the supervisor will have it */
	if (geteuid() == 0 && (pw = getpwuid(ws->uid)) != NULL)
		ws->gid = pw->pw_gid;
	/* users/UID: history and unpacking, the owner's */
	if (spool_user_dir(t->c.sp, ws->uid, ws->gid, &dir, &cause) != 0) {
		log_event(LOG_WARN, NULL, NULL, "claim", "%s", cause);
		free(cause);
		cause = NULL;
	}
	free(dir);
	lockfd = spool_job_lock(t->c.sp, ws->claim, true, &cause);
	if (lockfd < 0) {
		log_event(LOG_ERROR, NULL, NULL, "claim", "%s", cause);
		free(cause);
		close(filefd);
		wsup_remove(ws);
		return;
	}
	if (t->c.cg != NULL)
		ws->cgroup = wsup_cgroup_new_name();
	wsup_record(ws);
	wsup_spawn(ws, lockfd, filefd);
	if (ws->gone)
		wsup_remove(ws);
}

/* "name NAME": give the job its id and its empty directory. */
static void
on_name(struct wsup *ws, const char *name)
{
	struct wsups *t = ws->t;
	char *id, *cause = NULL;

	if (ws->job != NULL || ws->file == NULL || ws->c.dir == NULL) {
		(void)ctl_send(ws->sock, -1, "fail the job has a name");
		return;
	}
	if ((id = spool_job_id(t->c.sp, ws->file, name)) == NULL) {
		(void)ctl_send(ws->sock, -1, "fail not a valid DAG name");
		return;
	}
	if (spool_activate(t->c.sp, &ws->c, id, &cause) != 0) {
		log_event(LOG_ERROR, id, NULL, "claim", "%s", cause);
		(void)ctl_send(ws->sock, -1, "fail %s", cause);
		free(cause);
		free(id);
		return;
	}
	ws->job = id;
	free(ws->claim);
	ws->claim = xstrdup(id);
	log_event(LOG_INFO, id, NULL, "claim", "file=%s uid=%ld pid=%ld",
	    ws->file, (long)ws->uid, (long)ws->pid);
	if (ctl_send(ws->sock, -1, "id %s", id) != 0)
		log_event(LOG_WARN, id, NULL, "claim", "cannot answer the "
		    "supervisor: %s", strerror(errno));
	/* its first node needs a slot: one is offered with the id, in its
	 * turn, so that its start does not wait for a "want" round trip (a
	 * job with nothing to start gives it back) */
	ws->wants = true;
	grant_round(t);
	/* synced while the supervisor starts the job, not before: no node's
	 * end is relied on before its journal is synced, and a journalling
	 * file system commits these renames with or before that sync */
	spool_activate_sync(t->c.sp, id);
	/* --stop-jobs came while it was taking the file in */
	if (t->stopping)
		(void)ctl_send(ws->sock, -1, t->c.cancel_remote ?
		    "stop remote" : "stop");
}

/* "reject TEXT": the file goes to rejected/ with TEXT as its reason. */
static void
on_reject(struct wsup *ws, const char *text)
{
	char *cause = NULL, *first;

	if (ws->job != NULL || ws->c.dir == NULL)
		return;
	first = xstrndup(text, strcspn(text, "\n"));
	if (spool_reject_claim(ws->t->c.sp, &ws->c, text, &cause) != 0) {
		log_event(LOG_ERROR, NULL, NULL, "reject", "%s", cause);
		free(cause);
	} else
		log_event(LOG_WARN, NULL, NULL, "reject", "file=%s %s",
		    ws->file, first);
	free(first);
	ws->t->nrejected++;
	ws->rejected = true;
	spool_claim_release(&ws->c);
}

/* "running": the job directory holds the manifest; the dropped copy in
 * claims/ is no longer needed. */
static void
on_running(struct wsup *ws)
{
	char *p;

	if (ws->file == NULL || ws->job == NULL)
		return;
	p = xasprintf("%s/claims/%s/%s", spool_path(ws->t->c.sp), ws->claim,
	    ws->file);
	(void)unlink(p);
	free(p);
	free(ws->file);
	ws->file = NULL;
	spool_claim_release(&ws->c);
}

/* ---- slots --------------------------------------------------------------- */

/* Hand free slots to the supervisors that want one, one each a turn, so a
 * 10,000-node DAG does not starve a 3-node one. */
static void
grant_round(struct wsups *t)
{
	struct wsup *ws;
	size_t tried = 0;

	if (t->c.cap == INT_MAX || t->frozen)
		return;
	while (t->granted < t->c.cap && t->n > 0 && tried < t->n) {
		if (t->rr >= t->n)
			t->rr = 0;
		ws = t->v[t->rr];
		t->rr = (t->rr + 1) % t->n;
		if (!ws->wants || ws->sock < 0) {
			tried++;
			continue;
		}
		ws->wants = false;
		if (ctl_send(ws->sock, -1, "grant 1") != 0)
			continue;
		ws->held++;
		t->granted++;
		wsup_record_later(ws);
		tried = 0;
	}
	ask_yield(t);
}

/*
 * A supervisor keeps the slots it holds while it has nodes to start (a
 * round trip through the daemon at every node would cost as much as the
 * node): when another waits and none is free, the one holding the most
 * above an even share is asked to give one back at its next node's end.
 */
static void
ask_yield(struct wsups *t)
{
	struct wsup *ws, *most = NULL;
	size_t i, waiting = 0, sharing = 0;
	int fair;

	if (t->c.cap == INT_MAX || t->granted < t->c.cap)
		return;
	for (i = 0; i < t->n; i++) {
		ws = t->v[i];
		if (ws->wants && ws->sock >= 0)
			waiting++;
		if (ws->wants || ws->held > 0)
			sharing++;
	}
	if (waiting == 0 || sharing == 0)
		return;
	fair = t->c.cap / (int)sharing;
	if (fair < 1)
		fair = 1;
	for (i = 0; i < t->n; i++) {
		ws = t->v[i];
		if (ws->sock >= 0 && ws->held - ws->yielding > fair &&
		    (most == NULL || ws->held - ws->yielding >
		    most->held - most->yielding))
			most = ws;
	}
	if (most != NULL && ctl_send(most->sock, -1, "yield 1") == 0)
		most->yielding++;
}

static void
thaw_cb(struct loop *l, void *arg)
{
	struct wsups *t = arg;
	size_t i;

	(void)l;
	t->thaw = NULL;
	for (i = 0; i < t->n; i++)
		if (!t->v[i]->said) {
			log_event(LOG_WARN, t->v[i]->job, NULL, "adopt", "its "
			    "supervisor has not answered in %d ms: counted at "
			    "%d slot(s)", HELLO_WAIT_MS, t->v[i]->held);
			t->v[i]->said = true;
		}
	t->frozen = false;
	grant_round(t);
}

static void
maybe_thaw(struct wsups *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!t->v[i]->said)
			return;
	if (t->thaw != NULL) {
		loop_timer_cancel(t->c.loop, t->thaw);
		t->thaw = NULL;
	}
	t->frozen = false;
	grant_round(t);
}

/* ---- the bundle ------------------------------------------------------------ */

static void
copy_work(void *arg)
{
	struct wsup *ws = arg;

	free(ws->copy_cause);
	ws->copy_cause = NULL;
	errno = 0;
	ws->copy_rc = spool_store_bundle(ws->t->c.sp, ws->job, ws->bfd,
	    ws->bsize, ws->uid, ws->gid, &ws->copy_cause);
}

static void
copy_done(void *arg)
{
	struct wsup *ws = arg;

	ws->copying = false;
	close(ws->bfd);
	ws->bfd = -1;
	if (ws->copy_rc != 0) {
		log_event(LOG_ERROR, ws->job, NULL, "bundle", "%s",
		    ws->copy_cause);
		if (ws->sock >= 0)
			(void)ctl_send(ws->sock, -1, "fail %s", ws->copy_cause);
		if (ws->gone)
			wsup_ended(ws, -1);
		return;
	}
	ws->collected = true;
	ws->t->ncollected++;
	if (strcmp(ws->bstatus, "succeeded") != 0)
		ws->t->nfailed++;
	log_event(LOG_INFO, ws->job, NULL, "done", "status=%s bundle=%s/done/"
	    "%s.tar.gz", ws->bstatus, spool_path(ws->t->c.sp), ws->job);
	if (ws->sock >= 0)
		(void)ctl_send(ws->sock, -1, "ok");
	if (ws->gone)
		wsup_ended(ws, 0);
}

/* "done STATUS" with the bundle's descriptor: a plain file of the
 * owner's with one link, copied as it is now. */
static void
on_done(struct wsup *ws, const char *status, int fd)
{
	struct stat st, sp;
	char *p;
	int rc;

	if (ws->job == NULL || ws->copying || ws->collected || fd < 0) {
		if (fd >= 0)
			close(fd);
		if (ws->collected)
			(void)ctl_send(ws->sock, -1, "ok");
		return;
	}
	/* on the spool's own file system: a file whose reads can block (a
	 * FUSE mount of the owner's) would hold up every job's bundle */
	p = xasprintf("%s/active", spool_path(ws->t->c.sp));
	rc = stat(p, &sp);
	free(p);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    st.st_uid != ws->uid || rc != 0 || st.st_dev != sp.st_dev) {
		log_event(LOG_ERROR, ws->job, NULL, "bundle", "refused: not a "
		    "plain file of uid %ld with one link in the spool",
		    (long)ws->uid);
		(void)ctl_send(ws->sock, -1, "fail not a plain file of the "
		    "job's owner with one link in the spool");
		close(fd);
		return;
	}
	free(ws->bstatus);
	ws->bstatus = xstrndup(status, strcspn(status, " \n"));
	ws->bfd = fd;
	ws->bsize = st.st_size;
	ws->copying = true;
	if (ws->t->copier == NULL)
		ws->t->copier = worker_new(ws->t->c.loop);
	worker_run(ws->t->copier, copy_work, copy_done, ws);
}

/* ---- messages -------------------------------------------------------------- */

static void
on_message(struct wsup *ws, const char *msg, int fd)
{
	struct wsups *t = ws->t;
	const char *rest;
	long n;

	if (ctl_is(msg, "done", &rest)) {
		on_done(ws, rest, fd);
		return;
	}
	if (fd >= 0)
		close(fd);
	if (ctl_is(msg, "want", NULL)) {
		ws->wants = true;
		grant_round(t);
	} else if (ctl_is(msg, "ret", &rest)) {
		n = strtol(rest, NULL, 10);
		if (n > ws->held)
			n = ws->held;
		if (n > 0) {
			ws->held -= (int)n;
			t->granted -= (int)n;
			ws->yielding -= ws->yielding < (int)n ? ws->yielding :
			    (int)n;
			wsup_record_later(ws);
			grant_round(t);
		}
	} else if (ctl_is(msg, "name", &rest))
		on_name(ws, rest);
	else if (ctl_is(msg, "reject", &rest))
		on_reject(ws, rest);
	else if (ctl_is(msg, "running", NULL))
		on_running(ws);
	else
		log_event(LOG_WARN, ws->job, NULL, "supervisor", "unknown "
		    "message '%.20s'", msg);
}

/* A supervisor that is not our child and whose pidfd we lack is known to
 * be gone when its lock is free: look every PROBE_MS. */
static void
probe_cb(struct loop *l, void *arg)
{
	struct wsups *t = arg;
	struct wsup *ws;
	char *cause = NULL;
	bool more = false;
	size_t i;

	(void)l;
	t->probe = NULL;
	for (i = 0; i < t->n; i++) {
		ws = t->v[i];
		if (ws->child || ws->pidfd >= 0 || ws->gone || ws->again)
			continue;
		if (spool_job_lock(t->c.sp, ws->claim, false, &cause) == 0) {
			wsup_ended(ws, -1);
			/* the table may have changed under us */
			probe_later(t);
			return;
		}
		free(cause);
		cause = NULL;
		more = true;
	}
	if (more)
		probe_later(t);
}

static void
probe_later(struct wsups *t)
{
	if (t->probe == NULL)
		t->probe = loop_timer_at(t->c.loop, loop_now() + PROBE_MS,
		    probe_cb, t);
}

/* The channel closed: the supervisor is ending (or ended). */
static void
sock_closed(struct wsup *ws)
{
	(void)loop_close_fd(ws->t->c.loop, ws->sock);
	ws->sock = -1;
	ws->wants = false;
	if (!ws->child && ws->pidfd < 0)
		probe_later(ws->t);
}

static bool
sock_message(void *arg, int fd, const char *msg, int got)
{
	struct wsup *ws = arg;

	on_message(ws, msg, got);
	return ws->sock == fd;
}

static void
on_sock(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct wsup *ws = arg;

	(void)l;
	(void)events;
	if (ctl_each(fd, sock_message, ws) == 1 && ws->sock == fd)
		sock_closed(ws);
}

/* ---- a supervisor's end ------------------------------------------------- */

/* Put a file whose taking-in was cut short back into incoming/. */
static void
put_back(struct wsups *t, const char *sub, const char *claim)
{
	char *dir = xasprintf("%s/%s/%s", spool_path(t->c.sp), sub, claim);
	char *from, *to;
	struct dirent *e;
	DIR *d;

	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.' || e->d_type == DT_DIR ||
			    strcmp(e->d_name, "lock") == 0)
				continue;
			from = xasprintf("%s/%s", dir, e->d_name);
			to = xasprintf("%s/incoming/%s", spool_path(t->c.sp),
			    e->d_name);
			if (rename(from, to) != 0)
				log_event(LOG_ERROR, NULL, NULL, "recover",
				    "cannot move '%s' back: %s", from,
				    strerror(errno));
			free(from);
			free(to);
		}
		closedir(d);
	}
	(void)fs_remove_tree(dir, NULL);
	free(dir);
}

/* A claim whose taking-in was cut short: its file goes back into
 * incoming/, but a scheduled firing's (claims/X/.scheduled) is taken in
 * again, keeping its time (at the next start, when the daemon stops). */
static void
put_back_claim(struct wsups *t, const char *claim)
{
	struct spool_claim c;
	char *cause = NULL;
	int64_t when;
	uid_t uid;
	gid_t gid;

	if (spool_mark_read(t->c.sp, claim, &when, &uid, &gid) != 0) {
		put_back(t, "claims", claim);
		return;
	}
	if (t->stopping)
		return;
	if (spool_claim_reopen(t->c.sp, claim, &c, &cause) != 0) {
		log_event(LOG_ERROR, NULL, NULL, "recover", "%s", cause);
		free(cause);
		return;
	}
	c.uid = uid;
	c.gid = gid;
	c.scheduled = when;
	log_event(LOG_INFO, NULL, NULL, "recover", "file=%s scheduled=%lld: "
	    "taken in again", c.name, (long long)when);
	wsups_take(t, &c);
}

/* Forget a finished job: its directory (emptied by its supervisor) and
 * its claim. */
static void
forget_job(struct wsup *ws)
{
	char *p;

	p = xasprintf("%s/active/%s", spool_path(ws->t->c.sp), ws->job);
	if (rmdir(p) != 0 && errno != ENOENT)
		log_event(LOG_ERROR, ws->job, NULL, "cleanup", "cannot remove "
		    "'%s': %s", p, strerror(errno));
	free(p);
	p = xasprintf("%s/claims/%s", spool_path(ws->t->c.sp), ws->claim);
	(void)fs_remove_tree(p, NULL);
	free(p);
}

static void
again_cb(struct loop *l, void *arg)
{
	struct wsup *ws = arg;

	(void)l;
	ws->again = NULL;
	wsup_resume(ws);
}

/* Start a new supervisor for ws's job, once the old one's lock is free. */
static void
wsup_resume(struct wsup *ws)
{
	struct wsups *t = ws->t;
	struct stat st;
	char *cause = NULL, *p;
	int lockfd, filefd = -1;

	lockfd = spool_job_lock(t->c.sp, ws->claim, true, &cause);
	if (lockfd == -2) {
		/* the old one is still on its way out */
		free(cause);
		ws->again = loop_timer_at(t->c.loop, loop_now() + 100, again_cb,
		    ws);
		return;
	}
	if (lockfd < 0) {
		log_event(LOG_ERROR, ws->job, NULL, "resume", "%s", cause);
		free(cause);
		wsup_remove(ws);
		return;
	}
	/* its bundle reached done/ before its supervisor emptied the job
	 * directory (the daemon stopped in between): that is all left */
	p = xasprintf("%s/done/%s.tar.gz", spool_path(t->c.sp), ws->job);
	ws->collected = lstat(p, &st) == 0 && S_ISREG(st.st_mode);
	free(p);
	if (ws->file != NULL && !ws->collected) {
		/* it died before the manifest was in the job directory */
		p = xasprintf("%s/claims/%s/%s", spool_path(t->c.sp),
		    ws->claim, ws->file);
		filefd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
		free(p);
		if (filefd < 0) {
			free(ws->file);
			ws->file = NULL;
		}
	}
	ws->gone = false;
	ws->pid = 0;
	wsup_record(ws);
	wsup_spawn(ws, lockfd, filefd);
	if (ws->gone)
		wsup_remove(ws);
}

static char *
exit_text(int status)
{
	if (status < 0)
		return xstrdup("it is gone");
	if (WIFSIGNALED(status))
		return xasprintf("killed by signal %d", WTERMSIG(status));
	return xasprintf("exited with status %d", WEXITSTATUS(status));
}

/*
 * The supervisor ended (status from wait4, or -1 when not known). A job
 * whose bundle was taken is forgotten; a refused file is gone already; a
 * file not yet a job is refused when its supervisor failed on it (it would
 * fail again), else put back; a job left midway is resumed in a new
 * supervisor (3 deaths within a minute: ended as lost), unless the daemon
 * stopped it.
 */
static void
wsup_ended(struct wsup *ws, int status)
{
	struct wsups *t = ws->t;
	int64_t now = loop_now();
	char *why, *text;
	int i, k;

	ws->gone = true;
	if (ws->sock >= 0) {
		(void)loop_close_fd(t->c.loop, ws->sock);
		ws->sock = -1;
	}
	if (ws->pidfd >= 0) {
		(void)loop_close_fd(t->c.loop, ws->pidfd);
		ws->pidfd = -1;
	}
	cgroup_daemon_end(t->c.cg, wsup_cgroup(ws), ws->job);
	t->granted -= ws->held;
	ws->held = 0;
	ws->yielding = 0;
	ws->wants = false;
	if (ws->copying)
		return;		/* copy_done comes back here */
	if (ws->collected) {
		forget_job(ws);
		wsup_remove(ws);
		return;
	}
	if (ws->rejected) {
		wsup_remove(ws);
		return;
	}
	why = exit_text(status);
	if (ws->job == NULL) {
		/* one that exited by itself (its daemon went away), or one an
		 * earlier daemon started: the file goes back; one that failed
		 * on it would fail again: refused */
		if (ws->c.dir == NULL || (status >= 0 && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)) {
			spool_claim_release(&ws->c);
			put_back_claim(t, ws->claim);
		} else {
			text = xasprintf("%s: error: it could not be taken in: "
			    "the process reading it %s\n", ws->file, why);
			on_reject(ws, text);
			free(text);
		}
		free(why);
		wsup_remove(ws);
		return;
	}
	if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 75 &&
	    t->stopping) {
		log_event(LOG_INFO, ws->job, NULL, "stopped", "kept in active/ "
		    "to resume at the next start");
		free(why);
		wsup_remove(ws);
		return;
	}
	/* deaths within the last minute, this one included */
	for (i = 0, k = 0; i < ws->ndeaths; i++)
		if (now - ws->deaths[i] < DEATHS_WINDOW_MS)
			ws->deaths[k++] = ws->deaths[i];
	ws->ndeaths = k;
	if (ws->ndeaths == DEATHS_LOST) {
		memmove(ws->deaths, ws->deaths + 1,
		    (DEATHS_LOST - 1) * sizeof *ws->deaths);
		ws->ndeaths--;
	}
	ws->deaths[ws->ndeaths++] = now;
	if (ws->lost_spawned) {
		log_event(LOG_ERROR, ws->job, NULL, "lost", "its supervisor %s "
		    "while ending it as lost: left in active/", why);
		free(why);
		wsup_remove(ws);
		return;
	}
	if (ws->ndeaths >= DEATHS_LOST) {
		log_event(LOG_ERROR, ws->job, NULL, "lost", "its supervisor %s "
		    "(%d deaths within a minute): the job ends failed", why,
		    DEATHS_LOST);
		ws->lost = true;
	} else
		log_event(LOG_WARN, ws->job, NULL, "supervisor", "%s: the job "
		    "resumes from its journal", why);
	free(why);
	if (t->stopping) {
		wsup_remove(ws);
		return;
	}
	wsup_resume(ws);
}

static void
on_pidfd(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct wsup *ws = arg;

	(void)l;
	(void)fd;
	(void)events;
	wsup_ended(ws, -1);
}

/* ---- SPOOL/ctl: supervisors of an earlier daemon come back ---------------- */

static void
conn_free(struct wconn *cn)
{
	(void)loop_close_fd(cn->t->c.loop, cn->fd);
	if (cn->pidfd >= 0)
		close(cn->pidfd);
	free(cn);
}

/* "hello JOB HELD" with the job lock's descriptor: the same file as
 * claims/JOB/lock (only a process root gave it to can have it), from the
 * job's owner. */
static struct wsup *
hello_check(struct wconn *cn, const char *rest, int lockfd, int *held)
{
	struct wsups *t = cn->t;
	struct stat a, b;
	struct wsup *ws;
	char job[256], *p;
	int rc;

	if (lockfd < 0 || sscanf(rest, "%255s %d", job, held) != 2 ||
	    *held < 0 || (ws = wsup_find(t, job)) == NULL || ws->sock >= 0 ||
	    (ws->child && ws->pid != cn->pid) ||
	    (cn->uid != ws->uid && cn->uid != 0))
		return NULL;
	p = xasprintf("%s/claims/%s/lock", spool_path(t->c.sp), ws->claim);
	rc = stat(p, &b);
	free(p);
	if (rc != 0 || fstat(lockfd, &a) != 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino)
		return NULL;
	return ws;
}

static void
on_conn(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct wconn *cn = arg;
	struct wsups *t = cn->t;
	struct wsup *ws = NULL;
	char *buf = xmalloc(CTL_MAX + 1);
	const char *rest;
	ssize_t n;
	int got, held = 0;

	(void)l;
	(void)events;
	n = ctl_recv(fd, buf, &got);
	if (n < 0 && errno == EAGAIN) {
		free(buf);
		return;
	}
	if (n > 0 && ctl_is(buf, "hello", &rest))
		ws = hello_check(cn, rest, got, &held);
	/* never kept: holding it would hold the job's lock */
	if (got >= 0)
		close(got);
	free(buf);
	if (ws == NULL) {
		if (n > 0)
			log_event(LOG_WARN, NULL, NULL, "ctl", "pid %ld (uid %ld) "
			    "is not a supervisor of this spool", (long)cn->pid,
			    (long)cn->uid);
		conn_free(cn);
		return;
	}
	(void)loop_del_fd(t->c.loop, fd);
	ws->sock = fd;
	ws->pid = cn->pid;
	if (!ws->child && cn->pidfd >= 0 && loop_add_fd(t->c.loop, cn->pidfd,
	    EPOLLIN, on_pidfd, ws) == 0) {
		ws->pidfd = cn->pidfd;
		cn->pidfd = -1;
	}
	if (cn->pidfd >= 0)
		close(cn->pidfd);
	free(cn);
	if (loop_add_fd(t->c.loop, ws->sock, EPOLLIN, on_sock, ws) != 0) {
		close(ws->sock);
		ws->sock = -1;
		return;
	}
	t->granted += held - ws->held;
	ws->held = held;
	ws->yielding = 0;
	ws->said = true;
	wsup_record(ws);
	log_event(LOG_INFO, ws->job, NULL, "adopt", "supervisor pid=%ld holds "
	    "%d slot(s)", (long)ws->pid, held);
	(void)ctl_send(ws->sock, -1, "cap %d", t->c.cap == INT_MAX ? 0 :
	    t->c.cap);
	send_cancel(ws);
	if (t->stopping)
		(void)ctl_send(ws->sock, -1, t->c.cancel_remote ?
		    "stop remote" : "stop");
	maybe_thaw(t);
}

static void
on_listen(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct wsups *t = arg;
	struct wconn *cn;
	int c;

	(void)events;
	while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC |
	    SOCK_NONBLOCK)) >= 0) {
		cn = xcalloc(1, sizeof *cn);
		cn->t = t;
		cn->fd = c;
		if (ctl_peer(c, &cn->pid, &cn->uid, &cn->pidfd) != 0 ||
		    loop_add_fd(l, c, EPOLLIN, on_conn, cn) != 0) {
			close(c);
			if (cn->pidfd >= 0)
				close(cn->pidfd);
			free(cn);
		}
	}
}

pid_t
wsups_spawn(struct wsups *t, const struct spawner_req *r, char **cause)
{
	return spawner_spawn(&t->spawner, spool_path(t->c.sp), r, cause);
}

void
wsups_warm(struct wsups *t)
{
	char *cause = NULL;

	if (spawner_ready(&t->spawner, spool_path(t->c.sp), &cause) != 0) {
		log_event(LOG_WARN, NULL, NULL, "spawner", "%s", cause);
		free(cause);
	}
}

int
wsups_listen(struct wsups *t, char **cause)
{
	char *path = xasprintf("%s/ctl", spool_path(t->c.sp));

	t->lfd = ctl_listen(path, cause);
	free(path);
	if (t->lfd < 0)
		return -1;
	if (loop_add_fd(t->c.loop, t->lfd, EPOLLIN, on_listen, t) != 0) {
		*cause = xasprintf("epoll: %s", strerror(errno));
		close(t->lfd);
		t->lfd = -1;
		return -1;
	}
	return t->lfd;
}

/* ---- start-up -------------------------------------------------------------- */

/* A job in active/ without a claim (left by the first release): give it
 * one, so it is resumed like any other. */
static void
claim_legacy(struct wsups *t, const char *job)
{
	char *p = xasprintf("%s/claims/%s", spool_path(t->c.sp), job);
	struct wsup *ws;
	uid_t uid;
	gid_t gid;

	if (spool_adopt_legacy(t->c.sp, job, &uid, &gid) != 0 ||
	    mkdir(p, 0711) != 0) {
		log_event(LOG_ERROR, job, NULL, "resume", "cannot resume: no "
		    "manifest.yaml, or '%s' cannot be made", p);
		free(p);
		return;
	}
	free(p);
	ws = wsup_add(t, job);
	ws->job = xstrdup(job);
	ws->uid = uid;
	ws->gid = gid;
	ws->gone = true;
	log_event(LOG_INFO, job, NULL, "resume", "from its journal");
	wsup_resume(ws);
}

/* The dropped file still in claims/CLAIM/ (its job's supervisor died
 * before the job directory held the manifest), or NULL. */
static char *
dropped_file(struct wsups *t, const char *claim)
{
	char *dir = xasprintf("%s/claims/%s", spool_path(t->c.sp), claim);
	char *name = NULL;
	struct dirent *e;
	DIR *d;

	if ((d = opendir(dir)) != NULL) {
		while (name == NULL && (e = readdir(d)) != NULL)
			if (e->d_name[0] != '.' && e->d_type == DT_REG &&
			    strcmp(e->d_name, "lock") != 0)
				name = xstrdup(e->d_name);
		closedir(d);
	}
	free(dir);
	return name;
}

static void
recover_claim(struct wsups *t, const char *name)
{
	struct wsup *ws;
	struct stat st;
	char *cause = NULL, *p;
	uid_t uid;
	gid_t gid;
	int64_t when;
	int held, grants = 0;
	char *cg = NULL;

	held = spool_job_lock(t->c.sp, name, false, &cause);
	if (held < 0) {
		log_event(LOG_ERROR, NULL, NULL, "recover", "%s", cause);
		free(cause);
		return;
	}
	if (name[0] == '.') {
		/* a file being taken in: its supervisor, if alive, gives up
		 * now that its daemon is gone; then it goes back, and its
		 * cgroup goes when it has */
		(void)wsup_read_record(t, name, &uid, &gid, &grants, &cg);
		if (held == 0) {
			cgroup_daemon_end(t->c.cg, cg, NULL);
			free(cg);
			put_back_claim(t, name);
		} else {
			ws = wsup_add(t, name);
			ws->cgroup = cg;
			probe_later(t);
		}
		return;
	}
	if (wsup_read_record(t, name, &uid, &gid, &grants, &cg) != 0) {
		log_event(LOG_ERROR, name, NULL, "recover", "claims/%s/lock "
		    "holds no owner: left alone", name);
		return;
	}
	ws = wsup_add(t, name);
	ws->job = xstrdup(name);
	ws->cgroup = cg;
	ws->uid = uid;
	ws->gid = gid;
	ws->file = dropped_file(t, name);
	if (spool_mark_read(t->c.sp, name, &when, &uid, &gid) == 0)
		ws->scheduled = when;
	if (held == 1) {
		/* a live supervisor: it reconnects and says what it holds */
		ws->held = grants;
		t->granted += grants;
		t->frozen = true;
		log_event(LOG_INFO, name, NULL, "adopt", "its supervisor is "
		    "alive: waiting for it");
		probe_later(t);
		return;
	}
	ws->gone = true;
	p = xasprintf("%s/done/%s.tar.gz", spool_path(t->c.sp), name);
	if (lstat(p, &st) == 0)
		log_event(LOG_INFO, name, NULL, "cleanup", "its bundle is in "
		    "done/: what is left of it is removed");
	else
		log_event(LOG_INFO, name, NULL, "resume", "from its journal");
	free(p);
	wsup_resume(ws);
}

void
wsups_recover(struct wsups *t)
{
	char **names, *p;
	struct stat st;
	size_t n, i;

	names = spool_list_all(t->c.sp, "claims", &n);
	for (i = 0; i < n; i++) {
		recover_claim(t, names[i]);
		free(names[i]);
	}
	free(names);
	names = spool_list_all(t->c.sp, "active", &n);
	for (i = 0; i < n; i++) {
		p = xasprintf("%s/claims/%s", spool_path(t->c.sp), names[i]);
		if (strncmp(names[i], ".claim-", 7) == 0) {
			/* a first-release claim cut short */
			put_back(t, "active", names[i]);
		} else if (names[i][0] != '.' && lstat(p, &st) != 0 &&
		    errno == ENOENT)
			claim_legacy(t, names[i]);
		free(p);
		free(names[i]);
	}
	free(names);
	if (t->frozen)
		t->thaw = loop_timer_at(t->c.loop, loop_now() + HELLO_WAIT_MS,
		    thaw_cb, t);
}

/* ---- requests ---------------------------------------------------------------- */

/* Tell the supervisor the cancel asked for ("cancel": its `when: always`
 * nodes still run; "cancel now": nothing does), or keep it for when it
 * connects. */
static void
send_cancel(struct wsup *ws)
{
	if (ws->cancel == 0 || ws->sock < 0)
		return;
	if (ctl_send(ws->sock, -1, ws->cancel == 2 ? "cancel now" :
	    "cancel") == 0)
		ws->cancel = 0;
}

bool
wsups_cancel(struct wsups *t, const char *id, uid_t uid, bool now,
    bool *refused)
{
	struct wsup *ws = wsup_find(t, id);

	*refused = false;
	if (ws == NULL)
		return false;
	if (uid != 0 && uid != ws->uid) {
		*refused = true;
		return true;
	}
	/* a terminate overrides a stop, never the other way round */
	if (now || ws->cancel == 0)
		ws->cancel = now ? 2 : 1;
	send_cancel(ws);
	return true;
}

size_t
wsups_stop(struct wsups *t)
{
	size_t i, k = 0;

	t->stopping = true;
	for (i = 0; i < t->n; i++) {
		if (t->v[i]->sock < 0 || t->v[i]->job == NULL)
			continue;
		if (ctl_send(t->v[i]->sock, -1, t->c.cancel_remote ?
		    "stop remote" : "stop") == 0)
			k++;
	}
	return k;
}
