#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "manifest.h"
#include "manifest_int.h"
#include "strbuf.h"
#include "strmap.h"
#include "units.h"
#include "xmalloc.h"

/* One node's keys, checked, and the defaults merged into them. */

/* ------------------------------------------------------------------------ */
/* Nodes. */

enum nkey {
	NK_RUN, NK_ARGV, NK_HTTP, NK_NEEDS, NK_ENV, NK_OUTPUTS, NK_RETRIES,
	NK_RETRY_DELAY, NK_BACKOFF, NK_MAX_RETRY_DELAY, NK_TIMEOUT,
	NK_LIMITS, NK_LOG_LIMIT, NK_RETRY_ON, NK_WHEN, NK_ALLOW_FAILURE,
	NK_POOL, NK_PRIORITY, NK_ESTIMATE, NK_EXECUTOR, NK_SLURM, NK_CACHE,
	NK_SANDBOX, NK_FOREACH,
	NK_JITTER, NK_SECRETS, NK_BUDGET,
	NK__COUNT
};

const char *const node_keys[] = {
	"run", "argv", "http", "needs", "env", "outputs", "retries",
	"retry_delay", "backoff", "max_retry_delay", "timeout", "limits",
	"log_limit", "retry_on", "when", "allow_failure", "pool", "priority",
	"estimate", "executor", "slurm", "cache", "sandbox", "foreach",
	"jitter", "secrets", "budget", NULL
};

static const char *const backoff_names[] = { "exponential", "fixed", NULL };
static const char *const when_names[] = { "success", "always", "failure",
	NULL };
static const char *const executor_names[] = { "local", "slurm", NULL };
static const char *const limit_names[] = { "cpu", "memory", "fsize",
	"nofile", "nproc", "core", "pids", "cpus", "best_effort", NULL };
static const char *const slurm_keys[] = { "partition", "account", "qos",
	"gres", "cpus", "mem", "time", "extra", NULL };
static const char *const cache_keys[] = { "inputs", "env", "max_age", NULL };
static const char *const sandbox_keys[] = { "profile", "read", "write",
	"connect", "bind", "best_effort", NULL };
static const char *const sandbox_forms[] = { "strict", "none", NULL };
static const char *const sandbox_profiles[] = { "strict", NULL };

void
node_init(struct node *n)
{
	memset(n, 0, sizeof *n);
	n->retry_delay_ms = 1000;
	n->backoff = BACKOFF_EXPONENTIAL;
	n->max_retry_delay_ms = 300000;
	n->log_limit = 10 << 20;
	n->retry_on = RETRY_ON_DEFAULT;
	n->when = WHEN_SUCCESS;
	n->pool_index = -1;
	n->estimate_ms = -1;
	n->executor = EXECUTOR_LOCAL;
}

static const struct slurm_spec slurm_none;
static const struct cache_spec cache_none;

const struct slurm_spec *
node_slurm(const struct node *n)
{
	return n->slurm != NULL ? n->slurm : &slurm_none;
}

const struct cache_spec *
node_cache(const struct node *n)
{
	return n->cache != NULL ? n->cache : &cache_none;
}

static const struct node_extra extra_none;

const struct node_extra *
node_extra(const struct node *n)
{
	return n->extra != NULL ? n->extra : &extra_none;
}

bool
node_limit_set(const struct node *n, enum limit_kind k)
{
	return n->limits != NULL && (n->limits->set & (1u << k)) != 0;
}

int64_t
node_limit(const struct node *n, enum limit_kind k)
{
	return node_limit_set(n, k) ? n->limits->v[k] : 0;
}

void
node_limit_put(struct node *n, enum limit_kind k, int64_t v)
{
	struct node_limits *l = n->limits;

	if (l == NULL || l->refs > 1) {
		l = xcalloc(1, sizeof *l);
		if (n->limits != NULL) {
			*l = *n->limits;
			n->limits->refs--;
		}
		l->refs = 1;
		n->limits = l;
	}
	l->v[k] = v;
	l->set |= 1u << k;
}

/* Let go of n's limits, freed with the last node that had them. */
static void
node_limits_drop(struct node *n)
{
	if (n->limits != NULL && --n->limits->refs == 0)
		free(n->limits);
	n->limits = NULL;
}

struct node_extra *
node_extra_own(struct node *n)
{
	if (n->extra == NULL)
		n->extra = xcalloc(1, sizeof *n->extra);
	return n->extra;
}

static void
node_extra_free(struct node_extra *x)
{
	if (x == NULL)
		return;
	free(x->group);
	kvlist_free(&x->item);
	foreach_spec_free(x->foreach);
	strv_free(x->need_groups, x->nneed_groups);
	free(x->item_from);
	free(x->item_key);
	free(x->retry_exits);
	kvlist_free(&x->secrets);
	budget_free(x->budget, x->nbudget);
	free(x);
}

static void
slurm_release(struct slurm_spec *s)
{
	if (s == NULL)
		return;
	free(s->partition);
	free(s->account);
	free(s->qos);
	free(s->gres);
	strv_free(s->extra, s->nextra);
	memset(s, 0, sizeof *s);
}

static void
sandbox_free(struct sandbox_spec *s)
{
	if (s == NULL)
		return;
	strv_free(s->read, s->nread);
	strv_free(s->write, s->nwrite);
	free(s->connect);
	free(s->bind);
	free(s);
}

void
manifest_node_release(struct node *n)
{
	free(n->id);
	free(n->run);
	strv_free(n->argv, n->argc);
	node_http_free(n->http);
	free(n->needs);
	kvlist_free(&n->env);
	strv_free(n->outputs, n->noutputs);
	free(n->pool);
	slurm_release(n->slurm);
	free(n->slurm);
	n->slurm = NULL;
	if (n->cache != NULL) {
		strv_free(n->cache->inputs, n->cache->ninputs);
		strv_free(n->cache->env, n->cache->nenv);
		free(n->cache);
		n->cache = NULL;
	}
	sandbox_free(n->sandbox);
	node_extra_free(n->extra);
	n->extra = NULL;
	node_limits_drop(n);
}

static int
get_cpus(struct ctx *c, const struct ynode *v, int64_t *out)
{
	double x;

	if (is_null(v))
		return 0;
	if (!is_numlike(v)) {
		yerr(c, v, "'cpus' must be a number of CPUs (such as 1.5), "
		    "not %s", ydesc(v));
		return -1;
	}
	x = strtod(v->u.s, NULL);
	if (!isfinite(x) || x < 0.01 || x > 4096) {
		yerr(c, v, "'cpus' must be between 0.01 and 4096");
		return -1;
	}
	*out = (int64_t)(x * 1000 + 0.5);
	return 1;
}

static void
parse_limits(struct ctx *c, const struct ynode *v, struct node *n)
{
	struct mapit it;
	struct ynode *k, *val;
	int idx;
	int64_t x;
	bool b;

	if (want_map(c, "limits", v) != 1)
		return;
	mapit_init(&it, v);
	while (map_next(c, &it, &k, &val)) {
		idx = key_index(k->u.s, limit_names);
		x = 0;
		switch (idx) {
		case LIMIT_CPU:
			if (get_duration(c, "cpu", val, &x) != 1)
				continue;
			if (x < 1000) {
				yerr(c, val, "'cpu' must be at least 1s");
				continue;
			}
			break;
		case LIMIT_MEMORY:
		case LIMIT_FSIZE:
			if (get_size(c, limit_names[idx], val, 1, &x) != 1)
				continue;
			break;
		case LIMIT_CORE:
			if (get_size(c, limit_names[idx], val, 0, &x) != 1)
				continue;
			break;
		case LIMIT_NOFILE:
		case LIMIT_NPROC:
			if (get_int(c, limit_names[idx], val, 1, INT32_MAX,
			    &x) != 1)
				continue;
			break;
		case LIMIT_PIDS:
			if (get_int(c, "pids", val, 1, INT32_MAX, &x) != 1)
				continue;
			break;
		case LIMIT_CPUS:
			if (get_cpus(c, val, &x) != 1)
				continue;
			break;
		case LIMIT_BEST_EFFORT:
			if (get_bool(c, "best_effort", val, &b) != 1)
				continue;
			x = b;
			break;
		default:
			unknown_key(c, k, "limit", limit_names, LIMIT__COUNT);
			continue;
		}
		node_limit_put(n, idx, x);
	}
}

static void
parse_slurm(struct ctx *c, const struct ynode *v, struct node *n)
{
	struct slurm_spec *s;
	struct mapit it;
	struct ynode *k, *val;
	int64_t x;

	if (want_map(c, "slurm", v) != 1)
		return;
	if (n->slurm == NULL)
		n->slurm = xcalloc(1, sizeof *n->slurm);
	s = n->slurm;
	slurm_release(s);
	mapit_init(&it, v);
	while (map_next(c, &it, &k, &val)) {
		switch (key_index(k->u.s, slurm_keys)) {
		case 0:
			get_nestr(c, "partition", val, &s->partition);
			break;
		case 1:
			get_nestr(c, "account", val, &s->account);
			break;
		case 2:
			get_nestr(c, "qos", val, &s->qos);
			break;
		case 3:
			get_nestr(c, "gres", val, &s->gres);
			break;
		case 4:
			get_intv(c, "cpus", val, 1, 4096, &s->cpus);
			break;
		case 5:
			get_size(c, "mem", val, 1, &s->mem);
			break;
		case 6:
			if (get_duration(c, "time", val, &x) == 1) {
				if (x <= 0)
					yerr(c, val, "'time' must be greater "
					    "than 0");
				else
					s->time_ms = x;
			}
			break;
		case 7:
			get_strlist(c, "extra", val, false, false, false,
			    &s->extra, &s->nextra);
			break;
		default:
			unknown_key(c, k, "slurm key", slurm_keys,
			    count_names(slurm_keys));
			break;
		}
	}
}

/* cache: true|false, or {inputs, env, max_age} (which turns it on). */
static void
parse_cache(struct ctx *c, const struct ynode *v, struct node *n)
{
	struct cache_spec *cs;
	struct mapit it;
	struct ynode *k, *val;
	size_t i;

	if (n->cache == NULL)
		n->cache = xcalloc(1, sizeof *n->cache);
	cs = n->cache;
	strv_free(cs->inputs, cs->ninputs);
	strv_free(cs->env, cs->nenv);
	memset(cs, 0, sizeof *cs);
	if (v->type != Y_MAP) {
		if (v->type != Y_SCALAR || !is_bool(v, &cs->enabled))
			yerr(c, v, "'cache' must be a boolean or a mapping, "
			    "not %s", ydesc(v));
		return;
	}
	cs->enabled = true;
	mapit_init(&it, v);
	while (map_next(c, &it, &k, &val)) {
		switch (key_index(k->u.s, cache_keys)) {
		case 0:
			(void)get_strlist(c, "cache.inputs", val, true, true,
			    false, &cs->inputs, &cs->ninputs);
			break;
		case 1:
			if (get_strlist(c, "cache.env", val, true, false,
			    false, &cs->env, &cs->nenv) != 1)
				break;
			for (i = 0; i < cs->nenv; i++)
				if (!valid_envname(cs->env[i]) ||
				    strncmp(cs->env[i], "DAGEXEC_", 8) == 0)
					yerr(c, val, "'cache.env' cannot name "
					    "'%s' (%s)", cs->env[i],
					    valid_envname(cs->env[i]) ?
					    "DAGEXEC_ names are dagexec's own" :
					    "not a variable name");
			break;
		case 2:
			if (get_duration(c, "cache.max_age", val,
			    &cs->max_age_ms) == 1 && cs->max_age_ms <= 0)
				yerr(c, val, "'cache.max_age' must be greater "
				    "than 0");
			break;
		default:
			unknown_key(c, k, "cache key", cache_keys,
			    count_names(cache_keys));
		}
	}
	mapit_release(&it);
}

/* secrets: NAME -> FILE. The file is read when an attempt starts, as the
 * job's owner: an absolute path, or ~/PATH under the owner's home. */
void
parse_secrets(struct ctx *c, const struct ynode *v, struct kvlist *l)
{
	struct mapit it;
	struct ynode *k, *val;
	const char *s;

	if (want_map(c, "secrets", v) != 1)
		return;
	kvlist_free(l);
	l->v = xcalloc(v->n / 2 + 1, sizeof *l->v);
	mapit_init(&it, v);
	while (map_next(c, &it, &k, &val)) {
		if (!valid_envname(k->u.s)) {
			yerr(c, k, "invalid secret name '%s' (it names an "
			    "environment variable: [A-Za-z_][A-Za-z0-9_]*)",
			    k->u.s);
			continue;
		}
		if (strncmp(k->u.s, "DAGEXEC_", 8) == 0) {
			yerr(c, k, "secret name '%s' is reserved (DAGEXEC_ "
			    "names are set by dagexec)", k->u.s);
			continue;
		}
		if (is_null(val)) {
			yerr(c, val, "secret '%s' must name a file, not null",
			    k->u.s);
			continue;
		}
		if (get_str(c, k->u.s, val, &s) != 1)
			continue;
		if (*s != '/' && strncmp(s, "~/", 2) != 0) {
			yerr(c, val, "secret '%s': the file must be an "
			    "absolute path or start with '~/', not '%s'",
			    k->u.s, s);
			continue;
		}
		if (strcmp(s, "~/") == 0 || s[strlen(s) - 1] == '/') {
			yerr(c, val, "secret '%s': '%s' names a directory, "
			    "not a file", k->u.s, s);
			continue;
		}
		l->v[l->n].key = xstrdup(k->u.s);
		l->v[l->n].value = xstrdup(s);
		l->n++;
	}
}

/* Add to l the entries of from whose names l does not have. */
static void
kvlist_merge(struct kvlist *l, const struct kvlist *from)
{
	size_t i, j, add = 0;

	if (from->n == 0)
		return;
	l->v = xreallocarray(l->v, l->n + from->n + 1, sizeof *l->v);
	for (i = 0; i < from->n; i++) {
		for (j = 0; j < l->n; j++)
			if (strcmp(l->v[j].key, from->v[i].key) == 0)
				break;
		if (j < l->n)
			continue;
		l->v[l->n + add].key = xstrdup(from->v[i].key);
		l->v[l->n + add].value = xstrdup(from->v[i].value);
		add++;
	}
	l->n += add;
}

void
node_finish(struct ctx *c, struct node *n)
{
	const struct kvlist *envs[2] = { &c->m->env, &n->env };
	const struct kvlist *sec;
	size_t i, j, e;

	if (c->m->secrets.n > 0)
		kvlist_merge(&node_extra_own(n)->secrets, &c->m->secrets);
	sec = &node_extra(n)->secrets;
	if (sec->n == 0)
		return;
	if (n->executor == EXECUTOR_SLURM && n->kind != NODE_HTTP) {
		ctx_err(c, n->pos.line, n->pos.col, "node '%s' runs on "
		    "slurm: secrets are refused there (the batch script "
		    "would hold them)%s", n->id, c->m->secrets.n > 0 ?
		    "; set the manifest's secrets on the nodes that use "
		    "them" : "");
		return;
	}
	for (i = 0; i < sec->n; i++)
		for (e = 0; e < 2; e++)
			for (j = 0; j < envs[e]->n; j++)
				if (strcmp(envs[e]->v[j].key,
				    sec->v[i].key) == 0)
					ctx_err(c, n->pos.line, n->pos.col,
					    "node '%s': '%s' is both in "
					    "%s'env' and in 'secrets'", n->id,
					    sec->v[i].key, e == 0 ?
					    "the manifest's " : "");
}

/* "exit:N" or "exit:N-M" (1 <= N <= M <= 255) into *r; false when s is
 * not of that form (an error is reported when it starts with "exit:"). */
static bool
parse_exit_range(struct ctx *c, const struct ynode *it, struct exit_range *r)
{
	const char *s = it->u.s + 5;
	char *end;
	long lo, hi;

	if (strncmp(it->u.s, "exit:", 5) != 0)
		return false;
	errno = 0;
	lo = *s >= '0' && *s <= '9' ? strtol(s, &end, 10) : -1;
	hi = lo;
	if (lo >= 0 && *end == '-') {
		s = end + 1;
		hi = *s >= '0' && *s <= '9' ? strtol(s, &end, 10) : -1;
	}
	if (lo < 0 || hi < 0 || *end != '\0' || errno != 0) {
		yerr(c, it, "invalid retry_on exit status '%s' (expected "
		    "exit:N or exit:N-M)", it->u.s);
		r->lo = -1;
		return true;
	}
	if (lo < 1 || hi > 255 || lo > hi) {
		yerr(c, it, "invalid retry_on exit status '%s' (N and M "
		    "between 1 and 255, N <= M)", it->u.s);
		r->lo = -1;
		return true;
	}
	r->lo = (int)lo;
	r->hi = (int)hi;
	return true;
}

/* retry_on: failure classes and exit statuses ("exit:75", "exit:100-113"). */
/* sandbox.read and sandbox.write: absolute paths (a string or a list). */
static void
parse_sandbox_paths(struct ctx *c, const char *key, const struct ynode *v,
    char ***vp, size_t *np)
{
	size_t i;

	if (get_strlist(c, key, v, true, false, false, vp, np) != 1)
		return;
	for (i = 0; i < *np; i++)
		if ((*vp)[i][0] != '/')
			yerr(c, v, "path '%s' in '%s' must be absolute",
			    (*vp)[i], key);
}

/* sandbox.connect and sandbox.bind: TCP ports from lo (a number or a
 * list); bind's 0 is a port the kernel picks. */
static void
parse_sandbox_ports(struct ctx *c, const char *key, const struct ynode *v,
    int lo, int **vp, size_t *np)
{
	const struct ynode *const *items = (const struct ynode *const *)&v;
	size_t i, cnt = 1;
	int64_t x;

	if (v->type != Y_SCALAR) {
		if (want_seq(c, key, v) != 1)
			return;
		items = (const struct ynode *const *)v->u.kids;
		cnt = v->n;
	}
	free(*vp);
	*vp = xcalloc(cnt + 1, sizeof **vp);
	*np = 0;
	for (i = 0; i < cnt; i++) {
		if (is_null(items[i]))
			yerr(c, items[i], "items of '%s' must be TCP ports, "
			    "not null", key);
		else if (get_int(c, key, items[i], lo, 65535, &x) == 1)
			(*vp)[(*np)++] = (int)x;
	}
}

/* sandbox: strict | none | {profile, read, write, connect, bind,
 * best_effort}; none (n->sandbox NULL) stands against a default. */
static void
parse_sandbox(struct ctx *c, const struct ynode *v, struct node *n)
{
	struct sandbox_spec *s;
	struct mapit it;
	struct ynode *k, *val;
	int e;

	sandbox_free(n->sandbox);
	n->sandbox = NULL;
	if (v->type != Y_MAP) {
		if (v->type != Y_SCALAR) {
			yerr(c, v, "'sandbox' must be 'strict', 'none' or a "
			    "mapping, not %s", ydesc(v));
			return;
		}
		if (get_enum(c, "sandbox", v, sandbox_forms, &e) == 1 &&
		    e == 0)
			n->sandbox = xcalloc(1, sizeof *n->sandbox);
		return;
	}
	s = n->sandbox = xcalloc(1, sizeof *n->sandbox);
	mapit_init(&it, v);
	while (map_next(c, &it, &k, &val)) {
		if (is_null(val))
			continue;
		switch (key_index(k->u.s, sandbox_keys)) {
		case 0:
			(void)get_enum(c, "sandbox.profile", val,
			    sandbox_profiles, &e);
			break;
		case 1:
			parse_sandbox_paths(c, "sandbox.read", val, &s->read,
			    &s->nread);
			break;
		case 2:
			parse_sandbox_paths(c, "sandbox.write", val, &s->write,
			    &s->nwrite);
			break;
		case 3:
			parse_sandbox_ports(c, "sandbox.connect", val, 1,
			    &s->connect, &s->nconnect);
			break;
		case 4:
			parse_sandbox_ports(c, "sandbox.bind", val, 0,
			    &s->bind, &s->nbind);
			break;
		case 5:
			(void)get_bool(c, "sandbox.best_effort", val,
			    &s->best_effort);
			break;
		default:
			unknown_key(c, k, "sandbox key", sandbox_keys,
			    count_names(sandbox_keys));
		}
	}
	mapit_release(&it);
}

/* Node n with its defaults merged (set: its own keys): a sandbox is
 * enforced here, never on Slurm's machines. */
void
check_node_merged(struct ctx *c, const struct node *n, uint32_t set)
{
	if (n->sandbox != NULL && n->kind != NODE_HTTP &&
	    n->executor == EXECUTOR_SLURM)
		ctx_err(c, n->pos.line, n->pos.col, "node '%s': 'sandbox'%s "
		    "cannot be enforced on 'executor: slurm' (Landlock "
		    "applies to processes started here)%s", n->id,
		    set & (1u << NK_SANDBOX) ? "" : " (from defaults)",
		    set & (1u << NK_SANDBOX) ? "" :
		    "; give the node 'sandbox: none'");
}

static void
parse_retry_on(struct ctx *c, const struct ynode *v, struct node *n)
{
	const struct ynode *it;
	struct exit_range *ranges;
	struct node_extra *x;
	unsigned mask = 0;
	size_t i, nr = 0;
	int r, bad = 0;

	if (want_seq(c, "retry_on", v) != 1)
		return;
	ranges = xcalloc(v->n + 1, sizeof *ranges);
	for (i = 0; i < v->n; i++) {
		it = v->u.kids[i];
		if (it->type == Y_SCALAR && parse_exit_range(c, it,
		    &ranges[nr])) {
			if (ranges[nr].lo < 0)
				bad = 1;
			else
				nr++;
			continue;
		}
		r = it->type == Y_SCALAR ? reason_parse(it->u.s) : -1;
		if (r < 0 || ((1u << r) & RETRYABLE_MASK) == 0) {
			if (it->type == Y_SCALAR)
				yerr(c, it, "invalid retry_on class '%s' "
				    "(expected exit, signal, timeout, "
				    "rlimit_cpu, rlimit_fsize, spawn_error, "
				    "output_missing, http_status, checksum, "
				    "lost, oom, or exit statuses as exit:N or "
				    "exit:N-M)", it->u.s);
			else
				yerr(c, it, "items of 'retry_on' must be "
				    "strings, not %s", ydesc(it));
			bad = 1;
			continue;
		}
		mask |= 1u << r;
	}
	if (bad) {
		free(ranges);
		return;
	}
	n->retry_on = mask;
	if (nr == 0) {
		free(ranges);
		if (n->extra != NULL) {
			free(n->extra->retry_exits);
			n->extra->retry_exits = NULL;
			n->extra->nretry_exits = 0;
		}
		return;
	}
	x = node_extra_own(n);
	free(x->retry_exits);
	x->retry_exits = ranges;
	x->nretry_exits = nr;
}

static void
parse_pool(struct ctx *c, const struct ynode *v, struct node *n)
{
	const char **names;
	const char *s, *sg;
	size_t idx, i;

	if (get_str(c, "pool", v, &s) != 1)
		return;
	if (c->pools == NULL || !strmap_get(c->pools, s, &idx)) {
		sg = NULL;
		if (c->m->npools > 0) {
			names = xcalloc(c->m->npools, sizeof *names);
			for (i = 0; i < c->m->npools; i++)
				names[i] = c->m->pools[i].name;
			sg = suggest(s, names, c->m->npools);
			free(names);
		}
		if (sg != NULL)
			yerr(c, v, "unknown pool '%s' (did you mean '%s'?)",
			    s, sg);
		else
			yerr(c, v, "unknown pool '%s'", s);
		return;
	}
	free(n->pool);
	n->pool = xstrdup(s);
	n->pool_index = (int)idx;
}

/* Resolve needs of node self (an index; SIZE_MAX in defaults). */
static void
parse_needs(struct ctx *c, const struct ynode *v, struct node *n, size_t self)
{
	const struct ynode *it;
	const struct ynode *one[1];
	const struct ynode *const *items;
	const char *sg;
	size_t i, cnt, idx;

	if (is_null(v))
		return;
	if (v->type == Y_SCALAR) {
		one[0] = v;
		items = one;
		cnt = 1;
	} else if (want_seq(c, "needs", v) == 1) {
		items = (const struct ynode *const *)v->u.kids;
		cnt = v->n;
	} else
		return;
	free(n->needs);
	n->needs = xcalloc(cnt + 1, sizeof *n->needs);
	n->nneeds = 0;
	for (i = 0; i < cnt && !c->stop; i++) {
		it = items[i];
		if (it->type != Y_SCALAR || is_null(it)) {
			yerr(c, it, "items of 'needs' must be node ids, not "
			    "%s", ydesc(it));
			continue;
		}
		if (!strmap_get(c->m->ids, it->u.s, &idx)) {
			if (foreach_need(c, it, it->u.s, self))
				continue;
			if ((sg = suggest_node(c, it->u.s, self)) != NULL)
				yerr(c, it, "node '%s' needs unknown node '%s' "
				    "(did you mean '%s'?)", n->id, it->u.s,
				    sg);
			else
				yerr(c, it, "node '%s' needs unknown node '%s'",
				    n->id, it->u.s);
			continue;
		}
		if (idx == self) {
			yerr(c, it, "node '%s' needs itself", n->id);
			continue;
		}
		if (c->mark[idx] == self + 1)
			continue;	/* a duplicate */
		c->mark[idx] = self + 1;
		n->needs[n->nneeds++] = idx;
	}
}

/* One key of a node; false when its value is not taken. */
static bool
parse_node_key(struct ctx *c, int idx, const struct ynode *k,
    const struct ynode *val, struct node *n, size_t self, int *nkinds)
{
	struct node_extra *xt;
	int64_t x;
	int e;

	switch (idx) {
	case NK_RUN:
	case NK_ARGV:
	case NK_HTTP:
		if (++*nkinds > 1) {
			yerr(c, k, "node '%s' has more than one of "
			    "'run', 'argv', 'http'", n->id);
			return false;
		}
		if (idx == NK_RUN) {
			n->kind = NODE_RUN;
			if (get_nestr(c, "run", val, &n->run) != 1)
				return false;
		} else if (idx == NK_ARGV) {
			n->kind = NODE_ARGV;
			if (get_strlist(c, "argv", val, false, false,
			    true, &n->argv, &n->argc) != 1)
				return false;
		} else {
			n->kind = NODE_HTTP;
			parse_http(c, val, n);
		}
		break;
	case NK_NEEDS:
		parse_needs(c, val, n, self);
		break;
	case NK_ENV:
		if (get_env(c, "env", val, &n->env) != 1)
			return false;
		break;
	case NK_OUTPUTS:
		if (get_strlist(c, "outputs", val, false, true, false,
		    &n->outputs, &n->noutputs) != 1)
			return false;
		break;
	case NK_RETRIES:
		if (get_intv(c, "retries", val, 0, 100,
		    &n->retries) != 1)
			return false;
		break;
	case NK_RETRY_DELAY:
		if (get_duration(c, "retry_delay", val,
		    &n->retry_delay_ms) != 1)
			return false;
		break;
	case NK_BACKOFF:
		if (get_enum(c, "backoff", val, backoff_names,
		    &e) != 1)
			return false;
		n->backoff = (enum backoff)e;
		break;
	case NK_MAX_RETRY_DELAY:
		if (get_duration(c, "max_retry_delay", val,
		    &n->max_retry_delay_ms) != 1)
			return false;
		break;
	case NK_TIMEOUT:
		if (get_duration(c, "timeout", val, &x) != 1)
			return false;
		if (x <= 0) {
			yerr(c, val, "'timeout' must be greater "
			    "than 0");
			return false;
		}
		n->timeout_ms = x;
		break;
	case NK_LIMITS:
		parse_limits(c, val, n);
		break;
	case NK_LOG_LIMIT:
		if (get_size(c, "log_limit", val, 1024,
		    &n->log_limit) != 1)
			return false;
		break;
	case NK_RETRY_ON:
		parse_retry_on(c, val, n);
		break;
	case NK_WHEN:
		if (get_enum(c, "when", val, when_names, &e) != 1)
			return false;
		n->when = (enum when)e;
		break;
	case NK_ALLOW_FAILURE:
		if (get_bool(c, "allow_failure", val,
		    &n->allow_failure) != 1)
			return false;
		break;
	case NK_POOL:
		parse_pool(c, val, n);
		break;
	case NK_PRIORITY:
		if (get_intv(c, "priority", val, -1000000, 1000000,
		    &n->priority) != 1)
			return false;
		break;
	case NK_ESTIMATE:
		if (get_duration(c, "estimate", val,
		    &n->estimate_ms) != 1)
			return false;
		break;
	case NK_EXECUTOR:
		if (get_enum(c, "executor", val, executor_names,
		    &e) != 1)
			return false;
		n->executor = (enum executor)e;
		break;
	case NK_SLURM:
		parse_slurm(c, val, n);
		break;
	case NK_CACHE:
		parse_cache(c, val, n);
		break;
	case NK_SANDBOX:
		parse_sandbox(c, val, n);
		break;
	case NK_FOREACH:
		parse_foreach(c, k, val, n, self);
		break;
	case NK_JITTER:
		if (get_bool(c, "jitter", val, &n->jitter) != 1)
			return false;
		break;
	case NK_SECRETS:
		parse_secrets(c, val, &node_extra_own(n)->secrets);
		break;
	case NK_BUDGET:
		xt = node_extra_own(n);
		parse_budget_map(c, "budget", val, &xt->budget, &xt->nbudget);
		break;
	}
	return true;
}

/* The keys of a node (or of defaults when self is SIZE_MAX); *set gets a bit
 * per key given. */
void
parse_node_keys(struct ctx *c, const struct ynode *map, struct node *n,
    size_t self, uint32_t *set)
{
	struct mapit it;
	struct ynode *k, *val;
	bool dflt = self == SIZE_MAX;
	int idx, nkinds = 0;

	*set = 0;
	mapit_init(&it, map);
	while (map_next(c, &it, &k, &val)) {
		idx = key_index(k->u.s, node_keys);
		if (idx < 0 && key_index(k->u.s, top_keys) >= 0 &&
		    suggest(k->u.s, node_keys, NK__COUNT) == NULL) {
			yerr(c, k, "unknown key '%s' (it belongs at the top "
			    "level)", k->u.s);
			continue;
		}
		if (idx < 0) {
			unknown_key(c, k, "key", node_keys, NK__COUNT);
			continue;
		}
		if (dflt && (idx <= NK_NEEDS || idx == NK_FOREACH)) {
			yerr(c, k, "'%s' cannot have a default", k->u.s);
			continue;
		}
		if (is_null(val) && idx != NK_ENV)
			continue;	/* unset */
		if (parse_node_key(c, idx, k, val, n, self, &nkinds))
			*set |= 1u << idx;
	}
	if (!dflt && nkinds == 0)
		ctx_err(c, n->pos.line, n->pos.col, "node '%s' has none of 'run', "
		    "'argv', 'http'", n->id);
	/* from defaults it does not apply: http nodes run here */
	if (!dflt && n->kind == NODE_HTTP && (*set & (1u << NK_EXECUTOR)) &&
	    n->executor == EXECUTOR_SLURM)
		ctx_err(c, n->pos.line, n->pos.col, "node '%s': an http node "
		    "runs locally, not on 'slurm'", n->id);
}

static char **
strv_copy(char **v, size_t n)
{
	char **out;
	size_t i;

	if (v == NULL)
		return NULL;
	out = xcalloc(n + 1, sizeof *out);
	for (i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static int *
int_copy(const int *v, size_t n)
{
	int *out;

	if (v == NULL)
		return NULL;
	out = xcalloc(n + 1, sizeof *out);
	if (n > 0)
		memcpy(out, v, n * sizeof *out);
	return out;
}

char *
str_copy(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

/* Deep copies of a node's Slurm options and cache settings (NULL: none). */
static struct slurm_spec *
slurm_copy(const struct slurm_spec *s)
{
	struct slurm_spec *c;

	if (s == NULL)
		return NULL;
	c = xmalloc(sizeof *c);
	*c = *s;
	c->partition = str_copy(s->partition);
	c->account = str_copy(s->account);
	c->qos = str_copy(s->qos);
	c->gres = str_copy(s->gres);
	c->extra = strv_copy(s->extra, s->nextra);
	return c;
}

static struct cache_spec *
cache_copy(const struct cache_spec *s)
{
	struct cache_spec *c;

	if (s == NULL)
		return NULL;
	c = xmalloc(sizeof *c);
	*c = *s;
	c->inputs = strv_copy(s->inputs, s->ninputs);
	c->env = strv_copy(s->env, s->nenv);
	return c;
}

/* A deep copy of s (NULL: none). */
static struct sandbox_spec *
sandbox_copy(const struct sandbox_spec *s)
{
	struct sandbox_spec *c;

	if (s == NULL)
		return NULL;
	c = xmalloc(sizeof *c);
	*c = *s;
	c->read = strv_copy(s->read, s->nread);
	c->write = strv_copy(s->write, s->nwrite);
	c->connect = int_copy(s->connect, s->nconnect);
	c->bind = int_copy(s->bind, s->nbind);
	return c;
}

/* Add the default budget items whose names node n does not cap. */
static void
budget_merge(struct node_extra *n, const struct node_extra *d)
{
	size_t i, j, add = 0;

	if (d->nbudget == 0)
		return;
	n->budget = xreallocarray(n->budget, n->nbudget + d->nbudget + 1,
	    sizeof *n->budget);
	for (i = 0; i < d->nbudget; i++) {
		for (j = 0; j < n->nbudget; j++)
			if (strcmp(n->budget[j].name, d->budget[i].name) == 0)
				break;
		if (j < n->nbudget)
			continue;
		n->budget[n->nbudget + add].name = xstrdup(d->budget[i].name);
		n->budget[n->nbudget + add].limit = d->budget[i].limit;
		add++;
	}
	n->nbudget += add;
}

/* Give dst (which has none) a copy of src's retry exit ranges. */
static void
exits_copy(struct node_extra *dst, const struct node_extra *src)
{
	dst->retry_exits = NULL;
	dst->nretry_exits = src->nretry_exits;
	if (src->nretry_exits == 0)
		return;
	dst->retry_exits = xcalloc(src->nretry_exits,
	    sizeof *dst->retry_exits);
	memcpy(dst->retry_exits, src->retry_exits,
	    src->nretry_exits * sizeof *dst->retry_exits);
}

/* A node's own copy of src's retry exit ranges, secrets and budget, none
 * of foreach's fields (an instance sets its own): NULL when src has none
 * of them. */
static struct node_extra *
node_extra_copy(const struct node_extra *src)
{
	struct node_extra *x;

	if (src == NULL || (src->nretry_exits == 0 && src->secrets.n == 0 &&
	    src->nbudget == 0))
		return NULL;
	x = xcalloc(1, sizeof *x);
	exits_copy(x, src);
	kvlist_merge(&x->secrets, &src->secrets);
	budget_merge(x, src);
	return x;
}

/* Apply defaults d (keys in dset) to node n (keys in nset). */
void
merge_defaults(struct ctx *c, struct node *n, uint32_t nset,
    const struct node *d, uint32_t dset)
{
	uint32_t only = dset & ~nset;

	(void)c;
	struct strmap *seen = NULL;
	size_t i, j, add;
	int k;

	if (dset == 0)
		return;
	if (dset & (1u << NK_ENV)) {
		/* The node's own keys win; a hash table where a linear
		 * search could cost more than a few comparisons. */
		if (n->env.n > 8) {
			seen = strmap_new(n->env.n);
			for (j = 0; j < n->env.n; j++)
				strmap_put(seen, n->env.v[j].key, j, NULL);
		}
		add = 0;
		n->env.v = xreallocarray(n->env.v, n->env.n + d->env.n + 1,
		    sizeof *n->env.v);
		for (i = 0; i < d->env.n; i++) {
			if (seen != NULL)
				j = strmap_get(seen, d->env.v[i].key, NULL) ?
				    0 : n->env.n;
			else {
				for (j = 0; j < n->env.n; j++)
					if (strcmp(n->env.v[j].key,
					    d->env.v[i].key) == 0)
						break;
			}
			if (j < n->env.n)
				continue;
			n->env.v[n->env.n + add].key = xstrdup(d->env.v[i].key);
			n->env.v[n->env.n + add].value =
			    xstrdup(d->env.v[i].value);
			add++;
		}
		n->env.n += add;
		strmap_free(seen);
	}
	if ((dset & (1u << NK_LIMITS)) && d->limits != NULL) {
		if (n->limits == NULL) {
			n->limits = d->limits;	/* shared, not copied */
			n->limits->refs++;
		} else
			for (k = 0; k < LIMIT__COUNT; k++)
				if (node_limit_set(d, k) &&
				    !node_limit_set(n, k))
					node_limit_put(n, k, node_limit(d, k));
	}
	if (only & (1u << NK_OUTPUTS)) {
		n->outputs = strv_copy(d->outputs, d->noutputs);
		n->noutputs = d->noutputs;
	}
	if (only & (1u << NK_RETRIES))
		n->retries = d->retries;
	if (only & (1u << NK_RETRY_DELAY))
		n->retry_delay_ms = d->retry_delay_ms;
	if (only & (1u << NK_BACKOFF))
		n->backoff = d->backoff;
	if (only & (1u << NK_MAX_RETRY_DELAY))
		n->max_retry_delay_ms = d->max_retry_delay_ms;
	if (only & (1u << NK_TIMEOUT))
		n->timeout_ms = d->timeout_ms;
	if (only & (1u << NK_LOG_LIMIT))
		n->log_limit = d->log_limit;
	if (only & (1u << NK_RETRY_ON)) {
		n->retry_on = d->retry_on;
		if (node_extra(d)->nretry_exits > 0)
			exits_copy(node_extra_own(n), d->extra);
	}
	if (only & (1u << NK_JITTER))
		n->jitter = d->jitter;
	if ((dset & (1u << NK_SECRETS)) && node_extra(d)->secrets.n > 0)
		kvlist_merge(&node_extra_own(n)->secrets, &d->extra->secrets);
	if ((dset & (1u << NK_BUDGET)) && node_extra(d)->nbudget > 0)
		budget_merge(node_extra_own(n), d->extra);
	if (only & (1u << NK_WHEN))
		n->when = d->when;
	if (only & (1u << NK_ALLOW_FAILURE))
		n->allow_failure = d->allow_failure;
	if (only & (1u << NK_POOL)) {
		n->pool = str_copy(d->pool);
		n->pool_index = d->pool_index;
	}
	if (only & (1u << NK_PRIORITY))
		n->priority = d->priority;
	if (only & (1u << NK_ESTIMATE))
		n->estimate_ms = d->estimate_ms;
	if (only & (1u << NK_EXECUTOR))
		n->executor = d->executor;
	if ((only & (1u << NK_CACHE)) && d->cache != NULL)
		n->cache = cache_copy(d->cache);
	if ((only & (1u << NK_SLURM)) && d->slurm != NULL)
		n->slurm = slurm_copy(d->slurm);
	if (only & (1u << NK_SANDBOX))
		n->sandbox = sandbox_copy(d->sandbox);
}

void
manifest_node_names_each(void (*fn)(void *, const char *, const char *),
    void *arg)
{
	names_each(fn, arg, "key node", node_keys);
	http_names_each(fn, arg);
	names_each(fn, arg, "key slurm", slurm_keys);
	names_each(fn, arg, "key cache", cache_keys);
	names_each(fn, arg, "key limits", limit_names);
	names_each(fn, arg, "key sandbox", sandbox_keys);
	names_each(fn, arg, "value backoff", backoff_names);
	names_each(fn, arg, "value when", when_names);
	names_each(fn, arg, "value executor", executor_names);
	names_each(fn, arg, "value sandbox", sandbox_forms);
	names_each(fn, arg, "value sandbox.profile", sandbox_profiles);
	foreach_names_each(fn, arg);
}

void
node_copy(struct node *dst, const struct node *src)
{
	size_t k;

	*dst = *src;
	dst->id = NULL;
	dst->needs = NULL;
	dst->nneeds = 0;
	dst->run = str_copy(src->run);
	dst->argv = strv_copy(src->argv, src->argc);
	dst->http = node_http_copy(src->http);
	dst->env.v = xcalloc(src->env.n + 1, sizeof *dst->env.v);
	for (k = 0; k < src->env.n; k++) {
		dst->env.v[k].key = xstrdup(src->env.v[k].key);
		dst->env.v[k].value = xstrdup(src->env.v[k].value);
	}
	dst->outputs = strv_copy(src->outputs, src->noutputs);
	dst->pool = str_copy(src->pool);
	/* an instance owns its settings: each is released once */
	dst->slurm = slurm_copy(src->slurm);
	dst->cache = cache_copy(src->cache);
	dst->sandbox = sandbox_copy(src->sandbox);
	dst->extra = node_extra_copy(src->extra);
	if (dst->limits != NULL)
		dst->limits->refs++;	/* shared: never written in place */
}
