#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "bundle.h"
#include "fsutil.h"
#include "pgz.h"
#include "strmap.h"
#include "xmalloc.h"

#define BUNDLE_SUMS		"SHA256SUMS"
#define BUNDLE_SUMS_MAX		(64u << 20)	/* SHA256SUMS read back */

#define BUNDLE_MAX_DEPTH	128		/* directory nesting walked */
#define BUNDLE_BUFSIZE		(64 * 1024)

/* The gzip level: libdeflate's 1. On a 10,000-node bundle's tar (12.7
 * MB) it takes 15 ms of CPU for 746 KB, where its 5 takes 30 ms for 633 KB
 * and its 6 (gzip's default) 46 ms for 568 KB: the bundle is written at
 * the end of every run, on its critical path, and a result's text
 * compresses well at any level. */
#define BUNDLE_GZIP_LEVEL	1

const char *
bundle_ext(enum bundle_format f)
{
	return f == BUNDLE_TZST ? ".tar.zst" : ".tar.gz";
}

/* The top-level files of a job directory, in bundle order. */
static const char *const bundle_top[] = {
	"manifest.yaml", "state.yaml", "events.log", "summary.txt",
	"graph.dot", "timeline.svg", "trace.json", "report.html"
};

struct bundle_w {
	struct archive	*a;
	struct pgz	*pgz;		/* BUNDLE_TGZ: compresses the tar */
	const char	*jobdir;	/* for messages */
	const struct bundle_owner *owner; /* nodes/ and outputs/ are theirs */
	char		*cause;
	EVP_MD_CTX	*md;
	char		*sums;		/* SHA256SUMS so far */
	size_t		 sums_len;
	size_t		 sums_cap;
	char		*aerr;		/* the last bw_error text */
	char		 buf[BUNDLE_BUFSIZE];
};

/* Append "HEX  NAME\n" to a SHA256SUMS text as sha256sum(1) writes it: a
 * name holding a backslash, a newline or a carriage return is escaped and
 * the line starts with a backslash. */
static void
bundle_sums_line(char **s, size_t *len, size_t *cap, const unsigned char *md,
    const char *name)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i, need = 2 + 64 + 2 + 2 * strlen(name) + 2;
	char			*o;

	xgrow(s, cap, *len + need, 1);
	o = *s + *len;
	if (strpbrk(name, "\\\n\r") != NULL)
		*o++ = '\\';
	for (i = 0; i < 32; i++) {
		*o++ = hex[md[i] >> 4];
		*o++ = hex[md[i] & 15];
	}
	*o++ = ' ';
	*o++ = ' ';
	for (; *name != '\0'; name++) {
		if (*name == '\\' || *name == '\n' || *name == '\r') {
			*o++ = '\\';
			*o++ = *name == '\n' ? 'n' : *name == '\r' ? 'r' : '\\';
		} else
			*o++ = *name;
	}
	*o++ = '\n';
	*len = (size_t)(o - *s);
}

static int
bundle_fail(struct bundle_w *bw, char *cause)
{
	if (bw->cause == NULL)
		bw->cause = cause;
	else
		free(cause);
	return -1;
}

/* libarchive's message for the writer, with the system error when it has
 * one ("Write error" alone would hide a full disk). */
static const char *
bw_error(struct bundle_w *bw)
{
	const char *s = archive_error_string(bw->a);
	int e = archive_errno(bw->a);

	if (s == NULL)
		s = "unknown error";
	free(bw->aerr);
	if (e > 0 && strstr(s, strerror(e)) == NULL)
		bw->aerr = xasprintf("%s: %s", s, strerror(e));
	else
		bw->aerr = xstrdup(s);
	return bw->aerr;
}

static int
bundle_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in the directory open as fd (which is not closed), sorted. */
static int
bundle_list(int fd, char ***namesp, size_t *np)
{
	DIR		*d;
	struct dirent	*de;
	char		**names = NULL;
	size_t		 n = 0, cap = 0;
	int		 dfd, saved;

	if ((dfd = dup(fd)) < 0)
		return -1;
	if ((d = fdopendir(dfd)) == NULL) {
		saved = errno;
		close(dfd);
		errno = saved;
		return -1;
	}
	rewinddir(d);
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		xgrow(&names, &cap, n + 1, sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	saved = errno;
	closedir(d);
	if (saved != 0) {
		while (n > 0)
			free(names[--n]);
		free(names);
		errno = saved;
		return -1;
	}
	if (n > 1)
		qsort(names, n, sizeof *names, bundle_cmp);
	*namesp = names;
	*np = n;
	return 0;
}

static void
bundle_free_list(char **names, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int
bundle_header(struct bundle_w *bw, const char *member, const struct stat *st,
    int dir)
{
	struct archive_entry	*e;
	int			 r;

	e = archive_entry_new();
	if (e == NULL)
		abort();
	/* The name's bytes as they are (in the C locale, non-ASCII names
	 * get a pax header with hdrcharset=BINARY). Not _utf8: libarchive
	 * 3.6's pax writer crashes when the name has no locale form. */
	archive_entry_set_pathname(e, member);
	archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, dir ? 0755 : 0644);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_uname(e, "root");
	archive_entry_set_gname(e, "root");
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
	archive_entry_set_size(e, dir ? 0 : st->st_size);
	r = archive_write_header(bw->a, e);
	archive_entry_free(e);
	if (r < ARCHIVE_WARN)
		return bundle_fail(bw, xasprintf("cannot add '%s': %s", member,
		    bw_error(bw)));
	return 0;
}

/* Add the regular file open as fd (closed here) as member. */
static int
bundle_add_fd(struct bundle_w *bw, int fd, const char *member,
    const char *path)
{
	struct stat	 st;
	off_t		 left;
	ssize_t		 n;
	int		 saved;
	unsigned char	 md[EVP_MAX_MD_SIZE];

	if (fstat(fd, &st) != 0) {
		saved = errno;
		close(fd);
		return bundle_fail(bw, xasprintf("cannot stat '%s': %s", path,
		    strerror(saved)));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return 0;	/* raced into something else: skipped */
	}
	if (bundle_header(bw, member, &st, 0) != 0) {
		close(fd);
		return -1;
	}
	if (EVP_DigestInit_ex(bw->md, EVP_sha256(), NULL) != 1)
		abort();
	for (left = st.st_size; left > 0; left -= n) {
		n = read(fd, bw->buf, left < (off_t)sizeof bw->buf ?
		    (size_t)left : sizeof bw->buf);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			saved = n < 0 ? errno : 0;
			close(fd);
			if (n == 0)
				return bundle_fail(bw, xasprintf("'%s' "
				    "shrank while it was packed", path));
			return bundle_fail(bw, xasprintf("cannot read '%s': "
			    "%s", path, strerror(saved)));
		}
		if (archive_write_data(bw->a, bw->buf, (size_t)n) != n) {
			close(fd);
			return bundle_fail(bw, xasprintf("cannot add '%s': %s",
			    member, bw_error(bw)));
		}
		if (EVP_DigestUpdate(bw->md, bw->buf, (size_t)n) != 1)
			abort();
	}
	close(fd);
	if (EVP_DigestFinal_ex(bw->md, md, NULL) != 1)
		abort();
	bundle_sums_line(&bw->sums, &bw->sums_len, &bw->sums_cap, md, member);
	return 0;
}

/*
 * openat(dfd, name, flags); with owner (else NULL), what is a regular file
 * must be owner's with one link. Returns the descriptor; -2 when it is not
 * (closed); -1 with errno when it cannot be opened.
 */
static int
bundle_open_owned(const struct bundle_owner *owner, int dfd,
    const char *name, int flags)
{
	struct stat	 st;
	int		 fd;

	fd = openat(dfd, name, flags);
	if (fd < 0 || owner == NULL)
		return fd;
	if (fstat(fd, &st) != 0 || (S_ISREG(st.st_mode) &&
	    (st.st_uid != owner->uid || st.st_nlink != 1))) {
		close(fd);
		return -2;
	}
	return fd;
}

/* Add the tree under directory fd (not closed) as member/... */
static int
bundle_add_tree(struct bundle_w *bw, int fd, const char *member,
    const char *path, int depth)
{
	char		**names, *m, *p;
	size_t		  n, i;
	struct stat	  st;
	int		  cfd, rc = 0;

	if (depth > BUNDLE_MAX_DEPTH)
		return bundle_fail(bw, xasprintf("'%s' is nested too deeply",
		    path));
	if (fstat(fd, &st) != 0 || bundle_list(fd, &names, &n) != 0)
		return bundle_fail(bw, xasprintf("cannot read '%s': %s", path,
		    strerror(errno)));
	m = xasprintf("%s/", member);
	rc = bundle_header(bw, m, &st, 1);
	free(m);
	for (i = 0; rc == 0 && i < n; i++) {
		if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT)
				continue;
			rc = bundle_fail(bw, xasprintf("cannot stat '%s/%s': "
			    "%s", path, names[i], strerror(errno)));
			break;
		}
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
			continue;	/* symlinks, FIFOs...: skipped */
		cfd = bundle_open_owned(bw->owner, fd, names[i], O_RDONLY |
		    O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY |
		    (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
		if (cfd == -2)
			continue;	/* not a plain file of the owner's */
		if (cfd < 0) {
			if (errno == ENOENT || errno == ELOOP ||
			    errno == ENOTDIR)
				continue;	/* changed under us */
			rc = bundle_fail(bw, xasprintf("cannot open '%s/%s': "
			    "%s", path, names[i], strerror(errno)));
			break;
		}
		m = xasprintf("%s/%s", member, names[i]);
		p = xasprintf("%s/%s", path, names[i]);
		if (S_ISDIR(st.st_mode)) {
			rc = bundle_add_tree(bw, cfd, m, p, depth + 1);
			close(cfd);
		} else
			rc = bundle_add_fd(bw, cfd, m, p);
		free(p);
		free(m);
	}
	bundle_free_list(names, n);
	return rc;
}

static int
bundle_add_all(struct bundle_w *bw, const char *job, int jfd)
{
	static const char *const trees[] = { "nodes", "outputs" };
	struct stat	 st;
	size_t		 i;
	char		*m, *p;
	int		 fd, rc;

	if (fstat(jfd, &st) != 0)
		return bundle_fail(bw, xasprintf("cannot stat '%s': %s",
		    bw->jobdir, strerror(errno)));
	m = xasprintf("%s/", job);
	rc = bundle_header(bw, m, &st, 1);
	free(m);
	if (rc != 0)
		return -1;
	for (i = 0; i < sizeof bundle_top / sizeof bundle_top[0]; i++) {
		fd = openat(jfd, bundle_top[i], O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		p = xasprintf("%s/%s", bw->jobdir, bundle_top[i]);
		if (fd < 0) {
			if (errno != ENOENT && errno != ELOOP) {
				rc = bundle_fail(bw, xasprintf("cannot open "
				    "'%s': %s", p, strerror(errno)));
				free(p);
				return rc;
			}
			free(p);
			continue;
		}
		m = xasprintf("%s/%s", job, bundle_top[i]);
		rc = bundle_add_fd(bw, fd, m, p);
		free(m);
		free(p);
		if (rc != 0)
			return -1;
	}
	for (i = 0; i < sizeof trees / sizeof trees[0]; i++) {
		fd = openat(jfd, trees[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
		    O_DIRECTORY);
		p = xasprintf("%s/%s", bw->jobdir, trees[i]);
		if (fd < 0) {
			if (errno != ENOENT && errno != ELOOP &&
			    errno != ENOTDIR) {
				rc = bundle_fail(bw, xasprintf("cannot open "
				    "'%s': %s", p, strerror(errno)));
				free(p);
				return rc;
			}
			free(p);
			continue;
		}
		m = xasprintf("%s/%s", job, trees[i]);
		rc = bundle_add_tree(bw, fd, m, p, 0);
		close(fd);
		free(m);
		free(p);
		if (rc != 0)
			return -1;
	}
	/* last: the digests of every other member */
	m = xasprintf("%s/%s", job, BUNDLE_SUMS);
	st.st_size = (off_t)bw->sums_len;
	rc = bundle_header(bw, m, &st, 0);
	if (rc == 0 && bw->sums_len > 0 && archive_write_data(bw->a, bw->sums,
	    bw->sums_len) != (la_ssize_t)bw->sums_len)
		rc = bundle_fail(bw, xasprintf("cannot add '%s': %s", m,
		    bw_error(bw)));
	free(m);
	return rc;
}

/* libarchive's client write callback for BUNDLE_TGZ: the tar into pgz. */
static la_ssize_t
bundle_pgz_write(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct bundle_w	*bw = arg;
	char		*msg = NULL;
	int		 saved;

	if (pgz_write(bw->pgz, buf, len, &msg) != 0) {
		saved = errno;
		archive_set_error(a, saved, "%s", msg);
		free(msg);
		return -1;
	}
	return (la_ssize_t)len;
}

/* Start libarchive writing the tar to fd, through zstd or pgz. */
static int
bundle_open_archive(struct bundle_w *bw, enum bundle_format fmt, int fd,
    const char *tmp)
{
	char	*msg = NULL;
	int	 saved;

	if ((bw->a = archive_write_new()) == NULL)
		abort();
	if (archive_write_set_format_pax_restricted(bw->a) != ARCHIVE_OK)
		goto fail;
	if (fmt == BUNDLE_TZST) {
		if (archive_write_add_filter_zstd(bw->a) != ARCHIVE_OK ||
		    archive_write_open_fd(bw->a, fd) != ARCHIVE_OK)
			goto fail;
		return 0;
	}
	if ((bw->pgz = pgz_open(fd, BUNDLE_GZIP_LEVEL, 0, &msg)) == NULL) {
		saved = errno;
		bundle_fail(bw, xasprintf("cannot write '%s': %s", tmp, msg));
		free(msg);
		errno = saved;
		return -1;
	}
	/* no padding of the last block, as archive_write_open_fd does for
	 * a regular file */
	if (archive_write_set_bytes_in_last_block(bw->a, 1) != ARCHIVE_OK ||
	    archive_write_open2(bw->a, bw, NULL, bundle_pgz_write, NULL,
	    NULL) != ARCHIVE_OK)
		goto fail;
	return 0;

fail:
	errno = EIO;
	return bundle_fail(bw, xasprintf("cannot write '%s': %s", tmp,
	    bw_error(bw)));
}

int
bundle_write(const char *out_path, enum bundle_format fmt, const char *job,
    const char *jobdir, const struct bundle_owner *owner, char **cause)
{
	struct bundle_w	*bw;
	struct pgz	*p;
	char		*tmp, *msg = NULL;
	int		 fd = -1, jfd = -1, saved = 0, r;

	bw = xcalloc(1, sizeof *bw);
	bw->jobdir = jobdir;
	bw->owner = owner;
	if ((bw->md = EVP_MD_CTX_new()) == NULL)
		abort();
	tmp = xasprintf("%s.tmp.%ld", out_path, (long)getpid());

	jfd = open(jobdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (jfd < 0) {
		saved = errno;
		bundle_fail(bw, xasprintf("cannot open '%s': %s", jobdir,
		    strerror(saved)));
		goto fail;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		saved = errno;
		bundle_fail(bw, xasprintf("cannot create '%s': %s", tmp,
		    strerror(saved)));
		goto fail;
	}
	if (bundle_open_archive(bw, fmt, fd, tmp) != 0) {
		saved = errno;
		goto fail;
	}
	if (bundle_add_all(bw, job, jfd) != 0) {
		saved = errno != 0 ? errno : EIO;
		goto fail;
	}
	if (archive_write_close(bw->a) != ARCHIVE_OK) {
		saved = errno != 0 ? errno : EIO;
		bundle_fail(bw, xasprintf("cannot write '%s': %s", tmp,
		    bw_error(bw)));
		goto fail;
	}
	archive_write_free(bw->a);
	bw->a = NULL;
	if (bw->pgz != NULL) {
		p = bw->pgz;
		bw->pgz = NULL;
		if (pgz_close(p, &msg) != 0) {
			saved = errno;
			bundle_fail(bw, xasprintf("cannot write '%s': %s", tmp,
			    msg));
			free(msg);
			goto fail;
		}
	}
	if (fsync(fd) != 0) {
		saved = errno;
		bundle_fail(bw, xasprintf("cannot sync '%s': %s", tmp,
		    strerror(saved)));
		goto fail;
	}
	r = close(fd);
	fd = -1;
	if (r != 0) {
		saved = errno;
		bundle_fail(bw, xasprintf("cannot write '%s': %s", tmp,
		    strerror(saved)));
		goto fail;
	}
	if (rename(tmp, out_path) != 0) {
		saved = errno;
		bundle_fail(bw, xasprintf("cannot rename into '%s': %s",
		    out_path, strerror(saved)));
		goto fail;
	}
	(void)fs_sync_parent(out_path);
	close(jfd);
	free(tmp);
	EVP_MD_CTX_free(bw->md);
	free(bw->sums);
	free(bw->aerr);
	free(bw);
	return 0;

fail:
	if (bw->a != NULL)
		archive_write_free(bw->a);	/* may still write to pgz */
	pgz_free(bw->pgz);
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	if (jfd >= 0)
		close(jfd);
	if (cause != NULL)
		*cause = bw->cause;
	else
		free(bw->cause);
	free(tmp);
	EVP_MD_CTX_free(bw->md);
	free(bw->sums);
	free(bw->aerr);
	free(bw);
	errno = saved != 0 ? saved : EIO;
	return -1;
}

void
bundle_init(void)
{
	unsigned char md[EVP_MAX_MD_SIZE];

	(void)EVP_Digest("", 0, md, NULL, EVP_sha256(), NULL);
}

/* ---- collecting outputs ----------------------------------------------- */

static int
bundle_openat2(int dirfd, const char *path, int flags)
{
	struct open_how	how;
	long		r;
	int		tries = 0;

	memset(&how, 0, sizeof how);
	how.flags = (unsigned long long)flags;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	/* EAGAIN: a rename raced with the walk; try again, a few times. */
	do
		r = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
	while (r < 0 && (errno == EINTR || (errno == EAGAIN && ++tries < 64)));
	return (int)r;
}

/* Copy the regular file open as in (not closed) into out (not closed). */
static int
bundle_copy_fd(int in, int out, char *buf, size_t len)
{
	ssize_t	n;

	for (;;) {
		n = read(in, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return 0;
		if (fs_write_all(out, buf, (size_t)n) != 0)
			return -1;
	}
}

struct bundle_c {
	const char	*rel;		/* for messages */
	const struct bundle_owner *owner; /* files must be theirs, or NULL */
	char		*cause;
	char		 buf[BUNDLE_BUFSIZE];
};

static int
bundle_cfail(struct bundle_c *bc, const char *what, const char *path)
{
	int	saved = errno;

	if (bc->cause == NULL)
		bc->cause = xasprintf("output '%s': cannot %s '%s': %s",
		    bc->rel, what, path, strerror(saved));
	errno = saved;
	return -1;
}

/* Copy the file open as in (not closed) to name in directory dfd. */
static int
bundle_copy_file(struct bundle_c *bc, int in, int dfd, const char *name,
    const char *path)
{
	int	out, saved;

	/* a new file: whatever was planted at the name (a link, a FIFO) is
	 * replaced, never written through */
	if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
		return bundle_cfail(bc, "replace", path);
	out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC, 0600);
	if (out < 0)
		return bundle_cfail(bc, "create", path);
	if (fchmod(out, 0600) != 0) {
		bundle_cfail(bc, "chmod", path);
		goto fail;
	}
	if (bundle_copy_fd(in, out, bc->buf, sizeof bc->buf) != 0) {
		bundle_cfail(bc, "copy into", path);
		goto fail;
	}
	if (close(out) != 0)
		return bundle_cfail(bc, "write", path);
	return 0;
fail:
	saved = errno;
	close(out);
	errno = saved;
	return -1;
}

/* Is the file st (at path) one the owner may hand over: a plain file of
 * theirs with one link? 0, or -1 with bc->cause. */
static int
bundle_owned(struct bundle_c *bc, const struct stat *st, const char *path)
{
	if (bc->owner == NULL || !S_ISREG(st->st_mode))
		return 0;
	if (st->st_uid != bc->owner->uid) {
		if (bc->cause == NULL)
			bc->cause = xasprintf("output '%s': '%s' is not a "
			    "file of the job's user (its owner is uid %ld)",
			    bc->rel, path, (long)st->st_uid);
		errno = EPERM;
		return -1;
	}
	if (st->st_nlink != 1) {
		if (bc->cause == NULL)
			bc->cause = xasprintf("output '%s': '%s' has %lu hard "
			    "links (one could name another user's file)",
			    bc->rel, path, (unsigned long)st->st_nlink);
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* Copy the tree of directory sfd into directory dfd (neither closed). */
static int
bundle_copy_tree(struct bundle_c *bc, int sfd, int dfd, const char *dpath,
    int depth)
{
	char		**names, *p;
	size_t		  n, i;
	struct stat	  st;
	int		  cfd, ofd, rc = 0;

	if (depth > BUNDLE_MAX_DEPTH) {
		errno = ELOOP;
		return bundle_cfail(bc, "copy", dpath);
	}
	if (bundle_list(sfd, &names, &n) != 0)
		return bundle_cfail(bc, "list", bc->rel);
	for (i = 0; rc == 0 && i < n; i++) {
		if (fstatat(sfd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
			continue;	/* symlinks, FIFOs...: not copied */
		cfd = openat(sfd, names[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
		    O_NONBLOCK | O_NOCTTY | (S_ISDIR(st.st_mode) ?
		    O_DIRECTORY : 0));
		if (cfd < 0)
			continue;	/* changed under us */
		p = xasprintf("%s/%s", dpath, names[i]);
		if (fstat(cfd, &st) != 0)
			rc = bundle_cfail(bc, "stat", p);
		else if (S_ISREG(st.st_mode))
			rc = bundle_owned(bc, &st, p) != 0 ? -1 :
			    bundle_copy_file(bc, cfd, dfd, names[i], p);
		else if (S_ISDIR(st.st_mode)) {
			if (mkdirat(dfd, names[i], 0700) != 0 &&
			    errno != EEXIST)
				rc = bundle_cfail(bc, "create", p);
			else if ((ofd = openat(dfd, names[i], O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
				rc = bundle_cfail(bc, "open", p);
			else {
				rc = bundle_copy_tree(bc, cfd, ofd, p,
				    depth + 1);
				close(ofd);
			}
		}
		close(cfd);
		free(p);
	}
	bundle_free_list(names, n);
	return rc;
}

/* destdir/rel without "." components or doubled slashes; NULL (EXDEV) when
 * rel has a ".." component or is absolute. */
static char *
bundle_dest(const char *destdir, const char *rel)
{
	char		*out, *o;
	const char	*p = rel, *e;
	size_t		 n;

	if (*rel == '/')
		return NULL;
	out = xmalloc(strlen(destdir) + strlen(rel) + 2);
	o = out + sprintf(out, "%s", destdir);
	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		e = strchr(p, '/');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			free(out);
			return NULL;
		}
		if (!(n == 1 && p[0] == '.')) {
			*o++ = '/';
			memcpy(o, p, n);
			o += n;
		}
		p += n;
	}
	*o = '\0';
	return out;
}

int
bundle_collect_output(int workdir_fd, const char *rel, const char *destdir,
    const struct bundle_owner *owner, char **cause)
{
	struct bundle_c	*bc;
	struct stat	 st, st2;
	char		*dest = NULL, *parent = NULL, *slash;
	int		 pfd = -1, fd = -1, dfd = -1, saved, rc = -1;

	bc = xcalloc(1, sizeof *bc);
	bc->rel = rel;
	bc->owner = owner;
	if (*rel == '\0') {
		errno = EINVAL;
		bc->cause = xasprintf("output '' is an empty path");
		goto out;
	}
	dest = bundle_dest(destdir, rel);
	if (dest == NULL || strcmp(dest, destdir) == 0) {
		errno = dest == NULL ? EXDEV : EINVAL;
		bc->cause = dest == NULL ?
		    xasprintf("output '%s' leads out of the work directory",
		    rel) : xasprintf("output '%s' names the work directory "
		    "itself", rel);
		goto out;
	}

	/* O_PATH first: nothing is opened for real (no FIFO blocks, no
	 * device is touched) before its type is known. */
	pfd = bundle_openat2(workdir_fd, rel, O_PATH | O_CLOEXEC);
	if (pfd < 0) {
		saved = errno;
		if (saved == ENOENT)
			bc->cause = xasprintf("output '%s' is missing", rel);
		else if (saved == EXDEV || saved == ELOOP)
			bc->cause = xasprintf("output '%s' leads out of the "
			    "work directory", rel);
		else
			bc->cause = xasprintf("cannot open output '%s': %s",
			    rel, strerror(saved));
		errno = saved == ELOOP ? EXDEV : saved;
		goto out;
	}
	if (fstat(pfd, &st) != 0) {
		bundle_cfail(bc, "stat", rel);
		goto out;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		errno = EINVAL;
		bc->cause = xasprintf("output '%s' is not a regular file or "
		    "a directory", rel);
		goto out;
	}
	/* before it is opened for reading: a link to a file the user may
	 * not read is named for what it is, not as "Permission denied" */
	if (bundle_owned(bc, &st, rel) != 0)
		goto out;
	fd = bundle_openat2(workdir_fd, rel, O_RDONLY | O_CLOEXEC |
	    O_NONBLOCK | O_NOCTTY | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
	if (fd < 0 || fstat(fd, &st2) != 0 || st2.st_dev != st.st_dev ||
	    st2.st_ino != st.st_ino) {
		if (fd >= 0)
			errno = EAGAIN;
		bundle_cfail(bc, "open", rel);
		goto out;
	}
	if (bundle_owned(bc, &st2, rel) != 0)
		goto out;

	parent = xstrdup(dest);
	slash = strrchr(parent, '/');
	if (slash != NULL && slash != parent)
		*slash = '\0';
	if (fs_mkdirs(parent, 0700, &bc->cause) != 0)
		goto out;
	close(pfd);
	pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0) {
		bundle_cfail(bc, "open", parent);
		goto out;
	}
	if (S_ISREG(st.st_mode))
		rc = bundle_copy_file(bc, fd, pfd, strrchr(dest, '/') + 1,
		    dest);
	else {
		if (mkdir(dest, 0700) != 0 && errno != EEXIST) {
			bundle_cfail(bc, "create", dest);
			goto out;
		}
		dfd = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (dfd < 0) {
			bundle_cfail(bc, "open", dest);
			goto out;
		}
		rc = bundle_copy_tree(bc, fd, dfd, dest, 0);
	}

out:
	saved = errno;
	if (dfd >= 0)
		close(dfd);
	if (fd >= 0)
		close(fd);
	if (pfd >= 0)
		close(pfd);
	free(parent);
	free(dest);
	if (rc != 0) {
		if (cause != NULL)
			*cause = bc->cause;
		else
			free(bc->cause);
		errno = saved;
	} else
		free(bc->cause);
	free(bc);
	return rc;
}

int
bundle_read_member(const char *path, const char *member, size_t max,
    char **bufp, size_t *lenp, char **cause)
{
	struct archive *a;
	struct archive_entry *e;
	la_int64_t size;
	char *buf;
	la_ssize_t n;
	size_t len = 0;
	int r, rc = -1;

	if ((a = archive_read_new()) == NULL) {
		*cause = xstrdup("cannot allocate an archive reader");
		return -1;
	}
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_none(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		*cause = xasprintf("cannot open '%s': %s", path,
		    archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		if (strcmp(archive_entry_pathname(e), member) != 0)
			continue;
		size = archive_entry_size(e);
		if (size < 0 || (uint64_t)size > max) {
			*cause = xasprintf("'%s' in '%s' is larger than %zu "
			    "bytes", member, path, max);
			errno = EFBIG;
			goto out;
		}
		buf = xmalloc((size_t)size + 1);
		while (len < (size_t)size &&
		    (n = archive_read_data(a, buf + len,
		    (size_t)size - len)) > 0)
			len += (size_t)n;
		if (len != (size_t)size) {
			*cause = xasprintf("cannot read '%s' in '%s': %s",
			    member, path, archive_error_string(a) ?
			    archive_error_string(a) : "short member");
			free(buf);
			errno = EIO;
			goto out;
		}
		buf[len] = '\0';
		*bufp = buf;
		*lenp = len;
		rc = 0;
		goto out;
	}
	if (r == ARCHIVE_EOF) {
		*cause = xasprintf("'%s' has no member '%s'", path, member);
		errno = ENOENT;
	} else {
		*cause = xasprintf("cannot read '%s': %s", path,
		    archive_error_string(a));
		errno = EIO;
	}
out:
	archive_read_free(a);
	return rc;
}

/* ---- checking a bundle against its SHA256SUMS --------------------------- */

static struct archive *
bundle_open_read(const char *path, int *fdp, char **cause)
{
	struct archive	*a;
	int		 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		saved = errno;
		*cause = xasprintf("cannot open '%s': %s", path,
		    strerror(saved));
		errno = saved;
		return NULL;
	}
	if ((a = archive_read_new()) == NULL)
		abort();
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_none(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
		*cause = xasprintf("'%s' is not a readable archive: %s", path,
		    archive_error_string(a));
		archive_read_free(a);
		close(fd);
		errno = EILSEQ;
		return NULL;
	}
	*fdp = fd;
	return a;
}

int
bundle_job(const char *path, char **job, char **cause)
{
	struct archive		*a;
	struct archive_entry	*e;
	const char		*name, *slash;
	int			 fd, r;

	if ((a = bundle_open_read(path, &fd, cause)) == NULL)
		return -1;
	r = archive_read_next_header(a, &e);
	if (r != ARCHIVE_OK || (name = archive_entry_pathname(e)) == NULL ||
	    (slash = strchr(name, '/')) == NULL || slash == name) {
		*cause = r == ARCHIVE_OK || r == ARCHIVE_EOF ?
		    xasprintf("'%s' is not a dagexec bundle", path) :
		    xasprintf("cannot read '%s': %s", path,
		    archive_error_string(a));
		archive_read_free(a);
		close(fd);
		errno = EILSEQ;
		return -1;
	}
	*job = xstrndup(name, (size_t)(slash - name));
	archive_read_free(a);
	close(fd);
	return 0;
}

struct bundle_sum {
	char	*name;
	char	 hex[65];
	int	 listed;
};

/* Parse one SHA256SUMS line (without its newline) into hex and a new name.
 * Returns 0, or -1 when it is malformed. */
static int
bundle_sums_parse(const char *line, size_t len, char *hex, char **name)
{
	const char	*p = line, *end = line + len;
	char		*o;
	int		 esc = 0, i;

	if (p < end && *p == '\\') {
		esc = 1;
		p++;
	}
	if (end - p < 66)
		return -1;
	for (i = 0; i < 64; i++) {
		if (strchr("0123456789abcdef", p[i]) == NULL || p[i] == '\0') {
			if (p[i] >= 'A' && p[i] <= 'F')
				hex[i] = (char)(p[i] - 'A' + 'a');
			else
				return -1;
		} else
			hex[i] = p[i];
	}
	hex[64] = '\0';
	p += 64;
	if (p[0] != ' ' || (p[1] != ' ' && p[1] != '*'))
		return -1;
	p += 2;
	if (p == end)
		return -1;
	o = *name = xmalloc((size_t)(end - p) + 1);
	for (; p < end; p++) {
		if (esc && *p == '\\' && p + 1 < end) {
			p++;
			*o++ = *p == 'n' ? '\n' : *p == 'r' ? '\r' : *p;
		} else
			*o++ = *p;
	}
	*o = '\0';
	return 0;
}

int
bundle_verify(const char *path,
    void (*bad)(const char *member, enum bundle_bad why, void *arg),
    void *arg, char **cause)
{
	static const char	 hexd[] = "0123456789abcdef";
	struct archive		*a;
	struct archive_entry	*e;
	struct bundle_sum	*v = NULL;
	struct strmap		*map = NULL;
	EVP_MD_CTX		*md;
	unsigned char		 dig[EVP_MAX_MD_SIZE];
	char			*job = NULL, *sumsname = NULL, *sums = NULL;
	char			*buf, *name, hex[65], *nl, *p;
	size_t			 n = 0, cap = 0, slen = 0, scap = 0, i, idx;
	la_ssize_t		 got;
	int			 fd, r, nbad = 0, rc = -1, have_sums = 0, k;

	if (bundle_job(path, &job, cause) != 0)
		return -1;
	sumsname = xasprintf("%s/%s", job, BUNDLE_SUMS);
	if ((a = bundle_open_read(path, &fd, cause)) == NULL) {
		free(job);
		free(sumsname);
		return -1;
	}
	if ((md = EVP_MD_CTX_new()) == NULL)
		abort();
	buf = xmalloc(BUNDLE_BUFSIZE);
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		name = xstrdup(archive_entry_pathname(e));
		if (strcmp(name, sumsname) == 0) {
			have_sums = 1;
			slen = 0;
			if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
				abort();
		} else if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
			abort();
		while ((got = archive_read_data(a, buf, BUNDLE_BUFSIZE)) > 0) {
			if (strcmp(name, sumsname) == 0) {
				if (slen + (size_t)got > BUNDLE_SUMS_MAX) {
					*cause = xasprintf("'%s' in '%s' is "
					    "too large", sumsname, path);
					free(name);
					errno = EILSEQ;
					goto out;
				}
				xgrow(&sums, &scap, slen + (size_t)got + 1, 1);
				memcpy(sums + slen, buf, (size_t)got);
				slen += (size_t)got;
			} else if (EVP_DigestUpdate(md, buf, (size_t)got) != 1)
				abort();
		}
		if (got < 0) {
			*cause = xasprintf("cannot read '%s' in '%s': %s",
			    name, path, archive_error_string(a));
			free(name);
			errno = EILSEQ;
			goto out;
		}
		if (strcmp(name, sumsname) == 0) {
			free(name);
			continue;
		}
		if (EVP_DigestFinal_ex(md, dig, NULL) != 1)
			abort();
		xgrow(&v, &cap, n + 1, sizeof *v);
		v[n].name = name;
		for (k = 0; k < 32; k++) {
			v[n].hex[2 * k] = hexd[dig[k] >> 4];
			v[n].hex[2 * k + 1] = hexd[dig[k] & 15];
		}
		v[n].hex[64] = '\0';
		v[n].listed = 0;
		n++;
	}
	if (r != ARCHIVE_EOF) {
		*cause = xasprintf("cannot read '%s': %s", path,
		    archive_error_string(a));
		errno = EILSEQ;
		goto out;
	}
	if (!have_sums) {
		*cause = xasprintf("'%s' has no member '%s'", path, sumsname);
		errno = EILSEQ;
		goto out;
	}
	map = strmap_new(n);
	for (i = 0; i < n; i++)
		strmap_set(map, v[i].name, i);	/* a repeated name: the last */
	xgrow(&sums, &scap, slen + 1, 1);
	sums[slen] = '\0';
	for (p = sums; p < sums + slen; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(sums + slen - p))) == NULL)
			nl = sums + slen;
		if (nl == p)
			continue;
		if (memchr(p, '\0', (size_t)(nl - p)) != NULL ||
		    bundle_sums_parse(p, (size_t)(nl - p), hex, &name) != 0) {
			*cause = xasprintf("'%s' in '%s' is malformed at "
			    "'%.*s'", sumsname, path, (int)(nl - p > 80 ? 80 :
			    nl - p), p);
			errno = EILSEQ;
			goto out;
		}
		if (!strmap_get(map, name, &idx)) {
			bad(name, BUNDLE_MISSING, arg);
			nbad++;
		} else {
			v[idx].listed = 1;
			if (strcmp(v[idx].hex, hex) != 0) {
				bad(name, BUNDLE_FAILED, arg);
				nbad++;
			}
		}
		free(name);
	}
	for (i = 0; i < n; i++) {
		/* a repeated name counts as listed when its last copy is */
		if (strmap_get(map, v[i].name, &idx) && !v[idx].listed) {
			bad(v[i].name, BUNDLE_NOT_LISTED, arg);
			nbad++;
		}
	}
	rc = nbad;
out:
	strmap_free(map);
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	free(buf);
	free(sums);
	free(job);
	free(sumsname);
	EVP_MD_CTX_free(md);
	archive_read_free(a);
	close(fd);
	return rc;
}
