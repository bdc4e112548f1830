#!/usr/bin/env python3
"""Small helpers for bench/ingest/run.sh (stdlib only). Each subcommand prints one value or one JSON object.

  free-port                      a free TCP port on 127.0.0.1
  wait-http URL SECONDS          exit 0 once URL answers with any HTTP status, 1 after SECONDS
  cpu PID                        CPU seconds (user+system) of PID and its live children, summed
  proc PID                       JSON: pid, VmHWM/VmRSS (kB) of PID and of each live child, threads
  rows DB                        rows in the events table once settled (sqlite3 module, read-only)
  metric URL NAME LABELS         value of one Prometheus sample, e.g. metric URL spacehook_deliveries_total result=accepted
  fsync-probe DIR N              JSON: latency of N (4 KiB write + fsync) rounds on a file in DIR, in ms
  sqlite-probe DIR BATCH SECONDS SCHEMA
                                 JSON: the disk's durable-commit ceiling without spacehook: one thread commits
                                 BATCH event rows (same schema, ~750-byte bodies) per transaction in WAL mode,
                                 synchronous=FULL, for SECONDS; commits/s, rows/s, commit latency
  report FILE                    reads one run's result.json (see run.sh) and prints the table
  summary FILE...                one markdown row per result.json, for docs/benchmarks.md
"""

import json
import os
import socket
import sqlite3
import subprocess
import statistics
import sys
import time
import urllib.error
import urllib.request

TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def wait_http(url: str, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return 0
        except urllib.error.HTTPError:
            return 0
        except OSError:
            time.sleep(0.05)
    return 1


def children(pid: int) -> list:
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(d))
    return sorted(out)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[11], fields[12] are utime, stime (stat fields 14, 15)
    return (int(fields[11]) + int(fields[12])) / TICKS


def status(pid: int) -> dict:
    out = {"pid": pid}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS"):
                out[k] = int(v.split()[0])
            elif k == "Threads":
                out[k] = int(v)
    return out


def proc(pid: int) -> None:
    info = status(pid)
    info["children"] = [status(c) for c in children(pid)]
    print(json.dumps(info))


def tree_cpu(pid: int) -> None:
    """CPU seconds of a process and all its descendants (the PostgreSQL postmaster and its backends)."""
    total, pending = 0.0, [pid]
    while pending:
        p = pending.pop()
        try:
            total += cpu_seconds(p)
        except OSError:
            continue
        pending.extend(children(p))
    print(f"{total:.2f}")


def cpu(pid: int) -> None:
    total = cpu_seconds(pid)
    for c in children(pid):
        try:
            total += cpu_seconds(c)
        except OSError:
            pass
    print(f"{total:.2f}")


def count_rows(db: str) -> int:
    if db.startswith("postgresql://"):
        out = subprocess.run(["psql", db, "-Atc", "SELECT count(*) FROM events"], check=True, capture_output=True, text=True)
        return int(out.stdout.strip())
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        con.close()


def rows(db: str) -> None:
    """Prints the count once it has stopped moving (requests still in flight when wrk quit may commit just
    after it): two equal reads 200 ms apart, for at most 5 s."""
    last = count_rows(db)
    for _ in range(25):
        time.sleep(0.2)
        now = count_rows(db)
        if now == last:
            break
        last = now
    print(last)


def metric(url: str, name: str, labels: str) -> None:
    want = "{" + ",".join(f'{k}="{v}"' for k, v in (kv.split("=", 1) for kv in labels.split(",") if kv)) + "}"
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(name + want + " ") or (not labels and line.startswith(name + " ")):
            print(int(float(line.split()[-1])))
            return
    print(0)


def fsync_probe(directory: str, n: int) -> None:
    path = os.path.join(directory, "fsync-probe.bin")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    block = b"x" * 4096
    lat = []
    try:
        for i in range(n):
            t = time.perf_counter()
            os.pwrite(fd, block, (i % 256) * 4096)
            os.fsync(fd)
            lat.append((time.perf_counter() - t) * 1000)
    finally:
        os.close(fd)
        os.unlink(path)
    lat.sort()
    print(json.dumps({"n": n, "p50_ms": round(statistics.median(lat), 3),
                      "p99_ms": round(lat[min(n - 1, int(n * 0.99))], 3),
                      "mean_ms": round(statistics.fmean(lat), 3), "max_ms": round(lat[-1], 3)}))


def sqlite_probe(directory: str, batch: int, seconds: float, schema: str) -> None:
    path = os.path.join(directory, "sqlite-probe.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        with open(schema) as f:
            con.executescript(f.read())
        body = b'{"event":{"id":%d}}' + b"x" * 730
        ins = ("INSERT INTO events(webhook_id, event_id, trigger, received_at, body, path, content_key) "
               "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING")
        lat, n, t_end = [], 0, time.monotonic() + seconds
        while time.monotonic() < t_end:
            t = time.perf_counter()
            con.execute("BEGIN IMMEDIATE")
            for _ in range(batch):
                n += 1
                con.execute(ins, ("7", str(n), "file.uploaded", n, body, "/docspace/webhook",
                                  f"file.uploaded|2025-06-10T09:15:42Z|66faa6e4|{n}"))
            con.execute("COMMIT")
            lat.append((time.perf_counter() - t) * 1000)
    finally:
        con.close()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)
    total = sum(lat) / 1000
    lat.sort()
    print(json.dumps({"batch": batch, "commits_per_s": round(len(lat) / total), "rows_per_s": round(n / total),
                      "commit_p50_ms": round(statistics.median(lat), 3),
                      "commit_p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 3)}))


def fmt_ms(us: float) -> str:
    return f"{us / 1000:.2f} ms"


def report(path: str) -> bool:
    with open(path) as f:
        r = json.load(f)
    ng, sh = r["nginx"]["run"], r["spacehook"]["run"]
    dur_ng, dur_sh = ng["duration_us"] / 1e6, sh["duration_us"] / 1e6
    rps_ng, rps_sh = ng["requests"] / dur_ng, sh["requests"] / dur_sh
    acks_sh = sh["accepted"] / dur_sh
    cpu_ng = r["nginx"]["cpu_s"] / max(ng["requests"], 1) * 1e6
    cpu_sh = r["spacehook"]["cpu_s"] / max(sh["requests"], 1) * 1e6
    p = r["params"]
    print()
    print(f"bench/ingest: {p['connections']} connections, wrk {p['wrk_threads']} thread(s), {p['duration']} s "
          f"after {p['warmup']} s warm-up, server threads/workers {p['server_threads']}")
    print(f"machine: nproc {p['nproc']}, load average before nginx {r['nginx']['load_before']}, "
          f"before spacehook {r['spacehook']['load_before']}")
    print("disk, just before spacehook started and just after it stopped (same directory as its database):")
    for when in ("before", "after"):
        d = r[f"disk_{when}"]
        print(f"  {when}: fsync (4 KiB) p50 {d['fsync']['p50_ms']} ms, p99 {d['fsync']['p99_ms']} ms; "
              f"one SQLite writer, {d['sqlite']['batch']} rows/commit, synchronous=FULL: "
              f"{d['sqlite']['rows_per_s']:,} rows/s, commit p50 {d['sqlite']['commit_p50_ms']} ms")
    print()
    rows_fmt = "{:<34} {:>14} {:>14} {:>10}"
    print(rows_fmt.format("", "nginx", "spacehook", "ratio"))
    print(rows_fmt.format("requests/s (all 2xx answers)", f"{rps_ng:,.0f}", f"{rps_sh:,.0f}", f"{rps_sh / rps_ng:.1%}"))
    print(rows_fmt.format("durable acks/s (new, accepted)", "-", f"{acks_sh:,.0f}", f"{acks_sh / rps_ng:.1%}"))
    print(rows_fmt.format("p50 latency", fmt_ms(ng["p50_us"]), fmt_ms(sh["p50_us"]), ""))
    print(rows_fmt.format("p90 latency", fmt_ms(ng["p90_us"]), fmt_ms(sh["p90_us"]), ""))
    print(rows_fmt.format("p99 latency", fmt_ms(ng["p99_us"]), fmt_ms(sh["p99_us"]), ""))
    print(rows_fmt.format("max latency", fmt_ms(ng["max_us"]), fmt_ms(sh["max_us"]), ""))
    print(rows_fmt.format("non-2xx answers", ng["non_2xx"], sh["non_2xx"], ""))
    print(rows_fmt.format("socket errors (conn/read/write/timeout)",
                          "{err_connect}/{err_read}/{err_write}/{err_timeout}".format(**ng),
                          "{err_connect}/{err_read}/{err_write}/{err_timeout}".format(**sh), ""))
    print(rows_fmt.format("server CPU per request", f"{cpu_ng:.1f} us", f"{cpu_sh:.1f} us", ""))
    print(rows_fmt.format("client (wrk) CPU, share of one core", f"{ng['wrk_cpu_s'] / dur_ng:.0%}",
                          f"{sh['wrk_cpu_s'] / dur_sh:.0%}", ""))
    print(rows_fmt.format("server CPU, share of one core", f"{r['nginx']['cpu_s'] / dur_ng:.0%}",
                          f"{r['spacehook']['cpu_s'] / dur_sh:.0%}", ""))
    print(rows_fmt.format("server peak RSS (VmHWM)", f"{r['nginx']['hwm_kb'] / 1024:.1f} MB",
                          f"{r['spacehook']['hwm_kb'] / 1024:.1f} MB", ""))
    syncs = r["spacehook"].get("fsyncs_run", 0)
    if syncs:
        ms = r["spacehook"].get("fsync_ms_run", 0)
        print(rows_fmt.format("spacehook commits (fdatasync)/s", "", f"{syncs / dur_sh:,.0f}", ""))
        print(rows_fmt.format("  deliveries per commit", "", f"{sh['accepted'] / syncs:.1f}", ""))
        print(rows_fmt.format("  fdatasync mean / max", "", f"{ms / syncs:.2f} / {r['spacehook'].get('fsync_max_ms_run', 0):.1f} ms", ""))
        print(rows_fmt.format("  writer time inside fdatasync", "", f"{ms / 1000 / dur_sh:.0%}", ""))
    print()
    print(f"spacehook answers in the measured run: {sh['accepted']} accepted, {sh['duplicate']} duplicate "
          f"(set exhausted {sh['wraps']} time(s) across wrk threads), {sh['other_2xx']} other 2xx, "
          f"{sh['non_2xx']} non-2xx; {sh['sent'] - sh['requests']} request(s) in flight when wrk stopped")
    ok = verify(r)
    v = r["verify"]
    print(f"verification: events rows at exit {v['rows_final']}; spacehook_deliveries_total{{result=accepted}} "
          f"{v['metric_accepted']}; accepted answers read by wrk (warm-up + run) {v['wrk_accepted']}, "
          f"plus {v['wrk_in_flight']} request(s) whose answer wrk never read")
    print(f"verification: the measured run added {v['rows_run']} rows for {sh['accepted']} accepted answers "
          f"(+ up to {sh['sent'] - sh['requests']} unread): {'OK' if ok else 'MISMATCH'}")
    if r.get("spacehook_pg"):
        ok = report_pg(r) and ok
    return ok


def report_pg(r: dict) -> bool:
    """The PostgreSQL run beside the SQLite one and nginx."""
    ng, sh, pg = r["nginx"]["run"], r["spacehook"]["run"], r["spacehook_pg"]["run"]
    dur_ng, dur_sh, dur_pg = ng["duration_us"] / 1e6, sh["duration_us"] / 1e6, pg["duration_us"] / 1e6
    rps_ng = ng["requests"] / dur_ng
    acks_sh, acks_pg = sh["accepted"] / dur_sh, pg["accepted"] / dur_pg
    P = r["spacehook_pg"]
    print()
    print(f"spacehook on PostgreSQL (pool {P['pool']}, load average before {P['load_before']}):")
    rows_fmt = "{:<34} {:>14} {:>14} {:>14}"
    print(rows_fmt.format("", "nginx", "SQLite", "PostgreSQL"))
    print(rows_fmt.format("durable acks/s (new, accepted)", f"{rps_ng:,.0f}", f"{acks_sh:,.0f}", f"{acks_pg:,.0f}"))
    print(rows_fmt.format("  PostgreSQL as a share of", f"{acks_pg / rps_ng:.1%}", f"{acks_pg / acks_sh:.1%}", ""))
    for q in ("p50", "p90", "p99", "max"):
        print(rows_fmt.format(f"{q} latency", fmt_ms(ng[f"{q}_us"]), fmt_ms(sh[f"{q}_us"]), fmt_ms(pg[f"{q}_us"])))
    print(rows_fmt.format("non-2xx answers", ng["non_2xx"], sh["non_2xx"], pg["non_2xx"]))
    print(rows_fmt.format("spacehook CPU per request", "", f"{r['spacehook']['cpu_s'] / max(sh['requests'], 1) * 1e6:.1f} us",
                          f"{P['cpu_s'] / max(pg['requests'], 1) * 1e6:.1f} us"))
    print(rows_fmt.format("PostgreSQL server CPU per request", "", "", f"{P['postgres_cpu_s'] / max(pg['requests'], 1) * 1e6:.1f} us"))
    print(rows_fmt.format("spacehook peak RSS (VmHWM)", "", f"{r['spacehook']['hwm_kb'] / 1024:.1f} MB", f"{P['hwm_kb'] / 1024:.1f} MB"))
    ok = verify(r, "spacehook_pg")
    v = P["verify"]
    print(f"verification (PostgreSQL): events rows at exit {v['rows_final']}; counter {v['metric_accepted']}; "
          f"the measured run added {v['rows_run']} rows for {pg['accepted']} accepted answers: {'OK' if ok else 'MISMATCH'}")
    return ok


def verify(r: dict, key: str = "spacehook") -> bool:
    """Every accepted answer has its row, and every row was answered accepted, except those whose answer wrk
    never read because it stopped with them in flight (at most one per connection per wrk run)."""
    v = r["verify"] if key == "spacehook" else r[key]["verify"]
    warm, sh = r[key]["warmup"], r[key]["run"]
    v["wrk_accepted"] = warm["accepted"] + sh["accepted"]
    v["wrk_in_flight"] = (warm["sent"] - warm["requests"]) + (sh["sent"] - sh["requests"])
    v["rows_run"] = v["rows_after_run"] - v["rows_before_run"]
    return (v["metric_accepted"] == v["rows_final"]
            and v["rows_after_run"] == v["rows_final"]
            and v["wrk_accepted"] <= v["rows_final"] <= v["wrk_accepted"] + v["wrk_in_flight"]
            and sh["accepted"] <= v["rows_run"] <= sh["accepted"] + (sh["sent"] - sh["requests"]))


def summary(paths: list) -> None:
    print("| run | server threads | conns | load (1 min) | nginx req/s | nginx p50 / p99 | spacehook acks/s "
          "| spacehook p50 / p99 | ratio | spacehook RSS | deliveries/commit | fdatasync mean in run "
          "| writer in fdatasync | idle-disk fsync p50 before / after | SQLite ceiling rows/s before / after | verified |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for path in paths:
        with open(path) as f:
            r = json.load(f)
        ng, sh, p = r["nginx"]["run"], r["spacehook"]["run"], r["params"]
        rps_ng = ng["requests"] / (ng["duration_us"] / 1e6)
        acks = sh["accepted"] / (sh["duration_us"] / 1e6)
        syncs = r["spacehook"].get("fsyncs_run", 0)
        b, a = r["disk_before"], r["disk_after"]
        name = os.path.basename(os.path.dirname(os.path.abspath(path)))
        print(f"| {name} | {p['server_threads']} | {p['connections']} | {r['nginx']['load_before'].split()[0]} / "
              f"{r['spacehook']['load_before'].split()[0]} | {rps_ng:,.0f} | "
              f"{ng['p50_us'] / 1000:.2f} / {ng['p99_us'] / 1000:.2f} ms | {acks:,.0f} | "
              f"{sh['p50_us'] / 1000:.2f} / {sh['p99_us'] / 1000:.2f} ms | {acks / rps_ng:.1%} | "
              f"{r['spacehook']['hwm_kb'] / 1024:.1f} MB | "
              f"{sh['accepted'] / syncs if syncs else float('nan'):.1f} | "
              f"{r['spacehook'].get('fsync_ms_run', 0) / syncs if syncs else float('nan'):.2f} ms | "
              f"{r['spacehook'].get('fsync_ms_run', 0) / 1000 / (sh['duration_us'] / 1e6):.0%} | "
              f"{b['fsync']['p50_ms']:.2f} / {a['fsync']['p50_ms']:.2f} ms | "
              f"{b['sqlite']['rows_per_s']:,} / {a['sqlite']['rows_per_s']:,} | {'yes' if verify(r) else 'NO'} |")


def main() -> int:
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "free-port":
        free_port()
    elif cmd == "wait-http":
        return wait_http(args[0], float(args[1]))
    elif cmd == "tree-cpu":
        tree_cpu(int(args[0]))
    elif cmd == "cpu":
        cpu(int(args[0]))
    elif cmd == "proc":
        proc(int(args[0]))
    elif cmd == "rows":
        rows(args[0])
    elif cmd == "metric":
        metric(args[0], args[1], args[2] if len(args) > 2 else "")
    elif cmd == "fsync-probe":
        fsync_probe(args[0], int(args[1]))
    elif cmd == "sqlite-probe":
        sqlite_probe(args[0], int(args[1]), float(args[2]), args[3])
    elif cmd == "summary":
        summary(args)
    elif cmd == "report":
        return 0 if report(args[0]) else 3
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
