/* libcurl loaded at run time with dlopen(3), by the `__http` and `__notify`
 * children only: the dagexec binary does not link it, so the runs that make
 * no request do not pay its start-up. curl.h gives the types and constants;
 * the functions are called through a table of typed pointers. The fields
 * are named apart from curl's own (curl.h's type-checking macros do not
 * apply): the varargs of easy_setopt and easy_getinfo are not checked, so
 * pass exactly long, curl_off_t or a pointer as the option wants. */
#ifndef DAGEXEC_CURLSO_H
#define DAGEXEC_CURLSO_H

#include <time.h>

#include <curl/curl.h>

#define CURLSO_NAME	"libcurl.so.4"

struct curlso {
	void			 *handle;	/* of dlopen */
	CURLcode		(*global_init)(long);
	CURL			*(*easy_init)(void);
	CURLcode		(*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode		(*easy_perform)(CURL *);
	CURLcode		(*easy_getinfo)(CURL *, CURLINFO, ...);
	void			(*easy_cleanup)(CURL *);
	const char		*(*easy_strerror)(CURLcode);
	struct curl_slist	*(*slist_append)(struct curl_slist *,
				    const char *);
	void			(*slist_free_all)(struct curl_slist *);
	time_t			(*getdate)(const char *, const time_t *);
};

/* Load CURLSO_NAME once for the process and resolve its functions: the
 * table, or NULL with *cause ("cannot load 'libcurl.so.4': ...", dlerror's
 * words); a failure is tried again on the next call. */
const struct curlso *curlso_get(char **cause);
/* Load the library name (RTLD_NOW | RTLD_LOCAL) into *t, every function
 * resolved. Returns 0, or -1 with *cause and nothing left open. */
int curlso_open(const char *name, struct curlso *t, char **cause);
/* Close what curlso_open opened into *t (not the table of curlso_get). */
void curlso_close(struct curlso *t);

#endif
