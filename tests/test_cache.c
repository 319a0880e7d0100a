/*
 * cache.c and cachekey.c: a node's key is stable (same definition, other
 * layout or comments, another attempt: same key) and changes with what the
 * result depends on (env, inputs, a need's values and output bytes); an
 * entry is stored atomically, read back whole, and a damaged one is a miss
 * with a reason, never a hit; gc and its bounds.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include "cunit_main.h"
#include "cache.h"
#include "diag.h"
#include "fsutil.h"
#include "manifest.h"
#include "xmalloc.h"

static char	 top[] = "/tmp/test_cache.XXXXXX";
static char	*workdir, *outdir, *store;
static int	 workfd = -1, outfd = -1;

static int
suite_init(void)
{
	char *c = NULL;

	if (mkdtemp(top) == NULL)
		return -1;
	workdir = xasprintf("%s/work", top);
	outdir = xasprintf("%s/outputs", top);
	store = xasprintf("%s/store", top);
	if (fs_mkdirs(workdir, 0700, &c) != 0 ||
	    fs_mkdirs(outdir, 0700, &c) != 0)
		return -1;
	workfd = open(workdir, O_RDONLY | O_DIRECTORY);
	outfd = open(outdir, O_RDONLY | O_DIRECTORY);
	return workfd < 0 || outfd < 0 ? -1 : 0;
}

static int
suite_clean(void)
{
	char *c = NULL;

	close(workfd);
	close(outfd);
	(void)fs_remove_tree(top, &c);
	free(c);
	free(workdir);
	free(outdir);
	free(store);
	return 0;
}

static void
put(const char *dir, const char *rel, const char *text)
{
	char *path = xasprintf("%s/%s", dir, rel), *slash, *c = NULL;
	FILE *fp;

	slash = strrchr(path, '/');
	*slash = '\0';
	CU_ASSERT_EQUAL_FATAL(fs_mkdirs(path, 0700, &c), 0);
	*slash = '/';
	fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs(text, fp);
	fclose(fp);
	free(path);
}

static struct manifest *
parse(const char *text)
{
	struct manifest *m = NULL;
	struct diags d;

	diags_init(&d);
	if (manifest_parse("t.yaml", text, strlen(text), &m, &d) != 0)
		diags_print(stderr, "t.yaml", &d);
	diags_release(&d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	return m;
}

static const char base_text[] =
    "name: k\n"
    "env: {LANG: C}\n"
    "nodes:\n"
    "  prep: {run: make-data, outputs: [data.csv]}\n"
    "  fit:\n"
    "    needs: [prep]\n"
    "    run: fit --data data.csv\n"
    "    env: {MODEL: small}\n"
    "    cache: {inputs: [\"in/*.txt\"], env: [MODEL_DIR]}\n";

/* The same manifest laid out otherwise, with comments and other policy. */
static const char same_text[] =
    "# a comment\n"
    "name: k\n"
    "nodes:\n"
    "  prep:\n"
    "    outputs: [data.csv]   # made by make-data\n"
    "    run: make-data\n"
    "  fit: {cache: {env: [MODEL_DIR], inputs: \"in/*.txt\"},\n"
    "        env: {MODEL: small}, needs: [prep], retries: 3,\n"
    "        timeout: 1h, run: \"fit --data data.csv\"}\n"
    "env:\n"
    "  LANG: C\n";

/* writable strings: the environment and kv types take char * */
static char ea0[] = "MODEL_DIR=/m", ea1[] = "DAGEXEC_ATTEMPT=1";
static char *env_a[] = { ea0, ea1, NULL };
static char s_rows[] = "rows", s_10[] = "10", s_11[] = "11", s_msg[] = "msg";
static char s_abc[] = "a b=c", s_tokens[] = "tokens", s_45[] = "45";
static char s_data[] = "data.csv", s_sub[] = "sub";
static char s_never[] = "never-made.txt";
static char eb0[] = "DAGEXEC_ATTEMPT=2", eb1[] = "OTHER=x";
static char ec0[] = "MODEL_DIR=/other", ee0[] = "MODEL_DIR=";

/* The key of node 1 of m with values vals (n of them) from its need. */
static void
key_of(const struct manifest *m, const struct kv *vals, size_t n,
    char *const *env, char key[CACHE_KEY_LEN + 1])
{
	struct cache_keyin in;
	const struct kv *nv[1] = { vals };
	size_t nn[1] = { n };
	char *warn = NULL, *cause = NULL;

	memset(&in, 0, sizeof in);
	in.m = m;
	in.node = 1;
	in.workdir = workdir;
	in.workdir_fd = workfd;
	in.outputs_fd = outfd;
	in.need_values = nv;
	in.nneed_values = nn;
	in.env = env;
	CU_ASSERT_EQUAL_FATAL(cache_node_key(&in, key, &warn, &cause), 0);
	CU_ASSERT_EQUAL(strlen(key), CACHE_KEY_LEN);
	free(warn);
}

static void
test_key_stable(void)
{
	struct manifest *a = parse(base_text), *b = parse(same_text);
	char ka[CACHE_KEY_LEN + 1], kb[CACHE_KEY_LEN + 1];
	char *env_b[] = { eb0, eb1, ea0, NULL };
	struct kv v = { s_rows, s_10 };

	put(workdir, "in/a.txt", "a\n");
	put(outdir, "prep/data.csv", "1,2\n");
	key_of(a, &v, 1, env_a, ka);
	key_of(a, &v, 1, env_a, kb);
	CU_ASSERT_STRING_EQUAL(ka, kb);
	/* layout, comments, retries and timeout: the same key */
	key_of(b, &v, 1, env_a, kb);
	CU_ASSERT_STRING_EQUAL(ka, kb);
	/* another attempt, another unlisted variable: the same key */
	key_of(a, &v, 1, env_b, kb);
	CU_ASSERT_STRING_EQUAL(ka, kb);
	manifest_free(a);
	manifest_free(b);
}

static void
test_key_changes(void)
{
	struct manifest *a = parse(base_text), *b;
	char ka[CACHE_KEY_LEN + 1], kb[CACHE_KEY_LEN + 1];
	char *env_c[] = { ec0, NULL };
	char *env_d[] = { NULL };
	char *env_e[] = { ee0, NULL };
	struct kv v = { s_rows, s_10 }, v2 = { s_rows, s_11 };
	char *text;

	put(workdir, "in/a.txt", "a\n");
	put(outdir, "prep/data.csv", "1,2\n");
	key_of(a, &v, 1, env_a, ka);
	/* a listed variable: changed, unset, empty */
	key_of(a, &v, 1, env_c, kb);
	CU_ASSERT_STRING_NOT_EQUAL(ka, kb);
	key_of(a, &v, 1, env_d, kb);
	CU_ASSERT_STRING_NOT_EQUAL(ka, kb);
	key_of(a, &v, 1, env_e, ka);
	CU_ASSERT_STRING_NOT_EQUAL(ka, kb);
	key_of(a, &v, 1, env_a, ka);
	/* a value the need passes on */
	key_of(a, &v2, 1, env_a, kb);
	CU_ASSERT_STRING_NOT_EQUAL(ka, kb);
	key_of(a, NULL, 0, env_a, kb);
	CU_ASSERT_STRING_NOT_EQUAL(ka, kb);
	/* an input's content, a new input, and back */
	put(workdir, "in/a.txt", "b\n");
	key_of(a, &v, 1, env_a, kb);
	CU_ASSERT_STRING_NOT_EQUAL(ka, kb);
	put(workdir, "in/a.txt", "a\n");
	key_of(a, &v, 1, env_a, kb);
	CU_ASSERT_STRING_EQUAL(ka, kb);
	put(workdir, "in/b.txt", "");
	key_of(a, &v, 1, env_a, kb);
	CU_ASSERT_STRING_NOT_EQUAL(ka, kb);
	text = xasprintf("%s/in/b.txt", workdir);
	CU_ASSERT_EQUAL(unlink(text), 0);
	free(text);
	/* the bytes of the need's declared output (early cut-off: the same
	 * bytes rewritten give the same key) */
	put(outdir, "prep/data.csv", "1,3\n");
	key_of(a, &v, 1, env_a, kb);
	CU_ASSERT_STRING_NOT_EQUAL(ka, kb);
	put(outdir, "prep/data.csv", "1,2\n");
	key_of(a, &v, 1, env_a, kb);
	CU_ASSERT_STRING_EQUAL(ka, kb);
	/* what it runs, its env */
	text = xstrdup(base_text);
	*strstr(text, "small") = 'S';
	b = parse(text);
	key_of(b, &v, 1, env_a, kb);
	CU_ASSERT_STRING_NOT_EQUAL(ka, kb);
	manifest_free(b);
	strcpy(text, base_text);
	*strstr(text, "--data") = '+';
	b = parse(text);
	key_of(b, &v, 1, env_a, kb);
	CU_ASSERT_STRING_NOT_EQUAL(ka, kb);
	manifest_free(b);
	free(text);
	manifest_free(a);
}

/* A glob that matches nothing counts as empty and is warned about. */
static void
test_key_no_match(void)
{
	static const char text[] =
	    "name: k\nnodes:\n  a: {run: x}\n"
	    "  b: {run: y, cache: {inputs: [\"none/*.x\"]}}\n";
	struct manifest *m = parse(text);
	struct cache_keyin in;
	char key[CACHE_KEY_LEN + 1], *warn = NULL, *cause = NULL;

	memset(&in, 0, sizeof in);
	in.m = m;
	in.node = 1;
	in.workdir = workdir;
	in.workdir_fd = workfd;
	in.outputs_fd = outfd;
	CU_ASSERT_EQUAL(cache_node_key(&in, key, &warn, &cause), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(warn);
	CU_ASSERT_STRING_EQUAL(warn, "input 'none/*.x' matches nothing");
	free(warn);
	manifest_free(m);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char key1[] =
    "1111111111111111111111111111111111111111111111111111111111111111";

/* Store an entry of key1 with data.csv (and sub/x) from outputs/prep,
 * made by an attempt of 1234 ms that ended at created, by a run whose
 * lookup did not use the entry refused (NULL: it saw none); want what
 * cache_store returns. */
static void
store_want(int64_t created, const struct cache_id *refused, int want)
{
	struct kv vals[2] = { { s_rows, s_10 }, { s_msg, s_abc } };
	struct kv mets[1] = { { s_tokens, s_45 } };
	char *outs[2] = { s_data, s_sub };
	struct cache_put p;
	char *cause = NULL, *dir;
	int fd;

	put(outdir, "prep/data.csv", "1,2\n");
	put(outdir, "prep/sub/x", "xx\n");
	dir = xasprintf("%s/prep", outdir);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	free(dir);
	CU_ASSERT_FATAL(fd >= 0);
	memset(&p, 0, sizeof p);
	p.key = key1;
	p.node = "prep";
	p.dag = "k";
	p.job = "k-1";
	p.created_ms = created;
	p.duration_ms = 1234;
	p.values = vals;
	p.nvalues = 2;
	p.metrics = mets;
	p.nmetrics = 1;
	p.outputs = outs;
	p.noutputs = 2;
	p.outputs_fd = fd;
	if (refused != NULL)
		p.refused = *refused;
	CU_ASSERT_EQUAL(cache_store(store, &p, &cause), want);
	if (cause != NULL)
		fprintf(stderr, "%s\n", cause);
	free(cause);
	close(fd);
}

static void
store_one(int64_t created)
{
	store_want(created, NULL, 0);
}

static void
test_store_lookup(void)
{
	struct cache_id seen, old;
	struct cache_entry *e = NULL;
	char *cause = NULL, *tmp, buf[16];
	struct stat st;
	ssize_t r;
	int fd, fd2;

	CU_ASSERT_EQUAL(cache_lookup(store, key1, &e, &seen, &cause), 0);
	CU_ASSERT_EQUAL(seen.ino, 0);
	store_one(1000);
	CU_ASSERT_EQUAL_FATAL(cache_lookup(store, key1, &e, &seen, &cause), 1);
	CU_ASSERT_NOT_EQUAL(seen.ino, 0);
	CU_ASSERT_STRING_EQUAL(e->node, "prep");
	CU_ASSERT_STRING_EQUAL(e->job, "k-1");
	CU_ASSERT_EQUAL(e->created_ms, 1000);
	CU_ASSERT_EQUAL(e->duration_ms, 1234);
	CU_ASSERT_EQUAL(e->size, 7);
	CU_ASSERT_EQUAL_FATAL(e->nvalues, 2);
	CU_ASSERT_STRING_EQUAL(e->values[1].value, "a b=c");
	CU_ASSERT_EQUAL_FATAL(e->nmetrics, 1);
	CU_ASSERT_STRING_EQUAL(e->metrics[0].key, "tokens");
	CU_ASSERT_EQUAL_FATAL(e->noutputs, 2);
	fd = cache_entry_outputs(e, &cause);
	CU_ASSERT_FATAL(fd >= 0);
	fd2 = openat(fd, "sub/x", O_RDONLY);
	r = pread(fd2, buf, sizeof buf, 0);
	CU_ASSERT_EQUAL(r, 3);
	close(fd2);
	close(fd);
	cache_entry_free(e);
	/* nothing left behind in tmp/, the entry where cache.h says */
	tmp = xasprintf("%s/tmp", store);
	CU_ASSERT_EQUAL(rmdir(tmp), 0);
	free(tmp);
	tmp = xasprintf("%s/11/%s/meta", store, key1);
	CU_ASSERT_EQUAL(stat(tmp, &st), 0);
	free(tmp);
	/* a store by a run that saw no entry (another run stored the key
	 * while both ran the node) keeps that entry, however old its time,
	 * and leaves nothing in tmp/ */
	store_want(2000, NULL, 1);
	CU_ASSERT_EQUAL_FATAL(cache_lookup(store, key1, &e, NULL, &cause), 1);
	CU_ASSERT_EQUAL(e->created_ms, 1000);
	cache_entry_free(e);
	tmp = xasprintf("%s/tmp", store);
	CU_ASSERT_EQUAL(rmdir(tmp), 0);
	free(tmp);
	/* one whose lookup refused that entry (older than max_age)
	 * replaces it */
	cache_id_of(store, key1, &old);
	CU_ASSERT_EQUAL(old.ino, seen.ino);
	store_want(5000, &old, 0);
	CU_ASSERT_EQUAL_FATAL(cache_lookup(store, key1, &e, &seen, &cause), 1);
	CU_ASSERT_EQUAL(e->created_ms, 5000);
	CU_ASSERT_NOT_EQUAL(seen.ino, old.ino);
	cache_entry_free(e);
	/* one that refused an entry another run has replaced since keeps
	 * the new one (readers may be restoring from it) */
	store_want(9000, &old, 1);
	CU_ASSERT_EQUAL_FATAL(cache_lookup(store, key1, &e, NULL, &cause), 1);
	CU_ASSERT_EQUAL(e->created_ms, 5000);
	cache_entry_free(e);
}

/* Flip one byte at off (from the end when negative) of the entry's file. */
static void
damage(const char *rel, off_t off)
{
	char *path = xasprintf("%s/11/%s/%s", store, key1, rel), c;
	int fd = open(path, O_RDWR);
	struct stat st;

	CU_ASSERT_FATAL(fd >= 0);
	fstat(fd, &st);
	if (off < 0)
		off += st.st_size;
	CU_ASSERT_EQUAL(pread(fd, &c, 1, off), 1);
	c ^= 0x20;
	CU_ASSERT_EQUAL(pwrite(fd, &c, 1, off), 1);
	close(fd);
	free(path);
}

static void
expect_corrupt(const char *why)
{
	struct cache_entry *e = NULL;
	char *cause = NULL;

	CU_ASSERT_EQUAL(cache_lookup(store, key1, &e, NULL, &cause), -1);
	CU_ASSERT_PTR_NULL(e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, why));
	free(cause);
}

static void
test_corrupt(void)
{
	char *path;

	/* from an empty store: a whole entry of the key would be kept */
	CU_ASSERT_EQUAL(cache_gc(store, -1, -1, true, 0, &(size_t){0},
	    &(int64_t){0}, &(char *){NULL}), 0);
	store_one(1000);
	damage("outputs/data.csv", 0);
	expect_corrupt("outputs do not match");
	store_one(1000);
	damage("outputs/sub/x", -2);
	expect_corrupt("outputs do not match");
	/* a file added to the outputs is no part of the entry */
	store_one(1000);
	path = xasprintf("%s/11/%s/outputs/extra", store, key1);
	put("/", path, "x");
	free(path);
	expect_corrupt("outputs do not match");
	/* the meta: a value, its checksum, its end */
	store_one(1000);
	damage("meta", 40);
	expect_corrupt("checksum does not match");
	store_one(1000);
	damage("meta", -3);
	expect_corrupt("checksum does not match");
	store_one(1000);
	path = xasprintf("%s/11/%s/meta", store, key1);
	CU_ASSERT_EQUAL(truncate(path, 10), 0);
	free(path);
	expect_corrupt("not a cache entry");
	store_one(1000);
	path = xasprintf("%s/11/%s/meta", store, key1);
	CU_ASSERT_EQUAL(unlink(path), 0);
	free(path);
	expect_corrupt("cannot read its meta");
	/* a store over a damaged entry mends it */
	store_one(1000);
	CU_ASSERT_EQUAL(cache_gc(store, -1, -1, true, 0, &(size_t){0},
	    &(int64_t){0}, &(char *){NULL}), 0);
}

/* A declared output that was not made: no entry at all. */
static void
test_missing_output(void)
{
	char *outs[1] = { s_never };
	struct cache_entry *e = NULL;
	struct cache_put p;
	char *cause = NULL;

	memset(&p, 0, sizeof p);
	p.key = key1;
	p.node = p.dag = p.job = "x";
	p.outputs = outs;
	p.noutputs = 1;
	p.outputs_fd = outfd;
	CU_ASSERT_EQUAL(cache_store(store, &p, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(cache_lookup(store, key1, &e, NULL, &cause), 0);
}

static void
test_gc(void)
{
	struct cache_entry **v;
	size_t n, nrem;
	int64_t freed;
	char *cause = NULL, *tmp;

	store_one(1000);
	CU_ASSERT_EQUAL(cache_scan(store, true, &v, &n, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT(v[0]->ok);
	CU_ASSERT_EQUAL(v[0]->size, 7);
	cache_entries_free(v, n);
	/* within both bounds: kept */
	CU_ASSERT_EQUAL(cache_gc(store, 3600000, 7, false, now_ms(),
	    &nrem, &freed, &cause), 0);
	CU_ASSERT_EQUAL(nrem, 0);
	/* over the size bound: removed */
	CU_ASSERT_EQUAL(cache_gc(store, -1, 6, false, 0, &nrem, &freed,
	    &cause), 0);
	CU_ASSERT_EQUAL(nrem, 1);
	CU_ASSERT_EQUAL(freed, 7);
	/* unused for longer than the bound: removed; a stale tmp/ too */
	store_one(1000);
	tmp = xasprintf("%s/tmp/leftover", store);
	put("/", tmp, "x");
	CU_ASSERT_EQUAL(cache_gc(store, 1000, -1, false,
	    now_ms() + 7200000, &nrem, &freed, &cause), 0);
	CU_ASSERT_EQUAL(nrem, 1);
	CU_ASSERT_EQUAL(access(tmp, F_OK), -1);
	free(tmp);
	CU_ASSERT_EQUAL(cache_scan(store, true, &v, &n, &cause), 0);
	CU_ASSERT_EQUAL(n, 0);
	cache_entries_free(v, n);
}

static void
test_dir_default(void)
{
	char *d, *cause = NULL;

	d = cache_dir_default("/x", &cause);
	CU_ASSERT_STRING_EQUAL(d, "/x");
	free(d);
	setenv("DAGEXEC_CACHE", "/dc", 1);
	d = cache_dir_default(NULL, &cause);
	CU_ASSERT_STRING_EQUAL(d, "/dc");
	free(d);
	unsetenv("DAGEXEC_CACHE");
	setenv("XDG_CACHE_HOME", "/xdg", 1);
	d = cache_dir_default(NULL, &cause);
	CU_ASSERT_STRING_EQUAL(d, "/xdg/dagexec");
	free(d);
	setenv("XDG_CACHE_HOME", "relative", 1);
	setenv("HOME", "/h", 1);
	d = cache_dir_default(NULL, &cause);
	CU_ASSERT_STRING_EQUAL(d, "/h/.cache/dagexec");
	free(d);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "key: stable over layout, comments, attempts",
		    test_key_stable },
		{ "key: changes with env, values, inputs, need outputs",
		    test_key_changes },
		{ "key: an input that matches nothing", test_key_no_match },
		{ "store and lookup", test_store_lookup },
		{ "a damaged entry is a miss", test_corrupt },
		{ "a missing output is not stored", test_missing_output },
		{ "gc", test_gc },
		{ "directory", test_dir_default },
		{ NULL, NULL }
	};

	return cunit_run("cache", suite_init, suite_clean, tests);
}
