#!/usr/bin/env bash
# Runs every Edgewise benchmark and rewrites benchmarks/RESULTS.md:
#   1. builds Release into $BUILD (default build/) if the binaries are missing or stale;
#   2. runs every Google Benchmark executable build/benchmarks/*_bench (JSON output);
#   3. the end-to-end harness (benchmarks/e2e/e2e.py): ingest per server CPU-second for protobuf,
#      gzip and JSON, pending memory per half, and a 7-day rollup store (bytes per edge-minute,
#      map query latency);
#   4. the VictoriaMetrics peer (benchmarks/vm/vm_compare.py) on the same rollups;
#   5. benchmarks/e2e/write_results.py -> benchmarks/RESULTS.md: the sections it generates are
#      replaced in place; hand-written sections (restart, fuzzing, model check, ...) are kept.
# Usage: benchmarks/run_all.sh [--quick] [--no-build] [--skip-micro] [--skip-vm]
# Environment: BUILD (build dir), JOBS (build parallelism), RUN_DIR (keep raw JSON there).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-$(nproc)}
QUICK="" ; NO_BUILD="" ; SKIP_MICRO="" ; SKIP_VM=""
for a in "$@"; do
  case "$a" in
    --quick) QUICK=--quick ;;
    --no-build) NO_BUILD=1 ;;
    --skip-micro) SKIP_MICRO=1 ;;
    --skip-vm) SKIP_VM=1 ;;
    *) echo "usage: $0 [--quick] [--no-build] [--skip-micro] [--skip-vm]" >&2; exit 2 ;;
  esac
done
log() { echo "[bench] $*" >&2; }
RUN_DIR=${RUN_DIR:-$(mktemp -d -t ew-bench-run-XXXXXX)}
mkdir -p "$RUN_DIR/micro"

if [ -z "$NO_BUILD" ]; then
  if [ ! -f "$BUILD/build.ninja" ]; then
    cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  log "building Release in $BUILD"
  targets=(edgewise edgewise-loadgen edgewise-ctl)
  for src in benchmarks/*_bench.cc; do
    [ -e "$src" ] && targets+=("$(basename "$src" .cc)")
  done
  cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]}"
fi

if [ -z "$SKIP_MICRO" ]; then
  for bin in "$BUILD"/benchmarks/*_bench; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    log "micro: $name"
    min_time=${QUICK:+0.05}
    extra=()
    # The query targets are medians of server-side time: 5 repetitions, medians reported.
    [ "$name" = query_bench ] && [ -z "$QUICK" ] &&
      extra=(--benchmark_repetitions=5 --benchmark_report_aggregates_only=true)
    "$bin" --benchmark_format=console --benchmark_out_format=json \
      --benchmark_out="$RUN_DIR/micro/$name.json" --benchmark_min_time="${min_time:-0.5}" \
      "${extra[@]}" >&2 || log "$name failed"
  done
fi

log "end to end (raw results in $RUN_DIR)"
python3 benchmarks/e2e/e2e.py --build "$BUILD" --out "$RUN_DIR/e2e.json" --tmp "$RUN_DIR" $QUICK \
  || log "end-to-end harness reported an error (see $RUN_DIR/e2e.json)"

if [ -z "$SKIP_VM" ]; then
  read -r vm_file edge_minutes end_minute < <(python3 - "$RUN_DIR/e2e.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])).get("rollups")
print(r["vm_import_file"], r["summary"]["edge_minutes"], r["summary"]["end_minute"]) if r else print("- 0 0")
PY
)
  if [ "$vm_file" != "-" ]; then
    log "VictoriaMetrics peer"
    python3 benchmarks/vm/vm_compare.py --import "$vm_file" --edge-minutes "$edge_minutes" \
      --end-minute "$end_minute" --out "$RUN_DIR/vm.json" --tmp "$RUN_DIR" ${QUICK:+--reps 10} \
      || log "VictoriaMetrics run reported an error (see $RUN_DIR/vm.json)"
    rm -f "$vm_file"
  fi
fi

rm -rf "$RUN_DIR"/ew-bench-*/rollups  # the 7-day store; the figures are in e2e.json
python3 benchmarks/e2e/write_results.py --dir "$RUN_DIR" --out benchmarks/RESULTS.md \
  --command "benchmarks/run_all.sh $*"
log "wrote benchmarks/RESULTS.md (raw JSON in $RUN_DIR)"
