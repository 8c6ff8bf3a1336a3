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
# Prints one line per tool with its passed/failed counts and exits non-zero when any test fails or
# the server does not come up (its log is printed then). Not part of CI: it takes ~10 minutes.
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
tools=$(cd "$work/tools/dnacnn" && ls dnacnn_*.xml | sed 's/\.xml$//')
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
echo "galaxy_integration: $(( $(date +%s) - start )) s in all (work folder $work)"
exit $failed
