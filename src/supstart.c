/* Starting a supervisor: the owner's identity, the supervisor's
 * environment, and the child's side of the fork. */
#include "config.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "supervisor.h"
#include "supstart.h"
#include "xmalloc.h"

extern char **environ;

gid_t *
supstart_identity(uid_t uid, gid_t fgid, gid_t *gid, int *ngroups,
    struct passwd **pwp)
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

/* HOME=/ and no USER for a uid without a passwd entry. (Nodes get a clean
 * environment of their own, dagexec.yaml(5).) */
char **
supstart_env(bool drop, const struct passwd *pw)
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

void
supstart_strv_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
supstart_exec(const struct supstart *s)
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
	a = fcntl(s->sock, F_DUPFD, 10);
	b = fcntl(s->lockfd, F_DUPFD, 10);
	if (s->filefd >= 0)
		c = fcntl(s->filefd, F_DUPFD, 10);
	if (a < 0 || b < 0 || (s->filefd >= 0 && c < 0) ||
	    dup2(a, SUPERVISOR_CTL_FD) < 0 || dup2(b, SUPERVISOR_LOCK_FD) < 0)
		_exit(126);
	if (c >= 0 ? dup2(c, SUPERVISOR_FILE_FD) < 0 :
	    (close(SUPERVISOR_FILE_FD), 0) != 0)
		_exit(126);
	(void)syscall(SYS_close_range, SUPERVISOR_FILE_FD + 1, ~0U, 0);
	if ((nul = open("/dev/null", O_RDONLY)) >= 0 && nul != 0) {
		(void)dup2(nul, 0);
		close(nul);
	}
	if (s->drop) {
		/* gid first: once the uid is dropped, root is gone; with
		 * every uid non-zero the kernel clears the capabilities */
		if (syscall(SYS_setgroups, s->ngroups, s->groups) != 0 ||
		    syscall(SYS_setresgid, s->gid, s->gid, s->gid) != 0 ||
		    syscall(SYS_setresuid, s->uid, s->uid, s->uid) != 0)
			_exit(126);
	}
	execve("/proc/self/exe", s->argv, s->envp);
	_exit(127);
}
