#!/bin/sh
# The node cache end to end: a second run runs nothing and restores outputs
# and values, a changed input reruns only what it affects, early cut-off,
# --no-cache, max_age, a damaged entry, a success on a second attempt,
# retry --from, $DAGEXEC_CACHE, and dagexec cache list|gc|clear.
. "$TOP_SRCDIR/tests/integration/lib.sh"

C="$T/cache"
W="$T/w"
mkdir -p "$T/o" "$W/in"
printf 'data\nmore\n' >"$W/in/data.txt"
cat >dag.yaml <<Y
name: ca
workdir: $W
defaults: {cache: true}
nodes:
  prep:
    run: 'echo prep >> $T/runs; head -n 1 in/data.txt > prep.txt; echo rows=3 >> "\$DAGEXEC_OUTPUT"; echo tokens=7 >> "\$DAGEXEC_METRICS"'
    outputs: [prep.txt]
    cache: {inputs: ["in/*.txt"]}
  fit:
    needs: [prep]
    run: 'echo fit >> $T/runs; cat prep.txt > model.txt; echo "\$DAGEXEC_IN_PREP_ROWS" >> model.txt; echo score=9 >> "\$DAGEXEC_OUTPUT"'
    outputs: [model.txt]
  report:
    needs: [fit]
    run: 'echo report >> $T/runs; cat model.txt > report.txt'
    outputs: [report.txt]
  use:
    needs: [fit]
    cache: false
    run: 'echo use >> $T/runs; echo "score=\$DAGEXEC_IN_FIT_SCORE rows=\$(tail -n 1 model.txt)" > use.txt'
  other:
    run: 'echo other >> $T/runs'
    cache: {inputs: [other.txt]}
Y

# --- a first run stores, a second runs nothing that is cached ---------------
expect_status 0 "a first run" "$DAGEXEC" run -q --cache "$C" -o "$T/o" dag.yaml
got=$(runs)
check "every node ran ($got)" test "$got" = "fit other prep report use"
grep_file "an input that matches nothing is warned about" "input 'other.txt' matches nothing" "$T/err"
rm -f "$W/prep.txt" "$W/model.txt" "$W/report.txt" "$W/use.txt"
expect_status 0 "a second run" "$DAGEXEC" run -q --cache "$C" -o "$T/o" dag.yaml
got=$(runs)
check "only the uncached node ran ($got)" test "$got" = "use"
check "outputs are restored into the work directory" test -f "$W/report.txt" -a -f "$W/model.txt"
check "a restored output has its bytes" test "$(cat "$W/report.txt")" = "$(printf 'data\n3')"
check "values reach a dependent of a hit ($(cat "$W/use.txt"))" test "$(cat "$W/use.txt")" = "score=9 rows=3"
unpack "$(bundle_of)" second
expect_state "a hit is succeeded" nodes.fit.status succeeded
expect_state "a hit is cached" nodes.fit.cached True
expect_state "a hit has no attempt" nodes.fit.attempts 0
expect_state "a node that ran is not cached" nodes.use.attempts 1
expect_state "a hit's metrics are saved, per node" nodes.prep.saved.tokens 7
expect_state "a hit's metrics are saved, for the DAG" saved.tokens 7
expect_state "a hit's metrics are not added" nodes.prep.metrics "{}"
check "the bundle holds a hit's outputs" test -f "$X/outputs/report/report.txt"
grep_file "the journal records the hit" "^[0-9]* cache node=fit key=" "$X/events.log"
grep_file "the summary says cached" "^fit  *cached" "$X/summary.txt"
grep_file "a hit has no attempts or time in the summary" "^fit  *cached  *-  *-  *-  *-" "$X/summary.txt"
grep_file "the summary gives what the hits saved" "^saved by cache hits: tokens=7$" "$X/summary.txt"
no_grep_file "a hit is no bar in the timeline" "<title>fit attempt" "$X/timeline.svg"
grep_file "but a mark of its own" '<path class="unrun cached".*<title>fit: succeeded without running here (cached)' "$X/timeline.svg"
grep_file "a node that ran is a bar" "<title>use attempt 1/1" "$X/timeline.svg"
# status reads a spool's done/ bundles: a spool of this one bundle
J=$(yget "$S" job)
HB=$(bundle_of)
mkdir -p "$T/sp/incoming" "$T/sp/done"
cp "$HB" "$T/sp/done/"
expect_status 0 "status of a job with hits" "$DAGEXEC" status -s "$T/sp" "$J"
grep_file "status shows a hit as cached, with what it saved" "^prep  *cached  *-  *-  saved tokens=7$" "$T/out"
grep_file "status shows a node that ran as it ran" "^use  *succeeded  *1 " "$T/out"
grep_file "status gives the DAG's savings last" "^saved: tokens=7$" "$T/out"
expect_status 0 "show a hit's logs" "$DAGEXEC" show "$HB" fit
grep_file "show says a hit did not run" "node 'fit' did not run in this job: it is a cache hit" "$T/err"
expect_status 0 "show the bundle" "$DAGEXEC" show "$HB"
grep_file "show prints the savings" "^saved by cache hits: tokens=7$" "$T/out"

# --- a changed input reruns what it affects; early cut-off ------------------
printf 'DATA\nmore\n' >"$W/in/data.txt"
expect_status 0 "a run after an input changed" "$DAGEXEC" run -q --cache "$C" -o "$T/o" dag.yaml
got=$(runs)
check "the input's node and what its output feeds ran ($got)" test "$got" = "fit prep report use"
printf 'DATA\nother second line\n' >"$W/in/data.txt"
expect_status 0 "a run where a need makes the same bytes again" "$DAGEXEC" run -q --cache "$C" -o "$T/o" dag.yaml
got=$(runs)
check "early cut-off: only the need ran, its dependents are hits ($got)" test "$got" = "prep use"

# --- --no-cache ----------------------------------------------------------------
expect_status 0 "--no-cache" "$DAGEXEC" run -q --no-cache --cache "$C" -o "$T/o" dag.yaml
got=$(runs)
check "--no-cache runs every node ($got)" test "$got" = "fit other prep report use"

# --- a damaged entry is a miss, with a warning ---------------------------------
for f in $(find "$C" -path '*/outputs/model.txt'); do echo damaged >"$f"; done
expect_status 0 "a run over a damaged entry" "$DAGEXEC" run -q --cache "$C" -o "$T/o" dag.yaml
got=$(runs)
check "the damaged entry's node ran, its dependent is still a hit ($got)" test "$got" = "fit use"
grep_file "the damaged entry is warned about" "WARN .*/fit cache entry .* is unusable: its outputs do not match" "$T/err"
expect_status 0 "the next run" "$DAGEXEC" run -q --cache "$C" -o "$T/o" dag.yaml
got=$(runs)
check "the entry was stored again ($got)" test "$got" = "use"

# --- retry --from ignores the cache for the nodes it names ---------------------
B=$(bundle_of)
expect_status 0 "retry --from a cached node" "$DAGEXEC" retry -q --cache "$C" -o "$T/o" --from fit "$B"
got=$(runs)
check "the named node ran, its cached dependent is a hit ($got)" test "$got" = "fit use"

# --- $DAGEXEC_CACHE; a success on a second attempt is stored ---------------
cat >flaky.yaml <<Y
name: fl
nodes:
  flaky:
    cache: true
    retries: 1
    retry_delay: 100ms
    run: 'echo flaky >> $T/runs; echo tokens=2 >> "\$DAGEXEC_METRICS"; test "\$DAGEXEC_ATTEMPT" -ge 2'
Y
expect_status 0 "a node that succeeds on its second attempt" env DAGEXEC_CACHE="$T/c2" "$DAGEXEC" run -q -o "$T/o" flaky.yaml
got=$(runs)
check "it ran twice ($got)" test "$got" = "flaky flaky"
check "\$DAGEXEC_CACHE is the store" test -d "$T/c2/tmp"
expect_status 0 "its second run" env DAGEXEC_CACHE="$T/c2" "$DAGEXEC" run -q -o "$T/o" flaky.yaml
got=$(runs)
check "it is a hit ($got)" test "$got" = ""
unpack "$(bundle_of)" flaky
expect_state "saved counts both attempts" nodes.flaky.saved.tokens 4

# --- max_age ----------------------------------------------------------------------
cat >aged.yaml <<Y
name: ag
nodes:
  aged:
    cache: {max_age: 1s}
    run: 'echo aged >> $T/runs'
Y
"$DAGEXEC" run -q --cache "$C" -o "$T/o" aged.yaml >/dev/null 2>&1
"$DAGEXEC" run -q --cache "$C" -o "$T/o" aged.yaml >/dev/null 2>&1
got=$(runs)
check "within max_age: a hit ($got)" test "$got" = "aged"
sleep 1.2
"$DAGEXEC" run -q --cache "$C" -o "$T/o" aged.yaml >/dev/null 2>&1
got=$(runs)
check "past max_age: the node runs ($got)" test "$got" = "aged"

# --- dagexec cache list|gc|clear ---------------------------------------------
expect_status 0 "cache list" "$DAGEXEC" cache list --cache "$C"
grep_file "list names an entry's node" " ca  *fit$" "$T/out"
grep_file "list counts the entries" "^[0-9][0-9]* entries" "$T/err"
n=$(grep -c ' ca  ' "$T/out")
expect_status 0 "cache gc --older-than 1h" "$DAGEXEC" cache gc --cache "$C" --older-than 1h
"$DAGEXEC" cache list --cache "$C" >"$T/list" 2>/dev/null
grep_file "recent entries stay" " ca  *report$" "$T/list"
n=$(grep -c ' ca  ' "$T/list")
for f in $(find "$C" -path '*/outputs/report.txt'); do echo damaged >"$f"; done
mkdir -p "$C/tmp/leftover"
touch -d '2 hours ago' "$C/tmp/leftover"
expect_status 0 "cache gc" "$DAGEXEC" cache gc --cache "$C"
"$DAGEXEC" cache list --cache "$C" >"$T/list" 2>/dev/null
check "gc removed the damaged entries" test "$(grep -c ' ca  ' "$T/list")" -lt "$n"
no_grep_file "nothing damaged is left" "(damaged)" "$T/list"
check "gc removed a stale leftover" test ! -e "$C/tmp/leftover"
expect_status 0 "cache gc --max-size 0" "$DAGEXEC" cache gc --cache "$C" --max-size 0
"$DAGEXEC" cache list --cache "$C" >"$T/list" 2>/dev/null
no_grep_file "the size bound removed every entry with outputs" " ca  *fit$" "$T/list"
expect_status 0 "cache clear" "$DAGEXEC" cache clear --cache "$C"
"$DAGEXEC" cache list --cache "$C" >/dev/null 2>"$T/err"
grep_file "clear leaves nothing" "^0 entries" "$T/err"
expect_status 64 "cache with an unknown command" "$DAGEXEC" cache nosuch
expect_status 64 "cache list --max-size" "$DAGEXEC" cache list --max-size 1G
expect_status 64 "a bad size" "$DAGEXEC" cache gc --max-size lots
expect_status 0 "cache --help" "$DAGEXEC" cache --help
grep_file "cache --help shows its usage" "^usage: dagexec cache list" "$T/out"

# --- runs at once over one store -----------------------------------------------
# Two runs together miss, run and store every key: the second rename onto an
# entry is someone else's store, not an error, and the entry stays as the
# first made it. A third, a little later, looks keys up while the others
# store them: it sees a whole entry or none. The leaves' outputs differ from
# run to run (the pid, random bytes), so that an entry read half from one
# store and half from another would fail its checksums; the others' are
# the same bytes, so that all runs have the same keys: six.
cat >race.yaml <<Y
name: race
defaults: {cache: true}
nodes:
  a: {run: 'echo a > a.txt; echo v=1 >> "\$DAGEXEC_OUTPUT"', outputs: [a.txt]}
  b: {run: 'echo b > b.txt', outputs: [b.txt]}
  c: {needs: [a], run: 'sleep 0.05; cat a.txt > c.txt', outputs: [c.txt]}
  d: {needs: [a, b], run: 'sleep 0.1; cat a.txt b.txt > d.txt', outputs: [d.txt]}
  e: {needs: [c, d], run: 'head -c 100000 /dev/urandom > e.txt; echo v=\$\$ >> "\$DAGEXEC_OUTPUT"', outputs: [e.txt]}
  f: {needs: [b], run: 'head -c 100000 /dev/urandom > f.txt', outputs: [f.txt]}
Y
mkdir -p "$T/o1" "$T/o2" "$T/o3"
RC="$T/race-cache"
ok=0
for round in 1 2 3; do
	rm -rf "$RC"
	for k in 1 2 3; do
		[ $k -eq 3 ] && sleep 0.05
		"$DAGEXEC" run --cache "$RC" -o "$T/o$k" race.yaml >"$T/r$k.out" 2>"$T/r$k.err" &
		eval p$k=\$!
	done
	wait $p1; s1=$?
	wait $p2; s2=$?
	wait $p3; s3=$?
	if [ $s1 -ne 0 ] || [ $s2 -ne 0 ] || [ $s3 -ne 0 ]; then
		fail "round $round: three runs at once exit $s1, $s2 and $s3"
		sed 's/^/  | /' "$T"/r[123].err | head -20
		continue
	fi
	if grep -h 'WARN' "$T"/r[123].err >"$T/warns"; then
		fail "round $round: a run warned"
		sed 's/^/  | /' "$T/warns" | head -10
		continue
	fi
	left=$(ls -A "$RC/tmp" 2>/dev/null)
	if [ -n "$left" ]; then
		fail "round $round: leftovers in tmp/: $left"
		continue
	fi
	n=$(find "$RC" -mindepth 2 -maxdepth 2 -type d ! -path "$RC/tmp/*" | wc -l)
	if [ "$n" -ne 6 ]; then
		fail "round $round: $n entries, wanted one per node (6)"
		continue
	fi
	grep -h 'by another run meanwhile: that entry is kept' "$T"/r[123].err >>"$T/kept"
	ok=$((ok + 1))
done
check "a store after another run's keeps that entry ($(wc -l <"$T/kept") times)" test -s "$T/kept"
check "three rounds of three runs at once: all succeed, no warning, one entry per key, no leftovers ($ok of 3)" test $ok -eq 3
expect_status 0 "the store lists them" "$DAGEXEC" cache list --cache "$RC"
check "six entries" test "$(grep -c ' race  ' "$T/out")" -eq 6
no_grep_file "none damaged" "(damaged)" "$T/out"
expect_status 0 "a run after them" "$DAGEXEC" run --cache "$RC" -o "$T/o1" race.yaml
unpack "$(bundle_of)" race
for n in a b c d e f; do
	expect_state "the run after them hits $n" nodes.$n.cached True
done
no_grep_file "and warns of nothing" "WARN" "$T/err"

# --- the manifest key is checked -------------------------------------------------
cat >bad.yaml <<Y
name: bad
nodes:
  a: {run: x, cache: {inptus: [x], env: [DAGEXEC_JOB]}}
Y
expect_status 65 "a bad cache key is refused" "$DAGEXEC" validate bad.yaml
grep_file "with its place and a suggestion" "bad.yaml:3:23: error: unknown cache key 'inptus' (did you mean 'inputs'?)" "$T/err"
grep_file "DAGEXEC_ names are refused in cache.env" "cannot name 'DAGEXEC_JOB'" "$T/err"
finish
