/* libFuzzer target: unpacking a dropped bundle (checks, then extraction). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "fsutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char tmpl[] = "/tmp/dagexec-fuzz-unpack.XXXXXX", *dir, path[512];
	char dest[512], *cause = NULL;
	FILE *fp;

	if ((dir = mkdtemp(tmpl)) == NULL)
		return 0;
	snprintf(path, sizeof path, "%s/in.tar", dir);
	snprintf(dest, sizeof dest, "%s/work", dir);
	if ((fp = fopen(path, "w")) != NULL) {
		fwrite(data, 1, size, fp);
		fclose(fp);
		if (mkdir(dest, 0700) == 0)
			(void)bundle_unpack(path, dest, 1u << 20, 0, 0, 0,
			    &cause);
	}
	free(cause);
	(void)fs_remove_tree(dir, NULL);
	return 0;
}
