#!/bin/sh
# report.html in every bundle: the run's status, every node in the table,
# the failed nodes' last log lines, the timeline inlined, retry commands
# that work as copied; every string from the manifest and the logs
# escaped; the page within its size bounds; and in a real browser
# (headless Chromium, where installed): every node in the DOM it builds,
# the sorting script working, nothing on the page's console.
. "$TOP_SRCDIR/tests/integration/lib.sh"

if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: python3 is needed to parse the HTML"
	exit 77
fi

# runjob NAME [RUN OPTIONS] MANIFEST: `run -q` into $T/NAME.out; $rc, $bundle,
# $job, and the bundle unpacked: $X (lib.sh's unpack)
runjob() {
	name=$1; shift
	mkdir -p "$T/$name.out"
	"$DAGEXEC" run -q -o "$T/$name.out" "$@" >"$T/$name.stdout" 2>"$T/$name.stderr"
	rc=$?
	bundle=$(tail -n 1 "$T/$name.stdout")
	job=$(basename "$bundle" .tar.gz)
	unpack "$bundle" "$name"
}

# htmlcheck FILE: what a browser without scripts gets from the page, one
# fact a line: "row ID STATUS", "cells ID|STATUS|ATTEMPTS|...|ERROR" (every
# cell of the row), "fail ID", "log ID LINE" (each line of a
# failed node's log), "cmd ID LINE" (of what it runs), "status S" (the
# DAG's), "retry CMD", "show CMD", "svg N", "script N",
# "link HREF", "src SRC", "text TEXT" (every text run)
htmlcheck() {
	python3 - "$1" <<'PY'
import sys
from html.parser import HTMLParser

class P(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.row = None
        self.cell = 0
        self.pre = None
        self.buf = ''
        self.fail = None
        self.code = None
        self.out = []
        self.nsvg = self.nscript = 0
        self.status = False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'svg':
            self.nsvg += 1
        if tag == 'script':
            self.nscript += 1
        if 'src' in a:
            self.out.append('src ' + a['src'])
        if tag == 'a' and 'href' in a:
            self.out.append('link ' + a['href'])
        if a.get('id') == 'status':
            self.status = True
        if tag == 'section' and a.get('class') == 'fail':
            self.fail = a['id'][2:]
            self.out.append('fail ' + self.fail)
        if tag == 'tr':
            self.flush_row()
            self.row = []
        if tag == 'td' and self.row is not None:
            self.row.append(['', a.get('id')])
        if tag == 'pre':
            self.pre = a.get('class')
            self.buf = ''
        if tag == 'code':
            self.code = ''
    def flush_row(self):
        if self.row and self.row[0][1] is not None:
            self.out.append('row %s %s' % (self.row[0][0], self.row[1][0]))
            self.out.append('cells ' + '|'.join(c[0] for c in self.row))
        self.row = None
    def handle_endtag(self, tag):
        if tag in ('tbody', 'table'):
            self.flush_row()
        if tag == 'pre' and self.pre is not None:
            for line in self.buf.split('\n'):
                if self.pre == 'log':
                    self.out.append('log %s %s' % (self.fail, line))
                elif self.pre == 'retry' and line:
                    self.out.append('retry ' + line)
                elif self.pre == 'cmd':
                    self.out.append('cmd %s %s' % (self.fail, line))
            self.pre = None
        if tag == 'code' and self.code is not None:
            if self.code.startswith('dagexec show '):
                self.out.append('show ' + self.code)
            self.code = None
        if tag == 'section':
            self.fail = None
    def handle_data(self, d):
        if self.status:
            self.out.append('status ' + d)
            self.status = False
        if self.row is not None and self.row:
            self.row[-1][0] += d
        if self.pre is not None:
            self.buf += d
        if self.code is not None:
            self.code += d
        if d.strip():
            self.out.append('text ' + d.strip())

p = P()
p.feed(open(sys.argv[1], encoding='utf-8').read())
p.close()
p.flush_row()
for line in p.out:
    print(line)
print('svg %d' % p.nsvg)
print('script %d' % p.nscript)
PY
}

# --- a run with every kind of end ----------------------------------------------
# The strings that must stay text: node ids cannot hold them (ids are
# [A-Za-z0-9._-]), so a run line, a log line and an error (an output
# name) do.
cat >mixed.yaml <<'Y'
name: mixed
nodes:
  ok-1:
    run: 'echo tokens=7 >> "$DAGEXEC_METRICS"; echo fine'
  bad.node:
    needs: [ok-1]
    run: 'for i in $(seq 1 30); do echo "early line $i" >&2; done; echo "<script>alert(\"x\")</script> & <b>bold</b> &amp;" >&2; echo last-of-bad >&2; exit 3'
    retries: 1
    retry_delay: 100ms
  after_bad:
    needs: [bad.node]
    run: 'echo never'
  slow:
    run: 'echo sleeping >&2; sleep 30'
    timeout: 300ms
  only-stdout:
    run: 'echo "said on stdout"; exit 4'
  missing:
    run: 'true'
    outputs: ["<i>&x.txt"]
  noisy:
    run: 'head -c 300000 /dev/zero | tr "\0" "<"; echo; echo "noisy-last" >&2; exit 5'
Y
runjob mixed mixed.yaml
check "the mixed run fails (exit $rc)" test "$rc" -eq 1
R="$X/report.html"
check "the bundle holds report.html" test -s "$R"
tar tzf "$bundle" >"$T/members"
check "report.html comes after trace.json" sh -c "grep -A1 -x '$job/trace.json' '$T/members' | grep -qx '$job/report.html'"
grep_file "SHA256SUMS lists report.html" "  $job/report.html\$" "$X/SHA256SUMS"
htmlcheck "$R" >"$T/facts" 2>"$T/facts.err"
check "the page parses" test -s "$T/facts" -a ! -s "$T/facts.err"
grep_file "it gives the DAG's status" "^status failed$" "$T/facts"
grep_file "it names the job" "^text $job\$" "$T/facts"
for n in ok-1 bad.node after_bad slow only-stdout missing noisy; do
	grep_file "the table has a row for $n" "^row $n " "$T/facts"
done
check "the table has one row a node (7)" test "$(grep -c '^row ' "$T/facts")" -eq 7
grep_file "succeeded shows" "^row ok-1 succeeded$" "$T/facts"
grep_file "failed shows" "^row bad.node failed$" "$T/facts"
grep_file "skipped shows" "^row after_bad skipped$" "$T/facts"
grep_file "timed out shows" "^row slow timed_out$" "$T/facts"
grep_file "a node's metrics are in the table" "^text tokens=7$" "$T/facts"
grep_file "the reason is in the table" "^text upstream_failed$" "$T/facts"
for n in bad.node slow only-stdout missing noisy; do
	grep_file "failed node $n has a section" "^fail $n\$" "$T/facts"
done
no_grep_file "a skipped node has no failure section" "^fail after_bad$" "$T/facts"
no_grep_file "a succeeded node has no failure section" "^fail ok-1$" "$T/facts"

# escaping: the page holds one script (its own) and the strings as text
check "the page holds its own script only" test "$(grep -c '^script ' "$T/facts")" -eq 1 -a "$(grep '^script ' "$T/facts")" = "script 1"
grep_file "the log line is text, not markup" '^log bad.node <script>alert("x")</script> & <b>bold</b> &amp;$' "$T/facts"
grep_file "the run line is text, not markup" '^cmd bad.node .*echo "<script>alert(\\"x\\")</script> & <b>bold</b> &amp;"' "$T/facts"
grep_file "an error naming an output is text" "^text output '<i>&x.txt' is missing" "$T/facts"
no_grep_file "no raw <script>alert in the file" '<script>alert' "$R"
no_grep_file "no raw <b>bold in the file" '<b>bold' "$R"
no_grep_file "no raw <i>&x in the file" '<i>&x' "$R"

# the logs: the last lines, cut, with a link to the whole file
grep_file "bad's tail ends with its last line" "^log bad.node last-of-bad$" "$T/facts"
# (its second attempt's 32 lines end the log)
grep_file "bad's tail holds line 13" "^log bad.node early line 13$" "$T/facts"
no_grep_file "bad's tail leaves out line 12 (20 lines)" "^log bad.node early line 12$" "$T/facts"
check "bad's tail is 20 lines" test "$(grep -c '^log bad.node ' "$T/facts")" -eq 20
grep_file "the note names the whole log's bundle file" "^text $job/nodes/bad.node/stderr.log\$" "$T/facts"
grep_file "and links to it" "^link nodes/bad.node/stderr.log\$" "$T/facts"
check "the link leads to the log in the unpacked bundle" test -s "$X/nodes/bad.node/stderr.log"
grep_file "a timed-out node's log" "^log slow sleeping$" "$T/facts"
grep_file "stdout when stderr is empty" "^log only-stdout said on stdout$" "$T/facts"
grep_file "a node that wrote nothing says so" "^text It wrote nothing to stdout or stderr.$" "$T/facts"
grep_file "a big log: its last line" "^log noisy noisy-last$" "$T/facts"
check "a big log is cut: 300,000 bytes of stdout, not shown" test "$(wc -c <"$R")" -lt 100000

# the timeline, inlined; nothing loaded from anywhere
check "the timeline is inlined once" test "$(grep '^svg ' "$T/facts")" = "svg 1"
no_grep_file "without its XML declaration" '<?xml' "$R"
grep_file "a timeline bar's title is there" '<title>bad.node attempt 2/2' "$R"
no_grep_file "nothing is loaded (no src)" '^src ' "$T/facts"
no_grep_file "no link leaves the bundle" '^link [a-z]*:' "$T/facts"
grep_file "a Content-Security-Policy forbids loads" "Content-Security-Policy\" content=\"default-src 'none'" "$R"

# the commands, as copied from the page, work (from another directory: the
# bundle's path is absolute)
grep "^retry " "$T/facts" | sed 's/^retry //' >"$T/retry.cmds"
check "one retry command for a run" test "$(wc -l <"$T/retry.cmds")" -eq 1
grep_file "it is dagexec retry of the bundle" "^dagexec retry $bundle\$" "$T/retry.cmds"
mkdir -p "$T/elsewhere"
cmd=$(sed 's/^dagexec //' "$T/retry.cmds")
(cd "$T/elsewhere" && eval "\"\$DAGEXEC\" $cmd" >"$T/retry.out" 2>"$T/retry.err")
check "the retry command runs (a new job; bad.node fails again: exit 1)" test $? -eq 1
rb=$(tail -n 1 "$T/retry.out")
check "the retry's bundle is written" test -f "$T/elsewhere/$rb"
showcmd=$(grep "^show .* bad.node\$" "$T/facts" | sed 's/^show dagexec //')
(cd "$T/elsewhere" && eval "\"\$DAGEXEC\" $showcmd" >"$T/show.out" 2>&1)
grep_file "the show command prints the whole log" "early line 1\$" "$T/show.out"

# the retry's report: reused nodes
mkdir -p "$T/rx"
tar xzf "$T/elsewhere/$rb" -C "$T/rx"
htmlcheck "$T/rx/${rb%.tar.gz}/report.html" >"$T/facts2"
grep_file "a reused node shows as reused" "^row ok-1 reused$" "$T/facts2"
grep_file "with the job it came from" "^text reused from $job\$" "$T/facts2"

# --- cache hits: the saved metrics ---------------------------------------------
cat >cached.yaml <<'Y'
name: cached
nodes:
  fit:
    run: 'echo tokens=7 >> "$DAGEXEC_METRICS"'
    cache: true
  use: {run: "true", needs: [fit]}
Y
runjob cache1 --cache "$T/cache" cached.yaml
runjob cache2 --cache "$T/cache" cached.yaml
htmlcheck "$X/report.html" >"$T/facts7"
grep_file "a hit shows as cached, no attempt, no time" "^cells fit|cached|0||-|-|-|-|tokens=7|restored from the cache$" "$T/facts7"
grep_file "the head gives what the hits saved" "^text Saved by cache hits: tokens=7$" "$T/facts7"
grep_file "the node that ran has its attempt" "^cells use|succeeded|1|" "$T/facts7"

# --- a succeeded run ------------------------------------------------------------
cat >good.yaml <<'Y'
name: good
nodes:
  a: {run: "true"}
  b: {run: "true", needs: [a]}
Y
runjob good good.yaml
check "the good run succeeds" test "$rc" -eq 0
htmlcheck "$X/report.html" >"$T/facts3"
grep_file "its status" "^status succeeded$" "$T/facts3"
no_grep_file "no failed nodes section" "^fail " "$T/facts3"
grep_file "the retry section says what --from does" "text --from NODE" "$T/facts3"

# a bundle path that needs quoting: the command still works as copied
odd="$T/o d'q&<x>"
mkdir -p "$odd"
"$DAGEXEC" run -q -o "$odd" good.yaml >"$T/odd.out" 2>"$T/odd.err"
ob=$(tail -n 1 "$T/odd.out")
unpack "$ob" odd
htmlcheck "$X/report.html" >"$T/facts6"
cmd=$(grep "^retry " "$T/facts6" | sed 's/^retry dagexec //')
grep_file "an odd path is quoted for the shell" "^retry dagexec retry '$T/o d'\\\\''q&<x>/" "$T/facts6"
(cd "$T/elsewhere" && eval "\"\$DAGEXEC\" $cmd" >"$T/oddretry.out" 2>&1)
check "the quoted retry command runs (nothing left to run: exit 0)" test $? -eq 0

# --- many failures, large logs: the page keeps its size ---------------------------
python3 - >many.yaml <<'PY'
print('name: many')
print('nodes:')
for i in range(400):
    print('  f%03d:' % i)
    print('    run: \'head -c 8000 /dev/zero | tr "\\0" "<" >&2; exit 1\'')
for i in range(400):
    print('  s%03d: {run: "true"}' % i)
PY
runjob many -j 4 many.yaml
check "the many run fails (exit $rc)" test "$rc" -eq 1
size=$(wc -c <"$X/report.html")
check "the page stays under 4 MiB ($size bytes)" test "$size" -lt 4194304
htmlcheck "$X/report.html" >"$T/facts4"
check "every node has its row (800)" test "$(grep -c '^row ' "$T/facts4")" -eq 800
grep_file "the failed nodes beyond the budget are counted" "more failed nodes are not shown here" "$T/facts4"

# --- a job of the spool: the commands name the spool ----------------------------
SP="$T/spool"
"$DAGEXEC" watch -s "$SP" --drain >"$T/watch1.log" 2>&1
cp mixed.yaml "$SP/incoming/.m.tmp" && mv "$SP/incoming/.m.tmp" "$SP/incoming/mixed.yaml"
"$DAGEXEC" watch -s "$SP" --drain >>"$T/watch1.log" 2>&1
sb=$(ls "$SP"/done/*.tar.gz 2>/dev/null | head -n 1)
check "the spool job's bundle is in done/" test -n "$sb"
if [ -n "$sb" ]; then
	sj=$(basename "$sb" .tar.gz)
	mkdir -p "$T/sx"
	tar xzf "$sb" -C "$T/sx"
	htmlcheck "$T/sx/$sj/report.html" >"$T/facts5"
	grep_file "the spool bundle's report has submit --retry" "^retry dagexec submit -s $SP --retry $sj\$" "$T/facts5"
	grep_file "and retry of the bundle in done/" "^retry dagexec retry $SP/done/$sj.tar.gz\$" "$T/facts5"
	cmd=$(grep "^retry dagexec submit" "$T/facts5" | sed 's/^retry dagexec //')
	(cd "$T/elsewhere" && eval "\"\$DAGEXEC\" $cmd" >"$T/submit.out" 2>"$T/submit.err")
	check "the submit --retry command drops a retry request" test $? -eq 0
	"$DAGEXEC" watch -s "$SP" --drain >>"$T/watch1.log" 2>&1
	check "the daemon ran it: a second bundle in done/" test "$(ls "$SP"/done/*.tar.gz | wc -l)" -eq 2
fi

# --- in a real browser ----------------------------------------------------------
CHROMIUM=${CHROMIUM:-}
if [ -z "$CHROMIUM" ]; then
	for c in chromium chromium-browser; do
		command -v "$c" >/dev/null 2>&1 && { CHROMIUM=$c; break; }
	done
fi

# chromium_pids: Chromium processes of this test's profile
chromium_pids() {
	for p in /proc/[0-9]*; do
		{ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null |
		    grep -q -- "--user-data-dir=$T/chromium" && echo "${p#/proc/}"
	done
}

# browse FILE OUT: the DOM headless Chromium builds from FILE into OUT, its
# log (with the page's console messages) into OUT.log
browse() {
	# as root, Chromium runs only without its sandbox; its profile, cache
	# and home stay in $T; a container's small /dev/shm is not used
	HOME=$T/chromium-home timeout 90 "$CHROMIUM" --headless --no-sandbox \
	    --disable-gpu --disable-dev-shm-usage --user-data-dir="$T/chromium" \
	    --no-first-run \
	    --enable-logging=stderr --v=0 --dump-dom "file://$1" \
	    >"$2" 2>"$2.log"
}

# console FILE.log: the console messages of the page at FILE ("...:CONSOLE
# ...] "message", source: file://... (line)"); Chromium's own lines
# (D-Bus, GPU, sandbox) are not console lines
console() {
	grep ':CONSOLE' "$1" | grep -F "source: file://$2"
}

if [ -z "$CHROMIUM" ]; then
	echo "# SKIP browser checks: no chromium on PATH (apt-get install chromium)"
else
	mkdir -p "$T/chromium-home"
	# first, that a page's console error is seen at all
	cat >"$T/probe.html" <<'H'
<!DOCTYPE html><html><head><meta charset="utf-8"><title>probe</title></head>
<body><p id="p">probe</p><script>console.error("probe error"); nosuch();</script></body></html>
H
	browse "$T/probe.html" "$T/probe.dom"
	check "chromium dumps a DOM (probe)" grep -q 'id="p"' "$T/probe.dom"
	console "$T/probe.dom.log" "$T/probe.html" >"$T/probe.console"
	grep_file "a page's console.error is seen" '"probe error"' "$T/probe.console"
	grep_file "a page's uncaught error is seen" 'Uncaught ReferenceError' "$T/probe.console"

	R="$T/mixed.x/$(basename "$(tail -n 1 "$T/mixed.stdout")" .tar.gz)/report.html"
	browse "$R" "$T/dom.html"
	check "chromium loads the report (exit $?)" test -s "$T/dom.html"
	htmlcheck "$T/dom.html" >"$T/dfacts"
	for n in ok-1 bad.node after_bad slow only-stdout missing noisy; do
		grep_file "the browser's DOM has the row of $n" "^row $n " "$T/dfacts"
	done
	grep_file "the browser's DOM has the log line as text" '^log bad.node <script>alert("x")</script> & <b>bold</b> &amp;$' "$T/dfacts"
	check "the browser's DOM holds one script" test "$(grep '^script ' "$T/dfacts")" = "script 1"
	grep_file "the sorting script ran" '<table id="nodes" class="sortable">' "$T/dom.html"
	console "$T/dom.html.log" "$R" >"$T/console"
	check "the page logs nothing to the console" test ! -s "$T/console"
	sed 's/^/  console: /' "$T/console" | head -10

	# a click on the Time header sorts the rows by time
	sed 's#</body>#<script>document.querySelectorAll("\#nodes th")[4].click();</script></body>#' \
	    "$R" >"$T/sorted.html"
	browse "$T/sorted.html" "$T/sorted.dom"
	python3 - "$T/sorted.dom" >"$T/sorted.out" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
body = t[t.index('<tbody>'):t.index('</tbody>')]
rows = re.findall(r'<tr>(.*?)</tr>', body, re.S)
times = [int(re.findall(r'data-v="(-?\d+)"', r)[1]) for r in rows]
print('rows %d sorted %s' % (len(rows), times == sorted(times)))
print('aria ' + ('ascending' if 'aria-sort="ascending">Time' in t else 'none'))
PY
	grep_file "a click on Time sorts the rows by time" "^rows 7 sorted True$" "$T/sorted.out"
	grep_file "and marks the column" "^aria ascending$" "$T/sorted.out"
	console "$T/sorted.dom.log" "$T/sorted.html" >"$T/console2"
	check "sorting logs nothing to the console" test ! -s "$T/console2"

	# the 800-node page
	R4="$T/many.x/$(basename "$(tail -n 1 "$T/many.stdout")" .tar.gz)/report.html"
	browse "$R4" "$T/many.dom"
	htmlcheck "$T/many.dom" >"$T/mfacts"
	check "the browser's DOM of the 800-node page has 800 rows" test "$(grep -c '^row ' "$T/mfacts")" -eq 800
	console "$T/many.dom.log" "$R4" >"$T/console3"
	check "the 800-node page logs nothing to the console" test ! -s "$T/console3"

	left=$(chromium_pids)
	check "no Chromium process is left" test -z "$left"
	[ -z "$left" ] || kill -KILL $left 2>/dev/null
fi

echo "# $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
