#!/usr/bin/env bash
# Runs the fuzz targets of an EW_FUZZ build for a long time (fuzz/README.md). Usually started as
#   tools/dev fuzz [SECONDS]        (builds build-fuzz first)
# Usage: fuzz/run.sh [--seconds N | --hours H] [--jobs J] [--build DIR] [--work DIR] [TARGET...]
#   --seconds/--hours  how long EACH target runs (default 3600 s); then it stops by itself
#   --jobs             targets run at the same time (default: the number of cores)
#   --build            the fuzz build directory (default build-fuzz)
#   --work             where new corpus entries, crash inputs and logs go (default
#                      BUILD/fuzz/work; never the repository): WORK/<target>/, WORK/artifacts/,
#                      WORK/logs/<target>.log
#   TARGET...          some of the targets (default: all *_fuzzer in BUILD/fuzz)
# Each target reads its seed corpus fuzz/corpus/<target>/ (read only) and its work folder, so a
# run continues from what earlier runs found. Prints executions, new inputs and crashes per target;
# exits 1 when a target found a crash (the input is in WORK/artifacts/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
seconds=3600
jobs=$(nproc)
build=build-fuzz
work=""
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --hours) seconds=$(awk -v h="$2" 'BEGIN { printf "%d", h * 3600 }'); shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
work=${work:-$build/fuzz/work}
case "$build" in /*) ;; *) build="$ROOT/$build" ;; esac
case "$work" in /*) ;; *) work="$ROOT/$work" ;; esac
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$build"/fuzz/*_fuzzer; do [ -x "$f" ] && targets+=("$(basename "$f")"); done
fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "no fuzz targets in $build/fuzz: build them first (tools/dev fuzz)" >&2
  exit 2
fi
mkdir -p "$work/artifacts" "$work/logs"
rounds=$(( (${#targets[@]} + jobs - 1) / jobs ))
echo "[fuzz] ${#targets[@]} targets x ${seconds} s, ${jobs} at a time: about $(( rounds * seconds / 60 )) min; work: $work" >&2

run_one() {  # TARGET
  local t=$1 dict=()
  [ -f "$ROOT/fuzz/$t.dict" ] && dict=(-dict="$ROOT/fuzz/$t.dict")
  mkdir -p "$work/$t"
  "$build/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "${dict[@]}" -artifact_prefix="$work/artifacts/$t-" "$work/$t" "$ROOT/fuzz/corpus/$t" \
    >"$work/logs/$t.log" 2>&1
}
export -f run_one
export build work seconds ROOT
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {} || true'

status=0
printf '%-24s %14s %10s %8s  %s\n' target executions exec/s new result >&2
for t in "${targets[@]}"; do
  log="$work/logs/$t.log"
  execs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log" | tail -1)
  rate=$(awk '/stat::average_exec_per_sec/ { print $2 }' "$log" | tail -1)
  new=$(awk '/stat::new_units_added/ { print $2 }' "$log" | tail -1)
  result=ok
  if grep -qE '^==[0-9]+==ERROR|^SUMMARY: |FUZZ_CHECK|deadly signal|Test unit written' "$log"; then
    result="FOUND: $(grep -m1 -oE 'Test unit written to .*' "$log" || echo "see $log")"
    status=1
  fi
  printf '%-24s %14s %10s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${new:-?}" "$result" >&2
done
exit $status
