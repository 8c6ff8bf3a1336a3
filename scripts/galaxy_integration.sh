#!/usr/bin/env bash
# Run every <test> of the dnacnn Galaxy tools in a real Galaxy server, installed from the package
# registry (galaxy-app + galaxy-web-apps, API only, SQLite), then stop it.
#
#   bash scripts/galaxy_integration.sh            # needs `dnacnn` on PATH (the project's venv)
#
# Environment: GALAXY_VENV  reuse a venv that already holds galaxy-app (default: a new one in the
#                           work folder, ~3 minutes to install)
#              GALAXY_WORK  folder for the server's config, database and jobs (default: a temp dir)
#              GALAXY_PORT  (default 8089)
#              GALAXY_TOOLS tool ids to test (default: every galaxy/dnacnn_*.xml)
# Prints one line per tool with its passed/failed counts, then checks two things an admin relies on:
# a dnacnn model uploaded with type "auto" is sniffed as safetensors, and the job configuration's
# rule sends dnacnn_train (only) to the "gpu" environment. Exits non-zero when a test or a check
# fails or the server does not come up (its log is printed then). Not part of CI: ~11 minutes.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dnacnn_bin=$(dirname "$(command -v dnacnn || { echo "galaxy_integration: dnacnn is not on PATH; activate the project's venv" >&2; exit 1; })")
work=${GALAXY_WORK:-$(mktemp -d)}
venv=${GALAXY_VENV:-$work/venv}
port=${GALAXY_PORT:-8089}
key=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
start=$(date +%s)

if [ ! -x "$venv/bin/galaxy-web" ]; then
    echo "installing Galaxy into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "galaxy-app==26.1.2" "galaxy-web-apps==26.1.2"
fi

mkdir -p "$work/data" "$work/tools"
cp -r "$repo/galaxy" "$work/tools/dnacnn"
tools=${GALAXY_TOOLS:-$(cd "$work/tools/dnacnn" && ls dnacnn_*.xml | sed 's/\.xml$//')}
{
    echo '<?xml version="1.0"?>'
    echo '<toolbox tool_path="'"$work"'/tools">'
    echo '  <section id="dnacnn" name="dnacnn">'
    for t in $tools; do echo "    <tool file=\"dnacnn/$t.xml\"/>"; done
    echo '  </section>'
    echo '</toolbox>'
} > "$work/tool_conf.xml"
cat > "$work/galaxy.yml" <<YAML
galaxy:
  data_dir: $work/data
  database_connection: sqlite:///$work/data/universe.sqlite?isolation_level=IMMEDIATE
  tool_config_file: $work/tool_conf.xml
  tool_data_path: $work/data/tool-data
  master_api_key: $key
  admin_users: admin@example.org
  allow_user_creation: true
  conda_auto_init: false
  conda_auto_install: false
  watch_tools: false
  cleanup_job: never
  allow_path_paste: true
  job_config_file: $work/job_conf.yml
YAML
# The docs' static job configuration: dnacnn_train to its own environment. Here both are the local
# runner; on a cluster "gpu" would be e.g. runner: slurm with native_specification: --gres=gpu:1.
cat > "$work/job_conf.yml" <<YAML
runners:
  local:
    load: galaxy.jobs.runners.local:LocalJobRunner
    workers: 2
execution:
  default: cpu
  environments:
    cpu:
      runner: local
    gpu:
      runner: local
      local_slots: 2
tools:
  - id: dnacnn_train
    environment: gpu
YAML

# The jobs find dnacnn on PATH (the tools' requirement is resolved by no resolver here).
PATH="$dnacnn_bin:$PATH" "$venv/bin/galaxy-web" -c "$work/galaxy.yml" -b "127.0.0.1:$port" > "$work/galaxy.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
    if curl -sf "http://127.0.0.1:$port/api/version" > /dev/null; then break; fi
    if ! kill -0 $server 2>/dev/null; then tail -40 "$work/galaxy.log"; echo "galaxy_integration: the server exited" >&2; exit 1; fi
    sleep 2
done
curl -sf "http://127.0.0.1:$port/api/version" > /dev/null || { tail -40 "$work/galaxy.log"; echo "galaxy_integration: no server after 10 minutes" >&2; exit 1; }
echo "Galaxy $(curl -s "http://127.0.0.1:$port/api/version") up after $(( $(date +%s) - start )) s"

failed=0
for t in $tools; do
    out="$work/results-$t.json"
    "$venv/bin/galaxy-tool-test" -u "http://127.0.0.1:$port" -a "$key" -t "$t" -j "$out" \
        --parallel-tests 1 > "$work/test-$t.log" 2>&1 || true
    read -r n ok < <(python3 - "$out" <<'PY'
import json, sys
try:
    tests = json.load(open(sys.argv[1]))["tests"]
except (OSError, ValueError, KeyError):
    tests = []
status = [t.get("data", {}).get("status") for t in tests]
print(len(status), status.count("success"))
PY
)
    echo "$t: $ok of $n tests passed"
    if [ "$n" = 0 ] || [ "$ok" != "$n" ]; then failed=1; tail -30 "$work/test-$t.log"; fi
done

# An upload typed "auto" must be sniffed as safetensors; each job ran where job_conf.yml sends it.
"$venv/bin/python" - "http://127.0.0.1:$port" "$key" "$repo/galaxy/test-data/zou.dnacnn" <<'PY' || failed=1
import sys, time
import requests

url, master, model = sys.argv[1:]
api = lambda path: f"{url}/api/{path}"
users = requests.get(api("users"), params={"f_email": "admin@example.org"}, headers={"x-api-key": master}).json()
if not users:
    users = [requests.post(api("users"), headers={"x-api-key": master},
                           json={"username": "admin", "email": "admin@example.org", "password": "admin-pass-123"}).json()]
key = requests.post(api(f"users/{users[0]['id']}/api_key"), headers={"x-api-key": master}).json()
head = {"x-api-key": key}
history = requests.post(api("histories"), headers=head, json={"name": "sniff"}).json()["id"]
fetch = {"history_id": history, "targets": [{"destination": {"type": "hdas"},
         "elements": [{"src": "path", "path": model, "ext": "auto", "name": "upload.dnacnn"}]}]}
job = requests.post(api("tools/fetch"), headers=head, json=fetch).json()
hda = job["outputs"][0]["id"]
for _ in range(120):
    info = requests.get(api(f"datasets/{hda}"), headers=head).json()
    if info["state"] in ("ok", "error", "failed_metadata"):
        break
    time.sleep(1)
sniffed = info.get("extension")
print(f"upload of zou.dnacnn typed auto: state {info['state']}, sniffed as {sniffed}")
ok = info["state"] == "ok" and sniffed == "safetensors"
jobs = requests.get(api("jobs"), headers={"x-api-key": master}, params={"limit": 500, "view": "admin_job_list"}).json()
where = {}
for j in jobs:
    tool = j["tool_id"].split("/")[-2] if "/" in j["tool_id"] else j["tool_id"]
    if tool.startswith("dnacnn_"):
        params = requests.get(api(f"jobs/{j['id']}/destination_params"), headers={"x-api-key": master}).json()
        where.setdefault(tool, set()).add(str(params.get("local_slots", "default")))
print("job destinations (local_slots: 2 = the gpu environment):", {t: sorted(w) for t, w in sorted(where.items())})
routed = where.get("dnacnn_train") == {"2"} and all(w == {"default"} for t, w in where.items() if t != "dnacnn_train")
if not ok:
    print("galaxy_integration: a dnacnn model upload is not sniffed as safetensors", file=sys.stderr)
if not routed:
    print("galaxy_integration: job_conf.yml did not send dnacnn_train (only) to the gpu environment", file=sys.stderr)
sys.exit(0 if ok and routed else 1)
PY
echo "galaxy_integration: $(( $(date +%s) - start )) s in all (work folder $work)"
exit $failed
