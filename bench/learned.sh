#!/bin/sh
# Learned estimates: the makespan of a DAG with skewed durations and no
# `estimate` keys, on its first run under `dagexec watch` (no history: every
# node weighs the same) and on its second (SPOOL/users/UID/history/ supplies them).
#
# usage: bench/learned.sh BUILDDIR
# The DAG: max_parallel 2; five independent 0.3 s nodes listed first, then
# one 1.5 s node. Without history every node weighs the same (1 s), so the
# scheduler starts them in manifest order and the long node starts late;
# with history it starts the long node first.
set -eu
B=${1:?usage: learned.sh BUILDDIR}
D=$(mktemp -d "${TMPDIR:-/tmp}/dagexec-learned.XXXXXX")
trap 'rm -rf "$D"' EXIT
{
	echo "name: learned"
	echo "max_parallel: 2"
	echo "nodes:"
	for i in 1 2 3 4 5; do echo "  short$i: {run: \"sleep 0.3\"}"; done
	echo "  long: {run: \"sleep 1.5\"}"
} >"$D/learned.yaml"
makespan() {	# the duration_ms of the newest bundle's state
	b=$(ls -t "$D"/spool/done/*.tar.gz | head -n 1)
	id=$(basename "$b" .tar.gz)
	tar xzf "$b" -O "$id/state.yaml" | sed -n 's/^duration_ms: //p'
}
for run in 1 2 3; do
	"$B/dagexec" submit -s "$D/spool" "$D/learned.yaml" >/dev/null 2>&1 ||
	    { mkdir -p "$D/spool"; "$B/dagexec" watch -s "$D/spool" --drain 2>/dev/null;
	      "$B/dagexec" submit -s "$D/spool" "$D/learned.yaml" >/dev/null; }
	"$B/dagexec" watch -s "$D/spool" --drain 2>/dev/null
	eval "m$run=$(makespan)"
done
# total work 5*0.3 + 1.5 = 3.0 s on 2 slots; critical path 1.5 s
echo "learned estimates, makespan of the same DAG (ms):"
echo "  run 1 (no history):      $m1"
echo "  run 2 (history of 1):    $m2"
echo "  run 3 (history of 2):    $m3"
echo "  lower bound max(cp, work/P) = max(1500, 1500) = 1500"
awk -v a="$m1" -v b="$m2" 'BEGIN { printf "  gain: run 2 takes %.2fx the time of run 1\n", b / a }'
