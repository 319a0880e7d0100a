#!/bin/sh
# dagexec validate end to end: valid examples, GCC-style errors at the right
# line and column, every error reported, hostile input refused in bounded time.
. "$TOP_SRCDIR/tests/integration/lib.sh"

for ex in "$TOP_SRCDIR"/examples/*.yaml; do
	expect_status 0 "example $(basename "$ex") is valid" "$DAGEXEC" validate "$ex"
	check "validate prints nothing for $(basename "$ex")" test ! -s "$T/out" -a ! -s "$T/err"
done
expect_status 0 "several valid files at once" "$DAGEXEC" validate "$TOP_SRCDIR"/examples/*.yaml

cat >typo.yaml <<'Y'
name: typo
max_paralel: 3
nodes:
  a: {run: "true"}
Y
expect_status 65 "an unknown key" "$DAGEXEC" validate typo.yaml
grep_file "unknown key at 2:1 with a suggestion" "^typo.yaml:2:1: error: unknown key 'max_paralel' (did you mean 'max_parallel'?)" "$T/err"

cat >dup.yaml <<'Y'
name: dup
nodes:
  a:
    run: "true"
    retries: 1
    retries: 2
Y
expect_status 65 "a duplicate key" "$DAGEXEC" validate dup.yaml
grep_file "duplicate key at 6:5" "^dup.yaml:6:5: error: duplicate key 'retries'" "$T/err"

cat >many.yaml <<'Y'
name: "bad name!"
nodes:
  a:
    run: "true"
    argv: ["true"]
  b:
    needs: [zz]
    run: "true"
    timeout: 10x
  c:
    run: "true"
    retries: -1
Y
expect_status 65 "several errors" "$DAGEXEC" validate many.yaml
check "every error is reported (at least 4 lines)" test "$(grep -c ': error: ' "$T/err")" -ge 4
check "errors are sorted by line" sh -c "cut -d: -f2 '$T/err' | sort -n -c"
grep_file "the bad name at 1:7" '^many.yaml:1:7: error: ' "$T/err"
grep_file "the unknown need at 7:13" "^many.yaml:7:13: error: .*'zz'" "$T/err"
grep_file "the bad duration at 9:14" "^many.yaml:9:14: error: .*'10x'" "$T/err"
grep_file "the negative retries at 12:14" '^many.yaml:12:14: error: ' "$T/err"

printf 'name: x\nnodes:\n  a: {run: "true"}\n' | "$DAGEXEC" validate - >"$T/out" 2>"$T/err"
check "'-' reads standard input" test $? -eq 0

expect_status 66 "a valid and a missing file" "$DAGEXEC" validate "$TOP_SRCDIR/examples/research-pipeline.yaml" nope.yaml
: >empty.yaml
expect_status 65 "an empty file" "$DAGEXEC" validate empty.yaml
grep_file "the empty file says so" 'empty' "$T/err"

# 17 MiB: over the 16 MiB bound
head -c 17825792 /dev/zero | tr '\0' '#' >big.yaml
expect_status 65 "a 17 MiB manifest" timeout 20 "$DAGEXEC" validate big.yaml
grep_file "the size bound is named" 'larger than' "$T/err"
grep_file "the bound's option is named" '\-\-max-size' "$T/err"
# --max-size raises the bound (the file is then read: all comments, empty)
expect_status 65 "a 17 MiB manifest under --max-size 20M" timeout 20 "$DAGEXEC" validate --max-size 20M big.yaml
grep_file "it is read, and empty" 'empty' "$T/err"
if grep -q 'larger than' "$T/err"; then
	fail "--max-size 20M still refuses 17 MiB"
else
	pass "--max-size 20M takes 17 MiB"
fi
# and lowers it, for run too
printf 'name: small\nnodes:\n  a: {argv: [true]}\n' >small.yaml
expect_status 65 "validate --max-size 10 of a larger file" "$DAGEXEC" validate --max-size 10 small.yaml
grep_file "validate names the bound" 'larger than 10 bytes' "$T/err"
expect_status 65 "run --max-size 10 of a larger file" "$DAGEXEC" run -q -o "$T" --max-size 10 small.yaml
grep_file "run names the bound" 'larger than 10 bytes' "$T/err"
expect_status 64 "--max-size 2G" "$DAGEXEC" validate --max-size 2G small.yaml
expect_status 64 "--max-size nonsense" "$DAGEXEC" run --max-size lots small.yaml

# billion laughs: nine levels of nine aliases
{
	echo 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
	i=1
	while [ $i -le 9 ]; do
		p=$((i - 1))
		echo "a$i: &a$i [*a$p,*a$p,*a$p,*a$p,*a$p,*a$p,*a$p,*a$p,*a$p]"
		i=$((i + 1))
	done
	echo 'name: laughs'
	echo 'nodes: {x: {run: "true"}}'
} >laughs.yaml
expect_status 65 "an alias bomb is refused quickly" timeout 20 "$DAGEXEC" validate laughs.yaml

printf 'name: x\nnodes:\n  a: {run: "tr\0ue"}\n' >nul.yaml
expect_status 65 "a NUL byte" "$DAGEXEC" validate nul.yaml
grep_file "the NUL byte is located" '^nul.yaml:3:' "$T/err"

printf 'name: x\n---\nname: y\n' >two.yaml
expect_status 65 "two documents" "$DAGEXEC" validate two.yaml
grep_file "the second document is located" '^two.yaml:2:' "$T/err"
# A 100,000-node cycle: one message naming the first 10 and last 10 ids
# with the count between, and validation time linear in its size. Time is
# compared with a chain of the same size and bytes (node 0 needs nothing),
# best of three each, as a ratio: never as absolute seconds.
awk -v n=100000 'BEGIN {
	print "name: ring"; print "nodes:"
	for (i = 0; i < n; i++)
		printf "  n%d: {run: \"true\", needs: [n%d]}\n", i, (i + n - 1) % n
}' >ring.yaml
awk -v n=100000 'BEGIN {
	print "name: ring"; print "nodes:"
	for (i = 0; i < n; i++)
		if (i == 0) printf "  n0: {run: \"true\", needs: [%*s]}\n", length("n" (n - 1)), ""
		else printf "  n%d: {run: \"true\", needs: [n%d]}\n", i, i - 1
}' >chain.yaml
check "the chain is as large as the ring" test "$(wc -c <chain.yaml)" -eq "$(wc -c <ring.yaml)"
expect_status 65 "a 100,000-node cycle" "$DAGEXEC" validate ring.yaml
check "one message for the cycle" test "$(wc -l <"$T/err")" -eq 1
grep_file "the cycle is named by its ends and a count" \
    '^ring.yaml:3:3: error: dependency cycle: n0 -> n1 -> n2 -> n3 -> n4 -> n5 -> n6 -> n7 -> n8 -> n9 -> \.\.\. (99,980 more) \.\.\. -> n99990 -> n99991 -> n99992 -> n99993 -> n99994 -> n99995 -> n99996 -> n99997 -> n99998 -> n99999 -> n0$' "$T/err"
expect_status 0 "the chain of the same size is valid" "$DAGEXEC" validate chain.yaml

# best_ns FILE: the shortest of three wall times of validating FILE, in ns
best_ns() {
	best=
	for i in 1 2 3; do
		t0=$(date +%s%N)
		"$DAGEXEC" validate "$1" >/dev/null 2>&1
		t1=$(date +%s%N)
		t=$((t1 - t0))
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then
			best=$t
		fi
	done
	echo "$best"
}
ring_ns=$(best_ns ring.yaml)
chain_ns=$(best_ns chain.yaml)
ratio=$(awk -v a="$ring_ns" -v b="$chain_ns" 'BEGIN { printf "%.2f", a / b }')
check "the cycle validates within 3x the time of the chain (ratio $ratio)" \
    test $((ring_ns)) -le $((chain_ns * 3))
finish
