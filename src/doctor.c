/* What this host gives dagexec, and what a manifest asks for that it
 * lacks (see doctor.h). */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "curlso.h"
#include "doctor.h"
#include "sandbox.h"
#include "spawn.h"
#include "xmalloc.h"

extern char **environ;

/* CAP_SETGID and CAP_SETUID, as numbered in linux/capability.h. */
#define CAP_BIT_SETGID	6
#define CAP_BIT_SETUID	7

static const char *const slurm_cmd[DOCTOR__SLURM] = {
	"sbatch", "squeue", "scancel"
};

/* The first executable regular file name is found as on $PATH, as the
 * slurm executor's exec would find it; NULL when there is none. */
static char *
doctor_which(const char *name)
{
	char **paths = spawn_resolve(name, environ), *found = NULL;
	struct stat st;
	size_t k;

	for (k = 0; paths[k] != NULL && found == NULL; k++)
		if (stat(paths[k], &st) == 0 && S_ISREG(st.st_mode) &&
		    access(paths[k], X_OK) == 0)
			found = xstrdup(paths[k]);
	spawn_free_paths(paths);
	return found;
}

/* CAP_SETUID and CAP_SETGID in our effective set (/proc/self/status);
 * without /proc, whether we are root. */
static bool
doctor_can_setids(void)
{
	unsigned long long eff = 0;
	char line[256];
	bool seen = false;
	FILE *fp;

	if ((fp = fopen("/proc/self/status", "r")) == NULL)
		return geteuid() == 0;
	while (!seen && fgets(line, sizeof line, fp) != NULL)
		seen = sscanf(line, "CapEff: %llx", &eff) == 1;
	fclose(fp);
	if (!seen)
		return geteuid() == 0;
	return (eff & (1ull << CAP_BIT_SETUID)) != 0 &&
	    (eff & (1ull << CAP_BIT_SETGID)) != 0;
}

void
doctor_probe(struct doctor_host *h)
{
	void *lib;
	int fd, k;

	memset(h, 0, sizeof *h);
	if (uname(&h->uts) != 0)
		snprintf(h->uts.sysname, sizeof h->uts.sysname, "?");
	errno = 0;
	h->abi = sandbox_abi();
	h->abi_errno = h->abi < 0 ? errno : 0;
	cgroup_probe(&h->cg);
	fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	h->pidfd = fd >= 0;
	if (fd >= 0)
		close(fd);
	h->setids = doctor_can_setids();
	for (k = 0; k < DOCTOR__SLURM; k++)
		h->slurm[k] = doctor_which(slurm_cmd[k]);
	if ((lib = dlopen(CURLSO_NAME, RTLD_LAZY | RTLD_LOCAL)) != NULL) {
		h->curl = true;
		dlclose(lib);
	}
}

void
doctor_release(struct doctor_host *h)
{
	int k;

	cgroup_host_release(&h->cg);
	for (k = 0; k < DOCTOR__SLURM; k++) {
		free(h->slurm[k]);
		h->slurm[k] = NULL;
	}
}

/* A cgroup a job needs a subtree we can write with cgroup.kill. */
static bool
cgroups_usable(const struct doctor_host *h)
{
	return h->cg.dir != NULL && h->cg.writable && h->cg.kill;
}

/* The controllers a job's attempts would get. */
static unsigned
controllers_usable(const struct doctor_host *h)
{
	return cgroups_usable(h) ? h->cg.available & CG_LIMITS : 0;
}

enum containment
doctor_containment(const struct doctor_host *h)
{
	if (!cgroups_usable(h))
		return CONTAIN_RLIMITS;
	return controllers_usable(h) == CG_LIMITS ? CONTAIN_CGROUP :
	    CONTAIN_NOLIMITS;
}

static bool
slurm_found(const struct doctor_host *h)
{
	int k;

	for (k = 0; k < DOCTOR__SLURM; k++)
		if (h->slurm[k] == NULL)
			return false;
	return true;
}

static void
print_landlock(FILE *fp, const struct doctor_host *h)
{
	if (h->abi >= DOCTOR_ABI_NET)
		fprintf(fp, "landlock     ABI %d: sandbox: enforced (files, "
		    "TCP connect and bind%s)\n", h->abi, h->abi >= 6 ?
		    ", signals and abstract sockets" : "");
	else if (h->abi >= 1)
		fprintf(fp, "landlock     ABI %d (no TCP rules before ABI %d): "
		    "sandbox: fails, or runs partial with best_effort\n",
		    h->abi, DOCTOR_ABI_NET);
	else
		fprintf(fp, "landlock     none (%s): sandbox: fails, or runs "
		    "without one with best_effort\n",
		    h->abi_errno == EOPNOTSUPP ? "built in, not enabled at "
		    "boot (lsm=)" : "not in this kernel");
}

static void
print_cgroup(FILE *fp, const struct doctor_host *h)
{
	const struct cgroup_host *cg = &h->cg;
	const char *cont = containment_name(doctor_containment(h));

	if (cg->mount == NULL)
		fprintf(fp, "cgroup       v2 not mounted (%s): containment: "
		    "%s\n", cg->why != NULL ? cg->why : "no cgroup2 in "
		    "/proc/self/mountinfo", cont);
	else if (cgroups_usable(h))
		fprintf(fp, "cgroup       v2 at %s, ours %s, a subtree we can "
		    "write: containment: %s\n", cg->mount, cg->self, cont);
	else
		fprintf(fp, "cgroup       v2 at %s, ours %s, %s: "
		    "containment: %s\n", cg->mount, cg->self != NULL ?
		    cg->self : "?", cg->why != NULL ? cg->why : "not writable",
		    cont);
	fprintf(fp, "controllers  available: %s; ",
	    cgroup_mask_text(cg->available));
	fprintf(fp, "enabled below ours: %s: ", cgroup_mask_text(cg->enabled));
	if (controllers_usable(h) == CG_LIMITS)
		fprintf(fp, "limits.memory, limits.pids and limits.cpus are "
		    "enforced by the cgroup\n");
	else
		fprintf(fp, "limits.memory is RLIMIT_AS%s%s; limits.pids "
		    "and limits.cpus without their controller fail a node, "
		    "or are dropped with best_effort\n",
		    (controllers_usable(h) & CG_MEMORY) ? " (memory.max: "
		    "this host has the memory controller)" : "",
		    cgroups_usable(h) ? "" : " (no cgroups)");
	fprintf(fp, "kill         cgroup.kill %s, clone3 into a cgroup %s: "
	    "%s\n", cg->kill ? "yes" : "no", cg->clone3 ? "yes" : "no",
	    cgroups_usable(h) ? "an attempt's escaped processes die with it" :
	    "a process that leaves its group outlives its node");
}

static void
print_slurm(FILE *fp, const struct doctor_host *h)
{
	int k;

	if (slurm_found(h)) {
		fprintf(fp, "slurm        %s, %s, %s: executor: slurm submits "
		    "here\n", h->slurm[0], h->slurm[1], h->slurm[2]);
		return;
	}
	fprintf(fp, "slurm        ");
	for (k = 0; k < DOCTOR__SLURM; k++)
		if (h->slurm[k] == NULL)
			fprintf(fp, "%s ", slurm_cmd[k]);
	fprintf(fp, "not found on PATH: executor: slurm nodes fail\n");
}

void
doctor_print(FILE *fp, const struct doctor_host *h)
{
	fprintf(fp, "kernel       %s %s %s\n", h->uts.sysname, h->uts.release,
	    h->uts.machine);
	print_landlock(fp, h);
	print_cgroup(fp, h);
	fprintf(fp, "pidfd        %s\n", h->pidfd ? "yes: a process's end is "
	    "seen at once" : "no: ends are seen through SIGCHLD");
	fprintf(fp, "users        %s\n", h->setids ? "watch can run each file "
	    "as its owner (CAP_SETUID, CAP_SETGID)" : "watch runs only this "
	    "user's files (no CAP_SETUID/CAP_SETGID)");
	print_slurm(fp, h);
	fprintf(fp, "libcurl      %s\n", h->curl ? CURLSO_NAME " loads: http "
	    "nodes and notify work" : CURLSO_NAME " does not load: http "
	    "nodes fail (spawn_error) and notify is not sent");
}

/* The start of a missing line about node n (its id as written). */
static void
missing_at(FILE *fp, const char *file, const struct node *n)
{
	const char *group = node_extra(n)->group;

	fprintf(fp, "missing      %s:%d:%d: node '%s': ", file, n->pos.line,
	    n->pos.col, group != NULL ? group : n->id);
}

/* A sandbox's Landlock and its listed paths; the count missing. */
static int
check_sandbox(FILE *fp, const struct doctor_host *h, const struct node *n,
    const char *file)
{
	const struct sandbox_spec *sb = n->sandbox;
	int missing = 0;
	size_t k, w;

	if (sb == NULL || sb->best_effort)
		return 0;
	if (h->abi < DOCTOR_ABI_NET) {
		missing_at(fp, file, n);
		fprintf(fp, "sandbox needs Landlock ABI %d (TCP rules), this "
		    "host has %s\n", DOCTOR_ABI_NET, h->abi >= 1 ? "less" :
		    "none");
		missing++;
	}
	for (w = 0; w < 2; w++)
		for (k = 0; k < (w ? sb->nwrite : sb->nread); k++) {
			const char *p = w ? sb->write[k] : sb->read[k];
			int err;

			if (access(p, F_OK) == 0)
				continue;
			err = errno;
			missing_at(fp, file, n);
			fprintf(fp, "sandbox path '%s' ('%s'): %s\n", p,
			    w ? "write" : "read", strerror(err));
			missing++;
		}
	return missing;
}

/* limits.pids and limits.cpus without their controllers. */
static int
check_limits(FILE *fp, const struct doctor_host *h, const struct node *n,
    const char *file)
{
	unsigned have = controllers_usable(h), miss = 0;

	if (n->executor == EXECUTOR_SLURM ||
	    node_limit(n, LIMIT_BEST_EFFORT) != 0)
		return 0;
	if (node_limit_set(n, LIMIT_PIDS) && !(have & CG_PIDS))
		miss |= CG_PIDS;
	if (node_limit_set(n, LIMIT_CPUS) && !(have & CG_CPU))
		miss |= CG_CPU;
	if (miss == 0)
		return 0;
	missing_at(fp, file, n);
	if (miss == (CG_PIDS | CG_CPU))
		fprintf(fp, "limits.pids and limits.cpus need the cgroup pids "
		    "and cpu controllers");
	else
		fprintf(fp, "limits.%s needs the cgroup %s controller",
		    miss == CG_PIDS ? "pids" : "cpus",
		    miss == CG_PIDS ? "pids" : "cpu");
	fprintf(fp, " in a subtree we can write with cgroup.kill%s\n",
	    cgroups_usable(h) ? "" : " (here: none)");
	return 1;
}

int
doctor_check(FILE *fp, const struct doctor_host *h, const struct manifest *m,
    const char *file)
{
	const struct node *n;
	size_t i;
	int missing = 0;

	for (i = 0; i < m->nnodes; i++) {
		n = &m->nodes[i];
		/* a foreach's instances share its definition: its first */
		if (node_extra(n)->group != NULL && node_extra(n)->inst > 1)
			continue;
		missing += check_sandbox(fp, h, n, file);
		missing += check_limits(fp, h, n, file);
		if (n->executor == EXECUTOR_SLURM && !slurm_found(h)) {
			missing_at(fp, file, n);
			fprintf(fp, "executor: slurm needs sbatch, squeue and "
			    "scancel on PATH\n");
			missing++;
		}
		if (n->kind == NODE_HTTP && !h->curl) {
			missing_at(fp, file, n);
			fprintf(fp, "an http node needs %s\n", CURLSO_NAME);
			missing++;
		}
	}
	if (m->notify != NULL && !h->curl) {
		fprintf(fp, "missing      %s: notify needs %s\n", file,
		    CURLSO_NAME);
		missing++;
	}
	return missing;
}
