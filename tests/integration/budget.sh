#!/bin/sh
# Budgets while nodes run: a node's own budget kills it as soon as the
# metrics it appends reach the cap; the DAG's budget stops new starts at
# once, and kills running nodes only under on_failure: abort; each instance
# of a foreach has its own.
. "$TOP_SRCDIR/tests/integration/lib.sh"

# --- a node over its own budget is killed while it runs ---------------------
# runaway would append tokens=30 fifty times, 0.2 s apart; its budget is
# 100, so it must die after its 4th line, long before its 50th step
cat >node.yaml <<Y
name: node-budget
env: {MARKS: $T}
nodes:
  runaway:
    run: |
      i=0
      while [ \$i -lt 50 ]; do
        i=\$((i + 1))
        echo "tokens=30" >> "\$DAGEXEC_METRICS"
        echo "step \$i"
        sleep 0.2
      done
      touch "\$MARKS/runaway.done"
    budget: {tokens: 100}
    retries: 2
  after: {run: "true", needs: [runaway]}
  frugal:
    run: 'echo tokens=99 >> "\$DAGEXEC_METRICS"; sleep 0.3'
    budget: {tokens: 100}
  handler: {run: "true", needs: [runaway], when: failure}
Y
run_unpack node node.yaml
check "a node over its budget fails the DAG (exit 1)" test "$rc" -eq 1
expect_state "the DAG failed (a node failed; the DAG's budget was not hit)" status failed
expect_state "the runaway node failed" nodes.runaway.status failed
expect_state "with reason budget" nodes.runaway.reason budget
expect_state "it is not retried (its sums only grow)" nodes.runaway.attempts 1
state_err=$(yget "$S" nodes.runaway.error)
case $state_err in
*"budget 'tokens' reached: 120 of 100"*) pass "its error says which budget and the sum: $state_err" ;;
*) fail "runaway's error: '$state_err'" ;;
esac
expect_state "its metrics are what it wrote before it died" nodes.runaway.metrics.tokens 120
check "it was killed while it ran: it never got to its end" test ! -e "$T/runaway.done"
grep_file "its log holds its first steps" '^step 3$' "$X/nodes/runaway/stdout.log"
no_grep_file "and none near its 50th" '^step 10$' "$X/nodes/runaway/stdout.log"
expect_state "its dependent is skipped" nodes.after.status skipped
expect_state "a node under its budget succeeds" nodes.frugal.status succeeded
expect_state "a when: failure handler runs" nodes.handler.status succeeded

# --- instances of a dynamic foreach: each its own budget --------------------
# the planner's value makes agent[calm] and agent[wild]; calm reports 90,
# wild 30 at a time: only wild is killed, though the two together pass 100
cat >fan.yaml <<Y
name: fan-budget
env: {MARKS: $T}
nodes:
  plan:
    run: |
      { echo 'items<<EOF'; echo calm; echo wild; echo EOF; } >> "\$DAGEXEC_OUTPUT"
  agent:
    foreach: {from: plan, key: items}
    budget: {tokens: 100}
    run: |
      if [ "\$DAGEXEC_ITEM" = calm ]; then
        echo "tokens=90" >> "\$DAGEXEC_METRICS"; sleep 0.5; exit 0
      fi
      i=0
      while [ \$i -lt 50 ]; do
        i=\$((i + 1))
        echo "tokens=30" >> "\$DAGEXEC_METRICS"
        echo "step \$i"
        sleep 0.2
      done
      touch "\$MARKS/wild.done"
Y
run_unpack fan fan.yaml
expect_state "an instance over its own budget is killed" \
    "nodes.agent[wild].reason" budget
check "while it runs" test ! -e "$T/wild.done"
no_grep_file "long before its end" '^step 10$' "$X/nodes/agent[wild]/stdout.log"
expect_state "the other instance, under its own, succeeds" \
    "nodes.agent[calm].status" succeeded
expect_state "with its own sum" "nodes.agent[calm].metrics.tokens" 90

# --- a sandboxed node: its side files are in a directory of its own ---------
cat >sandboxed.yaml <<Y
name: sandboxed-budget
env: {MARKS: $T}
nodes:
  runaway:
    sandbox: {profile: strict, best_effort: true}
    budget: {tokens: 100}
    run: |
      i=0
      while [ \$i -lt 50 ]; do
        i=\$((i + 1))
        echo "tokens=30" >> "\$DAGEXEC_METRICS"
        echo "step \$i"
        sleep 0.2
      done
      echo done > "\$DAGEXEC_OUTPUT"
Y
run_unpack sandboxed sandboxed.yaml
expect_state "a sandboxed node over its budget is killed too" \
    nodes.runaway.reason budget
no_grep_file "while it runs" '^step 10$' "$X/nodes/runaway/stdout.log"

# --- reached at the end: a node that wrote past its cap and exited 0 ---------
cat >end.yaml <<'Y'
name: end-budget
nodes:
  quick: {run: 'echo tokens=500 >> "$DAGEXEC_METRICS"', budget: {tokens: 100}}
  tolerated:
    run: 'echo cost=2 >> "$DAGEXEC_METRICS"'
    budget: {cost: 1}
    allow_failure: true
  after-tolerated: {run: "true", needs: [tolerated]}
Y
run_unpack end end.yaml
expect_state "a node past its cap at its end fails too" nodes.quick.status failed
expect_state "with reason budget" nodes.quick.reason budget
expect_state "allow_failure holds for a budget" nodes.after-tolerated.status succeeded

# --- the DAG's budget, checked while nodes run --------------------------------
# spender reports 150 tokens at once and runs on; gate ends half a second
# after that report; later needs gate. Checked only at node ends, later would start
# (gate ends first, under the budget); checked while spender runs, it is
# skipped with reason budget, and spender finishes (on_failure: continue).
dag_manifest() {
	cat <<Y
name: dag-budget-$1
on_failure: $1
budget: {tokens: 100}
env: {MARKS: $T/$1}
nodes:
  spender:
    run: 'touch "\$MARKS/spender.wrote"; echo tokens=150 >> "\$DAGEXEC_METRICS"; sleep 2; touch "\$MARKS/spender.done"'
  gate:
    run: 'while [ ! -e "\$MARKS/spender.wrote" ]; do sleep 0.05; done; sleep 0.5'
  later: {run: 'touch "\$MARKS/later.ran"', needs: [gate]}
Y
}
mkdir -p "$T/continue" "$T/abort"
dag_manifest continue >dagc.yaml
run_unpack dagc dagc.yaml
check "the DAG's budget reached exits 1" test "$rc" -eq 1
expect_state "the DAG ends budget_exceeded" status budget_exceeded
expect_state "a node ready after the report is not started" nodes.later.status skipped
expect_state "with reason budget" nodes.later.reason budget
check "it never ran" test ! -e "$T/continue/later.ran"
expect_state "the running spender finishes (continue)" nodes.spender.status succeeded
check "to its end" test -e "$T/continue/spender.done"
expect_state "the DAG's sum is in the state" metrics.tokens 150

dag_manifest abort >daga.yaml
run_unpack daga daga.yaml
expect_state "under abort too, the DAG ends budget_exceeded" status budget_exceeded
expect_state "the running spender is killed (abort)" nodes.spender.status failed
expect_state "with reason budget" nodes.spender.reason budget
check "before its end" test -e "$T/abort/spender.wrote" -a ! -e "$T/abort/spender.done"
state_err=$(yget "$S" nodes.spender.error)
case $state_err in
*"the DAG's budget 'tokens' reached"*) pass "its error names the DAG's budget: $state_err" ;;
*) fail "spender's error: '$state_err'" ;;
esac

finish
