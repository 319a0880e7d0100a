/* Landlock rulesets for nodes: the three system calls through syscall(2),
 * the strict profile, and how much of it this kernel enforces. */
#include "config.h"

#include <sys/stat.h>
#include <sys/syscall.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"
#include "strbuf.h"
#include "xmalloc.h"

/*
 * The kernel's Landlock interface (include/uapi/linux/landlock.h), written
 * out: Debian 12's linux-libc-dev (6.1) stops at ABI 2, and these are
 * fixed by the kernel's ABI. What each ABI version added:
 * 1 the file rights below TRUNCATE; 2 REFER; 3 TRUNCATE; 4 TCP bind and
 * connect; 5 IOCTL_DEV; 6 signal and abstract Unix socket scoping; 7
 * audit logging flags (nothing to enforce).
 */
#ifndef SYS_landlock_create_ruleset	/* headers older than Linux 5.13:
					   the calls fail with ENOSYS */
#define SYS_landlock_create_ruleset	-1L
#define SYS_landlock_add_rule		-1L
#define SYS_landlock_restrict_self	-1L
#endif

#define LL_CREATE_RULESET_VERSION	(1U << 0)
#define LL_RULE_PATH_BENEATH		1
#define LL_RULE_NET_PORT		2

#define LL_FS_EXECUTE		(1ULL << 0)
#define LL_FS_WRITE_FILE	(1ULL << 1)
#define LL_FS_READ_FILE		(1ULL << 2)
#define LL_FS_READ_DIR		(1ULL << 3)
#define LL_FS_MAKE_CHAR		(1ULL << 6)
#define LL_FS_MAKE_BLOCK	(1ULL << 11)
#define LL_FS_ABI1		((1ULL << 13) - 1)	/* bits 0 to 12 */
#define LL_FS_REFER		(1ULL << 13)
#define LL_FS_TRUNCATE		(1ULL << 14)
#define LL_FS_IOCTL_DEV		(1ULL << 15)

#define LL_NET_BIND_TCP		(1ULL << 0)
#define LL_NET_CONNECT_TCP	(1ULL << 1)

#define LL_SCOPE_ABSTRACT_UNIX_SOCKET	(1ULL << 0)
#define LL_SCOPE_SIGNAL			(1ULL << 1)

struct ll_ruleset_attr {
	uint64_t	handled_access_fs;
	uint64_t	handled_access_net;	/* ABI 4 */
	uint64_t	scoped;			/* ABI 6 */
};

struct ll_path_beneath_attr {
	uint64_t	allowed_access;
	int32_t		parent_fd;
} __attribute__((packed));

struct ll_net_port_attr {
	uint64_t	allowed_access;
	uint64_t	port;
};

/* Rights a rule may give a file that is not a directory (the kernel
 * refuses the others there). */
#define SB_FILE_RIGHTS	(LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | \
	LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)
/* Read and execute: the system's directories, 'read' paths. */
#define SB_READ		(LL_FS_READ_FILE | LL_FS_READ_DIR | LL_FS_EXECUTE)
/* Everything but making device nodes (a root node could make one for a
 * disk and read it through its work directory): the work directory, the
 * side-file directory, 'write' paths. */
#define SB_WRITE	(~(LL_FS_MAKE_CHAR | LL_FS_MAKE_BLOCK))

/* The system's part of the strict profile; those that do not exist here
 * are skipped. /lib* is found by listing /. */
static const char *const sb_system_dirs[] = { "/usr", "/bin", "/sbin",
	"/etc", "/proc", NULL };
/* Device files, kept open as the directories. */
static const struct {
	const char	*path;
	uint64_t	 rights;
} sb_system_files[] = {
	{ "/dev/null", LL_FS_READ_FILE | LL_FS_WRITE_FILE | LL_FS_TRUNCATE |
	    LL_FS_IOCTL_DEV },
	{ "/dev/zero", LL_FS_READ_FILE | LL_FS_IOCTL_DEV },
	{ "/dev/urandom", LL_FS_READ_FILE | LL_FS_IOCTL_DEV },
};
/* Opened for each ruleset, through symbolic links: the file it names (on
 * systemd-resolved hosts one in /run) may be replaced at any time. */
#define SB_RESOLV_CONF	"/etc/resolv.conf"

const char *
sandbox_level_name(enum sandbox_level l)
{
	switch (l) {
	case SANDBOX_ENFORCED:
		return "enforced";
	case SANDBOX_PARTIAL:
		return "partial";
	case SANDBOX_NONE:
		return "none";
	case SANDBOX_UNSET:
		break;
	}
	return NULL;
}

int
sandbox_level_parse(const char *s)
{
	int l;

	for (l = SANDBOX_ENFORCED; l <= SANDBOX_NONE; l++)
		if (strcmp(s, sandbox_level_name((enum sandbox_level)l)) == 0)
			return l;
	return -1;
}

int
sandbox_abi(void)
{
	static int abi, err;	/* 0: not asked yet */
	long r;

	if (abi == 0) {
		r = syscall(SYS_landlock_create_ruleset, NULL, 0,
		    LL_CREATE_RULESET_VERSION);
		if (r > 0)
			abi = (int)r;
		else {
			err = r == 0 ? ENOSYS : errno;
			abi = -1;
		}
	}
	if (abi < 0)
		errno = err;
	return abi;
}

/* One ruleset in the making. */
struct sb {
	int		 fd;		/* the ruleset; -1: none */
	int		 abi;
	uint64_t	 fs;		/* the file rights it handles */
	struct strbuf	 missing;	/* what the kernel cannot give, "; "
					   between */
	char		*fatal;		/* one of our own paths failed */
};

static void __attribute__((format(printf, 2, 3)))
sb_missing(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	if (b->missing.len > 0)
		strbuf_lit(&b->missing, "; ");
	strbuf_str(&b->missing, s);
	free(s);
}

/* Allow rights beneath the directory or file fd. 0, or -1 with errno. */
static int
sb_rule(struct sb *b, int fd, bool dir, uint64_t rights)
{
	struct ll_path_beneath_attr pb;

	pb.allowed_access = rights & b->fs;
	if (!dir)
		pb.allowed_access &= SB_FILE_RIGHTS;
	pb.parent_fd = fd;
	if (pb.allowed_access == 0)
		return 0;
	return syscall(SYS_landlock_add_rule, b->fd, LL_RULE_PATH_BENEATH,
	    &pb, 0) == -1 ? -1 : 0;
}

/* Allow rights beneath path (a file: its file rights only). what names
 * the list it came from ("read", "write") for a message, or is NULL for
 * the system's paths (skipped when absent) and for ours (fatal). */
static void
sb_path(struct sb *b, const char *path, uint64_t rights, const char *what,
    bool ours)
{
	struct stat st;
	int fd, err;

	if (b->fd < 0 || b->fatal != NULL)
		return;
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1 ||
	    sb_rule(b, fd, S_ISDIR(st.st_mode), rights) != 0)
		goto fail;
	close(fd);
	return;
fail:
	err = errno;
	if (fd != -1)
		close(fd);
	if (ours)
		b->fatal = xasprintf("sandbox: cannot allow '%s': %s", path,
		    strerror(err));
	else if (what != NULL)
		sb_missing(b, "sandbox: path '%s' ('%s'): %s", path, what,
		    strerror(err));
}

static void
sb_port(struct sb *b, int port, uint64_t rights)
{
	struct ll_net_port_attr np;

	if (b->fd < 0 || b->abi < 4 || b->fatal != NULL)
		return;
	np.allowed_access = rights;
	np.port = (uint64_t)port;
	if (syscall(SYS_landlock_add_rule, b->fd, LL_RULE_NET_PORT, &np, 0) ==
	    -1)
		sb_missing(b, "sandbox: TCP port %d (%s): %s", port,
		    rights == LL_NET_BIND_TCP ? "'bind'" : "'connect'",
		    strerror(errno));
}

/* The system's directories of the strict profile (with /lib, /lib64...:
 * the entries of / that start with "lib") and its device files, opened
 * once (O_PATH, close-on-exec, above 2) and kept for the life of the
 * process: their inodes stay, and a ruleset then costs a dozen opens less.
 * Those that do not exist are left out. */
static struct sb_sys {
	int		 fd;
	bool		 dir;
	uint64_t	 rights;
}		*sb_sys;
static size_t	 sb_nsys, sb_syscap;

static void
sb_system_add(const char *path, bool dir, uint64_t rights)
{
	int fd, hi;

	fd = open(path, O_PATH | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
	if (fd == -1)
		return;		/* not here, or not a directory */
	if (fd <= 2) {
		hi = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		close(fd);
		if ((fd = hi) == -1)
			return;
	}
	xgrow(&sb_sys, &sb_syscap, sb_nsys + 1, sizeof *sb_sys);
	sb_sys[sb_nsys].fd = fd;
	sb_sys[sb_nsys].dir = dir;
	sb_sys[sb_nsys].rights = rights;
	sb_nsys++;
}

static void
sb_system_open(void)
{
	const char *const *p;
	struct dirent *e;
	char *path;
	DIR *d;

	if (sb_sys != NULL)
		return;
	xgrow(&sb_sys, &sb_syscap, 8, sizeof *sb_sys);
	size_t i;

	for (p = sb_system_dirs; *p != NULL; p++)
		sb_system_add(*p, true, SB_READ);
	for (i = 0; i < sizeof sb_system_files / sizeof sb_system_files[0];
	    i++)
		sb_system_add(sb_system_files[i].path, false,
		    sb_system_files[i].rights);
	if ((d = opendir("/")) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "lib", 3) != 0)
			continue;
		path = xasprintf("/%s", e->d_name);
		sb_system_add(path, true, SB_READ);
		free(path);
	}
	closedir(d);
}

/* The ruleset itself, for the kernel's ABI. */
static int
sb_create(struct sb *b)
{
	struct ll_ruleset_attr attr;
	size_t size = sizeof attr.handled_access_fs;
	long fd;

	memset(&attr, 0, sizeof attr);
	b->fs = LL_FS_ABI1;
	if (b->abi >= 2)
		b->fs |= LL_FS_REFER;
	if (b->abi >= 3)
		b->fs |= LL_FS_TRUNCATE;
	if (b->abi >= 5)
		b->fs |= LL_FS_IOCTL_DEV;
	attr.handled_access_fs = b->fs;
	if (b->abi >= 4) {
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
		size = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (b->abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
		size = sizeof attr;
	}
	fd = syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (fd == -1) {
		b->fatal = xasprintf("sandbox: landlock_create_ruleset: %s",
		    strerror(errno));
		return -1;
	}
	b->fd = (int)fd;
	/* the child dup2s over 0..2 before it restricts itself */
	if (b->fd <= 2) {
		fd = fcntl(b->fd, F_DUPFD_CLOEXEC, 3);
		if (fd == -1) {
			b->fatal = xasprintf("sandbox: fcntl: %s",
			    strerror(errno));
			return -1;
		}
		close(b->fd);
		b->fd = (int)fd;
	}
	return 0;
}

static void
sb_rules(struct sb *b, const struct sandbox_spec *spec,
    const struct sandbox_attempt *a)
{
	size_t i;

	sb_system_open();
	for (i = 0; i < sb_nsys && b->fatal == NULL; i++)
		if (sb_rule(b, sb_sys[i].fd, sb_sys[i].dir,
		    sb_sys[i].rights) != 0)
			b->fatal = xasprintf("sandbox: landlock_add_rule: %s",
			    strerror(errno));
	sb_path(b, SB_RESOLV_CONF, LL_FS_READ_FILE, NULL, false);
	sb_path(b, a->workdir, SB_WRITE, NULL, true);
	sb_path(b, a->sidedir, SB_WRITE, NULL, true);
	if (a->exe != NULL)
		sb_path(b, a->exe, SB_READ, NULL, true);
	for (i = 0; i < a->nvalues; i++)
		sb_path(b, a->values[i], LL_FS_READ_FILE | LL_FS_READ_DIR,
		    NULL, false);
	for (i = 0; i < spec->nread; i++)
		sb_path(b, spec->read[i], SB_READ, "read", false);
	for (i = 0; i < spec->nwrite; i++)
		sb_path(b, spec->write[i], SB_WRITE, "write", false);
	for (i = 0; i < spec->nconnect; i++)
		sb_port(b, spec->connect[i], LL_NET_CONNECT_TCP);
	if (a->connect_port > 0)
		sb_port(b, a->connect_port, LL_NET_CONNECT_TCP);
	for (i = 0; i < spec->nbind; i++)
		sb_port(b, spec->bind[i], LL_NET_BIND_TCP);
}

int
sandbox_build(const struct sandbox_spec *spec,
    const struct sandbox_attempt *a, int *fdp, enum sandbox_level *level,
    char **warn, char **cause)
{
	struct sb b;

	memset(&b, 0, sizeof b);
	b.fd = -1;
	*fdp = -1;
	*warn = NULL;
	*level = SANDBOX_ENFORCED;
	b.abi = sandbox_abi();
	if (b.abi < 0) {
		*level = SANDBOX_NONE;
		sb_missing(&b, "sandbox: this kernel has no Landlock (%s)",
		    errno == EOPNOTSUPP ? "not enabled at boot: lsm=" :
		    strerror(errno));
	} else {
		if (b.abi < 4) {
			*level = SANDBOX_PARTIAL;
			sb_missing(&b, "sandbox: this kernel's Landlock (ABI "
			    "%d) has no TCP rules (ABI 4, Linux 6.7)", b.abi);
		}
		if (sb_create(&b) == 0)
			sb_rules(&b, spec, a);
	}
	if (b.fatal != NULL) {
		*cause = b.fatal;
		goto fail;
	}
	if (b.missing.len > 0 && !spec->best_effort) {
		*cause = b.missing.s;
		b.missing.s = NULL;
		goto fail;
	}
	*warn = b.missing.s;
	*fdp = b.fd;
	return 0;
fail:
	free(b.missing.s);
	if (b.fd != -1)
		close(b.fd);
	return -1;
}

int
sandbox_url_port(const char *url)
{
	const char *p = strstr(url, "://"), *end, *at, *colon;
	size_t slen;
	long port;
	char *e;

	if (p == NULL)
		return -1;
	slen = (size_t)(p - url);
	p += 3;
	end = p + strcspn(p, "/?#");
	while ((at = memchr(p, '@', (size_t)(end - p))) != NULL)
		p = at + 1;
	if (*p == '[') {
		if ((p = memchr(p, ']', (size_t)(end - p))) == NULL)
			return -1;
		colon = p + 1 < end && p[1] == ':' ? p + 1 : NULL;
	} else
		colon = memchr(p, ':', (size_t)(end - p));
	if (colon != NULL && colon + 1 < end) {
		if (!isdigit((unsigned char)colon[1]))
			return -1;
		port = strtol(colon + 1, &e, 10);
		if (e != end || port < 1 || port > 65535)
			return -1;
		return (int)port;
	}
	if (slen == 4 && strncasecmp(url, "http", 4) == 0)
		return 80;
	if (slen == 5 && strncasecmp(url, "https", 5) == 0)
		return 443;
	return -1;
}
