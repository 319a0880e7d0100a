#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "job.h"
#include "log.h"
#include "spool.h"
#include "xmalloc.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

struct spool {
	char	*path;		/* absolute */
	int	 dirfd;
	int	 lockfd;
	int	 ifd;		/* inotify */
	int	 wd[3];		/* watches: incoming, cancel, the spool */
};

static const char *const spool_watched[] = { "incoming", "cancel" };
#define SPOOL_SUB_MASK	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | \
			 IN_ATTRIB | IN_ONLYDIR | IN_DELETE_SELF | IN_MOVE_SELF)

static const struct {
	const char	*name;
	mode_t		 mode;
} spool_dirs[] = {
	{ "incoming",	01733 },	/* anyone drops; nobody reads another's */
	{ "active",	0755 },
	{ "done",	0755 },
	{ "rejected",	0755 },
	{ "cancel",	01733 },
	{ "tmp",	01733 },
	{ "users",	0755 },	/* users/UID/: each user's own (0700) */
	{ "claims",	0711 },	/* root's: claimed files and job locks */
	{ "schedules",	01733 },	/* recurring and one-shot manifests */
	{ "sched",	0711 },	/* root's: what it knows of them */
};

const char *
spool_default(void)
{
	const char *s = getenv("DAGEXEC_SPOOL");

	if (s != NULL && *s != '\0')
		return s;
	return LOCALSTATEDIR "/spool/dagexec";
}

const char *
spool_path(const struct spool *sp)
{
	return sp->path;
}

char *
spool_subdir(const struct spool *sp, const char *sub)
{
	return xasprintf("%s/%s", sp->path, sub);
}

struct spool *
spool_open(const char *dir, bool create, char **cause)
{
	struct spool *sp = xcalloc(1, sizeof *sp);
	struct stat st;
	size_t i;
	char *p;

	sp->dirfd = sp->lockfd = sp->ifd = -1;
	sp->wd[0] = sp->wd[1] = sp->wd[2] = -1;
	if (create && fs_mkdirs(dir, 0755, cause) != 0)
		goto fail;
	if ((sp->path = realpath(dir, NULL)) == NULL) {
		*cause = xasprintf("cannot open spool '%s': %s", dir,
		    strerror(errno));
		goto fail;
	}
	sp->dirfd = open(sp->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0) {
		*cause = xasprintf("cannot open spool '%s': %s", sp->path,
		    strerror(errno));
		goto fail;
	}
	for (i = 0; i < sizeof spool_dirs / sizeof spool_dirs[0]; i++) {
		if (fstatat(sp->dirfd, spool_dirs[i].name, &st,
		    AT_SYMLINK_NOFOLLOW) == 0) {
			if (!S_ISDIR(st.st_mode)) {
				*cause = xasprintf("'%s/%s' is not a directory",
				    sp->path, spool_dirs[i].name);
				goto fail;
			}
			/* fix the modes of a layout made by hand (or git) */
			if (create && (st.st_mode & 07777) !=
			    spool_dirs[i].mode && st.st_uid == geteuid())
				(void)fchmodat(sp->dirfd, spool_dirs[i].name,
				    spool_dirs[i].mode, 0);
			continue;
		}
		if (errno != ENOENT || !create) {
			*cause = xasprintf("cannot open '%s/%s': %s", sp->path,
			    spool_dirs[i].name, strerror(errno));
			goto fail;
		}
		if (mkdirat(sp->dirfd, spool_dirs[i].name, 0700) != 0 ||
		    fchmodat(sp->dirfd, spool_dirs[i].name,
		    spool_dirs[i].mode, 0) != 0) {
			p = spool_subdir(sp, spool_dirs[i].name);
			*cause = xasprintf("cannot create '%s': %s", p,
			    strerror(errno));
			free(p);
			goto fail;
		}
	}
	return sp;
fail:
	spool_free(sp);
	return NULL;
}

void
spool_free(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->ifd >= 0)
		close(sp->ifd);
	if (sp->lockfd >= 0)
		close(sp->lockfd);
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	free(sp->path);
	free(sp);
}

/* The whole of a file, for an OFD write lock. */
static void
whole_file(struct flock *fl)
{
	memset(fl, 0, sizeof *fl);
	fl->l_type = F_WRLCK;
	fl->l_whence = SEEK_SET;
}

/*
 * Two locks on SPOOL/lock, both on the open file description (so held
 * until the daemon ends, whatever it forks): a flock, which is what
 * daemons of the first release take, and an OFD lock, which `submit` can
 * test with F_OFD_GETLK without taking it. A flock cannot be tested
 * without taking it, and a test that took it, however briefly, could make
 * a daemon that is starting at that moment fail.
 */
int
spool_lock(struct spool *sp, char **cause)
{
	struct flock fl;
	char buf[32];
	ssize_t n;
	int fd;

	fd = openat(sp->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0644);
	if (fd < 0) {
		*cause = xasprintf("cannot open '%s/lock': %s", sp->path,
		    strerror(errno));
		return -1;
	}
	whole_file(&fl);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0 ||
	    fcntl(fd, F_OFD_SETLK, &fl) != 0) {
		if (errno == EWOULDBLOCK || errno == EAGAIN ||
		    errno == EACCES) {
			n = pread(fd, buf, sizeof buf - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			*cause = xasprintf("spool '%s' is served by pid %s",
			    sp->path, *buf ? buf : "(unknown)");
		} else
			*cause = xasprintf("cannot lock '%s/lock': %s",
			    sp->path, strerror(errno));
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		*cause = xasprintf("cannot write '%s/lock': %s", sp->path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	sp->lockfd = fd;
	return 0;
}

int
spool_served(const char *dir, char **cause)
{
	struct flock fl;
	char *path = xasprintf("%s/lock", dir);
	int fd, rc;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY);
	if (fd < 0 && errno == ENOENT) {
		free(path);
		return 0;
	}
	whole_file(&fl);
	if (fd < 0 || fcntl(fd, F_OFD_GETLK, &fl) != 0) {
		*cause = xasprintf("cannot test '%s': %s", path,
		    strerror(errno));
		rc = -1;
	} else
		rc = fl.l_type != F_UNLCK;
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

int
spool_check(const char *dir, char **cause)
{
	static const char *const subs[] = { "incoming", "tmp" };
	struct stat st;
	size_t i;
	char *p;

	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			*cause = xasprintf("spool '%s' does not exist: `dagexec "
			    "watch -s %s` creates it (run it as root for a "
			    "spool shared by several users)", dir, dir);
		else
			*cause = xasprintf("cannot open spool '%s': %s", dir,
			    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		*cause = xasprintf("spool '%s' is not a directory", dir);
		return -1;
	}
	for (i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		p = xasprintf("%s/%s", dir, subs[i]);
		if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
			*cause = xasprintf("'%s' is not a dagexec spool (it has "
			    "no %s/): `dagexec watch -s %s` makes its layout",
			    dir, subs[i], dir);
			free(p);
			return -1;
		}
		free(p);
	}
	return 0;
}

int
spool_watch(struct spool *sp, char **cause)
{
	size_t i;
	char *p;

	sp->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (sp->ifd < 0) {
		*cause = xasprintf("inotify: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < 2; i++) {
		p = spool_subdir(sp, spool_watched[i]);
		sp->wd[i] = inotify_add_watch(sp->ifd, p, SPOOL_SUB_MASK);
		if (sp->wd[i] < 0) {
			*cause = xasprintf("cannot watch '%s': %s", p,
			    strerror(errno));
			free(p);
			return -1;
		}
		free(p);
	}
	/* the spool itself: a sub-directory removed or renamed away is
	 * watched again when it comes back */
	sp->wd[2] = inotify_add_watch(sp->ifd, sp->path, IN_CREATE |
	    IN_MOVED_TO | IN_ONLYDIR);
	if (sp->wd[2] < 0) {
		*cause = xasprintf("cannot watch '%s': %s", sp->path,
		    strerror(errno));
		return -1;
	}
	return sp->ifd;
}

/* Watch sub-directory i again, now that a directory of its name is back. */
static void
spool_rewatch(struct spool *sp, size_t i)
{
	char *p = spool_subdir(sp, spool_watched[i]);
	int wd;

	wd = inotify_add_watch(sp->ifd, p, SPOOL_SUB_MASK);
	if (wd < 0)
		log_event(LOG_WARN, NULL, NULL, "spool", "cannot watch '%s': "
		    "%s", p, strerror(errno));
	else {
		if (wd != sp->wd[i])
			log_event(LOG_INFO, NULL, NULL, "spool",
			    "'%s' is back: watched again", p);
		sp->wd[i] = wd;
	}
	free(p);
}

void
spool_drain(struct spool *sp, bool *incoming, bool *cancel)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	size_t i;
	char *p, *path;

	for (;;) {
		n = read(sp->ifd, buf, sizeof buf);
		if (n <= 0)
			return;
		for (p = buf; p < buf + n; p += sizeof *ev + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW) {
				*incoming = *cancel = true;
				continue;
			}
			if (ev->wd == sp->wd[2]) {
				for (i = 0; i < 2; i++) {
					if (ev->len == 0 || strcmp(ev->name,
					    spool_watched[i]) != 0)
						continue;
					spool_rewatch(sp, i);
					if (i == 0)
						*incoming = true;
					else
						*cancel = true;
				}
				continue;
			}
			for (i = 0; i < 2; i++)
				if (ev->wd == sp->wd[i])
					break;
			if (i == 2)
				continue;
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
				path = spool_subdir(sp, spool_watched[i]);
				log_event(LOG_WARN, NULL, NULL, "spool",
				    "'%s' was %s: nothing is taken from it "
				    "until it is back", path,
				    (ev->mask & IN_DELETE_SELF) ? "removed" :
				    "renamed away");
				free(path);
				if (ev->mask & IN_MOVE_SELF)
					inotify_rm_watch(sp->ifd, ev->wd);
				sp->wd[i] = -1;
				continue;
			}
			if (i == 0)
				*incoming = true;
			else
				*cancel = true;
		}
	}
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
name_candidate(const char *name)
{
	size_t len = strlen(name);

	if (name[0] == '.')
		return false;
	if (len >= 4 && strcmp(name + len - 4, ".tmp") == 0)
		return false;
	return true;
}

/* The names in sub/, sorted: with all, every one but "." and ".."; else
 * the candidates only. */
static char **
spool_read_dir(struct spool *sp, const char *sub, bool all, size_t *np)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *d;
	int fd;

	*np = 0;
	fd = openat(sp->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return NULL;
	}
	while ((e = readdir(d)) != NULL) {
		if (all ? strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0 : !name_candidate(e->d_name))
			continue;
		xgrow(&v, &cap, n + 1, sizeof *v);
		v[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof *v, name_cmp);
	*np = n;
	return v;
}

int
spool_user_dir(struct spool *sp, uid_t uid, gid_t gid, char **path,
    char **cause)
{
	char name[32];
	struct stat st;
	int ufd;

	*path = NULL;
	snprintf(name, sizeof name, "%ld", (long)uid);
	ufd = openat(sp->dirfd, "users", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (ufd < 0) {
		*cause = xasprintf("cannot open '%s/users': %s", sp->path,
		    strerror(errno));
		return -1;
	}
	/* made once, by root, in root's users/; from then on the user's */
	if (mkdirat(ufd, name, 0700) == 0 &&
	    fchownat(ufd, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
		*cause = xasprintf("cannot give '%s/users/%s' to uid %ld: %s",
		    sp->path, name, (long)uid, strerror(errno));
		(void)unlinkat(ufd, name, AT_REMOVEDIR);
		close(ufd);
		return -1;
	}
	if (fstatat(ufd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISDIR(st.st_mode) || st.st_uid != uid) {
		*cause = xasprintf("'%s/users/%s' is not a directory of uid "
		    "%ld", sp->path, name, (long)uid);
		close(ufd);
		return -1;
	}
	close(ufd);
	*path = xasprintf("%s/users/%s", sp->path, name);
	return 0;
}

char **
spool_list(struct spool *sp, const char *sub, size_t *np)
{
	return spool_read_dir(sp, sub, false, np);
}

char **
spool_list_all(struct spool *sp, const char *sub, size_t *np)
{
	return spool_read_dir(sp, sub, true, np);
}

const char *
spool_file_type(mode_t mode)
{
	if (S_ISREG(mode))
		return "a regular file";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISLNK(mode))
		return "a symbolic link";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	return "a special file";
}

int
spool_remove(struct spool *sp, const char *sub, const char *name,
    char **cause)
{
	int fd, rc;

	fd = openat(sp->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		*cause = xasprintf("cannot open '%s/%s': %s", sp->path, sub,
		    strerror(errno));
		return -1;
	}
	/* unlinkat never follows a link: the name itself goes, whatever it
	 * is; a directory needs AT_REMOVEDIR and goes only when empty */
	rc = unlinkat(fd, name, 0);
	if (rc != 0 && errno == EISDIR)
		rc = unlinkat(fd, name, AT_REMOVEDIR);
	if (rc != 0 && errno == ENOENT)
		rc = 0;
	if (rc != 0)
		*cause = xasprintf("cannot remove '%s/%s': %s", sub, name,
		    strerror(errno));
	close(fd);
	return rc;
}

int
spool_clean_temps(struct spool *sp, const char *sub, bool (*match)(
    const char *name, const struct stat *st, void *arg), void *arg,
    char **cause)
{
	char **names, *why = NULL, *p;
	size_t n, i;
	struct stat st;
	int fd, removed = 0;

	fd = openat(sp->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		*cause = xasprintf("cannot open '%s/%s': %s", sp->path, sub,
		    strerror(errno));
		return -1;
	}
	names = spool_list_all(sp, sub, &n);
	for (i = 0; i < n; i++) {
		if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISDIR(st.st_mode) && match(names[i], &st, arg)) {
			p = log_escape(names[i], strlen(names[i]));
			if (unlinkat(fd, names[i], 0) == 0) {
				log_event(LOG_INFO, NULL, NULL, "cleanup",
				    "removed '%s/%s': left by an earlier run",
				    sub, p);
				removed++;
			} else if (why == NULL)
				why = xasprintf("cannot remove '%s/%s': %s",
				    sub, p, strerror(errno));
			free(p);
		}
		free(names[i]);
	}
	free(names);
	close(fd);
	if (why != NULL) {
		*cause = why;
		return -1;
	}
	return removed;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

int
spool_kind(const char *name, enum spool_kind *k)
{
	if (ends_with(name, ".yaml") || ends_with(name, ".yml"))
		*k = SPOOL_MANIFEST;
	else if (ends_with(name, ".tar"))
		*k = SPOOL_TAR;
	else if (ends_with(name, ".tar.gz") || ends_with(name, ".tgz"))
		*k = SPOOL_TGZ;
	else if (ends_with(name, ".tar.zst"))
		*k = SPOOL_TZST;
	else if (ends_with(name, ".retry"))
		*k = SPOOL_RETRY;
	else
		return -1;
	return 0;
}

/* A new name in dir for base: base, base.1, base.2, ... */
static char *
free_name(int dirfd, const char *base)
{
	char *n = xstrdup(base), *e;
	struct stat st;
	int i;

	for (i = 1; i < 10000; i++) {
		e = xasprintf("%s.error", n);
		if (fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) != 0 &&
		    errno == ENOENT &&
		    fstatat(dirfd, e, &st, AT_SYMLINK_NOFOLLOW) != 0 &&
		    errno == ENOENT) {
			free(e);
			return n;
		}
		free(e);
		free(n);
		n = xasprintf("%s.%d", base, i);
	}
	return n;
}

/* Move incoming/NAME (whatever it is) to rejected/ with its .error. */
static int
reject_in_place(struct spool *sp, const char *from_sub, const char *name,
    const char *text, char **cause)
{
	int from = -1, to = -1, rc = -1;
	char *dest = NULL, *epath = NULL, *errtext;
	struct stat st;

	from = openat(sp->dirfd, from_sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	to = openat(sp->dirfd, "rejected", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (from < 0 || to < 0) {
		*cause = xasprintf("cannot open the spool's directories: %s",
		    strerror(errno));
		goto out;
	}
	dest = free_name(to, name);
	if (renameat(from, name, to, dest) != 0) {
		*cause = xasprintf("cannot move '%s' to rejected/: %s", name,
		    strerror(errno));
		goto out;
	}
	/* what was dropped, and why it was refused, are the dropper's alone:
	 * a manifest may hold a token. No link is followed to change it, and
	 * a file of more than one link is left as it is: its other name may
	 * be someone else's file */
	if (fstatat(to, dest, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		st.st_uid = 0;
		st.st_gid = 0;
	} else if (S_ISDIR(st.st_mode) || (!S_ISLNK(st.st_mode) &&
	    st.st_nlink == 1))
		(void)fchmodat(to, dest, S_ISDIR(st.st_mode) ? 0700 : 0600,
		    AT_SYMLINK_NOFOLLOW);
	epath = xasprintf("%s/rejected/%s.error", sp->path, dest);
	errtext = xasprintf("%s%s", text,
	    text[0] != '\0' && text[strlen(text) - 1] == '\n' ? "" : "\n");
	rc = fs_write_atomic_owned(epath, errtext, strlen(errtext), 0600,
	    st.st_uid, st.st_gid, cause);
	free(errtext);
out:
	if (from >= 0)
		close(from);
	if (to >= 0)
		close(to);
	free(dest);
	free(epath);
	return rc;
}

int
spool_reject_file(struct spool *sp, const char *sub, const char *name,
    const char *text, char **cause)
{
	return reject_in_place(sp, sub, name, text, cause);
}

/* What we checked is what we claimed (the name could have been replaced
 * between the check and the rename): the descriptor of dfd/name when it
 * is the file st describes, a plain file of one link; else -1. */
static int
claimed_same(int dfd, const char *name, const struct stat *st)
{
	struct stat st2;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY);
	if (fd >= 0 && (fstat(fd, &st2) != 0 || !S_ISREG(st2.st_mode) ||
	    st2.st_dev != st->st_dev || st2.st_ino != st->st_ino ||
	    st2.st_nlink != 1)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

#define CLAIM_REPLACED	"the file was replaced while it was being claimed"

int
spool_claim(struct spool *sp, const char *name, struct spool_claim *c,
    char **cause)
{
	return spool_claim_from(sp, "incoming", name, c, cause);
}

int
spool_claim_from(struct spool *sp, const char *sub, const char *name,
    struct spool_claim *c, char **cause)
{
	struct stat st;
	unsigned char r[4];
	char *dir = NULL, *why = NULL;
	int in = -1, fd, dfd = -1, mk, rc;
	enum spool_kind kind = SPOOL_MANIFEST;

	memset(c, 0, sizeof *c);
	c->fd = -1;
	in = openat(sp->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (in < 0) {
		*cause = xasprintf("cannot open '%s/%s': %s", sp->path, sub,
		    strerror(errno));
		return -1;
	}
	fd = openat(in, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT) {
			close(in);
			return 2;
		}
		if (errno == ELOOP)
			why = xasprintf("'%s' is a symbolic link: not followed",
			    name);
		else if (errno == ENXIO)
			why = xasprintf("'%s' is not a regular file (a socket)",
			    name);
		else
			why = xasprintf("cannot open '%s': %s", name,
			    strerror(errno));
		goto reject;
	}
	if (fstat(fd, &st) != 0) {
		why = xasprintf("cannot stat '%s': %s", name, strerror(errno));
		close(fd);
		goto reject;
	}
	/* a file still being written (created in place, not renamed in) is
	 * left for its close-after-write event: a read lease is granted only
	 * when nobody has the file open for writing */
	if (S_ISREG(st.st_mode) && fcntl(fd, F_SETLEASE, F_RDLCK) != 0 &&
	    errno == EAGAIN) {
		close(fd);
		close(in);
		return 2;
	}
	(void)fcntl(fd, F_SETLEASE, F_UNLCK);
	close(fd);
	if (!S_ISREG(st.st_mode))
		why = xasprintf("'%s' is not a regular file (%s)", name,
		    S_ISDIR(st.st_mode) ? "a directory" :
		    S_ISFIFO(st.st_mode) ? "a FIFO" :
		    S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" :
		    "a special file");
	else if (st.st_nlink != 1)
		why = xasprintf("'%s' has %lu links: a dropped file must have "
		    "exactly one", name, (unsigned long)st.st_nlink);
	else if (spool_kind(name, &kind) != 0)
		why = xasprintf("'%s' is neither a manifest (.yaml, .yml), a "
		    "bundle (.tar, .tar.gz, .tgz, .tar.zst) nor a retry request "
		    "(.retry)", name);
	else if (kind == SPOOL_MANIFEST && st.st_size > SPOOL_MAX_INPUT)
		why = xasprintf("'%s' is larger than %u bytes", name,
		    SPOOL_MAX_INPUT);
	else if (kind == SPOOL_RETRY && st.st_size > SPOOL_MAX_RETRY)
		why = xasprintf("'%s' is larger than %u bytes", name,
		    SPOOL_MAX_RETRY);
	else if (kind != SPOOL_MANIFEST && st.st_size > SPOOL_MAX_BUNDLE)
		why = xasprintf("'%s' is larger than %u bytes", name,
		    SPOOL_MAX_BUNDLE);
	if (why != NULL)
		goto reject;

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
		r[0] = (unsigned char)getpid();
		r[1] = (unsigned char)st.st_ino;
		r[2] = (unsigned char)(st.st_ino >> 8);
		r[3] = (unsigned char)st.st_size;
	}
	/* claims/.claim-NAME, so that `status --follow` finds a job being
	 * taken in by name (a name in flight twice gets a random one) */
	dir = xasprintf("%s/claims/.claim-%s", sp->path, name);
	mk = strlen(name) + 7 <= NAME_MAX ? mkdir(dir, 0711) : -1;
	if (mk != 0) {
		free(dir);
		dir = xasprintf("%s/claims/.claim-%02x%02x%02x%02x", sp->path,
		    r[0], r[1], r[2], r[3]);
		mk = mkdir(dir, 0711);
	}
	if (mk != 0 ||
	    (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		*cause = xasprintf("cannot create '%s': %s", dir,
		    strerror(errno));
		free(dir);
		close(in);
		return -1;
	}
	if (renameat(in, name, dfd, name) != 0) {
		int saved = errno;

		close(dfd);
		rmdir(dir);
		free(dir);
		close(in);
		if (saved == ENOENT)
			return 2;
		*cause = xasprintf("cannot claim '%s': %s", name,
		    strerror(saved));
		return -1;
	}
	close(in);
	/* not synced: after a crash the file is in incoming/ or in its
	 * claim, and is taken up again from either; what a job relies on is
	 * synced when it is named (spool_activate) */
	fd = claimed_same(dfd, name, &st);
	close(dfd);
	if (fd < 0) {
		c->name = xstrdup(name);
		c->dir = dir;
		c->path = xasprintf("%s/%s", dir, name);
		rc = spool_reject_claim(sp, c, CLAIM_REPLACED, cause);
		spool_claim_release(c);
		if (rc == 0)
			*cause = xstrdup(CLAIM_REPLACED);
		return rc != 0 ? -1 : 1;
	}
	/* the dropper's alone from here on, whatever their umask: a bundle
	 * is kept beside the job, a manifest becomes its manifest.yaml */
	(void)fchmod(fd, 0600);
	c->fd = fd;
	c->name = xstrdup(name);
	c->dir = dir;
	c->path = xasprintf("%s/%s", dir, name);
	c->kind = kind;
	c->uid = st.st_uid;
	c->gid = st.st_gid;
	c->size = st.st_size;
	return 0;

reject:
	close(in);
	if (reject_in_place(sp, sub, name, why, cause) != 0) {
		free(why);
		return -1;
	}
	*cause = why;
	return 1;
}

int
spool_reject_claim(struct spool *sp, struct spool_claim *c, const char *text,
    char **cause)
{
	char *sub = xasprintf("claims/%s", strrchr(c->dir, '/') + 1);
	int rc;

	rc = reject_in_place(sp, sub, c->name, text, cause);
	free(sub);
	if (rc == 0)
		(void)fs_remove_tree(c->dir, NULL);
	return rc;
}

int
spool_activate(struct spool *sp, struct spool_claim *c, const char *job,
    char **cause)
{
	char *dest = xasprintf("%s/claims/%s", sp->path, job);
	char *jdir = xasprintf("%s/active/%s", sp->path, job);
	int fd;

	/* the job directory is the owner's from the start: everything in
	 * it is made by the job's supervisor, as the owner; root made it in
	 * its own active/ and changes its owner through the descriptor */
	if (mkdir(jdir, 0700) != 0) {
		*cause = xasprintf("cannot create '%s': %s", jdir,
		    strerror(errno));
		goto fail;
	}
	fd = open(jdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || (geteuid() == 0 && fchown(fd, c->uid, c->gid) != 0)) {
		*cause = xasprintf("cannot give '%s' to uid %ld: %s", jdir,
		    (long)c->uid, strerror(errno));
		if (fd >= 0)
			close(fd);
		(void)rmdir(jdir);
		goto fail;
	}
	close(fd);
	if (rename(c->dir, dest) != 0) {
		*cause = xasprintf("cannot rename '%s' to '%s': %s", c->dir,
		    dest, strerror(errno));
		(void)rmdir(jdir);
		goto fail;
	}
	(void)fs_sync_parent(jdir);
	(void)fs_sync_parent(dest);
	free(jdir);
	free(c->dir);
	c->dir = dest;
	free(c->path);
	c->path = xasprintf("%s/%s", dest, c->name);
	return 0;
fail:
	free(jdir);
	free(dest);
	return -1;
}

int
spool_job_lock(struct spool *sp, const char *claim, bool take, char **cause)
{
	struct flock fl;
	char *path = xasprintf("%s/claims/%s/lock", sp->path, claim);
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		*cause = xasprintf("cannot open '%s': %s", path,
		    strerror(errno));
		free(path);
		return -1;
	}
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, take ? F_OFD_SETLK : F_OFD_GETLK, &fl) != 0) {
		if (take && (errno == EAGAIN || errno == EACCES))
			*cause = xasprintf("'%s' is held", path);
		else
			*cause = xasprintf("cannot lock '%s': %s", path,
			    strerror(errno));
		close(fd);
		free(path);
		return take && (errno == EAGAIN || errno == EACCES) ? -2 : -1;
	}
	free(path);
	if (!take) {
		close(fd);
		return fl.l_type == F_UNLCK ? 0 : 1;
	}
	return fd;
}

/* Is id in use: a job in active/ or claims/, or a bundle in done/? A dropped
 * file must never take over another job's id, nor overwrite its results. */
static bool
id_taken(struct spool *sp, const char *id)
{
	static const char *const where[][2] = { { "active", "" },
	    { "claims", "" }, { "done", ".tar.gz" }, { "done", ".tar.zst" } };
	struct stat st;
	bool taken = false;
	size_t i;
	char *p;

	for (i = 0; i < sizeof where / sizeof where[0] && !taken; i++) {
		p = xasprintf("%s/%s/%s%s", sp->path, where[i][0],
		    id, where[i][1]);
		taken = lstat(p, &st) == 0 || errno != ENOENT;
		free(p);
	}
	return taken;
}

bool
spool_word_ok(const char *s, size_t max)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > max || s[0] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

/* A DAG name as the manifest allows it: what a job id is made from. */
static bool
name_ok(const char *s)
{
	return s[0] != '-' && spool_word_ok(s, 64);
}

#define ID_SUFFIX_LEN	21	/* -YYYYMMDDTHHMMSS-XXXX */

bool
spool_job_id_ok(const char *id)
{
	regex_t re;
	size_t n = strlen(id);
	char *name;
	bool ok = false;

	if (n <= ID_SUFFIX_LEN || regcomp(&re, "-[0-9]{8}T[0-9]{6}-[0-9a-f]{4}$",
	    REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	if (regexec(&re, id + n - ID_SUFFIX_LEN, 0, NULL, 0) == 0) {
		name = xstrndup(id, n - ID_SUFFIX_LEN);
		ok = name_ok(name);
		free(name);
	}
	regfree(&re);
	return ok;
}

/* The job id a submitted file carries in its name (NAME-TS-XXXX.yaml with
 * NAME the DAG's name), or a new one. */
static char *
claim_job_id(struct spool *sp, const char *file, const char *name)
{
	static const char *const exts[] = { ".yaml", ".yml", ".tar.gz",
	    ".tgz", ".tar.zst", ".tar", ".retry" };
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
	if (spool_job_id_ok(stem) && strlen(stem) == strlen(name) +
	    ID_SUFFIX_LEN && strncmp(stem, name, strlen(name)) == 0)
		id = xstrdup(stem);
	free(stem);
	for (;;) {
		if (id == NULL)
			id = job_make_id(name);
		if (!id_taken(sp, id))
			return id;
		free(id);
		id = NULL;
	}
}

char *
spool_job_id(struct spool *sp, const char *file, const char *name)
{
	if (!name_ok(name))
		return NULL;
	return claim_job_id(sp, file, name);
}

int
spool_store_bundle(struct spool *sp, const char *job, int fd, off_t size,
    uid_t uid, gid_t gid, char **cause)
{
	char *dest, *tmp, buf[65536];
	off_t left = size;
	ssize_t n;
	int out, rc = -1;

	dest = xasprintf("%s/done/%s.tar.gz", sp->path, job);
	tmp = xasprintf("%s.tmp.%ld", dest, (long)getpid());
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (out < 0) {
		*cause = xasprintf("cannot create '%s': %s", tmp,
		    strerror(errno));
		goto out;
	}
	while (left > 0) {
		n = copy_file_range(fd, NULL, out, NULL, (size_t)left, 0);
		if (n < 0 && (errno == EXDEV || errno == EINVAL ||
		    errno == ENOSYS || errno == EOPNOTSUPP)) {
			n = read(fd, buf, left < (off_t)sizeof buf ?
			    (size_t)left : sizeof buf);
			if (n > 0 && fs_write_all(out, buf, (size_t)n) != 0)
				n = -1;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		left -= n;
	}
	if (left != 0 || fsync(out) != 0 || (geteuid() == 0 &&
	    fchown(out, uid, gid) != 0)) {
		*cause = xasprintf("cannot write '%s': %s", tmp, left != 0 &&
		    errno == 0 ? "the bundle shrank" : strerror(errno));
		goto out;
	}
	if (close(out) != 0 || (out = -1, rename(tmp, dest) != 0)) {
		*cause = xasprintf("cannot write '%s': %s", dest,
		    strerror(errno));
		goto out;
	}
	(void)fs_sync_parent(dest);
	rc = 0;
out:
	if (out >= 0)
		close(out);
	if (rc != 0)
		(void)unlink(tmp);
	free(tmp);
	free(dest);
	return rc;
}

/* Only the directory and its top-level plain files are changed, without
 * following anything: the owner could create nothing at that level. */
int
spool_adopt_legacy(struct spool *sp, const char *job, uid_t *uid, gid_t *gid)
{
	char *p = xasprintf("%s/active/%s", sp->path, job);
	struct stat st, fst;
	struct dirent *e;
	DIR *d;
	int dfd, rc = -1;

	dfd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	free(p);
	if (dfd < 0 || fstat(dfd, &st) != 0 ||
	    fstatat(dfd, "manifest.yaml", &fst, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISREG(fst.st_mode)) {
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	*uid = fst.st_uid;
	*gid = fst.st_gid;
	if (st.st_uid == *uid) {
		close(dfd);
		return 0;
	}
	if (st.st_uid != 0 || (d = fdopendir(dup(dfd))) == NULL) {
		close(dfd);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (fstatat(dfd, e->d_name, &fst, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(fst.st_mode) && fst.st_uid == 0)
			(void)fchownat(dfd, e->d_name, *uid, *gid,
			    AT_SYMLINK_NOFOLLOW);
	}
	closedir(d);
	rc = fchown(dfd, *uid, *gid) == 0 && fchmod(dfd, 0700) == 0 ? 0 : -1;
	close(dfd);
	return rc;
}

void
spool_claim_release(struct spool_claim *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->name);
	free(c->dir);
	free(c->path);
	memset(c, 0, sizeof *c);
	c->fd = -1;	/* released twice is harmless */
}

int
spool_mark_write(const char *dir, int64_t when, uid_t uid, gid_t gid,
    char **cause)
{
	char *p = xasprintf("%s/.scheduled", dir), *text;
	int rc;

	text = xasprintf("%lld %ld %ld\n", (long long)when, (long)uid,
	    (long)gid);
	rc = fs_write_atomic(p, text, strlen(text), 0600, cause);
	free(text);
	free(p);
	return rc;
}

int
spool_mark_read(struct spool *sp, const char *claim, int64_t *when,
    uid_t *uid, gid_t *gid)
{
	char *p = xasprintf("%s/claims/%s/.scheduled", sp->path, claim);
	char buf[96];
	long long w;
	long u, g;
	ssize_t n;
	int fd;

	fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(p);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "%lld %ld %ld", &w, &u, &g) != 3 || w <= 0 || u < 0 ||
	    g < 0)
		return -1;
	*when = (int64_t)w;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

int
spool_claim_reopen(struct spool *sp, const char *claim, struct spool_claim *c,
    char **cause)
{
	char *dir = xasprintf("%s/claims/%s", sp->path, claim);
	struct dirent *e;
	struct stat st;
	DIR *d;
	int fd = -1;

	memset(c, 0, sizeof *c);
	c->fd = -1;
	if ((d = opendir(dir)) == NULL) {
		*cause = xasprintf("cannot open '%s': %s", dir,
		    strerror(errno));
		free(dir);
		return -1;
	}
	while (c->name == NULL && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && strcmp(e->d_name, "lock") != 0)
			c->name = xstrdup(e->d_name);
	closedir(d);
	if (c->name != NULL) {
		c->path = xasprintf("%s/%s", dir, c->name);
		fd = open(c->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
	}
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_nlink != 1 || spool_kind(c->name, &c->kind) != 0) {
		*cause = xasprintf("'%s' holds no file to take in", dir);
		if (fd >= 0)
			close(fd);
		free(dir);
		spool_claim_release(c);
		return -1;
	}
	c->fd = fd;
	c->dir = dir;
	c->uid = st.st_uid;
	c->gid = st.st_gid;
	c->size = st.st_size;
	return 0;
}
