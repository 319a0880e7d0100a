#!/bin/sh
# cgroup v2 containment, on real processes: a grandchild that escapes its
# node (a new session, a double fork, an empty environment, SIGTERM
# ignored) is gone when its node ends, times out and is cancelled; after
# kill -9 of the daemon, the supervisor and the node, the escaped leftover
# of the interrupted attempt is killed on resume; cpu_ms counts a
# grandchild nobody waited for; state.yaml says the containment;
# --containment rlimits keeps the first release's behaviour (the escapee
# survives); the job's cgroup under watch is its user's. Limits: with the
# memory, pids and cpu controllers they are tested, else skipped with the
# reason, and the host without them is tested (limits.pids refused,
# best_effort runs it, limits.memory stays RLIMIT_AS).
. "$TOP_SRCDIR/tests/integration/lib.sh"

SP="$T/spool"
WPID=
U=
cleanup() {
	if [ -n "$WPID" ]; then
		kill -KILL "$WPID" 2>/dev/null
		wait "$WPID" 2>/dev/null
	fi
	stop_supervisors
	for f in "$T"/*.pid; do
		[ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	[ -n "$U" ] && pkill -KILL -u "$U" 2>/dev/null
	sleep 0.2
	[ -n "$U" ] && userdel "$U" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	echo "skip - cgroup: needs root (to make cgroups and a second user)"
	exit 0
fi
# the cgroup v2 mount (never assume /sys/fs/cgroup) and our cgroup in it
MNT=$(awk '$0 ~ / - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
SELF=$(sed -n 's/^0:://p' /proc/self/cgroup)
if [ -z "$MNT" ] || [ -z "$SELF" ] || [ ! -w "$MNT$SELF/cgroup.procs" ]; then
	echo "skip - cgroup: no writable cgroup v2 hierarchy here" \
	    "(mount '${MNT:-none}', our cgroup '${SELF:-none}')"
	exit 0
fi
chmod 755 "$T"

# gone PID: the process is no more (a zombie is dead: its parent reaps it)
gone() {
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" \
	    2>/dev/null)
	[ -z "$st" ] || [ "$st" = Z ]
}
# wait_gone PID: until it is gone, at most 10 s
wait_gone() {
	i=0
	while [ $i -lt 100 ] && ! gone "$1"; do sleep 0.1; i=$((i + 1)); done
	gone "$1"
}
# wait_file FILE: until it exists and is not empty, at most 30 s
wait_file() {
	i=0
	while [ $i -lt 300 ] && [ ! -s "$1" ]; do sleep 0.1; i=$((i + 1)); done
	[ -s "$1" ]
}

# wait_file_gone PATH: until it is no more, at most 10 s
wait_file_gone() {
	i=0
	while [ $i -lt 100 ] && [ -e "$1" ]; do sleep 0.1; i=$((i + 1)); done
	[ ! -e "$1" ]
}

# escape FILE: a shell line that leaves its node every way it can: a new
# session (setsid), a double fork (the middle process exits), an empty
# environment (env -i: no DAGEXEC_JOB to be found by), SIGTERM and SIGHUP
# ignored; the escapee writes its pid to FILE and sleeps
escape() {
	echo "setsid sh -c 'exec env -i sh -c \"trap \\\"\\\" TERM HUP; echo \\\$\\\$ > $1; exec sleep 300\" </dev/null >/dev/null 2>&1 &'"
}

# --- run: an escapee is gone when its node ends ------------------------------
cat >ends.yaml <<Y
name: ends
nodes:
  e:
    run: |
      $(escape "$T/ends.pid")
      while [ ! -s $T/ends.pid ]; do sleep 0.05; done
Y
expect_status 0 "run: the node that left an escapee succeeds" \
    "$DAGEXEC" run -q -o "$T" ends.yaml
unpack "$(bundle_of)" ends
expect_state "run: state.yaml says the containment" containment \
    cgroup-nolimits
p=$(cat "$T/ends.pid")
check "run: the escapee (pid $p) is gone when its node ends" wait_gone "$p"
grep_file "run: the job's log says what was killed" \
    "e leftover killed what was left in the node's cgroup" "$T/err"
check "run: the job's cgroup is removed" \
    test ! -e "$MNT$SELF/dagexec/$(basename "$X")"

# --- --containment rlimits: the first release's behaviour ------------------
rm -f "$T/ends.pid"
expect_status 0 "rlimits: the same node succeeds" \
    "$DAGEXEC" run -q --containment rlimits -o "$T" ends.yaml
unpack "$(bundle_of)" endsr
expect_state "rlimits: state.yaml says so" containment rlimits
p=$(cat "$T/ends.pid")
check "rlimits: the escapee outlives its node, as before cgroups" \
    test -d "/proc/$p" -a "$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' \
    "/proc/$p/status" 2>/dev/null)" != Z
kill -KILL "$p" 2>/dev/null
check "rlimits: no cgroup was made for the job" \
    test ! -e "$MNT$SELF/dagexec/$(basename "$X")"
expect_status 64 "--containment takes auto, cgroup or rlimits" \
    "$DAGEXEC" run --containment sometimes ends.yaml

# --- run: an escapee is gone when its node times out -------------------------
cat >tout.yaml <<Y
name: tout
nodes:
  t:
    timeout: 1s
    run: |
      $(escape "$T/tout.pid")
      trap '' TERM
      sleep 300
Y
expect_status 1 "timeout: the node times out" \
    "$DAGEXEC" run -q -o "$T" tout.yaml
unpack "$(bundle_of)" tout
expect_state "timeout: it is timed_out" nodes.t.status timed_out
check "timeout: the escapee is gone" wait_gone "$(cat "$T/tout.pid")"

# --- cpu_ms counts a grandchild nobody waits for ----------------------------
# the grandchild burns CPU in a session of its own and says, from
# /proc/self/stat, how much it used; the node only waits for its file
cat >cpu.yaml <<Y
name: cpu
nodes:
  c:
    run: |
      (setsid sh -c 'i=0; while [ \$i -lt 400000 ]; do i=\$((i+1)); done
        set -- \$(cut -d" " -f14,15 /proc/\$\$/stat)
        echo \$(( (\$1 + \$2) * 1000 / \$(getconf CLK_TCK) )) > $T/cpu.self' \
        </dev/null >/dev/null 2>&1 &)
      while [ ! -s $T/cpu.self ]; do sleep 0.05; done
Y
expect_status 0 "cpu: the node succeeds" "$DAGEXEC" run -q -o "$T" cpu.yaml
unpack "$(bundle_of)" cpu
self=$(cat "$T/cpu.self")
got=$(yget "$S" nodes.c.cpu_ms)
echo "  the grandchild used ${self} ms; the node's cpu_ms: $got"
check "cpu: cpu_ms ($got) counts the grandchild's own ${self} ms" \
    test "$got" -ge "$self" -a "$self" -gt 0
rm -f "$T/cpu.self"
"$DAGEXEC" run -q --containment rlimits -o "$T" cpu.yaml >"$T/out" 2>&1
unpack "$(bundle_of)" cpur
self=$(cat "$T/cpu.self")
got=$(yget "$S" nodes.c.cpu_ms)
check "cpu: with rlimits (wait4) it is not counted ($got < $self ms)" \
    test "$got" -lt "$self"

# --- limits: the controllers where the host has them -------------------------
cat >lim.yaml <<Y
name: lim
nodes:
  pids: {run: "echo ok", limits: {pids: 64}}
Y
"$DAGEXEC" run -q -o "$T" lim.yaml >"$T/out" 2>"$T/err"
unpack "$(bundle_of)" lim
if [ "$(yget "$S" containment)" = cgroup ]; then
	cat >oom.yaml <<Y
name: oom
nodes:
  m: {argv: [python3, -c, "b = bytearray(512 << 20); print(len(b))"], limits: {memory: 64M}}
Y
	expect_status 1 "limits.memory: a node past it fails" \
	    "$DAGEXEC" run -q -o "$T" oom.yaml
	unpack "$(bundle_of)" oom
	expect_state "limits.memory: reason oom (memory.events oom_kill)" \
	    nodes.m.reason oom
	cat >pids.yaml <<Y
name: pids
nodes:
  p:
    argv: [python3, -c, "import os, time\\nfor i in range(10):\\n  if os.fork() == 0: time.sleep(5); os._exit(0)"]
    limits: {pids: 4}
Y
	expect_status 1 "limits.pids: a node forking past it fails" \
	    "$DAGEXEC" run -q -o "$T" pids.yaml
	cat >cpus.yaml <<Y
name: cpus
nodes:
  c:
    run: |
      cat "$MNT\$(sed -n 's/^0:://p' /proc/self/cgroup)/cpu.max"
    limits: {cpus: 0.5}
Y
	expect_status 0 "limits.cpus: the node runs" \
	    "$DAGEXEC" run -q --keep -o "$T" cpus.yaml
	grep_file "limits.cpus: its cgroup's cpu.max is 0.5 CPU" \
	    "^50000 100000" "$(ls -d "$T"/cpus-*/ | head -n 1)nodes/c/stdout.log"
else
	echo "skip - limits: memory.max, pids.max, cpu.max: this host's cgroup" \
	    "v2 hierarchy gives no memory, pids or cpu controller for a" \
	    "job's attempts ($(yget "$S" containment)); on it:"
	expect_state "no controllers: limits.pids fails the node" \
	    nodes.pids.reason spawn_error
	grep_file "no controllers: and says why" \
	    "limits.pids cannot be enforced here" "$S"
	cat >lim2.yaml <<Y
name: lim2
nodes:
  pids:
    run: "grep 'Max address space' /proc/self/limits"
    limits: {pids: 64, cpus: 1.5, memory: 1G, best_effort: true}
Y
	expect_status 0 "no controllers: with best_effort it runs" \
	    "$DAGEXEC" run -q --keep -o "$T" lim2.yaml
	grep_file "no controllers: and it is said" \
	    "limits.pids and limits.cpus not enforced (best_effort)" "$T/err"
	grep_file "no controllers: limits.memory stays RLIMIT_AS" \
	    "Max address space *1073741824 *1073741824" \
	    "$(ls -d "$T"/lim2-*/ | head -n 1)nodes/pids/stdout.log"
fi

# --- a second user, and watch ------------------------------------------------
if ! command -v useradd >/dev/null 2>&1; then
	echo "skip - cgroup: watch: needs useradd to create user U"
	finish
fi
U=dgxc$$
useradd -M -N -d /nonexistent -s /usr/sbin/nologin "$U" 2>/dev/null
if ! id -u "$U" >/dev/null 2>&1; then
	echo "skip - cgroup: watch: useradd failed"
	U=
	finish
fi
uu=$(id -u "$U")
DX=$(users_dagexec)

# --- --containment cgroup where none can be made: U's own cgroup is root's --
cp ends.yaml "$T/u.yaml" && chmod 644 "$T/u.yaml"
expect_status 71 "--containment cgroup where U cannot make one exits 71" \
    runuser -u "$U" -- "$DX" run -q --containment cgroup -o /tmp "$T/u.yaml"
grep_file "and says why" "cannot make a cgroup in" "$T/err"

P="$T/pub"
mkdir -p "$P"
chmod 1777 "$P"
# cgdir PID: the cgroup directory of a process
cgdir() { echo "$MNT$(sed -n 's/^0:://p' "/proc/$1/cgroup")"; }

"$DAGEXEC" watch -s "$SP" --drain >/dev/null 2>&1	# makes the layout

# --- watch: the job's cgroup is U's; cancel kills the escapee -------------------
cat >canc.yaml <<Y
name: canc
nodes:
  c:
    run: |
      $(escape "$P/canc.pid")
      sleep 300
Y
start_watch "$SP"
grep_file "watch: says its containment" "containment cgroup" "$T/watch.log"
drop_as "$U" canc.yaml
wait_file "$P/canc.pid"
p=$(cat "$P/canc.pid")
echo "$p" >"$T/canc.pid"
node=$(cgdir "$p")
job=$(dirname "$node")
job_id=$(ls "$SP/active")
echo "  the escapee's cgroup: $node"
cgname=$(sed -n 's/^cgroup //p' "$SP/claims/$job_id/lock" 2>/dev/null)
check "watch: the escapee is in its attempt's cgroup JOB/c.1, JOB the one its claim's lock names" \
    test -n "$cgname" -a "$node" = "$job/c.1" -a "$(basename "$job")" = "$cgname"
check "watch: the job's cgroup is U's" test "$(stat -c %u "$job")" = "$uu"
check "watch: so is its cgroup.procs (delegated)" \
    test "$(stat -c %u "$job/cgroup.procs")" = "$uu"
check "watch: the attempt's cgroup is U's (the supervisor made it)" \
    test "$(stat -c %u "$node")" = "$uu"
check "watch: JOB/supervisor is root's: no node moves in beside it" \
    test "$(stat -c %u "$job/supervisor/cgroup.procs")" = 0
check "watch: the supervisor is in JOB/supervisor" \
    test "$(cgdir "$(supervisor_pids | head -n 1)")" = "$job/supervisor"
check "watch: the daemon is in its own leaf, dagexec/daemon" \
    test "$(cgdir "$WPID")" = "$(dirname "$job")/daemon"
"$DAGEXEC" cancel -s "$SP" "$job_id" >/dev/null 2>&1
b=$(done_of canc)
check "cancel: the job ends cancelled" \
    test "$(bundle_state "$b" status 2>/dev/null)" = cancelled
check "cancel: the escapee is gone" wait_gone "$p"
check "watch: the job's state says its containment" \
    test "$(bundle_state "$b" containment 2>/dev/null)" = cgroup-nolimits
check "cancel: the job's cgroup is removed when its supervisor ends" \
    wait_file_gone "$job"

# --- kill -9 of everything: the escapee of the interrupted attempt ------------
cat >crash.yaml <<Y
name: crash
nodes:
  k:
    run: |
      [ "\$DAGEXEC_ATTEMPT" -gt 1 ] && exit 0
      $(escape "$P/crash.pid")
      echo \$\$ > $P/crash.main
      sleep 300
Y
drop_as "$U" crash.yaml
wait_file "$P/crash.pid"
wait_file "$P/crash.main"
p=$(cat "$P/crash.pid")
echo "$p" >"$T/crash.pid"
sup=$(supervisor_pids)
kill -KILL "$WPID" $sup "$(cat "$P/crash.main")" 2>/dev/null
wait "$WPID" 2>/dev/null
WPID=
sleep 0.5
check "crash: the escapee outlived the daemon, the supervisor and its node" \
    test -d "/proc/$p" -a "$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' \
    "/proc/$p/status" 2>/dev/null)" != Z
start_watch "$SP"
b=$(done_of crash)
check "crash: the resumed job succeeds" \
    test "$(bundle_state "$b" status 2>/dev/null)" = succeeded
check "crash: the resumed supervisor started in JOB/supervisor" \
    test "$(bundle_state "$b" containment 2>/dev/null)" = cgroup-nolimits
check "crash: the node ran again (attempt 2)" \
    test "$(bundle_state "$b" nodes.k.attempts 2>/dev/null)" = 2
check "crash: the escapee of the interrupted attempt is gone" wait_gone "$p"
grep_file "crash: the daemon says it killed what was left" \
    "crash-.* leftover killing what is left in" "$T/watch.log"

# --- a lock record whose cgroup name leaves dagexec/ is not followed ----------
# (claims/ is root's: only a damaged record could say this; a new daemon
# must not kill what is in a cgroup outside its own)
cat >bent.yaml <<Y
name: bent
nodes:
  b:
    run: |
      [ "\$DAGEXEC_ATTEMPT" -gt 1 ] && exit 0
      touch $P/bent.started
      sleep 300
Y
drop_as "$U" bent.yaml
wait_file "$P/bent.started"
bj=$(ls "$SP/active" | grep '^bent-')
dagexec_cg=$(dirname "$(cgdir "$WPID")")
canary="$(dirname "$dagexec_cg")/dagexec-canary.$$"
mkdir "$canary"
sleep 300 &
cpid=$!
echo "$cpid" >"$canary/cgroup.procs"
kill -KILL "$WPID" $(supervisor_pids) 2>/dev/null
wait "$WPID" 2>/dev/null
WPID=
sed -i "s|^cgroup .*|cgroup ../$(basename "$canary")|" "$SP/claims/$bj/lock"
start_watch "$SP"
b=$(done_of bent)
check "bent record: the job is taken back and ends" test -n "$b"
check "bent record: the process in a cgroup outside dagexec/ lives" \
    test -d "/proc/$cpid" -a "$(cgdir "$cpid")" = "$canary"
kill -KILL "$cpid" 2>/dev/null
wait "$cpid" 2>/dev/null
i=0; while [ $i -lt 50 ] && ! rmdir "$canary" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
stop_daemon

finish
