/*
 * The spawner: how `watch` starts a supervisor without an exec.
 *
 * Exec'ing dagexec for every job costs about 4 ms before the supervisor
 * runs a line (the dynamic linking of its twenty libraries and their
 * initialisation). So `watch` execs itself once, as `dagexec __spawner`: a
 * small single-threaded process that has nothing of the daemon in memory.
 * For each job the daemon sends it the supervisor's ids, arguments,
 * environment and descriptors; the spawner makes a fork-like clone with
 * CLONE_PARENT, so that the supervisor is the daemon's own child (its exit
 * status and its pidfd are the daemon's, with no window in which its pid
 * could be reaped and reused), and that child drops every id to the
 * owner's and runs the supervisor directly. Fork-like means without
 * CLONE_VM: the child has a copy of the spawner's memory and returns from
 * the system call on its own copy of the stack.
 *
 * A supervisor's command line is written over the spawner's: the spawner
 * is exec'd with room for it (a padding argument), so that ps(1) shows
 * each supervisor as `dagexec __supervise --spool SPOOL ...`.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bundle.h"
#include "cmd.h"
#include "log.h"
#include "spawner.h"
#include "supervisor.h"
#include "xmalloc.h"

#define SPAWNER_FD		3	/* the spawner's end of its socket */
#define SPAWNER_MSG_MAX		(256u << 10)	/* one request */
#define SPAWNER_REPLY_MS	10000	/* for a reply, before giving up on
					   the spawner */
#define SPAWNER_TITLE_ROOM	1024	/* bytes of command line kept for a
					   supervisor's */
#define SPAWNER_MAGIC		0x64677370u

extern char **environ;

struct spawner {
	pid_t	 pid;
	int	 sock;
};

/* A request on the wire: this header, then ngroups gid_t, then nargv and
 * nenv NUL-terminated strings; the descriptors (control socket, lock, and
 * the dropped file when there is one) ride along as SCM_RIGHTS. */
struct spawner_hdr {
	uint32_t	magic;
	uint32_t	drop;
	uint32_t	uid;
	uint32_t	gid;
	uint32_t	ngroups;
	uint32_t	nargv;
	uint32_t	nenv;
	uint32_t	nfds;
};

/* ---- the daemon's side -------------------------------------------------- */

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
spawner_exec(int sock, const char *spool, char *pad)
{
	char *argv[] = { (char *)(uintptr_t)"dagexec",
	    (char *)(uintptr_t)"__spawner", (char *)(uintptr_t)"--spool",
	    (char *)(uintptr_t)spool, pad, NULL };
	sigset_t none;

	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(sock, SPAWNER_FD) < 0)
		_exit(126);
	(void)syscall(SYS_close_range, SPAWNER_FD + 1, ~0U, 0);
	execve("/proc/self/exe", argv, environ);
	_exit(127);
}

/* Start the spawner; NULL with *cause when it cannot be started. */
static struct spawner *
spawner_start(const char *spool, char **cause)
{
	struct spawner *s;
	char *pad;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		*cause = xasprintf("socketpair: %s", strerror(errno));
		return NULL;
	}
	/* the room a supervisor's command line is written into */
	pad = xmalloc(SPAWNER_TITLE_ROOM + 1);
	memset(pad, ' ', SPAWNER_TITLE_ROOM);
	pad[SPAWNER_TITLE_ROOM] = '\0';
	pid = fork();
	if (pid == 0)
		spawner_exec(sv[1], spool, pad);
	free(pad);
	close(sv[1]);
	if (pid < 0) {
		*cause = xasprintf("fork: %s", strerror(errno));
		close(sv[0]);
		return NULL;
	}
	s = xcalloc(1, sizeof *s);
	s->pid = pid;
	s->sock = sv[0];
	return s;
}

void
spawner_free(struct spawner *s)
{
	if (s == NULL)
		return;
	close(s->sock);		/* it exits on the end of its socket */
	(void)waitpid(s->pid, NULL, 0);
	free(s);
}

static int	spawner_send_ids(struct spawner *, const struct spawner_req *,
    gid_t, const gid_t *, size_t, char *const *);

static void
add_str(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s) + 1;

	while (*len + n > *cap) {
		*cap = *cap * 2 + 256;
		*buf = xreallocarray(*buf, *cap, 1);
	}
	memcpy(*buf + *len, s, n);
	*len += n;
}

/* Send one request: the owner's ids and environment, r's arguments and
 * descriptors; 0 or -1 with errno. */
static int
spawner_send(struct spawner *s, const struct spawner_req *r)
{
	struct passwd *pw;
	gid_t *groups, gid;
	char **envp;
	int ngroups, rc;

	groups = identity(r->uid, r->fgid, &gid, &ngroups, &pw);
	envp = sup_env(r->drop, pw);
	rc = spawner_send_ids(s, r, gid, groups, (size_t)ngroups, envp);
	free(groups);
	strv_free(envp);
	return rc;
}

static int
spawner_send_ids(struct spawner *s, const struct spawner_req *r, gid_t gid,
    const gid_t *groups, size_t ngroups, char *const *envp)
{
	struct spawner_hdr h;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *cm;
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	size_t len, cap, i;
	char *buf;
	int fds[3], nfds = 0, rc;

	memset(&h, 0, sizeof h);
	h.magic = SPAWNER_MAGIC;
	h.drop = r->drop;
	h.uid = (uint32_t)r->uid;
	h.gid = (uint32_t)gid;
	h.ngroups = (uint32_t)ngroups;
	cap = sizeof h + ngroups * sizeof *groups + 4096;
	buf = xmalloc(cap);
	len = sizeof h + ngroups * sizeof *groups;
	if (ngroups > 0)
		memcpy(buf + sizeof h, groups, ngroups * sizeof *groups);
	for (i = 0; r->argv[i] != NULL; i++)
		add_str(&buf, &len, &cap, r->argv[i]);
	h.nargv = (uint32_t)i;
	for (i = 0; envp[i] != NULL; i++)
		add_str(&buf, &len, &cap, envp[i]);
	h.nenv = (uint32_t)i;
	fds[nfds++] = r->sock;
	if (r->lockfd >= 0)
		fds[nfds++] = r->lockfd;
	if (r->lockfd >= 0 && r->filefd >= 0)
		fds[nfds++] = r->filefd;
	h.nfds = (uint32_t)nfds;
	memcpy(buf, &h, sizeof h);
	if (len > SPAWNER_MSG_MAX) {
		free(buf);
		errno = E2BIG;
		return -1;
	}

	memset(&mh, 0, sizeof mh);
	memset(&u, 0, sizeof u);
	iov.iov_base = buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
	do
		rc = (int)sendmsg(s->sock, &mh, MSG_NOSIGNAL);
	while (rc < 0 && errno == EINTR);
	free(buf);
	return rc < 0 ? -1 : 0;
}

/* The spawner's reply: the supervisor's pid, or -1 with *cause. */
static pid_t
spawner_reply(struct spawner *s, char **cause)
{
	struct pollfd pfd = { s->sock, POLLIN, 0 };
	char buf[512];
	ssize_t n;
	long pid;
	int rc;

	do
		rc = poll(&pfd, 1, SPAWNER_REPLY_MS);
	while (rc < 0 && errno == EINTR);
	if (rc <= 0) {
		*cause = xstrdup(rc == 0 ? "the spawner does not answer" :
		    strerror(errno));
		return -1;
	}
	do
		n = recv(s->sock, buf, sizeof buf - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		*cause = xstrdup(n == 0 ? "the spawner is gone" :
		    strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	if (sscanf(buf, "pid %ld", &pid) == 1 && pid > 0)
		return (pid_t)pid;
	*cause = xstrdup(strncmp(buf, "error ", 6) == 0 ? buf + 6 : buf);
	return -1;
}

pid_t
spawner_spawn(struct spawner **sp, const char *spool,
    const struct spawner_req *r, char **cause)
{
	char *why = NULL;
	pid_t pid;
	int tries;

	/* a spawner that died is started again, once a request */
	for (tries = 0; tries < 2; tries++) {
		if (*sp == NULL && (*sp = spawner_start(spool, cause)) == NULL)
			return -1;
		if (spawner_send(*sp, r) != 0) {
			free(why);
			why = xasprintf("cannot reach the spawner: %s",
			    strerror(errno));
			if (errno == E2BIG)
				break;
		} else {
			free(why);
			why = NULL;
			if ((pid = spawner_reply(*sp, &why)) > 0)
				return pid;
			if (strncmp(why, "the spawner", 11) != 0)
				break;	/* it answered: a real failure */
		}
		spawner_free(*sp);
		*sp = NULL;
	}
	*cause = why;
	return -1;
}

/* ---- the spawner's side ------------------------------------------------- */

static int	(*spawner_run)(int, char **);	/* __supervise, __schedule */
static char	*title_start;	/* the command line's memory */
static size_t	 title_room;

/* Write argv over the command line (ps(1), /proc/PID/cmdline), as far as
 * it fits; the rest of the room is zeroed. */
static void
spawner_title(char *const *argv)
{
	size_t off = 0, n, i;

	if (title_start == NULL)
		return;
	memset(title_start, 0, title_room);
	for (i = 0; argv[i] != NULL; i++) {
		n = strlen(argv[i]) + 1;
		if (off + n >= title_room)
			break;
		memcpy(title_start + off, argv[i], n);
		off += n;
	}
}

/*
 * The supervisor, in the clone: its own session, its descriptors on 3, 4
 * and 5, every id the owner's (gid first: once the uid is dropped, root is
 * gone; with every uid non-zero the kernel clears the capabilities), then
 * the supervisor runs. The spawner is single-threaded: anything may be
 * called here.
 */
static void __attribute__((noreturn))
spawner_child(const struct spawner_hdr *h, const gid_t *groups, char **argv,
    char **envp, const int *fds)
{
	sigset_t none;
	int a, b, c = -1, nul, i;

	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)signal(SIGPIPE, SIG_DFL);
	/* its own session: a Ctrl-C at a foreground daemon does not reach
	 * it, and it outlives the daemon */
	if (setsid() < 0)
		_exit(126);
	a = fcntl(fds[0], F_DUPFD, 10);
	/* a schedule's reader comes with its control socket alone */
	b = h->nfds > 1 ? fcntl(fds[1], F_DUPFD, 10) : -1;
	if (h->nfds > 2)
		c = fcntl(fds[2], F_DUPFD, 10);
	if (a < 0 || (h->nfds > 1 && b < 0) || (h->nfds > 2 && c < 0) ||
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
	if (h->drop && (syscall(SYS_setgroups, (size_t)h->ngroups, groups) !=
	    0 || syscall(SYS_setresgid, h->gid, h->gid, h->gid) != 0 ||
	    syscall(SYS_setresuid, h->uid, h->uid, h->uid) != 0))
		_exit(126);
	spawner_title(argv);
	(void)prctl(PR_SET_NAME, "dagexec", 0, 0, 0);
	environ = envp;
	optind = 0;		/* getopt starts afresh */
	for (i = 0; argv[i] != NULL; i++)
		;
	exit(spawner_run(i - 1, argv + 1));
}

/* Split n NUL-terminated strings at *p (up to end) into a new vector. */
static char **
spawner_strv(char **p, const char *end, uint32_t n)
{
	char **v = xcalloc((size_t)n + 1, sizeof *v);
	uint32_t i;
	size_t len;

	for (i = 0; i < n; i++) {
		if (*p >= end || (len = strnlen(*p, (size_t)(end - *p))) ==
		    (size_t)(end - *p)) {
			free(v);
			return NULL;
		}
		v[i] = *p;
		*p += len + 1;
	}
	return v;
}

/* One request: the clone's pid, or -1 with *cause. */
static pid_t
spawner_one(char *buf, size_t len, const int *fds, int nfds, char **cause)
{
	struct spawner_hdr h;
	char **argv = NULL, **envp = NULL, *p, *end = buf + len;
	const gid_t *groups;
	long pid;

	if (len < sizeof h) {
		*cause = xstrdup("short request");
		return -1;
	}
	memcpy(&h, buf, sizeof h);
	if (h.magic != SPAWNER_MAGIC || h.nfds != (uint32_t)nfds ||
	    nfds < 1 || h.ngroups > 65536 || h.nargv < 2 ||
	    len < sizeof h + (size_t)h.ngroups * sizeof(gid_t)) {
		*cause = xstrdup("bad request");
		return -1;
	}
	groups = (const gid_t *)(void *)(buf + sizeof h);
	p = buf + sizeof h + (size_t)h.ngroups * sizeof(gid_t);
	if ((argv = spawner_strv(&p, end, h.nargv)) == NULL ||
	    (envp = spawner_strv(&p, end, h.nenv)) == NULL) {
		free(argv);
		*cause = xstrdup("bad request");
		return -1;
	}
	/* fork-like: no CLONE_VM, no new stack; the daemon is the parent */
	pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL,
	    NULL);
	if (pid == 0)
		spawner_child(&h, groups, argv, envp, fds);
	free(argv);
	free(envp);
	if (pid < 0) {
		*cause = xasprintf("clone: %s", strerror(errno));
		return -1;
	}
	return (pid_t)pid;
}

/* Receive one request; its length, 0 at the end of the socket, -1. */
static ssize_t
spawner_recv(char *buf, size_t size, int *fds, int *nfds)
{
	struct msghdr mh;
	struct iovec iov = { buf, size };
	struct cmsghdr *cm;
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	ssize_t n;
	size_t k;

	memset(&mh, 0, sizeof mh);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof u.buf;
	*nfds = 0;
	do
		n = recvmsg(SPAWNER_FD, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	for (cm = CMSG_FIRSTHDR(&mh); n >= 0 && cm != NULL;
	    cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (k > 3)
			k = 3;
		memcpy(fds, CMSG_DATA(cm), k * sizeof(int));
		*nfds = (int)k;
	}
	if (n > 0 && (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
		errno = EMSGSIZE;
		return -2;
	}
	return n;
}

int
spawner_main(int argc, char **argv, int (*run)(int, char **))
{
	char *buf, *cause, reply[512];
	int fds[3], nfds, k;
	ssize_t n;
	pid_t pid;

	if (argc < 1 || fcntl(SPAWNER_FD, F_GETFD) == -1) {
		fprintf(stderr, "dagexec: __spawner is started by `dagexec "
		    "watch`, not by hand\n");
		return EXIT_USAGE;
	}
	/* the room for supervisors' command lines: argv[0] to the end of
	 * the last argument, contiguous as the kernel laid them out */
	spawner_run = run;
	title_start = argv[0];
	title_room = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) + 1 -
	    argv[0]);
	(void)signal(SIGPIPE, SIG_IGN);
	/* done once here, not once a job */
	bundle_init();
	buf = xmalloc(SPAWNER_MSG_MAX);
	for (;;) {
		n = spawner_recv(buf, SPAWNER_MSG_MAX, fds, &nfds);
		if (n == 0 || (n < 0 && n != -2))
			break;		/* the daemon is gone */
		cause = NULL;
		pid = n < 0 ? -1 : spawner_one(buf, (size_t)n, fds, nfds,
		    &cause);
		if (pid < 0 && cause == NULL)
			cause = xstrdup("request too large");
		for (k = 0; k < nfds; k++)
			close(fds[k]);
		if (pid > 0)
			snprintf(reply, sizeof reply, "pid %ld", (long)pid);
		else
			snprintf(reply, sizeof reply, "error %s", cause);
		free(cause);
		(void)send(SPAWNER_FD, reply, strlen(reply), MSG_NOSIGNAL);
	}
	free(buf);
	return 0;
}
