#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (Debian's postgresql package, no Docker, nothing shared with a
# system cluster): its own data directory under /tmp, its own port on 127.0.0.1 and its own socket directory.
#
#   scripts/pg-test-cluster.sh start STATE_DIR   # initdb + start; writes STATE_DIR/url, prints it
#   scripts/pg-test-cluster.sh stop STATE_DIR    # stop (fast) and remove the data directory
#   scripts/pg-test-cluster.sh pause STATE_DIR   # stop the server (fast), keep the data: a database outage
#   scripts/pg-test-cluster.sh resume STATE_DIR  # start it again on the same port
#
# PostgreSQL refuses to run as root, and CI runs as root: the cluster then runs as `nobody` (its data directory
# belongs to nobody). Authentication is `trust` on 127.0.0.1 and the socket only: a test cluster, never reachable
# from another host. fsync stays on (the default), as in production. The url is
# postgresql://spacehook@127.0.0.1:PORT/spacehook.
set -euo pipefail

cmd="${1:-}"
state="${2:-}"
[[ "$cmd" =~ ^(start|stop|pause|resume)$ && -n "$state" ]] || {
  echo "usage: $0 start|stop|pause|resume STATE_DIR" >&2
  exit 2
}

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x "$bindir/initdb" ]] || { echo "pg-test-cluster: no PostgreSQL server (apt-get install postgresql)" >&2; exit 1; }

as_owner=()
if [[ $(id -u) -eq 0 ]]; then as_owner=(runuser -u nobody --); fi

mkdir -p "$state"
state=$(cd "$state" && pwd)

case "$cmd" in
start)
  if [[ -f "$state/datadir" ]] && "${as_owner[@]}" "$bindir/pg_ctl" -D "$(cat "$state/datadir")" status >/dev/null 2>&1; then
    cat "$state/url"
    exit 0
  fi
  base=$(mktemp -d /tmp/spacehook-pg-XXXXXX)
  chmod 755 "$base"
  data="$base/data" sock="$base/sock"
  mkdir -p "$sock"
  if [[ ${#as_owner[@]} -gt 0 ]]; then chown nobody "$base" "$sock"; fi
  "${as_owner[@]}" "$bindir/initdb" -D "$data" -U spacehook -A trust -E UTF8 --no-locale >"$state/initdb.log" 2>&1 \
    || { cat "$state/initdb.log" >&2; exit 1; }
  # A free port: ask the kernel for one, then let the server take it (a race with another process is possible
  # but harmless: pg_ctl then fails and says so).
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  echo "-c listen_addresses=127.0.0.1 -p $port -k $sock -c max_connections=100 -c shared_buffers=64MB" >"$state/options"
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$data" -l "$base/server.log" -w -t 60 -o "$(cat "$state/options")" start \
    >"$state/pg_ctl.log" 2>&1 || { cat "$state/pg_ctl.log" "$base/server.log" >&2; exit 1; }
  "${as_owner[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U spacehook spacehook
  echo "$data" >"$state/datadir"
  echo "$base/server.log" >"$state/logfile"
  echo "$port" >"$state/port"
  echo "postgresql://spacehook@127.0.0.1:$port/spacehook" | tee "$state/url"
  ;;
stop)
  [[ -f "$state/datadir" ]] || exit 0
  data=$(cat "$state/datadir")
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$(dirname "$data")"
  rm -f "$state/datadir" "$state/url" "$state/port" "$state/logfile" "$state/options"
  ;;
pause)
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$(cat "$state/datadir")" -m fast -w stop >/dev/null
  ;;
resume)
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$(cat "$state/datadir")" -l "$(cat "$state/logfile")" -w -t 60 \
    -o "$(cat "$state/options")" start >"$state/pg_ctl.log" 2>&1 || { cat "$state/pg_ctl.log" >&2; exit 1; }
  ;;
esac
