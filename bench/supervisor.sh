#!/bin/sh
# Supervisors (one process a job) under `dagexec watch`: what the process a
# job costs, against an older binary (BENCH_BEFORE, e.g. the one-process
# daemon of 6e125bb) and against references measured in the same run.
#
# usage: sh bench/supervisor.sh BUILDDIR [SRCDIR]
#
# Parts (SUP_PARTS, default "ref lat big tp"):
#   ref  fork + exec + wait of `dagexec __supervise --help`, of a small
#        static-free C helper and of /bin/true, from a small C loop: what
#        starting a process costs here, the floor of a supervisor's start
#   lat  drop-to-first-node latency: SUP_LAT_N sequential drops of a
#        one-node manifest into running daemons, `watch` and `watch -j 2`
#        of each binary, taking turns drop by drop (the order reversed
#        every other drop); each drop waits for its bundle in done/ before
#        the next
#   big  one job of SUP_BIG_NODES `argv: [true]` nodes (no needs): `watch
#        --drain -j 2` from the drop to the bundle in done/, `watch
#        --drain` (the job's own 2 at once, no daemon cap) and `dagexec
#        run -j 2` of the same manifest (the reference), each binary,
#        SUP_BIG_ROUNDS interleaved rounds
#   tp   SUP_TP_N one-node manifests dropped at once, `watch --drain -j 2`,
#        from the first rename to the last bundle in done/, SUP_TP_ROUNDS
#        interleaved rounds
#
# Environment:
#   BENCH_BEFORE    another dagexec binary to compare with BUILDDIR/dagexec
#                   (optional; without it, BUILDDIR's figures only, with
#                   their references)
#   SUP_PARTS       parts to run, default "ref lat big tp"
#   SUP_LAT_N       drops a daemon in part lat, default 50
#   SUP_LAT_GAP     seconds between a bundle and the next drop, default 0.02
#   SUP_BIG_NODES   nodes of part big, default 10000
#   SUP_BIG_ROUNDS  rounds of part big, default 3
#   SUP_TP_N        manifests of part tp, default 300
#   SUP_TP_ROUNDS   rounds of part tp, default 3
#   SUP_REF_N       spawns of each reference, default 200
#   SUP_LIMIT       wall limit of one wait in seconds, default 300
#   SUP_BENCH_DIR   where the temporary directory goes, default /tmp
#   BENCH_KEEP      set to 1 to keep the temporary directory
#
# Everything lives in a mktemp -d directory (fresh spools), removed at the
# end. Only what this script started is stopped: its daemons by their pids,
# and at the end any supervisor left running on one of its spools (found by
# its command line `__supervise --spool SPOOL`, SPOOL being this script's).

set -u

BUILDDIR=${1:?usage: supervisor.sh BUILDDIR [SRCDIR]}
SRCDIR=${2:-$(dirname "$0")/..}
AFTER=$BUILDDIR/dagexec
BEFORE=${BENCH_BEFORE:-}
CPUOF=$BUILDDIR/bench/cpuof
PARTS=${SUP_PARTS:-ref lat big tp}
LAT_N=${SUP_LAT_N:-50}
LAT_GAP=${SUP_LAT_GAP:-0.02}
BIG_N=${SUP_BIG_NODES:-10000}
BIG_R=${SUP_BIG_ROUNDS:-3}
TP_N=${SUP_TP_N:-300}
TP_R=${SUP_TP_ROUNDS:-3}
REF_N=${SUP_REF_N:-200}
LIMIT=${SUP_LIMIT:-300}
for v in "$LAT_N" "$BIG_N" "$BIG_R" "$TP_N" "$TP_R" "$REF_N" "$LIMIT"; do
	case $v in
	''|*[!0-9]*|0*)
		echo "SUP_LAT_N, _BIG_NODES, _BIG_ROUNDS, _TP_N, _TP_ROUNDS," \
		    "_REF_N and _LIMIT must be positive integers, not '$v'"
		exit 64 ;;
	esac
done

[ -x "$AFTER" ] || { echo "no $AFTER"; exit 1; }
if [ -n "$BEFORE" ] && [ ! -x "$BEFORE" ]; then
	echo "BENCH_BEFORE=$BEFORE is not an executable"; exit 1
fi
# the binaries measured: "after" is BUILDDIR's
BINS=after
[ -n "$BEFORE" ] && BINS="before after"
bin() { if [ "$1" = before ]; then echo "$BEFORE"; else echo "$AFTER"; fi; }

TMP=$(mktemp -d "${SUP_BENCH_DIR:-/tmp}/dagexec-sup-bench.XXXXXX") || exit 1
DPIDS=
cleanup() {
	for p in $DPIDS; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	DPIDS=
	# supervisors left on this script's spools (they outlive a daemon)
	for f in /proc/[0-9]*/cmdline; do
		c=$( { tr '\0' ' ' <"$f"; } 2>/dev/null) || continue
		case $c in
		*"__supervise --spool $TMP/"*)
			p=${f#/proc/}; p=${p%/cmdline}
			kill -TERM "$p" 2>/dev/null ;;
		esac
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

HAVE_CPUOF=0
if [ -x "$CPUOF" ] && "$CPUOF" -o "$TMP/cpuof.probe" true 2>/dev/null &&
    grep -q '^self_ms=[0-9]' "$TMP/cpuof.probe"; then
	HAVE_CPUOF=1
fi

# ---- the helper ------------------------------------------------------------
# sbh now FILE: CLOCK_REALTIME in ns into FILE (a node's start)
# sbh drop SRC DST [WAITFILE DIR COUNT LIMIT]: the time, then rename(2);
#   prints the time once WAITFILE exists and DIR holds COUNT entries
#   (polled every 0.5 ms; exit 1 after LIMIT seconds)
# sbh dropall SRC DST: renames every file of SRC into DST, prints the time
#   before the first rename
# sbh spawn N PROG [ARG...]: fork, execv, waitpid N times (stdout and
#   stderr to /dev/null); prints the median and the 90th percentile in us
cat >"$TMP/sbh.c" <<'EOF'
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long
now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int
entries(const char *dir)
{
	struct dirent *e;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int
cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	char buf[64], a[4096], b[4096];
	struct timespec half = { 0, 500000 };
	struct stat st;
	long long t, end, *v;
	struct dirent *e;
	DIR *d;
	int fd, n, i, status;
	pid_t pid;

	if (argc == 3 && strcmp(argv[1], "now") == 0) {
		t = now(CLOCK_REALTIME);
		n = snprintf(buf, sizeof buf, "%lld\n", t);
		fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, buf, n) != n || close(fd) != 0)
			return 1;
		return 0;
	}
	if ((argc == 4 || argc == 8) && strcmp(argv[1], "drop") == 0) {
		t = now(CLOCK_REALTIME);
		if (rename(argv[2], argv[3]) != 0)
			return 1;
		if (argc == 8) {
			end = now(CLOCK_MONOTONIC) + atoll(argv[7]) *
			    1000000000LL;
			while (stat(argv[4], &st) != 0 || st.st_size == 0 ||
			    entries(argv[5]) < atoi(argv[6])) {
				if (now(CLOCK_MONOTONIC) > end)
					return 1;
				nanosleep(&half, NULL);
			}
		}
		printf("%lld\n", t);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "dropall") == 0) {
		if ((d = opendir(argv[2])) == NULL)
			return 1;
		t = now(CLOCK_REALTIME);
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(a, sizeof a, "%s/%s", argv[2], e->d_name);
			snprintf(b, sizeof b, "%s/%s", argv[3], e->d_name);
			if (rename(a, b) != 0)
				return 1;
		}
		printf("%lld\n", t);
		closedir(d);
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "spawn") == 0) {
		n = atoi(argv[2]);
		if (n <= 0 || (v = calloc(n, sizeof *v)) == NULL)
			return 64;
		for (i = 0; i < n; i++) {
			t = now(CLOCK_MONOTONIC);
			if ((pid = fork()) < 0)
				return 1;
			if (pid == 0) {
				fd = open("/dev/null", O_WRONLY);
				dup2(fd, 1);
				dup2(fd, 2);
				execv(argv[3], argv + 3);
				_exit(127);
			}
			if (waitpid(pid, &status, 0) != pid ||
			    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
				return 1;
			v[i] = now(CLOCK_MONOTONIC) - t;
		}
		qsort(v, n, sizeof *v, cmp);
		printf("%.0f %.0f\n", v[(n - 1) / 2] / 1e3,
		    v[(9 * n + 9) / 10 - 1] / 1e3);
		return 0;
	}
	return 64;
}
EOF
SBH=$TMP/sbh
if ! ${CC:-cc} -O2 -o "$SBH" "$TMP/sbh.c" 2>"$TMP/cc.err"; then
	echo "cannot compile the helper with ${CC:-cc}: skipped"
	cat "$TMP/cc.err"
	exit 0
fi

# ---- helpers -------------------------------------------------------------
nsnow() { date +%s%N; }

# stats FILE: "n min median p90 max" of the numbers in FILE (one a line)
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		n = NR
		if (n == 0) { print "0 - - - -"; exit }
		med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		k = int(0.9 * n); if (k < 0.9 * n) k++
		printf "%d %.3f %.3f %.3f %.3f\n", n, v[1], med, v[k], v[n]
	}'
}

# median FILE
median() { set -- $(stats "$1"); echo "$3"; }

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}

# init_spool BIN DIR: a fresh spool made by BIN (an empty --drain)
init_spool() {
	mkdir -p "$2"
	"$1" watch -s "$2" --drain >"$2.init.log" 2>&1
}

# start_daemon BIN SPOOL [OPTIONS...]: a daemon on SPOOL, its pid in DPID
start_daemon() {
	b=$1; sp=$2; shift 2
	mkdir -p "$sp"
	"$b" watch -s "$sp" "$@" 2>"$sp.log" &
	DPID=$!
	DPIDS="$DPIDS $DPID"
	i=0
	while ! grep -q ' watch spool=' "$sp.log" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 "$DPID" 2>/dev/null; then
			echo "dagexec watch did not start:"; cat "$sp.log"
			return 1
		fi
		sleep 0.05
	done
}

stop_daemons() {
	for p in $DPIDS; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	DPIDS=
}

# newest_mtime DIR: the latest modification time in DIR, in ns
newest_mtime() {
	stat -c %.9Y "$1"/* | sort -n | tail -n 1 | tr -d .
}

count() {
	set -- "$1"/*
	if [ -e "$1" ]; then echo $#; else echo 0; fi
}

# field NAME FILE: the number after NAME= in cpuof's line, or "-"
field() {
	v=$(sed -n "s/^.*$1=\([0-9][0-9]*\).*\$/\1/p" "$2" 2>/dev/null)
	echo "${v:--}"
}

# timed OUTFILE CMD...: CMD under cpuof when there is one; RC, SELF, KIDS
timed() {
	o=$1; shift
	rm -f "$TMP/cpu.out"
	if [ "$HAVE_CPUOF" = 1 ]; then
		timeout -k 10 "$LIMIT" "$CPUOF" -o "$TMP/cpu.out" "$@" \
		    >"$o" 2>&1
	else
		timeout -k 10 "$LIMIT" "$@" >"$o" 2>&1
	fi
	RC=$?
	SELF=$(field self_ms "$TMP/cpu.out")
	KIDS=$(field children_ms "$TMP/cpu.out")
}

# reverse LIST...: the words in reverse order
reverse() {
	r=
	for w in "$@"; do r="$w $r"; done
	echo $r
}

echo "dagexec supervisor benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')," \
    "$(nproc) CPUs, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "after:  $AFTER"
[ -n "$BEFORE" ] && echo "before: $BEFORE"
echo "temp: $TMP ($(df -T "$TMP" | awk 'NR==2 {print $2}'))"
echo

# ---- ref -----------------------------------------------------------------
part_ref() {
	echo "== ref: fork + exec + waitpid from a small C loop, $REF_N times" \
	    "each (us)"
	printf '%-44s %9s %9s\n' command median_us p90_us
	for c in "/bin/true" "$SBH now /dev/null" \
	    "$AFTER __supervise --help" "$AFTER --version"; do
		set -- $("$SBH" spawn "$REF_N" $c) || set -- failed -
		printf '%-44s %9s %9s\n' "$c" "$1" "$2"
		case $c in *__supervise*) REF_SUP=$1 ;; esac
	done
	if [ -n "$BEFORE" ]; then
		set -- $("$SBH" spawn "$REF_N" "$BEFORE" --version) ||
		    set -- failed -
		printf '%-44s %9s %9s\n' "before --version" "$1" "$2"
	fi
	echo
}

# ---- lat -----------------------------------------------------------------
# configurations: BIN:OPTS, OPTS "d" (default options) or "j2" (-j 2)
part_lat() {
	echo "== lat: $LAT_N sequential drops of a one-node manifest a" \
	    "daemon, daemons taking turns"
	echo "drop: clock_gettime before rename(2) into incoming/; node:" \
	    "clock_gettime in the node after its exec;"
	echo "log: the job's events.log 'start' line (ms, taken before" \
	    "the node's spawn)"
	cfgs=
	for b in $BINS; do cfgs="$cfgs $b:d $b:j2"; done
	for c in $cfgs; do
		b=${c%%:*}; o=${c#*:}; k=$b.$o
		mkdir -p "$TMP/lat.$k.res"
		: >"$TMP/lat.$k.drops"
		if [ "$o" = j2 ]; then
			start_daemon "$(bin "$b")" "$TMP/lat.$k" -j 2 || return
		else
			start_daemon "$(bin "$b")" "$TMP/lat.$k" || return
		fi
	done
	i=0
	while [ $i -lt "$LAT_N" ]; do
		i=$((i + 1))
		order=$cfgs
		[ $((i % 2)) = 0 ] && order=$(reverse $cfgs)
		for c in $order; do
			b=${c%%:*}; o=${c#*:}; k=$b.$o
			sp=$TMP/lat.$k; res=$TMP/lat.$k.res
			printf 'name: lat%d\nnodes:\n  a:\n    argv: [%s, now, %s/%d]\n' \
			    $i "$SBH" "$res" $i >"$sp/tmp/lat$i.yaml"
			t=$("$SBH" drop "$sp/tmp/lat$i.yaml" \
			    "$sp/incoming/lat$i.yaml" "$res/$i" "$sp/done" $i \
			    "$LIMIT") || {
				echo "drop $i into $k: no node start or bundle" \
				    "after $LIMIT s"; stop_daemons; return; }
			echo "$i $t" >>"$TMP/lat.$k.drops"
			sleep "$LAT_GAP"
		done
	done
	stop_daemons
	printf '%-18s %5s %8s %9s %8s %8s %13s\n' daemon drops min_ms \
	    median_ms p90_ms max_ms log_median_ms
	for c in $cfgs; do
		b=${c%%:*}; o=${c#*:}; k=$b.$o
		sp=$TMP/lat.$k; res=$TMP/lat.$k.res
		: >"$TMP/lat.$k.ms"; : >"$TMP/lat.$k.logms"
		: >"$TMP/lat.$k.pair"
		while read -r i t; do
			s=$(cat "$res/$i")
			echo "$t $s" | awk '{ printf "%.3f\n", ($2 - $1) / 1e6 }' \
			    >>"$TMP/lat.$k.ms"
			# the drop's figure, for the difference drop by drop
			echo "$i $(tail -n 1 "$TMP/lat.$k.ms")" >>"$TMP/lat.$k.pair"
			f=$(ls "$sp"/done/lat$i-* 2>/dev/null | head -n 1)
			[ -n "$f" ] || continue
			tar -xzOf "$f" --wildcards '*/events.log' 2>/dev/null |
			    awk -v t="$t" '$2 == "start" {
				printf "%.3f\n", $1 - t / 1e6; exit }' \
			    >>"$TMP/lat.$k.logms"
		done <"$TMP/lat.$k.drops"
		set -- $(stats "$TMP/lat.$k.ms")
		lbl="$b watch"; [ "$o" = j2 ] && lbl="$b watch -j 2"
		printf '%-18s %5s %8s %9s %8s %8s %13s\n' "$lbl" "$1" "$2" \
		    "$3" "$4" "$5" "$(median "$TMP/lat.$k.logms")"
		eval "LATMED_$b$o=\$3"
	done
	if [ -n "$BEFORE" ]; then
		for o in d j2; do
			awk 'NR == FNR { v[$1] = $2; next }
			    ($1 in v) { printf "%.3f\n", $2 - v[$1] }' \
			    "$TMP/lat.before.$o.pair" "$TMP/lat.after.$o.pair" \
			    >"$TMP/lat.diff.$o"
			set -- $(stats "$TMP/lat.diff.$o")
			lbl="watch"; [ "$o" = j2 ] && lbl="watch -j 2"
			eval "bm=\$LATMED_before$o am=\$LATMED_after$o"
			echo "$lbl: after - before, drop by drop: median $3 ms," \
			    "p90 $4 ms; medians $am / $bm = $(ratio "$am" "$bm")"
		done
	fi
	[ -n "${REF_SUP:-}" ] && echo "reference (part ref): one fork + exec" \
	    "of \`dagexec __supervise --help\` $REF_SUP us"
	echo
}

# ---- big -----------------------------------------------------------------
part_big() {
	echo "== big: one job of $BIG_N x argv: [true] (no needs), $BIG_R" \
	    "interleaved rounds"
	echo "watch: from the rename into incoming/ (watch --drain started" \
	    "right after) to the bundle's mtime in done/;"
	echo "run: the whole \`dagexec run -q -o DIR\`; self_ms: the command's" \
	    "own CPU (not its children: after, a supervisor is a child),"
	echo "total_ms: with the children it waited for"
	printf 'name: big\nnodes:\n' >"$TMP/big.yaml"
	awk -v n="$BIG_N" 'BEGIN { for (i = 0; i < n; i++)
		printf "  n%05d:\n    argv: [true]\n", i }' >>"$TMP/big.yaml"
	rows=
	for b in $BINS; do rows="$rows $b:wj2 $b:w $b:run"; done
	r=0
	while [ $r -lt "$BIG_R" ]; do
		r=$((r + 1))
		order=$rows
		[ $((r % 2)) = 0 ] && order=$(reverse $rows)
		for row in $order; do
			b=${row%%:*}; how=${row#*:}; x=$(bin "$b")
			d=$TMP/big.$b.$how.$r
			if [ "$how" = run ]; then
				mkdir -p "$d"
				t0=$(nsnow)
				timed "$d.out" "$x" run -j 2 -q -o "$d" \
				    "$TMP/big.yaml"
				t1=$(nsnow)
			else
				init_spool "$x" "$d"
				cp "$TMP/big.yaml" "$d/tmp/big.yaml"
				jo=; [ "$how" = wj2 ] && jo="-j 2"
				t0=$("$SBH" drop "$d/tmp/big.yaml" \
				    "$d/incoming/big.yaml")
				timed "$d.out" "$x" watch -s "$d" --drain $jo
				t1=$(newest_mtime "$d/done" 2>/dev/null) ||
				    t1=
				[ "$(count "$d/done")" = 1 ] || RC="$RC, no bundle"
				grep -q 'done status=succeeded' "$d.out" ||
				    RC="$RC, not succeeded"
			fi
			if [ "$RC" != 0 ] || [ -z "$t1" ]; then
				echo "round $r $b $how: failed ($RC):"
				tail -n 5 "$d.out"
				continue
			fi
			w=$(awk -v a="$t0" -v b="$t1" \
			    'BEGIN { printf "%.3f", (b - a) / 1e9 }')
			echo "$w" >>"$TMP/big.$b.$how.wall"
			echo "$SELF" >>"$TMP/big.$b.$how.self"
			[ "$SELF" != - ] && echo $((SELF + KIDS)) \
			    >>"$TMP/big.$b.$how.total"
			echo "round $r: $b $how $w s self=$SELF ms" \
			    "children=$KIDS ms" >>"$TMP/big.rounds"
			rm -rf "$d"
		done
	done
	cat "$TMP/big.rounds"
	printf '%-26s %7s %9s %7s %8s %9s\n' runner rounds median_s min_s \
	    self_ms total_ms
	for row in $rows; do
		b=${row%%:*}; how=${row#*:}
		case $how in
		wj2) lbl="$b watch --drain -j 2" ;;
		w) lbl="$b watch --drain" ;;
		run) lbl="$b run -j 2" ;;
		esac
		f=$TMP/big.$b.$how
		[ -s "$f.wall" ] || { printf '%-26s failed\n' "$lbl"; continue; }
		set -- $(stats "$f.wall")
		s=-; tt=-
		[ -s "$f.total" ] && { s=$(median "$f.self"); s=${s%.*}
			tt=$(median "$f.total"); tt=${tt%.*}; }
		printf '%-26s %7s %9s %7s %8s %9s\n' "$lbl" "$1" "$3" "$2" \
		    "$s" "$tt"
		eval "BIG_$b$how=\$3"
	done
	for b in $BINS; do
		eval "a=\${BIG_${b}wj2:-} u=\${BIG_${b}w:-} c=\${BIG_${b}run:-}"
		[ -n "$a" ] && [ -n "$c" ] && echo "$b: watch -j 2 / run -j 2" \
		    "= $(ratio "$a" "$c"), watch / run = $(ratio "$u" "$c")"
	done
	if [ -n "$BEFORE" ]; then
		for how in wj2 w run; do
			eval "a=\${BIG_after$how:-} p=\${BIG_before$how:-}"
			echo "after / before, $how: $(ratio "$a" "$p")"
		done
	fi
	echo
}

# ---- tp ------------------------------------------------------------------
part_tp() {
	echo "== tp: $TP_N one-node manifests (argv: [/bin/true]) dropped at" \
	    "once, watch --drain -j 2 (started right after), $TP_R rounds"
	echo "wall: first rename into incoming/ to the mtime of the last" \
	    "bundle in done/"
	r=0
	while [ $r -lt "$TP_R" ]; do
		r=$((r + 1))
		order=$BINS
		[ $((r % 2)) = 0 ] && order=$(reverse $BINS)
		for b in $order; do
			x=$(bin "$b")
			d=$TMP/tp.$b.$r
			init_spool "$x" "$d"
			mkdir -p "$d.stage"
			i=0
			while [ $i -lt "$TP_N" ]; do
				i=$((i + 1))
				printf 'name: tp\nnodes:\n  a:\n    argv: [/bin/true]\n' \
				    >"$d.stage/tp$(printf %04d $i).yaml"
			done
			t0=$("$SBH" dropall "$d.stage" "$d/incoming")
			timed "$d.out" "$x" watch -s "$d" --drain -j 2
			n=$(count "$d/done")
			ok=$(grep -c 'done status=succeeded' "$d.out")
			if [ "$RC" != 0 ] || [ "$n" != "$TP_N" ] ||
			    [ "$ok" != "$TP_N" ]; then
				echo "round $r $b: failed (exit $RC, $n bundles," \
				    "$ok succeeded)"
				tail -n 5 "$d.out"
				continue
			fi
			t1=$(newest_mtime "$d/done")
			w=$(awk -v a="$t0" -v b="$t1" \
			    'BEGIN { printf "%.3f", (b - a) / 1e9 }')
			echo "$w" >>"$TMP/tp.$b.wall"
			[ "$SELF" != - ] && echo $((SELF + KIDS)) \
			    >>"$TMP/tp.$b.total"
			echo "round $r: $b $w s self=$SELF ms children=$KIDS ms" \
			    >>"$TMP/tp.rounds"
			rm -rf "$d" "$d.stage"
		done
	done
	cat "$TMP/tp.rounds"
	echo "cpu_ms_a_job: the daemon's CPU and its children's (supervisors," \
	    "nodes), median of the rounds, over $TP_N"
	printf '%-26s %7s %9s %7s %8s %10s %12s\n' runner rounds median_s \
	    min_s jobs_s ms_a_job cpu_ms_a_job
	for b in $BINS; do
		f=$TMP/tp.$b.wall
		[ -s "$f" ] || { printf '%-26s failed\n' "$b"; continue; }
		c=-
		[ -s "$TMP/tp.$b.total" ] && c=$(awk -v t="$(median \
		    "$TMP/tp.$b.total")" -v n="$TP_N" \
		    'BEGIN { printf "%.2f", t / n }')
		set -- $(stats "$f")
		printf '%-26s %7s %9s %7s %8s %10s %12s\n' \
		    "$b watch --drain -j 2" "$1" "$3" "$2" \
		    "$(awk -v n="$TP_N" -v w="$3" 'BEGIN { printf "%.1f", n / w }')" \
		    "$(awk -v n="$TP_N" -v w="$3" 'BEGIN { printf "%.2f", w * 1000 / n }')" \
		    "$c"
		eval "TP_$b=\$3"
	done
	if [ -n "$BEFORE" ] && [ -n "${TP_before:-}" ] &&
	    [ -n "${TP_after:-}" ]; then
		echo "after / before: $(ratio "$TP_after" "$TP_before");" \
		    "$(awk -v a="$TP_after" -v b="$TP_before" -v n="$TP_N" \
		    'BEGIN { printf "%+.2f", (a - b) * 1000 / n }') ms a job"
	fi
	echo
}

for p in $PARTS; do
	case $p in
	ref|lat|big|tp) part_$p ;;
	*) echo "unknown part '$p' (ref lat big tp)"; exit 64 ;;
	esac
done
