/*
 * cunit_main.h: the part of main() shared by every CUnit suite in tests/.
 */
#ifndef CUNIT_MAIN_H
#define CUNIT_MAIN_H

#include <stdio.h>

#include <CUnit/Basic.h>

/* One test of a suite; a table of them ends with { NULL, NULL }. */
struct cunit_test {
	const char	*name;
	CU_TestFunc	 fn;
};

/* Run tests as one verbose suite; 0 if all passed, 1 on failure or error. */
static int
cunit_run(const char *suite, CU_InitializeFunc init, CU_CleanupFunc clean,
    const struct cunit_test *tests)
{
	const struct cunit_test	*t;
	CU_pSuite		 s;
	int			 rc = 1;

	if (CU_initialize_registry() != CUE_SUCCESS)
		goto fail;
	if ((s = CU_add_suite(suite, init, clean)) == NULL)
		goto fail;
	for (t = tests; t->name != NULL; t++) {
		if (CU_add_test(s, t->name, t->fn) == NULL)
			goto fail;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		goto fail;
	rc = CU_get_number_of_failures() > 0;
	goto out;

fail:
	fprintf(stderr, "suite '%s': %s\n", suite, CU_get_error_msg());
out:
	CU_cleanup_registry();
	return (rc);
}

#endif /* CUNIT_MAIN_H */
