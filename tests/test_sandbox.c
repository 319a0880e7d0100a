/*
 * sandbox.c: Landlock rulesets, applied for real in a forked child (and
 * through spawn_start, as nodes get them), and the URL port an http node's
 * sandbox lets it connect to.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "cunit_main.h"
#include "fsutil.h"
#include "sandbox.h"
#include "spawn.h"
#include "xmalloc.h"

static char	*base, *work, *side, *secret;

static int
setup(void)
{
	char tmpl[] = "/tmp/test_sandbox.XXXXXX";
	int fd;

	if (mkdtemp(tmpl) == NULL)
		return -1;
	base = xstrdup(tmpl);
	work = xasprintf("%s/work", base);
	side = xasprintf("%s/side", base);
	secret = xasprintf("%s/secret", base);
	if (mkdir(work, 0700) != 0 || mkdir(side, 0700) != 0)
		return -1;
	if ((fd = open(secret, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1)
		return -1;
	close(fd);
	return 0;
}

static int
teardown(void)
{
	(void)fs_remove_tree(base, NULL);
	free(base);
	free(work);
	free(side);
	free(secret);
	return 0;
}

/* Landlock here, or say why the tests that need it pass vacuously. */
static bool
have_landlock(void)
{
	if (sandbox_abi() >= 4)
		return true;
	printf("\n  skip: this kernel's Landlock is %d (%s): ABI 4 needed\n",
	    sandbox_abi(), strerror(errno));
	return false;
}

/* An empty spec, and an attempt in the test's work and side directories
 * that connects nowhere else. */
static void
attempt_init(struct sandbox_spec *spec, struct sandbox_attempt *a)
{
	memset(spec, 0, sizeof *spec);
	memset(a, 0, sizeof *a);
	a->workdir = work;
	a->sidedir = side;
	a->connect_port = -1;
}

static void
test_levels(void)
{
	int l;

	CU_ASSERT_PTR_NULL(sandbox_level_name(SANDBOX_UNSET));
	for (l = SANDBOX_ENFORCED; l <= SANDBOX_NONE; l++)
		CU_ASSERT_EQUAL(sandbox_level_parse(sandbox_level_name(
		    (enum sandbox_level)l)), l);
	CU_ASSERT_EQUAL(sandbox_level_parse("enforce"), -1);
	/* the weakest is the largest */
	CU_ASSERT(SANDBOX_NONE > SANDBOX_PARTIAL);
	CU_ASSERT(SANDBOX_PARTIAL > SANDBOX_ENFORCED);
}

static void
test_url_port(void)
{
	CU_ASSERT_EQUAL(sandbox_url_port("http://example.org/x"), 80);
	CU_ASSERT_EQUAL(sandbox_url_port("HTTPS://example.org"), 443);
	CU_ASSERT_EQUAL(sandbox_url_port("http://127.0.0.1:8080/a:b"), 8080);
	CU_ASSERT_EQUAL(sandbox_url_port("http://u:pw@h:81/"), 81);
	CU_ASSERT_EQUAL(sandbox_url_port("http://u:p@w@h?q=1:2"), 80);
	CU_ASSERT_EQUAL(sandbox_url_port("http://[::1]:9000/"), 9000);
	CU_ASSERT_EQUAL(sandbox_url_port("https://[::1]/x"), 443);
	CU_ASSERT_EQUAL(sandbox_url_port("http://h:/x"), 80);
	CU_ASSERT_EQUAL(sandbox_url_port("http://h:0/"), -1);
	CU_ASSERT_EQUAL(sandbox_url_port("http://h:65536/"), -1);
	CU_ASSERT_EQUAL(sandbox_url_port("http://h:+80/"), -1);
	CU_ASSERT_EQUAL(sandbox_url_port("ftp://h/"), -1);
	CU_ASSERT_EQUAL(sandbox_url_port("h:80"), -1);
}

/* A listening TCP socket on 127.0.0.1: its fd, its port in *port. */
static int
listener(int *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	int s;

	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s == -1 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(s, 4) != 0 || getsockname(s, (struct sockaddr *)&a,
	    &len) != 0) {
		if (s != -1)
			close(s);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return s;
}

/* 0 when a TCP connection to 127.0.0.1:port is made, else errno. */
static int
try_connect(int port)
{
	struct sockaddr_in a;
	int s, rc;

	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return errno;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	rc = connect(s, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : errno;
	close(s);
	return rc;
}

/* 0 when path opens with flags (a file made with O_CREAT is removed),
 * else errno. */
static int
try_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0600);

	if (fd == -1)
		return errno;
	close(fd);
	if (flags & O_CREAT)
		unlink(path);
	return 0;
}

/* In a child restricted to fd: each check, one bit of the exit status
 * when it went the wrong way. */
static int
child_checks(int fd, int allowed_port, int denied_port)
{
	char *p;
	int bad = 0;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_landlock_restrict_self, fd, 0) != 0)
		return 255;
	if (try_open(secret, O_RDONLY) != EACCES)
		bad |= 1;
	if (try_open("/usr/bin/env", O_RDONLY) != 0 ||
	    try_open("/etc/passwd", O_RDONLY) != 0)
		bad |= 2;
	p = xasprintf("%s/made", work);
	if (try_open(p, O_WRONLY | O_CREAT | O_EXCL) != 0)
		bad |= 4;
	free(p);
	p = xasprintf("%s/made", side);
	if (try_open(p, O_WRONLY | O_CREAT | O_EXCL) != 0)
		bad |= 4;
	free(p);
	p = xasprintf("%s/escape", base);
	if (try_open(p, O_WRONLY | O_CREAT | O_EXCL) != EACCES)
		bad |= 8;
	free(p);
	if (try_open("/dev/null", O_WRONLY | O_TRUNC) != 0 ||
	    try_open("/dev/urandom", O_RDONLY) != 0 ||
	    try_open("/dev/zero", O_WRONLY) != EACCES)
		bad |= 16;
	if (try_connect(allowed_port) != 0)
		bad |= 32;
	if (try_connect(denied_port) != EACCES)
		bad |= 64;
	return bad;
}

static void
test_strict_applied(void)
{
	struct sandbox_spec spec;
	struct sandbox_attempt a;
	enum sandbox_level level;
	char *warn = NULL, *cause = NULL;
	int fd, s1, s2, p1, p2, status;
	pid_t pid;

	if (!have_landlock())
		return;
	attempt_init(&spec, &a);
	s1 = listener(&p1);
	s2 = listener(&p2);
	CU_ASSERT_FATAL(s1 != -1 && s2 != -1);
	a.connect_port = p1;
	CU_ASSERT_EQUAL_FATAL(sandbox_build(&spec, &a, &fd, &level, &warn,
	    &cause), 0);
	CU_ASSERT(fd > 2);
	CU_ASSERT_EQUAL(level, SANDBOX_ENFORCED);
	CU_ASSERT_PTR_NULL(warn);
	CU_ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	pid = fork();
	CU_ASSERT_FATAL(pid != -1);
	if (pid == 0)
		_exit(child_checks(fd, p1, p2));
	close(fd);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
	if (WEXITSTATUS(status) != 0)
		printf("\n  checks that went wrong: 0x%x\n", WEXITSTATUS(status));
	/* the parent itself is not restricted */
	CU_ASSERT_EQUAL(try_open(secret, O_RDONLY), 0);
	close(s1);
	close(s2);
}

static void
test_listed_paths(void)
{
	struct sandbox_spec spec;
	struct sandbox_attempt a;
	enum sandbox_level level;
	char *warn = NULL, *cause = NULL;
	char *list[3];
	int fd, status;
	pid_t pid;

	if (!have_landlock())
		return;
	attempt_init(&spec, &a);
	/* a file gets file rights only: no EINVAL from the kernel */
	list[0] = secret;
	list[1] = NULL;
	spec.read = list;
	spec.nread = 1;
	CU_ASSERT_EQUAL_FATAL(sandbox_build(&spec, &a, &fd, &level, &warn,
	    &cause), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid != -1);
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		    syscall(SYS_landlock_restrict_self, fd, 0) != 0)
			_exit(2);
		_exit(try_open(secret, O_RDONLY) == 0 &&
		    try_open(secret, O_WRONLY) == EACCES ? 0 : 1);
	}
	close(fd);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* one that does not exist: the sandbox is not what was asked */
	list[1] = xasprintf("%s/nonexistent", base);
	spec.nread = 2;
	CU_ASSERT_EQUAL(sandbox_build(&spec, &a, &fd, &level, &warn, &cause),
	    -1);
	CU_ASSERT_EQUAL(fd, -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, list[1]));
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "'read'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "No such file or directory"));
	free(cause);
	cause = NULL;
	/* with best_effort it is left out and said */
	spec.best_effort = true;
	CU_ASSERT_EQUAL(sandbox_build(&spec, &a, &fd, &level, &warn, &cause),
	    0);
	CU_ASSERT(fd > 2);
	CU_ASSERT_EQUAL(level, SANDBOX_ENFORCED);
	CU_ASSERT_PTR_NOT_NULL_FATAL(warn);
	CU_ASSERT_PTR_NOT_NULL(strstr(warn, list[1]));
	free(warn);
	close(fd);
	/* our own directories must be there, best_effort or not */
	a.workdir = list[1];
	CU_ASSERT_EQUAL(sandbox_build(&spec, &a, &fd, &level, &warn, &cause),
	    -1);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	free(list[1]);
}

/* The values/ directories of an attempt's needs: read, not written; one
 * that does not exist is left out without a word. */
static void
test_values(void)
{
	struct sandbox_spec spec;
	struct sandbox_attempt a;
	enum sandbox_level level;
	char *warn = NULL, *cause = NULL, *dirs[3], *val, *other;
	int fd, status;
	pid_t pid;

	if (!have_landlock())
		return;
	attempt_init(&spec, &a);
	dirs[0] = xasprintf("%s/values", base);
	CU_ASSERT_EQUAL_FATAL(mkdir(dirs[0], 0700), 0);
	free(dirs[0]);
	dirs[0] = xasprintf("%s/values/need", base);
	dirs[1] = xasprintf("%s/values/gone", base);
	dirs[2] = NULL;
	val = xasprintf("%s/key", dirs[0]);
	other = xasprintf("%s/values/other", base);
	CU_ASSERT_EQUAL_FATAL(mkdir(dirs[0], 0700), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(other, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(fs_write_atomic(val, "v", 1, 0600, NULL), 0);
	a.values = dirs;
	a.nvalues = 2;
	CU_ASSERT_EQUAL_FATAL(sandbox_build(&spec, &a, &fd, &level, &warn,
	    &cause), 0);
	CU_ASSERT_EQUAL(level, SANDBOX_ENFORCED);
	CU_ASSERT_PTR_NULL(warn);
	pid = fork();
	CU_ASSERT_FATAL(pid != -1);
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		    syscall(SYS_landlock_restrict_self, fd, 0) != 0)
			_exit(2);
		_exit(try_open(val, O_RDONLY) == 0 &&
		    try_open(val, O_WRONLY) == EACCES &&
		    try_open(other, O_RDONLY | O_DIRECTORY) == EACCES ? 0 : 1);
	}
	close(fd);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(dirs[0]);
	free(dirs[1]);
	free(val);
	free(other);
}

/* spawn_start with the ruleset: the node's program runs restricted. */
static void
test_spawn(void)
{
	struct sandbox_spec spec;
	struct sandbox_attempt a;
	struct spawn_spec sp;
	enum sandbox_level level;
	char *warn = NULL, *cause = NULL, *argv[4], *envp[1] = { NULL };
	char *line, buf[256];
	int fd, pfd[2], status;
	size_t got;
	ssize_t n;
	pid_t pid;

	if (!have_landlock())
		return;
	attempt_init(&spec, &a);
	CU_ASSERT_EQUAL_FATAL(sandbox_build(&spec, &a, &fd, &level, &warn,
	    &cause), 0);
	CU_ASSERT_EQUAL_FATAL(pipe2(pfd, O_CLOEXEC), 0);
	line = xasprintf("cat '%s' 2>/dev/null || echo denied; "
	    "echo x > made && echo wrote", secret);
	argv[0] = xstrdup("/bin/sh");
	argv[1] = xstrdup("-c");
	argv[2] = line;
	argv[3] = NULL;
	memset(&sp, 0, sizeof sp);
	sp.node = "t";
	sp.argv = argv;
	sp.envp = envp;
	sp.cwd = work;
	sp.stdout_fd = pfd[1];
	sp.stderr_fd = -1;
	sp.umask = 077;
	sp.sandbox_fd = fd;
	pid = spawn_start(&sp, NULL, &cause);
	close(pfd[1]);
	close(fd);
	CU_ASSERT_FATAL(pid > 0);
	got = 0;
	while (got < sizeof buf - 1 && (n = read(pfd[0], buf + got,
	    sizeof buf - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(pfd[0]);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_STRING_EQUAL(buf, "denied\nwrote\n");
	if (strcmp(buf, "denied\nwrote\n") != 0)
		printf("\n  the child wrote '%s'\n", buf);
	free(argv[0]);
	free(argv[1]);
	free(line);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "level names", test_levels },
		{ "the port of a URL", test_url_port },
		{ "strict: what a child may and may not", test_strict_applied },
		{ "listed paths: files, missing, best_effort",
		    test_listed_paths },
		{ "the values of needs: read only", test_values },
		{ "spawn_start restricts the child", test_spawn },
		{ NULL, NULL }
	};

	return cunit_run("sandbox", setup, teardown, tests);
}
