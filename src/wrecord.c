/*
 * The record a job's lock keeps (claims/CLAIM/lock, root's), for a daemon
 * that starts while the job's supervisor runs or after it died: the owner,
 * the node slots the job holds, and the name of its cgroup.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "wsup_int.h"
#include "xmalloc.h"

void
wsup_record(struct wsup *ws)
{
	char *path, buf[160];
	int fd, n;

	path = xasprintf("%s/claims/%s/lock", spool_path(ws->t->c.sp),
	    ws->claim);
	fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return;
	n = snprintf(buf, sizeof buf, "uid %ld\ngid %ld\ngrants %d\n%s%s%s",
	    (long)ws->uid, (long)ws->gid, ws->held, ws->cgroup != NULL ?
	    "cgroup " : "", ws->cgroup != NULL ? ws->cgroup : "",
	    ws->cgroup != NULL ? "\n" : "");
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		log_event(LOG_WARN, ws->job, NULL, "lock", "cannot record the "
		    "job's slots: %s", strerror(errno));
	close(fd);
}

/* Slots change at every node's start and end: their record is written at
 * most every RECORD_MS (what a later daemon reads is that old at most). */
static void
record_cb(struct loop *l, void *arg)
{
	struct wsups *t = arg;
	size_t i;

	(void)l;
	t->rec_timer = NULL;
	for (i = 0; i < t->n; i++)
		if (t->v[i]->dirty) {
			t->v[i]->dirty = false;
			wsup_record(t->v[i]);
		}
}

void
wsup_record_flush(struct wsups *t)
{
	if (t->rec_timer == NULL)
		return;
	loop_timer_cancel(t->c.loop, t->rec_timer);
	record_cb(t->c.loop, t);
}

void
wsup_record_later(struct wsup *ws)
{
	ws->dirty = true;
	if (ws->t->rec_timer == NULL)
		ws->t->rec_timer = loop_timer_at(ws->t->c.loop, loop_now() +
		    RECORD_MS, record_cb, ws->t);
}

int
wsup_read_record(struct wsups *t, const char *claim, uid_t *uid, gid_t *gid,
    int *grants, char **cgroup)
{
	char *path, buf[160], cg[CGROUP_NAME_MAX + 1];
	long u, g;
	int fd, k, n;

	*cgroup = NULL;
	path = xasprintf("%s/claims/%s/lock", spool_path(t->c.sp), claim);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return -1;
	n = (int)pread(fd, buf, sizeof buf - 1, 0);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "uid %ld gid %ld grants %d", &u, &g, &k) != 3 ||
	    u < 0 || g < 0 || k < 0)
		return -1;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	*grants = k;
	/* written by a daemon that names cgroups at the claim */
	if ((path = strstr(buf, "\ncgroup ")) != NULL &&
	    sscanf(path + 8, "%" CGROUP_NAME_SCAN "s", cg) == 1)
		*cgroup = xstrdup(cg);
	return 0;
}

/* The name of ws's job's cgroup under dagexec/ (NULL: none yet). */
const char *
wsup_cgroup(const struct wsup *ws)
{
	return ws->cgroup != NULL ? ws->cgroup : ws->job;
}

/* A name for a claimed file's cgroup, unique among the spool's: the
 * supervisor is born in it, before its job has an id. */
char *
wsup_cgroup_new_name(void)
{
	static unsigned long seq;
	unsigned char r[8];
	char hex[17];
	size_t k;

	if (getrandom(r, sizeof r, GRND_NONBLOCK) != sizeof r)
		/* cgroups do not outlive a boot: the monotonic clock, our
		 * pid and a count are unique enough among them */
		return xasprintf("claim-%llx-%lx-%lx",
		    (unsigned long long)loop_now(), (unsigned long)getpid(),
		    ++seq);
	for (k = 0; k < sizeof r; k++)
		snprintf(hex + 2 * k, 3, "%02x", r[k]);
	return xasprintf("claim-%s", hex);
}

