#!/bin/sh
# Fan-out: part (o) of bench/run.sh, also runnable alone.
#
# usage: bench/foreach.sh BUILDDIR [SRCDIR]
#
# Three manifests of FOREACH_NODES nodes running `argv: [true]` (plus one
# node that needs them all), each run with `dagexec run -j 2`, in
# interleaved rounds (each round starting with another of them):
#   written   the nodes written out one by one (w1 ... wN), and a merge
#             that lists them all in its needs
#   static    one node with `foreach: [1, ..., N]` and a merge that
#             needs it
#   dynamic   a planner that writes the N items as a multi-line value and
#             a node with `foreach: {from: planner, key: items}` (the
#             planner and the expansion are part of its time)
# Target: static and dynamic within 10% of written (fastest of the rounds
# and median). With bench/cpuof (make bench/cpuof), also the CPU that
# dagexec itself used (not its nodes'), which a loaded machine disturbs
# less than the wall time. Also `dagexec validate` of the written and
# static manifests (best of the rounds).
#
# Environment:
#   FOREACH_NODES   nodes, default 10000
#   FOREACH_ROUNDS  interleaved rounds, default 5
#   FOREACH_LIMIT   wall limit of one command in seconds, default 600
#   BENCH_KEEP      1: keep the temporary directory
set -u
B=${1:?usage: foreach.sh BUILDDIR [SRCDIR]}
DAGEXEC=$B/dagexec
CPUOF=$B/bench/cpuof
N=${FOREACH_NODES:-10000}
ROUNDS=${FOREACH_ROUNDS:-5}
LIMIT=${FOREACH_LIMIT:-600}
for v in "$N" "$ROUNDS" "$LIMIT"; do
	case $v in
	''|*[!0-9]*|0*)
		echo "FOREACH_NODES, _ROUNDS and _LIMIT must be positive" \
		    "integers, not '$v'"
		exit 64 ;;
	esac
done
if [ "$N" -gt 10000 ]; then
	echo "FOREACH_NODES is at most 10000 (the instances of one node)"
	exit 64
fi

D=$(mktemp -d "${TMPDIR:-/tmp}/dagexec-foreach.XXXXXX") || exit 1
cleanup() {
	if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# measure CMD...: WALL (s, ms resolution), RC; output in $D/last.out, .err
measure() {
	t0=$(date +%s%N)
	timeout -k 10 "$LIMIT" "$@" >"$D/last.out" 2>"$D/last.err"
	RC=$?
	t1=$(date +%s%N)
	WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
}

median() {
	echo "$1" | tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 }
	    END { if (NR == 0) print "unknown";
	    else if (NR % 2) printf "%.3f\n", a[(NR + 1) / 2];
	    else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
fastest() { echo "$1" | tr ' ' '\n' | grep . | sort -n | head -n 1; }
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'
}
within() {	# within R: ok when 0.9 <= R <= 1.1
	if awk -v r="$1" 'BEGIN { exit !(r >= 0.9 && r <= 1.1) }'; then
		echo ok
	else
		echo MISSED
	fi
}
load() { cut -d ' ' -f 1 /proc/loadavg; }

# the three manifests
{
	printf 'name: written\nnodes:\n'
	i=1
	while [ $i -le "$N" ]; do
		printf '  w%d: {argv: [true]}\n' $i
		i=$((i + 1))
	done
	printf '  merge:\n    argv: [true]\n    needs: ['
	i=1
	while [ $i -le "$N" ]; do
		[ $i -gt 1 ] && printf ', '
		printf 'w%d' $i
		i=$((i + 1))
	done
	printf ']\n'
} >"$D/written.yaml"
{
	printf 'name: static\nnodes:\n  w:\n    argv: [true]\n    foreach: ['
	seq -s ', ' 1 "$N" | tr -d '\n'
	printf ']\n  merge:\n    argv: [true]\n    needs: [w]\n'
} >"$D/static.yaml"
cat >"$D/dynamic.yaml" <<Y
name: dynamic
nodes:
  planner:
    run: seq 1 $N | { echo 'items<<EOF'; cat; echo EOF; } >> "\$DAGEXEC_OUTPUT"
  w:
    argv: [true]
    foreach: {from: planner, key: items}
  merge:
    argv: [true]
    needs: [w]
Y

HAVE_CPUOF=0
if [ -x "$CPUOF" ] && "$CPUOF" -o "$D/cpuof.probe" true 2>/dev/null &&
    grep -q '^self_ms=[0-9]' "$D/cpuof.probe"; then
	HAVE_CPUOF=1
else
	echo "note: $CPUOF is missing or fails (make bench/cpuof): self CPU" \
	    "unknown"
fi

# run M: one `dagexec run -j 2` of M; WALL, SELF (ms of CPU of dagexec
# itself, or -), and NODES (succeeded) or fails
run() {
	rm -rf "$D/o"
	mkdir -p "$D/o"
	if [ "$HAVE_CPUOF" = 1 ]; then
		measure "$CPUOF" -o "$D/cpu" "$DAGEXEC" run -j 2 -q -o "$D/o" \
		    "$D/$1.yaml"
		SELF=$(sed -n 's/^self_ms=\([0-9]*\).*/\1/p' "$D/cpu")
	else
		measure "$DAGEXEC" run -j 2 -q -o "$D/o" "$D/$1.yaml"
		SELF=-
	fi
	b=$(tail -n 1 "$D/last.out")
	NODES=0
	if [ "$RC" = 0 ] && [ -f "$b" ]; then
		id=$(basename "$b" .tar.gz)
		NODES=$(tar xzf "$b" -O "$id/state.yaml" 2>/dev/null |
		    sed -n 's/^progress:.*succeeded: \([0-9]*\).*/\1/p')
	else
		echo "dagexec run $1.yaml: exit $RC" >&2
		head -n 5 "$D/last.err" >&2
	fi
}

echo "-- foreach: $N nodes of 'argv: [true]' and a merge needing them all," \
    "-j 2, $ROUNDS interleaved rounds (load $(load))"
echo "written = the nodes written out; static = foreach: [1..$N];" \
    "dynamic = foreach: {from: planner, key: items} over $N lines"
printf '%5s %9s %9s %9s %9s %9s %8s %8s %8s %9s %9s\n' round written_s \
    static_s dynamic_s static/w dynamic/w cpu_w_ms cpu_s_ms cpu_d_ms \
    val_w_s val_st_s
AW=; AS=; AD=; VW=; VS=; CW=; CS=; CD=; bad=0
want=$((N + 1))
i=0
while [ $i -lt "$ROUNDS" ]; do
	i=$((i + 1))
	# each round starts with another of the three: what runs first
	# after the validations (or the last round) is not always the same
	case $((i % 3)) in
	1) order="written static dynamic" ;;
	2) order="static dynamic written" ;;
	0) order="dynamic written static" ;;
	esac
	for v in $order; do
		run $v
		case $v in
		written) ww=$WALL; cw=$SELF; [ "$NODES" = "$want" ] || bad=1 ;;
		static) ws=$WALL; cs=$SELF; [ "$NODES" = "$want" ] || bad=1 ;;
		dynamic) wd=$WALL; cd_=$SELF
			[ "$NODES" = "$((want + 1))" ] || bad=1 ;;
		esac
	done
	measure "$DAGEXEC" validate "$D/written.yaml"; vw=$WALL
	[ "$RC" = 0 ] || bad=1
	measure "$DAGEXEC" validate "$D/static.yaml"; vs=$WALL
	[ "$RC" = 0 ] || bad=1
	printf '%5s %9s %9s %9s %9s %9s %8s %8s %8s %9s %9s\n' $i "$ww" \
	    "$ws" "$wd" "$(ratio "$ws" "$ww")" "$(ratio "$wd" "$ww")" "$cw" \
	    "$cs" "$cd_" "$vw" "$vs"
	AW="$AW $ww"; AS="$AS $ws"; AD="$AD $wd"; VW="$VW $vw"; VS="$VS $vs"
	CW="$CW $cw"; CS="$CS $cs"; CD="$CD $cd_"
done
fw=$(fastest "$AW"); fs=$(fastest "$AS"); fd=$(fastest "$AD")
mw=$(median "$AW"); ms=$(median "$AS"); md=$(median "$AD")
printf '%5s %9s %9s %9s %9s %9s %8s %8s %8s %9s %9s\n' fast "$fw" "$fs" \
    "$fd" "$(ratio "$fs" "$fw")" "$(ratio "$fd" "$fw")" "$(fastest "$CW")" \
    "$(fastest "$CS")" "$(fastest "$CD")" "$(fastest "$VW")" \
    "$(fastest "$VS")"
printf '%5s %9s %9s %9s %9s %9s %8s %8s %8s\n' median "$mw" "$ms" "$md" \
    "$(ratio "$ms" "$mw")" "$(ratio "$md" "$mw")" "$(median "$CW")" \
    "$(median "$CS")" "$(median "$CD")"
[ "$bad" = 0 ] || echo "a run failed or did not end with every node succeeded"
echo "static within 10% of written (fastest): $(ratio "$fs" "$fw")" \
    "$(within "$(ratio "$fs" "$fw")")"
echo "dynamic within 10% of written (fastest): $(ratio "$fd" "$fw")" \
    "$(within "$(ratio "$fd" "$fw")")"
echo "static within 10% of written (median): $(ratio "$ms" "$mw")" \
    "$(within "$(ratio "$ms" "$mw")")"
echo "dynamic within 10% of written (median): $(ratio "$md" "$mw")" \
    "$(within "$(ratio "$md" "$mw")")"
if [ "$HAVE_CPUOF" = 1 ]; then
	echo "dagexec's own CPU, static / written (median):" \
	    "$(ratio "$(median "$CS")" "$(median "$CW")")"
	echo "dagexec's own CPU, dynamic / written (median):" \
	    "$(ratio "$(median "$CD")" "$(median "$CW")")"
fi
