/* dagexec submit [-s SPOOL] FILE: drop a manifest into a spool atomically;
 * dagexec submit [-s SPOOL] --retry JOB [--from NODE]...: drop a request to
 * run a finished job again (interface §8). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "attime.h"
#include "bundle.h"
#include "cmd.h"
#include "diag.h"
#include "fsutil.h"
#include "job.h"
#include "loop.h"
#include "manifest.h"
#include "retryreq.h"
#include "spool.h"
#include "xmalloc.h"

static void
submit_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec submit [-s SPOOL] [--at TIME] MANIFEST\n"
	    "       dagexec submit [-s SPOOL] --retry JOB [--from NODE]...\n\n"
	    "Validate MANIFEST, then drop it into SPOOL/incoming/ atomically "
	    "(through\nSPOOL/tmp/) and print the job id it will get.\n"
	    "With --retry: ask the daemon to run JOB, a finished job of yours "
	    "(its bundle\nin SPOOL/done/), again as a new job, as `dagexec "
	    "retry` does: what succeeded\nis reused, the rest runs. The "
	    "request is dropped as JOB2.retry and the new\njob's id JOB2 is "
	    "printed; `status JOB2` follows it, and a request the daemon\n"
	    "refuses goes to SPOOL/rejected/JOB2.retry with its reason in "
	    "JOB2.retry.error.\n\n"
	    "  -s, --spool SPOOL   the spool (default $DAGEXEC_SPOOL, then "
	    "%s)\n"
	    "  -r, --retry JOB     run the finished job JOB again\n"
	    "  -f, --from NODE     with --retry: run NODE and all its "
	    "descendants again\n"
	    "                      (repeatable)\n"
	    "  -a, --at TIME       run it once at TIME, as at(1): the job id "
	    "holds the time;\n"
	    "                      TIME is now, 'now + N minutes' (seconds, "
	    "hours, days,\n"
	    "                      weeks), HH:MM (the next), 'YYYY-MM-DD "
	    "HH:MM[:SS]' (local,\n"
	    "                      or ending in Z or +HH:MM) or @SECONDS; "
	    "it waits in\n"
	    "                      SPOOL/schedules/ (remove it or `dagexec "
	    "cancel` it)\n\n"
	    "A warning on standard error says when no `dagexec watch` serves "
	    "SPOOL (the job\nthen waits until one runs).\n\n"
	    "exit status: 0 dropped, 65 invalid manifest (nothing dropped), "
	    "66 unreadable\n(--retry: no finished job JOB, or not yours), 73 "
	    "the spool cannot take it,\n64 usage (--retry: not a job id, an "
	    "unknown node;\n--at: not a time, or one past)\n",
	    spool_default());
}

/* Say so when no daemon serves the spool: the file would wait silently.
 * The daemon's lock is only tested, never taken. */
static void
submit_hint(const char *dir)
{
	char *cause = NULL;

	switch (spool_served(dir, &cause)) {
	case 0:
		fprintf(stderr, "dagexec: warning: no dagexec watch serves "
		    "'%s': the job waits until one runs\n", dir);
		break;
	case -1:
		fprintf(stderr, "dagexec: warning: %s\n", cause);
		free(cause);
		break;
	}
}

/* 0 when files can be dropped into the spool dir, else EXIT_CANTCREAT
 * (said on stderr, with how to make the spool). */
static int
submit_spool_ok(const char *dir)
{
	char *cause = NULL;

	if (spool_check(dir, &cause) == 0)
		return 0;
	fprintf(stderr, "dagexec: submit: %s\n", cause);
	free(cause);
	return EXIT_CANTCREAT;
}

/* Write len bytes of buf into SPOOL/tmp/.ID.EXT.tmp, then rename it to
 * SPOOL/SUB/ID.EXT (incoming/, or schedules/ for --at): 0, or an exit
 * status (said on stderr). */
static int
submit_drop(const char *dir, const char *sub, const char *id,
    const char *ext, const char *buf, size_t len)
{
	char *tmp, *dest;
	int fd, ret;

	if ((ret = submit_spool_ok(dir)) != 0)
		return ret;
	ret = EXIT_CANTCREAT;
	tmp = xasprintf("%s/tmp/.%s.%s.tmp", dir, id, ext);
	dest = xasprintf("%s/%s/%s.%s", dir, sub, id, ext);
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
	submit_hint(dir);
	ret = 0;
out:
	free(tmp);
	free(dest);
	return ret;
}

/* The id of a job of the DAG name that runs at t: its time in it, as a
 * scheduled firing's (NAME-YYYYMMDDTHHMMSS-XXXX, UTC, XXXX random). */
static char *
at_job_id(const char *name, int64_t t)
{
	unsigned char r[2] = { 0, 0 };
	time_t tt = (time_t)t;
	struct tm tm;
	char ts[32];

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
		r[0] = (unsigned char)getpid();
		r[1] = (unsigned char)(getpid() >> 8);
	}
	gmtime_r(&tt, &tm);
	strftime(ts, sizeof ts, "%Y%m%dT%H%M%S", &tm);
	return xasprintf("%s-%s-%02x%02x", name, ts, r[0], r[1]);
}

/* --at TIME: when, in seconds; or an exit status (said on stderr). */
static int
submit_when(const char *at, int64_t *t)
{
	int64_t now = loop_wallclock() / 1000;
	char *cause = NULL, buf[64];
	time_t tt;
	struct tm tm;

	if (attime_parse(at, now, t, &cause) != 0) {
		fprintf(stderr, "dagexec: submit: --at %s\n", cause);
		free(cause);
		return EXIT_USAGE;
	}
	tt = (time_t)*t;
	localtime_r(&tt, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z", &tm);
	/* at(1) refuses a time in the past too; a minute's slack for "now"
	 * and a slow typist */
	if (*t < now - 60) {
		fprintf(stderr, "dagexec: submit: --at '%s' is in the past "
		    "(%s)\n", at, buf);
		return EXIT_USAGE;
	}
	if (*t < now)
		*t = now;
	return 0;
}

static int
submit_manifest(const char *dir, const char *file, const char *at)
{
	struct manifest *m = NULL;
	struct diags d;
	char *cause = NULL, *buf = NULL, *id;
	int64_t when = 0;
	size_t len;
	int ret;

	if (fs_read_file(file, MANIFEST_MAX_BYTES, &buf, &len, &cause) != 0) {
		ret = errno == EFBIG ? EXIT_DATAERR : EXIT_NOINPUT;
		fprintf(stderr, "dagexec: %s\n", cause);
		free(cause);
		return ret;
	}
	diags_init(&d);
	if (manifest_parse(file, buf, len, &m, &d) != 0) {
		diags_print(stderr, file, &d);
		diags_release(&d);
		free(buf);
		return EXIT_DATAERR;
	}
	diags_release(&d);
	if (at != NULL && (ret = submit_when(at, &when)) != 0) {
		manifest_free(m);
		free(buf);
		return ret;
	}
	id = at != NULL ? at_job_id(m->name, when) : job_make_id(m->name);
	if (at == NULL && m->cron != NULL)
		fprintf(stderr, "dagexec: submit: note: 'cron' is acted on in "
		    "%s/schedules/ only: this job runs once, now\n", dir);
	if ((ret = submit_drop(dir, at != NULL ? "schedules" : "incoming", id,
	    "yaml", buf, len)) == 0) {
		printf("%s\n", id);
		ret = fflush(stdout) == 0 ? 0 : EXIT_IOERR;
	}
	manifest_free(m);
	free(buf);
	free(id);
	return ret;
}

/* Check as the caller what the daemon checks again as the job's owner:
 * SPOOL/done/JOB.tar.gz is the caller's, and its manifest has the --from
 * nodes. 0, or an exit status (said on stderr). */
static int
submit_retry_check(const char *dir, const char *job, char **from,
    size_t nfrom)
{
	struct manifest *m = NULL;
	struct diags d;
	char *cause = NULL, *src, *member, *buf = NULL;
	size_t len, k;
	int fd, ret = 0;

	if ((fd = retryreq_open_done(dir, job, getuid(), &cause)) < 0) {
		fprintf(stderr, "dagexec: submit: %s\n", cause);
		free(cause);
		return EXIT_NOINPUT;
	}
	if (nfrom == 0) {
		close(fd);
		return 0;
	}
	src = xasprintf("/proc/self/fd/%d", fd);
	member = xasprintf("%s/manifest.yaml", job);
	diags_init(&d);
	if (bundle_read_member(src, member, MANIFEST_MAX_BYTES, &buf, &len,
	    &cause) != 0 || manifest_parse(member, buf, len, &m, &d) != 0) {
		fprintf(stderr, "dagexec: submit: the manifest of job '%s' "
		    "cannot be read%s%s\n", job, cause != NULL ? ": " : "",
		    cause != NULL ? cause : "");
		ret = EXIT_DATAERR;
	}
	for (k = 0; ret == 0 && k < nfrom; k++) {
		if (manifest_find(m, from[k]) < 0) {
			fprintf(stderr, "dagexec: submit: job '%s' has no "
			    "node '%s' (--from)\n", job, from[k]);
			ret = EXIT_USAGE;
		}
	}
	manifest_free(m);
	diags_release(&d);
	close(fd);
	free(src);
	free(member);
	free(buf);
	free(cause);
	return ret;
}

/* submit --retry JOB [--from NODE]...: a retry request (retryreq.h). */
static int
submit_retry(const char *dir, const char *job, char **from, size_t nfrom)
{
	char *text, *id;
	size_t k;
	int ret;

	if (!spool_job_id_ok(job)) {
		fprintf(stderr, "dagexec: submit: '%s' is not a job id "
		    "(NAME-YYYYMMDDTHHMMSS-XXXX)\n", job);
		return EXIT_USAGE;
	}
	for (k = 0; k < nfrom; k++) {
		if (!manifest_id_ok(from[k])) {
			fprintf(stderr, "dagexec: submit: '%s' is not a node "
			    "id (--from)\n", from[k]);
			return EXIT_USAGE;
		}
	}
	if ((ret = submit_spool_ok(dir)) != 0 ||
	    (ret = submit_retry_check(dir, job, from, nfrom)) != 0)
		return ret;
	/* named as the new job: the daemon gives it this id, and `status`
	 * finds it by it from the start */
	id = retryreq_new_id(job);
	text = retryreq_format(job, from, nfrom);
	if ((ret = submit_drop(dir, "incoming", id, "retry", text,
	    strlen(text))) == 0) {
		printf("%s\n", id);
		ret = fflush(stdout) == 0 ? 0 : EXIT_IOERR;
	}
	free(text);
	free(id);
	return ret;
}

int
cmd_submit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "retry", required_argument, NULL, 'r' },
		{ "from", required_argument, NULL, 'f' },
		{ "at", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL, *retry = NULL, *at = NULL;
	char **from = NULL;
	size_t nfrom = 0;
	int c, ret;

	while ((c = getopt_long(argc, argv, "+s:r:f:a:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			dir = optarg;
			break;
		case 'r':
			retry = optarg;
			break;
		case 'f':
			from = xreallocarray(from, nfrom + 1, sizeof *from);
			from[nfrom++] = optarg;
			break;
		case 'a':
			at = optarg;
			break;
		case 'h':
			submit_usage(stdout);
			free(from);
			return 0;
		default:
			submit_usage(stderr);
			free(from);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != (retry != NULL ? 0 : 1) ||
	    (nfrom > 0 && retry == NULL) || (at != NULL && retry != NULL)) {
		submit_usage(stderr);
		free(from);
		return EXIT_USAGE;
	}
	if (dir == NULL)
		dir = spool_default();
	if (retry != NULL)
		ret = submit_retry(dir, retry, from, nfrom);
	else
		ret = submit_manifest(dir, argv[optind], at);
	free(from);
	return ret;
}
