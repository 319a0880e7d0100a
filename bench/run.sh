#!/bin/sh
# dagexec benchmarks: `make bench` runs `sh bench/run.sh BUILDDIR SRCDIR`.
# Never part of `make check`. Prints tables; writes nothing into the tree.
# See bench/README.md for what each part measures.
#
# Environment:
#   BENCH_PARTS   parts to run, default "a b c d e f g h i j k l o p q r"
#   BENCH_SEEDS   seeds of the makespan DAGs (part d), default "1 2 3"
#   BENCH_KEEP    set to 1 to keep the temporary directory
#   BENCH_TIMEOUT wall limit of one `dagexec run` in seconds, default 1200;
#                 a run cut by it shows as "failed (exit 124)"
#   BENCH_VALIDATE  command timed in part (a) instead of "BUILDDIR/dagexec
#                 validate" (e.g. a driver calling manifest_load), word-split
#   BENCH_ROUNDS_B  interleaved rounds of part (b), default 5
#   BENCH_ROUNDS_C  rounds of part (c), default 3
#   BENCH_NODES_B   nodes of part (b) (and the small side of (c)), default 10000
#   BENCH_NODES_C   nodes of the large side of part (c), default 100000
#   BENCH_BEFORE  an older dagexec binary part (i) compares with (optional)

set -u

BUILDDIR=${1:?usage: run.sh BUILDDIR SRCDIR}
SRCDIR=${2:?usage: run.sh BUILDDIR SRCDIR}
DAGEXEC=$BUILDDIR/dagexec
SPAWNLOOP=$BUILDDIR/bench/spawnloop
CPUOF=$BUILDDIR/bench/cpuof
GEN="python3 $SRCDIR/bench/gen_dag.py"
PARTS=${BENCH_PARTS:-a b c d e f g h i j k l o p q r}
SEEDS=${BENCH_SEEDS:-1 2 3}
LIMIT=${BENCH_TIMEOUT:-1200}
ROUNDS_B=${BENCH_ROUNDS_B:-5}
ROUNDS_C=${BENCH_ROUNDS_C:-3}
NB=${BENCH_NODES_B:-10000}
NC=${BENCH_NODES_C:-100000}
for v in "$ROUNDS_B" "$ROUNDS_C" "$NB" "$NC"; do
	case $v in
	''|*[!0-9]*|0*)
		echo "BENCH_ROUNDS_B, _C and BENCH_NODES_B, _C must be" \
		    "positive integers, not '$v'"
		exit 64 ;;
	esac
done

TMP=$(mktemp -d /tmp/dagexec-bench.XXXXXX) || exit 1
cleanup() {
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# learned estimates go into a history of the bench's own: a DAG named
# `bench` of 100,000 nodes must not leave its history to the next part's
XDG_STATE_HOME=$TMP/state
export XDG_STATE_HOME

if [ -x /usr/bin/time ]; then
	HAVE_TIME=1
else
	HAVE_TIME=0
	echo "note: /usr/bin/time is missing: peak RSS unknown outside" \
	    "bench/cpuof"
fi

# bench/cpuof: the runner's own CPU time in parts (b) and (c)
HAVE_CPUOF=0
if [ -x "$CPUOF" ] && "$CPUOF" -o "$TMP/cpuof.probe" true 2>/dev/null &&
    grep -q '^self_ms=[0-9]' "$TMP/cpuof.probe"; then
	HAVE_CPUOF=1
else
	echo "note: $CPUOF is missing or fails (make bench/cpuof):" \
	    "self CPU unknown"
fi

# measure CMD...: run it with stdout and stderr into $TMP/last.out and
# .err; sets WALL (seconds, ms resolution, from date +%s%N), RSS (peak KiB
# from /usr/bin/time, or "unknown") and RC.
measure() {
	t0=$(date +%s%N)
	if [ "$HAVE_TIME" = 1 ]; then
		/usr/bin/time -f '%M' -o "$TMP/time.out" "$@" \
		    >"$TMP/last.out" 2>"$TMP/last.err"
		RC=$?
	else
		"$@" >"$TMP/last.out" 2>"$TMP/last.err"
		RC=$?
	fi
	t1=$(date +%s%N)
	WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	RSS=unknown
	if [ "$HAVE_TIME" = 1 ]; then
		RSS=$(tail -n 1 "$TMP/time.out")
	fi
}

# field NAME FILE: the number after NAME= in cpuof's line, or "unknown"
field() {
	v=$(sed -n "s/^.*$1=\([0-9][0-9]*\).*\$/\1/p" "$2" 2>/dev/null)
	echo "${v:-unknown}"
}

# measure_cpu LIMIT CMD...: as measure, with CMD run under bench/cpuof
# (inside `timeout LIMIT` unless LIMIT is -); also sets SELF, the ms of CPU
# CMD's own process spent (all its threads, not its children), or
# "unknown". RSS then comes from cpuof (the same wait4 figure as
# /usr/bin/time's). Without cpuof: measure, and SELF=unknown.
measure_cpu() {
	lim=$1
	shift
	if [ "$HAVE_CPUOF" != 1 ]; then
		if [ "$lim" = - ]; then
			measure "$@"
		else
			measure timeout -k 30 "$lim" "$@"
		fi
		SELF=unknown
		return
	fi
	rm -f "$TMP/cpu.out"
	t0=$(date +%s%N)
	if [ "$lim" = - ]; then
		"$CPUOF" -o "$TMP/cpu.out" "$@" >"$TMP/last.out" 2>"$TMP/last.err"
		RC=$?
	else
		timeout -k 30 "$lim" "$CPUOF" -o "$TMP/cpu.out" "$@" \
		    >"$TMP/last.out" 2>"$TMP/last.err"
		RC=$?
	fi
	t1=$(date +%s%N)
	WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	SELF=$(field self_ms "$TMP/cpu.out")
	RSS=$(field maxrss_kb "$TMP/cpu.out")
}

# best of three wall times (RSS of the fastest run)
measure3() {
	bw=; br=; brc=0
	for _ in 1 2 3; do
		measure "$@"
		[ "$RC" != 0 ] && brc=$RC
		if [ -z "$bw" ] || awk -v a="$WALL" -v b="$bw" \
		    'BEGIN { exit !(a < b) }'; then
			bw=$WALL; br=$RSS
		fi
	done
	WALL=$bw; RSS=$br; RC=$brc
}

mib() {
	if [ "$1" = unknown ]; then
		echo unknown
	else
		awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
	fi
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}

# verdict 1|0: print "ok" or "MISSED"
verdict() {
	if [ "$1" = 1 ]; then echo ok; else echo MISSED; fi
}

lt() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'
}

echo "dagexec benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs,"\
    "$(uname -sr)"
echo "binary: $DAGEXEC"
echo

# Does `dagexec run` work? A one-node manifest must run and exit 0.
RUN_OK=0
printf 'name: probe\nnodes:\n  a:\n    argv: [true]\n' >"$TMP/probe.yaml"
mkdir -p "$TMP/probe.out"
if "$DAGEXEC" run -j 1 -q -o "$TMP/probe.out" "$TMP/probe.yaml" \
    >"$TMP/probe.log" 2>&1; then
	RUN_OK=1
fi
VALIDATE=${BENCH_VALIDATE:-$DAGEXEC validate}
VALIDATE_OK=0
if $VALIDATE "$TMP/probe.yaml" >/dev/null 2>&1; then
	VALIDATE_OK=1
fi

# run_dagexec J MANIFEST [cpu]: a fresh output directory each time; with
# cpu, under bench/cpuof (measure_cpu)
run_dagexec() {
	out=$(mktemp -d "$TMP/out.XXXXXX")
	if [ "${3:-}" = cpu ]; then
		measure_cpu "$LIMIT" "$DAGEXEC" run -j "$1" -q -o "$out" "$2"
	else
		measure timeout -k 30 "$LIMIT" "$DAGEXEC" run -j "$1" -q \
		    -o "$out" "$2"
	fi
	[ "$RC" = 124 ] && echo "dagexec run -j $1 on $2: cut after $LIMIT s" >&2
	BUNDLE=$(tail -n 1 "$TMP/last.out")
}

# run_tool TOOL J DIR [cpu]: make or ninja in DIR (its generated file is
# there); with cpu, under bench/cpuof (measure_cpu)
run_tool() {
	(cd "$3" && rm -f ./*.stamp .ninja_log .ninja_deps)
	m=measure
	[ "${4:-}" = cpu ] && m="measure_cpu -"
	case $1 in
	make)	$m make -C "$3" -s -j "$2" ;;
	ninja)	$m ninja -C "$3" -j "$2" ;;
	esac
	if [ "$RC" != 0 ]; then
		echo "$1 -j$2 in $3 failed (exit $RC):" >&2
		head -n 5 "$TMP/last.err" >&2
	fi
}

HAVE_NINJA=0
command -v ninja >/dev/null 2>&1 && HAVE_NINJA=1

# ---- (a) validate ---------------------------------------------------------
part_a() {
	echo "== (a) validate: random DAGs, 1-3 needs a node, best of 3"
	echo "command: $VALIDATE"
	if [ "$VALIDATE_OK" != 1 ]; then
		echo "skipped: dagexec validate not available"
		echo
		return
	fi
	printf '%8s %10s %9s %10s\n' nodes bytes wall_s rss_MiB
	for n in 1000 10000 100000; do
		$GEN --nodes $n --seed 1 --needs 1-3 >"$TMP/v$n.yaml"
		measure3 $VALIDATE "$TMP/v$n.yaml"
		if [ "$RC" != 0 ]; then
			echo "validate failed on $n nodes (exit $RC):"
			head -n 5 "$TMP/last.err"
			echo
			return
		fi
		printf '%8s %10s %9s %10s\n' $n "$(wc -c <"$TMP/v$n.yaml")" \
		    "$WALL" "$(mib "$RSS")"
		eval "VW_$n=\$WALL; VR_$n=\$RSS"
	done
	r=$(ratio "$VW_100000" "$VW_10000")
	ok=0; lt "$VW_100000" 1 && ok=1
	echo "100k wall < 1 s: $VW_100000 s $(verdict $ok)"
	if [ "$VR_100000" != unknown ]; then
		ok=0; lt "$VR_100000" $((150 * 1024)) && ok=1
		echo "100k peak RSS < 150 MiB: $(mib "$VR_100000") MiB" \
		    "$(verdict $ok)"
	fi
	ok=0; lt "$r" 12.0001 && ok=1
	echo "time ratio 100k/10k <= 12: $r $(verdict $ok)"
	echo
}

# ---- (b) overhead ---------------------------------------------------------
# keep KEY: remember the fastest wall of the rounds as B_KEY and its RSS as
# R_KEY, and the least self CPU of the rounds (ms) as C_KEY; a failed round
# as F_KEY (its exit status)
keep() {
	if [ "$RC" != 0 ]; then
		eval "F_$1=\$RC"
		return
	fi
	eval "old=\${B_$1:-}; oldc=\${C_$1:-}"
	eval "A_$1=\"\${A_$1:-} \$WALL\""
	if [ -z "$old" ] || lt "$WALL" "$old"; then
		eval "B_$1=\$WALL; R_$1=\$RSS"
	fi
	if [ "${SELF:-unknown}" != unknown ] &&
	    { [ -z "$oldc" ] || [ "$SELF" -lt "$oldc" ]; }; then
		eval "C_$1=\$SELF"
	fi
}

# median "W W W ...": the middle wall time (the mean of the two middle ones)
median() {
	echo "$1" | tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 }
	    END { if (NR == 0) print "unknown";
	    else if (NR % 2) printf "%.3f\n", a[(NR + 1) / 2];
	    else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# wins "A..." "B...": in how many rounds the first runner's wall time was
# below the second's (the lists in round order)
wins() {
	printf '%s\n%s\n' "$1" "$2" | awk 'NR == 1 { n = split($0, a, " ") }
	    NR == 2 { m = split($0, b, " "); if (m < n) n = m; w = 0;
	    for (i = 1; i <= n; i++) if (a[i] + 0 < b[i] + 0) w++;
	    printf "%d of %d\n", w, n }'
}

# perus MS N: MS milliseconds over N nodes in microseconds a node
perus() {
	if [ "$1" = unknown ]; then
		echo unknown
	else
		awk -v m="$1" -v n="$2" 'BEGIN { printf "%.1f", m * 1000 / n }'
	fi
}

# kn N: 10000 -> 10k
kn() {
	awk -v n="$1" 'BEGIN { if (n % 1000 == 0) printf "%dk\n", n / 1000;
	    else print n }'
}

# row LABEL KEY BASE N: one line of the table (BASE: spawnloop's wall)
row() {
	eval "w=\${B_$2:-}; r=\${R_$2:-}; f=\${F_$2:-}; c=\${C_$2:-unknown}"
	eval "all=\${A_$2:-}"
	if [ -n "$f" ]; then
		printf '%-22s failed (exit %s)\n' "$1" "$f"
	elif [ -n "$w" ]; then
		printf '%-22s %9s %10s %8s %9s %11s %11s\n' "$1" "$w" \
		    "$(mib "$r")" "$(ratio "$w" "$3")" "$(median "$all")" "$c" \
		    "$(perus "$c" "$4")"
	fi
}

# overhead N ROUNDS all|dagexec: every runner (all) or spawnloop and
# dagexec on N nodes, interleaved, ROUNDS times, each under bench/cpuof;
# sets B_spawn_N, C_spawn_N, B_dagexec_N, ... (see keep)
overhead() {
	n=$1
	$GEN --nodes $n --seed 1 --needs 0 --max-parallel 2 >"$TMP/o$n.yaml"
	mkdir -p "$TMP/mk$n" "$TMP/nj$n"
	$GEN --nodes $n --seed 1 --needs 0 --no-stamp --format make \
	    >"$TMP/mk$n/Makefile"
	$GEN --nodes $n --seed 1 --needs 0 --no-stamp --format ninja \
	    >"$TMP/nj$n/build.ninja"
	i=0
	while [ $i -lt "$2" ]; do
		i=$((i + 1))
		measure_cpu - "$SPAWNLOOP" -j 2 -n $n /bin/true
		keep spawn_$n
		if [ "$RUN_OK" = 1 ]; then
			run_dagexec 2 "$TMP/o$n.yaml" cpu
			keep dagexec_$n
		fi
		if [ "$3" = all ]; then
			run_tool make 2 "$TMP/mk$n" cpu
			keep make_$n
			if [ "$HAVE_NINJA" = 1 ]; then
				run_tool ninja 2 "$TMP/nj$n" cpu
				keep ninja_$n
			fi
		fi
	done
}

part_b() {
	echo "== (b) overhead: $NB nodes of 'argv: [true]', no needs, -j2," \
	    "$ROUNDS_B interleaved rounds:"
	echo "fastest wall (its RSS), median wall and least self CPU (the" \
	    "runner's own process, not its children; bench/cpuof) of the rounds"
	overhead "$NB" "$ROUNDS_B" all
	eval "base=\${B_spawn_$NB:-}"
	if [ -z "$base" ]; then
		eval "echo \"spawnloop failed (exit \${F_spawn_$NB:-?})\""
		echo
		return
	fi
	printf '%-22s %9s %10s %8s %9s %11s %11s\n' runner wall_s rss_MiB \
	    vs_spawn median_s self_cpu_ms cpu_us/node
	row "spawnloop -j2" spawn_$NB "$base" "$NB"
	if [ "$RUN_OK" = 1 ]; then
		row "dagexec run -j2" dagexec_$NB "$base" "$NB"
	else
		echo "dagexec run -j2: skipped: dagexec run not available"
	fi
	row "make -j2" make_$NB "$base" "$NB"
	if [ "$HAVE_NINJA" = 1 ]; then
		row "ninja -j2" ninja_$NB "$base" "$NB"
	else
		echo "ninja -j2: skipped: ninja not installed"
	fi
	if [ "$RUN_OK" = 1 ]; then
		eval "echo \"rounds in which dagexec was faster than make -j2:" \
		    "\$(wins \"\${A_dagexec_$NB:-}\" \"\${A_make_$NB:-}\")\""
	fi
	echo
}

# ---- (c) growth -----------------------------------------------------------
part_c() {
	kb=$(kn "$NB")
	kc=$(kn "$NC")
	echo "== (c) growth: per-node overhead over spawnloop, $NC vs $NB" \
	    "nodes, -j2, fastest wall and least self CPU of $ROUNDS_C rounds"
	if [ "$RUN_OK" != 1 ]; then
		echo "skipped: dagexec run not available"; echo; return
	fi
	eval "have=\${B_dagexec_$NB:-}"
	[ -z "$have" ] && overhead "$NB" "$ROUNDS_C" dagexec
	overhead "$NC" "$ROUNDS_C" dagexec
	eval "db=\${B_dagexec_$NB:-}; dc=\${B_dagexec_$NC:-}"
	eval "sb=\${B_spawn_$NB:-}; sc=\${B_spawn_$NC:-}"
	eval "rb=\${R_dagexec_$NB:-unknown}; rc=\${R_dagexec_$NC:-unknown}"
	eval "cb=\${C_dagexec_$NB:-unknown}; cc=\${C_dagexec_$NC:-unknown}"
	if [ -z "$db" ] || [ -z "$dc" ] || [ -z "$sb" ] || [ -z "$sc" ]; then
		eval "echo \"a run failed: dagexec exit \${F_dagexec_$NC:-}" \
		    "\${F_dagexec_$NB:-}, spawnloop exit \${F_spawn_$NC:-}" \
		    "\${F_spawn_$NB:-} (124: cut after $LIMIT s)\""
		echo; return
	fi
	pb=$(awk -v a="$db" -v b="$sb" -v n="$NB" \
	    'BEGIN { printf "%.1f", (a - b) / n * 1e6 }')
	pc=$(awk -v a="$dc" -v b="$sc" -v n="$NC" \
	    'BEGIN { printf "%.1f", (a - b) / n * 1e6 }')
	ub=$(perus "$cb" "$NB")
	uc=$(perus "$cc" "$NC")
	printf '%8s %10s %12s %17s %8s %12s %12s\n' nodes dagexec_s \
	    spawnloop_s overhead_us/node rss_MiB self_cpu_ms cpu_us/node
	printf '%8s %10s %12s %17s %8s %12s %12s\n' "$NB" "$db" "$sb" "$pb" \
	    "$(mib "$rb")" "$cb" "$ub"
	printf '%8s %10s %12s %17s %8s %12s %12s\n' "$NC" "$dc" "$sc" "$pc" \
	    "$(mib "$rc")" "$cc" "$uc"
	echo "per-node overhead ratio $kc/$kb (wall): $(ratio "$pc" "$pb")"
	if [ "$ub" = unknown ] || [ "$uc" = unknown ]; then
		echo "self CPU a node, $kc/$kb: unknown"
	else
		echo "self CPU a node, $kc/$kb:" \
		    "$(ratio $((cc * NB)) $((cb * NC)))"
	fi
	echo
}

# ---- (d) makespan ---------------------------------------------------------
# bound P: max(critical path, total work / P) in seconds, from gen stats
part_d() {
	echo "== (d) makespan: 200 nodes of 'run: sleep X', X in 0.01-0.2 s," \
	    "estimate = X, needs 1-3 among the 20 previous"
	echo "ratio = makespan / max(critical path, total work / P);" \
	    "makespan = wall time of the whole command;"
	echo "ideal = list schedule simulated by gen_dag.py --format sim" \
	    "(no overhead)"
	printf '%5s %3s %-26s %9s %9s %7s\n' seed P runner makespan bound ratio
	for seed in $SEEDS; do
		g="--nodes 200 --seed $seed --cmd sleep --window 20"
		set -- $($GEN $g --format stats)
		crit=$3; total=$4
		for P in 2 4; do
			bound=$(awk -v c="$crit" -v t="$total" -v p="$P" \
			    'BEGIN { b = t / p; if (c > b) b = c;
			    printf "%.3f", b / 1000 }')
			set -- $($GEN $g --format sim --procs $P)
			for x in "critical-path:$1" "index order:$2" "waves:$3" \
			    "best of 1000 lists:$4"; do
				v=$(awk -v m="${x##*:}" 'BEGIN { printf "%.3f", m / 1000 }')
				printf '%5s %3s %-26s %9s %9s %7s\n' "$seed" "$P" \
				    "ideal ${x%%:*}" "$v" "$bound" "$(ratio "$v" "$bound")"
			done
			if [ "$RUN_OK" = 1 ]; then
				for sch in critical-path waves; do
					$GEN $g --estimates --max-parallel $P \
					    --schedule $sch \
					    >"$TMP/m$seed.$P.$sch.yaml"
					run_dagexec $P "$TMP/m$seed.$P.$sch.yaml"
					if [ "$RC" != 0 ]; then
						printf '%5s %3s %-26s failed (exit %s)\n' \
						    "$seed" "$P" "dagexec $sch" "$RC"
						continue
					fi
					printf '%5s %3s %-26s %9s %9s %7s\n' \
					    "$seed" "$P" "dagexec $sch" "$WALL" \
					    "$bound" "$(ratio "$WALL" "$bound")"
				done
			else
				printf '%5s %3s %-26s skipped: dagexec run not available\n' \
				    "$seed" "$P" "dagexec"
			fi
			mkdir -p "$TMP/mm$seed"
			$GEN $g --no-stamp --format make >"$TMP/mm$seed/Makefile"
			run_tool make $P "$TMP/mm$seed"
			printf '%5s %3s %-26s %9s %9s %7s\n' "$seed" "$P" \
			    "make -j$P" "$WALL" "$bound" "$(ratio "$WALL" "$bound")"
			if [ "$HAVE_NINJA" = 1 ]; then
				mkdir -p "$TMP/nm$seed"
				$GEN $g --no-stamp --format ninja >"$TMP/nm$seed/build.ninja"
				run_tool ninja $P "$TMP/nm$seed"
				printf '%5s %3s %-26s %9s %9s %7s\n' "$seed" "$P" \
				    "ninja -j$P" "$WALL" "$bound" \
				    "$(ratio "$WALL" "$bound")"
			fi
		done
	done
	echo
}

# ---- (h) cycles -----------------------------------------------------------
# ring_yaml N FILE: node i needs node i - 1 and node 0 the last, one cycle
# of N nodes; chain_yaml N FILE: the same without the need of node 0
# (padded to the same bytes)
ring_yaml() {
	awk -v n="$1" 'BEGIN {
		print "name: ring"; print "nodes:"
		for (i = 0; i < n; i++)
			printf "  n%d: {run: \"true\", needs: [n%d]}\n", i, (i + n - 1) % n
	}' >"$2"
}
chain_yaml() {
	awk -v n="$1" 'BEGIN {
		print "name: ring"; print "nodes:"
		for (i = 0; i < n; i++)
			if (i == 0) printf "  n0: {run: \"true\", needs: [%*s]}\n", length("n" (n - 1)), ""
			else printf "  n%d: {run: \"true\", needs: [n%d]}\n", i, i - 1
	}' >"$2"
}

part_h() {
	echo "== (h) cycles: validate one cycle of N nodes against a chain of" \
	    "N nodes, same bytes, best of 3"
	if [ "$VALIDATE_OK" != 1 ]; then
		echo "skipped: dagexec validate not available"
		echo
		return
	fi
	printf '%8s %10s %9s %9s %7s\n' nodes bytes cycle_s chain_s ratio
	for n in 100000 330000; do
		ring_yaml $n "$TMP/ring$n.yaml"
		chain_yaml $n "$TMP/chain$n.yaml"
		measure3 $VALIDATE "$TMP/ring$n.yaml"
		if [ "$RC" != 65 ]; then
			echo "validate of the $n-node cycle: exit $RC, wanted 65:"
			head -c 300 "$TMP/last.err"
			echo
			return
		fi
		cw=$WALL
		measure3 $VALIDATE "$TMP/chain$n.yaml"
		if [ "$RC" != 0 ]; then
			echo "validate of the $n-node chain failed (exit $RC)"
			echo
			return
		fi
		r=$(ratio "$cw" "$WALL")
		printf '%8s %10s %9s %9s %7s\n' $n "$(wc -c <"$TMP/ring$n.yaml")" \
		    "$cw" "$WALL" "$r"
		eval "HR_$n=\$r"
	done
	ok=0; lt "$HR_330000" 3.0001 && ok=1
	echo "time ratio cycle/chain at 330k <= 3: $HR_330000 $(verdict $ok)"
	echo
}

for p in $PARTS; do
	case $p in
	a) part_a ;;
	b) part_b ;;
	c) part_c ;;
	d) part_d ;;
	e) echo "== (e) learned estimates under watch"
	   sh "$SRCDIR/bench/learned.sh" "$BUILDDIR"; echo ;;
	f) echo "== (f) spool daemon: drop latency and throughput"
	   sh "$SRCDIR/bench/spool.sh" "$BUILDDIR"; echo ;;
	g) echo "== (g) Slurm executor: 200 one-second nodes at -j 16 against" \
	       "sbatch --wait"
	   sh "$SRCDIR/bench/slurm.sh" "$BUILDDIR" "$SRCDIR"; echo ;;
	h) part_h ;;
	i) echo "== (i) supervisors: what a process a job costs under watch"
	   sh "$SRCDIR/bench/supervisor.sh" "$BUILDDIR" "$SRCDIR"; echo ;;
	j) echo "== (j) rerunning and reusing work: cached second run," \
	       "plan's accuracy, cost of cache keys"
	   sh "$SRCDIR/bench/rerun.sh" "$BUILDDIR" "$SRCDIR"; echo ;;
	k) echo "== (k) containment: what a Landlock sandbox costs a node"
	   sh "$SRCDIR/bench/sandbox.sh" "$BUILDDIR" "$SRCDIR"; echo ;;
	l) echo "== (l) containment: what a cgroup an attempt costs"
	   sh "$SRCDIR/bench/cgroup.sh" "$BUILDDIR" "$SRCDIR"; echo ;;
	o) echo "== (o) fan-out: a 10,000-instance foreach against 10,000" \
	       "written-out nodes"
	   sh "$SRCDIR/bench/foreach.sh" "$BUILDDIR" "$SRCDIR"; echo ;;
	p|q|r) SCALE_PARTS=$p sh "$SRCDIR/bench/scale.sh" "$BUILDDIR" \
	       "$SRCDIR" ;;
	*) echo "unknown part '$p' (a b c d e f g h i j k l o p q r)"; exit 64 ;;
	esac
done
