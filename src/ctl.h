/* The control channel between `watch` and a job's supervisor: short text
 * messages on a SOCK_SEQPACKET socket (an inherited socket pair, or a
 * connection to SPOOL/ctl), each at most CTL_MAX bytes, one of which may
 * carry an open descriptor. The first word of a message is its verb. */
#ifndef DAGEXEC_CTL_H
#define DAGEXEC_CTL_H

#include <stdbool.h>
#include <sys/types.h>

#define CTL_MAX		65536	/* bytes a message, the NUL not counted */

/* Send one message made from fmt, with the descriptor pass_fd (or -1).
 * Never blocks on a non-blocking socket and never raises SIGPIPE.
 * 0, or -1 with errno (EAGAIN: the peer does not read; EMSGSIZE: over
 * CTL_MAX). */
int ctl_send(int fd, int pass_fd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Receive one message into buf (CTL_MAX + 1 bytes), NUL-terminated; a
 * descriptor that came with it in *got_fd (close-on-exec; -1: none; any
 * further one is closed). Returns the length, 0 at the peer's end, or -1
 * with errno (EAGAIN: nothing yet; EMSGSIZE: a message too long). */
ssize_t ctl_recv(int fd, char *buf, int *got_fd);
/* Receive every message waiting on fd and hand each to cb (msg, and the
 * descriptor that came with it, which cb owns; -1: none); cb returns
 * false when fd is no longer to be read (closed, handed on). Returns 1
 * when the peer is gone (its end, or an error), else 0. */
int ctl_each(int fd, bool (*cb)(void *arg, int fd, const char *msg,
    int got), void *arg);
/* Listen on the socket path (a stale socket there is replaced); mode
 * 0666, since every user's supervisor reconnects here and is known by
 * its credentials. The descriptor, or -1 with *cause. */
int ctl_listen(const char *path, char **cause);
/* Connect to the socket path: a descriptor, or -1 with *cause. */
int ctl_connect(const char *path, char **cause);
/* The peer's credentials and a pidfd of it (-1 when the kernel has no
 * SO_PEERPIDFD). 0, or -1 with errno. */
int ctl_peer(int fd, pid_t *pid, uid_t *uid, int *pidfd);
/* Does the message msg start with the verb verb (a whole word)? Then
 * *rest points past it and its blanks. */
bool ctl_is(const char *msg, const char *verb, const char **rest);

#endif
