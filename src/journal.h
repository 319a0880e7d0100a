/* events.log: the append-only journal a job can be resumed from.
 * One line an event: "WALL_MS EVENT key=value key=value...\n", values
 * percent-encoded (%XX for '%', space, '=', control bytes and bytes >= 0x7f)
 * so that a line always splits on spaces. Events are buffered by
 * journal_add; journal_write hands them to the kernel (they then survive the
 * death of the process) and journal_sync also fdatasyncs them (they survive
 * a crash of the machine). The job writes after every scheduling pass and
 * syncs within 100 ms and at its end. */
#ifndef DAGEXEC_JOURNAL_H
#define DAGEXEC_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

struct journal;

/* Open (create, mode 0600) path for appending; a torn last line (no '\n',
 * left by a crash) is cut off first. NULL with *cause on failure. */
struct journal *journal_open(const char *path, char **cause);
/* Sync what is buffered and close. Returns 0 or -1 (with *cause when cause is
 * not NULL). NULL is fine. */
int journal_close(struct journal *j, char **cause);
/* Buffer one event: key/value string pairs follow `event`, ended by NULL.
 * Values may hold any bytes but NUL; a NULL value leaves its pair out. Keys
 * must not be empty. */
void journal_add(struct journal *j, int64_t wall_ms, const char *event, ...)
    __attribute__((sentinel));
/* Write the buffer and fdatasync (skipped when nothing was written since
 * the last one). Returns 0 or -1 with errno and *cause. */
int journal_sync(struct journal *j, char **cause);
/* Write the buffer and have a thread of the journal's fdatasync it, without
 * waiting: the events are durable a moment later. A failure of an earlier
 * such sync is returned here (-1, errno, *cause). journal_sync and
 * journal_close wait for the thread. */
int journal_sync_later(struct journal *j, char **cause);
/* Write the buffer without fdatasync: the events then survive the death of
 * this process (they are in the kernel), not a crash of the machine. */
int journal_write(struct journal *j, char **cause);
/* True when events are buffered or written but not yet synced. */
int journal_unsynced(struct journal *j);

struct journal_field {
	char	*key;
	char	*value;		/* decoded */
};

struct journal_event {
	int			 line;		/* 1-based line in the file */
	int64_t			 wall_ms;
	char			*event;
	struct journal_field	*f;
	size_t			 nf;
};

/* Value of key in ev, or NULL. */
const char *journal_get(const struct journal_event *ev, const char *key);
/* Call cb for each complete line of path, in order; a last line without its
 * newline (torn by a crash) is ignored. A malformed line stops the replay:
 * -1 with EINVAL and *cause "PATH:LINE: malformed event: WHAT". Files
 * over 1 GiB are refused (EFBIG). cb returning non-zero stops it too
 * and is returned. Returns 0 at the end. The event is valid during cb only. */
int journal_replay(const char *path,
    int (*cb)(const struct journal_event *ev, void *arg), void *arg,
    char **cause);
/* The same over a buffer (for the fuzzer and tests); messages say
 * "events.log:LINE: ...". */
int journal_replay_buf(const char *buf, size_t len,
    int (*cb)(const struct journal_event *ev, void *arg), void *arg,
    char **cause);

#endif
