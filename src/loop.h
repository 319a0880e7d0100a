/* The event loop: epoll over descriptors, one timerfd for all timers, a
 * signalfd for SIGCHLD/SIGINT/SIGTERM/SIGHUP, and a pidfd per child.
 * Single-threaded; callbacks run from loop_run_once(). No polling: an idle
 * loop sleeps in epoll_wait. */
#ifndef DAGEXEC_LOOP_H
#define DAGEXEC_LOOP_H

#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

struct loop;
struct loop_timer;

typedef void (*loop_fd_cb)(struct loop *l, int fd, uint32_t events, void *arg);
typedef void (*loop_timer_cb)(struct loop *l, void *arg);
typedef void (*loop_signal_cb)(struct loop *l, int signo, void *arg);
/* status as from wait4(2); ru the child's rusage. */
typedef void (*loop_child_cb)(struct loop *l, pid_t pid, int status,
    const struct rusage *ru, void *arg);

/* Monotonic milliseconds (CLOCK_MONOTONIC). */
int64_t loop_now(void);
/* Wall-clock milliseconds since the epoch (CLOCK_REALTIME). */
int64_t loop_wallclock(void);

/* A new loop. Blocks SIGCHLD, SIGINT, SIGTERM, SIGHUP and SIGPIPE (ignored)
 * in the calling thread and reads them through a signalfd. NULL with *cause
 * on failure. */
struct loop *loop_new(char **cause);
/* Close every descriptor the loop owns (not those added with loop_add_fd),
 * cancel the timers, restore the signal mask and SIGPIPE. NULL is fine. Not
 * from a callback. */
void loop_free(struct loop *l);

/* Watch fd for events (EPOLLIN, EPOLLOUT...); the caller keeps the fd and
 * must loop_del_fd before closing it (or close it with loop_close_fd).
 * Returns 0 or -1 with errno. */
int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb,
    void *arg);
/* Stop watching fd (-1 ENOENT if not watched). Safe from any callback, also
 * for an fd whose event is pending in the same turn: it is not delivered. */
int loop_del_fd(struct loop *l, int fd);
/* Forget fd and close it: loop_del_fd, then close. (Closing alone does not
 * take a file out of the epoll set while another process holds it, and one
 * may: a child just spawned keeps its copies of our descriptors for a
 * moment after its exec has already let its vfork parent go on.)
 * Returns what close returns, or -1 with ENOENT when fd is not watched. */
int loop_close_fd(struct loop *l, int fd);

/* Call cb once at monotonic time at_ms (now or past: at the next turn).
 * The handle is valid until the callback runs or loop_timer_cancel. */
struct loop_timer *loop_timer_at(struct loop *l, int64_t at_ms,
    loop_timer_cb cb, void *arg);
/* Cancel a pending timer (NULL is fine). */
void loop_timer_cancel(struct loop *l, struct loop_timer *t);

/* Call cb when signo (one of SIGINT, SIGTERM, SIGHUP; else -1 EINVAL)
 * arrives; cb NULL to stop. */
int loop_on_signal(struct loop *l, int signo, loop_signal_cb cb, void *arg);

/* Reap child pid when it exits: pidfd is watched (the loop takes ownership
 * and closes it); when it becomes readable the child is reaped with wait4 and
 * cb runs once. pidfd may be -1: then the child is reaped on SIGCHLD. On
 * failure (-1) the caller keeps pidfd. */
int loop_watch_child(struct loop *l, pid_t pid, int pidfd, loop_child_cb cb,
    void *arg);

/* Stop watching child pid (its pidfd is closed; it is not reaped, and its
 * callback never runs). 0, or -1 when the loop did not watch it. */
int loop_unwatch_child(struct loop *l, pid_t pid);

/* True when pid is a child the loop watches (and will reap). */
int loop_watches_child(const struct loop *l, pid_t pid);

/* Wait for events (at most timeout_ms; -1 forever) and run their callbacks.
 * Returns the number handled, or -1 with errno on an epoll error. */
int loop_run_once(struct loop *l, int timeout_ms);
/* Run until loop_break. Returns 0, or -1 on an epoll error. */
int loop_run(struct loop *l);
/* Make loop_run return after the current turn. */
void loop_break(struct loop *l);

#endif
