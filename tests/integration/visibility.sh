#!/bin/sh
# Seeing a run (issue 7): timeline.svg, trace.json, summary.txt and
# SHA256SUMS in the bundle; verify, show, status --follow, graph --state.
. "$TOP_SRCDIR/tests/integration/lib.sh"

if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: python3 is needed to parse the SVG, the PNG and the trace"
	exit 77
fi

# runjob NAME [RUN OPTIONS] MANIFEST: runs it into $T/NAME.out; sets $rc,
# $bundle, $job, and unpacks the bundle into $X
runjob() {
	name=$1; shift
	mkdir -p "$T/$name.out" "$T/$name.x"
	"$DAGEXEC" run -o "$T/$name.out" "$@" >"$T/$name.stdout" 2>"$T/$name.stderr"
	rc=$?
	bundle=$(tail -n 1 "$T/$name.stdout")
	job=$(basename "$bundle" .tar.gz)
	X=
	if [ -f "$bundle" ]; then
		tar xzf "$bundle" -C "$T/$name.x"
		X="$T/$name.x/$job"
	fi
}

# --- the bundle of the example pipeline --------------------------------------
runjob example "$TOP_SRCDIR/examples/research-pipeline.yaml"
check "the example pipeline succeeds" test "$rc" -eq 0
for f in timeline.svg trace.json summary.txt report.html SHA256SUMS; do
	check "bundle holds $f" test -s "$X/$f"
done
tar tzf "$bundle" >"$T/members"
check "SHA256SUMS is the last member" test "$(tail -n 1 "$T/members")" = "$job/SHA256SUMS"
check "sha256sum(1) agrees with SHA256SUMS" sh -c "cd '$T/example.x' && sha256sum -c --quiet '$job/SHA256SUMS'"
n_files=$(tar tvzf "$bundle" | grep -c '^-')
n_sums=$(wc -l <"$X/SHA256SUMS")
check "SHA256SUMS lists every other file ($n_sums of $n_files)" test "$n_sums" -eq $((n_files - 1))

python3 - "$bundle" >"$T/tarcheck" 2>&1 <<'PY'
import sys, tarfile
t = tarfile.open(sys.argv[1])
names = t.getnames()
job = names[0].rstrip('/')
top = [n.split('/', 1)[1] for n in names if n.count('/') == 1 and not n.endswith('/')]
want = ['manifest.yaml', 'state.yaml', 'events.log', 'summary.txt', 'graph.dot',
        'timeline.svg', 'trace.json', 'report.html']
assert top[:8] == want and top[-1] == 'SHA256SUMS', top
for m in t.getmembers():
    assert m.uid == 0 and m.gid == 0 and m.uname == 'root', m.name
    assert m.mode == (0o755 if m.isdir() else 0o644), (m.name, oct(m.mode))
print('ok')
PY
grep_file "members in a fixed order, owners and modes normalised" "^ok$" "$T/tarcheck"

# the SVG: well-formed, one bar an attempt, as many as trace.json has events
python3 - "$X/timeline.svg" "$X/trace.json" >"$T/svgcheck" 2>&1 <<'PY'
import sys, json, xml.etree.ElementTree as ET
ns = '{http://www.w3.org/2000/svg}'
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == ns + 'svg' and root.get('version') == '1.1'
bars = [r for r in root.iter(ns + 'rect') if r.get('class', '').startswith('att ')]
for b in bars:
    assert b.find(ns + 'title') is not None, 'bar without a hover title'
ev = json.load(open(sys.argv[2]))['traceEvents']
xs = [e for e in ev if e['ph'] == 'X']
meta = [e for e in ev if e['ph'] == 'M']
assert all(e['pid'] == 1 and 'tid' in e and e['dur'] >= 0 for e in xs)
assert any(e['name'] == 'process_name' and e['args']['name'] == 'research-pipeline' for e in meta)
print('bars', len(bars), 'events', len(xs), 'ok',
      sum(1 for b in bars if 'ok' in b.get('class').split()))
print('size', root.get('width'), root.get('height'))
PY
grep_file "timeline.svg parses with one bar an attempt (6)" "^bars 6 events 6 ok 6$" "$T/svgcheck"
grep_file "the title line names the DAG and its status" "research-pipeline: succeeded in" "$X/timeline.svg"

# rendered by rsvg-convert: the PNG has the SVG's size and is not blank
if command -v rsvg-convert >/dev/null 2>&1; then
	rsvg-convert -o "$T/t.png" "$X/timeline.svg" 2>"$T/rsvg.err"
	check "rsvg-convert renders timeline.svg" test -s "$T/t.png"
	set -- $(sed -n 's/^size \([0-9]*\) \([0-9]*\)$/\1 \2/p' "$T/svgcheck")
	w=$1 h=$2
	printf '<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s"><rect width="%s" height="%s" fill="#ffffff"/></svg>\n' \
	    "$w" "$h" "$w" "$h" >"$T/blank.svg"
	rsvg-convert -o "$T/blank.png" "$T/blank.svg"
	python3 - "$T/t.png" "$T/blank.png" "$w" "$h" >"$T/pngcheck" 2>&1 <<'PY'
import sys, struct, zlib
def png(path):
    d = open(path, 'rb').read()
    assert d[:8] == b'\x89PNG\r\n\x1a\n'
    w, h = struct.unpack('>II', d[16:24])
    idat, i = b'', 8
    while i < len(d):
        n, = struct.unpack('>I', d[i:i + 4]); typ = d[i + 4:i + 8]
        if typ == b'IDAT': idat += d[i + 8:i + 8 + n]
        i += 12 + n
    return w, h, zlib.decompress(idat)
w, h, raw = png(sys.argv[1])
bw, bh, braw = png(sys.argv[2])
assert (w, h) == (int(sys.argv[3]), int(sys.argv[4])), (w, h)
assert (bw, bh) == (w, h)
# a drawing compresses far worse than a white page of the same size
assert len(raw) == len(braw) and raw != braw
assert len(zlib.compress(raw)) > 4 * len(zlib.compress(braw)), 'blank'
print('png ok', w, h)
PY
	grep_file "the PNG has the SVG's size and is not blank" "^png ok" "$T/pngcheck"
else
	echo "SKIP: rsvg-convert not installed (librsvg2-bin): PNG check skipped"
fi

# --- summary ----------------------------------------------------------------
cat >fail.yaml <<'Y'
name: fail
nodes:
  first: {run: "echo tokens=7 >> \"$DAGEXEC_METRICS\""}
  bad:
    retries: 1
    retry_delay: 100ms
    run: |
      echo out; printf 'err \033[31mred\n' >&2; exit 3
  after-bad: {run: "true", needs: [bad]}
Y
runjob fail fail.yaml
check "the failing DAG exits 1" test "$rc" -eq 1
head -n 2 "$X/summary.txt" | tail -n 1 >"$T/first"
grep_file "summary: failures first" "^bad  *failed  *2 " "$T/first"
grep_file "summary: a header with max RSS and metrics" "^NODE  *STATUS  *ATTEMPTS  *TIME  *CPU  *MAXRSS  *METRICS  *ERROR" "$X/summary.txt"
grep_file "summary: metrics of a node" "^first  *succeeded .* tokens=7$" "$X/summary.txt"
grep_file "summary: totals at the bottom" "^TOTAL  *failed  *3 " "$X/summary.txt"
grep_file "summary: the error" "exited with status 3" "$X/summary.txt"
python3 - "$X/timeline.svg" >"$T/svg2" 2>&1 <<'PY'
import sys, xml.etree.ElementTree as ET
ns = '{http://www.w3.org/2000/svg}'
root = ET.parse(sys.argv[1]).getroot()
c = [r.get('class') for r in root.iter(ns + 'rect') if r.get('class', '').startswith('att ')]
print(' '.join(sorted(c)))
PY
grep_file "a retried and a failed attempt are drawn apart" "^att failed att ok att retried$" "$T/svg2"
grep_file "the retry wait is drawn" '<line class="wait"' "$X/timeline.svg"

# --- graph --state ------------------------------------------------------------
"$DAGEXEC" graph --state "$X/state.yaml" fail.yaml >"$T/dot" 2>"$T/err"
check "graph --state exits 0" test $? -eq 0
grep_file "graph --state colours the failed node" '^	"bad" \[fillcolor="#f4a6a6", tooltip="failed"\];$' "$T/dot"
grep_file "graph --state colours the skipped node" '^	"after-bad" \[fillcolor="#f2f2f2", tooltip="skipped"\];$' "$T/dot"
"$DAGEXEC" graph fail.yaml >"$T/dot0"
no_grep_file "plain graph has no colours" "fillcolor=.#f4a6a6" "$T/dot0"
expect_status 66 "graph --state with a missing state file" "$DAGEXEC" graph --state "$T/none.yaml" fail.yaml
if command -v dot >/dev/null 2>&1; then
	check "dot(1) takes the coloured graph" sh -c "dot -Tsvg '$T/dot' >'$T/dot.svg'"
fi

# --- verify ------------------------------------------------------------------
good=$bundle
fjob=$job
expect_status 0 "verify passes on a fresh bundle" "$DAGEXEC" verify "$good"
grep_file "verify says OK" "^$good: OK\$" "$T/out"

# rebuild: python3 tarfile, one change at a time
mutate() {	# mutate OUT MODE
	python3 - "$good" "$1" "$2" "$fjob" <<'PY'
import sys, tarfile, io
src, out, mode, job = sys.argv[1:5]
t = tarfile.open(src)
o = tarfile.open(out, 'w:gz')
for m in t.getmembers():
    data = t.extractfile(m).read() if m.isfile() else None
    if mode == 'flip' and m.name == job + '/summary.txt':
        data = bytes([data[0] ^ 1]) + data[1:]
    if mode == 'drop' and m.name == job + '/nodes/bad/stdout.log':
        continue
    if mode == 'nosums' and m.name == job + '/SHA256SUMS':
        continue
    o.addfile(m, io.BytesIO(data) if data is not None else None)
if mode == 'extra':
    m = tarfile.TarInfo(job + '/extra.txt'); m.size = 3
    o.addfile(m, io.BytesIO(b'hi\n'))
o.close()
PY
}
mutate "$T/flip.tar.gz" flip
expect_status 1 "verify catches a flipped byte" "$DAGEXEC" verify "$T/flip.tar.gz"
grep_file "it names the bad member" "^$fjob/summary.txt: FAILED\$" "$T/out"
no_grep_file "and only that one" "state.yaml" "$T/out"
mutate "$T/drop.tar.gz" drop
expect_status 1 "verify catches a missing member" "$DAGEXEC" verify "$T/drop.tar.gz"
grep_file "it names the missing member" "^$fjob/nodes/bad/stdout.log: MISSING\$" "$T/out"
mutate "$T/extra.tar.gz" extra
expect_status 1 "verify catches a member not listed" "$DAGEXEC" verify "$T/extra.tar.gz"
grep_file "it names the extra member" "^$fjob/extra.txt: NOT LISTED\$" "$T/out"
mutate "$T/nosums.tar.gz" nosums
expect_status 65 "verify refuses a bundle without SHA256SUMS" "$DAGEXEC" verify "$T/nosums.tar.gz"
head -c 300 "$good" >"$T/cut.tar.gz"
expect_status 65 "verify refuses a truncated archive" "$DAGEXEC" verify "$T/cut.tar.gz"
echo "not an archive" >"$T/junk.tar.gz"
expect_status 65 "verify refuses a file that is no archive" "$DAGEXEC" verify "$T/junk.tar.gz"
expect_status 66 "verify of a missing file" "$DAGEXEC" verify "$T/none.tar.gz"
expect_status 64 "verify without an argument" "$DAGEXEC" verify
expect_status 0 "verify --help" "$DAGEXEC" verify --help

# --- same outputs, different runs: only the timing files differ ---------------
cat >det.yaml <<'Y'
name: det
nodes:
  a: {run: "echo hello > a.txt; echo log-a", outputs: [a.txt]}
  b: {run: "cat a.txt; echo warn >&2", needs: [a]}
Y
runjob det1 det.yaml
s1=$X/SHA256SUMS; j1=$job
runjob det2 det.yaml
s2=$X/SHA256SUMS; j2=$job
sed "s#  $j1/#  #" "$s1" | sort -k 2 >"$T/s1"
sed "s#  $j2/#  #" "$s2" | sort -k 2 >"$T/s2"
join -j 2 "$T/s1" "$T/s2" | awk '$2 != $3 { print $1 }' | sort >"$T/differ"
join -v 1 -v 2 -j 2 "$T/s1" "$T/s2" >"$T/unpaired"
check "two runs list the same members" test ! -s "$T/unpaired"
grep -v -x -e state.yaml -e events.log -e summary.txt -e timeline.svg \
    -e trace.json -e report.html "$T/differ" >"$T/differ2"
check "two runs with the same outputs differ only in timing files" test ! -s "$T/differ2"

# --- show --------------------------------------------------------------------
"$DAGEXEC" show "$good" | cat >"$T/show"
check "show prints the summary" cmp -s "$T/show" "$T/fail.x/$fjob/summary.txt"
"$DAGEXEC" show "$good" bad | cat >"$T/show"
check "show NODE: both logs, headed" sh -c "grep -q '^==> stdout <==' '$T/show' && grep -q '^==> stderr <==' '$T/show'"
grep_file "show NODE through a pipe keeps the bytes" "$(printf 'err \033\\[31mred')" "$T/show"
"$DAGEXEC" show "$good" first | cat >"$T/show1"
check "a node that wrote nothing prints nothing" test ! -s "$T/show1"
expect_status 1 "show of a node not in the bundle" "$DAGEXEC" show "$good" nope
grep_file "it says so" "no node 'nope'" "$T/err"
expect_status 66 "show of a missing bundle" "$DAGEXEC" show "$T/none.tar.gz"
expect_status 0 "show --help" "$DAGEXEC" show --help
if command -v script >/dev/null 2>&1; then
	script -qc "\"$DAGEXEC\" show \"$good\" bad" /dev/null </dev/null >"$T/pty" 2>&1
	grep_file "show in a terminal: the logs" "^==> stderr <==" "$T/pty"
	grep_file "show in a terminal escapes control bytes" 'err \\x1b\[31mred' "$T/pty"
	no_grep_file "no raw escape reaches the terminal" "$(printf '\033')" "$T/pty"
	script -qc "\"$DAGEXEC\" show \"$good\"" /dev/null </dev/null >"$T/pty" 2>&1
	grep_file "show in a terminal: the summary" "^TOTAL  *failed" "$T/pty"
else
	echo "SKIP: script(1) missing: pseudo-terminal checks skipped"
fi

# --- status --follow -----------------------------------------------------------
SP=$T/spool
cat >slow.yaml <<'Y'
name: slow
max_parallel: 2
nodes:
  a: {run: "sleep 0.6"}
  b: {run: "sleep 0.3; echo broken >&2; exit 2"}
  c: {run: "sleep 0.3", needs: [a]}
Y
"$DAGEXEC" watch -s "$SP" </dev/null >"$T/watch.log" 2>&1 &
wpid=$!
i=0
while [ ! -d "$SP/incoming" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
j=$("$DAGEXEC" submit -s "$SP" slow.yaml)
timeout 30 "$DAGEXEC" status -s "$SP" --follow "$j" >"$T/follow" 2>"$T/follow.err"
frc=$?
check "status --follow through a pipe ends with the failed job, exit 1 (exit $frc)" test "$frc" -eq 1
check "one line a change (several lines)" test "$(wc -l <"$T/follow")" -ge 3
tail -n 1 "$T/follow" >"$T/follow.last"
grep_file "the last line is the final state" "^$j failed 3/3 done, 0 running, 1 failed" "$T/follow.last"
grep_file "a running node is named" "running, [0-9]* failed: .*a" "$T/follow"
no_grep_file "no terminal escapes into a pipe" "$(printf '\033')" "$T/follow"
check "lines are not repeated" test "$(sort "$T/follow" | uniq -d | wc -l)" -eq 0
if command -v script >/dev/null 2>&1; then
	j=$("$DAGEXEC" submit -s "$SP" slow.yaml)
	timeout 30 script -qec "\"$DAGEXEC\" status -s \"$SP\" --follow $j" /dev/null </dev/null >"$T/ptyf" 2>&1
	frc=$?
	check "status --follow in a terminal ends with the failed job, exit 1 (exit $frc)" test "$frc" -eq 1
	grep_file "it draws a progress bar" '\[##############################\] 3/3 done' "$T/ptyf"
	grep_file "it redraws in place" "$(printf '\033')\[[0-9]*A" "$T/ptyf"
	grep_file "it lists the last failure" "failed  *b  *exited with status 2" "$T/ptyf"
fi
# a finished job: read from its bundle in done/, at once
timeout 10 "$DAGEXEC" status -s "$SP" --follow "$j" >"$T/follow2"
check "status --follow of a finished (failed) job returns at once, exit 1" test $? -eq 1
grep_file "with its final state" "^$j failed 3/3" "$T/follow2"
expect_status 66 "status --follow of an unknown job" timeout 10 "$DAGEXEC" status -s "$SP" --follow nosuch-job
kill "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
j=$(ls "$SP/done" | head -n 1)
expect_status 0 "verify a bundle made by watch" "$DAGEXEC" verify "$SP/done/$j"

finish
