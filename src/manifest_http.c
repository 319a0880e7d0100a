#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "manifest_int.h"
#include "xmalloc.h"

/* A node's http: key (what an http node requests and expects), checked;
 * its copy and release. */

static const char *const http_keys[] = { "url", "method", "headers", "body",
	"body_file", "save", "sha256", "expect", "follow_redirects",
	"max_bytes", "insecure", NULL };
static const char *const http_methods[] = { "GET", "POST", "PUT", "PATCH",
	"DELETE", "HEAD", NULL };

void
node_http_free(struct http_spec *h)
{
	if (h == NULL)
		return;
	free(h->url);
	free(h->method);
	kvlist_free(&h->headers);
	free(h->body);
	free(h->body_file);
	free(h->save);
	free(h->sha256);
	free(h->expect);
	free(h);
}

static void
parse_http_headers(struct ctx *c, const struct ynode *val, struct http_spec *h)
{
	struct mapit hit;
	struct ynode *hk, *hv;
	const char *s;

	if (want_map(c, "headers", val) != 1)
		return;
	kvlist_free(&h->headers);
	h->headers.v = xcalloc(val->n / 2 + 1, sizeof *h->headers.v);
	mapit_init(&hit, val);
	while (map_next(c, &hit, &hk, &hv)) {
		if (*hk->u.s == '\0' || strpbrk(hk->u.s, ": \t\r\n") != NULL) {
			yerr(c, hk, "invalid header name '%s'", hk->u.s);
			continue;
		}
		if (is_null(hv))
			s = "";
		else if (get_str(c, hk->u.s, hv, &s) != 1)
			continue;
		if (strpbrk(s, "\r\n") != NULL) {
			yerr(c, hv, "header '%s' must not contain a line "
			    "break", hk->u.s);
			continue;
		}
		h->headers.v[h->headers.n].key = xstrdup(hk->u.s);
		h->headers.v[h->headers.n].value = xstrdup(s);
		h->headers.n++;
	}
}

static void
parse_http_expect(struct ctx *c, const struct ynode *val, struct http_spec *h)
{
	size_t i;
	int64_t x;

	if (want_seq(c, "expect", val) != 1)
		return;
	if (val->n == 0) {
		yerr(c, val, "'expect' must not be empty");
		return;
	}
	free(h->expect);
	h->expect = xcalloc(val->n, sizeof *h->expect);
	h->nexpect = 0;
	for (i = 0; i < val->n; i++) {
		if (get_int(c, "expect", val->u.kids[i], 100, 599, &x) == 1)
			h->expect[h->nexpect++] = (int)x;
		else if (is_null(val->u.kids[i]))
			yerr(c, val->u.kids[i], "'expect' must be an integer, "
			    "not null");
	}
}

void
parse_http(struct ctx *c, const struct ynode *v, struct node *n)
{
	struct http_spec *h;
	struct mapit it;
	struct ynode *k, *val, *insecure_y = NULL, *url_y = NULL;
	struct ynode *body_y = NULL;
	const char *s;
	char *p;
	int idx;
	size_t i;

	if (want_map(c, "http", v) != 1)
		return;
	h = xcalloc(1, sizeof *h);
	h->follow_redirects = true;
	h->max_bytes = (int64_t)1 << 30;
	node_http_free(n->http);
	n->http = h;
	mapit_init(&it, v);
	while (map_next(c, &it, &k, &val)) {
		idx = key_index(k->u.s, http_keys);
		switch (idx) {
		case 0:	/* url */
			if (is_null(val)) {
				yerr(c, val, "'url' must be a string, "
				    "not null");
				url_y = val;
			} else if (get_nestr(c, "url", val, &h->url) == 1) {
				url_y = val;
				if (!check_url(c, "url", val, h->url)) {
					free(h->url);
					h->url = NULL;
				}
			}
			break;
		case 1:	/* method */
			if (get_str(c, "method", val, &s) != 1)
				break;
			p = xstrdup(s);
			for (i = 0; p[i] != '\0'; i++)
				p[i] = (char)toupper((unsigned char)p[i]);
			if (key_index(p, http_methods) < 0) {
				yerr(c, val, "invalid method '%s' (expected "
				    "GET, POST, PUT, PATCH, DELETE or HEAD)",
				    s);
				free(p);
				break;
			}
			free(h->method);
			h->method = p;
			break;
		case 2:	/* headers */
			parse_http_headers(c, val, h);
			break;
		case 3:	/* body */
			if (get_str(c, "body", val, &s) == 1) {
				if (body_y != NULL) {
					yerr(c, k, "'body' and 'body_file' "
					    "cannot both be set");
					break;
				}
				body_y = k;
				free(h->body);
				h->body = xstrdup(s);
			}
			break;
		case 4:	/* body_file */
			if (get_str(c, "body_file", val, &s) == 1 &&
			    check_relpath(c, "body_file", val, s)) {
				if (body_y != NULL) {
					yerr(c, k, "'body' and 'body_file' "
					    "cannot both be set");
					break;
				}
				body_y = k;
				free(h->body_file);
				h->body_file = xstrdup(s);
			}
			break;
		case 5:	/* save */
			if (get_str(c, "save", val, &s) == 1 &&
			    check_relpath(c, "save", val, s)) {
				free(h->save);
				h->save = xstrdup(s);
			}
			break;
		case 6:	/* sha256 */
			if (get_str(c, "sha256", val, &s) != 1)
				break;
			if (strlen(s) != 64 || strspn(s,
			    "0123456789abcdefABCDEF") != 64) {
				yerr(c, val, "'sha256' must be 64 hexadecimal "
				    "digits");
				break;
			}
			free(h->sha256);
			h->sha256 = xstrdup(s);
			for (i = 0; i < 64; i++)
				h->sha256[i] = (char)tolower(
				    (unsigned char)h->sha256[i]);
			break;
		case 7:	/* expect */
			parse_http_expect(c, val, h);
			break;
		case 8:
			get_bool(c, "follow_redirects", val,
			    &h->follow_redirects);
			break;
		case 9:
			get_size(c, "max_bytes", val, 1, &h->max_bytes);
			break;
		case 10:
			if (get_bool(c, "insecure", val, &h->insecure) == 1)
				insecure_y = val;
			break;
		default:
			unknown_key(c, k, "key", http_keys,
			    count_names(http_keys));
			break;
		}
	}
	if (h->url == NULL && url_y == NULL)
		yerr(c, v, "missing required key 'url' in 'http'");
	if (h->insecure && h->url != NULL && !url_is_loopback(h->url))
		yerr(c, insecure_y, "'insecure: true' is only allowed for a "
		    "loopback host (localhost, 127.0.0.0/8, [::1])");
	if (h->method == NULL)
		h->method = xstrdup("GET");
}

/* limits.cpus: a number of CPUs from 0.01 to 4096, in thousandths. */

struct http_spec *
node_http_copy(const struct http_spec *h)
{
	struct http_spec *c;
	size_t k;

	if (h == NULL)
		return NULL;
	c = xmalloc(sizeof *c);
	*c = *h;
	c->url = str_copy(h->url);
	c->method = str_copy(h->method);
	c->headers.v = xcalloc(h->headers.n + 1, sizeof *c->headers.v);
	for (k = 0; k < h->headers.n; k++) {
		c->headers.v[k].key = xstrdup(h->headers.v[k].key);
		c->headers.v[k].value = xstrdup(h->headers.v[k].value);
	}
	c->body = str_copy(h->body);
	c->body_file = str_copy(h->body_file);
	c->save = str_copy(h->save);
	c->sha256 = str_copy(h->sha256);
	if (h->expect != NULL) {
		c->expect = xcalloc(h->nexpect + 1, sizeof *c->expect);
		for (k = 0; k < h->nexpect; k++)
			c->expect[k] = h->expect[k];
	}
	return c;
}

void
http_names_each(void (*fn)(void *, const char *, const char *), void *arg)
{
	names_each(fn, arg, "key http", http_keys);
	names_each(fn, arg, "value method", http_methods);
}
