#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for running the workflow through
# `snakemake --executor slurm` in tests and CI (tests/test_slurm.py).
#
#   scripts/slurm-one-node.sh         write slurm.conf, start munged, slurmctld, slurmd and wait
#                                     until the node is idle (a no-op when it already is)
#   scripts/slurm-one-node.sh stop    stop the daemons this script started (by their pid files)
#
# Needs root and Debian's slurm-wlm (`apt-get install slurm-wlm`, munge comes with it). The
# cluster has no accounting database, so the plugin must ask squeue for job states
# (`--slurm-status-command squeue`), and MinJobAge keeps finished jobs visible to squeue for
# an hour: without it a job that ends between two status checks vanishes and the run hangs.
# Jobs run at the nice value of the command that submitted them (PropagatePrioProcess), so a
# `nice` test run stays nice on a shared machine.
# An existing slurm.conf that this script did not write is never touched.
set -euo pipefail

CONF=${SLURM_CONF:-/etc/slurm/slurm.conf}
STATE=/var/spool/slurm-one-node
RUN=/run/slurm-one-node
MARKER="# written by scripts/slurm-one-node.sh (GAN Roadmap Bench): a one-node test cluster"
HOST=$(hostname -s)
MEMORY_MARGIN_MB=512
READY_TIMEOUT_S=60

die() { echo "slurm-one-node: $*" >&2; exit 1; }

node_state() { sinfo -h -n "$HOST" -o %t 2>/dev/null | head -n 1; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop() {
  for daemon in slurmd slurmctld munged; do
    if pid_alive "$RUN/$daemon.pid"; then
      kill "$(cat "$RUN/$daemon.pid")" && echo "slurm-one-node: stopped $daemon"
    fi
    rm -f "$RUN/$daemon.pid"
  done
}

write_conf() {
  local cpus memory_mb
  cpus=$(nproc)
  memory_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 - MEMORY_MARGIN_MB ))
  mkdir -p "$(dirname "$CONF")" "$STATE/ctld" "$STATE/d" "$RUN"
  cat > "$CONF.tmp" <<EOF
$MARKER
ClusterName=onenode
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
ReturnToService=2
MinJobAge=3600
PropagatePrioProcess=1
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory_mb State=UNKNOWN
PartitionName=main Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    return
  fi
  [ -s /etc/munge/munge.key ] || mungekey --create --keyfile /etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge "$RUN" && chown munge:munge /run/munge
  runuser -u munge -- munged --pid-file=/run/munge/munged.pid
  cp /run/munge/munged.pid "$RUN/munged.pid"
}

start() {
  [ "$(id -u)" -eq 0 ] || die "needs root (it writes $CONF and starts the daemons as root)"
  for tool in slurmctld slurmd munged sinfo scontrol; do
    command -v "$tool" >/dev/null || die "$tool not found: apt-get install slurm-wlm"
  done
  case "$(node_state)" in
    idle|mix|alloc|comp) echo "slurm-one-node: node $HOST is already up"; return ;;
  esac
  if [ -f "$CONF" ] && ! grep -qxF "$MARKER" "$CONF"; then
    die "$CONF exists and was not written by this script: not touching a real cluster's config"
  fi
  write_conf
  start_munge
  pid_alive "$RUN/slurmctld.pid" || slurmctld
  pid_alive "$RUN/slurmd.pid" || slurmd
  local deadline=$((SECONDS + READY_TIMEOUT_S)) state=""
  while [ $SECONDS -lt $deadline ]; do
    state=$(node_state)
    case "$state" in
      idle|mix|alloc) echo "slurm-one-node: node $HOST is $state ($CONF)"; return ;;
      down*|drain*) scontrol update NodeName="$HOST" State=RESUME 2>/dev/null || true ;;
    esac
    sleep 1
  done
  die "node $HOST not idle after ${READY_TIMEOUT_S} s (state: '${state:-no answer}'); logs in $STATE"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 [start|stop]" ;;
esac
