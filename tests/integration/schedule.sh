#!/bin/sh
# Recurring runs and jobs for later (SPOOL/schedules/, interface §11), on
# real processes: a per-minute schedule fires with DAGEXEC_SCHEDULED_AT; a
# restart or a crash of `watch` neither loses nor repeats a firing (also
# with the record behind, a firing cut short before its claim, a claim cut
# short before its supervisor named it); overlap skip, queue and all; a
# catch_up window after downtime; a schedule in Europe/Berlin across the
# spring-forward gap; bad schedules rejected with FILE:LINE:COLUMN;
# `submit --at`; a schedule of a second user runs as that user.
#
# The clock: tests/clockshim.c (as clock.sh uses it), loaded with
# LD_PRELOAD into the daemon (and so into its helpers, supervisors and
# nodes), puts the wall clock where the test wants it: a few seconds
# before a minute, so that a firing comes at once, then minutes later
# (a SIGHUP, the daemon's documented rescan, makes it look at the clock
# again). dagexec has no test hook for it: the monotonic clock runs on,
# and the wall clock is read as it always is.
. "$TOP_SRCDIR/tests/integration/lib.sh"

U=
cleanup() {
	if [ -n "$WPID" ]; then
		kill -KILL "$WPID" 2>/dev/null
		wait "$WPID" 2>/dev/null
	fi
	stop_supervisors
	if [ -n "$U" ]; then
		pkill -KILL -u "$U" 2>/dev/null
		sleep 0.2
		userdel "$U" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT

clockshim
LOG="$T/watch.log"

B=1906545600		# 2030-06-01T12:00:00Z
DST=1932598800		# 2031-03-30T01:00:00Z: 02:00 CET becomes 03:00 CEST

# set_clock T: the shimmed wall clock reads T (seconds) now
set_clock() { echo $(($1 - $(date +%s))) >"$OFF"; }

# start_daemon SPOOL: a shimmed `watch`, its pid in WPID
start_daemon() {
	$SHIM "$DAGEXEC" watch -s "$1" --max-jobs 10 >>"$LOG" 2>&1 &
	WPID=$!
	i=0
	while [ $i -lt 50 ] && [ "$(cat "$1/lock" 2>/dev/null)" != "$WPID" ]; do
		sleep 0.1; i=$((i + 1))
	done
}
crash_daemon() { kill -KILL "$WPID"; wait "$WPID" 2>/dev/null; WPID=; }
nudge() { kill -HUP "$WPID"; }

# put SPOOL FILE [NAME]: into SPOOL/schedules/ as NAME, renamed in
put() {
	cp "$2" "$1/schedules/.${3:-$2}.tmp"
	mv "$1/schedules/.${3:-$2}.tmp" "$1/schedules/${3:-$2}"
}

# settle SPOOL: until no job is left in claims/ (at most 15 s): a job whose
# bundle is in done/ is forgotten a moment later
settle() {
	i=0
	while [ $i -lt 150 ] && [ -n "$(ls -A "$1/claims" 2>/dev/null)" ]; do
		sleep 0.1; i=$((i + 1))
	done
}

# n_of GLOB: how many files match
n_of() { ls $1 2>/dev/null | wc -l; }

# wait_log PATTERN: until the daemon's log has it (at most 15 s)
wait_log() {
	i=0
	while [ $i -lt 150 ]; do
		grep -q -e "$1" "$LOG" && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# wait_lines N FILE: until FILE has N lines (at most 15 s)
wait_lines() {
	i=0
	while [ $i -lt 150 ]; do
		[ "$(cat "$2" 2>/dev/null | wc -l)" -ge "$1" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# sched_line SPOOL NAME: NAME's line of `status --schedules` once it is
# read (at most 10 s)
sched_line() {
	i=0
	while [ $i -lt 100 ]; do
		l=$("$DAGEXEC" status -s "$1" --schedules 2>&1 | grep "^$2 ")
		case "$l" in *" ok"|*queued*|*waiting*) echo "$l"; return 0;; esac
		sleep 0.1; i=$((i + 1))
	done
	echo "$l"
	return 1
}

# === 1. every minute ==========================================================
S1="$T/s1"
cat >every.yaml <<Y
name: every
cron: "* * * * *"
timezone: UTC
nodes:
  a: {run: 'echo "\$DAGEXEC_SCHEDULED_AT \$DAGEXEC_JOB" >> $T/every.out'}
Y
set_clock $((B - 6))
start_daemon "$S1"
check "watch made schedules/ 1733 and sched/ 0711" \
    test "$(stat -c %a "$S1/schedules") $(stat -c %a "$S1/sched")" = "1733 711"
put "$S1" every.yaml
l=$(sched_line "$S1" every.yaml)
case "$l" in
*"2030-06-01T12:00:00+00:00 * * * * *"*UTC*skip*ok) pass "status --schedules: the next firing, expression, zone, overlap";;
*) fail "status --schedules: '$l'";;
esac
check "nothing before its time" test "$(n_of "$S1/done/every-*")" -eq 0
check "the 12:00 firing runs" wait_for 1 "$S1/done/every-20300601T120000-*.tar.gz"
J1=$(basename "$(ls "$S1"/done/every-20300601T120000-*.tar.gz)" .tar.gz)
wait_lines 1 "$T/every.out"
check "its node sees DAGEXEC_SCHEDULED_AT, its id holds the time ($J1)" \
    grep -qx "2030-06-01T12:00:00Z $J1" "$T/every.out"
grep_file "the daemon logs the firing" "$J1 fire file=every.yaml scheduled=2030-06-01T12:00:00Z" "$LOG"
check "status lists the firing's job" sh -c "'$DAGEXEC' status -s '$S1' | grep -q '^$J1 .*succeeded'"
check "sched/ keeps the checked bytes, root's alone" \
    test "$(stat -c '%a %u' "$S1/sched/every.yaml")" = "600 0"

# === 2. restarts ================================================================
# a crash, then the next minute: 12:00 is not run again, 12:01 runs
settle "$S1"
crash_daemon
set_clock $((B + 56))
start_daemon "$S1"
check "after a crash, the 12:01 firing runs" wait_for 1 "$S1/done/every-20300601T120100-*.tar.gz"
check "and 12:00 did not run again" test "$(n_of "$S1/done/every-20300601T120000-*")" -eq 1
# a restart across a firing: stopped before 12:02, back 10 s after it
settle "$S1"
stop_daemon
set_clock $((B + 130))
start_daemon "$S1"
check "a firing 10 s late at a restart runs" wait_for 1 "$S1/done/every-20300601T120200-*.tar.gz"
# the record behind (as when the daemon died between the claim and the
# record): 12:02 is due again, its id is in use, it does not run again
settle "$S1"
stop_daemon
sed -i "s/^last .*/last $((B + 60))/" "$S1/sched/every.yaml.last"
set_clock $((B + 140))
start_daemon "$S1"
check "a firing whose id is in use is not run again" \
    wait_log "every-20300601T120200-.* schedule file=every.yaml scheduled=2030-06-01T12:02:00Z: ran already"
# a firing cut short before its rename into claims/
settle "$S1"
stop_daemon
mkdir "$S1/sched/.fire-every-20300601T120300-0000"
touch "$S1/sched/.fire-every-20300601T120300-0000/every-20300601T120300-0000.yaml"
set_clock $((B + 176))
start_daemon "$S1"
check "what a firing cut short left is removed" \
    wait_log "removed 'sched/.fire-every-20300601T120300-0000'"
check "and the firing is made again" wait_for 1 "$S1/done/every-20300601T120300-*.tar.gz"
# a claim whose supervisor died before naming the job: taken in again at
# the next start, keeping its time (made here as the daemon makes one)
settle "$S1"
stop_daemon
J0=every-20300601T115900-00aa
mkdir "$S1/claims/.claim-$J0.yaml"
cp every.yaml "$S1/claims/.claim-$J0.yaml/$J0.yaml"
echo "$((B - 60)) $(id -u) $(id -g)" >"$S1/claims/.claim-$J0.yaml/.scheduled"
set_clock $((B + 190))
start_daemon "$S1"
check "a claim cut short is taken in again" wait_for 1 "$S1/done/$J0.tar.gz"
wait_lines 5 "$T/every.out"
check "with its scheduled time" grep -qx "2030-06-01T11:59:00Z $J0" "$T/every.out"
check "each firing ran once (12:00, 12:01, 12:02, 12:03, the claim)" \
    test "$(sort "$T/every.out" | uniq | wc -l) $(wc -l <"$T/every.out")" = "5 5"
settle "$S1"
check "nothing is left in claims/" test -z "$(ls -A "$S1/claims")"
stop_daemon

# === 3. overlap ====================================================================
S2="$T/s2"
for p in skip queue all; do
	cat >ov-$p.yaml <<Y
name: ov-$p
cron: "* * * * *"
overlap: $p
nodes:
  a:
    run: |
      echo "\$DAGEXEC_SCHEDULED_AT" >> $T/ov-$p.out
      i=0; while [ ! -f $T/release ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
Y
done
set_clock $((B - 5))
start_daemon "$S2"
for p in skip queue all; do put "$S2" ov-$p.yaml; done
for p in skip queue all; do
	check "overlap $p: the 12:00 job runs" wait_lines 1 "$T/ov-$p.out"
done
set_clock $((B + 61))
nudge
check "overlap all: 12:01 starts beside 12:00" wait_lines 2 "$T/ov-all.out"
check "overlap skip: 12:01 is skipped while 12:00 runs" \
    wait_log "ov-skip-20300601T120000-.* schedule file=ov-skip.yaml scheduled=2030-06-01T12:01:00Z: skipped, this job still runs"
check "overlap queue: 12:01 waits for it" \
    wait_log "schedule file=ov-queue.yaml scheduled=2030-06-01T12:01:00Z: queued until this job ends"
l=$(sched_line "$S2" ov-queue.yaml)
case "$l" in
*"queued 2030-06-01T12:01:00+00:00") pass "status --schedules shows the queued firing";;
*) fail "status --schedules: '$l'";;
esac
set_clock $((B + 121))
nudge
check "overlap all: 12:02 starts too" wait_lines 3 "$T/ov-all.out"
check "overlap queue: 12:02 is skipped, one waits already" \
    wait_log "scheduled=2030-06-01T12:02:00Z: skipped, this job still runs and a firing is queued"
touch "$T/release"
check "overlap queue: the queued 12:01 runs once 12:00 ends" wait_lines 2 "$T/ov-queue.out"
check "... with its own time" sh -c "sed -n 2p '$T/ov-queue.out' | grep -qx 2030-06-01T12:01:00Z"
wait_for 1 "$S2/done/ov-queue-20300601T120100-*.tar.gz"
wait_for 3 "$S2/done/ov-all-*.tar.gz"
check "bundles: skip 1, queue 2, all 3" test \
    "$(n_of "$S2/done/ov-skip-*") $(n_of "$S2/done/ov-queue-*") $(n_of "$S2/done/ov-all-*")" = "1 2 3"
check "overlap queue ran 12:00 and 12:01, not 12:02" \
    test "$(tr '\n' ' ' <"$T/ov-queue.out")" = "2030-06-01T12:00:00Z 2030-06-01T12:01:00Z "
stop_daemon

# === 4. catch_up after downtime =======================================================
S3="$T/s3"
for c in 10m 20s none; do
	{
		echo "name: cu-$c"
		echo "cron: '* * * * *'"
		[ "$c" = none ] || echo "catch_up: $c"
		echo "nodes:"
		echo "  a: {run: 'echo \$DAGEXEC_SCHEDULED_AT >> $T/cu-$c.out'}"
	} >cu-$c.yaml
done
set_clock $((B - 5))
start_daemon "$S3"
for c in 10m 20s none; do put "$S3" cu-$c.yaml; done
# their jobs ended (else the catch-up below is skipped: overlap skip)
for c in 10m 20s none; do wait_for 1 "$S3/done/cu-$c-20300601T120000-*.tar.gz"; done
settle "$S3"
check "catch_up: the three ran at 12:00" test "$(cat "$T"/cu-*.out | sort -u)" = "2030-06-01T12:00:00Z"
stop_daemon
# down from 12:00 to 12:07:40: seven firings missed, the last 40 s ago
set_clock $((B + 460))
start_daemon "$S3"
check "catch_up 10m: the latest missed firing runs once" wait_for 1 "$S3/done/cu-10m-20300601T120700-*.tar.gz"
check "the downtime is logged" wait_log "file=cu-none.yaml: 7 firing(s) missed while no daemon ran"
sleep 1
check "catch_up 10m: one job for the seven" test "$(n_of "$S3/done/cu-10m-*")" -eq 2
check "catch_up 20s and none: nothing (12:07 is 40 s old)" \
    test "$(n_of "$S3/done/cu-20s-*") $(n_of "$S3/done/cu-none-*")" = "1 1"
check "catch_up 10m's job has the missed time" grep -qx 2030-06-01T12:07:00Z "$T/cu-10m.out"
stop_daemon

# === 5. a zone, across the spring-forward gap; bad schedules ===================
S4="$T/s4"
cat >dst.yaml <<Y
name: dst
cron: "30 2 * * *"
timezone: Europe/Berlin
nodes:
  a: {run: 'echo \$DAGEXEC_SCHEDULED_AT >> $T/dst.out'}
Y
set_clock $((DST - 5))
start_daemon "$S4"
put "$S4" dst.yaml
l=$(sched_line "$S4" dst.yaml)
case "$l" in
*"2031-03-30T03:00:00+02:00 30 2 * * *"*Europe/Berlin*) pass "02:30 does not exist on 2031-03-30 in Berlin: next is 03:00 CEST";;
*) fail "status --schedules: '$l'";;
esac
check "it fires at the gap's end, once" wait_for 1 "$S4/done/dst-20310330T010000-*.tar.gz"
check "its time is 01:00 UTC" grep -qx 2031-03-30T01:00:00Z "$T/dst.out"
l=$(sched_line "$S4" dst.yaml)
case "$l" in
*"2031-03-31T02:30:00+02:00 "*) pass "then the next day's 02:30 CEST";;
*) fail "status --schedules after the gap: '$l'";;
esac

printf 'name: bad\ncron: "0 61 * * *"\nnodes:\n  a: {run: "true"}\n' >bad-cron.yaml
printf 'name: bad\ncron: "@daily"\ntimezone: Mars/Olympus\nnodes:\n  a: {run: "true"}\n' >bad-zone.yaml
printf 'name: bad\nnodes:\n  a: {run: "true"}\n' >no-cron.yaml
for f in bad-cron bad-zone no-cron; do put "$S4" $f.yaml; done
ln -s /etc/passwd "$S4/schedules/link.yaml"
cp dst.yaml "$S4/schedules/bad name.yaml"
wait_for 5 "$S4/rejected/*.error"
grep_file "a bad expression: rejected at its line:col" \
    "^bad-cron.yaml:2:10: error: bad 'cron' expression '0 61 \* \* \*': hour '61' is out of range 0-23" \
    "$S4/rejected/bad-cron.yaml.error"
grep_file "the daemon's reject line carries it" \
    "reject file=schedules/bad-cron.yaml bad-cron.yaml:2:10: error: bad 'cron'" "$LOG"
grep_file "an unknown zone: rejected, not UTC" \
    "^bad-zone.yaml:3:11: error: unknown time zone 'Mars/Olympus'" "$S4/rejected/bad-zone.yaml.error"
grep_file "a manifest without cron: rejected" "needs a 'cron' expression" "$S4/rejected/no-cron.yaml.error"
grep_file "a symbolic link: rejected, not followed" "symbolic link: not followed" "$S4/rejected/link.yaml.error"
grep_file "a name that is no schedule's: rejected" "is not a schedule" "$S4/rejected/bad name.yaml.error"
check "validate says the same of it" sh -c "'$DAGEXEC' validate bad-cron.yaml 2>&1 | grep -q '^bad-cron.yaml:2:10: error'"

# === 6. submit --at =================================================================
printf 'name: once\nnodes:\n  a: {run: "echo $DAGEXEC_SCHEDULED_AT $DAGEXEC_JOB >> %s/once.out"}\n' "$T" >once.yaml
t0=$($SHIM date +%s)
id=$($SHIM "$DAGEXEC" submit -s "$S4" --at 'now + 4 seconds' once.yaml)
ts=$(echo "$id" | sed 's/^once-\([0-9]\{8\}T[0-9]\{6\}\)-[0-9a-f]\{4\}$/\1/')
want=$(date -u -d "@$((t0 + 4))" +%Y%m%dT%H%M%S)
want2=$(date -u -d "@$((t0 + 5))" +%Y%m%dT%H%M%S)
check "submit --at: the id holds the time ($id)" test "$ts" = "$want" -o "$ts" = "$want2"
check "it waits in schedules/" test -f "$S4/schedules/$id.yaml"
l=$(sched_line "$S4" "$id.yaml")
case "$l" in *" at "*) pass "status --schedules lists it";; *) fail "status --schedules: '$l'";; esac
check "not run before its time" test ! -f "$S4/done/$id.tar.gz"
check "it runs at its time, as that job" wait_for 1 "$S4/done/$id.tar.gz"
wait_lines 1 "$T/once.out"
iso=$(echo "$ts" | sed 's/\(....\)\(..\)\(..\)T\(..\)\(..\)\(..\)/\1-\2-\3T\4:\5:\6Z/')
check "its node sees the time ($iso)" grep -qx "$iso $id" "$T/once.out"
id2=$($SHIM "$DAGEXEC" submit -s "$S4" --at 'now + 1 hour' once.yaml)
"$DAGEXEC" cancel -s "$S4" "$id2" >/dev/null 2>&1
check "cancel takes a job waiting for its time" wait_for 1 "$S4/rejected/$id2.yaml.error"
grep_file "... saying so" "cancelled before it started" "$S4/rejected/$id2.yaml.error"
expect_status 64 "submit --at a time past" $SHIM "$DAGEXEC" submit -s "$S4" --at '2020-01-01 00:00' once.yaml
grep_file "... says so" "is in the past" "$T/err"
expect_status 64 "submit --at what is no time" "$DAGEXEC" submit -s "$S4" --at 'tomorrow' once.yaml
grep_file "... lists the forms" "expected 'now', 'now + N minutes'" "$T/err"
expect_status 0 "submit of a manifest with cron" "$DAGEXEC" submit -s "$S4" dst.yaml
grep_file "... notes it runs once" "'cron' is acted on in .*/schedules/ only: this job runs once, now" "$T/err"
stop_daemon

# --drain: what is due runs (a job for now), a rejected schedule is an
# exit 1, later firings are not waited for
S6="$T/s6"
"$DAGEXEC" watch -s "$S6" --drain >>"$LOG" 2>&1
id3=$($SHIM "$DAGEXEC" submit -s "$S6" --at now once.yaml)
put "$S6" every.yaml
expect_status 0 "watch --drain runs a job for now and does not wait for later firings" \
    $SHIM "$DAGEXEC" watch -s "$S6" --drain
check "... the job for now ran" test -f "$S6/done/$id3.tar.gz"
put "$S6" bad-cron.yaml
expect_status 1 "watch --drain with a bad schedule exits 1" $SHIM "$DAGEXEC" watch -s "$S6" --drain
check "... and it is in rejected/" test -f "$S6/rejected/bad-cron.yaml.error"

# === 7. a second user's schedule ==================================================
if [ "$(id -u)" -ne 0 ] || ! command -v useradd >/dev/null 2>&1; then
	echo "skip - a second user's schedule: needs root and useradd"
	finish
fi
chmod 755 "$T"
U=dgxc$$
useradd -M -N -d /nonexistent -s /usr/sbin/nologin "$U" 2>/dev/null
if ! id -u "$U" >/dev/null 2>&1; then
	echo "skip - a second user's schedule: useradd failed"
	U=
	finish
fi
uu=$(id -u "$U")
P="$T/pub"
mkdir -p "$P"
chmod 1777 "$P"
S5="$T/s5"
cat >mine.yaml <<Y
name: mine
cron: "* * * * *"
nodes:
  a: {run: 'id -u > $P/mine.uid'}
Y
printf 'name: bad\ncron: "* * *"\nnodes:\n  a: {run: "true"}\n' >ubad.yaml
set_clock $((B - 5))
start_daemon "$S5"
for f in mine ubad; do
	cp $f.yaml "$S5/schedules/.$f.tmp"
	chown "$U" "$S5/schedules/.$f.tmp"
	mv "$S5/schedules/.$f.tmp" "$S5/schedules/$f.yaml"
done
check "a user's schedule fires" wait_for 1 "$S5/done/mine-20300601T120000-*.tar.gz"
check "as that user" test "$(cat "$P/mine.uid" 2>/dev/null)" = "$uu"
check "its bundle is theirs" test "$(stat -c %u "$S5"/done/mine-*.tar.gz)" = "$uu"
check "their list is theirs, 0600" test "$(stat -c '%a %u' "$S5/sched/$uu.list")" = "600 $uu"
l=$(setpriv --reuid "$uu" --regid "$(id -g "$U")" --clear-groups "$(users_dagexec)" status -s "$S5" --schedules 2>&1)
case "$l" in mine.yaml*) pass "they see their schedule";; *) fail "status --schedules as $U: '$l'";; esac
wait_for 1 "$S5/rejected/ubad.yaml.error"
check "their rejected schedule and its reason are theirs, 0600" \
    test "$(stat -c '%a %u' "$S5/rejected/ubad.yaml" "$S5/rejected/ubad.yaml.error" | sort -u)" = "600 $uu"
stop_daemon

finish
