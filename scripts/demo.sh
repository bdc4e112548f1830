#!/usr/bin/env bash
# Builds the release binary and runs `spacehook demo`: the README's first command.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release
cmake --build --preset release -j "$(nproc)" --target spacehook
exec build/release/apps/spacehook/spacehook demo "$@"
