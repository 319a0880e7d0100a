/* dagexec: run DAGs of work with controlled parallelism. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "spawner.h"

static const struct {
	const char	*name;
	int		(*fn)(int, char **);
	const char	*what;
} commands[] = {
	{ "run",	cmd_run,	"run one DAG in the foreground" },
	{ "retry",	cmd_retry,	"run a finished job again, reusing what succeeded" },
	{ "cache",	cmd_cache,	"list and clean the cache store of cached nodes" },
	{ "validate",	cmd_validate,	"check manifests without running anything" },
	{ "graph",	cmd_graph,	"print the DAG as DOT or as its waves" },
	{ "plan",	cmd_plan,	"predict a run's makespan, running nothing" },
	{ "watch",	cmd_watch,	"the spool daemon: run what is dropped" },
	{ "submit",	cmd_submit,	"drop a manifest into a spool" },
	{ "status",	cmd_status,	"jobs of a spool and their progress" },
	{ "cancel",	cmd_cancel,	"cancel a queued or running job" },
	{ "verify",	cmd_verify,	"check a bundle's SHA256SUMS" },
	{ "show",	cmd_show,	"print a run's summary or logs" },
};

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: dagexec [--version] [--help] COMMAND [ARGS]\n\n"
	    "commands:\n");
	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].what);
	fprintf(fp, "\n'dagexec COMMAND --help' describes a command; "
	    "see dagexec(1) and dagexec.yaml(5).\n");
}

/* What the spawner runs in a clone, as a user: a job's supervisor, or a
 * schedule's reader (argv[0] says which). */
static int
spawned(int argc, char **argv)
{
	if (strcmp(argv[0], "__schedule") == 0)
		return cmd_schedule(argc, argv);
	return cmd_supervise(argc, argv);
}

int
main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("dagexec %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	/* hidden: what an http node's or a notification's child runs */
	if (strcmp(argv[1], "__http") == 0 || strcmp(argv[1], "__notify") == 0)
		return cmd_http(argc - 1, argv + 1);
	/* hidden: a job's process under `watch` */
	if (strcmp(argv[1], "__supervise") == 0)
		return cmd_supervise(argc - 1, argv + 1);
	/* hidden: what starts the supervisors of a `watch` */
	if (strcmp(argv[1], "__spawner") == 0)
		return spawner_main(argc, argv, spawned);
	/* hidden: a schedule's reader under `watch` */
	if (strcmp(argv[1], "__schedule") == 0)
		return cmd_schedule(argc - 1, argv + 1);
	fprintf(stderr, "dagexec: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
