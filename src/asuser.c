/*
 * Starting a helper as a user. Everything the child needs (its groups,
 * its environment, its argv) is made before the fork; between fork and
 * exec the child makes only async-signal-safe calls.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "asuser.h"
#include "supervisor.h"
#include "xmalloc.h"

extern char **environ;

/* The owner's primary gid and supplementary groups (a new array). */
static gid_t *
identity(uid_t uid, gid_t fgid, gid_t *gid, int *ngroups, struct passwd **pwp)
{
	struct passwd *pw = getpwuid(uid);
	gid_t *groups;
	int n = 32;

	*ngroups = 0;
	*pwp = pw;
	if (pw == NULL) {
		*gid = fgid;
		return NULL;
	}
	*gid = pw->pw_gid;
	groups = xcalloc((size_t)n, sizeof *groups);
	while (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0) {
		if (n > 65536) {
			free(groups);
			*ngroups = 0;
			return NULL;
		}
		groups = xreallocarray(groups, (size_t)n * 2, sizeof *groups);
		n *= 2;
	}
	*ngroups = n;
	return groups;
}

/* The supervisor's environment: the daemon's, with (drop: when it takes
 * the owner's ids) the owner's HOME, USER and LOGNAME from pw (HOME=/ and
 * no USER for a uid without a passwd entry), and without what belongs to
 * the daemon's own service manager. (Nodes get a clean one of their own,
 * dagexec.yaml(5).) */
static char **
sup_env(bool drop, const struct passwd *pw)
{
	static const char *const gone[] = { "HOME=", "USER=", "LOGNAME=",
	    "SHELL=", "MAIL=", "NOTIFY_SOCKET=", "LISTEN_FDS=", "LISTEN_PID=",
	    "LISTEN_FDNAMES=", "WATCHDOG_USEC=", "WATCHDOG_PID=" };
	char **v, **e;
	size_t n = 0, i, k;

	for (e = environ; *e != NULL; e++)
		n++;
	v = xcalloc(n + 4, sizeof *v);
	for (i = 0, e = environ; *e != NULL; e++) {
		for (k = 0; k < sizeof gone / sizeof gone[0]; k++)
			if (strncmp(*e, gone[k], strlen(gone[k])) == 0)
				break;
		if (!drop || k == sizeof gone / sizeof gone[0])
			v[i++] = xstrdup(*e);
	}
	if (drop && pw != NULL) {
		v[i++] = xasprintf("HOME=%s", pw->pw_dir);
		v[i++] = xasprintf("USER=%s", pw->pw_name);
		v[i++] = xasprintf("LOGNAME=%s", pw->pw_name);
	} else if (drop)
		v[i++] = xstrdup("HOME=/");
	v[i] = NULL;
	return v;
}

static void
strv_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn))
child(int sock, int lockfd, int filefd, bool drop, uid_t uid, gid_t gid,
    const gid_t *groups, size_t ngroups, char *const *argv, char **envp)
{
	sigset_t none;
	int a, b, c = -1, nul;

	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)signal(SIGPIPE, SIG_DFL);
	/* its own session: a Ctrl-C at a foreground daemon does not reach
	 * it, and it outlives the daemon */
	if (setsid() < 0)
		_exit(126);
	/* out of the way of 3, 4, 5 first */
	a = fcntl(sock, F_DUPFD, 10);
	b = lockfd >= 0 ? fcntl(lockfd, F_DUPFD, 10) : -1;
	if (filefd >= 0)
		c = fcntl(filefd, F_DUPFD, 10);
	if (a < 0 || (lockfd >= 0 && b < 0) || (filefd >= 0 && c < 0) ||
	    dup2(a, SUPERVISOR_CTL_FD) < 0)
		_exit(126);
	if (b >= 0 ? dup2(b, SUPERVISOR_LOCK_FD) < 0 :
	    (close(SUPERVISOR_LOCK_FD), 0) != 0)
		_exit(126);
	if (c >= 0 ? dup2(c, SUPERVISOR_FILE_FD) < 0 :
	    (close(SUPERVISOR_FILE_FD), 0) != 0)
		_exit(126);
	(void)syscall(SYS_close_range, SUPERVISOR_FILE_FD + 1, ~0U, 0);
	if ((nul = open("/dev/null", O_RDONLY)) >= 0 && nul != 0) {
		(void)dup2(nul, 0);
		close(nul);
	}
	if (drop) {
		/* gid first: once the uid is dropped, root is gone; with
		 * every uid non-zero the kernel clears the capabilities */
		if (syscall(SYS_setgroups, ngroups, groups) != 0 ||
		    syscall(SYS_setresgid, gid, gid, gid) != 0 ||
		    syscall(SYS_setresuid, uid, uid, uid) != 0)
			_exit(126);
	}
	execve("/proc/self/exe", argv, envp);
	_exit(127);
}

gid_t
asuser_gid(uid_t uid, gid_t fgid)
{
	struct passwd *pw = getpwuid(uid);

	return pw != NULL ? pw->pw_gid : fgid;
}

pid_t
asuser_spawn(const struct asuser *a)
{
	struct passwd *pw;
	gid_t *groups, gid;
	char **envp;
	int ngroups, saved;
	bool drop = geteuid() == 0;
	pid_t pid;

	groups = identity(a->uid, a->fgid, &gid, &ngroups, &pw);
	envp = sup_env(drop, pw);
	pid = fork();
	if (pid == 0)
		child(a->ctl, a->lock, a->file, drop, a->uid, gid, groups,
		    (size_t)ngroups, a->argv, envp);
	saved = errno;
	free(groups);
	strv_free(envp);
	errno = saved;
	return pid;
}
