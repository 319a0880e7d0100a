#!/bin/sh
# Start a private single-node Slurm cluster in DIR, without systemd: its own
# munged (own key and socket), slurmctld and slurmd, a slurm.conf generated
# from `slurmd -C`, state, spool, pid files and logs all under DIR.
#
# usage: sh tests/slurm/start.sh DIR [--cpus N]
#
#   --cpus N   declare N CPUs on the node (SlurmdParameters=config_overrides),
#              so that more one-CPU jobs run at once than the machine has
#              cores (for benchmarks of sleeps)
#
# Writes DIR/slurm.conf and DIR/env (`export SLURM_CONF=DIR/slurm.conf`),
# then waits until sinfo shows the node idle and a smoke job
# (`sbatch --parsable --wrap true`) completed. Exit 0 when the cluster is
# ready; otherwise 1 (an error and the daemons' logs on stderr, and whatever
# it started stopped again by tests/slurm/stop.sh). Run twice on the same
# DIR, the second run finds the cluster up and only checks it again.
# The daemons stay until `sh tests/slurm/stop.sh DIR`.
#
# Environment:
#   SLURM_START_TIMEOUT   seconds to wait for the node and the smoke job,
#                         default 60
#
# Needs root (the daemons run as root: SlurmUser=root) and the Debian
# packages slurmctld, slurmd, slurm-client and munge.

set -u

usage() {
	echo "usage: start.sh DIR [--cpus N]" >&2
	exit 64
}

[ $# -ge 1 ] || usage
DIR=$1
shift
CPUS=
while [ $# -gt 0 ]; do
	case $1 in
	--cpus)
		[ $# -ge 2 ] || usage
		CPUS=$2
		shift 2
		;;
	--cpus=*)
		CPUS=${1#--cpus=}
		shift
		;;
	*)
		usage
		;;
	esac
done
if [ -n "$CPUS" ]; then
	case $CPUS in
	''|*[!0-9]*|0) echo "start.sh: --cpus wants a positive number," \
	    "not '$CPUS'" >&2; exit 64 ;;
	esac
fi
TIMEOUT=${SLURM_START_TIMEOUT:-60}
HERE=$(cd "$(dirname "$0")" && pwd)

die() {
	echo "start.sh: $*" >&2
	exit 1
}

for c in munged mungekey slurmctld slurmd sbatch sinfo squeue scontrol; do
	command -v "$c" >/dev/null 2>&1 || die "'$c' is not installed" \
	    "(apt-get install slurmctld slurmd slurm-client munge)"
done
[ "$(id -u)" -eq 0 ] || die "needs root (the daemons run as SlurmUser=root)"

mkdir -p "$DIR" || die "cannot create '$DIR'"
DIR=$(cd "$DIR" && pwd) || die "cannot enter '$DIR'"
case $DIR in
*[!A-Za-z0-9/._+-]*)
	die "slurm.conf cannot hold the path '$DIR': use letters, digits" \
	    "and / . _ + - only" ;;
esac
CONF=$DIR/slurm.conf

# alive NAME BINARY: the pid in DIR/run/NAME.pid is running BINARY
alive() {
	p=$(cat "$DIR/run/$1.pid" 2>/dev/null) || return 1
	case $p in ''|*[!0-9]*) return 1 ;; esac
	[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$(readlink -f "$2")" ]
}

# now: seconds since the epoch, with a fraction
now() {
	date +%s.%N
}

# elapsed T0: seconds since T0
elapsed() {
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'
}

# past T0 SECONDS: more than SECONDS have gone by since T0
past() {
	awk -v a="$1" -v b="$(now)" -v s="$2" 'BEGIN { exit !(b - a > s) }'
}

show_logs() {
	for f in "$DIR/log/munged.log" "$DIR/log/slurmctld.log" \
	    "$DIR/log/slurmd.log"; do
		[ -f "$f" ] || continue
		echo "---- $f (last 30 lines)" >&2
		tail -n 30 "$f" >&2
	done
}

# fail MESSAGE: say why, show the logs, stop what was started
fail() {
	echo "start.sh: $*" >&2
	show_logs
	sh "$HERE/stop.sh" "$DIR" >&2
	exit 1
}

# wait_ready T0: the node idle in sinfo, then a smoke job completed
wait_ready() {
	t0=$1
	state=
	while :; do
		state=$(sinfo -h -n localhost -o %t 2>/dev/null)
		[ "$state" = idle ] && break
		past "$t0" "$TIMEOUT" &&
		    fail "the node is not idle after $TIMEOUT s" \
		    "(sinfo says '${state:-nothing}')"
		for d in munged slurmctld slurmd; do
			alive "$d" "$(command -v $d)" ||
			    fail "$d is not running"
		done
		sleep 0.1
	done
	echo "start.sh: node idle after $(elapsed "$t0") s"
	id=$(sbatch --parsable --job-name=start.sh-smoke --output=/dev/null \
	    --error=/dev/null --wrap true 2>"$DIR/log/smoke.err") ||
	    fail "the smoke job was not submitted: $(cat "$DIR/log/smoke.err")"
	id=${id%%;*}
	js=
	while :; do
		js=$(scontrol -o show job "$id" 2>/dev/null |
		    sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
		case $js in
		COMPLETED) break ;;
		PENDING|CONFIGURING|RUNNING|COMPLETING|'') ;;
		*) fail "the smoke job $id ended $js" ;;
		esac
		past "$t0" "$TIMEOUT" &&
		    fail "the smoke job $id did not complete in $TIMEOUT s" \
		    "(state '${js:-unknown}')"
		sleep 0.1
	done
	echo "start.sh: smoke job $id completed after $(elapsed "$t0") s"
}

T0=$(now)

# Already up? Only check it again.
if [ -f "$CONF" ] && alive munged "$(command -v munged)" &&
    alive slurmctld "$(command -v slurmctld)" &&
    alive slurmd "$(command -v slurmd)"; then
	echo "start.sh: the cluster in $DIR is already running"
	SLURM_CONF=$CONF
	export SLURM_CONF
	wait_ready "$T0"
	exit 0
fi

# Whatever is left of an earlier start goes; so do its state and logs.
sh "$HERE/stop.sh" "$DIR" || die "cannot stop what runs in '$DIR'"
rm -rf "$DIR/munge" "$DIR/state" "$DIR/spool" "$DIR/run" "$DIR/log" \
    "$DIR/slurm.conf" "$DIR/env"
mkdir -p "$DIR/munge" "$DIR/state" "$DIR/spool" "$DIR/run" "$DIR/log" ||
    die "cannot create the directories in '$DIR'"
# munged wants every directory on the socket's path searchable by all
chmod 755 "$DIR" "$DIR/munge" "$DIR/run" "$DIR/log"
d=$(dirname "$DIR")
while :; do
	[ "$(($(stat -c '0%a' "$d") & 1))" -eq 1 ] ||
	    die "munged needs every directory above '$DIR' searchable by" \
	    "all, and '$d' is mode $(stat -c %a "$d") (chmod a+x '$d')"
	[ "$d" = / ] && break
	d=$(dirname "$d")
done

# ---- the node, from slurmd -C ----------------------------------------------
hw=$(slurmd -C 2>/dev/null | head -n 1)
field() {
	echo "$hw" | tr ' ' '\n' | sed -n "s/^$1=//p"
}
MEM=$(field RealMemory)
HWCPUS=$(field CPUs)
[ -n "$MEM" ] && [ -n "$HWCPUS" ] ||
    die "cannot read the hardware from 'slurmd -C': '$hw'"
if [ -n "$CPUS" ]; then
	NODE="CPUs=$CPUS Boards=1 SocketsPerBoard=1 CoresPerSocket=$CPUS"
	NODE="$NODE ThreadsPerCore=1 RealMemory=$MEM"
	OVERRIDES="SlurmdParameters=config_overrides"
else
	CPUS=$HWCPUS
	NODE="CPUs=$CPUS"
	for k in Boards SocketsPerBoard CoresPerSocket ThreadsPerCore; do
		v=$(field $k)
		[ -n "$v" ] && NODE="$NODE $k=$v"
	done
	NODE="$NODE RealMemory=$MEM"
	OVERRIDES="#SlurmdParameters="
fi
DEFMEM=$((MEM / CPUS))
[ "$DEFMEM" -ge 1 ] || DEFMEM=1

# ---- two free TCP ports ------------------------------------------------------
ports=$(python3 -c '
import socket
a = socket.socket(); a.bind(("127.0.0.1", 0))
b = socket.socket(); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])
' 2>/dev/null)
if [ -z "$ports" ]; then
	# no python3: random ports that ss does not show in use
	ports=
	while [ "$(echo $ports | wc -w)" -lt 2 ]; do
		p=$(awk -v s="$$$(date +%N)" \
		    'BEGIN { srand(s); print 20000 + int(rand() * 30000) }')
		ss -Htan 2>/dev/null | awk '{ print $4 }' | grep -q ":$p\$" ||
		    ports="$ports $p"
	done
fi
set -- $ports
CTLPORT=$1
DPORT=$2

# ---- slurm.conf ---------------------------------------------------------------
cat >"$CONF" <<EOF
# generated by tests/slurm/start.sh for a private single-node cluster
ClusterName=localci
SlurmctldHost=localhost
SlurmctldPort=$CTLPORT
SlurmdPort=$DPORT
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
EnforcePartLimits=ALL
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$DEFMEM
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
MpiDefault=none
ReturnToService=2
MinJobAge=300
KillWait=2
InactiveLimit=0
$OVERRIDES
NodeName=localhost NodeAddr=127.0.0.1 $NODE
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
printf 'export SLURM_CONF=%s\n' "$CONF" >"$DIR/env"
SLURM_CONF=$CONF
export SLURM_CONF

# ---- munged --------------------------------------------------------------------
mungekey --create --keyfile="$DIR/munge/munge.key" >"$DIR/log/mungekey.log" 2>&1 ||
    fail "mungekey failed: $(cat "$DIR/log/mungekey.log")"
chmod 600 "$DIR/munge/munge.key"
munged --socket="$DIR/munge/munge.socket" --key-file="$DIR/munge/munge.key" \
    --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" \
    --seed-file="$DIR/munge/munged.seed" --origin=127.0.0.1 \
    >"$DIR/log/munged.out" 2>&1 ||
    fail "munged did not start: $(cat "$DIR/log/munged.out")"

# ---- slurmctld, slurmd -----------------------------------------------------------
slurmctld -f "$CONF" >"$DIR/log/slurmctld.out" 2>&1 ||
    fail "slurmctld did not start: $(cat "$DIR/log/slurmctld.out")"
slurmd -f "$CONF" -N localhost >"$DIR/log/slurmd.out" 2>&1 ||
    fail "slurmd did not start: $(cat "$DIR/log/slurmd.out")"

# the daemons write their pid files once up; give them a moment
i=0
while [ $i -lt 100 ]; do
	alive munged "$(command -v munged)" &&
	    alive slurmctld "$(command -v slurmctld)" &&
	    alive slurmd "$(command -v slurmd)" && break
	sleep 0.1
	i=$((i + 1))
done

wait_ready "$T0"
echo "start.sh: cluster up in $DIR ($CPUS CPUs, ports $CTLPORT/$DPORT)," \
    "$(elapsed "$T0") s; use: . $DIR/env"
