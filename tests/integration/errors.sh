#!/bin/sh
# Errors a person can act on, with real runs: a failed node's last lines of
# stderr in run's failure line, state.yaml, summary.txt, show and status; a
# shell's "not found" (127) and "not executable" (126) as spawn_error, not
# retried; and the manifest's hints (other tools' keys, tabs, units, a
# misspelt need).
. "$TOP_SRCDIR/tests/integration/lib.sh"

SP="$T/spool"

# runjob NAME MANIFEST: run it; $rc, $X (the unpacked job), $S (state.yaml),
# $T/NAME.stderr (dagexec's progress lines)
runjob() {
	mkdir -p "$T/$1.out" "$T/$1.x"
	"$DAGEXEC" run -o "$T/$1.out" "$2" >"$T/$1.stdout" 2>"$T/$1.stderr"
	rc=$?
	b=$(tail -n 1 "$T/$1.stdout")
	tar xzf "$b" -C "$T/$1.x" 2>/dev/null
	X=$(ls -d "$T/$1.x"/*/ 2>/dev/null | head -n 1)
	X=${X%/}
	S="$X/state.yaml"
}

# ---- the last lines of stderr ----------------------------------------------

# Seven lines on stderr, a blank one, colour, a control byte, a tab; the
# last five that are not blank are kept.
cat >tail.yaml <<'Y'
name: tail
nodes:
  loud:
    run: |
      printf 'l1\nl2\n\n\033[31ml3 red\033[0m\nl4\001bell\nl5\ttab\n' >&2
      printf '\n  indented l6\nFATAL: the real reason\n' >&2
      exit 3
  after:
    needs: [loud]
    run: "true"
Y
runjob tail tail.yaml
check "a failed DAG exits 1" test "$rc" -eq 1
grep_file "run's failure line holds the error and the last 5 lines" \
    "^WARN tail-[^ ]*/loud failed exited with status 3; stderr: l3 red | l4\\\\\\\\x01bell | l5 tab | indented l6 | FATAL: the real reason\$" \
    "$T/tail.stderr"
no_grep_file "the first lines are not on it" "stderr: l1 |\\| l2 |" "$T/tail.stderr"
check "no raw control byte reaches dagexec's stderr" \
    sh -c "! LC_ALL=C grep -q '[[:cntrl:]]' '$T/tail.stderr'"
expect_state "state.yaml: the reason" nodes.loud.reason exit
expect_state "state.yaml: stderr_tail's first kept line, colour dropped" \
    nodes.loud.stderr_tail.0 "l3 red"
expect_state "state.yaml: a control byte escaped" nodes.loud.stderr_tail.1 \
    'l4\x01bell'
expect_state "state.yaml: a tab made a space" nodes.loud.stderr_tail.2 \
    "l5 tab"
expect_state "state.yaml: indentation kept" nodes.loud.stderr_tail.3 \
    "  indented l6"
expect_state "state.yaml: the last line" nodes.loud.stderr_tail.4 \
    "FATAL: the real reason"
check "state.yaml: 5 lines, no more" test "$("$PY" -c '
import sys, yaml
print(len(yaml.safe_load(open(sys.argv[1]))["nodes"]["loud"]["stderr_tail"]))
' "$S")" = 5
check "a node that did not fail has no stderr_tail" test "$("$PY" -c '
import sys, yaml
print("stderr_tail" in yaml.safe_load(open(sys.argv[1]))["nodes"]["after"])
' "$S")" = False
grep_file "summary.txt: the last line and the error in the column" \
    "^loud  *failed  *1 .*FATAL: the real reason (exited with status 3)\$" \
    "$X/summary.txt"
grep_file "summary.txt: the part under the totals" \
    "^errors and last lines of stderr:\$" "$X/summary.txt"
grep_file "summary.txt: the node, its status and error" \
    "^loud (failed): exited with status 3\$" "$X/summary.txt"
grep_file "summary.txt: its lines, indented" "^      indented l6\$" \
    "$X/summary.txt"
"$DAGEXEC" show "$b" >"$T/show.out" 2>&1
grep_file "show BUNDLE prints them" "FATAL: the real reason" "$T/show.out"

# A last line longer than the column: cut between two words, never in one.
cat >long.yaml <<'Y'
name: long
nodes:
  n:
    run: |
      echo "alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike november oscar papa quebec" >&2
      exit 1
Y
runjob long long.yaml
line=$(grep '^n  ' "$X/summary.txt")
col=$(printf '%s' "$line" | sed 's/.*  - *  //')
case $col in
*...) pass "summary.txt: the long error is cut ($col)" ;;
*) fail "summary.txt: the long error is not cut: '$col'" ;;
esac
kept=${col%...}
case "alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike november oscar papa quebec (exited with status 1)" in
"$kept "*) pass "summary.txt: cut at the end of a word" ;;
*) fail "summary.txt: cut in a word: '$kept'" ;;
esac
check "summary.txt: the line fits 132 columns" test "${#line}" -le 132
grep_file "summary.txt: the whole line under the totals" \
    "^    alpha bravo .* papa quebec\$" "$X/summary.txt"

# An error too long for the column, without stderr: whole under the totals.
cat >longerr.yaml <<'Y'
name: longerr
nodes:
  a-node-with-a-long-id:
    argv: [/nonexistent/directory/with/a/long/name/no-such-program-anywhere]
Y
runjob longerr longerr.yaml
grep_file "summary.txt: the column cut" \
    "^a-node-with-a-long-id  *failed .*cannot start node.*\.\.\.\$" "$X/summary.txt"
grep_file "summary.txt: the error whole under the totals" \
    "^a-node-with-a-long-id (failed): cannot start node 'a-node-with-a-long-id': .*no-such-program-anywhere': No such file or directory\$" \
    "$X/summary.txt"

# ---- 127 and 126 of the shell -------------------------------------------------

printf 'echo hi\n' >"$T/noexec.sh"
chmod 644 "$T/noexec.sh"
cat >"$T/late.sh" <<'S'
#!/bin/sh
echo "working for a while" >&2
sleep 0.3
no-such-tool-at-the-end --now
S
chmod 755 "$T/late.sh"
cat >spawn.yaml <<Y
name: spawn
on_failure: continue
defaults: {retry_delay: 10ms}
nodes:
  missing: {run: "pythn3-no-such -c 'print(1)'", retries: 3}
  noexec: {run: "$T/noexec.sh x", retries: 2}
  late: {run: "$T/late.sh", retries: 2}
  itself: {run: "echo giving up >&2; exit 127", retries: 1}
  asked: {run: "no-such-cmd-either", retries: 1, retry_on: [spawn_error]}
Y
runjob spawn spawn.yaml
expect_state "not found: spawn_error" nodes.missing.reason spawn_error
expect_state "not found: its error" nodes.missing.error "command not found"
expect_state "not found: not retried (default retry_on)" \
    nodes.missing.attempts 1
expect_state "not found: the shell's line kept" nodes.missing.stderr_tail.0 \
    "sh: 1: pythn3-no-such: not found"
grep_file "not found: on the failure line" \
    "/missing failed command not found; stderr: sh: 1: pythn3-no-such: not found\$" \
    "$T/spawn.stderr"
expect_state "not executable: spawn_error" nodes.noexec.reason spawn_error
expect_state "not executable: its error" nodes.noexec.error "not executable"
expect_state "not executable: not retried" nodes.noexec.attempts 1
expect_state "a script's last command missing after a while: spawn_error" \
    nodes.late.reason spawn_error
expect_state "... not retried" nodes.late.attempts 1
state_last=$(yget "$S" nodes.late.stderr_tail.1)
case $state_last in
*"no-such-tool-at-the-end: not found") pass "... its line names the command" ;;
*) fail "... its last line is '$state_last'" ;;
esac
expect_state "exit 127 of the command itself: exit" nodes.itself.reason exit
expect_state "... retried as usual" nodes.itself.attempts 2
expect_state "spawn_error named in retry_on: retried" nodes.asked.attempts 2
expect_state "... and still spawn_error" nodes.asked.reason spawn_error

# ---- the same through the spool: status JOB --------------------------------

"$DAGEXEC" watch -s "$SP" --drain >"$T/drain0.log" 2>&1
id=$("$DAGEXEC" submit -s "$SP" tail.yaml)
"$DAGEXEC" watch -s "$SP" --drain >"$T/drain.log" 2>&1
check "the job ran under watch" test -f "$SP/done/$id.tar.gz"
grep_file "watch's log has the failure line with the lines" \
    "/loud failed exited with status 3; stderr: .* | FATAL: the real reason\$" \
    "$T/drain.log"
"$DAGEXEC" status -s "$SP" "$id" >"$T/status.out" 2>&1
grep_file "status JOB: the error and the last lines" \
    "^loud  *failed  *1 .* exited with status 3; stderr: l3 red | .* | FATAL: the real reason\$" \
    "$T/status.out"
grep_file "status JOB: the node that was skipped" "^after  *skipped" \
    "$T/status.out"

# ---- hints in the manifest's errors -------------------------------------------

cat >foreign.yaml <<'Y'
name: foreign
steps: {}
nodes:
  fetch-data:
    command: ./fetch.sh
  train:
    run: ./train.sh
    depends_on: [fetch-data]
    retry: 2
  report:
    cmd: ./report.sh
    dependencies: [train]
Y
expect_status 65 "other tools' keys are errors" "$DAGEXEC" validate foreign.yaml
grep_file "steps -> nodes" \
    "^foreign.yaml:2:1: error: unknown key 'steps' (did you mean 'nodes'?)" "$T/err"
grep_file "command -> run" \
    "^foreign.yaml:5:5: error: unknown key 'command' (did you mean 'run'?)" "$T/err"
grep_file "depends_on -> needs" \
    "^foreign.yaml:8:5: error: unknown key 'depends_on' (did you mean 'needs'?)" "$T/err"
grep_file "retry -> retries" \
    "^foreign.yaml:9:5: error: unknown key 'retry' (did you mean 'retries'?)" "$T/err"
grep_file "cmd -> run" \
    "^foreign.yaml:11:5: error: unknown key 'cmd' (did you mean 'run'?)" "$T/err"
grep_file "dependencies -> needs" \
    "^foreign.yaml:12:5: error: unknown key 'dependencies' (did you mean 'needs'?)" "$T/err"

printf 'name: tabs\nnodes:\n  a:\n\trun: "true"\n' >tabs.yaml
expect_status 65 "a tab" "$DAGEXEC" validate tabs.yaml
grep_file "a tab is named as one" \
    "^tabs.yaml:4:1: error: a tab at 4:1: YAML indents with spaces" "$T/err"
no_grep_file "not libyaml's words" "cannot start any token" "$T/err"

cat >units.yaml <<'Y'
name: units
nodes:
  a:
    run: "true"
    timeout: 10 minutes
    log_limit: 10 MB
    retry_delay: soon
Y
expect_status 65 "durations and sizes in words" "$DAGEXEC" validate units.yaml
grep_file "a duration: the form meant and the units" \
    "^units.yaml:5:14: error: invalid duration '10 minutes' for 'timeout': not a duration (did you mean '10m'? units: ms, s, m, h, d" "$T/err"
grep_file "a size: the form meant and the units" \
    "^units.yaml:6:16: error: invalid size '10 MB' for 'log_limit': not a size (did you mean '10M'? units: K, M, G, T" "$T/err"
grep_file "no form meant: the units alone" \
    "^units.yaml:7:18: error: invalid duration 'soon' for 'retry_delay': not a duration (units: ms, s, m, h, d" "$T/err"

cat >needs.yaml <<'Y'
name: needs
nodes:
  fetch-data: {run: "true"}
  train: {run: "true", needs: [fetch_data]}
Y
expect_status 65 "a misspelt need" "$DAGEXEC" validate needs.yaml
grep_file "a need close to a node: did you mean" \
    "^needs.yaml:4:32: error: node 'train' needs unknown node 'fetch_data' (did you mean 'fetch-data'?)" "$T/err"
expect_status 65 "submit says the same" "$DAGEXEC" submit -s "$SP" needs.yaml
grep_file "submit: did you mean" "(did you mean 'fetch-data'?)" "$T/err"

finish
