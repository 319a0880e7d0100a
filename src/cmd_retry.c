/* dagexec retry [-j N] [-o DIR] [--from NODE]... [--manifest FILE] [--force]
 * BUNDLE|JOBDIR: run a finished job again as a new job, reusing what
 * succeeded (interface §8). */
#include "config.h"

#include <errno.h>
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
#include "nodedef.h"
#include "oldjob.h"
#include "retry.h"
#include "xmalloc.h"

static void
retry_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec retry [-j N] [-o DIR] [--from NODE]... "
	    "[--manifest FILE] [--force]\n"
	    "                     [--bundle-format gz|zst] [--keep] [-q] "
	    "[--cache DIR | --no-cache]\n"
	    "                     BUNDLE|JOBDIR\n\n"
	    "Run a finished job again as a new job: a node that succeeded is "
	    "reused (its\ndeclared outputs and values restored) when all it "
	    "needs is reused too; every\nother node runs.\n\n"
	    "  -f, --from NODE         run NODE and all its descendants again "
	    "(repeatable)\n"
	    "  -m, --manifest FILE     an edited manifest: changed nodes run "
	    "again with their\n"
	    "                          descendants\n"
	    "      --force             with --manifest: run nodes only it has, "
	    "drop nodes only\n"
	    "                          the earlier job had\n"
	    "  -j, --jobs N            run at most N nodes at once\n"
	    "  -o, --output DIR        where the job directory and the "
	    "bundle go\n"
	    "      --bundle-format F   gz (default) or zst\n"
	    "      --keep              keep the job directory DIR/JOB after "
	    "bundling\n"
	    "  -q, --quiet             no progress lines on stderr\n"
	    "      --cache DIR         the cache store (as run); the --from "
	    "nodes never\n"
	    "                          take their result from it\n"
	    "      --no-cache          neither look up nor store\n\n"
	    "exit status: 0 succeeded (or nothing left to run), 1 the DAG "
	    "failed, 64 usage\nor unknown node, 65 not a dagexec bundle, a "
	    "failed SHA256SUMS, an invalid\nmanifest or nodes in one manifest "
	    "only, 66 unreadable input, 73 cannot create\nthe bundle, "
	    "75 interrupted\n");
}

struct retry_ctx {
	struct oldjob	*old;
	const bool	*reuse;		/* per node of the new manifest */
};

/* Before the new job starts: its reused nodes end succeeded, with their
 * outputs, values and logs from the earlier job. */
static int
retry_prepare(struct job *j, void *arg, char **cause)
{
	struct retry_ctx *rc = arg;
	const struct manifest *m = job_manifest(j);
	const struct node *n;
	struct unrun u;
	char *logs, *c2 = NULL;
	size_t i;
	int r;

	logs = xasprintf("%s/nodes", job_dir(j));
	for (i = 0; i < m->nnodes; i++) {
		if (!rc->reuse[i])
			continue;
		n = &m->nodes[i];
		memset(&u, 0, sizeof u);
		u.kind = UNRUN_REUSED;
		u.from = oldjob_id(rc->old);
		(void)oldjob_node(rc->old, n->id, &u.values, &u.nvalues);
		u.outputs_fd = n->noutputs > 0 ?
		    oldjob_outputs_fd(rc->old, n->id) : -1;
		r = job_succeed_unrun(j, i, &u, cause);
		if (u.outputs_fd >= 0)
			close(u.outputs_fd);
		if (r != 0) {
			free(logs);
			return EXIT_IOERR;
		}
		/* its logs too, so that the new bundle shows what it did */
		if (oldjob_copy_logs(rc->old, n->id, logs, &c2) != 0) {
			fprintf(stderr, "dagexec: warning: %s\n", c2);
			free(c2);
			c2 = NULL;
		}
	}
	free(logs);
	return 0;
}

/* Parse a manifest's text (name for messages); 0, or EXIT_DATAERR with
 * its errors printed. */
static int
retry_parse(const char *name, const char *text, size_t len,
    struct manifest **m)
{
	struct diags d;
	int rc = 0;

	diags_init(&d);
	if (manifest_parse(name, text, len, m, &d) != 0) {
		diags_print(stderr, name, &d);
		rc = EXIT_DATAERR;
	}
	diags_release(&d);
	return rc;
}

/* A retry keeps to the nodes the earlier job had (all of its manifest's,
 * unless it was a run --target) and what they need: m cut down to them.
 * Returns true when m lost a node. */
static bool
retry_scope(struct manifest *m, const struct oldjob *old)
{
	bool *keep = xcalloc(m->nnodes + 1, sizeof *keep), all = true;
	size_t i;

	for (i = 0; i < m->nnodes; i++)
		if (!(keep[i] = oldjob_has_node(old, m->nodes[i].id)))
			all = false;
	if (all) {
		free(keep);
		return false;
	}
	(void)retry_needed(&m->graph, keep);
	manifest_keep(m, keep);
	free(keep);
	return true;
}

/* Which nodes must run again whatever their earlier end: --from and, with
 * an edited manifest, the changed ones. 0, or an exit status. */
static int
retry_forced(const struct manifest *old, const struct manifest *m,
    const char *file, bool force, char **from, size_t nfrom, bool *forced)
{
	char *only_old = NULL, *only_new = NULL;
	size_t k;
	long i;

	if (file != NULL && nodedef_diff(old, m, forced, &only_old,
	    &only_new) > 0 && !force) {
		if (only_old != NULL)
			fprintf(stderr, "dagexec: retry: only in the earlier "
			    "job's manifest: %s\n", only_old);
		if (only_new != NULL)
			fprintf(stderr, "dagexec: retry: only in '%s': %s\n",
			    file, only_new);
		fprintf(stderr, "dagexec: retry: the manifests do not have "
		    "the same nodes (--force runs the new ones and drops the "
		    "others)\n");
		free(only_old);
		free(only_new);
		return EXIT_DATAERR;
	}
	free(only_old);
	free(only_new);
	for (k = 0; k < nfrom; k++) {
		if ((i = manifest_find(m, from[k])) < 0) {
			fprintf(stderr, "dagexec: retry: unknown node '%s' in "
			    "--from\n", from[k]);
			return EXIT_USAGE;
		}
		forced[i] = true;
	}
	return 0;
}

/* Read the edited manifest file (or the earlier job's, when file is NULL)
 * into *text, *len and *m. 0, or an exit status. */
static int
retry_manifest(const struct oldjob *old, const char *file, char **text,
    size_t *len, struct manifest **m)
{
	const char *t;
	char *cause = NULL, *name;
	int rc;

	if (file == NULL) {
		t = oldjob_manifest(old, len);
		*text = xmalloc(*len + 1);
		memcpy(*text, t, *len);
		(*text)[*len] = '\0';
		name = xasprintf("%s/manifest.yaml", oldjob_id(old));
		rc = retry_parse(name, *text, *len, m);
		free(name);
		return rc;
	}
	if (fs_read_file(file, MANIFEST_MAX_BYTES, text, len, &cause) != 0) {
		rc = errno == EFBIG ? EXIT_DATAERR : EXIT_NOINPUT;
		fprintf(stderr, "dagexec: %s\n", cause);
		free(cause);
		return rc;
	}
	return retry_parse(file, *text, *len, m);
}

int
cmd_retry(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "bundle-format", required_argument, NULL, 'F' },
		{ "keep", no_argument, NULL, 'k' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "from", required_argument, NULL, 'f' },
		{ "manifest", required_argument, NULL, 'm' },
		{ "force", no_argument, NULL, 'X' },
		{ "cache", required_argument, NULL, 'C' },
		{ "no-cache", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct run_opts ro;
	struct retry_ctx ctx = { NULL, NULL };
	struct manifest *oldm = NULL, *m = NULL;
	const char *file = NULL;
	char *cause = NULL, *text = NULL, **from = NULL;
	const struct kv *values;
	bool force = false, *succeeded = NULL, *forced = NULL, *reuse = NULL;
	bool *skip = NULL;
	long k;
	size_t len = 0, nfrom = 0, nvalues, i, nrun;
	int c, r, ret;

	memset(&ro, 0, sizeof ro);
	ro.fmt = BUNDLE_TGZ;
	while ((c = getopt_long(argc, argv, "+j:o:qf:m:h", opts, NULL)) != -1) {
		if ((r = run_option(&ro, c, optarg, "retry")) != 0) {
			if (r < 0) {
				ret = EXIT_USAGE;
				goto out;
			}
			continue;
		}
		switch (c) {
		case 'f':
			from = xreallocarray(from, nfrom + 1, sizeof *from);
			from[nfrom++] = optarg;
			break;
		case 'm':
			file = optarg;
			break;
		case 'X':
			force = true;
			break;
		case 'h':
			retry_usage(stdout);
			ret = 0;
			goto out;
		default:
			retry_usage(stderr);
			ret = EXIT_USAGE;
			goto out;
		}
	}
	if (argc - optind != 1) {
		retry_usage(stderr);
		ret = EXIT_USAGE;
		goto out;
	}
	if (force && file == NULL) {
		fprintf(stderr, "dagexec: retry: --force goes with "
		    "--manifest\n");
		ret = EXIT_USAGE;
		goto out;
	}
	/* the bundle is unpacked beside where the new one goes */
	if (fs_mkdirs(ro.outdir != NULL ? ro.outdir : ".", 0755,
	    &cause) != 0) {
		fprintf(stderr, "dagexec: %s\n", cause);
		ret = EXIT_CANTCREAT;
		goto out;
	}
	if (oldjob_open(argv[optind], ro.outdir != NULL ? ro.outdir : ".",
	    &ctx.old, &cause) != 0) {
		ret = errno == EILSEQ ? EXIT_DATAERR : EXIT_NOINPUT;
		fprintf(stderr, "dagexec: %s\n", cause);
		goto out;
	}
	if ((ret = retry_manifest(ctx.old, NULL, &text, &len, &oldm)) != 0)
		goto out;
	if (file != NULL) {
		free(text);
		text = NULL;
		if ((ret = retry_manifest(ctx.old, file, &text, &len,
		    &m)) != 0)
			goto out;
	} else if ((ret = retry_parse(argv[optind], text, len, &m)) != 0)
		goto out;
	/* the edited manifest's new nodes stay, unless the earlier job ran
	 * only some of its own */
	if (retry_scope(oldm, ctx.old))
		(void)retry_scope(m, ctx.old);

	succeeded = xcalloc(m->nnodes + 1, sizeof *succeeded);
	forced = xcalloc(m->nnodes + 1, sizeof *forced);
	reuse = xcalloc(m->nnodes + 1, sizeof *reuse);
	if ((ret = retry_forced(oldm, m, file, force, from, nfrom,
	    forced)) != 0)
		goto out;
	/* a success counts only with every declared output kept */
	for (i = 0; i < m->nnodes; i++)
		succeeded[i] = oldjob_node(ctx.old, m->nodes[i].id, &values,
		    &nvalues) == NS_SUCCEEDED &&
		    oldjob_has_outputs(ctx.old, &m->nodes[i]);
	nrun = retry_plan(&m->graph, succeeded, forced, reuse);
	/* the nodes --from names run whatever the cache holds */
	skip = xcalloc(m->nnodes + 1, sizeof *skip);
	for (i = 0; i < nfrom; i++)
		if ((k = manifest_find(m, from[i])) >= 0)
			skip[k] = true;
	ro.cache_skip = skip;
	if (!ro.quiet)
		fprintf(stderr, "dagexec: retry of %s: %zu node(s) reused, "
		    "%zu to run\n", oldjob_id(ctx.old), m->nnodes - nrun,
		    nrun);
	ctx.reuse = reuse;
	ro.prepare = retry_prepare;
	ro.arg = &ctx;
	ret = run_job(m, text, len, &ro);
	m = NULL;
out:
	free(succeeded);
	free(forced);
	free(reuse);
	free(skip);
	manifest_free(oldm);
	manifest_free(m);
	oldjob_free(ctx.old);
	free(text);
	free(from);
	free(cause);
	return ret;
}
