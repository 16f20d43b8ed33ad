#!/usr/bin/env bash
# Builds the libFuzzer targets in build-fuzz (clang, ASan + UBSan; fuzz/README.md) and runs each
# for RUNS executions (default 1000000) on a scratch copy of its seed corpus in fuzz/corpus/.
# Prints one line per target: executions, executions/s, crashes (0 or 1). Exit status: 0 when no
# target crashed, 1 when one did (the input is kept under build-fuzz/fuzz-runs/<target>/),
# 2 when clang or libFuzzer is missing.
#
#   scripts/fuzz.sh [RUNS] [TARGET...]    TARGET: model_file hf_config measurements plan_file catalog
#   BWPLAN_FUZZ_JOBS=2 scripts/fuzz.sh     run that many targets at once (default 1)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build-fuzz"
runs=${1:-1000000}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(model_file hf_config measurements plan_file catalog)
jobs=${BWPLAN_FUZZ_JOBS:-1}
if ! [[ $runs =~ ^[0-9]+$ && $jobs =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [RUNS] [TARGET...] (RUNS: an integer; BWPLAN_FUZZ_JOBS: a positive integer)" >&2
  exit 2
fi
for t in "${targets[@]}"; do
  if [ ! -d "$root/fuzz/corpus/$t" ]; then
    echo "fuzz.sh: unknown target '$t' (allowed: $(ls "$root/fuzz/corpus" | tr '\n' ' '))" >&2
    exit 2
  fi
done

# libFuzzer comes with clang: Debian packages clang-14 and libclang-rt-14-dev.
if ! command -v clang >/dev/null || ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang/clang++ not found; install Debian packages clang and libclang-rt-14-dev" >&2
  exit 2
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
  >"$probe/probe.cpp"
if ! clang++ -fsanitize=fuzzer,address,undefined "$probe/probe.cpp" -o "$probe/probe" 2>/dev/null; then
  echo "fuzz.sh: clang++ cannot link -fsanitize=fuzzer,address,undefined; install libclang-rt-14-dev" >&2
  exit 2
fi

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DBWPLAN_FUZZ=ON -DBWPLAN_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzz >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# One target: a fresh copy of the seed corpus (libFuzzer adds its finds there, never to
# fuzz/corpus/), the log, and any crashing input, under build-fuzz/fuzz-runs/<target>/.
run_one() {
  local t=$1 dir="$build/fuzz-runs/$1"
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp "$root/fuzz/corpus/$t/"* "$dir/corpus/"
  local rc=0
  "$build/fuzz/fuzz_$t" -runs="$runs" -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
    -dict="$root/fuzz/json.dict" -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
    "$dir/corpus" >"$dir/fuzz.log" 2>&1 || rc=$?
  local execs rate crashed=0
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log" | tail -n1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/fuzz.log" | tail -n1)
  if [ -z "$execs" ]; then # killed before the final stats: the last "#N" status line
    execs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$dir/fuzz.log" | tail -n1)
  fi
  if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$dir/artifacts")" ]; then
    crashed=1
  fi
  printf '%-18s executions %-9s exec/s %-7s crashes %d%s\n' "fuzz_$t" "${execs:-?}" "${rate:-?}" \
    "$crashed" "$([ $crashed -eq 0 ] || echo "  (see $dir/fuzz.log)")" >"$dir/summary"
}

for t in "${targets[@]}"; do
  run_one "$t" &
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
    wait -n || true
  done
done
wait

status=0
for t in "${targets[@]}"; do
  cat "$build/fuzz-runs/$t/summary"
  grep -q 'crashes 0' "$build/fuzz-runs/$t/summary" || status=1
done
exit $status
