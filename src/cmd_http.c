#include "config.h"

#include <stdio.h>

#include "cmd.h"

int
cmd_http(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "dagexec: http: not implemented yet\n");
	return EXIT_SOFTWARE;
}
