#!/usr/bin/env bash
# The bundled workflow on a real one-node SLURM cluster, set up on this machine.
#
#   sudo scripts/slurm_integration.sh            (as root; Debian/Ubuntu; a few minutes)
#
# Installs slurm-wlm, munge, slurmdbd and mariadb-server with apt-get, writes a one-node
# /etc/slurm/{slurm,gres,slurmdbd}.conf (this host with its CPUs and memory, partitions cpu
# (default) and gpu, accounting with an account "dnacnn", one GPU GRES on a stand-in device: there
# is no real GPU, the workflow's --device auto then trains on the CPU; refuses to run where a
# slurm.conf it did not write exists) and starts munged, mariadbd, slurmdbd, slurmctld and slurmd
# with state, logs and database in a temporary folder. Then, on a copy of the repository's
# tracked files, with workflow/profiles/slurm sized for this node from sinfo and the
# partition/account given on the command line:
#   1. a wrong GPU partition is reported with sbatch's own message, and a wrong account with the
#      plugin's, each within a minute (no job groups: see docs/workflow.md);
#   2. the workflow is killed (SIGKILL, jobs scancel'ed) while a training runs, then rerun
#      (--unlock, then --rerun-incomplete from the profile) and must finish with
#      results/summary.html; the killed training must resume from its checkpoint;
#   3. a finished training whose model and history were deleted (as Snakemake does when a time
#      limit hits during the job's wrap-up) writes the model again instead of retraining;
#   4. sacct: train jobs, and only they, asked for a GPU (gres/gpu) and the gpu partition.
# Prints what each job asked for, stops every service it started, exits non-zero with one
# "FAIL:" line when a check fails, and removes the files it wrote (the folder stays after a
# failure, for its logs). Not for CI: it needs root and takes minutes.
# Environment: DNACNN_PYTHON (default: .venv/bin/python of the repository, else python3) must
# have dnacnn's dependencies and snakemake-executor-plugin-slurm; KEEP=1 keeps the folder.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
START=$(date +%s)
fail() { echo "FAIL: $*" >&2; exit 1; }
say() { echo "[$(($(date +%s) - START))s] $*"; }

[ "$(id -u)" = 0 ] || fail "run as root (it installs packages and starts SLURM daemons)"
PY=${DNACNN_PYTHON:-$REPO/.venv/bin/python}
[ -x "$PY" ] || PY=$(command -v python3)
"$PY" -c "import snakemake_executor_plugin_slurm, dnacnn" 2>/dev/null \
  || fail "$PY lacks dnacnn or the SLURM executor plugin: pip install -e \".[slurm]\""
BIN=$(dirname "$PY")

# --------------------------------------------------------------------------- packages
NEED="slurm-wlm slurm-client munge slurmdbd mariadb-server"
missing=$(for p in $NEED; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"; done)
if [ -n "$missing" ]; then
  say "apt-get install $missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || fail "apt-get update failed"
  # shellcheck disable=SC2086
  apt-get install -y -qq $missing >/dev/null || fail "apt-get install $missing failed"
fi
for tool in slurmctld slurmd slurmdbd munged mariadbd mariadb-install-db sbatch sacct sacctmgr; do
  command -v "$tool" >/dev/null || fail "$tool not found after installing $NEED"
done
for port in 6817 6818 6819; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "port $port is in use: another SLURM is running here; stop it first"
  fi
done

# --------------------------------------------------------------------------- configuration
T=$(mktemp -d /tmp/dnacnn-slurm.XXXXXX)
chmod 755 "$T"
mkdir -p "$T"/{state,spool,log,run,db,munge}
# /etc/slurm, where every SLURM command looks: SLURM_CONF elsewhere does not reach srun inside
# the jobs (the executor plugin clears SLURM_* variables there). A slurm.conf written by
# someone else is left alone; ours is removed at the end.
MARK="# one-node test cluster written by dnacnn's scripts/slurm_integration.sh"
CONF=/etc/slurm
if [ -e "$CONF/slurm.conf" ] && ! grep -qxF "$MARK" "$CONF/slurm.conf"; then
  fail "$CONF/slurm.conf exists and was not written by this script: this machine has a SLURM setup; leaving it alone"
fi
unset SLURM_CONF
mkdir -p "$CONF"
HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
[ -n "$MEM" ] || fail "slurmd -C did not report this node's memory"
DBPORT=3399
DBPASS=dnacnn-$RANDOM$RANDOM

cat >"$CONF/slurm.conf" <<EOF
$MARK
ClusterName=dnacnntest
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/run/slurmctld.pid
SlurmdPidFile=$T/run/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
MinJobAge=300
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=$HOST
AccountingStorageEnforce=associations
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/none
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$HOST MaxTime=INFINITE State=UP
EOF
# No real GPU and no auto-detection. slurmd drops a GPU without a device file ("Removing file-less
# GPU") and the node is then drained (gres/gpu count 0 < 1), so the GPU gets a stand-in device:
# a character device with /dev/null's numbers, named like the first NVIDIA GPU for its index 0.
mkdir -p "$T/dev"
mknod "$T/dev/nvidia0" c 1 3 || fail "mknod failed: cannot make the stand-in GPU device $T/dev/nvidia0"
printf 'AutoDetect=off\nNodeName=%s Name=gpu Count=1 File=%s\n' "$HOST" "$T/dev/nvidia0" >"$CONF/gres.conf"
cat >"$CONF/slurmdbd.conf" <<EOF
$MARK
DbdHost=$HOST
SlurmUser=root
AuthType=auth/munge
PidFile=$T/run/slurmdbd.pid
LogFile=$T/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DBPORT
StorageUser=slurm
StoragePass=$DBPASS
StorageLoc=slurm_acct_db
EOF
chmod 600 "$CONF/slurmdbd.conf"

# --------------------------------------------------------------------------- services
PIDS=()
SNAKE_PID=
cleanup() {
  local rc=$?
  set +e
  [ -n "$SNAKE_PID" ] && kill -9 "$SNAKE_PID" 2>/dev/null
  command -v scancel >/dev/null && timeout 20 scancel --user=root >/dev/null 2>&1
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill "${PIDS[i]}" 2>/dev/null
    for _ in $(seq 50); do kill -0 "${PIDS[i]}" 2>/dev/null || break; sleep 0.2; done
    kill -9 "${PIDS[i]}" 2>/dev/null
  done
  wait 2>/dev/null
  say "services stopped (${#PIDS[@]})"
  if grep -qxF "$MARK" "$CONF/slurm.conf" 2>/dev/null; then rm -f "$CONF"/{slurm,slurmdbd,gres}.conf; fi
  if [ "${KEEP:-0}" = 1 ] || [ $rc != 0 ]; then echo "kept $T (logs in $T/log)"; else rm -rf "$T"; fi
  say "wall time $(($(date +%s) - START)) s"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() {  # wait_for SECONDS WHAT COMMAND...
  local limit=$1 what=$2
  shift 2
  for _ in $(seq "$limit"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  fail "$what did not come up in ${limit}s (logs in $T/log)"
}

# munge at its default socket, where every SLURM command looks for it; an already running
# munged (a machine that is part of a cluster) is used as it is
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  say "munged already running"
else
  say "munged"
  [ -s /etc/munge/munge.key ] || mungekey --create 2>/dev/null || create-munge-key
  mkdir -p /run/munge && chown munge: /run/munge && chmod 755 /run/munge
  chown munge: "$T/munge"
  runuser -u munge -- munged --foreground --pid-file="$T/munge/munged.pid" \
    --log-file="$T/munge/munged.log" --seed-file="$T/munge/seed" >>"$T/log/munged.out" 2>&1 &
  PIDS+=($!)
  wait_for 20 munged sh -c "munge -n | unmunge"
fi

say "mariadbd (port $DBPORT, data in $T/db)"
chown mysql: "$T/db"
mariadb-install-db --user=mysql --datadir="$T/db/data" --auth-root-authentication-method=socket \
  >"$T/log/mariadb-install.log" 2>&1 || fail "mariadb-install-db failed (see $T/log/mariadb-install.log)"
mariadbd --user=mysql --datadir="$T/db/data" --socket="$T/db/mysqld.sock" --pid-file="$T/db/mysqld.pid" \
  --bind-address=127.0.0.1 --port=$DBPORT --log-error="$T/db/mariadb.log" --skip-log-bin >"$T/db/mariadbd.out" 2>&1 &
PIDS+=($!)
wait_for 60 mariadbd mariadb --socket="$T/db/mysqld.sock" -e "select 1"
mariadb --socket="$T/db/mysqld.sock" -e "
  CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DBPASS';
  CREATE USER 'slurm'@'localhost' IDENTIFIED BY '$DBPASS';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';" || fail "could not create the slurm database user"

say "slurmdbd"
slurmdbd -D >>"$T/log/slurmdbd.out" 2>&1 &
PIDS+=($!)
wait_for 60 slurmdbd timeout 10 sacctmgr -i show cluster
sacctmgr -i add cluster dnacnntest >/dev/null
sacctmgr -i add account dnacnn Description=test Organization=dnacnn >/dev/null
sacctmgr -i add user root Account=dnacnn DefaultAccount=dnacnn >/dev/null

say "slurmctld, slurmd ($HOST: $CPUS CPUs, $MEM MB, gres gpu:1)"
slurmctld -D -i >>"$T/log/slurmctld.out" 2>&1 &
PIDS+=($!)
wait_for 60 slurmctld scontrol ping
slurmd -D >>"$T/log/slurmd.out" 2>&1 &
PIDS+=($!)
node_idle() { sinfo -h -N -n "$HOST" -o "%T" | grep -qx idle; }
wait_for 60 "slurmd (node idle)" node_idle
scontrol show node "$HOST" | grep -q "Gres=gpu:1" || fail "slurmd did not accept the GPU GRES (scontrol show node $HOST)"
sinfo -N -o "%N %P %c %m %G %T"

# --------------------------------------------------------------------------- the workflow
W=$T/repo
mkdir -p "$W"
(cd "$REPO" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$W"
rm -rf "$W/results" "$W/.snakemake"
cd "$W"
export PATH="$BIN:$PATH"

# size the profile's requests to the largest node of each partition, as docs/workflow.md says
node_cpus=$(sinfo -h -p gpu -o "%c" | sort -n | tail -1)
node_mem=$(sinfo -h -p gpu -o "%m" | sort -n | tail -1)
TRAIN_THREADS=$((node_cpus < 4 ? node_cpus : 4))
TRAIN_MEM=$((node_mem - 1000 < 16000 ? node_mem - 1000 : 16000))
SMK=(
  snakemake --workflow-profile workflow/profiles/slurm
  --default-resources slurm_partition=cpu slurm_account=dnacnn mem_mb=2000 runtime=30
  --set-resources train:slurm_partition=gpu train:mem_mb=$TRAIN_MEM train:runtime=60
  --set-threads train=$TRAIN_THREADS
  --slurm-init-seconds-before-status-checks 10
)
say "profile sized for this node: train threads $TRAIN_THREADS, mem_mb $TRAIN_MEM"
smk_log() { echo "$T/log/snakemake-$1.log"; }

say "check 1: a wrong GPU partition is reported"
rm -rf results
timeout 180 "${SMK[@]}" --set-resources train:slurm_partition=nosuchpartition --retries 0 \
  results/zou2019/zou2019/model.dnacnn >"$(smk_log partition)" 2>&1 && fail "a wrong partition did not fail the run"
grep -q "invalid partition specified: nosuchpartition" "$(smk_log partition)" \
  || fail "a wrong partition was not reported with sbatch's message (see $(smk_log partition))"
grep -m1 "invalid partition" "$(smk_log partition)"
scancel --user=root 2>/dev/null || true
rm -rf results .snakemake

say "check 1b: a wrong account is reported"
timeout 180 "${SMK[@]}" --default-resources slurm_partition=cpu slurm_account=nosuchaccount mem_mb=2000 runtime=30 \
  --retries 0 results/zou2019/store >"$(smk_log account)" 2>&1 && fail "a wrong account did not fail the run"
grep -q "The given account nosuchaccount appears to be invalid" "$(smk_log account)" \
  || fail "a wrong account was not reported (see $(smk_log account))"
grep -m1 "The given account nosuchaccount" "$(smk_log account)" | sed 's/^ */    /'
rm -rf results .snakemake

say "check 2: run, kill while a training runs, rerun"
"${SMK[@]}" >"$(smk_log first)" 2>&1 &
SNAKE_PID=$!
running_training() {  # a training has written a checkpoint and no model yet
  local ckpt
  for ckpt in results/*/*/model.dnacnn.ckpt; do
    [ -e "$ckpt" ] && [ ! -e "${ckpt%.ckpt}" ] && echo "$ckpt" && return 0
  done
  return 1
}
for _ in $(seq 1200); do
  running_training >/dev/null && break
  kill -0 "$SNAKE_PID" 2>/dev/null || fail "snakemake ended before any training ran (see $(smk_log first))"
  sleep 0.5
done
running_training >/dev/null || fail "no training wrote a checkpoint within 10 minutes (see $(smk_log first))"
say "killing snakemake (SIGKILL) and cancelling its jobs while $(running_training) is being trained"
squeue -o "%.8i %.9P %.40k %.8T %.10M" | sed 's/^/  /'
kill -9 "$SNAKE_PID"
wait "$SNAKE_PID" 2>/dev/null || true
SNAKE_PID=
scancel --user=root
for _ in $(seq 60); do [ -z "$(squeue -h -u root)" ] && break; sleep 1; done
[ -z "$(squeue -h -u root)" ] || fail "jobs still queued 60 s after scancel"
KILLED=$(running_training) || fail "no unfinished training left behind by the kill"
KILLED_LOG=results/logs/train/$(echo "$KILLED" | cut -d/ -f2)/$(echo "$KILLED" | cut -d/ -f3).attempts.log
say "killed training: $KILLED (epoch $("$PY" -c "import sys; from dnacnn.modelfile import read_tensors; print(read_tensors(sys.argv[1], 'c')[1]['loop']['epoch'])" "$KILLED"))"

"${SMK[@]}" --unlock >"$(smk_log unlock)" 2>&1 || fail "snakemake --unlock failed (see $(smk_log unlock))"
timeout 1500 "${SMK[@]}" >"$(smk_log rerun)" 2>&1 || fail "the rerun failed (see $(smk_log rerun))"
[ -s results/summary.html ] || fail "results/summary.html missing after the rerun"
grep -q "resuming from $KILLED after epoch" "$KILLED_LOG" \
  || fail "the killed training did not resume from its checkpoint (see $KILLED_LOG)"
say "rerun finished; $(grep -m1 "resuming from" "$KILLED_LOG")"
[ "$(grep -c '^# ' "$KILLED_LOG")" -ge 2 ] || fail "$KILLED_LOG does not hold both attempts"

say "check 3: a training killed after writing its model writes it again, without training"
# what a time limit in the wrap-up leaves: the model and history deleted by Snakemake as
# incomplete, the checkpoint (now the finished model) kept
rm results/REST/deepbind/model.dnacnn results/REST/deepbind/history.tsv
timeout 600 "${SMK[@]}" results/REST/deepbind/model.dnacnn >"$(smk_log wrapup)" 2>&1 \
  || fail "the run after deleting a model failed (see $(smk_log wrapup))"
grep -q "holds this run, finished after epoch [0-9]*; writing the model again" results/logs/train/REST/deepbind.log \
  || fail "the deleted model was not written again from its checkpoint (see results/logs/train/REST/deepbind.log)"
say "$(grep -m1 "holds this run" results/logs/train/REST/deepbind.log)"
[ -s results/REST/deepbind/history.tsv ] || fail "the history of the re-saved model is missing"

say "check 4: what each job asked for (sacct)"
sleep 2
sacct -a -X -n -P -S now-2hours -o JobID,Partition,ReqTRES,State,Comment%60 >"$T/log/sacct.txt" \
  || fail "sacct failed"
"$PY" - "$T/log/sacct.txt" <<'EOF'
import sys

rows = [line.rstrip("\n").split("|") for line in open(sys.argv[1]) if line.strip()]
bad, seen = [], {"train": 0, "other": 0}
print(f"{'job':>6}  {'rule (comment)':40} {'partition':9} {'state':10} requested")
for job, part, tres, state, comment in rows:
    rule = comment.split("_wildcards_")[0].removeprefix("rule_") if comment else "?"
    print(f"{job:>6}  {comment[:40]:40} {part:9} {state[:10]:10} {tres}")
    if state != "COMPLETED":
        continue
    gpu = "gres/gpu=" in tres
    is_train = rule == "train"
    seen["train" if is_train else "other"] += 1
    if is_train and not (gpu and part == "gpu"):
        bad.append(f"train job {job} asked for {tres} on {part}")
    if not is_train and (gpu or part == "gpu"):
        bad.append(f"{rule} job {job} asked for {tres} on {part}")
if seen["train"] < 5 or seen["other"] < 9:
    bad.append(f"sacct lists {seen['train']} completed train jobs and {seen['other']} others (want 5 and 9 or more)")
if bad:
    print("FAIL: " + "; ".join(bad), file=sys.stderr)
    sys.exit(1)
EOF
say "PASS: SLURM run killed and resumed, summary written, GPU requested by train jobs only"
