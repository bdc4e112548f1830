#!/usr/bin/env bash
# Builds spacehook with AddressSanitizer + UndefinedBehaviorSanitizer (preset `dev`) and runs every test.
# This is the README's test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
cmake --preset dev
cmake --build --preset dev -j "$(nproc)"
ctest --preset dev -j 2
