#!/bin/sh
# dagexec graph: waves and DOT of the examples and of small DAGs.
. "$TOP_SRCDIR/tests/integration/lib.sh"

ex="$TOP_SRCDIR/examples/research-pipeline.yaml"
expect_status 0 "waves of the research pipeline" "$DAGEXEC" graph --format waves "$ex"
cat >"$T/want" <<'W'
wave 0: gather-sources
wave 1: validate-sources extract-metadata
wave 2: score
wave 3: summarize report
W
check "the research pipeline has the four waves of the README" cmp -s "$T/out" "$T/want"

cat >dag.yaml <<'Y'
name: diamond
nodes:
  d: {run: "true", needs: [b, c]}
  c: {run: "true", needs: [a]}
  b: {run: "true", needs: [a]}
  a: {run: "true"}
  e: {run: "true", needs: [a, d]}
  lone: {run: "true"}
Y
expect_status 0 "waves of a diamond" "$DAGEXEC" graph --format waves dag.yaml
printf 'wave 0: a lone\nwave 1: c b\nwave 2: d\nwave 3: e\n' >"$T/want"
check "waves keep manifest order inside a wave" cmp -s "$T/out" "$T/want"

expect_status 0 "DOT of a diamond" "$DAGEXEC" graph dag.yaml
grep_file "DOT opens a digraph named after the DAG" '^digraph "diamond" {' "$T/out"
for e in '"b" -> "d";' '"c" -> "d";' '"a" -> "c";' '"a" -> "b";' '"a" -> "e";' '"d" -> "e";'; do
	grep_file "DOT edge $e" "^	$e\$" "$T/out"
done
check "DOT has exactly six edges" test "$(grep -c -- '->' "$T/out")" -eq 6
if command -v dot >/dev/null 2>&1; then
	check "graphviz accepts the DOT" sh -c "'$DAGEXEC' graph dag.yaml | dot -Tsvg >/dev/null"
fi
expect_status 0 "--format dot is the default" "$DAGEXEC" graph --format dot dag.yaml

cat >cycle.yaml <<'Y'
name: cyc
nodes:
  a: {run: "true", needs: [c]}
  b: {run: "true", needs: [a]}
  c: {run: "true", needs: [b]}
Y
expect_status 65 "graph refuses a cycle" "$DAGEXEC" graph cycle.yaml
grep_file "the cycle is named" 'cycle: a -> b -> c -> a' "$T/err"
finish
