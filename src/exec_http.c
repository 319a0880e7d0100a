/* The http executor: an http node's request is made by a child of this
 * binary (`dagexec __http SPEC RESULT`), spawned, killed and ended as a
 * local node's; its request and result are files in io/, the owner's (in
 * the node's own directory there when it has a sandbox). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"
#include "http.h"
#include "job_int.h"
#include "kvfile.h"
#include "sandbox.h"
#include "xmalloc.h"

static char http_verb[] = "__http";

/* Whether envp entry e sets one of node n's secrets. */
static bool
is_secret_var(const struct node *n, const char *e)
{
	const struct kvlist *sec = &node_extra(n)->secrets;
	size_t k, len;

	for (k = 0; k < sec->n; k++) {
		len = strlen(sec->v[k].key);
		if (strncmp(e, sec->v[k].key, len) == 0 && e[len] == '=')
			return true;
	}
	return false;
}

/* Write the resolved request of http node i into io/NODE.http.json (the
 * job user's) and fill argv with `dagexec __http SPEC RESULT` (argv[2] and
 * argv[3] allocated). ${NAME} comes from the manifest env, the node env,
 * the node's secrets and the DAGEXEC_* variables of envp, never from our
 * own environment. */
static int
http_prepare(struct job *j, size_t i, char **envp, char **argv, int *port,
    char **cause)
{
	const struct node *n = &j->m->nodes[i];
	char **vars, **e, *c2 = NULL, *url;
	size_t nv = 0, k;
	int rc = -1;

	if (j->self == NULL) {
		*cause = xstrdup("cannot find the dagexec binary "
		    "(/proc/self/exe)");
		return -1;
	}
	vars = xcalloc(j->m->env.n + n->env.n + 32, sizeof *vars);
	for (k = 0; k < j->m->env.n; k++)
		vars[nv++] = xasprintf("%s=%s", j->m->env.v[k].key,
		    j->m->env.v[k].value);
	for (k = 0; k < n->env.n; k++)
		vars[nv++] = xasprintf("%s=%s", n->env.v[k].key,
		    n->env.v[k].value);
	for (e = envp; *e != NULL; e++) {
		if ((strncmp(*e, "DAGEXEC_", 8) != 0 ||
		    strncmp(*e, "DAGEXEC_SPOOL=", 14) == 0) &&
		    !is_secret_var(n, *e))
			continue;
		vars = xreallocarray(vars, nv + 2, sizeof *vars);
		vars[nv++] = xstrdup(*e);
	}
	vars[nv] = NULL;
	argv[0] = job_argv0;
	argv[1] = http_verb;
	argv[2] = job_side_path(j, i, "http.json", false);
	argv[3] = job_side_path(j, i, "http.result", false);
	argv[4] = NULL;
	/* a sandbox lets the child connect to its URL's port (an unknown
	 * variable is the spec's to report, below) */
	*port = -1;
	if (n->sandbox != NULL && (url = http_template(n->http->url, vars,
	    "url", &c2)) != NULL) {
		*port = sandbox_url_port(url);
		free(url);
	}
	free(c2);
	c2 = NULL;
	if (unlink(argv[3]) != 0 && errno != ENOENT) {
		*cause = xasprintf("cannot remove '%s': %s", argv[3],
		    strerror(errno));
		goto out;
	}
	if (http_write_spec(argv[2], n->http, n->max_retry_delay_ms, vars,
	    (uid_t)-1, (gid_t)-1, &c2) != 0) {
		*cause = xasprintf("http: %s", c2);
		free(c2);
		goto out;
	}
	rc = 0;
out:
	env_free(vars);
	return rc;
}

/* An http node's child failed: its RESULT file says why (reason, error,
 * retry_after_ms); *cause is replaced by that error. */
static void
http_result(struct job *j, size_t i, struct attempt_end *e, char **cause)
{
	char *path, *c2 = NULL, *end;
	struct kv *v = NULL;
	size_t nv = 0, k;
	int r;

	path = job_side_path(j, i, "http.result", false);
	if (job_parse_kv_file(j, AT_FDCWD, path, "the http result", false, &v,
	    &nv, &c2) != 0) {
		job_log(j, LOG_WARN, i, "http", "%s", c2);
		free(c2);
	}
	for (k = 0; k < nv; k++) {
		if (strcmp(v[k].key, "reason") == 0 &&
		    (r = reason_parse(v[k].value)) > 0)
			e->reason = (enum reason)r;
		else if (strcmp(v[k].key, "error") == 0) {
			free(*cause);
			*cause = xstrdup(v[k].value);
		} else if (strcmp(v[k].key, "retry_after_ms") == 0) {
			e->retry_after_ms = strtoll(v[k].value, &end, 10);
			if (*end != '\0' || e->retry_after_ms < 0)
				e->retry_after_ms = 0;
		}
	}
	kvfile_free(v, nv);
	free(path);
}

/* The request file is made in io/, the owner's: as them. */
static int
exec_http_prepare(struct job *j, size_t i, char **envp, char **argv,
    int *port, char **cause)
{
	int rc;

	rc = http_prepare(j, i, envp, argv, port, cause);
	return rc;
}

static void
exec_http_release(char **argv)
{
	free(argv[2]);
	free(argv[3]);
}

static const struct exec_child exec_http_child = {
	exec_http_prepare,
	exec_http_release
};

static int
exec_http_start(struct job *j, size_t i, int attempt, char **cause)
{
	return exec_local_spawn(j, i, attempt, &exec_http_child, cause);
}

/* The resolved request may hold a templated secret: gone at the end. */
static void
exec_http_cleanup(struct job *j, size_t i)
{
	char *path;

	path = job_side_path(j, i, "http.json", false);
	(void)unlink(path);
	free(path);
}

static void
exec_http_ended(struct job *j, size_t i, struct attempt_end *e, char **cause)
{
	if (e->exit_code > 0)
		http_result(j, i, e, cause);
}

const struct exec_ops exec_http = {
	.name = "http",
	.start = exec_http_start,
	.kill = exec_local_kill,
	.release = exec_local_release,
	.cleanup = exec_http_cleanup,
	.ended = exec_http_ended,
};
