/* CUnit suite for src/bundle.c: result bundles and output collection. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <archive.h>
#include <archive_entry.h>

#include "bundle.h"
#include "cunit_main.h"
#include "fsutil.h"
#include "xmalloc.h"

static char tmpdir[] = "/tmp/test_bundle.XXXXXX";

static void
put(const char *rel, const char *text)
{
	char	*path = xasprintf("%s/%s", tmpdir, rel), *cause = NULL;
	char	*dir = xstrdup(path);

	*strrchr(dir, '/') = '\0';
	if (fs_mkdirs(dir, 0755, &cause) != 0 ||
	    fs_write_atomic(path, text, strlen(text), 0600, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		abort();
	}
	free(dir);
	free(path);
}

static void
link_to(const char *target, const char *rel)
{
	char	*path = xasprintf("%s/%s", tmpdir, rel);

	if (symlink(target, path) != 0) {
		perror(path);
		abort();
	}
	free(path);
}

static void
fifo_at(const char *rel)
{
	char	*path = xasprintf("%s/%s", tmpdir, rel);

	if (mkfifo(path, 0600) != 0) {
		perror(path);
		abort();
	}
	free(path);
}

static char *
slurp(const char *rel)
{
	char	*path = xasprintf("%s/%s", tmpdir, rel), *buf, *cause = NULL;
	size_t	 len;

	if (fs_read_file(path, 1 << 20, &buf, &len, &cause) != 0) {
		free(cause);
		buf = NULL;
	}
	free(path);
	return buf;
}

static int
exists(const char *rel)
{
	char		*path = xasprintf("%s/%s", tmpdir, rel);
	struct stat	 st;
	int		 rc;

	rc = lstat(path, &st) == 0;
	free(path);
	return rc;
}

static void
make_job(void)
{
	put("job/manifest.yaml", "name: j\n");
	put("job/state.yaml", "dag: j\n");
	put("job/events.log", "1 start\n");
	put("job/summary.txt", "node status\n");
	put("job/graph.dot", "digraph {}\n");
	put("job/trace.json", "[]\n");
	put("job/report.html", "<!DOCTYPE html>\n");
	put("job/extra.txt", "not packed\n");
	put("job/work/scratch.txt", "not packed\n");
	put("job/nodes/b/stdout.log", "b out\n");
	put("job/nodes/b/stderr.log", "b err\n");
	put("job/nodes/a/stdout.log", "a out\n");
	put("job/nodes/a/stderr.log", "");
	link_to("../../manifest.yaml", "job/nodes/a/evil");
	put("job/outputs/a/x.txt", "x\n");
	put("job/outputs/a/sub/y.txt", "y\n");
	link_to("/etc/passwd", "job/outputs/a/link");
	link_to("/etc", "job/outputs/a/etcdir");
	fifo_at("job/outputs/a/fifo");
}

static const char *members[] = {
	"JOB/", "JOB/manifest.yaml", "JOB/state.yaml", "JOB/events.log",
	"JOB/summary.txt", "JOB/graph.dot", "JOB/trace.json", "JOB/report.html",
	"JOB/nodes/", "JOB/nodes/a/", "JOB/nodes/a/stderr.log",
	"JOB/nodes/a/stdout.log", "JOB/nodes/b/", "JOB/nodes/b/stderr.log",
	"JOB/nodes/b/stdout.log", "JOB/outputs/", "JOB/outputs/a/",
	"JOB/outputs/a/sub/", "JOB/outputs/a/sub/y.txt", "JOB/outputs/a/x.txt",
	"JOB/SHA256SUMS",
};
#define NMEMBERS (sizeof members / sizeof members[0])

/* Read the bundle back: the member names in order into names (a
 * newline-separated list) and check each entry. */
static char *
read_bundle(const char *path, int filter)
{
	struct archive		*a;
	struct archive_entry	*e;
	char			*names = xstrdup(""), *tmp, buf[4096];
	const char		*name;
	size_t			 i = 0;
	ssize_t			 n;
	int			 r;

	a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	r = archive_read_open_filename(a, path, 10240);
	CU_ASSERT_EQUAL_FATAL(r, ARCHIVE_OK);
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		name = archive_entry_pathname(e);
		tmp = xasprintf("%s%s\n", names, name);
		free(names);
		names = tmp;
		CU_ASSERT_EQUAL(archive_entry_uid(e), 0);
		CU_ASSERT_EQUAL(archive_entry_gid(e), 0);
		CU_ASSERT_STRING_EQUAL(archive_entry_uname(e), "root");
		CU_ASSERT_STRING_EQUAL(archive_entry_gname(e), "root");
		if (name[strlen(name) - 1] == '/') {
			CU_ASSERT_EQUAL(archive_entry_filetype(e), AE_IFDIR);
			CU_ASSERT_EQUAL(archive_entry_perm(e), 0755);
		} else {
			CU_ASSERT_EQUAL(archive_entry_filetype(e), AE_IFREG);
			CU_ASSERT_EQUAL(archive_entry_perm(e), 0644);
			n = archive_read_data(a, buf, sizeof buf - 1);
			CU_ASSERT_FATAL(n >= 0);
			buf[n] = '\0';
			CU_ASSERT_EQUAL(archive_entry_size(e), n);
			if (strcmp(name, "JOB/manifest.yaml") == 0)
				CU_ASSERT_STRING_EQUAL(buf, "name: j\n");
			if (strcmp(name, "JOB/nodes/b/stderr.log") == 0)
				CU_ASSERT_STRING_EQUAL(buf, "b err\n");
			if (strcmp(name, "JOB/outputs/a/sub/y.txt") == 0)
				CU_ASSERT_STRING_EQUAL(buf, "y\n");
			if (strcmp(name, "JOB/nodes/a/stderr.log") == 0)
				CU_ASSERT_STRING_EQUAL(buf, "");
			/* sha256sum(1) lines; the digest of "y\n" */
			if (strcmp(name, "JOB/SHA256SUMS") == 0)
				CU_ASSERT_PTR_NOT_NULL(strstr(buf,
				    "3bb2abb69ebb27fbfe63c7639624c6ec"
				    "5e331b841a5bc8c3ebc10b9285e90877  "
				    "JOB/outputs/a/sub/y.txt\n"));
		}
		i++;
	}
	CU_ASSERT_EQUAL(r, ARCHIVE_EOF);
	CU_ASSERT_EQUAL(archive_filter_code(a, 0), filter);
	CU_ASSERT_EQUAL(archive_format(a) & ARCHIVE_FORMAT_BASE_MASK,
	    ARCHIVE_FORMAT_TAR);
	archive_read_free(a);
	return names;
}

static char *
expected_names(void)
{
	char	*s = xstrdup(""), *t;
	size_t	 i;

	for (i = 0; i < NMEMBERS; i++) {
		t = xasprintf("%s%s\n", s, members[i]);
		free(s);
		s = t;
	}
	return s;
}

static int
count_entries(const char *rel)
{
	char		*path = xasprintf("%s/%s", tmpdir, rel);
	DIR		*d = opendir(path);
	struct dirent	*de;
	int		 n = 0;

	free(path);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

static void
check_write(enum bundle_format fmt, int filter)
{
	char		*out, *out2, *jobdir, *cause = NULL, *names, *names2;
	char		*want = expected_names();
	const char	*ext = bundle_ext(fmt);
	struct stat	 st;

	jobdir = xasprintf("%s/job", tmpdir);
	out = xasprintf("%s/out/JOB%s", tmpdir, ext);
	out2 = xasprintf("%s/out/JOB2%s", tmpdir, ext);
	CU_ASSERT_EQUAL_FATAL(bundle_write(out, fmt, "JOB", jobdir, NULL, &cause),
	    0);
	CU_ASSERT_EQUAL(stat(out, &st), 0);
	CU_ASSERT(st.st_size > 0);
	names = read_bundle(out, filter);
	if (strcmp(names, want) != 0)
		fprintf(stderr, "\ngot:\n%swant:\n%s", names, want);
	CU_ASSERT_STRING_EQUAL(names, want);

	/* The same tree twice: the same members in the same order. */
	CU_ASSERT_EQUAL_FATAL(bundle_write(out2, fmt, "JOB", jobdir, NULL, &cause),
	    0);
	names2 = read_bundle(out2, filter);
	CU_ASSERT_STRING_EQUAL(names, names2);
	CU_ASSERT_EQUAL(unlink(out2), 0);
	CU_ASSERT_EQUAL(unlink(out), 0);
	CU_ASSERT_EQUAL(count_entries("out"), 0);	/* no temp files */
	free(names);
	free(names2);
	free(want);
	free(out);
	free(out2);
	free(jobdir);
}

static void
test_write_gz(void)
{
	CU_ASSERT_STRING_EQUAL(bundle_ext(BUNDLE_TGZ), ".tar.gz");
	check_write(BUNDLE_TGZ, ARCHIVE_FILTER_GZIP);
}

static void
test_write_zst(void)
{
	CU_ASSERT_STRING_EQUAL(bundle_ext(BUNDLE_TZST), ".tar.zst");
	check_write(BUNDLE_TZST, ARCHIVE_FILTER_ZSTD);
}

static void
test_write_failures(void)
{
	char	*jobdir = xasprintf("%s/job", tmpdir), *cause = NULL, *out;

	/* A path under a regular file: ENOTDIR, even for root. */
	out = xasprintf("%s/job/manifest.yaml/JOB.tar.gz", tmpdir);
	errno = 0;
	CU_ASSERT_EQUAL(bundle_write(out, BUNDLE_TGZ, "JOB", jobdir, NULL, &cause),
	    -1);
	CU_ASSERT_EQUAL(errno, ENOTDIR);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "JOB.tar.gz.tmp."));
	free(cause);
	cause = NULL;
	free(out);

	/* A missing job directory leaves nothing at out_path. */
	out = xasprintf("%s/out/JOB.tar.gz", tmpdir);
	free(jobdir);
	jobdir = xasprintf("%s/nojob", tmpdir);
	CU_ASSERT_EQUAL(bundle_write(out, BUNDLE_TGZ, "JOB", jobdir, NULL, &cause),
	    -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "nojob"));
	free(cause);
	CU_ASSERT_EQUAL(count_entries("out"), 0);
	free(out);
	free(jobdir);
}

/* A failure after the temporary file exists removes it too. */
static void
test_write_fails_midway(void)
{
	char	*rel = xstrdup("deep/outputs"), *tmp, *jobdir, *out;
	char	*cause = NULL;
	int	 i;

	for (i = 0; i < 140; i++) {
		tmp = xasprintf("%s/d", rel);
		free(rel);
		rel = tmp;
	}
	tmp = xasprintf("%s/f.txt", rel);
	put(tmp, "deep\n");
	free(tmp);
	free(rel);
	jobdir = xasprintf("%s/deep", tmpdir);
	out = xasprintf("%s/out/D.tar.gz", tmpdir);
	CU_ASSERT_EQUAL(bundle_write(out, BUNDLE_TGZ, "D", jobdir, NULL, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "is nested too deeply"));
	free(cause);
	CU_ASSERT_EQUAL(count_entries("out"), 0);
	free(out);
	free(jobdir);
}

/* A job directory whose trees are missing: only what is there. */
static void
test_write_sparse(void)
{
	char	*jobdir, *out, *cause = NULL, *names;

	put("sparse/state.yaml", "dag: s\n");
	jobdir = xasprintf("%s/sparse", tmpdir);
	out = xasprintf("%s/out/S.tar.gz", tmpdir);
	CU_ASSERT_EQUAL_FATAL(bundle_write(out, BUNDLE_TGZ, "S", jobdir,
	    NULL, &cause), 0);
	names = read_bundle(out, ARCHIVE_FILTER_GZIP);
	CU_ASSERT_STRING_EQUAL(names, "S/\nS/state.yaml\nS/SHA256SUMS\n");
	unlink(out);
	free(names);
	free(out);
	free(jobdir);
}

static void
count_bad(const char *member, enum bundle_bad why, void *arg)
{
	(void)member;
	(void)why;
	(*(int *)arg)++;
}

/* SHA256SUMS read back: a fresh bundle is whole, also with names that
 * sha256sum(1) escapes; a missing file or a non-archive is an error. */
static void
test_verify(void)
{
	char	*jobdir, *out, *cause = NULL, *job = NULL;
	int	 nbad = 0;

	put("ver/state.yaml", "dag: v\n");
	put("ver/outputs/n/new\nline\\back", "x\n");
	jobdir = xasprintf("%s/ver", tmpdir);
	out = xasprintf("%s/out/V.tar.gz", tmpdir);
	CU_ASSERT_EQUAL_FATAL(bundle_write(out, BUNDLE_TGZ, "V", jobdir,
	    NULL, &cause), 0);
	CU_ASSERT_EQUAL(bundle_verify(out, count_bad, &nbad, &cause), 0);
	CU_ASSERT_EQUAL(nbad, 0);
	CU_ASSERT_EQUAL(bundle_job(out, &job, &cause), 0);
	CU_ASSERT_STRING_EQUAL(job, "V");
	free(job);
	unlink(out);
	CU_ASSERT_EQUAL(bundle_verify(out, count_bad, &nbad, &cause), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	free(cause);
	cause = NULL;
	put("out/junk.tar.gz", "not an archive\n");
	free(out);
	out = xasprintf("%s/out/junk.tar.gz", tmpdir);
	CU_ASSERT_EQUAL(bundle_verify(out, count_bad, &nbad, &cause), -1);
	CU_ASSERT_EQUAL(errno, EILSEQ);
	free(cause);
	unlink(out);
	free(out);
	free(jobdir);
}

/* Names that are UTF-8 or not at all keep their bytes. */
static void
test_write_odd_names(void)
{
	char	*jobdir, *out, *cause = NULL, *names;

	put("odd/outputs/n/caf\xc3\xa9 x.txt", "u\n");
	put("odd/outputs/n/bad\xff", "b\n");
	jobdir = xasprintf("%s/odd", tmpdir);
	out = xasprintf("%s/out/O.tar.zst", tmpdir);
	CU_ASSERT_EQUAL_FATAL(bundle_write(out, BUNDLE_TZST, "O", jobdir,
	    NULL, &cause), 0);
	names = read_bundle(out, ARCHIVE_FILTER_ZSTD);
	CU_ASSERT_STRING_EQUAL(names, "O/\nO/outputs/\nO/outputs/n/\n"
	    "O/outputs/n/bad\xff\nO/outputs/n/caf\xc3\xa9 x.txt\n"
	    "O/SHA256SUMS\n");
	unlink(out);
	free(names);
	free(out);
	free(jobdir);
}

/* ---- bundle_collect_output ------------------------------------------ */

static int	workfd = -1;

static void
make_work(void)
{
	char	*path;

	put("work/f.txt", "f\n");
	put("work/d/sub/g.txt", "g\n");
	put("work/d/top.txt", "top\n");
	link_to("/etc/passwd", "work/d/link");
	link_to("../f.txt", "work/d/inlink");
	fifo_at("work/d/fifo");
	link_to("/etc/passwd", "work/pw");
	link_to("f.txt", "work/inlink");
	link_to("..", "work/up");
	fifo_at("work/fifo");
	put("escape", "outside\n");
	path = xasprintf("%s/work", tmpdir);
	workfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(path);
}

static int
collect(const char *rel, const char *destrel, char **cause)
{
	char	*dest = xasprintf("%s/%s", tmpdir, destrel);
	int	 rc;

	*cause = NULL;
	rc = bundle_collect_output(workfd, rel, dest, NULL, cause);
	free(dest);
	return rc;
}

static void
test_collect_file(void)
{
	char		*cause, *s, *path;
	struct stat	 st;

	CU_ASSERT_FATAL(workfd >= 0);
	CU_ASSERT_EQUAL(collect("f.txt", "col/a", &cause), 0);
	CU_ASSERT_PTR_NULL(cause);
	s = slurp("col/a/f.txt");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "f\n");
	free(s);
	path = xasprintf("%s/col/a/f.txt", tmpdir);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	free(path);

	/* Nested: parent directories are made. */
	CU_ASSERT_EQUAL(collect("./d//sub/g.txt", "col/b", &cause), 0);
	s = slurp("col/b/d/sub/g.txt");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "g\n");
	free(s);

	/* A symlink that stays inside is followed. */
	CU_ASSERT_EQUAL(collect("inlink", "col/c", &cause), 0);
	s = slurp("col/c/inlink");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "f\n");
	free(s);
}

static void
test_collect_dir(void)
{
	char	*cause, *s;

	CU_ASSERT_EQUAL(collect("d", "col/d", &cause), 0);
	CU_ASSERT_PTR_NULL(cause);
	s = slurp("col/d/d/sub/g.txt");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "g\n");
	free(s);
	s = slurp("col/d/d/top.txt");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "top\n");
	free(s);
	/* Symlinks and FIFOs inside are neither followed nor copied. */
	CU_ASSERT(!exists("col/d/d/link"));
	CU_ASSERT(!exists("col/d/d/inlink"));
	CU_ASSERT(!exists("col/d/d/fifo"));
	CU_ASSERT_EQUAL(count_entries("col/d/d"), 2);
}

static void
check_refused(const char *rel, int err, const char *want)
{
	char	*cause;

	errno = 0;
	CU_ASSERT_EQUAL(collect(rel, "col/bad", &cause), -1);
	CU_ASSERT_EQUAL(errno, err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	if (strcmp(cause, want) != 0)
		fprintf(stderr, "\n  got '%s'\n  want '%s'\n", cause, want);
	CU_ASSERT_STRING_EQUAL(cause, want);
	free(cause);
}

static void
test_collect_refused(void)
{
	check_refused("missing.txt", ENOENT, "output 'missing.txt' is missing");
	check_refused("d/nope/x", ENOENT, "output 'd/nope/x' is missing");
	check_refused("../escape", EXDEV,
	    "output '../escape' leads out of the work directory");
	check_refused("/etc/passwd", EXDEV,
	    "output '/etc/passwd' leads out of the work directory");
	/* The kernel's RESOLVE_BENEATH catches what is not lexical. */
	check_refused("pw", EXDEV,
	    "output 'pw' leads out of the work directory");
	check_refused("up/escape", EXDEV,
	    "output 'up/escape' leads out of the work directory");
	check_refused("d/link", EXDEV,
	    "output 'd/link' leads out of the work directory");
	/* A FIFO is refused (and opening it does not block). */
	check_refused("fifo", EINVAL,
	    "output 'fifo' is not a regular file or a directory");
	check_refused("", EINVAL, "output '' is an empty path");
	CU_ASSERT(!exists("col/bad"));
}

/* A tar.gz at tmpdir/rel holding the members in mv (name, text; text NULL: a
 * directory), made with libarchive. */
static char *
make_tgz(const char *rel, const char *const *mv)
{
	char			*path = xasprintf("%s/%s", tmpdir, rel);
	struct archive		*a = archive_write_new();
	struct archive_entry	*e;
	size_t			 i, len;

	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_gzip(a);
	CU_ASSERT_FATAL(archive_write_open_filename(a, path) == ARCHIVE_OK);
	for (i = 0; mv[i] != NULL; i += 2) {
		e = archive_entry_new();
		archive_entry_set_pathname(e, mv[i]);
		len = mv[i + 1] != NULL ? strlen(mv[i + 1]) : 0;
		archive_entry_set_filetype(e, mv[i + 1] != NULL ?
		    AE_IFREG : AE_IFDIR);
		archive_entry_set_perm(e, mv[i + 1] != NULL ? 0644 :
		    0755);
		archive_entry_set_size(e, (la_int64_t)len);
		CU_ASSERT_FATAL(archive_write_header(a, e) == ARCHIVE_OK);
		if (len > 0)
			CU_ASSERT(archive_write_data(a, mv[i + 1], len) ==
			    (la_ssize_t)len);
		archive_entry_free(e);
	}
	CU_ASSERT(archive_write_close(a) == ARCHIVE_OK);
	archive_write_free(a);
	return path;
}

/* Unpack tmpdir/rel into a fresh tmpdir/dest: bundle_unpack's result and
 * *cause. */
static int
unpack_into(const char *tgz, const char *dest, char **cause)
{
	char	*dir = xasprintf("%s/%s", tmpdir, dest);
	int	 rc;

	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
	rc = bundle_unpack(tgz, dir, 1u << 20, 0, 0, 0, cause);
	free(dir);
	return rc;
}

static void
test_unpack_duplicate(void)
{
	static const char *const dup[] = {
		"dag.yaml", "name: d\nnodes:\n  a: {run: \"true\"}\n",
		"data.txt", "one\n",
		"data.txt", "two\n",
		NULL
	};
	static const char *const dotted[] = {
		"dag.yaml", "name: d\n",
		"sub/", NULL,
		"sub/f", "one\n",
		"./sub//f", "two\n",
		NULL
	};
	static const char *const dirs[] = {
		"dag.yaml", "name: d\n",
		"sub/", NULL,
		"./sub", NULL,
		"sub/f", "one\n",
		NULL
	};
	static const char *const filedir[] = {
		"dag.yaml", "name: d\n",
		"x", "one\n",
		"x/", NULL,
		NULL
	};
	char	*tgz, *cause = NULL;

	tgz = make_tgz("dup.tar.gz", dup);
	CU_ASSERT(unpack_into(tgz, "u1", &cause) == -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_STRING_EQUAL(cause,
	    "bundle has a duplicate member 'data.txt'");
	/* refused as a whole: nothing was written */
	CU_ASSERT(!exists("u1/dag.yaml"));
	free(cause);
	cause = NULL;
	free(tgz);

	tgz = make_tgz("dotted.tar.gz", dotted);
	CU_ASSERT(unpack_into(tgz, "u2", &cause) == -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_STRING_EQUAL(cause,
	    "bundle has a duplicate member './sub//f'");
	free(cause);
	cause = NULL;
	free(tgz);

	tgz = make_tgz("filedir.tar.gz", filedir);
	CU_ASSERT(unpack_into(tgz, "u3", &cause) == -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_STRING_EQUAL(cause, "bundle has a duplicate member 'x/'");
	free(cause);
	cause = NULL;
	free(tgz);

	/* a directory listed twice is harmless */
	tgz = make_tgz("dirs.tar.gz", dirs);
	CU_ASSERT(unpack_into(tgz, "u4", &cause) == 0);
	if (cause != NULL)
		fprintf(stderr, "%s\n", cause);
	free(cause);
	CU_ASSERT(exists("u4/sub/f"));
	free(tgz);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "write tar.gz", test_write_gz },
		{ "write tar.zst", test_write_zst },
		{ "write failures", test_write_failures },
		{ "write sparse job", test_write_sparse },
		{ "write fails midway", test_write_fails_midway },
		{ "write odd names", test_write_odd_names },
		{ "verify", test_verify },
		{ "collect files", test_collect_file },
		{ "collect a directory", test_collect_dir },
		{ "collect refusals", test_collect_refused },
		{ "unpack a duplicate member", test_unpack_duplicate },
		{ NULL, NULL }
	};
	char		*cause = NULL;
	int		 rc;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	make_job();
	make_work();
	put("out/.keep", "");
	cause = xasprintf("%s/out/.keep", tmpdir);
	unlink(cause);
	free(cause);
	cause = NULL;
	rc = cunit_run("bundle", NULL, NULL, tests);
	if (workfd >= 0)
		close(workfd);
	if (fs_remove_tree(tmpdir, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
	}
	return rc;
}
