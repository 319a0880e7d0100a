/* dagexec doctor: what this host gives a manifest's keys, one line each,
 * and with MANIFEST, whether what it asks for is there. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cgroup.h"
#include "cmd.h"
#include "curlso.h"
#include "diag.h"
#include "manifest.h"
#include "sandbox.h"
#include "xmalloc.h"

/* Landlock's ABI that enforces TCP rules (connect, bind). */
#define DOCTOR_ABI_NET	4

struct host {
	struct utsname	 uts;
	int		 abi;		/* Landlock; -1: none */
	int		 abi_errno;
	struct cgroup_host cg;
	bool		 pidfd;
	bool		 setids;	/* watch can take a file owner's ids */
	char		*slurm[3];	/* sbatch, squeue, scancel, or NULL */
	bool		 curl;		/* libcurl loads (http nodes) */
};

static void
doctor_usage(FILE *fp)
{
	fprintf(fp, "usage: dagexec doctor [MANIFEST]\n\n"
	    "What this host gives dagexec, one line each (kernel, Landlock, "
	    "cgroup v2 and\nits controllers, pidfd and clone3, switching "
	    "users, Slurm, libcurl), with what\nthe manifest keys that "
	    "depend on it do here. Exit 0. With MANIFEST: also what\nit asks "
	    "for that is missing here, and exit 1 when something is.\n");
}

/* The full path of name on $PATH, or NULL. */
static char *
doctor_which(const char *name)
{
	const char *path = getenv("PATH"), *p, *e;
	char *cand;

	if (path == NULL || *path == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = e + 1) {
		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		cand = xasprintf("%.*s/%s", (int)(e - p), e == p ? "." : p,
		    name);
		if (access(cand, X_OK) == 0)
			return cand;
		free(cand);
		if (*e == '\0')
			return NULL;
	}
}

/* CAP_SETUID and CAP_SETGID in our effective set (/proc/self/status). */
static bool
doctor_can_setids(void)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *fp;

	if ((fp = fopen("/proc/self/status", "r")) == NULL)
		return geteuid() == 0;
	while (fgets(line, sizeof line, fp) != NULL)
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(fp);
	return (eff & (1ull << 6)) != 0 && (eff & (1ull << 7)) != 0;
}

static void
host_probe(struct host *h)
{
	static const char *const slurm[3] = { "sbatch", "squeue", "scancel" };
	void *lib;
	int fd, k;

	memset(h, 0, sizeof *h);
	(void)uname(&h->uts);
	errno = 0;
	h->abi = sandbox_abi();
	h->abi_errno = errno;
	cgroup_probe(&h->cg);
	fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	h->pidfd = fd >= 0;
	if (fd >= 0)
		close(fd);
	h->setids = doctor_can_setids();
	for (k = 0; k < 3; k++)
		h->slurm[k] = doctor_which(slurm[k]);
	if ((lib = dlopen(CURLSO_NAME, RTLD_LAZY | RTLD_LOCAL)) != NULL) {
		h->curl = true;
		dlclose(lib);
	}
}

static void
host_release(struct host *h)
{
	int k;

	cgroup_host_release(&h->cg);
	for (k = 0; k < 3; k++)
		free(h->slurm[k]);
}

static void
host_print(const struct host *h)
{
	const struct cgroup_host *cg = &h->cg;
	unsigned need = CG_LIMITS;

	printf("kernel       %s %s %s\n", h->uts.sysname, h->uts.release,
	    h->uts.machine);
	if (h->abi >= DOCTOR_ABI_NET)
		printf("landlock     ABI %d: sandbox: enforced (files, TCP "
		    "connect and bind%s)\n", h->abi, h->abi >= 6 ?
		    ", signals and abstract sockets" : "");
	else if (h->abi >= 1)
		printf("landlock     ABI %d (no TCP rules before ABI %d): "
		    "sandbox: fails, or runs partial with best_effort\n",
		    h->abi, DOCTOR_ABI_NET);
	else
		printf("landlock     none (%s): sandbox: fails, or runs "
		    "without one with best_effort\n",
		    h->abi_errno == EOPNOTSUPP ? "built in, not enabled at "
		    "boot (lsm=)" : "not in this kernel");
	if (cg->mount == NULL)
		printf("cgroup v2    not mounted (%s): containment: rlimits\n",
		    cg->why != NULL ? cg->why : "no cgroup2 in "
		    "/proc/self/mountinfo");
	else
		printf("cgroup v2    %s, ours %s, %s: containment: %s\n",
		    cg->mount, cg->self != NULL ? cg->self : "?",
		    cg->writable ? "a subtree we can write" : cg->why != NULL ?
		    cg->why : "not writable", !cg->writable ? "rlimits" :
		    (cg->available & need) == need ? "cgroup" :
		    "cgroup-nolimits");
	printf("controllers  available: %s; ", cgroup_mask_text(cg->available));
	printf("enabled: %s: ", cgroup_mask_text(cg->enabled));
	if (cg->writable && (cg->available & need) == need)
		printf("limits.memory, limits.pids and limits.cpus enforced "
		    "by the cgroup\n");
	else
		printf("limits.memory is RLIMIT_AS; limits.pids and "
		    "limits.cpus fail a node, or are dropped with "
		    "best_effort\n");
	printf("kill, clone3 cgroup.kill %s, clone3 into a cgroup %s: %s\n",
	    cg->kill ? "yes" : "no", cg->clone3 ? "yes" : "no",
	    cg->kill ? "an attempt's escaped processes die with it" :
	    "a process that leaves its group outlives its node");
	printf("pidfd        %s\n", h->pidfd ? "yes: a process's end is seen "
	    "at once" : "no: ends are seen through SIGCHLD");
	printf("users        %s\n", h->setids ? "watch can run each file as "
	    "its owner (CAP_SETUID, CAP_SETGID)" : "watch runs only this "
	    "user's files (no CAP_SETUID/CAP_SETGID)");
	if (h->slurm[0] != NULL && h->slurm[1] != NULL && h->slurm[2] != NULL)
		printf("slurm        %s, %s, %s: executor: slurm submits "
		    "here\n", h->slurm[0], h->slurm[1], h->slurm[2]);
	else
		printf("slurm        %s%s%s not found: executor: slurm nodes "
		    "fail\n", h->slurm[0] == NULL ? "sbatch " : "",
		    h->slurm[1] == NULL ? "squeue " : "",
		    h->slurm[2] == NULL ? "scancel " : "");
	printf("libcurl      %s\n", h->curl ? CURLSO_NAME " loads: http nodes "
	    "and notify work" : CURLSO_NAME " does not load: http nodes fail "
	    "(spawn_error) and notify is not sent");
}

/* What m asks for that h lacks, one line a node and need; the count. */
static int
manifest_check(const struct host *h, const struct manifest *m,
    const char *file)
{
	const struct cgroup_host *cg = &h->cg;
	const struct node *n;
	bool be, needs_pids, needs_cpus;
	size_t i;
	int missing = 0;

	for (i = 0; i < m->nnodes; i++) {
		n = &m->nodes[i];
		if (n->sandbox != NULL && !n->sandbox->best_effort &&
		    h->abi < DOCTOR_ABI_NET) {
			printf("missing      %s: node '%s': sandbox needs "
			    "Landlock ABI %d, this host has %s\n", file, n->id,
			    DOCTOR_ABI_NET, h->abi >= 1 ? "less" : "none");
			missing++;
		}
		be = (n->limit_set & (1u << LIMIT_BEST_EFFORT)) != 0 &&
		    n->limit[LIMIT_BEST_EFFORT] != 0;
		needs_pids = (n->limit_set & (1u << LIMIT_PIDS)) != 0 && !be;
		needs_cpus = (n->limit_set & (1u << LIMIT_CPUS)) != 0 && !be;
		if ((needs_pids && (!cg->writable ||
		    !(cg->available & CG_PIDS))) || (needs_cpus &&
		    (!cg->writable || !(cg->available & CG_CPU)))) {
			printf("missing      %s: node '%s': limits.%s needs the "
			    "cgroup %s controller in a subtree we can write\n",
			    file, n->id, needs_pids ? "pids" : "cpus",
			    needs_pids ? "pids" : "cpu");
			missing++;
		}
		if (n->executor == EXECUTOR_SLURM && (h->slurm[0] == NULL ||
		    h->slurm[1] == NULL || h->slurm[2] == NULL)) {
			printf("missing      %s: node '%s': executor: slurm "
			    "needs sbatch, squeue and scancel\n", file, n->id);
			missing++;
		}
		if (n->kind == NODE_HTTP && !h->curl) {
			printf("missing      %s: node '%s': an http node needs "
			    "%s\n", file, n->id, CURLSO_NAME);
			missing++;
		}
	}
	if (m->notify != NULL && !h->curl) {
		printf("missing      %s: notify needs %s\n", file, CURLSO_NAME);
		missing++;
	}
	return missing;
}

int
cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct manifest *m = NULL;
	struct diags d;
	struct host h;
	char *cause = NULL;
	int c, missing;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			doctor_usage(stdout);
			return 0;
		default:
			doctor_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		doctor_usage(stderr);
		return EXIT_USAGE;
	}
	if (optind < argc) {
		diags_init(&d);
		switch (manifest_load(argv[optind], &m, &d, &cause)) {
		case 0:
			break;
		case 1:
			diags_print(stderr, argv[optind], &d);
			diags_release(&d);
			return EXIT_DATAERR;
		default:
			fprintf(stderr, "dagexec: %s\n", cause);
			free(cause);
			diags_release(&d);
			return EXIT_NOINPUT;
		}
		diags_release(&d);
	}
	host_probe(&h);
	host_print(&h);
	missing = m != NULL ? manifest_check(&h, m, argv[optind]) : 0;
	if (m != NULL && missing == 0)
		printf("manifest     %s: everything it asks for is here\n",
		    argv[optind]);
	host_release(&h);
	manifest_free(m);
	return missing > 0 ? 1 : 0;
}
