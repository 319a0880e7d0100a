/* libFuzzer target: $DAGEXEC_OUTPUT and $DAGEXEC_METRICS lines. An error
 * must be one of the fixed forms, which name a line by its number and never
 * quote it. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kvfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const whys[] = {
	"no '='", "empty key", "key holds a character outside [A-Za-z0-9_.-]",
	"holds a NUL byte", "empty value", "value is not a number",
	"value is out of range", "empty delimiter after '<<'",
	"no closing delimiter line", NULL
};

/* Abort unless cause is "malformed line N in fuzz: WHY (expected ...)". */
static void
check_cause(const char *cause, int numeric)
{
	const char *p, *tail;
	size_t i, k;

	if (strncmp(cause, "malformed line ", 15) != 0)
		abort();
	p = cause + 15 + strspn(cause + 15, "0123456789");
	if (p == cause + 15 || strncmp(p, " in fuzz: ", 10) != 0)
		abort();
	p += 10;
	tail = numeric ? " (expected NAME=NUMBER)" :
	    " (expected KEY=VALUE or KEY<<DELIMITER)";
	for (i = 0; whys[i] != NULL; i++) {
		k = strlen(whys[i]);
		if (strncmp(p, whys[i], k) == 0 && strcmp(p + k, tail) == 0)
			return;
	}
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv *v;
	char *cause = NULL;
	size_t n;
	int numeric;

	for (numeric = 0; numeric < 2; numeric++) {
		if (kvfile_parse((const char *)data, size, "fuzz", numeric,
		    &v, &n, &cause) == 0)
			kvfile_free(v, n);
		else
			check_cause(cause, numeric);
		free(cause);
		cause = NULL;
	}
	return 0;
}
