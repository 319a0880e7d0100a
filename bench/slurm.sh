#!/bin/sh
# Slurm executor benchmark (issue 6 item 7): N one-second Slurm nodes at -j J
# through `dagexec run`, against a plain shell loop of
# `sbatch --wait --wrap 'sleep 1'` keeping J in flight (xargs -P J), on a
# private single-node cluster started by tests/slurm/start.sh with
# --cpus J (so J sleeps fit at once on a machine with fewer cores).
#
# usage: sh bench/slurm.sh BUILDDIR [SRCDIR]
#
# Environment:
#   SLURM_BENCH_N      nodes (and reference jobs), default 200
#   SLURM_BENCH_J      in flight, and the CPUs the node declares, default 16
#   SLURM_BENCH_SLEEP  seconds each job sleeps, default 1
#   SLURM_BENCH_LIMIT  wall limit of one run in seconds, default 900
#   SLURM_BENCH_ROUNDS rounds, each the reference then dagexec, default 2
#   BENCH_KEEP         set to 1 to keep the temporary directory
#
# Reports, for each runner: wall time, submissions per second sustained
# (N / wall), and the added time per node: wall * J / N - SLEEP (the time a
# slot spends on a node beyond its sleep); then dagexec's figures as ratios
# to the reference's in the same run (the best round of each: the machine
# may be shared). Skips with a plain line when not root
# or when Slurm or munge is missing. Everything lives in a mktemp -d
# directory under /tmp; the cluster is stopped by its pid files.

set -u

BUILDDIR=${1:?usage: slurm.sh BUILDDIR [SRCDIR]}
SRCDIR=${2:-$(cd "$(dirname "$0")/.." && pwd)}
DAGEXEC=$BUILDDIR/dagexec
N=${SLURM_BENCH_N:-200}
J=${SLURM_BENCH_J:-16}
SLEEP=${SLURM_BENCH_SLEEP:-1}
LIMIT=${SLURM_BENCH_LIMIT:-900}
ROUNDS=${SLURM_BENCH_ROUNDS:-2}

if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: the Slurm benchmark needs root (a private cluster runs as SlurmUser=root)"
	exit 0
fi
for c in sbatch squeue scontrol slurmctld slurmd munged mungekey; do
	if ! command -v "$c" >/dev/null 2>&1; then
		echo "skipped: the Slurm benchmark needs '$c'" \
		    "(apt-get install slurmctld slurmd slurm-client munge)"
		exit 0
	fi
done

TMP=$(mktemp -d /tmp/dagexec-slurm-bench.XXXXXX) || exit 1
chmod 755 "$TMP"	# munged: every directory above its socket a+x
SL=$TMP/slurm
cleanup() {
	sh "$SRCDIR/tests/slurm/stop.sh" "$SL" >/dev/null 2>&1
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$(date +%s%N)
if ! sh "$SRCDIR/tests/slurm/start.sh" "$SL" --cpus "$J" >"$TMP/start.log" 2>&1
then
	echo "failed: the private cluster did not start:"
	sed 's/^/  /' "$TMP/start.log" | tail -n 40
	exit 1
fi
t1=$(date +%s%N)
. "$SL/env"
export SLURM_CONF
echo "cluster: $J CPUs declared on $(nproc) cores, up (smoke job done) in" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }') s"

# measure CMD...: WALL (s), CPU (user+sys s of CMD and its children) and RC
measure() {
	a=$(date +%s%N)
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f '%U %S' -o "$TMP/time.out" "$@" \
		    >"$TMP/last.out" 2>"$TMP/last.err"
		RC=$?
		CPU=$(tail -n 1 "$TMP/time.out" |
		    awk '{ printf "%.2f", $1 + $2 }')
	else
		"$@" >"$TMP/last.out" 2>"$TMP/last.err"
		RC=$?
		CPU=unknown
	fi
	b=$(date +%s%N)
	WALL=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
}

# comps PREFIX: lines of jobcomp.txt for jobs whose name starts with PREFIX
comps() {
	grep -c " Name=$1" "$SL/log/jobcomp.txt" 2>/dev/null
}

# per-node figures of a run: submissions/s and added seconds a node
rate() { awk -v w="$1" -v n="$N" 'BEGIN { printf "%.2f", n / w }'; }
added() {
	awk -v w="$1" -v n="$N" -v j="$J" -v s="$SLEEP" \
	    'BEGIN { printf "%.3f", w * j / n - s }'
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}

# a one-node probe first: is there a Slurm executor at all?
printf 'name: probe\nnodes:\n  a: {executor: slurm, run: "true"}\n' \
    >"$TMP/probe.yaml"
mkdir -p "$TMP/probe.out"
HAVE_DAGEXEC=1
if ! "$DAGEXEC" run -q -o "$TMP/probe.out" "$TMP/probe.yaml" \
    >"$TMP/probe.log" 2>&1; then
	HAVE_DAGEXEC=0
fi

{
	echo "name: sl"
	echo "max_parallel: $J"
	echo "defaults: {executor: slurm}"
	echo "nodes:"
	i=1
	while [ $i -le "$N" ]; do
		echo "  n$i: {run: \"sleep $SLEEP\"}"
		i=$((i + 1))
	done
} >"$TMP/sl.yaml"
seq "$N" >"$TMP/ids"

row() {	# LABEL ROUND NAMEPREFIX
	printf '%-28s %5s %9s %8s %8s %12s %6s\n' "$1" "$2" "$WALL" "$CPU" \
	    "$(rate "$WALL")" "$(added "$WALL")" "$(comps "$3")"
}

# lower WALL BEST: WALL is below BEST (or BEST is empty)
lower() {
	[ -z "$2" ] || awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s %5s %9s %8s %8s %12s %6s\n' runner round wall_s cpu_s \
    subm/s added_s/node jobs
REF_BEST=
DGX_BEST=
r=1
while [ $r -le "$ROUNDS" ]; do
	# the reference: sbatch --wait, J in flight
	measure timeout -k 10 "$LIMIT" xargs -P "$J" -I '{}' \
	    sbatch --wait --quiet --job-name="ref$r/{}" --output=/dev/null \
	    --error=/dev/null --wrap "sleep $SLEEP" <"$TMP/ids"
	if [ "$RC" != 0 ]; then
		echo "reference round $r: failed (exit $RC):"
		head -n 5 "$TMP/last.err"
		exit 1
	fi
	row "sbatch --wait, xargs -P $J" "$r" "ref$r/"
	lower "$WALL" "$REF_BEST" && REF_BEST=$WALL

	# dagexec
	if [ "$HAVE_DAGEXEC" = 1 ]; then
		sed "s/^name: sl\$/name: sl$r/" "$TMP/sl.yaml" >"$TMP/sl$r.yaml"
		mkdir -p "$TMP/sl$r.out"
		measure timeout -k 10 "$LIMIT" "$DAGEXEC" run -j "$J" -q \
		    -o "$TMP/sl$r.out" "$TMP/sl$r.yaml"
		if [ "$RC" != 0 ]; then
			echo "dagexec run -j $J round $r: failed (exit $RC;" \
			    "124: cut after $LIMIT s):"
			head -n 5 "$TMP/last.err"
			exit 1
		fi
		row "dagexec run -j $J" "$r" "sl$r/"
		lower "$WALL" "$DGX_BEST" && DGX_BEST=$WALL
		[ "$(comps "sl$r/")" -eq "$N" ] || echo "note: jobcomp.txt" \
		    "holds $(comps "sl$r/") jobs of round $r, not $N"
	fi
	r=$((r + 1))
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ideal (N * SLEEP / J, no overhead): $(awk -v n="$N" -v j="$J" \
    -v s="$SLEEP" 'BEGIN { printf "%.3f", n * s / j }') s"
if [ "$HAVE_DAGEXEC" != 1 ]; then
	echo "dagexec run -j $J: skipped: the Slurm executor does not work" \
	    "(a one-node probe failed):"
	sed 's/^/  /' "$TMP/probe.log" | tail -n 5
	exit 0
fi
echo "best of $ROUNDS: reference $REF_BEST s, dagexec $DGX_BEST s"
echo "dagexec / reference (best of each): wall $(ratio "$DGX_BEST" "$REF_BEST")," \
    "submissions/s $(ratio "$(rate "$DGX_BEST")" "$(rate "$REF_BEST")")," \
    "added time a node $(ratio "$(added "$DGX_BEST")" "$(added "$REF_BEST")")"
exit 0
