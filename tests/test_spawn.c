/* CUnit suite for spawn.c with real children: what a node's process sees. */
#include "config.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "cgroup.h"
#include "cunit_main.h"
#include "loop.h"
#include "spawn.h"
#include "xmalloc.h"

/* A mutable string (argv and envp are char **). */
#define S(s) ((char []){ s })

static char	 tmpdir[] = "/tmp/test_spawn.XXXXXX";
static char	 self[PATH_MAX];
static char	*std_env[] = { S("PATH=/usr/bin:/bin"), S("LC_ALL=C"), NULL };

/* ---- helpers ----------------------------------------------------------- */

static void
spec_init(struct spawn_spec *sp, char **argv, char **envp)
{
	memset(sp, 0, sizeof *sp);
	sp->node = "t";
	sp->argv = argv;
	sp->envp = envp;
	sp->paths = spawn_resolve(argv[0], envp);
	sp->stdout_fd = -1;
	sp->stderr_fd = STDERR_FILENO;
	sp->umask = 077;
}

static void
spec_release(struct spawn_spec *sp)
{
	spawn_free_paths(sp->paths);
	sp->paths = NULL;
}

static char *
read_all(int fd)
{
	char	*buf = NULL;
	size_t	 len = 0, cap = 0;
	ssize_t	 r;

	for (;;) {
		xgrow(&buf, &cap, len + 4097, 1);
		r = read(fd, buf + len, 4096);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	return (buf);
}

static pid_t
wait_child(pid_t pid, int *status)
{
	pid_t	r;

	do
		r = waitpid(pid, status, 0);
	while (r == -1 && errno == EINTR);
	return (r);
}

/* Run sp with stdout into a pipe; the output, or NULL if it did not start
 * (*cause set). *status gets the wait status. */
static char *
run_capture(struct spawn_spec *sp, int *status, char **cause)
{
	char	*out;
	pid_t	 pid;
	int	 p[2], pidfd;

	*cause = NULL;
	*status = -1;
	if (pipe2(p, O_CLOEXEC) == -1)
		return (NULL);
	sp->stdout_fd = p[1];
	pid = spawn_start(sp, &pidfd, cause);
	close(p[1]);
	sp->stdout_fd = -1;
	if (pid == -1) {
		close(p[0]);
		return (NULL);
	}
	out = read_all(p[0]);
	close(p[0]);
	if (pidfd != -1)
		close(pidfd);
	wait_child(pid, status);
	return (out);
}

/* Run argv (resolved through std_env) and return its output. */
static char *
run_argv(char **argv, int *status)
{
	struct spawn_spec	 sp;
	char			*out, *cause = NULL;

	spec_init(&sp, argv, std_env);
	out = run_capture(&sp, status, &cause);
	if (out == NULL) {
		fprintf(stderr, "spawn: %s\n", cause != NULL ? cause : "?");
		free(cause);
	}
	spec_release(&sp);
	return (out);
}

static char *
run_sh(const char *script, int *status)
{
	char	*copy = xstrdup(script);
	char	*argv[] = { S("sh"), S("-c"), copy, NULL };
	char	*out;

	out = run_argv(argv, status);
	free(copy);
	return (out);
}

/* The message spawn_start gives for sp, or NULL if it started. */
static char *
start_error(struct spawn_spec *sp, int *err)
{
	char	*cause = NULL;
	pid_t	 pid;
	int	 pidfd = 12345, st;

	pid = spawn_start(sp, &pidfd, &cause);
	*err = errno;
	if (pid != -1) {
		if (pidfd != -1)
			close(pidfd);
		wait_child(pid, &st);
		free(cause);
		return (NULL);
	}
	CU_ASSERT_EQUAL(pidfd, -1);
	return (cause);
}

static int
count_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return (n - 1);		/* the directory's own */
}

/* The value after "Key:" in /proc/PID/status-like text, or NULL. */
static char *
field(const char *text, const char *key)
{
	const char	*p = text, *end;
	size_t		 klen = strlen(key);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
			p += klen + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			end = strchr(p, '\n');
			if (end == NULL)
				end = p + strlen(p);
			return (xstrndup(p, (size_t)(end - p)));
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return (NULL);
}

static int
wait_readable(int fd, int ms)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	int		r;

	do
		r = poll(&pfd, 1, ms);
	while (r == -1 && errno == EINTR);
	return (r == 1);
}

static int
pidfd_of(pid_t pid)
{
	return ((int)syscall(SYS_pidfd_open, pid, 0));
}

/* ---- tests ------------------------------------------------------------- */

static void
test_resolve(void)
{
	char	*env1[] = { S("X=1"), S("PATH=/a::/b/c"), NULL };
	char	*env2[] = { S("X=1"), NULL };
	char	*env3[] = { S("PATH="), NULL };
	char	**p;

	p = spawn_resolve("prog", env1);
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_STRING_EQUAL(p[0], "/a/prog");
	CU_ASSERT_STRING_EQUAL(p[1], "prog");
	CU_ASSERT_STRING_EQUAL(p[2], "/b/c/prog");
	CU_ASSERT_PTR_NULL(p[3]);
	spawn_free_paths(p);

	p = spawn_resolve("prog", env2);
	CU_ASSERT_STRING_EQUAL(p[0], "/usr/local/bin/prog");
	CU_ASSERT_STRING_EQUAL(p[1], "/usr/bin/prog");
	CU_ASSERT_STRING_EQUAL(p[2], "/bin/prog");
	CU_ASSERT_PTR_NULL(p[3]);
	spawn_free_paths(p);

	p = spawn_resolve("prog", env3);
	CU_ASSERT_STRING_EQUAL(p[0], "prog");
	CU_ASSERT_PTR_NULL(p[1]);
	spawn_free_paths(p);

	p = spawn_resolve("./bin/prog", env1);
	CU_ASSERT_STRING_EQUAL(p[0], "./bin/prog");
	CU_ASSERT_PTR_NULL(p[1]);
	spawn_free_paths(p);

	p = spawn_resolve("/usr/bin/env", NULL);
	CU_ASSERT_STRING_EQUAL(p[0], "/usr/bin/env");
	CU_ASSERT_PTR_NULL(p[1]);
	spawn_free_paths(p);
	spawn_free_paths(NULL);
}

/* path_used names the candidate that exec'd (CLONE_VM starts), so that
 * the caller can try it first next time; a forked start cannot know. */
static void
test_path_used(void)
{
	char			*argv[] = { S("true"), NULL };
	char			*envp[] = { S("PATH=/nonexistent/a:/nonexistent/b:"
				    "/usr/bin:/bin"), NULL };
	struct spawn_spec	 sp;
	char			*cause = NULL;
	pid_t			 pid;
	int			 used = 99, status;

	spec_init(&sp, argv, envp);
	sp.path_used = &used;
	pid = spawn_start(&sp, NULL, &cause);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(wait_child(pid, &status), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
#ifdef SPAWN_USE_FORK
	CU_ASSERT_EQUAL(used, -1);
#else
	CU_ASSERT_EQUAL(used, 2);
	CU_ASSERT_STRING_EQUAL(sp.paths[used], "/usr/bin/true");
#endif
	/* a failed start leaves it alone */
	used = 99;
	argv[0] = S("no-such-program-here");
	spec_release(&sp);
	spec_init(&sp, argv, envp);
	sp.path_used = &used;
	CU_ASSERT_EQUAL(spawn_start(&sp, NULL, &cause), -1);
	CU_ASSERT_EQUAL(used, 99);
	free(cause);
	spec_release(&sp);
}

static void
test_environment(void)
{
	char			*envp[] = { S("A=1"), S("B=two words"),
				    S("EMPTY="),
				    NULL };
	char			*argv[] = { S("/usr/bin/env"), NULL };
	struct spawn_spec	 sp;
	char			*out, *cause;
	int			 st;

	spec_init(&sp, argv, envp);
	out = run_capture(&sp, &st, &cause);
	CU_ASSERT_PTR_NULL(cause);
	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT_STRING_EQUAL(out, "A=1\nB=two words\nEMPTY=\n");
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	free(out);
	spec_release(&sp);

	/* Through PATH from envp, and argv[0] as written. */
	{
		char	*env2[] = { S("PATH=/nonexistent:/usr/bin:/bin"),
			    S("ONLY=me"), NULL };
		char	*argv2[] = { S("sh"), S("-c"),
			    S("echo \"$0 $ONLY\"; env"),
			    NULL };

		spec_init(&sp, argv2, env2);
		out = run_capture(&sp, &st, &cause);
		CU_ASSERT_FATAL(out != NULL);
		/* sh adds PWD (and maybe more): ours are there, no other
		 * variable of the parent is. */
		CU_ASSERT(strncmp(out, "sh me\n", 6) == 0);
		CU_ASSERT(strstr(out, "\nONLY=me\n") != NULL);
		CU_ASSERT(strstr(out, "PATH=/nonexistent:/usr/bin:/bin\n") !=
		    NULL);
		CU_ASSERT(strstr(out, "HOME=") == NULL);
		free(out);
		spec_release(&sp);
	}
}

static void
test_only_stdio_open(void)
{
	char			*argv[] = { self, S("--list-fds"), NULL };
	struct spawn_spec	 sp;
	char			*out, *cause;
	int			 extra[4], p[2], st, i;

	/* Descriptors leaked to us without CLOEXEC, low and high. */
	extra[0] = open("/dev/null", O_RDONLY);
	CU_ASSERT_FATAL(pipe(p) == 0);
	extra[1] = p[0];
	extra[2] = p[1];
	extra[3] = dup2(extra[0], 200);
	CU_ASSERT_FATAL(extra[0] >= 3 && extra[3] == 200);

	spec_init(&sp, argv, std_env);
	out = run_capture(&sp, &st, &cause);
	CU_ASSERT_PTR_NULL(cause);
	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT_STRING_EQUAL(out, "0\n1\n2\n");
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	free(out);
	spec_release(&sp);
	for (i = 0; i < 4; i++)
		close(extra[i]);
}

/* The spec's descriptors are already 0..2 of the parent, swapped: a sub
 * process whose 1 and 2 are pipes asks for stdout=2, stderr=1. */
static void
test_stdio_swapped(void)
{
	char			*argv[] = { S("sh"), S("-c"),
				    S("echo out; echo err >&2"), NULL };
	struct spawn_spec	 sp;
	char			*a, *b;
	pid_t			 sub, pid;
	int			 pa[2], pb[2], st;

	CU_ASSERT_FATAL(pipe(pa) == 0 && pipe(pb) == 0);
	sub = fork();
	CU_ASSERT_FATAL(sub != -1);
	if (sub == 0) {
		if (dup2(pa[1], 1) == -1 || dup2(pb[1], 2) == -1)
			_exit(2);
		close(pa[0]); close(pa[1]); close(pb[0]); close(pb[1]);
		spec_init(&sp, argv, std_env);
		sp.stdout_fd = 2;
		sp.stderr_fd = 1;
		pid = spawn_start(&sp, NULL, NULL);
		if (pid == -1)
			_exit(3);
		if (wait_child(pid, &st) != pid || st != 0)
			_exit(4);
		_exit(0);
	}
	close(pa[1]);
	close(pb[1]);
	a = read_all(pa[0]);
	b = read_all(pb[0]);
	close(pa[0]);
	close(pb[0]);
	CU_ASSERT_EQUAL(wait_child(sub, &st), sub);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT_STRING_EQUAL(a, "err\n");	/* fd 1 of sub got stderr */
	CU_ASSERT_STRING_EQUAL(b, "out\n");
	free(a);
	free(b);
}

/* A parent with 0, 1 and 2 closed (a daemon may run so): the error pipe
 * lands on them and must survive the child's dup2s; output still flows. */
static void
test_parent_stdio_closed(void)
{
	char			*argv[] = { S("sh"), S("-c"), S("echo ok"),
				    NULL };
	char			*bad[] = { S("nope-not-here"), NULL };
	struct spawn_spec	 sp;
	char			*out, *cause;
	pid_t			 sub, pid;
	int			 pc[2], st;

	CU_ASSERT_FATAL(pipe(pc) == 0);
	sub = fork();
	CU_ASSERT_FATAL(sub != -1);
	if (sub == 0) {
		close(pc[0]);
		close(0);
		close(1);
		close(2);
		spec_init(&sp, bad, std_env);
		sp.stderr_fd = -1;
		cause = NULL;
		if (spawn_start(&sp, NULL, &cause) != -1)
			_exit(2);
		if (cause == NULL || strcmp(cause, "cannot start node 't': "
		    "execve 'nope-not-here': No such file or directory") != 0)
			_exit(3);
		spec_init(&sp, argv, std_env);
		sp.stdout_fd = pc[1];
		sp.stderr_fd = -1;
		if ((pid = spawn_start(&sp, NULL, NULL)) == -1)
			_exit(4);
		if (wait_child(pid, &st) != pid || st != 0)
			_exit(5);
		_exit(0);
	}
	close(pc[1]);
	out = read_all(pc[0]);
	close(pc[0]);
	CU_ASSERT_EQUAL(wait_child(sub, &st), sub);
	CU_ASSERT(WIFEXITED(st));
	CU_ASSERT_EQUAL(WEXITSTATUS(st), 0);
	CU_ASSERT_STRING_EQUAL(out, "ok\n");
	free(out);
}

static void
test_stdin_devnull(void)
{
	char	*out;
	int	 st;

	out = run_sh("exec readlink /proc/self/fd/0", &st);
	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT_STRING_EQUAL(out, "/dev/null\n");
	free(out);
	out = run_sh("wc -c", &st);
	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT_STRING_EQUAL(out, "0\n");
	free(out);
}

static void
test_session_leader(void)
{
	struct spawn_spec	 sp;
	char			*argv[] = { S("cat"), S("/proc/self/stat"),
				    NULL };
	char			*out, *cause = NULL, comm[64], state;
	pid_t			 pid;
	long			 spid, ppid, pgrp, sid;
	int			 p[2], pidfd, st;

	/* cat is exec'd in the spawned process itself: same pid. */
	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0);
	spec_init(&sp, argv, std_env);
	sp.stdout_fd = p[1];
	pid = spawn_start(&sp, &pidfd, &cause);
	close(p[1]);
	CU_ASSERT_FATAL(pid > 0);
	out = read_all(p[0]);
	close(p[0]);
	CU_ASSERT_EQUAL(sscanf(out, "%ld %63s %c %ld %ld %ld", &spid, comm,
	    &state, &ppid, &pgrp, &sid), 6);
	CU_ASSERT_EQUAL(spid, pid);
	CU_ASSERT_EQUAL(pgrp, pid);
	CU_ASSERT_EQUAL(sid, pid);
	CU_ASSERT_EQUAL(ppid, getpid());
	CU_ASSERT_NOT_EQUAL(getsid(0), pid);
	CU_ASSERT(pidfd >= 0);		/* kernel 6.x has pidfds */
	if (pidfd >= 0) {
		CU_ASSERT(wait_readable(pidfd, 10000));
		close(pidfd);
	}
	CU_ASSERT_EQUAL(wait_child(pid, &st), pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	free(out);
	spec_release(&sp);
}

static void
test_umask(void)
{
	struct spawn_spec	 sp;
	char			*argv[] = { S("sh"), S("-c"),
				    S("umask; : > made"),
				    NULL };
	char			*out, *cause, *path;
	struct stat		 sb;
	int			 st;

	spec_init(&sp, argv, std_env);
	sp.cwd = tmpdir;
	out = run_capture(&sp, &st, &cause);
	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT_STRING_EQUAL(out, "0077\n");
	path = xasprintf("%s/made", tmpdir);
	CU_ASSERT_FATAL(stat(path, &sb) == 0);
	CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
	unlink(path);
	free(path);
	free(out);
	spec_release(&sp);
}

/* A realistic parent: a loop blocks and ignores signals; the node starts
 * with nothing blocked, nothing ignored. */
static void
test_signals_reset(void)
{
	struct loop	*l;
	char		*out, *blk, *ign, *cause = NULL;
	int		 st;

	l = loop_new(&cause);
	CU_ASSERT_FATAL(l != NULL);
	signal(SIGUSR1, SIG_IGN);
	spawn_signals_changed();
	out = run_sh("exec cat /proc/self/status", &st);
	signal(SIGUSR1, SIG_DFL);
	loop_free(l);
	CU_ASSERT_FATAL(out != NULL);
	blk = field(out, "SigBlk");
	ign = field(out, "SigIgn");
	CU_ASSERT_FATAL(blk != NULL && ign != NULL);
	CU_ASSERT_STRING_EQUAL(blk, "0000000000000000");
	CU_ASSERT_STRING_EQUAL(ign, "0000000000000000");
	free(blk);
	free(ign);
	free(out);
}

static void
on_usr2(int sig)
{
	(void)sig;
}

/* A fresh child's /proc/self/status has name with the value want. */
static void
child_status_is(const char *name, const char *want)
{
	char	*out, *v;
	int	 st;

	out = run_sh("exec cat /proc/self/status", &st);
	CU_ASSERT_FATAL(out != NULL);
	v = field(out, name);
	free(out);
	CU_ASSERT_FATAL(v != NULL);
	CU_ASSERT_STRING_EQUAL(v, want);
	free(v);
}

/* The child resets what the parent had not at SIG_DFL when it last looked
 * (the first spawn after spawn_signals_changed): a handler and an ignored
 * signal both come back SIG_DFL; a change nobody announced is not seen,
 * which is how the child is spared a system call a signal. */
static void
test_signals_snapshot(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	CU_ASSERT_FATAL(sigaction(SIGUSR2, &sa, NULL) == 0);
	signal(SIGURG, SIG_IGN);
	spawn_signals_changed();
	child_status_is("SigIgn", "0000000000000000");
	child_status_is("SigCgt", "0000000000000000");

	/* not announced: SIGWINCH (28, bit 27) stays ignored in the child */
	signal(SIGWINCH, SIG_IGN);
	child_status_is("SigIgn", "0000000008000000");

	/* announced: reset again */
	spawn_signals_changed();
	child_status_is("SigIgn", "0000000000000000");

	signal(SIGUSR2, SIG_DFL);
	signal(SIGURG, SIG_DFL);
	signal(SIGWINCH, SIG_DFL);
	spawn_signals_changed();
}

static void
test_no_new_privs(void)
{
	char	*out, *v;
	int	 st;

	out = run_sh("exec cat /proc/self/status", &st);
	CU_ASSERT_FATAL(out != NULL);
	v = field(out, "NoNewPrivs");
	CU_ASSERT_FATAL(v != NULL);
	CU_ASSERT_STRING_EQUAL(v, "1");
	free(v);
	free(out);
}

static void
test_rlimit_nofile(void)
{
	struct spawn_spec	 sp;
	char			*argv[] = { S("cat"), S("/proc/self/limits"),
				    NULL };
	char			*out, *cause, *line;
	long			 soft = 0, hard = 0;
	int			 st;

	spec_init(&sp, argv, std_env);
	sp.nrlimits = 1;
	sp.rlimits[0].resource = RLIMIT_NOFILE;
	sp.rlimits[0].lim.rlim_cur = 64;
	sp.rlimits[0].lim.rlim_max = 65;
	out = run_capture(&sp, &st, &cause);
	CU_ASSERT_FATAL(out != NULL);
	line = strstr(out, "Max open files");
	CU_ASSERT_FATAL(line != NULL);
	CU_ASSERT_EQUAL(sscanf(line, "Max open files %ld %ld", &soft, &hard),
	    2);
	CU_ASSERT_EQUAL(soft, 64);
	CU_ASSERT_EQUAL(hard, 65);
	free(out);
	spec_release(&sp);
}

static void
test_rlimit_fsize(void)
{
	struct spawn_spec	 sp;
	char			*argv[] = { S("head"), S("-c"), S("100000"),
				    S("/dev/zero"), NULL };
	char			*path;
	struct stat		 sb;
	pid_t			 pid;
	int			 fd, st;

	path = xasprintf("%s/big", tmpdir);
	fd = open(path, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd != -1);
	spec_init(&sp, argv, std_env);
	sp.stdout_fd = fd;
	sp.nrlimits = 1;
	sp.rlimits[0].resource = RLIMIT_FSIZE;
	sp.rlimits[0].lim.rlim_cur = 4096;
	sp.rlimits[0].lim.rlim_max = 4096;
	pid = spawn_start(&sp, NULL, NULL);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(wait_child(pid, &st), pid);
	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGXFSZ);
	CU_ASSERT(fstat(fd, &sb) == 0 && sb.st_size == 4096);
	/* The spec's descriptor is the caller's: still open. */
	CU_ASSERT(fcntl(fd, F_GETFD) != -1);
	close(fd);
	unlink(path);
	free(path);
	spec_release(&sp);
}

static void
test_rlimit_cpu(void)
{
	struct spawn_spec	 sp;
	char			*argv[] = { S("sh"), S("-c"),
				    S("while :; do :; done"),
				    NULL };
	pid_t			 pid;
	int			 st;

	spec_init(&sp, argv, std_env);
	sp.nrlimits = 1;
	sp.rlimits[0].resource = RLIMIT_CPU;
	sp.rlimits[0].lim.rlim_cur = 1;
	sp.rlimits[0].lim.rlim_max = 2;
	pid = spawn_start(&sp, NULL, NULL);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(wait_child(pid, &st), pid);
	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGXCPU);
	spec_release(&sp);
}

static void
test_rlimit_invalid(void)
{
	struct spawn_spec	 sp;
	char			*argv[] = { S("true"), NULL };
	char			*msg;
	int			 err;

	spec_init(&sp, argv, std_env);
	sp.node = "x";
	sp.nrlimits = 2;
	sp.rlimits[0].resource = RLIMIT_CORE;
	sp.rlimits[0].lim.rlim_cur = 0;
	sp.rlimits[0].lim.rlim_max = 0;
	sp.rlimits[1].resource = RLIMIT_AS;
	sp.rlimits[1].lim.rlim_cur = 2 << 20;
	sp.rlimits[1].lim.rlim_max = 1 << 20;
	msg = start_error(&sp, &err);
	CU_ASSERT_FATAL(msg != NULL);
	CU_ASSERT_STRING_EQUAL(msg,
	    "cannot start node 'x': setrlimit(RLIMIT_AS): Invalid argument");
	CU_ASSERT_EQUAL(err, EINVAL);
	free(msg);
	spec_release(&sp);
}

static void
test_exec_errors(void)
{
	struct spawn_spec	 sp;
	char			*argv1[] = { S("pyhton3-not-here"), NULL };
	char			*argv2[] = { S("/nope/prog"), NULL };
	char			*argv3[] = { NULL, NULL };
	char			*argv4[] = { S("plain"), NULL };
	char			*argv5[] = { S("true"), NULL };
	char			*env4[3];
	char			*msg, *exp, *file;
	int			 fd, err, st;

	/* Missing, found through PATH. */
	spec_init(&sp, argv1, std_env);
	sp.node = "x";
	msg = start_error(&sp, &err);
	CU_ASSERT_FATAL(msg != NULL);
	CU_ASSERT_STRING_EQUAL(msg, "cannot start node 'x': execve "
	    "'pyhton3-not-here': No such file or directory");
	CU_ASSERT_EQUAL(err, ENOENT);
	free(msg);
	spec_release(&sp);
	/* The failed child was reaped by spawn_start. */
	CU_ASSERT_EQUAL(waitpid(-1, &st, WNOHANG), -1);
	CU_ASSERT_EQUAL(errno, ECHILD);

	/* Missing absolute path. */
	spec_init(&sp, argv2, std_env);
	sp.node = "y";
	msg = start_error(&sp, &err);
	CU_ASSERT_FATAL(msg != NULL);
	CU_ASSERT_STRING_EQUAL(msg, "cannot start node 'y': execve "
	    "'/nope/prog': No such file or directory");
	free(msg);
	spec_release(&sp);

	/* A file that is not executable. */
	file = xasprintf("%s/plain", tmpdir);
	fd = open(file, O_WRONLY|O_CREAT|O_TRUNC, 0644);
	CU_ASSERT_FATAL(fd != -1);
	CU_ASSERT(write(fd, "#!/bin/sh\nexit 0\n", 17) == 17);
	close(fd);
	argv3[0] = file;
	spec_init(&sp, argv3, std_env);
	sp.node = "z";
	msg = start_error(&sp, &err);
	CU_ASSERT_FATAL(msg != NULL);
	exp = xasprintf("cannot start node 'z': execve '%s': "
	    "Permission denied", file);
	CU_ASSERT_STRING_EQUAL(msg, exp);
	CU_ASSERT_EQUAL(err, EACCES);
	free(exp);
	free(msg);
	spec_release(&sp);

	/* Through PATH: EACCES on the first candidate beats a later ENOENT,
	 * as with execvp. */
	env4[0] = xasprintf("PATH=%s:/nonexistent", tmpdir);
	env4[1] = NULL;
	spec_init(&sp, argv4, env4);
	sp.node = "w";
	msg = start_error(&sp, &err);
	CU_ASSERT_FATAL(msg != NULL);
	CU_ASSERT_STRING_EQUAL(msg, "cannot start node 'w': execve "
	    "'plain': Permission denied");
	free(msg);
	spec_release(&sp);
	free(env4[0]);
	unlink(file);
	free(file);

	/* A bad working directory. */
	spec_init(&sp, argv5, std_env);
	sp.node = "x";
	sp.cwd = "/nope";
	msg = start_error(&sp, &err);
	CU_ASSERT_FATAL(msg != NULL);
	CU_ASSERT_STRING_EQUAL(msg, "cannot start node 'x': chdir '/nope': "
	    "No such file or directory");
	free(msg);
	spec_release(&sp);

	/* And the same spec without the cwd starts. */
	spec_init(&sp, argv5, std_env);
	msg = start_error(&sp, &err);
	CU_ASSERT_PTR_NULL(msg);
	spec_release(&sp);
	CU_ASSERT_EQUAL(waitpid(-1, &st, WNOHANG), -1);
}

/* A middle process spawns a node that sleeps, then is killed: the node must
 * die (PR_SET_PDEATHSIG). We are its subreaper, so we see how it died. */
static void
pdeathsig_case(int set_ids)
{
	char			*argv[] = { S("sleep"), S("100"), NULL };
	struct spawn_spec	 sp;
	pid_t			 middle, node = -1;
	int			 p[2], st, nodefd, dead;

	CU_ASSERT_FATAL(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0);
	CU_ASSERT_FATAL(pipe(p) == 0);
	middle = fork();
	CU_ASSERT_FATAL(middle != -1);
	if (middle == 0) {
		close(p[0]);
		spec_init(&sp, argv, std_env);
		sp.cwd = "/";
		if (set_ids) {
			sp.set_ids = true;
			sp.uid = 65534;
			sp.gid = 65534;
		}
		node = spawn_start(&sp, NULL, NULL);
		if (write(p[1], &node, sizeof node) != sizeof node)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	CU_ASSERT_FATAL(read(p[0], &node, sizeof node) == sizeof node);
	close(p[0]);
	CU_ASSERT_FATAL(node > 0);
	nodefd = pidfd_of(node);
	CU_ASSERT_FATAL(nodefd >= 0);
	CU_ASSERT_EQUAL(kill(middle, 0), 0);
	CU_ASSERT_FALSE(wait_readable(nodefd, 0));	/* alive */

	CU_ASSERT_EQUAL(kill(middle, SIGKILL), 0);
	CU_ASSERT_EQUAL(wait_child(middle, &st), middle);
	dead = wait_readable(nodefd, 10000);
	CU_ASSERT(dead);
	if (!dead)
		kill(node, SIGKILL);	/* do not hang on a failure */
	close(nodefd);
	/* Reparented to us: we can see it was SIGKILL. */
	CU_ASSERT_EQUAL(wait_child(node, &st), node);
	CU_ASSERT(dead && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

static void
test_pdeathsig(void)
{
	pdeathsig_case(0);
}

/* setuid clears the parent-death signal: spawn sets it again. */
static void
test_pdeathsig_set_ids(void)
{
	if (geteuid() != 0) {
		printf("skipped: not root, cannot switch ids ");
		return;
	}
	pdeathsig_case(1);
}

static void
test_kill_group(void)
{
	char			*argv[] = { S("sh"), S("-c"),
				    S("sleep 100 & echo $!; exec sleep 101"),
				    NULL };
	struct spawn_spec	 sp;
	char			 buf[64], path[64], *stat, *p;
	pid_t			 pid, bg;
	size_t			 len = 0;
	ssize_t			 r;
	long			 pgrp = 0;
	int			 pp[2], bgfd, pidfd, st, fd;

	CU_ASSERT_FATAL(pipe2(pp, O_CLOEXEC) == 0);
	spec_init(&sp, argv, std_env);
	sp.stdout_fd = pp[1];
	pid = spawn_start(&sp, &pidfd, NULL);
	close(pp[1]);
	CU_ASSERT_FATAL(pid > 0);
	/* One line: the background sleep's pid (the pipe stays open). */
	while (len < sizeof buf - 1 && memchr(buf, '\n', len) == NULL) {
		r = read(pp[0], buf + len, sizeof buf - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	bg = (pid_t)strtol(buf, NULL, 10);
	CU_ASSERT_FATAL(bg > 0);
	bgfd = pidfd_of(bg);
	CU_ASSERT_FATAL(bgfd >= 0);

	/* The grandchild is in the node's group. */
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)bg);
	fd = open(path, O_RDONLY|O_CLOEXEC);
	CU_ASSERT_FATAL(fd != -1);
	stat = read_all(fd);
	close(fd);
	p = strrchr(stat, ')');
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(sscanf(p + 1, " %*c %*d %ld", &pgrp), 1);
	CU_ASSERT_EQUAL(pgrp, pid);
	free(stat);

	CU_ASSERT_EQUAL(spawn_kill_group(pid, SIGKILL), 0);
	if (!wait_readable(pidfd, 10000)) {
		CU_FAIL("the node survived");
		kill(pid, SIGKILL);
	}
	if (!wait_readable(bgfd, 10000)) {
		CU_FAIL("the grandchild survived");
		kill(bg, SIGKILL);
	}
	CU_ASSERT_EQUAL(wait_child(pid, &st), pid);
	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	/* Everything in the group is gone: EOF on the shared pipe. */
	CU_ASSERT(wait_readable(pp[0], 10000));
	CU_ASSERT_EQUAL(read(pp[0], buf, sizeof buf), 0);
	/* The group is empty now: not an error. */
	CU_ASSERT_EQUAL(spawn_kill_group(pid, SIGKILL), 0);
	CU_ASSERT_EQUAL(spawn_kill_group(0, SIGKILL), -1);
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_EQUAL(spawn_kill_group(1, SIGKILL), -1);
	close(bgfd);
	close(pidfd);
	close(pp[0]);
	spec_release(&sp);
}

static void
test_no_fd_leak(void)
{
	struct spawn_spec	 sp, bad;
	char			*argv[] = { S("true"), NULL };
	char			*argv2[] = { S("nope-not-here"), NULL };
	char			*cause;
	pid_t			 pid;
	int			 before, after, i, pidfd, st;

	before = count_fds();
	CU_ASSERT_FATAL(before > 0);
	spec_init(&sp, argv, std_env);
	spec_init(&bad, argv2, std_env);
	for (i = 0; i < 50; i++) {
		pid = spawn_start(&sp, &pidfd, NULL);
		CU_ASSERT_FATAL(pid > 0);
		CU_ASSERT(pidfd >= 0);
		close(pidfd);
		CU_ASSERT_EQUAL(wait_child(pid, &st), pid);
		CU_ASSERT_EQUAL(st, 0);
		cause = NULL;
		CU_ASSERT_EQUAL(spawn_start(&bad, &pidfd, &cause), -1);
		CU_ASSERT_PTR_NOT_NULL(cause);
		free(cause);
	}
	after = count_fds();
	CU_ASSERT_EQUAL(before, after);
	spec_release(&sp);
	spec_release(&bad);
}

static void
test_set_ids(void)
{
	struct spawn_spec	 sp;
	char			*argv[] = { S("sh"), S("-c"),
				    S("id -u; id -g; id -G"), NULL };
	gid_t			 groups[] = { 65534 };
	char			*out, *cause, *msg;
	int			 st, err;

	spec_init(&sp, argv, std_env);
	sp.cwd = "/";
	sp.set_ids = true;
	sp.uid = 65534;
	sp.gid = 65534;
	sp.groups = groups;
	sp.ngroups = 1;
	if (geteuid() != 0) {
		printf("skipped: not root, only the refusal is checked ");
		msg = start_error(&sp, &err);
		CU_ASSERT_FATAL(msg != NULL);
		CU_ASSERT_STRING_EQUAL(msg, "cannot start node 't': "
		    "setgroups: Operation not permitted");
		free(msg);
		spec_release(&sp);
		return;
	}
	out = run_capture(&sp, &st, &cause);
	CU_ASSERT_PTR_NULL(cause);
	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT_STRING_EQUAL(out, "65534\n65534\n65534\n");
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	free(out);

	/* No supplementary groups at all. */
	sp.groups = NULL;
	sp.ngroups = 0;
	sp.uid = 1000;
	sp.gid = 1001;
	out = run_capture(&sp, &st, &cause);
	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT_STRING_EQUAL(out, "1000\n1001\n1001\n");
	free(out);
	spec_release(&sp);
}

/* ---- main -------------------------------------------------------------- */

/* Run as a node by test_only_stdio_open: print our open descriptors. */
static int
list_fds(void)
{
	int	fd;

	for (fd = 0; fd < 1024; fd++) {
		if (fcntl(fd, F_GETFD) != -1)
			printf("%d\n", fd);
	}
	return (0);
}

static int
rm_tmpdir(void)
{
	char	*cmd;
	int	 r;

	cmd = xasprintf("rm -rf '%s'", tmpdir);
	r = system(cmd);
	free(cmd);
	return (r);
}

/* in_cgroup: the child is in the cgroup from the start (it reads its own
 * /proc/self/cgroup); a cgroup that is gone is a clear start failure. */
static void
test_in_cgroup(void)
{
	struct cgroup_host	 h;
	char			*argv[] = { S("/bin/cat"), S("/proc/self/cgroup"),
				    NULL };
	struct spawn_spec	 sp;
	char			*dir, *want, *out, *cause = NULL;
	int			 fd, st;

	cgroup_probe(&h);
	if (h.dir == NULL || !h.writable) {
		printf("\n  skipped: no writable cgroup v2 here (%s)\n",
		    h.why != NULL ? h.why : "?");
		cgroup_host_release(&h);
		return;
	}
	dir = xasprintf("%s/test_spawn.%ld", h.dir, (long)getpid());
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	spec_init(&sp, argv, std_env);
	sp.in_cgroup = true;
	sp.cgroup_dir = fd;
	out = run_capture(&sp, &st, &cause);
	CU_ASSERT_PTR_NULL(cause);
	CU_ASSERT_FATAL(out != NULL);
	want = xasprintf("0::%s/test_spawn.%ld\n", strcmp(h.self, "/") == 0 ?
	    "" : h.self, (long)getpid());
	CU_ASSERT(strstr(out, want) != NULL);
	free(want);
	free(out);
	/* its cgroup removed under it: the start fails, and says so */
	CU_ASSERT_EQUAL(rmdir(dir), 0);
	CU_ASSERT_EQUAL(spawn_start(&sp, NULL, &cause), -1);
	CU_ASSERT(cause != NULL && strncmp(cause, "cannot start node 't': ",
	    23) == 0);
	free(cause);
	spec_release(&sp);
	close(fd);
	free(dir);
	cgroup_host_release(&h);
}

int
main(int argc, char **argv)
{
	static const struct cunit_test tests[] = {
		{ "resolve as execvp", test_resolve },
		{ "path_used names the candidate", test_path_used },
		{ "exactly the given environment", test_environment },
		{ "only 0, 1, 2 open", test_only_stdio_open },
		{ "stdout and stderr already 2 and 1", test_stdio_swapped },
		{ "parent with 0, 1, 2 closed", test_parent_stdio_closed },
		{ "stdin is /dev/null", test_stdin_devnull },
		{ "session and group leader", test_session_leader },
		{ "umask 077", test_umask },
		{ "signals reset", test_signals_reset },
		{ "signals looked at once", test_signals_snapshot },
		{ "no new privileges", test_no_new_privs },
		{ "RLIMIT_NOFILE", test_rlimit_nofile },
		{ "RLIMIT_FSIZE", test_rlimit_fsize },
		{ "RLIMIT_CPU", test_rlimit_cpu },
		{ "bad rlimit message", test_rlimit_invalid },
		{ "exec errors", test_exec_errors },
		{ "parent death kills the node", test_pdeathsig },
		{ "parent death with set_ids", test_pdeathsig_set_ids },
		{ "kill group and grandchildren", test_kill_group },
		{ "no descriptor leak", test_no_fd_leak },
		{ "set_ids", test_set_ids },
		{ "started in its cgroup", test_in_cgroup },
		{ NULL, NULL }
	};
	ssize_t		n;
	int		rc;

	if (argc == 2 && strcmp(argv[1], "--list-fds") == 0)
		return (list_fds());

	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0 || (size_t)n >= sizeof self - 1)
		return (1);
	self[n] = '\0';
	if (mkdtemp(tmpdir) == NULL)
		return (1);

	rc = cunit_run("spawn", NULL, NULL, tests);
	rm_tmpdir();
	return (rc);
}
