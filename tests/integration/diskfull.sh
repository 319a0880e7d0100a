#!/bin/sh
# The spool's file system fills up while a job ends: copying an output,
# writing the state, the summary and the bundle fail with ENOSPC.  Once
# space is back the job must end (the daemon retries a failed end at least
# every 10 s and at every start), `status` must never show it running after
# its end was journalled, and no node may run again -- also across a
# kill -9 of the daemon while the disk is full.
. "$TOP_SRCDIR/tests/integration/lib.sh"

WPID=
MOUNTS=
cleanup() {
	if [ -n "$WPID" ]; then
		kill -KILL "$WPID" 2>/dev/null
		wait "$WPID" 2>/dev/null
	fi
	stop_supervisors
	for m in $MOUNTS; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	echo "skip - diskfull: needs root to mount a small tmpfs as the spool"
	exit 0
fi

# wait_for SECONDS COMMAND...: true once COMMAND succeeds
wait_for() {
	n=$(($1 * 10)); shift
	i=0
	while [ $i -lt $n ]; do
		"$@" && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
has_lines() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge 1 ]; }
# journalled SPOOL ID: the job's end is in its journal in active/, or it
# is already over (the daemon wrote its end into the reserve it keeps for
# a full disk, and its bundle is in done/)
journalled() {
	grep -qs '"finish"\|\bfinish\b' "$1/active/$2/events.log" ||
	    [ -f "$1/done/$2.tar.gz" ]
}

# mkspool NAME: a 4 MiB tmpfs at $T/NAME with the spool's layout and a
# 2 MiB filler file the test removes to give space back
mkspool() {
	mkdir -p "$T/$1"
	mount -t tmpfs -o size=4M tmpfs "$T/$1" 2>/dev/null || return 1
	MOUNTS="$MOUNTS $T/$1"
	timeout 20 "$DAGEXEC" watch -s "$T/$1" --drain >/dev/null 2>&1
	head -c 2M /dev/zero >"$T/$1/filler"
}

start_daemon() {	# start_daemon SPOOL
	"$DAGEXEC" watch -s "$1" >>"$T/watch.log" 2>&1 &
	WPID=$!
	wait_for 5 sh -c "test \"\$(cat '$1/lock' 2>/dev/null)\" = $WPID"
}

# job NAME COUNTER: a manifest whose node appends its id to COUNTER
# (outside the spool), then fills the spool with an output
job() {
	cat >"$T/$1.yaml" <<Y
name: $1
nodes:
  big: {run: "echo \$DAGEXEC_JOB \$DAGEXEC_NODE \$DAGEXEC_ATTEMPT >> $2; dd if=/dev/zero of=big.bin bs=64k count=128 2>/dev/null || true", outputs: [big.bin]}
Y
}

drop() {	# drop SPOOL NAME
	cp "$T/$2.yaml" "$1/incoming/.$2.tmp" && mv "$1/incoming/.$2.tmp" "$1/incoming/$2.yaml"
}

jid() {		# jid SPOOL NAME
	ls "$1/active" "$1/done" 2>/dev/null |
	    sed -n "s/^\($2-[0-9]\{8\}T[0-9]\{6\}-[0-9a-f]*\)\(\.tar\.gz\)\{0,1\}\$/\1/p" |
	    head -n 1
}

# status_running SPOOL ID: `dagexec status` does not show ID with a final
# status (running, queued, anything but one a job ends with)
status_running() {
	timeout 10 "$DAGEXEC" status -s "$1" >"$T/st.out" 2>&1
	st=$(awk -v id="$2" '$1 == id { print $2 }' "$T/st.out")
	case $st in
	succeeded|failed|cancelled|timed_out|budget_exceeded) return 1 ;;
	esac
	return 0
}

# ended SPOOL ID WHAT: the job's bundle is in done/ and its state is not
# running
ended() {
	b="$1/done/$2.tar.gz"
	if [ ! -f "$b" ]; then
		fail "$3: no bundle $2.tar.gz in done/"
		return
	fi
	rm -rf "$T/x"; mkdir -p "$T/x"
	timeout 20 tar xzf "$b" -C "$T/x" 2>/dev/null
	s=$(yget "$T/x/$2/state.yaml" status 2>/dev/null)
	check "$3: the bundle's state is final (status ${s:-missing})" \
	    test -n "$s" -a "$s" != running
}

if ! mkspool sp1; then
	echo "skip - diskfull: cannot mount a tmpfs here"
	exit 0
fi

# --- the disk fills at the end, then space comes back ------------------------------------
SP=$T/sp1
start_daemon "$SP"
job full1 "$T/count1"
drop "$SP" full1
check "full: the node ran" wait_for 15 has_lines "$T/count1"
id=$(jid "$SP" full1)
if wait_for 15 journalled "$SP" "$id"; then
	pass "full: the job's end is journalled while the disk is full"
	sleep 1
	if status_running "$SP" "$id"; then
		fail "full: status shows a final status, not running, after the journalled end (it shows: $st)"
		sed 's/^/  | /' "$T/st.out" | head -5
	else
		pass "full: status shows a final status, not running, after the journalled end"
	fi
else
	fail "full: the job's end is journalled while the disk is full"
fi
df -k "$SP" | sed 's/^/# /' | tail -1
rm -f "$SP/filler"
check "full: within 30 s of space coming back the bundle is in done/" \
    wait_for 30 test -f "$SP/done/$id.tar.gz"
ended "$SP" "$id" full
if status_running "$SP" "$id"; then
	fail "full: status shows a final status once space is back (it shows: $st)"
else
	pass "full: status shows a final status once space is back"
fi
check "full: node big ran exactly once ($(wc -l <"$T/count1" 2>/dev/null) lines)" \
    test "$(wc -l <"$T/count1" 2>/dev/null)" -eq 1
kill -TERM "$WPID" 2>/dev/null
wait_for 10 sh -c "! kill -0 $WPID 2>/dev/null"
kill -KILL "$WPID" 2>/dev/null
wait "$WPID" 2>/dev/null
WPID=
# the daemon's next start must not run the node again either
timeout 30 "$DAGEXEC" watch -s "$SP" --drain >>"$T/watch.log" 2>&1
check "full: after a restart node big still ran exactly once ($(wc -l <"$T/count1" 2>/dev/null) lines)" \
    test "$(wc -l <"$T/count1" 2>/dev/null)" -eq 1

# --- kill -9 while the disk is full, space back, watch --drain -------------------------------
if ! mkspool sp2; then
	fail "kill: cannot mount a second tmpfs"
	finish
fi
SP=$T/sp2
start_daemon "$SP"
job full2 "$T/count2"
drop "$SP" full2
check "kill: the node ran" wait_for 15 has_lines "$T/count2"
id=$(jid "$SP" full2)
wait_for 15 journalled "$SP" "$id"
fin=$?
check "kill: the job's end is journalled while the disk is full" test $fin -eq 0
sleep 1
kill -KILL "$WPID"
wait "$WPID" 2>/dev/null
WPID=
if [ $fin -eq 0 ] && status_running "$SP" "$id"; then
	fail "kill: status shows a final status after the journalled end, daemon dead (it shows: $st)"
else
	pass "kill: status shows a final status after the journalled end, daemon dead"
fi
rm -f "$SP/filler"
timeout 40 "$DAGEXEC" watch -s "$SP" --drain >>"$T/watch.log" 2>&1
rc=$?
check "kill: watch --drain after space is back exits (exit $rc)" test $rc -ne 124
ended "$SP" "$id" kill
check "kill: node big ran exactly once ($(wc -l <"$T/count2" 2>/dev/null) lines)" \
    test "$(wc -l <"$T/count2" 2>/dev/null)" -eq 1
if status_running "$SP" "$id"; then
	fail "kill: status shows a final status after the drain (it shows: $st)"
else
	pass "kill: status shows a final status after the drain"
fi

# --- a job whose journal says it ended, put back into active/ -------------------------
# As after a crash between the journal's finish and the bundle: the next
# daemon writes the end from the journal and runs nothing again.
SP=$T/sp3
mkdir -p "$SP"
"$DAGEXEC" watch -s "$SP" --drain >/dev/null 2>&1
job again "$T/count3"
sed -i 's/dd if=.*|| true/true/; s/, outputs: \[big.bin\]//' "$T/again.yaml"
drop "$SP" again
timeout 40 "$DAGEXEC" watch -s "$SP" --drain >>"$T/watch.log" 2>&1
id=$(jid "$SP" again)
b="$SP/done/$id.tar.gz"
if [ -n "$id" ] && [ -f "$b" ]; then
	mkdir -p "$T/x3" "$SP/active/$id"
	tar xzf "$b" -C "$T/x3"
	cp "$T/x3/$id/manifest.yaml" "$T/x3/$id/events.log" "$SP/active/$id/"
	rm -f "$b"
	timeout 40 "$DAGEXEC" watch -s "$SP" --drain >>"$T/watch.log" 2>&1
	check "finished: the bundle is written again from the journal" test -f "$b"
	check "finished: node big ran once, not again ($(wc -l <"$T/count3") lines)" \
	    test "$(wc -l <"$T/count3")" -eq 1
	mkdir -p "$T/y3"
	tar xzf "$b" -C "$T/y3" 2>/dev/null
	check "finished: the new bundle says succeeded" \
	    grep -q '^status: succeeded' "$T/y3/$id/state.yaml"
	check "finished: nothing is left in active/" test ! -e "$SP/active/$id"
else
	fail "finished: the first run left no bundle"
fi

finish
