/* Secrets (see secret.h): reading a secret file, and masking the values
 * read so far wherever a node's output or an error line is written. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "secret.h"
#include "strbuf.h"
#include "xmalloc.h"

struct pattern {
	char	*s;
	size_t	 len;
};

struct secrets {
	struct pattern	*v;		/* longest first */
	size_t		 n;
	size_t		 cap;
	size_t		 nvalues;
	unsigned char	 first[256];	/* a pattern starts with this byte */
};

/* ---- reading ------------------------------------------------------------ */

/* path with a leading ~/ under the home directory of the user we run as:
 * $HOME as a shell has it, unless strict (under watch: from the password
 * database only); NULL with *cause. */
static char *
secret_path(const char *name, const char *path, bool strict, char **cause)
{
	struct passwd pw, *res = NULL;
	const char *home;
	char buf[4096];

	if (strncmp(path, "~/", 2) != 0)
		return xstrdup(path);
	if (!strict && (home = getenv("HOME")) != NULL && *home == '/')
		return xasprintf("%s%s%s", home,
		    home[strlen(home) - 1] == '/' ? "" : "/", path + 2);
	if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &res) != 0 ||
	    res == NULL || pw.pw_dir == NULL || *pw.pw_dir != '/') {
		*cause = xasprintf("secret '%s': cannot find the home "
		    "directory of uid %ld for '%s'", name, (long)geteuid(),
		    path);
		return NULL;
	}
	return xasprintf("%s%s%s", pw.pw_dir,
	    pw.pw_dir[strlen(pw.pw_dir) - 1] == '/' ? "" : "/", path + 2);
}

int
secret_read(const char *name, const char *path, bool strict, char **value,
    char **cause)
{
	struct stat st;
	char *full, *buf = NULL, *c2 = NULL;
	size_t len = 0;
	int fd, rc = -1;

	*value = NULL;
	if ((full = secret_path(name, path, strict, cause)) == NULL)
		return -1;
	/* links are followed (secret mounts are links); a FIFO is not
	 * waited on */
	fd = open(full, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		*cause = xasprintf("secret '%s': cannot open '%s': %s", name,
		    full, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*cause = xasprintf("secret '%s': '%s' is not a regular file",
		    name, full);
		goto out;
	}
	if (strict && st.st_uid != geteuid()) {
		*cause = xasprintf("secret '%s': '%s' belongs to uid %ld, not "
		    "to the job's owner (uid %ld): under watch a secret file "
		    "must be its owner's and not readable by others", name,
		    full, (long)st.st_uid, (long)geteuid());
		goto out;
	}
	if (strict && (st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
		*cause = xasprintf("secret '%s': '%s' is %s by others (mode "
		    "%04o): under watch a secret file must be its owner's and "
		    "not readable by others (chmod o-rw)", name, full,
		    (st.st_mode & S_IROTH) ? "readable" : "writable",
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (fs_read_fd(fd, full, SECRET_MAX, &buf, &len, &c2) != 0) {
		*cause = xasprintf("secret '%s': %s", name, c2);
		free(c2);
		goto out;
	}
	if (len > SECRET_MAX) {
		*cause = xasprintf("secret '%s': '%s' is larger than %d bytes",
		    name, full, SECRET_MAX);
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL) {
		*cause = xasprintf("secret '%s': '%s' holds a NUL byte (an "
		    "environment variable cannot)", name, full);
		goto out;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	*value = xstrndup(buf, len);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (buf != NULL)
		explicit_bzero(buf, len);
	free(buf);
	free(full);
	return rc;
}

/* ---- the set ------------------------------------------------------------ */

struct secrets *
secrets_new(void)
{
	return xcalloc(1, sizeof(struct secrets));
}

void
secrets_free(struct secrets *s)
{
	size_t k;

	if (s == NULL)
		return;
	for (k = 0; k < s->n; k++) {
		explicit_bzero(s->v[k].s, s->v[k].len);
		free(s->v[k].s);
	}
	free(s->v);
	free(s);
}

/* Add one pattern, unless it is there; the longest stay first. */
static void
pattern_add(struct secrets *s, const char *p, size_t len)
{
	size_t k, at;

	if (len == 0)
		return;
	for (k = 0; k < s->n; k++)
		if (s->v[k].len == len && memcmp(s->v[k].s, p, len) == 0)
			return;
	for (at = 0; at < s->n && s->v[at].len >= len; at++)
		;
	xgrow(&s->v, &s->cap, s->n + 1, sizeof *s->v);
	memmove(s->v + at + 1, s->v + at, (s->n - at) * sizeof *s->v);
	s->v[at].s = xstrndup(p, len);
	s->v[at].len = len;
	s->n++;
	s->first[(unsigned char)*p] = 1;
}

void
secrets_add(struct secrets *s, const char *value, size_t len)
{
	const char *line, *eol, *end = value + len;
	size_t n;

	if (len == 0)
		return;
	s->nvalues++;
	pattern_add(s, value, len);
	for (line = value; line < end; line = eol + 1) {
		eol = memchr(line, '\n', (size_t)(end - line));
		if (eol == NULL)
			eol = end;
		n = (size_t)(eol - line);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n >= SECRET_LINE_MIN)
			pattern_add(s, line, n);
	}
}

size_t
secrets_count(const struct secrets *s)
{
	return s == NULL ? 0 : s->n;
}

bool
secrets_hit(const struct secrets *s, const char *buf, size_t len)
{
	size_t k;

	for (k = 0; s != NULL && k < s->n; k++)
		if (memmem(buf, len, s->v[k].s, s->v[k].len) != NULL)
			return true;
	return false;
}

/* ---- masking ------------------------------------------------------------ */

/*
 * Mask n bytes of buf into out. At each position the longest pattern that
 * matches there is replaced. Unless final, the scan stops at the first
 * position where a pattern begins but buf ends before it does (the next
 * read may complete it): that position is returned, n when there is none.
 * A shorter pattern complete there does not decide it, so that a value
 * whose short lines are not masked on their own is never let out by
 * halves.
 */
static size_t
mask_run(const struct secrets *s, const char *buf, size_t n, bool final,
    void (*out)(void *, const char *, size_t), void *arg)
{
	const struct pattern *p;
	size_t i = 0, from = 0, k;
	bool hold = false;

	while (i < n) {
		if (!s->first[(unsigned char)buf[i]]) {
			i++;
			continue;
		}
		for (k = 0; k < s->n; k++) {
			p = &s->v[k];
			if (n - i < p->len) {
				hold = !final && memcmp(buf + i, p->s,
				    n - i) == 0;
				if (hold)
					break;
				continue;
			}
			if (memcmp(buf + i, p->s, p->len) == 0)
				break;
		}
		if (hold)
			break;
		if (k == s->n) {
			i++;
			continue;
		}
		if (i > from)
			out(arg, buf + from, i - from);
		out(arg, SECRET_MASK, sizeof SECRET_MASK - 1);
		i += s->v[k].len;
		from = i;
	}
	if (i > from)
		out(arg, buf + from, i - from);
	return i;
}

static void
to_strbuf(void *arg, const char *buf, size_t len)
{
	strbuf_add(arg, buf, len);
}

char *
secrets_mask(const struct secrets *s, const char *str)
{
	struct strbuf b = STRBUF_INIT;

	if (str == NULL)
		return NULL;
	if (secrets_count(s) == 0 || !secrets_hit(s, str, strlen(str)))
		return xstrdup(str);
	strbuf_add(&b, "", 0);
	(void)mask_run(s, str, strlen(str), true, to_strbuf, &b);
	return b.s;
}

void
secrets_stream(const struct secrets *s, struct maskstream *ms,
    const char *buf, size_t len,
    void (*out)(void *, const char *, size_t), void *arg)
{
	char *all;
	size_t n, done;

	if (secrets_count(s) == 0) {
		secrets_stream_end(s, ms, out, arg);
		if (len > 0)
			out(arg, buf, len);
		return;
	}
	if (ms->nheld == 0) {
		done = mask_run(s, buf, len, false, out, arg);
		if (done < len) {
			ms->held = xstrndup(buf + done, len - done);
			ms->nheld = len - done;
		}
		return;
	}
	/* what was held, then what came: scanned as one */
	n = ms->nheld + len;
	all = xmalloc(n + 1);
	memcpy(all, ms->held, ms->nheld);
	memcpy(all + ms->nheld, buf, len);
	free(ms->held);
	ms->held = NULL;
	ms->nheld = 0;
	done = mask_run(s, all, n, false, out, arg);
	if (done < n) {
		ms->held = xstrndup(all + done, n - done);
		ms->nheld = n - done;
	}
	explicit_bzero(all, n);
	free(all);
}

void
secrets_stream_end(const struct secrets *s, struct maskstream *ms,
    void (*out)(void *, const char *, size_t), void *arg)
{
	if (ms->nheld == 0)
		return;
	if (secrets_count(s) == 0)
		out(arg, ms->held, ms->nheld);
	else
		(void)mask_run(s, ms->held, ms->nheld, true, out, arg);
	explicit_bzero(ms->held, ms->nheld);
	free(ms->held);
	ms->held = NULL;
	ms->nheld = 0;
}

/* ---- values that hold a secret ------------------------------------------ */

/* DIR/private/NODE.values: each value as "KEY LENGTH\n", its bytes, "\n". */
int
secret_values_write(const char *dir, const char *node, const struct kv *v,
    size_t n, char **cause)
{
	struct strbuf b = STRBUF_INIT;
	char *path, num[32];
	size_t k;
	int rc;

	path = xasprintf("%s/private", dir);
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		*cause = xasprintf("cannot create '%s': %s", path,
		    strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	strbuf_add(&b, "", 0);
	for (k = 0; k < n; k++) {
		strbuf_str(&b, v[k].key);
		snprintf(num, sizeof num, " %zu\n", strlen(v[k].value));
		strbuf_str(&b, num);
		strbuf_str(&b, v[k].value);
		strbuf_lit(&b, "\n");
	}
	path = xasprintf("%s/private/%s.values", dir, node);
	rc = fs_write_atomic(path, b.s, b.len, 0600, cause);
	explicit_bzero(b.s, b.len);
	free(b.s);
	free(path);
	return rc;
}

char *
secret_values_get(const char *dir, const char *node, const char *key)
{
	char *path, *buf = NULL, *p, *end, *nl, *sp, *value = NULL;
	size_t len = 0, klen = strlen(key), vlen;

	path = xasprintf("%s/private/%s.values", dir, node);
	if (fs_read_file(path, 64u << 20, &buf, &len, NULL) != 0) {
		free(path);
		return NULL;
	}
	free(path);
	for (p = buf, end = buf + len; p < end; p = nl + 1 + vlen + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
		    (sp = memchr(p, ' ', (size_t)(nl - p))) == NULL)
			break;
		vlen = strtoul(sp + 1, NULL, 10);
		if (vlen > (size_t)(end - nl - 1))
			break;
		if ((size_t)(sp - p) == klen && memcmp(p, key, klen) == 0) {
			value = xstrndup(nl + 1, vlen);
			break;
		}
	}
	explicit_bzero(buf, len);
	free(buf);
	return value;
}
