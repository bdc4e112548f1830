#!/usr/bin/env bash
# Installs the Debian (bookworm) packages spacehook needs to build, test and benchmark.
# Idempotent: packages already present are skipped. Run as root (or with sudo available).
set -euo pipefail

build_pkgs=(build-essential cmake ccache pkg-config
            libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
            libssl-dev libsqlite3-dev libfmt-dev doctest-dev sqlite3 python3 libpq-dev)
test_pkgs=(postgresql nginx-light pgbouncer chromium chromium-driver)   # the tests' throwaway PostgreSQL cluster (scripts/pg-test-cluster.sh), load balancer, pooling proxy, the admin UI's browser
fuzz_pkgs=(clang-14 libclang-rt-14-dev)   # libFuzzer + clang's sanitizer runtimes (scripts/fuzz.sh)
bench_pkgs=(nginx-light wrk)

want=("${build_pkgs[@]}")
for arg in "$@"; do
  case "$arg" in
    --bench) want+=("${bench_pkgs[@]}") ;;
    --test) want+=("${test_pkgs[@]}") ;;
    --fuzz) want+=("${fuzz_pkgs[@]}") ;;
    *) echo "install-deps: unknown option $arg (use --bench, --fuzz, --test)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
