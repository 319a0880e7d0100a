#!/bin/sh
# cpuof_check.sh BUILDDIR: does bench/cpuof count what bench/README.md says?
# Compiles a small CPU burner with cc into a mktemp -d directory and runs it
# under BUILDDIR/bench/cpuof in the cases of the README's table: CPU burnt
# by the main thread, by threads that exited before the process (joined,
# detached, outliving the main thread), by a thread still running at exit,
# and by a CLONE_VM | CLONE_VFORK child before its exec; plus a command
# name with ") " in it, an exit status and a signal. Each burn is 300 ms of
# the burning thread's own CPU time. Prints a line a case and exits 1 when
# one is off by more than a tolerance (a bench tool, not part of make check).

set -u

BUILDDIR=${1:?usage: cpuof_check.sh BUILDDIR}
CPUOF=$BUILDDIR/bench/cpuof
if [ ! -x "$CPUOF" ]; then
	echo "skipped: $CPUOF missing (make bench/cpuof)"
	exit 0
fi
if ! command -v cc >/dev/null 2>&1; then
	echo "skipped: no cc to build the burner"
	exit 0
fi

TMP=$(mktemp -d /tmp/cpuof-check.XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

cat >"$TMP/burn.c" <<'EOF'
#define _GNU_SOURCE
#include <sys/prctl.h>
#include <sys/wait.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int burnt;
static char stack[65536];

static double
thread_cpu(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (t.tv_sec + t.tv_nsec / 1e9);
}

static void
burn(double s)
{
	double t0 = thread_cpu();

	while (thread_cpu() - t0 < s)
		;
}

static void *
burn_thread(void *arg)
{
	burn(0.3);
	return (arg);
}

static void *
burn_forever(void *arg)
{
	burn(0.3);
	burnt = 1;
	for (;;)
		burn(1);
	return (arg);
}

static int
vfork_child(void *arg)
{
	burn(0.3);
	execl("/bin/true", "true", (char *)NULL);
	_exit(127);
}

int
main(int argc, char **argv)
{
	pthread_t	t;
	pid_t		p;
	int		st;

	if (argc != 2)
		return (64);
	if (strcmp(argv[1], "main") == 0)
		burn(0.3);
	else if (strcmp(argv[1], "joined") == 0) {
		if (pthread_create(&t, NULL, burn_thread, NULL) != 0 ||
		    pthread_join(t, NULL) != 0)
			return (71);
	} else if (strcmp(argv[1], "detached") == 0) {
		if (pthread_create(&t, NULL, burn_thread, NULL) != 0 ||
		    pthread_detach(t) != 0)
			return (71);
		sleep(2);
	} else if (strcmp(argv[1], "leaderexit") == 0) {
		if (pthread_create(&t, NULL, burn_thread, NULL) != 0)
			return (71);
		pthread_exit(NULL);
	} else if (strcmp(argv[1], "running") == 0) {
		if (pthread_create(&t, NULL, burn_forever, NULL) != 0)
			return (71);
		while (!burnt)
			usleep(10000);
		exit(0);
	} else if (strcmp(argv[1], "vfork") == 0) {
		p = clone(vfork_child, stack + sizeof stack,
		    CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
		if (p == -1 || waitpid(p, &st, 0) != p)
			return (71);
	} else if (strcmp(argv[1], "comm") == 0) {
		prctl(PR_SET_NAME, "a) b ) (c", 0, 0, 0);
		burn(0.3);
		return (3);
	} else if (strcmp(argv[1], "kill") == 0) {
		burn(0.3);
		raise(SIGKILL);
	} else
		return (64);
	return (0);
}
EOF
if ! cc -O2 -pthread -o "$TMP/burn" "$TMP/burn.c" 2>"$TMP/cc.err"; then
	echo "skipped: cannot build the burner:"
	head -n 5 "$TMP/cc.err"
	exit 0
fi

fail=0
# case MODE RC SELF_MIN SELF_MAX CHILD_MIN CHILD_MAX
case1() {
	"$CPUOF" -o "$TMP/out" "$TMP/burn" "$1" 2>"$TMP/err"
	rc=$?
	line=$(cat "$TMP/out" 2>/dev/null)
	s=$(echo "$line" | sed -n 's/.*self_ms=\([0-9]*\).*/\1/p')
	c=$(echo "$line" | sed -n 's/.*children_ms=\([0-9]*\).*/\1/p')
	v=ok
	if [ "$rc" != "$2" ] || [ -z "$s" ] || [ -z "$c" ] ||
	    [ "$s" -lt "$3" ] || [ "$s" -gt "$4" ] ||
	    [ "$c" -lt "$5" ] || [ "$c" -gt "$6" ]; then
		v="OFF (want exit $2, self $3-$4, children $5-$6)"
		fail=1
	fi
	printf '%-11s exit %-3s %s  %s\n' "$1" "$rc" "${line:-no report}" "$v"
}

case1 main 0 250 400 0 20
case1 joined 0 250 400 0 20
case1 detached 0 250 400 0 20
case1 leaderexit 0 250 400 0 20
case1 running 0 250 2000 0 20
case1 vfork 0 0 50 250 400
case1 comm 3 250 400 0 20
case1 kill 137 250 400 0 20
exit $fail
