#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "xmalloc.h"

static int
fail(char **cause, const char *what, const char *path)
{
	int saved = errno;

	if (cause != NULL)
		*cause = xasprintf("cannot %s '%s': %s", what, path,
		    strerror(saved));
	errno = saved;
	return -1;
}

int
fs_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fs_sync_parent(const char *path)
{
	char *copy = xstrdup(path);
	int fd, rc = 0;

	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	if (fsync(fd) != 0 && errno != EINVAL)
		rc = -1;
	close(fd);
	return rc;
}

int
fs_sync_path(const char *path)
{
	int fd, rc = 0, saved;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fsync(fd) != 0)
		rc = -1;
	saved = errno;
	close(fd);
	if (rc == 0)
		return fs_sync_parent(path);
	errno = saved;
	return rc;
}

static int	write_replace(const char *, const void *, size_t, mode_t, uid_t,
    gid_t, bool, char **);

int
fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
    char **cause)
{
	return fs_write_atomic_owned(path, data, len, mode, (uid_t)-1,
	    (gid_t)-1, cause);
}

int
fs_atomic_open(const char *path, mode_t mode, uid_t uid, gid_t gid,
    char **tmpp, char **cause)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd, saved;

	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    mode);
	if (fd < 0) {
		fail(cause, "create", tmp);
		free(tmp);
		return -1;
	}
	if (fchmod(fd, mode) != 0 ||
	    (uid != (uid_t)-1 && fchown(fd, uid, gid) != 0)) {
		fail(cause, "write", tmp);
		saved = errno;
		close(fd);
		unlink(tmp);
		free(tmp);
		errno = saved;
		return -1;
	}
	*tmpp = tmp;
	return fd;
}

int
fs_atomic_commit(int fd, char *tmp, const char *path, bool sync,
    char **cause)
{
	int saved;

	if (sync && fsync(fd) != 0) {
		fail(cause, "write", tmp);
		saved = errno;
		close(fd);
		errno = saved;
		goto out_unlink;
	}
	if (close(fd) != 0) {
		fail(cause, "write", tmp);
		goto out_unlink;
	}
	if (rename(tmp, path) != 0) {
		fail(cause, "rename into", path);
		goto out_unlink;
	}
	free(tmp);
	if (sync)
		(void)fs_sync_parent(path);
	return 0;

out_unlink:
	saved = errno;
	unlink(tmp);
	free(tmp);
	errno = saved;
	return -1;
}

void
fs_atomic_abort(int fd, char *tmp)
{
	int saved = errno;

	close(fd);
	unlink(tmp);
	free(tmp);
	errno = saved;
}

/* PATH.tmp.PID written, given to uid:gid, renamed over path; durable: with
 * the file and then its directory synced. */
static int
write_replace(const char *path, const void *data, size_t len, mode_t mode,
    uid_t uid, gid_t gid, bool durable, char **cause)
{
	char *tmp;
	int fd;

	if ((fd = fs_atomic_open(path, mode, uid, gid, &tmp, cause)) < 0)
		return -1;
	if (fs_write_all(fd, data, len) != 0) {
		fail(cause, "write", tmp);
		fs_atomic_abort(fd, tmp);
		return -1;
	}
	return fs_atomic_commit(fd, tmp, path, durable, cause);
}

int
fs_write_atomic_owned(const char *path, const void *data, size_t len,
    mode_t mode, uid_t uid, gid_t gid, char **cause)
{
	return write_replace(path, data, len, mode, uid, gid, true, cause);
}

int
fs_replace(const char *path, const void *data, size_t len, mode_t mode,
    char **cause)
{
	return write_replace(path, data, len, mode, (uid_t)-1, (gid_t)-1,
	    false, cause);
}

int
fs_replace_owned(const char *path, const void *data, size_t len, mode_t mode,
    uid_t uid, gid_t gid, char **cause)
{
	return write_replace(path, data, len, mode, uid, gid, false, cause);
}

int
fs_read_fd(int fd, const char *name, size_t max, char **bufp, size_t *lenp,
    char **cause)
{
	size_t cap = 4096, len = 0;
	char *buf = xmalloc(cap);
	ssize_t n;

	for (;;) {
		if (cap - len < 2) {
			if (cap > max + 1) {
				free(buf);
				errno = EFBIG;
				if (cause != NULL)
					*cause = xasprintf("'%s' is larger "
					    "than %zu bytes", name, max);
				return -1;
			}
			cap *= 2;
			buf = xreallocarray(buf, cap, 1);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return fail(cause, "read", name);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		free(buf);
		errno = EFBIG;
		if (cause != NULL)
			*cause = xasprintf("'%s' is larger than %zu bytes",
			    name, max);
		return -1;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
}

int
fs_read_file(const char *path, size_t max, char **buf, size_t *len,
    char **cause)
{
	int fd, rc, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(cause, "open", path);
	rc = fs_read_fd(fd, path, max, buf, len, cause);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
fs_mkdirs(const char *path, mode_t mode, char **cause)
{
	char *p = xstrdup(path), *s;
	struct stat st;

	/* the common cases first: the parent exists (one mkdir), or the
	 * directory does (one mkdir and one stat); walk down only when a
	 * parent is missing */
	if (mkdir(p, mode) == 0 || (errno == EEXIST && stat(p, &st) == 0 &&
	    S_ISDIR(st.st_mode))) {
		free(p);
		return 0;
	}
	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST) {
			fail(cause, "create directory", p);
			free(p);
			return -1;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	if (stat(p, &st) != 0 || (!S_ISDIR(st.st_mode) && (errno = ENOTDIR))) {
		fail(cause, "create directory", p);
		free(p);
		return -1;
	}
	free(p);
	return 0;
}

static int
remove_at(int dfd, const char *name)
{
	int fd, rc = 0;
	DIR *d;
	struct dirent *e;

	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (remove_at(dirfd(d), e->d_name) != 0)
			rc = -1;
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		rc = -1;
	return rc;
}

int
fs_remove_tree(const char *path, char **cause)
{
	if (remove_at(AT_FDCWD, path) != 0)
		return fail(cause, "remove", path);
	return 0;
}

