/* A finished job read back: its journal (events.log) says how each node
 * ended and what values it left, as a resume reads it; a bundle is checked
 * and unpacked with the bundle module's own verification and secure
 * extraction, never a second unpacker. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "fsutil.h"
#include "journal.h"
#include "kvfile.h"
#include "oldjob.h"
#include "state.h"
#include "strmap.h"
#include "xmalloc.h"

#define OLDJOB_UNPACK_MAX	((uint64_t)1 << 40)	/* bytes unpacked */

struct oldnode {
	char			*id;
	enum node_status	 status;
	struct kv		*values;	/* of its last attempt */
	size_t			 nvalues;
	bool			 lost;		/* a value held a secret: it is
						   not at hand */
};

struct oldjob {
	char		*id;
	char		*dir;		/* manifest.yaml, events.log, ... */
	char		*tmpdir;	/* what was unpacked, or NULL */
	char		*manifest;
	size_t		 manifest_len;
	struct strmap	*ids;		/* node id -> index in nodes */
	struct oldnode	*nodes;
	size_t		 nnodes;
	struct strmap	*listed;	/* the ids its state lists, or NULL */
	struct state_doc *state;
};

static struct oldnode *
oldjob_at(struct oldjob *o, const char *id)
{
	size_t k;

	if (strmap_get(o->ids, id, &k))
		return &o->nodes[k];
	o->nodes = xreallocarray(o->nodes, o->nnodes + 1, sizeof *o->nodes);
	memset(&o->nodes[o->nnodes], 0, sizeof o->nodes[o->nnodes]);
	o->nodes[o->nnodes].id = xstrdup(id);
	o->nodes[o->nnodes].status = NS_PENDING;
	/* the map borrows the key: nodes[] moves, the string does not */
	(void)strmap_put(o->ids, o->nodes[o->nnodes].id, o->nnodes, NULL);
	return &o->nodes[o->nnodes++];
}

static int
oldjob_event(const struct journal_event *ev, void *arg)
{
	struct oldjob *o = arg;
	struct oldnode *on;
	const char *id = journal_get(ev, "node"), *k, *v;
	int s;

	if (strcmp(ev->event, "begin") == 0 && o->id == NULL &&
	    (v = journal_get(ev, "job")) != NULL)
		o->id = xstrdup(v);
	if (id == NULL)
		return 0;
	on = oldjob_at(o, id);
	if (strcmp(ev->event, "start") == 0) {
		/* a new attempt: the values of an earlier one are gone */
		kvfile_free(on->values, on->nvalues);
		on->values = NULL;
		on->nvalues = 0;
		on->lost = false;
	} else if (strcmp(ev->event, "output") == 0) {
		k = journal_get(ev, "key");
		v = journal_get(ev, "value");
		if (k == NULL || v == NULL)
			return 0;
		/* a value that held a secret is "***" here: the journal
		 * never has it (its side file is the job's own) */
		if (journal_get(ev, "secret") != NULL) {
			on->lost = true;
			return 0;
		}
		on->values = xreallocarray(on->values, on->nvalues + 1,
		    sizeof *on->values);
		on->values[on->nvalues].key = xstrdup(k);
		on->values[on->nvalues].value = xstrdup(v);
		on->nvalues++;
	} else if (strcmp(ev->event, "status") == 0 &&
	    (v = journal_get(ev, "status")) != NULL) {
		for (s = 0; s < NS__COUNT; s++)
			if (strcmp(node_status_name((enum node_status)s),
			    v) == 0)
				on->status = (enum node_status)s;
	}
	return 0;
}

/* The first bad member of a bundle, for the message. */
static void
oldjob_bad(const char *member, enum bundle_bad why, void *arg)
{
	char **first = arg;

	if (*first == NULL)
		*first = xasprintf("'%s' %s", member, why == BUNDLE_FAILED ?
		    "fails its checksum" : why == BUNDLE_MISSING ?
		    "is missing" : "is not listed");
}

/* Verify the bundle at path and unpack it under tmpbase: o->dir is then
 * its JOB directory. */
static int
oldjob_unpack(struct oldjob *o, const char *path, const char *tmpbase,
    char **cause)
{
	char *job = NULL, *first = NULL;
	int n;

	if ((n = bundle_verify(path, oldjob_bad, &first, cause)) != 0) {
		if (n > 0) {
			*cause = xasprintf("'%s' fails its SHA256SUMS: %s%s",
			    path, first, n > 1 ? " (and more: see dagexec "
			    "verify)" : "");
			errno = EILSEQ;
		}
		free(first);
		return -1;
	}
	if (bundle_job(path, &job, cause) != 0)
		return -1;
	if (strcmp(job, ".") == 0 || strcmp(job, "..") == 0) {
		*cause = xasprintf("'%s' is not a dagexec bundle", path);
		free(job);
		errno = EILSEQ;
		return -1;
	}
	o->tmpdir = xasprintf("%s/.retry-XXXXXX", tmpbase);
	if (mkdtemp(o->tmpdir) == NULL) {
		*cause = xasprintf("cannot create a directory in '%s': %s",
		    tmpbase, strerror(errno));
		free(o->tmpdir);
		o->tmpdir = NULL;
		free(job);
		return -1;
	}
	o->dir = xasprintf("%s/%s", o->tmpdir, job);
	free(job);
	if (bundle_unpack(path, o->tmpdir, OLDJOB_UNPACK_MAX, 0, 0, 0,
	    cause) != 0) {
		errno = EILSEQ;
		return -1;
	}
	return 0;
}

/* Read manifest.yaml, events.log and state.yaml of o->dir. */
static int
oldjob_read(struct oldjob *o, const char *path, char **cause)
{
	char *p, *c2 = NULL, *state = NULL;
	size_t k;
	int rc;

	p = xasprintf("%s/manifest.yaml", o->dir);
	rc = fs_read_file(p, MANIFEST_MAX_BYTES, &o->manifest,
	    &o->manifest_len, &c2);
	free(p);
	if (rc == 0) {
		p = xasprintf("%s/events.log", o->dir);
		if (access(p, R_OK) != 0)
			rc = -1;
		else
			rc = journal_replay(p, oldjob_event, o, &c2);
		free(p);
	}
	if (rc != 0 || o->id == NULL) {
		*cause = xasprintf("'%s' is not a job of dagexec's%s%s", path,
		    c2 != NULL ? ": " : "", c2 != NULL ? c2 : "");
		free(c2);
		errno = EILSEQ;
		return -1;
	}
	/* the nodes it ran (all, unless it was a run --target) */
	p = xasprintf("%s/state.yaml", o->dir);
	if (state_read(p, &o->state, &state) == 0) {
		o->listed = strmap_new(o->state->nnodes);
		for (k = 0; k < o->state->nnodes; k++)
			(void)strmap_put(o->listed, o->state->nodes[k].id, k,
			    NULL);
	}
	free(state);
	free(p);
	return 0;
}

int
oldjob_open(const char *path, const char *tmpbase, struct oldjob **out,
    char **cause)
{
	struct oldjob *o = xcalloc(1, sizeof *o);
	struct stat st;
	int saved;

	*out = NULL;
	o->ids = strmap_new(64);
	if (stat(path, &st) != 0) {
		saved = errno;
		*cause = xasprintf("cannot open '%s': %s", path,
		    strerror(saved));
		goto fail;
	}
	if (S_ISDIR(st.st_mode))
		o->dir = xstrdup(path);
	else if (oldjob_unpack(o, path, tmpbase, cause) != 0) {
		saved = errno;
		goto fail;
	}
	if (oldjob_read(o, path, cause) != 0) {
		saved = errno;
		goto fail;
	}
	*out = o;
	return 0;
fail:
	oldjob_free(o);
	errno = saved;
	return -1;
}

void
oldjob_free(struct oldjob *o)
{
	char *cause = NULL;
	size_t k;

	if (o == NULL)
		return;
	if (o->tmpdir != NULL && fs_remove_tree(o->tmpdir, &cause) != 0)
		free(cause);
	for (k = 0; k < o->nnodes; k++) {
		free(o->nodes[k].id);
		kvfile_free(o->nodes[k].values, o->nodes[k].nvalues);
	}
	free(o->nodes);
	strmap_free(o->ids);
	strmap_free(o->listed);
	state_doc_free(o->state);
	free(o->manifest);
	free(o->tmpdir);
	free(o->dir);
	free(o->id);
	free(o);
}

const char *
oldjob_id(const struct oldjob *o)
{
	return o->id;
}

const char *
oldjob_manifest(const struct oldjob *o, size_t *len)
{
	*len = o->manifest_len;
	return o->manifest;
}

bool
oldjob_has_node(const struct oldjob *o, const char *id)
{
	size_t k;

	return o->listed == NULL || strmap_get(o->listed, id, &k);
}

bool
oldjob_has_group(const struct oldjob *o, const char *group)
{
	size_t k, len = strlen(group);
	const char *id;

	if (oldjob_has_node(o, group))
		return true;
	for (k = 0; k < o->state->nnodes; k++) {
		id = o->state->nodes[k].id;
		if (strncmp(id, group, len) == 0 && id[len] == '[')
			return true;
	}
	return false;
}

enum node_status
oldjob_node(const struct oldjob *o, const char *id, const struct kv **values,
    size_t *nvalues)
{
	size_t k;

	*values = NULL;
	*nvalues = 0;
	if (!strmap_get(o->ids, id, &k))
		return NS_PENDING;
	if (o->nodes[k].status == NS_SUCCEEDED && o->nodes[k].lost)
		return NS_PENDING;
	if (o->nodes[k].status == NS_SUCCEEDED) {
		*values = o->nodes[k].values;
		*nvalues = o->nodes[k].nvalues;
	}
	return o->nodes[k].status;
}

int
oldjob_outputs_fd(const struct oldjob *o, const char *id)
{
	char *p = xasprintf("%s/outputs/%s", o->dir, id);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	free(p);
	return fd;
}

bool
oldjob_has_outputs(const struct oldjob *o, const struct node *n)
{
	struct stat st;
	size_t k;
	bool ok = true;
	int fd;

	if (n->noutputs == 0)
		return true;
	if ((fd = oldjob_outputs_fd(o, n->id)) < 0)
		return false;
	for (k = 0; ok && k < n->noutputs; k++)
		ok = fstatat(fd, n->outputs[k], &st, AT_SYMLINK_NOFOLLOW) ==
		    0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode));
	close(fd);
	return ok;
}

int
oldjob_copy_logs(const struct oldjob *o, const char *id, const char *destdir,
    char **cause)
{
	char *p = xasprintf("%s/nodes", o->dir), *c2 = NULL;
	int fd, rc = 0;

	fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	free(p);
	if (fd < 0)
		return 0;
	/* a node that wrote nothing has no logs */
	if (bundle_collect_output(fd, id, destdir, NULL, &c2) != 0) {
		if (errno == ENOENT)
			free(c2);
		else {
			*cause = c2;
			rc = -1;
		}
	}
	close(fd);
	return rc;
}
