/* dagexec show BUNDLE [NODE]: a bundle's summary, or a node's logs, without
 * unpacking it. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "cmd.h"
#include "log.h"
#include "state.h"
#include "xmalloc.h"

#define SHOW_MAX	((size_t)1 << 30)	/* bytes of one member */

static void
show_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec show BUNDLE [NODE]\n\n"
	    "Print the summary table of a result bundle, or with NODE that "
	    "node's stdout.log\nthen its stderr.log (each headed by "
	    "\"==> stdout <==\" when both exist); a node that did not run in "
	    "the bundle's job\n(reused or cached) is said so on standard error."
	    "\nOn a terminal, control "
	    "bytes are shown escaped (\\xNN).\n\n"
	    "exit status: 0, 1 no such node in the bundle, 65 not a bundle, "
	    "66 it cannot be\nopened, 64 usage\n");
}

/* Write buf: as it is into a pipe, escaped line by line on a terminal. */
static void
show_out(const char *buf, size_t len, bool tty)
{
	const char	*p, *nl;
	char		*e;

	if (!tty) {
		fwrite(buf, 1, len, stdout);
		return;
	}
	for (p = buf; p < buf + len; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			nl = buf + len;
		e = log_escape(p, (size_t)(nl - p));
		printf("%s\n", e);
		free(e);
	}
}

/* Read JOB/rel: 0 and *buf, 1 when there is no such member, -1 (message
 * printed) when the bundle cannot be read. */
static int
show_member(const char *path, const char *job, const char *rel, char **buf,
    size_t *len)
{
	char	*member, *cause = NULL;
	int	 rc;

	member = xasprintf("%s/%s", job, rel);
	rc = bundle_read_member(path, member, SHOW_MAX, buf, len, &cause);
	free(member);
	if (rc == 0)
		return 0;
	if (errno == ENOENT) {
		free(cause);
		return 1;
	}
	fprintf(stderr, "dagexec: show: %s\n", cause);
	free(cause);
	return -1;
}

/* Is id a node of the bundle's state.yaml? When it is, and it did not run
 * in this job, *note says why (new; else NULL): reused from an earlier job
 * (whose logs the bundle keeps) or a cache hit (no logs). */
static int
show_node(const char *path, const char *job, const char *id, char **note)
{
	const struct state_doc_node	*dn = NULL;
	struct state_doc		*d;
	char				*buf, *cause = NULL, *e;
	size_t				 len, i;

	*note = NULL;
	if (show_member(path, job, "state.yaml", &buf, &len) != 0)
		return 0;
	if (state_read_buf(path, buf, len, &d, &cause) != 0) {
		free(cause);
		free(buf);
		return 0;
	}
	for (i = 0; i < d->nnodes && dn == NULL; i++)
		if (strcmp(d->nodes[i].id, id) == 0)
			dn = &d->nodes[i];
	if (dn != NULL && dn->reused_from != NULL) {
		e = log_escape(dn->reused_from, strlen(dn->reused_from));
		*note = xasprintf("node '%s' did not run in this job: it was "
		    "reused from '%s' (the logs, if any, are that job's)",
		    id, e);
		free(e);
	} else if (dn != NULL && dn->cached)
		*note = xasprintf("node '%s' did not run in this job: it is "
		    "a cache hit", id);
	state_doc_free(d);
	free(buf);
	return dn != NULL;
}

int
cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*path, *node;
	char		*job = NULL, *cause = NULL, *out = NULL, *err = NULL;
	char		*rel, *note = NULL;
	size_t		 olen = 0, elen = 0;
	bool		 tty = isatty(STDOUT_FILENO);
	int		 c, ro, re, found, ret = 0;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			show_usage(stdout);
			return 0;
		default:
			show_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind < 1 || argc - optind > 2) {
		show_usage(stderr);
		return EXIT_USAGE;
	}
	path = argv[optind];
	node = argc - optind == 2 ? argv[optind + 1] : NULL;
	if (bundle_job(path, &job, &cause) != 0) {
		fprintf(stderr, "dagexec: show: %s\n", cause);
		free(cause);
		return errno == EILSEQ ? EXIT_DATAERR : EXIT_NOINPUT;
	}
	if (node == NULL) {
		ro = show_member(path, job, "summary.txt", &out, &olen);
		if (ro == 0)
			show_out(out, olen, tty);
		else {
			if (ro > 0)
				fprintf(stderr, "dagexec: show: '%s' has no "
				    "summary.txt\n", path);
			ret = EXIT_DATAERR;
		}
		goto done;
	}
	if (strchr(node, '/') != NULL || strcmp(node, "..") == 0 ||
	    strcmp(node, ".") == 0 || *node == '\0') {
		fprintf(stderr, "dagexec: show: no node '%s' in '%s'\n", node,
		    path);
		ret = EXIT_DAG_FAILED;
		goto done;
	}
	rel = xasprintf("nodes/%s/stdout.log", node);
	ro = show_member(path, job, rel, &out, &olen);
	free(rel);
	rel = xasprintf("nodes/%s/stderr.log", node);
	re = ro < 0 ? -1 : show_member(path, job, rel, &err, &elen);
	free(rel);
	if (ro < 0 || re < 0) {
		ret = EXIT_DATAERR;
		goto done;
	}
	/* on stderr, so that what goes into a pipe is the log alone */
	found = show_node(path, job, node, &note);
	if (note != NULL)
		fprintf(stderr, "dagexec: show: %s\n", note);
	if (ro == 0 && re == 0) {
		printf("==> stdout <==\n");
		show_out(out, olen, tty);
		if (olen > 0 && out[olen - 1] != '\n')
			putchar('\n');
		printf("\n==> stderr <==\n");
		show_out(err, elen, tty);
	} else if (ro == 0)
		show_out(out, olen, tty);
	else if (re == 0)
		show_out(err, elen, tty);
	else if (!found) {
		fprintf(stderr, "dagexec: show: no node '%s' in '%s'\n", node,
		    path);
		ret = EXIT_DAG_FAILED;
	} else if (note == NULL)
		fprintf(stderr, "dagexec: show: node '%s' wrote nothing\n",
		    node);
done:
	free(note);
	free(out);
	free(err);
	free(job);
	if (fflush(stdout) != 0 && ret == 0)
		ret = EXIT_IOERR;
	return ret;
}
