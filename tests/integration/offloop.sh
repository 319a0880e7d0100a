#!/bin/sh
# Nothing that takes long runs on the daemon's event loop: while one job's
# large output is copied and its bundle packed, another job's node with a
# short timeout is still killed at its timeout, and a third job is taken
# in and ends.
. "$TOP_SRCDIR/tests/integration/lib.sh"

SP="$T/spool"
WPID=
trap 'stop_daemon; stop_supervisors; rm -rf "$T"' EXIT

start_daemon() {
	"$DAGEXEC" watch -s "$SP" -j 4 --max-jobs 4 >>"$T/watch.log" 2>&1 &
	WPID=$!
	i=0
	while [ $i -lt 50 ] && [ "$(cat "$SP/lock" 2>/dev/null)" != "$WPID" ]; do
		sleep 0.1; i=$((i + 1))
	done
}

wait_for() {	# wait_for SECONDS GLOB
	i=0
	while [ $i -lt $(($1 * 10)) ]; do
		ls $2 >/dev/null 2>&1 && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

drop() {	# drop FILE
	cp "$1" "$SP/incoming/.$1.tmp" && mv "$SP/incoming/.$1.tmp" "$SP/incoming/$1"
}

# OFFLOOP_MB of random bytes (gzip cannot shrink them quickly), made once
MB=${OFFLOOP_MB:-768}
head -c "${MB}M" /dev/urandom >"$T/rand.bin"
# the big node makes its output, waits for the short one to run, and
# ends: copying and packing its output happen while the short node's
# timeout falls due
cat >big.yaml <<Y
name: big
nodes:
  make: {run: "cp $T/rand.bin big.bin; while [ ! -e $T/go ]; do sleep 0.02; done", outputs: [big.bin]}
Y
cat >short.yaml <<Y
name: short
nodes:
  slow: {run: "touch $T/go; exec sleep 60", timeout: 2s}
Y
cat >tiny.yaml <<'Y'
name: tiny
nodes:
  a: {run: "true"}
Y

"$DAGEXEC" watch -s "$SP" --drain >/dev/null 2>&1
start_daemon
drop big.yaml
wait_for 60 "$SP/active/big-*/work/big.bin"
sleep 1	# cp writes it
t0=$(date +%s%N)
drop short.yaml
wait_for 30 "$T/go"
drop tiny.yaml
check "a job dropped meanwhile ends" wait_for 120 "$SP/done/tiny-*.tar.gz"
check "the job with the short timeout ends" wait_for 120 "$SP/done/short-*.tar.gz"
check "the big job ends" wait_for 300 "$SP/done/big-*.tar.gz"
t1=$(date +%s%N)
sb=$(ls "$SP"/done/short-*.tar.gz | head -n 1)
mkdir x
tar xzf "$sb" -C x
st=$(ls -d x/short-*)/state.yaml
status=$($PY -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["nodes"]["slow"]["status"])' "$st")
dur=$($PY -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["nodes"]["slow"]["duration_ms"])' "$st")
check "the short node was timed out (status $status)" test "$status" = timed_out
# its attempt ran about its timeout (2 s, then SIGTERM): at most twice
# that, while the big job's copy and packing took longer
span=$(( (t1 - t0) / 1000000 ))
echo "# short node: $dur ms; the big job's copy and packing: $span ms"
check "the short node was ended near its timeout ($dur ms <= 4000 ms)" \
    test "$dur" -le 4000
bb=$(ls "$SP"/done/big-*.tar.gz | head -n 1)
check "the big bundle holds the output" sh -c \
    "tar tzf '$bb' | grep -q 'outputs/make/big.bin'"
check "nothing is left in active/" test -z "$(ls "$SP/active")"
finish
