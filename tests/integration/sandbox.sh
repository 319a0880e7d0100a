#!/bin/sh
# sandbox: (Landlock) on real nodes: what a strict node may read, write,
# connect to and bind; a private TMPDIR per attempt; listed paths and
# ports; a sandbox that cannot be enforced whole (a listed path that does
# not exist; an older kernel, through tests/landlockshim.c) fails the
# attempt with spawn_error unless best_effort; the state's sandbox field,
# the weakest of a node's attempts across a resume; no sandbox on Slurm;
# the values/ files of a node's needs readable, no others.
# Tests run as root, and Landlock restricts root too.
. "$TOP_SRCDIR/tests/integration/lib.sh"

command -v python3 >/dev/null 2>&1 || { echo "skip: no python3"; exit 77; }
ABI=$(python3 -c 'import ctypes
print(ctypes.CDLL(None, use_errno=True).syscall(444, None, 0, 1))')
if [ "${ABI:-0}" -lt 4 ] 2>/dev/null; then
	echo "skip: this kernel's Landlock ABI is '$ABI' (4 needed: TCP rules)"
	exit 77
fi
# the nodes' python: the system's, which a sandbox lets them run (one
# under /root would not be)
NPY=/usr/bin/python3
[ -x "$NPY" ] || { echo "skip: no $NPY"; exit 77; }
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
unset no_proxy NO_PROXY

SECRET="$T/secret"
echo "not for nodes" >"$SECRET"
chmod 600 "$SECRET"

# runjob NAME MANIFEST [ENV...]: dagexec run --keep $RUN_ARGS into
# $T/NAME.out; sets $rc, $J (the kept job directory) and $S (its state.yaml)
RUN_ARGS=
runjob() {
	name=$1; y=$2; shift 2
	rm -rf "$T/$name.out"
	mkdir -p "$T/$name.out"
	env "$@" "$DAGEXEC" run --keep $RUN_ARGS -o "$T/$name.out" "$y" \
	    >"$T/$name.stdout" 2>"$T/$name.stderr"
	rc=$?
	J=$(find "$T/$name.out" -mindepth 1 -maxdepth 1 -type d | head -n 1)
	S="$J/state.yaml"
}
# has NODE LINE: the node's stdout.log holds LINE
has() { grep -qx -e "$2" "$J/nodes/$1/stdout.log" 2>/dev/null; }
# error_has PATTERN: the error of node n in $S matches
error_has() { yget "$S" "nodes.$1.error" 2>/dev/null | grep -q -e "$2"; }
# no_sandbox_dirs: nothing of a sandboxed attempt is left in $J/io
no_sandbox_dirs() {
	[ -d "$J/io" ] && ! ls "$J/io" | grep -q '^sandbox\.'
}
out_of() { sed 's/^/  | /' "$J/nodes/$1/stdout.log" "$J/nodes/$1/stderr.log" 2>/dev/null | head -30; }

# --- strict: read, write, devices, signals ---------------------------------
# each probe prints "NAME yes" or "NAME no"
cat >strict.yaml <<Y
name: strict
nodes:
  probe:
    sandbox: strict
    run: |
      p() { n=\$1; shift; if "\$@" >/dev/null 2>&1; then echo "\$n yes"; else echo "\$n no"; fi; }
      p secret cat $SECRET
      p root ls /root
      p usr head -c 1 /usr/bin/env
      p etc cat /etc/passwd
      p escape touch $T/escape
      p escape-dir mkdir $T/escape.d
      p work sh -c 'echo x > made && cat made'
      p work-exec sh -c 'printf "#!/bin/sh\\necho ran\\n" > s.sh && chmod +x s.sh && ./s.sh'
      p tmp sh -c 'echo x > "\$TMPDIR/f" && mkdir "\$TMPDIR/d" && rm -r "\$TMPDIR/d"'
      p tmp-private test "\$TMPDIR" != "\${TMPDIR%/tmp}" -a -d "\$TMPDIR"
      p null sh -c 'echo x > /dev/null'
      p urandom head -c 4 /dev/urandom
      p zero-write sh -c 'echo x > /dev/zero'
      p io-list ls "\$(dirname "\$DAGEXEC_OUTPUT")/.."
      p parent kill -0 \$PPID
      echo "tmpdir=\$TMPDIR" >> "\$DAGEXEC_OUTPUT"
      echo "done=1" >> "\$DAGEXEC_METRICS"
  use:
    needs: [probe]
    run: 'echo "got \$DAGEXEC_IN_PROBE_TMPDIR"; cat $SECRET'
Y
runjob strict strict.yaml
check "strict: the run succeeds" test "$rc" -eq 0
for want in "secret no" "root no" "usr yes" "etc yes" "escape no" \
    "escape-dir no" "work yes" "work-exec yes" "tmp yes" "tmp-private yes" \
    "null yes" "urandom yes" "zero-write no" "io-list no"; do
	if has probe "$want"; then pass "strict: $want"; else fail "strict: wanted '$want'"; out_of probe; fi
done
check "strict: nothing was made outside the work directory" \
    test ! -e "$T/escape" -a ! -e "$T/escape.d"
check "strict: the file made in the work directory is there" test -f "$J/work/made"
if [ "$ABI" -ge 6 ]; then
	if has probe "parent no"; then pass "strict: cannot signal dagexec (ABI $ABI scoping)"; else fail "strict: signalled its parent"; out_of probe; fi
else
	echo "skip - signal scoping: Landlock ABI $ABI has none (6 needed)"
fi
check "strict: its output reached its dependent" grep -q "^got $J/io/sandbox\.[0-9]*\.[0-9]*/tmp\$" "$J/nodes/use/stdout.log"
check "strict: an unsandboxed node reads what the sandboxed one could not" grep -qx "not for nodes" "$J/nodes/use/stdout.log"
check "strict: its metrics were read" grep -q "done" "$S"
tmpd=$(sed -n 's/^got //p' "$J/nodes/use/stdout.log")
check "strict: the attempt's TMPDIR is gone after it" test -n "$tmpd" -a ! -e "$tmpd"
check "strict: its directory in io/ is gone" no_sandbox_dirs
expect_state "strict: the state says enforced" nodes.probe.sandbox enforced
expect_state "strict: its dependent ran" nodes.use.status succeeded
check "strict: no sandbox field for a node without one" \
    test -z "$(yget "$S" nodes.use.sandbox 2>/dev/null)"
check "strict: values/ was made for the value passed on, 0755 less the umask" \
    test -d "$J/values/probe" -a "$(stat -c %a "$J/values" 2>/dev/null)" = \
    "$(printf '%o' $((0755 & ~0$(umask))))"

# --- a private TMPDIR per attempt ------------------------------------------
cat >tmpdir.yaml <<'Y'
name: tmpdir
defaults:
  sandbox: strict
nodes:
  twice:
    retries: 1
    retry_delay: 0.1s
    run: |
      if [ -e "$TMPDIR/left" ]; then echo "left over"; exit 3; fi
      echo "attempt $DAGEXEC_ATTEMPT $TMPDIR"
      touch "$TMPDIR/left"
      [ "$DAGEXEC_ATTEMPT" -ge 2 ]
Y
runjob tmpdir tmpdir.yaml
check "tmpdir: the second attempt succeeds" test "$rc" -eq 0
check "tmpdir: it found nothing of the first attempt's TMPDIR" \
    test "$(grep -c '^attempt ' "$J/nodes/twice/stdout.log")" -eq 2
no_grep_file "tmpdir: nothing was left over" "left over" "$J/nodes/twice/stdout.log"
expect_state "tmpdir: sandbox from defaults" nodes.twice.sandbox enforced
check "tmpdir: each attempt had a TMPDIR of its own" test "$(sed -n 's/^attempt [0-9]* //p' "$J/nodes/twice/stdout.log" | sort -u | wc -l)" -eq 2
check "tmpdir: both are gone after the node" no_sandbox_dirs
check "tmpdir: no values/ in a job that passed none on" test ! -e "$J/values"

# --- an attempt's directory serves again only when nothing of it lives -----
# A chain of sandboxed nodes, one at a time: each checks that its TMPDIR is
# empty, mode 0700, and prints it; some leave what must not reach a later
# attempt (a file, a side file, a mode, a link to a directory that must be
# kept, a process that went its own way). Under cgroups a directory left
# clean (its cgroup gone) serves again; under rlimits none does.
mkdir "$T/keep.d"
echo "kept" >"$T/keep.d/file"
cat >reuse.yaml <<Y
name: reuse
defaults:
  sandbox: strict
nodes:
  r0: {run: 'true'}
Y
i=1
for leave in '' 'echo x > "$TMPDIR/left"' '' 'chmod 777 "$TMPDIR"' '' \
    'echo v=1 > "$DAGEXEC_OUTPUT"' '' \
    "rmdir \"\$TMPDIR\" && ln -s $T/keep.d \"\$TMPDIR\"" '' \
    'setsid sh -c "sleep 5 &" </dev/null >/dev/null 2>&1' '' ''; do
	cat >>reuse.yaml <<Y
  r$i:
    needs: [r$((i - 1))]
    run: |
      ls -A "\$TMPDIR" | grep -q . && { echo "found: \$(ls -A "\$TMPDIR")"; exit 3; }
      echo "dir \$TMPDIR \$(stat -c %a "\$TMPDIR")"
      $leave
Y
	i=$((i + 1))
done
for how in auto rlimits; do
	RUN_ARGS="--containment $how"
	runjob "reuse-$how" reuse.yaml
	RUN_ARGS=
	check "reuse ($how): the run succeeds" test "$rc" -eq 0
	cat "$J"/nodes/r*/stdout.log >"$T/reuse-$how.dirs"
	no_grep_file "reuse ($how): no attempt found what an earlier one left" \
	    "found" "$T/reuse-$how.dirs"
	check "reuse ($how): every TMPDIR was 0700" \
	    test "$(grep -c ' 700$' "$T/reuse-$how.dirs")" -eq 12
	check "reuse ($how): the linked directory is untouched" \
	    grep -qx kept "$T/keep.d/file"
	check "reuse ($how): no directory of an attempt is left" no_sandbox_dirs
	distinct=$(awk '{ print $2 }' "$T/reuse-$how.dirs" | sort -u | wc -l)
	if [ "$how" = rlimits ] ||
	    [ "$(yget "$S" containment 2>/dev/null)" = rlimits ]; then
		check "reuse ($how): without cgroups each attempt had its own" \
		    test "$distinct" -eq 12
	else
		check "reuse ($how): directories left clean served again" \
		    test "$distinct" -lt 8
	fi
done

# --- the values of its needs, by file: read, nothing else of values/ -------
cat >values.yaml <<'Y'
name: values
nodes:
  planner:
    run: |
      { echo 'tasks<<EOF'; printf 'a\nb\n'; echo EOF; } >> "$DAGEXEC_OUTPUT"
  agent:
    foreach: {from: planner, key: tasks}
    sandbox: strict
    run: echo "answer=got $DAGEXEC_ITEM" >> "$DAGEXEC_OUTPUT"
  other:
    run: echo "hidden=not for merge" >> "$DAGEXEC_OUTPUT"
  first:
    needs: [other]
    run: 'true'
  merge:
    needs: [agent, first]
    sandbox: strict
    run: |
      cat "$DAGEXEC_IN_AGENT_ANSWER_FILE"; echo
      if cat "$(dirname "$DAGEXEC_IN_AGENT_ANSWER_FILE")/../other/hidden"; then echo "read other"; fi
      if echo x >> "$DAGEXEC_IN_AGENT_ANSWER_FILE"; then echo "wrote"; fi
Y
runjob values values.yaml
check "values: the run succeeds" test "$rc" -eq 0
check "values: a sandboxed fan-in reads its needs' values by file" \
    test "$(grep -c '^got [ab]$' "$J/nodes/merge/stdout.log" 2>/dev/null)" -eq 2
no_grep_file "values: not the values of a node it does not need" "read other" "$J/nodes/merge/stdout.log"
no_grep_file "values: and it cannot write them" "wrote" "$J/nodes/merge/stdout.log"
check "values: the value it may not read is there" test -f "$J/values/other/hidden"

# --- TCP: connect and bind, listed or not; an http node's URL ---------------
python3 "$TOP_SRCDIR/tests/integration/http_server.py" "$T/port" "$T/rec" \
    >"$T/server.log" 2>&1 &
SRV=$!
trap 'kill "$SRV" 2>/dev/null; wait "$SRV" 2>/dev/null; stop_supervisors; rm -rf "$T"' EXIT
mkdir -p "$T/rec"
i=0
while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$T/port" ] || { echo "FAIL - the test server did not start"; cat "$T/server.log"; exit 1; }
PORT=$(cat "$T/port")
CONNECT="$NPY -c 'import socket, sys; socket.create_connection((\"127.0.0.1\", $PORT), 5); print(\"connected\")'"
BIND="$NPY -c 'import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen(1); print(\"bound\")'"
# netnode NAME COMMAND [SANDBOX]: a node of net.yaml
netnode() {
	printf '  %s:\n    run: |\n      %s\n' "$1" "$2"
	[ -z "${3:-}" ] || printf '    sandbox: %s\n' "$3"
}
{
	printf 'name: net\ndefaults:\n  allow_failure: true\nnodes:\n'
	netnode denied "$CONNECT" strict
	netnode listed "$CONNECT" "{connect: [$PORT]}"
	netnode other "$CONNECT" "{connect: [$((PORT == 65535 ? 1 : PORT + 1))]}"
	netnode plain "$CONNECT"
	netnode nobind "$BIND" strict
	netnode bind "$BIND" "{bind: [0]}"
	cat <<Y
  fetch:
    http: {url: "http://127.0.0.1:$PORT/file.txt", save: hello.txt}
    sandbox: strict
Y
} >net.yaml
runjob net net.yaml
expect_state "net: a strict node cannot connect to a loopback port" nodes.denied.status failed
check "net: refused by the sandbox (EACCES), not by the server" grep -q "PermissionError: \[Errno 13\]" "$J/nodes/denied/stderr.log"
expect_state "net: it can when the port is listed" nodes.listed.status succeeded
expect_state "net: another listed port does not open this one" nodes.other.status failed
check "net: (EACCES too)" grep -q "PermissionError: \[Errno 13\]" "$J/nodes/other/stderr.log"
expect_state "net: without a sandbox it can" nodes.plain.status succeeded
expect_state "net: a strict node cannot bind" nodes.nobind.status failed
check "net: bind refused by the sandbox (EACCES)" grep -q "PermissionError: \[Errno 13\]" "$J/nodes/nobind/stderr.log"
expect_state "net: bind: [0] lets it bind a port the kernel picks" nodes.bind.status succeeded
expect_state "net: a sandboxed http node reaches its URL's port" nodes.fetch.status succeeded
check "net: and saved its file in the work directory" grep -q "hello, dagexec" "$J/work/hello.txt"
check "net: its request and result are gone with its directory" no_sandbox_dirs

# --- what cannot be enforced: a listed path that does not exist -------------
cat >missing.yaml <<Y
name: missing
nodes:
  strictly:
    run: touch ran-strictly
    sandbox: {read: [$T/nonexistent, /usr]}
Y
runjob missing missing.yaml
check "missing: the run fails" test "$rc" -eq 1
expect_state "missing: spawn_error" nodes.strictly.reason spawn_error
check "missing: the error names the path" error_has strictly "path '$T/nonexistent' ('read'): No such file or directory"
check "missing: the node never ran" test ! -e "$J/work/ran-strictly"
check "missing: its directory in io/ is gone" no_sandbox_dirs
sed 's/sandbox: {read:/sandbox: {best_effort: true, read:/' missing.yaml >besteffort.yaml
runjob besteffort besteffort.yaml
check "best_effort: the run succeeds" test "$rc" -eq 0
check "best_effort: the node ran" test -e "$J/work/ran-strictly"
expect_state "best_effort: still enforced (a missing path gives no access)" nodes.strictly.sandbox enforced
check "best_effort: the log says what was left out" grep -q "WARN .*/strictly sandbox .*$T/nonexistent.*(best_effort: enforced)" "$T/besteffort.stderr"

# --- an older kernel, and none: through the shim ----------------------------
CC=${CC:-cc}
if ! command -v "$CC" >/dev/null 2>&1; then
	echo "skip - an older Landlock: no C compiler ('$CC') to build the shim"
elif ! "$CC" -shared -fPIC -o "$T/landlockshim.so" \
    "$TOP_SRCDIR/tests/landlockshim.c" 2>"$T/cc.err"; then
	cat "$T/cc.err"
	fail "the Landlock shim does not build"
else
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
	export ASAN_OPTIONS
	# the node must not load the shim: its sandbox would refuse it
	cat >old.yaml <<Y
name: old
nodes:
  n:
    env: {LD_PRELOAD: ""}
    sandbox: strict
    run: |
      cat $SECRET >/dev/null 2>&1 && echo "secret read" || echo "secret denied"
      $CONNECT
Y
	runjob abi3 old.yaml LD_PRELOAD="$T/landlockshim.so" LANDLOCK_SHIM_ABI=3
	expect_state "ABI 3: strict fails the node" nodes.n.reason spawn_error
	check "ABI 3: the error says TCP rules are missing" error_has n "Landlock (ABI 3) has no TCP rules"
	sed 's/sandbox: strict/sandbox: {best_effort: true}/' old.yaml >old-be.yaml
	runjob abi3be old-be.yaml LD_PRELOAD="$T/landlockshim.so" LANDLOCK_SHIM_ABI=3
	expect_state "ABI 3, best_effort: the node runs" nodes.n.status succeeded
	expect_state "ABI 3, best_effort: the state says partial" nodes.n.sandbox partial
	check "ABI 3, best_effort: files are still restricted" has n "secret denied"
	check "ABI 3, best_effort: TCP is not (what partial means)" has n connected
	runjob abi0 old.yaml LD_PRELOAD="$T/landlockshim.so" LANDLOCK_SHIM_ABI=0
	expect_state "no Landlock: strict fails the node" nodes.n.reason spawn_error
	check "no Landlock: the error says so" error_has n "this kernel has no Landlock"
	runjob abi0be old-be.yaml LD_PRELOAD="$T/landlockshim.so" LANDLOCK_SHIM_ABI=0
	expect_state "no Landlock, best_effort: the node runs" nodes.n.status succeeded
	expect_state "no Landlock, best_effort: the state says none" nodes.n.sandbox none
	check "no Landlock, best_effort: nothing is restricted" has n "secret read"

	# the weakest of a node's attempts, across a resume: the first
	# attempt runs partial under a daemon with the shim, which is killed
	# with the job's supervisor (a crash); the second runs enforced
	SP="$T/spool"
	"$DAGEXEC" watch -s "$SP" --drain >>"$T/watch.log" 2>&1
	cat >weak.yaml <<Y
name: weak
nodes:
  w:
    env: {LD_PRELOAD: ""}
    sandbox: {best_effort: true}
    run: 'echo "attempt \$DAGEXEC_ATTEMPT"; [ "\$DAGEXEC_ATTEMPT" -ge 2 ] || sleep 30'
Y
	LD_PRELOAD="$T/landlockshim.so" LANDLOCK_SHIM_ABI=3 \
	    "$DAGEXEC" watch -s "$SP" >>"$T/watch.log" 2>&1 &
	WPID=$!
	wait_for 1 "$SP/lock"
	jid=$("$DAGEXEC" submit -s "$SP" weak.yaml 2>>"$T/watch.log")
	i=0
	while [ $i -lt 300 ] && ! grep -q "$jid/w start" "$T/watch.log"; do
		sleep 0.1; i=$((i + 1))
	done
	check "weakest: the first attempt starts" grep -q "$jid/w start" "$T/watch.log"
	kill -KILL "$WPID" $(supervisor_pids) 2>/dev/null
	wait "$WPID" 2>/dev/null
	WPID=
	# the first attempt's process is killed by the resume (a leftover)
	"$DAGEXEC" watch -s "$SP" --drain >>"$T/watch.log" 2>&1 &
	DPID=$!
	i=0
	while [ $i -lt 600 ] && [ ! -f "$SP/done/$jid.tar.gz" ]; do
		sleep 0.1; i=$((i + 1))
	done
	kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null
	if [ -f "$SP/done/$jid.tar.gz" ]; then
		check "weakest: the second attempt ran" test "$(bundle_state "$SP/done/$jid.tar.gz" nodes.w.attempts)" = 2
		check "weakest: the state keeps the first attempt's partial" test "$(bundle_state "$SP/done/$jid.tar.gz" nodes.w.sandbox)" = partial
		check "weakest: the journal has both levels" sh -c "grep -q 'start node=w attempt=1 .*sandbox=partial' '$T/x.$jid/$jid/events.log' && grep -q 'start node=w attempt=2 .*sandbox=enforced' '$T/x.$jid/$jid/events.log'"
	else
		fail "weakest: the resumed job did not end"
		tail -20 "$T/watch.log"
	fi
fi

# --- validation: Slurm runs the node elsewhere ------------------------------
cat >slurm.yaml <<'Y'
name: s
defaults:
  sandbox: strict
nodes:
  here: {run: "true"}
  there: {run: "true", executor: slurm}
  opted: {run: "true", executor: slurm, sandbox: none}
Y
expect_status 65 "slurm: sandbox on a Slurm node is a validation error" "$DAGEXEC" validate slurm.yaml
grep_file "slurm: the message names the node and the cause" \
    "slurm.yaml:6:3: error: node 'there': 'sandbox' (from defaults) cannot be enforced on 'executor: slurm'" "$T/err"
no_grep_file "slurm: sandbox: none lets a Slurm node be" "'opted'" "$T/err"

finish
