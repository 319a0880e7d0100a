/* Starting a node's process. The parent prepares everything (struct
 * spawn_spec); between fork and exec the child makes only async-signal-safe
 * calls, in the order of architecture.md, and reports a failed step as
 * {stage, arg, errno} over a CLOEXEC pipe before _exit(127). */
#include "config.h"

#ifdef HAVE_SYS_PIDFD_H
#include <sys/pidfd.h>
#endif
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spawn.h"
#include "xmalloc.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#ifndef SYS_landlock_restrict_self	/* never asked for: no ruleset is
					   built without it (sandbox.c) */
#define SYS_landlock_restrict_self	-1L
#endif

#define SPAWN_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

enum spawn_stage {
	SPAWN_SIGNALS = 1,
	SPAWN_SETSID,
	SPAWN_DUP2,
	SPAWN_CLOSE_RANGE,
	SPAWN_PDEATHSIG,
	SPAWN_PARENT_GONE,
	SPAWN_SETRLIMIT,
	SPAWN_SETGROUPS,
	SPAWN_SETGID,
	SPAWN_SETUID,
	SPAWN_CHDIR,
	SPAWN_NO_NEW_PRIVS,
	SPAWN_LANDLOCK,
	SPAWN_EXECVE
};

struct spawn_report {
	int	stage;
	int	arg;		/* SPAWN_SETRLIMIT: index in the spec */
	int	err;
	int	tried;		/* CLONE_VM: the last path tried by execve */
};

static const struct {
	int		 resource;
	const char	*name;
} spawn_rlimit_names[] = {
	{ RLIMIT_CPU, "RLIMIT_CPU" },
	{ RLIMIT_FSIZE, "RLIMIT_FSIZE" },
	{ RLIMIT_DATA, "RLIMIT_DATA" },
	{ RLIMIT_STACK, "RLIMIT_STACK" },
	{ RLIMIT_CORE, "RLIMIT_CORE" },
	{ RLIMIT_RSS, "RLIMIT_RSS" },
	{ RLIMIT_NPROC, "RLIMIT_NPROC" },
	{ RLIMIT_NOFILE, "RLIMIT_NOFILE" },
	{ RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK" },
	{ RLIMIT_AS, "RLIMIT_AS" },
	{ RLIMIT_LOCKS, "RLIMIT_LOCKS" },
	{ RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING" },
	{ RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE" },
	{ RLIMIT_NICE, "RLIMIT_NICE" },
	{ RLIMIT_RTPRIO, "RLIMIT_RTPRIO" },
	{ RLIMIT_RTTIME, "RLIMIT_RTTIME" },
};

char **
spawn_resolve(const char *argv0, char *const *envp)
{
	const char	*path = NULL, *p, *end;
	char		**out;
	size_t		 n, i, len;

	if (strchr(argv0, '/') != NULL || *argv0 == '\0') {
		out = xcalloc(2, sizeof *out);
		out[0] = xstrdup(argv0);
		return (out);
	}
	for (i = 0; envp != NULL && envp[i] != NULL; i++) {
		if (strncmp(envp[i], "PATH=", 5) == 0) {
			path = envp[i] + 5;
			break;
		}
	}
	if (path == NULL)
		path = SPAWN_DEFAULT_PATH;

	n = 1;
	for (p = path; *p != '\0'; p++) {
		if (*p == ':')
			n++;
	}
	out = xcalloc(n + 1, sizeof *out);
	i = 0;
	p = path;
	for (;;) {
		end = strchr(p, ':');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len == 0)	/* an empty entry is the current directory */
			out[i++] = xstrdup(argv0);
		else
			out[i++] = xasprintf("%.*s/%s", (int)len, p, argv0);
		if (end == NULL)
			break;
		p = end + 1;
	}
	out[i] = NULL;
	return (out);
}

void
spawn_free_paths(char **paths)
{
	size_t	i;

	if (paths == NULL)
		return;
	for (i = 0; paths[i] != NULL; i++)
		free(paths[i]);
	free(paths);
}

static int
spawn_close_range(unsigned int first, unsigned int last, unsigned int flags)
{
#if defined(HAVE_CLOSE_RANGE)
	return (close_range(first, last, (int)flags));
#elif HAVE_DECL_SYS_CLOSE_RANGE
	return ((int)syscall(SYS_close_range, first, last, flags));
#else
	errno = ENOSYS;
	return (-1);
#endif
}

/* Set by the parent around a CLONE_VM start: the child reports into this
 * memory, which it shares, instead of through a pipe. */
static volatile struct spawn_report *spawn_shared;

/* In the child: report and die. Only write(2) and _exit(2). */
static void __attribute__((noreturn))
spawn_child_fail(int fd, int stage, int arg, int err)
{
	struct spawn_report	rep;
	ssize_t			r;

	if (spawn_shared != NULL) {
		spawn_shared->arg = arg;
		spawn_shared->err = err;
		spawn_shared->stage = stage;
		_exit(127);
	}
	rep.stage = stage;
	rep.arg = arg;
	rep.err = err;
	do
		r = write(fd, &rep, sizeof rep);
	while (r == -1 && errno == EINTR);
	_exit(127);
}

/* Mark every descriptor from 3 up close-on-exec, without close_range. */
static void
spawn_child_cloexec_all(void)
{
	struct rlimit	rl;
	rlim_t		fd, max = 65536;
	int		flags;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		max = rl.rlim_cur;
	for (fd = 3; fd < max; fd++) {
		flags = fcntl((int)fd, F_GETFD);
		if (flags != -1 && !(flags & FD_CLOEXEC))
			fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC);
	}
}

/* The signals whose disposition was not SIG_DFL when last looked at, bit
 * sig - 1: what a child must reset. Looked at again on the first spawn
 * after spawn_signals_changed. */
static uint64_t	spawn_reset_mask;
static int	spawn_reset_known;

void
spawn_signals_changed(void)
{
	spawn_reset_known = 0;
}

static int
spawn_reset_has(int sig)
{
	return (sig >= 1 && sig <= 64 &&
	    (spawn_reset_mask & ((uint64_t)1 << (sig - 1))) != 0);
}

/* One query a signal, in the parent, once. A signal libc will not tell us
 * about (its own 32 and 33) is reset in every child, as before. */
static void
spawn_reset_scan(void)
{
	struct sigaction	sa;
	uint64_t		mask = 0;
	int			sig;

	for (sig = 1; sig < _NSIG && sig <= 64; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sigaction(sig, NULL, &sa) == -1 ||
		    sa.sa_handler != SIG_DFL)
			mask |= (uint64_t)1 << (sig - 1);
	}
	spawn_reset_mask = mask;
	spawn_reset_known = 1;
}

static int
spawn_child_deathsig(pid_t ppid)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		return (SPAWN_PDEATHSIG);
	if (getppid() != ppid)
		return (SPAWN_PARENT_GONE);
	return (0);
}

/* Between fork and exec: async-signal-safe calls only, no allocation. */
static void __attribute__((noreturn))
spawn_child(const struct spawn_spec *sp, int errfd, int nullfd, pid_t ppid)
{
	struct sigaction	sa;
	sigset_t		set;
	unsigned long		ksa[16];
	int			src[3], i, stage, err, sig;

	/* Dispositions first, then the mask: no handler may run here. Only
	 * the signals the parent found not SIG_DFL need it (one call each,
	 * not 62). libc refuses its own signals (32, 33), which can arrive
	 * ignored from our parent and stay so across exec: the kernel call
	 * does those. An all-zero kernel sigaction is SIG_DFL, no flags,
	 * empty mask, whatever the architecture's layout. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	memset(ksa, 0, sizeof ksa);
	for (sig = 1; sig < _NSIG; sig++) {
		if (!spawn_reset_has(sig))
			continue;
		if (sigaction(sig, &sa, NULL) == -1)
			syscall(SYS_rt_sigaction, sig, ksa, NULL,
			    (size_t)(_NSIG - 1) / 8);
	}
	sigemptyset(&set);
	if (sigprocmask(SIG_SETMASK, &set, NULL) == -1)
		spawn_child_fail(errfd, SPAWN_SIGNALS, 0, errno);

	if (setsid() == -1)
		spawn_child_fail(errfd, SPAWN_SETSID, 0, errno);

	/* Move every source out of 0..2 first so that no dup2 clobbers
	 * another source, and so that dup2 always clears FD_CLOEXEC. */
	src[0] = nullfd;
	src[1] = sp->stdout_fd != -1 ? sp->stdout_fd : nullfd;
	src[2] = sp->stderr_fd != -1 ? sp->stderr_fd : nullfd;
	for (i = 0; i < 3; i++) {
		if (src[i] >= 0 && src[i] <= 2) {
			src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3);
			if (src[i] == -1)
				spawn_child_fail(errfd, SPAWN_DUP2, i, errno);
		}
	}
	for (i = 0; i < 3; i++) {
		if (dup2(src[i], i) == -1)
			spawn_child_fail(errfd, SPAWN_DUP2, i, errno);
	}

	/* Everything from 3 up is closed at exec; the error pipe stays
	 * usable until then. */
	if (spawn_close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == -1) {
		if (errno != EINVAL && errno != ENOSYS)
			spawn_child_fail(errfd, SPAWN_CLOSE_RANGE, 0, errno);
		spawn_child_cloexec_all();
	}

	if ((stage = spawn_child_deathsig(ppid)) != 0)
		spawn_child_fail(errfd, stage, 0, errno);

	for (i = 0; i < sp->nrlimits; i++) {
		if (setrlimit(sp->rlimits[i].resource, &sp->rlimits[i].lim) ==
		    -1)
			spawn_child_fail(errfd, SPAWN_SETRLIMIT, i, errno);
	}

	if (sp->set_ids) {
		/* raw system calls: libc's wrappers would coordinate with
		 * threads whose memory the child shares (CLONE_VM) */
		if (syscall(SYS_setgroups, sp->ngroups, sp->groups) == -1)
			spawn_child_fail(errfd, SPAWN_SETGROUPS, 0, errno);
		if (syscall(SYS_setresgid, sp->gid, sp->gid, sp->gid) == -1)
			spawn_child_fail(errfd, SPAWN_SETGID, 0, errno);
		if (syscall(SYS_setresuid, sp->uid, sp->uid, sp->uid) == -1)
			spawn_child_fail(errfd, SPAWN_SETUID, 0, errno);
		/* A credential change clears the parent-death signal. */
		if ((stage = spawn_child_deathsig(ppid)) != 0)
			spawn_child_fail(errfd, stage, 0, errno);
	}

	if (sp->cwd != NULL && chdir(sp->cwd) == -1)
		spawn_child_fail(errfd, SPAWN_CHDIR, 0, errno);
	umask(sp->umask);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		spawn_child_fail(errfd, SPAWN_NO_NEW_PRIVS, 0, errno);
	/* the sandbox last: it may deny what the steps above need */
	if (sp->sandbox_fd > 2 && syscall(SYS_landlock_restrict_self,
	    sp->sandbox_fd, 0U) == -1)
		spawn_child_fail(errfd, SPAWN_LANDLOCK, 0, errno);

	/* As execvp: go on after ENOENT and the like; EACCES wins. */
	if (sp->paths == NULL) {
		execve(sp->argv[0], sp->argv, sp->envp);
		spawn_child_fail(errfd, SPAWN_EXECVE, 0, errno);
	}
	err = ENOENT;
	for (i = 0; sp->paths[i] != NULL; i++) {
		/* CLONE_VM: once we have exec'd, the parent reads which
		 * candidate it was */
		if (spawn_shared != NULL)
			spawn_shared->tried = i;
		execve(sp->paths[i], sp->argv, sp->envp);
		switch (errno) {
		case EACCES:
			err = EACCES;
			break;
		case ENOENT:
		case ENOTDIR:
		case ESTALE:
		case ENODEV:
		case ETIMEDOUT:
			if (err != EACCES)
				err = errno;
			break;
		default:
			spawn_child_fail(errfd, SPAWN_EXECVE, 0, errno);
		}
	}
	spawn_child_fail(errfd, SPAWN_EXECVE, 0, err);
}

static const char *
spawn_rlimit_name(int resource)
{
	size_t	i;

	for (i = 0; i < sizeof spawn_rlimit_names / sizeof
	    spawn_rlimit_names[0]; i++) {
		if (spawn_rlimit_names[i].resource == resource)
			return (spawn_rlimit_names[i].name);
	}
	return (NULL);
}

static char *
spawn_message(const struct spawn_spec *sp, const struct spawn_report *rep)
{
	const char	*node = sp->node != NULL ? sp->node : "?";
	const char	*e = strerror(rep->err);
	const char	*name;
	char		*what, *msg;
	int		 res;

	switch (rep->stage) {
	case SPAWN_SIGNALS:
		what = xstrdup("sigprocmask");
		break;
	case SPAWN_SETSID:
		what = xstrdup("setsid");
		break;
	case SPAWN_DUP2:
		what = xasprintf("dup2 to %d", rep->arg);
		break;
	case SPAWN_CLOSE_RANGE:
		what = xstrdup("close_range");
		break;
	case SPAWN_PDEATHSIG:
		what = xstrdup("prctl(PR_SET_PDEATHSIG)");
		break;
	case SPAWN_PARENT_GONE:
		return (xasprintf("cannot start node '%s': parent exited",
		    node));
	case SPAWN_SETRLIMIT:
		res = -1;
		if (rep->arg >= 0 && rep->arg < sp->nrlimits)
			res = sp->rlimits[rep->arg].resource;
		if ((name = spawn_rlimit_name(res)) != NULL)
			what = xasprintf("setrlimit(%s)", name);
		else
			what = xasprintf("setrlimit(%d)", res);
		break;
	case SPAWN_SETGROUPS:
		what = xstrdup("setgroups");
		break;
	case SPAWN_SETGID:
		what = xasprintf("setgid %lu", (unsigned long)sp->gid);
		break;
	case SPAWN_SETUID:
		what = xasprintf("setuid %lu", (unsigned long)sp->uid);
		break;
	case SPAWN_CHDIR:
		what = xasprintf("chdir '%s'", sp->cwd != NULL ? sp->cwd : "");
		break;
	case SPAWN_NO_NEW_PRIVS:
		what = xstrdup("prctl(PR_SET_NO_NEW_PRIVS)");
		break;
	case SPAWN_LANDLOCK:
		what = xstrdup("landlock_restrict_self");
		break;
	case SPAWN_EXECVE:
		what = xasprintf("execve '%s'", sp->argv[0]);
		break;
	default:
		what = xasprintf("step %d", rep->stage);
		break;
	}
	msg = xasprintf("cannot start node '%s': %s: %s", node, what, e);
	free(what);
	return (msg);
}

static int
spawn_pidfd_open(pid_t pid)
{
#if defined(HAVE_PIDFD_OPEN)
	return (pidfd_open(pid, 0));
#elif HAVE_DECL_SYS_PIDFD_OPEN
	return ((int)syscall(SYS_pidfd_open, pid, 0));
#else
	errno = ENOSYS;
	return (-1);
#endif
}

/*
 * Start the child as posix_spawn does: CLONE_VM | CLONE_VFORK on a stack of
 * its own, so the parent's page tables are not copied for a child that
 * execs at once (fork's cost grows with the parent's memory: at 10,000
 * nodes it was a quarter of the run). We are suspended until the child
 * execs or exits, so one stack serves every spawn. The child writes no
 * memory of ours but its own stack and errno, and makes only system calls.
 * Under AddressSanitizer, whose bookkeeping does not follow a foreign
 * stack, plain fork is used.
 */
/* (SPAWN_USE_FORK is decided in spawn.h) */

#ifndef SPAWN_USE_FORK
struct spawn_args {
	const struct spawn_spec	*sp;
	int			 errfd;
	int			 nullfd;
	pid_t			 ppid;
};

static int
spawn_clone_child(void *arg)
{
	struct spawn_args *a = arg;

	spawn_child(a->sp, a->errfd, a->nullfd, a->ppid);
}

#endif

static pid_t
spawn_clone(const struct spawn_spec *sp, int errfd, int nullfd, pid_t ppid)
{
#ifdef SPAWN_USE_FORK
	pid_t pid = fork();

	if (pid == 0)
		spawn_child(sp, errfd, nullfd, ppid);
	return (pid);
#else
	static char *stack;
	static const size_t stack_size = 256 * 1024;
	struct spawn_args a = { sp, errfd, nullfd, ppid };

	if (stack == NULL) {
		stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (stack == MAP_FAILED) {
			stack = NULL;
			return (-1);
		}
	}
	/* the stack grows down on every architecture Linux runs us on but
	 * hppa, which we do not claim */
	return (clone(spawn_clone_child, stack + stack_size,
	    CLONE_VM | CLONE_VFORK | SIGCHLD, &a));
#endif
}

static int
spawn_devnull(void)
{
	static int fd = -1;

	if (fd == -1)
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	return (fd);
}

pid_t
spawn_start(const struct spawn_spec *sp, int *pidfd, char **cause)
{
	struct spawn_report	 rep;
	const char		*node = sp->node != NULL ? sp->node : "?";
	sigset_t		 all, old;
	pid_t			 pid, ppid;
	ssize_t			 r;
	size_t			 got;
	int			 pfd[2], nullfd, pfd_child = -1, status, saved;
	int			 fd;

	if (pidfd != NULL)
		*pidfd = -1;
	if (sp->argv == NULL || sp->argv[0] == NULL || sp->envp == NULL ||
	    sp->nrlimits < 0 || sp->nrlimits > SPAWN_MAX_RLIMITS) {
		if (cause != NULL)
			*cause = xasprintf("cannot start node '%s': bad spec",
			    node);
		errno = EINVAL;
		return (-1);
	}

	if (!spawn_reset_known)
		spawn_reset_scan();

	/* /dev/null is opened once and kept (close-on-exec) */
	if ((nullfd = spawn_devnull()) == -1) {
		saved = errno;
		if (cause != NULL)
			*cause = xasprintf("cannot start node '%s': "
			    "cannot open '/dev/null': %s", node,
			    strerror(saved));
		errno = saved;
		return (-1);
	}
#ifndef SPAWN_USE_FORK
	/* CLONE_VM | CLONE_VFORK: the child shares our memory and we wait
	 * until it has exec'd or died, so it reports into `shared`; no pipe */
	{
		struct spawn_report shared = { 0, 0, 0, -1 };

		ppid = getpid();
		sigfillset(&all);
		sigprocmask(SIG_SETMASK, &all, &old);
		spawn_shared = &shared;
		pid = spawn_clone(sp, -1, nullfd, ppid);
		saved = errno;
		spawn_shared = NULL;
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (pid == -1) {
			if (cause != NULL)
				*cause = xasprintf("cannot start node '%s': "
				    "clone: %s", node, strerror(saved));
			errno = saved;
			return (-1);
		}
		if (pidfd != NULL)
			pfd_child = spawn_pidfd_open(pid);
		rep = *(volatile struct spawn_report *)&shared;
		got = rep.stage == 0 ? 0 : sizeof rep;
		goto reported;
	}
#endif
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		saved = errno;
		if (cause != NULL)
			*cause = xasprintf("cannot start node '%s': pipe: %s",
			    node, strerror(saved));
		goto fail_null;
	}

	/* The child dup2s over 0..2: keep its end of the pipe above them
	 * (our own stdio may be closed). */
	if (pfd[1] <= 2) {
		fd = fcntl(pfd[1], F_DUPFD_CLOEXEC, 3);
		saved = errno;
		close(pfd[1]);
		if (fd == -1) {
			close(pfd[0]);
			if (cause != NULL)
				*cause = xasprintf("cannot start node '%s': "
				    "fcntl: %s", node, strerror(saved));
			goto fail_null;
		}
		pfd[1] = fd;
	}

	/* No handler of ours may run in the child before it resets them. */
	ppid = getpid();
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = spawn_clone(sp, pfd[1], nullfd, ppid);
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(pfd[1]);
	if (pid == -1) {
		if (cause != NULL)
			*cause = xasprintf("cannot start node '%s': fork: %s",
			    node, strerror(saved));
		close(pfd[0]);
		errno = saved;
		return (-1);
	}
	/* Our child cannot be reaped behind our back: the pid is stable. */
	if (pidfd != NULL)
		pfd_child = spawn_pidfd_open(pid);

	got = 0;
	rep.tried = -1;		/* a forked child cannot tell us */
	while (got < sizeof rep) {
		r = read(pfd[0], (char *)&rep + got, sizeof rep - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(pfd[0]);
#ifndef SPAWN_USE_FORK
reported:
#endif
	if (got == 0) {
		if (sp->path_used != NULL)
			*sp->path_used = sp->paths != NULL ? rep.tried : -1;
		if (pidfd != NULL)
			*pidfd = pfd_child;
		else if (pfd_child != -1)
			close(pfd_child);
		return (pid);
	}

	/* The child failed before exec and has _exit'ed (or will). */
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (pfd_child != -1)
		close(pfd_child);
	if (got != sizeof rep) {
		if (cause != NULL)
			*cause = xasprintf("cannot start node '%s': short "
			    "report from the child", node);
		errno = EIO;
		return (-1);
	}
	if (cause != NULL)
		*cause = spawn_message(sp, &rep);
	errno = rep.err;
	return (-1);

fail_null:
	errno = saved;
	return (-1);
}

int
spawn_kill_group(pid_t pgid, int sig)
{
	if (pgid <= 1) {
		errno = EINVAL;
		return (-1);
	}
	if (kill(-pgid, sig) == -1 && errno != ESRCH)
		return (-1);
	return (0);
}
