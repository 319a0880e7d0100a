#!/bin/sh
# The Slurm executor (issue 6) against a real single-node Slurm started by
# tests/slurm/start.sh in the test's temporary directory (stopped on every
# exit path). With `dagexec run`: a mixed local -> slurm -> local DAG passing
# outputs and a metric across, slurm_job in state.yaml and events.log; a
# failing node (exit code, reason, stderr.log) and a retried one; a 3 s
# timeout that scancels; on_failure: abort that scancels; slurm.mem and
# limits.memory ending as oom; foreach instances (a crossed map and a
# dynamic fan-out) on Slurm. With
# `dagexec watch` on a spool: a node's environment; cancel; kill -9 while two
# Slurm nodes run, one ending while the daemon is down (same Slurm ids, one
# submission each in jobcomp.txt); kill -9 between the attempt and its Slurm
# id going on file (found by --comment, or submitted once); SIGTERM with and
# without --cancel-remote.
# Skips (77) when not root or when Slurm or munge is not installed.
. "$TOP_SRCDIR/tests/integration/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "skip: the Slurm tests need root (the private cluster runs as SlurmUser=root)"
	exit 77
fi
for c in sbatch squeue scontrol scancel sinfo slurmctld slurmd munged mungekey; do
	if ! command -v "$c" >/dev/null 2>&1; then
		echo "skip: the Slurm tests need '$c' (apt-get install slurmctld slurmd slurm-client munge)"
		exit 77
	fi
done

SL=$T/slurm
SP=$T/spool
WPID=
cleanup() {
	stop_daemon
	stop_supervisors
	if [ -n "${SU:-}" ]; then
		pkill -KILL -u "$SU" 2>/dev/null
		userdel "$SU" 2>/dev/null
	fi
	sh "$TOP_SRCDIR/tests/slurm/stop.sh" "$SL" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# munged wants every directory above its socket searchable by all
chmod 755 "$T"
if ! sh "$TOP_SRCDIR/tests/slurm/start.sh" "$SL" >"$T/start.log" 2>&1; then
	sed 's/^/  start: /' "$T/start.log"
	echo "FAIL - the private Slurm cluster did not start"
	exit 1
fi
sed 's/^/# /' "$T/start.log"
. "$SL/env"
export SLURM_CONF
JOBCOMP=$SL/log/jobcomp.txt

# ---- helpers ------------------------------------------------------------------

# digits VALUE
digits() {
	case $1 in ''|*[!0-9]*) return 1 ;; esac
}

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
		tar xzf "$bundle" -C "$T/$name.x"
		X=$(ls -d "$T/$name.x"/*/ | head -n 1)
		X=${X%/}
		S="$X/state.yaml"
	else
		sed 's/^/  run stderr: /' "$T/$name.stderr" | head -20
		S=$T/no-state.yaml
	fi
}

# st KEY: a value of the unpacked state.yaml
st() { yget "$S" "$1" 2>/dev/null; }

# expect_state DESCRIPTION KEY VALUE (an empty VALUE never matches)
expect_state() {
	got=$(st "$2")
	if [ -n "$3" ] && [ "$got" = "$3" ]; then pass "$1"; else fail "$1: $2 is '$got', wanted '$3'"; fi
}

# until_ok SECONDS COMMAND...: polls the command every 0.1 s until it
# succeeds; fails after SECONDS
until_ok() {
	n=$(($1 * 10)); shift
	i=0
	while [ $i -lt $n ]; do
		"$@" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# sstate ID: the Slurm state of job ID (COMPLETED, RUNNING, ...)
sstate() {
	digits "$1" || return 1
	scontrol -o show job "$1" 2>/dev/null |
	    sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'
}

# sfield ID KEY: a field of `scontrol -o show job ID`
sfield() {
	digits "$1" || return 1
	scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' |
	    sed -n "s/^$2=//p" | head -n 1
}

# gone ID: Slurm job ID is neither pending, running nor completing
gone() {
	digits "$1" || return 1
	[ -z "$(squeue -h -j "$1" -t PD,CF,R,CG,S -o %i 2>/dev/null)" ]
}

# is_state ID STATE
is_state() {
	[ "$(sstate "$1")" = "$2" ]
}

# comps NAME: how many lines of jobcomp.txt are for a job named NAME
comps() {
	grep -c " Name=$1 " "$JOBCOMP" 2>/dev/null
}

# slurm_id EVENTS NODE: the Slurm id of the last slurm_job event of NODE
slurm_id() {
	awk -v node="$2" '
	$2 == "slurm_job" {
		mine = 0; id = ""
		for (i = 3; i <= NF; i++) {
			k = $i; sub(/=.*/, "", k)
			v = $i; sub(/^[^=]*=/, "", v)
			if (k == "node" && v == node)
				mine = 1
			else if (k != "node" && k != "attempt" && v ~ /^[0-9]+$/)
				id = v
		}
		if (mine && id != "")
			last = id
	}
	END { if (last != "") print last }' "$1" 2>/dev/null
}

# count_events EVENTS EVENT NODE
count_events() {
	grep -E -c "^[0-9]+ $2 (.* )?node=$3( |\$)" "$1" 2>/dev/null
}

# submits EVENTS NODE: the attempts of NODE journalled as going to Slurm
# (`start ... executor=slurm`, written before sbatch runs; SLURM.md called
# it slurm_submit)
submits() {
	awk -v node="$2" '
	$2 == "slurm_submit" || ($2 == "start" && / executor=slurm( |$)/) {
		for (i = 3; i <= NF; i++)
			if ($i == "node=" node)
				n++
	}
	END { print n + 0 }' "$1" 2>/dev/null
}

# ---- a mixed DAG: local -> slurm -> local, outputs and metrics across ---------
cat >mixed.yaml <<'Y'
name: mixed
nodes:
  prep:
    run: "echo greeting=hello >> $DAGEXEC_OUTPUT; echo prep-ran"
  remote:
    needs: [prep]
    executor: slurm
    run: |
      echo "in=$DAGEXEC_IN_PREP_GREETING"
      echo "slurm=$SLURM_JOB_ID node=$DAGEXEC_NODE attempt=$DAGEXEC_ATTEMPT"
      echo "pwd-is-workdir=$(test "$(pwd -P)" = "$(cd "$DAGEXEC_WORKDIR" && pwd -P)" && echo yes)"
      echo "answer=42" >> "$DAGEXEC_OUTPUT"
      echo "tokens=7" >> "$DAGEXEC_METRICS"
      echo "remote-stderr" >&2
      echo "$DAGEXEC_IN_PREP_GREETING world" > remote.txt
    outputs: [remote.txt]
  post:
    needs: [remote]
    run: 'test "$DAGEXEC_IN_REMOTE_ANSWER" = 42 && echo "post-got=$DAGEXEC_IN_REMOTE_ANSWER"'
Y
runjob mixed mixed.yaml
check "mixed: dagexec run exits 0 (got $rc)" test "$rc" -eq 0
expect_state "mixed: the job succeeded" status succeeded
expect_state "mixed: the Slurm node succeeded" nodes.remote.status succeeded
expect_state "mixed: the last local node succeeded" nodes.post.status succeeded
rid=$(st nodes.remote.slurm_job)
check "mixed: state.yaml gives the Slurm node its slurm_job ('$rid')" digits "$rid"
check "mixed: a local node has no slurm_job" test "$(st nodes.prep.slurm_job)" = null -o -z "$(st nodes.prep.slurm_job)"
grep_file "mixed: the Slurm node ran under Slurm, as job slurm_job" "^slurm=$rid node=remote attempt=1\$" "$X/nodes/remote/stdout.log"
grep_file "mixed: the Slurm node read the local node's output" "^in=hello\$" "$X/nodes/remote/stdout.log"
grep_file "mixed: the Slurm node ran in the work directory" "^pwd-is-workdir=yes\$" "$X/nodes/remote/stdout.log"
grep_file "mixed: its stderr is in nodes/remote/stderr.log" "^remote-stderr\$" "$X/nodes/remote/stderr.log"
no_grep_file "mixed: its stderr is not in stdout.log" "remote-stderr" "$X/nodes/remote/stdout.log"
grep_file "mixed: the local node read the Slurm node's output" "^post-got=42\$" "$X/nodes/post/stdout.log"
expect_state "mixed: the Slurm node's metric" nodes.remote.metrics.tokens 7
expect_state "mixed: the metric in the job's sum" metrics.tokens 7
grep_file "mixed: the Slurm node's declared output is in the bundle" "^hello world\$" "$X/outputs/remote/remote.txt"
check "mixed: events.log has the Slurm node's submission" test "$(submits "$X/events.log" remote)" -eq 1
check "mixed: events.log has slurm_job for the Slurm node" test "$(slurm_id "$X/events.log" remote)" = "$rid"
check "mixed: the submission is journalled before slurm_job" test "$(grep -n -E ' (slurm_submit|start) .*node=remote( |.* )executor=slurm| slurm_submit .*node=remote' "$X/events.log" | head -n 1 | cut -d: -f1)" -lt "$(grep -n -E ' slurm_job .*node=remote' "$X/events.log" | head -n 1 | cut -d: -f1)"
check "mixed: no Slurm events for the local nodes" test "$(submits "$X/events.log" prep)$(submits "$X/events.log" post)" = 00
check "mixed: the job completion log has one mixed/remote" test "$(comps mixed/remote)" -eq 1
check "mixed: the local nodes never went to Slurm" test "$(comps mixed/prep)$(comps mixed/post)" = 00
grep_file "mixed: Slurm saw the job complete" "JobId=$rid .*JobState=COMPLETED" "$JOBCOMP"
check "mixed: the Slurm job carries the --comment dagexec:JOB:NODE:ATTEMPT" sh -c "scontrol -o show job '$rid' | grep -q 'Comment=dagexec:mixed-[^ ]*:remote:1'"
check "mixed: the Slurm job asked for one CPU" test "$(sfield "$rid" NumCPUs)" = 1

# ---- a failing Slurm node, a skipped dependant, a retry --------------------------
cat >fail.yaml <<Y
name: fail
nodes:
  bad:
    executor: slurm
    run: "echo oops-on-stderr >&2; echo out-before-exit; exit 7"
  after: {needs: [bad], run: "echo should-not-run"}
  flaky:
    executor: slurm
    retries: 1
    retry_delay: 100ms
    run: 'echo "attempt \$DAGEXEC_ATTEMPT job \$SLURM_JOB_ID"; test "\$DAGEXEC_ATTEMPT" -ge 2 || exit 3'
Y
runjob fail -j 2 fail.yaml
check "fail: dagexec run exits 1 (got $rc)" test "$rc" -eq 1
expect_state "fail: the job failed" status failed
expect_state "fail: the node failed" nodes.bad.status failed
expect_state "fail: its exit code is the command's" nodes.bad.exit_code 7
expect_state "fail: its reason is exit" nodes.bad.reason exit
grep_file "fail: its stderr is in nodes/bad/stderr.log" "oops-on-stderr" "$X/nodes/bad/stderr.log"
grep_file "fail: its stdout is in nodes/bad/stdout.log" "out-before-exit" "$X/nodes/bad/stdout.log"
expect_state "fail: the dependant is skipped" nodes.after.status skipped
expect_state "fail: the dependant's reason is upstream_failed" nodes.after.reason upstream_failed
bid=$(st nodes.bad.slurm_job)
grep_file "fail: Slurm saw the job fail with 7" "JobId=$bid .*JobState=FAILED.*ExitCode=7:0" "$JOBCOMP"
expect_state "fail: the retried node succeeded" nodes.flaky.status succeeded
expect_state "fail: it took two attempts" nodes.flaky.attempts 2
check "fail: each attempt was its own Slurm job" test "$(comps fail/flaky)" -eq 2
check "fail: two submissions journalled for the retried node" test "$(submits "$X/events.log" flaky)" -eq 2
fid=$(st nodes.flaky.slurm_job)
grep_file "fail: slurm_job is the last attempt's" "^attempt 2 job $fid\$" "$X/nodes/flaky/stdout.log"
grep_file "fail: the first attempt's output is kept" "^attempt 1 job " "$X/nodes/flaky/stdout.log"

# ---- a timeout: dagexec enforces it and scancels the job -------------------------
cat >tmo.yaml <<Y
name: tmo
nodes:
  slow:
    executor: slurm
    timeout: 3s
    run: "echo \$\$ > $T/tmo.pid; echo started; sleep 60"
Y
runjob tmo tmo.yaml
tid=$(st nodes.slow.slurm_job)
check "tmo: the node has its slurm_job ('$tid')" digits "$tid"
gone_ok=0; until_ok 10 gone "$tid" && gone_ok=1
check "tmo: the Slurm job leaves squeue within seconds of the timeout" test "$gone_ok" = 1
check "tmo: dagexec run exits 1 (got $rc)" test "$rc" -eq 1
expect_state "tmo: the node timed out" nodes.slow.status timed_out
expect_state "tmo: its reason is timeout" nodes.slow.reason timeout
check "tmo: the Slurm job was cancelled, not timed out by Slurm ($(sstate "$tid"))" is_state "$tid" CANCELLED
check "tmo: --time is the timeout rounded up to a minute" test "$(sfield "$tid" TimeLimit)" = 00:01:00
grep_file "tmo: the node's output so far is kept" "^started\$" "$X/nodes/slow/stdout.log"
tpid=$(cat "$T/tmo.pid" 2>/dev/null)
check "tmo: the node's shell is no longer running" test -n "$tpid" -a ! -d "/proc/${tpid:-0}/fd"

# ---- on_failure: abort scancels a running Slurm node ------------------------------
cat >abort.yaml <<Y
name: abort
on_failure: abort
nodes:
  remote:
    executor: slurm
    run: "touch $T/abort.started; echo \$\$ > $T/abort.pid; sleep 60"
  boom:
    run: "i=0; while [ ! -f $T/abort.started ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done; exit 1"
Y
runjob abort -j 2 abort.yaml
aid=$(st nodes.remote.slurm_job)
check "abort: the Slurm node had started ('$aid')" test -f "$T/abort.started" -a -n "$aid"
gone_ok=0; until_ok 10 gone "$aid" && gone_ok=1
check "abort: the Slurm job leaves squeue" test "$gone_ok" = 1
check "abort: dagexec run exits 1 (got $rc)" test "$rc" -eq 1
expect_state "abort: the local node failed" nodes.boom.status failed
expect_state "abort: the running Slurm node is cancelled" nodes.remote.status cancelled
check "abort: its Slurm job was scancelled ($(sstate "$aid"))" is_state "$aid" CANCELLED
apid=$(cat "$T/abort.pid" 2>/dev/null)
check "abort: the Slurm node's shell is no longer running" test -n "$apid" -a ! -d "/proc/${apid:-0}/fd"

# ---- memory: slurm.mem (and limits.memory) enforced, ending as oom ---------------
cat >oom.yaml <<'Y'
name: oom
nodes:
  hog:
    executor: slurm
    slurm: {mem: 100M}
    run: |
      python3 -c "import time; b = b'x' * (400 << 20); time.sleep(6); print('survived')"
  hoglimit:
    executor: slurm
    limits: {memory: 100M}
    run: |
      python3 -c "import time; b = b'x' * (400 << 20); time.sleep(6); print('survived')"
  small:
    executor: slurm
    slurm: {mem: 100M}
    run: |
      python3 -c "b = b'x' * (10 << 20); print('fits')"
Y
runjob oom -j 3 oom.yaml
check "oom: dagexec run exits 1 (got $rc)" test "$rc" -eq 1
expect_state "oom: slurm.mem 100M and 400 MB: the node failed" nodes.hog.status failed
expect_state "oom: slurm.mem 100M and 400 MB: reason oom" nodes.hog.reason oom
no_grep_file "oom: the hog did not survive" "survived" "$X/nodes/hog/stdout.log"
hid=$(st nodes.hog.slurm_job)
check "oom: slurm.mem became --mem=100M ($(sfield "$hid" MinMemoryNode))" test "$(sfield "$hid" MinMemoryNode)" = 100M
expect_state "oom: limits.memory 100M and 400 MB: reason oom" nodes.hoglimit.reason oom
lid=$(st nodes.hoglimit.slurm_job)
check "oom: limits.memory became --mem=100M ($(sfield "$lid" MinMemoryNode))" test "$(sfield "$lid" MinMemoryNode)" = 100M
expect_state "oom: a node within its memory succeeds" nodes.small.status succeeded

# ---- foreach instances on Slurm: ids with [ ] = , in names and comments ---------
cat >fe.yaml <<'Y'
name: fe
nodes:
  planner:
    run: printf 'tasks<<EOF\nalpha\nb c\nEOF\n' >> "$DAGEXEC_OUTPUT"
  agent:
    foreach: {from: planner, key: tasks}
    executor: slurm
    run: echo "answer=$DAGEXEC_ITEM" >> "$DAGEXEC_OUTPUT"
  sweep:
    foreach: {m: [x, y]}
    executor: slurm
    run: echo "m=$DAGEXEC_ITEM_M on $SLURM_JOB_ID"
  merge:
    needs: [agent, sweep]
    run: cat "$DAGEXEC_IN_AGENT_ANSWER_FILE"
Y
runjob fe -j 4 fe.yaml
check "foreach: instances run on Slurm (exit $rc)" test "$rc" -eq 0
expect_state "foreach: a dynamic instance ran on Slurm" "nodes.agent[2].status" succeeded
fid=$(st "nodes.sweep[m=y].slurm_job")
check "foreach: a crossed instance has its Slurm job ('$fid')" digits "$fid"
grep_file "foreach: its item reached it on Slurm" "^m=y on $fid\$" "$X/nodes/sweep[m=y]/stdout.log"
check "foreach: its --comment names the instance" sh -c "scontrol -o show job '$fid' | grep -q 'Comment=dagexec:fe-[^ ]*:sweep\[m=y\]:1'"
check "foreach: the answers of the Slurm instances reach merge" \
    test "$(cat "$X/nodes/merge/stdout.log")" = "$(printf 'alpha\nb c')"

# ---- the spool: cancel, and kill -9 of the daemon --------------------------------
start_daemon() {
	"$DAGEXEC" watch -s "$SP" "$@" >>"$T/watch.log" 2>&1 &
	WPID=$!
	i=0
	while [ $i -lt 50 ] && [ "$(cat "$SP/lock" 2>/dev/null)" != "$WPID" ]; do
		sleep 0.1; i=$((i + 1))
	done
}

# has_slurm_job JOB NODE: the job's events.log names NODE's Slurm job
has_slurm_job() {
	[ -n "$(slurm_id "$SP/active/$1/events.log" "$2")" ]
}

# unbundle JOB: unpacks done/JOB.tar.gz, sets $X and $S
unbundle() {
	X=$T/b.$1; S=$X/$1/state.yaml
	mkdir -p "$X"
	tar xzf "$SP/done/$1.tar.gz" -C "$X" 2>/dev/null
	X=$X/$1
}

# the environment of a Slurm node under watch: interface section 3's (PATH,
# HOME, USER, LANG, TZ, the manifest's, DAGEXEC_*) and what Slurm itself sets
# (SLURM_*, ENVIRONMENT, HOSTNAME, TMPDIR), nothing of the daemon's own
# environment and nothing of a login shell's
spool_env() {
	cat >env.yaml <<'Y'
name: envjob
env: {FROM_MANIFEST: "yes"}
nodes:
  show: {executor: slurm, run: "env | cut -d= -f1 | sort"}
Y
	eid=$("$DAGEXEC" submit -s "$SP" env.yaml)
	if ! until_ok 60 test -f "$SP/done/$eid.tar.gz"; then
		fail "env: the job does not finish in 60 s"
		return
	fi
	unbundle "$eid"
	expect_state "env: the node succeeded" nodes.show.status succeeded
	grep_file "env: the manifest's env reaches the Slurm node" "^FROM_MANIFEST\$" "$X/nodes/show/stdout.log"
	grep_file "env: DAGEXEC_OUTPUT reaches the Slurm node" "^DAGEXEC_OUTPUT\$" "$X/nodes/show/stdout.log"
	no_grep_file "env: the daemon's own environment does not reach the Slurm node" "^DGX_LEAK_MARKER\$" "$X/nodes/show/stdout.log"
	extra=$(grep -v -E '^(PATH|HOME|USER|LANG|TZ|PWD|OLDPWD|SHLVL|_|FROM_MANIFEST|DAGEXEC_[A-Z0-9_]*|SLURM[A-Z0-9_]*|ENVIRONMENT|HOSTNAME|TMPDIR)$' "$X/nodes/show/stdout.log" 2>/dev/null | tr '\n' ' ')
	check "env: nothing else in the Slurm node's environment (extra: ${extra:-none})" test -z "$extra"
}

# cancel through the spool while the Slurm node runs
spool_cancel() {
	cat >cancel.yaml <<'Y'
name: cancel
nodes:
  long: {executor: slurm, run: "echo started; sleep 60"}
Y
	cid=$("$DAGEXEC" submit -s "$SP" cancel.yaml)
	if ! until_ok 60 has_slurm_job "$cid" long; then
		fail "cancel: no slurm_job in events.log after 60 s (the rest skipped)"
		sed 's/^/  events: /' "$SP/active/$cid/events.log" 2>/dev/null | tail -5
		"$DAGEXEC" cancel -s "$SP" "$cid" >/dev/null 2>&1
		return
	fi
	pass "cancel: the Slurm job is journalled"
	kid=$(slurm_id "$SP/active/$cid/events.log" long)
	check "cancel: the Slurm job $kid runs" until_ok 30 is_state "$kid" RUNNING
	"$DAGEXEC" cancel -s "$SP" "$cid" >/dev/null 2>&1
	check "cancel: dagexec cancel exits 0" test $? -eq 0
	check "cancel: the job's bundle lands in done/" until_ok 30 test -f "$SP/done/$cid.tar.gz"
	gone_ok=0; until_ok 10 gone "$kid" && gone_ok=1
	check "cancel: the Slurm job leaves squeue" test "$gone_ok" = 1
	check "cancel: the Slurm job was scancelled ($(sstate "$kid"))" is_state "$kid" CANCELLED
	unbundle "$cid"
	expect_state "cancel: the job is cancelled" status cancelled
	expect_state "cancel: the node is cancelled" nodes.long.status cancelled
	expect_state "cancel: the node's reason is cancelled" nodes.long.reason cancelled
	expect_state "cancel: state.yaml keeps the slurm_job" nodes.long.slurm_job "$kid"
}

# kill -9 while two Slurm nodes run; one ends while the daemon is down
spool_crash() {
	rm -f "$T/quick.runs" "$T/long.runs"
	cat >crash.yaml <<Y
name: crash
nodes:
  quick:
    executor: slurm
    run: "echo run >> $T/quick.runs; sleep 2; echo v=from-quick >> \$DAGEXEC_OUTPUT; echo quick-done"
  long:
    executor: slurm
    run: "echo run >> $T/long.runs; sleep 8; echo long-done"
  after:
    needs: [quick, long]
    run: 'echo "got=\$DAGEXEC_IN_QUICK_V"'
Y
	xid=$("$DAGEXEC" submit -s "$SP" crash.yaml)
	if ! until_ok 60 both_journalled "$xid"; then
		fail "crash: the two slurm_job events are not in events.log after 60 s (the rest skipped)"
		sed 's/^/  events: /' "$SP/active/$xid/events.log" 2>/dev/null | tail -5
		return
	fi
	pass "crash: both Slurm jobs are journalled"
	qid=$(slurm_id "$SP/active/$xid/events.log" quick)
	lgid=$(slurm_id "$SP/active/$xid/events.log" long)
	kill -KILL "$WPID"; wait "$WPID" 2>/dev/null; WPID=
	check "crash: the long Slurm job survives kill -9 of the daemon" test -n "$(squeue -h -j "$lgid" -t PD,CF,R -o %i 2>/dev/null)"
	check "crash: the quick Slurm job ends while the daemon is down" until_ok 30 is_state "$qid" COMPLETED
	check "crash: the long Slurm job still runs when the daemon restarts" is_state "$lgid" RUNNING
	start_daemon
	if ! until_ok 60 test -f "$SP/done/$xid.tar.gz"; then
		fail "crash: the job does not finish within 60 s of the restart (the rest skipped)"
		sed 's/^/  events: /' "$SP/active/$xid/events.log" 2>/dev/null | tail -8
		return
	fi
	pass "crash: the job finishes after the restart"
	unbundle "$xid"
	expect_state "crash: the job succeeded" status succeeded
	expect_state "crash: the long node kept its Slurm job id" nodes.long.slurm_job "$lgid"
	expect_state "crash: the quick node kept its Slurm job id" nodes.quick.slurm_job "$qid"
	expect_state "crash: the long node took one attempt" nodes.long.attempts 1
	expect_state "crash: the quick node took one attempt" nodes.quick.attempts 1
	runs=$(cat "$T/long.runs" 2>/dev/null | wc -l)
	check "crash: the long node ran once ($runs runs)" test "$runs" -eq 1
	runs=$(cat "$T/quick.runs" 2>/dev/null | wc -l)
	check "crash: the quick node ran once (collected, not rerun) ($runs runs)" test "$runs" -eq 1
	check "crash: one crash/long in the job completion log" test "$(comps crash/long)" -eq 1
	check "crash: one crash/quick in the job completion log" test "$(comps crash/quick)" -eq 1
	check "crash: one submission journalled for long" test "$(submits "$X/events.log" long)" -eq 1
	check "crash: one submission journalled for quick" test "$(submits "$X/events.log" quick)" -eq 1
	grep_file "crash: the long node's output was collected" "^long-done\$" "$X/nodes/long/stdout.log"
	grep_file "crash: the quick node's output was collected" "^quick-done\$" "$X/nodes/quick/stdout.log"
	grep_file "crash: the quick node's \$DAGEXEC_OUTPUT reached its dependant" "^got=from-quick\$" "$X/nodes/after/stdout.log"
}

# with_wrapper: start the daemon with $T/bin (a slow sbatch) first in PATH
with_wrapper() {
	stop_daemon
	opath=$PATH
	PATH="$T/bin:$PATH"
	start_daemon
	PATH=$opath
}

# kill -9 between the attempt going on file and its Slurm id going on file:
# the next daemon looks the attempt up by its --comment; it adopts what
# Slurm has and submits what Slurm never got, once
spool_lookup() {
	case $T in /tmp/*|"${TMPDIR:-/tmp}"/*) ;; *) fail "lookup: odd T '$T'"; return ;; esac
	real=$(command -v sbatch)
	mkdir -p "$T/bin"
	# Slurm gets the job; the daemon never hears its id
	cat >"$T/bin/sbatch" <<EOF
#!/bin/sh
out=\$("$real" "\$@"); rc=\$?
echo "\$out" >"$T/sbatch.id"
while [ ! -f "$T/sbatch.release" ]; do sleep 0.1; done
echo "\$out"
exit \$rc
EOF
	chmod 755 "$T/bin/sbatch"
	rm -f "$T/sbatch.id" "$T/sbatch.release" "$T/lookup.runs"
	cat >lookup.yaml <<Y
name: lookup
nodes:
  once: {executor: slurm, run: "echo run >> $T/lookup.runs; sleep 2; echo lookup-done"}
Y
	with_wrapper
	lkid=$("$DAGEXEC" submit -s "$SP" lookup.yaml)
	if ! until_ok 60 test -s "$T/sbatch.id"; then
		fail "lookup: the wrapped sbatch never ran (the rest skipped)"
		touch "$T/sbatch.release"
		return
	fi
	sid=$(cut -d';' -f1 "$T/sbatch.id")
	sleep 0.3
	check "lookup: the attempt is on file before sbatch answers" test "$(submits "$SP/active/$lkid/events.log" once)" -eq 1
	check "lookup: its Slurm id is not on file yet" test -z "$(slurm_id "$SP/active/$lkid/events.log" once)"
	# a crash: the daemon and the job's supervisor both die
	kill -KILL "$WPID"; wait "$WPID" 2>/dev/null; WPID=
	kill -KILL $(supervisor_pids) 2>/dev/null
	touch "$T/sbatch.release"
	start_daemon
	if ! until_ok 60 test -f "$SP/done/$lkid.tar.gz"; then
		fail "lookup: the job does not finish in 60 s after the restart"
		return
	fi
	unbundle "$lkid"
	expect_state "lookup: the node succeeded" nodes.once.status succeeded
	expect_state "lookup: the node adopted the Slurm job found by its comment" nodes.once.slurm_job "$sid"
	check "lookup: one lookup/once in the job completion log ($(comps lookup/once))" test "$(comps lookup/once)" -eq 1
	runs=$(cat "$T/lookup.runs" 2>/dev/null | wc -l)
	check "lookup: the node ran once ($runs runs)" test "$runs" -eq 1
	grep_file "lookup: the adopted job's output was collected" "^lookup-done\$" "$X/nodes/once/stdout.log"

	# Slurm never gets the job: the next daemon submits it, once
	cat >"$T/bin/sbatch" <<EOF
#!/bin/sh
touch "$T/sbatch.waiting"
while [ ! -f "$T/sbatch.release2" ]; do sleep 0.1; done
exit 1
EOF
	rm -f "$T/sbatch.waiting" "$T/sbatch.release2" "$T/lookup.runs"
	sed 's/^name: lookup$/name: lookup2/' lookup.yaml >lookup2.yaml
	with_wrapper
	l2id=$("$DAGEXEC" submit -s "$SP" lookup2.yaml)
	if ! until_ok 60 test -f "$T/sbatch.waiting"; then
		fail "lookup2: the wrapped sbatch never ran (the rest skipped)"
		touch "$T/sbatch.release2"
		return
	fi
	kill -KILL "$WPID"; wait "$WPID" 2>/dev/null; WPID=
	kill -KILL $(supervisor_pids) 2>/dev/null
	touch "$T/sbatch.release2"
	start_daemon
	if ! until_ok 60 test -f "$SP/done/$l2id.tar.gz"; then
		fail "lookup2: the job does not finish in 60 s after the restart"
		return
	fi
	unbundle "$l2id"
	expect_state "lookup2: a node Slurm never got succeeds after the restart" nodes.once.status succeeded
	check "lookup2: one lookup2/once in the job completion log ($(comps lookup2/once))" test "$(comps lookup2/once)" -eq 1
	runs=$(cat "$T/lookup.runs" 2>/dev/null | wc -l)
	check "lookup2: the node ran once ($runs runs)" test "$runs" -eq 1
}

# SIGTERM of `watch --stop-jobs`: the job is interrupted, its Slurm job
# left running, and the next daemon re-adopts it; with --cancel-remote it
# scancels it
spool_term() {
	stop_daemon
	start_daemon --stop-jobs
	rm -f "$T/term.runs"
	cat >term.yaml <<Y
name: term
nodes:
  long: {executor: slurm, run: "echo run >> $T/term.runs; sleep 60"}
Y
	mid=$("$DAGEXEC" submit -s "$SP" term.yaml)
	if ! until_ok 60 has_slurm_job "$mid" long; then
		fail "term: no slurm_job in events.log after 60 s (the rest skipped)"
		return
	fi
	aid=$(slurm_id "$SP/active/$mid/events.log" long)
	check "term: the Slurm job $aid runs" until_ok 30 is_state "$aid" RUNNING
	check "term: the node's command has started" until_ok 30 test -s "$T/term.runs"
	kill -TERM "$WPID"; wait "$WPID"; trc=$?; WPID=
	check "term: SIGTERM of watch --stop-jobs exits 75 (got $trc)" test "$trc" -eq 75
	check "term: without --cancel-remote the Slurm job keeps running" is_state "$aid" RUNNING
	touch "$T/restart.mark"
	start_daemon --stop-jobs --cancel-remote
	# the restarted daemon has taken the job up once it rewrote its state
	until_ok 30 test -n "$(find "$SP/active/$mid/state.yaml" -newer "$T/restart.mark" 2>/dev/null)"
	sleep 0.5
	check "term: the restarted daemon did not submit again" test "$(submits "$SP/active/$mid/events.log" long)" -eq 1
	kill -TERM "$WPID"; wait "$WPID"; trc=$?; WPID=
	check "term: SIGTERM of watch --stop-jobs --cancel-remote exits 75 (got $trc)" test "$trc" -eq 75
	gone_ok=0; until_ok 10 gone "$aid" && gone_ok=1
	check "term: --cancel-remote scancels the Slurm job" test "$gone_ok" = 1
	check "term: the Slurm job ended CANCELLED ($(sstate "$aid"))" is_state "$aid" CANCELLED
	runs=$(cat "$T/term.runs" 2>/dev/null | wc -l)
	check "term: the node ran once ($runs runs)" test "$runs" -eq 1
	check "term: one term/long in the job completion log" test "$(comps term/long)" -eq 1
}

# a file dropped by a normal user: sbatch runs as that user, so the Slurm
# job is theirs, and its logs come back into a bundle that is theirs
SU=
spool_user() {
	if ! command -v useradd >/dev/null 2>&1 ||
	    ! command -v runuser >/dev/null 2>&1; then
		echo "skip - user: needs useradd and runuser"
		return
	fi
	SU=dxslurm$$
	if ! useradd -M -N -d /nonexistent -s /usr/sbin/nologin "$SU" \
	    2>/dev/null; then
		fail "user: cannot create user $SU"
		SU=
		return
	fi
	chmod 755 "$T"
	cat >user.yaml <<'Y'
name: userjob
nodes:
  who:
    executor: slurm
    run: id -un; echo "me=$(id -u)" >> "$DAGEXEC_OUTPUT"
  after:
    needs: [who]
    run: echo "$DAGEXEC_IN_WHO_ME"
Y
	cp user.yaml "$SP/incoming/.user.yaml.tmp"
	chown "$SU" "$SP/incoming/.user.yaml.tmp"
	mv "$SP/incoming/.user.yaml.tmp" "$SP/incoming/user.yaml"
	if ! until_ok 60 sh -c "ls '$SP'/done/userjob-*.tar.gz >/dev/null 2>&1"; then
		fail "user: the job does not finish in 60 s"
		return
	fi
	b=$(ls "$SP"/done/userjob-*.tar.gz | head -n 1)
	uid=$(id -u "$SU")
	check "user: the bundle is the user's" test "$(stat -c %u "$b")" = "$uid"
	unbundle "$(basename "$b" .tar.gz)"
	expect_state "user: the Slurm node succeeded" nodes.who.status succeeded
	grep_file "user: the Slurm node ran as the user" "^$SU\$" "$X/nodes/who/stdout.log"
	grep_file "user: its output reached the next node" "^$uid\$" "$X/nodes/after/stdout.log"
	check "user: Slurm's completion log has the job as the user" \
	    grep -q " UserId=$SU($uid) .* Name=userjob/who " "$JOBCOMP"
}

both_journalled() {
	has_slurm_job "$1" quick && has_slurm_job "$1" long
}

DGX_LEAK_MARKER=leaked
export DGX_LEAK_MARKER
start_daemon
spool_env
spool_cancel
spool_crash
spool_lookup
spool_user
spool_term	# last: it leaves its job in active/
stop_daemon
check "no Slurm job of the tests is left in squeue" test -z "$(squeue -h -o %i 2>/dev/null)"
# in a sanitizer build: nothing reported by dagexec run or watch
san=$(cat "$T"/*.stderr "$T/watch.log" 2>/dev/null |
    grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' | head -n 3)
check "no sanitizer report from dagexec${san:+: $san}" test -z "$san"
finish
