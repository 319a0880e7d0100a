/* libFuzzer target: the state.yaml reader (dagexec status). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state_doc *d = NULL;
	char *cause = NULL;

	if (state_read_buf("fuzz.yaml", (const char *)data, size, &d,
	    &cause) == 0)
		state_doc_free(d);
	free(cause);
	return 0;
}
