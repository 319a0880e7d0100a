/* The SVG Gantt chart of a run (issue 7): one row a node, grouped by wave in
 * start order; one bar an attempt, coloured by its outcome; retry waits as
 * dashed gaps; a time axis; the run's critical path outlined. */
#ifndef DAGEXEC_TIMELINE_H
#define DAGEXEC_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "run.h"
#include "state.h"

#define TIMELINE_PLOT_W		900	/* pixels of the time axis */
#define TIMELINE_ROW_MAX	20	/* row height, few nodes */
#define TIMELINE_ROW_MIN	3	/* row height, many nodes */
#define TIMELINE_LABEL_MIN	9	/* rows lower than this label only every
					   k-th node */

/* Where time lands: x = x0 + (t - t0) * w / span, t in monotonic ms. */
struct timeline_geom {
	double	 x0;		/* left edge of the plot */
	double	 w;		/* TIMELINE_PLOT_W */
	int64_t	 t0;		/* the job's start (or the first attempt's) */
	int64_t	 span;		/* >= 1 ms: up to the job's end (or the last
				   attempt's end) */
	double	 row_h;		/* height of a row */
	size_t	 label_every;	/* a label every k-th row (1: all) */
};

/* The geometry timeline_render uses for these records (see below). */
void timeline_geom(const struct manifest *m,
    const struct node_run *const *runs, const struct state_job *sj,
    struct timeline_geom *g);
/* The SVG text of the run: runs[i] is node i's record (runs or runs[i] may
 * be NULL: never ran), sj the job's times and status. A new NUL-terminated
 * buffer; *len its length. */
char *timeline_render(const struct manifest *m,
    const struct node_run *const *runs, const struct state_job *sj,
    size_t *len);
/* timeline_render's text written into fd as it is made, in bounded
 * memory. 0, or -1 with errno. */
int timeline_write_fd(int fd, const struct manifest *m,
    const struct node_run *const *runs, const struct state_job *sj);
/* timeline_render, written atomically to path (mode 0644). Returns 0 or -1
 * with *cause. */
int timeline_write(const char *path, const struct manifest *m,
    const struct node_run *const *runs, const struct state_job *sj,
    char **cause);
/* Copy s (len bytes) escaped for XML text and attributes: & < > " ' as
 * entities, control bytes and invalid UTF-8 as \xNN. */
char *timeline_xml_escape(const char *s, size_t len);

#endif
