#!/bin/sh
# Attacks on a root `watch` by a real second local user: two users U and V
# drop jobs whose nodes move, replace or link what the daemon makes under
# active/JOB/, plant FIFOs, read each other's jobs, and hard-link root's
# files into their outputs.  Each check states the fixed behaviour.
. "$TOP_SRCDIR/tests/integration/lib.sh"

SP="$T/spool"
WPID=
U=
V=
OLD_PHL=
cleanup() {
	if [ -n "$WPID" ]; then
		kill -TERM "$WPID" 2>/dev/null
		i=0
		while [ $i -lt 30 ] && kill -0 "$WPID" 2>/dev/null; do
			sleep 0.1; i=$((i + 1))
		done
		kill -KILL "$WPID" 2>/dev/null
		wait "$WPID" 2>/dev/null
	fi
	stop_supervisors
	for u in $U $V; do
		pkill -KILL -u "$u" 2>/dev/null
	done
	sleep 0.2
	for u in $U $V; do
		userdel "$u" 2>/dev/null
	done
	if [ -n "$OLD_PHL" ]; then
		echo "$OLD_PHL" >/proc/sys/fs/protected_hardlinks 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ] || ! command -v useradd >/dev/null 2>&1 ||
    ! command -v runuser >/dev/null 2>&1; then
	echo "skip - attack: needs root, useradd and runuser to create users U and V"
	exit 0
fi

chmod 755 "$T"
UDAGEXEC=$(users_dagexec)
U=dgxu$$
V=dgxv$$
useradd -M -N -d /nonexistent -s /usr/sbin/nologin "$U" 2>/dev/null
useradd -M -N -d /nonexistent -s /usr/sbin/nologin "$V" 2>/dev/null
if ! id -u "$U" >/dev/null 2>&1 || ! id -u "$V" >/dev/null 2>&1; then
	echo "skip - attack: useradd failed"
	exit 0
fi
uu=$(id -u "$U")
vu=$(id -u "$V")

# $T/pub: anyone writes (sticky); $T/s: the node scripts, anyone reads
mkdir -p "$T/pub" "$T/s" "$T/x"
chmod 1777 "$T/pub"
chmod 755 "$T/s"

# wait_for SECONDS GLOB...: true once any GLOB matches a file
wait_for() {
	n=$(($1 * 10)); shift
	i=0
	while [ $i -lt $n ]; do
		for g in "$@"; do
			for f in $g; do
				[ -e "$f" ] && return 0
			done
		done
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# jid NAME: the id of the (first) job named NAME, active or done
jid() {
	ls "$SP/active" "$SP/done" 2>/dev/null |
	    sed -n "s/^\($1-[0-9]\{8\}T[0-9]\{6\}-[0-9a-f]*\)\(\.tar\.gz\)\{0,1\}\$/\1/p" |
	    head -n 1
}

unpack() {	# unpack BUNDLE: into $T/x/ID, prints that directory
	id=$(basename "$1"); id=${id%.tar.gz}
	rm -rf "$T/x/$id"
	timeout 20 tar xzf "$1" -C "$T/x" 2>/dev/null
	echo "$T/x/$id"
}

# dropas USER NAME: drops $T/NAME as USER (cp to .NAME.tmp, then mv)
dropas() {
	chmod 644 "$T/$2"
	runuser -u "$1" -- sh -c "cp '$T/$2' '$SP/incoming/.$2.tmp' &&
	    mv '$SP/incoming/.$2.tmp' '$SP/incoming/$2'"
}

# script NAME: stdin becomes $T/s/NAME, readable by all
script() {
	cat >"$T/s/$1"
	chmod 644 "$T/s/$1"
}

# node_status BUNDLE_DIR NODE
nst() { yget "$1/state.yaml" "nodes.$2.status" 2>/dev/null; }

start_daemon() {
	"$DAGEXEC" watch -s "$SP" -j 8 --max-jobs 8 >>"$T/watch.log" 2>&1 &
	WPID=$!
	i=0
	while [ $i -lt 50 ] && [ "$(cat "$SP/lock" 2>/dev/null)" != "$WPID" ]; do
		sleep 0.1; i=$((i + 1))
	done
}

# stop_within SECONDS: SIGTERM to watch; true if it exits in time (else
# it is killed)
stop_within() {
	kill -TERM "$WPID" 2>/dev/null
	i=0
	while [ $i -lt $(($1 * 10)) ] && kill -0 "$WPID" 2>/dev/null; do
		sleep 0.1; i=$((i + 1))
	done
	if kill -0 "$WPID" 2>/dev/null; then
		kill -KILL "$WPID" 2>/dev/null
		wait "$WPID" 2>/dev/null
		WPID=
		return 1
	fi
	wait "$WPID" 2>/dev/null
	WPID=
	return 0
}

# a V job whose node waits (at most 20 s) for $T/pub/NAME.go
vwait_job() {
	cat >"$T/$1.yaml" <<Y
name: $1
nodes:
  vn: {run: "echo $1-private-line; touch $T/pub/$1.started; i=0; while [ ! -e $T/pub/$1.go ] && [ \$i -lt 200 ]; do sleep 0.1; i=\$((i+1)); done"}
Y
	dropas "$V" "$1.yaml"
}

"$DAGEXEC" watch -s "$SP" --drain >/dev/null 2>&1
start_daemon

# --- 1. root-made files a user can move -----------------------------------------
# the printed manifest: a job that writes its uid where anyone may look
cat >"$T/s/pwn.yaml" <<Y
name: pwn
nodes:
  p: {run: "id -u > $T/pub/pwn.out"}
Y
chmod 644 "$T/s/pwn.yaml"
cat >"$T/mv1.yaml" <<Y
name: mv1
nodes:
  n1: {run: "mkdir -p ../nodes/n2"}
  n2: {needs: [n1], run: "cat $T/s/pwn.yaml"}
  n3: {needs: [n2], run: "mv ../nodes/n2/stdout.log $SP/incoming/pwn.yaml"}
Y
dropas "$U" mv1.yaml
wait_for 20 "$SP/done/mv1-*.tar.gz"
check "move: U's job mv1 ends" test -n "$(ls "$SP"/done/mv1-*.tar.gz 2>/dev/null)"
wait_for 10 "$SP/done/pwn-*.tar.gz" "$SP/rejected/pwn.yaml.error" "$T/pub/pwn.out"
wait_for 5 "$SP/done/pwn-*.tar.gz" "$SP/rejected/pwn.yaml.error"
if [ -e "$T/pub/pwn.out" ]; then
	check "move: the manifest U printed into a log ran as U, not root (file owner)" \
	    test "$(stat -c %u "$T/pub/pwn.out")" = "$uu"
	check "move: the manifest U printed into a log ran as U, not root (id -u)" \
	    test "$(cat "$T/pub/pwn.out")" = "$uu"
else
	pass "move: the manifest U printed into a log did not run as root"
fi

# every file and directory of U's running job is U's
cat >"$T/own.yaml" <<Y
name: own
nodes:
  n1: {run: "echo n1-line; echo n1-err >&2; echo out > o.txt", outputs: [o.txt]}
  n2: {needs: [n1], run: "echo n2-line; sleep 0.5; touch $T/pub/own.started; i=0; while [ ! -e $T/pub/own.go ] && [ \$i -lt 150 ]; do sleep 0.1; i=\$((i+1)); done"}
Y
dropas "$U" own.yaml
if wait_for 15 "$T/pub/own.started"; then
	oid=$(jid own)
	find "$SP/active/$oid/nodes" "$SP/active/$oid/outputs" \
	    "$SP/active/$oid/work" ! -user "$uu" >"$T/own.list" 2>&1
	if [ -s "$T/own.list" ]; then
		fail "own: everything under U's running job's nodes/ outputs/ work/ is U's"
		while read -r f; do
			echo "  not U's: $(stat -c '%U %a' "$f" 2>/dev/null) $f"
		done <"$T/own.list" | head -10
	else
		pass "own: everything under U's running job's nodes/ outputs/ work/ is U's"
	fi
else
	fail "own: U's job did not reach its second node"
fi
touch "$T/pub/own.go"

# a root-made log moved into cancel/ under the name of V's running job
vwait_job vc
wait_for 15 "$T/pub/vc.started"
vcid=$(jid vc)
cat >"$T/mv2.yaml" <<Y
name: mv2
nodes:
  n1: {run: "mkdir -p ../nodes/n2"}
  n2: {needs: [n1], run: "echo text"}
  n3: {needs: [n2], run: "mv ../nodes/n2/stdout.log $SP/cancel/$vcid"}
Y
dropas "$U" mv2.yaml
wait_for 20 "$SP/done/mv2-*.tar.gz"
check "cancel: U's job mv2 ends" test -n "$(ls "$SP"/done/mv2-*.tar.gz 2>/dev/null)"
sleep 1	# give a cancel request, had one been taken, time to act
touch "$T/pub/vc.go"
wait_for 20 "$SP/done/$vcid.tar.gz"
if [ -f "$SP/done/$vcid.tar.gz" ]; then
	B=$(unpack "$SP/done/$vcid.tar.gz")
	st=$(yget "$B/state.yaml" status 2>/dev/null)
	check "cancel: V's job was not cancelled through U's moved log (status $st)" \
	    test "$st" = succeeded
else
	fail "cancel: V's job $vcid did not end"
fi

# --- 2. root writes through a planted link ---------------------------------------------
mkdir -p "$T/rootonly"; chmod 700 "$T/rootonly"
cat >"$T/lnk1.yaml" <<Y
name: lnk1
nodes:
  n1: {run: "ln -s $T/rootonly ../nodes/n2"}
  n2: {needs: [n1], run: "echo INJECT1-$$; echo INJECT1-$$ >&2"}
Y
dropas "$U" lnk1.yaml
wait_for 20 "$SP/done/lnk1-*.tar.gz"
check "link: nothing appeared in a root-only directory" test -z "$(ls -A "$T/rootonly")"
lb=$(ls "$SP"/done/lnk1-*.tar.gz 2>/dev/null | head -n 1)
if [ -n "$lb" ]; then
	B=$(unpack "$lb")
	s=$(nst "$B" n2)
	check "link: n2 whose log dir is a symlink did not succeed (status $s)" \
	    test "$s" != succeeded -a -n "$s"
	lid=$(basename "$lb" .tar.gz)
	if yget "$B/state.yaml" nodes.n2.error 2>/dev/null | grep -qi log ||
	    grep -q "$lid/nodes/n2.*log\|$lid.*n2.*log" "$T/watch.log"; then
		pass "link: an error about n2's log is recorded"
	else
		fail "link: an error about n2's log is recorded (state: $(yget "$B/state.yaml" nodes.n2.error 2>/dev/null))"
	fi
else
	fail "link: U's job lnk1 did not end"
fi

vwait_job vl
wait_for 15 "$T/pub/vl.started"
vlid=$(jid vl)
wait_for 5 "$SP/active/$vlid/nodes/vn/stdout.log"
cat >"$T/lnk2.yaml" <<Y
name: lnk2
nodes:
  n1: {run: "ln -s $SP/active/$vlid/nodes/vn ../nodes/n2"}
  n2: {needs: [n1], run: "echo INJECT2-$$; echo INJECT2-$$ >&2"}
Y
dropas "$U" lnk2.yaml
wait_for 20 "$SP/done/lnk2-*.tar.gz"
lb=$(ls "$SP"/done/lnk2-*.tar.gz 2>/dev/null | head -n 1)
if [ -n "$lb" ]; then
	B=$(unpack "$lb")
	s=$(nst "$B" n2)
	check "link: n2 whose log dir links to V's node did not succeed (status $s)" \
	    test "$s" != succeeded -a -n "$s"
else
	fail "link: U's job lnk2 did not end"
fi
touch "$T/pub/vl.go"
wait_for 20 "$SP/done/$vlid.tar.gz"
if [ -f "$SP/done/$vlid.tar.gz" ]; then
	B=$(unpack "$SP/done/$vlid.tar.gz")
	check "link: V's job succeeded" test "$(yget "$B/state.yaml" status 2>/dev/null)" = succeeded
	check "link: V's logs hold no text U injected" \
	    sh -c "! grep -rq INJECT2-$$ '$B'"
else
	fail "link: V's job $vlid did not end"
fi
cat >"$T/vlater.yaml" <<Y
name: vlater
nodes:
  a: {run: "echo later"}
Y
dropas "$V" vlater.yaml
check "link: the daemon keeps serving (a later job of V ends)" wait_for 30 "$SP/done/vlater-*.tar.gz"

# --- 4. a dropped bundle is readable by every user ------------------------------------------
# private_job ID: while ID runs, V can read or list nothing of it, its
# manifest is 0600, and U's `status` names node NODE
private_job() {
	id=$1; what=$2; node=$3
	d=$SP/active/$id
	bad=
	for f in $(find "$d" -type f 2>/dev/null); do
		if timeout 5 runuser -u "$V" -- cat "$f" >/dev/null 2>&1; then
			bad="$bad ${f#$d/}"
		fi
	done
	check "$what: V can read no file of U's running job (readable:${bad:- none})" test -z "$bad"
	bad=
	for f in $(find "$d" -type d 2>/dev/null); do
		if timeout 5 runuser -u "$V" -- ls "$f" >/dev/null 2>&1; then
			bad="$bad ${f#$SP/active/}"
		fi
	done
	check "$what: V can list no directory of U's running job (listable:${bad:- none})" test -z "$bad"
	m=$(stat -c %a "$d/manifest.yaml" 2>/dev/null)
	check "$what: manifest.yaml is 0600 (it is ${m:-missing})" test "$m" = 600
	timeout 10 runuser -u "$U" -- "$UDAGEXEC" status -s "$SP" "$id" >"$T/st.out" 2>&1
	rc=$?
	check "$what: U's 'dagexec status JOB' exits 0 (exit $rc)" test $rc -eq 0
	grep_file "$what: U's status names the node" "$node" "$T/st.out"
}
mkdir -p "$T/pub/b4"; chmod 777 "$T/pub/b4"
cat >"$T/s/tok-dag.yaml" <<Y
name: tok
nodes:
  tokn: {run: "cat data.txt >/dev/null; touch $T/pub/tok.started; i=0; while [ ! -e $T/pub/tok.go ] && [ \$i -lt 150 ]; do sleep 0.1; i=\$((i+1)); done"}
Y
chmod 644 "$T/s/tok-dag.yaml"
runuser -u "$U" -- sh -c "umask 022; cd '$T/pub/b4' && cp '$T/s/tok-dag.yaml' dag.yaml &&
    echo API-TOKEN-12345 > data.txt && tar czf job.tar.gz dag.yaml data.txt &&
    cp job.tar.gz '$SP/incoming/.x.tmp' && mv '$SP/incoming/.x.tmp' '$SP/incoming/job.tar.gz'"
if wait_for 15 "$T/pub/tok.started"; then
	private_job "$(jid tok)" bundle tokn
else
	fail "bundle: U's bundle job did not start"
fi
touch "$T/pub/tok.go"
cat >"$T/plain.yaml" <<Y
name: plain
env: {API_TOKEN: API-TOKEN-67890}
nodes:
  pln: {run: "touch $T/pub/plain.started; i=0; while [ ! -e $T/pub/plain.go ] && [ \$i -lt 150 ]; do sleep 0.1; i=\$((i+1)); done"}
Y
dropas "$U" plain.yaml	# mode 0644
if wait_for 15 "$T/pub/plain.started"; then
	private_job "$(jid plain)" plain pln
else
	fail "plain: U's 0644 yaml job did not start"
fi
touch "$T/pub/plain.go"
wait_for 20 "$SP/done/tok-*.tar.gz"
wait_for 20 "$SP/done/plain-*.tar.gz"

# --- 5. a hard link to a root-only file in outputs ---------------------------------------------
mkdir -p "$T/hl"; chmod 755 "$T/hl"
echo "ROOTSECRET-$$" >"$T/hl/secret"; chmod 600 "$T/hl/secret"
echo "OTHERFILE-$$" >"$T/hl/other"; chmod 644 "$T/hl/other"
OLD_PHL=$(cat /proc/sys/fs/protected_hardlinks 2>/dev/null)
if [ -n "$OLD_PHL" ] && echo 0 >/proc/sys/fs/protected_hardlinks 2>/dev/null; then
	cat >"$T/hl.yaml" <<Y
name: hl
nodes:
  leak: {run: "ln $T/hl/secret leak.txt", outputs: [leak.txt]}
  leak2: {run: "ln $T/hl/other leak2.txt", outputs: [leak2.txt]}
Y
	dropas "$U" hl.yaml
	wait_for 20 "$SP/done/hl-*.tar.gz"
	hb=$(ls "$SP"/done/hl-*.tar.gz 2>/dev/null | head -n 1)
	if [ -n "$hb" ]; then
		B=$(unpack "$hb")
		check "hardlink: ROOTSECRET is nowhere in U's bundle" \
		    sh -c "! grep -rq ROOTSECRET-$$ '$B' && ! zcat '$hb' | grep -aq ROOTSECRET-$$"
		for n in leak leak2; do
			s=$(nst "$B" $n)
			r=$(yget "$B/state.yaml" nodes.$n.reason 2>/dev/null)
			e=$(yget "$B/state.yaml" nodes.$n.error 2>/dev/null)
			check "hardlink: node $n (a link to root's file) ends not succeeded, output_missing (status $s, reason $r)" \
			    test "$s" != succeeded -a "$r" = output_missing
			if echo "$e" | grep -qi 'link\|owner'; then
				pass "hardlink: node $n's error says why"
			else
				fail "hardlink: node $n's error says why (link/owner): '$e'"
			fi
		done
	else
		fail "hardlink: U's job hl did not end"
	fi
	echo "$OLD_PHL" >/proc/sys/fs/protected_hardlinks
	OLD_PHL=
else
	echo "skip - hardlink: cannot set fs.protected_hardlinks to 0"
	OLD_PHL=
fi
mkdir -p "$T/rootonly2"
echo "RO2MARK-$$" >"$T/rootonly2/r.txt"
chmod 644 "$T/rootonly2/r.txt"; chmod 700 "$T/rootonly2"
cat >"$T/wd2.yaml" <<Y
name: wd2
workdir: $T/rootonly2
nodes:
  a: {run: "true", outputs: [r.txt]}
Y
dropas "$U" wd2.yaml
wait_for 20 "$SP/done/wd2-*.tar.gz" "$SP/rejected/wd2.yaml.error"
wb=$(ls "$SP"/done/wd2-*.tar.gz 2>/dev/null | head -n 1)
if [ -n "$wb" ]; then
	B=$(unpack "$wb")
	check "workdir: root's 0644 file in a 0700 root directory did not reach U's bundle" \
	    sh -c "! grep -rq RO2MARK-$$ '$B'"
else
	check "workdir: U's job with a root-only workdir was rejected or ended" \
	    test -e "$SP/rejected/wd2.yaml.error"
fi

# --- 3. a FIFO where a log or output is expected (last: it may hang the daemon) ---------------
# Three jobs of U: node n1 plants a FIFO, node n2 meets it (fifolog: as its
# stdout.log; fifoout: as its declared output; fifodst: where the copy of
# its output goes).  They run side by side, so that a daemon hung by them
# costs one round of waits.  Then the daemon must serve V, stop on SIGTERM,
# end each job, and do so again after a restart.
cat >"$T/fifolog.yaml" <<Y
name: fifolog
nodes:
  n1: {run: "mkdir -p ../nodes/n2 && mkfifo ../nodes/n2/stdout.log"}
  n2: {needs: [n1], run: "echo into-the-fifo"}
Y
cat >"$T/fifoout.yaml" <<Y
name: fifoout
nodes:
  n1: {run: "true"}
  n2: {needs: [n1], run: "mkfifo pipe", outputs: [pipe]}
Y
cat >"$T/fifodst.yaml" <<Y
name: fifodst
nodes:
  n1: {run: "mkdir -p ../outputs/n2 && mkfifo ../outputs/n2/o.txt"}
  n2: {needs: [n1], run: "echo x > o.txt", outputs: [o.txt]}
Y
cat >"$T/vfifo.yaml" <<Y
name: vfifo
nodes:
  a: {run: "echo v"}
Y
cat >"$T/wfifo.yaml" <<Y
name: wfifo
nodes:
  a: {run: "echo w"}
Y
FIFOS="fifolog fifoout fifodst"
for f in $FIFOS; do
	dropas "$U" "$f.yaml"
done
wait_for 15 "$SP/active/fifolog-*/nodes/n2/stdout.log" >/dev/null
wait_for 15 "$SP/active/fifoout-*/work/pipe" >/dev/null
wait_for 15 "$SP/active/fifodst-*/outputs/n2/o.txt" >/dev/null
sleep 1	# each n2 starts and meets its FIFO
dropas "$V" vfifo.yaml
check "fifo: a job of V dropped after the FIFOs ends within 30 s" \
    wait_for 30 "$SP/done/vfifo-*.tar.gz"
check "fifo: SIGTERM makes watch exit within 10 s" stop_within 10
start_daemon
dropas "$V" wfifo.yaml
# fifo_done NAME: U's job NAME has its bundle in done/
fifo_done() {
	id=$(jid "$1")
	[ -n "$id" ] && [ -f "$SP/done/$id.tar.gz" ]
}
i=0
while [ $i -lt 150 ]; do
	left=0
	for f in $FIFOS; do
		fifo_done "$f" || left=1
	done
	[ $left -eq 0 ] && break
	sleep 0.1; i=$((i + 1))
done
check "fifo: after a restart a job of V ends" \
    wait_for 10 "$SP/done/wfifo-*.tar.gz"
for f in $FIFOS; do
	id=$(jid "$f")
	if [ -z "$id" ]; then
		fail "$f: U's FIFO job was never claimed"
	elif [ -f "$SP/done/$id.tar.gz" ]; then
		pass "$f: U's FIFO job ends after a restart (bundle in done/)"
		B=$(unpack "$SP/done/$id.tar.gz")
		s=$(nst "$B" n2)
		if [ "$f" = fifodst ]; then
			# the FIFO planted where the copy goes is replaced,
			# never written into: the output arrives whole
			check "$f: the copy replaced the FIFO (status $s)" \
			    sh -c "test '$s' = succeeded &&
			    test -f '$B/outputs/n2/o.txt' &&
			    test \"\$(cat '$B/outputs/n2/o.txt')\" = x"
			continue
		fi
		check "$f: the node that met the FIFO did not succeed (status $s)" \
		    test -n "$s" -a "$s" != succeeded
	else
		fail "$f: U's FIFO job ends after a restart (bundle in done/)"
		fail "$f: the node that met the FIFO did not succeed (no bundle)"
	fi
done

finish
