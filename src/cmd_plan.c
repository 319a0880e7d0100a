/* dagexec plan [-j N[,N...]] [--history DIR] [--svg FILE] [--json]
 * [--retry BUNDLE] MANIFEST: predict a run's makespan without running
 * anything (the simulation is plan.c's). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "cmd.h"
#include "diag.h"
#include "history.h"
#include "loop.h"
#include "manifest.h"
#include "plan.h"
#include "state.h"
#include "timeline.h"
#include "units.h"
#include "xmalloc.h"

#define PLAN_MAX_JOBS	64		/* -j values in one call */
#define PLAN_STATE_MAX	((size_t)1 << 30)	/* bytes of a state.yaml */

struct plan_opts {
	int		 jobs[PLAN_MAX_JOBS];
	size_t		 njobs;
	size_t		 head;		/* the -j value detailed */
	const char	*history;	/* --history DIR, or NULL: the default */
	const char	*svg;
	const char	*retry;
	int		 json;
	const char	*file;
};

static void
plan_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec plan [-j N[,N...]] [--history DIR] "
	    "[--svg FILE] [--json]\n"
	    "                    [--retry BUNDLE] MANIFEST\n\n"
	    "Predict how long a run of MANIFEST takes, without running "
	    "anything: the\nscheduler of `run` on a simulated clock, each node "
	    "lasting its estimate, else\nits learned duration, else 1s "
	    "(counted as unknown).\n\n"
	    "  -j, --jobs N[,N...]  the -j values to predict for (capped by "
	    "max_parallel);\n"
	    "                       the first is the one detailed (default: "
	    "max_parallel,\n"
	    "                       else the CPUs, and a what-if set)\n"
	    "      --history DIR    learned durations from DIR/NAME (default:\n"
	    "                       $XDG_STATE_HOME/dagexec/history)\n"
	    "      --svg FILE       write the predicted timeline of the "
	    "first -j to FILE\n"
	    "      --json           print a JSON array, one object per -j "
	    "value\n"
	    "      --retry BUNDLE   nodes a retry of BUNDLE (or a kept job "
	    "directory)\n"
	    "                       would reuse take no time\n\n"
	    "exit status: 0 predicted, 64 usage, 65 invalid manifest or not "
	    "a bundle,\n66 unreadable manifest or bundle, 73 cannot write "
	    "the SVG\n");
}

/* "4" or "1,2,4,8" into o->jobs. Returns 0 or -1 (message printed). */
static int
plan_parse_jobs(struct plan_opts *o, const char *arg)
{
	const char	*p = arg;
	char		*end;
	long		 v;

	o->njobs = 0;
	for (;;) {
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno != 0 || end == p || (*end != ',' && *end != '\0') ||
		    v < 1 || v > 1000000 || o->njobs == PLAN_MAX_JOBS) {
			fprintf(stderr, "dagexec: plan: -j takes numbers from 1 "
			    "to 1000000, at most %d, separated by commas, not "
			    "'%s'\n", PLAN_MAX_JOBS, arg);
			return -1;
		}
		o->jobs[o->njobs++] = (int)v;
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
}

/* Without -j: a what-if set, in increasing order: powers of two below
 * max_parallel and max_parallel itself; or, when the manifest sets none,
 * 1, 2, 4, 8 and the CPUs. The one detailed is what a plain `run` would
 * take here (max_parallel, else the CPUs). */
static void
plan_default_jobs(struct plan_opts *o, const struct manifest *m)
{
	long	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int	p0 = m->max_parallel > 0 ? m->max_parallel :
		    (ncpu > 0 && ncpu <= 1000000 ? (int)ncpu : 1);
	int	v, top = m->max_parallel > 0 ? p0 : 8;

	o->njobs = 0;
	for (v = 1; v < p0 && v <= top; v *= 2)
		o->jobs[o->njobs++] = v;
	o->jobs[o->njobs++] = p0;
	for (v = 1; v <= top; v *= 2)
		if (v > p0)
			o->jobs[o->njobs++] = v;
	for (o->head = 0; o->jobs[o->head] != p0; o->head++)
		;
}

/* The learned durations (a new array): a history that cannot be read, or
 * a --history directory that does not exist, is a warning. */
static int64_t *
plan_history(const struct plan_opts *o, const struct manifest *m)
{
	struct stat	 st;
	int64_t		*est;
	char		*dir = NULL, *cause = NULL;
	int		 err;

	est = xcalloc(m->nnodes + 1, sizeof *est);
	if (o->history != NULL) {
		err = stat(o->history, &st) != 0 ? errno :
		    !S_ISDIR(st.st_mode) ? ENOTDIR : 0;
		if (err != 0) {
			fprintf(stderr, "dagexec: plan: warning: cannot use "
			    "the history directory '%s': %s\n", o->history,
			    strerror(err));
			return est;
		}
		dir = xstrdup(o->history);
	} else if ((dir = history_user_dir(&cause)) == NULL) {
		free(cause);	/* no home: nothing learned */
		return est;
	}
	if (history_load_dir(dir, m, est, &cause) != 0) {
		fprintf(stderr, "dagexec: plan: warning: %s\n", cause);
		free(cause);
	}
	free(dir);
	return est;
}

/* The nodes a retry of path (a bundle or a kept job directory) reuses, into
 * reused. Returns 0, or an exit status (message printed). */
static int
plan_retry(const char *path, const struct manifest *m,
    unsigned char *reused)
{
	struct state_doc	*d = NULL;
	struct stat		 st;
	char			*job = NULL, *member, *buf = NULL, *cause = NULL;
	char			*sp;
	size_t			 len;
	int			 rc;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		sp = xasprintf("%s/state.yaml", path);
		rc = state_read(sp, &d, &cause);
		free(sp);
		if (rc != 0) {
			fprintf(stderr, "dagexec: plan: %s\n", cause);
			free(cause);
			return errno == ENOENT || errno == EACCES ?
			    EXIT_NOINPUT : EXIT_DATAERR;
		}
	} else {
		if (bundle_job(path, &job, &cause) != 0) {
			fprintf(stderr, "dagexec: plan: %s\n", cause);
			free(cause);
			return errno == EILSEQ ? EXIT_DATAERR : EXIT_NOINPUT;
		}
		member = xasprintf("%s/state.yaml", job);
		rc = bundle_read_member(path, member, PLAN_STATE_MAX, &buf,
		    &len, &cause);
		free(member);
		free(job);
		if (rc == 0)
			rc = state_read_buf(path, buf, len, &d, &cause);
		free(buf);
		if (rc != 0) {
			fprintf(stderr, "dagexec: plan: '%s' is not a dagexec "
			    "bundle: %s\n", path, cause);
			free(cause);
			return EXIT_DATAERR;
		}
	}
	(void)plan_reusable(m, d, reused);
	state_doc_free(d);
	return 0;
}

static const char *
plan_dur(int64_t ms, char *buf, size_t len)
{
	return units_format_duration(ms, buf, len);
}

/* The detailed prediction of p, then the what-if table over all. */
static void
plan_print_text(const struct manifest *m, struct plan *const *all,
    size_t n, const struct plan_opts *o, size_t nreused)
{
	static const char *const src_name[] = {
		[PLAN_ESTIMATE] = "estimate", [PLAN_HISTORY] = "history",
		[PLAN_UNKNOWN] = "unknown", [PLAN_REUSED] = "reused"
	};
	const struct plan	*p = all[o->head];
	const size_t		*crit;
	enum plan_source	 src;
	enum dag_status		 st;
	int64_t			 s, e, work;
	size_t			 i, k, nc;
	char			 b1[64], b2[64];

	printf("plan of '%s': %zu nodes, -j %d\n", m->name, m->nnodes,
	    o->jobs[o->head]);
	printf("predicted makespan: %s (%lld ms)\n",
	    plan_dur(plan_makespan(p), b1, sizeof b1),
	    (long long)plan_makespan(p));
	st = plan_status(p);
	if (st != DS_SUCCEEDED)
		printf("predicted status: %s (an estimate passes a timeout "
		    "or the deadline)\n", dag_status_name(st));
	crit = plan_critical(p, &nc);
	printf("critical path: %zu node%s\n", nc, nc == 1 ? "" : "s");
	if (nc > 0)
		printf("  %-24s %10s %10s  %s\n", "node", "start", "time",
		    "from");
	for (k = 0; k < nc; k++) {
		i = crit[k];
		(void)plan_node_times(p, i, &s, &e);
		(void)plan_node_duration(p, i, &src);
		printf("  %-24s %10s %10s  %s\n", m->nodes[i].id,
		    plan_dur(s, b1, sizeof b1), plan_dur(e - s, b2, sizeof b2),
		    src_name[src]);
	}
	printf("nodes without an estimate or a history: %zu of %zu "
	    "(1s each)\n", plan_unknown(p), m->nnodes);
	if (o->retry != NULL)
		printf("nodes reused by a retry: %zu of %zu\n", nreused,
		    m->nnodes);
	printf("\nwhat if:\n  %8s %8s  %-14s %14s %8s\n", "-j",
	    "slots", "makespan", "makespan_ms", "speedup");
	for (k = 0; k < n; k++) {
		e = plan_makespan(all[k]);
		work = plan_busy(all[k]);
		printf("  %8d %8d  %-14s %14lld %7.2fx\n", o->jobs[k],
		    plan_parallelism(all[k]), plan_dur(e, b1, sizeof b1),
		    (long long)e, e > 0 ? (double)work / (double)e : 1.0);
	}
}

/* One object per -j value, as interface §8 gives them. */
static void
plan_print_json(const struct manifest *m, struct plan *const *all,
    size_t n, const struct plan_opts *o)
{
	json_t		*arr, *obj, *cp, *nodes;
	const size_t	*crit;
	int64_t		 s, e;
	size_t		 i, k, nc;

	arr = json_array();
	for (k = 0; k < n; k++) {
		obj = json_object();
		json_object_set_new(obj, "parallelism",
		    json_integer(o->jobs[k]));
		json_object_set_new(obj, "makespan_ms",
		    json_integer(plan_makespan(all[k])));
		cp = json_array();
		crit = plan_critical(all[k], &nc);
		for (i = 0; i < nc; i++)
			json_array_append_new(cp,
			    json_string(m->nodes[crit[i]].id));
		json_object_set_new(obj, "critical_path", cp);
		json_object_set_new(obj, "unknown_estimates",
		    json_integer((json_int_t)plan_unknown(all[k])));
		nodes = json_object();
		for (i = 0; i < m->nnodes; i++) {
			if (plan_node_times(all[k], i, &s, &e))
				json_object_set_new(nodes, m->nodes[i].id,
				    json_pack("{sIsI}", "start_ms",
				    (json_int_t)s, "end_ms", (json_int_t)e));
			else
				json_object_set_new(nodes, m->nodes[i].id,
				    json_pack("{snsn}", "start_ms", "end_ms"));
		}
		json_object_set_new(obj, "nodes", nodes);
		json_array_append_new(arr, obj);
	}
	json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(arr);
}

/* The predicted timeline of p, by the renderer a run's bundle uses. */
static int
plan_svg(const char *path, const struct manifest *m, const struct plan *p,
    int jobs)
{
	struct state_job	 sj;
	const struct node_run	**runs;
	char			*label, *cause = NULL;
	int			 rc;

	memset(&sj, 0, sizeof sj);
	label = xasprintf("predicted by dagexec plan -j %d", jobs);
	sj.job = label;
	sj.status = plan_status(p);
	sj.mono_base_ms = 0;
	sj.wall_base_ms = loop_wallclock();
	sj.started_ms = 0;
	sj.finished_ms = plan_makespan(p);
	runs = sched_runs(plan_sched(p));
	rc = timeline_write(path, m, runs, &sj, &cause);
	free(runs);
	free(label);
	if (rc != 0) {
		fprintf(stderr, "dagexec: plan: %s\n", cause);
		free(cause);
		return EXIT_CANTCREAT;
	}
	return 0;
}

/* Options into o. Returns -1 to go on, else an exit status. */
static int
plan_options(int argc, char **argv, struct plan_opts *o)
{
	static const struct option opts[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "history", required_argument, NULL, 'H' },
		{ "svg", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'J' },
		{ "retry", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	c;

	memset(o, 0, sizeof *o);
	while ((c = getopt_long(argc, argv, "+j:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if (plan_parse_jobs(o, optarg) != 0)
				return EXIT_USAGE;
			break;
		case 'H':
			o->history = optarg;
			break;
		case 'S':
			o->svg = optarg;
			break;
		case 'J':
			o->json = 1;
			break;
		case 'R':
			o->retry = optarg;
			break;
		case 'h':
			plan_usage(stdout);
			return 0;
		default:
			plan_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		plan_usage(stderr);
		return EXIT_USAGE;
	}
	o->file = argv[optind];
	return -1;
}

int
cmd_plan(int argc, char **argv)
{
	struct plan_opts	 o;
	struct manifest		*m = NULL;
	struct plan		**all = NULL;
	struct diags		 d;
	unsigned char		*reused = NULL;
	int64_t			*est = NULL;
	char			*cause = NULL;
	size_t			 k, nreused = 0;
	int			 ret, rc;

	if ((ret = plan_options(argc, argv, &o)) >= 0)
		return ret;
	diags_init(&d);
	rc = manifest_load(o.file, &m, &d, &cause);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "dagexec: %s\n", cause);
		else
			diags_print(stderr, o.file, &d);
		free(cause);
		diags_release(&d);
		return rc < 0 ? EXIT_NOINPUT : EXIT_DATAERR;
	}
	diags_release(&d);
	if (o.njobs == 0)
		plan_default_jobs(&o, m);
	reused = xcalloc(m->nnodes + 1, 1);
	if (o.retry != NULL) {
		if ((ret = plan_retry(o.retry, m, reused)) != 0)
			goto out;
		for (k = 0; k < m->nnodes; k++)
			nreused += reused[k] != 0;
	}
	est = plan_history(&o, m);
	all = xcalloc(o.njobs, sizeof *all);
	for (k = 0; k < o.njobs; k++) {
		all[k] = plan_new(m, plan_cap(m, o.jobs[k]), est, reused,
		    &cause);
		if (all[k] == NULL) {
			fprintf(stderr, "dagexec: plan: %s\n", cause);
			free(cause);
			ret = EXIT_SOFTWARE;
			goto out;
		}
	}
	if (o.svg != NULL && (ret = plan_svg(o.svg, m, all[o.head],
	    o.jobs[o.head])) != 0)
		goto out;
	if (o.json)
		plan_print_json(m, all, o.njobs, &o);
	else
		plan_print_text(m, all, o.njobs, &o, nreused);
	ret = 0;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("dagexec: plan: stdout");
		ret = EXIT_IOERR;
	}
out:
	for (k = 0; all != NULL && k < o.njobs; k++)
		plan_free(all[k]);
	free(all);
	free(est);
	free(reused);
	manifest_free(m);
	return ret;
}
