#!/bin/sh
# dagexec doctor on this host: each line says what the host really has,
# found here again another way (uname and /proc/sys/kernel/osrelease; the
# Landlock ABI from the system call itself, through python3's ctypes;
# cgroup v2 from /proc/self/mounts, /proc/self/cgroup and its
# cgroup.controllers; the capabilities from /proc/self/status; Slurm's
# commands from PATH, with fake ones and with none; libcurl from
# ldconfig); with a manifest, exit 1 and a `missing` line for what it asks
# that is not here, exit 0 for what is; the usual errors and statuses for
# a manifest that does not parse or cannot be read, and usage errors.
. "$TOP_SRCDIR/tests/integration/lib.sh"

LINE_WORDS="kernel landlock cgroup controllers kill pidfd users slurm libcurl"

# line WORD [FILE]: doctor's line for WORD, without the word
line() {
	sed -n "s/^$1  *//p" "${2:-$T/out}"
}

# has WORD TEXT [FILE]: the line of WORD holds TEXT (fixed string)
has() {
	if line "$1" "${3:-}" | grep -qF -- "$2"; then
		pass "$1: '$2'"
	else
		fail "$1: no '$2' in '$(line "$1" "${3:-}")'"
	fi
}

expect_status 0 "doctor without a manifest" "$DAGEXEC" doctor
cp "$T/out" host.txt
check "nothing on stderr" test ! -s "$T/err"
check "nine lines, one a word, in order" test \
    "$(cut -d ' ' -f 1 host.txt | tr '\n' ' ')" = "$LINE_WORDS "

# ---- kernel -----------------------------------------------------------------
has kernel "$(uname -s) $(cat /proc/sys/kernel/osrelease) $(uname -m)" host.txt

# ---- Landlock ---------------------------------------------------------------
# landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION): the ABI,
# or -errno (number 444 on every architecture)
ABI=
if command -v python3 >/dev/null 2>&1; then
	ABI=$(python3 -c '
import ctypes
l = ctypes.CDLL(None, use_errno=True)
l.syscall.restype = ctypes.c_long
r = l.syscall(ctypes.c_long(444), None, ctypes.c_size_t(0), ctypes.c_uint(1))
print(r if r >= 0 else -ctypes.get_errno())' 2>/dev/null)
fi
case $ABI in
'') echo "skip - landlock: no python3 with ctypes to ask the kernel" ;;
-95) has landlock "none (built in, not enabled at boot (lsm=))" host.txt ;;
-*) has landlock "none (not in this kernel)" host.txt ;;
[1-3]) has landlock "ABI $ABI (no TCP rules before ABI 4)" host.txt ;;
*) has landlock "ABI $ABI: sandbox: enforced" host.txt ;;
esac
# and the LSM list, where securityfs is mounted
if [ -r /sys/kernel/security/lsm ]; then
	if grep -q landlock /sys/kernel/security/lsm; then
		no_grep_file "landlock in the LSM list: an ABI" \
		    '^landlock     none' host.txt
	else
		grep_file "landlock not in the LSM list: none" \
		    '^landlock     none' host.txt
	fi
else
	echo "skip - landlock: /sys/kernel/security/lsm is not readable" \
	    "(securityfs not mounted)"
fi

# ---- cgroup v2 ----------------------------------------------------------------
MNT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
SELF=$(sed -n 's/^0:://p' /proc/self/cgroup)
want_kill=no
usable=no
avail=none
enabled=none
# a mask file as doctor prints it: those of cpu memory pids, or none
mask() {
	m=
	for c in cpu memory pids; do
		tr ' ' '\n' <"$1" 2>/dev/null | grep -qx "$c" && m="$m $c"
	done
	echo "${m# }" | sed 's/^$/none/'
}
if [ -z "$MNT" ]; then
	has cgroup "v2 not mounted" host.txt
	want_cont=rlimits
else
	DIR=$MNT${SELF%/}
	[ "$SELF" = / ] && DIR=$MNT
	avail=$(mask "$DIR/cgroup.controllers")
	enabled=$(mask "$DIR/cgroup.subtree_control")
	if [ -e "$DIR/cgroup.kill" ]; then
		want_kill=yes
	elif [ -w "$DIR" ] && mkdir "$DIR/doctor-test.$$" 2>/dev/null; then
		# the root cgroup has none of its own: a child says
		[ -e "$DIR/doctor-test.$$/cgroup.kill" ] && want_kill=yes
		rmdir "$DIR/doctor-test.$$"
	fi
	[ -w "$DIR" ] && [ -w "$DIR/cgroup.procs" ] && [ $want_kill = yes ] &&
	    usable=yes
	has cgroup "v2 at $MNT, ours $SELF" host.txt
	if [ $usable = no ]; then
		want_cont=rlimits
	elif [ "$avail" = "cpu memory pids" ]; then
		want_cont=cgroup
	else
		want_cont=cgroup-nolimits
	fi
fi
has cgroup "containment: $want_cont" host.txt
if [ $usable = yes ]; then
	has cgroup "a subtree we can write" host.txt
fi
has controllers "available: $avail; enabled below ours: $enabled:" host.txt
if [ "$want_cont" = cgroup ]; then
	has controllers "enforced by the cgroup" host.txt
else
	has controllers "limits.memory is RLIMIT_AS" host.txt
fi
has kill "cgroup.kill $want_kill," host.txt
if [ -n "$MNT" ]; then
	check "the probe left no cgroup behind" \
	    test -z "$(ls -d "$DIR"/.dagexec-probe-* 2>/dev/null)"
fi

# ---- clone3 and pidfd: by the kernel's version, where no seccomp filter
# can refuse them ------------------------------------------------------------
kver=$(uname -r | sed 's/^\([0-9]*\)\.\([0-9]*\).*/\1 \2/')
# newer MAJOR MINOR: the kernel is that version or later
newer() {
	set -- $kver "$1" "$2"
	[ "$1" -gt "$3" ] || { [ "$1" -eq "$3" ] && [ "$2" -ge "$4" ]; }
}
if [ "$(sed -n 's/^Seccomp:[[:space:]]*//p' /proc/self/status)" = 0 ]; then
	if newer 5 3; then has pidfd "yes" host.txt; else has pidfd "no" host.txt; fi
	if newer 5 7; then
		has kill "clone3 into a cgroup yes" host.txt
	else
		has kill "clone3 into a cgroup no" host.txt
	fi
else
	echo "skip - pidfd, clone3: a seccomp filter may refuse them here"
fi

# ---- users ---------------------------------------------------------------------
capeff=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
if [ $(( (0x$capeff >> 6) & 3 )) -eq 3 ]; then
	has users "watch can run each file as its owner" host.txt
else
	has users "watch runs only this user's files" host.txt
fi
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 &&
    id nobody >/dev/null 2>&1; then
	chmod 755 "$T"
	UD=$(users_dagexec)
	NOBODY="setpriv --reuid=nobody --regid=$(id -g nobody) --clear-groups"
	expect_status 0 "doctor as nobody" $NOBODY "$UD" doctor
	has users "watch runs only this user's files (no CAP_SETUID/CAP_SETGID)"
	if [ -n "$MNT" ] && ! $NOBODY test -w "$DIR" && [ $usable = yes ]; then
		has cgroup "containment: rlimits"
	fi
else
	echo "skip - users: needs root, setpriv and the user nobody"
fi

# ---- slurm ---------------------------------------------------------------------
paths=
for c in sbatch squeue scancel; do
	p=$(command -v "$c" 2>/dev/null) && paths="$paths${paths:+, }$p"
done
case $paths in
*,*,*) has slurm "$paths: executor: slurm submits here" host.txt ;;
*) has slurm "not found on PATH" host.txt ;;
esac
# fake commands first on PATH (a directory, a file that is not executable
# and a file named like them come before on PATH: not taken)
mkdir bin bin0 bin0/sbatch
for c in sbatch squeue scancel; do
	printf '#!/bin/sh\nexit 0\n' >bin/$c
	chmod 755 bin/$c
done
printf '#!/bin/sh\n' >bin0/squeue
cat >slurm.yaml <<'EOF'
name: slurm
nodes:
  first: {run: "true"}
  onslurm:
    run: "true"
    executor: slurm
EOF
expect_status 0 "a slurm node, Slurm's commands on PATH" \
    env PATH="$T/bin0:$T/bin:/usr/bin:/bin" "$DAGEXEC" doctor slurm.yaml
has slurm "$T/bin/sbatch, $T/bin/squeue, $T/bin/scancel: executor: slurm"
grep_file "everything it asks for" \
    '^manifest     slurm.yaml: everything it asks for is here$' "$T/out"
expect_status 1 "a slurm node, no Slurm on PATH" \
    env PATH="$T/bin0:/nonexistent" "$DAGEXEC" doctor slurm.yaml
has slurm "sbatch squeue scancel not found on PATH: executor: slurm nodes fail"
grep_file "the missing line names the node, its place and the commands" \
    "^missing      slurm.yaml:4:3: node 'onslurm': executor: slurm needs sbatch, squeue and scancel on PATH$" \
    "$T/out"
check "one missing line" test "$(grep -c '^missing' "$T/out")" -eq 1
no_grep_file "no 'everything' line then" '^manifest' "$T/out"

# ---- libcurl -------------------------------------------------------------------
if command -v ldconfig >/dev/null 2>&1 || [ -x /sbin/ldconfig ]; then
	if PATH=$PATH:/sbin ldconfig -p | grep -q 'libcurl\.so\.4 '; then
		has libcurl "libcurl.so.4 loads" host.txt
	else
		has libcurl "libcurl.so.4 does not load" host.txt
	fi
else
	echo "skip - libcurl: no ldconfig to list the libraries"
fi

# ---- limits and sandboxes against this host ----------------------------------
cat >limits.yaml <<'EOF'
name: limits
nodes:
  a: {run: "true", limits: {memory: 100M}}
  p:
    run: "true"
    limits: {pids: 64}
EOF
has_pids=no
[ $usable = yes ] && case " $avail " in *" pids "*) has_pids=yes ;; esac
if [ $has_pids = yes ]; then
	expect_status 0 "limits.pids with the pids controller" \
	    "$DAGEXEC" doctor limits.yaml
	grep_file "everything is here" '^manifest     limits.yaml' "$T/out"
else
	expect_status 1 "limits.pids without the pids controller" \
	    "$DAGEXEC" doctor limits.yaml
	grep_file "the missing line names limits.pids at its node" \
	    "^missing      limits.yaml:4:3: node 'p': limits.pids needs the cgroup pids controller" \
	    "$T/out"
	no_grep_file "limits.memory is never missing" "node 'a'" "$T/out"
	# and a run agrees: the node fails
	expect_status 1 "run agrees: the node cannot start" \
	    "$DAGEXEC" run -q -o runs limits.yaml
fi
sed 's/{pids: 64}/{pids: 64, best_effort: true}/' limits.yaml >be.yaml
expect_status 0 "limits.pids with best_effort" "$DAGEXEC" doctor be.yaml

cat >sandbox.yaml <<EOF
name: sandbox
nodes:
  s:
    run: "true"
    sandbox: {profile: strict, read: [$T/bin, $T/nonexistent]}
EOF
expect_status 1 "a sandbox path that is not here" "$DAGEXEC" doctor sandbox.yaml
grep_file "the missing line names the path" \
    "^missing      sandbox.yaml:3:3: node 's': sandbox path '$T/nonexistent' ('read'): No such file or directory\$" \
    "$T/out"
check "the path that is here is not missing" \
    test "$(grep -c '^missing' "$T/out")" -eq 1
mkdir nonexistent
case $ABI in
''|[1-3]|-*) want=1 ;;
*) want=0 ;;
esac
expect_status $want "once it is there: missing only without Landlock ABI 4" \
    "$DAGEXEC" doctor sandbox.yaml
# a foreach's instances once, under the id as written, from stdin
printf 'name: fe\nnodes:\n  f:\n    foreach: [a, b, c]\n    run: "true"\n    sandbox: {profile: strict, write: [/nonexistent/doctor]}\n' |
    "$DAGEXEC" doctor - >"$T/out" 2>"$T/err"
check "a foreach from stdin: exit 1" test $? -eq 1
grep_file "its line says '-' and the id as written" \
    "^missing      -:3:3: node 'f': sandbox path '/nonexistent/doctor' ('write')" \
    "$T/out"
check "once for its three instances" \
    test "$(grep -c '^missing' "$T/out")" -eq 1

# ---- errors --------------------------------------------------------------------
printf 'name: bad\nnodes:\n  a: {run: "true", bogus: 1}\n' >bad.yaml
expect_status 65 "an invalid manifest" "$DAGEXEC" doctor bad.yaml
grep_file "its error at file:line:col" \
    "^bad.yaml:3:20: error: unknown key 'bogus'" "$T/err"
check "nothing probed then" test ! -s "$T/out"
expect_status 66 "a manifest that cannot be read" \
    "$DAGEXEC" doctor "$T/none.yaml"
grep_file "it says which and why" "none.yaml.*No such file" "$T/err"
expect_status 64 "an unknown option" "$DAGEXEC" doctor --bogus
grep_file "usage on stderr" '^usage: dagexec doctor' "$T/err"
expect_status 64 "two manifests" "$DAGEXEC" doctor slurm.yaml be.yaml
expect_status 0 "--help" "$DAGEXEC" doctor --help
grep_file "usage on stdout" '^usage: dagexec doctor \[MANIFEST\]' "$T/out"
if [ -w /dev/full ]; then
	expect_status 74 "standard output full" sh -c \
	    '"$1" doctor >/dev/full' sh "$DAGEXEC"
fi

finish
