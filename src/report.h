/* report.html: the page a person opens from a bundle. One self-contained
 * HTML file (no network, readable without scripts): the run's status, a
 * table of the nodes, the timeline inlined, the failed nodes' last log
 * lines and the commands to retry the run. */
#ifndef DAGEXEC_REPORT_H
#define DAGEXEC_REPORT_H

#include <stddef.h>

#include "manifest.h"
#include "run.h"
#include "state.h"

#define REPORT_TAIL_LINES	20		/* of a failed node's log */
#define REPORT_TAIL_BYTES	4096		/*   read from its end */
#define REPORT_ROWS_MAX		(2048u << 10)	/* bytes of table rows */
#define REPORT_FAILS_MAX	(1024u << 10)	/* bytes of failed nodes */
#define REPORT_SVG_MAX		(1536u << 10)	/* a larger timeline is
						   linked, not inlined */

/* What the report is made of: the records the summary, the timeline and
 * the state are rendered from at the job's end. Everything is borrowed. */
struct report_in {
	const struct manifest		 *m;
	const struct node_run *const	 *runs;		/* runs[i]: node i's;
							   runs or runs[i] NULL:
							   never ran */
	const struct metric		 *metrics;	/* the DAG's sums */
	size_t				  nmetrics;
	const struct state_job		 *sj;		/* the job's id, status,
							   times, reuse, hits */
	const char			 *svg;		/* timeline.svg's text
							   (svg_len bytes), or
							   NULL; past
							   REPORT_SVG_MAX only
							   svg_len is read (it
							   is linked) */
	size_t				  svg_len;
	const char			 *dir;		/* the job directory:
							   the logs are read
							   from DIR/nodes/ */
	const char			 *bundle;	/* the bundle's path as
							   the retry commands
							   name it, or NULL:
							   JOB.tar.gz */
	const char			 *spool;	/* the spool of a job
							   `watch` ran, or
							   NULL */
};

/* The HTML text of the report: a new NUL-terminated buffer, *len its
 * length. Every string taken from the manifest, the nodes or their logs is
 * escaped. A log that cannot be read is said to be missing, not an error. */
char *report_render(const struct report_in *in, size_t *len);

#endif
