#include "config.h"

#include <stdio.h>

#include "cmd.h"

int
cmd_verify(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "dagexec: verify: not implemented yet\n");
	return EXIT_SOFTWARE;
}
