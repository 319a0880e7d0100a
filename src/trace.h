/* The run as Chrome trace events (issue 7). */
#ifndef DAGEXEC_TRACE_H
#define DAGEXEC_TRACE_H

#endif
