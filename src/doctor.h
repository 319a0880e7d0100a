/* What this host gives dagexec (`dagexec doctor`, interface §10): the
 * kernel, Landlock, cgroup v2 and its controllers, cgroup.kill and clone3,
 * pidfd, switching users, Slurm's commands, libcurl; and what a manifest
 * asks for that is missing here. The probe asks the system; printing and
 * checking only read a struct doctor_host, so that a test can hand them a
 * host of its own making. */
#ifndef DAGEXEC_DOCTOR_H
#define DAGEXEC_DOCTOR_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/utsname.h>

#include "cgroup.h"
#include "manifest.h"

/* Landlock's ABI that enforces TCP rules (connect, bind): a sandbox below
 * it is partial. */
#define DOCTOR_ABI_NET		4

/* The Slurm commands the slurm executor runs. */
enum { DOCTOR_SBATCH, DOCTOR_SQUEUE, DOCTOR_SCANCEL, DOCTOR__SLURM };

struct doctor_host {
	struct utsname	 uts;
	int		 abi;		/* Landlock ABI; -1: none */
	int		 abi_errno;	/* with -1: ENOSYS (not in the kernel)
					   or EOPNOTSUPP (not enabled) */
	struct cgroup_host cg;
	bool		 pidfd;		/* pidfd_open works */
	bool		 setids;	/* CAP_SETUID and CAP_SETGID */
	char		*slurm[DOCTOR__SLURM];	/* full paths, or NULL */
	bool		 curl;		/* libcurl loads (http nodes, notify) */
};

/* Fill h from this host and process (doctor_release frees it). Never
 * fails: what cannot be had is -1, false or NULL. */
void doctor_probe(struct doctor_host *h);
void doctor_release(struct doctor_host *h);

/* What a run here gets: cgroups need a cgroup we can write with
 * cgroup.kill; limits need the memory, pids and cpu controllers. */
enum containment doctor_containment(const struct doctor_host *h);

/* One line each: "kernel", "landlock", "cgroup", "controllers", "kill",
 * "pidfd", "users", "slurm", "libcurl" (the word, padded to 13 columns,
 * then what there is and what the manifest keys that depend on it do). */
void doctor_print(FILE *fp, const struct doctor_host *h);

/* What m (read from file) asks for that h lacks, one "missing" line each
 * (a foreach's instances once, under the id as written); the count. */
int doctor_check(FILE *fp, const struct doctor_host *h,
    const struct manifest *m, const char *file);

#endif
