#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "xmalloc.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD	77
#endif

int
ctl_send(int fd, int pass_fd, const char *fmt, ...)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr mh;
	struct iovec iov;
	va_list ap;
	char *text;
	int len;
	ssize_t n;

	va_start(ap, fmt);
	len = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (len < 0) {
		errno = ENOMEM;
		return -1;
	}
	if (len > CTL_MAX) {
		free(text);
		errno = EMSGSIZE;
		return -1;
	}
	memset(&mh, 0, sizeof mh);
	iov.iov_base = text;
	iov.iov_len = (size_t)len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (pass_fd >= 0) {
		memset(&cm, 0, sizeof cm);
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof cm.buf;
		cm.hdr.cmsg_level = SOL_SOCKET;
		cm.hdr.cmsg_type = SCM_RIGHTS;
		cm.hdr.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&cm.hdr), &pass_fd, sizeof(int));
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	free(text);
	return n == len ? 0 : -1;
}

ssize_t
ctl_recv(int fd, char *buf, int *got_fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct cmsghdr *c;
	struct msghdr mh;
	struct iovec iov;
	ssize_t n;
	size_t k, nfd;
	int fds[4], reset = 0;

	*got_fd = -1;
	memset(&mh, 0, sizeof mh);
	iov.iov_base = buf;
	iov.iov_len = CTL_MAX;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof cm.buf;
	/* A peer that closed its end with messages of ours unread makes the
	 * kernel report ECONNRESET once, before the messages it sent us
	 * first: those are read all the same, then the end (0). */
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && (errno == EINTR || (errno == ECONNRESET &&
	    !reset++)));
	if (n < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (nfd > 4)
			nfd = 4;
		memcpy(fds, CMSG_DATA(c), nfd * sizeof(int));
		for (k = 0; k < nfd; k++) {
			if (*got_fd < 0)
				*got_fd = fds[k];
			else
				close(fds[k]);
		}
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		if (*got_fd >= 0)
			close(*got_fd);
		*got_fd = -1;
		errno = EMSGSIZE;
		return -1;
	}
	buf[n] = '\0';
	return n;
}

int
ctl_each(int fd, bool (*cb)(void *, int, const char *, int), void *arg)
{
	char *buf = xmalloc(CTL_MAX + 1);
	ssize_t n;
	int got, gone = 0;

	for (;;) {
		n = ctl_recv(fd, buf, &got);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			gone = 1;
			break;
		}
		if (!cb(arg, fd, buf, got))
			break;
	}
	free(buf);
	return gone;
}

static int
ctl_socket(const char *path, struct sockaddr_un *sa, char **cause)
{
	int fd;

	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa->sun_path) {
		*cause = xasprintf("socket path '%s' is too long", path);
		return -1;
	}
	memcpy(sa->sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		*cause = xasprintf("socket: %s", strerror(errno));
	return fd;
}

int
ctl_listen(const char *path, char **cause)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd;

	if ((fd = ctl_socket(path, &sa, cause)) < 0)
		return -1;
	/* only a socket is replaced: anything else there is an error */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    chmod(path, 0666) != 0 || listen(fd, 64) != 0) {
		*cause = xasprintf("cannot listen on '%s': %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
ctl_connect(const char *path, char **cause)
{
	struct sockaddr_un sa;
	int fd;

	if ((fd = ctl_socket(path, &sa, cause)) < 0)
		return -1;
	/* a local SEQPACKET connect completes at once or fails */
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		*cause = xasprintf("cannot connect to '%s': %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
ctl_peer(int fd, pid_t *pid, uid_t *uid, int *pidfd)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	int pfd = -1;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
		return -1;
	*pid = cr.pid;
	*uid = cr.uid;
	len = sizeof pfd;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pfd, &len) != 0)
		pfd = -1;
	else
		(void)fcntl(pfd, F_SETFD, FD_CLOEXEC);
	*pidfd = pfd;
	return 0;
}

bool
ctl_is(const char *msg, const char *verb, const char **rest)
{
	size_t n = strlen(verb);

	if (strncmp(msg, verb, n) != 0 || (msg[n] != '\0' && msg[n] != ' '))
		return false;
	msg += n;
	while (*msg == ' ')
		msg++;
	if (rest != NULL)
		*rest = msg;
	return true;
}
