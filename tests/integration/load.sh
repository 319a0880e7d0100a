#!/bin/sh
# Load (issue 8 item 7): LOAD_JOBS jobs of LOAD_NODES nodes each (default
# 100 x 100) dropped at once into a spool served by
# `watch -j 4 --max-jobs 8`, then two small jobs dropped last.  Asserted:
# every job ends with exactly one bundle, all its nodes succeeded; the
# journals of all the bundles, merged, never show more than 4 nodes (-j)
# or 8 jobs (--max-jobs) running at once; the daemon's RSS, sampled during
# the run, does not grow (last quarter against first quarter); the small
# jobs dropped last, whatever their names sort as (incoming/ is taken
# smallest file first), end before half the big jobs and in the first half
# of the run's time.
. "$TOP_SRCDIR/tests/integration/lib.sh"

# An ASan build forks each node (see spawn.c) with the page tables of a
# supervisor that ASan makes large: it runs 48 jobs unless told, with
# ASan's quarantine of freed memory kept to 16 MB, and its RSS is not
# judged. Not fewer: the small jobs can start only when a big one ends,
# and with 8 running, 24 jobs end in three waves, which left the small
# ones dropped last about a sixth of the run to end in its first half.
ASAN=0
if nm -D "$DAGEXEC" 2>/dev/null | grep -q __asan_init ||
    ldd "$DAGEXEC" 2>/dev/null | grep -q libasan; then
	ASAN=1
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"
	export ASAN_OPTIONS
fi
NJOBS=${LOAD_JOBS:-$([ "$ASAN" = 1 ] && echo 48 || echo 100)}
NNODES=${LOAD_NODES:-100}
echo "# $NJOBS jobs of $NNODES nodes (LOAD_JOBS, LOAD_NODES)"
SP="$T/spool"
WPID=
SAMPLER=
cleanup() {
	[ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
	stop_daemon
	stop_supervisors
	rm -rf "$T"
}
trap cleanup EXIT

# --- a freed slot is handed on when the job holding it ends ------------------
# Three one-node jobs under -j 2 --max-jobs 3: a and b take both slots, c
# waits for one.  a and b end with their node; c must then start (it hung:
# a job's last node handed its slot on to nobody).
for n in a b c; do
	printf 'name: slot-%s\nnodes:\n  x: {run: "sleep 0.3"}\n' "$n" >"$T/slot-$n.yaml"
done
"$DAGEXEC" watch -s "$T/sspool" --drain >>"$T/watch.log" 2>&1
cp "$T"/slot-?.yaml "$T/sspool/incoming/"
"$DAGEXEC" watch -s "$T/sspool" -j 2 --max-jobs 3 --drain >>"$T/watch.log" 2>&1 &
SPID=$!
( sleep 60; kill -TERM "$SPID" 2>/dev/null ) &
DOG=$!
wait "$SPID"; rc=$?
kill "$DOG" 2>/dev/null; wait "$DOG" 2>/dev/null
check "watch -j 2 --max-jobs 3 runs three one-node jobs to the end (exit $rc)" \
    test "$rc" -eq 0 -a "$(ls "$T/sspool/done" | wc -l)" -eq 3

# --- the load ------------------------------------------------------------------
# the big jobs: a source, a fan-out of half the nodes, a fan-in, a second
# fan-out, a sink; one node in ten sleeps 20 ms, one in ten is a shell
# line, the others exec true
"$PY" - "$NJOBS" "$NNODES" "$T/gen" <<'PY'
import os, sys
njobs, n, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
os.mkdir(out)
w1 = (n - 3) // 2
w2 = n - 3 - w1
def body(i):
    if i % 10 == 0:
        return '{run: "sleep 0.02"'
    if i % 10 == 5:
        return '{run: "true"'
    return '{argv: ["true"]'
for k in range(njobs):
    with open(f"{out}/load{k:03d}.yaml", "w") as f:
        f.write(f"name: load{k:03d}\nnodes:\n")
        f.write('  src: {argv: ["true"]}\n')
        for i in range(w1):
            f.write(f"  a{i}: {body(i)}, needs: [src]}}\n")
        f.write('  mid: {argv: ["true"], needs: [' +
                ", ".join(f"a{i}" for i in range(w1)) + "]}\n")
        for i in range(w2):
            f.write(f"  b{i}: {body(i + 1)}, needs: [mid]}}\n")
        f.write('  sink: {argv: ["true"], needs: [' +
                ", ".join(f"b{i}" for i in range(w2)) + "]}\n")
PY
check "the $NJOBS manifests are written" \
    test "$(ls "$T/gen" | wc -l)" -eq "$NJOBS"
"$DAGEXEC" validate "$T/gen/load000.yaml" >/dev/null 2>"$T/err"
check "a big manifest is valid" test $? -eq 0
small() {	# small NAME: a chain of three nodes
	printf 'name: %s\nnodes:\n  s1: {argv: ["true"]}\n  s2: {argv: ["true"], needs: [s1]}\n  s3: {argv: ["true"], needs: [s2]}\n' "$1"
}
small express >"$T/express.yaml"	# its name sorts before "load..."
small zz-small >"$T/zz-small.yaml"	# and this one after

"$DAGEXEC" watch -s "$SP" --drain >>"$T/watch.log" 2>&1
"$DAGEXEC" watch -s "$SP" -j 4 --max-jobs 8 >>"$T/watch.log" 2>&1 &
WPID=$!
i=0
while [ $i -lt 100 ] && [ "$(cat "$SP/lock" 2>/dev/null)" != "$WPID" ]; do
	sleep 0.1; i=$((i + 1))
done
check "the daemon is up" test "$(cat "$SP/lock" 2>/dev/null)" = "$WPID"

t0=$(date +%s.%N)
# dropped at once: staged in the spool's tmp/ (same file system), renamed in
mkdir "$SP/tmp/stage"
cp "$T"/gen/*.yaml "$SP/tmp/stage/"
"$PY" -c 'import os, sys
for f in sorted(os.listdir(sys.argv[1])):
    os.rename(os.path.join(sys.argv[1], f), os.path.join(sys.argv[2], f))' \
    "$SP/tmp/stage" "$SP/incoming"
# then the small ones, last: once 8 jobs run and the rest wait in incoming/
i=0
while [ $i -lt 300 ] && [ "$(ls "$SP/active" | wc -l)" -lt 8 ]; do
	sleep 0.05; i=$((i + 1))
done
check "8 big jobs run before the small ones are dropped" \
    test "$(ls "$SP/active" | wc -l)" -ge 8
# RSS of the daemon, in kB, every 0.2 s while it lives, from now on
( while [ -r "/proc/$WPID/status" ]; do
	awk '/^VmRSS:/ { print $2 }' "/proc/$WPID/status" 2>/dev/null
	sleep 0.2
  done ) >"$T/rss.txt" &
SAMPLER=$!
cp "$T/express.yaml" "$T/zz-small.yaml" "$SP/tmp/stage/"
mv "$SP/tmp/stage/express.yaml" "$SP/tmp/stage/zz-small.yaml" "$SP/incoming/"
rmdir "$SP/tmp/stage"

# until every bundle is in (at most 600 s: an ASan build is slower)
want=$((NJOBS + 2))
i=0
while [ $i -lt 3000 ] && [ "$(ls "$SP/done" | wc -l)" -lt "$want" ] &&
    kill -0 "$WPID" 2>/dev/null; do
	sleep 0.2; i=$((i + 1))
done
t1=$(date +%s.%N)
echo "# $NJOBS x $NNODES nodes: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s from the drop to the last bundle"
check "the daemon lived through the load" kill -0 "$WPID"
# the last jobs' directories go once their supervisors have exited
check "nothing is left in active/" wait_empty "$SP/active"
kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null; SAMPLER=
stop_daemon
check "every job has its bundle ($(ls "$SP/done" | wc -l) of $want)" \
    test "$(ls "$SP/done" | wc -l)" -eq "$want"
check "nothing is left in incoming/" test -z "$(ls -A "$SP/incoming")"
check "nothing was rejected" test -z "$(ls -A "$SP/rejected")"

# Read every bundle: one a job, all nodes succeeded; then merge the journals.
"$PY" - "$SP/done" "$NJOBS" "$NNODES" >"$T/report.txt" 2>&1 <<'PY'
import os, re, sys, tarfile
done, njobs, nnodes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per_name = {}
events = []            # (wall_ms, order, delta node, delta job)
finish = {}            # job name -> wall_ms of its finish
bad = []
for b in sorted(os.listdir(done)):
    name = re.sub(r"-\d{8}T\d{6}-[0-9a-f]{4}(\.\d+)?\.tar\.gz$", "", b)
    per_name[name] = per_name.get(name, 0) + 1
    with tarfile.open(os.path.join(done, b)) as t:
        log = state = None
        for m in t.getmembers():
            if m.name.endswith("/events.log") and m.name.count("/") == 1:
                log = t.extractfile(m).read().decode()
            elif m.name.endswith("/state.yaml") and m.name.count("/") == 1:
                state = t.extractfile(m).read().decode()
    if log is None or state is None:
        bad.append(f"{b}: no events.log or state.yaml")
        continue
    want = 3 if name in ("express", "zz-small") else nnodes
    if not re.search(r"^status: succeeded$", state, re.M) or \
       f"succeeded: {want}," not in state:
        bad.append(f"{b}: not {want} nodes succeeded")
    for line in log.splitlines():
        f = line.split(" ")
        ms, ev = int(f[0]), f[1]
        # at one millisecond an end (which frees the slot) comes first
        if ev == "start":
            events.append((ms, 1, 1, 0))
        elif ev == "end":
            events.append((ms, 0, -1, 0))
        elif ev == "begin":
            events.append((ms, 1, 0, 1))
        elif ev == "finish":
            events.append((ms, 0, 0, -1))
            finish[name] = ms
events.sort()
nodes = jobs = maxn = maxj = 0
for ms, _, dn, dj in events:
    nodes += dn
    jobs += dj
    maxn = max(maxn, nodes)
    maxj = max(maxj, jobs)
names = [f"load{k:03d}" for k in range(njobs)]
print("bundles_missing_or_twice",
      sum(1 for n in names + ["express", "zz-small"] if per_name.get(n) != 1))
print("bad", len(bad))
for x in bad[:5]:
    print("#", x)
print("starts", sum(1 for e in events if e[2] == 1))
print("max_nodes", maxn)
print("max_jobs", maxj)
print("end_nodes", nodes)
big = sorted(finish[n] for n in names if n in finish)
for s in ("express", "zz-small"):
    if s in finish and big:
        print(s + "_rank", sum(1 for x in big if x < finish[s]))
if big:
    first = min(e[0] for e in events)
    print("span_ms", big[-1] - first)
    for s in ("express", "zz-small"):
        if s in finish:
            print(s + "_at_ms", finish[s] - first)
PY
sed 's/^/  /' "$T/report.txt"
val() { awk -v k="$1" '$1 == k { print $2 }' "$T/report.txt"; }
check "each job has exactly one bundle" test "$(val bundles_missing_or_twice)" = 0
check "every node of every job succeeded" test "$(val bad)" = 0
check "the journals hold every start ($(val starts) of $((NJOBS * NNODES + 6)))" \
    test "$(val starts)" = $((NJOBS * NNODES + 6))
check "at most 4 nodes ran at once (-j 4; the journals say $(val max_nodes))" \
    test "$(val max_nodes)" -le 4
check "and 4 did (the load filled -j)" test "$(val max_nodes)" -eq 4
check "every start has its end" test "$(val end_nodes)" = 0
check "at most 8 jobs ran at once (--max-jobs 8; the journals say $(val max_jobs))" \
    test "$(val max_jobs)" -le 8
for s in express zz-small; do
	r=$(val ${s}_rank)
	echo "# the small job $s dropped last: ended after $r of $NJOBS big jobs, $(val ${s}_at_ms) ms into a run of $(val span_ms) ms"
	check "the small job $s dropped last ends before half the big ones ($r < $NJOBS / 2)" \
	    test -n "$r" -a "${r:-$NJOBS}" -lt $((NJOBS / 2))
	check "and within the first half of the run's time ($(val ${s}_at_ms) of $(val span_ms) ms)" \
	    test "$(val ${s}_at_ms)" -lt $(( $(val span_ms) / 2 ))
done

# RSS: the mean of the last quarter of the samples against the first's
n=$(wc -l <"$T/rss.txt")
if [ "$n" -ge 8 ]; then
	set -- $(awk -v n="$n" '{ v[NR] = $1 } END {
	    q = int(n / 4); for (i = 1; i <= q; i++) { a += v[i]; b += v[n - q + i] }
	    max = 0; for (i = 1; i <= n; i++) if (v[i] > max) max = v[i]
	    printf "%d %d %d %.2f\n", a / q, b / q, max, (b / q) / (a / q) }' "$T/rss.txt")
	echo "# daemon RSS over $n samples: first quarter $1 kB, last quarter $2 kB, max $3 kB, ratio $4"
	if [ "$ASAN" = 1 ]; then
		# ASan keeps freed memory in quarantine (up to 256 MB): the
		# RSS of such a build measures the quarantine, not dagexec
		echo "skip - RSS growth: an ASan build (its quarantine grows the RSS)"
	else
		check "the daemon's RSS stays flat (last/first quarter $4 < 1.25)" \
		    awk -v r="$4" 'BEGIN { exit !(r < 1.25) }'
	fi
else
	fail "too few RSS samples ($n)"
fi

check "no sanitizer report in the daemon's log" \
    test -z "$(grep -l 'Sanitizer\|runtime error:' "$T/watch.log" 2>/dev/null)"
check "no error in the daemon's log" \
    test -z "$(grep '^ERROR' "$T/watch.log" | head -3)"

finish
