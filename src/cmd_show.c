/* dagexec show [-s SPOOL] RUN [NODE]: a run's summary, or a node's logs, from
 * a bundle (without unpacking it), a job directory or a job id. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "log.h"
#include "runref.h"
#include "spool.h"
#include "state.h"
#include "xmalloc.h"

#define SHOW_MAX	((size_t)1 << 30)	/* bytes of one member */

static void
show_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec show [-s SPOOL] BUNDLE|JOBDIR|JOB [NODE]\n\n"
	    "Print the summary table of a run, or with NODE that node's "
	    "stdout.log then its\nstderr.log (each headed by \"==> stdout "
	    "<==\" when both exist); a node that did not\nrun in the job "
	    "(reused or cached) is said so on standard error. The run is a\n"
	    "result bundle, a job directory, or a job id looked up in SPOOL "
	    "(its bundle in\ndone/, or its directory in active/ while it "
	    "runs).\nOn a terminal, control bytes are shown escaped "
	    "(\\xNN).\n\n"
	    "  -s, --spool SPOOL   where a job id is looked up (default "
	    "$DAGEXEC_SPOOL, then\n                      %s)\n\n"
	    "exit status: 0, 1 no such node in the run, 65 not a bundle or a "
	    "job directory\n(or a rejected job), 66 it cannot be opened, no "
	    "such job, or no summary yet,\n64 usage\n", spool_default());
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

/* Read the run's file rel: 0 and *buf, 1 when there is no such file, -1
 * (message printed) when the run cannot be read. */
static int
show_member(const struct runref *r, const char *rel, char **buf, size_t *len)
{
	char	*cause = NULL;
	int	 rc;

	rc = runref_read(r, rel, SHOW_MAX, buf, len, &cause);
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

/* Is id a node of the run's state.yaml? When it is, and it did not run
 * in this job, *note says why (new; else NULL): reused from an earlier job
 * (whose logs the bundle keeps) or a cache hit (no logs). */
static int
show_node(const struct runref *r, const char *id, char **note)
{
	const struct state_doc_node	*dn = NULL;
	struct state_doc		*d;
	char				*cause = NULL, *e;
	size_t				 i;

	*note = NULL;
	if (runref_state(r, &d, &cause) != 0) {
		free(cause);
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
	return dn != NULL;
}

/* Print the run's summary.txt: 0, or an exit status. */
static int
show_summary(const struct runref *r, const char *arg, bool tty)
{
	char	*out = NULL;
	size_t	 olen = 0;
	int	 ro;

	ro = show_member(r, "summary.txt", &out, &olen);
	if (ro == 0)
		show_out(out, olen, tty);
	else if (ro > 0 && r->dir)
		/* written when the job ends */
		fprintf(stderr, "dagexec: show: job '%s' has no summary.txt "
		    "yet (it has not ended): `dagexec status` shows its "
		    "progress, `dagexec show %s NODE` a node's logs so far\n",
		    r->job, arg);
	else if (ro > 0)
		fprintf(stderr, "dagexec: show: '%s' has no summary.txt\n",
		    arg);
	free(out);
	return ro == 0 ? 0 : ro > 0 && r->dir ? EXIT_NOINPUT : EXIT_DATAERR;
}

/* Print node's logs: 0, or an exit status. */
static int
show_logs(const struct runref *r, const char *arg, const char *node, bool tty)
{
	char	*out = NULL, *err = NULL, *rel, *note = NULL;
	size_t	 olen = 0, elen = 0;
	int	 ro, re, found, ret = 0;

	if (strchr(node, '/') != NULL || strcmp(node, "..") == 0 ||
	    strcmp(node, ".") == 0 || *node == '\0') {
		fprintf(stderr, "dagexec: show: no node '%s' in '%s'\n", node,
		    arg);
		return EXIT_DAG_FAILED;
	}
	rel = xasprintf("nodes/%s/stdout.log", node);
	ro = show_member(r, rel, &out, &olen);
	free(rel);
	rel = xasprintf("nodes/%s/stderr.log", node);
	re = ro < 0 ? -1 : show_member(r, rel, &err, &elen);
	free(rel);
	if (ro < 0 || re < 0) {
		ret = EXIT_DATAERR;
		goto done;
	}
	/* on stderr, so that what goes into a pipe is the log alone */
	found = show_node(r, node, &note);
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
		    arg);
		ret = EXIT_DAG_FAILED;
	} else if (note == NULL)
		fprintf(stderr, "dagexec: show: node '%s' wrote nothing\n",
		    node);
done:
	free(note);
	free(out);
	free(err);
	return ret;
}

int
cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct runref	 r;
	const char	*arg, *node, *spool = NULL;
	bool		 tty = isatty(STDOUT_FILENO);
	int		 c, ret;

	while ((c = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			spool = optarg;
			break;
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
	arg = argv[optind];
	node = argc - optind == 2 ? argv[optind + 1] : NULL;
	if ((ret = cmd_runref("show", arg, spool, &r)) != 0)
		return ret;
	if (node == NULL)
		ret = show_summary(&r, arg, tty);
	else
		ret = show_logs(&r, arg, node, tty);
	runref_release(&r);
	if (fflush(stdout) != 0 && ret == 0)
		ret = EXIT_IOERR;
	return ret;
}
