/* The content-addressed node cache: keys, entries, lookup, store and gc
 * (layout in cache.h). Every entry is written whole under tmp/ and renamed
 * into place, and read back only when its meta matches its own SHA-256 and
 * its outputs match the sizes and SHA-256s the meta lists: a damaged entry
 * is a miss, never a wrong hit. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bundle.h"
#include "cache.h"
#include "fsutil.h"
#include "kvfile.h"
#include "strbuf.h"
#include "xmalloc.h"

#define CACHE_META_MAX		(16u << 20)	/* bytes of one meta */
#define CACHE_DEPTH_MAX		64		/* directories in a tree */
#define CACHE_TMP_AGE_MS	3600000		/* gc: leftovers in tmp/ */
#define CACHE_MAGIC		"dagexec-cache 1\n"

/* ---- digests --------------------------------------------------------------- */

struct cache_hash {
	EVP_MD_CTX	*ctx;
	bool		 failed;
};

static void
hex_of(const unsigned char *md, char *out)
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[64] = '\0';
}

/* SHA-256 of len bytes of p, in hex. */
static int
sha256_hex(const void *p, size_t len, char out[CACHE_KEY_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;

	if (EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		return -1;
	hex_of(md, out);
	return 0;
}

/* SHA-256 of what fd holds, in hex, and its size; optionally synced. */
static int
sha256_fd(int fd, char out[CACHE_KEY_LEN + 1], int64_t *size, bool sync)
{
	unsigned char md[EVP_MAX_MD_SIZE], buf[65536];
	unsigned int mdlen;
	EVP_MD_CTX *ctx;
	ssize_t r;
	int rc = -1;

	*size = 0;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	for (;;) {
		r = read(fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)r) != 1)
			goto out;
		*size += r;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		goto out;
	if (sync && fsync(fd) != 0)
		goto out;
	hex_of(md, out);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

struct cache_hash *
cache_hash_new(void)
{
	struct cache_hash *h = xcalloc(1, sizeof *h);

	h->ctx = EVP_MD_CTX_new();
	if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, EVP_sha256(),
	    NULL) != 1)
		h->failed = true;
	return h;
}

static void
hash_bytes(struct cache_hash *h, const void *p, size_t len)
{
	if (!h->failed && len > 0 && EVP_DigestUpdate(h->ctx, p, len) != 1)
		h->failed = true;
}

void
cache_hash_add(struct cache_hash *h, const char *name, const void *v,
    size_t len)
{
	char head[64];
	int n;

	hash_bytes(h, name, strlen(name));
	n = snprintf(head, sizeof head, " %zu:", len);
	hash_bytes(h, head, (size_t)n);
	hash_bytes(h, v, len);
	hash_bytes(h, "\n", 1);
}

void
cache_hash_str(struct cache_hash *h, const char *name, const char *v)
{
	if (v == NULL) {
		hash_bytes(h, name, strlen(name));
		hash_bytes(h, " -\n", 3);
	} else
		cache_hash_add(h, name, v, strlen(v));
}

int
cache_hash_final(struct cache_hash *h, char key[CACHE_KEY_LEN + 1],
    char **cause)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	bool failed = h->failed;

	if (!failed && (EVP_DigestFinal_ex(h->ctx, md, &mdlen) != 1 ||
	    mdlen != 32))
		failed = true;
	cache_hash_free(h);
	if (failed) {
		*cause = xstrdup("cannot compute a SHA-256 (libcrypto)");
		return -1;
	}
	hex_of(md, key);
	return 0;
}

void
cache_hash_free(struct cache_hash *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

/* ---- listings of trees ----------------------------------------------------- */

/* Append "NAME LEN:BYTES" (no newline). */
static void
put_field(struct strbuf *b, const char *name, const char *v)
{
	strbuf_str(b, name);
	strbuf_lit(b, " ");
	strbuf_int(b, (int64_t)strlen(v));
	strbuf_lit(b, ":");
	strbuf_str(b, v);
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in the directory fd (not . and ..), sorted; -1 on error. */
static int
dir_names(int fd, char ***out, size_t *n)
{
	DIR *d;
	struct dirent *de;
	int dfd;

	*out = NULL;
	*n = 0;
	if ((dfd = dup(fd)) < 0)
		return -1;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return -1;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		*out = xreallocarray(*out, *n + 2, sizeof **out);
		(*out)[(*n)++] = xstrdup(de->d_name);
		errno = 0;
	}
	if (errno != 0) {
		closedir(d);
		return -1;
	}
	closedir(d);
	if (*n > 0)
		qsort(*out, *n, sizeof **out, cmp_name);
	return 0;
}

static void
names_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

struct lister {
	struct strbuf	 out;
	int64_t		 bytes;		/* of the files listed */
	bool		 sync;		/* fsync what is listed */
	char		*cause;
};

/* List rel beneath dirfd into l->out: "dir LEN:REL\n", or "file LEN:REL
 * SIZE SHA256\n"; a directory's entries after it, by name. Symbolic links
 * are skipped (rel itself is followed with follow). 0, 1 when rel is
 * missing or a link not followed, -1 with l->cause. */
static int
tree_list(struct lister *l, int dirfd, const char *rel, bool follow,
    int depth)
{
	char hex[CACHE_KEY_LEN + 1], **names = NULL, *sub;
	struct stat st;
	size_t n = 0, k;
	int64_t size;
	int fd, rc = -1, r;

	if (depth > CACHE_DEPTH_MAX) {
		l->cause = xasprintf("'%s' is nested too deep", rel);
		return -1;
	}
	fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	    O_NOCTTY | (follow ? 0 : O_NOFOLLOW));
	if (fd < 0 && (errno == ENOENT || (!follow && errno == ELOOP)))
		return 1;
	if (fd < 0 || fstat(fd, &st) != 0) {
		l->cause = xasprintf("cannot open '%s': %s", rel,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		if (sha256_fd(fd, hex, &size, l->sync) != 0) {
			l->cause = xasprintf("cannot read '%s': %s", rel,
			    strerror(errno));
			goto out;
		}
		put_field(&l->out, "file", rel);
		strbuf_lit(&l->out, " ");
		strbuf_int(&l->out, size);
		strbuf_lit(&l->out, " ");
		strbuf_str(&l->out, hex);
		strbuf_lit(&l->out, "\n");
		l->bytes += size;
		rc = 0;
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		/* a FIFO or a device: its name only, never its content */
		put_field(&l->out, "special", rel);
		strbuf_lit(&l->out, "\n");
		rc = 0;
		goto out;
	}
	put_field(&l->out, "dir", rel);
	strbuf_lit(&l->out, "\n");
	if (dir_names(fd, &names, &n) != 0) {
		l->cause = xasprintf("cannot list '%s': %s", rel,
		    strerror(errno));
		goto out;
	}
	for (k = 0; k < n; k++) {
		sub = xasprintf("%s/%s", rel, names[k]);
		r = tree_list(l, dirfd, sub, false, depth + 1);
		free(sub);
		if (r < 0)
			goto out;
	}
	if (l->sync && fsync(fd) != 0) {
		l->cause = xasprintf("cannot sync '%s': %s", rel,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	names_free(names, n);
	close(fd);
	return rc;
}

int
cache_hash_path(struct cache_hash *h, const char *name, int dirfd,
    const char *rel, bool follow, bool *missing, char **cause)
{
	struct lister l = { STRBUF_INIT, 0, false, NULL };
	int r;

	r = tree_list(&l, dirfd, rel, follow, 0);
	if (r < 0) {
		*cause = l.cause;
		free(l.out.s);
		return -1;
	}
	*missing = r == 1;
	if (r == 1)
		cache_hash_str(h, name, NULL);
	else
		cache_hash_add(h, name, l.out.s, l.out.len);
	free(l.out.s);
	return 0;
}

/* pat with the glob characters of dir escaped before it: "DIR/PAT". */
static char *
glob_pattern(const char *dir, const char *pat)
{
	struct strbuf b = STRBUF_INIT;
	const char *p;

	for (p = dir; *p != '\0'; p++) {
		if (strchr("*?[]\\", *p) != NULL)
			strbuf_lit(&b, "\\");
		strbuf_add(&b, p, 1);
	}
	strbuf_lit(&b, "/");
	strbuf_str(&b, pat);
	return b.s;
}

/* A directory glob cannot read fails the key, but one that does not
 * exist only matches nothing. */
static int
glob_error(const char *path, int err)
{
	(void)path;
	return err != ENOENT && err != ENOTDIR;
}

int
cache_hash_glob(struct cache_hash *h, const char *dir, int dirfd,
    const char *pat, size_t *nmatch, char **cause)
{
	glob_t g;
	char *full;
	size_t k, skip = strlen(dir) + 1;
	bool missing;
	int r, rc = 0;

	full = glob_pattern(dir, pat);
	memset(&g, 0, sizeof g);
	/* sorted by glob itself (no GLOB_NOSORT), in the C locale's order
	 * as strcoll gives it: the same matches hash the same */
	r = glob(full, 0, glob_error, &g);
	free(full);
	cache_hash_str(h, "input", pat);
	*nmatch = 0;
	if (r == GLOB_NOMATCH) {
		globfree(&g);
		cache_hash_str(h, "match", NULL);
		return 0;
	}
	if (r != 0) {
		*cause = xasprintf("cannot expand input '%s': %s", pat,
		    r == GLOB_NOSPACE ? "out of memory" : r == GLOB_ABORTED ?
		    "a directory cannot be read" : strerror(errno));
		globfree(&g);
		return -1;
	}
	for (k = 0; k < g.gl_pathc && rc == 0; k++) {
		if (strlen(g.gl_pathv[k]) <= skip)
			continue;
		rc = cache_hash_path(h, "match", dirfd, g.gl_pathv[k] + skip,
		    true, &missing, cause);
		(*nmatch)++;
	}
	globfree(&g);
	return rc;
}

/* ---- meta ---------------------------------------------------------------- */

static char *
meta_render(const struct cache_put *p, const char *listing, int64_t size)
{
	struct strbuf b = STRBUF_INIT;
	char sum[CACHE_KEY_LEN + 1];
	size_t k;

	strbuf_lit(&b, CACHE_MAGIC);
	strbuf_lit(&b, "key ");
	strbuf_str(&b, p->key);
	strbuf_lit(&b, "\n");
	put_field(&b, "node", p->node);
	strbuf_lit(&b, "\n");
	put_field(&b, "dag", p->dag);
	strbuf_lit(&b, "\n");
	put_field(&b, "job", p->job);
	strbuf_lit(&b, "\ncreated ");
	strbuf_int(&b, p->created_ms);
	strbuf_lit(&b, "\nduration ");
	strbuf_int(&b, p->duration_ms);
	strbuf_lit(&b, "\nsize ");
	strbuf_int(&b, size);
	strbuf_lit(&b, "\n");
	for (k = 0; k < p->nvalues; k++) {
		put_field(&b, "value", p->values[k].key);
		strbuf_lit(&b, " ");
		put_field(&b, "", p->values[k].value);
		strbuf_lit(&b, "\n");
	}
	for (k = 0; k < p->nmetrics; k++) {
		put_field(&b, "metric", p->metrics[k].key);
		strbuf_lit(&b, " ");
		put_field(&b, "", p->metrics[k].value);
		strbuf_lit(&b, "\n");
	}
	for (k = 0; k < p->noutputs; k++) {
		put_field(&b, "output", p->outputs[k]);
		strbuf_lit(&b, "\n");
	}
	strbuf_str(&b, listing);
	if (sha256_hex(b.s, b.len, sum) != 0) {
		free(b.s);
		return NULL;
	}
	strbuf_lit(&b, "sum ");
	strbuf_str(&b, sum);
	strbuf_lit(&b, "\n");
	return b.s;
}

/* A cursor over a meta's text. */
struct rd {
	const char	*p;
	const char	*end;
};

/* The word up to a space or a newline (not consumed), in buf. */
static bool
rd_word(struct rd *r, char *buf, size_t len)
{
	size_t n = 0;

	while (r->p < r->end && *r->p != ' ' && *r->p != '\n') {
		if (n + 1 >= len)
			return false;
		buf[n++] = *r->p++;
	}
	buf[n] = '\0';
	return n > 0;
}

static bool
rd_char(struct rd *r, char c)
{
	if (r->p >= r->end || *r->p != c)
		return false;
	r->p++;
	return true;
}

static bool
rd_int(struct rd *r, int64_t *v)
{
	char buf[32], *e;
	long long x;

	if (!rd_word(r, buf, sizeof buf) || buf[0] < '0' || buf[0] > '9')
		return false;
	errno = 0;
	x = strtoll(buf, &e, 10);
	if (errno != 0 || *e != '\0')
		return false;
	*v = x;
	return true;
}

/* " LEN:BYTES" after a field name (or right away when the name is ""):
 * a new string. */
static char *
rd_field(struct rd *r)
{
	const char *colon;
	char *e, *s;
	unsigned long long n;

	colon = memchr(r->p, ':', (size_t)(r->end - r->p));
	if (colon == NULL || colon == r->p || *r->p < '0' || *r->p > '9')
		return NULL;
	errno = 0;
	n = strtoull(r->p, &e, 10);
	if (errno != 0 || e != colon || n > (size_t)(r->end - colon - 1))
		return NULL;
	s = xmalloc(n + 1);
	memcpy(s, colon + 1, n);
	s[n] = '\0';
	if (strlen(s) != n) {
		free(s);
		return NULL;
	}
	r->p = colon + 1 + n;
	return s;
}

static void
kv_push(struct kv **v, size_t *n, char *k, char *val)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[*n].key = k;
	(*v)[*n].value = val;
	(*n)++;
}

/* One "NAME ..." line of meta into e; *listing set where the outputs'
 * listing starts. false: malformed. */
static bool
meta_line(struct rd *r, struct cache_entry *e, const char **listing)
{
	char word[16], *a, *b;
	int64_t v;

	if (!rd_word(r, word, sizeof word) || !rd_char(r, ' '))
		return false;
	if (strcmp(word, "dir") == 0 || strcmp(word, "file") == 0 ||
	    strcmp(word, "special") == 0) {
		*listing = r->p - strlen(word) - 1;
		return true;
	}
	if (strcmp(word, "key") == 0) {
		if (!rd_word(r, e->key, sizeof e->key))
			return false;
	} else if (strcmp(word, "node") == 0 || strcmp(word, "dag") == 0 ||
	    strcmp(word, "job") == 0 || strcmp(word, "output") == 0) {
		if ((a = rd_field(r)) == NULL)
			return false;
		if (word[0] == 'n' && e->node == NULL)
			e->node = a;
		else if (word[0] == 'd' && e->dag == NULL)
			e->dag = a;
		else if (word[0] == 'j' && e->job == NULL)
			e->job = a;
		else if (word[0] == 'o') {
			e->outputs = xreallocarray(e->outputs, e->noutputs + 2,
			    sizeof *e->outputs);
			e->outputs[e->noutputs++] = a;
			e->outputs[e->noutputs] = NULL;
		} else {
			free(a);
			return false;
		}
	} else if (strcmp(word, "value") == 0 || strcmp(word, "metric") == 0) {
		if ((a = rd_field(r)) == NULL)
			return false;
		if (!rd_char(r, ' ') || !rd_char(r, ' ') ||
		    (b = rd_field(r)) == NULL) {
			free(a);
			return false;
		}
		if (word[0] == 'v')
			kv_push(&e->values, &e->nvalues, a, b);
		else
			kv_push(&e->metrics, &e->nmetrics, a, b);
	} else if (strcmp(word, "created") == 0 ||
	    strcmp(word, "duration") == 0 || strcmp(word, "size") == 0) {
		if (!rd_int(r, &v))
			return false;
		if (word[0] == 'c')
			e->created_ms = v;
		else if (word[0] == 'd')
			e->duration_ms = v;
		else
			e->size = v;
	} else
		return false;
	return rd_char(r, '\n');
}

/* Check and parse the meta text (len bytes) into e; its listing of the
 * outputs in *listing (into text). NULL, or why it is no good. */
static const char *
meta_parse(const char *text, size_t len, struct cache_entry *e,
    const char **listing, size_t *nlisting)
{
	char sum[CACHE_KEY_LEN + 1];
	size_t mlen = sizeof CACHE_MAGIC - 1, body;
	const char *end;
	struct rd r;

	/* "sum HEX\n" closes it, over every byte before */
	if (len < mlen + 4 + CACHE_KEY_LEN + 1 ||
	    memcmp(text, CACHE_MAGIC, mlen) != 0)
		return "not a cache entry";
	body = len - (4 + CACHE_KEY_LEN + 1);
	if (memcmp(text + body, "sum ", 4) != 0 || text[len - 1] != '\n')
		return "its checksum is missing";
	if (sha256_hex(text, body, sum) != 0 ||
	    memcmp(sum, text + body + 4, CACHE_KEY_LEN) != 0)
		return "its checksum does not match";
	r.p = text + mlen;
	r.end = end = text + body;
	*listing = NULL;
	while (r.p < end && *listing == NULL)
		if (!meta_line(&r, e, listing))
			return "it is malformed";
	if (*listing == NULL || e->node == NULL || e->dag == NULL ||
	    e->job == NULL || strlen(e->key) != CACHE_KEY_LEN)
		return "it is incomplete";
	*nlisting = (size_t)(end - *listing);
	return NULL;
}

/* ---- lookup ---------------------------------------------------------------- */

/* Free what e holds, not e. */
static void
cache_entry_release(struct cache_entry *e)
{
	if (e->fd >= 0)
		close(e->fd);
	free(e->dir);
	free(e->node);
	free(e->dag);
	free(e->job);
	kvfile_free(e->values, e->nvalues);
	kvfile_free(e->metrics, e->nmetrics);
	if (e->outputs != NULL)
		names_free(e->outputs, e->noutputs);
}

void
cache_entry_free(struct cache_entry *e)
{
	if (e == NULL)
		return;
	cache_entry_release(e);
	free(e);
}

static int64_t
ms_of(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000 + ts->tv_nsec / 1000000;
}

/* Read e->dir/meta into e; with outputs, check the outputs against it.
 * Both are read through one open directory, so that an entry another run
 * replaces meanwhile is read whole, the old or the new, never a mix. With
 * keep, that directory stays open in e->fd (a good entry only). NULL, or
 * why the entry is no good (errno-based text allocated in *why_alloc). */
static const char *
entry_read(struct cache_entry *e, bool outputs, bool keep, char **why_alloc)
{
	struct lister l = { STRBUF_INIT, 0, false, NULL };
	char *text = NULL, *c2 = NULL;
	const char *why = NULL, *listing;
	size_t len, nlisting;
	int dfd, fd = -1;
	struct stat st;

	dfd = open(e->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd >= 0)
		fd = openat(dfd, "meta", O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
		    O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    fs_read_fd(fd, "meta", CACHE_META_MAX, &text, &len, &c2) != 0) {
		*why_alloc = xasprintf("cannot read its meta: %s",
		    c2 != NULL ? c2 : fd < 0 || errno != 0 ? strerror(errno) :
		    "not a file");
		free(c2);
		if (fd >= 0)
			close(fd);
		if (dfd >= 0)
			close(dfd);
		return *why_alloc;
	}
	close(fd);
	if ((why = meta_parse(text, len, e, &listing, &nlisting)) != NULL ||
	    !outputs)
		goto out;
	if (tree_list(&l, dfd, "outputs", false, 0) != 0) {
		*why_alloc = xasprintf("cannot read its outputs: %s",
		    l.cause != NULL ? l.cause : strerror(errno));
		why = *why_alloc;
	} else if (l.out.len != nlisting ||
	    memcmp(l.out.s, listing, nlisting) != 0)
		why = "its outputs do not match their checksums";
out:
	if (keep && why == NULL)
		e->fd = dfd;
	else
		close(dfd);
	free(l.cause);
	free(l.out.s);
	free(text);
	return why;
}

static char *
entry_dir(const char *dir, const char *key)
{
	return xasprintf("%s/%.2s/%s", dir, key, key);
}

static void
id_of_stat(const struct stat *st, struct cache_id *id)
{
	id->dev = (uint64_t)st->st_dev;
	id->ino = (uint64_t)st->st_ino;
}

void
cache_id_of(const char *dir, const char *key, struct cache_id *id)
{
	char *path = entry_dir(dir, key);
	struct stat st;

	memset(id, 0, sizeof *id);
	if (lstat(path, &st) == 0)
		id_of_stat(&st, id);
	free(path);
}

int
cache_lookup(const char *dir, const char *key, struct cache_entry **out,
    struct cache_id *seen, char **cause)
{
	struct cache_entry *e;
	struct stat st;
	const char *why;
	char *why_alloc = NULL;

	*out = NULL;
	if (seen != NULL)
		memset(seen, 0, sizeof *seen);
	e = xcalloc(1, sizeof *e);
	e->fd = -1;
	e->dir = entry_dir(dir, key);
	if (lstat(e->dir, &st) != 0 && errno == ENOENT) {
		cache_entry_free(e);
		return 0;
	}
	if (seen != NULL)
		id_of_stat(&st, seen);
	why = entry_read(e, true, true, &why_alloc);
	if (why == NULL && strcmp(e->key, key) != 0)
		why = "it holds another key";
	if (why != NULL) {
		*cause = xasprintf("entry '%s' is unusable: %s", e->dir,
		    why);
		free(why_alloc);
		cache_entry_free(e);
		return -1;
	}
	/* the directory's times say when it was last used (gc) */
	(void)futimens(e->fd, NULL);
	e->used_ms = e->created_ms;
	if (fstat(e->fd, &st) == 0)
		e->used_ms = ms_of(&st.st_mtim);
	e->ok = true;
	*out = e;
	return 1;
}

int
cache_entry_outputs(const struct cache_entry *e, char **cause)
{
	char *path = xasprintf("%s/outputs", e->dir);
	int fd;

	/* the entry lookup verified, even if another run replaced it */
	fd = openat(e->fd >= 0 ? e->fd : AT_FDCWD, e->fd >= 0 ? "outputs" :
	    path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		*cause = xasprintf("cannot open '%s': %s", path,
		    strerror(errno));
	free(path);
	return fd;
}

/* ---- store ----------------------------------------------------------------- */

/* Write data into a new file at path and sync it. */
static int
write_synced(const char *path, const char *data, size_t len, char **cause)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0 || fs_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		*cause = xasprintf("cannot write '%s': %s", path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (close(fd) != 0) {
		*cause = xasprintf("cannot write '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* A fresh name under DIR/tmp/. */
static char *
tmp_name(const char *dir, const char *what)
{
	unsigned char r[6];
	char hex[13];
	size_t k;

	if (getrandom(r, sizeof r, 0) != sizeof r)
		memset(r, 0, sizeof r);
	for (k = 0; k < sizeof r; k++)
		snprintf(hex + 2 * k, 3, "%02x", r[k]);
	return xasprintf("%s/tmp/%.12s.%ld.%s", dir, what, (long)getpid(),
	    hex);
}

/* Copy p's outputs into tmp/outputs, list and sync them, write meta. */
static int
store_fill(const char *tmp, const struct cache_put *p, char **cause)
{
	struct lister l = { STRBUF_INIT, 0, true, NULL };
	char *dest, *meta = NULL, *path;
	size_t k;
	int fd = -1, rc = -1;

	dest = xasprintf("%s/outputs", tmp);
	if (mkdir(dest, 0700) != 0) {
		*cause = xasprintf("cannot create '%s': %s", dest,
		    strerror(errno));
		goto out;
	}
	for (k = 0; k < p->noutputs; k++) {
		/* only what the node made: a missing output is no entry */
		if (p->outputs_fd < 0 || bundle_collect_output(p->outputs_fd,
		    p->outputs[k], dest, NULL, cause) != 0) {
			if (p->outputs_fd < 0)
				*cause = xasprintf("output '%s' is missing",
				    p->outputs[k]);
			goto out;
		}
	}
	if ((fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    tree_list(&l, fd, "outputs", false, 0) != 0) {
		*cause = l.cause != NULL ? l.cause : xasprintf("cannot open "
		    "'%s': %s", tmp, strerror(errno));
		l.cause = NULL;
		goto out;
	}
	if ((meta = meta_render(p, l.out.s, l.bytes)) == NULL) {
		*cause = xstrdup("cannot compute a SHA-256 (libcrypto)");
		goto out;
	}
	path = xasprintf("%s/meta", tmp);
	rc = write_synced(path, meta, strlen(meta), cause);
	free(path);
	if (rc == 0 && fsync(fd) != 0) {
		*cause = xasprintf("cannot sync '%s': %s", tmp,
		    strerror(errno));
		rc = -1;
	}
out:
	if (fd >= 0)
		close(fd);
	free(l.out.s);
	free(l.cause);
	free(meta);
	free(dest);
	return rc;
}

/* Does the entry at final hold p's key, whole, and is it not the one this
 * run looked at and did not use (p->refused)? Then another run stored it
 * while this one ran the node (both had missed): it is as good as p's, and
 * readers may be using it, so it stays. Which entry it is, is told by its
 * directory, not by its time: an entry's meta is written before it is
 * renamed into place, so another run may miss it after its time. */
static bool
store_current(const char *final, const struct cache_put *p)
{
	struct cache_entry e;
	struct stat st;
	char *why_alloc = NULL;
	bool ok;

	if (lstat(final, &st) != 0)
		return false;
	if ((p->refused.dev != 0 || p->refused.ino != 0) &&
	    (uint64_t)st.st_dev == p->refused.dev &&
	    (uint64_t)st.st_ino == p->refused.ino)
		return false;
	memset(&e, 0, sizeof e);
	e.fd = -1;
	e.dir = xstrdup(final);
	ok = entry_read(&e, true, false, &why_alloc) == NULL &&
	    strcmp(e.key, p->key) == 0;
	free(why_alloc);
	cache_entry_release(&e);
	return ok;
}

/* Rename tmp to final, over the entry of the key p refused. 0, 1 when
 * another run's whole entry is kept instead, or -1 with
 * *cause. Other runs may store the key at the same time: a rename onto an
 * entry (ENOTEMPTY, EEXIST) is looked at, an older entry that another run
 * moved away first (ENOENT) is gone already; either way, try again. */
static int
store_rename(const char *dir, const char *tmp, const char *final,
    const struct cache_put *p, char **cause)
{
	char *old, *c2 = NULL;
	int tries, rc;

	for (tries = 0; tries < 8; tries++) {
		if (rename(tmp, final) == 0)
			return 0;
		if (errno != ENOTEMPTY && errno != EEXIST)
			break;
		if (store_current(final, p))
			return 1;
		/* an older entry (expired, or damaged): it goes through tmp/
		 * and the new one takes its place */
		old = tmp_name(dir, "old");
		rc = rename(final, old);
		if (rc == 0)
			(void)fs_remove_tree(old, &c2);
		free(c2);
		c2 = NULL;
		free(old);
		if (rc != 0 && errno != ENOENT)
			break;
	}
	*cause = xasprintf("cannot rename '%s' to '%s': %s", tmp, final,
	    tries == 8 ? "other runs keep storing it" : strerror(errno));
	return -1;
}

int
cache_store(const char *dir, const struct cache_put *p, char **cause)
{
	char *tmp = NULL, *final = NULL, *sub = NULL, *c2 = NULL;
	int rc = -1, r;

	sub = xasprintf("%s/tmp", dir);
	if (fs_mkdirs(sub, 0700, cause) != 0)
		goto out;
	free(sub);
	sub = xasprintf("%s/%.2s", dir, p->key);
	if (fs_mkdirs(sub, 0700, cause) != 0)
		goto out;
	tmp = tmp_name(dir, p->key);
	if (mkdir(tmp, 0700) != 0) {
		*cause = xasprintf("cannot create '%s': %s", tmp,
		    strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (store_fill(tmp, p, cause) != 0)
		goto out;
	final = entry_dir(dir, p->key);
	if ((r = store_rename(dir, tmp, final, p, cause)) < 0)
		goto out;
	if (r == 1) {
		rc = 1;		/* tmp is removed below */
		goto out;
	}
	free(tmp);
	tmp = NULL;
	if (fs_sync_parent(final) != 0) {
		*cause = xasprintf("cannot sync '%s': %s", sub,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (tmp != NULL) {
		(void)fs_remove_tree(tmp, &c2);
		free(c2);
	}
	free(tmp);
	free(final);
	free(sub);
	return rc;
}

/* ---- the directory --------------------------------------------------------- */

char *
cache_dir_default(const char *dir, char **cause)
{
	const char *v;

	if (dir != NULL && *dir != '\0')
		return xstrdup(dir);
	if ((v = getenv("DAGEXEC_CACHE")) != NULL && *v != '\0')
		return xstrdup(v);
	/* the XDG base directory rules: a relative value is ignored */
	if ((v = getenv("XDG_CACHE_HOME")) != NULL && *v == '/')
		return xasprintf("%s/dagexec", v);
	if ((v = getenv("HOME")) != NULL && *v == '/')
		return xasprintf("%s/.cache/dagexec", v);
	*cause = xstrdup("no cache directory: set --cache, $DAGEXEC_CACHE, "
	    "$XDG_CACHE_HOME or $HOME");
	return NULL;
}

static bool
is_hex(const char *s, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (!((s[k] >= '0' && s[k] <= '9') || (s[k] >= 'a' &&
		    s[k] <= 'f')))
			return false;
	return s[n] == '\0';
}

static int
cmp_used(const void *a, const void *b)
{
	const struct cache_entry *x = *(struct cache_entry *const *)a;
	const struct cache_entry *y = *(struct cache_entry *const *)b;

	if (x->used_ms != y->used_ms)
		return x->used_ms < y->used_ms ? -1 : 1;
	return strcmp(x->key, y->key);
}

void
cache_entries_free(struct cache_entry **v, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		cache_entry_free(v[k]);
	free(v);
}

/* The entries under DIR/XX (fd), appended to *v. */
static void
scan_sub(const char *dir, const char *xx, int fd, bool verify,
    struct cache_entry ***v, size_t *n)
{
	struct cache_entry *e;
	struct stat st;
	char **names, *why_alloc = NULL;
	size_t nn, k;

	if (dir_names(fd, &names, &nn) != 0)
		return;
	for (k = 0; k < nn; k++) {
		if (strlen(names[k]) != CACHE_KEY_LEN ||
		    !is_hex(names[k], CACHE_KEY_LEN) ||
		    strncmp(names[k], xx, 2) != 0)
			continue;
		e = xcalloc(1, sizeof *e);
		e->fd = -1;
		e->dir = entry_dir(dir, names[k]);
		e->ok = entry_read(e, verify, false, &why_alloc) == NULL &&
		    strcmp(e->key, names[k]) == 0;
		free(why_alloc);
		why_alloc = NULL;
		memcpy(e->key, names[k], CACHE_KEY_LEN + 1);
		e->used_ms = e->created_ms;
		if (fstatat(fd, names[k], &st, AT_SYMLINK_NOFOLLOW) == 0)
			e->used_ms = ms_of(&st.st_mtim);
		*v = xreallocarray(*v, *n + 1, sizeof **v);
		(*v)[(*n)++] = e;
	}
	names_free(names, nn);
}

int
cache_scan(const char *dir, bool verify, struct cache_entry ***out,
    size_t *n, char **cause)
{
	char **names;
	size_t nn, k;
	int fd, sfd;

	*out = NULL;
	*n = 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || dir_names(fd, &names, &nn) != 0) {
		*cause = xasprintf("cannot read '%s': %s", dir,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (k = 0; k < nn; k++) {
		if (strlen(names[k]) != 2 || !is_hex(names[k], 2))
			continue;
		sfd = openat(fd, names[k], O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0)
			continue;
		scan_sub(dir, names[k], sfd, verify, out, n);
		close(sfd);
	}
	names_free(names, nn);
	close(fd);
	if (*n > 0)
		qsort(*out, *n, sizeof **out, cmp_used);
	return 0;
}

/* Remove what is left in DIR/tmp/ (older than the bound unless all). */
static void
gc_tmp(const char *dir, bool all, int64_t now_ms)
{
	char *tmp = xasprintf("%s/tmp", dir), **names, *path, *c2 = NULL;
	struct stat st;
	size_t nn, k;
	int fd;

	fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && dir_names(fd, &names, &nn) == 0) {
		for (k = 0; k < nn; k++) {
			if (!all && (fstatat(fd, names[k], &st,
			    AT_SYMLINK_NOFOLLOW) != 0 ||
			    now_ms - ms_of(&st.st_mtim) < CACHE_TMP_AGE_MS))
				continue;
			path = xasprintf("%s/%s", tmp, names[k]);
			(void)fs_remove_tree(path, &c2);
			free(c2);
			c2 = NULL;
			free(path);
		}
		names_free(names, nn);
	}
	if (fd >= 0)
		close(fd);
	free(tmp);
}

int
cache_gc(const char *dir, int64_t older_ms, int64_t max_size,
    bool everything, int64_t now_ms, size_t *nremoved, int64_t *freed,
    char **cause)
{
	struct cache_entry **v;
	int64_t total = 0;
	size_t n, k;
	bool drop;
	int rc = 0;

	*nremoved = 0;
	*freed = 0;
	/* every output read back: a damaged entry goes too */
	if (cache_scan(dir, !everything, &v, &n, cause) != 0)
		return -1;
	for (k = 0; k < n; k++)
		total += v[k]->ok ? v[k]->size : 0;
	/* oldest use first: what goes for the size bound goes in order */
	for (k = 0; k < n && rc == 0; k++) {
		drop = everything || !v[k]->ok ||
		    (older_ms >= 0 && now_ms - v[k]->used_ms > older_ms) ||
		    (max_size >= 0 && total > max_size);
		if (!drop)
			continue;
		if (fs_remove_tree(v[k]->dir, cause) != 0) {
			rc = -1;
			break;
		}
		(*nremoved)++;
		if (v[k]->ok) {
			*freed += v[k]->size;
			total -= v[k]->size;
		}
	}
	cache_entries_free(v, n);
	gc_tmp(dir, everything, now_ms);
	return rc;
}
