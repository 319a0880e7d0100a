#!/bin/sh
# dagexec run end to end: real processes, real files, real exit statuses.
. "$TOP_SRCDIR/tests/integration/lib.sh"

# runjob NAME [RUN OPTIONS] MANIFEST: runs it into $T/NAME.out, sets $rc and
# $bundle, unpacks the bundle into $X (the member directory) and $S (state).
runjob() {
	name=$1; shift
	mkdir -p "$T/$name.out"
	"$DAGEXEC" run -o "$T/$name.out" "$@" >"$T/$name.stdout" 2>"$T/$name.stderr"
	rc=$?
	bundle=$(tail -n 1 "$T/$name.stdout")
	X=; S=
	if [ -f "$bundle" ]; then
		mkdir -p "$T/$name.x"
		case $bundle in
		*.tar.zst) zstd -dc "$bundle" | tar xf - -C "$T/$name.x" ;;
		*) tar xzf "$bundle" -C "$T/$name.x" ;;
		esac
		X=$(ls -d "$T/$name.x"/*/ | head -n 1)
		X=${X%/}
		S="$X/state.yaml"
	fi
}

# state_grep DESCRIPTION KEY PATTERN: the value of KEY matches PATTERN
state_grep() {
	yget "$S" "$2" >"$T/value" 2>&1
	grep_file "$1" "$3" "$T/value"
}

# st KEY: a value of the unpacked state.yaml
st() { yget "$S" "$1"; }

# expect_state DESCRIPTION KEY VALUE
expect_state() {
	got=$(st "$2" 2>/dev/null)
	if [ "$got" = "$3" ]; then pass "$1"; else fail "$1: $2 is '$got', wanted '$3'"; fi
}

# --- the research pipeline example ------------------------------------------
runjob example "$TOP_SRCDIR/examples/research-pipeline.yaml"
check "the example pipeline succeeds" test "$rc" -eq 0
check "the last line of stdout is the bundle" test -f "$bundle"
case $bundle in "$T/example.out/research-pipeline-"*.tar.gz) pass "bundle named JOB.tar.gz" ;; *) fail "bundle name '$bundle'" ;; esac
for f in manifest.yaml state.yaml events.log summary.txt graph.dot; do
	check "bundle holds $f" test -s "$X/$f"
done
grep_file "bundle holds a node's log" "^valid 5 of 5\$" "$X/nodes/validate-sources/stdout.log"
check "a silent node leaves no empty log" test ! -e "$X/nodes/gather-sources/stdout.log"
check "bundle holds declared outputs" test -n "$(ls "$X/outputs")"
expect_state "state says succeeded" status succeeded
expect_state "progress counts six successes" progress.succeeded 6
expect_state "waves are in the state" waves.3.status completed
check "the job directory is removed" test -z "$(find "$T/example.out" -mindepth 1 -maxdepth 1 -type d)"
check "cmp manifest copy" cmp -s "$X/manifest.yaml" "$TOP_SRCDIR/examples/research-pipeline.yaml"

# --- failure, skipping, independent branches, when rules --------------------
cat >fail.yaml <<'Y'
name: fail
nodes:
  bad: {run: "echo about to fail; exit 3"}
  after-bad: {run: "true", needs: [bad]}
  independent: {run: "echo fine > independent.txt", outputs: [independent.txt]}
  cleanup: {run: "true", needs: [after-bad], when: always}
  on-fail: {run: "true", needs: [bad], when: failure}
  on-fail-ok: {run: "true", needs: [independent], when: failure}
  tolerated: {run: "exit 1", allow_failure: true}
  after-tolerated: {run: "true", needs: [tolerated]}
Y
runjob fail --keep fail.yaml
check "a failed DAG exits 1" test "$rc" -eq 1
expect_state "DAG status failed" status failed
expect_state "bad failed" nodes.bad.status failed
expect_state "bad's reason is exit" nodes.bad.reason exit
expect_state "bad's exit code is 3" nodes.bad.exit_code 3
expect_state "its dependent is skipped" nodes.after-bad.status skipped
expect_state "with reason upstream_failed" nodes.after-bad.reason upstream_failed
expect_state "an independent branch still runs" nodes.independent.status succeeded
expect_state "when: always runs after a skip" nodes.cleanup.status succeeded
expect_state "when: failure runs after a failure" nodes.on-fail.status succeeded
expect_state "when: failure is skipped without one" nodes.on-fail-ok.status skipped
expect_state "allow_failure's dependent still runs" nodes.after-tolerated.status succeeded
grep_file "bad's stdout is logged" "about to fail" "$X/nodes/bad/stdout.log"
check "--keep keeps the job directory" test -d "$(dirname "$bundle")/$(basename "$bundle" .tar.gz)/work"

# --- retries with backoff; attempt separators ---------------------------------
cat >retry.yaml <<'Y'
name: retry
nodes:
  flaky:
    run: |
      n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count
      echo "try $n attempt $DAGEXEC_ATTEMPT"
      [ $n -ge 3 ]
    retries: 3
    retry_delay: 100ms
    backoff: fixed
  never:
    run: "exit 2"
    retries: 1
    retry_delay: 50ms
    retry_on: [signal]
Y
runjob retry retry.yaml
expect_state "flaky succeeds on the third attempt" nodes.flaky.attempts 3
expect_state "flaky succeeded" nodes.flaky.status succeeded
grep_file "attempt 3 is separated in the log" "^--- attempt 3 ---" "$X/nodes/flaky/stdout.log"
grep_file "DAGEXEC_ATTEMPT counts attempts" "try 3 attempt 3" "$X/nodes/flaky/stdout.log"
expect_state "retry_on without exit does not retry an exit" nodes.never.attempts 1

# --- timeouts kill the whole process group -----------------------------------
cat >timeout.yaml <<'Y'
name: timeout
nodes:
  slow:
    run: "sleep 300 & echo $! > grandchild.pid; sleep 300"
    timeout: 500ms
  stubborn:
    run: "trap '' TERM; echo $$ > stubborn.pid; while :; do sleep 1; done"
    timeout: 300ms
Y
runjob timeout --keep timeout.yaml
expect_state "a timed out node" nodes.slow.status timed_out
expect_state "reason timeout" nodes.slow.reason timeout
expect_state "a node ignoring SIGTERM is killed too" nodes.stubborn.status timed_out
jd="$(dirname "$bundle")/$(basename "$bundle" .tar.gz)"
gc=$(cat "$jd/work/grandchild.pid" 2>/dev/null)
check "the timed out node's grandchild is gone" sh -c "test -n '$gc' && ! kill -0 '$gc' 2>/dev/null"
sp=$(cat "$jd/work/stubborn.pid" 2>/dev/null)
check "the stubborn node is gone" sh -c "test -n '$sp' && ! kill -0 '$sp' 2>/dev/null"

# --- outputs to dependents, malformed output lines ---------------------------
cat >pass.yaml <<'Y'
name: pass
env: {GREETING: manifest, LEVEL: dag}
nodes:
  make-value:
    run: |
      echo "greeting=hello big world" >> "$DAGEXEC_OUTPUT"
      echo "count.v2=7" >> "$DAGEXEC_OUTPUT"
  use-value:
    needs: [make-value]
    env: {LEVEL: node}
    run: |
      echo "in=$DAGEXEC_IN_MAKE_VALUE_GREETING n=$DAGEXEC_IN_MAKE_VALUE_COUNT_V2"
      echo "env=$GREETING level=$LEVEL node=$DAGEXEC_NODE job=$DAGEXEC_JOB"
      echo "workdir=$DAGEXEC_WORKDIR pwd=$(pwd)"
      echo "umask=$(umask)"
  garbage:
    run: echo "this is not a key value line" >> "$DAGEXEC_OUTPUT"
Y
runjob pass pass.yaml
log="$X/nodes/use-value/stdout.log"
grep_file "an output reaches its dependent, spaces kept" "in=hello big world n=7" "$log"
grep_file "manifest env, node env wins" "env=manifest level=node node=use-value job=pass-" "$log"
check "the node runs in its work directory" sh -c "grep -q 'workdir=\\(.*\\) pwd=\\1\$' '$log'"
grep_file "umask is 077" "umask=0077" "$log"
expect_state "a malformed output line fails the node" nodes.garbage.status failed
state_grep "the error names the line" nodes.garbage.error 'malformed line 1 in [$]DAGEXEC_OUTPUT'
no_grep_file "the error does not quote the line" 'this is not a key' "$T/value"

# A node that appends a secret-bearing line to $DAGEXEC_OUTPUT: the error
# names the line and what is wrong, and the secret is nowhere, neither on
# the terminal nor in any file of the bundle. The manifest builds the secret
# at run time, so that the manifest's copy in the bundle does not hold it.
cat >secret.yaml <<'Y'
name: secret
nodes:
  leaky:
    run: |
      printf 'user=me\npassword: hunter%sxyz\n' 2 >> "$DAGEXEC_OUTPUT"
Y
runjob secret secret.yaml
check "a malformed output line fails the run" test "$rc" -eq 1
expect_state "the node's reason is output_missing" nodes.leaky.reason output_missing
state_grep "the error says what is wrong with which line" nodes.leaky.error \
    "^malformed line 2 in [$]DAGEXEC_OUTPUT: no '=' (expected KEY=VALUE or KEY<<DELIMITER)\$"
no_grep_file "the secret is not on stderr" hunter2xyz "$T/secret.stderr"
no_grep_file "the secret is not on stdout" hunter2xyz "$T/secret.stdout"
for f in state.yaml summary.txt events.log; do
	check "the bundle holds $f" test -s "$X/$f"
	no_grep_file "the secret is not in the bundle's $f" hunter2xyz "$X/$f"
done
check "the secret is in no file of the bundle" \
    sh -c "! grep -r -q -a hunter2xyz '$T/secret.x'"
check "nor in the packed bundle" sh -c "! zcat '$bundle' | grep -q -a hunter2xyz"

# --- spawn errors, missing outputs -------------------------------------------
cat >spawn.yaml <<'Y'
name: spawnerr
nodes:
  typo: {argv: [pyhton3-no-such-program, x.py]}
  no-output: {run: "true", outputs: [never-written.txt]}
  escape: {run: "ln -s /etc/passwd link", outputs: [link]}
Y
runjob spawn spawn.yaml
expect_state "an exec error is a spawn_error" nodes.typo.reason spawn_error
expect_state "spawn errors are not retried" nodes.typo.attempts 1
state_grep "the exec error is clear" nodes.typo.error "cannot start node 'typo': execve 'pyhton3-no-such-program': No such file or directory"
expect_state "a missing output fails its node" nodes.no-output.reason output_missing
state_grep "the missing output is named" nodes.no-output.error never-written.txt
expect_state "an output leading out of the work directory fails" nodes.escape.reason output_missing
check "nothing of /etc/passwd is in the bundle" test ! -e "$X/outputs/escape/link"

# --- metrics and budgets -----------------------------------------------------
cat >budget.yaml <<'Y'
name: budget
max_parallel: 1
budget: {tokens: 1000}
nodes:
  a: {run: "echo tokens=600 >> $DAGEXEC_METRICS; echo cost=0.25 >> $DAGEXEC_METRICS"}
  b: {run: "echo tokens=600 >> $DAGEXEC_METRICS", needs: [a]}
  c: {run: "echo tokens=600 >> $DAGEXEC_METRICS", needs: [b]}
Y
runjob budget budget.yaml
check "a budget stop exits 1" test "$rc" -eq 1
expect_state "the DAG ends budget_exceeded" status budget_exceeded
expect_state "metrics are summed per DAG" metrics.tokens 1200
expect_state "a node's metrics are kept" nodes.a.metrics.cost 0.25
expect_state "the node after the budget is not started" nodes.c.reason budget

# --- on_failure: abort kills what runs ---------------------------------------
cat >abort.yaml <<'Y'
name: abort
on_failure: abort
nodes:
  long: {run: "sleep 30"}
  boom: {run: "sleep 0.2; exit 1"}
  later: {run: "true", needs: [boom]}
Y
runjob abort abort.yaml
expect_state "abort cancels the running node" nodes.long.status cancelled
check "abort is fast (no waiting for sleep 30)" grep -q . "$T/abort.stdout"

# --- a deadline ----------------------------------------------------------------
cat >deadline.yaml <<'Y'
name: deadline
deadline: 500ms
nodes:
  long: {run: "sleep 30"}
  next: {run: "true", needs: [long]}
Y
runjob deadline deadline.yaml
check "a deadline exits 1" test "$rc" -eq 1
expect_state "the DAG timed out" status timed_out
expect_state "the running node ended with reason deadline" nodes.long.reason deadline
expect_state "the next node was skipped" nodes.next.status skipped

# --- rlimits ---------------------------------------------------------------------
cat >limits.yaml <<'Y'
name: limits
nodes:
  spin: {run: "while :; do :; done", limits: {cpu: 1s}, timeout: 20s}
  big-file: {run: "exec head -c 100000 /dev/zero > big.bin", limits: {fsize: 4K}}
  nofile: {run: "ulimit -n", limits: {nofile: 37}}
Y
runjob limits limits.yaml
expect_state "RLIMIT_CPU ends as rlimit_cpu" nodes.spin.reason rlimit_cpu
expect_state "RLIMIT_FSIZE ends as rlimit_fsize" nodes.big-file.reason rlimit_fsize
grep_file "RLIMIT_NOFILE is in force" "^37\$" "$X/nodes/nofile/stdout.log"

# --- log cap ---------------------------------------------------------------------
cat >flood.yaml <<'Y'
name: flood
nodes:
  flood:
    run: "echo FIRST; head -c 3000000 /dev/zero | tr '\\0' x; echo; echo LAST"
    log_limit: 8K
Y
runjob flood flood.yaml
lf="$X/nodes/flood/stdout.log"
check "the log is capped" test "$(wc -c <"$lf")" -lt 9000
grep_file "the head is kept" "^FIRST" "$lf"
grep_file "the tail is kept" "^LAST" "$lf"
grep_file "the dropped bytes are counted exactly (3000012 written, 8192 kept)" "^\[dagexec: 2991820 bytes dropped\]\$" "$lf"

# --- -j caps parallelism; priority orders ready nodes ----------------------------
cat >par.yaml <<'Y'
name: par
nodes:
  n1: {run: "echo s >> ../../times; sleep 0.3; echo e >> ../../times"}
  n2: {run: "echo s >> ../../times; sleep 0.3; echo e >> ../../times"}
  n3: {run: "echo s >> ../../times; sleep 0.3; echo e >> ../../times"}
  n4: {run: "echo s >> ../../times; sleep 0.3; echo e >> ../../times"}
  n5: {run: "echo s >> ../../times; sleep 0.3; echo e >> ../../times"}
Y
runjob par -j 2 par.yaml
maxpar=$(awk '/s/ {c++; if (c > m) m = c} /e/ {c--} END {print m}' "$T/par.out/times" 2>/dev/null)
check "-j 2 never runs more than two nodes (saw $maxpar)" test "${maxpar:-0}" -eq 2

cat >prio.yaml <<'Y'
name: prio
max_parallel: 1
nodes:
  low: {run: "echo low >> ../../order", priority: -5}
  mid: {run: "echo mid >> ../../order"}
  high: {run: "echo high >> ../../order", priority: 10}
Y
runjob prio prio.yaml
check "priority orders the starts" test "$(tr '\n' ' ' <"$T/prio.out/order")" = "high mid low "

# --- a program found in PATH is tried there first for the rest of the job ---
# (as a shell's command hash); when it is gone the search starts over. An
# ASan build forks each node and cannot learn where exec succeeded.
mkdir -p "$T/pa" "$T/pb"
printf '#!/bin/sh\necho b >> order\n' >"$T/pb/prog"
chmod +x "$T/pb/prog"
cat >hash.yaml <<Y
name: hash
env: {PATH: "$T/pa:$T/pb:/usr/bin:/bin"}
nodes:
  first: {argv: [prog]}
  install:
    needs: [first]
    run: printf '#!/bin/sh\\necho a >> order\\n' > $T/pa/prog; chmod +x $T/pa/prog
  second: {needs: [install], argv: [prog]}
  remove: {needs: [second], run: "rm $T/pb/prog"}
  third: {needs: [remove], argv: [prog]}
Y
runjob hash --keep hash.yaml
order=$(tr '\n' ' ' <"$T"/hash.out/hash-*/work/order 2>/dev/null)
if nm -D "$DAGEXEC" 2>/dev/null | grep -q __asan_init ||
    ldd "$DAGEXEC" 2>/dev/null | grep -q libasan; then
	check "without CLONE_VM every start searches PATH" test "$order" = "b a a "
else
	check "the directory a program was found in comes first (got '$order')" \
	    test "$order" = "b b a "
fi
check "the hashed job succeeds" test "$rc" -eq 0

# --- a plain run line runs without the shell, and the same as with it ------
# a script without #!: execve refuses it (ENOEXEC), so sh runs it
printf 'echo ran-by-sh "$1"\n' >"$T/script"
chmod +x "$T/script"
cat >plain.yaml <<Y
name: plain
env: {PWD: /somewhere/else}
nodes:
  direct: {run: "env"}
  shell: {run: "exec env"}
  self: {run: "cat /proc/self/stat"}
  missing: {run: "no-such-program-anywhere x", when: always, needs: [self]}
  noexec: {run: "$T/script x", when: always, needs: [missing]}
Y
runjob plain --keep plain.yaml
grep -Ev '^DAGEXEC_(NODE|OUTPUT|METRICS)=' "$X/nodes/direct/stdout.log" | sort >"$T/env.direct"
grep -Ev '^DAGEXEC_(NODE|OUTPUT|METRICS)=' "$X/nodes/shell/stdout.log" | sort >"$T/env.shell"
check "a line without the shell gets the shell's environment" \
    cmp -s "$T/env.direct" "$T/env.shell"
wd=$(cd "$T"/plain.out/plain-*/work && pwd -P)
check "PWD is the work directory, as sh sets it" \
    grep -qx "PWD=$wd" "$T/env.direct"
jpid=$(grep ' start node=self ' "$X/events.log" | sed 's/.* pid=\([0-9]*\).*/\1/')
spid=$(cut -d' ' -f1 "$X/nodes/self/stdout.log")
check "the program is the node's process itself (pid $spid, journal $jpid)" \
    test -n "$spid" -a "$spid" = "$jpid"
expect_state "a program that is not there: the shell's exit status" \
    nodes.missing.exit_code 127
grep_file "and the shell's message" 'not found' "$X/nodes/missing/stderr.log"
expect_state "a script without #! is run by sh" nodes.noexec.exit_code 0
grep_file "with its argument" 'ran-by-sh x' "$X/nodes/noexec/stdout.log"

# --- zstd bundles ------------------------------------------------------------------
runjob zst --bundle-format zst "$TOP_SRCDIR/examples/research-pipeline.yaml"
case $bundle in *.tar.zst) pass "zst bundle named .tar.zst" ;; *) fail "zst bundle name '$bundle'" ;; esac
check "the zst bundle holds the state" test -s "$S"

# --- SIGINT interrupts: nodes killed, state interrupted, exit 75 ---------------
cat >intr.yaml <<'Y'
name: intr
nodes:
  long: {run: "echo $$ > long.pid; sleep 300"}
Y
mkdir -p "$T/intr.out"
"$DAGEXEC" run --keep -o "$T/intr.out" intr.yaml >"$T/intr.stdout" 2>"$T/intr.stderr" &
dpid=$!
i=0
while [ $i -lt 100 ] && ! ls "$T"/intr.out/*/work/long.pid >/dev/null 2>&1; do sleep 0.1; i=$((i + 1)); done
lp=$(cat "$T"/intr.out/*/work/long.pid 2>/dev/null)
kill -INT $dpid
wait $dpid
rc=$?
check "SIGINT makes run exit 75" test "$rc" -eq 75
check "the interrupted node is gone" sh -c "test -n '$lp' && ! kill -0 '$lp' 2>/dev/null"
S=$(ls "$T"/intr.out/*/state.yaml | head -n 1)
expect_state "the state says interrupted" status interrupted
check "an interrupted run still writes its bundle" test -f "$(tail -n 1 "$T/intr.stdout")"

# dagexec's own variables: the caller's are not passed down (DAGEXEC_SPOOL
# aside), and each of a node's is there once, with the node's value
cat >envown.yaml <<'Y'
name: envown
env: {KEPT: "yes"}
nodes:
  e1: {argv: [sh, -c, 'env > env.e1']}
Y
env DAGEXEC_NODE=caller DAGEXEC_JOB=caller DAGEXEC_OUTPUT=/caller \
    DAGEXEC_SPOOL=/caller/spool "$DAGEXEC" run -q --keep -o "$T/envown.out" \
    envown.yaml >/dev/null 2>"$T/envown.err"
E=$(ls -d "$T"/envown.out/envown-*/ | head -n 1)work/env.e1
check "a node's DAGEXEC_NODE is its id, once" test "$(grep -c '^DAGEXEC_NODE=' "$E")" = 1 -a "$(grep '^DAGEXEC_NODE=' "$E")" = DAGEXEC_NODE=e1
check "its DAGEXEC_JOB is the job's id, once" sh -c "test \"\$(grep -c '^DAGEXEC_JOB=envown-' '$E')\" = 1 -a \"\$(grep -c '^DAGEXEC_JOB=' '$E')\" = 1"
check "its DAGEXEC_OUTPUT is not the caller's" sh -c "test \"\$(grep -c '^DAGEXEC_OUTPUT=' '$E')\" = 1 && ! grep -q '^DAGEXEC_OUTPUT=/caller' '$E'"
check "the caller's DAGEXEC_SPOOL is passed on" grep -qx 'DAGEXEC_SPOOL=/caller/spool' "$E"
check "the manifest's env: is there" grep -qx 'KEPT=yes' "$E"

finish
