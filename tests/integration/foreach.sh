#!/bin/sh
# foreach end to end: instances of lists and crossed maps, a dynamic
# fan-out under run and under watch, values of all instances to a
# dependent (one a line, by file, and by file only past 64 KiB: a
# 10,000-instance fan-in), zero items, 10,001 items, resume after kill -9
# before and after the expansion, retry, the cache key, validation.
. "$TOP_SRCDIR/tests/integration/lib.sh"

SP="$T/spool"
WPID=
cleanup() {
	stop_daemon
	stop_supervisors
	rm -rf "$T"
}
trap cleanup EXIT

# runjob NAME [RUN OPTIONS] MANIFEST: runs it, $rc, the bundle unpacked in
# $X (its directory) and $S (its state.yaml)
runjob() {
	name=$1; shift
	mkdir -p "$T/$name.out"
	"$DAGEXEC" run -o "$T/$name.out" "$@" >"$T/$name.stdout" \
	    2>"$T/$name.stderr"
	rc=$?
	X=; S=
	b=$(tail -n 1 "$T/$name.stdout")
	if [ -f "$b" ]; then
		unpack "$b" "$name"
	fi
}

# y FILE: FILE with @T@ made $T
y() { sed -i "s|@T@|$T|g" "$1"; }

# the line number of the first line of FILE matching PATTERN (0: none)
line_of() { grep -n -e "$2" "$1" | head -n 1 | cut -d: -f1 | grep . || echo 0; }

# === 1. lists and crossed maps ================================================
cat >static.yaml <<'Y'
name: static
max_parallel: 4
pools: {one: 1}
nodes:
  prep:
    run: echo "base=7" >> "$DAGEXEC_OUTPUT"
  train:
    needs: [prep]
    foreach: {model: [small, large], seed: [1, 2]}
    pool: one
    run: |
      echo "train $DAGEXEC_ITEM_MODEL $DAGEXEC_ITEM_SEED base=$DAGEXEC_IN_PREP_BASE"
      echo "loss=$DAGEXEC_ITEM_MODEL-$DAGEXEC_ITEM_SEED" >> "$DAGEXEC_OUTPUT"
      sleep 0.2
  eval:
    needs: [train]
    foreach: [a, "b c", flaky, slow]
    timeout: 2s
    retries: 1
    retry_delay: 100ms
    retry_on: [exit]
    allow_failure: true
    run: |
      set -e
      mkdir -p "out-$DAGEXEC_ITEM"
      echo "$DAGEXEC_ITEM" > "out-$DAGEXEC_ITEM/r.txt"
      echo "$DAGEXEC_NODE" >> "@T@/eval.runs"
      if [ "$DAGEXEC_ITEM" = flaky ] && [ ! -e "@T@/flaked" ]; then
        touch "@T@/flaked"; exit 3
      fi
      [ "$DAGEXEC_ITEM" != slow ] || sleep 30
      printf '%s\n' "$DAGEXEC_IN_TRAIN_LOSS" > "@T@/seen-$DAGEXEC_ITEM.txt"
    outputs: ["out-a"]
  one:
    needs: ["train[model=large,seed=2]", "eval[a]"]
    run: env | grep '^DAGEXEC_IN_' | sort > "@T@/one.env"
  last:
    needs: [eval]
    when: always
    run: echo last
Y
y static.yaml
runjob static static.yaml
check "a DAG with foreach runs (exit $rc)" test "$rc" -eq 0
expect_state "it succeeds" status succeeded
expect_state "4 + 4 + 4 instances and nodes" progress.total 11
expect_state "a crossed instance is a node of its own" \
    "nodes.train[model=small,seed=2].status" succeeded
expect_state "an item that is no id shows its place" "nodes.eval[2].status" succeeded
expect_state "an instance retries on its own" "nodes.eval[flaky].attempts" 2
expect_state "the others ran once" "nodes.eval[a].attempts" 1
expect_state "an instance times out on its own" "nodes.eval[slow].status" timed_out
expect_state "... with reason timeout" "nodes.eval[slow].reason" timeout
expect_state "one needs a single instance" nodes.one.status succeeded
expect_state "when: always after every instance" nodes.last.status succeeded
check "the instance's item in \$DAGEXEC_ITEM_<KEY>" \
    grep -q '^train large 2 base=7$' "$X/nodes/train[model=large,seed=2]/stdout.log"
check "an instance's outputs under outputs/NODE[a]/" \
    test "$(cat "$X/outputs/eval[a]/out-a/r.txt")" = a
check "its logs under nodes/NODE[a]/" test -s "$X/nodes/train[model=small,seed=1]/stdout.log"
check "the summary has a line an instance" \
    grep -q '^eval\[slow\] *timed_out' "$X/summary.txt"
check "... in manifest order" test "$(grep -o '^train\[[^ ]*' "$X/summary.txt" | tr '\n' ' ')" = \
    "train[model=small,seed=1] train[model=small,seed=2] train[model=large,seed=1] train[model=large,seed=2] "
check "needs: [train] gives every instance's value, a line each, in instance order" \
    test "$(cat "$T/seen-a.txt")" = "$(printf 'small-1\nsmall-2\nlarge-1\nlarge-2')"
grep_file "events.log names an instance, = encoded" \
    "^[0-9]* start node=train\[model%3Dsmall,seed%3D1\] attempt=1" "$X/events.log"
check "graph.dot has the edge to one instance" \
    grep -q '"train\[model=large,seed=2\]" -> "one";' "$X/graph.dot"
check "timeline.svg is XML naming the instances" "$PY" -c '
import sys, xml.dom.minidom
t = open(sys.argv[1]).read()
xml.dom.minidom.parseString(t)
assert "eval[flaky]" in t and "train[model=small,seed=1]" in t' "$X/timeline.svg"
check "trace.json has an event an attempt of each instance" "$PY" -c '
import json, sys
t = json.load(open(sys.argv[1]))
n = [e["name"] for e in t["traceEvents"] if e.get("cat") == "node"]
assert n.count("eval[flaky]") == 2 and n.count("train[model=large,seed=2]") == 1, n' "$X/trace.json"
expect_status 0 "verify: the bundle's SHA256SUMS name the instances' files" \
    "$DAGEXEC" verify "$(tail -n 1 "$T/static.stdout")"
check "... which are in it" grep -q ' static-[^ ]*/nodes/train\[model=small,seed=1\]/stdout.log$' "$X/SHA256SUMS"
expect_status 0 "show lists the instances" "$DAGEXEC" show "$(tail -n 1 "$T/static.stdout")"
grep_file "... with their status" '^eval\[slow\] *timed_out' "$T/out"
check "one gets the single instance's value by its mapped name" \
    grep -qx 'DAGEXEC_IN_TRAIN_MODEL_LARGE_SEED_2_LOSS=large-2' "$T/one.env"
check "... and its file" grep -q '^DAGEXEC_IN_TRAIN_MODEL_LARGE_SEED_2_LOSS_FILE=/' "$T/one.env"
check "... not the group's" test -z "$(grep '^DAGEXEC_IN_TRAIN_LOSS=' "$T/one.env")"
# the pool of 1 held across the instances: never two train at once
check "a pool caps the instances" "$PY" - "$X/events.log" <<'PY'
import sys
run = peak = 0
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) > 2 and "node=train[" in line:
        if f[1] == "start": run += 1
        elif f[1] == "end": run -= 1
        peak = max(peak, run)
sys.exit(0 if peak == 1 else 1)
PY

# === 2. a dynamic fan-out under run ==========================================
cat >dyn.yaml <<'Y'
name: dyn
max_parallel: 2
nodes:
  planner:
    run: |
      {
        echo 'tasks<<EOF'
        echo 'write the parser'
        echo
        echo 'z3'
        echo 'z3'
        echo 'tests'
        echo 'EOF'
        echo 'topic=parsers'
      } >> "$DAGEXEC_OUTPUT"
  agent:
    foreach: {from: planner, key: tasks}
    run: |
      if [ "$DAGEXEC_ITEM" = tests ]; then
        env | grep '^DAGEXEC_' | sort > "@T@/agent.env"
        cp "$DAGEXEC_IN_PLANNER_TASKS_FILE" "@T@/agent.tasks"
      fi
      # the first instances end last: the order is the instances', not the ends'
      case $DAGEXEC_ITEM in "write the parser") sleep 0.6 ;; z3) sleep 0.3 ;; esac
      echo "$DAGEXEC_NODE" >> "@T@/agent.runs"
      printf 'answer<<END\n%s: done\nsecond line\nEND\n' "$DAGEXEC_ITEM" >> "$DAGEXEC_OUTPUT"
  merge:
    needs: [agent]
    run: |
      printf '%s' "$DAGEXEC_IN_AGENT_ANSWER" > "@T@/merge.var"
      cp "$DAGEXEC_IN_AGENT_ANSWER_FILE" "@T@/merge.file"
Y
y dyn.yaml
expect_status 0 "validate: the dynamic DAG is valid, no warning" "$DAGEXEC" validate dyn.yaml
check "... and says nothing" test ! -s "$T/err"
runjob dyn dyn.yaml
check "a dynamic fan-out runs (exit $rc)" test "$rc" -eq 0
expect_state "4 instances: an empty line is no item" progress.total 6
expect_state "an id item names its instance" "nodes.agent[tests].status" succeeded
expect_state "a line that is no id shows its place" "nodes.agent[1].status" succeeded
expect_state "a repeated item shows its place" "nodes.agent[3].status" succeeded
check "every instance ran once" test "$(sort "$T/agent.runs" | tr '\n' ' ')" = \
    "agent[1] agent[2] agent[3] agent[tests] "
check "merge gets every answer, a line each, in instance order" test \
    "$(cat "$T/merge.var")" = "$(printf 'write the parser: done\nsecond line\nz3: done\nsecond line\nz3: done\nsecond line\ntests: done\nsecond line')"
check "the _FILE holds the same bytes" cmp -s "$T/merge.var" "$T/merge.file"
check "an instance has its item in \$DAGEXEC_ITEM" grep -qx 'DAGEXEC_ITEM=tests' "$T/agent.env"
check "... the need's other values" grep -qx 'DAGEXEC_IN_PLANNER_TOPIC=parsers' "$T/agent.env"
check "... the value of its items by file only" test \
    -z "$(grep '^DAGEXEC_IN_PLANNER_TASKS=' "$T/agent.env")" -a \
    "$(grep -c '' "$T/agent.tasks")" = 5
e=$(line_of "$X/events.log" ' expand node=agent count=4 ')
s=$(line_of "$X/events.log" ' start node=agent\[')
check "the expansion is journalled ($e) before the first instance starts ($s)" \
    test "$e" -gt 0 -a "$e" -lt "$s"
grep_file "the journal holds the items" \
    'expand node=agent count=4 items=write%20the%20parser%0Az3%0Az3%0Atests$' "$X/events.log"
check "the summary shows the instances in the foreach's place" \
    test "$(awk 'NR > 1 && $1 == "TOTAL" { exit } NR > 1 { print $1 }' "$X/summary.txt" | tr '\n' ' ')" = \
    "planner agent[1] agent[2] agent[3] agent[tests] merge "
check "state.yaml lists them there too" "$PY" -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
assert list(d["nodes"]) == ["planner", "agent[1]", "agent[2]", "agent[3]", "agent[tests]", "merge"], list(d["nodes"])
assert d["waves"][1]["nodes"] == ["agent[1]", "agent[2]", "agent[3]", "agent[tests]"]' "$S"
check "the bundle holds no values/" test ! -e "$X/values"
DYNB=$(tail -n 1 "$T/dyn.stdout")
expect_status 0 "graph --state of the run" "$DAGEXEC" graph --state "$DYNB"
grep_file "... draws the instances it had, coloured" \
    '^	"agent\[tests\]" \[fillcolor="#[0-9a-f]*", tooltip="succeeded"\];$' "$T/out"
grep_file "... and their edges" '^	"agent\[2\]" -> "merge";$' "$T/out"

# --- retry: the instances of a reused planner are reused ----------------------
rm -f "$T/agent.runs"
expect_status 0 "retry of the finished job" "$DAGEXEC" retry -o "$T/r1" "$DYNB"
grep_file "nothing runs again" "6 node(s) reused, 0 to run" "$T/err"
check "no instance ran" test ! -e "$T/agent.runs"
expect_status 0 "retry --from one instance" "$DAGEXEC" retry -o "$T/r2" --from 'agent[3]' "$DYNB"
check "only that instance ran" test "$(cat "$T/agent.runs" 2>/dev/null)" = "agent[3]"
unpack "$(bundle_of)" r2
expect_state "the others are reused" "nodes.agent[1].reused_from" "$(basename "$DYNB" .tar.gz)"
grep_file "the retry journals the expansion" ' expand node=agent count=4 ' "$X/events.log"
rm -f "$T/agent.runs"
expect_status 0 "retry --from the foreach" "$DAGEXEC" retry -o "$T/r3" --from agent "$DYNB"
check "every instance ran" test "$(sort "$T/agent.runs" | tr '\n' ' ')" = \
    "agent[1] agent[2] agent[3] agent[tests] "
expect_status 64 "retry --from an unknown instance" "$DAGEXEC" retry -o "$T/r4" --from 'agent[9]' "$DYNB"
grep_file "... says so" "unknown node 'agent\[9\]' in --from" "$T/err"

# --- run --target one instance of a list ---------------------------------------
expect_status 0 "run --target one instance" "$DAGEXEC" run -q -o "$T/tg" --target 'train[model=small,seed=1]' static.yaml
unpack "$(bundle_of)" tg
expect_state "... runs it and what it needs" progress.total 2

# === 3. zero items, a value not written, 10,001 items ========================
cat >zero.yaml <<'Y'
name: zero
nodes:
  planner:
    run: printf 'tasks<<EOF\n\n\nEOF\n' >> "$DAGEXEC_OUTPUT"
  agent:
    foreach: {from: planner, key: tasks}
    run: echo never >> "@T@/zero.runs"
  merge:
    needs: [agent]
    run: echo never >> "@T@/zero.runs"
  always:
    needs: [agent]
    when: always
    run: echo always >> "@T@/zero.runs"
  nokey:
    foreach: {from: planner, key: absent}
    run: echo never >> "@T@/zero.runs"
Y
y zero.yaml
expect_status 0 "validate: a key the need does not write is valid" "$DAGEXEC" validate zero.yaml
grep_file "... with a warning at its line and column" \
    "^zero.yaml:16:35: warning: node 'nokey' expands over value 'absent' of 'planner', which its command does not mention" "$T/err"
runjob zero zero.yaml
check "zero items: the DAG succeeds (exit $rc)" test "$rc" -eq 0
expect_state "the node is skipped" nodes.agent.status skipped
expect_state "... with reason empty" nodes.agent.reason empty
state_err=$(yget "$S" nodes.agent.error)
check "... and an error that says why ($state_err)" test "$state_err" = "no items: value 'tasks' of 'planner' is empty"
expect_state "a dependent follows its trigger rule: success is skipped" nodes.merge.status skipped
expect_state "... always runs" nodes.always.status succeeded
expect_state "a value never written: skipped, empty" nodes.nokey.reason empty
check "nothing of them ran" test "$(cat "$T/zero.runs")" = always
no_grep_file "no expansion is journalled" ' expand node=agent count=[1-9]' "$X/events.log"

cat >many.yaml <<'Y'
name: many
nodes:
  planner:
    run: seq 1 10001 | { echo 'n<<E'; cat; echo E; } >> "$DAGEXEC_OUTPUT"
  agent:
    foreach: {from: planner, key: n}
    run: echo never >> "@T@/many.runs"
Y
y many.yaml
runjob many many.yaml
check "10,001 items fail the DAG (exit $rc)" test "$rc" -eq 1
expect_state "the node failed" nodes.agent.status failed
state_err=$(yget "$S" nodes.agent.error)
check "its error names the limit ($state_err)" test \
    "$state_err" = "value 'n' of 'planner' has 10001 items: at most 10000 instances a node"
check "no instance ran" test ! -e "$T/many.runs"
no_grep_file "no expansion is journalled" ' expand node=agent' "$X/events.log"

# === 4. a 10,000-instance fan-in: no E2BIG ====================================
cat >big.yaml <<'Y'
name: big
nodes:
  planner:
    run: seq -f 'task-%05g' 1 10000 | { echo 'tasks<<E'; cat; echo E; } >> "$DAGEXEC_OUTPUT"
  agent:
    foreach: {from: planner, key: tasks}
    run: echo "answer=$DAGEXEC_ITEM done, with some words to make it long" >> "$DAGEXEC_OUTPUT"
  merge:
    needs: [agent, planner]
    run: |
      set -e
      [ -z "${DAGEXEC_IN_AGENT_ANSWER+set}" ] || { echo "the variable is set"; exit 1; }
      [ -z "${DAGEXEC_IN_PLANNER_TASKS+set}" ] || { echo "tasks is set"; exit 1; }
      cp "$DAGEXEC_IN_AGENT_ANSWER_FILE" "@T@/big.answers"
      cp "$DAGEXEC_IN_PLANNER_TASKS_FILE" "@T@/big.tasks"
Y
y big.yaml
runjob big -q big.yaml
check "a 10,000-instance fan-in succeeds (exit $rc)" test "$rc" -eq 0
expect_state "10,002 nodes" progress.succeeded 10002
check "the fan-in file holds 10,000 answers" test "$(grep -c '' "$T/big.answers")" -eq 10000
check "... in instance order" test "$(head -n 1 "$T/big.answers")" = \
    "task-00001 done, with some words to make it long" -a \
    "$(tail -n 1 "$T/big.answers")" = "task-10000 done, with some words to make it long"
check "... over 64 KiB, so by file only (merge checked the variable is unset)" \
    test "$(wc -c < "$T/big.answers")" -gt 65536
check "a single need's value over 64 KiB is by file only too" test "$(grep -c '' "$T/big.tasks")" -eq 10000

# === 5. under watch, and resume after kill -9 ================================
start_daemon() {
	"$DAGEXEC" watch -s "$SP" >>"$T/watch.log" 2>&1 &
	WPID=$!
	i=0
	while [ $i -lt 50 ] && [ "$(cat "$SP/lock" 2>/dev/null)" != "$WPID" ]; do
		sleep 0.1; i=$((i + 1))
	done
}
crash() {	# the daemon and the job's supervisor die together
	kill -KILL "$WPID" $(supervisor_pids) 2>/dev/null
	wait "$WPID" 2>/dev/null
	WPID=
}
# wait_file FILE: at most 30 s
wait_file() {
	i=0
	while [ $i -lt 300 ] && [ ! -e "$1" ]; do sleep 0.1; i=$((i + 1)); done
	[ -e "$1" ]
}
job_x() {	# job_x ID: the finished job unpacked, its directory in $X
	unpack "$SP/done/$1.tar.gz" "$1"
}

"$DAGEXEC" watch -s "$SP" --drain >>"$T/watch.log" 2>&1
rm -f "$T/agent.runs" "$T/merge.var"
id=$("$DAGEXEC" submit -s "$SP" dyn.yaml 2>"$T/err")
"$DAGEXEC" watch -s "$SP" --drain >>"$T/watch.log" 2>&1
check "under watch the dynamic DAG succeeds" test -f "$SP/done/$id.tar.gz"
job_x "$id"
expect_state "... every instance" "nodes.agent[tests].status" succeeded
check "... the answers reach merge" test "$(head -n 1 "$T/merge.var")" = "write the parser: done"
expect_status 0 "status JOB lists the instances" "$DAGEXEC" status -s "$SP" "$id"
grep_file "... by their ids" 'agent\[tests\]' "$T/out"

# kill -9 after the expansion: the same instances, the ended ones not again
cat >kill.yaml <<'Y'
name: killafter
max_parallel: 2
nodes:
  planner:
    run: |
      echo planner >> "@T@/ka.runs"
      printf 'tasks<<EOF\nfast\nslow1\nslow2\nEOF\n' >> "$DAGEXEC_OUTPUT"
  agent:
    foreach: {from: planner, key: tasks}
    run: |
      echo "$DAGEXEC_NODE" >> "@T@/ka.started"
      [ "$DAGEXEC_ITEM" = fast ] || while [ ! -e "@T@/ka.go" ]; do sleep 0.1; done
      echo "$DAGEXEC_NODE" >> "@T@/ka.runs"
      echo "answer=$DAGEXEC_ITEM" >> "$DAGEXEC_OUTPUT"
  merge:
    needs: [agent]
    run: printf '%s' "$DAGEXEC_IN_AGENT_ANSWER" > "@T@/ka.merge"
Y
y kill.yaml
start_daemon
id=$("$DAGEXEC" submit -s "$SP" kill.yaml 2>"$T/err")
# until an instance's end is journalled and the others run
i=0
until grep -q ' end node=agent\[fast\]' "$SP/active/$id/events.log" 2>/dev/null &&
    [ "$(grep -c slow "$T/ka.started" 2>/dev/null)" = 2 ]; do
	i=$((i + 1)); [ $i -lt 300 ] || break; sleep 0.1
done
check "the job expanded, an instance ended, two run: the kill" \
    test "$(grep -c slow "$T/ka.started" 2>/dev/null)" = 2
crash
touch "$T/ka.go"
"$DAGEXEC" watch -s "$SP" --drain >>"$T/watch.log" 2>&1
check "after the kill the job ends in done/" test -f "$SP/done/$id.tar.gz"
job_x "$id"
expect_state "it succeeded" status succeeded
check "the planner ran once" test "$(grep -c '^planner$' "$T/ka.runs")" -eq 1
check "the instance that ended ran once" test "$(grep -c 'agent\[fast\]' "$T/ka.runs")" -eq 1
check "the others ended once each" test "$(grep -c 'agent\[slow' "$T/ka.runs")" -eq 2
check "one expansion in the journal" test "$(grep -c ' expand node=agent ' "$X/events.log")" -eq 1
check "the same three instances" test "$(grep -o 'start node=agent[^ ]*' "$X/events.log" | sort -u | tr '\n' ' ')" = \
    "start node=agent[fast] start node=agent[slow1] start node=agent[slow2] "
check "merge got the three answers in order" test "$(cat "$T/ka.merge")" = "$(printf 'fast\nslow1\nslow2')"

# kill -9 before the expansion: it expands once the planner has run again
cat >killb.yaml <<'Y'
name: killbefore
nodes:
  planner:
    run: |
      echo planner >> "@T@/kb.started"
      while [ ! -e "@T@/kb.go" ]; do sleep 0.1; done
      printf 'tasks<<EOF\nx\ny\nEOF\n' >> "$DAGEXEC_OUTPUT"
  agent:
    foreach: {from: planner, key: tasks}
    run: echo "$DAGEXEC_NODE" >> "@T@/kb.runs"
Y
y killb.yaml
start_daemon
id=$("$DAGEXEC" submit -s "$SP" killb.yaml 2>"$T/err")
check "the planner started" wait_file "$T/kb.started"
crash
touch "$T/kb.go"
"$DAGEXEC" watch -s "$SP" --drain >>"$T/watch.log" 2>&1
check "after the kill the job ends in done/" test -f "$SP/done/$id.tar.gz"
job_x "$id"
expect_state "it succeeded" status succeeded
check "the planner ran again" test "$(grep -c planner "$T/kb.started")" -eq 2
check "each instance ran once" test "$(sort "$T/kb.runs" | tr '\n' ' ')" = "agent[x] agent[y] "
check "one expansion, after the planner's second start" test \
    "$(grep -c ' expand node=agent ' "$X/events.log")" -eq 1 -a \
    "$(line_of "$X/events.log" ' expand node=agent ')" -gt \
    "$(line_of "$X/events.log" ' start node=planner attempt=2 ')"

# === 6. the item is part of a cached instance's key ==========================
cat >c1.yaml <<'Y'
name: cached
defaults: {cache: true}
nodes:
  w:
    foreach: ["x y", b]
    run: echo "$DAGEXEC_ITEM" >> "@T@/cache.runs"
Y
y c1.yaml
sed 's/"x y"/"x z"/' c1.yaml >c2.yaml
# cached_run MANIFEST: what ran, sorted, one line
cached_run() {
	rm -f "$T/cache.runs"
	"$DAGEXEC" run -q --cache "$T/cache" -o "$T/co" "$1" >/dev/null 2>&1
	sort "$T/cache.runs" 2>/dev/null | tr '\n' '|'
}
check "a first run runs both instances" test "$(cached_run c1.yaml)" = "b|x y|"
check "a second run runs none: each is a hit" test -z "$(cached_run c1.yaml)"
check "an instance whose item changed runs again under the same id" \
    test "$(cached_run c2.yaml)" = "x z|"

# === 7. validation ===========================================================
cat >bad.yaml <<'Y'
name: bad
nodes:
  planner:
    run: echo
  a:
    foreach: []
    run: x
  b:
    foreach: {from: planer, key: tasks}
    run: x
Y
expect_status 65 "invalid foreach keys" "$DAGEXEC" validate bad.yaml
grep_file "an empty list at its line and column" "^bad.yaml:6:14: error: 'foreach' must not be empty" "$T/err"
grep_file "an unknown from, with a suggestion" "^bad.yaml:9:21: error: unknown node 'planer' in 'foreach.from' (did you mean 'planner'?)" "$T/err"
printf 'name: q\nnodes:\n  a:\n    foreach: [x]\n    run: x\n  c:\n    needs: [a[x]]\n    run: x\n' >quote.yaml
expect_status 65 "an unquoted instance id in needs" "$DAGEXEC" validate quote.yaml
grep_file "... says to quote it" "^quote.yaml:7:14: error: .*quote an instance id in a \[...\] list: \[\"a\[x\]\"\]" "$T/err"
cat >own.yaml <<'Y'
name: own
nodes:
  a:
    foreach: [x, y]
    needs: ["a[x]"]
    run: x
Y
expect_status 65 "a foreach needing its own instance" "$DAGEXEC" validate own.yaml
grep_file "... at its line and column" "^own.yaml:5:13: error: node 'a' needs 'a\[x\]', one of its own instances" "$T/err"
"$PY" -c '
print("name: long\nnodes:\n  a:\n    run: x\n    foreach:")
for k in "abc":
    print("      " + k * 64 + ": [" + "v" * 64 + "]")' >long.yaml
expect_status 65 "an instance id over 200 bytes" "$DAGEXEC" validate long.yaml
grep_file "... at the foreach key" "^long.yaml:5:5: error: instance id '.*' of node 'a' is longer than 200 bytes" "$T/err"
for ex in agent-fanout sweep; do
	expect_status 0 "examples/$ex.yaml is valid" "$DAGEXEC" validate "$TOP_SRCDIR/examples/$ex.yaml"
	check "... without a warning" test ! -s "$T/err"
done

finish
