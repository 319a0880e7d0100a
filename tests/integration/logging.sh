#!/bin/sh
# What a big DAG's end logs: skipped and cancelled nodes are logged one by
# one up to a bound a job, the rest counted in one line at its end.
. "$TOP_SRCDIR/tests/integration/lib.sh"

SP="$T/spool"
WPID=
trap 'stop_daemon; stop_supervisors; rm -rf "$T"' EXIT
N=5000

# big.yaml: first (failing, or sleeping) and N nodes that need it
big() {	# big NAME RUN
	echo "name: $1"
	echo "nodes:"
	echo "  first: {run: \"$2\"}"
	awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++)
	    printf "  n%d: {run: \"true\", needs: [first]}\n", i }'
}

# --- dagexec run: the first node fails, N nodes are skipped ----------------
big skipped "exit 1" >skipped.yaml
"$DAGEXEC" run -o "$T/runs" --keep skipped.yaml >"$T/run.out" 2>"$T/run.err"
check "the run fails (exit 1)" test $? -eq 1
n=$(grep -c ' skipped' "$T/run.err")
check "the skipped nodes are not logged one by one ($n lines < 100)" test "$n" -lt 100
grep_file "one line counts the rest" "skipped \.\.\. and $((N - 20)) more nodes skipped" "$T/run.err"
n=$(grep -c '' "$T/run.err")
check "the whole log of the run is bounded ($n lines < 100)" test "$n" -lt 100

# --- watch: a running job of N + 1 nodes cancelled --------------------------
big cancelled "sleep 30" >"$T/cancelled.yaml"
"$DAGEXEC" watch -s "$SP" >>"$T/watch.log" 2>&1 &
WPID=$!
id=$("$DAGEXEC" submit -s "$SP" "$T/cancelled.yaml")
i=0
while [ $i -lt 300 ] && ! grep -q "$id/first start" "$T/watch.log"; do
	sleep 0.1; i=$((i + 1))
done
check "the first node runs" grep -q "$id/first start" "$T/watch.log"
"$DAGEXEC" cancel -s "$SP" "$id"
i=0
while [ $i -lt 300 ] && [ ! -f "$SP/done/$id.tar.gz" ]; do
	sleep 0.1; i=$((i + 1))
done
stop_daemon
check "the cancelled job has its bundle" test -f "$SP/done/$id.tar.gz"
mkdir -p "$T/x" && tar xzf "$SP/done/$id.tar.gz" -C "$T/x" 2>/dev/null
c=$("$PY" -c 'import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
print(sum(1 for v in d["nodes"].values() if v["status"] == "cancelled"))' \
    "$T/x/$id/state.yaml")
check "every node is cancelled ($c of $((N + 1)))" test "$c" -ge "$N"
n=$(grep -c "^[A-Z]* $id" "$T/watch.log")
check "the job's log is bounded ($n lines < 100)" test "$n" -lt 100
grep_file "one line counts the nodes cancelled but not logged" \
    "$id cancelled \.\.\. and $((c - 20)) more nodes cancelled" "$T/watch.log"
n=$(grep -c "more nodes cancelled" "$T/watch.log")
check "that line comes once ($n)" test "$n" -eq 1

finish
