#!/bin/sh
# What the spool daemon leaves behind: entries of cancel/ that are not
# requests, bundles cut short by a killed daemon, submit's old staging.
. "$TOP_SRCDIR/tests/integration/lib.sh"

SP="$T/spool"
WPID=
trap 'stop_daemon; stop_supervisors; rm -rf "$T"' EXIT

start_daemon() {
	"$DAGEXEC" watch -s "$SP" "$@" >>"$T/watch.log" 2>&1 &
	WPID=$!
	i=0
	while [ $i -lt 50 ] && [ "$(cat "$SP/lock" 2>/dev/null)" != "$WPID" ]; do
		sleep 0.1; i=$((i + 1))
	done
}


cat >ok.yaml <<'Y'
name: ok
nodes:
  a: {run: "true"}
Y

"$DAGEXEC" watch -s "$SP" --drain >/dev/null 2>&1

# --- cancel/: what is not a request is removed and logged once --------------
mkdir "$SP/cancel/adir" "$SP/cancel/full"
touch "$SP/cancel/full/x"
mkfifo "$SP/cancel/fifo"
ln -s /etc/passwd "$SP/cancel/link"
touch "$SP/cancel/.hidden" "$SP/cancel/x.tmp" "$SP/cancel/bad name"
$PY -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' \
    "$SP/cancel/sock" 2>/dev/null
# a bundle cut short by a killed daemon, and a submit's staging that died
touch "$SP/done/x-20260101T000000-abcd.tar.gz.tmp.12345"
touch "$SP/done/y-20260101T000000-abcd.tar.gz"
touch -d '2 days ago' "$SP/tmp/.old-20260101T000000-abcd.yaml.tmp"
touch "$SP/tmp/.new-20260101T000000-abcd.yaml.tmp"

start_daemon
for k in 1 2 3; do
	cp ok.yaml "$SP/incoming/ok$k.yaml"
	wait_for "$k" "$SP/done/*.tar.gz" >/dev/null
done
wait_for 4 "$SP/done/*.tar.gz"
# more events in cancel/: each is a rescan of it
touch "$SP/cancel/no-such-job"
sleep 0.3
touch "$SP/cancel/no-such-job-2"
sleep 0.3
kill -HUP "$WPID"
sleep 0.3
stop_daemon

check "a directory in cancel/ is removed" test ! -e "$SP/cancel/adir"
check "a FIFO in cancel/ is removed" test ! -e "$SP/cancel/fifo"
check "a symbolic link in cancel/ is removed" test ! -L "$SP/cancel/link"
check "...and not followed" test -f /etc/passwd
check "a socket in cancel/ is removed" test ! -e "$SP/cancel/sock"
check "a dot file in cancel/ is removed" test ! -e "$SP/cancel/.hidden"
check "a name that is not a job id is removed" test ! -e "$SP/cancel/bad name"
check "a '.tmp' name in cancel/ is removed" test ! -e "$SP/cancel/x.tmp"
check "a request for no job is removed" test ! -e "$SP/cancel/no-such-job"
check "a directory that is not empty stays" test -f "$SP/cancel/full/x"
n=$(grep -c "cancel/adir" "$T/watch.log")
check "the directory is logged once ($n)" test "$n" -eq 1
grep_file "the log says it was a directory" \
    "removed 'cancel/adir': it is a directory" "$T/watch.log"
n=$(grep -c "cancel/full" "$T/watch.log")
check "the directory that is not empty is logged once, not at every event ($n)" \
    test "$n" -eq 1
grep_file "the log says why it stays" \
    "cannot remove 'cancel/full': Directory not empty" "$T/watch.log"

check "a stale done/*.tmp.* is removed at start-up" \
    test ! -e "$SP/done/x-20260101T000000-abcd.tar.gz.tmp.12345"
grep_file "its removal is logged" \
    "removed 'done/x-20260101T000000-abcd.tar.gz.tmp.12345'" "$T/watch.log"
check "a finished bundle stays" test -e "$SP/done/y-20260101T000000-abcd.tar.gz"
check "a submit's staging two days old is removed" \
    test ! -e "$SP/tmp/.old-20260101T000000-abcd.yaml.tmp"
check "a submit's fresh staging stays (it may be being written)" \
    test -e "$SP/tmp/.new-20260101T000000-abcd.yaml.tmp"

finish
