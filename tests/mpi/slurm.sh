#!/usr/bin/env bash
# A real one-node Slurm on this machine, started and stopped here (no systemd):
#   slurm.sh TEST_MPI      (as root; Debian's slurm-wlm and munge: scripts/setup.sh all)
# munged, slurmctld and slurmd run from a slurm.conf in a temp folder (their own socket,
# ports, state and logs there), then the test program runs through `srun -n 3` (Open MPI
# started directly through PMIx) and through `sbatch` with `mpirun` inside; the three
# daemons are stopped by their pids at the end, whatever happened.
set -euo pipefail
prog=$(readlink -f "$1")
for tool in munged slurmctld slurmd srun sbatch sinfo; do
  command -v "$tool" >/dev/null || { echo "skip: $tool is not installed (scripts/setup.sh all)"; exit 0; }
done
[ "$(id -u)" -eq 0 ] || { echo "skip: starting slurmd needs root"; exit 0; }

tmp=$(mktemp -d /tmp/weft-slurm.XXXXXX)
chmod 755 "$tmp"
host=$(hostname -s)
install -d -o munge -g munge -m 755 "$tmp/munge"
stop() {
  for pidfile in "$tmp/slurmd.pid" "$tmp/slurmctld.pid" "$tmp/munge/munged.pid"; do
    [ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  for pidfile in "$tmp/slurmd.pid" "$tmp/slurmctld.pid" "$tmp/munge/munged.pid"; do
    for _ in $(seq 100); do
      [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null || break
      sleep 0.1
    done
  done
  rm -rf "$tmp"
}
trap stop EXIT

cat >"$tmp/slurm.conf" <<CONF
ClusterName=weft-test
SlurmctldHost=$host
SlurmUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
AuthInfo=socket=$tmp/munge/munged.sock
CredType=cred/munge
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MailProg=/bin/true
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES State=UP
CONF
mkdir -p "$tmp/state" "$tmp/spool"
export SLURM_CONF=$tmp/slurm.conf
runuser -u munge -- /usr/sbin/munged --socket="$tmp/munge/munged.sock" \
  --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munge/munged.log" --seed-file="$tmp/munge/seed"
slurmctld
slurmd
for _ in $(seq 100); do
  [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break
  sleep 0.1
done
[ "$(sinfo -h -o %T)" = idle ] || { echo "FAIL: the node never became idle"; cat "$tmp"/*.log; exit 1; }
echo "slurm: node $host idle"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# srun starts the ranks itself (Open MPI finds them through PMIx)
timeout 60 srun --mpi=pmix -n 3 --overcommit "$prog" | tee "$tmp/srun.out"
grep -q " 0 failed" "$tmp/srun.out" || { echo "FAIL: srun -n 3"; exit 1; }
echo "slurm: srun -n 3 passed"

# a batch job: mpirun inside takes its ranks from the allocation
cat >"$tmp/job.sh" <<JOB
#!/bin/bash
#SBATCH --ntasks=3
#SBATCH --output=$tmp/batch.out
#SBATCH --overcommit
mpirun -np 3 "$prog"
JOB
job=$(sbatch --parsable "$tmp/job.sh")
for _ in $(seq 1200); do
  state=$(squeue -h -j "$job" -o %T 2>/dev/null || true)
  [ -z "$state" ] && break
  sleep 0.1
done
cat "$tmp/batch.out"
grep -q " 0 failed" "$tmp/batch.out" || { echo "FAIL: sbatch with mpirun inside"; exit 1; }
echo "slurm: sbatch with mpirun inside passed"
