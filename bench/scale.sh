#!/bin/sh
# Scale and speed (parts p, q, r of `make bench`; also runnable alone):
#   sh bench/scale.sh BUILDDIR SRCDIR
# Prints tables; writes nothing into the tree. See bench/README.md.
# dagexec runs with --containment rlimits, the targets' mode; (q) and (r)
# also run the default containment, printed beside.
#
# Environment:
#   SCALE_PARTS     parts to run, default "p q r"
#   SCALE_SEEDS     makespan seeds (p), default "1 2 3 4 5"
#   SCALE_PROCS     makespan slot counts (p), default "2 4 8"
#   SCALE_ROUNDS_P  interleaved rounds of (p), default 3
#   SCALE_NODES_Q   sizes of (q), default "10000 100000 1000000"
#   SCALE_SIZES_R   sizes of (r), default "2000 10000"
#   SCALE_ROUNDS_R  interleaved rounds of (r), default 5
#   SCALE_LIMIT     wall limit of one command in seconds, default 3600

set -u

BUILDDIR=${1:?usage: scale.sh BUILDDIR SRCDIR}
SRCDIR=${2:?usage: scale.sh BUILDDIR SRCDIR}
DAGEXEC=$BUILDDIR/dagexec
SPAWNLOOP=$BUILDDIR/bench/spawnloop
CPUOF=$BUILDDIR/bench/cpuof
GEN="python3 $SRCDIR/bench/gen_dag.py"
PARTS=${SCALE_PARTS:-p q r}
SEEDS=${SCALE_SEEDS:-1 2 3 4 5}
PROCS=${SCALE_PROCS:-2 4 8}
ROUNDS_P=${SCALE_ROUNDS_P:-3}
NODES_Q=${SCALE_NODES_Q:-10000 100000 1000000}
SIZES_R=${SCALE_SIZES_R:-2000 10000}
ROUNDS_R=${SCALE_ROUNDS_R:-5}
LIMIT=${SCALE_LIMIT:-3600}

TMP=$(mktemp -d /tmp/dagexec-scale.XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
# learned estimates go into a history of the bench's own: a run learns from
# the earlier runs of the same DAG, as a user's would, and from no other
XDG_STATE_HOME=$TMP/state
export XDG_STATE_HOME

HAVE_NINJA=0
command -v ninja >/dev/null 2>&1 && HAVE_NINJA=1

# wall CMD...: run it (output into $TMP/last.*), WALL in seconds, RC
wall() {
	t0=$(date +%s%N)
	timeout -k 30 "$LIMIT" "$@" >"$TMP/last.out" 2>"$TMP/last.err"
	RC=$?
	t1=$(date +%s%N)
	WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
}

# rss CMD...: run it under bench/cpuof: WALL, RSS (peak KiB of the
# command's own process), RC
rss() {
	t0=$(date +%s%N)
	timeout -k 30 "$LIMIT" "$CPUOF" -o "$TMP/cpu.out" "$@" \
	    >"$TMP/last.out" 2>"$TMP/last.err"
	RC=$?
	t1=$(date +%s%N)
	WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	RSS=$(sed -n 's/^.*maxrss_kb=\([0-9][0-9]*\).*$/\1/p' "$TMP/cpu.out" \
	    2>/dev/null)
	RSS=${RSS:-unknown}
}

mib() {
	case $1 in
	unknown) echo unknown ;;
	*) awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }' ;;
	esac
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'
}

# median of the numbers on stdin
median() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-";
	    else if (NR % 2) print v[(NR + 1) / 2];
	    else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ---- (p) makespan against the proven lower bound ---------------------------
part_p() {
	echo "== (p) makespan against the proven lower bound" \
	    "(bench/makespan_bounds.py): 200 nodes of 'run: sleep X', estimates"
	echo "given, P = $PROCS, seeds $SEEDS; median wall of $ROUNDS_P" \
	    "interleaved rounds, whole command; ratio = median / bound"
	seeds=$(echo $SEEDS | tr ' ' ',')
	procs=$(echo $PROCS | tr ' ' ',')
	if ! python3 "$SRCDIR/bench/makespan_bounds.py" --seeds "$seeds" \
	    --procs "$procs" --iters 0 >"$TMP/lb.txt" 2>/dev/null; then
		echo "skipped: makespan_bounds.py failed"; echo; return
	fi
	printf '%5s %3s %-18s %9s %9s %7s\n' seed P runner median_s bound_s ratio
	for seed in $SEEDS; do
		g="--nodes 200 --seed $seed --cmd sleep --window 20"
		mkdir -p "$TMP/k$seed/mk" "$TMP/k$seed/nj"
		$GEN $g --no-stamp --format make >"$TMP/k$seed/mk/Makefile"
		$GEN $g --no-stamp --format ninja >"$TMP/k$seed/nj/build.ninja"
		for P in $PROCS; do
			lb=$(awk -v s="$seed" -v p="$P" '$1 == s && $2 == p \
			    { printf "%.3f", $6 / 1000 }' "$TMP/lb.txt")
			$GEN $g --estimates --max-parallel "$P" \
			    >"$TMP/k$seed/m$P.yaml"
			: >"$TMP/k.dagexec"; : >"$TMP/k.make"; : >"$TMP/k.ninja"
			r=0
			while [ $r -lt "$ROUNDS_P" ]; do
				r=$((r + 1))
				out=$(mktemp -d "$TMP/out.XXXXXX")
				wall "$DAGEXEC" run -j "$P" -q -o "$out" \
				    --containment rlimits "$TMP/k$seed/m$P.yaml"
				[ "$RC" = 0 ] && echo "$WALL" >>"$TMP/k.dagexec"
				rm -rf "$out"
				wall make -C "$TMP/k$seed/mk" -s -j "$P"
				[ "$RC" = 0 ] && echo "$WALL" >>"$TMP/k.make"
				if [ "$HAVE_NINJA" = 1 ]; then
					rm -f "$TMP/k$seed/nj/.ninja_log"
					wall ninja -C "$TMP/k$seed/nj" -j "$P"
					[ "$RC" = 0 ] && echo "$WALL" >>"$TMP/k.ninja"
				fi
			done
			for who in dagexec make ninja; do
				[ "$who" = ninja ] && [ "$HAVE_NINJA" != 1 ] && continue
				m=$(median <"$TMP/k.$who")
				printf '%5s %3s %-18s %9s %9s %7s\n' "$seed" "$P" \
				    "$who -j$P" "$m" "$lb" "$(ratio "$m" "$lb")"
			done
		done
	done
	[ "$HAVE_NINJA" = 1 ] || echo "ninja: skipped: not installed"
	echo
}

# ---- (q) memory at scale ---------------------------------------------------
part_q() {
	echo "== (q) peak RSS (bench/cpuof: the command's own process) of" \
	    "'dagexec validate' and 'dagexec run -j2' on N x 'argv: [true]'"
	printf '%9s %-16s %9s %9s %13s\n' nodes command wall_s rss_MiB \
	    bytes/node
	for n in $NODES_Q; do
		$GEN --nodes "$n" --seed 1 --needs 0 --cmd true >"$TMP/l.yaml"
		size=$(wc -c <"$TMP/l.yaml")
		# a million nodes are about 28 MB of YAML: over the default
		# 16 MiB bound
		ms=$(( (size / 1048576 + 2) ))M
		rss "$DAGEXEC" validate --max-size "$ms" "$TMP/l.yaml"
		printf '%9s %-16s %9s %9s %13s\n' "$n" validate "$WALL" \
		    "$(mib "$RSS")" "$( [ "$RSS" = unknown ] || \
		    awk -v k="$RSS" -v n="$n" 'BEGIN { printf "%.0f", k * 1024 / n }')"
		[ "$RC" != 0 ] && echo "  validate failed (exit $RC)"
		out=$(mktemp -d "$TMP/out.XXXXXX")
		for c in rlimits auto; do
			rss "$DAGEXEC" run -j 2 -q --containment $c \
			    --max-size "$ms" -o "$out" "$TMP/l.yaml"
			printf '%9s %-16s %9s %9s %13s\n' "$n" "run -j2 $c" \
			    "$WALL" "$(mib "$RSS")" "$( [ "$RSS" = unknown ] || \
			    awk -v k="$RSS" -v n="$n" \
			    'BEGIN { printf "%.0f", k * 1024 / n }')"
			[ "$RC" != 0 ] &&
			    echo "  run failed (exit $RC; 124: cut after $LIMIT s)"
			rm -rf "$out"
			mkdir -p "$out"
		done
		rm -rf "$out"
	done
	echo
}

# ---- (r) against make, whole command ---------------------------------------
part_r() {
	echo "== (r) N x 'argv: [true]' at -j2, whole command: median wall of" \
	    "$ROUNDS_R interleaved rounds (dagexec --containment rlimits," \
	    "dagexec-auto: the default containment, make, spawnloop in turn)"
	printf '%7s %-12s %9s %9s %9s\n' nodes runner median_s vs_make vs_spawn
	for n in $SIZES_R; do
		$GEN --nodes "$n" --seed 1 --needs 0 --cmd true >"$TMP/m.yaml"
		mkdir -p "$TMP/mk$n"
		$GEN --nodes "$n" --seed 1 --needs 0 --cmd true --no-stamp \
		    --format make >"$TMP/mk$n/Makefile"
		: >"$TMP/m.dagexec"; : >"$TMP/m.default"; : >"$TMP/m.make"
		: >"$TMP/m.spawn"
		wins=0
		r=0
		while [ $r -lt "$ROUNDS_R" ]; do
			r=$((r + 1))
			out=$(mktemp -d "$TMP/out.XXXXXX")
			wall "$DAGEXEC" run -j 2 -q --containment rlimits \
			    -o "$out" "$TMP/m.yaml"
			d=$WALL
			[ "$RC" = 0 ] && echo "$WALL" >>"$TMP/m.dagexec"
			rm -rf "$out"
			out=$(mktemp -d "$TMP/out.XXXXXX")
			wall "$DAGEXEC" run -j 2 -q -o "$out" "$TMP/m.yaml"
			[ "$RC" = 0 ] && echo "$WALL" >>"$TMP/m.default"
			rm -rf "$out"
			wall make -C "$TMP/mk$n" -s -j 2
			[ "$RC" = 0 ] && echo "$WALL" >>"$TMP/m.make"
			awk -v a="$d" -v b="$WALL" 'BEGIN { exit !(a < b) }' &&
			    wins=$((wins + 1))
			wall "$SPAWNLOOP" -j 2 -n "$n" /bin/true
			[ "$RC" = 0 ] && echo "$WALL" >>"$TMP/m.spawn"
		done
		md=$(median <"$TMP/m.dagexec")
		mdd=$(median <"$TMP/m.default")
		mm=$(median <"$TMP/m.make")
		msp=$(median <"$TMP/m.spawn")
		for who in dagexec dagexec-auto make spawnloop; do
			case $who in
			dagexec) v=$md ;; dagexec-auto) v=$mdd ;;
			make) v=$mm ;; spawnloop) v=$msp ;;
			esac
			printf '%7s %-12s %9s %9s %9s\n' "$n" "$who" "$v" \
			    "$(ratio "$v" "$mm")" "$(ratio "$v" "$msp")"
		done
		echo "$n nodes: dagexec (rlimits) faster than make in $wins of" \
		    "$ROUNDS_R rounds"
	done
	echo
}

if ! [ -x "$DAGEXEC" ] || ! [ -x "$SPAWNLOOP" ] || ! [ -x "$CPUOF" ]; then
	echo "skipped: $DAGEXEC, $SPAWNLOOP or $CPUOF is missing" \
	    "(make dagexec bench/spawnloop bench/cpuof)"
	exit 0
fi
for p in $PARTS; do
	case $p in
	p) part_p ;;
	q) part_q ;;
	r) part_r ;;
	*) echo "unknown part '$p' (p q r)"; exit 64 ;;
	esac
done
