#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for testing ave's SLURM profile.
#   tools/local-slurm.sh start DIR   install slurm-wlm and munge when missing (root), write DIR/slurm.conf,
#                                    start munged, slurmctld and slurmd, wait until the node is idle
#   tools/local-slurm.sh stop DIR    stop the daemons that `start` started, by the PIDs it recorded
# Everything (key, socket, state, logs, PIDs) lives in DIR but the config: jobs that submit job steps see
# SLURM's default /etc/slurm/slurm.conf (Snakemake's SLURM executor clears SLURM_* variables inside a job), so
# the config is written there, only when no other slurm.conf is there, and removed by `stop`.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$(realpath -m "$2")
conf=/etc/slurm/slurm.conf
MARK="# written by ave's tools/local-slurm.sh for $dir"

install_packages() {
  local missing=()
  for program in munged slurmctld slurmd sbatch; do
    command -v "$program" >/dev/null || PATH="$PATH:/usr/sbin" command -v "$program" >/dev/null || missing+=("$program")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "local-slurm: missing ${missing[*]}: install slurm-wlm and munge (Debian/Ubuntu:" \
      "sudo apt-get install slurm-wlm munge) and run again" >&2
    exit 1
  fi
  echo "local-slurm: installing slurm-wlm and munge with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

write_config() {
  local cpus memory_mb
  cpus=$(nproc)
  # leave a quarter of the memory to the daemons and the controlling snakemake
  memory_mb=$(awk '/MemTotal/ {print int($2 / 1024 * 0.75)}' /proc/meminfo)
  cat >"$dir/slurm.conf" <<EOF
$MARK
ClusterName=ave-local
SlurmctldHost=localhost
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
SlurmctldPort=${AVE_SLURMCTLD_PORT:-6917}
SlurmdPort=${AVE_SLURMD_PORT:-6918}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
# no accounting database: finished jobs stay visible to squeue for an hour, which is what the executor polls
MinJobAge=3600
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=localhost NodeHostname=$(hostname) NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory_mb State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
  install_packages
  export PATH="$PATH:/usr/sbin"
  mkdir -p "$dir"/{munge,state,spool}
  chmod 700 "$dir/munge"
  write_config
  if [ -e "$conf" ] && ! grep -qxF "$MARK" "$conf"; then
    echo "local-slurm: $conf exists and is not ours: this machine has SLURM configured already; use it" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$conf")"
  cp "$dir/slurm.conf" "$conf"
  export SLURM_CONF=$conf
  if [ ! -s "$dir/munge/munge.key" ]; then
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$dir/munge/munge.key"
  fi
  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munge.seed"
  slurmctld -c -f "$SLURM_CONF"
  slurmd -f "$SLURM_CONF"
  for _ in $(seq 60); do
    if sinfo -h -o %t 2>/dev/null | grep -qx idle; then
      echo "local-slurm: node idle ($(nproc) CPUs), config $conf"
      return 0
    fi
    sleep 1
  done
  echo "local-slurm: the node did not come up; see $dir/slurmctld.log and $dir/slurmd.log" >&2
  sinfo -N -l >&2 || true
  exit 1
}

stop() {
  local pidfile pid status=0
  for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    [ -s "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || status=1; fi
    fi
    rm -f "$pidfile"
  done
  if [ -e "$conf" ] && grep -qxF "$MARK" "$conf"; then rm -f "$conf"; fi
  return $status
}

case $action in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
