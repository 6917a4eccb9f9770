#!/usr/bin/env bash
# Before/after figures of docs/benchmarks.md (issue 12): two ltvctl binaries alternated on the
# same files, with the load average before each run. Usage:
#   hack/bench/issue12.sh BEFORE_BIN AFTER_BIN DATA_DIR [ROUNDS]
# DATA_DIR holds tx100k.csv.gz, tx1m.csv.gz and optionally tx10m.csv.gz from cmd/ltv-synth
# (-customers 100000 / 1000000 / 10000000, -seed 1).
set -euo pipefail
before=$1 after=$2 data=$3 rounds=${4:-2}
cd "$(dirname "$0")/../.."
run() { # label binary spec file
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -f "$1 wall %e s user %U s sys %S s maxrss %M KiB load $load" \
    "$2" compute -f "hack/bench/$3.yaml" --data "$data/$4.csv.gz" >/dev/null
}
for r in $(seq "$rounds"); do
  for f in tx100k tx1m; do
    for spec in ltv1m ltv1m-pareto; do
      [[ $f == tx100k && $spec == ltv1m-pareto ]] && continue
      run "$f $spec before" "$before" "$spec" "$f"
      run "$f $spec after " "$after" "$spec" "$f"
    done
  done
done
if [[ -f $data/tx10m.csv.gz ]]; then
  run "tx10m ltv1m after " "$after" ltv1m tx10m
  run "tx10m ltv1m before" "$before" ltv1m tx10m
fi
