#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for the slow cluster tests:
#   tests/slurm/cluster.sh start STATE_DIR    munged, slurmctld and slurmd, all as root
#   tests/slurm/cluster.sh stop STATE_DIR
# Needs Debian's slurm-wlm and munge (.ci/run installs them). The node is this machine at
# 127.0.0.1 with its CPUs and memory; no systemd, no accounting, no cgroups.
# cred_expire=10 and KillWait=5: a requeued job starts again after ~20 s, not ~2.5 min.
set -euo pipefail
action=$1
state=$(realpath -m "$2")
export SLURM_CONF="$state/slurm.conf"
export PATH="$PATH:/usr/sbin:/sbin"

stop() {
    for pidfile in "$state"/slurmd.pid "$state"/slurmctld.pid "$state"/munged.pid; do
        if [ -f "$pidfile" ]; then
            kill "$(cat "$pidfile")" 2>/dev/null || true
        fi
    done
    sleep 1
}

if [ "$action" = stop ]; then
    stop
    exit 0
fi

mkdir -p "$state"/{munge,spool,slurmd,log}
chmod 755 "$state/munge"
if [ ! -f "$state/munge.key" ]; then
    dd if=/dev/urandom of="$state/munge.key" bs=1024 count=1 status=none
    chmod 400 "$state/munge.key"
fi
munged --key-file="$state/munge.key" --socket="$state/munge/munge.socket.2" \
    --pid-file="$state/munged.pid" --log-file="$state/log/munged.log" \
    --seed-file="$state/munge/seed" --force

node=$(hostname -s)
cpus=$(nproc)
# A little under the machine's memory: slurmd refuses a node that claims more than it has.
memory_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
cat > "$SLURM_CONF" <<CONF
ClusterName=style_gan_test
SlurmctldHost=$node(127.0.0.1)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$state/munge/munge.socket.2,cred_expire=10
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$state/spool
SlurmdSpoolDir=$state/slurmd
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
KillWait=5
MinJobAge=300
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory_mb State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 1 60); do
    if sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
        exit 0
    fi
    sleep 0.5
done
echo "the SLURM node did not come up; see $state/log/" >&2
exit 1
