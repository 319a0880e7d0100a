/* Starting a node's process: fork, child setup with async-signal-safe calls
 * only, exec; a failed step is reported back over a CLOEXEC pipe. */
#ifndef DAGEXEC_SPAWN_H
#define DAGEXEC_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#define SPAWN_MAX_RLIMITS 8

/* Under AddressSanitizer or ThreadSanitizer, whose bookkeeping does not
 * follow a child on a stack of its own in our memory, nodes are started
 * with plain fork instead of CLONE_VM | CLONE_VFORK. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SPAWN_USE_FORK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SPAWN_USE_FORK 1
#endif
#endif

/* Everything the child needs, prepared by the parent before fork. */
struct spawn_spec {
	const char	 *node;		/* node id, for messages */
	char		**argv;		/* NULL-terminated; argv[0] is the
					   program as written */
	char		**envp;		/* NULL-terminated */
	char		**paths;	/* candidates for execve, in order
					   (from spawn_resolve); NULL-terminated
					   (NULL: argv[0] as is) */
	const char	 *cwd;		/* chdir here; NULL: stay */
	int		  stdout_fd;	/* dup2'd to 1; the child's copy only;
					   -1: /dev/null */
	int		  stderr_fd;	/* dup2'd to 2; -1: /dev/null */
	int		  nrlimits;
	struct {
		int		resource;
		struct rlimit	lim;
	} rlimits[SPAWN_MAX_RLIMITS];
	bool		  set_ids;	/* switch to uid/gid/groups */
	uid_t		  uid;
	gid_t		  gid;
	const gid_t	 *groups;
	size_t		  ngroups;
	mode_t		  umask;	/* 077 for nodes */
	int		  sandbox_fd;	/* a Landlock ruleset (sandbox_build,
					   always above 2) the child restricts
					   itself to after no_new_privs; 0 or
					   -1: none. The caller's. */
	int		 *path_used;	/* if not NULL, set on success to the
					   index in paths that exec'd, or -1
					   when that is not known (fork) */
};

/* The execve candidates for argv0 as execvp would try them, using PATH from
 * envp (or "/usr/local/bin:/usr/bin:/bin" when unset): argv0 itself when it
 * holds a '/', else DIR/argv0 for each PATH entry. A NULL-terminated array the
 * caller frees with spawn_free_paths. */
char **spawn_resolve(const char *argv0, char *const *envp);
void spawn_free_paths(char **paths);

/* Fork and set the child up as interface §3 orders: signals reset, setsid,
 * stdin /dev/null, stdout/stderr from the spec, every other descriptor
 * closed, PR_SET_PDEATHSIG(SIGKILL) with the getppid check, rlimits,
 * groups/gid/uid, chdir, umask, PR_SET_NO_NEW_PRIVS, the Landlock
 * ruleset, execve.
 * Returns the pid (also the process group and session id) and a pidfd in
 * *pidfd (-1 when the kernel has none or pidfd_open failed: reap on
 * SIGCHLD then), or -1 with *cause, e.g.
 * "cannot start node 'x': execve 'pyhton3': No such file or directory",
 * and errno set to the child's. A child that fails after fork is reaped
 * here. pidfd may be NULL (no pidfd kept). The spec's descriptors stay the
 * caller's. Fork from the thread that keeps running: PR_SET_PDEATHSIG fires
 * when the forking thread exits. */
pid_t spawn_start(const struct spawn_spec *sp, int *pidfd, char **cause);

/* The child resets to SIG_DFL exactly the signals that were not SIG_DFL in
 * this process at the first spawn_start, or at the first one after the
 * last call of this: whoever changes a signal's disposition (sigaction,
 * signal) in a process that spawns calls it (loop_new and loop_free do).
 * It spares a child 62 system calls while its parent waits for its exec. */
void spawn_signals_changed(void);

/* Send sig to the process group pgid; ESRCH is not an error; pgid 0 or 1
 * is refused (EINVAL). */
int spawn_kill_group(pid_t pgid, int sig);

#endif
