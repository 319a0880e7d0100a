#include "config.h"

#include <stdio.h>

#include "cmd.h"

int
cmd_run(int argc, char **argv)
{
	(void)argc; (void)argv;
	fprintf(stderr, "dagexec: run: not implemented yet\n");
	return EXIT_SOFTWARE;
}
