/*
 * The daemon's side of cgroup containment, as root: `watch` lives in
 * OURS/dagexec/daemon, and each job in OURS/dagexec/JOB/, made by root and
 * given to the job's user (the directory, cgroup.procs, cgroup.threads and
 * cgroup.subtree_control: the kernel's delegation), with its supervisor in
 * JOB/supervisor, which stays root's, so that no node of that user can move
 * itself next to the supervisor; the supervisor makes JOB/NODE.N for its
 * attempts. When a supervisor ends, JOB/ is killed whole (a node may have
 * moved itself into JOB/ or into another node's cgroup: the user owns
 * them) and removed.
 *
 * Root writes inside JOB/ after giving it away (the supervisor's
 * cgroup.procs, cgroup.kill, rmdir): cgroupfs holds no symbolic links and
 * no file a user can make, only directories whose files the kernel makes,
 * so nothing there can point root elsewhere.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "cgroup_int.h"
#include "log.h"
#include "loop.h"
#include "xmalloc.h"

#define JOB_WAIT_MS	200	/* for a killed job's processes to go,
				   before the loop goes on */
#define RETRY_MS	500	/* then retried this often */
#define RETRIES		40

struct cgroup_daemon {
	struct loop		*loop;
	int			 home;		/* OURS */
	int			 base;		/* OURS/dagexec */
	char			*path;		/* its path */
	unsigned		 enabled;	/* what a job's cgroup gets */
	unsigned		 ours;		/* enabled in OURS by us */
	char			**busy;		/* killed jobs not yet removed */
	size_t			 nbusy;
	size_t			 busy_cap;
	int			 tries;
	struct loop_timer	*timer;
};

static void	retry_cb(struct loop *, void *);

/* OURS: where we were started; a daemon started again from the leaf of
 * an earlier one (OURS/dagexec/daemon) uses the same OURS. */
static char *
home_path(const char *mount, const char *self)
{
	static const char leaf[] = "/dagexec/daemon";
	size_t n = strlen(self), k = sizeof leaf - 1;

	if (n > k && strcmp(self + n - k, leaf) == 0)
		return xasprintf("%s%.*s", mount, (int)(n - k), self);
	return strcmp(self, "/") == 0 ? xstrdup(mount) :
	    xasprintf("%s%s", mount, self);
}

/* Make OURS/dagexec/daemon and move into it; the controllers below. */
static int
daemon_make(struct cgroup_daemon *d, const char *home, char **why)
{
	unsigned before;
	const char *step = "open";

	if ((d->home = cg_open_dir(AT_FDCWD, home)) == -1)
		goto fail;
	step = "make";
	if ((mkdirat(d->home, "dagexec", 0755) != 0 && errno != EEXIST) ||
	    (d->base = cg_open_dir(d->home, "dagexec")) == -1 ||
	    (mkdirat(d->base, "daemon", 0755) != 0 && errno != EEXIST))
		goto fail;
	if (faccessat(d->base, "cgroup.kill", F_OK, 0) != 0) {
		*why = xasprintf("'%s/dagexec' has no cgroup.kill (Linux 5.14 "
		    "or later)", home);
		return -1;
	}
	step = "join";
	if (cg_write(d->base, "daemon/cgroup.procs", "0") != 0)
		goto fail;
	/* OURS may hold no process of its own once it has controllers for
	 * its children (cgroup v2's rule): a service's own cgroup (systemd
	 * Delegate=yes) gets them, a shell's does not */
	before = cg_read_mask(d->home, "cgroup.subtree_control");
	d->ours = cg_enable(d->home, cg_read_mask(d->home,
	    "cgroup.controllers") & CG_LIMITS) & ~before;
	d->enabled = cg_enable(d->base, cg_read_mask(d->base,
	    "cgroup.controllers") & CG_LIMITS) & CG_LIMITS;
	return 0;
fail:
	*why = xasprintf("cannot %s the cgroup '%s/dagexec/daemon': %s", step,
	    home, strerror(errno));
	return -1;
}

struct cgroup_daemon *
cgroup_daemon_new(struct loop *l, enum cgroup_mode mode, char **why)
{
	struct cgroup_daemon *d;
	char *mount, *self, *home;

	*why = NULL;
	if (mode == CGROUP_OFF)
		return NULL;
	if (cg_locate(&mount, &self, why) != 0)
		return NULL;
	home = home_path(mount, self);
	free(mount);
	free(self);
	d = xcalloc(1, sizeof *d);
	d->loop = l;
	d->home = d->base = -1;
	if (daemon_make(d, home, why) != 0) {
		if (d->base != -1)
			close(d->base);
		if (d->home != -1)
			close(d->home);
		free(d);
		free(home);
		return NULL;
	}
	d->path = xasprintf("%s/dagexec", home);
	free(home);
	return d;
}

char *
cgroup_daemon_describe(const struct cgroup_daemon *d)
{
	if ((d->enabled & CG_LIMITS) == CG_LIMITS)
		return xasprintf("cgroup: jobs in '%s' with the cpu, memory "
		    "and pids controllers", d->path);
	return xasprintf("cgroup-nolimits: jobs in '%s', controllers: %s "
	    "(limits.memory is RLIMIT_AS; limits.pids and limits.cpus fail "
	    "a node unless best_effort)", d->path,
	    cgroup_mask_text(d->enabled));
}

/* A job id as a cgroup name: what the spool made it, checked again. */
static bool
job_ok(const char *job)
{
	return job != NULL && *job != '\0' && strchr(job, '/') == NULL &&
	    strchr(job, '\n') == NULL && strcmp(job, ".") != 0 &&
	    strcmp(job, "..") != 0 && strcmp(job, "daemon") != 0;
}

/* job is no longer one to remove (a new supervisor takes it over). */
static void
busy_forget(struct cgroup_daemon *d, const char *job)
{
	size_t k;

	for (k = 0; k < d->nbusy; k++)
		if (strcmp(d->busy[k], job) == 0) {
			free(d->busy[k]);
			d->busy[k] = d->busy[--d->nbusy];
			return;
		}
}

/* JOB/ emptied of an earlier supervisor's leftovers, or made; with
 * JOB/supervisor root's and the rest given to uid:gid. Returns
 * JOB/supervisor opened O_PATH, or -1 (logged). */
static int
job_prepare(struct cgroup_daemon *d, const char *job, const char *id,
    uid_t uid, gid_t gid)
{
	static const char *const given[] = { ".", "cgroup.procs",
	    "cgroup.threads", "cgroup.subtree_control" };
	const char *step = "make";
	size_t k;
	int fd = -1, procs = -1;

	if (!job_ok(job))
		return -1;
	busy_forget(d, job);
	if (mkdirat(d->base, job, 0755) != 0) {
		if (errno != EEXIST)
			goto fail;
		/* a supervisor that is gone (its lock says so) left it:
		 * what still runs there is killed, its cgroups removed */
		step = "empty";
		if (cg_populated(d->base, job) > 0)
			log_event(LOG_WARN, id, NULL, "leftover", "killing what "
			    "is left in '%s/%s' from its last supervisor",
			    d->path, job);
		if (cg_kill_wait(d->base, job, 1000) != 0)
			goto fail;
	}
	if ((fd = cg_open_dir(d->base, job)) == -1)
		goto fail;
	if (cg_remove_children(fd, NULL) != 0) {
		errno = EBUSY;
		goto fail;
	}
	step = "prepare";
	if (mkdirat(fd, "supervisor", 0755) != 0)
		goto fail;
	(void)cg_enable(fd, d->enabled);
	if (uid != geteuid() || gid != getegid())
		for (k = 0; k < sizeof given / sizeof given[0]; k++)
			if (fchownat(fd, given[k], uid, gid,
			    AT_SYMLINK_NOFOLLOW) != 0 && errno != ENOENT)
				goto fail;
	if ((procs = openat(fd, "supervisor", O_PATH | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		goto fail;
	close(fd);
	return procs;
fail:
	log_event(LOG_WARN, id, NULL, "cgroup", "cannot %s '%s/%s': %s; the "
	    "job runs with rlimits", step, d->path, job, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

int
cgroup_daemon_job(struct cgroup_daemon *d, const char *job, const char *id,
    uid_t uid, gid_t gid)
{
	return d != NULL ? job_prepare(d, job, id, uid, gid) : -1;
}

static void
busy_later(struct cgroup_daemon *d)
{
	if (d->timer == NULL && d->nbusy > 0)
		d->timer = loop_timer_at(d->loop, loop_now() + RETRY_MS,
		    retry_cb, d);
}

/* Kill and remove job's cgroup: true once it is gone. */
static bool
job_remove(struct cgroup_daemon *d, const char *job, int wait_ms)
{
	if (cg_kill_wait(d->base, job, wait_ms) != 0 && wait_ms > 0)
		return false;
	return cg_remove(d->base, job) == 0;
}

static void
retry_cb(struct loop *l, void *arg)
{
	struct cgroup_daemon *d = arg;
	size_t k = 0;

	(void)l;
	d->timer = NULL;
	d->tries++;
	while (k < d->nbusy) {
		if (job_remove(d, d->busy[k], 0)) {
			free(d->busy[k]);
			d->busy[k] = d->busy[--d->nbusy];
			continue;
		}
		if (d->tries >= RETRIES) {
			log_event(LOG_WARN, d->busy[k], NULL, "cgroup", "'%s/%s' "
			    "is still busy after cgroup.kill; left as it is",
			    d->path, d->busy[k]);
			free(d->busy[k]);
			d->busy[k] = d->busy[--d->nbusy];
			continue;
		}
		k++;
	}
	if (d->nbusy == 0)
		d->tries = 0;
	busy_later(d);
}

void
cgroup_daemon_end(struct cgroup_daemon *d, const char *job, const char *id)
{
	if (d == NULL || !job_ok(job))
		return;
	/* a node's process that left the node's group or session, or its
	 * cgroup for another of the job's, is still here */
	if (cg_populated(d->base, job) > 0)
		log_event(LOG_WARN, id, NULL, "leftover", "killing what is "
		    "left in '%s/%s' after its supervisor ended", d->path,
		    job);
	if (job_remove(d, job, JOB_WAIT_MS))
		return;
	if (errno == ENOENT)
		return;
	xgrow(&d->busy, &d->busy_cap, d->nbusy + 1, sizeof *d->busy);
	d->busy[d->nbusy++] = xstrdup(job);
	busy_later(d);
}

void
cgroup_daemon_free(struct cgroup_daemon *d)
{
	size_t k;

	if (d == NULL)
		return;
	loop_timer_cancel(d->loop, d->timer);
	for (k = 0; k < d->nbusy; k++)
		free(d->busy[k]);
	free(d->busy);
	/* no job below us: give the controllers back, so that a service
	 * manager may start the next daemon in OURS (it may hold a process
	 * again only without them) */
	if (cg_children(d->base, "daemon") == 0) {
		cg_disable(d->base, d->enabled);
		cg_disable(d->home, d->ours);
	}
	close(d->base);
	close(d->home);
	free(d->path);
	free(d);
}
