#!/bin/sh
# Rerunning and reusing work: part (i) of bench/run.sh, also runnable alone.
#
# usage: bench/rerun.sh BUILDDIR [SRCDIR]
#
#   cache  a 1,000-node DAG of `run: sleep 0.01`, every node `cache: true`,
#          `dagexec run -j 2 --cache DIR`: the first run (cold, all misses)
#          against the second (all hits), with the same DAG of `argv: [true]`
#          and `--no-cache` as the reference, interleaved rounds
#   plan   `dagexec plan --json -j 2,4` on the makespan DAGs of part (d)
#          (with max_parallel: 4: without it `run` caps -j at the CPUs,
#          2 here, and `plan` does not) against the real `dagexec run -j 2`
#          and `-j 4` of the same manifest
#   keys   the cost of a cache key over 100 MiB of inputs (100 files of
#          1 MiB): a hit run with `cache: {inputs: [data/*.bin]}` against
#          the same hit without inputs, and `sha256sum` of the same files
#
# Environment:
#   RERUN_PARTS   default "cache plan keys"
#   RERUN_ROUNDS  interleaved rounds of each part, default 5 (plan: 3)
#   RERUN_NODES   nodes of the cache DAG, default 1000
#   RERUN_SEEDS   seeds of the plan DAGs, default $BENCH_SEEDS, else "1 2 3"
#   RERUN_FILES   input files of 1 MiB for keys, default 100
#   RERUN_LIMIT   wall limit of one command in seconds, default 600
#   BENCH_KEEP    1: keep the temporary directory
set -u
B=${1:?usage: rerun.sh BUILDDIR [SRCDIR]}
S=${2:-$(dirname "$0")/..}
DAGEXEC=$B/dagexec
GEN="python3 $S/bench/gen_dag.py"
PARTS=${RERUN_PARTS:-cache plan keys}
ROUNDS=${RERUN_ROUNDS:-5}
PROUNDS=${RERUN_ROUNDS:-3}
N=${RERUN_NODES:-1000}
SEEDS=${RERUN_SEEDS:-${BENCH_SEEDS:-1 2 3}}
FILES=${RERUN_FILES:-100}
LIMIT=${RERUN_LIMIT:-600}

D=$(mktemp -d "${TMPDIR:-/tmp}/dagexec-rerun.XXXXXX") || exit 1
cleanup() {
	if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# measure CMD...: WALL (s, ms resolution, date +%s%N), RC; output in
# $D/last.out and .err
measure() {
	t0=$(date +%s%N)
	timeout -k 10 "$LIMIT" "$@" >"$D/last.out" 2>"$D/last.err"
	RC=$?
	t1=$(date +%s%N)
	WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
}

# median "W W ...": the middle value (the mean of the two middle ones)
median() {
	echo "$1" | tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 }
	    END { if (NR == 0) print "unknown";
	    else if (NR % 2) printf "%.3f\n", a[(NR + 1) / 2];
	    else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'
}

verdict() {	# verdict A OP B: ok or MISSED
	if awk -v a="$1" -v b="$3" "BEGIN { exit !(a $2 b) }"; then
		echo ok
	else
		echo MISSED
	fi
}

load() { cut -d ' ' -f 1 /proc/loadavg; }

# dx J OUT MANIFEST [ARGS...]: time `dagexec run -j J -q -o OUT ARGS
# MANIFEST`; sets WALL, RC, BUNDLE and STATE (the bundle's state.yaml)
dx() {
	j=$1; o=$2; m=$3; shift 3
	rm -rf "$o"; mkdir -p "$o"
	measure "$DAGEXEC" run -j "$j" -q -o "$o" "$@" "$m"
	BUNDLE=$(tail -n 1 "$D/last.out")
	STATE=$D/state.yaml
	: >"$STATE"
	if [ "$RC" = 0 ] && [ -f "$BUNDLE" ]; then
		id=$(basename "$BUNDLE" .tar.gz)
		tar xzf "$BUNDLE" -O "$id/state.yaml" >"$STATE" 2>/dev/null
	else
		echo "dagexec run -j $j $* $m: exit $RC" >&2
		head -n 5 "$D/last.err" >&2
	fi
}
cached() { grep -c '^    cached: true' "$STATE"; }
duration() { sed -n 's/^duration_ms: //p' "$STATE" | head -n 1; }

printf 'name: probe\nnodes:\n  a:\n    argv: [true]\n' >"$D/probe.yaml"
if ! "$DAGEXEC" run -j 1 -q -o "$D" --no-cache "$D/probe.yaml" \
    >/dev/null 2>&1; then
	echo "skipped: dagexec run --no-cache not available"
	exit 0
fi

# ---- cache: fully cached second run -----------------------------------------
part_cache() {
	g="--nodes $N --seed 1 --needs 0-2 --window 10"
	$GEN $g --cmd sleep --sleep 0.01 --cache >"$D/c.yaml"
	$GEN $g --cmd true >"$D/t.yaml"
	set -- $($GEN $g --cmd sleep --sleep 0.01 --format stats)
	echo "-- cache: $N nodes of 'run: sleep 0.010', defaults {cache: true}," \
	    "needs 0-2 among the 10 before ($2 edges, depth $5, critical path" \
	    "$3 ms, work $4 ms), -j 2, $ROUNDS interleaved rounds (load $(load))"
	echo "each round: a fresh store; true = the same DAG of 'argv: [true]'" \
	    "with --no-cache; nocache = the sleep DAG with --no-cache; cold =" \
	    "first run; hit = second run; hits = nodes 'cached: true' (cold, hit)"
	printf '%5s %7s %8s %7s %7s %9s %9s %9s\n' round true_s nocache_s \
	    cold_s hit_s hit/cold hit/true hits
	AT=; AN=; AC=; AH=; AR=; bad=0
	i=0
	while [ $i -lt "$ROUNDS" ]; do
		i=$((i + 1))
		dx 2 "$D/o" "$D/t.yaml" --no-cache
		[ "$RC" = 0 ] || bad=1
		wt=$WALL
		dx 2 "$D/o" "$D/c.yaml" --no-cache
		[ "$RC" = 0 ] || bad=1
		wn=$WALL
		rm -rf "$D/store"
		dx 2 "$D/o" "$D/c.yaml" --cache "$D/store"
		[ "$RC" = 0 ] || bad=1
		wc_=$WALL; hc=$(cached)
		dx 2 "$D/o" "$D/c.yaml" --cache "$D/store"
		[ "$RC" = 0 ] || bad=1
		wh=$WALL; hh=$(cached)
		[ "$hc" = 0 ] && [ "$hh" = "$N" ] || bad=1
		r=$(ratio "$wh" "$wc_")
		printf '%5s %7s %8s %7s %7s %9s %9s %9s\n' $i "$wt" "$wn" "$wc_" \
		    "$wh" "$r" "$(ratio "$wh" "$wt")" "$hc,$hh"
		AT="$AT $wt"; AN="$AN $wn"; AC="$AC $wc_"; AH="$AH $wh"
		AR="$AR $r"
	done
	mt=$(median "$AT"); mn=$(median "$AN"); mc=$(median "$AC")
	mh=$(median "$AH"); mr=$(median "$AR")
	printf '%5s %7s %8s %7s %7s %9s %9s\n' median "$mt" "$mn" "$mc" \
	    "$mh" "$mr" "$(ratio "$mh" "$mt")"
	echo "cold / nocache (the cost of looking up and storing): $(ratio \
	    "$mc" "$mn")"
	[ $bad = 0 ] || echo "WARNING: a run failed, or cold/hit counts of" \
	    "'cached: true' are not 0/$N"
	echo "second run < 1 s: $mh s $(verdict "$mh" '<' 1)"
	echo "second run < 5% of the first: median of the rounds' ratios" \
	    "$mr $(verdict "$mr" '<' 0.05)"
	echo
}

# ---- plan: predicted against real makespan ------------------------------------
part_plan() {
	echo "-- plan: 'dagexec plan --json -j 2,4' against 'dagexec run -j P'" \
	    "on the part (d) DAGs (200 x sleep X, estimate X, needs 1-3 among" \
	    "the 20 before, max_parallel: 4), $PROUNDS rounds (load $(load))"
	echo "real = median duration_ms of state.yaml (wall: the median" \
	    "wall of the command); ratio = predicted / real"
	printf '%5s %3s %10s %9s %9s %8s %8s\n' seed P predicted real_ms \
	    wall_ms ratio vs_wall
	worst=0
	for seed in $SEEDS; do
		g="--nodes 200 --seed $seed --cmd sleep --window 20"
		$GEN $g --estimates --max-parallel 4 >"$D/p$seed.yaml"
		if ! "$DAGEXEC" plan --json -j 2,4 "$D/p$seed.yaml" \
		    >"$D/p$seed.json" 2>"$D/last.err"; then
			echo "plan failed on seed $seed:"; head -n 3 "$D/last.err"
			continue
		fi
		set -- $(python3 -c 'import json, sys
for o in json.load(open(sys.argv[1])):
    print(o["parallelism"], o["makespan_ms"])' "$D/p$seed.json")
		while [ $# -ge 2 ]; do
			eval "PR_$1=$2"; shift 2
		done
		AD2=; AD4=; AW2=; AW4=
		i=0
		while [ $i -lt "$PROUNDS" ]; do
			i=$((i + 1))
			for P in 2 4; do
				dx $P "$D/o" "$D/p$seed.yaml" --no-cache
				[ "$RC" = 0 ] || continue
				eval "AD$P=\"\$AD$P $(duration)\""
				eval "AW$P=\"\$AW$P $(awk -v w="$WALL" \
				    'BEGIN { printf "%d", w * 1000 }')\""
			done
		done
		for P in 2 4; do
			eval "pr=\${PR_$P:-unknown}; ad=\$AD$P; aw=\$AW$P"
			md=$(median "$ad" | cut -d . -f 1)
			mw=$(median "$aw" | cut -d . -f 1)
			r=$(ratio "$pr" "$md")
			printf '%5s %3s %10s %9s %9s %8s %8s\n' "$seed" $P "$pr" \
			    "$md" "$mw" "$r" "$(ratio "$pr" "$mw")"
			worst=$(awk -v r="$r" -v w="$worst" 'BEGIN {
			    d = r - 1; if (d < 0) d = -d; if (d > w) w = d;
			    printf "%.3f", w }')
		done
	done
	echo "predicted within 5% of real (duration_ms): worst |ratio - 1| =" \
	    "$worst $(verdict "$worst" '<=' 0.05)"
	echo
}

# ---- keys: hashing 100 MiB of inputs ------------------------------------------
part_keys() {
	w=$D/w
	mkdir -p "$w/data"
	i=0
	while [ $i -lt "$FILES" ]; do
		head -c 1048576 /dev/urandom >"$w/data/$(printf '%03d' $i).bin"
		i=$((i + 1))
	done
	mib=$FILES
	{
		echo "name: keys"; echo "workdir: $w"; echo "nodes:"
		echo "  h: {argv: [true], cache: {inputs: [data/*.bin]}}"
	} >"$D/k.yaml"
	{
		echo "name: keys"; echo "workdir: $w"; echo "nodes:"
		echo "  h: {argv: [true], cache: true}"
	} >"$D/k0.yaml"
	echo "-- keys: one node 'argv: [true]' with cache: {inputs: [data/*.bin]}" \
	    "over $FILES files of 1 MiB (urandom, in the page cache), -j 2," \
	    "$ROUNDS interleaved rounds (load $(load))"
	echo "hit = a cache-hit run; hit_noinputs = the same node with" \
	    "cache: true (a hit, no inputs to hash); nocache = --no-cache (runs" \
	    "true); sha256sum = sha256sum data/*.bin; key = hit - hit_noinputs"
	dx 2 "$D/o" "$D/k.yaml" --cache "$D/kstore"
	dx 2 "$D/o" "$D/k0.yaml" --cache "$D/kstore"
	have_ossl=0
	command -v openssl >/dev/null 2>&1 && have_ossl=1
	printf '%5s %8s %13s %10s %10s %10s %8s\n' round hit_s hit_noinputs_s \
	    nocache_s sha256sum_s openssl_s key_s
	AH=; A0=; AN=; AS=; AO=; AK=; bad=0
	i=0
	while [ $i -lt "$ROUNDS" ]; do
		i=$((i + 1))
		measure sh -c 'cd "$1" && sha256sum data/*.bin' sh "$w"
		[ "$RC" = 0 ] || bad=1
		ws=$WALL
		wo=-
		if [ $have_ossl = 1 ]; then
			measure sh -c 'cd "$1" && openssl dgst -sha256 data/*.bin' \
			    sh "$w"
			wo=$WALL; AO="$AO $wo"
		fi
		dx 2 "$D/o" "$D/k.yaml" --cache "$D/kstore"
		wh=$WALL; [ "$(cached)" = 1 ] || bad=1
		dx 2 "$D/o" "$D/k0.yaml" --cache "$D/kstore"
		w0=$WALL; [ "$(cached)" = 1 ] || bad=1
		dx 2 "$D/o" "$D/k.yaml" --no-cache
		wn=$WALL; [ "$RC" = 0 ] || bad=1
		k=$(awk -v a="$wh" -v b="$w0" 'BEGIN { printf "%.3f", a - b }')
		printf '%5s %8s %13s %10s %10s %10s %8s\n' $i "$wh" "$w0" "$wn" \
		    "$ws" "$wo" "$k"
		AH="$AH $wh"; A0="$A0 $w0"; AN="$AN $wn"; AS="$AS $ws"
		AK="$AK $k"
	done
	mh=$(median "$AH"); m0=$(median "$A0"); mn=$(median "$AN")
	ms=$(median "$AS"); mk=$(median "$AK")
	mo=-; [ $have_ossl = 1 ] && mo=$(median "$AO")
	printf '%5s %8s %13s %10s %10s %10s %8s\n' median "$mh" "$m0" "$mn" \
	    "$ms" "$mo" "$mk"
	[ $bad = 0 ] || echo "WARNING: a command failed or a hit was not" \
	    "'cached: true'"
	mbs() { awk -v m="$mib" -v s="$1" 'BEGIN { if (s > 0)
	    printf "%.0f", m / s; else print "-" }'; }
	echo "cache key over $mib MiB: $mk s, $(mbs "$mk") MiB/s;" \
	    "hit - nocache: $(awk -v a="$mh" -v b="$mn" \
	    'BEGIN { printf "%.3f", a - b }') s"
	echo "sha256sum: $ms s, $(mbs "$ms") MiB/s; key / sha256sum:" \
	    "$(ratio "$mk" "$ms"); hit run / sha256sum: $(ratio "$mh" "$ms")"
	[ $have_ossl = 1 ] && echo "openssl dgst -sha256: $mo s," \
	    "$(mbs "$mo") MiB/s; key / openssl: $(ratio "$mk" "$mo")"
	echo
}

echo "dagexec rerun benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'),"\
    "$(nproc) CPUs, $(uname -sr); binary: $DAGEXEC"
for p in $PARTS; do
	case $p in
	cache) part_cache ;;
	plan) part_plan ;;
	keys) part_keys ;;
	*) echo "unknown part '$p' (cache plan keys)"; exit 64 ;;
	esac
done
