#!/bin/sh
# Stop the private cluster that tests/slurm/start.sh started in DIR: cancel
# its jobs, then slurmd, slurmctld and munged, each by the pid in its pid
# file and only when /proc/PID/exe is that daemon's binary (never by process
# name: other clusters may run on the same machine). Waits until each has
# exited (SIGTERM, then SIGKILL after 10 s). Safe to run twice, or on a DIR
# where nothing runs; exit 0 when nothing of DIR's cluster is left running.
#
# usage: sh tests/slurm/stop.sh DIR

set -u

[ $# -eq 1 ] || { echo "usage: stop.sh DIR" >&2; exit 64; }
DIR=$1
[ -d "$DIR" ] || exit 0
DIR=$(cd "$DIR" && pwd) || exit 1
status=0

# pid_of NAME BINARY: the pid in DIR/run/NAME.pid when it runs BINARY
pid_of() {
	p=$(cat "$DIR/run/$1.pid" 2>/dev/null) || return 1
	case $p in ''|*[!0-9]*) return 1 ;; esac
	[ -n "$2" ] || return 1
	[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$(readlink -f "$2")" ] ||
	    return 1
	echo "$p"
}

# steps: the slurmstepd processes of this DIR's slurmd (they log to its
# log file, which no other cluster's step holds open)
step_bin=$(command -v slurmstepd 2>/dev/null || echo /usr/sbin/slurmstepd)
step_bin=$(readlink -f "$step_bin")
steps() {
	for d in /proc/[0-9]*; do
		[ "$(readlink "$d/exe" 2>/dev/null)" = "$step_bin" ] || continue
		for f in "$d"/fd/*; do
			if [ "$(readlink "$f" 2>/dev/null)" = \
			    "$DIR/log/slurmd.log" ]; then
				echo "${d#/proc/}"
				break
			fi
		done
	done
}

# children PID: every descendant of PID, from the parent pids in /proc
children() {
	for s in /proc/[0-9]*/stat; do
		# pid (comm) state ppid ...: the comm may hold spaces
		sed -n 's/^\([0-9]*\) (.*) [A-Za-z] \([0-9]*\) .*/\2 \1/p' \
		    "$s" 2>/dev/null
	done | awk -v top="$1" '
		{ kids[$1] = kids[$1] " " $2 }
		END {
			n = split(kids[top], q, " ")
			for (i = 1; i <= n; i++) {
				print q[i]
				m = split(kids[q[i]], r, " ")
				for (j = 1; j <= m; j++)
					q[++n] = r[j]
			}
		}'
}

# stop NAME PID [TENTHS]: SIGTERM, wait, SIGKILL after TENTHS tenths of a
# second (default 100)
stop() {
	kill -TERM "$2" 2>/dev/null
	i=0
	while [ -d "/proc/$2" ] && [ $i -lt "${3:-100}" ]; do
		# a zombie has no exe: gone as far as we are concerned
		[ -z "$(readlink "/proc/$2/exe" 2>/dev/null)" ] && break
		sleep 0.1
		i=$((i + 1))
	done
	if [ -n "$(readlink "/proc/$2/exe" 2>/dev/null)" ]; then
		[ "${3:-100}" -ge 100 ] &&
		    echo "stop.sh: $1 (pid $2) ignored SIGTERM, killing it" >&2
		kill -KILL "$2" 2>/dev/null
		i=0
		while [ -n "$(readlink "/proc/$2/exe" 2>/dev/null)" ] &&
		    [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if [ -n "$(readlink "/proc/$2/exe" 2>/dev/null)" ]; then
			echo "stop.sh: $1 (pid $2) does not die" >&2
			status=1
		fi
	fi
}

# Cancel the jobs first, while slurmctld and slurmd still run, so that the
# steps kill their tasks themselves.
ctl=$(pid_of slurmctld "$(command -v slurmctld 2>/dev/null)")
if [ -n "$ctl" ] && [ -f "$DIR/slurm.conf" ]; then
	SLURM_CONF=$DIR/slurm.conf
	export SLURM_CONF
	ids=$(squeue -h -o %i 2>/dev/null)
	if [ -n "$ids" ]; then
		scancel $ids 2>/dev/null
		i=0
		while [ $i -lt 50 ] && [ -n "$(squeue -h -o %i 2>/dev/null)" ]
		do
			sleep 0.1
			i=$((i + 1))
		done
	fi
fi

p=$(pid_of slurmd "$(command -v slurmd 2>/dev/null)") && stop slurmd "$p"
# Steps left behind (their jobs could not be cancelled): their tasks first,
# then the steps themselves.
for p in $(steps); do
	for c in $(children "$p"); do
		kill -KILL "$c" 2>/dev/null
	done
	stop slurmstepd "$p" 10
done
p=$(pid_of slurmctld "$(command -v slurmctld 2>/dev/null)") &&
    stop slurmctld "$p"
p=$(pid_of munged "$(command -v munged 2>/dev/null)") && stop munged "$p"
exit $status
