/* dagexec status [-s SPOOL] [JOB]: jobs and their progress, from their
 * state.yaml files only (so it works while the daemon is down). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "cmd.h"
#include "log.h"
#include "spool.h"
#include "state.h"
#include "xmalloc.h"

struct entry {
	char			*id;
	char			*when;		/* ISO time, for sorting */
	struct state_doc	*doc;		/* NULL: queued */
};

static void
status_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec status [-s SPOOL] [JOB]\n\n"
	    "Without JOB: one line a job (id, status, done/total nodes, "
	    "failed, elapsed),\nnewest first. With JOB: one line a node "
	    "(status, attempts, duration, error).\nReads state files only; "
	    "works while the daemon is down.\n\n"
	    "  -s, --spool SPOOL   the spool (default $DAGEXEC_SPOOL, then "
	    "%s)\n\n"
	    "exit status: 0, 1 no such job, 66 the spool cannot be read, "
	    "64 usage\n", spool_default());
}

static char *
iso_time(time_t t)
{
	struct tm tm;
	char buf[40];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	return xstrdup(buf);
}

/* Milliseconds since the epoch of an ISO time as state.yaml writes it. */
static int64_t
iso_ms(const char *s)
{
	struct tm tm;
	const char *p;
	int ms = 0;

	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof tm);
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		return -1;
	if (*p == '.')
		ms = atoi(p + 1);
	return (int64_t)timegm(&tm) * 1000 + ms;
}

static void
fmt_elapsed(int64_t ms, char *buf, size_t len)
{
	int64_t s = ms / 1000;

	if (ms < 0)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%.1fs", (double)ms / 1000);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", (long long)(s / 60),
		    (long long)(s % 60));
	else
		snprintf(buf, len, "%lldh%02lldm", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
}

static int64_t
doc_elapsed(const struct state_doc *d)
{
	struct timespec ts;
	int64_t start;

	if (d->duration_ms >= 0)
		return d->duration_ms;
	if ((start = iso_ms(d->started_at)) < 0)
		return -1;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - start;
}

static struct state_doc *
read_bundle_state(const char *path, const char *id)
{
	struct state_doc *d = NULL;
	char *member = xasprintf("%s/state.yaml", id), *buf, *cause = NULL;
	size_t len;

	if (bundle_read_member(path, member, 1u << 30, &buf, &len,
	    &cause) == 0) {
		if (state_read_buf(path, buf, len, &d, &cause) != 0)
			d = NULL;
		free(buf);
	}
	if (d == NULL) {
		fprintf(stderr, "dagexec: status: %s\n", cause);
		free(cause);
	}
	free(member);
	return d;
}

static void
add(struct entry **v, size_t *n, size_t *cap, char *id, char *when,
    struct state_doc *doc)
{
	xgrow(v, cap, *n + 1, sizeof **v);
	(*v)[*n].id = id;
	(*v)[*n].when = when;
	(*v)[*n].doc = doc;
	(*n)++;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(y->when, x->when);

	return c != 0 ? c : strcmp(y->id, x->id);
}

static char *
strip_ext(const char *name, const char *ext)
{
	size_t a = strlen(name), b = strlen(ext);

	if (a > b && strcmp(name + a - b, ext) == 0)
		return xstrndup(name, a - b);
	return NULL;
}

/* Every job of the spool; want: only this one (NULL: all). */
static int
collect(const char *spool, const char *want, struct entry **v, size_t *n)
{
	static const char *const exts[] = { ".tar.gz", ".tar.zst" };
	size_t cap = 0, e;
	char *dir, *path, *id, *cause = NULL;
	struct state_doc *doc;
	struct dirent *de;
	struct stat st;
	DIR *d;

	*v = NULL;
	*n = 0;
	/* queued: files in incoming/ */
	dir = xasprintf("%s/incoming", spool);
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "dagexec: status: cannot read '%s': %s\n", dir,
		    strerror(errno));
		free(dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		id = strip_ext(de->d_name, ".yaml");
		if (id == NULL)
			id = xstrdup(de->d_name);
		path = xasprintf("%s/%s", dir, de->d_name);
		if ((want == NULL || strcmp(want, id) == 0) &&
		    lstat(path, &st) == 0)
			add(v, n, &cap, id, iso_time(st.st_mtime), NULL);
		else
			free(id);
		free(path);
	}
	closedir(d);
	free(dir);
	/* running (or interrupted): active/JOB/state.yaml */
	dir = xasprintf("%s/active", spool);
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.' ||
			    (want != NULL && strcmp(want, de->d_name) != 0))
				continue;
			path = xasprintf("%s/%s/state.yaml", dir, de->d_name);
			if (state_read(path, &doc, &cause) == 0)
				add(v, n, &cap, xstrdup(de->d_name),
				    xstrdup(doc->started_at ? doc->started_at :
				    ""), doc);
			else {
				free(cause);
				cause = NULL;
			}
			free(path);
		}
		closedir(d);
	}
	free(dir);
	/* finished: done/JOB.tar.* */
	dir = xasprintf("%s/done", spool);
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			id = NULL;
			for (e = 0; e < 2 && id == NULL; e++)
				id = strip_ext(de->d_name, exts[e]);
			if (id == NULL || de->d_name[0] == '.' ||
			    (want != NULL && strcmp(want, id) != 0)) {
				free(id);
				continue;
			}
			path = xasprintf("%s/%s", dir, de->d_name);
			if (access(path, R_OK) == 0 &&
			    (doc = read_bundle_state(path, id)) != NULL)
				add(v, n, &cap, id, xstrdup(doc->started_at ?
				    doc->started_at : ""), doc);
			else
				free(id);
			free(path);
		}
		closedir(d);
	}
	free(dir);
	if (*n > 1)
		qsort(*v, *n, sizeof **v, entry_cmp);
	return 0;
}

static void
print_jobs(const struct entry *v, size_t n)
{
	const struct state_doc *d;
	char el[32], prog[48];
	size_t i;

	if (isatty(STDOUT_FILENO))
		printf("%-48s %-16s %9s %6s %8s\n", "JOB", "STATUS", "DONE",
		    "FAILED", "ELAPSED");
	for (i = 0; i < n; i++) {
		d = v[i].doc;
		if (d == NULL) {
			printf("%-48s %-16s %9s %6s %8s\n", v[i].id, "queued",
			    "-", "-", "-");
			continue;
		}
		snprintf(prog, sizeof prog, "%zu/%zu",
		    d->succeeded + d->failed + d->skipped, d->total);
		fmt_elapsed(doc_elapsed(d), el, sizeof el);
		printf("%-48s %-16s %9s %6zu %8s\n", v[i].id, d->status, prog,
		    d->failed, el);
	}
}

static void
print_nodes(const struct state_doc *d)
{
	const struct state_doc_node *nd;
	char el[32], *err;
	size_t i;

	if (isatty(STDOUT_FILENO))
		printf("%-32s %-10s %8s %8s  %s\n", "NODE", "STATUS",
		    "ATTEMPTS", "TIME", "ERROR");
	for (i = 0; i < d->nnodes; i++) {
		nd = &d->nodes[i];
		fmt_elapsed(nd->duration_ms, el, sizeof el);
		err = log_escape(nd->error ? nd->error : "",
		    nd->error ? strlen(nd->error) : 0);
		printf("%-32s %-10s %8d %8s  %s\n", nd->id, nd->status,
		    nd->attempts, el, err);
		free(err);
	}
}

int
cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL, *job = NULL;
	struct entry *v;
	size_t n, i;
	int c, ret = 0;

	while ((c = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			dir = optarg;
			break;
		case 'h':
			status_usage(stdout);
			return 0;
		default:
			status_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		status_usage(stderr);
		return EXIT_USAGE;
	}
	if (argc - optind == 1)
		job = argv[optind];
	if (dir == NULL)
		dir = spool_default();
	if (collect(dir, job, &v, &n) != 0)
		return EXIT_NOINPUT;
	if (job == NULL)
		print_jobs(v, n);
	else if (n == 0) {
		fprintf(stderr, "dagexec: status: no job '%s' in '%s'\n", job,
		    dir);
		ret = EXIT_DAG_FAILED;
	} else if (v[0].doc == NULL)
		printf("%s queued\n", v[0].id);
	else
		print_nodes(v[0].doc);
	for (i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].when);
		state_doc_free(v[i].doc);
	}
	free(v);
	if (fflush(stdout) != 0)
		ret = EXIT_IOERR;
	return ret;
}
