#!/bin/sh
# The command line: --help, --version, usage errors and their exit statuses.
. "$TOP_SRCDIR/tests/integration/lib.sh"

expect_status 0 "--version" "$DAGEXEC" --version
grep_file "--version prints the version" '^dagexec [0-9]' "$T/out"
expect_status 0 "--help" "$DAGEXEC" --help
cp "$T/out" "$T/help"
for c in run validate graph watch submit status cancel; do
	grep_file "--help lists $c" "^  $c " "$T/help"
	expect_status 0 "$c --help" "$DAGEXEC" $c --help
	grep_file "$c --help shows its usage" "^usage: dagexec $c" "$T/out"
	expect_status 64 "$c with an unknown option" "$DAGEXEC" $c --no-such-option
done
expect_status 64 "no command" "$DAGEXEC"
expect_status 64 "unknown command" "$DAGEXEC" frobnicate
grep_file "unknown command is named" "unknown command 'frobnicate'" "$T/err"
expect_status 64 "validate without a file" "$DAGEXEC" validate
expect_status 64 "graph with two files" "$DAGEXEC" graph a.yaml b.yaml
expect_status 64 "graph with a bad format" "$DAGEXEC" graph --format png x.yaml
expect_status 64 "run -j 0" "$DAGEXEC" run -j 0 x.yaml
expect_status 64 "run -j abc" "$DAGEXEC" run -j abc x.yaml
expect_status 64 "run with a bad bundle format" "$DAGEXEC" run --bundle-format rar x.yaml
expect_status 66 "validate a missing file" "$DAGEXEC" validate missing.yaml
grep_file "the missing file is named" "cannot open 'missing.yaml': No such file or directory" "$T/err"
expect_status 66 "graph a missing file" "$DAGEXEC" graph missing.yaml
expect_status 66 "run a missing file" "$DAGEXEC" run missing.yaml
check "a failed run leaves nothing behind" test -z "$(ls "$T" | grep -v -e '^out$' -e '^err$' -e '^help$')"
finish
