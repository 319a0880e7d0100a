/* dagexec graph [--format dot|waves] MANIFEST: print the DAG. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "diag.h"
#include "job.h"
#include "manifest.h"
#include "render.h"
#include "state.h"
#include "xmalloc.h"

static void
graph_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec graph [--format dot|waves] [--state FILE] "
	    "MANIFEST\n\n"
	    "Print the DAG as Graphviz DOT (the default: one \"a\" -> \"b\"; "
	    "line an edge,\na before b) or as its waves (one line a wave: "
	    "wave 0: id id ...).\n"
	    "With --state FILE (a state.yaml), the DOT nodes are coloured by "
	    "their status:\n  dagexec graph --state state.yaml dag.yaml | "
	    "dot -Tsvg > run.svg\n\n"
	    "exit status: 0 printed, 65 the manifest is invalid, "
	    "66 it cannot be read, 64 usage\n");
}

/* The instances a dynamic foreach had in the run whose state is at path:
 * made again from the events.log beside it, if there is one. */
static void
graph_expand_as_run(struct manifest *m, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *log, *cause = NULL;

	log = slash == NULL ? xstrdup("events.log") : xasprintf("%.*s/"
	    "events.log", (int)(slash - path), path);
	if (access(log, R_OK) == 0 && job_expand_replay(m, log, &cause) != 0) {
		fprintf(stderr, "dagexec: graph: %s\n", cause);
		free(cause);
	}
	free(log);
}

int
cmd_graph(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "state", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct manifest *m;
	struct diags d;
	struct state_doc *doc = NULL;
	const char *state = NULL;
	char *cause = NULL;
	int c, waves = 0, rc;

	while ((c = getopt_long(argc, argv, "+f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			state = optarg;
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
	if (argc - optind != 1) {
		graph_usage(stderr);
		return EXIT_USAGE;
	}
	diags_init(&d);
	rc = manifest_load(argv[optind], &m, &d, &cause);
	if (rc < 0) {
		fprintf(stderr, "dagexec: %s\n", cause);
		free(cause);
		return EXIT_NOINPUT;
	}
	if (rc > 0) {
		diags_print(stderr, argv[optind], &d);
		diags_release(&d);
		return EXIT_DATAERR;
	}
	diags_release(&d);
	if (state != NULL && !waves)
		graph_expand_as_run(m, state);
	if (state != NULL && !waves && state_read(state, &doc, &cause) != 0) {
		fprintf(stderr, "dagexec: graph: %s\n", cause);
		free(cause);
		manifest_free(m);
		return errno == ENOENT || errno == EACCES ? EXIT_NOINPUT :
		    EXIT_DATAERR;
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
