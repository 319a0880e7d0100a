#!/bin/sh
# Spool daemon benchmarks (issue 4 item 11): drop-to-first-node-start
# latency and throughput of `dagexec watch`, against task-spooler and
# at-style one-at-a-time `dagexec run`.
#
# usage: sh bench/spool.sh BUILDDIR
#
# Environment:
#   SPOOL_LAT_N     drops for the latency part, default 200
#   SPOOL_LAT_GAP   seconds between two drops, default 0.02
#   SPOOL_TP_N      manifests for the throughput part, default 1000
#   SPOOL_SEQ_N     manifests run one at a time by `dagexec run`, default
#                   1000 (a smaller sample is scaled to SPOOL_TP_N)
#   SPOOL_PARTS     parts to run, default "lat tp tsp seq"
#   SPOOL_LIMIT     wall limit of one wait in seconds, default 300
#   SPOOL_BENCH_DIR where the temporary directory goes, default /tmp (the
#                   spool's file system is most of the latency: try
#                   /dev/shm to see the daemon without disk)
#   BENCH_KEEP      set to 1 to keep the temporary directory
#
# Everything lives in a mktemp -d directory under /tmp (a fresh spool for
# each daemon), removed at the end; only the daemons and the task-spooler
# server this script started are stopped, by their process ids.

set -u

BUILDDIR=${1:?usage: spool.sh BUILDDIR}
DAGEXEC=$BUILDDIR/dagexec
LAT_N=${SPOOL_LAT_N:-200}
LAT_GAP=${SPOOL_LAT_GAP:-0.02}
TP_N=${SPOOL_TP_N:-1000}
SEQ_N=${SPOOL_SEQ_N:-1000}
PARTS=${SPOOL_PARTS:-lat tp tsp seq}
LIMIT=${SPOOL_LIMIT:-300}

TMP=$(mktemp -d "${SPOOL_BENCH_DIR:-/tmp}/dagexec-spool-bench.XXXXXX") || exit 1
DPID=
TSP_UP=0
cleanup() {
	stop_daemon
	if [ "$TSP_UP" = 1 ]; then
		TS_SOCKET=$TMP/tsp.socket tsp -K >/dev/null 2>&1
	fi
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- helpers -------------------------------------------------------------
# stamp: "now FILE" writes CLOCK_REALTIME in ns into FILE (a node's start);
# "drop SRC DST" prints the time, then rename(2)s SRC to DST; "dropall SRC
# DST" renames every file of directory SRC into DST and prints the time
# before the first rename. Compiled here; without cc, date and mv stand in.
cat >"$TMP/stamp.c" <<'EOF'
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	char buf[64], a[4096], b[4096];
	long long t;
	struct dirent *e;
	DIR *d;
	int fd, n;

	if (argc == 3 && strcmp(argv[1], "now") == 0) {
		t = now();
		n = snprintf(buf, sizeof buf, "%lld\n", t);
		fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, buf, n) != n || close(fd) != 0)
			return 1;
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "drop") == 0) {
		t = now();
		if (rename(argv[2], argv[3]) != 0)
			return 1;
		printf("%lld\n", t);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "dropall") == 0) {
		if ((d = opendir(argv[2])) == NULL)
			return 1;
		t = now();
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(a, sizeof a, "%s/%s", argv[2], e->d_name);
			snprintf(b, sizeof b, "%s/%s", argv[3], e->d_name);
			if (rename(a, b) != 0)
				return 1;
		}
		printf("%lld %lld\n", t, now());
		closedir(d);
		return 0;
	}
	return 64;
}
EOF
STAMP=$TMP/stamp
if ! ${CC:-cc} -O2 -o "$STAMP" "$TMP/stamp.c" 2>"$TMP/cc.err"; then
	echo "note: cannot compile the stamp helper: date +%s%N and mv" \
	    "stand in (a few ms of fork and exec in every figure)"
	cat >"$STAMP" <<'EOF'
#!/bin/sh
case $1 in
now)	date +%s%N >"$2" ;;
drop)	date +%s%N; mv "$2" "$3" ;;
dropall) t=$(date +%s%N); mv "$2"/* "$3"/; echo "$t $(date +%s%N)" ;;
esac
EOF
	chmod +x "$STAMP"
fi

nsnow() { date +%s%N; }

# start_daemon SPOOL [OPTIONS...]: a daemon on SPOOL, its pid in DPID
start_daemon() {
	sp=$1; shift
	mkdir -p "$sp"
	"$DAGEXEC" watch -s "$sp" "$@" 2>"$sp.log" &
	DPID=$!
	# ready once it has created its sub-directories and logged its start
	i=0
	while ! grep -q ' watch spool=' "$sp.log" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 "$DPID" 2>/dev/null; then
			echo "dagexec watch did not start:"; cat "$sp.log"
			DPID=; return 1
		fi
		sleep 0.05
	done
}

stop_daemon() {
	if [ -n "$DPID" ]; then
		kill -TERM "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
		DPID=
	fi
}

# count DIR: files in DIR (no dot files)
count() {
	set -- "$1"/*
	if [ -e "$1" ]; then echo $#; else echo 0; fi
}

# wait_count DIR N: until DIR holds N files or SPOOL_LIMIT passes; 0 if done
wait_count() {
	deadline=$(( $(date +%s) + LIMIT ))
	while [ "$(count "$1")" -lt "$2" ]; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			echo "timed out after $LIMIT s: $(count "$1") of $2 in $1"
			return 1
		fi
		sleep 0.05
	done
}

# newest_mtime DIR: the latest modification time in DIR, in ns
newest_mtime() {
	stat -c %.9Y "$1"/* | sort -n | tail -n 1 | tr -d .
}

secs() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'
}

echo "dagexec spool benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')," \
    "$(nproc) CPUs, $(uname -sr)"
echo "binary: $DAGEXEC; temp: $TMP ($(df -T "$TMP" | awk 'NR==2 {print $2}'))"
echo

# ---- latency -------------------------------------------------------------
part_lat() {
	echo "== latency: $LAT_N drops of a one-node manifest, $LAT_GAP s" \
	    "apart, watch with default options"
	echo "drop time: clock_gettime just before rename(2) into incoming/;"
	echo "start time: clock_gettime in the node (argv: [stamp, now, FILE])"
	sp=$TMP/lat.spool
	res=$TMP/lat.res
	mkdir -p "$res"
	start_daemon "$sp" || return
	: >"$TMP/lat.drops"
	i=0
	while [ $i -lt "$LAT_N" ]; do
		i=$((i + 1))
		f=$sp/tmp/lat$i.yaml
		printf 'name: lat\nnodes:\n  a:\n    argv: [%s, now, %s/%s]\n' \
		    "$STAMP" "$res" $i >"$f"
		t=$("$STAMP" drop "$f" "$sp/incoming/lat$i.yaml") || {
			echo "drop $i failed"; return; }
		echo "$i $t" >>"$TMP/lat.drops"
		sleep "$LAT_GAP"
	done
	wait_count "$res" "$LAT_N" || { stop_daemon; return; }
	wait_count "$sp/done" "$LAT_N"
	stop_daemon
	while read -r i t; do
		echo "$t $(cat "$res/$i")"
	done <"$TMP/lat.drops" | awk '{ printf "%.3f\n", ($2 - $1) / 1e6 }' |
	    sort -n >"$TMP/lat.ms"
	awk '{ v[NR] = $1 } END {
		n = NR
		med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		k = int(0.99 * n); if (k < 0.99 * n) k++
		printf "%6s %9s %9s %9s %9s %9s\n", "drops", "min_ms", \
		    "median_ms", "p90_ms", "p99_ms", "max_ms"
		k9 = int(0.9 * n); if (k9 < 0.9 * n) k9++
		printf "%6d %9.2f %9.2f %9.2f %9.2f %9.2f\n", n, v[1], med, \
		    v[k9], v[k], v[n]
		printf "median < 10 ms: %s\n", med < 10 ? "ok" : "MISSED"
	}' "$TMP/lat.ms"
	echo
}

# ---- throughput ----------------------------------------------------------
# stage DIR N: N three-node manifests (a -> b -> c, each /bin/true) in DIR
stage() {
	mkdir -p "$1"
	m='name: tp
nodes:
  a:
    argv: [/bin/true]
  b:
    argv: [/bin/true]
    needs: [a]
  c:
    argv: [/bin/true]
    needs: [b]
'
	i=0
	while [ $i -lt "$2" ]; do
		i=$((i + 1))
		printf '%s' "$m" >"$1/tp$(printf %04d $i).yaml"
	done
}

# watch_tp MAXJOBS: sets TP_RATE and TP_WALL
watch_tp() {
	sp=$TMP/tp$1.spool
	TP_RATE=; TP_WALL=
	start_daemon "$sp" --max-jobs "$1" || return
	stage "$TMP/stage$1" "$TP_N"
	set -- $("$STAMP" dropall "$TMP/stage$1" "$sp/incoming")
	t0=$1
	if ! wait_count "$sp/done" "$TP_N"; then
		stop_daemon; return
	fi
	t1=$(newest_mtime "$sp/done")
	stop_daemon
	nf=$(grep -c 'done status=' "$sp.log")
	ns=$(grep -c 'done status=succeeded' "$sp.log")
	[ "$nf" != "$ns" ] && echo "note: $((nf - ns)) of $nf jobs did not succeed"
	TP_WALL=$(secs "$t0" "$t1")
	TP_RATE=$(awk -v n="$TP_N" -v w="$TP_WALL" 'BEGIN { printf "%.1f", n / w }')
}

tp_row() {
	printf '%-40s %9s %9s\n' "$1" "$2" "$3"
}

part_tp() {
	echo "== throughput: $TP_N manifests a -> b -> c (argv: [/bin/true])" \
	    "dropped at once"
	echo "wall: first rename into incoming/ to the mtime of the last bundle"
	tp_row runner wall_s per_s
	for mj in 4 8; do
		watch_tp $mj
		if [ -n "$TP_RATE" ]; then
			tp_row "dagexec watch --max-jobs $mj" "$TP_WALL" "$TP_RATE"
		else
			tp_row "dagexec watch --max-jobs $mj" failed -
		fi
	done
}

# task-spooler: 8 slots, one job a manifest running `sh -c 'true; true;
# true'`, its own server on its own socket
part_tsp() {
	if ! command -v tsp >/dev/null 2>&1; then
		tp_row "tsp -S 8" "skipped: tsp (task-spooler) not installed" ""
		return
	fi
	export TS_SOCKET="$TMP/tsp.socket" TS_MAXCONN=$((TP_N + 100))
	export TS_MAXFINISHED=$((TP_N + 100)) TMPDIR="$TMP"
	mkdir -p "$TMP/tspout"
	TSP_UP=1
	tsp -S 8 >/dev/null
	t0=$(nsnow)
	i=0
	while [ $i -lt "$TP_N" ]; do
		i=$((i + 1))
		tsp sh -c 'true; true; true' >/dev/null
	done
	tq=$(nsnow)
	deadline=$(( $(date +%s) + LIMIT ))
	while [ "$(tsp -l | grep -c ' finished ')" -lt "$TP_N" ]; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			echo "tsp: timed out after $LIMIT s"; return
		fi
		sleep 0.05
	done
	t1=$(nsnow)
	bad=$(tsp -l | awk '$2 == "finished" && $4 != 0' | wc -l)
	[ "$bad" != 0 ] && echo "note: $bad tsp jobs exited non-zero"
	tsp -K >/dev/null 2>&1
	TSP_UP=0
	unset TS_SOCKET TS_MAXCONN TS_MAXFINISHED TMPDIR
	w=$(secs "$t0" "$t1")
	tp_row "tsp -S 8 (queueing took $(secs "$t0" "$tq") s)" "$w" \
	    "$(awk -v n="$TP_N" -v w="$w" 'BEGIN { printf "%.1f", n / w }')"
}

# at-style: `dagexec run` on one manifest after the other
part_seq() {
	n=$SEQ_N
	[ "$n" -gt "$TP_N" ] && n=$TP_N
	mkdir -p "$TMP/seq.out"
	stage "$TMP/seq" "$n"
	t0=$(nsnow)
	deadline=$(( $(date +%s) + LIMIT ))
	i=0; bad=0
	for f in "$TMP"/seq/*.yaml; do
		i=$((i + 1))
		timeout -k 5 "$LIMIT" "$DAGEXEC" run -q -o "$TMP/seq.out" "$f" \
		    >/dev/null 2>&1 ||
		    bad=$((bad + 1))
		if [ "$(date +%s)" -ge "$deadline" ]; then
			echo "seq: cut after $LIMIT s at $i runs"
			break
		fi
	done
	t1=$(nsnow)
	[ "$bad" != 0 ] && echo "note: $bad of $i runs failed"
	w=$(secs "$t0" "$t1")
	label="dagexec run, one at a time"
	if [ "$i" -lt "$TP_N" ]; then
		label="$label ($i run, scaled)"
		w=$(awk -v w="$w" -v i="$i" -v n="$TP_N" \
		    'BEGIN { printf "%.3f", w * n / i }')
	fi
	tp_row "$label" "$w" \
	    "$(awk -v n="$TP_N" -v w="$w" 'BEGIN { printf "%.1f", n / w }')"
}

[ -x "$DAGEXEC" ] || { echo "no $DAGEXEC"; exit 1; }
tp_header=0
for p in $PARTS; do
	case $p in
	lat)	part_lat ;;
	tp)	part_tp; tp_header=1 ;;
	tsp|seq)
		if [ $tp_header = 0 ]; then
			echo "== throughput: $TP_N manifests a -> b -> c"
			tp_row runner wall_s per_s
			tp_header=1
		fi
		part_$p ;;
	*)	echo "unknown part '$p' (lat tp tsp seq)"; exit 64 ;;
	esac
done
echo
