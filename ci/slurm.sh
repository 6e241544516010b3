#!/usr/bin/env bash
# A real single-node Slurm for the tests: `ci/slurm.sh start` installs it if needed (Debian
# packages), writes its configs, starts munge, MariaDB, slurmdbd, slurmctld and slurmd as plain
# background daemons and waits for an idle node; `ci/slurm.sh stop` cancels every job and stops
# the daemons; `ci/slurm.sh status` says whether it is up. Root only; meant for CI and laptops.
#
# Settings and their reasons: docs/clusters.md ("A Slurm for the tests").
set -euo pipefail

CONF=/etc/slurm/slurm.conf
DBD_CONF=/etc/slurm/slurmdbd.conf
LOG=/var/log/slurm
PKGS=(munge slurm-client slurmctld slurmd slurmdbd mariadb-server)

say() { echo "slurm.sh: $*" >&2; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2; shift 2
  for _ in $(seq $((limit * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  say "timed out after ${limit}s waiting for $what"; return 1
}

install() {
  local missing=()
  for cmd in munged slurmctld slurmd slurmdbd mariadbd sbatch sacct; do
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("$cmd")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${PKGS[*]} (missing: ${missing[*]})"
  local added_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then  # keep the packages' init scripts from starting daemons
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; added_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null
  [ $added_policy -eq 1 ] && rm -f /usr/sbin/policy-rc.d
  return 0
}

write_configs() {
  local host mem_mb
  host=$(hostname -s)
  mem_mb=$(awk '/MemAvailable/ {printf "%d", $2 * 0.8 / 1024}' /proc/meminfo)
  mkdir -p /etc/slurm
  cat > "$CONF" <<EOF
ClusterName=local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
AuthInfo=cred_expire=10
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0,sched_interval=1,bf_interval=1
ReturnToService=2
KillWait=5
EnforcePartLimits=ALL
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobCompType=jobcomp/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  cat > "$DBD_CONF" <<EOF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
PidFile=/run/slurmdbd.pid
LogFile=$LOG/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=slurm_acct_db
EOF
  chmod 600 "$DBD_CONF"
}

start() {
  [ "$(id -u)" -eq 0 ] || { say "must run as root"; exit 1; }
  if up; then say "already up"; return 0; fi
  install
  write_configs
  # Fresh state every start: reused job ids against an old accounting DB give wrong states.
  rm -rf /var/spool/slurmctld /var/spool/slurmd
  mkdir -p /run/munge /run/mysqld /var/spool/slurmctld /var/spool/slurmd "$LOG"
  chown munge: /run/munge; chown mysql: /run/mysqld
  pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
  wait_for 10 munge bash -c 'munge -n | unmunge'
  if ! pgrep -x mariadbd >/dev/null; then
    setsid /usr/sbin/mariadbd --user=mysql --skip-networking --innodb-buffer-pool-size=64M \
      </dev/null >>"$LOG/mariadb.log" 2>&1 &
  fi
  wait_for 30 MariaDB mariadb-admin ping
  mariadb -e 'DROP DATABASE IF EXISTS slurm_acct_db'
  /usr/sbin/slurmdbd
  wait_for 30 slurmdbd sacctmgr -n list cluster
  /usr/sbin/slurmctld
  /usr/sbin/slurmd
  wait_for 60 "an idle node" bash -c '[ "$(sinfo -h -o %T)" = idle ]'
  say "up: $(sinfo -h -o '%P %D %T %c CPUs')"
}

up() {
  [ -f "$CONF" ] && pgrep -x slurmctld >/dev/null && pgrep -x slurmd >/dev/null \
    && sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'
}

stop_pid() {  # stop_pid PIDFILE NAME
  local pidfile=$1 name=$2 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  say "$name did not stop on SIGTERM; killing it"; kill -9 "$pid" 2>/dev/null || true
}

stop() {
  if command -v scancel >/dev/null 2>&1 && pgrep -x slurmctld >/dev/null; then
    scancel --full --user=root 2>/dev/null || true
    wait_for 30 "an empty queue" bash -c '[ -z "$(squeue -h)" ]' || true
  fi
  stop_pid /run/slurmd.pid slurmd
  stop_pid /run/slurmctld.pid slurmctld
  stop_pid /run/slurmdbd.pid slurmdbd
  stop_pid /run/mysqld/mysqld.pid mariadbd
  stop_pid /run/munge/munged.pid munged
  pkill -9 -x slurmstepd 2>/dev/null || true  # a step outlives slurmd and ignores SIGTERM
  local left
  left=$(ps -eo pid=,stat=,comm= | awk '$2 !~ /Z/ && $3 ~ /^(slurmd|slurmctld|slurmdbd|slurmstepd|mariadbd|munged)$/')
  [ -z "$left" ] || say "still running: $left"
  say "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if up; then sinfo; else say "down"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
