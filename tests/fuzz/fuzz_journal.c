/* libFuzzer target: events.log replay. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
visit(const struct journal_event *ev, void *arg)
{
	size_t *n = arg, i;

	/* touch everything the replay hands out */
	for (i = 0; i < ev->nf; i++)
		*n += strlen(ev->f[i].key) + strlen(ev->f[i].value);
	*n += strlen(ev->event);
	(void)journal_get(ev, "node");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *cause = NULL;
	size_t n = 0;

	(void)journal_replay_buf((const char *)data, size, visit, &n, &cause);
	free(cause);
	return 0;
}
