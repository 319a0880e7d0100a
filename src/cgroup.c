/*
 * cgroup v2 containment of a job and its attempts.
 *
 * A job's cgroup is JOB/ below OURS/dagexec/ (OURS: the cgroup the daemon
 * or `run` was started in); the process that runs the job (a supervisor of
 * `watch`, or `run` itself) lives in JOB/supervisor, and each attempt in a
 * sibling JOB/NODE.N, where its first process is started (spawn.c: clone3
 * with CLONE_INTO_CGROUP, or it joins before exec). So an attempt's
 * processes are found, counted and killed whatever they do to their
 * process group, session or environment, and the supervisor's own memory
 * is never charged to a node. Where the hierarchy has the memory, pids and
 * cpu controllers and they can be enabled down to JOB/, an attempt's
 * limits are set in its cgroup's files.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/syscall.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "cgroup_int.h"
#include "fsutil.h"
#include "loop.h"
#include "xmalloc.h"

#define NAME_KEEP	200	/* an encoded node id longer than this ends in
				   a hash: the name stays below NAME_MAX */
#define END_WAIT_MS	1000	/* at the job's end, for cgroups still
				   busy */

struct cgroup_job {
	int		 fd;		/* JOB/ */
	char		*path;		/* its path, for messages */
	char		*rel;		/* its path below the mount's root, as
					   /proc/PID/cgroup shows it */
	unsigned	 enabled;	/* what its attempts' cgroups have */
	/* `run` only: where we came from, to go back at the end */
	bool		 run;
	int		 base;		/* OURS/dagexec */
	int		 home;		/* OURS */
	char		*name;		/* JOB's name in base */
	char		**busy;		/* ended attempts' cgroups that were
					   not empty yet */
	size_t		 nbusy;
	size_t		 busy_cap;
};

static const struct {
	unsigned	 bit;
	const char	*name;
} cg_names[] = {
	{ CG_CPU, "cpu" },
	{ CG_MEMORY, "memory" },
	{ CG_PIDS, "pids" },
};
#define NCG (sizeof cg_names / sizeof cg_names[0])

int
cgroup_mode_parse(const char *s, enum cgroup_mode *m)
{
	if (strcmp(s, "auto") == 0)
		*m = CGROUP_AUTO;
	else if (strcmp(s, "cgroup") == 0)
		*m = CGROUP_ON;
	else if (strcmp(s, "rlimits") == 0)
		*m = CGROUP_OFF;
	else
		return -1;
	return 0;
}

const char *
containment_name(enum containment c)
{
	switch (c) {
	case CONTAIN_CGROUP:
		return "cgroup";
	case CONTAIN_NOLIMITS:
		return "cgroup-nolimits";
	case CONTAIN_RLIMITS:
	default:
		return "rlimits";
	}
}

const char *
cgroup_mask_text(unsigned mask)
{
	static const char *const texts[] = { "none", "cpu", "memory",
	    "cpu memory", "pids", "cpu pids", "memory pids",
	    "cpu memory pids" };

	return texts[mask & CG_LIMITS];
}

/* ---- files of a cgroup --------------------------------------------------- */

int
cg_write(int dirfd, const char *path, const char *text)
{
	size_t len = strlen(text);
	ssize_t r;
	int fd, saved;

	if ((fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	do
		r = write(fd, text, len);
	while (r == -1 && errno == EINTR);
	saved = errno;
	close(fd);
	if (r != (ssize_t)len) {
		errno = r == -1 ? saved : EIO;
		return -1;
	}
	return 0;
}

ssize_t
cg_read(int dirfd, const char *path, char *buf, size_t size)
{
	ssize_t r;
	size_t got = 0;
	int fd, saved;

	if ((fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (got + 1 < size) {
		r = read(fd, buf + got, size - got - 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

int64_t
cg_value(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *p = text;
	char *end;
	long long v;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
			errno = 0;
			v = strtoll(p + klen + 1, &end, 10);
			if (errno == 0 && end != p + klen + 1 && v >= 0)
				return v;
			return -1;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return -1;
}

unsigned
cg_mask(const char *text)
{
	const char *p = text, *e;
	unsigned mask = 0;
	size_t k, len;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\n')
			p++;
		for (e = p; *e != '\0' && *e != ' ' && *e != '\n'; e++)
			;
		len = (size_t)(e - p);
		for (k = 0; k < NCG; k++)
			if (strlen(cg_names[k].name) == len &&
			    strncmp(p, cg_names[k].name, len) == 0)
				mask |= cg_names[k].bit;
		p = e;
	}
	return mask;
}

unsigned
cg_read_mask(int dirfd, const char *path)
{
	char buf[512];

	if (cg_read(dirfd, path, buf, sizeof buf) < 0)
		return 0;
	return cg_mask(buf);
}

/* "+NAME" or "-NAME" (sign) into cgroup.subtree_control, one controller
 * of mask at a time: one the kernel refuses does not stop the others. */
static void
cg_control(int dirfd, unsigned mask, char sign)
{
	char text[32];
	size_t k;

	for (k = 0; k < NCG; k++) {
		if (!(mask & cg_names[k].bit))
			continue;
		snprintf(text, sizeof text, "%c%s", sign, cg_names[k].name);
		(void)cg_write(dirfd, "cgroup.subtree_control", text);
	}
}

unsigned
cg_enable(int dirfd, unsigned mask)
{
	cg_control(dirfd, mask, '+');
	return cg_read_mask(dirfd, "cgroup.subtree_control");
}

void
cg_disable(int dirfd, unsigned mask)
{
	cg_control(dirfd, mask, '-');
}

static int
cg_path(char *buf, const char *name, const char *file)
{
	int n = snprintf(buf, CG_PATH_MAX, "%s/%s", name, file);

	if (n < 0 || n >= CG_PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
cg_populated(int dirfd, const char *name)
{
	char path[CG_PATH_MAX], buf[256];
	int64_t v;

	if (cg_path(path, name, "cgroup.events") != 0 ||
	    cg_read(dirfd, path, buf, sizeof buf) < 0 ||
	    (v = cg_value(buf, "populated")) < 0)
		return -1;
	return v > 0;
}

/* Wait until dirfd/name has no process, at most wait_ms: cgroup.events
 * is read again each time the kernel says it changed (POLLPRI). */
static int
cg_wait_empty(int dirfd, const char *name, int wait_ms)
{
	struct pollfd pfd;
	char path[CG_PATH_MAX], buf[256];
	int64_t until = loop_now() + wait_ms, left;
	ssize_t r;
	int rc = -1;

	if (cg_path(path, name, "cgroup.events") != 0 ||
	    (pfd.fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	pfd.events = POLLPRI;
	for (;;) {
		r = pread(pfd.fd, buf, sizeof buf - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		buf[r] = '\0';
		if (cg_value(buf, "populated") == 0) {
			rc = 0;
			break;
		}
		if ((left = until - loop_now()) <= 0)
			break;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			break;
	}
	close(pfd.fd);
	return rc;
}

int
cg_kill_wait(int dirfd, const char *name, int wait_ms)
{
	char path[CG_PATH_MAX];

	if (cg_populated(dirfd, name) == 0)
		return 0;
	if (cg_path(path, name, "cgroup.kill") != 0 ||
	    cg_write(dirfd, path, "1") != 0)
		return -1;
	return cg_wait_empty(dirfd, name, wait_ms);
}

int
cg_open_dir(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW);
}

/* rmdir the cgroups below dirfd (but keep), deepest first; depth bounds
 * the recursion (a node may make cgroups of its own, and so on). */
static int
cg_remove_below(int dirfd, const char *keep, int depth)
{
	DIR *d;
	struct dirent *e;
	int fd, sub, failed = 0;

	if (depth > 32 || (fd = dup(dirfd)) == -1)
		return 1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0 ||
		    (keep != NULL && strcmp(e->d_name, keep) == 0))
			continue;
		if (unlinkat(dirfd, e->d_name, AT_REMOVEDIR) == 0)
			continue;
		if (errno == EBUSY && (sub = cg_open_dir(dirfd,
		    e->d_name)) != -1) {
			(void)cg_remove_below(sub, NULL, depth + 1);
			close(sub);
			if (unlinkat(dirfd, e->d_name, AT_REMOVEDIR) == 0)
				continue;
		}
		failed++;
	}
	closedir(d);
	return failed;
}

int
cg_remove(int dirfd, const char *name)
{
	int sub;

	if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return 0;
	if (errno != EBUSY)
		return -1;
	/* cgroups of its own below it (a node may make them) */
	if ((sub = cg_open_dir(dirfd, name)) == -1)
		return -1;
	(void)cg_remove_below(sub, NULL, 1);
	close(sub);
	return unlinkat(dirfd, name, AT_REMOVEDIR);
}

int
cg_remove_children(int dirfd, const char *keep)
{
	return cg_remove_below(dirfd, keep, 0);
}

int
cg_children(int dirfd, const char *keep)
{
	DIR *d;
	struct dirent *e;
	int fd, n = 0;

	if ((fd = dup(dirfd)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((e = readdir(d)) != NULL)
		if (e->d_type == DT_DIR && strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0 &&
		    (keep == NULL || strcmp(e->d_name, keep) != 0))
			n++;
	closedir(d);
	return n;
}

/* ---- where we are -------------------------------------------------------- */

/* A mountinfo field with its \ooo escapes undone, allocated. */
static char *
unescape(const char *s, size_t len)
{
	char *out = xmalloc(len + 1), *o = out;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 3 < len &&
		    s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' &&
		    s[i + 3] >= '0' && s[i + 3] <= '7') {
			*o++ = (char)((s[i + 1] - '0') * 64 +
			    (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	return out;
}

/* Field k (0-based, space-separated) of line, or NULL; *len its length. */
static const char *
field(const char *line, int k, size_t *len)
{
	const char *p = line, *e;

	while (k-- > 0) {
		if ((p = strchr(p, ' ')) == NULL)
			return NULL;
		p++;
	}
	e = strchr(p, ' ');
	*len = e != NULL ? (size_t)(e - p) : strcspn(p, "\n");
	return p;
}

/* Our cgroup v2 path, from /proc/self/cgroup ("0::/a/b"), or NULL. */
static char *
self_cgroup(char **why)
{
	char *buf, *p, *e;
	size_t len;

	if (fs_read_file("/proc/self/cgroup", 1u << 16, &buf, &len,
	    NULL) != 0) {
		*why = xasprintf("cannot read '/proc/self/cgroup': %s",
		    strerror(errno));
		return NULL;
	}
	for (p = buf; p != NULL && *p != '\0'; p = e != NULL ? e + 1 : NULL) {
		e = strchr(p, '\n');
		if (strncmp(p, "0::", 3) != 0)
			continue;
		p = xstrndup(p + 3, e != NULL ? (size_t)(e - p - 3) :
		    strlen(p + 3));
		free(buf);
		/* outside our cgroup namespace, or removed */
		if (*p != '/' || strstr(p, "/..") != NULL ||
		    strstr(p, " (deleted)") != NULL) {
			*why = xasprintf("our cgroup '%s' is not below the "
			    "hierarchy we see", p);
			free(p);
			return NULL;
		}
		return p;
	}
	free(buf);
	*why = xstrdup("no cgroup v2 hierarchy (only cgroup v1 in "
	    "/proc/self/cgroup)");
	return NULL;
}

int
cg_locate(char **mountp, char **selfp, char **why)
{
	char *buf, *line, *next, *self, *root, *mnt, *rest;
	const char *sep, *f;
	size_t len, n;

	*mountp = *selfp = NULL;
	if ((self = self_cgroup(why)) == NULL)
		return -1;
	if (fs_read_file("/proc/self/mountinfo", 1u << 22, &buf, &len,
	    NULL) != 0) {
		*why = xasprintf("cannot read '/proc/self/mountinfo': %s",
		    strerror(errno));
		free(self);
		return -1;
	}
	for (line = buf; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - TYPE */
		if ((sep = strstr(line, " - ")) == NULL ||
		    strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		if ((f = field(line, 3, &n)) == NULL)
			continue;
		root = unescape(f, n);
		if ((f = field(line, 4, &n)) == NULL) {
			free(root);
			continue;
		}
		mnt = unescape(f, n);
		/* a mount of a part of the hierarchy holds us when its root
		 * is where we are or above */
		n = strcmp(root, "/") == 0 ? 0 : strlen(root);
		if (strncmp(self, root, n) == 0 &&
		    (self[n] == '/' || self[n] == '\0')) {
			rest = xstrdup(self[n] == '\0' ? "/" : self + n);
			free(root);
			free(buf);
			free(self);
			*mountp = mnt;
			*selfp = rest;
			return 0;
		}
		free(root);
		free(mnt);
	}
	free(buf);
	*why = xasprintf("no cgroup2 file system mounted where our cgroup "
	    "'%s' can be seen", self);
	free(self);
	return -1;
}

/* mount + self, without a doubled '/'. */
static char *
join_path(const char *mount, const char *self)
{
	return strcmp(self, "/") == 0 ? xstrdup(mount) :
	    xasprintf("%s%s", mount, self);
}

long
cgroup_clone(uint64_t flags, int dirfd)
{
#ifdef SYS_clone3
	struct cgroup_clone_args ca;

	memset(&ca, 0, sizeof ca);
	ca.flags = flags | CLONE_INTO_CGROUP;
	/* with CLONE_PARENT the child's signal is our own parent's, and
	 * clone3 refuses one of ours (EINVAL) */
	ca.exit_signal = (flags & CLONE_PARENT) != 0 ? 0 : SIGCHLD;
	ca.cgroup = (uint64_t)(unsigned)dirfd;
	return syscall(SYS_clone3, &ca, sizeof ca);
#else
	(void)flags;
	(void)dirfd;
	errno = ENOSYS;
	return -1;
#endif
}

bool
cgroup_clone_refused(int err)
{
	return err == ENOSYS || err == EINVAL || err == E2BIG || err == EPERM;
}

/* A descriptor no process has: EBADF from a kernel that knows
 * CLONE_INTO_CGROUP (no process is made), EINVAL or ENOSYS from one that
 * does not. */
static bool
probe_clone3(void)
{
	return cgroup_clone(0, 0x7fffffff) == -1 && errno == EBADF;
}

/* Where we are: h's mount, self, dir, available, enabled and writable,
 * or h->why. */
static void
probe_where(struct cgroup_host *h)
{
	int fd;

	memset(h, 0, sizeof *h);
	if (cg_locate(&h->mount, &h->self, &h->why) != 0)
		return;
	h->dir = join_path(h->mount, h->self);
	if ((fd = cg_open_dir(AT_FDCWD, h->dir)) == -1) {
		h->why = xasprintf("cannot open '%s': %s", h->dir,
		    strerror(errno));
		return;
	}
	h->available = cg_read_mask(fd, "cgroup.controllers");
	h->enabled = cg_read_mask(fd, "cgroup.subtree_control");
	h->writable = faccessat(fd, ".", W_OK, 0) == 0 &&
	    faccessat(fd, "cgroup.procs", W_OK, 0) == 0;
	if (!h->writable)
		h->why = xasprintf("cannot make a cgroup in '%s': %s", h->dir,
		    strerror(errno));
	close(fd);
}

void
cgroup_probe(struct cgroup_host *h)
{
	char name[64], path[96];
	int fd;

	probe_where(h);
	h->clone3 = probe_clone3();
	if (h->dir == NULL || (fd = cg_open_dir(AT_FDCWD, h->dir)) == -1)
		return;
	h->kill = faccessat(fd, "cgroup.kill", F_OK, 0) == 0;
	/* the root cgroup has no cgroup.kill of its own: a child says */
	if (!h->kill && h->writable) {
		snprintf(name, sizeof name, ".dagexec-probe-%ld",
		    (long)getpid());
		if (mkdirat(fd, name, 0755) == 0) {
			snprintf(path, sizeof path, "%s/cgroup.kill", name);
			h->kill = faccessat(fd, path, F_OK, 0) == 0;
			(void)unlinkat(fd, name, AT_REMOVEDIR);
		}
	}
	if (h->writable && !h->kill)
		h->why = xasprintf("the cgroups of '%s' have no cgroup.kill "
		    "(Linux 5.14 or later)", h->dir);
	close(fd);
}

void
cgroup_host_release(struct cgroup_host *h)
{
	free(h->mount);
	free(h->self);
	free(h->dir);
	free(h->why);
	memset(h, 0, sizeof *h);
}

/* ---- a job's cgroup ------------------------------------------------------ */

static struct cgroup_job *
job_alloc(int fd, const char *path, const char *rel)
{
	struct cgroup_job *cj = xcalloc(1, sizeof *cj);

	cj->fd = fd;
	cj->path = xstrdup(path);
	cj->rel = xstrdup(rel);
	cj->base = cj->home = -1;
	cj->enabled = cg_read_mask(fd, "cgroup.subtree_control") & CG_LIMITS;
	return cj;
}

/* `run`: OURS/dagexec/ID/supervisor made and joined, or -1 with *why
 * (what was made is undone). */
static int
run_make(const struct cgroup_host *h, const char *id, struct cgroup_job **out,
    char **why)
{
	char *path = NULL, *rel = NULL;
	int home = -1, base = -1, job = -1, saved;
	const char *step;

	step = "open";
	if ((home = cg_open_dir(AT_FDCWD, h->dir)) == -1)
		goto fail;
	step = "make";
	if (mkdirat(home, "dagexec", 0755) != 0 && errno != EEXIST)
		goto fail;
	if ((base = cg_open_dir(home, "dagexec")) == -1)
		goto fail;
	if (mkdirat(base, id, 0755) != 0)
		goto fail;
	if ((job = cg_open_dir(base, id)) == -1 ||
	    mkdirat(job, "supervisor", 0755) != 0)
		goto fail_made;
	if (faccessat(job, "cgroup.kill", F_OK, 0) != 0) {
		errno = ENOSYS;
		step = "kill (no cgroup.kill: Linux 5.14 or later) with";
		goto fail_made;
	}
	step = "join";
	if (cg_write(job, "supervisor/cgroup.procs", "0") != 0)
		goto fail_made;
	/* the controllers on the way down, where they can be had: OURS
	 * must hold no process of its own for that (cgroup v2's rule), so
	 * only a cgroup of our own (a service's, a scope's) gets them */
	(void)cg_enable(home, h->available & CG_LIMITS);
	(void)cg_enable(base, cg_read_mask(base, "cgroup.controllers") &
	    CG_LIMITS);
	(void)cg_enable(job, cg_read_mask(job, "cgroup.controllers") &
	    CG_LIMITS);
	path = xasprintf("%s/dagexec/%s", h->dir, id);
	rel = strcmp(h->self, "/") == 0 ? xasprintf("/dagexec/%s", id) :
	    xasprintf("%s/dagexec/%s", h->self, id);
	*out = job_alloc(job, path, rel);
	(*out)->run = true;
	(*out)->base = base;
	(*out)->home = home;
	(*out)->name = xstrdup(id);
	free(path);
	free(rel);
	return 0;

fail_made:
	saved = errno;
	if (job != -1)
		close(job);
	(void)cg_remove(base, id);
	errno = saved;
fail:
	saved = errno;
	*why = xasprintf("cannot %s the cgroup '%s/dagexec/%s': %s", step,
	    h->dir, id, strerror(saved));
	if (base != -1)
		close(base);
	if (home != -1)
		close(home);
	return -1;
}

int
cgroup_job_run(const char *id, enum cgroup_mode mode, struct cgroup_job **out,
    char **why)
{
	struct cgroup_host h;
	int rc = 0;

	*out = NULL;
	*why = NULL;
	if (mode == CGROUP_OFF)
		return 0;
	/* where we are (without cgroup_probe's trial cgroup: run_make
	 * finds out the rest) */
	probe_where(&h);
	if (h.why != NULL) {
		*why = h.why;
		h.why = NULL;
	} else if (run_make(&h, id, out, why) != 0)
		*out = NULL;
	if (*out == NULL && mode == CGROUP_ON)
		rc = -1;
	cgroup_host_release(&h);
	return rc;
}

struct cgroup_job *
cgroup_job_self(void)
{
	static const char sup[] = "/supervisor";
	struct cgroup_job *cj = NULL;
	char *mount, *self, *why = NULL, *end, *path, *slash;
	size_t n, k = sizeof sup - 1;
	int fd;

	if (cg_locate(&mount, &self, &why) != 0) {
		free(why);
		return NULL;
	}
	/* .../dagexec/NAME/supervisor: the daemon started us there, in the
	 * cgroup it made when it claimed the file (or for the job's id) */
	n = strlen(self);
	end = self + n;
	if (n > k && strcmp(end - k, sup) == 0) {
		end[-(ptrdiff_t)k] = '\0';
		slash = strrchr(self, '/');
		if (slash != NULL && slash > self && slash[1] != '\0' &&
		    slash - self >= 8 && strncmp(slash - 8, "/dagexec", 8) == 0) {
			path = join_path(mount, self);
			if ((fd = cg_open_dir(AT_FDCWD, path)) != -1)
				cj = job_alloc(fd, path, self);
			free(path);
		}
	}
	free(mount);
	free(self);
	return cj;
}

enum containment
cgroup_job_containment(const struct cgroup_job *cj)
{
	if (cj == NULL)
		return CONTAIN_RLIMITS;
	return (cj->enabled & CG_LIMITS) == CG_LIMITS ? CONTAIN_CGROUP :
	    CONTAIN_NOLIMITS;
}

unsigned
cgroup_job_controllers(const struct cgroup_job *cj)
{
	return cj != NULL ? cj->enabled : 0;
}

char *
cgroup_job_why(const struct cgroup_job *cj, unsigned missing)
{
	if (cj == NULL)
		return xstrdup("containment here is rlimits (no cgroup of "
		    "its own for each attempt)");
	return xasprintf("the cgroup '%s' has no %s controller for its "
	    "attempts", cj->path, cgroup_mask_text(missing & ~cj->enabled));
}

/* Remember an ended attempt's cgroup that is not empty yet. */
static void
busy_add(struct cgroup_job *cj, const char *name)
{
	xgrow(&cj->busy, &cj->busy_cap, cj->nbusy + 1, sizeof *cj->busy);
	cj->busy[cj->nbusy++] = xstrdup(name);
}

/* Remove what became empty of the busy ones (wait_ms: how long to wait
 * for each). */
static void
busy_sweep(struct cgroup_job *cj, int wait_ms)
{
	size_t k = 0;

	while (k < cj->nbusy) {
		if ((wait_ms == 0 || cg_kill_wait(cj->fd, cj->busy[k],
		    wait_ms) == 0) && cg_remove(cj->fd, cj->busy[k]) == 0) {
			free(cj->busy[k]);
			cj->busy[k] = cj->busy[--cj->nbusy];
		} else
			k++;
	}
}

char *
cg_node_name(const char *node)
{
	static const char keep[] = "._-=,[]";
	const unsigned char *p;
	uint64_t h = 0xcbf29ce484222325ULL;
	char *out = xmalloc(strlen(node) * 3 + 1), *o = out;

	for (p = (const unsigned char *)node; *p != '\0'; p++) {
		h = (h ^ *p) * 0x100000001b3ULL;
		if (isalnum(*p) || (strchr(keep, *p) != NULL))
			*o++ = (char)*p;
		else
			o += sprintf(o, "%%%02X", *p);
	}
	*o = '\0';
	if (o - out > NAME_KEEP)
		sprintf(out + NAME_KEEP - 17, "~%016" PRIx64, h);
	return out;
}

int
cgroup_job_kill_node(struct cgroup_job *cj, const char *node)
{
	DIR *d;
	struct dirent *e;
	char *prefix, path[CG_PATH_MAX], buf[4096];
	const char *p;
	size_t n;
	int fd, killed = 0;

	if (cj == NULL || (fd = dup(cj->fd)) == -1)
		return 0;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	prefix = cg_node_name(node);
	n = strlen(prefix);
	while ((e = readdir(d)) != NULL) {
		if (e->d_type != DT_DIR || strncmp(e->d_name, prefix, n) != 0 ||
		    e->d_name[n] != '.' || e->d_name[n + 1] == '\0')
			continue;
		for (p = e->d_name + n + 1; *p >= '0' && *p <= '9'; p++)
			;
		if (*p != '\0')
			continue;
		/* its processes, to say how many */
		if (cg_path(path, e->d_name, "cgroup.procs") == 0 &&
		    cg_read(cj->fd, path, buf, sizeof buf) > 0)
			for (p = buf; (p = strchr(p, '\n')) != NULL; p++)
				killed++;
		if (cg_kill_wait(cj->fd, e->d_name, END_WAIT_MS) != 0 ||
		    cg_remove(cj->fd, e->d_name) != 0)
			busy_add(cj, e->d_name);
	}
	closedir(d);
	free(prefix);
	return killed;
}

void
cgroup_job_free(struct cgroup_job *cj)
{
	size_t k;

	if (cj == NULL)
		return;
	busy_sweep(cj, END_WAIT_MS);
	if (cj->run) {
		/* back where we came from, then what is left of the job (a
		 * process that moved itself out of its attempt's cgroup)
		 * dies with it; where we cannot go back (OURS got the
		 * controllers), only the attempts' cgroups are emptied */
		if (cgroup_join(cj->home) == 0) {
			(void)cg_kill_wait(cj->base, cj->name, END_WAIT_MS);
			(void)cg_remove(cj->base, cj->name);
		} else
			(void)cg_remove_children(cj->fd, "supervisor");
		close(cj->home);
		close(cj->base);
	}
	for (k = 0; k < cj->nbusy; k++)
		free(cj->busy[k]);
	free(cj->busy);
	close(cj->fd);
	free(cj->name);
	free(cj->path);
	free(cj->rel);
	free(cj);
}

/* ---- an attempt's cgroup ------------------------------------------------- */

/* Set the limits of lim in cgroup name; -1 with *cause. */
static int
attempt_limits(struct cgroup_job *cj, const char *name,
    const struct cgroup_limits *lim, char **cause)
{
	char path[CG_PATH_MAX], v[64];
	const char *file = NULL;

	if (lim->memory > 0 && (cj->enabled & CG_MEMORY)) {
		snprintf(v, sizeof v, "%" PRId64, lim->memory);
		if (cg_path(path, name, file = "memory.max") != 0 ||
		    cg_write(cj->fd, path, v) != 0)
			goto fail;
		/* no swap to escape the limit into; one OOM kill ends the
		 * whole attempt, not a random process of it (files absent
		 * without swap accounting or on older kernels) */
		if (cg_path(path, name, file = "memory.swap.max") != 0 ||
		    (cg_write(cj->fd, path, "0") != 0 && errno != ENOENT))
			goto fail;
		if (cg_path(path, name, file = "memory.oom.group") != 0 ||
		    (cg_write(cj->fd, path, "1") != 0 && errno != ENOENT))
			goto fail;
	}
	if (lim->pids > 0 && (cj->enabled & CG_PIDS)) {
		snprintf(v, sizeof v, "%" PRId64, lim->pids);
		if (cg_path(path, name, file = "pids.max") != 0 ||
		    cg_write(cj->fd, path, v) != 0)
			goto fail;
	}
	if (lim->cpus_milli > 0 && (cj->enabled & CG_CPU)) {
		/* a quota of that many CPUs' time each 100 ms period */
		snprintf(v, sizeof v, "%" PRId64 " 100000",
		    lim->cpus_milli * 100);
		if (cg_path(path, name, file = "cpu.max") != 0 ||
		    cg_write(cj->fd, path, v) != 0)
			goto fail;
	}
	return 0;
fail:
	*cause = xasprintf("cannot set '%s' of the cgroup '%s/%s': %s", file,
	    cj->path, name, strerror(errno));
	return -1;
}

int
cgroup_attempt_new(struct cgroup_job *cj, const char *node, int attempt,
    const struct cgroup_limits *lim, char **namep, char **cause)
{
	char *base, *name;
	int fd, saved;

	if (cj->nbusy > 0)
		busy_sweep(cj, 0);
	base = cg_node_name(node);
	name = xasprintf("%s.%d", base, attempt);
	free(base);
	if (mkdirat(cj->fd, name, 0755) != 0) {
		saved = errno;
		/* an earlier run's, not known to us: what is in it goes */
		if (saved != EEXIST ||
		    cg_kill_wait(cj->fd, name, END_WAIT_MS) != 0 ||
		    cg_remove(cj->fd, name) != 0 ||
		    mkdirat(cj->fd, name, 0755) != 0) {
			*cause = xasprintf("cannot make the cgroup '%s/%s': %s",
			    cj->path, name, strerror(saved));
			free(name);
			return -1;
		}
	}
	if (attempt_limits(cj, name, lim, cause) != 0)
		goto fail;
	/* O_PATH: for clone3(CLONE_INTO_CGROUP), a path for openat; no
	 * kernfs file is opened (which costs) */
	if ((fd = openat(cj->fd, name, O_PATH | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		*cause = xasprintf("cannot open '%s/%s': %s", cj->path, name,
		    strerror(errno));
		goto fail;
	}
	*namep = name;
	return fd;
fail:
	(void)cg_remove(cj->fd, name);
	free(name);
	return -1;
}

/* Does pid (held by pidfd) belong to cgroup rel/name? /proc/PID/cgroup
 * says so, and the pidfd still being alive afterwards says that it was
 * that process's. */
static bool
pid_in(const struct cgroup_job *cj, const char *name, pid_t pid)
{
	char path[64], buf[4096], *p;
	size_t rl = strlen(cj->rel), nl = strlen(name);

	snprintf(path, sizeof path, "/proc/%ld/cgroup", (long)pid);
	if (cg_read(AT_FDCWD, path, buf, sizeof buf) < 0)
		return false;
	for (p = buf; p != NULL; p = strchr(p, '\n') != NULL ?
	    strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, "0::", 3) == 0)
			return strncmp(p + 3, cj->rel, rl) == 0 &&
			    p[3 + rl] == '/' &&
			    strncmp(p + 4 + rl, name, nl) == 0 &&
			    (p[4 + rl + nl] == '\n' || p[4 + rl + nl] == '\0');
	}
	return false;
}

int
cgroup_attempt_signal(struct cgroup_job *cj, const char *name, int sig)
{
	char path[CG_PATH_MAX], buf[16384], *p, *end;
	long pid;
	int n = 0, pfd;

	if (cj == NULL || name == NULL)
		return 0;
	if (sig == SIGKILL) {
		if (cg_populated(cj->fd, name) == 0)
			return 0;
		return cg_path(path, name, "cgroup.kill") == 0 &&
		    cg_write(cj->fd, path, "1") == 0;
	}
	if (cg_path(path, name, "cgroup.procs") != 0 ||
	    cg_read(cj->fd, path, buf, sizeof buf) < 0)
		return 0;
	for (p = buf; *p != '\0'; p = end) {
		pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid <= 1)
			continue;
		/* a pid read from the list may be gone and reused since:
		 * hold the process first, then check it is ours */
		pfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
		if (pfd == -1) {
			if (errno == ENOSYS && kill((pid_t)pid, sig) == 0)
				n++;
			continue;
		}
		if (pid_in(cj, name, (pid_t)pid) &&
		    syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) == 0)
			n++;
		close(pfd);
	}
	return n;
}

/* What cgroup name used: cpu.stat, and memory.peak and memory.events
 * with the memory controller. */
static void
attempt_usage(const struct cgroup_job *cj, const char *name,
    struct cgroup_usage *u)
{
	char path[CG_PATH_MAX], buf[4096];
	int64_t v;

	/* every process that ran in it, waited for or not */
	if (cg_path(path, name, "cpu.stat") == 0 &&
	    cg_read(cj->fd, path, buf, sizeof buf) > 0 &&
	    (v = cg_value(buf, "usage_usec")) >= 0)
		u->cpu_ms = v / 1000;
	if (cj->enabled & CG_MEMORY) {
		if (cg_path(path, name, "memory.peak") == 0 &&
		    cg_read(cj->fd, path, buf, sizeof buf) > 0 &&
		    (v = strtoll(buf, NULL, 10)) >= 0)
			u->peak_kb = v / 1024;
		if (cg_path(path, name, "memory.events") == 0 &&
		    cg_read(cj->fd, path, buf, sizeof buf) > 0 &&
		    (v = cg_value(buf, "oom_kill")) > 0)
			u->oom_kills = v;
	}
}

void
cgroup_attempt_end(struct cgroup_job *cj, const char *name, int wait_ms,
    struct cgroup_usage *u)
{
	char path[CG_PATH_MAX], buf[4096], *p;

	u->cpu_ms = u->peak_kb = -1;
	u->oom_kills = 0;
	u->leftovers = 0;
	u->gone = false;
	/* the usual end: nothing is left, and the rmdir says so (a read of
	 * cgroup.events first would cost an open a node) */
	attempt_usage(cj, name, u);
	if (unlinkat(cj->fd, name, AT_REMOVEDIR) == 0) {
		u->gone = true;
		return;
	}
	if (errno != EBUSY)
		return;
	if (cg_populated(cj->fd, name) > 0) {
		if (cg_path(path, name, "cgroup.procs") == 0 &&
		    cg_read(cj->fd, path, buf, sizeof buf) > 0)
			for (p = buf; (p = strchr(p, '\n')) != NULL; p++)
				u->leftovers++;
		if (u->leftovers == 0)
			u->leftovers = 1;	/* in cgroups below it */
		(void)cg_kill_wait(cj->fd, name, wait_ms);
		attempt_usage(cj, name, u);
	}
	if (cg_remove(cj->fd, name) == 0)
		u->gone = true;
	else
		busy_add(cj, name);
}

int
cgroup_join(int dirfd)
{
	ssize_t r;
	int fd, saved;

	if ((fd = openat(dirfd, "cgroup.procs", O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	do
		r = write(fd, "0", 1);
	while (r == -1 && errno == EINTR);
	saved = errno;
	close(fd);
	errno = saved;
	return r == 1 ? 0 : -1;
}
