/* CUnit suite for doctor.c: what a host of the test's making gives
 * (hosts this machine is not: no Landlock, an old ABI, no cgroup v2, no
 * cgroup.kill, all three controllers, no Slurm, no libcurl), the lines
 * doctor prints for it, and what a manifest asks for that it lacks. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "cunit_main.h"
#include "diag.h"
#include "doctor.h"
#include "manifest.h"
#include "xmalloc.h"

/* Everything dagexec can use. */
static void
host_full(struct doctor_host *h)
{
	memset(h, 0, sizeof *h);
	strcpy(h->uts.sysname, "Linux");
	strcpy(h->uts.release, "6.9.0");
	strcpy(h->uts.machine, "x86_64");
	h->abi = 6;
	h->cg.mount = xstrdup("/sys/fs/cgroup");
	h->cg.self = xstrdup("/system.slice/dagexec.service");
	h->cg.dir = xstrdup("/sys/fs/cgroup/system.slice/dagexec.service");
	h->cg.writable = true;
	h->cg.available = CG_LIMITS;
	h->cg.kill = true;
	h->cg.clone3 = true;
	h->pidfd = true;
	h->setids = true;
	h->slurm[DOCTOR_SBATCH] = xstrdup("/usr/bin/sbatch");
	h->slurm[DOCTOR_SQUEUE] = xstrdup("/usr/bin/squeue");
	h->slurm[DOCTOR_SCANCEL] = xstrdup("/usr/bin/scancel");
	h->curl = true;
}

/* Nothing of it: an old kernel without cgroup v2, Landlock, libcurl or
 * Slurm. */
static void
host_bare(struct doctor_host *h)
{
	memset(h, 0, sizeof *h);
	strcpy(h->uts.sysname, "Linux");
	strcpy(h->uts.release, "5.4.0");
	strcpy(h->uts.machine, "aarch64");
	h->abi = -1;
	h->abi_errno = ENOSYS;
	h->cg.why = xstrdup("no cgroup2 in /proc/self/mountinfo");
}

/* What fn printed for h (and m), and its result in *rc. */
static char *
printed(const struct doctor_host *h, const struct manifest *m, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	if (m == NULL)
		doctor_print(fp, h);
	else
		*rc = doctor_check(fp, h, m, "t.yaml");
	CU_ASSERT_EQUAL(fclose(fp), 0);
	return buf;
}

static struct manifest *
parse(const char *text)
{
	struct manifest *m = NULL;
	struct diags d;

	diags_init(&d);
	if (manifest_parse("t.yaml", text, strlen(text), &m, &d) != 0)
		diags_print(stderr, "t.yaml", &d);
	diags_release(&d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	return m;
}

/* The number of lines of s holding sub. */
static int
lines_with(const char *s, const char *sub)
{
	const char *p, *e;
	int n = 0;

	for (p = s; *p != '\0'; p = *e != '\0' ? e + 1 : e) {
		e = strchr(p, '\n');
		if (e == NULL)
			e = p + strlen(p);
		if (memmem(p, (size_t)(e - p), sub, strlen(sub)) != NULL)
			n++;
	}
	return n;
}

static void
test_containment(void)
{
	struct doctor_host h;

	host_full(&h);
	CU_ASSERT_EQUAL(doctor_containment(&h), CONTAIN_CGROUP);
	h.cg.available = CG_MEMORY | CG_PIDS;
	CU_ASSERT_EQUAL(doctor_containment(&h), CONTAIN_NOLIMITS);
	h.cg.available = CG_LIMITS;
	h.cg.kill = false;		/* before Linux 5.14: no cgroups */
	CU_ASSERT_EQUAL(doctor_containment(&h), CONTAIN_RLIMITS);
	h.cg.kill = true;
	h.cg.writable = false;
	CU_ASSERT_EQUAL(doctor_containment(&h), CONTAIN_RLIMITS);
	doctor_release(&h);
	host_bare(&h);
	CU_ASSERT_EQUAL(doctor_containment(&h), CONTAIN_RLIMITS);
	doctor_release(&h);
}

/* Every line, in order, each starting with its word. */
static void
test_print_lines(void)
{
	static const char *const words[] = { "kernel ", "landlock ",
	    "cgroup ", "controllers ", "kill ", "pidfd ", "users ", "slurm ",
	    "libcurl ", NULL };
	struct doctor_host h;
	const char *p;
	char *out;
	size_t k;
	int unused;

	host_full(&h);
	out = printed(&h, NULL, &unused);
	for (p = out, k = 0; words[k] != NULL; k++) {
		CU_ASSERT_EQUAL(strncmp(p, words[k], strlen(words[k])), 0);
		p = strchr(p, '\n');
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		p++;
	}
	CU_ASSERT_EQUAL(*p, '\0');
	CU_ASSERT_EQUAL(lines_with(out, "kernel       Linux 6.9.0 x86_64"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "ABI 6: sandbox: enforced"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "a subtree we can write: containment: "
	    "cgroup"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "cgroup-nolimits"), 0);
	CU_ASSERT_EQUAL(lines_with(out, "available: cpu memory pids"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "enforced by the cgroup"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "/usr/bin/sbatch, /usr/bin/squeue, "
	    "/usr/bin/scancel: executor: slurm submits here"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "http nodes and notify work"), 1);
	free(out);
	doctor_release(&h);
}

static void
test_print_bare(void)
{
	struct doctor_host h;
	char *out;
	int unused;

	host_bare(&h);
	out = printed(&h, NULL, &unused);
	CU_ASSERT_EQUAL(lines_with(out, "landlock     none (not in this "
	    "kernel)"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "cgroup       v2 not mounted (no "
	    "cgroup2 in /proc/self/mountinfo): containment: rlimits"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "limits.memory is RLIMIT_AS"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "cgroup.kill no, clone3 into a cgroup "
	    "no: a process that leaves its group outlives its node"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "pidfd        no"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "no CAP_SETUID/CAP_SETGID"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "slurm        sbatch squeue scancel "
	    "not found on PATH"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "does not load"), 1);
	free(out);
	/* Landlock built in but not enabled; an ABI without TCP rules */
	h.abi_errno = EOPNOTSUPP;
	out = printed(&h, NULL, &unused);
	CU_ASSERT_EQUAL(lines_with(out, "not enabled at boot"), 1);
	free(out);
	h.abi = 3;
	out = printed(&h, NULL, &unused);
	CU_ASSERT_EQUAL(lines_with(out, "landlock     ABI 3 (no TCP rules "
	    "before ABI 4): sandbox: fails, or runs partial"), 1);
	free(out);
	/* mounted and writable, without cgroup.kill: no cgroups */
	h.cg.mount = xstrdup("/sys/fs/cgroup");
	h.cg.self = xstrdup("/");
	h.cg.dir = xstrdup("/sys/fs/cgroup");
	h.cg.writable = true;
	h.cg.available = CG_LIMITS;
	free(h.cg.why);
	h.cg.why = xstrdup("the cgroups of '/sys/fs/cgroup' have no "
	    "cgroup.kill (Linux 5.14 or later)");
	out = printed(&h, NULL, &unused);
	CU_ASSERT_EQUAL(lines_with(out, "have no cgroup.kill (Linux 5.14 or "
	    "later): containment: rlimits"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "limits.memory is RLIMIT_AS (no "
	    "cgroups)"), 1);
	free(out);
	doctor_release(&h);
}

/* Every key that depends on the host, asked for once each. */
static const char asks[] =
    "name: t\n"
    "notify: {url: 'http://127.0.0.1:1/x'}\n"
    "nodes:\n"
    "  sb: {run: 'true', sandbox: strict}\n"
    "  lim: {run: 'true', limits: {pids: 10}}\n"
    "  cpu: {run: 'true', limits: {cpus: 0.5}}\n"
    "  sl: {run: 'true', executor: slurm}\n"
    "  web: {http: {url: 'http://127.0.0.1:1/'}}\n"
    "  mem: {run: 'true', limits: {memory: 1G}}\n";

static void
test_check_full(void)
{
	struct doctor_host h;
	struct manifest *m = parse(asks);
	char *out;
	int rc = -1;

	host_full(&h);
	out = printed(&h, m, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	free(out);
	doctor_release(&h);
	manifest_free(m);
}

static void
test_check_bare(void)
{
	struct doctor_host h;
	struct manifest *m = parse(asks);
	char *out;
	int rc = -1;

	host_bare(&h);
	out = printed(&h, m, &rc);
	CU_ASSERT_EQUAL(rc, 6);
	CU_ASSERT_EQUAL(lines_with(out, "missing      "), 6);
	CU_ASSERT_EQUAL(lines_with(out, "t.yaml:4:3: node 'sb': sandbox needs "
	    "Landlock ABI 4 (TCP rules), this host has none"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "t.yaml:5:3: node 'lim': limits.pids "
	    "needs the cgroup pids controller"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "t.yaml:6:3: node 'cpu': limits.cpus "
	    "needs the cgroup cpu controller"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "t.yaml:7:3: node 'sl': executor: "
	    "slurm needs sbatch, squeue and scancel"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "t.yaml:8:3: node 'web': an http node "
	    "needs libcurl"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "t.yaml: notify needs libcurl"), 1);
	/* limits.memory falls back to RLIMIT_AS: never missing */
	CU_ASSERT_EQUAL(lines_with(out, "'mem'"), 0);
	free(out);
	/* an ABI without TCP rules is not enough either */
	h.abi = 3;
	out = printed(&h, m, &rc);
	CU_ASSERT_EQUAL(lines_with(out, "node 'sb': sandbox needs Landlock ABI "
	    "4 (TCP rules), this host has less"), 1);
	free(out);
	doctor_release(&h);
	manifest_free(m);
}

/* best_effort asks for nothing; one of two controllers; a Slurm node's
 * limits are Slurm's; defaults count; a foreach's instances once. */
static void
test_check_cases(void)
{
	static const char text[] =
	    "name: t\n"
	    "defaults: {limits: {pids: 5}}\n"
	    "nodes:\n"
	    "  be:\n"
	    "    run: 'true'\n"
	    "    sandbox: {profile: strict, best_effort: true}\n"
	    "    limits: {pids: 3, cpus: 1, best_effort: true}\n"
	    "  sl: {run: 'true', executor: slurm, limits: {cpus: 2}}\n"
	    "  dflt: {run: 'true'}\n"
	    "  fe:\n"
	    "    foreach: [a, b, c, d]\n"
	    "    run: 'true'\n"
	    "    sandbox: {profile: strict, read: [/nonexistent/doctor]}\n";
	struct doctor_host h;
	struct manifest *m = parse(text);
	char *out;
	int rc = -1;

	host_full(&h);
	h.cg.available = CG_CPU | CG_MEMORY;
	out = printed(&h, m, &rc);
	CU_ASSERT_EQUAL(rc, 3);
	CU_ASSERT_EQUAL(lines_with(out, "'be'"), 0);
	CU_ASSERT_EQUAL(lines_with(out, "'sl'"), 0);
	CU_ASSERT_EQUAL(lines_with(out, "node 'dflt': limits.pids needs"), 1);
	/* the defaults reach the foreach too, and its read path is not
	 * here: its id as written, once */
	CU_ASSERT_EQUAL(lines_with(out, "node 'fe': limits.pids needs"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "t.yaml:10:3: node 'fe': sandbox path "
	    "'/nonexistent/doctor' ('read'): No such file or directory"), 1);
	CU_ASSERT_EQUAL(lines_with(out, "fe["), 0);
	free(out);
	doctor_release(&h);
	manifest_free(m);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "containment", test_containment },
		{ "every line, in order", test_print_lines },
		{ "a host without any of it", test_print_bare },
		{ "a manifest on a host with all of it", test_check_full },
		{ "a manifest on a host with none of it", test_check_bare },
		{ "best_effort, slurm, defaults, foreach", test_check_cases },
		{ NULL, NULL }
	};

	return cunit_run("doctor", NULL, NULL, tests);
}
