#!/bin/sh
# Secrets: files read into a node's environment as its attempt starts, and
# their bytes in no file dagexec writes. Real runs: a secret printed whole,
# byte by byte (split across pipe reads), around the log_limit cut, as a
# multi-line value line by line; passed on in an output value (and its
# file, under private/values/; no foreach over it); sent by an
# http node and quoted in its error; the notification; a secret file
# others may read under watch.
. "$TOP_SRCDIR/tests/integration/lib.sh"

SRV=
cleanup_srv() { [ -n "$SRV" ] && kill "$SRV" 2>/dev/null; wait 2>/dev/null; }
trap 'cleanup_srv; stop_daemon; stop_supervisors; rm -rf "$T"' EXIT

KEY=sk-live-9f8e7d6c5b4a3210QQZZ
L1=MIIEpAIBAAKCAQEA7xFirstSecretLine
L2=q3Z9SecondSecretLineOfThePem
mkdir -p "$T/s"
chmod 700 "$T/s"
printf '%s\n' "$KEY" >"$T/s/key"
printf -- '-----BEGIN TEST KEY-----\n%s\n%s\n-----END TEST KEY-----\n' \
    "$L1" "$L2" >"$T/s/pem"
chmod 600 "$T/s/key" "$T/s/pem"

# leaks FILE...: the secret's bytes (whole, each line, its first and last
# 10 bytes: a part cut off is a leak too) found in any of them
leaks() {
	grep -l -r -a -F -e "$KEY" -e "$L1" -e "$L2" -e "sk-live-9f" \
	    -e "3210QQZZ" -e "MIIEpAIBAA" -e "ThePem" "$@" 2>/dev/null
}

# --- validation -----------------------------------------------------------------
cat >bad.yaml <<'Y'
name: bad
secrets: {API_KEY: /k}
nodes:
  a: {run: "true", env: {TOKEN: x}, secrets: {TOKEN: /k, REL: relative/key}}
  b: {run: "true", executor: slurm}
Y
expect_status 65 "invalid secrets are refused" "$DAGEXEC" validate bad.yaml
grep_file "a relative file, with its line and column" \
    "^bad.yaml:4:63: error: secret 'REL': the file must be an absolute path or start with '~/', not 'relative/key'" "$T/err"
grep_file "a name also in env" "^bad.yaml:4:3: error: node 'a': 'TOKEN' is both in 'env' and in 'secrets'" "$T/err"
grep_file "a secret reaching a Slurm node" "^bad.yaml:5:3: error: node 'b' runs on slurm: secrets are refused there" "$T/err"

python3 "$TOP_SRCDIR/tests/integration/http_server.py" "$T/port" "$T/rec" &
SRV=$!
mkdir -p "$T/rec"
i=0
while [ $i -lt 50 ] && [ ! -s "$T/port" ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(cat "$T/port" 2>/dev/null)

cat >s.yaml <<Y
name: secrets
secrets: {API_KEY: $T/s/key}
notify: {url: "http://127.0.0.1:$PORT/hook"}
env: {KEYFILE: $T/s/key}
nodes:
  whole:
    run: |
      echo "key: \$API_KEY"
      echo "to stderr: \$API_KEY" >&2
      echo "token=Bearer \$API_KEY" >> "\$DAGEXEC_OUTPUT"
      echo "plain=nothing secret" >> "\$DAGEXEC_OUTPUT"
  slow:
    run: |
      s=\$API_KEY
      while [ -n "\$s" ]; do
        rest=\${s#?}
        printf '%s' "\${s%"\$rest"}"
        s=\$rest
        sleep 0.02
      done
      echo " <- written a byte at a time"
  pem:
    secrets: {PEM: $T/s/pem}
    run: |
      echo "\$PEM"
      echo "\$PEM" | sed -n 2p
      echo "in a line: [\$(echo "\$PEM" | sed -n 3p)] end"
      printf '%s' "\$PEM" | while IFS= read -r line; do printf '%s\n' "\$line"; sleep 0.05; done
  cut:
    log_limit: 1K
    run: |
      head -c 500 /dev/zero | tr -c x x
      printf '%s' "\$API_KEY"
      head -c 3000 /dev/zero | tr -c y y
      printf '%s' "\$API_KEY"
      head -c 500 /dev/zero | tr -c z z
      echo
  dep:
    needs: [whole]
    run: |
      echo "received: \$DAGEXEC_IN_WHOLE_TOKEN, \$DAGEXEC_IN_WHOLE_PLAIN"
      [ "\$DAGEXEC_IN_WHOLE_TOKEN" = "Bearer \$(cat "\$KEYFILE")" ]
      echo "token file: \$DAGEXEC_IN_WHOLE_TOKEN_FILE"
      [ "\$(cat "\$DAGEXEC_IN_WHOLE_TOKEN_FILE")" = "Bearer \$(cat "\$KEYFILE")" ]
  fan:
    foreach: {from: whole, key: token}
    run: 'echo "item \$DAGEXEC_ITEM"'
  failing:
    run: 'echo "failing with \$API_KEY" >&2; exit 3'
  post:
    http:
      url: http://127.0.0.1:$PORT/echo
      method: POST
      headers: {Authorization: "Bearer \${API_KEY}"}
      body: "k=\${API_KEY}"
  missing:
    http: {url: "http://127.0.0.1:$PORT/missing?key=\${API_KEY}"}
Y
mkdir -p "$T/o"
"$DAGEXEC" run --keep -o "$T/o" s.yaml >"$T/run.out" 2>"$T/run.err"
rc=$?
check "the run ends failed (three nodes fail on purpose)" test "$rc" -eq 1
b=$(tail -n 1 "$T/run.out")
unpack "$b" s
J=${b%.tar.gz}
expect_state "the node printing the secret succeeds" nodes.whole.status succeeded
expect_state "its dependent got the value itself" nodes.dep.status succeeded
expect_state "the slow writer succeeds" nodes.slow.status succeeded
expect_state "the multi-line secret's node succeeds" nodes.pem.status succeeded
expect_state "the http node that sends it succeeds" nodes.post.status succeeded
grep_file "the server received the secret in the header" \
    "\"authorization\": \"Bearer $KEY\"" "$T/rec/echo.json"
grep_file "and in the body" "\"body\": \"k=$KEY\"" "$T/rec/echo.json"

# the logs: masked, whole and split, before the cut
grep_file "stdout shows *** for the secret" '^key: \*\*\*$' "$X/nodes/whole/stdout.log"
grep_file "stderr too" '^to stderr: \*\*\*$' "$X/nodes/whole/stderr.log"
grep_file "a secret written a byte at a time is masked whole" \
    '^\*\*\* <- written a byte at a time$' "$X/nodes/slow/stdout.log"
grep_file "a multi-line secret is masked whole" '^\*\*\*$' "$X/nodes/pem/stdout.log"
grep_file "one of its lines alone too, inside other text" \
    '^in a line: \[\*\*\*\] end$' "$X/nodes/pem/stdout.log"
grep_file "masked before the log_limit cut: the head keeps ***" \
    '^x*\*\*\*' "$X/nodes/cut/stdout.log"
grep_file "the cut line is there" 'bytes dropped' "$X/nodes/cut/stdout.log"
grep_file "and the tail, which would start inside the secret, keeps ***" \
    '^y*\*\*\*z*$' "$X/nodes/cut/stdout.log"
grep_file "the dependent's log shows the value masked" \
    '^received: Bearer \*\*\*, nothing secret$' "$X/nodes/dep/stdout.log"
grep_file "it got the value by file too, from private/values/" \
    "^token file: $J/private/values/whole/token\$" "$X/nodes/dep/stdout.log"
check "values/ has the other value" test -f "$J/values/whole/plain"
check "and not the one holding the secret" test ! -e "$J/values/whole/token"
check "private/values/ is the owner's alone (0700)" \
    test "$(stat -c %a "$J/private/values")" = 700
expect_state "a dynamic foreach over a value holding it fails" \
    nodes.fan.status failed
expect_state "as a spawn_error" nodes.fan.reason spawn_error
err=$(yget "$S" nodes.fan.error)
case $err in
*"value 'token' of 'whole' holds a secret"*) pass "saying why: $err" ;;
*) fail "fan's error: '$err'" ;;
esac
no_grep_file "no expansion is journalled" 'expand node=fan' "$J/events.log"
tail=$(yget "$S" nodes.failing.stderr_tail)
case $tail in
*'failing with ***'*) pass "the failed node's stderr tail is masked: $tail" ;;
*) fail "failing's stderr_tail: '$tail'" ;;
esac
grep_file "the run's failure line shows the tail masked" \
    'failing with \*\*\*' "$T/run.err"
err=$(yget "$S" nodes.missing.error)
case $err in
*'key=***'*) pass "an error line quoting the secret is masked: $err" ;;
*) fail "missing's error: '$err'" ;;
esac

# nowhere in the bundle, the job directory, the log of the run, the
# notification
l=$(leaks "$X")
check "no file of the unpacked bundle holds the secret ($l)" test -z "$l"
check "the bundle has no private/" test ! -e "$X/private"
l=$(leaks "$J" --exclude-dir=private)
check "no file of the job directory but private/ holds it ($l)" test -z "$l"
l=$(leaks "$J/events.log")
check "events.log does not hold it" test -z "$l"
grep_file "events.log has *** for the value" \
    'output node=whole key=token value=\*\*\* secret=yes' "$J/events.log"
grep_file "and the other value as written" \
    'output node=whole key=plain value=nothing%20secret' "$J/events.log"
l=$(leaks "$T/run.err" "$T/run.out")
check "the run's own log does not hold it" test -z "$l"
grep_file "the notification was sent" '"dag":"secrets"' "$T/rec/hook.log"
l=$(leaks "$T/rec/hook.log")
check "the notification does not hold it" test -z "$l"
check "the value is kept in private/whole.values" test -f "$J/private/whole.values"
check "which is the owner's alone (0600)" \
    test "$(stat -c %a "$J/private/whole.values")" = 600
check "in a directory of 0700" test "$(stat -c %a "$J/private")" = 700
grep_file "and holds the value for dependents and resume" "Bearer $KEY" \
    "$J/private/whole.values"

# --- the example: a secret under ~/ ($HOME under run), budgets, retries -------
mkdir -p "$T/home/.config/agent"
(umask 077 && printf '%s\n' "$KEY" >"$T/home/.config/agent/api-key")
mkdir -p "$T/ex"
HOME=$T/home "$DAGEXEC" run -o "$T/ex" "$TOP_SRCDIR/examples/agent-guardrails.yaml" \
    >"$T/ex.out" 2>"$T/ex.err"
check "the guardrails example succeeds" test $? -eq 0
unpack "$(tail -n 1 "$T/ex.out")" ex
grep_file "its agent's log masks the key read from ~/" \
    '^calling the model with key \*\*\*$' "$X/nodes/review-security/stdout.log"
expect_state "its runaway agent is stopped by its budget" \
    nodes.review-runaway.reason budget
expect_state "its rate-limited agent is retried on exit 75" \
    nodes.review-flaky.attempts 2
expect_state "the merge runs" nodes.merge.status succeeded
l=$(leaks "$X" "$T/ex.err")
check "the example's bundle and log do not hold the key" test -z "$l"

# --- the fan-out example: the key, each instance's budget --------------------
mkdir -p "$T/fx"
HOME=$T/home "$DAGEXEC" run -o "$T/fx" "$TOP_SRCDIR/examples/agent-fanout.yaml" \
    >"$T/fx.out" 2>"$T/fx.err"
check "the fan-out example succeeds" test $? -eq 0
unpack "$(tail -n 1 "$T/fx.out")" fx
expect_state "its five agents and the planner and merge ran" \
    progress.succeeded 7
grep_file "its planner's log masks the key" '^planning with key \*\*\*$' \
    "$X/nodes/plan/stdout.log"
grep_file "an instance's log too" '^calling the model with key \*\*\*$' \
    "$X/nodes/agent[1]/stdout.log"
grep_file "the merge got the five answers" '^review of 5 subtasks:$' \
    "$X/nodes/merge/stdout.log"
l=$(leaks "$X" "$T/fx.err")
check "the example's bundle and log do not hold the key" test -z "$l"

# --- a Slurm node that would get a value holding a secret -------------------
# (refused before sbatch: no cluster is needed to see it)
cat >slurm.yaml <<Y
name: slurm-secret
nodes:
  a: {run: 'echo "token=x\$API_KEY" >> "\$DAGEXEC_OUTPUT"', secrets: {API_KEY: $T/s/key}}
  b: {run: 'echo "\$DAGEXEC_IN_A_TOKEN"', needs: [a], executor: slurm}
Y
mkdir -p "$T/sl"
"$DAGEXEC" run -o "$T/sl" slurm.yaml >"$T/sl.out" 2>"$T/sl.err"
unpack "$(tail -n 1 "$T/sl.out")" sl
expect_state "a Slurm node is not given a value holding a secret" \
    nodes.b.reason spawn_error
expect_state "its error says why" nodes.b.error \
    "'DAGEXEC_IN_A_TOKEN' holds a secret: it would be written into the batch script"
l=$(leaks "$X" "$T/sl.err")
check "nothing of it is written" test -z "$l"

# --- retry of the bundle: the secret value is not in it, the node runs -------
mkdir -p "$T/r"
"$DAGEXEC" retry -o "$T/r" "$b" >"$T/retry.out" 2>"$T/retry.err"
rb=$(tail -n 1 "$T/retry.out")
unpack "$rb" r
expect_state "a retry runs again the node whose value held a secret" \
    nodes.whole.attempts 1
expect_state "and its dependent gets the value again" nodes.dep.status succeeded
expect_state "a node without one is reused" nodes.slow.attempts 0

# --- under watch: the secret file must be the owner's, not readable by
# others -----------------------------------------------------------------------
SP="$T/spool"
"$DAGEXEC" watch -s "$SP" --drain >/dev/null 2>&1	# makes the layout
cp "$T/s/key" "$T/s/open"
chmod 644 "$T/s/open"
cp "$T/s/key" "$T/s/groupread"
chmod 640 "$T/s/groupread"
watch_manifest() {
	cat <<Y
name: w-$1
nodes:
  use:
    secrets: {API_KEY: $2}
    run: 'echo "under watch: \$API_KEY"'
Y
}
watch_manifest ok "$T/s/key" >"$T/w-ok.yaml"
watch_manifest open "$T/s/open" >"$T/w-open.yaml"
watch_manifest group "$T/s/groupread" >"$T/w-group.yaml"
watch_manifest gone "$T/s/nosuchfile" >"$T/w-gone.yaml"
others=
if [ "$(id -u)" -eq 0 ] && id -u nobody >/dev/null 2>&1; then
	cp "$T/s/key" "$T/s/theirs"
	chown nobody "$T/s/theirs"
	chmod 600 "$T/s/theirs"
	watch_manifest theirs "$T/s/theirs" >"$T/w-theirs.yaml"
	others=theirs
fi
for n in ok open group gone $others; do
	cp "$T/w-$n.yaml" "$SP/incoming/.w-$n.tmp"
	mv "$SP/incoming/.w-$n.tmp" "$SP/incoming/w-$n.yaml"
done
"$DAGEXEC" watch -s "$SP" --drain >"$T/watch.log" 2>&1
wb() { ls "$SP"/done/w-"$1"-*.tar.gz 2>/dev/null | head -n 1; }
unpack "$(wb ok)" wok
expect_state "a 0600 secret file of the owner's is read under watch" \
    nodes.use.status succeeded
grep_file "and masked in the log" '^under watch: \*\*\*$' "$X/nodes/use/stdout.log"
unpack "$(wb open)" wopen
expect_state "a secret file others may read fails the node" nodes.use.status failed
expect_state "with reason spawn_error" nodes.use.reason spawn_error
err=$(yget "$S" nodes.use.error)
case $err in
*"is readable by others (mode 0644): under watch a secret file must be its owner's and not readable by others"*)
	pass "its error says why: $err" ;;
*) fail "the error of a 0644 secret: '$err'" ;;
esac
unpack "$(wb group)" wgroup
expect_state "one its group may read is accepted" nodes.use.status succeeded
unpack "$(wb gone)" wgone
expect_state "a missing secret file fails the node" nodes.use.reason spawn_error
state_err=$(yget "$S" nodes.use.error)
case $state_err in
*"secret 'API_KEY': cannot open '$T/s/nosuchfile': No such file or directory"*)
	pass "its error names the secret and the file" ;;
*) fail "the error of a missing secret: '$state_err'" ;;
esac
if [ -n "$others" ]; then
	unpack "$(wb theirs)" wtheirs
	expect_state "a secret file of another user's fails the node" \
	    nodes.use.reason spawn_error
	grep_file "its error names the owner" 'belongs to uid' "$S"
else
	echo "skip - a secret file of another user's: needs root and user nobody"
fi
# --- a resume takes a secret value from private/ ---------------------------
# a passes on a value that holds the secret; b, which needs it, is killed
# with the job's supervisor (a crash) on its first attempt; the next watch
# resumes the job: a does not run again, and b gets the value itself
cat >"$T/w-resume.yaml" <<Y
name: w-resume
env: {M: $T/m, KEYFILE: $T/s/key}
secrets: {API_KEY: $T/s/key}
nodes:
  a:
    run: 'echo a >> "\$M/runs"; echo "token=Bearer \$API_KEY" >> "\$DAGEXEC_OUTPUT"'
  b:
    needs: [a]
    run: |
      echo b >> "\$M/runs"
      if [ ! -e "\$M/go" ]; then touch "\$M/b-started"; sleep 60; fi
      [ "\$DAGEXEC_IN_A_TOKEN" = "Bearer \$(cat "\$KEYFILE")" ] && touch "\$M/b-ok"
      echo "b got \$DAGEXEC_IN_A_TOKEN"
Y
mkdir -p "$T/m"
"$DAGEXEC" watch -s "$SP" >>"$T/watch.log" 2>&1 &
WPID=$!
cp "$T/w-resume.yaml" "$SP/incoming/.w-resume.tmp"
mv "$SP/incoming/.w-resume.tmp" "$SP/incoming/w-resume.yaml"
i=0
while [ $i -lt 300 ] && [ ! -e "$T/m/b-started" ]; do sleep 0.1; i=$((i + 1)); done
check "b started under the first daemon" test -e "$T/m/b-started"
sp=$(supervisor_pids)
kill -KILL "$WPID" $sp 2>/dev/null
wait "$WPID" 2>/dev/null
WPID=
touch "$T/m/go"
"$DAGEXEC" watch -s "$SP" --drain >>"$T/watch.log" 2>&1
unpack "$(wb resume)" wresume
expect_state "the resumed job succeeds" status succeeded
check "a ran once, b twice" test "$(sort "$T/m/runs" | tr '\n' ' ')" = "a b b "
check "b's second attempt got the value itself (from private/)" \
    test -e "$T/m/b-ok"
# (a value read back from private/ is masked whole: "Bearer" goes too)
grep_file "and its log masks it" '^b got \(Bearer \)\?\*\*\*$' \
    "$X/nodes/b/stdout.log"
l=$(leaks "$X")
check "the resumed job's bundle does not hold the secret" test -z "$l"

l=$(leaks "$T/watch.log" "$SP/done")
check "the daemon's log and done/ do not hold the secret" test -z "$l"
for f in "$SP"/done/*.tar.gz; do
	mkdir -p "$T/done.x"
	tar xzf "$f" -C "$T/done.x"
done
l=$(leaks "$T/done.x")
check "no bundle of done/ holds it, unpacked" test -z "$l"

finish
