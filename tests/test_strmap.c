/* CUnit suite for strmap.c, checked against a brute-force reference. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "cunit_main.h"
#include "strmap.h"
#include "xmalloc.h"

static void
test_basic(void)
{
	struct strmap *m = strmap_new(0);
	size_t v = 99, old = 99;

	CU_ASSERT_EQUAL(strmap_count(m), 0);
	CU_ASSERT_EQUAL(strmap_get(m, "a", &v), 0);
	CU_ASSERT_EQUAL(v, 99);
	CU_ASSERT_EQUAL(strmap_put(m, "a", 1, &old), 0);
	CU_ASSERT_EQUAL(old, 99);
	CU_ASSERT_EQUAL(strmap_put(m, "b", 2, NULL), 0);
	CU_ASSERT_EQUAL(strmap_put(m, "", 3, NULL), 0);
	CU_ASSERT_EQUAL(strmap_count(m), 3);
	/* A duplicate leaves the map as it was and reports the old value. */
	CU_ASSERT_EQUAL(strmap_put(m, "a", 7, &old), 1);
	CU_ASSERT_EQUAL(old, 1);
	CU_ASSERT_EQUAL(strmap_put(m, "a", 8, NULL), 1);
	CU_ASSERT_EQUAL(strmap_count(m), 3);
	CU_ASSERT_EQUAL(strmap_get(m, "a", &v), 1);
	CU_ASSERT_EQUAL(v, 1);
	CU_ASSERT_EQUAL(strmap_get(m, "", &v), 1);
	CU_ASSERT_EQUAL(v, 3);
	CU_ASSERT_EQUAL(strmap_get(m, "b", NULL), 1);
	CU_ASSERT_EQUAL(strmap_get(m, "c", NULL), 0);
	CU_ASSERT_EQUAL(strmap_get(m, "aa", NULL), 0);
	strmap_free(m);
	strmap_free(NULL);
}

/* Keys are borrowed: the map must compare contents, not pointers. */
static void
test_borrowed(void)
{
	struct strmap *m = strmap_new(4);
	char k1[] = "node", k2[] = "node";
	size_t v;

	CU_ASSERT_EQUAL(strmap_put(m, k1, 5, NULL), 0);
	CU_ASSERT_EQUAL(strmap_put(m, k2, 6, NULL), 1);
	CU_ASSERT_EQUAL(strmap_get(m, "node", &v), 1);
	CU_ASSERT_EQUAL(v, 5);
	strmap_free(m);
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Random keys from a small alphabet (so collisions and duplicates happen),
 * inserted past many growths, checked against a linear-search reference. */
static void
test_reference(void)
{
	enum { N = 60000, Q = 3000 };
	struct strmap *m = strmap_new(1);
	char **keys = xcalloc(N, sizeof *keys);
	char **sorted = xcalloc(N, sizeof *sorted);
	size_t *vals = xcalloc(N, sizeof *vals), nref = 0, i, j, v, old;
	unsigned seed = 12345;
	char buf[16];
	int len, k, r, found;

	for (i = 0; i < N; i++) {
		len = 1 + (int)(rand_r(&seed) % 4);
		for (k = 0; k < len; k++)
			buf[k] = "abcdefgh"[rand_r(&seed) % 8];
		buf[len] = '\0';
		keys[i] = xstrdup(buf);
	}
	for (i = 0; i < N; i++) {
		/* reference: first occurrence wins */
		found = 0;
		if (i < Q) {
			for (j = 0; j < i; j++)
				if (strcmp(keys[j], keys[i]) == 0) {
					found = 1;
					break;
				}
		}
		r = strmap_put(m, keys[i], i, &old);
		if (i < Q) {
			CU_ASSERT_EQUAL(r, found);
			if (found)
				CU_ASSERT_EQUAL(old, j);
		}
		if (r == 0)
			vals[nref++] = i;
	}
	CU_ASSERT_EQUAL(strmap_count(m), nref);
	/* The number of distinct keys, by sorting a copy. */
	memcpy(sorted, keys, N * sizeof *keys);
	qsort(sorted, N, sizeof *sorted, cmpstr);
	for (i = 0, j = 0; i < N; i++)
		if (i == 0 || strcmp(sorted[i - 1], sorted[i]) != 0)
			j++;
	CU_ASSERT_EQUAL(nref, j);
	CU_ASSERT(nref > 1000);
	for (i = 0; i < nref; i++) {
		CU_ASSERT_EQUAL(strmap_get(m, keys[vals[i]], &v), 1);
		CU_ASSERT_EQUAL(v, vals[i]);
	}
	for (i = 0; i < N; i++) {
		CU_ASSERT_EQUAL(strmap_get(m, keys[i], &v), 1);
		CU_ASSERT_EQUAL(strcmp(keys[v], keys[i]), 0);
		CU_ASSERT(v <= i);
	}
	CU_ASSERT_EQUAL(strmap_get(m, "abcde", NULL), 0);
	CU_ASSERT_EQUAL(strmap_get(m, "z", NULL), 0);
	strmap_free(m);
	for (i = 0; i < N; i++)
		free(keys[i]);
	free(keys);
	free(sorted);
	free(vals);
}

/* Many distinct keys: every one found with its value, absent ones not. */
static void
test_many(void)
{
	enum { N = 200000 };
	struct strmap *m = strmap_new(16);
	char **keys = xcalloc(N, sizeof *keys);
	size_t i, v;
	char buf[32];
	int ok = 1;

	for (i = 0; i < N; i++) {
		keys[i] = xasprintf("node-%zu", i);
		if (strmap_put(m, keys[i], i * 3, NULL) != 0)
			ok = 0;
	}
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL(strmap_count(m), N);
	for (i = 0; i < N; i++) {
		if (strmap_get(m, keys[i], &v) != 1 || v != i * 3)
			ok = 0;
		snprintf(buf, sizeof buf, "node-%zu", i + N);
		if (strmap_get(m, buf, NULL) != 0)
			ok = 0;
	}
	CU_ASSERT(ok);
	strmap_free(m);
	for (i = 0; i < N; i++)
		free(keys[i]);
	free(keys);
}

int
main(void)
{
	static const struct cunit_test tests[] = {
		{ "basic", test_basic },
		{ "borrowed keys", test_borrowed },
		{ "reference", test_reference },
		{ "many keys", test_many },
		{ NULL, NULL }
	};

	return cunit_run("strmap", NULL, NULL, tests);
}
