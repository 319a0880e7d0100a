/*
 * A schedule's helper, running as the schedule file's owner: it reads the
 * file, checks it as `validate` would, and computes the firings in the
 * schedule's zone.
 *
 * The zone: cron.c computes with the C library's local time, whose zone
 * is process-wide state (TZ) that localtime_r and mktime read without a
 * lock. This process has one thread and one zone, and sets it once,
 * before any firing is computed; the daemon, which has threads (its
 * bundle copier) and many schedules, never touches its own TZ.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cron.h"
#include "ctl.h"
#include "diag.h"
#include "fsutil.h"
#include "manifest.h"
#include "schedule.h"
#include "spool.h"
#include "strbuf.h"
#include "xmalloc.h"

static const char *const overlap_words[] = { "skip", "queue", "all" };

static int
send_reject(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
send_reject(const char *fmt, ...)
{
	va_list ap;
	char *text;
	int rc;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	if (strlen(text) > CTL_MAX - 64)
		strcpy(text + CTL_MAX - 80, "\n... (cut)\n");
	rc = ctl_send(SCHEDULE_CTL_FD, -1, "reject %s", text);
	free(text);
	return rc == 0 ? 0 : 1;
}

/* The file, opened as ours: a plain file of one link, not too large. */
static int
open_file(const struct schedule_args *a, char **buf, size_t *len)
{
	char *path = xasprintf("%s/schedules/%s", a->spool, a->name);
	char *cause = NULL;
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	free(path);
	if (fd < 0 && errno == ENOENT)
		return ctl_send(SCHEDULE_CTL_FD, -1, "gone") == 0 ? 1 : -1;
	if (fd < 0)
		return send_reject("%s: error: cannot open it: %s\n", a->name,
		    strerror(errno)) == 0 ? 1 : -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_nlink != 1 || st.st_uid != getuid()) {
		close(fd);
		return send_reject("%s: error: not a plain file of uid %ld "
		    "with one link\n", a->name, (long)getuid()) == 0 ? 1 : -1;
	}
	/* still open for writing by someone (written in place, not renamed
	 * in): its close brings the daemon back */
	if (fcntl(fd, F_SETLEASE, F_RDLCK) != 0 && errno == EAGAIN) {
		close(fd);
		return ctl_send(SCHEDULE_CTL_FD, -1, "busy") == 0 ? 1 : -1;
	}
	(void)fcntl(fd, F_SETLEASE, F_UNLCK);
	rc = fs_read_fd(fd, a->name, MANIFEST_MAX_BYTES, buf, len, &cause);
	close(fd);
	if (rc != 0) {
		rc = send_reject("%s: error: %s\n", a->name, cause);
		free(cause);
		return rc == 0 ? 1 : -1;
	}
	return 0;
}

/* The checked bytes, in a memfd nobody can change any more. */
static int
sealed_copy(const char *buf, size_t len)
{
	int fd = memfd_create("dagexec-schedule", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING);

	if (fd < 0)
		return -1;
	if (fs_write_all(fd, buf, len) != 0 || fcntl(fd, F_ADD_SEALS,
	    F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* "MISSED NMISSED NEXT..." of c in the zone now in use. */
static void
firings(const struct schedule_args *a, const struct cron *c,
    int64_t catch_up_s, struct strbuf *out)
{
	int64_t from, t, next, missed = 0, window, n = 0;
	int k;

	window = catch_up_s > SCHEDULE_GRACE_S ? catch_up_s :
	    SCHEDULE_GRACE_S;
	from = a->last > 0 ? a->last : a->now;
	if (from < a->now - window)
		from = a->now - window;
	for (t = from; cron_next(c, t, &next) == 0 && next <= a->now; t = next)
		missed = next;
	/* all that fired while no daemon ran, for the log */
	for (t = a->last > 0 ? a->last : a->now; n < SCHEDULE_COUNT_MAX &&
	    cron_next(c, t, &next) == 0 && next <= a->now; t = next)
		n++;
	strbuf_int(out, missed);
	strbuf_lit(out, " ");
	strbuf_int(out, n);
	for (t = a->now, k = 0; k < a->count && cron_next(c, t, &next) == 0;
	    t = next, k++) {
		strbuf_lit(out, " ");
		strbuf_int(out, next);
	}
}

int
schedule_main(const struct schedule_args *a)
{
	struct manifest *m = NULL;
	struct strbuf msg = STRBUF_INIT;
	struct diags d;
	struct cron c;
	char *buf = NULL, *cause = NULL, *text;
	size_t len = 0, col;
	int rc, fd, ret = 1;

	umask(077);
	(void)prctl(PR_SET_NAME, "dagexec", 0, 0, 0);
	if ((rc = open_file(a, &buf, &len)) != 0)
		return rc > 0 ? 0 : 1;
	diags_init(&d);
	if (manifest_parse(a->name, buf, len, &m, &d) != 0) {
		text = diags_text(a->name, &d);
		ret = send_reject("%s", text) == 0 ? 0 : 1;
		free(text);
		goto out;
	}
	if (m->cron == NULL) {
		ret = send_reject("%s:1:1: error: a schedule needs a 'cron' "
		    "expression (a one-shot job is named NAME-YYYYMMDDTHHMMSS-"
		    "XXXX.yaml, as `dagexec submit --at` names it)\n",
		    a->name) == 0 ? 0 : 1;
		goto out;
	}
	/* set once, in this single-threaded process (see above) */
	if (cron_zone_use(m->cron->timezone, &cause) != 0 ||
	    cron_parse(m->cron->expr, &c, &col, &cause) != 0) {
		ret = send_reject("%s: error: %s\n", a->name, cause) == 0 ? 0 :
		    1;
		goto out;
	}
	if ((fd = sealed_copy(buf, len)) < 0) {
		fprintf(stderr, "dagexec: schedule '%s': memfd: %s\n", a->name,
		    strerror(errno));
		goto out;
	}
	strbuf_str(&msg, "ok ");
	strbuf_str(&msg, m->name);
	strbuf_lit(&msg, " ");
	strbuf_str(&msg, overlap_words[m->cron->overlap]);
	strbuf_lit(&msg, " ");
	strbuf_int(&msg, m->cron->catch_up_ms);
	strbuf_lit(&msg, " ");
	firings(a, &c, m->cron->catch_up_ms / 1000, &msg);
	strbuf_lit(&msg, "\n");
	strbuf_str(&msg, m->cron->expr);
	strbuf_lit(&msg, "\n");
	strbuf_str(&msg, m->cron->timezone != NULL ? m->cron->timezone : "");
	ret = ctl_send(SCHEDULE_CTL_FD, fd, "%s", msg.s) == 0 ? 0 : 1;
	close(fd);
out:
	free(msg.s);
	free(cause);
	free(buf);
	manifest_free(m);
	diags_release(&d);
	return ret;
}

int
schedule_at_name(const char *name, char **dag, int64_t *when)
{
	size_t n = strlen(name), k;
	struct tm tm;
	char *id;
	time_t t;

	if (n > 5 && strcmp(name + n - 5, ".yaml") == 0)
		k = 5;
	else if (n > 4 && strcmp(name + n - 4, ".yml") == 0)
		k = 4;
	else
		return -1;
	id = xstrndup(name, n - k);
	if (!spool_job_id_ok(id)) {
		free(id);
		return -1;
	}
	/* NAME-YYYYMMDDTHHMMSS-XXXX */
	n = strlen(id);
	memset(&tm, 0, sizeof tm);
	if (sscanf(id + n - 20, "%4d%2d%2dT%2d%2d%2d", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	    &tm.tm_sec) != 6) {
		free(id);
		return -1;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if ((t = timegm(&tm)) == (time_t)-1) {
		free(id);
		return -1;
	}
	id[n - 21] = '\0';
	*dag = id;
	*when = (int64_t)t;
	return 0;
}
