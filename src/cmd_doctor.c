/* dagexec doctor: what this host gives a manifest's keys, one line each,
 * and with MANIFEST, whether what it asks for is there (doctor.c). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "diag.h"
#include "doctor.h"
#include "manifest.h"

static void
doctor_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec doctor [MANIFEST]\n\n"
	    "What this host gives dagexec, one line each (kernel, Landlock, "
	    "cgroup v2 and\nits controllers, cgroup.kill and clone3, pidfd, "
	    "switching users, Slurm,\nlibcurl), with what the manifest keys "
	    "that depend on it do here. Exit 0.\nWith MANIFEST: also a "
	    "'missing' line for each thing it asks for that this\nhost lacks, "
	    "and exit 1 when there is one.\n\n"
	    "exit status: 0 (without MANIFEST, or nothing missing), 1 "
	    "something MANIFEST\nasks for is missing, 65 MANIFEST is invalid, "
	    "66 it cannot be read, 64 usage\n");
}

/* MANIFEST into *m: 0, or the exit status with the error printed. */
static int
doctor_load(const char *file, struct manifest **m)
{
	struct diags d;
	char *cause = NULL;
	int rc;

	diags_init(&d);
	switch (manifest_load(file, m, &d, &cause)) {
	case 0:
		rc = 0;
		break;
	case 1:
		diags_print(stderr, file, &d);
		rc = EXIT_DATAERR;
		break;
	default:
		fprintf(stderr, "dagexec: %s\n", cause);
		free(cause);
		rc = EXIT_NOINPUT;
		break;
	}
	diags_release(&d);
	return rc;
}

int
cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct manifest *m = NULL;
	struct doctor_host h;
	const char *file;
	int c, missing = 0, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			doctor_usage(stdout);
			return 0;
		default:
			doctor_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "dagexec doctor: one manifest at most\n");
		doctor_usage(stderr);
		return EXIT_USAGE;
	}
	file = optind < argc ? argv[optind] : NULL;
	if (file != NULL && (rc = doctor_load(file, &m)) != 0)
		return rc;
	doctor_probe(&h);
	doctor_print(stdout, &h);
	if (m != NULL) {
		missing = doctor_check(stdout, &h, m, file);
		if (missing == 0)
			printf("manifest     %s: everything it asks for is "
			    "here\n", file);
	}
	doctor_release(&h);
	manifest_free(m);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("dagexec doctor: standard output");
		return EXIT_IOERR;
	}
	return missing > 0 ? EXIT_DAG_FAILED : 0;
}
