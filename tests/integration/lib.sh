# Helpers for the integration tests: sourced by each tests/integration/*.sh.
# Each test runs in its own temporary directory, removed on exit.
set -u

: "${DAGEXEC:?DAGEXEC must name the dagexec binary}"
: "${TOP_SRCDIR:?TOP_SRCDIR must name the source tree}"

T=$(mktemp -d "${TMPDIR:-/tmp}/dagexec-test.XXXXXX") || exit 99
trap 'stop_supervisors; rm -rf "$T"' EXIT
cd "$T" || exit 99
# `run` learns node durations into $XDG_STATE_HOME/dagexec/history/: each
# test starts with none, and the caller's home is left alone
XDG_STATE_HOME=$T/.xdg-state
export XDG_STATE_HOME

npass=0
nfail=0

pass() { npass=$((npass + 1)); echo "ok - $*"; }
fail() { nfail=$((nfail + 1)); echo "FAIL - $*"; }

# check DESCRIPTION COMMAND...: passes when the command succeeds
check() {
	desc=$1; shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# expect_status N DESCRIPTION COMMAND...: runs the command, output in
# $T/out and $T/err, and checks its exit status
expect_status() {
	want=$1; desc=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" -eq "$want" ]; then
		pass "$desc (exit $got)"
	else
		fail "$desc: exit $got, wanted $want"
		sed 's/^/  stderr: /' "$T/err" | head -20
	fi
}

# grep_file DESCRIPTION PATTERN FILE: the file holds a line matching PATTERN
grep_file() {
	if grep -q -e "$2" "$3" 2>/dev/null; then
		pass "$1"
	else
		fail "$1: no line matching '$2' in $3"
		sed 's/^/  | /' "$3" 2>/dev/null | head -20
	fi
}

# no_grep_file DESCRIPTION PATTERN FILE
no_grep_file() {
	if grep -q -e "$2" "$3" 2>/dev/null; then
		fail "$1: '$2' found in $3"
	else
		pass "$1"
	fi
}

# users_dagexec: a copy of $DAGEXEC that every user may run (mode 0755
# under $T, which the caller has made 0755): the build directory may be
# one only root can enter (.ci/run builds under a mktemp -d); its path
users_dagexec() {
	cp "$DAGEXEC" "$T/dagexec.users" && chmod 755 "$T/dagexec.users" &&
	    echo "$T/dagexec.users"
}

# A python3 with PyYAML: the first python3 on PATH, else Debian's.
PY=python3
if ! python3 -c 'import yaml' 2>/dev/null && [ -x /usr/bin/python3 ]; then
	PY=/usr/bin/python3
fi

# A YAML value from a state.yaml: yget FILE 'nodes.a.status'.
yget() {
	"$PY" - "$1" "$2" <<'PY'
import sys
try:
    import yaml
except ImportError:
    yaml = None
path, key = sys.argv[1], sys.argv[2]
text = open(path).read()
if yaml is None:
    sys.exit(3)
d = yaml.safe_load(text)
for k in key.split('.'):
    if isinstance(d, list):
        d = d[int(k)]
    else:
        d = d[k]
print('null' if d is None else d)
PY
}

# wait_for COUNT GLOB: until COUNT files match (at most 30 s)
wait_for() {
	i=0
	while [ $i -lt 300 ]; do
		n=$(ls $2 2>/dev/null | wc -l)
		[ "$n" -ge "$1" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# bundle_state BUNDLE KEY: a key of the state.yaml in a .tar.gz bundle
bundle_state() {
	b=$1
	id=$(basename "$b"); id=${id%.tar.gz}
	mkdir -p "$T/x.$id"
	tar xzf "$b" -C "$T/x.$id" 2>/dev/null
	yget "$T/x.$id/$id/state.yaml" "$2"
}

# For the scripts of `retry` and the cache (others define their own):
# unpack BUNDLE NAME: unpacks into $T/NAME.x; $X the member directory, $S
# its state.yaml
unpack() {
	rm -rf "$T/$2.x"
	mkdir -p "$T/$2.x"
	tar xzf "$1" -C "$T/$2.x"
	X=$(ls -d "$T/$2.x"/*/ | head -n 1)
	X=${X%/}
	S="$X/state.yaml"
}

# run_unpack NAME MANIFEST: `dagexec run` it into $T/NAME.out, $rc its
# exit status, its bundle unpacked as unpack does ($X, $S); a run without
# a bundle fails the test, with its stderr
run_unpack() {
	mkdir -p "$T/$1.out"
	"$DAGEXEC" run -o "$T/$1.out" "$2" >"$T/$1.stdout" 2>"$T/$1.stderr"
	rc=$?
	X=; S=
	b=$(tail -n 1 "$T/$1.stdout")
	if [ -f "$b" ]; then
		unpack "$b" "$1"
	else
		fail "$1: no bundle"
		sed 's/^/  | /' "$T/$1.stderr" | head -20
	fi
}

# expect_state DESCRIPTION KEY VALUE (of $S)
expect_state() {
	got=$(yget "$S" "$2" 2>/dev/null)
	if [ "$got" = "$3" ]; then pass "$1"; else fail "$1: $2 is '$got', wanted '$3'"; fi
}

# runs: the nodes that ran since the last call, sorted, on one line
runs() {
	if [ -f "$T/runs" ]; then sort "$T/runs" | tr '\n' ' ' | sed 's/ $//'; fi
	rm -f "$T/runs"
}

# the last line of stdout: the bundle
bundle_of() { tail -n 1 "$T/out"; }

# wait_empty DIR: until DIR is empty, at most 10 s (a job's directory in
# active/ goes once its supervisor has exited, a moment after its bundle
# is in done/); true when it is
wait_empty() {
	_i=0
	while [ $_i -lt 100 ] && [ -n "$(ls -A "$1")" ]; do
		sleep 0.1; _i=$((_i + 1))
	done
	[ -z "$(ls -A "$1")" ]
}

# The pids of the job supervisors of spools under $T (`dagexec
# __supervise --spool $T/...`): they outlive `watch` by design.
# One pgrep, not a process a /proc entry: on a busy machine the loop took
# seconds, and a test that kills "now" killed too late.
supervisor_pids() {
	pgrep -f -- "__supervise --spool $T/"
}

# End the supervisors a test left: SIGTERM (each interrupts its job and
# kills its nodes), then SIGKILL after 10 s.
stop_supervisors() {
	pids=$(supervisor_pids)
	[ -n "$pids" ] || return 0
	kill -TERM $pids 2>/dev/null
	i=0
	while [ $i -lt 100 ] && [ -n "$(supervisor_pids)" ]; do
		sleep 0.1; i=$((i + 1))
	done
	pids=$(supervisor_pids)
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
}

# The pid of a `dagexec watch` a test started in the background, and how
# it stops it: SIGTERM, then wait for its exit; the jobs' supervisors go
# on (stop_supervisors ends them).
# start_watch SPOOL [OPTIONS...]: such a `watch`, once it holds the spool's
# lock (its pid in SPOOL/lock; at most 5 s).
start_watch() {
	_s=$1; shift
	"$DAGEXEC" watch -s "$_s" "$@" >>"$T/watch.log" 2>&1 &
	WPID=$!
	_i=0
	while [ $_i -lt 100 ] && [ "$(cat "$_s/lock" 2>/dev/null)" != "$WPID" ]; do
		sleep 0.05; _i=$((_i + 1))
	done
}
WPID=
stop_daemon() {
	if [ -n "$WPID" ]; then
		kill -TERM "$WPID" 2>/dev/null
		wait "$WPID" 2>/dev/null
		WPID=
	fi
}

finish() {
	echo "$npass passed, $nfail failed"
	[ "$nfail" -eq 0 ]
	exit $?
}

# clockshim: tests/clockshim.c built into $T (no C compiler: the test is
# skipped, exit 77; one that fails to build it fails it), OFF the file of
# the wall clock's offset in seconds (0), and SHIM a command prefix that
# runs a command with that wall clock: `$SHIM "$DAGEXEC" ...` (env execs
# it: the same pid)
clockshim() {
	CC=${CC:-cc}
	if ! command -v "$CC" >/dev/null 2>&1; then
		echo "skip - no C compiler ('$CC') to build the clock shim"
		exit 77
	fi
	if ! "$CC" -shared -fPIC -o "$T/clockshim.so" \
	    "$TOP_SRCDIR/tests/clockshim.c" 2>"$T/cc.err"; then
		cat "$T/cc.err"
		echo "FAIL - the clock shim does not build"
		exit 1
	fi
	OFF="$T/offset"
	echo 0 >"$OFF"
	# an ASan build checks that its runtime comes first; the shim does
	# not touch memory, so the check can be left out
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
	export ASAN_OPTIONS
	SHIM="env LD_PRELOAD=$T/clockshim.so CLOCKSHIM_FILE=$OFF"
}
