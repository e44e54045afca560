#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/README.md) in build-fuzz when needed, runs each
# one for SECONDS from a copy of its seed corpus, then replays every file kept under
# tests/fuzz/regressions/<target>/. Exits non-zero on any crash, leak, timeout, OOM,
# sanitizer report or broken invariant, naming the target and the file that shows it.
#   tests/fuzz/run.sh 60                  every target for 60 s
#   tests/fuzz/run.sh 60 host url_target  only these targets
#   tests/fuzz/run.sh 0                   build and replay the regressions only
# Environment: HALLPASS_FUZZ_CXX (the compiler; default clang++-14, Debian 12's own),
# HALLPASS_FUZZ_JOBS (build jobs; default nproc). Artifacts, logs and the grown corpora go
# to a scratch folder whose path is printed; it is kept when something failed.
set -euo pipefail

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 SECONDS [TARGET...]" >&2
  exit 2
fi
seconds=$1
shift
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$repo/build-fuzz
fuzz=$repo/tests/fuzz
all_targets=(body_decoder client_hello config content_scan host inflater list_lines request_body
             request_head text_normalizer url_target)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=("${all_targets[@]}")
fi

if [ -z "${HALLPASS_FUZZ_CXX:-}" ]; then
  for candidate in clang++-14 clang++-16; do
    if command -v "$candidate" > /dev/null; then
      HALLPASS_FUZZ_CXX=$candidate
      break
    fi
  done
fi
if [ -z "${HALLPASS_FUZZ_CXX:-}" ]; then
  echo "fuzz: no clang found; run deploy/install-deps.sh (clang-14 libclang-rt-14-dev)" >&2
  exit 2
fi

if [ ! -f "$build/build.ninja" ]; then
  echo "== fuzz: configuring $build with $HALLPASS_FUZZ_CXX"
  # Debug: -O0 keeps the ASan build of the coroutine units affordable (TOOLCHAIN.md).
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$HALLPASS_FUZZ_CXX" \
    -DCMAKE_BUILD_TYPE=Debug -DHALLPASS_FUZZ=ON -DHALLPASS_BUILD_TESTS=OFF \
    -DHALLPASS_BUILD_BENCH=OFF
fi
echo "== fuzz: building"
cmake --build "$build" -j "${HALLPASS_FUZZ_JOBS:-$(nproc)}" --target hallpass_fuzz

work=$(mktemp -d "${TMPDIR:-/tmp}/hallpass-fuzz-run.XXXXXX")
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for symbolizer in llvm-symbolizer llvm-symbolizer-14; do
  if command -v "$symbolizer" > /dev/null; then
    ASAN_SYMBOLIZER_PATH=$(command -v "$symbolizer")
    export ASAN_SYMBOLIZER_PATH
    break
  fi
done

failures=()
summary=()

# The last "cov:" line and the final stats of a libFuzzer log, as one line.
describe() {
  local log=$1
  local execs speed cov ft corp
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -n 1 | cut -d' ' -f2)
  echo "execs=${execs:-?} exec/s=${speed:-?} cov=${cov:-?} ft=${ft:-?} corpus=${corp:-?}"
}

for target in "${targets[@]}"; do
  binary=$build/tests/fuzz/fuzz_$target
  if [ ! -x "$binary" ]; then
    echo "fuzz: unknown target $target" >&2
    exit 2
  fi
  mkdir -p "$work/corpus/$target" "$work/artifacts/$target" "$work/logs"
  if [ "$seconds" -gt 0 ]; then
    # A copy, so the run's new inputs never land in the repository.
    cp -r "$fuzz/corpus/$target/." "$work/corpus/$target/"
    log=$work/logs/$target.log
    echo "== fuzz: $target for ${seconds}s"
    # One process (no -jobs/-workers): the same as -jobs=1, with the output kept here.
    if "$binary" "$work/corpus/$target" -max_total_time="$seconds" -timeout=60 \
      -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$work/artifacts/$target/" \
      > "$log" 2>&1; then
      summary+=("$target: $(describe "$log")")
    else
      artifact=$(find "$work/artifacts/$target" -type f \( -name 'crash-*' -o -name 'leak-*' \
        -o -name 'timeout-*' -o -name 'oom-*' \) | head -n 1)
      grep -E '^(==[0-9]+==ERROR|SUMMARY|==HALLPASS FUZZ INVARIANT)' "$log" | head -n 5 >&2 || true
      failures+=("$target: ${artifact:-no artifact} (log $log)")
      summary+=("$target: FAILED $(describe "$log")")
    fi
  fi
  # Crashers kept as regression tests: each must now run clean.
  for input in "$fuzz/regressions/$target"/*; do
    [ -f "$input" ] || continue
    case $(basename "$input") in README*) continue ;; esac
    if ! "$binary" -detect_leaks=1 "$input" > "$work/logs/$target.regression.log" 2>&1; then
      grep -E '^(==[0-9]+==ERROR|SUMMARY|==HALLPASS FUZZ INVARIANT)' \
        "$work/logs/$target.regression.log" | head -n 5 >&2 || true
      failures+=("$target: regression $input (log $work/logs/$target.regression.log)")
    fi
  done
done

echo "== fuzz: results"
for line in "${summary[@]}"; do
  echo "  $line"
done
if [ ${#failures[@]} -gt 0 ]; then
  echo "== fuzz: FAILED (scratch kept in $work)"
  for line in "${failures[@]}"; do
    echo "  $line"
  done
  exit 1
fi
rm -rf "$work"
echo "== fuzz: all clean"
