#!/usr/bin/env bash
# Build dnacnn's sdist and wheel from this checkout, install the wheel into a fresh virtual
# environment (no source tree on the path) and run the installed command. What an admin does
# with a wheel from a release or from `git clone --branch vX.Y.Z`.
#   bash scripts/check_package.sh            (about 2 minutes; CI runs it after the tests)
# TORCH_SPEC picks the PyTorch build to install first (default: the CPU build CI uses).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/build-env"
"$work/build-env/bin/pip" install -q build
"$work/build-env/bin/python" -m build --outdir "$work/dist" . > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
wheel=$(ls "$work"/dist/dnacnn-*.whl)
sdist=$(ls "$work"/dist/dnacnn-*.tar.gz)
echo "built $(basename "$sdist") and $(basename "$wheel")"

# What must be inside: the licence, the README as long description, the presets.
python3 - "$wheel" "$sdist" <<'PY'
import sys, tarfile, zipfile
wheel, sdist = sys.argv[1:]
names = zipfile.ZipFile(wheel).namelist()
need = ["dnacnn/models/presets/tfbind.yaml", "dnacnn/cli/__init__.py"]
missing = [n for n in need if n not in names]
licence = [n for n in names if n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE")]
meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
problems = missing + ([] if licence else ["LICENSE in .dist-info"])
problems += [] if "# dnacnn" in meta else ["README as long description"]
problems += [] if "Content-Type: text/markdown" in meta else ["markdown long description"]
presets = [n for n in names if n.startswith("dnacnn/models/presets/")]
in_sdist = tarfile.open(sdist).getnames()
problems += [] if any(n.endswith("/LICENSE") for n in in_sdist) else ["LICENSE in the sdist"]
if problems:
    sys.exit(f"package check: missing {', '.join(problems)}")
print(f"wheel: {len(names)} files, {len(presets)} presets, licence and README included")
PY

python3 -m venv "$work/env"
"$work/env/bin/pip" install -q "${TORCH_SPEC:-torch==2.13.0}"
"$work/env/bin/pip" install -q "$wheel"
cd "$work"  # away from the source tree: the installed package must stand alone
"$work/env/bin/dnacnn" --version
"$work/env/bin/dnacnn" presets > /dev/null
"$work/env/bin/dnacnn" summary tfbind --length 101 --channels 4 | tail -3
echo "package check passed"
