/* libFuzzer target: the manifest parser and validator. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest *m = NULL;
	struct diags d;

	diags_init(&d);
	if (manifest_parse("fuzz.yaml", (const char *)data, size, &m, &d) == 0)
		manifest_free(m);
	diags_release(&d);
	return 0;
}
