#!/bin/sh
# What a cgroup an attempt costs (part l): 10,000 `argv: [true]` nodes (no
# needs) at -j 2, `dagexec run --containment cgroup` against
# `--containment rlimits` of the same binary, interleaved rounds (the order
# swapped every other round). The cost a node is the difference of the two
# divided by the nodes, on the wall clock and on the CPU time of the whole
# run (the runner's own and its nodes', from bench/cpuof). Then the two
# ways a child can start in its cgroup (bench/cgspawn), at a small and a
# large parent: joining it before exec from a CLONE_VM | CLONE_VFORK child
# (what dagexec does), and clone3(CLONE_INTO_CGROUP) without CLONE_VM,
# which copies the parent's page tables as fork does.
#
# usage: sh bench/cgroup.sh BUILDDIR [SRCDIR]
#
# Environment:
#   CG_NODES     nodes, default 10000
#   CG_ROUNDS    rounds, default 5
#   CG_SPAWNS    spawns a bench/cgspawn case, default 2000
#   BENCH_KEEP   set to 1 to keep the temporary directory
#
# Needs a writable cgroup v2 hierarchy (root, or a delegated subtree):
# without one it says so and measures nothing.

set -u

BUILDDIR=${1:?usage: cgroup.sh BUILDDIR [SRCDIR]}
DAGEXEC=$BUILDDIR/dagexec
CPUOF=$BUILDDIR/bench/cpuof
CGSPAWN=$BUILDDIR/bench/cgspawn
N=${CG_NODES:-10000}
R=${CG_ROUNDS:-5}
SPAWNS=${CG_SPAWNS:-2000}
for v in "$N" "$R" "$SPAWNS"; do
	case $v in
	''|*[!0-9]*|0*)
		echo "CG_NODES, CG_ROUNDS and CG_SPAWNS must be positive" \
		    "integers, not '$v'"
		exit 64 ;;
	esac
done

TMP=$(mktemp -d /tmp/dagexec-cg-bench.XXXXXX) || exit 1
cleanup() {
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

{
	echo "name: cgbench"
	echo "nodes:"
	i=1
	while [ $i -le "$N" ]; do
		echo "  n$i: {argv: [true]}"
		i=$((i + 1))
	done
} >"$TMP/dag.yaml"

# the probe: does --containment cgroup work here at all?
printf 'name: probe\nnodes:\n  a: {argv: [true]}\n' >"$TMP/probe.yaml"
if ! "$DAGEXEC" run -q --containment cgroup -o "$TMP" "$TMP/probe.yaml" \
    >/dev/null 2>"$TMP/probe.err"; then
	echo "skipped: --containment cgroup does not work here:" \
	    "$(tail -n 1 "$TMP/probe.err")"
	exit 0
fi
HAVE_CPUOF=0
if [ -x "$CPUOF" ] && "$CPUOF" -o "$TMP/cpuof.probe" true 2>/dev/null; then
	HAVE_CPUOF=1
fi

# one MODE: a run; appends "wall_ms cpu_ms" to $TMP/MODE
one() {
	rm -rf "$TMP/out"
	mkdir "$TMP/out"
	t0=$(date +%s%N)
	if [ "$HAVE_CPUOF" = 1 ]; then
		"$CPUOF" -o "$TMP/cpu" "$DAGEXEC" run -q -j 2 --containment "$1" \
		    -o "$TMP/out" "$TMP/dag.yaml" >/dev/null 2>"$TMP/err"
	else
		"$DAGEXEC" run -q -j 2 --containment "$1" -o "$TMP/out" \
		    "$TMP/dag.yaml" >/dev/null 2>"$TMP/err"
	fi
	rc=$?
	t1=$(date +%s%N)
	if [ $rc -ne 0 ]; then
		echo "  $1: failed (exit $rc): $(tail -n 1 "$TMP/err")"
		return 1
	fi
	cpu=unknown
	if [ "$HAVE_CPUOF" = 1 ]; then
		cpu=$(sed -n 's/.*self_ms=\([0-9]*\) children_ms=\([0-9]*\).*/\1 \2/p' \
		    "$TMP/cpu" | awk '{ print $1 + $2 }')
	fi
	echo "$(( (t1 - t0) / 1000000 )) $cpu" >>"$TMP/$1"
	printf '  %-8s wall %6d ms  cpu %s ms\n' "$1" $(( (t1 - t0) / 1000000 )) \
	    "$cpu"
}

echo "-- $N x argv: [true] at -j 2, $R rounds (dagexec run" \
    "--containment cgroup | rlimits)"
echo "   cgroups here: $(sed -n 's/^0:://p' /proc/self/cgroup), controllers" \
    "'$(cat "$(awk '$0 ~ / - cgroup2 / { print $5; exit }' \
    /proc/self/mountinfo)/cgroup.controllers" 2>/dev/null)'"
k=1
while [ $k -le "$R" ]; do
	echo " round $k"
	if [ $((k % 2)) -eq 1 ]; then
		one rlimits && one cgroup
	else
		one cgroup && one rlimits
	fi
	k=$((k + 1))
done

# med FILE COLUMN: the median of a column
med() {
	sort -n -k "$2" "$1" | awk -v c="$2" '{ v[NR] = $c }
	    END { if (NR % 2) print v[(NR + 1) / 2];
	          else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
low() { sort -n -k "$2" "$1" | awk -v c="$2" 'NR == 1 { print $c }'; }
if [ -s "$TMP/rlimits" ] && [ -s "$TMP/cgroup" ]; then
	for stat in med low; do
		wr=$($stat "$TMP/rlimits" 1); wc=$($stat "$TMP/cgroup" 1)
		echo "$stat wall: rlimits $wr ms, cgroup $wc ms: ratio" \
		    "$(awk -v a="$wc" -v b="$wr" 'BEGIN { printf "%.3f", a / b }')," \
		    "$(awk -v a="$wc" -v b="$wr" -v n="$N" \
		    'BEGIN { printf "%+.1f", (a - b) * 1000 / n }') us a node"
		if [ "$HAVE_CPUOF" = 1 ]; then
			cr=$($stat "$TMP/rlimits" 2); cc=$($stat "$TMP/cgroup" 2)
			echo "$stat cpu:  rlimits $cr ms, cgroup $cc ms:" \
			    "$(awk -v a="$cc" -v b="$cr" -v n="$N" \
			    'BEGIN { printf "%+.1f", (a - b) * 1000 / n }') us" \
			    "a node (target: under 100)"
		fi
	done
fi

echo
echo "-- starting a child in its cgroup, $SPAWNS spawns of /bin/true each" \
    "(bench/cgspawn)"
if [ ! -x "$CGSPAWN" ]; then
	echo "skipped: no $CGSPAWN (make bench/cgspawn)"
	exit 0
fi
for mb in 0 200; do
	for how in none vm join clone3; do
		"$CGSPAWN" "$how" "$SPAWNS" "$mb" || echo "  $how ${mb}M: failed"
	done
done
