#!/bin/sh
# http nodes and notify (issue 5) against a real HTTP server: python3's
# http.server with a small handler (http_server.py), on 127.0.0.1 and a free
# port, stopped by pid.
. "$TOP_SRCDIR/tests/integration/lib.sh"

command -v python3 >/dev/null 2>&1 || { echo "skip: no python3"; exit 77; }
# the requests go to 127.0.0.1 directly, whatever the caller's proxy
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
unset no_proxy NO_PROXY

REC="$T/rec"
mkdir -p "$REC"
python3 "$TOP_SRCDIR/tests/integration/http_server.py" "$T/port" "$REC" \
    >"$T/server.log" 2>&1 &
SRV=$!
TLS=
trap 'kill "$SRV" $TLS 2>/dev/null; wait "$SRV" $TLS 2>/dev/null; rm -rf "$T"' EXIT
i=0
while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -s "$T/port" ] || { echo "FAIL - the test server did not start"; cat "$T/server.log"; exit 1; }
PORT=$(cat "$T/port")
BASE="http://127.0.0.1:$PORT"
HELLO_SHA=$(printf 'hello, dagexec\n' | sha256sum | cut -c1-64)

# runjob NAME MANIFEST: dagexec run --keep into $T/NAME.out; sets $rc, $J
# (the kept job directory) and $S (its state.yaml)
runjob() {
	name=$1; shift
	mkdir -p "$T/$name.out"
	"$DAGEXEC" run --keep -o "$T/$name.out" "$@" >"$T/$name.stdout" 2>"$T/$name.stderr"
	rc=$?
	J=$(find "$T/$name.out" -mindepth 1 -maxdepth 1 -type d | head -n 1)
	S="$J/state.yaml"
}
st() { yget "$S" "$1"; }
expect_state() {
	got=$(st "$2" 2>/dev/null)
	if [ "$got" = "$3" ]; then pass "$1"; else fail "$1: $2 is '$got', wanted '$3'"; fi
}
state_grep() {
	st "$2" >"$T/value" 2>&1
	grep_file "$1" "$3" "$T/value"
}

# --- download with a matching sha256; outputs reach a dependent ----------
cat >dl.yaml <<Y
name: dl
nodes:
  fetch:
    http:
      url: $BASE/file.txt
      save: data/hello.txt
      sha256: $HELLO_SHA
  use:
    needs: [fetch]
    run: 'echo "status=\$DAGEXEC_IN_FETCH_STATUS bytes=\$DAGEXEC_IN_FETCH_BYTES sha=\$DAGEXEC_IN_FETCH_SHA256"; cat data/hello.txt'
Y
runjob dl dl.yaml
check "a download with a matching sha256 succeeds" test "$rc" -eq 0
expect_state "fetch succeeded" nodes.fetch.status succeeded
check "the body is saved in the work dir" cmp -s "$J/work/data/hello.txt" /dev/stdin <<E
hello, dagexec
E
grep_file "the dependent sees status" "^status=200 bytes=15 sha=$HELLO_SHA\$" "$J/nodes/use/stdout.log"
grep_file "the dependent reads the file" "^hello, dagexec\$" "$J/nodes/use/stdout.log"
grep_file "stdout log has the status" "^status=200\$" "$J/nodes/fetch/stdout.log"
grep_file "stdout log has the final url" "^url=$BASE/file.txt\$" "$J/nodes/fetch/stdout.log"
grep_file "stdout log has timings" "^time_first_byte_ms=[0-9]" "$J/nodes/fetch/stdout.log"
grep_file "stdout log has the dns time" "^time_dns_ms=[0-9]" "$J/nodes/fetch/stdout.log"
check "no temp file is left" test -z "$(find "$J/work" -name '.*' -type f)"
check "the resolved request is removed after the attempt" test ! -e "$J/io/fetch.http.json"
check "which was written to io/" test -d "$J/io"

# --- a mismatching sha256 ------------------------------------------------
cat >sum.yaml <<Y
name: sum
nodes:
  fetch:
    http:
      url: $BASE/file.txt
      save: hello.txt
      sha256: 0000000000000000000000000000000000000000000000000000000000000000
Y
runjob sum sum.yaml
check "a sha256 mismatch fails the DAG" test "$rc" -eq 1
expect_state "reason checksum" nodes.fetch.reason checksum
state_grep "the error gives both sums" nodes.fetch.error "sha256 $HELLO_SHA, expected 0000"
check "nothing is left at save" test ! -e "$J/work/hello.txt"
check "no temp file is left" test -z "$(find "$J/work" -type f)"

# --- 404 -------------------------------------------------------------------
cat >nf.yaml <<Y
name: nf
nodes:
  fetch: {http: {url: $BASE/missing, save: m.txt}}
Y
runjob nf nf.yaml
check "a 404 fails" test "$rc" -eq 1
expect_state "reason http_status" nodes.fetch.reason http_status
expect_state "the error names method, url and status" nodes.fetch.error "GET $BASE/missing: 404 Not Found"
check "nothing saved on a 404" test ! -e "$J/work/m.txt"

# --- expect: a 404 that is expected -----------------------------------------
cat >ex.yaml <<Y
name: ex
nodes:
  fetch: {http: {url: $BASE/missing, expect: [404]}}
Y
runjob ex ex.yaml
check "a status listed in expect succeeds" test "$rc" -eq 0

# --- 503, then 200, with retries; Retry-After honoured ---------------------
cat >flaky.yaml <<Y
name: flaky
nodes:
  fetch:
    http: {url: $BASE/flaky/one}
    retries: 2
    retry_delay: 10ms
Y
runjob flaky flaky.yaml
check "503 then 200 succeeds with a retry" test "$rc" -eq 0
expect_state "two attempts" nodes.fetch.attempts 2
grep_file "the first attempt saw 503" "^status=503\$" "$J/nodes/fetch/stdout.log"
grep_file "the journal has the retry" "status=retrying reason=http_status" "$J/events.log"
# Retry-After: 1 (1000 ms) beat the 10 ms backoff: the node took at least
# as long as the wait the server asked for (a lower bound, not a timing)
d=$(st nodes.fetch.duration_ms)
check "Retry-After: 1 was honoured over a 10ms backoff ($d ms)" test "${d:-0}" -ge 1000

cat >flaky2.yaml <<Y
name: flaky2
nodes:
  fetch:
    http: {url: $BASE/slow-flaky/two}
    retries: 2
    retry_delay: 10ms
    max_retry_delay: 20ms
Y
runjob flaky2 flaky2.yaml
d=$(st nodes.fetch.duration_ms)
# the server asks for 30 s; max_retry_delay (20ms) caps the wait far below
check "max_retry_delay caps Retry-After ($d ms)" test "$rc" -eq 0 -a "${d:-99999}" -lt 15000
expect_state "after two attempts" nodes.fetch.attempts 2

# --- a server that never answers: the timeout ends the node and its child ---
cat >hang.yaml <<Y
name: hang
nodes:
  fetch:
    http: {url: $BASE/hang, save: late.txt}
    timeout: 1s
Y
runjob hang hang.yaml
check "a hanging server fails the DAG" test "$rc" -eq 1
expect_state "the node timed out" nodes.fetch.status timed_out
expect_state "reason timeout" nodes.fetch.reason timeout
check "the __http child is gone" test -z "$(pgrep -f "__http .*/hang-" 2>/dev/null)"
check "no temp file is left by the killed child" test -z "$(find "$J/work" -type f)"

# --- POST with body_file and headers ------------------------------------
cat >post.yaml <<Y
name: post
env: {TOKEN: tok-123}
nodes:
  mk: {run: 'printf "{\"n\": 42}" > payload.json; echo token=from-a-file >> "\$DAGEXEC_OUTPUT"'}
  send:
    needs: [mk]
    http:
      url: $BASE/echo
      method: POST
      body_file: payload.json
      headers: {Content-Type: application/json, Authorization: "Bearer \${TOKEN}", X-Node: "\${DAGEXEC_NODE}", X-Token: "\${DAGEXEC_IN_MK_TOKEN}"}
      expect: [201]
Y
runjob post post.yaml
check "POST with body_file succeeds" test "$rc" -eq 0
jq_echo() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$REC/echo.json" "$1"; }
check "the server saw POST" test "$(jq_echo 'd["method"]')" = POST
check "the server saw the body" test "$(jq_echo 'd["body"]')" = '{"n": 42}'
check "the server saw the content type" test "$(jq_echo 'd["headers"]["content-type"]')" = application/json
check "\${TOKEN} came from the manifest env" test "$(jq_echo 'd["headers"]["authorization"]')" = "Bearer tok-123"
check "\${DAGEXEC_NODE} is available" test "$(jq_echo 'd["headers"]["x-node"]')" = send
check "a need's output is available (the secret path)" test "$(jq_echo 'd["headers"]["x-token"]')" = from-a-file

# --- PUT with an inline body; $${ stays literal ------------------------------
cat >put.yaml <<Y
name: put
nodes:
  send:
    env: {WHO: node-env}
    http: {url: $BASE/echo, method: PUT, body: "hi \${WHO} \$\${NOT}", expect: [201]}
Y
runjob put put.yaml
check "PUT with body succeeds" test "$rc" -eq 0
check "the server saw PUT" test "$(jq_echo 'd["method"]')" = PUT
check "node env expanded, \$\${ escaped" test "$(jq_echo 'd["body"]')" = 'hi node-env ${NOT}'

# --- the caller's environment is never used in templates ------------------
DAGEXEC_TEST_SECRET=leaked
export DAGEXEC_TEST_SECRET
MY_SECRET=leaked
export MY_SECRET
cat >tmpl.yaml <<Y
name: tmpl
nodes:
  a: {http: {url: "$BASE/file.txt?x=\${MY_SECRET}"}}
  b: {http: {url: $BASE/file.txt, headers: {X-T: "\${HOME}"}}}
Y
runjob tmpl tmpl.yaml
check "an unknown variable fails the DAG" test "$rc" -eq 1
expect_state "as a spawn_error" nodes.a.reason spawn_error
state_grep "naming the variable" nodes.a.error "unknown variable 'MY_SECRET'"
state_grep "HOME is not taken from the caller" nodes.b.error "header 'X-T': unknown variable 'HOME'"
unset DAGEXEC_TEST_SECRET MY_SECRET

# --- connection refused -----------------------------------------------------
cat >refused.yaml <<Y
name: refused
nodes:
  fetch: {http: {url: "http://127.0.0.1:1/x"}}
Y
runjob refused refused.yaml
check "connection refused fails" test "$rc" -eq 1
expect_state "reason exit" nodes.fetch.reason exit
state_grep "the error is curl's" nodes.fetch.error "Failed to connect to 127.0.0.1 port 1"
state_grep "with the system's reason" nodes.fetch.error "Connection refused"

# --- redirects: followed, a loop bounded, not followed on request -----------
cat >redir.yaml <<Y
name: redir
nodes:
  ok: {http: {url: $BASE/redirect, save: r.txt}}
  loop: {http: {url: $BASE/loop}}
  nofollow: {http: {url: $BASE/redirect, follow_redirects: false, expect: [302]}}
Y
runjob redir redir.yaml
check "a redirect loop fails the DAG" test "$rc" -eq 1
expect_state "a redirect is followed" nodes.ok.status succeeded
grep_file "the redirect's target is saved" "^hello, dagexec\$" "$J/work/r.txt"
grep_file "the final url is logged" "^url=$BASE/file.txt\$" "$J/nodes/ok/stdout.log"
expect_state "the loop fails" nodes.loop.status failed
state_grep "after a bounded number of redirects" nodes.loop.error "Maximum (10) redirects"
expect_state "follow_redirects: false keeps the 302" nodes.nofollow.status succeeded

# --- a body larger than max_bytes --------------------------------------------
cat >big.yaml <<Y
name: big
nodes:
  fetch: {http: {url: $BASE/big, save: big.bin, max_bytes: 64K}}
  fits: {http: {url: $BASE/big, save: big2.bin, max_bytes: 2M}}
Y
runjob big big.yaml
check "a body over max_bytes fails" test "$rc" -eq 1
expect_state "that node failed" nodes.fetch.status failed
state_grep "the error says max_bytes" nodes.fetch.error "body larger than max_bytes (65536)"
check "nothing left at save" test ! -e "$J/work/big.bin"
expect_state "one under the cap succeeds" nodes.fits.status succeeded
check "its body is whole" test "$(stat -c %s "$J/work/big2.bin")" -eq 1048576

# --- notify on failure only ------------------------------------------------
rm -f "$REC/hook.log"
cat >nfail.yaml <<Y
name: nfail
notify: {url: $BASE/hook, on: [failure]}
nodes:
  bad: {run: "exit 3"}
Y
runjob nfail nfail.yaml
check "the failing DAG exits 1" test "$rc" -eq 1
check "one POST was received" test "$(wc -l <"$REC/hook.log" 2>/dev/null)" -eq 1
check "its body is JSON with status failed" python3 -c '
import json, sys
d = json.loads(open(sys.argv[1]).readline())
assert d["status"] == "failed", d
assert d["nodes"]["bad"]["exit_code"] == 3
assert d["nodes"]["bad"]["signal"] is None
assert d["dag"] == "nfail"' "$REC/hook.log"
grep_file "sent as application/json" "^application/json\$" "$REC/hook.headers"
expect_state "the state records it" notify.status sent

cat >nok.yaml <<Y
name: nok
notify: {url: $BASE/hook, on: [failure]}
nodes:
  good: {run: "true"}
Y
runjob nok nok.yaml
check "a succeeding DAG exits 0" test "$rc" -eq 0
check "on: [failure] sent nothing for a success" test "$(wc -l <"$REC/hook.log")" -eq 1
check "and the state has no notify" test -z "$(st notify 2>/dev/null | grep -v '^$')"

# --- notify under watch --drain ----------------------------------------------
SP="$T/spool"
cat >wn.yaml <<Y
name: wn
notify: {url: $BASE/hook}
nodes:
  good: {run: "true"}
Y
"$DAGEXEC" watch -s "$SP" --drain >"$T/watch0.log" 2>&1	# makes the layout
"$DAGEXEC" submit -s "$SP" wn.yaml >"$T/submit.out" 2>"$T/submit.err"
"$DAGEXEC" watch -s "$SP" --drain >"$T/watch.log" 2>&1
wrc=$?
check "watch --drain exits 0" test $wrc -eq 0
check "the success was notified" test "$(wc -l <"$REC/hook.log")" -eq 2
check "with status succeeded" python3 -c '
import json, sys
d = json.loads(open(sys.argv[1]).readlines()[1])
assert d["status"] == "succeeded", d' "$REC/hook.log"
id=$(cat "$T/submit.out")
mkdir -p "$T/wn.x"
tar xzf "$SP/done/$id.tar.gz" -C "$T/wn.x" 2>/dev/null
S="$T/wn.x/$id/state.yaml"
expect_state "the bundled state records the notification" notify.status sent

# --- a failed notification: exit status unchanged, recorded ------------------
cat >ndown.yaml <<Y
name: ndown
notify: {url: "http://127.0.0.1:1/hook"}
nodes:
  good: {run: "true"}
Y
runjob ndown ndown.yaml
check "a failed notification leaves exit 0" test "$rc" -eq 0
expect_state "the DAG still succeeded" status succeeded
expect_state "notify failed is in the state" notify.status failed
state_grep "with curl's error" notify.error "Failed to connect to 127.0.0.1 port 1.*Connection refused"
grep_file "and it is logged" "notify.*failed" "$T/ndown.stderr"

# --- libcurl is loaded by the __http child only, never linked ---------------
# The binary must not need libcurl (nor the ~25 libraries it brings): only
# an http node's or a notification's child dlopens it.
if command -v readelf >/dev/null 2>&1; then
	readelf -d "$DAGEXEC" >"$T/dynamic" 2>&1
	grep_file "readelf reads the binary's dynamic section" "(NEEDED)" "$T/dynamic"
	no_grep_file "the binary does not link libcurl" "NEEDED.*libcurl" "$T/dynamic"
else
	echo "skip: readelf (no binutils)"
fi
# the run's own process, after an http node has succeeded: a node's shell
# is its child, so /proc/$PPID/maps is dagexec run's
cat >maps.yaml <<Y
name: maps
nodes:
  fetch: {http: {url: $BASE/file.txt, sha256: $HELLO_SHA}}
  look:
    needs: [fetch]
    run: 'test "\$(readlink /proc/\$PPID/exe)" = "\$SELF" && cat /proc/\$PPID/maps > parent.maps'
    env: {SELF: "$(readlink -f "$DAGEXEC")"}
Y
runjob maps maps.yaml
check "an http node works with libcurl loaded at run time" test "$rc" -eq 0
expect_state "the http node succeeded" nodes.fetch.status succeeded
check "the node read dagexec run's own maps" test -s "$J/work/parent.maps"
grep_file "which has libc mapped" "/libc[.-]" "$J/work/parent.maps"
no_grep_file "but not libcurl" "libcurl" "$J/work/parent.maps"

# a libcurl.so.4 that cannot be loaded (an empty file first in the search
# path): the http node fails to start, naming the library and the reason;
# the run line beside it and dagexec itself are unaffected
mkdir -p "$T/fakelib"
: >"$T/fakelib/libcurl.so.4"
cat >nocurl.yaml <<Y
name: nocurl
notify: {url: "$BASE/hook"}
nodes:
  fetch:
    http: {url: $BASE/file.txt}
    retries: 2
    retry_delay: 10ms
  plain: {run: "true"}
Y
LD_LIBRARY_PATH="$T/fakelib" runjob nocurl nocurl.yaml
check "a libcurl that cannot be loaded fails the DAG" test "$rc" -eq 1
expect_state "as a spawn_error" nodes.fetch.reason spawn_error
expect_state "not retried (spawn_error is not, by default)" nodes.fetch.attempts 1
state_grep "naming the library and dlerror's reason" nodes.fetch.error \
    "^cannot load 'libcurl.so.4': $T/fakelib/libcurl.so.4: file too short"
grep_file "said on the child's stderr too" "dagexec: cannot load 'libcurl.so.4'" "$J/nodes/fetch/stderr.log"
expect_state "the run line still succeeded" nodes.plain.status succeeded
expect_state "the notification failed" notify.status failed
state_grep "with the same words" notify.error "^cannot load 'libcurl.so.4': "

# --- https: verified by default; insecure: true for a loopback test server --
if command -v openssl >/dev/null 2>&1 &&
    openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 2 \
    -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1; then
	python3 "$TOP_SRCDIR/tests/integration/http_server.py" "$T/tlsport" \
	    "$REC" "$T/cert.pem" "$T/key.pem" >"$T/tls.log" 2>&1 &
	TLS=$!
	i=0
	while [ ! -s "$T/tlsport" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	TBASE="https://127.0.0.1:$(cat "$T/tlsport")"
	cat >tls.yaml <<Y
name: tls
nodes:
  insecure: {http: {url: $TBASE/file.txt, save: t.txt, insecure: true, sha256: $HELLO_SHA}}
  verified: {http: {url: $TBASE/file.txt}}
Y
	runjob tls tls.yaml
	expect_state "https with insecure: true works" nodes.insecure.status succeeded
	grep_file "and saves the body" "^hello, dagexec\$" "$J/work/t.txt"
	expect_state "a self-signed certificate is refused by default" nodes.verified.status failed
	state_grep "with the TLS error" nodes.verified.error "certificate"
else
	echo "skip: https (no openssl to make a certificate)"
fi

finish
