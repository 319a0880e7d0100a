#!/bin/sh
# The wall clock jumping (issue 8 item 4): every duration is measured on
# CLOCK_MONOTONIC.  tests/clockshim.c, built here and loaded with
# LD_PRELOAD, moves CLOCK_REALTIME, time() and gettimeofday() of dagexec
# (and of its nodes) by the seconds written in a file, while
# CLOCK_MONOTONIC runs on: nodes write the file to jump the clock one hour
# ahead, then two hours back, at known points of a run.  Durations are
# read back from the state, or measured by the test on /proc/uptime (the
# boot-time clock, which no jump moves), and compared with the timeouts
# and delays asked for, as ratios.
. "$TOP_SRCDIR/tests/integration/lib.sh"

clockshim

# uptime_ms: the test's own clock, in milliseconds since boot
uptime_ms() {
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# between LO VALUE HI: LO <= VALUE < HI, integers
between() {
	[ -n "$2" ] && [ "$2" -ge "$1" ] 2>/dev/null && [ "$2" -lt "$3" ]
}

# --- the shim works ---------------------------------------------------------
echo 3600 >"$OFF"
a=$(date +%s); b=$($SHIM date +%s)
check "the shim puts the wall clock an hour ahead ($a -> $b)" \
    between 3590 $((b - a)) 3610
echo -3600 >"$OFF"
b=$($SHIM date +%s)
check "and an hour back ($a -> $b)" between -3610 $((b - a)) -3590
a=$(awk '{ print int($1) }' /proc/uptime)
b=$($SHIM awk '{ print int($1) }' /proc/uptime)
check "the boot-time clock does not move ($a, $b)" between 0 $((b - a)) 5
echo 0 >"$OFF"

# --- one run: a timeout, a retry delay, a deadline, a long node --------------
# jumper puts the clock 1 h ahead at 0.3 s, then 2 h back at 0.8 s: while
# t (timeout 2s) runs, while r waits its retry delay (2s, its first try
# fails at once), while d sleeps 1.5 s, and within long's deadline (5s).
cat >jump.yaml <<Y
name: jump
max_parallel: 5
deadline: 5s
nodes:
  jumper: {run: "sleep 0.3; echo 3600 > $OFF; sleep 0.5; echo -3600 > $OFF"}
  t: {run: "sleep 30", timeout: 2s}
  r:
    run: "awk '{ print int(\$1 * 1000) }' /proc/uptime >> $T/r.times; test -f $T/r.mark || { touch $T/r.mark; exit 1; }"
    retries: 1
    retry_delay: 2s
    backoff: fixed
  d: {run: "sleep 1.5"}
  long: {run: "sleep 30"}
Y
t0=$(uptime_ms)
$SHIM "$DAGEXEC" run -o "$T/res" jump.yaml >"$T/run.out" 2>"$T/run.err" &
RPID=$!
# a watchdog: a duration stretched by the jump back would take an hour
( sleep 60; kill -TERM "$RPID" 2>/dev/null ) &
DOG=$!
wait "$RPID"; rc=$?
t1=$(uptime_ms)
kill "$DOG" 2>/dev/null; wait "$DOG" 2>/dev/null
el=$((t1 - t0))
echo "# jump run: exit $rc after $el ms (deadline 5 s)"
check "the run ends on its deadline (exit 1)" test "$rc" -eq 1
check "the deadline is not cut short by the jump ahead ($el ms >= 5000)" \
    test "$el" -ge 5000
check "the deadline is not stretched by the jump back ($el ms < 30000, the long node's sleep)" \
    test "$el" -lt 30000
bundle=$(tail -n 1 "$T/run.out")
S=
if [ -f "$bundle" ]; then
	mkdir -p "$T/x" && tar xzf "$bundle" -C "$T/x"
	S=$(ls -d "$T"/x/jump-*/state.yaml)
fi
check "the run wrote its bundle" test -n "$S"
if [ -n "$S" ]; then
	y() { yget "$S" "$1"; }
	check "the job timed out (the deadline)" test "$(y status)" = timed_out
	check "jumper succeeded" test "$(y nodes.jumper.status)" = succeeded
	check "t timed out on its own timeout" test "$(y nodes.t.reason)" = timeout
	td=$(y nodes.t.duration_ms)
	check "t's timeout fired after 2 s, not at the jump ($td ms, 2000 <= d < 5000, the deadline)" \
	    between 2000 "$td" 5000
	check "long was killed by the deadline" test "$(y nodes.long.reason)" = deadline
	ld=$(y nodes.long.duration_ms)
	check "long ran to the deadline ($ld ms, 4/5 of it: 4000 <= d < 30000)" \
	    between 4000 "$ld" 30000
	check "r succeeded on its second try" \
	    test "$(y nodes.r.status) $(y nodes.r.attempts)" = "succeeded 2"
	dd=$(y nodes.d.duration_ms)
	check "d's duration spans the jumps as 1.5 s ($dd ms, 1500 <= d < 15000)" \
	    between 1500 "$dd" 15000
	jd=$(y duration_ms)
	check "the job's duration is not moved by the jumps ($jd ms, 5000 <= d < 30000)" \
	    between 5000 "$jd" 30000
	# every duration the state holds: none negative, none near an hour
	bad=$(grep 'duration_ms:' "$S" | awk '$2 != "null" &&
	    ($2 < 0 || $2 >= 600000)' | head -3)
	check "no duration in the state is negative or hours long${bad:+: $bad}" \
	    test -z "$bad"
	# the dates are the start's wall time plus monotonic time since
	started=$(y started_at); finished=$(y finished_at)
	span=$(( $(date -d "$finished" +%s) - $(date -d "$started" +%s) ))
	check "the job's dates are as far apart as it ran ($started .. $finished)" \
	    between 4 "$span" 31
fi
if [ -f "$T/r.times" ] && [ "$(wc -l <"$T/r.times")" -eq 2 ]; then
	gap=$(awk 'NR == 1 { a = $1 } NR == 2 { print $1 - a }' "$T/r.times")
	echo "# r's retry delay of 2 s, measured by the node: $gap ms"
	check "the retry delay is not cut short by the jump ahead ($gap ms >= 1990)" \
	    test "$gap" -ge 1990
	check "the retry delay is not stretched by the jump back ($gap ms < 3 x 2000)" \
	    test "$gap" -lt 6000
else
	fail "r ran twice (r.times: $(cat "$T/r.times" 2>/dev/null | tr '\n' ' '))"
fi

# --- the daemon: the state's write rate, and durations across a restart -----
# up jumps the clock ahead while it runs, down jumps it back while it
# runs; c0..c5 go on after the jump back; tail is interrupted by SIGTERM
# and the job resumed by a second daemon.  A write rate on the wall clock
# would write no state for two hours after the jump back; a resumed
# duration taken from the journal's dates would be an hour, or nothing.
SP="$T/spool"
WPID=
trap 'stop_daemon; stop_supervisors; rm -rf "$T"' EXIT
start_daemon() {	# start_daemon [env VAR=VALUE...]
	"$@" "$DAGEXEC" watch -s "$SP" >>"$T/watch.log" 2>&1 &
	WPID=$!
	i=0
	while [ $i -lt 100 ] && [ "$(cat "$SP/lock" 2>/dev/null)" != "$WPID" ]; do
		sleep 0.1; i=$((i + 1))
	done
}
# wait_until COMMAND...: until it succeeds (at most 30 s)
wait_until() {
	i=0
	while [ $i -lt 300 ]; do
		"$@" && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

{
	echo "name: flush"
	echo "nodes:"
	echo "  up: {run: \"echo 3600 > $OFF; sleep 1\"}"
	echo "  down: {run: \"echo -3600 > $OFF; sleep 1\", needs: [up]}"
	echo "  c0: {run: \"sleep 0.3\", needs: [down]}"
	for i in 1 2 3 4 5; do
		echo "  c$i: {run: \"sleep 0.3\", needs: [c$((i - 1))]}"
	done
	echo "  tail: {run: \"test -f $T/tail.mark && exit 0; touch $T/tail.mark; sleep 30\", needs: [c5]}"
} >flush.yaml
echo 0 >"$OFF"
"$DAGEXEC" watch -s "$SP" --drain >>"$T/watch.log" 2>&1
fid=$("$DAGEXEC" submit -s "$SP" flush.yaml)
check "the flush job is submitted" test -n "$fid"
start_daemon $SHIM
FS="$SP/active/$fid/state.yaml"
check "tail starts (the jumps are behind)" wait_until test -f "$T/tail.mark"
check "the clock was put back (offset -3600)" test "$(cat "$OFF")" = -3600
# the state must keep up after the jump back: c5 done, tail running
check "the state is written after the jump back (tail running in state.yaml)" \
    wait_until sh -c "sed -n '/^  tail:/,/^  [a-z0-9]*:/p' '$FS' | grep -q 'status: running'"
check "the daemon sees the clock jump back too (its journal goes back)" \
    awk 'NR > 1 && $1 < p - 3000000 { found = 1 } { p = $1 } END { exit !found }' \
    "$SP/active/$fid/events.log"
# a crash of the daemon and the job's supervisor: the next start resumes
# the job from its journal, without the shim
kill -KILL "$WPID" $(supervisor_pids) 2>/dev/null; wait "$WPID" 2>/dev/null; WPID=
check "the job is left in active/ to resume" test -d "$SP/active/$fid"
echo 0 >"$OFF"
start_daemon
check "the resumed job ends with a bundle" \
    wait_until test -f "$SP/done/$fid.tar.gz"
stop_daemon
if [ -f "$SP/done/$fid.tar.gz" ]; then
	mkdir -p "$T/f" && tar xzf "$SP/done/$fid.tar.gz" -C "$T/f"
	FS="$T/f/$fid/state.yaml"
	check "the resumed job succeeded" test "$(yget "$FS" status)" = succeeded
	check "up did not run again" test "$(yget "$FS" nodes.up.attempts)" = 1
	ud=$(yget "$FS" nodes.up.duration_ms)
	dd=$(yget "$FS" nodes.down.duration_ms)
	check "after the resume, up (1 s across the jump ahead) lasted ~1 s, not an hour ($ud ms, 1000 <= d < 60000)" \
	    between 1000 "$ud" 60000
	check "after the resume, down (1 s across the jump back) lasted ~1 s, not 0 ($dd ms, 1000 <= d < 60000)" \
	    between 1000 "$dd" 60000
	H="$SP/users/$(id -u)/history/flush"
	if [ -f "$H" ]; then
		bad=$(grep 'mean_ms:' "$H" | sed 's/.*mean_ms: *\([0-9-]*\).*/\1/' |
		    awk '$1 < 0 || $1 >= 600000' | head -3)
		check "no learned estimate is negative or hours long${bad:+: $bad}" \
		    test -z "$bad"
	fi
fi

# a build with --enable-sanitizers reports into the logs
check "no sanitizer report in the logs" test -z "$(grep -l \
    'Sanitizer\|runtime error:' "$T/watch.log" "$T/run.err" 2>/dev/null)"

finish
