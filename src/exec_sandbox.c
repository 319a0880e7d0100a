/*
 * The directories of sandboxed attempts: each attempt gets one of its own
 * in io/ (its side files, and tmp/, its TMPDIR), empty, made before it;
 * after it, what it left there is removed and the directory is gone from
 * its place.
 *
 * Making and removing directories for every node is what a sandbox costs
 * most, and not on the loop: a thread of the job's makes a few ahead,
 * under names of their own (sandbox.PID.SEQ), and the loop only takes one
 * (it makes one itself when none is ready); an attempt's end hands the
 * thread its directory to retire and a new one to make, in one task.
 *
 * A directory serves a later attempt only when nothing of the earlier one
 * can reach it any more (its processes, under a Landlock ruleset that
 * names the directory's inode, would keep their access): an attempt
 * that ran in a cgroup of its own under Landlock cannot write to
 * cgroup.procs, so none of its processes left that cgroup, and once the
 * cgroup is removed none lives. Such an attempt's directory, its side
 * files unlinked and its tmp/ found empty, goes back to the pool as it is
 * (its mode reset): no inode is made or freed for the next attempt.
 *
 * Another ended attempt's directory is emptied (a TMPDIR may hold much) and
 * moved, empty, into io/sandbox.ended/, which goes at the job's end: on
 * ext4 without a journal, a new inode skips those freed in the last 5
 * seconds (recently_deleted), so a directory made right after thousands
 * were removed cost milliseconds of CPU each; moved aside, none is freed
 * while the job makes new ones.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"
#include "job_int.h"
#include "worker.h"
#include "xmalloc.h"

#define SB_POOL		4	/* directories made ahead */
#define SB_ENDED	"sandbox.ended"	/* where ended ones wait, in io/ */

/* One piece of work for the job's thread: an ended attempt's directory
 * to retire, and one to make for the pool (one wakeup of the thread for
 * both, an attempt's end refilling what its start took); either may be
 * NULL. */
struct sbtask {
	struct sbtask	*next;		/* in j->sbtasks */
	struct job	*job;
	size_t		 node;		/* whose directory retires (SIZE_MAX:
					   none) */
	char		*retire;	/* absolute */
	char		*name;		/* to retire, io/-relative */
	char		*ended;		/* io/sandbox.ended, absolute */
	char		*make;		/* to make, io/-relative */
	char		*make_path;	/* absolute */
	char		*error;		/* set on the thread */
	bool		 reuse;		/* retire may serve again */
	bool		 reused;	/* it will: back to the pool */
	bool		 made;
};

/* Make path and path/tmp, mode 0700; what an interrupted run left under
 * that name goes first. 0, or -1 with *cause. */
static int
sb_make(const char *path, char **cause)
{
	char *tmp = xasprintf("%s/tmp", path);
	int rc = -1;

	if (mkdir(path, 0700) != 0 && (errno != EEXIST ||
	    fs_remove_tree(path, cause) != 0 || mkdir(path, 0700) != 0)) {
		if (*cause == NULL)
			*cause = xasprintf("cannot create '%s': %s", path,
			    strerror(errno));
		goto out;
	}
	if (mkdir(tmp, 0700) != 0) {
		*cause = xasprintf("cannot create '%s': %s", tmp,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	return rc;
}

/* Whether the directory open as fd (taken) holds nothing; errors count as
 * not empty. */
static bool
sb_fd_empty(int fd)
{
	struct dirent *e;
	bool empty = true;
	DIR *d;

	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return false;
	}
	while (empty && (e = readdir(d)) != NULL)
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/* Whether directory path (not a link) holds nothing; a path that does not
 * exist counts as empty, errors as not. */
static bool
sb_empty(const char *path)
{
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT;
	return sb_fd_empty(fd);
}

/* Make the ended attempt's directory at path ready for another: its side
 * files unlinked, modes back to 0700. Only when what is left is an empty
 * tmp/ of its own (a directory, not a link), else false and the directory
 * is retired as any other. */
static bool
sb_recycle(const char *path)
{
	struct dirent *e;
	struct stat st;
	bool ok = true, tmp = false;
	int fd, tfd = -1;
	DIR *d;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return false;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return false;
	}
	while (ok && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (strcmp(e->d_name, "tmp") == 0)
			tmp = ok = fstatat(fd, "tmp", &st,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
		else
			ok = unlinkat(fd, e->d_name, 0) == 0;
	}
	if (ok && tmp)
		tfd = openat(fd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	ok = tfd != -1 && fchmod(tfd, 0700) == 0 && fchmod(fd, 0700) == 0 &&
	    sb_fd_empty(tfd);
	closedir(d);
	return ok;
}

/* An ended attempt's directory: emptied of what its TMPDIR holds, then
 * moved into io/sandbox.ended/ (its side files are read and removed, or
 * small); removed at once when it cannot be moved. */
static void
sb_retire(struct sbtask *t)
{
	char *tmp, *to;

	tmp = xasprintf("%s/tmp", t->retire);
	if (!sb_empty(tmp) && fs_remove_tree(tmp, &t->error) != 0) {
		free(tmp);
		return;
	}
	free(tmp);
	to = xasprintf("%s/%s", t->ended, t->name);
	if (rename(t->retire, to) == 0 || (errno == ENOENT &&
	    (mkdir(t->ended, 0700) == 0 || errno == EEXIST) &&
	    rename(t->retire, to) == 0)) {
		free(to);
		return;
	}
	free(to);
	if (errno != ENOENT)
		(void)fs_remove_tree(t->retire, &t->error);
}

/* On the job's thread: touches the task's own strings only. */
static void
sb_work(void *arg)
{
	struct sbtask *t = arg;
	char *cause = NULL;

	if (t->retire != NULL) {
		if (t->reuse && sb_recycle(t->retire))
			t->reused = true;
		else
			sb_retire(t);
	}
	if (t->make == NULL || t->reused)
		return;
	if (sb_make(t->make_path, &cause) == 0)
		t->made = true;
	else if (t->error == NULL)
		t->error = cause;
	else
		free(cause);
}

/* Back on the loop (or at the drain): a made directory joins the pool;
 * a failure is logged. */
static void
sb_done(void *arg)
{
	struct sbtask *t = arg, **pp;
	struct job *j = t->job;

	for (pp = &j->sbtasks; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	if (t->error != NULL)
		job_log(j, LOG_WARN, t->node, "sandbox", "%s", t->error);
	if (t->reused) {
		xgrow(&j->sbpool, &j->sbpool_cap, j->nsbpool + 1,
		    sizeof *j->sbpool);
		j->sbpool[j->nsbpool++] = t->name;
		t->name = NULL;
	}
	if (t->made) {
		xgrow(&j->sbpool, &j->sbpool_cap, j->nsbpool + 1,
		    sizeof *j->sbpool);
		j->sbpool[j->nsbpool++] = t->make;
		t->make = NULL;
	}
	free(t->error);
	free(t->retire);
	free(t->name);
	free(t->ended);
	free(t->make);
	free(t->make_path);
	free(t);
}

static char *
sb_name(struct job *j)
{
	return xasprintf("sandbox.%ld.%u", (long)getpid(), ++j->sbseq);
}

/* Directories made or being made ahead: what the pool will hold. */
static size_t
sb_ahead(const struct job *j)
{
	const struct sbtask *t;
	size_t n = j->nsbpool;

	for (t = j->sbtasks; t != NULL; t = t->next)
		if (t->make != NULL)
			n++;
	return n;
}

/* Give the thread node's directory name (io/-relative, taken; NULL: none)
 * to retire (or, with reuse, to recycle), and a new one to make when the
 * pool is short (and the retired one does not serve). */
static void
sb_queue(struct job *j, size_t node, char *name, bool reuse)
{
	struct sbtask *t;

	t = xcalloc(1, sizeof *t);
	t->job = j;
	t->node = node;
	t->reuse = reuse;
	if (name != NULL) {
		t->name = name;
		t->retire = xasprintf("%s/io/%s", j->dir, name);
		t->ended = xasprintf("%s/io/%s", j->dir, SB_ENDED);
	}
	if (sb_ahead(j) < SB_POOL) {
		t->make = sb_name(j);
		t->make_path = xasprintf("%s/io/%s", j->dir, t->make);
	}
	if (t->retire == NULL && t->make == NULL) {
		free(t);
		return;
	}
	t->next = j->sbtasks;
	j->sbtasks = t;
	if (j->sbworker == NULL)
		j->sbworker = worker_new(j->loop);
	worker_run(j->sbworker, sb_work, sb_done, t);
}

int
exec_sandbox_take(struct job *j, size_t i, char **cause)
{
	struct nodeproc *np = job_proc(j, i);
	char *name, *path;

	if (np->sbdir != NULL)
		exec_sandbox_remove(j, i, false);
	if (j->nsbpool > 0) {
		name = j->sbpool[--j->nsbpool];
	} else {
		name = sb_name(j);
		path = xasprintf("%s/io/%s", j->dir, name);
		if (sb_make(path, cause) != 0) {
			(void)fs_remove_tree(path, NULL);
			free(path);
			free(name);
			return -1;
		}
		free(path);
	}
	np->sbdir = name;
	/* the first attempts fill the pool; then each end refills it */
	if (sb_ahead(j) == 0)
		while (sb_ahead(j) < SB_POOL)
			sb_queue(j, SIZE_MAX, NULL, false);
	return 0;
}

void
exec_sandbox_remove(struct job *j, size_t i, bool reuse)
{
	struct nodeproc *np = j->procs[i];

	if (np == NULL || np->sbdir == NULL)
		return;
	sb_queue(j, i, np->sbdir, reuse);
	np->sbdir = NULL;
}

/* Whether name is one of ours: sandbox.ended, or sandbox.DIGITS.DIGITS,
 * which no node's side file or Slurm file is (theirs end in a suffix:
 * .output, .sbatch...). */
static bool
sb_ours(const char *name)
{
	const char *p;
	int dots = 0;

	if (strcmp(name, SB_ENDED) == 0)
		return true;
	if (strncmp(name, "sandbox.", 8) != 0)
		return false;
	for (p = name + 8; *p != '\0'; p++) {
		if (*p == '.' && p[-1] != '.' && p[1] != '\0')
			dots++;
		else if (*p < '0' || *p > '9')
			return false;
	}
	return dots == 1 && name[8] != '.';
}

/* Remove io/name and what is in it now, on the loop. */
static void
sb_remove_now(struct job *j, const char *name)
{
	char *path, *cause = NULL;

	path = xasprintf("%s/io/%s", j->dir, name);
	if (fs_remove_tree(path, &cause) != 0) {
		job_log(j, LOG_WARN, SIZE_MAX, "sandbox", "%s", cause);
		free(cause);
	}
	free(path);
}

/* Remove io/sandbox.ended/ at the job's end: most of what it holds is an
 * empty directory with an empty tmp/, two rmdir each. */
static void
sb_purge(struct job *j)
{
	struct dirent *e;
	char *ended, *p, *tmp;
	DIR *d;

	ended = xasprintf("%s/io/%s", j->dir, SB_ENDED);
	if ((d = opendir(ended)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			p = xasprintf("%s/%s", ended, e->d_name);
			tmp = xasprintf("%s/tmp", p);
			if ((rmdir(tmp) != 0 && errno != ENOENT) ||
			    rmdir(p) != 0)
				sb_remove_now(j, p + strlen(j->dir) + 4);
			free(tmp);
			free(p);
		}
		closedir(d);
	}
	free(ended);
	sb_remove_now(j, SB_ENDED);
}

void
exec_sandbox_leftovers(struct job *j)
{
	struct dirent *e;

	/* now, before any directory is made: a name of the interrupted
	 * run's may come again (the same pid) */
	if (j->io_dir == NULL)
		return;
	rewinddir(j->io_dir);
	while ((e = readdir(j->io_dir)) != NULL)
		if (sb_ours(e->d_name))
			sb_remove_now(j, e->d_name);
	rewinddir(j->io_dir);
}

void
exec_sandbox_drain(struct job *j)
{
	if (j->sbseq == 0)
		return;		/* no sandboxed attempt ran */
	worker_free(j->sbworker);	/* waits for its work */
	j->sbworker = NULL;
	while (j->sbtasks != NULL)
		sb_done(j->sbtasks);
	/* the few made ahead that no attempt took, and the ended ones */
	while (j->nsbpool > 0) {
		sb_remove_now(j, j->sbpool[--j->nsbpool]);
		free(j->sbpool[j->nsbpool]);
	}
	sb_purge(j);
	free(j->sbpool);
	j->sbpool = NULL;
	j->sbpool_cap = 0;
}

void
exec_sandbox_note(struct job *j, size_t i, enum sandbox_level level)
{
	if (level == SANDBOX_UNSET)
		return;
	if (j->sandbox == NULL)
		j->sandbox = xcalloc(j->m->nnodes, sizeof *j->sandbox);
	if (level > j->sandbox[i]) {
		j->sandbox[i] = (unsigned char)level;
		job_state_node(j, i);
	}
}
