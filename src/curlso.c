/* libcurl at run time: dlopen(3) and dlsym(3) into a table of typed
 * function pointers, as systemd does for its optional libraries. */
#include "config.h"

#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

#include "curlso.h"
#include "xmalloc.h"

/* Every function http.c calls, by symbol and by the field that holds it. */
static const struct {
	const char	*sym;
	size_t		 off;
} curlso_syms[] = {
	{ "curl_global_init", offsetof(struct curlso, global_init) },
	{ "curl_easy_init", offsetof(struct curlso, easy_init) },
	{ "curl_easy_setopt", offsetof(struct curlso, easy_setopt) },
	{ "curl_easy_perform", offsetof(struct curlso, easy_perform) },
	{ "curl_easy_getinfo", offsetof(struct curlso, easy_getinfo) },
	{ "curl_easy_cleanup", offsetof(struct curlso, easy_cleanup) },
	{ "curl_easy_strerror", offsetof(struct curlso, easy_strerror) },
	{ "curl_slist_append", offsetof(struct curlso, slist_append) },
	{ "curl_slist_free_all", offsetof(struct curlso, slist_free_all) },
	{ "curl_getdate", offsetof(struct curlso, getdate) },
};

/* the table is filled through void * (dlsym's type) */
_Static_assert(sizeof(void *) == sizeof(void (*)(void)),
    "function and object pointers differ in size");

static struct curlso	curlso_table;
static int		curlso_loaded;

int
curlso_open(const char *name, struct curlso *t, char **cause)
{
	struct curlso n;
	const char *e;
	void *p;
	size_t i;

	memset(&n, 0, sizeof n);
	(void)dlerror();
	if ((n.handle = dlopen(name, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		*cause = xasprintf("cannot load '%s': %s", name,
		    e != NULL ? e : "unknown error");
		return -1;
	}
	for (i = 0; i < sizeof curlso_syms / sizeof curlso_syms[0]; i++) {
		(void)dlerror();
		if ((p = dlsym(n.handle, curlso_syms[i].sym)) == NULL) {
			e = dlerror();
			*cause = xasprintf("cannot load '%s': %s", name,
			    e != NULL ? e : curlso_syms[i].sym);
			dlclose(n.handle);
			return -1;
		}
		/* POSIX: a function's address is a valid void * */
		memcpy((char *)&n + curlso_syms[i].off, &p, sizeof p);
	}
	*t = n;
	return 0;
}

void
curlso_close(struct curlso *t)
{
	if (t->handle != NULL)
		dlclose(t->handle);
	memset(t, 0, sizeof *t);
}

const struct curlso *
curlso_get(char **cause)
{
	if (!curlso_loaded) {
		if (curlso_open(CURLSO_NAME, &curlso_table, cause) != 0)
			return NULL;
		curlso_loaded = 1;
	}
	return &curlso_table;
}
