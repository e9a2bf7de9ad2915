#!/usr/bin/env bash
# The end-to-end benchmark (issue 7): MeltWatch against mosquitto_sub on the same backlog, batched
# ingest, and memory with 10 000 signals. Prints a table and writes bench-results/e2e.json.
#
#   bash scripts/bench-e2e.sh [--messages N] [--runs R]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_packages

step "build (release)"
swift build -c release --product meltwatch
swift build -c release --product meltwatch-sim
BIN="$(swift build -c release --show-bin-path)"

step "benchmark (each figure the median of the runs; 2 shared vCPUs: expect ±20 %)"
python3 -u scripts/bench-e2e.py --bin "$BIN" "$@"
