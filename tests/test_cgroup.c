/*
 * cgroup.c: the parts that need no cgroup (the names a node's attempts'
 * cgroups get, reading the kernel's key-value and controller files, the
 * option and state words), and what the host probe says about itself.
 * Making, joining and killing cgroups is tests/integration/cgroup.sh's,
 * on real processes; here only the clone into a cgroup that the daemon's
 * spawner makes (CLONE_PARENT), where this host has a writable cgroup.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "cgroup.h"
#include "cgroup_int.h"
#include "cunit_main.h"
#include "xmalloc.h"

static void
test_words(void)
{
	enum cgroup_mode m = CGROUP_OFF;

	CU_ASSERT_EQUAL(cgroup_mode_parse("auto", &m), 0);
	CU_ASSERT_EQUAL(m, CGROUP_AUTO);
	CU_ASSERT_EQUAL(cgroup_mode_parse("cgroup", &m), 0);
	CU_ASSERT_EQUAL(m, CGROUP_ON);
	CU_ASSERT_EQUAL(cgroup_mode_parse("rlimits", &m), 0);
	CU_ASSERT_EQUAL(m, CGROUP_OFF);
	CU_ASSERT_EQUAL(cgroup_mode_parse("cgroups", &m), -1);
	CU_ASSERT_EQUAL(cgroup_mode_parse("", &m), -1);
	CU_ASSERT_STRING_EQUAL(containment_name(CONTAIN_CGROUP), "cgroup");
	CU_ASSERT_STRING_EQUAL(containment_name(CONTAIN_NOLIMITS),
	    "cgroup-nolimits");
	CU_ASSERT_STRING_EQUAL(containment_name(CONTAIN_RLIMITS), "rlimits");
	CU_ASSERT_STRING_EQUAL(cgroup_mask_text(0), "none");
	CU_ASSERT_STRING_EQUAL(cgroup_mask_text(CG_PIDS), "pids");
	CU_ASSERT_STRING_EQUAL(cgroup_mask_text(CG_LIMITS), "cpu memory pids");
	CU_ASSERT_EQUAL(cgroup_job_containment(NULL), CONTAIN_RLIMITS);
	CU_ASSERT_EQUAL(cgroup_job_controllers(NULL), 0);
}

static void
test_files(void)
{
	static const char stat[] = "usage_usec 123456\nuser_usec 100000\n"
	    "system_usec 23456\nnr_periods 0\n";
	static const char events[] = "populated 1\nfrozen 0\n";

	CU_ASSERT_EQUAL(cg_value(stat, "usage_usec"), 123456);
	CU_ASSERT_EQUAL(cg_value(stat, "system_usec"), 23456);
	CU_ASSERT_EQUAL(cg_value(stat, "nr_periods"), 0);
	/* a key is a whole word at the start of a line */
	CU_ASSERT_EQUAL(cg_value(stat, "usec"), -1);
	CU_ASSERT_EQUAL(cg_value(stat, "user"), -1);
	CU_ASSERT_EQUAL(cg_value(events, "populated"), 1);
	CU_ASSERT_EQUAL(cg_value(events, "frozen"), 0);
	CU_ASSERT_EQUAL(cg_value("oom 0\noom_kill 3\n", "oom_kill"), 3);
	CU_ASSERT_EQUAL(cg_value("oom 0\noom_kill 3\n", "oom"), 0);
	CU_ASSERT_EQUAL(cg_value("", "oom"), -1);
	CU_ASSERT_EQUAL(cg_value("oom x\n", "oom"), -1);

	CU_ASSERT_EQUAL(cg_mask(""), 0);
	CU_ASSERT_EQUAL(cg_mask("\n"), 0);
	CU_ASSERT_EQUAL(cg_mask("cpuset cpu io memory hugetlb pids rdma "
	    "misc\n"), CG_LIMITS);
	CU_ASSERT_EQUAL(cg_mask("cpuset io\n"), 0);
	CU_ASSERT_EQUAL(cg_mask("memory"), CG_MEMORY);
	CU_ASSERT_EQUAL(cg_mask("pids cpu"), CG_PIDS | CG_CPU);
}

static void
test_names(void)
{
	char *n, *a, *b, *id;
	size_t len;

	/* plain ids and foreach instances keep their names */
	n = cg_node_name("gather-sources");
	CU_ASSERT_STRING_EQUAL(n, "gather-sources");
	free(n);
	n = cg_node_name("train[model=small,seed=1]");
	CU_ASSERT_STRING_EQUAL(n, "train[model=small,seed=1]");
	free(n);
	n = cg_node_name("a.b_c");
	CU_ASSERT_STRING_EQUAL(n, "a.b_c");
	free(n);
	/* what a cgroup name must not hold, or should not, is %XX */
	n = cg_node_name("a/b\nc d%");
	CU_ASSERT_STRING_EQUAL(n, "a%2Fb%0Ac%20d%25");
	free(n);
	n = cg_node_name("caf\xc3\xa9");
	CU_ASSERT_STRING_EQUAL(n, "caf%C3%A9");
	free(n);
	/* a long id is cut, with a hash of all of it: two ids that share
	 * their first 200 bytes still differ */
	id = xmalloc(401);
	memset(id, 'x', 400);
	id[400] = '\0';
	a = cg_node_name(id);
	id[399] = 'y';
	b = cg_node_name(id);
	len = strlen(a);
	CU_ASSERT_EQUAL(len, 200);
	CU_ASSERT_EQUAL(strlen(b), 200);
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	CU_ASSERT_EQUAL(a[183], '~');
	CU_ASSERT_EQUAL(strncmp(a, b, 183), 0);
	free(a);
	free(b);
	free(id);
}

static void
test_probe(void)
{
	struct cgroup_host h;

	cgroup_probe(&h);
	/* a directory only with a mount and our place in it */
	if (h.dir != NULL) {
		CU_ASSERT_PTR_NOT_NULL(h.mount);
		CU_ASSERT_PTR_NOT_NULL(h.self);
		CU_ASSERT_EQUAL(h.self[0], '/');
		CU_ASSERT_EQUAL(strncmp(h.dir, h.mount, strlen(h.mount)), 0);
		/* enabled for the children is a part of what is there */
		CU_ASSERT_EQUAL(h.enabled & ~h.available & CG_LIMITS, 0);
	}
	/* what cannot be had says why */
	if (h.dir == NULL || !h.writable || !h.kill)
		CU_ASSERT_PTR_NOT_NULL(h.why);
	cgroup_host_release(&h);
	CU_ASSERT_PTR_NULL(h.dir);
}

/* The cgroup a process is in (its 0:: line), or "" */
static void
cgroup_of_pid(pid_t pid, char *out, size_t size)
{
	char path[64], line[512];
	FILE *f;

	*out = '\0';
	snprintf(path, sizeof path, "/proc/%ld/cgroup", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(out, size, "%s", line + 3);
		}
	fclose(f);
}

/* The spawner's clone: CLONE_PARENT (the child is its parent's, here
 * ours) into a cgroup from the first instruction, no move after. */
static void
test_clone_parent(void)
{
	struct cgroup_host h;
	char *dir, *rel, seen[512];
	int fd, p[2], status;
	long pid = -1, r;
	pid_t helper;

	cgroup_probe(&h);
	if (h.dir == NULL || !h.writable || !h.clone3) {
		printf("\n  skip: no writable cgroup v2 with clone3 here (%s)",
		    h.why != NULL ? h.why : "clone3 refused");
		cgroup_host_release(&h);
		return;
	}
	dir = xasprintf("%s/dagexec-test-clone-%ld", h.dir, (long)getpid());
	rel = xasprintf("%s%sdagexec-test-clone-%ld", h.self,
	    strcmp(h.self, "/") == 0 ? "" : "/", (long)getpid());
	CU_ASSERT_FATAL(mkdir(dir, 0755) == 0);
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pipe(p) == 0);
	if ((helper = fork()) == 0) {
		r = cgroup_clone(CLONE_PARENT, fd);
		if (r == 0) {
			pause();
			_exit(0);
		}
		r = r > 0 ? r : -errno;
		(void)write(p[1], &r, sizeof r);
		_exit(0);
	}
	CU_ASSERT_FATAL(helper > 0);
	close(p[1]);
	CU_ASSERT_EQUAL(read(p[0], &pid, sizeof pid), (ssize_t)sizeof pid);
	close(p[0]);
	waitpid(helper, NULL, 0);
	CU_ASSERT(pid > 0);
	if (pid <= 0)
		fprintf(stderr, "clone3(CLONE_PARENT | CLONE_INTO_CGROUP): %s\n",
		    strerror((int)-pid));
	if (pid > 0) {
		cgroup_of_pid((pid_t)pid, seen, sizeof seen);
		CU_ASSERT_STRING_EQUAL(seen, rel);
		/* ours, as the daemon's supervisors are the daemon's */
		kill((pid_t)pid, SIGKILL);
		CU_ASSERT_EQUAL(waitpid((pid_t)pid, &status, 0), (pid_t)pid);
		CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	}
	close(fd);
	CU_ASSERT_EQUAL(rmdir(dir), 0);
	free(rel);
	free(dir);
	cgroup_host_release(&h);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "options, state words, masks", test_words },
		{ "cpu.stat, cgroup.events, controller lists", test_files },
		{ "attempt cgroup names", test_names },
		{ "the host probe", test_probe },
		{ "clone with CLONE_PARENT into a cgroup", test_clone_parent },
		{ NULL, NULL }
	};

	return cunit_run("cgroup", NULL, NULL, tests);
}
