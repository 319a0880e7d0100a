/* What cgroup.c and cgroupd.c share: small operations on the files of a
 * cgroup, relative to an open directory of cgroupfs. cgroupfs holds no
 * symbolic links and no files a user can make (only directories, whose
 * files the kernel makes), so paths below an open cgroup directory are
 * taken as they are. Include it nowhere else. */
#ifndef DAGEXEC_CGROUP_INT_H
#define DAGEXEC_CGROUP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"

#define CG_PATH_MAX	512	/* NAME/file below a job's cgroup */

/* Write text to dirfd/path: 0, or -1 with errno. */
int	cg_write(int dirfd, const char *path, const char *text);
/* Read dirfd/path into buf (NUL-terminated): its length, or -1. */
ssize_t	cg_read(int dirfd, const char *path, char *buf, size_t size);
/* The number after "key " at the start of a line of text, or -1. */
int64_t	cg_value(const char *text, const char *key);
/* Controller names ("cpu memory pids io") as CG_* (others ignored). */
unsigned cg_mask(const char *text);
/* CG_* named in dirfd/path (cgroup.controllers, cgroup.subtree_control);
 * 0 when it cannot be read. */
unsigned cg_read_mask(int dirfd, const char *path);
/* Enable the controllers of mask for the children of dirfd, one at a
 * time (one the kernel refuses does not stop the others); what is enabled
 * afterwards. */
unsigned cg_enable(int dirfd, unsigned mask);
/* Disable them again (those of mask). */
void	cg_disable(int dirfd, unsigned mask);
/* 1 when dirfd/name has processes (in it or below), 0 when not, -1 when
 * that cannot be read. */
int	cg_populated(int dirfd, const char *name);
/* cgroup.kill dirfd/name, then wait for it to empty, at most wait_ms.
 * 0 once empty, -1 when it is not (yet) or cannot be killed. */
int	cg_kill_wait(int dirfd, const char *name, int wait_ms);
/* rmdir dirfd/name and the cgroups below it, deepest first: 0, or -1
 * with errno (EBUSY: something still runs there). */
int	cg_remove(int dirfd, const char *name);
/* The children of dirfd other than keep (may be NULL), removed; how many
 * could not be. */
int	cg_remove_children(int dirfd, const char *keep);
/* How many cgroups dirfd has, but keep (may be NULL); -1. */
int	cg_children(int dirfd, const char *keep);
/* Open dirfd/name as a directory (close-on-exec), or -1. */
int	cg_open_dir(int dirfd, const char *name);
/* The cgroup name of a node's attempts, without ".N": the node id with
 * what a cgroup name should not hold as %XX, and one longer than 200
 * bytes cut, with a hash of the whole (FNV-1a) after '~'. Allocated. */
char	*cg_node_name(const char *node);
/* Where our own cgroup is: the cgroup2 mount point (*mount) and our path
 * below its root (*self, "/" or "/a/b"), both allocated; -1 with *why. */
int	cg_locate(char **mount, char **self, char **why);

#endif
