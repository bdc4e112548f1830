#!/usr/bin/env bash
# bench/ingest: spacehook's durable ingestion against nginx's static 200, same client, same run.
#
#   bench/ingest/run.sh [SPACEHOOK_BINARY]
#
# Builds nothing. The binary is $1, else $SPACEHOOK, else build/release/apps/spacehook/spacehook.
# Knobs (environment):
#   CONNECTIONS=32      wrk connections, for both servers
#   WRK_THREADS=1       wrk threads
#   DURATION=10         seconds of the measured run, for each server
#   WARMUP=3            seconds of warm-up before it, for each server
#   SERVER_THREADS=1    spacehook "server.threads" and nginx worker_processes
#   RATE_CAP=60000      deliveries generated per second of run (DURATION*RATE_CAP for the measured run,
#                       WARMUP*RATE_CAP for the warm-up); a faster server exhausts them and gets duplicates,
#                       which are counted and reported separately
#   DB_DIR=             directory (on the disk under test) for spacehook's database; default a temp dir in /tmp
#   RESULTS=            directory to keep result.json, the wrk outputs and the server logs in
#   COUNT_FSYNC=1       count spacehook's fsync/fdatasync calls and their latency during the measured run
#                       with `perf trace -s -e fsync,fdatasync` (traces only those two syscalls, a few
#                       hundred a second); 0 to skip
#   POSTGRESQL=auto     also run spacehook on PostgreSQL (a throwaway cluster of scripts/pg-test-cluster.sh,
#                       fsync and synchronous_commit on, its data directory under /tmp like the SQLite file's):
#                       1 = required, 0 = skip, auto = when Debian's postgresql server is installed
#   PG_POOL=2           database.pool for that run
#   CHECKPOINT_PAGES=   SQLite database.checkpoint_pages (default: spacehook's, 1000; 0 = SQLite checkpoints
#                       inside the commit, as before issue G)
#
# Every delivery is distinct (event.id and payload.id), pre-signed by gen_deliveries.py and sent by
# deliveries.lua, which counts accepted / duplicate / non-2xx answers. Afterwards the events table is counted
# with python3's sqlite3 module (psql for PostgreSQL) and checked against the accepted answers and the server's
# own counter.
# Loopback only, bounded in time; the trap stops what it started and removes its temp dirs (on SIGTERM, once
# the wrk call under way returns: at most DURATION seconds later).
# Exit status: 0 ok, 1 setup failure, 3 verification mismatch.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
SPACEHOOK=${1:-${SPACEHOOK:-$root/build/release/apps/spacehook/spacehook}}
CONNECTIONS=${CONNECTIONS:-32}
WRK_THREADS=${WRK_THREADS:-1}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
SERVER_THREADS=${SERVER_THREADS:-1}
RATE_CAP=${RATE_CAP:-60000}
DB_DIR=${DB_DIR:-}
RESULTS=${RESULTS:-}
COUNT_FSYNC=${COUNT_FSYNC:-1}
POSTGRESQL=${POSTGRESQL:-auto}
PG_POOL=${PG_POOL:-2}
if [[ "$POSTGRESQL" == auto ]]; then
    if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then POSTGRESQL=1; else POSTGRESQL=0; fi
fi
SECRET='bench-S3cret-Key_01'
WEBHOOK_PATH=/docspace/webhook
util() { python3 "$here/bench_util.py" "$@"; }
log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

[[ -x "$SPACEHOOK" ]] || { echo "spacehook binary not found: $SPACEHOOK (build the release preset first)" >&2; exit 1; }
for tool in wrk nginx python3; do
    command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done
NGINX=$(command -v nginx)

work=$(mktemp -d /tmp/spacehook-bench.XXXXXX)
# Deliveries go to tmpfs when there is one, so writing them does not share the disk (or an ext4 journal
# commit) with the database under test.
if [[ -d /dev/shm && -w /dev/shm ]]; then data=$(mktemp -d /dev/shm/spacehook-bench.XXXXXX); else data=$work/data; mkdir -p "$data"; fi
nginx_pid=
spacehook_pid=
perf_pid=
pg_state=

stop_pid() {  # stop_pid PID SIGNAL: signal it, wait up to 15 s, then SIGKILL
    local pid=$1 sig=$2
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill "-$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    stop_pid "$perf_pid" INT
    stop_pid "$nginx_pid" QUIT
    stop_pid "$spacehook_pid" TERM
    [[ -n "$pg_state" ]] && bash "$root/scripts/pg-test-cluster.sh" stop "$pg_state" || true
    if [[ -n "$RESULTS" ]]; then
        mkdir -p "$RESULTS"
        cp "$work"/*.json "$work"/*.txt "$work"/*.log "$work"/*.cpu "$RESULTS"/ 2>/dev/null || true
    fi
    rm -rf "$work" "$data"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. deliveries -------------------------------------------------------------------------------------
python3 "$here/gen_deliveries.py" --self-test >/dev/null
warm_count=$((WARMUP * RATE_CAP))
run_count=$((DURATION * RATE_CAP))
log "generating $warm_count warm-up + $run_count measured deliveries in $data"
python3 "$here/gen_deliveries.py" --secret "$SECRET" --out "$data" --name warm --threads "$WRK_THREADS" \
    --count "$warm_count" --first-id 1
python3 "$here/gen_deliveries.py" --secret "$SECRET" --out "$data" --name run --threads "$WRK_THREADS" \
    --count "$run_count" --first-id 100000000
# The signer must agree with spacehook's own.
head -n1 "$data/run-0.txt" | cut -d' ' -f2- | tr -d '\n' >"$work/first-body.json"
want=$(head -n1 "$data/run-0.txt" | cut -d' ' -f1)
got=$("$SPACEHOOK" sign --secret "$SECRET" "$work/first-body.json")
[[ "$got" == "$want" ]] || { echo "signature mismatch: generator $want, spacehook sign $got" >&2; exit 1; }

# The disk's own durable-commit figures, without spacehook, just before spacehook starts and again after it
# stops (this machine's fsync latency moves by 5x from one minute to the next): the
# latency of one fsync, and what one SQLite writer reaches committing CONNECTIONS/2 rows per transaction
# (what 32 connections give a group commit: half wait while the other half is being committed).
fsync_dir=${DB_DIR:-$work}
mkdir -p "$fsync_dir"
probe_disk() {
    local f s
    f=$(util fsync-probe "$fsync_dir" 300)
    s=$(util sqlite-probe "$fsync_dir" $(((CONNECTIONS + 1) / 2)) 2 "$root/migrations/0001_init.sql")
    echo "{\"fsync\": $f, \"sqlite\": $s}"
}

# run_wrk NAME URL SECONDS SET: one wrk run with deliveries.lua; its output in $work/NAME.txt, the script's
# JSON line in $work/NAME.json
# (plus "wrk_cpu_s": the client's own CPU seconds, to tell a client-bound run from a server-bound one)
run_wrk() {
    local name=$1 url=$2 secs=$3 set=$4 TIMEFORMAT='wrk_cpu %U %S'
    { time timeout $((secs + 60)) wrk -t "$WRK_THREADS" -c "$CONNECTIONS" -d "${secs}s" --timeout 5s --latency \
        -s "$here/deliveries.lua" "$url" -- "$data/$set" >"$work/$name.txt" 2>&1; } 2>>"$work/$name.cpu"
    local json cpu
    json=$(grep '^{"duration_us"' "$work/$name.txt" | tail -n1)
    [[ -n "$json" ]] || { echo "wrk run $name gave no result:" >&2; cat "$work/$name.txt" >&2; exit 1; }
    cpu=$(awk '/^wrk_cpu/ { print $2 + $3 }' "$work/$name.cpu")
    echo "${json%\}},\"wrk_cpu_s\":${cpu:-0}}" >"$work/$name.json"
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# --- 2. nginx ------------------------------------------------------------------------------------------
ngx=$work/nginx
mkdir -p "$ngx/logs" "$ngx/tmp"
nginx_port=$(util free-port)
cat >"$ngx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes $SERVER_THREADS;
pid $ngx/nginx.pid;
error_log $ngx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path $ngx/tmp/body;
    proxy_temp_path $ngx/tmp/proxy;
    fastcgi_temp_path $ngx/tmp/fastcgi;
    uwsgi_temp_path $ngx/tmp/uwsgi;
    scgi_temp_path $ngx/tmp/scgi;
    server {
        listen 127.0.0.1:$nginx_port;
        location = $WEBHOOK_PATH {
            default_type application/json;
            return 200 '{"status":"accepted"}';
        }
    }
}
EOF
"$NGINX" -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/logs/error.log" &
nginx_pid=$!
util wait-http "http://127.0.0.1:$nginx_port$WEBHOOK_PATH" 10 || { echo "nginx did not start" >&2; cat "$ngx/logs/error.log" >&2; exit 1; }
log "nginx (pid $nginx_pid, $SERVER_THREADS worker(s)) on 127.0.0.1:$nginx_port: warm-up ${WARMUP}s"
run_wrk nginx-warmup "http://127.0.0.1:$nginx_port$WEBHOOK_PATH" "$WARMUP" warm
nginx_load=$(loadavg)
nginx_cpu0=$(util cpu "$nginx_pid")
log "nginx: measured run ${DURATION}s (load $nginx_load)"
run_wrk nginx-run "http://127.0.0.1:$nginx_port$WEBHOOK_PATH" "$DURATION" run
nginx_cpu1=$(util cpu "$nginx_pid")
nginx_proc=$(util proc "$nginx_pid")
cp "$ngx/logs/error.log" "$work/nginx-error.log" 2>/dev/null || true
stop_pid "$nginx_pid" QUIT
nginx_pid=

# --- 3. spacehook --------------------------------------------------------------------------------------
probe_before=$(probe_disk)
log "disk probe in $fsync_dir: $probe_before"
db_dir=${DB_DIR:-$work/db}
mkdir -p "$db_dir"
db=$db_dir/spacehook-bench-$$.db
rm -f "$db" "$db-wal" "$db-shm" "$db.lock"
sh_port=$(util free-port)
cat >"$work/spacehook.json" <<EOF
{"server": {"listen": "127.0.0.1:$sh_port", "threads": $SERVER_THREADS},
 "database": {"path": "$db"${CHECKPOINT_PAGES:+, \"checkpoint_pages\": $CHECKPOINT_PAGES}},
 "webhooks": [{"path": "$WEBHOOK_PATH", "secrets": ["$SECRET"]}]}
EOF
"$SPACEHOOK" serve --config "$work/spacehook.json" >"$work/spacehook.log" 2>&1 &
spacehook_pid=$!
util wait-http "http://127.0.0.1:$sh_port/healthz" 15 || { echo "spacehook did not start" >&2; cat "$work/spacehook.log" >&2; exit 1; }
log "spacehook (pid $spacehook_pid, $SERVER_THREADS I/O thread(s)) on 127.0.0.1:$sh_port, database $db: warm-up ${WARMUP}s"
run_wrk spacehook-warmup "http://127.0.0.1:$sh_port$WEBHOOK_PATH" "$WARMUP" warm
rows_before=$(util rows "$db")
sh_load=$(loadavg)
sh_cpu0=$(util cpu "$spacehook_pid")
if [[ "$COUNT_FSYNC" == 1 ]] && command -v perf >/dev/null &&
    perf trace -s -e fdatasync -o /dev/null true 2>/dev/null; then
    perf trace -s -e fsync,fdatasync -p "$spacehook_pid" -o "$work/fsync-trace.txt" 2>/dev/null &
    perf_pid=$!
    sleep 0.5  # perf attaches
fi
log "spacehook: measured run ${DURATION}s (load $sh_load)"
run_wrk spacehook-run "http://127.0.0.1:$sh_port$WEBHOOK_PATH" "$DURATION" run
sh_cpu1=$(util cpu "$spacehook_pid")
stop_pid "$perf_pid" INT
perf_pid=
# perf trace -s rows: syscall calls errors total-ms min avg max stddev
syncs=0 sync_ms=0 sync_max=0
if [[ -s "$work/fsync-trace.txt" ]]; then
    read -r syncs sync_ms sync_max < <(awk '$1 == "fdatasync" || $1 == "fsync" { n += $2; t += $4; if ($7 > m) m = $7 }
        END { printf "%d %.1f %.3f\n", n, t, m }' "$work/fsync-trace.txt")
fi
rows_after=$(util rows "$db")
metric_accepted=$(util metric "http://127.0.0.1:$sh_port/metrics" spacehook_deliveries_total result=accepted)
# Who checkpointed the WAL over the whole run (warm-up included; refreshed every 5 s, so up to 5 s behind).
for t in checkpointer writer; do
    n=$(util metric "http://127.0.0.1:$sh_port/metrics" spacehook_sqlite_checkpoints_total thread=$t 2>/dev/null || echo "?")
    log "SQLite checkpoints by the $t thread: $n"
done
sh_proc=$(util proc "$spacehook_pid")
stop_pid "$spacehook_pid" TERM
spacehook_pid=
rows_final=$(util rows "$db")
db_bytes=$(du -cb "$db"* | tail -n1 | cut -f1)
rm -f "$db" "$db-wal" "$db-shm" "$db.lock"
probe_after=$(probe_disk)
log "disk probe in $fsync_dir: $probe_after"

# --- 3b. spacehook on PostgreSQL -------------------------------------------------------------------------
# The same binary, deliveries and client; the queue in a PostgreSQL database on the same disk.
pg_json=null
if [[ "$POSTGRESQL" == 1 ]]; then
    pg_state=$work/pg
    pg_url=$(bash "$root/scripts/pg-test-cluster.sh" start "$pg_state")
    pg_port=$(util free-port)
    cat >"$work/spacehook-pg.json" <<EOF
{"server": {"listen": "127.0.0.1:$pg_port", "threads": $SERVER_THREADS},
 "database": {"url": "$pg_url", "pool": $PG_POOL},
 "webhooks": [{"path": "$WEBHOOK_PATH", "secrets": ["$SECRET"]}]}
EOF
    "$SPACEHOOK" serve --config "$work/spacehook-pg.json" >"$work/spacehook-pg.log" 2>&1 &
    spacehook_pid=$!
    util wait-http "http://127.0.0.1:$pg_port/healthz" 15 || { echo "spacehook (PostgreSQL) did not start" >&2; cat "$work/spacehook-pg.log" >&2; exit 1; }
    log "spacehook (pid $spacehook_pid) on PostgreSQL ($pg_url, pool $PG_POOL): warm-up ${WARMUP}s"
    run_wrk spacehook-pg-warmup "http://127.0.0.1:$pg_port$WEBHOOK_PATH" "$WARMUP" warm
    pg_rows_before=$(util rows "$pg_url")
    pg_load=$(loadavg)
    postmaster=$(head -n1 "$(cat "$pg_state/datadir")/postmaster.pid")
    pg_cpu0=$(util cpu "$spacehook_pid")
    pg_server_cpu0=$(util tree-cpu "$postmaster")
    log "spacehook on PostgreSQL: measured run ${DURATION}s (load $pg_load)"
    run_wrk spacehook-pg-run "http://127.0.0.1:$pg_port$WEBHOOK_PATH" "$DURATION" run
    pg_cpu1=$(util cpu "$spacehook_pid")
    pg_server_cpu1=$(util tree-cpu "$postmaster")
    pg_rows_after=$(util rows "$pg_url")
    pg_metric=$(util metric "http://127.0.0.1:$pg_port/metrics" spacehook_deliveries_total result=accepted)
    pg_proc=$(util proc "$spacehook_pid")
    stop_pid "$spacehook_pid" TERM
    spacehook_pid=
    pg_rows_final=$(util rows "$pg_url")
    bash "$root/scripts/pg-test-cluster.sh" stop "$pg_state"
    pg_state=
    pg_json=$(cat <<EOF
{"warmup": $(cat "$work/spacehook-pg-warmup.json"), "run": $(cat "$work/spacehook-pg-run.json"),
 "load_before": "$pg_load", "cpu_s": $(python3 -c "print(round($pg_cpu1 - $pg_cpu0, 2))"),
 "postgres_cpu_s": $(python3 -c "print(round($pg_server_cpu1 - $pg_server_cpu0, 2))"), "pool": $PG_POOL,
 "hwm_kb": $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["VmHWM"])' "$pg_proc"),
 "verify": {"rows_before_run": $pg_rows_before, "rows_after_run": $pg_rows_after, "rows_final": $pg_rows_final,
            "metric_accepted": $pg_metric}}
EOF
)
fi

# --- 4. report -----------------------------------------------------------------------------------------
hwm_sum() { python3 -c 'import json,sys; p=json.loads(sys.argv[1]); print(p["VmHWM"]+sum(c["VmHWM"] for c in p["children"]))' "$1"; }
cat >"$work/result.json" <<EOF
{"params": {"connections": $CONNECTIONS, "wrk_threads": $WRK_THREADS, "duration": $DURATION, "warmup": $WARMUP,
            "server_threads": $SERVER_THREADS, "rate_cap": $RATE_CAP, "nproc": $(nproc),
            "spacehook": "$SPACEHOOK", "nginx": "$("$NGINX" -v 2>&1 | sed 's/.*: //')"},
 "disk_before": $probe_before, "disk_after": $probe_after,
 "nginx": {"warmup": $(cat "$work/nginx-warmup.json"), "run": $(cat "$work/nginx-run.json"),
           "load_before": "$nginx_load", "cpu_s": $(python3 -c "print(round($nginx_cpu1 - $nginx_cpu0, 2))"),
           "hwm_kb": $(hwm_sum "$nginx_proc"), "proc": $nginx_proc},
 "spacehook": {"warmup": $(cat "$work/spacehook-warmup.json"), "run": $(cat "$work/spacehook-run.json"),
               "load_before": "$sh_load", "cpu_s": $(python3 -c "print(round($sh_cpu1 - $sh_cpu0, 2))"),
               "hwm_kb": $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["VmHWM"])' "$sh_proc"),
               "proc": $sh_proc, "db_bytes": $db_bytes, "fsyncs_run": $syncs,
               "fsync_ms_run": $sync_ms, "fsync_max_ms_run": $sync_max},
 "verify": {"rows_before_run": $rows_before, "rows_after_run": $rows_after, "rows_final": $rows_final,
            "metric_accepted": $metric_accepted},
 "spacehook_pg": $pg_json}
EOF
status=0
util report "$work/result.json" || status=$?
echo
echo "wrk's own summaries:"
for f in nginx-run spacehook-run spacehook-pg-run; do [[ -f "$work/$f.txt" ]] || continue; echo "--- $f"; grep -v '^{"duration_us"' "$work/$f.txt"; done
exit "$status"
