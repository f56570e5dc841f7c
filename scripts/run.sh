#!/usr/bin/env bash
# Builds dragon-core (optimised) and runs it on the default config and data dir under .run/
# (created on first start: .run/config/config.json, .run/data). Extra arguments go to dragon-core.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DDRAGON_TESTS=OFF >/dev/null
ninja -C build-release dragon-core
mkdir -p .run
cd .run
exec ../build-release/src/dragon-core "$@"
