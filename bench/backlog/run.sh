#!/usr/bin/env bash
# bench/backlog/run.sh: builds the release benchmark and measures enqueue and lease at 10k, 100k and 1M
# queued jobs (see backlog_bench.cpp for what each column is).
#
#   bench/backlog/run.sh                                  # all three sizes, defaults
#   bench/backlog/run.sh --sizes=10k,100k                 # any flag of spacehook_bench_backlog is passed on
#   DB_DIR=/dev/shm RESULTS=/tmp/backlog.txt bench/backlog/run.sh
#
# Environment: DB_DIR (where the database files go; default /var/tmp, a real disk: tmpfs would make
# fsync free), BUILD_DIR (default build/backlog-rel), JOBS (build parallelism, 2), RESULTS (also write
# the output there), SKIP_BUILD=1 (use the binary already built).
#
# Time on the reference machine (2 shared vCPUs, see docs/benchmarks.md): the 1M fill takes 1-1.5 minutes;
# each of the five measured shapes stops after its count or --budget (60 s). The full 10k/100k/1M run took
# 12.5-13.5 minutes before the lease fix (every lease shape ran into the budget; 1M alone 5-6 minutes) and
# 6.5 minutes after it (1M: 3 minutes). Disk: ~2.3 KB per queued job (2.3 GiB at 1M), removed at the end.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${BUILD_DIR:-$root/build/backlog-rel}
db_parent=${DB_DIR:-/var/tmp}

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    (cd "$root" && cmake --preset release -B "$build" -DSPACEHOOK_BENCH=ON -DBUILD_TESTING=OFF >/dev/null)
    cmake --build "$build" -j"${JOBS:-2}" --target spacehook_bench_backlog
fi
bin=$build/bench/backlog/spacehook_bench_backlog
[[ -x "$bin" ]] || { echo "run.sh: $bin was not built" >&2; exit 1; }

dir=$(mktemp -d "$db_parent/spacehook-backlog-XXXXXX")
trap 'rm -rf "$dir"' EXIT

{
    echo "# bench/backlog, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
        echo "commit: $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- libs/store libs/worker migrations || echo ' + uncommitted changes in libs/store, libs/worker or migrations')"
    else
        echo "commit: unknown ($root is not a git checkout)"
    fi
    echo "nproc: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "database dir: $dir, filesystem $(findmnt -n -o FSTYPE -T "$dir") ($(findmnt -n -o SOURCE -T "$dir"))"
    df -h "$dir"
    echo
} | tee ${RESULTS:+"$RESULTS"}

started=$(date +%s)
"$bin" --dir="$dir" "$@" | tee ${RESULTS:+-a "$RESULTS"}
echo "run.sh: $(($(date +%s) - started)) s, load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee ${RESULTS:+-a "$RESULTS"}
