/* HTTP nodes and notifications with libcurl. The parent resolves a node's
 * request into a JSON spec; the node's own child process (dagexec __http)
 * performs it, so rlimits, timeouts, identity and cancellation apply as to
 * any node. Only that child loads libcurl (curlso.h), the first time it
 * needs it. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <yaml.h>

#include "curlso.h"
#include "fsutil.h"
#include "http.h"
#include "strbuf.h"
#include "xmalloc.h"

#define HTTP_BODY_FILE_MAX	(256u << 20)	/* body_file read in memory */
#define HTTP_STATE_MAX		(64u << 20)
#define HTTP_YAML_DEPTH		64
#define HTTP_ERROR_MAX		300

/* libcurl's functions, once http_load_curl has loaded them. */
static const struct curlso *cu;

/* Load libcurl if not yet. Returns 0, or -1 with *cause. */
static int
http_load_curl(char **cause)
{
	if (cu == NULL && (cu = curlso_get(cause)) == NULL)
		return -1;
	return 0;
}

/* ---- templating --------------------------------------------------------- */

static const char *
var_lookup(char *const *vars, const char *name, size_t len)
{
	const char *found = NULL;
	size_t i;

	for (i = 0; vars != NULL && vars[i] != NULL; i++)
		if (strncmp(vars[i], name, len) == 0 && vars[i][len] == '=')
			found = vars[i] + len + 1;
	return found;
}

char *
http_template(const char *s, char *const *vars, const char *what,
    char **cause)
{
	struct strbuf b = STRBUF_INIT;
	const char *p = s, *end, *v;
	size_t k;

	strbuf_add(&b, "", 0);
	while (*p != '\0') {
		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			strbuf_add(&b, "${", 2);
			p += 3;
			continue;
		}
		if (p[0] != '$' || p[1] != '{') {
			strbuf_add(&b, p, 1);
			p++;
			continue;
		}
		if ((end = strchr(p + 2, '}')) == NULL) {
			*cause = xasprintf("%s: unterminated '${'", what);
			goto fail;
		}
		for (k = 2; p + k < end; k++)
			if (!(isalnum((unsigned char)p[k]) || p[k] == '_'))
				break;
		if (p + k != end || k == 2 || isdigit((unsigned char)p[2])) {
			*cause = xasprintf("%s: bad variable name '%.*s'", what,
			    (int)(end - p + 1 > 70 ? 70 : end - p + 1), p);
			goto fail;
		}
		if ((v = var_lookup(vars, p + 2, k - 2)) == NULL) {
			*cause = xasprintf("%s: unknown variable '%.*s' (only "
			    "the manifest env, the node env, its secrets and "
			    "DAGEXEC_* are available)", what, (int)(k - 2),
			    p + 2);
			goto fail;
		}
		strbuf_add(&b, v, strlen(v));
		p = end + 1;
	}
	return b.s;
fail:
	free(b.s);
	return NULL;
}

/* ---- the request spec ---------------------------------------------------- */

static bool
has_crlf(const char *s)
{
	return strchr(s, '\r') != NULL || strchr(s, '\n') != NULL;
}

int
http_write_spec(const char *path, const struct http_spec *h,
    int64_t max_retry_delay_ms, char *const *vars, uid_t uid, gid_t gid,
    char **cause)
{
	json_t *o = json_object(), *hdrs = json_array(), *ex;
	char *s = NULL, *name, *text = NULL;
	size_t i;
	int rc = -1, fd;

	if ((s = http_template(h->url, vars, "url", cause)) == NULL)
		goto out;
	if (has_crlf(s)) {
		*cause = xstrdup("url: holds a line break");
		goto out;
	}
	json_object_set_new(o, "url", json_string(s));
	free(s);
	s = NULL;
	json_object_set_new(o, "method", json_string(h->method != NULL ?
	    h->method : "GET"));
	for (i = 0; i < h->headers.n; i++) {
		name = xasprintf("header '%s'", h->headers.v[i].key);
		s = http_template(h->headers.v[i].value, vars, name, cause);
		if (s != NULL && (has_crlf(s) ||
		    has_crlf(h->headers.v[i].key))) {
			*cause = xasprintf("%s: holds a line break", name);
			free(s);
			s = NULL;
		}
		free(name);
		if (s == NULL)
			goto out;
		json_array_append_new(hdrs, json_pack("[ss]",
		    h->headers.v[i].key, s));
		free(s);
		s = NULL;
	}
	json_object_set(o, "headers", hdrs);
	if (h->body != NULL) {
		if ((s = http_template(h->body, vars, "body", cause)) == NULL)
			goto out;
		json_object_set_new(o, "body", json_string(s));
		free(s);
		s = NULL;
	}
	if (h->body_file != NULL)
		json_object_set_new(o, "body_file", json_string(h->body_file));
	if (h->save != NULL)
		json_object_set_new(o, "save", json_string(h->save));
	if (h->sha256 != NULL)
		json_object_set_new(o, "sha256", json_string(h->sha256));
	if (h->expect != NULL) {
		ex = json_array();
		for (i = 0; i < h->nexpect; i++)
			json_array_append_new(ex, json_integer(h->expect[i]));
		json_object_set_new(o, "expect", ex);
	}
	json_object_set_new(o, "follow_redirects",
	    json_boolean(h->follow_redirects));
	json_object_set_new(o, "max_bytes", json_integer(h->max_bytes));
	json_object_set_new(o, "insecure", json_boolean(h->insecure));
	json_object_set_new(o, "max_retry_delay_ms",
	    json_integer(max_retry_delay_ms));
	if ((text = json_dumps(o, JSON_COMPACT)) == NULL) {
		*cause = xstrdup("cannot encode the request as JSON");
		goto out;
	}
	/* the directory may be the job user's: make the file anew, follow
	 * no link, and give it away by descriptor */
	if (unlink(path) != 0 && errno != ENOENT) {
		*cause = xasprintf("cannot remove '%s': %s", path,
		    strerror(errno));
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0 || (uid != (uid_t)-1 && fchown(fd, uid, gid) != 0) ||
	    fs_write_all(fd, text, strlen(text)) != 0) {
		*cause = xasprintf("cannot write '%s': %s", path,
		    strerror(errno));
		if (fd >= 0) {
			close(fd);
			(void)unlink(path);
		}
		goto out;
	}
	if (close(fd) != 0) {
		*cause = xasprintf("cannot write '%s': %s", path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(text);
	json_decref(hdrs);
	json_decref(o);
	return rc;
}

/* ---- Retry-After -------------------------------------------------------- */

int
http_parse_retry_after(const char *value, time_t now, int64_t *ms)
{
	const char *p = value;
	char *end, *cause;
	long long secs;
	time_t t;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p >= '0' && *p <= '9') {
		errno = 0;
		secs = strtoll(p, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\r' ||
		    *end == '\n')
			end++;
		if (*end != '\0' || errno != 0 || secs > INT64_MAX / 1000)
			return -1;
		*ms = (int64_t)secs * 1000;
		return 0;
	}
	if (*p == '\0')
		return -1;
	if (http_load_curl(&cause) != 0) {
		free(cause);	/* no date is understood without libcurl */
		return -1;
	}
	if ((t = cu->getdate(p, NULL)) == -1)
		return -1;
	*ms = t > now ? (int64_t)(t - now) * 1000 : 0;
	return 0;
}

/* ---- YAML -> JSON ------------------------------------------------------- */

static json_t *
scalar_json(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *p;
	char *end;
	long long ll;
	double d;
	bool isfloat = false;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    memchr(v, '\0', len) != NULL)
		return json_stringn(v, len);
	if (len == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0)
		return json_null();
	if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 ||
	    strcmp(v, "TRUE") == 0)
		return json_true();
	if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 ||
	    strcmp(v, "FALSE") == 0)
		return json_false();
	p = v + (*v == '-' || *v == '+');
	if (*p < '0' || *p > '9')
		return json_stringn(v, len);
	for (; *p != '\0'; p++) {
		if (*p == '.' || *p == 'e' || *p == 'E')
			isfloat = true;
		else if (!(*p >= '0' && *p <= '9') && *p != '-' && *p != '+')
			return json_stringn(v, len);
	}
	errno = 0;
	if (!isfloat) {
		ll = strtoll(v, &end, 10);
		if (*end == '\0' && errno == 0)
			return json_integer(ll);
	}
	d = strtod(v, &end);
	if (*end == '\0' && errno == 0)
		return json_real(d);
	return json_stringn(v, len);
}

static json_t *yaml_node_json(yaml_parser_t *, yaml_event_t *, int, char **);

/* The rest of a mapping or sequence whose start event was just read. */
static json_t *
yaml_collection_json(yaml_parser_t *yp, bool map, int depth, char **cause)
{
	json_t *c = map ? json_object() : json_array(), *k = NULL, *v;
	yaml_event_t ev;

	for (;;) {
		if (!yaml_parser_parse(yp, &ev)) {
			*cause = xasprintf("line %zu: %s",
			    yp->problem_mark.line + 1,
			    yp->problem != NULL ? yp->problem : "bad YAML");
			goto fail;
		}
		if (ev.type == YAML_MAPPING_END_EVENT ||
		    ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return c;
		}
		v = yaml_node_json(yp, &ev, depth + 1, cause);
		yaml_event_delete(&ev);
		if (v == NULL)
			goto fail;
		if (!map)
			json_array_append_new(c, v);
		else if (k == NULL) {
			if (!json_is_string(k = v)) {
				*cause = xstrdup("a mapping key is not a "
				    "string");
				goto fail;
			}
		} else {
			json_object_set_new(c, json_string_value(k), v);
			json_decref(k);
			k = NULL;
		}
	}
fail:
	json_decref(k);
	json_decref(c);
	return NULL;
}

static json_t *
yaml_node_json(yaml_parser_t *yp, yaml_event_t *ev, int depth, char **cause)
{
	if (depth > HTTP_YAML_DEPTH) {
		*cause = xstrdup("nested too deeply");
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return scalar_json(ev);
	case YAML_MAPPING_START_EVENT:
		return yaml_collection_json(yp, true, depth, cause);
	case YAML_SEQUENCE_START_EVENT:
		return yaml_collection_json(yp, false, depth, cause);
	case YAML_ALIAS_EVENT:
		*cause = xstrdup("aliases are not supported");
		return NULL;
	default:
		*cause = xstrdup("unexpected YAML event");
		return NULL;
	}
}

json_t *
http_yaml_to_json(const char *text, size_t len, char **cause)
{
	yaml_parser_t yp;
	yaml_event_t ev;
	json_t *root = NULL;
	bool done = false;

	*cause = NULL;
	if (!yaml_parser_initialize(&yp))
		abort();
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
	while (!done) {
		if (!yaml_parser_parse(&yp, &ev)) {
			*cause = xasprintf("line %zu: %s",
			    yp.problem_mark.line + 1,
			    yp.problem != NULL ? yp.problem : "bad YAML");
			json_decref(root);
			root = NULL;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		default:
			if (root != NULL) {
				*cause = xstrdup("more than one document");
				json_decref(root);
				root = NULL;
				done = true;
				break;
			}
			root = yaml_node_json(&yp, &ev, 0, cause);
			if (root == NULL)
				done = true;
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&yp);
	if (root == NULL && *cause == NULL)
		*cause = xstrdup("empty document");
	return root;
}

/* ---- the request (child side) ------------------------------------------- */

struct xfer {
	CURL		*c;
	FILE		*fp;		/* the temp file, or NULL */
	EVP_MD_CTX	*md;
	int64_t		 bytes;
	int64_t		 max;
	bool		 too_big;
	bool		 write_failed;
	bool		 follow;
	char		*status_line;	/* of the last response */
	char		*retry_after;	/* of the last response */
};

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = sz * n;
	long code = 0;

	/* the body of a redirect that is followed is not the body */
	cu->easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &code);
	if (x->follow && code >= 300 && code < 400 && code != 304)
		return len;
	if (x->bytes + (int64_t)len > x->max) {
		x->too_big = true;
		return 0;
	}
	x->bytes += (int64_t)len;
	EVP_DigestUpdate(x->md, p, len);
	if (x->fp != NULL && fwrite(p, 1, len, x->fp) != len) {
		x->write_failed = true;
		return 0;
	}
	return len;
}

static char *
trim_line(const char *p, size_t len)
{
	while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n' ||
	    p[len - 1] == ' '))
		len--;
	if (len > HTTP_ERROR_MAX)
		len = HTTP_ERROR_MAX;
	return xstrndup(p, len);
}

static size_t
on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = sz * n;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		free(x->status_line);
		x->status_line = trim_line(p, len);
		free(x->retry_after);
		x->retry_after = NULL;
	} else if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		free(x->retry_after);
		x->retry_after = trim_line(p + 12, len - 12);
	}
	return len;
}

/* "503 Service Unavailable" from "HTTP/1.1 503 Service Unavailable". */
static const char *
status_text(const struct xfer *x, long code, char *buf, size_t len)
{
	const char *s = x->status_line, *sp;

	if (s != NULL && (sp = strchr(s, ' ')) != NULL) {
		while (*sp == ' ')
			sp++;
		if (*sp != '\0')
			return sp;
	}
	snprintf(buf, len, "%ld", code);
	return buf;
}

/* "GET URL: " and libcurl's message, with the system's reason when there
 * is one: "... Couldn't connect to server (Connection refused)". */
static char *
curl_message(CURL *c, CURLcode cc, const char *errbuf, const char *method,
    const char *url)
{
	long oserr = 0;

	cu->easy_getinfo(c, CURLINFO_OS_ERRNO, &oserr);
	return xasprintf("%s %s: %s%s%s%s", method, url,
	    errbuf[0] != '\0' ? errbuf : cu->easy_strerror(cc),
	    oserr != 0 ? " (" : "", oserr != 0 ? strerror((int)oserr) : "",
	    oserr != 0 ? ")" : "");
}

/* The temporary file of save, removed when a timeout or a cancel ends us
 * (SIGTERM) so that nothing half-written is left in the work directory. */
static char *volatile http_tmp_path;

static void
http_on_term(int sig)
{
	char *p = http_tmp_path;

	if (p != NULL)
		unlink(p);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
write_result(const char *path, const char *key, const char *value,
    const char *error, int64_t retry_after_ms)
{
	FILE *fp;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0 || (fp = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "dagexec: cannot write '%s': %s\n", path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	if (value != NULL)
		fprintf(fp, "%s=%s\n", key, value);
	if (error != NULL)
		fprintf(fp, "error=%s\n", error);
	if (retry_after_ms >= 0)
		fprintf(fp, "retry_after_ms=%lld\n", (long long)retry_after_ms);
	if (fclose(fp) != 0)
		fprintf(stderr, "dagexec: cannot write '%s': %s\n", path,
		    strerror(errno));
}

/* save must stay inside the working directory. */
static bool
save_path_ok(const char *s)
{
	const char *p = s, *q;
	size_t n;

	if (*s == '\0' || *s == '/' || s[strlen(s) - 1] == '/')
		return false;
	while (*p != '\0') {
		q = strchr(p, '/');
		n = q != NULL ? (size_t)(q - p) : strlen(p);
		if ((n == 2 && strncmp(p, "..", 2) == 0) || n == 0 ||
		    (n == 1 && *p == '.'))
			return false;
		p += n;
		if (*p == '/')
			p++;
	}
	return true;
}

/* mkdir -p of the directories of the relative path save, up to end. */
static int
mkdirs_rel(const char *save, const char *end)
{
	char *d = xstrndup(save, (size_t)(end - save)), *p;
	int rc = 0;

	for (p = d;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(d, 0700) != 0 && errno != EEXIST) {
				rc = -1;
				break;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	free(d);
	return rc;
}

static bool
status_expected(json_t *expect, long code)
{
	size_t i;
	json_t *v;

	if (!json_is_array(expect))
		return code >= 200 && code <= 299;
	json_array_foreach(expect, i, v)
		if (json_integer_value(v) == code)
			return true;
	return false;
}

static void
append_output(const char *line)
{
	const char *path = getenv("DAGEXEC_OUTPUT");
	int fd;

	if (path == NULL || *path == '\0')
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0 || fs_write_all(fd, line, strlen(line)) != 0)
		fprintf(stderr, "dagexec: cannot write $DAGEXEC_OUTPUT: %s\n",
		    strerror(errno));
	if (fd >= 0)
		close(fd);
}

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The request's body: body_file's content or body, or none (NULL). */
static int
http_read_body(json_t *spec, char **body, size_t *len, char **err)
{
	const char *bf;
	char *cause;

	*body = NULL;
	*len = 0;
	if ((bf = jstr(spec, "body_file")) != NULL) {
		if (fs_read_file(bf, HTTP_BODY_FILE_MAX, body, len,
		    &cause) != 0) {
			*err = xasprintf("body_file: %s", cause);
			free(cause);
			return -1;
		}
	} else if (jstr(spec, "body") != NULL) {
		*body = xstrdup(jstr(spec, "body"));
		*len = strlen(*body);
	}
	return 0;
}

/* What the transfer gave, on stdout (the node's log): status, final url,
 * size, digest and timings. */
static void
http_print_result(const struct xfer *xp, long code, const char *final_url,
    const char *hex)
{
	curl_off_t t_dns = 0, t_conn = 0, t_first = 0, t_total = 0;

	cu->easy_getinfo(xp->c, CURLINFO_NAMELOOKUP_TIME_T, &t_dns);
	cu->easy_getinfo(xp->c, CURLINFO_CONNECT_TIME_T, &t_conn);
	cu->easy_getinfo(xp->c, CURLINFO_STARTTRANSFER_TIME_T, &t_first);
	cu->easy_getinfo(xp->c, CURLINFO_TOTAL_TIME_T, &t_total);
	printf("status=%ld\nurl=%s\nbytes=%lld\nsha256=%s\n"
	    "time_dns_ms=%lld\ntime_connect_ms=%lld\n"
	    "time_first_byte_ms=%lld\ntime_total_ms=%lld\n", code, final_url,
	    (long long)xp->bytes, hex, (long long)(t_dns / 1000),
	    (long long)(t_conn / 1000), (long long)(t_first / 1000),
	    (long long)(t_total / 1000));
	fflush(stdout);
}

/* The temporary file beside save that the body goes to, renamed to save
 * when the node succeeds and removed when it does not (also on SIGTERM).
 * NULL with *err when it cannot be made. */
static char *
http_save_open(struct xfer *xp, const char *save, char **err)
{
	const char *slash = strrchr(save, '/');
	char *tmp;
	int fd;

	if (slash != NULL && mkdirs_rel(save, slash) != 0) {
		*err = xasprintf("cannot create the directory of '%s': %s",
		    save, strerror(errno));
		return NULL;
	}
	tmp = slash != NULL ? xasprintf("%.*s/.%s.XXXXXX",
	    (int)(slash - save), save, slash + 1) :
	    xasprintf(".%s.XXXXXX", save);
	signal(SIGTERM, http_on_term);
	signal(SIGINT, http_on_term);
	signal(SIGHUP, http_on_term);
	if ((fd = mkstemp(tmp)) < 0 || (xp->fp = fdopen(fd, "w")) == NULL) {
		*err = xasprintf("cannot create '%s': %s", tmp,
		    strerror(errno));
		if (fd >= 0)
			(void)unlink(tmp);
		free(tmp);
		return NULL;
	}
	http_tmp_path = tmp;
	return tmp;
}

/* The request: url, method, body and headers of the spec, and the limits
 * every node's request has. Returns the header list, freed after it. */
static struct curl_slist *
http_setopts(struct xfer *xp, json_t *spec, const char *url,
    const char *method, const char *body, size_t bodylen, char *errbuf)
{
	struct curl_slist *hdrs = NULL;
	json_t *hv, *h;
	char *line;
	size_t i;

	cu->easy_setopt(xp->c, CURLOPT_URL, url);
	cu->easy_setopt(xp->c, CURLOPT_PROTOCOLS_STR, "http,https");
	cu->easy_setopt(xp->c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	cu->easy_setopt(xp->c, CURLOPT_FOLLOWLOCATION, xp->follow ? 1L : 0L);
	cu->easy_setopt(xp->c, CURLOPT_MAXREDIRS, (long)HTTP_MAX_REDIRECTS);
	cu->easy_setopt(xp->c, CURLOPT_CONNECTTIMEOUT,
	    (long)HTTP_CONNECT_TIMEOUT_S);
	cu->easy_setopt(xp->c, CURLOPT_NOSIGNAL, 1L);
	cu->easy_setopt(xp->c, CURLOPT_ERRORBUFFER, errbuf);
	cu->easy_setopt(xp->c, CURLOPT_USERAGENT, "dagexec/" PACKAGE_VERSION);
	cu->easy_setopt(xp->c, CURLOPT_WRITEFUNCTION, on_body);
	cu->easy_setopt(xp->c, CURLOPT_WRITEDATA, xp);
	cu->easy_setopt(xp->c, CURLOPT_HEADERFUNCTION, on_header);
	cu->easy_setopt(xp->c, CURLOPT_HEADERDATA, xp);
	if (xp->max != INT64_MAX)
		cu->easy_setopt(xp->c, CURLOPT_MAXFILESIZE_LARGE,
		    (curl_off_t)xp->max);
	if (json_is_true(json_object_get(spec, "insecure"))) {
		cu->easy_setopt(xp->c, CURLOPT_SSL_VERIFYPEER, 0L);
		cu->easy_setopt(xp->c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (strcmp(method, "HEAD") == 0)
		cu->easy_setopt(xp->c, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0 || body != NULL)
		cu->easy_setopt(xp->c, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		cu->easy_setopt(xp->c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)bodylen);
		cu->easy_setopt(xp->c, CURLOPT_POSTFIELDS, body);
	}
	hv = json_object_get(spec, "headers");
	json_array_foreach(hv, i, h) {
		const char *hn = json_string_value(json_array_get(h, 0));
		const char *hval = json_string_value(json_array_get(h, 1));

		if (hn == NULL || hval == NULL)
			continue;
		/* "Name;" sends a header with an empty value */
		line = *hval == '\0' ? xasprintf("%s;", hn) :
		    xasprintf("%s: %s", hn, hval);
		hdrs = cu->slist_append(hdrs, line);
		free(line);
	}
	if (hdrs != NULL)
		cu->easy_setopt(xp->c, CURLOPT_HTTPHEADER, hdrs);
	return hdrs;
}

int
http_node_main(const char *specpath, const char *result)
{
	json_t *spec;
	json_error_t jerr;
	struct xfer x;
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE], hex[2 * EVP_MAX_MD_SIZE + 1], cbuf[32];
	char *tmp = NULL, *body = NULL, *err = NULL, *line;
	const char *url, *method, *save, *want, *reason = "exit";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, k;
	size_t bodylen = 0;
	int64_t retry_ms = -1, ra;
	long code = 0;
	char *final_url = NULL;
	CURLcode cc;
	int ret = 1;

	memset(&x, 0, sizeof x);
	if ((spec = json_load_file(specpath, 0, &jerr)) == NULL) {
		err = xasprintf("cannot read '%s': %s", specpath, jerr.text);
		goto out;
	}
	url = jstr(spec, "url");
	method = jstr(spec, "method");
	save = jstr(spec, "save");
	want = jstr(spec, "sha256");
	if (url == NULL || method == NULL) {
		err = xasprintf("'%s': no url or method", specpath);
		goto out;
	}
	if (save != NULL && !save_path_ok(save)) {
		err = xasprintf("save: '%s' is not a relative path inside the "
		    "work directory", save);
		goto out;
	}
	if (http_read_body(spec, &body, &bodylen, &err) != 0)
		goto out;

	/* a library that cannot be loaded is a start failure, not retried
	 * by default: trying again will not install it */
	if (http_load_curl(&err) != 0) {
		reason = "spawn_error";
		goto out;
	}
	if (cu->global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    (x.c = cu->easy_init()) == NULL ||
	    (x.md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(x.md, EVP_sha256(), NULL) != 1) {
		err = xstrdup("cannot initialise libcurl or OpenSSL");
		goto out;
	}
	x.max = json_integer_value(json_object_get(spec, "max_bytes"));
	if (x.max <= 0)
		x.max = INT64_MAX;
	x.follow = json_is_true(json_object_get(spec, "follow_redirects"));
	if (save != NULL && (tmp = http_save_open(&x, save, &err)) == NULL)
		goto out;

	errbuf[0] = '\0';
	hdrs = http_setopts(&x, spec, url, method, body, bodylen, errbuf);

	cc = cu->easy_perform(x.c);
	if (x.fp != NULL && fclose(x.fp) != 0 && cc == CURLE_OK) {
		x.fp = NULL;
		err = xasprintf("cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	x.fp = NULL;
	cu->easy_getinfo(x.c, CURLINFO_RESPONSE_CODE, &code);
	if (cc != CURLE_OK) {
		if (x.too_big || cc == CURLE_FILESIZE_EXCEEDED)
			err = xasprintf("%s %s: body larger than max_bytes "
			    "(%lld)", method, url, (long long)x.max);
		else if (x.write_failed)
			err = xasprintf("%s %s: cannot write '%s': %s", method,
			    url, tmp, strerror(errno));
		else
			err = curl_message(x.c, cc, errbuf, method, url);
		goto out;
	}
	{
		char *eff = NULL;

		cu->easy_getinfo(x.c, CURLINFO_EFFECTIVE_URL, &eff);
		final_url = xstrdup(eff != NULL ? eff : url);
	}
	EVP_DigestFinal_ex(x.md, md, &mdlen);
	for (k = 0; k < mdlen; k++)
		snprintf(hex + 2 * k, 3, "%02x", md[k]);
	hex[2 * mdlen] = '\0';
	http_print_result(&x, code, final_url, hex);

	if (!status_expected(json_object_get(spec, "expect"), code)) {
		reason = "http_status";
		err = xasprintf("%s %s: %s", method, url,
		    status_text(&x, code, cbuf, sizeof cbuf));
		if ((code == 429 || code == 503) && x.retry_after != NULL &&
		    http_parse_retry_after(x.retry_after, time(NULL),
		    &ra) == 0)
			retry_ms = ra;
		goto out;
	}
	if (want != NULL && strcmp(want, hex) != 0) {
		reason = "checksum";
		err = xasprintf("%s %s: sha256 %s, expected %s", method, url,
		    hex, want);
		goto out;
	}
	if (tmp != NULL) {
		http_tmp_path = NULL;
		if (rename(tmp, save) != 0) {
			err = xasprintf("cannot rename '%s' to '%s': %s", tmp,
			    save, strerror(errno));
			goto out;
		}
		free(tmp);
		tmp = NULL;
	}
	line = xasprintf("status=%ld\nbytes=%lld\nsha256=%s\n", code,
	    (long long)x.bytes, hex);
	append_output(line);
	free(line);
	ret = 0;
out:
	http_tmp_path = NULL;
	if (x.fp != NULL)
		fclose(x.fp);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	if (ret != 0) {
		fprintf(stderr, "dagexec: %s\n", err);
		write_result(result, "reason", reason, err, retry_ms);
	}
	free(err);
	free(final_url);
	free(body);
	free(x.status_line);
	free(x.retry_after);
	if (hdrs != NULL)
		cu->slist_free_all(hdrs);
	if (x.md != NULL)
		EVP_MD_CTX_free(x.md);
	if (x.c != NULL)
		cu->easy_cleanup(x.c);
	json_decref(spec);
	return ret;
}

/* ---- notifications (child side) ----------------------------------------- */

static size_t
discard_body(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

/* One POST. Returns 0, or -1 with *err. */
static int
notify_once(const char *url, const char *json, bool insecure, char **err)
{
	CURL *c;
	struct curl_slist *hdrs = NULL;
	struct xfer x;
	char errbuf[CURL_ERROR_SIZE], cbuf[32];
	CURLcode cc;
	long code = 0;
	int rc = -1;

	memset(&x, 0, sizeof x);
	if ((c = cu->easy_init()) == NULL) {
		*err = xstrdup("cannot initialise libcurl");
		return -1;
	}
	errbuf[0] = '\0';
	hdrs = cu->slist_append(hdrs, "Content-Type: application/json");
	cu->easy_setopt(c, CURLOPT_URL, url);
	cu->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cu->easy_setopt(c, CURLOPT_TIMEOUT, (long)HTTP_NOTIFY_TIMEOUT_S);
	cu->easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	cu->easy_setopt(c, CURLOPT_USERAGENT, "dagexec/" PACKAGE_VERSION);
	cu->easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	cu->easy_setopt(c, CURLOPT_POSTFIELDS, json);
	cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
	cu->easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	cu->easy_setopt(c, CURLOPT_HEADERDATA, &x);
	if (insecure) {
		cu->easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		cu->easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	cc = cu->easy_perform(c);
	cu->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cc != CURLE_OK)
		*err = curl_message(c, cc, errbuf, "POST", url);
	else if (code < 200 || code > 299)
		*err = xasprintf("POST %s: %s", url,
		    status_text(&x, code, cbuf, sizeof cbuf));
	else
		rc = 0;
	free(x.status_line);
	free(x.retry_after);
	cu->slist_free_all(hdrs);
	cu->easy_cleanup(c);
	return rc;
}

int
http_notify_main(const char *url, const char *state, const char *result,
    bool insecure)
{
	char *text = NULL, *json = NULL, *err = NULL;
	json_t *root = NULL;
	size_t len;
	int i, ret = 1;

	if (fs_read_file(state, HTTP_STATE_MAX, &text, &len, &err) != 0)
		goto out;
	if ((root = http_yaml_to_json(text, len, &err)) == NULL) {
		char *e = xasprintf("'%s': %s", state, err);

		free(err);
		err = e;
		goto out;
	}
	if ((json = json_dumps(root, JSON_COMPACT)) == NULL) {
		err = xstrdup("cannot encode the state as JSON");
		goto out;
	}
	if (http_load_curl(&err) != 0)
		goto out;
	if (cu->global_init(CURL_GLOBAL_DEFAULT) != 0) {
		err = xstrdup("cannot initialise libcurl");
		goto out;
	}
	for (i = 0; i < HTTP_NOTIFY_TRIES; i++) {
		if (i > 0)
			sleep(1u << (i - 1));	/* 1 s, 2 s */
		free(err);
		err = NULL;
		if (notify_once(url, json, insecure, &err) == 0) {
			ret = 0;
			break;
		}
	}
out:
	if (ret == 0)
		write_result(result, "status", "sent", NULL, -1);
	else {
		fprintf(stderr, "dagexec: notify: %s\n", err);
		write_result(result, "status", "failed", err, -1);
	}
	free(err);
	free(json);
	free(text);
	json_decref(root);
	return ret;
}
