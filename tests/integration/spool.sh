#!/bin/sh
# The spool daemon: watch, submit, status, cancel, claiming, rejection,
# crash safety, fairness and identity, with a real daemon on a temp spool.
. "$TOP_SRCDIR/tests/integration/lib.sh"

SP="$T/spool"
WPID=
trap 'stop_daemon; stop_supervisors; rm -rf "$T"' EXIT

start_daemon() {
	"$DAGEXEC" watch -s "$SP" "$@" >>"$T/watch.log" 2>&1 &
	WPID=$!
	# wait for the lock file to name us
	i=0
	while [ $i -lt 50 ] && [ "$(cat "$SP/lock" 2>/dev/null)" != "$WPID" ]; do
		sleep 0.1; i=$((i + 1))
	done
}



cat >ok.yaml <<'Y'
name: ok
nodes:
  a: {run: "echo hello > a.txt", outputs: [a.txt]}
  b: {run: "cat a.txt", needs: [a]}
Y

# --- layout, lock ---------------------------------------------------------
"$DAGEXEC" watch -s "$SP" --drain >"$T/drain0.log" 2>&1
check "watch --drain on an empty new spool exits 0" test $? -eq 0
for d in incoming active done rejected cancel tmp; do
	check "layout: $d/ exists" test -d "$SP/$d"
done
check "incoming/ is mode 1733" test "$(stat -c %a "$SP/incoming")" = 1733

start_daemon
"$DAGEXEC" watch -s "$SP" >"$T/out" 2>"$T/err"
check "a second daemon on the same spool exits 75" test $? -eq 75
grep_file "the second daemon names the holder's pid" "served by pid $WPID" "$T/err"

# --- submit, pickup, done ---------------------------------------------------
id=$("$DAGEXEC" submit -s "$SP" ok.yaml)
check "submit prints a job id" sh -c "echo '$id' | grep -Eq '^ok-[0-9]{8}T[0-9]{6}-[0-9a-f]{4}\$'"
check "the job's bundle lands in done/" wait_for 1 "$SP/done/$id.tar.gz"
check "the bundle is mode 0600" test "$(stat -c %a "$SP/done/$id.tar.gz")" = 600
check "the state in the bundle says succeeded" test "$(bundle_state "$SP/done/$id.tar.gz" status)" = succeeded
check "nothing is left in active/" sh -c "test -z \"\$(ls '$SP/active')\""
"$DAGEXEC" status -s "$SP" >"$T/out" 2>"$T/err"
grep_file "status lists the finished job" "^$id  *succeeded  *2/2" "$T/out"
"$DAGEXEC" status -s "$SP" "$id" >"$T/out" 2>"$T/err"
grep_file "status JOB lists its nodes" "^a  *succeeded  *1 " "$T/out"

printf 'name: bad\nnodes:\n  a: {run: "true", needs: [zz]}\n' >bad.yaml
expect_status 65 "submit refuses an invalid manifest" "$DAGEXEC" submit -s "$SP" bad.yaml
check "nothing was dropped" test -z "$(find "$SP/incoming" "$SP/tmp" -mindepth 1)"

# --- rejection, left-alone names, non-files ----------------------------------
cp bad.yaml "$SP/incoming/dropped-bad.yaml"
check "an invalid drop is rejected" wait_for 1 "$SP/rejected/dropped-bad.yaml.error"
grep_file "the .error holds validate's line" "^dropped-bad.yaml:3:28: error: .*'zz'" "$SP/rejected/dropped-bad.yaml.error"
check "the rejected file itself is kept" test -f "$SP/rejected/dropped-bad.yaml"
cp ok.yaml "$SP/incoming/.hidden.yaml"
cp ok.yaml "$SP/incoming/later.yaml.tmp"
ln -s /etc/passwd "$SP/incoming/link.yaml"
mkdir "$SP/incoming/dir.yaml"
mkfifo "$SP/incoming/fifo.yaml"
check "a symlink is rejected" wait_for 1 "$SP/rejected/link.yaml.error"
check "a directory is rejected" wait_for 1 "$SP/rejected/dir.yaml.error"
check "a FIFO is rejected" wait_for 1 "$SP/rejected/fifo.yaml.error"
grep_file "the symlink is not followed" "symbolic link" "$SP/rejected/link.yaml.error"
sleep 0.5
check "dot files are left alone" test -f "$SP/incoming/.hidden.yaml"
check ".tmp files are left alone" test -f "$SP/incoming/later.yaml.tmp"
mv "$SP/incoming/later.yaml.tmp" "$SP/incoming/later.yaml"
check "a .tmp renamed into place is picked up" wait_for 2 "$SP/done/ok-*.tar.gz"
rm -f "$SP/incoming/.hidden.yaml"

# --- cancel -------------------------------------------------------------------
cat >long.yaml <<'Y'
name: long
nodes:
  sleepy: {run: "echo $$ > ../sleepy.pid; sleep 300"}
Y
lid=$("$DAGEXEC" submit -s "$SP" long.yaml)
check "the long job starts" wait_for 1 "$SP/active/$lid/sleepy.pid"
"$DAGEXEC" cancel -s "$SP" "$lid"
check "cancel exits 0" test $? -eq 0
check "a cancelled job still gets its bundle" wait_for 1 "$SP/done/$lid.tar.gz"
check "its state says cancelled" test "$(bundle_state "$SP/done/$lid.tar.gz" status)" = cancelled
expect_status 1 "cancel of an unknown job" "$DAGEXEC" cancel -s "$SP" no-such-job-20260101T000000-0000

# --- SIGTERM: the daemon exits 0, the job goes on, the next daemon adopts it --
cat >count.yaml <<Y
name: count
nodes:
  first: {run: "echo x >> $SP/first.count"}
  second: {run: "echo x >> $SP/second.count; sleep 2", needs: [first]}
  third: {run: "true", needs: [second]}
Y
aid=$("$DAGEXEC" submit -s "$SP" count.yaml)
check "the second node starts (SIGTERM run)" wait_for 1 "$SP/second.count"
kill -TERM "$WPID"; wait "$WPID"; rc=$?; WPID=
check "SIGTERM makes watch exit 0" test "$rc" -eq 0
check "the job's supervisor outlives the daemon" test -n "$(supervisor_pids)"
start_daemon
check "the adopted job finishes" wait_for 1 "$SP/done/$aid.tar.gz"
check "the adopted job succeeded" test "$(bundle_state "$SP/done/$aid.tar.gz" status)" = succeeded
check "no node of the adopted job ran twice" test "$(cat "$SP/first.count" "$SP/second.count" | wc -l)" -eq 2
rm -f "$SP/first.count" "$SP/second.count"

# --- SIGTERM with --stop-jobs: exit 75, resume at the next start --------------
stop_daemon
start_daemon --stop-jobs
cid=$("$DAGEXEC" submit -s "$SP" count.yaml)
check "the second node starts" wait_for 1 "$SP/second.count"
kill -TERM "$WPID"; wait "$WPID"; rc=$?; WPID=
check "SIGTERM with --stop-jobs makes watch exit 75" test "$rc" -eq 75
check "no supervisor is left" test -z "$(supervisor_pids)"
check "the interrupted job stays in active/" test -d "$SP/active/$cid"
start_daemon
check "the resumed job finishes" wait_for 1 "$SP/done/$cid.tar.gz"
check "the resumed job succeeded" test "$(bundle_state "$SP/done/$cid.tar.gz" status)" = succeeded
check "the succeeded node did not run again" test "$(wc -l <"$SP/first.count")" -eq 1
check "the interrupted node ran again" test "$(wc -l <"$SP/second.count")" -eq 2

# --- kill -9 in the middle: nothing lost, nothing succeeded twice ---------------
rm -f "$SP/first.count" "$SP/second.count"
kid=$("$DAGEXEC" submit -s "$SP" count.yaml)
check "the second node starts (kill -9 run)" wait_for 1 "$SP/second.count"
kill -KILL "$WPID"; wait "$WPID" 2>/dev/null; WPID=
start_daemon
check "the job survives kill -9" wait_for 1 "$SP/done/$kid.tar.gz"
check "after kill -9 the job succeeded" test "$(bundle_state "$SP/done/$kid.tar.gz" status)" = succeeded
check "after kill -9 no succeeded node ran twice" test "$(wc -l <"$SP/first.count")" -eq 1

# --- fairness: a small job is not starved by a big one --------------------------
stop_daemon
python3 - >big.yaml <<'PY'
print("name: big\nnodes:")
for i in range(120):
    print(f"  n{i}: {{run: \"sleep 0.05\"}}")
PY
printf 'name: small\nnodes:\n  s1: {run: "true"}\n  s2: {run: "true", needs: [s1]}\n  s3: {run: "true", needs: [s2]}\n' >small.yaml
bid=$("$DAGEXEC" submit -s "$SP" big.yaml)
sleep 1.1   # the ids carry seconds: the small job sorts after the big one
sid=$("$DAGEXEC" submit -s "$SP" small.yaml)
start_daemon -j 2 --max-jobs 2
check "both jobs finish" wait_for 1 "$SP/done/$bid.tar.gz"
ts=$(stat -c %Y "$SP/done/$sid.tar.gz" 2>/dev/null || echo 0)
tb=$(stat -c %Y "$SP/done/$bid.tar.gz" 2>/dev/null || echo 0)
check "the small job finished before the big one ($ts <= $tb)" test "$ts" -le "$tb"
stop_daemon

# --- dropped bundles -------------------------------------------------------------
mkdir -p tb
cat >tb/dag.yaml <<'Y'
name: tarjob
nodes:
  use-script: {run: "./step.sh > result.txt", outputs: [result.txt]}
Y
printf '#!/bin/sh\necho from-the-bundle\n' >tb/step.sh
chmod 755 tb/step.sh
tar czf "$SP/incoming/.tarjob.tar.gz" -C tb dag.yaml step.sh
mv "$SP/incoming/.tarjob.tar.gz" "$SP/incoming/tarjob.tar.gz"
python3 - "$SP/incoming" <<'PY'
import io, sys, tarfile
d = sys.argv[1]
def member(t, name, data=b"x", kind=tarfile.REGTYPE, link=""):
    i = tarfile.TarInfo(name)
    i.type = kind
    i.linkname = link
    i.size = len(data) if kind == tarfile.REGTYPE else 0
    t.addfile(i, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
dag = b'name: evil\nnodes:\n  a: {run: "true"}\n'
for name, extra in [("dotdot", ("../../../escaped.txt", b"gotcha")),
                    ("absolute", ("/tmp/dagexec-absolute-escape.txt", b"x"))]:
    with tarfile.open(f"{d}/.{name}.tar", "w") as t:
        member(t, "dag.yaml", dag)
        member(t, extra[0], extra[1])
with tarfile.open(f"{d}/.symlink.tar", "w") as t:
    member(t, "dag.yaml", dag)
    member(t, "out", kind=tarfile.SYMTYPE, link="../../../../etc")
with tarfile.open(f"{d}/.device.tar", "w") as t:
    member(t, "dag.yaml", dag)
    member(t, "null", kind=tarfile.CHRTYPE)
with tarfile.open(f"{d}/.nodag.tar", "w") as t:
    member(t, "other.yaml", dag)
PY
for n in dotdot absolute symlink device nodag; do mv "$SP/incoming/.$n.tar" "$SP/incoming/$n.tar"; done
"$DAGEXEC" watch -s "$SP" --drain >>"$T/watch.log" 2>&1
check "drain exits 1 after the bundles (the bad ones were rejected)" test $? -eq 1
tjb=$(ls "$SP"/done/tarjob-*.tar.gz 2>/dev/null | head -n 1)
check "a dropped bundle runs" test -n "$tjb"
if [ -n "$tjb" ]; then
	check "its node used the bundle's files" test "$(bundle_state "$tjb" nodes.use-script.status)" = succeeded
	mkdir -p "$T/tj.x"; tar xzf "$tjb" -C "$T/tj.x"
	grep_file "its output came from the bundle's script" "from-the-bundle" "$(ls "$T"/tj.x/*/outputs/use-script/result.txt)"
fi
for n in dotdot absolute symlink device nodag; do
	check "the $n bundle is rejected" test -f "$SP/rejected/$n.tar.error"
done
grep_file "'..' is refused as a whole" "leads out of the work directory" "$SP/rejected/dotdot.tar.error"
grep_file "an absolute member is refused" "leads out of the work directory" "$SP/rejected/absolute.tar.error"
grep_file "a link out is refused" "symbolic link out of the work directory" "$SP/rejected/symlink.tar.error"
grep_file "a device is refused" "device or FIFO" "$SP/rejected/device.tar.error"
grep_file "a bundle without dag.yaml is refused" "no dag.yaml" "$SP/rejected/nodag.tar.error"
check "nothing escaped through '..'" test ! -e "$SP/../escaped.txt" -a ! -e "$SP/escaped.txt" -a ! -e "$SP/active/escaped.txt"
check "nothing escaped to an absolute path" test ! -e /tmp/dagexec-absolute-escape.txt
ls -A "$SP/active" "$SP/claims" | sed 's/^/  left: /'
check "no claim is left behind" test -z "$(ls -A "$SP/active")"

# --- learned estimates: the second run starts the long node first ------------------
cat >learn.yaml <<Y
name: learn
max_parallel: 1
nodes:
  short1: {run: "echo short1 >> $SP/learn.order; sleep 0.05"}
  short2: {run: "echo short2 >> $SP/learn.order; sleep 0.05"}
  long: {run: "echo long >> $SP/learn.order; sleep 0.6"}
Y
"$DAGEXEC" submit -s "$SP" learn.yaml >/dev/null
"$DAGEXEC" watch -s "$SP" --drain >>"$T/watch.log" 2>&1
check "the first run follows manifest order" test "$(tr '\n' ' ' <"$SP/learn.order")" = "short1 short2 long "
check "the history file is written" test -f "$SP/users/$(id -u)/history/learn"
grep_file "the history holds the long node" "long: {mean_ms: [5-9][0-9][0-9]" "$SP/users/$(id -u)/history/learn"
rm -f "$SP/learn.order"
"$DAGEXEC" submit -s "$SP" learn.yaml >/dev/null
"$DAGEXEC" watch -s "$SP" --drain >>"$T/watch.log" 2>&1
check "the second run starts the long node first" test "$(head -n 1 "$SP/learn.order")" = long
grep_file "the history counts two runs" "long: {mean_ms: [0-9]*, runs: 2}" "$SP/users/$(id -u)/history/learn"

# --- identity: a job runs as the owner of the dropped file ----------------------
if [ "$(id -u)" -eq 0 ] && command -v useradd >/dev/null 2>&1; then
	u=dgxtest$$
	chmod 755 "$T"	# mktemp made it 0700: the user must reach the spool
	useradd -M -N -d /nonexistent -s /usr/sbin/nologin "$u" 2>/dev/null
	uid=$(id -u "$u")
	cat >who.yaml <<'Y'
name: who
nodes:
  whoami: {run: "id -u; echo home=$HOME; echo uid=$(id -u) >> $DAGEXEC_OUTPUT"}
Y
	cp who.yaml "$SP/incoming/who.yaml.tmp"
	chown "$u" "$SP/incoming/who.yaml.tmp"
	mv "$SP/incoming/who.yaml.tmp" "$SP/incoming/who.yaml"
	"$DAGEXEC" watch -s "$SP" --drain >>"$T/watch.log" 2>&1
	wb=$(ls "$SP"/done/who-*.tar.gz | head -n 1)
	check "the bundle belongs to the dropper" test "$(stat -c %u "$wb")" = "$uid"
	mkdir -p "$T/who.x"; tar xzf "$wb" -C "$T/who.x"
	wl=$(ls "$T"/who.x/*/nodes/whoami/stdout.log)
	grep_file "the node ran as the dropper" "^$uid\$" "$wl"
	sed 's/^/  who: /' "$wl"
	grep_file "the job ran in the dropper's HOME" "^home=/nonexistent\$" "$wl"
	# a bundle dropped by the user, interrupted by kill -9, resumed: every
	# attempt runs as the user
	mkdir -p ub
	printf 'name: ubundle\nnodes:\n  slow: {run: "id -u >> %s/ub.ids; sleep 2"}\n' "$SP" >ub/dag.yaml
	tar cf "$SP/incoming/.ub.tar" -C ub dag.yaml
	chown "$u" "$SP/incoming/.ub.tar"
	: >"$SP/ub.ids"; chmod 666 "$SP/ub.ids"
	start_daemon
	mv "$SP/incoming/.ub.tar" "$SP/incoming/ub.tar"
	i=0; while [ $i -lt 100 ] && [ ! -s "$SP/ub.ids" ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL "$WPID"; wait "$WPID" 2>/dev/null; WPID=
	"$DAGEXEC" watch -s "$SP" --drain >>"$T/watch.log" 2>&1
	check "the bundle job outlived the daemon's kill -9: its node ran once" test "$(wc -l <"$SP/ub.ids")" -eq 1
	check "the bundle job's node ran as the dropper" test "$(sort -u "$SP/ub.ids")" = "$uid"
	ubb=$(ls "$SP"/done/ubundle-*.tar.gz 2>/dev/null | head -n 1)
	check "the adopted bundle job's result belongs to the dropper" test -n "$ubb" -a "$(stat -c %u "$ubb" 2>/dev/null)" = "$uid"
	userdel "$u" 2>/dev/null
else
	echo "skip - identity: needs root and useradd (not root here)"
fi


# --- a dropped bundle with a member given twice ------------------------------
"$PY" - "$T/dup.tar.gz" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as t:
    for name, text in (("dag.yaml", b"name: dup\nnodes:\n  a: {run: \"true\"}\n"),
                       ("data.txt", b"one\n"), ("data.txt", b"two\n")):
        i = tarfile.TarInfo(name)
        i.size = len(text)
        t.addfile(i, io.BytesIO(text))
PY
cp "$T/dup.tar.gz" "$SP/incoming/dup.tar.gz"
"$DAGEXEC" watch -s "$SP" --drain >>"$T/watch.log" 2>&1
check "a bundle with a duplicate member is rejected" test -f "$SP/rejected/dup.tar.gz"
grep_file "its .error names the duplicate" \
    "duplicate member 'data.txt'" "$SP/rejected/dup.tar.gz.error"

finish
