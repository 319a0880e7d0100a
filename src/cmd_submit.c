/* dagexec submit [-s SPOOL] FILE: drop a manifest into a spool atomically. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "diag.h"
#include "fsutil.h"
#include "job.h"
#include "manifest.h"
#include "spool.h"
#include "xmalloc.h"

static void
submit_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec submit [-s SPOOL] MANIFEST\n\n"
	    "Validate MANIFEST, then drop it into SPOOL/incoming/ atomically "
	    "(through\nSPOOL/tmp/) and print the job id it will get.\n\n"
	    "  -s, --spool SPOOL   the spool (default $DAGEXEC_SPOOL, then "
	    "%s)\n\n"
	    "exit status: 0 dropped, 65 invalid manifest (nothing dropped), "
	    "66 unreadable,\n73 the spool cannot take it, 64 usage\n",
	    spool_default());
}

int
cmd_submit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL, *file;
	struct manifest *m = NULL;
	struct diags d;
	char *cause = NULL, *buf = NULL, *id = NULL, *tmp = NULL, *dest = NULL;
	size_t len;
	int c, fd = -1, ret = EXIT_CANTCREAT;

	while ((c = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			dir = optarg;
			break;
		case 'h':
			submit_usage(stdout);
			return 0;
		default:
			submit_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		submit_usage(stderr);
		return EXIT_USAGE;
	}
	file = argv[optind];
	if (dir == NULL)
		dir = spool_default();
	if (fs_read_file(file, MANIFEST_MAX_BYTES, &buf, &len, &cause) != 0) {
		fprintf(stderr, "dagexec: %s\n", cause);
		free(cause);
		return errno == EFBIG ? EXIT_DATAERR : EXIT_NOINPUT;
	}
	diags_init(&d);
	if (manifest_parse(file, buf, len, &m, &d) != 0) {
		diags_print(stderr, file, &d);
		diags_release(&d);
		free(buf);
		return EXIT_DATAERR;
	}
	diags_release(&d);
	id = job_make_id(m->name);
	tmp = xasprintf("%s/tmp/.%s.yaml.tmp", dir, id);
	dest = xasprintf("%s/incoming/%s.yaml", dir, id);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0) {
		fprintf(stderr, "dagexec: cannot create '%s': %s\n", tmp,
		    strerror(errno));
		goto out;
	}
	if (fs_write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
		fprintf(stderr, "dagexec: cannot write '%s': %s\n", tmp,
		    strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, dest) != 0) {
		fprintf(stderr, "dagexec: cannot move '%s' into '%s': %s\n",
		    tmp, dest, strerror(errno));
		unlink(tmp);
		goto out;
	}
	(void)fs_sync_parent(dest);
	printf("%s\n", id);
	ret = fflush(stdout) == 0 ? 0 : EXIT_IOERR;
out:
	manifest_free(m);
	free(buf);
	free(id);
	free(tmp);
	free(dest);
	return ret;
}
