#!/bin/sh
# dagexec plan: predictions, their JSON and SVG, learned durations, --retry,
# bad input; and a prediction against a real run of the same random DAG.
. "$TOP_SRCDIR/tests/integration/lib.sh"

# jcheck DESCRIPTION PYTHON-EXPRESSION: true of the JSON in $T/out (as j)
jcheck() {
	if python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$T/out" "$2" 2>"$T/py.err"; then
		pass "$1"
	else
		fail "$1: not true of the JSON: $2"
		sed 's/^/  | /' "$T/out" "$T/py.err" | head -30
	fi
}

# --- usage and bad input ---------------------------------------------------
cat >fan.yaml <<'Y'
name: fan
nodes:
  a: {run: "true", estimate: 2s}
  b: {run: "true", estimate: 2s}
  c: {run: "true", estimate: 2s}
  d: {run: "true", estimate: 2s}
  join: {run: "true", estimate: 500ms, needs: [a, b, c, d]}
Y
expect_status 0 "plan --help" "$DAGEXEC" plan --help
grep_file "plan --help shows its usage" "^usage: dagexec plan" "$T/out"
expect_status 0 "--help lists plan" "$DAGEXEC" --help
grep_file "the command list has plan" "^  plan " "$T/out"
expect_status 64 "plan with an unknown option" "$DAGEXEC" plan --no-such-option fan.yaml
expect_status 64 "plan without a manifest" "$DAGEXEC" plan
expect_status 64 "plan with two manifests" "$DAGEXEC" plan fan.yaml fan.yaml
for j in 0 abc 1,,2 2, -3 1000001; do
	expect_status 64 "plan -j $j" "$DAGEXEC" plan -j "$j" fan.yaml
done
expect_status 66 "plan of a missing manifest" "$DAGEXEC" plan missing.yaml
grep_file "the missing manifest is named" "cannot open 'missing.yaml'" "$T/err"

cat >bad.yaml <<'Y'
name: bad
nodes:
  a: {run: "true", needs: [c]}
  b: {run: "true", retires: 2}
  c: {run: "true", needs: [a]}
Y
"$DAGEXEC" validate bad.yaml >/dev/null 2>"$T/validate.err"
expect_status 65 "plan of an invalid manifest" "$DAGEXEC" plan bad.yaml
check "plan prints validate's diagnostics" cmp -s "$T/err" "$T/validate.err"
check "plan of an invalid manifest prints nothing on stdout" test ! -s "$T/out"

# --- text and JSON -------------------------------------------------------
expect_status 0 "plan -j 2" "$DAGEXEC" plan -j 2 fan.yaml
grep_file "the makespan at -j 2" "^predicted makespan: 4s500ms (4500 ms)$" "$T/out"
grep_file "the critical path is listed" "^critical path: 3 nodes$" "$T/out"
grep_file "a node of the critical path with its start and time" "^  join .* 4s  *500ms  estimate$" "$T/out"
grep_file "no node lacks an estimate" "^nodes without an estimate or a history: 0 of 5" "$T/out"

expect_status 0 "plan -j 1,2,4,8 --json" "$DAGEXEC" plan -j 1,2,4,8 --json fan.yaml
jcheck "one object per -j value, in order" '[o["parallelism"] for o in j] == [1, 2, 4, 8]'
jcheck "the makespans" '[o["makespan_ms"] for o in j] == [8500, 4500, 2500, 2500]'
jcheck "a fan-out of 4 at -j 2 takes twice one node" 'j[1]["makespan_ms"] - 500 == 2 * (j[2]["makespan_ms"] - 500)'
jcheck "every node has its times" 'all(set(o["nodes"]) == {"a", "b", "c", "d", "join"} for o in j)'
jcheck "join starts when the last need ends" 'all(o["nodes"]["join"]["start_ms"] == max(o["nodes"][x]["end_ms"] for x in "abcd") for o in j)'
jcheck "the critical path ends with join" 'all(o["critical_path"][-1] == "join" for o in j)'
jcheck "the critical path at -j 4 is one need and join" 'j[2]["critical_path"] == ["a", "join"]'
jcheck "no unknown estimate" 'all(o["unknown_estimates"] == 0 for o in j)'
jcheck "times are integers" 'all(isinstance(v, int) for o in j for n in o["nodes"].values() for v in n.values())'

cat >capped.yaml <<'Y'
name: capped
max_parallel: 2
pools: {one: 1}
nodes:
  a: {run: "true"}
  b: {run: "true"}
  c: {run: "true"}
  d: {run: "true"}
  p1: {run: "true", estimate: 3s, pool: one, priority: 5}
  p2: {run: "true", estimate: 3s, pool: one, priority: 5}
Y
expect_status 0 "plan --json of a capped manifest, default -j" "$DAGEXEC" plan --json capped.yaml
jcheck "default -j: powers of two up to max_parallel" '[o["parallelism"] for o in j] == [1, 2]'
jcheck "4 unknown estimates counted" 'all(o["unknown_estimates"] == 4 for o in j)'
jcheck "the pool runs p1 and p2 one after the other" 'j[1]["nodes"]["p2"]["start_ms"] == j[1]["nodes"]["p1"]["end_ms"] == 3000'
expect_status 0 "plan -j 8 of a manifest with max_parallel 2" "$DAGEXEC" plan -j 8,2 --json capped.yaml
jcheck "max_parallel caps -j 8" 'j[0]["makespan_ms"] == j[1]["makespan_ms"] == 6000'

# --- the SVG ---------------------------------------------------------------
expect_status 0 "plan --svg" "$DAGEXEC" plan -j 2 --svg "$T/fan.svg" fan.yaml
check "the SVG is written" test -s "$T/fan.svg"
check "the SVG is well-formed XML" python3 -c 'import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
sys.exit(0 if r.tag == "{http://www.w3.org/2000/svg}svg" else 1)' "$T/fan.svg"
grep_file "the SVG has one bar a node" 'join attempt 1/1' "$T/fan.svg"
expect_status 73 "plan --svg into a missing directory" "$DAGEXEC" plan --svg "$T/no/such/dir/x.svg" fan.yaml

# --- learned durations -----------------------------------------------------
cat >learn.yaml <<'Y'
name: learn
max_parallel: 2
nodes:
  slow: {run: "sleep 0.6"}
  quick: {run: "sleep 0.1"}
  after: {run: "sleep 0.2", needs: [slow]}
Y
expect_status 0 "plan before any run" "$DAGEXEC" plan -j 2 --json learn.yaml
jcheck "before any run, all three are unknown" 'j[0]["unknown_estimates"] == 3'
expect_status 0 "run learns" "$DAGEXEC" run -q -o "$T" learn.yaml
H=$XDG_STATE_HOME/dagexec/history
check "run wrote its history at \$XDG_STATE_HOME/dagexec/history/NAME" test -s "$H/learn"
check "the history is private" test "$(stat -c %a "$H/learn")" = 600
grep_file "the history has history.c's format" '^  slow: {mean_ms: [0-9]*, runs: 1}$' "$H/learn"
expect_status 0 "plan after a run" "$DAGEXEC" plan -j 2 --json learn.yaml
jcheck "after a run, nothing is unknown" 'j[0]["unknown_estimates"] == 0'
jcheck "the learned makespan is near 0.8 s" '700 <= j[0]["makespan_ms"] <= 1600'
jcheck "the critical path is slow, after" 'j[0]["critical_path"] == ["slow", "after"]'
# ids a YAML reader would take for something else unless quoted: PyYAML,
# a reader independent of ours, reads each back as the id, twice run
cat >odd.yaml <<'Y'
name: odd
nodes:
  "null": {run: "sleep 0.02"}
  "true": {run: "sleep 0.02"}
  "1.5": {run: "sleep 0.02"}
  "0x1F": {run: "sleep 0.02"}
  "-x": {run: "sleep 0.02"}
Y
expect_status 0 "run of odd ids" "$DAGEXEC" run -q -o "$T" odd.yaml
expect_status 0 "and again" "$DAGEXEC" run -q -o "$T" odd.yaml
check "PyYAML reads the history back: each id a string, run twice" python3 -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
ids = ["null", "true", "1.5", "0x1F", "-x"]
sys.exit(0 if d["dag"] == "odd" and sorted(d["nodes"]) == sorted(ids) and
    all(d["nodes"][i]["runs"] == 2 for i in ids) else 1)' "$H/odd"
expect_status 0 "plan reads it back: nothing unknown" "$DAGEXEC" plan --json odd.yaml
jcheck "plan reads it back: nothing unknown" 'j[0]["unknown_estimates"] == 0'
mkdir -p "$T/hist2"
printf 'dag: learn\nnodes:\n  slow: {mean_ms: 10000, runs: 3}\n' >"$T/hist2/learn.yaml"
expect_status 0 "plan --history DIR (watch's NAME.yaml)" "$DAGEXEC" plan -j 2 --json --history "$T/hist2" learn.yaml
jcheck "--history DIR is read instead" 'j[0]["nodes"]["slow"]["end_ms"] == 10000 and j[0]["unknown_estimates"] == 2'
expect_status 0 "plan --history of a missing directory" "$DAGEXEC" plan --history "$T/nohist" learn.yaml
grep_file "a missing history directory is a warning" "warning: cannot use the history directory" "$T/err"
printf 'nodes: [not, a, history]\n' >"$T/hist2/learn"
expect_status 0 "plan with an unreadable history" "$DAGEXEC" plan --history "$T/hist2" learn.yaml
grep_file "an unreadable history is a warning" "warning: .*not a history file" "$T/err"
grep_file "and the plan goes on" "^nodes without an estimate or a history: 3 of 3" "$T/out"
expect_status 0 "run whose history cannot be written" \
    env XDG_STATE_HOME="$T/fan.yaml" "$DAGEXEC" run -q -o "$T" learn.yaml
grep_file "a history that cannot be written is a warning" "warning: cannot update the history" "$T/err"

# --- --retry ---------------------------------------------------------------
cat >retry.yaml <<'Y'
name: retry
max_parallel: 2
nodes:
  a: {run: "true", estimate: 2s}
  b: {run: "exit 1", estimate: 1s, needs: [a]}
  c: {run: "true", estimate: 3s, needs: [b]}
  d: {run: "true", estimate: 1s}
  e: {run: "true", estimate: 5s, needs: [d]}
Y
mkdir -p "$T/rb"
"$DAGEXEC" run -q --keep -o "$T/rb" retry.yaml >"$T/rb.out" 2>/dev/null
rbundle=$(tail -n 1 "$T/rb.out")
check "the run to retry failed and left a bundle" test -f "$rbundle"
expect_status 0 "plan without --retry" "$DAGEXEC" plan -j 2 --json retry.yaml
jcheck "the whole run" 'j[0]["makespan_ms"] == 6000'
expect_status 0 "plan --retry BUNDLE" "$DAGEXEC" plan -j 2 --json --retry "$rbundle" retry.yaml
jcheck "succeeded nodes take no time" 'all(j[0]["nodes"][x] == {"start_ms": 0, "end_ms": 0} for x in "ade")'
jcheck "what failed runs again" 'j[0]["nodes"]["b"] == {"start_ms": 0, "end_ms": 1000} and j[0]["makespan_ms"] == 4000'
expect_status 0 "plan --retry of a kept job directory" "$DAGEXEC" plan -j 2 --json --retry "${rbundle%.tar.gz}" retry.yaml
jcheck "a job directory reads the same" 'j[0]["makespan_ms"] == 4000'
expect_status 0 "plan --retry, text" "$DAGEXEC" plan -j 2 --retry "$rbundle" retry.yaml
grep_file "the text counts the reused nodes" "^nodes reused by a retry: 3 of 5$" "$T/out"
expect_status 65 "plan --retry of a file that is not a bundle" "$DAGEXEC" plan --retry retry.yaml retry.yaml
expect_status 66 "plan --retry of a missing bundle" "$DAGEXEC" plan --retry "$T/none.tar.gz" retry.yaml

# --- prediction against a real run ----------------------------------------
# A random DAG (the seed is printed) whose nodes sleep their estimate: the
# run's makespan over the prediction must be near 1 (process start-up and a
# loaded machine make the run slower, never much faster).
seed=${PLAN_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
echo "# random DAG seed $seed (PLAN_SEED=$seed to repeat)"
python3 - "$seed" >rnd.yaml <<'PY'
import random, sys
r = random.Random(int(sys.argv[1]))
n = 10
print("name: rnd\nmax_parallel: 3\npools: {p: 1}\nnodes:")
for i in range(n):
    ms = r.randrange(150, 700, 10)
    needs = [f"n{j}" for j in range(i) if r.random() < 0.25]
    pool = ", pool: p" if r.random() < 0.2 else ""
    prio = r.choice([-1, 0, 0, 1])
    print(f"  n{i}: {{run: \"sleep {ms / 1000}\", estimate: {ms}ms, "
          f"priority: {prio}{pool}, needs: [{', '.join(needs)}]}}")
PY
expect_status 0 "plan of the random DAG" "$DAGEXEC" plan -j 3 --json rnd.yaml
cp "$T/out" "$T/rnd.json"
mkdir -p "$T/rr"
expect_status 0 "the random DAG runs" "$DAGEXEC" run -q --keep -o "$T/rr" rnd.yaml
S=$(ls "$T"/rr/rnd-*/state.yaml | head -n 1)
python3 - "$T/rnd.json" "$S" >"$T/ratio" 2>&1 <<'PY'
import json, re, sys
pred = json.load(open(sys.argv[1]))[0]["makespan_ms"]
real = None
for line in open(sys.argv[2]):
    m = re.match(r"^duration_ms: (\d+)", line)
    if m:
        real = int(m.group(1))
print(f"predicted {pred} ms, ran {real} ms, ratio {real / pred:.3f}")
sys.exit(0 if 0.85 <= real / pred <= 1.6 else 1)
PY
st=$?
sed 's/^/# /' "$T/ratio"
check "the run takes what plan predicted (0.85 to 1.6 times)" test "$st" -eq 0

finish
