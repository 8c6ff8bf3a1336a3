#!/usr/bin/env bash
# Rebuild the binary fixtures in test-data/ of the Galaxy tool tests with the installed dnacnn, the way the tools
# make them (the store folder is called store/ inside the tar):
#   zou_store.tar      dnacnn encode of zou_sequences.txt + zou_labels.txt (random split 160/20/20)
#   zou.dnacnn         dnacnn train of zou_store.tar with the zou2019 preset (40 epochs)
#   rest_B_store.tar   dnacnn encode of rest_B.seq as an external test set (101 bp)
#   not_a_store.tar    a tar archive without a store
# Run it after a change of the store or model file format, then `pytest tests/test_galaxy.py`.
set -euo pipefail
here="$(cd "$(dirname "$0")/test-data" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

mkdir inputs
ln -s "$here/zou_sequences.txt" inputs/zou_sequences.txt
ln -s "$here/zou_labels.txt" labels.txt
dnacnn encode inputs/zou_sequences.txt --out store --format lines --labels labels.txt --seed 0 --no-progress
tar -cf "$here/zou_store.tar" store
dnacnn train store --out zou.dnacnn --model zou2019 --epochs 40 --patience 40 --seed 0 --threads 1 --no-progress
cp zou.dnacnn "$here/zou.dnacnn"

rm -rf store inputs
mkdir inputs
ln -s "$here/rest_B.seq" inputs/rest_B.seq
dnacnn encode inputs/rest_B.seq --out store --format tabular --id-col EventID --label-col Bound --split test --no-progress
tar -cf "$here/rest_B_store.tar" store

echo "not a dnacnn store" > readme.txt
tar -cf "$here/not_a_store.tar" readme.txt
