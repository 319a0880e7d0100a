#!/bin/sh
# retry_on exit statuses, jitter, and when: failure below a skipped need:
# real runs of dagexec run.
. "$TOP_SRCDIR/tests/integration/lib.sh"

# --- validation -----------------------------------------------------------------
cat >bad.yaml <<'Y'
name: bad
nodes:
  a: {run: "true", retry_on: [timeout, "exit:0", "exit:9-3"], jitter: yes please}
  b: {run: "true", budget: {tokens: -1}}
Y
expect_status 65 "invalid retry_on, jitter and budget are refused" "$DAGEXEC" validate bad.yaml
grep_file "exit:0, with its line and column" "^bad.yaml:3:40: error: invalid retry_on exit status 'exit:0'" "$T/err"
grep_file "a reversed range" "^bad.yaml:3:50: error: invalid retry_on exit status 'exit:9-3'" "$T/err"
grep_file "jitter not a boolean" "^bad.yaml:3:71: error: 'jitter' must be a boolean" "$T/err"
grep_file "a budget below 1" "^bad.yaml:4:37: error: 'tokens' must be greater than 0" "$T/err"

# --- retry_on: exit statuses beside the classes ------------------------------
# step.sh NAME CODE...: the Nth run of NAME exits with the Nth CODE (kill:
# killed by SIGKILL), and with 0 once they are used up
cat >step.sh <<'S'
f="$COUNTS/$1"; shift
n=$(cat "$f" 2>/dev/null || echo 0); echo $((n + 1)) >"$f"
while [ "$n" -gt 0 ] && [ $# -gt 0 ]; do shift; n=$((n - 1)); done
[ $# -gt 0 ] || exit 0
[ "$1" = kill ] && kill -9 $$
exit "$1"
S
cat >codes.yaml <<Y
name: codes
env: {COUNTS: $T, STEP: $T/step.sh}
defaults: {retries: 3, retry_delay: 10ms}
nodes:
  tempfail: {run: 'sh "\$STEP" tempfail 75', retry_on: [timeout, "exit:75", "exit:100-113"]}
  ranged: {run: 'sh "\$STEP" ranged 100 113', retry_on: [timeout, "exit:75", "exit:100-113"]}
  other: {run: 'sh "\$STEP" other 3', retry_on: [timeout, "exit:75", "exit:100-113"]}
  outside: {run: 'sh "\$STEP" outside 114', retry_on: ["exit:100-113"]}
  anyexit: {run: 'sh "\$STEP" anyexit 3', retry_on: [exit, "exit:75"]}
  signalled: {run: 'exec sh "\$STEP" signalled kill', retry_on: ["exit:1-255"]}
Y
run_unpack codes codes.yaml
expect_state "exit 75, listed as exit:75: retried, then succeeded" nodes.tempfail.status succeeded
expect_state "after 2 attempts" nodes.tempfail.attempts 2
expect_state "exit 100 then 113, both in exit:100-113: retried twice" nodes.ranged.attempts 3
expect_state "and succeeded" nodes.ranged.status succeeded
expect_state "exit 3, not listed: failed at once" nodes.other.attempts 1
expect_state "with reason exit" nodes.other.reason exit
expect_state "exit 114, just outside the range: not retried" nodes.outside.attempts 1
expect_state "the class exit takes every status" nodes.anyexit.status succeeded
expect_state "a signal is not an exit status" nodes.signalled.attempts 1
expect_state "with reason signal" nodes.signalled.reason signal
check "a DAG with failures exits 1" test "$rc" -eq 1

# --- jitter: the waits between attempts are drawn below the backoff's ----------
# Two nodes fail 5 times then succeed, a fixed 400 ms apart; one with
# jitter. Without jitter each wait is at least 400 ms; with it, each is
# drawn between 0 and 400 ms, so its 5 waits add up to less than the
# other's (they could only be equal if every draw were 400 ms exactly).
cat >jitter.yaml <<Y
name: jitter
env: {STAMPS: $T}
defaults:
  retries: 5
  retry_delay: 400ms
  backoff: fixed
nodes:
  steady:
    run: 'date +%s%N >> "\$STAMPS/steady"; [ \$DAGEXEC_ATTEMPT -ge 6 ]'
  spread:
    run: 'date +%s%N >> "\$STAMPS/spread"; [ \$DAGEXEC_ATTEMPT -ge 6 ]'
    jitter: true
Y
run_unpack jitter jitter.yaml
expect_state "the steady node succeeds at its 6th attempt" nodes.steady.attempts 6
expect_state "the jittered one too" nodes.spread.attempts 6
span() { echo $(( ($(tail -n 1 "$1") - $(head -n 1 "$1")) / 1000000 )); }
s1=$(span "$T/steady"); s2=$(span "$T/spread")
check "5 waits of 400 ms take at least 2000 ms without jitter ($s1 ms)" test "$s1" -ge 2000
check "with jitter they take less than without ($s2 < $s1 ms)" test "$s2" -lt "$s1"
# every gap of the steady node is at least 400 ms; some gap of the spread
# one is under 400 ms (all 5 draws at the top of the range: odds ~ 0)
# short: the waits under 400 ms between the stamps of FILE
short() {
	awk 'NR > 1 { g = int(($1 - p) / 1000000); if (g < 400) print g }
	    { p = $1 }' "$1"
}
check "each steady wait is 400 ms or more" test -z "$(short "$T/steady")"
check "some jittered wait is under 400 ms" test -n "$(short "$T/spread")"

# --- when: failure below a chain of skipped nodes ----------------------------
cat >when.yaml <<'Y'
name: when
nodes:
  build: {run: "exit 1"}
  test: {run: "true", needs: [build]}
  deploy: {run: "true", needs: [test]}
  alert: {run: "echo alerted", needs: [deploy], when: failure}
  fine: {run: "true"}
  quiet-check: {run: "true", needs: [fine], when: failure}
  below-quiet: {run: "true", needs: [quiet-check]}
  no-alert: {run: "true", needs: [below-quiet], when: failure}
Y
run_unpack when when.yaml
expect_state "the skipped chain below the failure" nodes.deploy.status skipped
expect_state "when: failure below it runs" nodes.alert.status succeeded
grep_file "and did its work" '^alerted$' "$X/nodes/alert/stdout.log"
expect_state "when: failure with nothing failed above is skipped" nodes.quiet-check.status skipped
expect_state "what is below it is skipped" nodes.below-quiet.status skipped
expect_state "a handler below that finds no failure either" nodes.no-alert.status skipped
expect_state "its error says so" nodes.no-alert.error "no need failed"

finish
