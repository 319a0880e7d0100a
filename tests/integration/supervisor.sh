#!/bin/sh
# One supervisor a job: a real second user U drops jobs into a root
# `watch`. Checked on real processes: the ids and capabilities of a node's
# parent; kill -9 and SIGTERM of the daemon with nodes running (nothing
# stops, nothing runs twice, a new daemon collects the bundle); -j held
# across a restart; kill -9 of a supervisor (resumed; three times in a
# minute: lost); submit --retry of U's finished job (only what failed runs
# again, as U; another user V is refused; a resumed retry reuses what it
# reused); no root process parses a dropped manifest or archive.
. "$TOP_SRCDIR/tests/integration/lib.sh"

SP="$T/spool"
WPID=
U=
V=
cleanup() {
	if [ -n "$WPID" ]; then
		kill -KILL "$WPID" 2>/dev/null
		wait "$WPID" 2>/dev/null
	fi
	stop_supervisors
	[ -n "$U" ] && pkill -KILL -u "$U" 2>/dev/null
	sleep 0.2
	[ -n "$U" ] && userdel "$U" 2>/dev/null
	[ -n "$V" ] && userdel "$V" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ] || ! command -v useradd >/dev/null 2>&1; then
	echo "skip - supervisor: needs root and useradd to create user U"
	exit 0
fi
chmod 755 "$T"
U=dgxs$$
useradd -M -N -d /nonexistent -s /usr/sbin/nologin "$U" 2>/dev/null
if ! id -u "$U" >/dev/null 2>&1; then
	echo "skip - supervisor: useradd failed"
	U=
	exit 0
fi
uu=$(id -u "$U")
ug=$(id -g "$U")
V=dgxv$$		# a second user, for what is U's alone
useradd -M -N -d /nonexistent -s /usr/sbin/nologin "$V" 2>/dev/null
id -u "$V" >/dev/null 2>&1 || V=
P="$T/pub"		# the nodes' scratch: U writes here
mkdir -p "$P"
chmod 1777 "$P"

start_daemon() {
	"$DAGEXEC" watch -s "$SP" "$@" >>"$T/watch.log" 2>&1 &
	WPID=$!
	i=0
	while [ $i -lt 50 ] && [ "$(cat "$SP/lock" 2>/dev/null)" != "$WPID" ]; do
		sleep 0.1; i=$((i + 1))
	done
}

# drop FILE: as U, renamed into incoming/
drop() { drop_as "$U" "$1"; }

# bundle_of NAME: the first bundle of DAG NAME in done/ (waits up to 30 s)
bundle_of() { done_of "$1"; }

# unpack BUNDLE: into a directory of its own; prints its JOB directory
unpack() {
	d="$T/u.$(basename "$1" .tar.gz)"
	mkdir -p "$d" && tar xzf "$1" -C "$d" && echo "$d/$(basename "$1" .tar.gz)"
}

# lines FILE PATTERN: how many lines of FILE match
# lines FILE PATTERN: how many lines of FILE match (0 when there is no FILE)
lines() { _n=$(grep -c -- "$2" "$1" 2>/dev/null); echo "${_n:-0}"; }

"$DAGEXEC" watch -s "$SP" --drain >/dev/null 2>&1	# makes the layout
check "watch --drain with nothing to do starts no spawner" test -z "$(pgrep -f -- "__spawner --spool $SP")"

# --- the node's parent: the supervisor, with every id U's, no capability --
cat >ids.yaml <<'Y'
name: ids
nodes:
  a:
    run: |
      grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapAmb):' /proc/$PPID/status
      echo "sid $(ps -o sid= -p $PPID | tr -d ' ')"
      echo "ppid $PPID"
Y
start_daemon
# the spawner runs before the first job needs it: that job does not wait for
# its exec (the daemon's child, found by its parent's pid, not by name)
i=0; while [ $i -lt 50 ] && [ -z "$(pgrep -P "$WPID" -f -- "__spawner --spool $SP")" ]; do sleep 0.1; i=$((i + 1)); done
check "the daemon starts its spawner before any job" test -n "$(pgrep -P "$WPID" -f -- "__spawner --spool $SP")"
drop ids.yaml
B=$(unpack "$(bundle_of ids)")
o="$B/nodes/a/stdout.log"
sed 's/^/  parent: /' "$o"
grep_file "the parent's uids are all U's" "^Uid:	$uu	$uu	$uu	$uu\$" "$o"
grep_file "the parent's gids are all U's" "^Gid:	$ug	$ug	$ug	$ug\$" "$o"
no_grep_file "the parent has no root group" "^Groups:.*\\b0\\b" "$o"
for c in CapInh CapPrm CapEff CapAmb; do
	grep_file "the parent has no capability ($c)" "^$c:	0000000000000000\$" "$o"
done
check "the parent is not the daemon" test "$(sed -n 's/^ppid //p' "$o")" != "$WPID"
check "the parent leads a session of its own (setsid)" test "$(sed -n 's/^sid //p' "$o")" = "$(sed -n 's/^ppid //p' "$o")"
check "the bundle is U's" test "$(stat -c %u "$(bundle_of ids)")" = "$uu"
check "the job directory is gone" test -z "$(ls "$SP/active")"
check "so is its claim" test -z "$(ls "$SP/claims")"

# --- the node cache under watch: the user's own store --------------------------
cat >cached.yaml <<Y
name: cached
defaults: {cache: true}
nodes:
  c: {run: "echo c >> $P/cached.runs; echo made > made.txt", outputs: [made.txt]}
Y
drop cached.yaml
b1=$(bundle_of cached)
rm -f "$b1"
drop cached.yaml
b2=$(bundle_of cached)
check "cache: the second job's node did not run" test "$(wc -l <"$P/cached.runs")" -eq 1
C=$(unpack "$b2")
check "cache: it is a hit" test "$(yget "$C/state.yaml" nodes.c.cached)" = True
check "cache: its output came back" test "$(cat "$C/outputs/c/made.txt" 2>/dev/null)" = made
check "cache: the store is U's, in users/UID/cache/" test "$(stat -c %u "$SP/users/$uu/cache")" = "$uu"

# --- kill -9 of the daemon with four nodes running -----------------------------
four() {	# four NAME: a job of four 3-second nodes, each writing its pid
	cat >"$1.yaml" <<Y
name: $1
max_parallel: 4
nodes:
  n1: {run: "echo \$\$ > $P/$1.n1.pid; echo n1 >> $P/$1.runs; sleep 3"}
  n2: {run: "echo \$\$ > $P/$1.n2.pid; echo n2 >> $P/$1.runs; sleep 3"}
  n3: {run: "echo \$\$ > $P/$1.n3.pid; echo n3 >> $P/$1.runs; sleep 3"}
  n4: {run: "echo \$\$ > $P/$1.n4.pid; echo n4 >> $P/$1.runs; sleep 3"}
Y
}
# alive NAME: how many of its four nodes run
alive() {
	k=0
	for n in n1 n2 n3 n4; do
		p=$(cat "$P/$1.$n.pid" 2>/dev/null)
		[ -n "$p" ] && kill -0 "$p" 2>/dev/null && k=$((k + 1))
	done
	echo $k
}
# four_started NAME: wait until the four have written their pids
four_started() {
	i=0
	while [ $i -lt 100 ]; do
		[ "$(ls "$P"/"$1".n?.pid 2>/dev/null | wc -l)" -eq 4 ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

four k9
drop k9.yaml
check "kill -9: the four nodes start" four_started k9
kill -KILL "$WPID"; wait "$WPID" 2>/dev/null; WPID=
sleep 0.5
check "kill -9: all four still run half a second later" test "$(alive k9)" -eq 4
start_daemon
b=$(bundle_of k9)
check "kill -9: a new daemon collects the bundle" test -n "$b"
check "kill -9: the job succeeded" test "$(bundle_state "$b" status)" = succeeded
check "kill -9: each node ran exactly once" test "$(sort "$P/k9.runs" | uniq | wc -l)" -eq 4 -a "$(wc -l <"$P/k9.runs")" -eq 4
grep_file "kill -9: the new daemon adopted the supervisor" "k9-.* adopt supervisor pid=" "$T/watch.log"

# --- SIGTERM: the same, and watch exits 0 ----------------------------------------
four term
drop term.yaml
check "SIGTERM: the four nodes start" four_started term
kill -TERM "$WPID"; wait "$WPID"; rc=$?; WPID=
check "SIGTERM: watch exits 0" test "$rc" -eq 0
sleep 0.5
check "SIGTERM: all four still run half a second later" test "$(alive term)" -eq 4
start_daemon
b=$(bundle_of term)
check "SIGTERM: the job succeeded" test -n "$b" -a "$(bundle_state "$b" status 2>/dev/null)" = succeeded
check "SIGTERM: each node ran exactly once" test "$(wc -l <"$P/term.runs")" -eq 4

# --- -j 2 across two jobs and a restart: never more than 2 nodes at once ----------
kill -TERM "$WPID"; wait "$WPID"; WPID=
start_daemon -j 2
for n in ja jb; do
	{
		echo "name: $n"
		echo "nodes:"
		for i in 1 2 3 4 5 6; do
			echo "  s$i: {run: \"echo $n.s$i >> $P/$n.runs; sleep 0.4\"}"
		done
	} >"$n.yaml"
	drop "$n.yaml"
done
i=0
while [ $i -lt 100 ] && [ "$(cat "$P"/ja.runs "$P"/jb.runs 2>/dev/null | wc -l)" -lt 3 ]; do
	sleep 0.1; i=$((i + 1))
done
kill -KILL "$WPID"; wait "$WPID" 2>/dev/null; WPID=
sleep 0.6
start_daemon -j 2
ba=$(bundle_of ja); bb=$(bundle_of jb)
check "-j 2: both jobs end" test -n "$ba" -a -n "$bb"
A=$(unpack "$ba"); Bj=$(unpack "$bb")
"$PY" - "$A/events.log" "$Bj/events.log" >"$T/conc" <<'PY'
import sys
ev = []
for path in sys.argv[1:]:
    for line in open(path):
        f = line.split()
        if len(f) > 2 and f[1] in ('start', 'end') and f[2].startswith('node='):
            # an end before a start at the same millisecond
            ev.append((int(f[0]), 0 if f[1] == 'end' else 1, path + f[2]))
ev.sort()
run, top = set(), 0
for t, kind, node in ev:
    if kind:
        run.add(node)
    else:
        run.discard(node)
    top = max(top, len(run))
print(top)
PY
check "-j 2: the merged journals never show more than 2 nodes at once (saw $(cat "$T/conc"))" test "$(cat "$T/conc")" -le 2
check "-j 2: every node ran once" test "$(cat "$P/ja.runs" "$P/jb.runs" | sort -u | wc -l)" -eq 12 -a "$(cat "$P/ja.runs" "$P/jb.runs" | wc -l)" -eq 12
kill -TERM "$WPID"; wait "$WPID"; WPID=
start_daemon

# --- a job directory the first release left (root's, 0711): given to U, resumed --
kill -TERM "$WPID"; wait "$WPID"; WPID=
LJ=legacy-20261201T000000-abcd
mkdir -m 0711 "$SP/active/$LJ"
printf 'name: legacy\nnodes:\n  l: {run: "id -u > %s/legacy.uid"}\n' "$P" >"$SP/active/$LJ/manifest.yaml"
chown "$U" "$SP/active/$LJ/manifest.yaml"
chmod 600 "$SP/active/$LJ/manifest.yaml"
: >"$SP/active/$LJ/events.log"
chmod 600 "$SP/active/$LJ/events.log"
start_daemon
check "legacy: the job ends with a bundle" wait_for 1 "$SP/done/$LJ.tar.gz"
check "legacy: its node ran as U" test "$(cat "$P/legacy.uid" 2>/dev/null)" = "$uu"
check "legacy: its bundle is U's" test "$(stat -c %u "$SP/done/$LJ.tar.gz" 2>/dev/null)" = "$uu"

# --- the daemon gone between taking a bundle and removing the job directory -------
# (as a plain SIGTERM can leave it): the next daemon only tidies up
kill -TERM "$WPID"; wait "$WPID"; WPID=
CJ=tidy-20261201T000000-beef
mkdir -m 0711 "$SP/claims/$CJ"
printf 'uid %s\ngid %s\ngrants 0\n' "$uu" "$ug" >"$SP/claims/$CJ/lock"
chmod 600 "$SP/claims/$CJ/lock"
mkdir -m 0700 "$SP/active/$CJ" "$SP/active/$CJ/nodes"
echo left >"$SP/active/$CJ/nodes/x.log"
chown -R "$U" "$SP/active/$CJ"
cp "$SP/done/$LJ.tar.gz" "$SP/done/$CJ.tar.gz"
sum=$(sha256sum <"$SP/done/$CJ.tar.gz")
start_daemon
# the job directory goes first, then the claim (a sanitizer build is slow)
i=0; while [ $i -lt 100 ] && { [ -e "$SP/active/$CJ" ] || [ -e "$SP/claims/$CJ" ]; }; do sleep 0.1; i=$((i + 1)); done
check "tidy: the job directory is removed" test ! -e "$SP/active/$CJ"
check "tidy: so is its claim" test ! -e "$SP/claims/$CJ"
check "tidy: the bundle is left as it was" test "$(sha256sum <"$SP/done/$CJ.tar.gz")" = "$sum"
no_grep_file "tidy: nothing is resumed" "$CJ.* resume" "$T/watch.log"

# --- kill -9 of a supervisor mid-chain: resumed, only the cut node again ----------
cat >chain.yaml <<Y
name: chain
nodes:
  c1: {run: "echo c1 >> $P/chain.runs; sleep 0.5"}
  c2: {run: "echo c2 >> $P/chain.runs; touch $P/chain.c2; sleep 2", needs: [c1]}
  c3: {run: "echo c3 >> $P/chain.runs", needs: [c2]}
Y
drop chain.yaml
wait_for 1 "$P/chain.c2"
sup=$(supervisor_pids)
check "chain: one supervisor runs it" test "$(echo $sup | wc -w)" -eq 1
kill -KILL $sup
b=$(bundle_of chain)
check "chain: the resumed job succeeded" test -n "$b" -a "$(bundle_state "$b" status 2>/dev/null)" = succeeded
check "chain: c1 ran once" test "$(lines "$P/chain.runs" '^c1$')" -eq 1
check "chain: the interrupted c2 ran again, once" test "$(lines "$P/chain.runs" '^c2$')" -eq 2
check "chain: c3 ran once" test "$(lines "$P/chain.runs" '^c3$')" -eq 1
grep_file "chain: the daemon saw the supervisor die" "chain-.* supervisor killed by signal 9: the job resumes" "$T/watch.log"

# --- a cancel outlives kill -9 of the supervisor: the resumed job stays cancelled --
# (the cancel is in the journal: the new supervisor runs no node the cancel
# stopped, only the when: always ones it spared)
cat >cx.yaml <<Y
name: cx
nodes:
  k1: {run: "echo k1 >> $P/cx.runs; sleep 30"}
  k2: {run: "echo k2 >> $P/cx.runs", needs: [k1]}
  tidy: {run: "echo tidy >> $P/cx.runs; touch $P/cx.tidy; sleep 2", needs: [k1], when: always}
Y
drop cx.yaml
wait_for 1 "$P/cx.runs"
XJ=$(ls "$SP/active" | grep '^cx-')
"$DAGEXEC" cancel -s "$SP" "$XJ" >/dev/null 2>&1
wait_for 1 "$P/cx.tidy"
kill -KILL $(supervisor_pids) 2>/dev/null
b=$(bundle_of cx)
check "cancel, kill -9: the resumed job ends cancelled" test -n "$b" -a "$(bundle_state "$b" status 2>/dev/null)" = cancelled
check "cancel, kill -9: k1 did not run again" test "$(lines "$P/cx.runs" '^k1$')" -eq 1
check "cancel, kill -9: k2 never ran" test "$(lines "$P/cx.runs" '^k2$')" -eq 0
check "cancel, kill -9: the spared tidy ran" test "$(lines "$P/cx.runs" '^tidy$')" -ge 1
grep_file "cancel, kill -9: the new supervisor keeps the cancel" "cx-.* resume.*cancel" "$T/watch.log"

# --- no manifest.yaml, or a torn one, after a crash: taken in again from the -------
# dropped file, which the daemon keeps until the supervisor has written and synced
# its copy (a machine that went down right after the first nodes started leaves
# none; an older version, which wrote it without a sync, a torn one)
# taken_in_again NAME HOW LABEL LOGLINE: a chain NAME whose supervisor and daemon
# are killed while t2 runs; its manifest.yaml then emptied (HOW=torn) or removed
# (HOW=gone), the dropped file put back in its claim; a new daemon must resume it
taken_in_again() {
	tia=$1
	cat >"$tia.yaml" <<Y
name: $tia
nodes:
  t1: {run: "echo t1 >> $P/$tia.runs"}
  t2: {run: "echo t2 >> $P/$tia.runs; touch $P/$tia.t2; sleep 2", needs: [t1]}
  t3: {run: "echo t3 >> $P/$tia.runs", needs: [t2]}
Y
	drop "$tia.yaml"
	wait_for 1 "$P/$tia.t2"
	tij=$(ls "$SP/active" | grep "^$tia-")
	check "$3: the dropped file is let go once the copy is synced" \
	    test ! -e "$SP/claims/$tij/$tia.yaml"
	kill -TERM "$WPID"; wait "$WPID"; WPID=
	kill -KILL $(supervisor_pids) 2>/dev/null
	if [ "$2" = torn ]; then
		: >"$SP/active/$tij/manifest.yaml"
	else
		rm -f "$SP/active/$tij/manifest.yaml"
	fi
	cp "$tia.yaml" "$SP/claims/$tij/$tia.yaml"
	chown "$U" "$SP/claims/$tij/$tia.yaml"
	chmod 600 "$SP/claims/$tij/$tia.yaml"
	start_daemon
	b=$(bundle_of "$tia")
	check "$3: the job succeeded" test -n "$b" -a \
	    "$(bundle_state "$b" status 2>/dev/null)" = succeeded
	check "$3: its journal was resumed: t1 ran once" \
	    test "$(lines "$P/$tia.runs" '^t1$')" -eq 1
	check "$3: the interrupted t2 ran again, once" \
	    test "$(lines "$P/$tia.runs" '^t2$')" -eq 2
	check "$3: t3 ran once" test "$(lines "$P/$tia.runs" '^t3$')" -eq 1
	grep_file "$3: the supervisor said where the job came from" \
	    "$tij resume $4" "$T/watch.log"
	D=$(unpack "$b")
	check "$3: the bundle's manifest.yaml is whole" \
	    cmp -s "$tia.yaml" "$D/manifest.yaml"
	check "$3: the dropped file is gone at the end" test ! -e "$SP/claims/$tij"
}
taken_in_again torn torn "torn" "taken in again from the dropped file"
taken_in_again gone gone "no manifest.yaml" \
    "taken in again from the dropped file: no manifest.yaml"

# --- three deaths within a minute: failed, lost ----------------------------------------
cat >doomed.yaml <<Y
name: doomed
nodes:
  d: {run: "echo d >> $P/doomed.runs; sleep 30"}
Y
drop doomed.yaml
for k in 1 2 3; do
	i=0
	while [ $i -lt 100 ] && [ "$(lines "$P/doomed.runs" '^d$')" -lt $k ]; do
		sleep 0.1; i=$((i + 1))
	done
	kill -KILL $(supervisor_pids) 2>/dev/null
done
b=$(bundle_of doomed)
check "lost: the job ends" test -n "$b"
check "lost: failed" test "$(bundle_state "$b" status 2>/dev/null)" = failed
D=$(unpack "$b")
check "lost: its node's reason is lost" test "$(yget "$D/state.yaml" nodes.d.reason)" = lost
check "lost: the node ran three times, not a fourth" test "$(lines "$P/doomed.runs" '^d$')" -eq 3

# --- submit --retry: U's failed job run again by the daemon, as U ---------------------
# as_user USER CMD...: run CMD with every id USER's
as_user() {
	u=$1; shift
	setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --clear-groups "$@"
}
# done_bundle JOB: its bundle in done/, once there (waits up to 30 s)
done_bundle() { wait_for 1 "$SP/done/$1.tar.gz" && echo "$SP/done/$1.tar.gz"; }
cat >rt.yaml <<Y
name: rt
nodes:
  prep:
    run: 'echo prep >> $P/rt.runs; echo data > prep.txt; echo "greeting=hi there" >> "\$DAGEXEC_OUTPUT"'
    outputs: [prep.txt]
  side: {run: "echo side >> $P/rt.runs"}
  flaky:
    needs: [prep]
    run: 'echo flaky >> $P/rt.runs; test -e $P/rt.fixed || exit 3; cat prep.txt; echo "\$DAGEXEC_IN_PREP_GREETING"'
  after: {run: "echo after >> $P/rt.runs", needs: [flaky]}
Y
# rt_runs: the nodes of rt that ran since the last call, sorted, on one line
rt_runs() { sort "$P/rt.runs" 2>/dev/null | tr '\n' ' ' | sed 's/ $//'; rm -f "$P/rt.runs"; }
drop rt.yaml
b1=$(bundle_of rt)
J1=$(basename "$b1" .tar.gz)
check "submit --retry: the first job fails on the marker" test "$(bundle_state "$b1" status)" = failed
rt_runs >/dev/null
touch "$P/rt.fixed"
J2=$(as_user "$U" "$DAGEXEC" submit -s "$SP" --retry "$J1" 2>"$T/err"); rc=$?
check "submit --retry: exits 0 and prints the new job's id ($J2)" test "$rc" -eq 0 -a -n "$J2" -a "$J2" != "$J1"
b2=$(done_bundle "$J2")
check "submit --retry: the new job ends under the id printed" test -n "$b2"
check "submit --retry: its bundle is U's" test "$(stat -c %u "$b2" 2>/dev/null)" = "$uu"
R=$(unpack "$b2")
check "submit --retry: it succeeded" test "$(yget "$R/state.yaml" status)" = succeeded
check "submit --retry: only the failed node and what it held up ran" test "$(rt_runs)" = "after flaky"
check "submit --retry: prep is reused from the first job" test "$(yget "$R/state.yaml" nodes.prep.reused_from)" = "$J1"
check "submit --retry: side is reused, attempts 0" test "$(yget "$R/state.yaml" nodes.side.attempts)" = 0
grep_file "submit --retry: the reused output reached flaky" "^data\$" "$R/nodes/flaky/stdout.log"
grep_file "submit --retry: so did the reused value" "^hi there\$" "$R/nodes/flaky/stdout.log"
grep_file "submit --retry: the daemon's log says what it reused" "$J2 retry of $J1: 2 node(s) reused, 2 to run" "$T/watch.log"

J3=$(as_user "$U" "$DAGEXEC" submit -s "$SP" --retry "$J2" --from prep)
b3=$(done_bundle "$J3")
check "submit --retry --from prep: prep and its descendants run again" test -n "$b3" -a "$(rt_runs)" = "after flaky prep"
R=$(unpack "$b3")
check "submit --retry --from prep: side is still reused" test "$(yget "$R/state.yaml" nodes.side.reused_from)" = "$J2"

J4=$(as_user "$U" "$DAGEXEC" submit -s "$SP" --retry "$J3")
b4=$(done_bundle "$J4")
check "submit --retry with nothing left to run: still a bundle, succeeded" test -n "$b4" -a "$(bundle_state "$b4" status 2>/dev/null)" = succeeded
check "submit --retry with nothing left to run: nothing ran" test -z "$(rt_runs)"

expect_status 66 "submit --retry: an unknown job" as_user "$U" "$DAGEXEC" submit -s "$SP" --retry rt-20000101T000000-0000
grep_file "submit --retry: the unknown job is named" "no finished job 'rt-20000101T000000-0000'" "$T/err"
expect_status 64 "submit --retry: not a job id" as_user "$U" "$DAGEXEC" submit -s "$SP" --retry rt
expect_status 64 "submit --retry: an unknown --from node" as_user "$U" "$DAGEXEC" submit -s "$SP" --retry "$J1" --from nosuch
grep_file "submit --retry: the unknown node is named" "has no node 'nosuch'" "$T/err"
expect_status 64 "submit --from without --retry" "$DAGEXEC" submit -s "$SP" --from prep rt.yaml

# requests that reach the supervisor all the same, dropped by hand: refused
# into rejected/ with the reason, naming the file and the line
printf 'retry %s\nfrom nosuch\n' "$J1" >nonode.retry
printf '# a comment\nretry %s\nfrm prep\nfrom a b\n' "$J1" >badline.retry
printf 'retry rt-20000101T000000-0000\n' >nojob.retry
for f in nonode.retry badline.retry nojob.retry; do drop "$f"; done
check "dropped requests: all three refused" wait_for 3 "$SP/rejected/*.retry.error"
grep_file "dropped requests: an unknown node, by line" "^nonode.retry:2:1: error: job '$J1' has no node 'nosuch'" "$SP/rejected/nonode.retry.error"
grep_file "dropped requests: an unknown field, by line" "^badline.retry:3:1: error: unknown field 'frm'" "$SP/rejected/badline.retry.error"
grep_file "dropped requests: every error is said" "^badline.retry:4:6: error: 'a b' is not a node id" "$SP/rejected/badline.retry.error"
grep_file "dropped requests: an unknown job" "^nojob.retry:1:1: error: no finished job" "$SP/rejected/nojob.retry.error"

if [ -n "$V" ]; then
	expect_status 66 "submit --retry by V of U's job: refused" as_user "$V" "$DAGEXEC" submit -s "$SP" --retry "$J1"
	grep_file "submit --retry by V: says it is not V's" "job '$J1' is not yours" "$T/err"
	printf 'retry %s\n' "$J1" >"$SP/incoming/.v.retry.tmp"
	chown "$V" "$SP/incoming/.v.retry.tmp"
	mv "$SP/incoming/.v.retry.tmp" "$SP/incoming/v.retry"
	check "V's request dropped by hand: refused into rejected/" wait_for 1 "$SP/rejected/v.retry.error"
	grep_file "V's request: the reason names the file and the line" "^v.retry:1:1: error: job '$J1' is not yours" "$SP/rejected/v.retry.error"
	check "V's request: nothing of U's ran" test -z "$(rt_runs)"
else
	echo "skip - submit --retry by another user: useradd failed"
fi

# --- a retry resumed after kill -9 of its supervisor: the reused stay reused -------
cat >rr.yaml <<Y
name: rr
nodes:
  r1: {run: "echo r1 >> $P/rr.runs"}
  r2: {run: "echo r2 >> $P/rr.runs; test -e $P/rr.fixed || exit 3; touch $P/rr.r2; sleep 2", needs: [r1]}
  r3: {run: "echo r3 >> $P/rr.runs", needs: [r2]}
Y
drop rr.yaml
K1=$(basename "$(bundle_of rr)" .tar.gz)
touch "$P/rr.fixed"
K2=$(as_user "$U" "$DAGEXEC" submit -s "$SP" --retry "$K1")
wait_for 1 "$P/rr.r2"
sup=$(supervisor_pids)
check "resumed retry: one supervisor runs it" test "$(echo $sup | wc -w)" -eq 1
kill -KILL $sup
b=$(done_bundle "$K2")
check "resumed retry: the job succeeded" test -n "$b" -a "$(bundle_state "$b" status 2>/dev/null)" = succeeded
check "resumed retry: the reused r1 never ran again" test "$(lines "$P/rr.runs" '^r1$')" -eq 1
check "resumed retry: r2 ran in the first job, the retry and the resume" test "$(lines "$P/rr.runs" '^r2$')" -eq 3
check "resumed retry: r3 ran once" test "$(lines "$P/rr.runs" '^r3$')" -eq 1
R=$(unpack "$b")
check "resumed retry: r1 is still reused from the first job" test "$(yget "$R/state.yaml" nodes.r1.reused_from)" = "$K1"

# --- no root process parses what was dropped ---------------------------------------------
# A preloaded shim writes the effective uid of every process that opens a
# YAML parser or an archive reader; the daemon's supervisors inherit it.
if command -v cc >/dev/null 2>&1; then
	cat >"$T/shim.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static void note(const char *what) {
	const char *f = getenv("SHIM_LOG");
	char b[128];
	int fd, n;
	if (f == NULL || (fd = open(f, O_WRONLY | O_APPEND | O_CREAT, 0666)) < 0)
		return;
	n = snprintf(b, sizeof b, "%s euid=%d\n", what, (int)geteuid());
	(void)write(fd, b, (size_t)n);
	close(fd);
}
int yaml_parser_initialize(void *p) {
	int (*f)(void *) = (int (*)(void *))dlsym(RTLD_NEXT, "yaml_parser_initialize");
	note("yaml");
	return f(p);
}
void *archive_read_new(void) {
	void *(*f)(void) = (void *(*)(void))dlsym(RTLD_NEXT, "archive_read_new");
	note("archive");
	return f();
}
C
	# (a sanitizer build checks that its runtime comes first: not here)
	SHIM_ASAN="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
	printf 'name: probe\nnodes: {p: {run: "true"}}\n' >probe.yaml
	if cc -shared -fPIC -o "$T/shim.so" "$T/shim.c" -ldl 2>"$T/cc.err" &&
	    chmod 755 "$T/shim.so" &&
	    SHIM_LOG="$T/probe.log" LD_PRELOAD="$T/shim.so" \
	    ASAN_OPTIONS="$SHIM_ASAN" "$DAGEXEC" validate probe.yaml \
	    >/dev/null 2>&1 && grep -q "^yaml euid=0\$" "$T/probe.log"; then
		pass "hostile: the shim sees a parse as root (validate, probed)"
		: >"$P/shim.log"; chmod 666 "$P/shim.log"
		kill -TERM "$WPID"; wait "$WPID"; WPID=
		export SHIM_LOG="$P/shim.log" LD_PRELOAD="$T/shim.so"
		OLD_ASAN=${ASAN_OPTIONS-}
		export ASAN_OPTIONS="$SHIM_ASAN"
		start_daemon
		unset SHIM_LOG LD_PRELOAD
		if [ -n "$OLD_ASAN" ]; then export ASAN_OPTIONS="$OLD_ASAN"; else unset ASAN_OPTIONS; fi
		# hostile: an alias bomb, and a tarball whose dag.yaml is invalid
		printf 'name: evil\na: &a ["x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b]\nnodes: {n: {run: true}}\n' >evil.yaml
		mkdir -p tb
		printf 'name: [not, a, name]\nnodes: {}\n' >tb/dag.yaml
		tar czf evil.tar.gz -C tb dag.yaml
		drop evil.yaml
		drop evil.tar.gz
		check "hostile: the manifest is refused" wait_for 1 "$SP/rejected/evil.yaml.error"
		check "hostile: the tarball is refused" wait_for 1 "$SP/rejected/evil.tar.gz.error"
		sed 's/^/  shim: /' "$P/shim.log"
		check "hostile: they were parsed (the shim saw it)" test "$(lines "$P/shim.log" '^yaml ')" -ge 2 -a "$(lines "$P/shim.log" '^archive ')" -ge 1
		check "hostile: every parse and unpack ran as U, none as root" test "$(grep -vc "euid=$uu\$" "$P/shim.log")" -eq 0
		grep_file "hostile: the refusal names the line" "evil.yaml:" "$SP/rejected/evil.yaml.error"
		check "hostile: the refused files are U's" test "$(stat -c %u "$SP/rejected/evil.yaml")" = "$uu"
	else
		echo "skip - hostile: the shim cannot be built or preloaded here: $(head -n 1 "$T/cc.err" 2>/dev/null)"
	fi
else
	echo "skip - hostile: no C compiler for the shim"
fi

finish
