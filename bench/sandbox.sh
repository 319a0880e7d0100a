#!/bin/sh
# The cost of a Landlock sandbox a node: part (k) of bench/run.sh, also
# runnable alone.
#
# usage: bench/sandbox.sh BUILDDIR [SRCDIR]
#
# 10,000 nodes of `argv: [true]`, no needs, `dagexec run -j 2`, with and
# without `defaults: {sandbox: strict}`, in interleaved rounds (the order
# of the two alternates). Per round: the wall time of each, and, under
# bench/cpuof, dagexec's own CPU (building the rulesets, the attempts'
# directories) and its children's (the nodes: restricting themselves, and
# `true` under Landlock). The cost a node is the difference of the
# medians divided by the nodes; target: under 100 us of wall a node.
# Each sandboxed attempt has directories of its own in the job directory:
# the whole measure is made once with the job directories on the disk of
# the temporary directory, and once on a tmpfs (/dev/shm), which parts
# what Landlock costs from what making directories costs on that disk.
#
# Environment:
#   SANDBOX_ROUNDS  interleaved rounds, default 5
#   SANDBOX_NODES   nodes, default 10000
#   SANDBOX_OUT     where the job directories go, one measure each,
#                   default "$TMPDIR-or-/tmp /dev/shm" (those that exist)
#   SANDBOX_LIMIT   wall limit of one run in seconds, default 600
#   BENCH_KEEP      1: keep the temporary directory
set -u
B=${1:?usage: sandbox.sh BUILDDIR [SRCDIR]}
DAGEXEC=$B/dagexec
CPUOF=$B/bench/cpuof
ROUNDS=${SANDBOX_ROUNDS:-5}
N=${SANDBOX_NODES:-10000}
LIMIT=${SANDBOX_LIMIT:-600}
TARGET_US=100

D=$(mktemp -d "${TMPDIR:-/tmp}/dagexec-sandbox.XXXXXX") || exit 1
OUTS=
for o in ${SANDBOX_OUT:-${TMPDIR:-/tmp} /dev/shm}; do
	if [ -d "$o" ] && od=$(mktemp -d "$o/dagexec-sandbox-out.XXXXXX"); then
		OUTS="$OUTS $od"
	fi
done
cleanup() {
	if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $D$OUTS"; else rm -rf "$D" $OUTS; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

HAVE_CPUOF=0
if [ -x "$CPUOF" ] && "$CPUOF" -o "$D/cpuof.probe" true 2>/dev/null &&
    grep -q '^self_ms=[0-9]' "$D/cpuof.probe"; then
	HAVE_CPUOF=1
else
	echo "note: $CPUOF is missing or fails (make bench/cpuof): CPU unknown"
fi

# field NAME FILE: the number after NAME= in cpuof's line, or "-"
field() {
	v=$(sed -n "s/^.*$1=\([0-9][0-9]*\).*\$/\1/p" "$2" 2>/dev/null)
	echo "${v:--}"
}

# run MANIFEST: `dagexec run -j 2 -q -o $OUT` of it; WALL (s), RC, SELF
# and KIDS (ms, or "-"); the state's sandbox fields counted in SB
run() {
	rm -rf "$OUT/out"; mkdir -p "$OUT/out"
	rm -f "$D/cpu.out"
	t0=$(date +%s%N)
	if [ "$HAVE_CPUOF" = 1 ]; then
		timeout -k 10 "$LIMIT" "$CPUOF" -o "$D/cpu.out" "$DAGEXEC" run \
		    -j 2 -q -o "$OUT/out" "$1" >"$D/last.out" 2>"$D/last.err"
	else
		timeout -k 10 "$LIMIT" "$DAGEXEC" run -j 2 -q -o "$OUT/out" \
		    "$1" >"$D/last.out" 2>"$D/last.err"
	fi
	RC=$?
	t1=$(date +%s%N)
	WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	SELF=$(field self_ms "$D/cpu.out")
	KIDS=$(field children_ms "$D/cpu.out")
	SB=0
	b=$(tail -n 1 "$D/last.out")
	if [ "$RC" = 0 ] && [ -f "$b" ]; then
		id=$(basename "$b" .tar.gz)
		SB=$(tar xzf "$b" -O "$id/state.yaml" 2>/dev/null |
		    grep -c '^    sandbox: enforced$')
	else
		echo "dagexec run $1: exit $RC" >&2
		head -n 5 "$D/last.err" >&2
	fi
}

# median "V V ...": the middle value (the mean of the two middle ones)
median() {
	echo "$1" | tr ' ' '\n' | grep -v '^-*$' | sort -n | awk '
	    { a[NR] = $1 }
	    END { if (NR == 0) print "-";
	    else if (NR % 2) print a[(NR + 1) / 2];
	    else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# per_node A B SCALE: (A - B) * SCALE / N, one decimal, or "-"
per_node() {
	awk -v a="$1" -v b="$2" -v s="$3" -v n="$N" 'BEGIN {
	    if (a == "-" || b == "-") print "-";
	    else printf "%.1f", (a - b) * s / n }'
}

{
	echo "name: plain"
	echo "nodes:"
	i=0
	while [ $i -lt "$N" ]; do
		printf '  n%d:\n    argv: [true]\n' $i
		i=$((i + 1))
	done
} >"$D/plain.yaml"
{
	echo "name: sandboxed"
	echo "defaults: {sandbox: strict}"
	sed 1d "$D/plain.yaml"
} >"$D/sandboxed.yaml"

printf 'name: probe\nnodes:\n  a: {argv: [true], sandbox: strict}\n' \
    >"$D/probe.yaml"
if ! "$DAGEXEC" run -j 1 -q -o "$D" "$D/probe.yaml" >"$D/probe.out" 2>&1
then
	echo "skipped: a sandboxed node does not run here:"
	sed 's/^/  /' "$D/probe.out" | head -n 5
	exit 0
fi

# measure: the rounds, the medians and the verdict, job directories in
# $OUT
measure() {
	echo "-- $N nodes of 'argv: [true]', no needs, dagexec run -j 2, with and" \
	    "without defaults {sandbox: strict}, $ROUNDS interleaved rounds," \
	    "job directories in $OUT ($(df -T "$OUT" | awk 'NR == 2 { print $2 }'))" \
	    "($(nproc) CPUs, $(uname -r), load $(cut -d ' ' -f 1 /proc/loadavg))"
	echo "wall in s; self = dagexec's own CPU, kids = its nodes', in ms" \
	    "(bench/cpuof); sb = nodes with 'sandbox: enforced' in the state"
	printf '%5s %8s %8s %7s %7s %7s %7s %6s %9s\n' round plain_s sbx_s \
	    plain_self sbx_self plain_kids sbx_kids sb sbx/plain
	PW=; SW=; PS=; SS=; PK=; SK=; bad=0
	i=1
	while [ $i -le "$ROUNDS" ]; do
		if [ $((i % 2)) = 1 ]; then order="plain sandboxed"; else order="sandboxed plain"; fi
		for m in $order; do
			run "$D/$m.yaml"
			[ "$RC" = 0 ] || bad=1
			if [ "$m" = plain ]; then
				pw=$WALL; ps=$SELF; pk=$KIDS
			else
				sw=$WALL; ss=$SELF; sk=$KIDS; sb=$SB
			fi
		done
		[ "$sb" = "$N" ] || bad=1
		PW="$PW $pw"; SW="$SW $sw"; PS="$PS $ps"; SS="$SS $ss"
		PK="$PK $pk"; SK="$SK $sk"
		printf '%5s %8s %8s %7s %7s %7s %7s %6s %9s\n' "$i" "$pw" "$sw" \
		    "$ps" "$ss" "$pk" "$sk" "$sb" \
		    "$(awk -v a="$sw" -v b="$pw" 'BEGIN { printf "%.3f", a / b }')"
		i=$((i + 1))
	done
	mpw=$(median "$PW"); msw=$(median "$SW")
	mps=$(median "$PS"); mss=$(median "$SS")
	mpk=$(median "$PK"); msk=$(median "$SK")
	printf '%5s %8s %8s %7s %7s %7s %7s %6s %9s\n' median "$mpw" "$msw" \
	    "$mps" "$mss" "$mpk" "$msk" "" \
	    "$(awk -v a="$msw" -v b="$mpw" 'BEGIN { printf "%.3f", a / b }')"
	wall_us=$(per_node "$msw" "$mpw" 1000000)
	self_us=$(per_node "$mss" "$mps" 1000)
	kids_us=$(per_node "$msk" "$mpk" 1000)
	echo "a node's sandbox costs: wall $wall_us us, dagexec's CPU $self_us us," \
	    "the node's CPU $kids_us us (medians' difference / $N)"
	[ "$bad" = 0 ] || echo "a run failed, or a sandboxed run's state did not" \
	    "say enforced for every node: the figures above are not valid"
	if [ "$bad" = 0 ] && awk -v w="$wall_us" -v t="$TARGET_US" \
	    'BEGIN { exit !(w < t) }'; then
		echo "wall a node under $TARGET_US us: ok"
	else
		echo "wall a node under $TARGET_US us: MISSED"
	fi
}

for OUT in $OUTS; do
	measure
	echo
done
