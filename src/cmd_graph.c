/* dagexec graph [--format dot|waves] [-s SPOOL] [--state RUN] [MANIFEST]:
 * print the DAG, coloured by a run's state. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "diag.h"
#include "job.h"
#include "manifest.h"
#include "render.h"
#include "runref.h"
#include "spool.h"
#include "state.h"
#include "xmalloc.h"

#define GRAPH_JOURNAL_MAX	((size_t)1 << 30)	/* events.log read */

static void
graph_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec graph [--format dot|waves] MANIFEST\n"
	    "       dagexec graph [-s SPOOL] --state RUN [MANIFEST]\n\n"
	    "Print the DAG as Graphviz DOT (the default: one \"a\" -> \"b\"; "
	    "line an edge,\na before b) or as its waves (one line a wave: "
	    "wave 0: id id ...).\n"
	    "With --state RUN, the DOT nodes are coloured by their status in "
	    "RUN: a result\nbundle, a job directory, a job id looked up in "
	    "SPOOL, or a state.yaml; MANIFEST\ndefaults to the run's own:\n"
	    "  dagexec graph --state JOB.tar.gz | dot -Tsvg > run.svg\n"
	    "A dynamic foreach is drawn with the instances it had in RUN.\n\n"
	    "  -s, --spool SPOOL   where a job id is looked up (default "
	    "$DAGEXEC_SPOOL, then\n                      %s)\n\n"
	    "exit status: 0 printed, 65 the manifest or the state is invalid, "
	    "66 it cannot\nbe read (no such job), 64 usage\n", spool_default());
}

/* A state.yaml given as a file of its own (unpacked from a bundle, say):
 * 0 and *doc, or an exit status (said). */
static int
graph_state_file(const char *path, struct state_doc **doc)
{
	char *cause = NULL;

	if (state_read(path, doc, &cause) == 0)
		return 0;
	fprintf(stderr, "dagexec: graph: %s\n", cause);
	free(cause);
	return errno == ENOENT || errno == EACCES ? EXIT_NOINPUT :
	    EXIT_DATAERR;
}

/* The instances a dynamic foreach had in run r, made again in m from the
 * run's events.log (none: m is drawn as written). */
static void
graph_expand_as_run(const struct runref *r, struct manifest *m)
{
	char *buf = NULL, *cause = NULL;
	size_t len;

	if (runref_read(r, "events.log", GRAPH_JOURNAL_MAX, &buf, &len,
	    &cause) == 0 && job_expand_replay_buf(m, buf, len, &cause) != 0)
		fprintf(stderr, "dagexec: graph: %s\n", cause);
	free(cause);
	free(buf);
}

/* The state of the run arg, and its manifest when want_manifest (the
 * manifest given, *m, otherwise), with the run's instances: 0, or an
 * exit status (said). */
static int
graph_run(const char *arg, const char *spool, struct state_doc **doc,
    struct manifest **m, bool want_manifest)
{
	struct runref r;
	struct diags d;
	struct stat st;
	char *cause = NULL, *buf = NULL, *name;
	size_t len;
	int ret = 0;

	if (runref_resolve(arg, spool, &r, &cause) != 0) {
		ret = errno == EILSEQ ? EXIT_DATAERR : EXIT_NOINPUT;
		/* a plain state.yaml is no run of its own: read as it is */
		if (errno == EILSEQ && stat(arg, &st) == 0 &&
		    S_ISREG(st.st_mode)) {
			free(cause);
			if (!want_manifest)
				return graph_state_file(arg, doc);
			fprintf(stderr, "dagexec: graph: '%s' is not a run: "
			    "name the MANIFEST too\n", arg);
			return EXIT_USAGE;
		}
		fprintf(stderr, "dagexec: graph: %s\n", cause);
		free(cause);
		return ret;
	}
	if (runref_state(&r, doc, &cause) != 0) {
		ret = errno == EILSEQ ? EXIT_DATAERR : EXIT_NOINPUT;
		fprintf(stderr, "dagexec: graph: %s\n", cause);
		goto out;
	}
	if (!want_manifest) {
		if (*m != NULL)
			graph_expand_as_run(&r, *m);
		goto out;
	}
	name = xasprintf("%s/manifest.yaml", r.job);
	diags_init(&d);
	if (runref_read(&r, "manifest.yaml", MANIFEST_MAX_BYTES, &buf, &len,
	    &cause) != 0) {
		ret = errno == ENOENT ? EXIT_DATAERR : EXIT_NOINPUT;
		fprintf(stderr, "dagexec: graph: %s\n", cause);
	} else if (manifest_parse(name, buf, len, m, &d) != 0) {
		diags_print(stderr, name, &d);
		ret = EXIT_DATAERR;
	} else
		graph_expand_as_run(&r, *m);
	diags_release(&d);
	free(name);
out:
	if (ret != 0) {
		state_doc_free(*doc);
		*doc = NULL;
	}
	free(buf);
	free(cause);
	runref_release(&r);
	return ret;
}

/* The manifest at path: 0 and *m, or an exit status (said). */
static int
graph_manifest(const char *path, struct manifest **m)
{
	struct diags d;
	char *cause = NULL;
	int rc;

	diags_init(&d);
	rc = manifest_load(path, m, &d, &cause);
	if (rc < 0) {
		fprintf(stderr, "dagexec: %s\n", cause);
		free(cause);
		return EXIT_NOINPUT;
	}
	if (rc > 0) {
		diags_print(stderr, path, &d);
		diags_release(&d);
		return EXIT_DATAERR;
	}
	diags_release(&d);
	return 0;
}

int
cmd_graph(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "state", required_argument, NULL, 'S' },
		{ "spool", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct manifest *m = NULL;
	struct state_doc *doc = NULL;
	const char *state = NULL, *spool = NULL;
	int c, waves = 0, ret;

	while ((c = getopt_long(argc, argv, "+f:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			state = optarg;
			break;
		case 's':
			spool = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "dot") == 0)
				waves = 0;
			else if (strcmp(optarg, "waves") == 0)
				waves = 1;
			else {
				fprintf(stderr, "dagexec: graph: unknown format "
				    "'%s' (dot or waves)\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			graph_usage(stdout);
			return 0;
		default:
			graph_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1 || (argc - optind == 0 && state == NULL)) {
		graph_usage(stderr);
		return EXIT_USAGE;
	}
	if (argc - optind == 1 && (ret = graph_manifest(argv[optind], &m)) != 0)
		return ret;
	if (state != NULL && (ret = graph_run(state, spool, &doc, &m,
	    m == NULL)) != 0) {
		manifest_free(m);
		return ret;
	}
	if (waves)
		render_waves(stdout, m);
	else if (doc != NULL)
		render_dot_doc(stdout, m, doc);
	else
		render_dot(stdout, m, NULL);
	state_doc_free(doc);
	manifest_free(m);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("dagexec: graph: stdout");
		return EXIT_IOERR;
	}
	return 0;
}
