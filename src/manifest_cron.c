/* The keys of a recurring manifest (interface §11): cron, timezone,
 * overlap, catch_up. They are read wherever a manifest is, so that
 * `validate` and `submit` catch a bad expression or an unknown zone; only
 * SPOOL/schedules/ acts on them. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "manifest_int.h"
#include "xmalloc.h"

static const char *const cron_key_names[CRONK__N] = { "cron", "timezone",
	"overlap", "catch_up" };
static const char *const overlap_names[] = { "skip", "queue", "all", NULL };

/* cron: the expression, its error at the column of what is wrong. */
static void
parse_expr(struct ctx *c, const struct ynode *v, struct cron_spec *cs)
{
	struct cron cr;
	const char *s;
	char *cause = NULL;
	size_t col;

	if (get_str(c, "cron", v, &s) != 1)
		return;
	if (cron_parse(s, &cr, &col, &cause) != 0) {
		/* a quoted scalar starts one column before its text; one
		 * on several lines is pointed at as a whole */
		if (strchr(s, '\n') != NULL || (size_t)v->col + col > 100000)
			col = 0;
		else if (!v->plain)
			col++;
		ctx_err(c, v->line, v->col + (int)col, "bad 'cron' expression "
		    "'%s': %s", s, cause);
		free(cause);
		return;
	}
	cs->expr = cron_canonical(s);
}

void
parse_cron_keys(struct ctx *c, struct ynode *const *keys,
    struct ynode *const *vals)
{
	struct cron_spec *cs;
	const char *s;
	char *cause = NULL;
	int64_t ms;
	int i, e;

	if (keys[CRONK_CRON] == NULL) {
		for (i = 1; i < CRONK__N; i++)
			if (keys[i] != NULL)
				yerr(c, keys[i], "'%s' needs 'cron' (it is a "
				    "key of a recurring manifest)",
				    cron_key_names[i]);
		return;
	}
	cs = xcalloc(1, sizeof *cs);
	parse_expr(c, vals[CRONK_CRON], cs);
	if (keys[CRONK_TIMEZONE] != NULL &&
	    get_str(c, "timezone", vals[CRONK_TIMEZONE], &s) == 1) {
		if (cron_zone_path(s, NULL, &cause) != 0) {
			yerr(c, vals[CRONK_TIMEZONE], "%s", cause);
			free(cause);
		} else
			cs->timezone = xstrdup(s);
	}
	if (keys[CRONK_OVERLAP] != NULL && get_enum(c, "overlap",
	    vals[CRONK_OVERLAP], overlap_names, &e) == 1)
		cs->overlap = (enum overlap)e;
	if (keys[CRONK_CATCH_UP] != NULL && get_duration(c, "catch_up",
	    vals[CRONK_CATCH_UP], &ms) == 1)
		cs->catch_up_ms = ms;
	if (cs->expr == NULL) {
		free(cs->timezone);
		free(cs);
		return;
	}
	c->m->cron = cs;
}

bool
cron_misplaced(struct ctx *c, const struct ynode *v)
{
	struct cron cr;
	char *cause = NULL;
	size_t col;

	if (v->type != Y_SCALAR || (strchr(v->u.s, ' ') == NULL &&
	    v->u.s[0] != '@'))
		return false;
	if (cron_parse(v->u.s, &cr, &col, &cause) != 0) {
		free(cause);
		return false;
	}
	yerr(c, v, "'schedule' orders the nodes (critical-path or waves): a "
	    "cron expression such as '%s' goes under 'cron'", v->u.s);
	return true;
}
