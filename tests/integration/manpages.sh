#!/bin/sh
# The man pages describe the program as built: every key and value the
# manifest parser accepts (listed from its own tables by
# tests/manifest_names) is documented in dagexec.yaml(5), where it belongs;
# every manifest example of both pages and of the README is valid; the
# synopsis of dagexec(1) holds every command and option that `--help`
# names, and no option the program lacks; no sentence says a working
# feature is not carried out.
. "$TOP_SRCDIR/tests/integration/lib.sh"

MAN5=$TOP_SRCDIR/man/dagexec.yaml.5
MAN1=$TOP_SRCDIR/man/dagexec.1
README=$TOP_SRCDIR/README.md
NAMES=$TOP_BUILDDIR/tests/manifest_names

# roff text as it reads: the escapes the pages use, and font changes
UNESC='
function unesc(s) {
	gsub(/\\f[BIRP]/, "", s); gsub(/\\f\(CW/, "", s)
	gsub(/\\-/, "-", s); gsub(/\\&/, "", s); gsub(/\\\(aq/, "\047", s)
	gsub(/\\\(dq/, "\"", s); gsub(/\\\(ha/, "^", s); gsub(/\\\(ti/, "~", s)
	gsub(/\\\(rs/, "\\", s); gsub(/\\e/, "\\", s); gsub(/\\c$/, "", s)
	gsub(/\\ /, " ", s)
	return s
}'

# ---- keys and values ------------------------------------------------------

"$NAMES" >names.txt
check "the parser lists its names" test -s names.txt
# more than a handful in each big table, so that an empty list cannot pass
check "the parser's node keys are listed" \
    test "$(grep -c '^key node	' names.txt)" -ge 20
check "the parser's top-level keys are listed" \
    test "$(grep -c '^key top	' names.txt)" -ge 10

# "SECTION<TAB>TERM" for the term of every .TP of dagexec.yaml(5), and
# "bold<TAB>TEXT" for every bold text
awk "$UNESC"'
/^\.SH / { sec = substr($0, 5); gsub(/"/, "", sec); tp = 0; next }
/^\.TP/ { tp = 1; next }
tp && /^\.(B|BR|BI) / { w = $2; gsub(/"/, "", w); print sec "\t" unesc(w) }
{ tp = 0 }
/^\.B / { t = substr($0, 4); gsub(/"/, "", t); print "bold\t" unesc(t) }
/^\.BR / { for (i = 2; i <= NF; i += 2) print "bold\t" unesc($i) }
/^\.RB / { for (i = 3; i <= NF; i += 2) print "bold\t" unesc($i) }
{
	s = $0
	while (match(s, /\\fB[^\\]*\\f[PR]/)) {
		print "bold\t" unesc(substr(s, RSTART, RLENGTH))
		s = substr(s, RSTART + RLENGTH)
	}
}' "$MAN5" >terms.txt

# the section of dagexec.yaml(5) where a table's keys are items
section_of() {
	case $1 in
	top) echo "TOP-LEVEL KEYS" ;;
	node|cache) echo "NODE KEYS" ;;
	http) echo "HTTP" ;;
	slurm) echo "SLURM" ;;
	limits) echo "LIMITS" ;;
	notify) echo "NOTIFY" ;;
	sandbox) echo "SANDBOX" ;;
	*) echo "" ;;	# a table this script does not know: anywhere
	esac
}

nkeys=0
missing=
while IFS='	' read -r what name; do
	case $what in
	"key "*)
		nkeys=$((nkeys + 1))
		sec=$(section_of "${what#key }")
		if [ -n "$sec" ]; then
			grep -qxF "$sec	$name" terms.txt && continue
		else
			grep -q "	$name\$" terms.txt && continue
		fi
		missing="$missing ${what#key }.$name${sec:+ (in $sec)}"
		;;
	"value retry_on")
		grep -qxF "FAILURE CLASSES	$name" terms.txt && continue
		missing="$missing failure class $name (in FAILURE CLASSES)"
		;;
	"value "*)
		grep '^bold	' terms.txt | cut -f 2 | tr -c 'A-Za-z0-9_.-' '\n' |
		    grep -qxF -- "$name" && continue
		missing="$missing ${what#value }: $name"
		;;
	esac
done <names.txt
if [ -z "$missing" ]; then
	pass "dagexec.yaml(5) documents each of the $nkeys keys and every value"
else
	fail "dagexec.yaml(5) lacks:$missing"
fi

# ---- manifest examples ----------------------------------------------------

# A block that holds a top-level `nodes:` (not a state.yaml, which has
# `job:`) into PRE-N.yaml, N counting every block; a fragment without
# `name:` gets one.
EMIT='
function emit(txt) {
	n++
	if (txt !~ /(^|\n)nodes:/ || txt ~ /(^|\n)job:/)
		return
	f = pre "-" n ".yaml"
	if (txt !~ /(^|\n)name:/)
		printf "name: example\n" > f
	printf "%s", txt > f
	close(f)
}'
# Every .EX block of a man page but the synopsis's template.
extract_man() {
	awk -v pre="$2" "$UNESC$EMIT"'
	/^\.SH / { syn = ($0 ~ /^\.SH SYNOPSIS/) }
	/^\.EX/ && !syn { inb = 1; txt = ""; next }
	/^\.EE/ && inb { inb = 0; emit(txt); next }
	inb && /^\.\\"/ { next }
	inb { txt = txt unesc($0) "\n" }' "$1"
}
# Every ```yaml block of a markdown file.
extract_md() {
	awk -v pre="$2" "$EMIT"'
	/^```yaml/ { inb = 1; txt = ""; next }
	/^```/ && inb { inb = 0; emit(txt); next }
	inb { txt = txt $0 "\n" }' "$1"
}

mkdir ex && cd ex || exit 99
extract_man "$MAN5" yaml5
extract_man "$MAN1" man1
extract_md "$README" readme
cd "$T" || exit 99
n5=$(ls ex | grep -c '^yaml5-')
nr=$(ls ex | grep -c '^readme-')
# the pages hold at least these many today: fewer means the extraction
# broke, not that the examples are gone
check "dagexec.yaml(5) has manifest examples ($n5)" test "$n5" -ge 4
check "the README has manifest examples ($nr)" test "$nr" -ge 3
for f in ex/*.yaml; do
	if "$DAGEXEC" validate "$f" >"$T/out" 2>"$T/err"; then
		pass "example $(basename "$f") is valid"
	else
		fail "example $(basename "$f") is invalid:"
		sed 's/^/  | /' "$f"
		sed 's/^/  stderr: /' "$T/err"
	fi
done

# ---- the synopsis of dagexec(1) against --help -----------------------------

# The synopsis, one entry a line ("dagexec run [-j N] ..."), from the
# .br-separated entries between .SH SYNOPSIS and the next .SH
awk "$UNESC"'
/^\.SH / { on = ($0 ~ /^\.SH SYNOPSIS/); next }
!on { next }
/^\.br/ { print line; line = ""; next }
{
	t = $0
	sub(/^\.[A-Z]+ */, "", t)
	gsub(/"/, "", t)
	line = line " " unesc(t)
}
END { if (line != "") print line }' "$MAN1" | sed 's/^ *//' >synopsis.txt
check "the synopsis has entries" test "$(grep -c '^dagexec ' synopsis.txt)" -ge 10

"$DAGEXEC" --help >help.txt
cmds=$(awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }
    on && /^$/ { on = 0 }' help.txt)
check "--help lists commands" test -n "$cmds"
for c in $cmds; do
	grep "^dagexec $c " synopsis.txt >syn.$c
	check "the synopsis has 'dagexec $c'" test -s syn.$c
	grep -q "^\.SS dagexec $c\( \|$\)" "$MAN1"
	check "dagexec(1) has a subsection 'dagexec $c'" test $? -eq 0
	"$DAGEXEC" "$c" --help >help.$c 2>&1
	# the options: "  -x, --long ARG  ...", "      --long  ...", and
	# those the usage lines name
	{
		grep -E '^ +-[A-Za-z0-9], --[a-z]' help.$c |
		    sed -E 's/^ +(-[A-Za-z0-9]), (--[a-z0-9-]+).*/\1 \2/'
		grep -E '^ +--[a-z]' help.$c |
		    sed -E 's/^ +(--[a-z0-9-]+).*/- \1/'
		awk '/^usage:/ { on = 1 } on && /^$/ { exit } on' help.$c |
		    grep -oE '\[--?[a-z][a-z0-9-]*' | sed 's/^\[/- /'
	} | sort -u >opts.$c
	lacking=
	while read -r short long; do
		if grep -qE -- "(^|[ [|])$long([] |,=]|\$)" syn.$c; then
			continue
		fi
		if [ "$short" != "-" ] &&
		    grep -qE -- "(^|[ [|])$short([] |]|\$)" syn.$c; then
			continue
		fi
		lacking="$lacking $long"
	done <opts.$c
	check "the synopsis of '$c' has its options${lacking:+ (lacks$lacking)}" \
	    test -z "$lacking"
	# and nothing the program does not know
	stale=
	for o in $(grep -oE -- '--[a-z][a-z0-9-]*' syn.$c | sort -u); do
		grep -qE -- "(^|[^a-z-])$o([^a-z0-9-]|\$)" help.$c || stale="$stale $o"
	done
	check "the synopsis of '$c' names no unknown option${stale:+ ($stale)}" \
	    test -z "$stale"
done

# The README's command lines (in code blocks) name no option their
# command lacks.
awk '/^```/ { inb = !inb; next } inb && /^dagexec [a-z]/' "$README" |
while read -r _ c rest; do
	[ -f help.$c ] || { echo "unknown command $c"; continue; }
	for o in $(printf '%s\n' "$rest" | grep -oE -- '--[a-z][a-z0-9-]*' |
	    sort -u); do
		grep -qE -- "(^|[^a-z-])$o([^a-z0-9-]|\$)" help.$c ||
		    echo "dagexec $c $o"
	done
done >readme-stale.txt
check "the README's command lines name no unknown option or command$(
    tr '\n' ',' <readme-stale.txt | sed 's/,$//; s/^./ (&/; s/.$/&)/')" \
    test ! -s readme-stale.txt

# ---- sentences that no longer hold -----------------------------------------

for page in "$MAN1" "$MAN5" "$README"; do
	for phrase in "not carried out" "validated but not"; do
		if grep -qi -- "$phrase" "$page"; then
			fail "$(basename "$page") says '$phrase':"
			grep -ni -- "$phrase" "$page" | sed 's/^/  | /'
		else
			pass "$(basename "$page") does not say '$phrase'"
		fi
	done
done

finish
