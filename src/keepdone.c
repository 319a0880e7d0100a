/* Retention of done/: list the bundles, sort them newest first, remove
 * what is beyond the count or older than the age. Runs as root in root's
 * own done/, so removing by name there is safe. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keepdone.h"
#include "log.h"
#include "units.h"
#include "xmalloc.h"

struct bundle_ent {
	char	*name;
	int64_t	 mtime_ms;
};

int
keepdone_parse(const char *s, struct keepdone *k, const char **why)
{
	char *end;
	unsigned long long n;

	memset(k, 0, sizeof *k);
	if (*s >= '0' && *s <= '9' && s[strspn(s, "0123456789")] == '\0') {
		errno = 0;
		n = strtoull(s, &end, 10);
		if (errno != 0 || n < 1 || n > 100000000) {
			*why = "a count from 1 to 100000000";
			return -1;
		}
		k->count = (size_t)n;
		return 0;
	}
	if (units_parse_duration(s, &k->max_age_ms, why) != 0)
		return -1;
	if (k->max_age_ms <= 0) {
		*why = "a duration longer than 0";
		return -1;
	}
	return 0;
}

static bool
is_bundle(const char *name)
{
	static const char *const exts[] = { ".tar.gz", ".tar.zst" };
	size_t n = strlen(name), i, k;

	if (name[0] == '.' || strstr(name, ".tmp.") != NULL)
		return false;
	for (i = 0; i < sizeof exts / sizeof exts[0]; i++) {
		k = strlen(exts[i]);
		if (n > k && strcmp(name + n - k, exts[i]) == 0)
			return true;
	}
	return false;
}

/* Newest first; the same time by name, so that the order is stable. */
static int
ent_cmp(const void *a, const void *b)
{
	const struct bundle_ent *x = a, *y = b;

	if (x->mtime_ms != y->mtime_ms)
		return x->mtime_ms > y->mtime_ms ? -1 : 1;
	return strcmp(y->name, x->name);
}

/* The bundles of done/, newest first: *n entries in a new array. */
static struct bundle_ent *
list_bundles(int donefd, size_t *np)
{
	struct bundle_ent *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	struct stat st;
	DIR *d;
	int fd;

	*np = 0;
	if ((fd = dup(donefd)) < 0)
		return NULL;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return NULL;
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		if (!is_bundle(e->d_name) || fstatat(donefd, e->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
			continue;
		xgrow(&v, &cap, n + 1, sizeof *v);
		v[n].name = xstrdup(e->d_name);
		v[n].mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 +
		    st.st_mtim.tv_nsec / 1000000;
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof *v, ent_cmp);
	*np = n;
	return v;
}

int
keepdone_prune(int donefd, const struct keepdone *k, int64_t now_ms,
    char **cause)
{
	struct bundle_ent *v;
	char age[32], *e;
	size_t n, i;
	int removed = 0;
	bool old, over;

	*cause = NULL;
	v = list_bundles(donefd, &n);
	for (i = 0; i < n; i++) {
		over = k->count > 0 && i >= k->count;
		old = k->max_age_ms > 0 && now_ms - v[i].mtime_ms >
		    k->max_age_ms;
		if (over || old) {
			e = log_escape(v[i].name, strlen(v[i].name));
			if (unlinkat(donefd, v[i].name, 0) == 0) {
				removed++;
				if (over)
					log_event(LOG_INFO, NULL, NULL,
					    "keep-done", "removed 'done/%s': "
					    "beyond the newest %zu", e,
					    k->count);
				else
					log_event(LOG_INFO, NULL, NULL,
					    "keep-done", "removed 'done/%s': "
					    "older than %s", e,
					    units_format_duration(
					    k->max_age_ms, age, sizeof age));
			} else if (errno != ENOENT && *cause == NULL)
				*cause = xasprintf("cannot remove 'done/%s': "
				    "%s", e, strerror(errno));
			free(e);
		}
		free(v[i].name);
	}
	free(v);
	return *cause != NULL ? -1 : removed;
}
