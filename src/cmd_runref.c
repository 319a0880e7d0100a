/* The commands that read a run name it alike (runref.h); this says what
 * went wrong, and the exit status of it, in one place. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "runref.h"

int
cmd_runref(const char *cmd, const char *arg, const char *spool,
    struct runref *r)
{
	char *cause = NULL;
	int saved;

	if (runref_resolve(arg, spool, r, &cause) == 0)
		return 0;
	saved = errno;
	fprintf(stderr, "dagexec: %s: %s\n", cmd, cause);
	free(cause);
	errno = saved;
	return saved == EILSEQ ? EXIT_DATAERR : EXIT_NOINPUT;
}
