#!/bin/sh
# dagexec retry and run --target end to end: what runs again, what is
# reused (outputs and values), retries of retries, --from, --manifest,
# --force, job directories, broken bundles, exit statuses.
. "$TOP_SRCDIR/tests/integration/lib.sh"


mkdir -p "$T/o"
cat >dag.yaml <<Y
name: rt
nodes:
  prep:
    run: 'echo prep >> $T/runs; echo data > prep.txt; echo "greeting=hi there" >> "\$DAGEXEC_OUTPUT"'
    outputs: [prep.txt]
  side:
    run: 'echo side >> $T/runs'
  flaky:
    needs: [prep]
    run: 'echo flaky >> $T/runs; test ! -e $T/marker || exit 3; cat prep.txt > flaky.txt; echo "\$DAGEXEC_IN_PREP_GREETING" >> flaky.txt'
    outputs: [flaky.txt]
  after:
    needs: [flaky]
    run: 'echo after >> $T/runs; cat flaky.txt'
  cleanup:
    needs: [flaky, side]
    when: always
    run: 'echo cleanup >> $T/runs'
Y

# --- a run that fails, then a retry of what failed ----------------------------
touch "$T/marker"
expect_status 1 "the first run fails on the marker" "$DAGEXEC" run -q -o "$T/o" dag.yaml
B1=$(bundle_of)
got=$(runs)
check "every node but the skipped one ran ($got)" test "$got" = "cleanup flaky prep side"
rm -f "$T/marker"
expect_status 0 "retry of the failed run succeeds" "$DAGEXEC" retry -q -o "$T/o" "$B1"
B2=$(bundle_of)
got=$(runs)
check "only the failed node, its skipped dependent and the cleanup ran ($got)" test "$got" = "after cleanup flaky"
check "the retry's bundle is a new job" test "$B2" != "$B1" -a -f "$B2"
unpack "$B1" b1
J1=$(yget "$S" job)
unpack "$B2" b2
check "the retry has a new job id" test "$(yget "$S" job)" != "$J1"
expect_state "the DAG succeeded" status succeeded
expect_state "prep is reused: succeeded" nodes.prep.status succeeded
expect_state "prep is reused: attempts 0" nodes.prep.attempts 0
expect_state "prep is reused from the first job" nodes.prep.reused_from "$J1"
expect_state "side is reused" nodes.side.reused_from "$J1"
expect_state "flaky ran: attempts 1" nodes.flaky.attempts 1
if yget "$S" nodes.flaky.reused_from >/dev/null 2>&1; then
	fail "flaky, which ran, has a reused_from"
else
	pass "flaky, which ran, has no reused_from"
fi
expect_state "after was skipped, now succeeded" nodes.after.status succeeded
expect_state "the cleanup ran again" nodes.cleanup.attempts 1
grep_file "the reused output file reached the dependent" "^data\$" "$X/outputs/flaky/flaky.txt"
grep_file "the reused DAGEXEC_IN_ value reached the dependent" "^hi there\$" "$X/outputs/flaky/flaky.txt"
check "the retry's bundle holds the reused node's output" test -f "$X/outputs/prep/prep.txt"
grep_file "the retry's journal keeps the reused value" "output node=prep key=greeting" "$X/events.log"
expect_status 0 "the retry's bundle verifies" "$DAGEXEC" verify "$B2"
grep_file "the summary says reused" "^prep  *reused  *-  *-" "$X/summary.txt"
grep_file "the summary names the earlier job" "^reused from $J1: 2 nodes$" "$X/summary.txt"
no_grep_file "a reused node is no bar in the timeline" "<title>prep attempt" "$X/timeline.svg"
grep_file "but a mark of its own" "<path class=\"unrun reused\".*(reused from $J1)" "$X/timeline.svg"
mkdir -p "$T/sp/incoming" "$T/sp/done"
cp "$B2" "$T/sp/done/"
expect_status 0 "status of a retry" "$DAGEXEC" status -s "$T/sp" "$(yget "$S" job)"
grep_file "status shows a reused node and where from" "^prep  *reused  *-  *-  from $J1$" "$T/out"
grep_file "status shows a node that ran as it ran" "^flaky  *succeeded  *1 " "$T/out"
no_grep_file "no savings line without hits" "^saved:" "$T/out"
expect_status 0 "show a reused node's logs" "$DAGEXEC" show "$B2" prep
grep_file "show says where it came from" "node 'prep' did not run in this job: it was reused from '$J1'" "$T/err"

# --- a retry of the retry: nothing left to run --------------------------------
expect_status 0 "a retry of the retry exits 0" "$DAGEXEC" retry -q -o "$T/o" "$B2"
B3=$(bundle_of)
check "nothing ran" test -z "$(runs)"
check "and it still wrote a bundle" test -f "$B3" -a "$B3" != "$B2"
unpack "$B3" b3
J2=$(yget "$T/b2.x/$(basename "$(ls -d "$T"/b2.x/*/)")/state.yaml" job)
expect_state "every node reused: flaky" nodes.flaky.reused_from "$J2"
expect_state "every node reused: prep" nodes.prep.reused_from "$J2"
expect_state "progress: five succeeded" progress.succeeded 5
check "the reused outputs are there again" test -f "$X/outputs/prep/prep.txt" -a -f "$X/outputs/flaky/flaky.txt"

# --- --from -------------------------------------------------------------------
expect_status 0 "retry --from flaky" "$DAGEXEC" retry -q -o "$T/o" --from flaky "$B3"
got=$(runs)
check "--from runs the node and its descendants ($got)" test "$got" = "after cleanup flaky"
expect_status 0 "retry --from prep --from side" "$DAGEXEC" retry -q -o "$T/o" --from prep --from side "$B3"
got=$(runs)
check "two --from run everything below them ($got)" test "$got" = "after cleanup flaky prep side"
expect_status 64 "an unknown --from node" "$DAGEXEC" retry -q -o "$T/o" --from nosuch "$B3"
grep_file "the unknown node is named" "unknown node 'nosuch'" "$T/err"
check "nothing ran" test -z "$(runs)"

# --- --manifest ---------------------------------------------------------------
sed 's/echo side >>/echo side2 >>/' dag.yaml > changed.yaml
sed -i "s/'echo side2 >> \(.*\)'/'echo side >> \1; true'/" changed.yaml
expect_status 0 "retry --manifest with a changed node" "$DAGEXEC" retry -q -o "$T/o" --manifest changed.yaml "$B3"
got=$(runs)
check "the changed node and its descendants ran ($got)" test "$got" = "cleanup side"
unpack "$(bundle_of)" m1
grep_file "the bundle keeps the edited manifest" "; true" "$X/manifest.yaml"
cp dag.yaml added.yaml
printf '  extra:\n    needs: [prep]\n    run: %s\n' "'echo extra >> $T/runs'" >> added.yaml
expect_status 65 "retry --manifest with an added node" "$DAGEXEC" retry -q -o "$T/o" --manifest added.yaml "$B3"
grep_file "the added node is named" "'extra'" "$T/err"
check "nothing ran" test -z "$(runs)"
expect_status 0 "the same with --force" "$DAGEXEC" retry -q -o "$T/o" --manifest added.yaml --force "$B3"
got=$(runs)
check "--force runs only the new node ($got)" test "$got" = "extra"
sed 's/^name: rt$/name: rt2/' dag.yaml > renamed.yaml
expect_status 65 "retry --manifest of another DAG" "$DAGEXEC" retry -q -o "$T/o" --manifest renamed.yaml "$B3"
grep_file "both DAG names are given" "of DAG 'rt2', the earlier job ran DAG 'rt'" "$T/err"
expect_status 65 "another DAG even with --force" "$DAGEXEC" retry -q -o "$T/o" --manifest renamed.yaml --force "$B3"
check "nothing ran" test -z "$(runs)"
grep -v -e '^  after:' -e 'needs: \[flaky\]$' dag.yaml | sed '/echo after/d' > removed.yaml
expect_status 65 "retry --manifest without a node" "$DAGEXEC" retry -q -o "$T/o" --manifest removed.yaml "$B3"
grep_file "the missing node is named" "'after'" "$T/err"

# --- a job directory kept with --keep -----------------------------------------
touch "$T/marker"
mkdir -p "$T/k"
expect_status 1 "run --keep fails" "$DAGEXEC" run -q --keep -o "$T/k" dag.yaml
KB=$(bundle_of)
runs >/dev/null
rm -f "$T/marker"
expect_status 0 "retry of the job directory" "$DAGEXEC" retry -q -o "$T/o" "${KB%.tar.gz}"
got=$(runs)
check "the job directory works as a bundle ($got)" test "$got" = "after cleanup flaky"

# --- broken inputs -------------------------------------------------------------
cp "$B2" "$T/bad.tar.gz"
mkdir "$T/re" && tar xzf "$B2" -C "$T/re"
d=$(ls "$T/re")
echo tampered >> "$T/re/$d/outputs/prep/prep.txt"
tar czf "$T/bad.tar.gz" -C "$T/re" "$d"
expect_status 65 "a bundle that fails its SHA256SUMS" "$DAGEXEC" retry -q -o "$T/o" "$T/bad.tar.gz"
grep_file "says so" "SHA256SUMS" "$T/err"
echo "not a bundle" > "$T/junk.tar.gz"
expect_status 65 "a file that is not a bundle" "$DAGEXEC" retry -q -o "$T/o" "$T/junk.tar.gz"
mkdir -p "$T/other/x" && echo hi > "$T/other/x/file"
tar czf "$T/other.tar.gz" -C "$T/other" x
expect_status 65 "an archive that is not dagexec's" "$DAGEXEC" retry -q -o "$T/o" "$T/other.tar.gz"
expect_status 66 "a missing bundle" "$DAGEXEC" retry -q -o "$T/o" "$T/missing.tar.gz"
expect_status 64 "retry without a bundle" "$DAGEXEC" retry
expect_status 64 "--force without --manifest" "$DAGEXEC" retry --force "$B2"
check "nothing ran" test -z "$(runs)"
check "no unpacked leftovers" test -z "$(ls -a "$T/o" | grep '^\.retry-')"

# --- run --target ----------------------------------------------------------------
expect_status 0 "run --target after" "$DAGEXEC" run -q -o "$T/o" --target after dag.yaml
TB=$(bundle_of)
got=$(runs)
check "the target and what it needs ran, nothing else ($got)" test "$got" = "after flaky prep"
unpack "$TB" t1
expect_state "the state holds only those nodes" progress.total 3
expect_status 0 "two targets" "$DAGEXEC" run -q -o "$T/o" --target prep --target side dag.yaml
got=$(runs)
check "two targets ran ($got)" test "$got" = "prep side"
expect_status 64 "an unknown target" "$DAGEXEC" run -q -o "$T/o" --target nosuch dag.yaml
grep_file "the unknown target is named" "unknown node 'nosuch'" "$T/err"
expect_status 0 "a retry of a --target run" "$DAGEXEC" retry -q -o "$T/o" --from flaky "$TB"
got=$(runs)
check "keeps to the target's nodes ($got)" test "$got" = "after flaky"

expect_status 0 "retry --help" "$DAGEXEC" retry --help
grep_file "retry --help shows its usage" "^usage: dagexec retry" "$T/out"
finish
