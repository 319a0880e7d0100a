#!/bin/sh
# Abusive nodes: a fork bomb, a memory bomb, a CPU spinner, an output flood,
# a node that closes its output, one that ignores SIGTERM, one that detaches
# with setsid, one that fills its work directory. Each runs under a real
# daemon beside a small job: the small job finishes while the abuser is
# being handled, the abuser ends in bounded time, nothing of it is left.
. "$TOP_SRCDIR/tests/integration/lib.sh"

SP="$T/spool"
WPID=
U=
MNT=
cleanup() {
	if [ -n "$WPID" ]; then
		kill -TERM "$WPID" 2>/dev/null
		wait "$WPID" 2>/dev/null
	fi
	stop_supervisors
	if [ -n "$U" ]; then
		pkill -KILL -u "$U" 2>/dev/null
		userdel "$U" 2>/dev/null
	fi
	[ -n "$MNT" ] && umount "$MNT" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

ROOT=false
[ "$(id -u)" -eq 0 ] && ROOT=true

# wait_for COUNT GLOB [TENTHS]: until COUNT files match (default 30 s)
wait_for() {
	i=0
	while [ $i -lt "${3:-300}" ]; do
		n=$(ls $2 2>/dev/null | wc -l)
		[ "$n" -ge "$1" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# unpack BUNDLE: into $T/x/ID, prints that directory
unpack() {
	id=$(basename "$1"); id=${id%.tar.gz}
	mkdir -p "$T/x"
	tar xzf "$1" -C "$T/x" 2>/dev/null
	echo "$T/x/$id"
}

# drop FILE [USER]: drop a manifest into incoming/ the way a user does
drop() {
	b=$(basename "$1")
	cp "$1" "$SP/incoming/.$b.tmp"
	[ -n "${2:-}" ] && chown "$2" "$SP/incoming/.$b.tmp"
	mv "$SP/incoming/.$b.tmp" "$SP/incoming/$b"
}

# small NAME: drop a small independent job beside an abuser
small() {
	printf 'name: %s\nnodes:\n  a: {run: "echo small"}\n  b: {run: "true", needs: [a]}\n' "$1" >"$1.yaml"
	drop "$1.yaml"
}

# alongside ABUSER SMALL: the small job's bundle lands while the abuser's
# has not
alongside() {
	if wait_for 1 "$SP/done/$2-*.tar.gz" 200 &&
	    [ -z "$(ls "$SP"/done/"$1"-*.tar.gz 2>/dev/null)" ]; then
		pass "$1: a small job finishes while the abuser runs"
	else
		fail "$1: the small job did not finish first"
	fi
}

# ended ABUSER: its bundle lands (at most 60 s); sets B to its directory
ended() {
	if wait_for 1 "$SP/done/$1-*.tar.gz" 600; then
		pass "$1: the abuser's job ends"
		B=$(unpack "$(ls "$SP"/done/"$1"-*.tar.gz | head -n 1)")
	else
		fail "$1: the abuser's job does not end"
		B=$T/none
	fi
}

# gone PID: the process is gone (or a zombie) within 3 s
gone() {
	i=0
	while [ $i -lt 30 ]; do
		st=$(awk '{ sub(/.*\) /, ""); print substr($0, 1, 1) }' "/proc/$1/stat" 2>/dev/null)
		[ -z "$st" ] || [ "$st" = Z ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# group_gone PGID: no live process is left in the group within 3 s
group_gone() {
	i=0
	while [ $i -lt 30 ]; do
		[ -z "$(ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/')" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# user_gone USER: no live process of the user is left within 3 s
user_gone() {
	i=0
	while [ $i -lt 30 ]; do
		[ -z "$(ps -u "$1" -o stat= | grep -v '^Z')" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

responsive() {
	"$DAGEXEC" status -s "$SP" >"$T/out" 2>"$T/err"
	check "$1: the daemon still answers status" test $? -eq 0
	check "$1: the daemon is alive" kill -0 "$WPID"
}

if $ROOT; then chmod 755 "$T"; fi
P="$T/pids"
mkdir -p "$P"; chmod 1777 "$P"
"$DAGEXEC" watch -s "$SP" --drain >/dev/null 2>&1
"$DAGEXEC" watch -s "$SP" -j 8 --max-jobs 4 >>"$T/watch.log" 2>&1 &
WPID=$!
i=0
while [ $i -lt 50 ] && [ "$(cat "$SP/lock" 2>/dev/null)" != "$WPID" ]; do
	sleep 0.1; i=$((i + 1))
done

# --- fork bomb, as a normal user ------------------------------------------------
if $ROOT && command -v useradd >/dev/null 2>&1; then
	U=dgxab$$
	useradd -M -N -d /nonexistent -s /usr/sbin/nologin "$U" 2>/dev/null
	cat >forkbomb.yaml <<'Y'
name: forkbomb
nodes:
  bomb:
    argv: [python3, -c, "import os, sys, time\nsaid = False\nwhile True:\n  try: os.fork()\n  except OSError:\n    if not said: sys.stderr.write('fork refused\\n'); said = True\n    time.sleep(0.01)"]
    limits: {nproc: 50}
    timeout: 4s
Y
	drop forkbomb.yaml "$U"
	small small-fork
	alongside forkbomb small-fork
	responsive forkbomb
	ended forkbomb
	check "forkbomb: the node ended by its timeout" test "$(yget "$B/state.yaml" nodes.bomb.reason 2>/dev/null)" = timeout
	grep_file "forkbomb: nproc refused its forks" "fork refused" "$B/nodes/bomb/stderr.log"
	check "forkbomb: no process of the user is left" user_gone "$U"
else
	echo "skip - forkbomb: RLIMIT_NPROC binds no root; needs root and useradd to run as a user"
fi

# --- memory bomb ---------------------------------------------------------------
cat >membomb.yaml <<'Y'
name: membomb
nodes:
  bomb:
    run: "sleep 1; x=0123456789abcdef; while :; do x=$x$x; done"
    limits: {memory: 64M}
    timeout: 30s
  py:
    argv: [python3, -c, "import time\ntime.sleep(1)\na = []\nwhile True: a.append(bytearray(1 << 20))"]
    limits: {memory: 64M}
    timeout: 30s
Y
drop membomb.yaml
small small-mem
alongside membomb small-mem
ended membomb
check "membomb: the shell bomb failed" test "$(yget "$B/state.yaml" nodes.bomb.status 2>/dev/null)" = failed
check "membomb: the python bomb failed" test "$(yget "$B/state.yaml" nodes.py.status 2>/dev/null)" = failed
grep_file "membomb: python met MemoryError" "MemoryError" "$B/nodes/py/stderr.log"
no_grep_file "membomb: neither ran into its timeout" "reason: timeout" "$B/state.yaml"
responsive membomb

# --- CPU spinner ----------------------------------------------------------------
cat >spinner.yaml <<Y
name: spinner
nodes:
  spin:
    run: "echo \$\$ > $P/spin.pid; (while :; do :; done) & while :; do :; done"
    timeout: 2s
Y
drop spinner.yaml
small small-spin
alongside spinner small-spin
ended spinner
check "spinner: it timed out" test "$(yget "$B/state.yaml" nodes.spin.reason 2>/dev/null)" = timeout
pg=$(cat "$P/spin.pid" 2>/dev/null)
check "spinner: its process group is gone" group_gone "${pg:-0}"

# --- output flood: 1 GB on stdout ---------------------------------------------------
cat >flood.yaml <<'Y'
name: flood
nodes:
  flood:
    run: "yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 1G; echo; echo the-end"
    log_limit: 1M
    timeout: 2m
Y
drop flood.yaml
small small-flood
alongside flood small-flood
maxdu=0
i=0
while [ $i -lt 1200 ] && [ -z "$(ls "$SP"/done/flood-*.tar.gz 2>/dev/null)" ]; do
	d=$(du -sk "$SP/active" 2>/dev/null | cut -f1)
	[ "${d:-0}" -gt "$maxdu" ] && maxdu=$d
	sleep 0.1; i=$((i + 1))
done
ended flood
check "flood: the node succeeded" test "$(yget "$B/state.yaml" nodes.flood.status 2>/dev/null)" = succeeded
sz=$(stat -c %s "$B/nodes/flood/stdout.log" 2>/dev/null || echo 0)
check "flood: stdout.log is capped at log_limit ($sz bytes)" test "$sz" -gt 0 -a "$sz" -le $((1048576 + 100))
grep_file "flood: the log counts what was dropped" "^\[dagexec: [0-9]* bytes dropped\]" "$B/nodes/flood/stdout.log"
check "flood: the log keeps the last line" test "$(tail -n 1 "$B/nodes/flood/stdout.log")" = the-end
check "flood: active/ never held more than 8 MiB (${maxdu} KiB)" test "$maxdu" -lt 8192
bs=$(stat -c %s "$(ls "$SP"/done/flood-*.tar.gz | head -n 1)")
check "flood: the bundle is small ($bs bytes)" test "$bs" -lt 4194304

# --- a node that closes stdout and stderr but keeps running ---------------------------
cat >closer.yaml <<Y
name: closer
nodes:
  closer: {run: "exec >&- 2>&-; sleep 2; touch $P/closer.done", timeout: 1m}
Y
drop closer.yaml
small small-closer
alongside closer small-closer
ended closer
check "closer: the node succeeded" test "$(yget "$B/state.yaml" nodes.closer.status 2>/dev/null)" = succeeded
check "closer: it did not end before its process" test -f "$P/closer.done"

# --- a node that ignores SIGTERM ---------------------------------------------------
cat >stubborn.yaml <<Y
name: stubborn
nodes:
  stubborn: {run: "trap '' TERM; echo \$\$ > $P/stub.pid; while :; do sleep 1; done", timeout: 1s}
Y
drop stubborn.yaml
small small-stub
alongside stubborn small-stub
ended stubborn
check "stubborn: it timed out" test "$(yget "$B/state.yaml" nodes.stubborn.reason 2>/dev/null)" = timeout
grep_file "stubborn: it was killed by SIGKILL" "SIGKILL" "$B/state.yaml"
grep_file "stubborn: the daemon logged the SIGKILL after the grace" "stubborn.*SIGKILL after 5s" "$T/watch.log"
pg=$(cat "$P/stub.pid" 2>/dev/null)
check "stubborn: its process group is gone" group_gone "${pg:-0}"

# --- a node that detaches with setsid -----------------------------------------------
# the detached process leaves the node's process group and session; the
# daemon finds it by its DAGEXEC_JOB and DAGEXEC_NODE and kills it at the
# node's end, whether it holds the node's pipes or not
cat >detach.yaml <<Y
name: detach
nodes:
  holds: {run: "setsid sh -c 'echo \$\$ > $P/holds.pid; exec sleep 300' & sleep 1", timeout: 1m}
  lets-go: {run: "setsid sh -c 'echo \$\$ > $P/letsgo.pid; exec sleep 300' >/dev/null 2>&1 & sleep 1", timeout: 1m}
Y
drop detach.yaml
small small-detach
alongside detach small-detach
ended detach
check "detach: the node holding the pipes ended without its timeout" test "$(yget "$B/state.yaml" nodes.holds.status 2>/dev/null)" = succeeded
check "detach: the node letting go ended" test "$(yget "$B/state.yaml" nodes.lets-go.status 2>/dev/null)" = succeeded
for f in holds letsgo; do
	p=$(cat "$P/$f.pid" 2>/dev/null)
	check "detach: the detached process ($f) left the node's session" test -n "$p"
	check "detach: the detached process ($f) is gone" gone "${p:-0}"
done
grep_file "detach: the daemon says it killed what was left" "leftover.*left behind" "$T/watch.log"

# a detached process that survives its job's supervisor killed by SIGKILL
# is killed when the daemon resumes the job in a new supervisor
cat >detach9.yaml <<Y
name: detach9
nodes:
  d9: {run: "[ -f $P/d9.again ] && exit 0; touch $P/d9.again; setsid sh -c 'echo \$\$ > $P/d9.pid; exec sleep 300' >/dev/null 2>&1 & sleep 300"}
Y
drop detach9.yaml
check "detach9: the detached process starts" wait_for 1 "$P/d9.pid"
sleep 0.3
sup=$(supervisor_pids)
check "detach9: one supervisor runs the job" test "$(echo "$sup" | wc -w)" -eq 1
kill -KILL $sup
p=$(cat "$P/d9.pid" 2>/dev/null)
check "detach9: the detached process outlives the killed supervisor" kill -0 "${p:-0}"
ended detach9
check "detach9: the resumed job succeeded" test "$(yget "$B/state.yaml" status 2>/dev/null)" = succeeded
check "detach9: the detached process is gone after the resume" gone "${p:-0}"
# (with cgroups the daemon kills it through the job's cgroup as soon as the
# supervisor dies; without them the resumed supervisor finds it by its
# environment)
grep_file "detach9: the daemon says it killed it" \
    "detached process(es) from the interrupted run\|detach9-.* leftover killing what is left in" \
    "$T/watch.log"

# --- a node that fills its work directory -----------------------------------------
if $ROOT && command -v mount >/dev/null 2>&1 && mkdir -p "$T/small" &&
    mount -t tmpfs -o size=2m tmpfs "$T/small" 2>/dev/null; then
	MNT=$T/small
	cat >filler.yaml <<Y
name: filler
workdir: $MNT
nodes:
  fill: {run: "head -c 10M /dev/zero > big"}
  after: {run: "echo still-here", needs: [fill], when: always}
Y
	drop filler.yaml
	small small-fill
	wait_for 1 "$SP/done/small-fill-*.tar.gz"
	check "filler: the small job finishes" test $? -eq 0
	ended filler
	check "filler: the node failed" test "$(yget "$B/state.yaml" nodes.fill.status 2>/dev/null)" = failed
	grep_file "filler: its stderr says the disk is full" "No space left on device" "$B/nodes/fill/stderr.log"
	check "filler: the next node still ran" test "$(yget "$B/state.yaml" nodes.after.status 2>/dev/null)" = succeeded
	responsive filler
	umount "$MNT" && MNT=
else
	echo "skip - filler: needs root to mount a small tmpfs"
fi

check "the daemon survived every abuser" kill -0 "$WPID"
check "nothing is left in active/" test -z "$(ls -A "$SP/active")"
finish
