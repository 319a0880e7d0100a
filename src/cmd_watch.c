/* dagexec watch: the spool daemon. Picks dropped files up, runs them as
 * jobs (several at once, nodes capped across all of them and shared
 * round-robin), writes result bundles into done/, resumes after a crash. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "cmd.h"
#include "diag.h"
#include "fsutil.h"
#include "history.h"
#include "job.h"
#include "log.h"
#include "loop.h"
#include "manifest.h"
#include "spool.h"
#include "worker.h"
#include "xmalloc.h"

#define WAIT_AGING_S	60	/* a file waiting longer goes first */
#define PACK_RETRY_S	10	/* a job's end that could not be written
				   (a full disk) is tried again this often */

struct wjob {
	struct watch	*w;
	struct job	*job;
	char		*id;
	char		*dir;
	uid_t		 uid;
	gid_t		 gid;
	bool		 set_ids;	/* its nodes run as uid:gid */
	struct bundle_owner owner;
	bool		 over;		/* finished, waiting to be reaped */
	bool		 begun;		/* its end is being written */
	/* the bundle, packed by a thread */
	char		*bundle;	/* done/JOB.tar.gz */
	bool		 packing;
	bool		 bundled;	/* in done/: forget the job */
	int		 pack_rc;
	char		*pack_cause;
	char		*pack_warn;
	int		 rm_rc;
	char		*rm_cause;
	int		 failed_ends;
	struct loop_timer *retry_timer;
};

struct watch {
	struct loop		*loop;
	struct spool		*sp;
	int			 max_jobs;
	int			 cap;		/* -j across all jobs */
	int			 running;	/* nodes running, all jobs */
	struct wjob		**jobs;
	size_t			 njobs;
	size_t			 cap_jobs;
	size_t			 rr;		/* round-robin cursor */
	bool			 drain;
	bool			 cancel_remote;	/* stopping: scancel too */
	bool			 stopping;
	bool			 in_dispatch;
	struct loop_timer	*reap_timer;
	struct worker		*packer;	/* packs bundles off the loop */
	struct loop_timer	*scan_timer;
	char			**stuck;	/* cancel/ entries that could
						   not be removed, sorted:
						   logged once, not acted on
						   again */
	size_t			 nstuck;
};

static void	watch_scan(struct watch *);
static void	watch_dispatch(struct watch *);
static void	watch_check_done(struct watch *);
static void	watch_reap(struct watch *);
static void	history_as_owner(struct watch *, const char *, uid_t, gid_t,
		    bool, const struct manifest *, const struct sched *,
		    int64_t *);
static void	watch_reaped(struct watch *);

static void
watch_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec watch [-s SPOOL] [-j N] [--max-jobs N] "
	    "[--drain]\n                     [--cancel-remote]\n\n"
	    "The spool daemon: run every manifest or bundle dropped into "
	    "SPOOL/incoming/\nand write its result bundle into SPOOL/done/. "
	    "Runs in the foreground until\nSIGTERM or SIGINT (exit 75; jobs "
	    "resume at the next start).\n\n"
	    "  -s, --spool SPOOL   the spool (default $DAGEXEC_SPOOL, then "
	    "%s)\n"
	    "  -j, --jobs N        run at most N nodes at once across all "
	    "jobs\n"
	    "      --max-jobs N    run at most N jobs at once (default 4)\n"
	    "      --drain         take what is already dropped, run it all, "
	    "exit 0\n"
	    "      --cancel-remote on SIGTERM/SIGINT, also scancel the jobs' "
	    "Slurm jobs\n                      (default: leave them running "
	    "for the next start to adopt)\n", spool_default());
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

/*
 * A finished job's bundle is packed, moved into done/ and its directory
 * removed on the packer's thread: packing gigabytes must not hold up the
 * loop (other jobs' timeouts, cancels, intake). nodes/ and outputs/ are
 * read with the owner's file-system ids (that thread's alone), and only
 * their plain files with one link are packed.
 */
static void
pack_work(void *arg)
{
	static const char *const owned[] = { "work", "nodes", "outputs", "io" };
	struct wjob *wj = arg;
	struct fs_ids old;
	char *path;
	size_t k;

	/* root's supplementary groups are not the owner's: none, for this
	 * thread alone (glibc's setgroups would change every thread's) */
	if (wj->set_ids)
		(void)syscall(SYS_setgroups, 0, NULL);
	wj->pack_rc = bundle_write(wj->bundle, BUNDLE_TGZ, wj->id, wj->dir,
	    wj->set_ids ? &wj->owner : NULL, &wj->pack_cause);
	if (wj->pack_rc != 0)
		return;
	if (wj->set_ids && chown(wj->bundle, wj->uid, wj->gid) != 0)
		wj->pack_warn = xasprintf("cannot chown '%s': %s", wj->bundle,
		    strerror(errno));
	(void)chmod(wj->bundle, 0600);
	/* what is in the owner's directories is removed as the owner; then
	 * the job directory, root's, and what is left, as root (no link is
	 * followed either way) */
	if (wj->set_ids && fs_ids_enter(wj->uid, wj->gid, 1, &old) == 0) {
		for (k = 0; k < sizeof owned / sizeof owned[0]; k++) {
			path = xasprintf("%s/%s", wj->dir, owned[k]);
			(void)fs_remove_tree(path, NULL);
			free(path);
		}
		fs_ids_leave(&old);
	}
	wj->rm_rc = fs_remove_tree(wj->dir, &wj->rm_cause);
}

static void	pack_done(void *);
static void	pack_retry(struct loop *, void *);

/* Pack wj's bundle on the packer's thread (one bundle at a time). */
static void
pack_start(struct watch *w, struct wjob *wj)
{
	free(wj->bundle);
	wj->bundle = xasprintf("%s/done/%s%s", spool_path(w->sp), wj->id,
	    bundle_ext(BUNDLE_TGZ));
	wj->pack_rc = wj->rm_rc = 0;
	if (w->packer == NULL)
		w->packer = worker_new(w->loop);
	wj->packing = true;
	worker_run(w->packer, pack_work, pack_done, wj);
}

/* Try a failed end again in PACK_RETRY_S (the disk may have room again). */
static void
pack_later(struct watch *w, struct wjob *wj)
{
	wj->failed_ends++;
	if (wj->retry_timer == NULL)
		wj->retry_timer = loop_timer_at(w->loop, loop_now() +
		    PACK_RETRY_S * 1000, pack_retry, wj);
}

/* Write what is missing of wj's end (state, summary...), then pack it. */
static void
pack_begin(struct watch *w, struct wjob *wj)
{
	if (job_end_retry(wj->job) != 0) {
		log_event(LOG_ERROR, wj->id, NULL, "finish", "the job's final "
		    "files cannot be written: trying again in %d s",
		    PACK_RETRY_S);
		pack_later(w, wj);
		return;
	}
	pack_start(w, wj);
}

static void
pack_retry(struct loop *l, void *arg)
{
	struct wjob *wj = arg;

	(void)l;
	wj->retry_timer = NULL;
	if (!wj->w->stopping)
		pack_begin(wj->w, wj);
	else
		watch_reaped(wj->w);
}

/* Forget a job: its bundle is in done/, or it stays in active/ for the
 * next start. */
static void
wjob_free(struct watch *w, struct wjob *wj)
{
	if (wj->retry_timer != NULL)
		loop_timer_cancel(w->loop, wj->retry_timer);
	job_free(wj->job);
	free(wj->bundle);
	free(wj->pack_cause);
	free(wj->pack_warn);
	free(wj->rm_cause);
	free(wj->id);
	free(wj->dir);
	free(wj);
}

static void
pack_done(void *arg)
{
	struct wjob *wj = arg;
	struct watch *w = wj->w;

	wj->packing = false;
	if (wj->pack_rc != 0) {
		log_event(LOG_ERROR, wj->id, NULL, "bundle", "%s: trying again "
		    "in %d s", wj->pack_cause, PACK_RETRY_S);
		free(wj->pack_cause);
		wj->pack_cause = NULL;
		pack_later(w, wj);
		watch_reaped(w);
		return;
	}
	if (wj->pack_warn != NULL)
		log_event(LOG_ERROR, wj->id, NULL, "bundle", "%s",
		    wj->pack_warn);
	log_event(LOG_INFO, wj->id, NULL, "done", "status=%s bundle=%s",
	    dag_status_name(job_status(wj->job)), wj->bundle);
	if (wj->rm_rc != 0)
		log_event(LOG_ERROR, wj->id, NULL, "cleanup", "%s",
		    wj->rm_cause);
	history_as_owner(w, wj->id, wj->uid, wj->gid, wj->set_ids,
	    job_manifest(wj->job), job_sched(wj->job), NULL);
	wj->bundled = true;
	watch_reaped(w);
}

/* Take finished jobs out: a bundled one is forgotten; an interrupted one
 * stays in active/ to resume; one whose end is not written yet is packed
 * (or, when stopping, left for the next start, which finishes it). */
static void
watch_reap(struct watch *w)
{
	struct wjob *wj;
	size_t i, k;

	for (i = 0, k = 0; i < w->njobs; i++) {
		wj = w->jobs[i];
		if (!wj->over || wj->packing) {
			w->jobs[k++] = wj;
			continue;
		}
		if (wj->bundled)
			;
		else if (job_status(wj->job) == DS_INTERRUPTED)
			log_event(LOG_INFO, wj->id, NULL, "interrupted",
			    "kept in active/ to resume");
		else if (w->stopping)
			log_event(LOG_INFO, wj->id, NULL, "finish",
			    "kept in active/: its bundle is written at the "
			    "next start");
		else {
			if (wj->retry_timer == NULL && !wj->begun) {
				wj->begun = true;
				pack_begin(w, wj);
			}
			if (wj->packing || wj->retry_timer != NULL) {
				w->jobs[k++] = wj;
				continue;
			}
		}
		wjob_free(w, wj);
	}
	w->njobs = k;
	if (w->rr >= w->njobs)
		w->rr = 0;
}

/* Reap, take in what waits, and see whether the daemon is done. */
static void
watch_reaped(struct watch *w)
{
	watch_reap(w);
	if (!w->stopping)
		watch_scan(w);
	watch_check_done(w);
}

static void
reap_cb(struct loop *l, void *arg)
{
	struct watch *w = arg;

	(void)l;
	w->reap_timer = NULL;
	watch_reaped(w);
}

static void
on_job_finish(struct job *j, void *arg)
{
	struct watch *w = arg;
	size_t i;

	for (i = 0; i < w->njobs; i++)
		if (w->jobs[i]->job == j)
			w->jobs[i]->over = true;
	if (w->reap_timer == NULL)
		w->reap_timer = loop_timer_at(w->loop, loop_now(), reap_cb, w);
}

static void
on_job_slots(struct job *j, void *arg)
{
	(void)j;
	watch_dispatch(arg);
}

/* Fill free node slots round-robin over the jobs: one start a job a turn,
 * so a 10,000-node DAG does not starve a 3-node one. */
static void
watch_dispatch(struct watch *w)
{
	size_t tried;
	struct wjob *wj;

	if (w->in_dispatch)
		return;
	w->in_dispatch = true;
	tried = 0;
	while (w->running < w->cap && w->njobs > 0 && tried < w->njobs) {
		if (w->rr >= w->njobs)
			w->rr = 0;
		wj = w->jobs[w->rr];
		w->rr = (w->rr + 1) % w->njobs;
		if (!wj->over && job_dispatch(wj->job, 1) > 0)
			tried = 0;
		else
			tried++;
	}
	w->in_dispatch = false;
}

/* The dropper's primary gid and supplementary groups (a new array). */
static gid_t *
identity(uid_t uid, gid_t fgid, gid_t *gid, int *ngroups)
{
	struct passwd *pw = getpwuid(uid);
	gid_t *groups;
	int n = 32;

	*ngroups = 0;
	if (pw == NULL) {
		*gid = fgid;
		return NULL;
	}
	*gid = pw->pw_gid;
	groups = xcalloc((size_t)n, sizeof *groups);
	while (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0) {
		if (n > 65536) {
			free(groups);
			return NULL;
		}
		groups = xreallocarray(groups, (size_t)n * 2, sizeof *groups);
		n *= 2;
	}
	*ngroups = n;
	return groups;
}

/* SPOOL/users/UID/history/NAME.yaml: learned durations are each user's
 * own (another's jobs of the same name neither read nor sway them). Made
 * and read with the user's file-system ids (the directory is theirs);
 * NULL, with a warning logged, when users/UID cannot be had. */
static char *
history_path(struct watch *w, const char *id, uid_t uid, gid_t gid,
    const struct manifest *m)
{
	char *dir, *path, *cause = NULL;

	if (spool_user_dir(w->sp, uid, gid, &dir, &cause) != 0) {
		log_event(LOG_WARN, id, NULL, "history", "%s", cause);
		free(cause);
		return NULL;
	}
	path = xasprintf("%s/history/%s.yaml", dir, m->name);
	free(dir);
	return path;
}

/* Load (est non-NULL) or update the job's history as its owner. */
static void
history_as_owner(struct watch *w, const char *id, uid_t uid, gid_t gid,
    bool set_ids, const struct manifest *m, const struct sched *s,
    int64_t *est)
{
	struct fs_ids old;
	char *path, *slash, *cause = NULL;
	int rc;

	if ((path = history_path(w, id, uid, gid, m)) == NULL)
		return;
	if (fs_ids_enter(uid, gid, set_ids, &old) != 0) {
		log_event(LOG_WARN, id, NULL, "history", "cannot take uid "
		    "%ld: %s", (long)uid, strerror(errno));
		free(path);
		return;
	}
	slash = strrchr(path, '/');
	*slash = '\0';
	(void)mkdir(path, 0700);
	*slash = '/';
	rc = est != NULL ? history_load(path, m, est, &cause) :
	    history_update(path, m, s, &cause);
	fs_ids_leave(&old);
	if (rc != 0) {
		log_event(LOG_WARN, id, NULL, "history", "%s", cause);
		free(cause);
	}
	free(path);
}

static struct wjob *
watch_add(struct watch *w, struct manifest *m, const char *id,
    const char *dir, uid_t uid, gid_t fgid, const char *resume_log)
{
	struct job_config jc;
	struct wjob *wj;
	gid_t *groups = NULL, gid = fgid;
	int ngroups = 0;
	char *cause = NULL;
	int64_t *est;

	memset(&jc, 0, sizeof jc);
	jc.id = id;
	jc.dir = dir;
	jc.clean_env = true;
	jc.progress = PROGRESS_LINES;
	jc.on_finish = on_job_finish;
	jc.arg = w;
	jc.slots = &w->running;
	jc.on_slots = on_job_slots;
	jc.resume_log = resume_log;
	jc.cancel_remote = w->cancel_remote;
	if (geteuid() == 0) {
		groups = identity(uid, fgid, &gid, &ngroups);
		jc.set_ids = true;
		jc.uid = uid;
		jc.gid = gid;
		jc.groups = groups;
		jc.ngroups = (size_t)ngroups;
	} else {
		uid = geteuid();
		gid = getegid();
	}
	est = xcalloc(m->nnodes, sizeof *est);
	history_as_owner(w, id, uid, gid, jc.set_ids, m, NULL, est);
	jc.estimates = est;
	wj = xcalloc(1, sizeof *wj);
	wj->w = w;
	wj->id = xstrdup(id);
	wj->dir = xstrdup(dir);
	wj->uid = uid;
	wj->gid = gid;
	wj->set_ids = jc.set_ids;
	wj->owner.uid = uid;
	wj->owner.gid = gid;
	wj->job = job_new(w->loop, m, &jc, &cause);
	free(groups);
	free(est);
	if (wj->job == NULL) {
		log_event(LOG_ERROR, id, NULL, "start", "%s", cause);
		free(cause);
		free(wj->id);
		free(wj->dir);
		free(wj);
		return NULL;
	}
	xgrow(&w->jobs, &w->cap_jobs, w->njobs + 1, sizeof *w->jobs);
	w->jobs[w->njobs++] = wj;
	if (job_start(wj->job, &cause) != 0) {
		log_event(LOG_ERROR, id, NULL, "start", "%s", cause);
		free(cause);
	}
	watch_dispatch(w);
	return wj;
}

/* Is id in use: a job in active/, or a bundle in done/? A dropped file must
 * never take over another job's id, nor overwrite its results. */
static bool
id_taken(const struct watch *w, const char *id)
{
	static const char *const where[][2] = { { "active", "" },
	    { "done", ".tar.gz" }, { "done", ".tar.zst" } };
	struct stat st;
	bool taken = false;
	size_t i;
	char *p;

	for (i = 0; i < sizeof where / sizeof where[0] && !taken; i++) {
		p = xasprintf("%s/%s/%s%s", spool_path(w->sp), where[i][0], id,
		    where[i][1]);
		taken = lstat(p, &st) == 0 || errno != ENOENT;
		free(p);
	}
	return taken;
}

/* The job id a submitted file carries in its name (NAME-TS-XXXX.yaml with
 * NAME the DAG's name), or a new one. */
static char *
claim_job_id(const struct watch *w, const char *file, const char *name)
{
	regex_t re;
	static const char *const exts[] = { ".yaml", ".yml", ".tar.gz",
	    ".tgz", ".tar.zst", ".tar" };
	char *stem = xstrdup(file), *id = NULL;
	size_t i, n, k;

	for (i = 0; i < sizeof exts / sizeof exts[0]; i++) {
		n = strlen(stem);
		k = strlen(exts[i]);
		if (n > k && strcmp(stem + n - k, exts[i]) == 0) {
			stem[n - k] = '\0';
			break;
		}
	}
	if (regcomp(&re, "^[A-Za-z0-9._-]+-[0-9]{8}T[0-9]{6}-[0-9a-f]{4}$",
	    REG_EXTENDED | REG_NOSUB) == 0) {
		if (regexec(&re, stem, 0, NULL, 0) == 0 &&
		    strncmp(stem, name, strlen(name)) == 0 &&
		    stem[strlen(name)] == '-')
			id = xstrdup(stem);
		regfree(&re);
	}
	free(stem);
	for (;;) {
		if (id == NULL)
			id = job_make_id(name);
		if (!id_taken(w, id))
			return id;
		free(id);
		id = NULL;
	}
}

/* The diagnostics as `validate` prints them, for FILE.error. */
static char *
diags_text(const char *file, const struct diags *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	if (fp == NULL)
		return xstrdup("invalid manifest\n");
	diags_print(fp, file, d);
	fclose(fp);
	return buf;
}

/* Unpack a claimed bundle into CLAIM/work and read its dag.yaml (without
 * following a link) into *buf. */
static int
unpack_drop(struct watch *w, struct spool_claim *c, char **buf, size_t *len,
    char **cause)
{
	char *work = xasprintf("%s/work", c->dir), *man;
	gid_t gid = c->gid, *groups;
	int ngroups, fd, rc = -1;

	(void)w;
	if (geteuid() == 0) {
		groups = identity(c->uid, c->gid, &gid, &ngroups);
		free(groups);
	}
	if (mkdir(work, 0700) != 0) {
		*cause = xasprintf("cannot create '%s': %s", work,
		    strerror(errno));
		goto out;
	}
	if (bundle_unpack(c->path, work, SPOOL_MAX_UNPACKED, geteuid() == 0,
	    c->uid, gid, cause) != 0)
		goto out;
	man = xasprintf("%s/dag.yaml", work);
	fd = open(man, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		*cause = errno == ENOENT ? xstrdup("the bundle has no dag.yaml "
		    "at its root") : xasprintf("cannot open dag.yaml: %s",
		    strerror(errno));
		free(man);
		goto out;
	}
	free(man);
	rc = fs_read_fd(fd, "dag.yaml", MANIFEST_MAX_BYTES, buf, len, cause);
	close(fd);
out:
	free(work);
	return rc;
}

static void
watch_take(struct watch *w, const char *name)
{
	struct spool_claim c;
	struct manifest *m = NULL;
	struct diags d;
	char *cause = NULL, *text, *id = NULL, *mpath = NULL, *from;
	char *buf = NULL, *shown = NULL;
	size_t len = 0;
	int rc;

	rc = spool_claim(w->sp, name, &c, &cause);
	if (rc == 2)
		return;
	if (rc == 1) {
		log_event(LOG_WARN, NULL, NULL, "reject", "file=%s", name);
		return;
	}
	if (rc < 0) {
		log_event(LOG_ERROR, NULL, NULL, "claim", "%s", cause);
		free(cause);
		return;
	}
	diags_init(&d);
	if (c.kind != SPOOL_MANIFEST) {
		/* a bundle: unpacked into the job's work/, dag.yaml at its
		 * root is the manifest */
		if (unpack_drop(w, &c, &buf, &len, &cause) != 0) {
			text = xasprintf("%s: error: %s\n", name, cause);
			free(cause);
			cause = NULL;
			goto reject;
		}
		shown = xasprintf("%s/dag.yaml", name);
	} else {
		if (fs_read_fd(c.fd, name, MANIFEST_MAX_BYTES, &buf, &len,
		    &cause) != 0) {
			text = xasprintf("%s: error: %s\n", name, cause);
			free(cause);
			cause = NULL;
			goto reject;
		}
		shown = xstrdup(name);
	}
	rc = manifest_parse(shown, buf, len, &m, &d);
	if (rc != 0) {
		text = diags_text(shown, &d);
		diags_release(&d);
		goto reject;
	}
	diags_release(&d);
	id = claim_job_id(w, name, m->name);
	if (spool_activate(w->sp, &c, id, &cause) != 0) {
		/* the claim directory still holds the file: a restart puts
		 * it back into incoming/ */
		log_event(LOG_ERROR, id, NULL, "claim", "%s", cause);
		free(cause);
		manifest_free(m);
		goto out;
	}
	mpath = xasprintf("%s/manifest.yaml", c.dir);
	from = c.path;
	if (c.kind == SPOOL_MANIFEST ? rename(from, mpath) != 0 :
	    fs_write_atomic_owned(mpath, buf, len, 0600, c.uid, c.gid,
	    &cause) != 0) {
		log_event(LOG_ERROR, id, NULL, "claim", "cannot write '%s': %s",
		    mpath, cause ? cause : strerror(errno));
		free(cause);
		manifest_free(m);
		goto out;
	}
	/* manifest.yaml carries the dropper as its owner: a restart resumes
	 * the job as that user (for a bundle we wrote the file ourselves) */
	if (geteuid() == 0 && chown(mpath, c.uid, c.gid) != 0) {
		log_event(LOG_ERROR, id, NULL, "claim", "cannot chown '%s': %s",
		    mpath, strerror(errno));
		manifest_free(m);
		goto out;
	}
	log_event(LOG_INFO, id, NULL, "claim", "file=%s uid=%ld nodes=%zu",
	    name, (long)c.uid, m->nnodes);
	(void)watch_add(w, m, id, c.dir, c.uid, c.gid, NULL);
	goto out;

reject:
	manifest_free(m);
	diags_release(&d);
	if (spool_reject_claim(w->sp, &c, text, &cause) != 0) {
		log_event(LOG_ERROR, NULL, NULL, "reject", "%s", cause);
		free(cause);
	} else
		log_event(LOG_WARN, NULL, NULL, "reject", "file=%s", name);
	free(text);
out:
	free(buf);
	free(shown);
	free(mpath);
	free(id);
	spool_claim_release(&c);
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
		if ((int)w->njobs < w->max_jobs)
			watch_take(w, v[i].name);
		free(v[i].name);
	}
	free(v);
	free(names);
}

static bool
id_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 128 || s[0] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

/* Cancel a job that is still a file in incoming/ (as `submit` names it):
 * it goes to rejected/ saying so. */
static void
cancel_queued(struct watch *w, const char *id, uid_t who)
{
	struct spool_claim c;
	char *name = xasprintf("%s.yaml", id), *cause = NULL, *text;
	struct stat st;
	char *path = xasprintf("%s/incoming/%s", spool_path(w->sp), name);

	if (lstat(path, &st) != 0) {
		log_event(LOG_WARN, id, NULL, "cancel", "no such job");
		goto out;
	}
	if (who != 0 && who != st.st_uid) {
		log_event(LOG_WARN, id, NULL, "cancel-refused",
		    "uid %ld does not own the job", (long)who);
		goto out;
	}
	if (spool_claim(w->sp, name, &c, &cause) != 0) {
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
 * job id) from the job's owner (or root) cancels it. Anything else is
 * ignored; *why then says what it is. */
static void
watch_cancel_one(struct watch *w, int dfd, const char *name, char **why)
{
	struct stat st;
	size_t k;
	bool found = false;

	if (!id_ok(name)) {
		*why = xstrdup("it is not a job id");
		return;
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT)
			*why = xasprintf("cannot stat it: %s", strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = xasprintf("it is %s, not a regular file",
		    spool_file_type(st.st_mode));
		return;
	}
	/* a hard link to another user's file would borrow its owner */
	if (st.st_nlink != 1) {
		*why = xasprintf("it has %lu links", (unsigned long)st.st_nlink);
		return;
	}
	for (k = 0; k < w->njobs; k++) {
		if (strcmp(w->jobs[k]->id, name) != 0)
			continue;
		found = true;
		if (st.st_uid != 0 && st.st_uid != w->jobs[k]->uid) {
			log_event(LOG_WARN, name, NULL, "cancel-refused",
			    "uid %ld does not own the job", (long)st.st_uid);
			break;
		}
		log_event(LOG_INFO, name, NULL, "cancel", "uid=%ld",
		    (long)st.st_uid);
		job_stop(w->jobs[k]->job, DS_CANCELLED);
	}
	if (!found)
		cancel_queued(w, name, st.st_uid);
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
	size_t i;

	(void)l;
	if (signo == SIGHUP) {
		log_event(LOG_INFO, NULL, NULL, "rescan", "SIGHUP");
		watch_cancels(w);
		watch_scan(w);
		return;
	}
	log_event(LOG_INFO, NULL, NULL, "stop", "signal %d: ending running "
	    "nodes; jobs resume at the next start", signo);
	w->stopping = true;
	for (i = 0; i < w->njobs; i++)
		if (!w->jobs[i]->over)
			job_stop(w->jobs[i]->job, DS_INTERRUPTED);
	/* an end waiting for room on the disk is finished at the next start */
	watch_reap(w);
	watch_check_done(w);
}

static void
watch_check_done(struct watch *w)
{
	size_t n, left;
	char **names;

	if (w->njobs > 0)
		return;
	if (w->stopping) {
		loop_break(w->loop);
		return;
	}
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

static void
watch_recover(struct watch *w)
{
	char *active = spool_subdir(w->sp, "active"), *p, *q, *man, *ev;
	struct dirent *e;
	struct manifest *m;
	struct diags d;
	struct stat st;
	char *cause = NULL;
	DIR *dir, *cd;

	if ((dir = opendir(active)) == NULL) {
		free(active);
		return;
	}
	while ((e = readdir(dir)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", active, e->d_name);
		if (strncmp(e->d_name, ".claim-", 7) == 0) {
			/* a claim cut short: put its file back */
			if ((cd = opendir(p)) != NULL) {
				struct dirent *f;

				while ((f = readdir(cd)) != NULL) {
					/* the dropped file only: not the
					 * work/ a bundle was unpacked to */
					if (f->d_name[0] == '.' ||
					    f->d_type == DT_DIR)
						continue;
					q = xasprintf("%s/%s", p, f->d_name);
					man = xasprintf("%s/incoming/%s",
					    spool_path(w->sp), f->d_name);
					if (rename(q, man) != 0)
						log_event(LOG_ERROR, NULL, NULL,
						    "recover", "cannot move "
						    "'%s' back: %s", q,
						    strerror(errno));
					free(q);
					free(man);
				}
				closedir(cd);
			}
			(void)fs_remove_tree(p, NULL);
			free(p);
			continue;
		}
		man = xasprintf("%s/manifest.yaml", p);
		ev = xasprintf("%s/events.log", p);
		diags_init(&d);
		if (stat(man, &st) == 0 &&
		    manifest_load(man, &m, &d, &cause) == 0) {
			struct stat est;
			bool have_log = stat(ev, &est) == 0;

			log_event(LOG_INFO, e->d_name, NULL, "resume",
			    "from %s", ev);
			/* the manifest keeps the dropper as its owner */
			(void)watch_add(w, m, e->d_name, p, st.st_uid,
			    st.st_gid, have_log ? ev : NULL);
		} else {
			log_event(LOG_ERROR, e->d_name, NULL, "resume",
			    "cannot resume: %s", cause ? cause :
			    "manifest.yaml is missing or invalid");
		}
		free(cause);
		cause = NULL;
		diags_release(&d);
		free(man);
		free(ev);
		free(p);
	}
	closedir(dir);
	free(active);
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct watch w;
	const char *dir = NULL;
	char *cause = NULL;
	int c, ifd, ret = 0;

	memset(&w, 0, sizeof w);
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
	if ((w.loop = loop_new(&cause)) == NULL ||
	    (ifd = spool_watch(w.sp, &cause)) < 0 ||
	    loop_add_fd(w.loop, ifd, EPOLLIN, on_inotify, &w) != 0) {
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
	watch_recover(&w);
	watch_cancels(&w);
	watch_scan(&w);
	watch_check_done(&w);
	if (!(w.njobs == 0 && w.drain)) {
		if (loop_run(w.loop) != 0) {
			fprintf(stderr, "dagexec: event loop: %s\n",
			    strerror(errno));
			ret = EXIT_OSERR;
			goto out;
		}
	}
	ret = w.stopping ? EXIT_TEMPFAIL : 0;
out:
	/* a bundle being packed is finished first */
	worker_free(w.packer);
	while (w.njobs > 0) {
		w.njobs--;
		wjob_free(&w, w.jobs[w.njobs]);
	}
	free(w.jobs);
	while (w.nstuck > 0)
		free(w.stuck[--w.nstuck]);
	free(w.stuck);
	if (w.reap_timer != NULL)
		loop_timer_cancel(w.loop, w.reap_timer);
	loop_free(w.loop);
	spool_free(w.sp);
	return ret;
}
