#!/usr/bin/env bash
# Installs what building and testing Dragon Core needs: Debian packages (as root), the npm packages
# embedded into the binary, and the Python test tools. Idempotent and quick when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # build
  g++ cmake ninja-build ccache pkg-config git
  libboost1.74-dev nlohmann-json3-dev libfmt-dev libssl-dev zlib1g-dev libsrtp2-dev libcurl4-openssl-dev libsrt-openssl-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev ffmpeg srt-tools wrk curl openssl python3 procps
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing Debian packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v npm >/dev/null; then
  if [[ $(id -u) -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  else
    echo "install-deps: npm is missing" >&2
    exit 1
  fi
fi
if [[ ! -f web/node_modules/.package-lock.json || web/package-lock.json -nt web/node_modules/.package-lock.json ]]; then
  echo "install-deps: npm ci (web/)"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi

# Test tools: pytest for the integration tests (the machine's python3).
if [[ "${1:-}" == "--tests" ]]; then
  # Independent peers for the WebRTC tests (Debian's aiortc under /usr/bin/python3, Chromium for
  # playwright-core) and promtool for the metrics checks.
  TEST_PACKAGES=(python3-aiortc chromium prometheus)
  missing=()
  for p in "${TEST_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
      echo "install-deps: missing Debian test packages: ${missing[*]} (run as root to install them)" >&2
      exit 1
    fi
    echo "install-deps: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if ! python3 -c "import yaml" >/dev/null 2>&1; then
    echo "install-deps: pip install pyyaml"
    python3 -m pip install --quiet pyyaml
  fi
  if ! python3 -m pytest --version >/dev/null 2>&1; then
    echo "install-deps: pip install pytest"
    python3 -m pip install --quiet pytest || apt-get install -y -qq python3-pytest >/dev/null
  fi
fi

# Peers for the benchmarks in bench/ (not needed by the tests): nginx for the HLS comparison and
# nginx's RTMP module for the relay comparison.
if [[ "${1:-}" == "--bench" ]]; then
  BENCH_PACKAGES=(nginx libnginx-mod-rtmp wrk)
  missing=()
  for p in "${BENCH_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
      echo "install-deps: missing Debian bench packages: ${missing[*]} (run as root to install them)" >&2
      exit 1
    fi
    echo "install-deps: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
