#include "config.h"

#include <stdio.h>

#include "cmd.h"

int
cmd_show(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "dagexec: show: not implemented yet\n");
	return EXIT_SOFTWARE;
}
