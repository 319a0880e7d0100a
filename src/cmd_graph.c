#include "config.h"

#include <stdio.h>

#include "cmd.h"

int
cmd_graph(int argc, char **argv)
{
	(void)argc; (void)argv;
	fprintf(stderr, "dagexec: graph: not implemented yet\n");
	return EXIT_SOFTWARE;
}
