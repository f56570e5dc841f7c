#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-16 and runs each for a few seconds over its committed
# corpus (fuzz/corpus/<name>); new inputs go to a scratch copy, not into the repository.
# Usage: scripts/fuzz.sh [seconds per target, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-10}
if ! command -v clang++-16 >/dev/null; then
  if [[ $(id -u) -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang-16 libclang-rt-16-dev >/dev/null
  else
    echo "fuzz: clang-16 missing" >&2; exit 1
  fi
fi
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="-O1 -g" \
  -DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16 -DDRAGON_FUZZ=ON -DDRAGON_TESTS=OFF \
  -DDRAGON_SANITIZE=address,undefined >/dev/null
targets=$(ls fuzz/fuzz_*.cpp | xargs -n1 basename | sed 's/\.cpp$//')
ninja -C build-fuzz $targets
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in $targets; do
  corpus=fuzz/corpus/${t#fuzz_}
  mkdir -p "$scratch/$t"
  cp -r "$corpus"/. "$scratch/$t/" 2>/dev/null || true
  echo "== $t (${SECONDS_PER_TARGET}s)"
  if ! ./build-fuzz/fuzz/$t -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -print_final_stats=1 \
      "$scratch/$t" >"$scratch/$t.log" 2>&1; then
    tail -40 "$scratch/$t.log"
    echo "fuzz: $t found a crash" >&2
    exit 1
  fi
  grep -E "^stat::number_of_executed_units|DONE" "$scratch/$t.log" || true
done
