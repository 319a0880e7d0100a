/* The spool directory (interface §5): its layout and modes, the lock that
 * makes one daemon serve it, inotify on incoming/ and cancel/, claiming
 * dropped files by rename, rejecting what cannot become a job. */
#ifndef DAGEXEC_SPOOL_H
#define DAGEXEC_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define SPOOL_MAX_INPUT		(16u << 20)	/* a dropped manifest */
#define SPOOL_MAX_BUNDLE	(256u << 20)	/* a dropped bundle, packed */
#define SPOOL_MAX_UNPACKED	(1ull << 30)	/* ... and unpacked */
#define SPOOL_MAX_RETRY		(64u << 10)	/* a retry request */

struct spool;

/* What a dropped file is, from its name. */
enum spool_kind { SPOOL_MANIFEST, SPOOL_TAR, SPOOL_TGZ, SPOOL_TZST,
    SPOOL_RETRY };

/* The kind of a dropped file named name: *.yaml and *.yml manifests,
 * *.tar, *.tar.gz, *.tgz and *.tar.zst bundles, *.retry retry requests
 * (`submit --retry`). 0, or -1 when it is none of them. */
int spool_kind(const char *name, enum spool_kind *k);
/* Whether s is a name of letters, digits, '-', '_' and '.', at most max
 * long, not starting with '.': a name the spool can take as a file name
 * (a job id, a DAG name). */
bool spool_word_ok(const char *s, size_t max);
/* Whether id is a job id: NAME-YYYYMMDDTHHMMSS-XXXX with NAME a valid DAG
 * name (as spool_job_id makes them). */
bool spool_job_id_ok(const char *id);

/* A file taken out of incoming/: it now lives in claims/.claim-XXXX/. */
struct spool_claim {
	char		*name;		/* as dropped */
	char		*dir;		/* claims/.claim-XXXX, absolute (root's,
					   0700); claims/JOB once activated */
	char		*path;		/* dir/NAME */
	int		 fd;		/* the claimed file, open read-only
					   (checked: regular, one link); read
					   it from here, never by name */
	enum spool_kind	 kind;
	uid_t		 uid;		/* the dropper: the file's owner */
	gid_t		 gid;
	off_t		 size;
	int64_t		 scheduled;	/* a scheduled firing's time (seconds
					   since the epoch), or 0 */
};

/* The default spool: $DAGEXEC_SPOOL, else LOCALSTATEDIR/spool/dagexec. */
const char *spool_default(void);
/* Open the spool at dir. With create, make the layout (incoming/ 1733,
 * others 0755 or 0700) and fix what is missing; without it, the layout must
 * exist. NULL with *cause on failure. */
struct spool *spool_open(const char *dir, bool create, char **cause);
/* Close everything (the lock included). NULL is fine. */
void spool_free(struct spool *sp);
/* The spool's absolute path, and its sub-directories' ("active", ...). */
const char *spool_path(const struct spool *sp);
char *spool_subdir(const struct spool *sp, const char *sub);

/* Take the exclusive lock (a flock and an OFD write lock on SPOOL/lock,
 * holding our pid). Fails at once with "spool '/x' is served by pid N"
 * when another daemon holds it. */
int spool_lock(struct spool *sp, char **cause);
/* Whether a daemon serves the spool at dir: its lock tested with
 * F_OFD_GETLK, never taken (a daemon starting meanwhile is not in the
 * way). 1 served, 0 not (no lock file, or a free one), -1 with *cause. */
int spool_served(const char *dir, char **cause);
/* Whether dir is a spool that files can be dropped into (incoming/ and
 * tmp/ exist): 0, or -1 with *cause saying how to make it. */
int spool_check(const char *dir, char **cause);

/* An inotify descriptor watching incoming/ and cancel/ (close-after-write,
 * moved-in, create). Every event is only a hint: callers rescan. */
int spool_watch(struct spool *sp, char **cause);
/* Drain pending inotify events; sets *incoming / *cancel when either
 * directory may have changed (both on IN_Q_OVERFLOW). */
void spool_drain(struct spool *sp, bool *incoming, bool *cancel);

/* SPOOL/users/UID: made by root (mode 0700, given to uid:gid) the first
 * time, and from then on the user's alone; root only checks that it is a
 * directory of uid's. Its path, new in *path; 0, or -1 with *cause. */
int spool_user_dir(struct spool *sp, uid_t uid, gid_t gid, char **path,
    char **cause);

/* Names in incoming/ that are candidates (not '.', not '*.tmp'), sorted by
 * name; *n entries, each allocated, the array too. */
char **spool_list(struct spool *sp, const char *sub, size_t *n);
/* Every name in sub/ but '.' and '..', sorted, as spool_list. */
char **spool_list_all(struct spool *sp, const char *sub, size_t *n);
/* "a directory", "a FIFO", ... for messages about a file of that mode. */
const char *spool_file_type(mode_t mode);
/* Remove sub/NAME without following it, whatever it is: a directory only
 * when it is empty. A name already gone is fine. 0, or -1 with *cause. */
int spool_remove(struct spool *sp, const char *sub, const char *name,
    char **cause);
/* Remove every entry of sub/ that is not a directory and for which match
 * says yes, never following links, logging each (a start-up cleanup of
 * what an earlier run left behind). Returns how many were removed, or -1
 * with *cause naming the first that could not be (the others are still
 * tried). */
int spool_clean_temps(struct spool *sp, const char *sub, bool (*match)(
    const char *name, const struct stat *st, void *arg), void *arg,
    char **cause);
/* Claim incoming/NAME: open it without following links, check it (regular
 * file, one link, size bound, a known kind), and rename it into a fresh
 * claims/.claim-XXXX/. Returns 0 and fills c; 1 when the file was refused
 * (it is then already in rejected/ with its .error, and *cause says why);
 * -1 with *cause on an OS error (the file is left where it is); 2 when it
 * vanished or is still open for writing by someone (its close brings
 * another event). */
int spool_claim(struct spool *sp, const char *name, struct spool_claim *c,
    char **cause);
/* spool_claim from sub/ (incoming/, schedules/), rejecting into
 * rejected/ what cannot be claimed. */
int spool_claim_from(struct spool *sp, const char *sub, const char *name,
    struct spool_claim *c, char **cause);
/* Move sub/NAME (whatever it is, never followed) to rejected/ with
 * NAME.error holding text, both the file owner's alone. */
int spool_reject_file(struct spool *sp, const char *sub, const char *name,
    const char *text, char **cause);
/* A scheduled firing's claim is marked by dir/.scheduled (root's, in the
 * claim directory dir, absolute): its time and the job's owner, which the
 * file to take in (root's copy) does not say. 0, or -1 with *cause. */
int spool_mark_write(const char *dir, int64_t when, uid_t uid, gid_t gid,
    char **cause);
/* The mark of claims/CLAIM: 0 with its values, -1 when it has none. */
int spool_mark_read(struct spool *sp, const char *claim, int64_t *when,
    uid_t *uid, gid_t *gid);
/* The claim claims/CLAIM cut short, made again from its one file (not
 * "lock", not a dot name), checked as spool_claim checks it; uid and gid
 * are the file's. 0, or -1 with *cause. */
int spool_claim_reopen(struct spool *sp, const char *claim,
    struct spool_claim *c, char **cause);
/* Move a claimed file to rejected/ with NAME.error holding text, and remove
 * the claim directory. */
int spool_reject_claim(struct spool *sp, struct spool_claim *c,
    const char *text, char **cause);
/* Make the job directory active/JOB (0700, given to the claim's owner,
 * empty: the supervisor fills it), then rename the claim directory to
 * claims/JOB. The claim's paths follow. */
int spool_activate(struct spool *sp, struct spool_claim *c, const char *job,
    char **cause);
/* The lock of the claim claims/CLAIM (its file "lock", an OFD lock, made
 * when missing). With take: lock it and return the descriptor whose open
 * file description holds it (handed to the supervisor), -2 when another
 * holds it, -1 with *cause. Without: test it, without taking it (1 held,
 * 0 free, -1 with *cause). */
int spool_job_lock(struct spool *sp, const char *claim, bool take,
    char **cause);
/* The id of a job of the DAG named name, dropped as file: the id the
 * file's name carries (NAME-YYYYMMDDTHHMMSS-XXXX.yaml or .retry, as
 * `submit` names it) when valid and in use nowhere (active/, claims/, done/), else a new
 * one. NULL when name is no valid DAG name ([A-Za-z0-9._-], at most 64,
 * not starting with '.' or '-'). */
char *spool_job_id(struct spool *sp, const char *file, const char *name);
/* Copy size bytes of fd (a finished job's bundle, from its supervisor)
 * into done/JOB.tar.gz: written to a new temporary file, synced, given to
 * uid:gid (when root), renamed. 0, or -1 with *cause. */
int spool_store_bundle(struct spool *sp, const char *job, int fd, off_t size,
    uid_t uid, gid_t gid, char **cause);
/* active/JOB as the first release left it (root's, mode 0711, its
 * top-level files root's) given to its owner, the owner of its
 * manifest.yaml (in *uid, *gid), mode 0700: a supervisor can resume it.
 * 0 (also when it is the owner's already), or -1. */
int spool_adopt_legacy(struct spool *sp, const char *job, uid_t *uid,
    gid_t *gid);
/* Close the claim's descriptor and free its strings; the claim is left
 * empty (fd -1), so releasing it again does nothing. */
void spool_claim_release(struct spool_claim *c);

#endif
