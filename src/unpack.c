/* Unpacking a dropped bundle (a tar.gz of a manifest and its inputs), after
 * checking every member: nothing that leads or links out of the tree, no
 * special file, no duplicate, bounds on nesting, members and size. Under
 * watch the caller is the job's supervisor, running as its owner. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "bundle.h"
#include "strmap.h"
#include "xmalloc.h"

#define BUNDLE_MAX_DEPTH	128		/* directory nesting walked */

static struct archive *
unpack_open(const char *path, char **cause)
{
	struct archive *a = archive_read_new();

	if (a == NULL) {
		*cause = xstrdup("cannot allocate an archive reader");
		return NULL;
	}
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_none(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		*cause = xasprintf("cannot open bundle '%s': %s", path,
		    archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* A member path that stays inside: relative, no '..', no empty name.
 * Depth counts its components. */
static int
unpack_path_ok(const char *p, int *depth)
{
	const char *s = p, *e;
	size_t n;

	*depth = 0;
	if (*p == '/' || *p == '\0')
		return 0;
	while (*s != '\0') {
		e = strchr(s, '/');
		n = e != NULL ? (size_t)(e - s) : strlen(s);
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return 0;
		if (n > 0 && !(n == 1 && s[0] == '.'))
			(*depth)++;
		if (e == NULL)
			break;
		s = e + 1;
	}
	return *depth > 0;
}

/* A symlink target that, read from the link's directory, stays inside. */
static int
unpack_link_ok(const char *member, const char *target)
{
	const char *s = target, *e;
	int depth = 0, ldepth;
	size_t n;

	if (*target == '/' || *target == '\0')
		return 0;
	(void)unpack_path_ok(member, &ldepth);
	depth = ldepth - 1;		/* the link's directory */
	while (*s != '\0') {
		e = strchr(s, '/');
		n = e != NULL ? (size_t)(e - s) : strlen(s);
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (--depth < 0)
				return 0;
		} else if (n > 0 && !(n == 1 && s[0] == '.'))
			depth++;
		if (e == NULL)
			break;
		s = e + 1;
	}
	return 1;
}

/* A member path as it lands on disk: "./a//b/" is "a/b". */
static char *
unpack_path_norm(const char *p)
{
	char *out = xmalloc(strlen(p) + 1), *o = out;
	const char *s = p, *e;
	size_t n;

	while (*s != '\0') {
		e = strchr(s, '/');
		n = e != NULL ? (size_t)(e - s) : strlen(s);
		if (n > 0 && !(n == 1 && s[0] == '.')) {
			if (o != out)
				*o++ = '/';
			memcpy(o, s, n);
			o += n;
		}
		if (e == NULL)
			break;
		s = e + 1;
	}
	*o = '\0';
	return out;
}

/* The members seen so far, by their path on disk, and whether each is a
 * directory: a name given twice would make the second write fail (the
 * first is never overwritten) with a message that does not say why. */
struct unpack_seen {
	struct strmap	*map;
	char		**names;
	size_t		 n;
	size_t		 cap;
};

/* 0, or -1 when the path was seen before and either is not a directory
 * (a directory listed twice is harmless: tar lists one per argument). */
static int
unpack_seen_add(struct unpack_seen *u, const char *name, int dir)
{
	char *p = unpack_path_norm(name);
	size_t old;

	if (strmap_put(u->map, p, (size_t)dir, &old) != 0) {
		free(p);
		return dir && old ? 0 : -1;
	}
	xgrow(&u->names, &u->cap, u->n + 1, sizeof *u->names);
	u->names[u->n++] = p;
	return 0;
}

static void
unpack_seen_release(struct unpack_seen *u)
{
	size_t i;

	strmap_free(u->map);
	for (i = 0; i < u->n; i++)
		free(u->names[i]);
	free(u->names);
}

/* First pass: every member checked before anything is written, so a bad
 * archive is refused as a whole. */
static int
unpack_check(const char *path, uint64_t max_bytes, char **cause)
{
	struct archive *a;
	struct archive_entry *e;
	const char *name, *link;
	uint64_t total = 0;
	size_t count = 0;
	int r, depth, rc = -1;
	mode_t type;
	struct unpack_seen seen;

	if ((a = unpack_open(path, cause)) == NULL)
		return -1;
	memset(&seen, 0, sizeof seen);
	seen.map = strmap_new(64);
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		name = archive_entry_pathname(e);
		if (name == NULL || !unpack_path_ok(name, &depth)) {
			*cause = xasprintf("bundle member '%s' leads out of "
			    "the work directory", name ? name : "");
			goto out;
		}
		if (depth > BUNDLE_MAX_DEPTH) {
			*cause = xasprintf("bundle member '%s' is nested "
			    "deeper than %d", name, BUNDLE_MAX_DEPTH);
			goto out;
		}
		if (++count > BUNDLE_MAX_MEMBERS) {
			*cause = xasprintf("bundle has more than %d members",
			    BUNDLE_MAX_MEMBERS);
			goto out;
		}
		type = archive_entry_filetype(e);
		if ((link = archive_entry_hardlink(e)) != NULL) {
			if (!unpack_path_ok(link, &depth)) {
				*cause = xasprintf("bundle member '%s' links "
				    "out of the work directory", name);
				goto out;
			}
		} else if (type == AE_IFLNK) {
			link = archive_entry_symlink(e);
			if (link == NULL || !unpack_link_ok(name, link)) {
				*cause = xasprintf("bundle member '%s' is a "
				    "symbolic link out of the work directory",
				    name);
				goto out;
			}
		} else if (type != AE_IFREG && type != AE_IFDIR) {
			*cause = xasprintf("bundle member '%s' is not a file, "
			    "a directory or a link (a device or FIFO)", name);
			goto out;
		}
		if (unpack_seen_add(&seen, name, type == AE_IFDIR &&
		    archive_entry_hardlink(e) == NULL) != 0) {
			*cause = xasprintf("bundle has a duplicate member "
			    "'%s'", name);
			goto out;
		}
		if (archive_entry_size(e) > 0)
			total += (uint64_t)archive_entry_size(e);
		if (total > max_bytes) {
			*cause = xasprintf("bundle unpacks to more than %llu "
			    "bytes", (unsigned long long)max_bytes);
			goto out;
		}
		(void)archive_read_data_skip(a);
	}
	if (r != ARCHIVE_EOF) {
		*cause = xasprintf("bundle '%s' is not a valid archive: %s",
		    path, archive_error_string(a));
		goto out;
	}
	rc = 0;
out:
	unpack_seen_release(&seen);
	archive_read_free(a);
	return rc;
}

static int
unpack_chown_tree(int dfd, uid_t uid, gid_t gid, int depth)
{
	DIR *d;
	struct dirent *e;
	int fd, rc = 0;

	if (depth > BUNDLE_MAX_DEPTH + 1)
		return -1;
	if ((fd = dup(dfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fchownat(dfd, e->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
			rc = -1;
		if (e->d_type == DT_DIR) {
			fd = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0 || unpack_chown_tree(fd, uid, gid,
			    depth + 1) != 0)
				rc = -1;
			if (fd >= 0)
				close(fd);
		}
	}
	closedir(d);
	return rc;
}

int
bundle_unpack(const char *path, const char *destdir, uint64_t max_bytes,
    int chown_to, uid_t uid, gid_t gid, char **cause)
{
	struct archive *a = NULL, *w = NULL;
	struct archive_entry *e;
	const void *buf;
	size_t size;
	la_int64_t off;
	int r, rc = -1, cwd = -1, dfd = -1;

	if (unpack_check(path, max_bytes, cause) != 0)
		return -1;
	/* opened before the step into destdir: a relative path names the
	 * file the caller meant */
	if ((a = unpack_open(path, cause)) == NULL)
		return -1;
	/* archive_write_disk works relative to the working directory; the
	 * caller is single-threaded, so step in and back out */
	if ((cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (dfd = open(destdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fchdir(dfd) != 0) {
		*cause = xasprintf("cannot enter '%s': %s", destdir,
		    strerror(errno));
		goto out;
	}
	w = archive_write_disk_new();
	archive_write_disk_set_options(w, ARCHIVE_EXTRACT_SECURE_SYMLINKS |
	    ARCHIVE_EXTRACT_SECURE_NODOTDOT |
	    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS |
	    ARCHIVE_EXTRACT_NO_OVERWRITE | ARCHIVE_EXTRACT_PERM);
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		/* no set-id bits, nothing others may write */
		archive_entry_set_perm(e, archive_entry_perm(e) & 0755);
		if (archive_write_header(w, e) != ARCHIVE_OK) {
			*cause = xasprintf("cannot unpack '%s': %s",
			    archive_entry_pathname(e), archive_error_string(w));
			goto back;
		}
		while ((r = archive_read_data_block(a, &buf, &size, &off)) ==
		    ARCHIVE_OK) {
			if (archive_write_data_block(w, buf, size, off) !=
			    ARCHIVE_OK) {
				*cause = xasprintf("cannot unpack '%s': %s",
				    archive_entry_pathname(e),
				    archive_error_string(w));
				goto back;
			}
		}
		if (r != ARCHIVE_EOF) {
			*cause = xasprintf("cannot read bundle '%s': %s", path,
			    archive_error_string(a));
			goto back;
		}
		if (archive_write_finish_entry(w) != ARCHIVE_OK) {
			*cause = xasprintf("cannot unpack '%s': %s",
			    archive_entry_pathname(e), archive_error_string(w));
			goto back;
		}
	}
	if (r != ARCHIVE_EOF) {
		*cause = xasprintf("cannot read bundle '%s': %s", path,
		    archive_error_string(a));
		goto back;
	}
	if (archive_write_close(w) != ARCHIVE_OK) {
		*cause = xasprintf("cannot unpack '%s': %s", path,
		    archive_error_string(w));
		goto back;
	}
	if (chown_to && unpack_chown_tree(dfd, uid, gid, 0) != 0) {
		*cause = xasprintf("cannot give the unpacked files to uid %ld",
		    (long)uid);
		goto back;
	}
	rc = 0;
back:
	if (fchdir(cwd) != 0 && rc == 0) {
		*cause = xasprintf("cannot return to the working directory: %s",
		    strerror(errno));
		rc = -1;
	}
out:
	if (w != NULL)
		archive_write_free(w);
	if (a != NULL)
		archive_read_free(a);
	if (cwd >= 0)
		close(cwd);
	if (dfd >= 0)
		close(dfd);
	return rc;
}
