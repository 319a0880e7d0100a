/*
 * cgspawn: the two ways a child can start in a cgroup of its own, timed.
 * Each spawn makes a cgroup below ours, starts /bin/true in it, waits for
 * it, reads its cpu.stat and removes the cgroup, as dagexec does for an
 * attempt:
 *
 *	none	spawn_start, no cgroup (dagexec with --containment rlimits)
 *	vm	spawn_start in the cgroup: clone3(CLONE_VM | CLONE_VFORK |
 *		CLONE_INTO_CGROUP), what dagexec does
 *	join	clone(CLONE_VM | CLONE_VFORK), and the child writes "0" to the
 *		cgroup's cgroup.procs before exec (dagexec's way where clone3
 *		is refused)
 *	clone3	clone3(CLONE_INTO_CGROUP) without CLONE_VM: born in the
 *		cgroup, but the parent's page tables are copied as fork
 *		copies them
 *
 * The parent first touches MB mebibytes, as a supervisor running a large
 * DAG holds memory. Prints the wall time and the CPU time (ours and our
 * children's) a spawn, and the median and 99th percentile of the time the
 * parent is stopped in a spawn (the child's start to its exec), in
 * microseconds.
 *
 * usage: cgspawn none|vm|join|clone3 N MB
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spawn.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
	    stack_size, tls, set_tid, set_tid_size, cgroup;
};

static char true_name[] = "/bin/true";
static char *true_argv[] = { true_name, NULL };
static char *no_env[] = { NULL };
static int procs_fd = -1;

static int
child(void *arg)
{
	(void)arg;
	if (procs_fd != -1 && write(procs_fd, "0", 1) != 1)
		_exit(126);
	execve("/bin/true", true_argv, no_env);
	_exit(127);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_s(void)
{
	struct rusage a, b;

	getrusage(RUSAGE_SELF, &a);
	getrusage(RUSAGE_CHILDREN, &b);
	return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec +
	    b.ru_utime.tv_sec + b.ru_stime.tv_sec) +
	    (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec +
	    b.ru_utime.tv_usec + b.ru_stime.tv_usec) / 1e6;
}

/* Our cgroup's directory, from /proc/self/cgroup and the cgroup2 mount. */
static char *
our_cgroup(void)
{
	char line[4096], mnt[4096], self[4096], *p;
	FILE *fp;

	mnt[0] = self[0] = '\0';
	if ((fp = fopen("/proc/self/mountinfo", "r")) == NULL)
		return NULL;
	while (fgets(line, sizeof line, fp) != NULL)
		if (strstr(line, " - cgroup2 ") != NULL &&
		    sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1)
			break;
	fclose(fp);
	if ((fp = fopen("/proc/self/cgroup", "r")) == NULL)
		return NULL;
	while (fgets(line, sizeof line, fp) != NULL)
		if (strncmp(line, "0::", 3) == 0) {
			snprintf(self, sizeof self, "%s", line + 3);
			self[strcspn(self, "\n")] = '\0';
		}
	fclose(fp);
	if (mnt[0] == '\0' || self[0] == '\0')
		return NULL;
	p = malloc(strlen(mnt) + strlen(self) + 1);
	if (p != NULL)
		sprintf(p, "%s%s", mnt, strcmp(self, "/") == 0 ? "" : self);
	return p;
}

int
main(int argc, char **argv)
{
	static const size_t stack_size = 256 * 1024;
	struct clone3_args ca;
	struct spawn_spec sp;
	double s0, *stop;
	char *stack, *dir, base[4200], name[64], buf[512], *mem;
	double t0, c0, t1, c1;
	size_t mb;
	pid_t pid;
	int n, i, bfd, cfd = -1, st, how, fd;

	if (argc != 4) {
		fprintf(stderr, "usage: cgspawn none|vm|join|clone3 N MB\n");
		return 64;
	}
	how = strcmp(argv[1], "none") == 0 ? 0 : strcmp(argv[1], "join") == 0 ?
	    1 : strcmp(argv[1], "clone3") == 0 ? 2 : -1;
	n = atoi(argv[2]);
	mb = (size_t)atol(argv[3]);
	if (strcmp(argv[1], "vm") == 0)
		how = 3;
	if (how < 0 || n <= 0) {
		fprintf(stderr, "usage: cgspawn none|vm|join|clone3 N MB\n");
		return 64;
	}
	if ((dir = our_cgroup()) == NULL) {
		fprintf(stderr, "cgspawn: no cgroup v2 here\n");
		return 1;
	}
	snprintf(base, sizeof base, "%s/cgspawn.%ld", dir, (long)getpid());
	if (mkdir(base, 0755) != 0 ||
	    (bfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "cgspawn: %s: %s\n", base, strerror(errno));
		return 1;
	}
	stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	mem = mb > 0 ? malloc(mb << 20) : NULL;
	if (stack == MAP_FAILED || (mb > 0 && mem == NULL))
		return 1;
	if (mem != NULL)
		memset(mem, 1, mb << 20);
	if ((stop = calloc((size_t)n, sizeof *stop)) == NULL)
		return 1;
	t0 = now_s();
	c0 = cpu_s();
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof name, "n.%d", i);
		if (how > 0 && (mkdirat(bfd, name, 0755) != 0 ||
		    (cfd = openat(bfd, name, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1))
			goto fail;
		s0 = now_s();
		if (how == 0 || how == 3) {
			memset(&sp, 0, sizeof sp);
			sp.node = "cgspawn";
			sp.argv = true_argv;
			sp.envp = no_env;
			sp.stdout_fd = sp.stderr_fd = -1;
			sp.umask = 077;
			sp.in_cgroup = how == 3;
			sp.cgroup_dir = cfd;
			pid = spawn_start(&sp, NULL, NULL);
		} else if (how == 2) {
			memset(&ca, 0, sizeof ca);
			ca.flags = CLONE_INTO_CGROUP;
			ca.exit_signal = SIGCHLD;
			ca.cgroup = (uint64_t)cfd;
			pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
			if (pid == 0)
				child(NULL);
		} else {
			if (how == 1 && (procs_fd = openat(cfd, "cgroup.procs",
			    O_WRONLY | O_CLOEXEC)) == -1)
				goto fail;
			pid = clone(child, stack + stack_size,
			    CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
			if (procs_fd != -1)
				close(procs_fd);
			procs_fd = -1;
		}
		stop[i] = (now_s() - s0) * 1e6;
		if (pid == -1 || waitpid(pid, &st, 0) != pid || st != 0)
			goto fail;
		if (how > 0) {
			if ((fd = openat(cfd, "cpu.stat", O_RDONLY |
			    O_CLOEXEC)) == -1 || read(fd, buf, sizeof buf) < 0)
				goto fail;
			close(fd);
			close(cfd);
			if (unlinkat(bfd, name, AT_REMOVEDIR) != 0)
				goto fail;
		}
	}
	t1 = now_s();
	c1 = cpu_s();
	qsort(stop, (size_t)n, sizeof *stop, cmp_double);
	printf("  %-7s parent %4zu MiB: %8.1f us a spawn (wall), %7.1f us CPU;"
	    " stopped %6.1f us (median), %8.1f (p99)\n", argv[1], mb,
	    (t1 - t0) / n * 1e6, (c1 - c0) / n * 1e6, stop[n / 2],
	    stop[n * 99 / 100]);
	rmdir(base);
	return 0;
fail:
	fprintf(stderr, "cgspawn: %s: spawn %d: %s\n", argv[1], i,
	    strerror(errno));
	(void)unlinkat(bfd, name, AT_REMOVEDIR);
	rmdir(base);
	return 1;
}
