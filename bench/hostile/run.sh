#!/usr/bin/env bash
# bench/hostile: hostile input against a release `spacehook serve`, with RSS before / peak / after per attack.
#
#   bench/hostile/run.sh [SPACEHOOK_BINARY] [-- hostile.py options: --only NAME,... --idle N --json FILE]
#
# Builds nothing. The binary is $1, else $SPACEHOOK, else build/hostile-rel/apps/spacehook/spacehook
# (cmake --preset release -B build/hostile-rel && cmake --build build/hostile-rel --target spacehook).
# Each attack gets a fresh server on a fresh database in a temp dir (removed afterwards); loopback only;
# every attack is bounded in time (30 s at most). The table is markdown, ready for docs/benchmarks.md.
# Exit status: 0 every attack got the expected answers, 3 some did not, 1 setup failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
if [[ $# -gt 0 && "$1" != "--" ]]; then
    SPACEHOOK=$1
    shift
fi
[[ "${1:-}" == "--" ]] && shift
SPACEHOOK=${SPACEHOOK:-$root/build/hostile-rel/apps/spacehook/spacehook}

[[ -x "$SPACEHOOK" ]] || { echo "spacehook binary not found: $SPACEHOOK (build the release preset first)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }
# 10,000 idle connections need 10,000 descriptors in this process and in the server (which inherits the limit).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "binary:  $SPACEHOOK ($("$SPACEHOOK" --version 2>/dev/null || echo unknown version))"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "limits:  RLIMIT_NOFILE $(ulimit -n), somaxconn $(cat /proc/sys/net/core/somaxconn 2>/dev/null || echo ?)"
echo
exec python3 "$here/hostile.py" --binary "$SPACEHOOK" "$@"
