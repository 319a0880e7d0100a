#!/bin/sh
# Operating it (dagexec(1) EXIT STATUS, "Naming a run", "Cancelling"):
# exit statuses of watch --drain and status --follow, submit's hints about
# the spool, the daemon's reject line and the modes of rejected files (a
# second user, as root), job ids and paths resolved by show, verify,
# graph --state, status and retry, cancel against cancel --now with a
# `when: always` node, and watch --keep-done by count and by age. Real
# daemons, real jobs, real files.
. "$TOP_SRCDIR/tests/integration/lib.sh"

WPID=
U=
cleanup() {
	stop_daemon
	[ -n "${PROBER:-}" ] && kill "$PROBER" 2>/dev/null
	stop_supervisors
	[ -n "$U" ] && userdel "$U" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# wait_state FILE KEY VALUE: until a state file says so (at most 30 s)
wait_state() {
	i=0
	while [ $i -lt 300 ]; do
		[ "$(yget "$1" "$2" 2>/dev/null)" = "$3" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

cat >ok.yaml <<'Y'
name: okay
nodes:
  hello: {run: "echo hello-out; echo hello-err >&2"}
  after: {run: "echo after", needs: [hello]}
Y
cat >bad.yaml <<'Y'
name: broken
nodes:
  prep: {run: "echo prep > prep.txt", outputs: [prep.txt]}
  boom: {run: "exit 3", needs: [prep]}
Y

# --- watch --drain: 0 all succeeded, 1 a failure or a rejected file --------
SP="$T/sp"
expect_status 0 "drain of a new, empty spool" "$DAGEXEC" watch -s "$SP" --drain
"$DAGEXEC" submit -s "$SP" ok.yaml >/dev/null 2>&1
"$DAGEXEC" submit -s "$SP" ok.yaml >/dev/null 2>&1
expect_status 0 "drain: two jobs that succeed" "$DAGEXEC" watch -s "$SP" --drain
grep_file "the drain's last line counts nothing bad" "drained 0 job(s) did not succeed, 0 file(s) rejected" "$T/err"
BAD=$("$DAGEXEC" submit -s "$SP" bad.yaml 2>/dev/null)
"$DAGEXEC" submit -s "$SP" ok.yaml >/dev/null 2>&1
expect_status 1 "drain: one of two jobs fails" "$DAGEXEC" watch -s "$SP" --drain
grep_file "the drain's last line counts the failure" "drained 1 job(s) did not succeed, 0 file(s) rejected" "$T/err"
printf 'name: inv\nnodes: [\n' >"$SP/incoming/.inv.yaml.tmp"
mv "$SP/incoming/.inv.yaml.tmp" "$SP/incoming/inv.yaml"
printf 'x' >"$SP/incoming/notes.txt"
expect_status 1 "drain: two files rejected, nothing failed" "$DAGEXEC" watch -s "$SP" --drain
grep_file "the drain's last line counts the rejections" "drained 0 job(s) did not succeed, 2 file(s) rejected" "$T/err"
# the daemon's reject line carries the reason: the parser's (as the
# dropper, in the supervisor) and root's own
grep_file "the reject line of an invalid manifest says why" "reject file=inv.yaml inv.yaml:3:1: error: " "$T/err"
grep_file "the reject line of a file of another name says why" "reject file=notes.txt 'notes.txt' is neither a manifest" "$T/err"
expect_status 0 "drain again: nothing left, nothing new" "$DAGEXEC" watch -s "$SP" --drain
# a drain stopped by a signal before it is done: 75
cat >slow.yaml <<'Y'
name: slow
nodes:
  nap: {run: "sleep 2"}
Y
"$DAGEXEC" submit -s "$SP" slow.yaml >/dev/null 2>&1
"$DAGEXEC" watch -s "$SP" --drain >"$T/drain-sig.log" 2>&1 &
dpid=$!
wait_for 1 "$SP/active/slow-*/state.yaml"
kill -TERM "$dpid"
wait "$dpid"
check "a drain stopped by SIGTERM exits 75 (exit $?)" test $? -eq 75
"$DAGEXEC" watch -s "$SP" --drain >/dev/null 2>&1	# collects it

# --- status --follow: 0, 1, 65, 66, and an interrupted job followed on ------
J=$(ls "$SP/done" | grep '^okay-' | head -n 1); J=${J%.tar.gz}
expect_status 0 "status --follow of a job that succeeded" timeout 20 "$DAGEXEC" status -s "$SP" --follow "$J"
expect_status 1 "status --follow of a job that failed" timeout 20 "$DAGEXEC" status -s "$SP" --follow "$BAD"
grep_file "with its final line" "^$BAD failed 2/2 done" "$T/out"
expect_status 66 "status --follow of an unknown job" timeout 20 "$DAGEXEC" status -s "$SP" --follow "nosuch-20260101T000000-0000"
# a file submit named, rejected by the daemon (as a drop of the same name
# that does not parse)
RJ=broken-20260101T000000-abcd
printf 'name: broken\nnodes: {a: {run: "true", bogus: 1}}\n' >"$SP/incoming/.r.tmp"
mv "$SP/incoming/.r.tmp" "$SP/incoming/$RJ.yaml"
"$DAGEXEC" watch -s "$SP" --drain >/dev/null 2>&1
expect_status 65 "status --follow of a rejected job" timeout 20 "$DAGEXEC" status -s "$SP" --follow "$RJ"
grep_file "it says why" "^$RJ rejected: $RJ.yaml:2:.*unknown key 'bogus'" "$T/out"
# rejected while it is followed: the follower learns it from rejected/
RJ2=broken-20260101T000001-abcd
printf 'name: broken\nnodes: {a: {run: "true", bogus: 1}}\n' >"$SP/incoming/.r.tmp"
mv "$SP/incoming/.r.tmp" "$SP/incoming/$RJ2.yaml"
timeout 20 "$DAGEXEC" status -s "$SP" --follow "$RJ2" >"$T/rfollow" 2>&1 &
fpid=$!
sleep 0.3
"$DAGEXEC" watch -s "$SP" --drain >/dev/null 2>&1
wait "$fpid"
check "a job rejected while followed: exit 65 (exit $?)" test $? -eq 65
grep_file "the follower printed queued, then rejected" "^$RJ2 rejected: " "$T/rfollow"

# interrupted (watch --stop-jobs, then SIGTERM), then resumed by a new daemon
cat >resume.yaml <<'Y'
name: resumable
nodes:
  first: {run: "sleep 1.5"}
  second: {run: "echo second", needs: [first]}
Y
start_watch "$SP" --stop-jobs
IJ=$("$DAGEXEC" submit -s "$SP" resume.yaml 2>/dev/null)
timeout 60 "$DAGEXEC" status -s "$SP" --follow "$IJ" >"$T/ifollow" 2>&1 &
fpid=$!
wait_state "$SP/active/$IJ/state.yaml" nodes.first.status running
stop_daemon
check "the job is interrupted in active/" wait_state "$SP/active/$IJ/state.yaml" status interrupted
sleep 0.5
check "status --follow goes on following an interrupted job" kill -0 "$fpid"
grep_file "it showed the interruption" "^$IJ interrupted " "$T/ifollow"
start_watch "$SP"
wait "$fpid"
check "status --follow of the resumed job ends with it: exit 0 (exit $?)" test $? -eq 0
grep_file "its last line is the success" "^$IJ succeeded 2/2 done" "$T/ifollow"
stop_daemon

# --- submit's hints: no daemon, a daemon, a daemon starting ------------------
"$DAGEXEC" submit -s "$SP" ok.yaml >/dev/null 2>"$T/hint0"
grep_file "no daemon: submit warns" "^dagexec: warning: no dagexec watch serves '$SP': the job waits until one runs$" "$T/hint0"
start_watch "$SP"
"$DAGEXEC" submit -s "$SP" ok.yaml >/dev/null 2>"$T/hint1"
check "a daemon: submit says nothing (stderr: $(cat "$T/hint1"))" test ! -s "$T/hint1"
kill -KILL "$WPID"; wait "$WPID" 2>/dev/null; WPID=
"$DAGEXEC" submit -s "$SP" ok.yaml >/dev/null 2>"$T/hint2"
grep_file "a daemon killed: submit warns again" "no dagexec watch serves" "$T/hint2"
expect_status 73 "submit to a spool that does not exist" "$DAGEXEC" submit -s "$T/nospool" ok.yaml
grep_file "it says how to make it" "spool '$T/nospool' does not exist: \`dagexec watch -s $T/nospool\` creates it" "$T/err"
no_grep_file "not the staging file's error" "cannot create" "$T/err"
mkdir -p "$T/notspool"
expect_status 73 "submit to a directory that is no spool" "$DAGEXEC" submit -s "$T/notspool" ok.yaml
grep_file "it says so" "is not a dagexec spool (it has no incoming/)" "$T/err"
# A daemon starting while the lock is probed over and over: every start
# takes the lock (a probe that took the lock, however briefly, would make
# some of them exit 75, "served by pid").  `cancel --all` with nothing to
# cancel probes the lock as submit does, and drops nothing.
PSP="$T/psp"
"$DAGEXEC" watch -s "$PSP" --drain >/dev/null 2>&1
(
	while :; do
		if "$DAGEXEC" cancel -s "$PSP" --all 2>&1 | grep -q "no dagexec watch"; then
			echo W
		else
			echo S
		fi
	done
) >"$T/probes" 2>/dev/null &
PROBER=$!
starts=0; refused=0; k=0
while [ $k -lt 25 ]; do
	"$DAGEXEC" watch -s "$PSP" >"$T/pw.log" 2>&1 &
	p=$!
	i=0
	while [ $i -lt 100 ] && [ "$(cat "$PSP/lock" 2>/dev/null)" != "$p" ] &&
	    kill -0 "$p" 2>/dev/null; do
		sleep 0.02; i=$((i + 1))
	done
	sleep 0.1
	if kill -0 "$p" 2>/dev/null; then
		starts=$((starts + 1))
		kill -TERM "$p"
	else
		refused=$((refused + 1))
		sed 's/^/  | /' "$T/pw.log"
	fi
	wait "$p" 2>/dev/null
	k=$((k + 1))
done
kill "$PROBER"; wait "$PROBER" 2>/dev/null; PROBER=
served=$(grep -c '^S' "$T/probes")
echo "# 25 daemon starts under $(wc -l <"$T/probes") lock probes ($served while served)"
check "every daemon started while probed ($starts of 25, $refused refused)" test "$starts" -eq 25
check "the probes saw the daemons ($served probes while one served)" test "$served" -gt 0
check "and saw none ($(grep -c '^W' "$T/probes") probes without)" test "$(grep -c '^W' "$T/probes")" -gt 0

# --- runs named by id, by job directory, by bundle -----------------------
DJ=$(ls "$SP/done" | grep '^okay-' | head -n 1); DJ=${DJ%.tar.gz}
expect_status 0 "show -s SPOOL JOB" "$DAGEXEC" show -s "$SP" "$DJ"
grep_file "prints the summary" "^hello  *succeeded" "$T/out"
expect_status 0 "show JOB NODE with \$DAGEXEC_SPOOL" env DAGEXEC_SPOOL="$SP" "$DAGEXEC" show "$DJ" hello
grep_file "prints the node's stdout" "^hello-out$" "$T/out"
expect_status 0 "verify -s SPOOL JOB" "$DAGEXEC" verify -s "$SP" "$DJ"
grep_file "says OK for the id" "^$DJ: OK$" "$T/out"
expect_status 0 "status -s SPOOL JOB" "$DAGEXEC" status -s "$SP" "$DJ"
grep_file "one line a node" "^after  *succeeded" "$T/out"
expect_status 0 "status BUNDLE" "$DAGEXEC" status "$SP/done/$DJ.tar.gz"
grep_file "one line a node, from the bundle" "^hello  *succeeded" "$T/out"
expect_status 0 "graph --state BUNDLE.tar.gz" "$DAGEXEC" graph --state "$SP/done/$BAD.tar.gz"
grep_file "colours the failed node" '"boom" \[fillcolor=' "$T/out"
no_grep_file "no complaint about control characters" "control characters" "$T/err"
expect_status 0 "graph -s SPOOL --state JOB MANIFEST" "$DAGEXEC" graph -s "$SP" --state "$BAD" bad.yaml
grep_file "colours the node that succeeded" '"prep" \[fillcolor=' "$T/out"
expect_status 1 "retry -s SPOOL JOB (its node fails again)" "$DAGEXEC" retry -q -o "$T/rout" -s "$SP" "$BAD"
RB=$(tail -n 1 "$T/out")
unpack "$RB" rb
expect_state "the retry reused the node that succeeded" nodes.prep.reused_from "$BAD"
for c in show verify status retry; do
	want=66; [ "$c" = status ] && want=1
	expect_status $want "$c of an unknown job id" "$DAGEXEC" $c -s "$SP" nosuch-20260101T000000-0000
	grep_file "$c names the spool it looked in" "no bundle, job directory or job 'nosuch-20260101T000000-0000' in spool '$SP'" "$T/err"
done
expect_status 66 "graph --state of an unknown job id" "$DAGEXEC" graph -s "$SP" --state nosuch-20260101T000000-0000
expect_status 65 "show of a rejected job" "$DAGEXEC" show -s "$SP" "$RJ"
grep_file "says where its reason is" "job '$RJ' was rejected: see '$SP/rejected/$RJ.yaml.error'" "$T/err"
# a job directory: run --keep's (its bundle beside it), and a spool's
# active/JOB while the job runs
expect_status 1 "run --keep of the failing DAG" "$DAGEXEC" run -q --keep -o "$T/kept" bad.yaml
KB=$(tail -n 1 "$T/out"); KD=${KB%.tar.gz}
expect_status 0 "show JOBDIR" "$DAGEXEC" show "$KD" prep
expect_status 0 "verify JOBDIR checks its bundle" "$DAGEXEC" verify "$KD"
expect_status 1 "status --follow JOBDIR: it failed" "$DAGEXEC" status --follow "$KD"
expect_status 0 "graph --state JOBDIR" "$DAGEXEC" graph --state "$KD"
cat >live.yaml <<'Y'
name: live
nodes:
  talk: {run: "echo first-words; sleep 30"}
Y
start_watch "$SP"
LJ=$("$DAGEXEC" submit -s "$SP" live.yaml 2>/dev/null)
wait_state "$SP/active/$LJ/state.yaml" nodes.talk.status running
i=0; while [ $i -lt 50 ] && ! grep -q first-words "$SP/active/$LJ/nodes/talk/stdout.log" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
expect_status 0 "show -s SPOOL JOB NODE of a running job" "$DAGEXEC" show -s "$SP" "$LJ" talk
grep_file "prints the log so far" "^first-words$" "$T/out"
expect_status 66 "show -s SPOOL JOB of a running job: no summary yet" "$DAGEXEC" show -s "$SP" "$LJ"
grep_file "it says so" "has no summary.txt yet (it has not ended)" "$T/err"
expect_status 0 "status of active/JOB, a path" "$DAGEXEC" status "$SP/active/$LJ"
grep_file "shows the running node" "^talk  *running" "$T/out"
expect_status 66 "verify of a running job: no bundle yet" "$DAGEXEC" verify -s "$SP" "$LJ"
"$DAGEXEC" cancel -s "$SP" --now "$LJ" 2>/dev/null
wait_for 1 "$SP/done/$LJ.tar.gz"
stop_daemon
"$DAGEXEC" submit -s "$SP" ok.yaml >"$T/qid" 2>/dev/null
expect_status 0 "status of a queued job" "$DAGEXEC" status -s "$SP" "$(cat "$T/qid")"
grep_file "says queued" "^$(cat "$T/qid") queued$" "$T/out"
"$DAGEXEC" watch -s "$SP" --drain >/dev/null 2>&1

# --- cancel lets when: always run; cancel --now does not --------------------
CSP="$T/csp"
cat >cancel.yaml <<Y
name: stopme
nodes:
  long: {run: "sleep 30"}
  after: {run: "touch $T/after.ran", needs: [long]}
  cleanup: {run: "touch $T/cleanup.ran", needs: [long], when: always}
Y
start_watch "$CSP"
C1=$("$DAGEXEC" submit -s "$CSP" cancel.yaml 2>/dev/null)
wait_state "$CSP/active/$C1/state.yaml" nodes.long.status running
expect_status 0 "cancel JOB" "$DAGEXEC" cancel -s "$CSP" "$C1"
expect_status 1 "the cancelled job ends, not succeeded" timeout 30 "$DAGEXEC" status -s "$CSP" --follow "$C1"
check "cancel: the when: always node ran" test -f "$T/cleanup.ran"
check "cancel: the node that needed success did not" test ! -f "$T/after.ran"
wait_for 1 "$CSP/done/$C1.tar.gz"
unpack "$CSP/done/$C1.tar.gz" c1
expect_state "cancel: the job is cancelled" status cancelled
expect_state "cancel: the cleanup succeeded" nodes.cleanup.status succeeded
expect_state "cancel: the running node was cancelled" nodes.long.status cancelled
rm -f "$T/cleanup.ran" "$T/after.ran"
C2=$("$DAGEXEC" submit -s "$CSP" cancel.yaml 2>/dev/null)
wait_state "$CSP/active/$C2/state.yaml" nodes.long.status running
expect_status 0 "cancel --now JOB" "$DAGEXEC" cancel -s "$CSP" --now "$C2"
expect_status 1 "the terminated job ends, not succeeded" timeout 30 "$DAGEXEC" status -s "$CSP" --follow "$C2"
check "cancel --now: the when: always node did not run" test ! -f "$T/cleanup.ran"
wait_for 1 "$CSP/done/$C2.tar.gz"
unpack "$CSP/done/$C2.tar.gz" c2
expect_state "cancel --now: the job is cancelled" status cancelled
expect_state "cancel --now: the cleanup was cancelled" nodes.cleanup.status cancelled
expect_state "cancel --now: ... never started" nodes.cleanup.attempts 0
# cancel, then cancel --now while the cleanup runs: the cleanup is killed
cat >cancel2.yaml <<Y
name: stopme2
nodes:
  long: {run: "sleep 30"}
  cleanup: {run: "touch $T/cleanup2.started; sleep 30", needs: [long], when: always}
Y
C3=$("$DAGEXEC" submit -s "$CSP" cancel2.yaml 2>/dev/null)
wait_state "$CSP/active/$C3/state.yaml" nodes.long.status running
"$DAGEXEC" cancel -s "$CSP" "$C3" 2>/dev/null
check "cancel: the cleanup starts" wait_for 1 "$T/cleanup2.started"
"$DAGEXEC" cancel -s "$CSP" --now "$C3" 2>/dev/null
expect_status 1 "cancel --now after cancel ends the job" timeout 30 "$DAGEXEC" status -s "$CSP" --follow "$C3"
wait_for 1 "$CSP/done/$C3.tar.gz"
unpack "$CSP/done/$C3.tar.gz" c3
expect_state "the running cleanup was killed" nodes.cleanup.status cancelled
stop_daemon
# no daemon: the request waits, and cancel says so; the next daemon
# rejects the queued job, so its drain exits 1
C4=$("$DAGEXEC" submit -s "$CSP" ok.yaml 2>/dev/null)
expect_status 0 "cancel of a queued job, no daemon" "$DAGEXEC" cancel -s "$CSP" "$C4"
grep_file "cancel warns that no daemon serves the spool" "no dagexec watch serves '$CSP': cancel requests wait until one runs" "$T/err"
expect_status 1 "the drain that cancels it exits 1" "$DAGEXEC" watch -s "$CSP" --drain
check "the queued job went to rejected/" test -f "$CSP/rejected/$C4.yaml"

# --- watch --keep-done N|DURATION -------------------------------------------
KSP="$T/ksp"
"$DAGEXEC" watch -s "$KSP" --drain >/dev/null 2>&1
for n in 1 2 3 4; do "$DAGEXEC" submit -s "$KSP" ok.yaml >/dev/null 2>&1; done
"$DAGEXEC" watch -s "$KSP" --drain >/dev/null 2>&1
check "four bundles to start with" test "$(ls "$KSP/done" | wc -l)" -eq 4
# known ages: the oldest first in the listing
i=4
for b in $(ls "$KSP/done"); do
	touch -d "$i hours ago" "$KSP/done/$b"
	i=$((i - 1))
done
ls -tr "$KSP/done" >"$T/byage"
expect_status 0 "drain --keep-done 3" "$DAGEXEC" watch -s "$KSP" --drain --keep-done 3
check "three are kept" test "$(ls "$KSP/done" | wc -l)" -eq 3
check "the oldest went" test ! -e "$KSP/done/$(sed -n 1p "$T/byage")"
grep_file "and it was logged" "keep-done removed 'done/$(sed -n 1p "$T/byage")': beyond the newest 3" "$T/err"
expect_status 0 "drain --keep-done 150m" "$DAGEXEC" watch -s "$KSP" --drain --keep-done 150m
check "those older than 150m went" test "$(ls "$KSP/done" | wc -l)" -eq 2
check "the third oldest went" test ! -e "$KSP/done/$(sed -n 2p "$T/byage")"
check "the two youngest are kept" test -e "$KSP/done/$(sed -n 3p "$T/byage")" -a -e "$KSP/done/$(sed -n 4p "$T/byage")"
# a running daemon prunes after each bundle it collects
start_watch "$KSP" --keep-done 2
"$DAGEXEC" submit -s "$KSP" ok.yaml >"$T/kid" 2>/dev/null
wait_for 1 "$KSP/done/$(cat "$T/kid").tar.gz"
i=0; while [ $i -lt 50 ] && [ "$(ls "$KSP/done" | wc -l)" -gt 2 ]; do sleep 0.1; i=$((i + 1)); done
check "a new bundle: still two, the new one among them" test "$(ls "$KSP/done" | wc -l)" -eq 2 -a -e "$KSP/done/$(cat "$T/kid").tar.gz"
check "the older of the two went" test ! -e "$KSP/done/$(sed -n 3p "$T/byage")"
stop_daemon
expect_status 64 "--keep-done 0 is a usage error" "$DAGEXEC" watch -s "$KSP" --drain --keep-done 0
expect_status 64 "--keep-done of no duration" "$DAGEXEC" watch -s "$KSP" --drain --keep-done 3x

# --- a rejected file and its .error are the dropper's alone (root only) ---
if [ "$(id -u)" -eq 0 ] && command -v useradd >/dev/null 2>&1 &&
    command -v runuser >/dev/null 2>&1; then
	chmod 755 "$T"
	U=dgxo$$
	useradd -M -N -d /nonexistent -s /usr/sbin/nologin "$U" 2>/dev/null || U=
fi
if [ -n "$U" ]; then
	UD=$(users_dagexec)
	RSP="$T/rsp"
	"$UD" watch -s "$RSP" --drain >/dev/null 2>&1
	# dropped with a lax umask: 0644, a token in it; one invalid (the
	# supervisor refuses it, as U), one of no known kind (root refuses it)
	printf 'name: leak\ntoken: s3cret\nnodes: {}\n' >"$T/leak.yaml"
	printf 's3cret\n' >"$T/leak.txt"
	for f in leak.yaml leak.txt; do
		cp "$T/$f" "$RSP/incoming/.$f.tmp"
		chown "$U" "$RSP/incoming/.$f.tmp"
		chmod 644 "$RSP/incoming/.$f.tmp"
		mv "$RSP/incoming/.$f.tmp" "$RSP/incoming/$f"
	done
	"$UD" watch -s "$RSP" --drain >"$T/rw.log" 2>&1
	for f in leak.yaml leak.yaml.error leak.txt leak.txt.error; do
		check "rejected/$f is U's, mode 600 ($(stat -c '%U %a' "$RSP/rejected/$f" 2>/dev/null))" \
		    test "$(stat -c '%U %a' "$RSP/rejected/$f" 2>/dev/null)" = "$U 600"
		check "another user cannot read rejected/$f" sh -c "! runuser -u nobody -- cat '$RSP/rejected/$f' >/dev/null 2>&1"
		check "U can read rejected/$f" runuser -u "$U" -- cat "$RSP/rejected/$f" >/dev/null
	done
	grep_file "the reject line says why (the supervisor's reason)" "reject file=leak.yaml leak.yaml:2:1: error: unknown key 'token'" "$T/rw.log"
else
	echo "# skip - rejected files of a second user: needs root, useradd and runuser"
fi

finish
