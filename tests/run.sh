#!/usr/bin/env bash
# The whole test suite, as the README's second command and CI run it: install what is
# needed, build, run every unit and integration test, then the same suite again built with
# AddressSanitizer and UndefinedBehaviorSanitizer, then every fuzz target for a bounded time
# (HALLPASS_FUZZ_SECONDS each, default 20) and every crasher kept as a regression.
#   tests/run.sh             everything
#   tests/run.sh --quick     the normal build only (no sanitizer pass, no fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc)
bash deploy/install-deps.sh

build_and_test() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja "$@"
  cmake --build "$dir" -j "$jobs"
  ctest --test-dir "$dir" --output-on-failure -j 1
}

echo "== tests: release build"
build_and_test build -DCMAKE_BUILD_TYPE=RelWithDebInfo

if [ "${1:-}" != "--quick" ]; then
  echo "== tests: ASan + UBSan build"
  # -O0: sanitizer builds at -O1 take 3x longer to compile here (TOOLCHAIN.md).
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    build_and_test build-sanitize -DCMAKE_BUILD_TYPE=Debug -DHALLPASS_SANITIZE=ON \
    -DHALLPASS_BUILD_BENCH=OFF

  echo "== tests: fuzz targets"
  bash tests/fuzz/run.sh "${HALLPASS_FUZZ_SECONDS:-20}"
fi
