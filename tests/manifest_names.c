/* Print every name the manifest parser accepts, one "WHAT<TAB>NAME" line
 * each ("key node<TAB>retries", "value when<TAB>always"), from its own
 * tables: what tests/integration/manpages.sh checks dagexec.yaml(5)
 * against. */
#include "config.h"

#include <stdio.h>

#include "manifest.h"

static void
put(void *arg, const char *what, const char *name)
{
	(void)arg;
	printf("%s\t%s\n", what, name);
}

int
main(void)
{
	manifest_names_each(put, NULL);
	return fflush(stdout) == 0 ? 0 : 1;
}
