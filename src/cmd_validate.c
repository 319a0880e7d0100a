#include "config.h"

#include <stdio.h>

#include "cmd.h"

int
cmd_validate(int argc, char **argv)
{
	(void)argc; (void)argv;
	fprintf(stderr, "dagexec: validate: not implemented yet\n");
	return EXIT_SOFTWARE;
}
