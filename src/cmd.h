/* The sub-commands: each parses its own options and returns an exit status
 * (interface §1). */
#ifndef DAGEXEC_CMD_H
#define DAGEXEC_CMD_H

#define EXIT_DAG_FAILED	1
#define EXIT_USAGE	64	/* EX_USAGE */
#define EXIT_DATAERR	65	/* EX_DATAERR */
#define EXIT_NOINPUT	66	/* EX_NOINPUT */
#define EXIT_SOFTWARE	70	/* EX_SOFTWARE */
#define EXIT_OSERR	71	/* EX_OSERR */
#define EXIT_CANTCREAT	73	/* EX_CANTCREAT */
#define EXIT_IOERR	74	/* EX_IOERR */
#define EXIT_TEMPFAIL	75	/* EX_TEMPFAIL */

#include <stdbool.h>
#include <stddef.h>

#include "bundle.h"
#include "cgroup.h"

struct job;
struct manifest;

/* How `run` and `retry` run one job in the foreground (cmd_run.c). */
struct run_opts {
	int			 jobs;		/* -j; 0: none */
	const char		*outdir;	/* -o; NULL: "." */
	enum bundle_format	 fmt;
	bool			 keep;		/* keep DIR/JOB after bundling */
	bool			 quiet;
	const char		*cache;		/* --cache DIR, or NULL */
	bool			 no_cache;	/* --no-cache */
	const bool		*cache_skip;	/* per node: not looked up */
	enum cgroup_mode	 containment;	/* --containment */
	/* after the job is made, before it starts (NULL: nothing): 0, or
	 * an exit status and *cause */
	int			(*prepare)(struct job *j, void *arg,
				    char **cause);
	void			*arg;
};

/* One of -j, -o, --bundle-format (c 'F'), --keep ('k'), -q, --cache ('C'),
 * --no-cache ('N'), --containment ('K') for command
 * cmd: 1 when c was one of them, 0 when not, -1 when its argument is bad
 * (said on stderr). */
int run_option(struct run_opts *o, int c, const char *arg, const char *cmd);
/* --containment ARG of command cmd into *m: 0, or -1 (said on stderr). */
int cmd_containment(const char *cmd, const char *arg, enum cgroup_mode *m);
/* The argument of --max-size for command cmd (a size such as 64M, at most
 * MANIFEST_MAX_SIZE) into *max: 0, or -1 said on stderr. */
int max_size_option(const char *arg, const char *cmd, size_t *max);
/* Run m (taken) made from text, write its bundle into o->outdir and print
 * its path; the exit status of interface §1. */
int run_job(struct manifest *m, const char *text, size_t len,
    const struct run_opts *o);

struct runref;

/* Resolve arg, a bundle, a job directory or a job id in spool (NULL: the
 * default), for command cmd (runref_resolve): 0, or the exit status (65
 * not a run or rejected, 66 none or unreadable) with the message on
 * stderr; errno is runref_resolve's (EAGAIN: queued). */
int cmd_runref(const char *cmd, const char *arg, const char *spool,
    struct runref *r);

int cmd_validate(int argc, char **argv);
int cmd_graph(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_http(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_supervise(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_schedule(int argc, char **argv);
/* status --schedules (cmd_status_sched.c) */
int status_schedules(const char *spool);
int cmd_retry(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_plan(int argc, char **argv);

#endif
