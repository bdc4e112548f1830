#!/usr/bin/env bash
# bench/ingest/profile.sh: where spacehook's ingestion time goes. Companion to run.sh (same deliveries, same
# wrk script, same minimal config: no rules, ingestion only).
#
#   bench/ingest/profile.sh perf      [SPACEHOOK_BINARY]   sampled CPU profile of a wrk run (perf record)
#   bench/ingest/profile.sh callgrind [SPACEHOOK_BINARY]   instructions per delivery (valgrind callgrind)
#
# perf: `perf record -F 999 --call-graph dwarf` on the running server for DURATION seconds of load, then
#   the top functions by self and by inclusive (children) share, and the share of each thread. perf stat
#   counts context switches and fsync/fdatasync calls over the same window.
# callgrind: starts spacehook under callgrind, zeroes the counters once it answers /healthz (startup and
#   migrations are not counted), sends deliveries with wrk (fewer connections, long timeout: the server runs
#   ~50x slower), dumps, and divides: instructions per accepted delivery, in total and per function
#   (inclusive). Callgrind runs one thread at a time, so group-commit batches are smaller than natively;
#   the per-batch costs (BEGIN/COMMIT, fsync) are reported with their call counts for that reason.
#
# Knobs: CONNECTIONS (32 perf, 8 callgrind), WRK_THREADS=1, DURATION (10 perf, 20 callgrind),
# SERVER_THREADS=1, RATE_CAP=60000 (perf; 2000 callgrind), RESULTS=dir to keep the raw profiles.
# Loopback only, bounded in time; the trap stops what it started and removes its temp dirs.
set -euo pipefail

mode=${1:-}
[[ "$mode" == perf || "$mode" == callgrind ]] || { sed -n '2,19p' "$0" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
SPACEHOOK=${2:-${SPACEHOOK:-$root/build/release/apps/spacehook/spacehook}}
if [[ "$mode" == perf ]]; then d_conn=32 d_dur=10 d_rate=60000; else d_conn=8 d_dur=20 d_rate=2000; fi
CONNECTIONS=${CONNECTIONS:-$d_conn}
WRK_THREADS=${WRK_THREADS:-1}
DURATION=${DURATION:-$d_dur}
SERVER_THREADS=${SERVER_THREADS:-1}
RATE_CAP=${RATE_CAP:-$d_rate}
RESULTS=${RESULTS:-}
SECRET='bench-S3cret-Key_01'
WEBHOOK_PATH=/docspace/webhook
util() { python3 "$here/bench_util.py" "$@"; }
log() { printf '[profile %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

[[ -x "$SPACEHOOK" ]] || { echo "spacehook binary not found: $SPACEHOOK" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is required" >&2; exit 1; }
if [[ "$mode" == perf ]]; then command -v perf >/dev/null || { echo "perf is required" >&2; exit 1; }
else command -v valgrind >/dev/null && command -v callgrind_control >/dev/null || { echo "valgrind is required" >&2; exit 1; }; fi

work=$(mktemp -d /tmp/spacehook-profile.XXXXXX)
if [[ -d /dev/shm && -w /dev/shm ]]; then data=$(mktemp -d /dev/shm/spacehook-profile.XXXXXX); else data=$work/data; mkdir -p "$data"; fi
server_pid=
aux_pid=
stop_pid() {
    local pid=$1 sig=$2 secs=${3:-15}
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill "-$sig" "$pid" 2>/dev/null || true
    for _ in $(seq $((secs * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    stop_pid "$aux_pid" INT
    stop_pid "$server_pid" TERM 60
    if [[ -n "$RESULTS" ]]; then
        mkdir -p "$RESULTS"
        cp -r "$work"/*.txt "$work"/*.log "$work"/callgrind.out* "$work"/perf.data "$RESULTS"/ 2>/dev/null || true
    fi
    rm -rf "$work" "$data"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

count=$(((DURATION + 2) * RATE_CAP))
log "generating $count deliveries"
python3 "$here/gen_deliveries.py" --secret "$SECRET" --out "$data" --name d --threads "$WRK_THREADS" \
    --count "$count" --first-id 1
python3 "$here/gen_deliveries.py" --secret "$SECRET" --out "$data" --name warm --threads "$WRK_THREADS" \
    --count $((2 * RATE_CAP)) --first-id 500000000

port=$(util free-port)
db=$work/spacehook.db
cat >"$work/spacehook.json" <<EOF
{"server": {"listen": "127.0.0.1:$port", "threads": $SERVER_THREADS},
 "database": "$db",
 "webhooks": [{"path": "$WEBHOOK_PATH", "secrets": ["$SECRET"]}]}
EOF
url="http://127.0.0.1:$port$WEBHOOK_PATH"
wrk_run() {  # wrk_run NAME SECONDS SET TIMEOUT
    timeout $(($2 + 120)) wrk -t "$WRK_THREADS" -c "$CONNECTIONS" -d "${2}s" --timeout "$4" --latency \
        -s "$here/deliveries.lua" "$url" -- "$data/$3" >"$work/$1.txt" 2>&1
    grep '^{"duration_us"' "$work/$1.txt" | tail -n1
}
accepted() { util metric "http://127.0.0.1:$port/metrics" spacehook_deliveries_total result=accepted; }

if [[ "$mode" == perf ]]; then
    "$SPACEHOOK" serve --config "$work/spacehook.json" >"$work/spacehook.log" 2>&1 &
    server_pid=$!
    util wait-http "http://127.0.0.1:$port/healthz" 15 || { cat "$work/spacehook.log" >&2; exit 1; }
    wrk_run warmup 2 warm 5s >/dev/null
    log "perf record on pid $server_pid for ${DURATION}s of load ($CONNECTIONS connections)"
    perf record -F 999 --call-graph dwarf,32768 -o "$work/perf.data" -p "$server_pid" 2>"$work/perf-record.log" &
    aux_pid=$!
    perf stat -e task-clock,context-switches,cpu-migrations,syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync \
        -e syscalls:sys_enter_pwrite64,syscalls:sys_enter_sendmsg,syscalls:sys_enter_recvfrom,syscalls:sys_enter_epoll_wait \
        -e syscalls:sys_enter_futex,syscalls:sys_enter_write,syscalls:sys_enter_read,syscalls:sys_enter_sendto \
        -p "$server_pid" -o "$work/perf-stat.txt" &
    stat_pid=$!
    before=$(accepted)
    result=$(wrk_run run "$DURATION" d 5s)
    kill -INT "$stat_pid"; wait "$stat_pid" 2>/dev/null || true
    stop_pid "$aux_pid" INT 60
    aux_pid=
    after=$(accepted)
    echo "wrk: $result"
    echo "accepted during the window: $((after - before))"
    echo
    echo "== perf stat over the window"
    grep -v '^#' "$work/perf-stat.txt" | sed '/^$/d'
    echo
    echo "== CPU share by thread (perf report --sort tid)"
    perf report -i "$work/perf.data" --no-children --sort pid --stdio -g none 2>/dev/null | grep -v '^#' | sed '/^$/d' | head -20 || true
    echo
    echo "== top functions by self time (perf report --no-children --sort dso,sym)"
    perf report -i "$work/perf.data" --no-children --sort dso,sym --stdio -g none --percent-limit 0.7 2>/dev/null |
        grep -v '^#' | sed '/^$/d' | head -60 | tee "$work/perf-self.txt" || true
    echo
    echo "== top functions by inclusive time (perf report --children --sort sym)"
    perf report -i "$work/perf.data" --children --sort sym --stdio -g none --percent-limit 3 2>/dev/null |
        grep -v '^#' | sed '/^$/d' | head -90 | tee "$work/perf-children.txt" || true
    perf report -i "$work/perf.data" --no-children --sort pid,sym --stdio -g caller,0.5,callee --percent-limit 2 \
        >"$work/perf-callers.txt" 2>/dev/null || true
    stop_pid "$server_pid" TERM
    server_pid=
else
    valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" --dump-instr=no --collect-systime=nsec \
        "$SPACEHOOK" serve --config "$work/spacehook.json" >"$work/spacehook.log" 2>"$work/valgrind.log" &
    server_pid=$!
    util wait-http "http://127.0.0.1:$port/healthz" 120 || { cat "$work/valgrind.log" "$work/spacehook.log" >&2; exit 1; }
    wrk_run warmup 2 warm 60s >/dev/null
    sleep 1  # let the warm-up's last commits land before zeroing
    before=$(accepted)
    callgrind_control -z "$server_pid" >/dev/null
    log "callgrind: counters zeroed; ${DURATION}s of load with $CONNECTIONS connections"
    result=$(wrk_run run "$DURATION" d 60s)
    util rows "$db" >/dev/null  # waits until the rows stop moving
    after=$(accepted)
    callgrind_control -d "$server_pid" >/dev/null
    n=$((after - before))
    echo "wrk: $result"
    echo "accepted deliveries in the counted window: $n"
    stop_pid "$server_pid" TERM 120
    server_pid=
    dump=$(ls -t "$work"/callgrind.out.* 2>/dev/null | head -n1)
    [[ -n "$dump" ]] || { echo "no callgrind dump" >&2; exit 1; }
    python3 "$here/callgrind_summary.py" "$dump" "$n" 45 | tee "$work/callgrind-summary.txt"
fi
