/* libFuzzer target: $DAGEXEC_OUTPUT and $DAGEXEC_METRICS lines. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kvfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
		free(cause);
		cause = NULL;
	}
	return 0;
}
