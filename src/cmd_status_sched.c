/* dagexec status --schedules: the schedules of SPOOL/schedules/ and their
 * next firings, as the daemon last wrote them for the caller
 * (SPOOL/sched/UID.list; root reads every user's). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "cron.h"
#include "fsutil.h"
#include "log.h"
#include "xmalloc.h"

#define FIELDS	9	/* NAME DAG NEXT EXPR ZONE OVERLAP LAST JOB STATE,
			   as wsched.c writes them */

/* t as a local time of zone ("-": the caller's), with its offset. This
 * process has one thread: it may set TZ for each line. */
static void
fmt_local(long long t, const char *zone, const char *tz0, char *buf,
    size_t len)
{
	char *cause = NULL;
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	if (strcmp(zone, "-") != 0) {
		if (cron_zone_use(zone, &cause) != 0)
			free(cause);
	} else {
		if (tz0 != NULL)
			setenv("TZ", tz0, 1);
		else
			unsetenv("TZ");
		tzset();
	}
	localtime_r(&tt, &tm);
	/* +02:00, not +0200: ISO 8601's extended form throughout */
	if (strftime(buf, len, "%Y-%m-%dT%H:%M:%S%z", &tm) == 24 && len > 25) {
		memmove(buf + 23, buf + 22, 3);
		buf[22] = ':';
	}
}

static void
print_line(char *line, const char *tz0)
{
	char *f[FIELDS], *p = line, *e, next[40], when[40], state[80];
	size_t k;

	for (k = 0; k < FIELDS && p != NULL; k++) {
		f[k] = p;
		if ((p = strchr(p, '\t')) != NULL)
			*p++ = '\0';
	}
	if (k < FIELDS)
		return;
	for (k = 0; k < FIELDS; k++) {
		e = log_escape(f[k], strlen(f[k]));
		/* fields are short: written back in place */
		if (strlen(e) <= strlen(f[k]))
			strcpy(f[k], e);
		free(e);
	}
	fmt_local(strtoll(f[2], NULL, 10), f[4], tz0, next, sizeof next);
	/* queued:T, waiting:T: the firing that waits */
	if ((p = strchr(f[8], ':')) != NULL) {
		*p++ = '\0';
		fmt_local(strtoll(p, NULL, 10), f[4], tz0, when, sizeof when);
		snprintf(state, sizeof state, "%s %s", f[8], when);
	} else
		snprintf(state, sizeof state, "%s", f[8]);
	printf("%-20s %-25s %-14s %-16s %-7s %-40s %s\n", f[0], next, f[3],
	    f[4], f[5], f[7], state);
}

/* One UID.list: its lines, printed. */
static void
print_list(const char *path, const char *tz0)
{
	char *buf = NULL, *cause = NULL, *line, *save = NULL;
	size_t len;

	if (fs_read_file(path, 1u << 24, &buf, &len, &cause) != 0) {
		if (errno != ENOENT)
			fprintf(stderr, "dagexec: status: %s\n", cause);
		free(cause);
		return;
	}
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		print_line(line, tz0);
	free(buf);
}

int
status_schedules(const char *spool)
{
	const char *env = getenv("TZ");
	char *tz0 = env != NULL ? xstrdup(env) : NULL, *dir, *p;
	struct dirent *de;
	size_t len;
	DIR *d;

	if (isatty(STDOUT_FILENO))
		printf("%-20s %-25s %-14s %-16s %-7s %-40s %s\n", "SCHEDULE",
		    "NEXT", "CRON", "ZONE", "OVERLAP", "LAST JOB", "STATE");
	dir = xasprintf("%s/sched", spool);
	if (geteuid() == 0 && (d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			len = strlen(de->d_name);
			if (de->d_name[0] == '.' || len < 6 ||
			    strcmp(de->d_name + len - 5, ".list") != 0)
				continue;
			p = xasprintf("%s/%s", dir, de->d_name);
			print_list(p, tz0);
			free(p);
		}
		closedir(d);
	} else {
		p = xasprintf("%s/%ld.list", dir, (long)getuid());
		print_list(p, tz0);
		free(p);
	}
	free(dir);
	free(tz0);
	return fflush(stdout) == 0 ? 0 : EXIT_IOERR;
}
