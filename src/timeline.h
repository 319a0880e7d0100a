/* The SVG Gantt chart of a run (issue 7). */
#ifndef DAGEXEC_TIMELINE_H
#define DAGEXEC_TIMELINE_H

#endif
