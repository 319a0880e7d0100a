#!/bin/sh
# Security: two real users A and B on one spool (root only), work directory
# escapes, what a node can see of the daemon, secrets and the daemon's log.
. "$TOP_SRCDIR/tests/integration/lib.sh"

SP="$T/spool"
WPID=
UA=
UB=
cleanup() {
	if [ -n "$WPID" ]; then
		kill -TERM "$WPID" 2>/dev/null
		wait "$WPID" 2>/dev/null
	fi
	stop_supervisors
	for u in $UA $UB; do
		pkill -KILL -u "$u" 2>/dev/null
		userdel "$u" 2>/dev/null
	done
	rm -rf "$T" /tmp/dagexec-sec-escape.$$
}
trap cleanup EXIT

wait_for() {	# wait_for COUNT GLOB: at most 30 s
	i=0
	while [ $i -lt 300 ]; do
		n=$(ls $2 2>/dev/null | wc -l)
		[ "$n" -ge "$1" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

unpack() {	# unpack BUNDLE: into $T/x/ID, prints that directory
	id=$(basename "$1"); id=${id%.tar.gz}
	mkdir -p "$T/x"
	tar xzf "$1" -C "$T/x" 2>/dev/null
	echo "$T/x/$id"
}

drop() {	# drop FILE [USER]
	b=$(basename "$1")
	cp "$1" "$SP/incoming/.$b.tmp"
	[ -n "${2:-}" ] && chown "$2" "$SP/incoming/.$b.tmp"
	mv "$SP/incoming/.$b.tmp" "$SP/incoming/$b"
}

as() {		# as USER COMMAND...: run a shell line as USER
	u=$1; shift
	runuser -u "$u" -- sh -c "$*"
}

start_daemon() {
	SECRET_DAEMON_VAR=daemon-secret-$$ "$DAGEXEC" watch -s "$SP" -j 4 --max-jobs 4 >>"$T/watch.log" 2>&1 &
	WPID=$!
	i=0
	while [ $i -lt 50 ] && [ "$(cat "$SP/lock" 2>/dev/null)" != "$WPID" ]; do
		sleep 0.1; i=$((i + 1))
	done
}

ROOT=false
if [ "$(id -u)" -eq 0 ] && command -v useradd >/dev/null 2>&1 &&
    command -v runuser >/dev/null 2>&1; then
	ROOT=true
	chmod 755 "$T"
	UDAGEXEC=$(users_dagexec)
	UA=dgxa$$
	UB=dgxb$$
	useradd -M -N -d /nonexistent -s /usr/sbin/nologin "$UA" 2>/dev/null
	useradd -M -N -d /nonexistent -s /usr/sbin/nologin "$UB" 2>/dev/null
	ua=$(id -u "$UA")
	ub=$(id -u "$UB")
fi
"$DAGEXEC" watch -s "$SP" --drain >/dev/null 2>&1
start_daemon

# --- what a node sees of the daemon ---------------------------------------------
cat >peek.yaml <<'Y'
name: peek
env: {API_TOKEN: manifest-secret-4711}
nodes:
  peek:
    run: "env > env.txt; ls /proc/$$/fd"
    outputs: [env.txt]
Y
drop peek.yaml
wait_for 1 "$SP/done/peek-*.tar.gz"
B=$(unpack "$(ls "$SP"/done/peek-*.tar.gz | head -n 1)")
check "peek: the node succeeded" test "$(yget "$B/state.yaml" nodes.peek.status 2>/dev/null)" = succeeded
grep_file "peek: the node got the manifest's env" "^API_TOKEN=manifest-secret-4711\$" "$B/outputs/peek/env.txt"
no_grep_file "peek: the node does not see the daemon's environment" "SECRET_DAEMON_VAR" "$B/outputs/peek/env.txt"
check "peek: the node holds only descriptors 0 1 2" test "$(sort -n "$B/nodes/peek/stdout.log" | tr '\n' ' ')" = "0 1 2 "
no_grep_file "peek: the manifest's secret is not in the daemon's log" "manifest-secret-4711" "$T/watch.log"
no_grep_file "peek: the daemon's secret is not in its log" "daemon-secret-$$" "$T/watch.log"

# --- escaping the work directory -------------------------------------------------
cat >esc-up.yaml <<'Y'
name: esc-up
nodes:
  up: {run: "true", outputs: [../../../../../../etc/passwd]}
Y
"$DAGEXEC" validate esc-up.yaml >"$T/out" 2>&1
vrc=$?
if [ $vrc -ne 0 ]; then
	pass "esc-up: validate refuses outputs with '..' (exit $vrc)"
else
	drop esc-up.yaml
	wait_for 1 "$SP/done/esc-up-*.tar.gz"
	B=$(unpack "$(ls "$SP"/done/esc-up-*.tar.gz | head -n 1)")
	check "esc-up: an output with '..' fails the node" test "$(yget "$B/state.yaml" nodes.up.status 2>/dev/null)" = failed
	check "esc-up: nothing outside was copied" test -z "$(find "$B/outputs" -type f)"
fi
cat >esc-link.yaml <<'Y'
name: esc-link
nodes:
  link: {run: "ln -s /etc/passwd pw; ln -s /etc etc", outputs: [pw]}
  dir: {run: "ln -s /etc etc2", outputs: [etc2/passwd]}
Y
drop esc-link.yaml
wait_for 1 "$SP/done/esc-link-*.tar.gz"
B=$(unpack "$(ls "$SP"/done/esc-link-*.tar.gz | head -n 1)")
check "esc-link: an output that is a symlink out fails" test "$(yget "$B/state.yaml" nodes.link.status 2>/dev/null)" = failed
check "esc-link: an output through a symlinked directory fails" test "$(yget "$B/state.yaml" nodes.dir.status 2>/dev/null)" = failed
grep_file "esc-link: the error says it leads out" "leads out of the work directory" "$B/state.yaml"
check "esc-link: nothing outside was copied" test -z "$(find "$B/outputs" -type f 2>/dev/null)"

cat >esc-save.yaml <<Y
name: esc-save
nodes:
  get: {http: {url: "http://127.0.0.1:9/", save: ../../../../../../tmp/dagexec-sec-escape.$$}}
Y
"$DAGEXEC" validate esc-save.yaml >"$T/out" 2>&1
vrc=$?
if [ $vrc -ne 0 ]; then
	pass "esc-save: validate refuses an http save with '..' (exit $vrc)"
	sed 's/^/  /' "$T/out" | head -3
else
	drop esc-save.yaml
	wait_for 1 "$SP/done/esc-save-*.tar.gz"
	B=$(unpack "$(ls "$SP"/done/esc-save-*.tar.gz | head -n 1)")
	check "esc-save: the http node with save '..' fails" test "$(yget "$B/state.yaml" nodes.get.status 2>/dev/null)" = failed
fi
check "esc-save: nothing was written outside" test ! -e /tmp/dagexec-sec-escape.$$
for bf in ../../../etc/passwd /etc/shadow; do
	printf 'name: bf\nnodes:\n  p: {http: {url: "http://127.0.0.1:9/", method: POST, body_file: %s}}\n' "$bf" >bf.yaml
	"$DAGEXEC" validate bf.yaml >"$T/out" 2>&1
	check "esc-body: validate refuses body_file '$bf'" test $? -eq 65
done

python3 - "$T" <<'PY'
import io, sys, tarfile
d = sys.argv[1]
with tarfile.open(f"{d}/esc-tar.tar", "w") as t:
    for name, data in [("dag.yaml", b'name: esctar\nnodes:\n  a: {run: "true"}\n'),
                       ("../../../../esc-tar-out.txt", b"gotcha")]:
        i = tarfile.TarInfo(name)
        i.size = len(data)
        t.addfile(i, io.BytesIO(data))
PY
if $ROOT; then drop esc-tar.tar "$UA"; else drop esc-tar.tar; fi
check "esc-tar: a tarball with a '..' member is rejected" wait_for 1 "$SP/rejected/esc-tar.tar.error"
grep_file "esc-tar: the error says it leads out" "leads out of the work directory" "$SP/rejected/esc-tar.tar.error"
check "esc-tar: nothing escaped" test -z "$(find "$T" / -maxdepth 1 -name esc-tar-out.txt 2>/dev/null)"

if ! $ROOT; then
	echo "skip - users: needs root, useradd and runuser to create users A and B (not root here)"
	finish
fi

# --- A cannot choose who its node runs as ---------------------------------------------
for key in "user: root" "uid: 0" "run_as: $UB"; do
	printf 'name: sudo\n%s\nnodes:\n  a: {run: "id -u"}\n' "$key" >sudo.yaml
	"$DAGEXEC" validate sudo.yaml >"$T/out" 2>&1
	check "run-as: validate refuses '$key'" test $? -eq 65
done
printf 'name: sudo\nnodes:\n  a: {run: "id -u", user: root}\n' >sudo.yaml
"$DAGEXEC" validate sudo.yaml >"$T/out" 2>&1
check "run-as: validate refuses a node's 'user: root'" test $? -eq 65
cat >whoa.yaml <<'Y'
name: whoa
defaults: {env: {USER: root, LOGNAME: root}}
nodes:
  a: {run: "id -u > id.txt; id -G >> id.txt", outputs: [id.txt]}
Y
drop whoa.yaml "$UA"
wait_for 1 "$SP/done/whoa-*.tar.gz"
wb=$(ls "$SP"/done/whoa-*.tar.gz | head -n 1)
B=$(unpack "$wb")
check "run-as: A's node ran as A" test "$(head -n 1 "$B/outputs/a/id.txt" 2>/dev/null)" = "$ua"
check "run-as: A's node has no root group" sh -c "! grep -qw 0 '$B/outputs/a/id.txt'"
check "run-as: A's bundle belongs to A" test "$(stat -c %u "$wb")" = "$ua"

# an absolute workdir A cannot read: the daemon (root) must not collect
# from it on A's behalf
mkdir -p "$T/rootonly"
echo root-only-secret >"$T/rootonly/secret"
chmod 700 "$T/rootonly"; chmod 600 "$T/rootonly/secret"
cat >wd.yaml <<Y
name: wd
workdir: $T/rootonly
nodes:
  a: {run: "true", outputs: [secret]}
Y
drop wd.yaml "$UA"
wait_for 1 "$SP/done/wd-*.tar.gz"
wdb=$(ls "$SP"/done/wd-*.tar.gz 2>/dev/null | head -n 1)
check "workdir: A's job with a root-only workdir ends" test -n "$wdb"
if [ -n "$wdb" ]; then
	B=$(unpack "$wdb")
	check "workdir: root's file did not reach A's bundle" sh -c "! grep -rq root-only-secret '$B'"
fi
mkdir -p "$T/readable"; chmod 755 "$T/readable"
echo shadow-like-secret >"$T/readable/secret"; chmod 600 "$T/readable/secret"
cat >wd2.yaml <<Y
name: wd2
workdir: $T/readable
nodes:
  a: {run: "true", outputs: [secret]}
Y
drop wd2.yaml "$UA"
wait_for 1 "$SP/done/wd2-*.tar.gz"
wdb=$(ls "$SP"/done/wd2-*.tar.gz 2>/dev/null | head -n 1)
check "workdir: A's job in a directory A may enter ends" test -n "$wdb"
if [ -n "$wdb" ]; then
	B=$(unpack "$wdb")
	check "workdir: a file A cannot read did not reach A's bundle" sh -c "! grep -rq shadow-like-secret '$B'"
fi

# a dropped bundle whose dag.yaml sets workdir to a root directory: the
# daemon does not unpack A's files there
mkdir -p "$T/rootdir" tw; chmod 755 "$T/rootdir"
printf 'name: tw\nworkdir: %s\nnodes:\n  a: {run: "true"}\n' "$T/rootdir" >tw/dag.yaml
echo planted >tw/planted.txt
tar cf tw.tar -C tw dag.yaml planted.txt
drop tw.tar "$UA"
wait_for 1 "$SP/done/tw-*.tar.gz" || wait_for 1 "$SP/rejected/tw.tar.error"
check "workdir: A's bundle was not unpacked into a root directory" test ! -e "$T/rootdir/planted.txt"

# --- A cannot read, replace or cancel B's job -------------------------------------------
cat >bjob.yaml <<Y
name: bjob
nodes:
  b: {run: "echo b-private-log; echo b-private-out > out.txt; touch $T/bjob.started; sleep 6", outputs: [out.txt]}
Y
chmod 777 "$T"
drop bjob.yaml "$UB"
wait_for 1 "$T/bjob.started"
bid=$(ls "$SP/active" | grep '^bjob-' | head -n 1)
check "B's job is running" test -n "$bid"
AJ=$SP/active/$bid
check "B's active nodes/ is 0700 and B's" test "$(stat -c '%a %u' "$AJ/nodes" 2>/dev/null)" = "700 $ub"
check "A cannot list B's nodes/" sh -c "! runuser -u '$UA' -- ls '$AJ/nodes' >/dev/null 2>&1"
check "A cannot read B's log" sh -c "! runuser -u '$UA' -- cat '$AJ/nodes/b/stdout.log' >/dev/null 2>&1"
check "A cannot read B's work directory" sh -c "! runuser -u '$UA' -- cat '$AJ/work/out.txt' >/dev/null 2>&1"
as "$UA" "touch '$SP/cancel/$bid'" 2>/dev/null
as "$UA" "'$UDAGEXEC' cancel -s '$SP' '$bid'" >/dev/null 2>&1
# cancel --all: A's own running job, never B's
printf 'name: ajob\nnodes:\n  a: {run: "touch %s/ajob.started; sleep 30"}\n' "$T" >ajob.yaml
drop ajob.yaml "$UA"
wait_for 1 "$T/ajob.started"
aid=$(ls "$SP/active" | grep '^ajob-' | head -n 1)
as "$UA" "'$UDAGEXEC' cancel -s '$SP' --all" >"$T/all.out" 2>"$T/all.err"
check "cancel --all: A asked for A's own job" grep -qx "$aid" "$T/all.out"
check "cancel --all: and for nothing else (not B's)" test "$(wc -l <"$T/all.out")" -eq 1
wait_for 1 "$SP/done/$aid.tar.gz"
A2=$(unpack "$SP/done/$aid.tar.gz")
check "cancel --all: A's job ended cancelled" test "$(yget "$A2/state.yaml" status 2>/dev/null)" = cancelled
wait_for 1 "$SP/done/$bid.tar.gz"
check "B's job ends" test -f "$SP/done/$bid.tar.gz"
B=$(unpack "$SP/done/$bid.tar.gz")
check "B's job was not cancelled by A" test "$(yget "$B/state.yaml" status 2>/dev/null)" = succeeded
grep_file "the daemon logged A's refused cancel" "$bid.*cancel-refused" "$T/watch.log"
check "B's bundle is 0600 and B's" test "$(stat -c '%a %u' "$SP/done/$bid.tar.gz")" = "600 $ub"
check "A cannot read B's bundle" sh -c "! runuser -u '$UA' -- cat '$SP/done/$bid.tar.gz' >/dev/null 2>&1"
check "B can read B's bundle" sh -c "runuser -u '$UB' -- cat '$SP/done/$bid.tar.gz' >/dev/null 2>&1"

# learned durations are each user's own: A's and B's DAGs of one name
printf 'name: same\nnodes:\n  n: {run: "true"}\n' >same.yaml
drop same.yaml "$UA"
wait_for 1 "$SP/done/same-*.tar.gz"
drop same.yaml "$UB"
wait_for 2 "$SP/done/same-*.tar.gz"
i=0
while [ $i -lt 50 ] && ! [ -f "$SP/users/$ub/history/same" ]; do
	sleep 0.1; i=$((i + 1))
done
check "history: A's is A's, in A's own 0700 directory" \
    test "$(stat -c '%a %u' "$SP/users/$ua" 2>/dev/null) $(stat -c '%a %u' "$SP/users/$ua/history/same" 2>/dev/null)" = "700 $ua 600 $ua"
check "history: B's is B's" \
    test "$(stat -c '%u' "$SP/users/$ub/history/same" 2>/dev/null)" = "$ub"
check "history: A cannot read B's" \
    sh -c "! runuser -u '$UA' -- cat '$SP/users/$ub/history/same' >/dev/null 2>&1"
check "history: nothing is kept by DAG name for all users" test ! -e "$SP/history/same"

# B's file waiting in incoming/ (daemon stopped): A cannot replace it
kill -TERM "$WPID"; wait "$WPID" 2>/dev/null; WPID=
check "incoming/ is sticky 1733" test "$(stat -c %a "$SP/incoming")" = 1733
printf 'name: bwait\nnodes:\n  a: {run: "id -u"}\n' >bwait.yaml
drop bwait.yaml "$UB"
sum=$(cksum <"$SP/incoming/bwait.yaml")
printf 'name: bwait\nnodes:\n  a: {run: "echo pwned"}\n' >"$T/evil.yaml"; chmod 644 "$T/evil.yaml"
as "$UA" "cp '$T/evil.yaml' '$SP/incoming/.evil.tmp'" 2>/dev/null
as "$UA" "mv -f '$SP/incoming/.evil.tmp' '$SP/incoming/bwait.yaml'" 2>/dev/null
as "$UA" "rm -f '$SP/incoming/bwait.yaml'" 2>/dev/null
as "$UA" "cat '$T/evil.yaml' > '$SP/incoming/bwait.yaml'" 2>/dev/null
check "A could not replace, remove or rewrite B's dropped file" test "$(cksum <"$SP/incoming/bwait.yaml" 2>/dev/null)" = "$sum"
check "B's dropped file is still B's" test "$(stat -c %u "$SP/incoming/bwait.yaml")" = "$ub"
rm -f "$SP/incoming/.evil.tmp"

finish
