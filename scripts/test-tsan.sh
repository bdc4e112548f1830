#!/usr/bin/env bash
# Builds spacehook with ThreadSanitizer (preset `tsan`) and runs every test under it. .ci/run calls it after
# scripts/test.sh; any data race report fails the test that produced it (halt_on_error).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:history_size=4}"
cmake --preset tsan
cmake --build --preset tsan -j "$(nproc)"
ctest --preset tsan -j 2
