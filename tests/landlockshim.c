/*
 * An LD_PRELOAD shim for tests/integration/sandbox.sh: a kernel with an
 * older Landlock, or none, on this one.
 *
 * syscall(2) answers the Landlock version query with $LANDLOCK_SHIM_ABI
 * (1, 2, 3...: that ABI; 0: Landlock built in but not enabled, EOPNOTSUPP
 * for every Landlock call); any other call goes to libc's.  dagexec builds
 * its rulesets for the ABI it is told, which the real kernel accepts: an
 * ABI 3 ruleset has no TCP rules, as on Linux 6.2 to 6.6.
 *
 * Build: cc -shared -fPIC -o landlockshim.so landlockshim.c
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/syscall.h>

#define VERSION_FLAG	1L	/* LANDLOCK_CREATE_RULESET_VERSION */

static long	(*real_syscall)(long, ...);
static int	 fake_abi = -1;		/* -1: not set, pass everything */

/* Read once, before any child: the forwarding must not call getenv or
 * dlsym between a fork and an exec. */
__attribute__((constructor)) static void
shim_init(void)
{
	const char *s = getenv("LANDLOCK_SHIM_ABI");

	real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	if (s != NULL && *s != '\0')
		fake_abi = atoi(s);
}

long
syscall(long n, ...)
{
	va_list ap;
	long a[6];
	int i;

	/* as libc's own wrapper: six arguments, whatever the call takes */
	va_start(ap, n);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (fake_abi >= 0 && (n == SYS_landlock_create_ruleset ||
	    n == SYS_landlock_add_rule || n == SYS_landlock_restrict_self)) {
		if (fake_abi == 0) {
			errno = EOPNOTSUPP;
			return -1;
		}
		if (n == SYS_landlock_create_ruleset && a[0] == 0 &&
		    a[1] == 0 && a[2] == VERSION_FLAG)
			return fake_abi;
	}
	return real_syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}
