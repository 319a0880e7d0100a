/* Landlock sandboxes for a node's process (interface §10). The ruleset is
 * built in the parent before fork (opening paths is no business of a child
 * between fork and exec); the child only calls landlock_restrict_self on it
 * after PR_SET_NO_NEW_PRIVS (spawn.c). Debian 12 has no liblandlock: the
 * three system calls are made through syscall(2). */
#ifndef DAGEXEC_SANDBOX_H
#define DAGEXEC_SANDBOX_H

#include <stdbool.h>

#include "manifest.h"

/* How much of a sandbox the kernel enforced, from the strongest: the
 * weakest of a node's attempts is the largest value. */
enum sandbox_level {
	SANDBOX_UNSET = 0,	/* no sandbox asked for, or none applied yet */
	SANDBOX_ENFORCED,	/* every restriction */
	SANDBOX_PARTIAL,	/* files, not TCP (Landlock older than ABI 4) */
	SANDBOX_NONE		/* no Landlock at all */
};

/* "enforced", "partial" or "none"; NULL for SANDBOX_UNSET. */
const char *sandbox_level_name(enum sandbox_level l);
/* The level named s, or -1. */
int sandbox_level_parse(const char *s);

/* The Landlock ABI version this kernel offers (1, 2, ...; 7 on Linux
 * 6.15), or -1 with errno: ENOSYS when the kernel has no Landlock,
 * EOPNOTSUPP when it is built in but not enabled at boot (lsm=). Asked of
 * the kernel once, then remembered. */
int sandbox_abi(void);

/* What one attempt's sandbox holds besides the node's own lists. */
struct sandbox_attempt {
	const char	*workdir;	/* read, write, execute */
	const char	*sidedir;	/* the node's side files and $TMPDIR:
					   read, write, execute */
	const char	*exe;		/* a program of ours the attempt runs
					   (the __http child): read, execute;
					   or NULL */
	int		 connect_port;	/* a TCP port it may connect to too
					   (an http node's URL); -1: none */
	char		**values;	/* directories it may read (the
					   values its needs pass on); those
					   that do not exist are left out */
	size_t		 nvalues;
};

/* Build the Landlock ruleset of spec for one attempt, with the best ABI
 * the kernel offers (the system's directories and device files are opened
 * at the first call and kept open, O_PATH, for the life of the process):
 * *fd is a new ruleset (close-on-exec, above 2) for
 * spawn_spec.sandbox_fd, which the caller closes after spawn_start, or -1
 * when the kernel has no Landlock; *level what it enforces. Returns 0; or
 * -1 with *cause (allocated) naming what is missing ("sandbox: path
 * '/data' ('read'): No such file or directory") when the kernel cannot
 * enforce the sandbox whole and spec->best_effort is false, and always
 * when a path of a (workdir, sidedir, exe) cannot be opened. With
 * best_effort, *warn (allocated, else NULL) says what was let go: a listed
 * path that does not exist is left out, a missing TCP rule or Landlock
 * lowers *level. */
int sandbox_build(const struct sandbox_spec *spec,
    const struct sandbox_attempt *a, int *fd, enum sandbox_level *level,
    char **warn, char **cause);

/* The TCP port a URL connects to: its explicit port, else 80 for http and
 * 443 for https; -1 when there is none to tell. */
int sandbox_url_port(const char *url);

#endif
