/* The hidden sub-commands that run in a child process: `__http SPEC RESULT`
 * (an http node) and `__notify URL STATE RESULT [--insecure]`. They are not
 * listed in --help: dagexec runs them itself. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "http.h"

int
cmd_http(int argc, char **argv)
{
	if (strcmp(argv[0], "__http") == 0 && argc == 3)
		return http_node_main(argv[1], argv[2]);
	if (strcmp(argv[0], "__notify") == 0 && (argc == 4 || (argc == 5 &&
	    strcmp(argv[4], "--insecure") == 0)))
		return http_notify_main(argv[1], argv[2], argv[3], argc == 5);
	fprintf(stderr, "usage: dagexec __http SPEC RESULT | "
	    "__notify URL STATE RESULT [--insecure] (internal)\n");
	return EXIT_USAGE;
}
