#!/usr/bin/env python3
"""Hostile input against a running `spacehook serve`, one fresh server per attack (stdlib only).

    hostile.py --binary BUILD/apps/spacehook/spacehook [--only NAME,...] [--json FILE] [--idle N]

For each attack: start `spacehook serve` on a fresh SQLite file, warm it (one GET, one unsigned POST), read
VmRSS, reset VmHWM (clear_refs), run the attack while sampling VmRSS every 10 ms, read VmHWM and VmRSS again
once the attack's connections are gone, count the rows in `events` and `jobs`, send one valid signed delivery
(it must be accepted), stop the server with SIGTERM (it must exit 0). Prints one markdown table row per attack.

Attacks (names for --only):
  idle10k        N idle connections (default 10,000; max_connections N+1), a delivery on the N+1st, the N+2nd
                 must get 503 and be closed
  emfile         the server's soft RLIMIT_NOFILE lowered to 64 (prlimit) and 40 connections past it, for 1 s
  body-cl        Content-Length: 100 MiB announced and streamed
  body-chunked   100 MiB streamed in 64 KiB chunks
  bodies-held    64 connections each sending 1 MiB - 1 byte of a 1 MiB body, max_buffered_body_bytes 16 MiB;
                 then a small signed delivery
  bodies-unbudgeted  the same with max_buffered_body_bytes 1 TiB (what the budget saves)
  pipeline       7 requests in one write (accepted, accepted, duplicate, 401, 400, accepted, GET /healthz)
  pipeline-bad   a signed delivery, then a Content-Length of "12x", then another delivery, in one write
  headers-many   10,000 headers
  headers-big    one 1 MiB header
  slowloris      one connection, headers one byte per 100 ms (header_timeout_ms 500)
  slowloris-500  500 such connections at once, and a delivery meanwhile
  utf8           12 invalid UTF-8 bodies, each signed, unsigned and wrongly signed
  deep-json      4 bodies nested 10^5 deep, signed and unsigned
Exit status: 0 when every attack got the expected answers, 3 otherwise, 1 on setup failure.
"""

import argparse
import errno
import hashlib
import hmac
import json
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

SECRET = "hostile-bench-S3cret"
PATH = "/docspace/webhook"
MIB = 1024 * 1024


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().upper()


def body_for(i: int, title: bytes = b"a.pdf") -> bytes:
    return (
        b'{"event":{"id":%d,"createOn":"2025-06-10T09:15:42Z","createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef",'
        b'"trigger":"file.uploaded"},"payload":{"id":%d,"parentId":8410,"title":"%s","fileEntryType":2},'
        b'"webhook":{"id":7}}' % (i, 50000 + i, title)
    )


def request(method: str, path: str, body: bytes = b"", headers=(), keep_alive=True) -> bytes:
    r = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    for k, v in headers:
        r += f"{k}: {v}\r\n"
    if not keep_alive:
        r += "Connection: close\r\n"
    if method in ("POST", "PUT") or body:
        r += f"Content-Length: {len(body)}\r\n"
    return r.encode() + b"\r\n" + body


def signed(body: bytes, keep_alive=True, secret: str = SECRET) -> bytes:
    return request("POST", PATH, body, [("x-docspace-signature-256", sign(body, secret))], keep_alive)


def statuses(data: bytes) -> list:
    return [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)]


def proc_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


class Server:
    """`spacehook serve` on a fresh database in its own temp dir."""

    def __init__(self, binary: str, server_extra: dict):
        self.dir = tempfile.mkdtemp(prefix="spacehook-hostile-")
        self.db = os.path.join(self.dir, "spacehook.db")
        server = {"listen": "127.0.0.1:0", "threads": 2}
        server.update(server_extra)
        config = {
            "server": server,
            "database": self.db,
            "docspace": {"base_url": "http://127.0.0.1:9", "api_key": "k", "ignore_own_events": False},
            "webhooks": [{"path": PATH, "secrets": [SECRET]}],
            "channels": {"console": {"type": "log"}},
            "rules": [{"name": "every-upload", "on": ["file.uploaded"],
                       "do": [{"notify": {"channel": "console", "subject": "upload"}}]}],
        }
        cfg = os.path.join(self.dir, "config.json")
        with open(cfg, "w") as f:
            json.dump(config, f)
        self.log_path = os.path.join(self.dir, "serve.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([binary, "serve", "--config", cfg], stdout=subprocess.DEVNULL, stderr=self.log)
        self.port = 0
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.proc.poll() is None:
            with open(self.log_path, "rb") as f:
                m = re.search(rb'"event":"serve.started","listen":"[^"]*:(\d+)"', f.read())
            if m:
                self.port = int(m.group(1))
                break
            time.sleep(0.01)
        if not self.port:
            raise RuntimeError("spacehook did not start: " + open(self.log_path, errors="replace").read())
        self.pid = self.proc.pid

    def rows(self, table: str) -> int:
        con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        finally:
            con.close()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode


class Sampler(threading.Thread):
    """Samples VmRSS every 10 ms (VmHWM catches what falls between samples)."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self):
        while not self.done.is_set():
            self.peak = max(self.peak, proc_kb(self.pid, "VmRSS"))
            time.sleep(0.01)


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def exchange(port: int, pieces, pace: float = 0.0, deadline: float = 20.0, stop_when_answered=False) -> dict:
    """Streams the byte strings from the iterator `pieces` while reading the answer, until the server has
    closed and the upload has ended (sent, or refused with EPIPE/ECONNRESET), or `deadline` seconds pass."""
    start = time.monotonic()
    s = connect(port)
    s.setblocking(False)
    sel = selectors.DefaultSelector()
    received, sent, send_error, closed, done = b"", 0, None, False, False
    it = iter(pieces)
    pending, next_send = b"", start
    try:
        pending = next(it)
    except StopIteration:
        done = True
    while time.monotonic() - start < deadline:
        now = time.monotonic()
        sending = not done and send_error is None
        if closed and not sending:
            break
        if stop_when_answered and b"\r\n\r\n" in received:
            break
        events = 0 if closed else selectors.EVENT_READ
        if sending and now >= next_send:
            events |= selectors.EVENT_WRITE
        timeout = start + deadline - now
        if sending and now < next_send:
            timeout = min(timeout, next_send - now)
        if not events:
            time.sleep(max(timeout, 0))
            continue
        sel.register(s, events)
        ready = sel.select(max(timeout, 0.001))
        sel.unregister(s)
        for _, ev in ready:
            if ev & selectors.EVENT_READ:
                try:
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            closed = True
                            break
                        received += chunk
                except BlockingIOError:
                    pass
                except OSError:
                    closed = True
            if ev & selectors.EVENT_WRITE and sending:
                try:
                    n = s.send(pending)
                    sent += n
                    pending = pending[n:]
                    if not pending:
                        if pace:
                            next_send = time.monotonic() + pace
                        try:
                            pending = next(it)
                        except StopIteration:
                            done = True
                except BlockingIOError:
                    pass
                except OSError as e:
                    send_error = errno.errorcode.get(e.errno, str(e.errno))
    s.close()
    return {"received": received, "sent": sent, "send_error": send_error, "closed": closed,
            "seconds": time.monotonic() - start, "statuses": statuses(received)}


def repeat(head: bytes, total: int, piece: bytes):
    yield head
    while total > 0:
        n = min(total, len(piece))
        total -= n
        yield piece[:n]


def post(port: int, body: bytes, sig=True, secret: str = SECRET):
    r = exchange(port, [signed(body, False, secret) if sig else request("POST", PATH, body, (), False)], deadline=10)
    return (r["statuses"] or [0])[0], r["received"]


# --- attacks: each returns (summary of what was seen, expected?) -------------------------------------------

def attack_idle(srv: Server, n: int):
    base = open_fds(srv.pid)
    conns = []
    t0 = time.monotonic()
    while len(conns) < n:
        for _ in range(min(1000, n - len(conns))):
            conns.append(connect(srv.port))
        deadline = time.monotonic() + 30
        while open_fds(srv.pid) < base + len(conns) and time.monotonic() < deadline:
            time.sleep(0.005)
    opened = time.monotonic() - t0
    held = proc_kb(srv.pid, "VmRSS")
    extra = connect(srv.port)
    t1 = time.monotonic()
    body = body_for(1)
    extra.sendall(signed(body))
    extra.settimeout(5)
    got = b""
    while b'"}' not in got:
        chunk = extra.recv(4096)
        if not chunk:
            break
        got += chunk
    delivery_ms = (time.monotonic() - t1) * 1000
    over = exchange(srv.port, [signed(body_for(2))], deadline=5)
    for c in conns:
        c.close()
    extra.close()
    deadline = time.monotonic() + 30
    while open_fds(srv.pid) > base and time.monotonic() < deadline:
        time.sleep(0.005)
    codes = statuses(got) + over["statuses"]
    note = (f"{n} open in {opened:.1f} s, RSS while held {held} kB; a delivery on one more connection in "
            f"{delivery_ms:.0f} ms; the next connection closed={over['closed']}")
    return codes, note, codes == [200, 503] and over["closed"], 1


def attack_body_cl(srv: Server, _):
    head = (f"POST {PATH} HTTP/1.1\r\nHost: x\r\nx-docspace-signature-256: {sign(b'')}\r\n"
            f"Content-Length: {100 * MIB}\r\n\r\n").encode()
    r = exchange(srv.port, repeat(head, 100 * MIB, b"x" * 65536), deadline=30)
    note = f"{r['sent'] / MIB:.1f} MiB sent before {r['send_error']}"
    return r["statuses"], note, r["statuses"] == [413] and r["closed"] and r["send_error"] is not None, 0


def attack_body_chunked(srv: Server, _):
    head = (f"POST {PATH} HTTP/1.1\r\nHost: x\r\nx-docspace-signature-256: {sign(b'')}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
    r = exchange(srv.port, repeat(head, (100 * MIB // 0x10000) * len(chunk), chunk), deadline=30)
    note = f"{r['sent'] / MIB:.1f} MiB sent before {r['send_error']}"
    return r["statuses"], note, r["statuses"] == [413] and r["closed"] and r["send_error"] is not None, 0


def attack_pipeline(srv: Server, _):
    a, b, e = body_for(1), body_for(2), body_for(3)
    batch = (signed(a) + signed(b) + signed(a) + signed(body_for(4), secret="wrong") + signed(b"{not json") +
             signed(e) + request("GET", "/healthz", keep_alive=False))
    r = exchange(srv.port, [batch], deadline=10)
    dup = r["received"].count(b'{"status":"duplicate"}')
    return r["statuses"], f"one write of {len(batch)} bytes; {dup} duplicate", \
        r["statuses"] == [200, 200, 200, 401, 400, 200, 200] and dup == 1, 3


def attack_pipeline_bad(srv: Server, _):
    batch = (signed(body_for(1)) + b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 12x\r\n\r\n" +
             signed(body_for(3)))
    r = exchange(srv.port, [batch], deadline=10)
    return r["statuses"], f"closed={r['closed']}", r["statuses"] == [200, 400] and r["closed"], 1


def attack_headers(srv: Server, kind: str):
    if kind == "many":
        head = f"POST {PATH} HTTP/1.1\r\nHost: x\r\n".encode()
        head += b"".join(b"X-Flood-%d: v\r\n" % i for i in range(10000)) + b"Content-Length: 0\r\n\r\n"
    else:
        head = f"POST {PATH} HTTP/1.1\r\nHost: x\r\nX-Big: ".encode() + b"b" * MIB + b"\r\nContent-Length: 0\r\n\r\n"
    r = exchange(srv.port, [head], deadline=10)
    note = f"{len(head) / 1024:.0f} KiB of headers; {r['sent'] / 1024:.0f} KiB sent"
    return r["statuses"], note, r["statuses"] == [431] and r["closed"], 0


def slow_pieces():
    yield f"POST {PATH} HTTP/1.1\r\nHost: x\r\nX-Slow: ".encode()
    while True:
        yield b"a"


def attack_slowloris(srv: Server, _):
    r = exchange(srv.port, slow_pieces(), pace=0.1, deadline=10)
    note = f"closed after {r['seconds'] * 1000:.0f} ms, {r['sent']} bytes sent, {len(r['received'])} received"
    return r["statuses"], note, r["closed"] and not r["received"], 0


def attack_slowloris_many(srv: Server, _):
    n = 500
    prefix = f"POST {PATH} HTTP/1.1\r\nHost: x\r\nX-Slow: ".encode()
    conns = []
    for _ in range(n):
        c = connect(srv.port)
        c.sendall(prefix)
        c.setblocking(False)
        conns.append(c)
    t0 = time.monotonic()
    code, _ = post(srv.port, body_for(1))
    delivery_ms = (time.monotonic() - t0) * 1000
    open_ = set(range(n))
    received = 0
    while open_ and time.monotonic() - t0 < 10:
        for i in list(open_):
            try:
                data = conns[i].recv(256)
                received += len(data)
                if not data:
                    open_.discard(i)
                    continue
            except BlockingIOError:
                pass
            except OSError:
                open_.discard(i)
                continue
            try:
                conns[i].send(b"a")
            except OSError:
                open_.discard(i)
        time.sleep(0.1)
    all_closed = time.monotonic() - t0
    for c in conns:
        c.close()
    note = f"{n} trickling; delivery meanwhile in {delivery_ms:.0f} ms; all closed after {all_closed * 1000:.0f} ms"
    return [code], note, code == 200 and not open_ and received == 0, 1


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def attack_emfile(srv: Server, _):
    soft = 64
    hard = resource.prlimit(srv.pid, resource.RLIMIT_NOFILE)[1]
    resource.prlimit(srv.pid, resource.RLIMIT_NOFILE, (soft, hard))
    base = open_fds(srv.pid)
    conns = [connect(srv.port) for _ in range(soft - base + 40)]
    deadline = time.monotonic() + 10
    while open_fds(srv.pid) < soft - 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    log0, cpu0 = os.path.getsize(srv.log_path), cpu_seconds(srv.pid)
    time.sleep(1.0)  # a rate over a fixed window
    cpu, log_growth = cpu_seconds(srv.pid) - cpu0, os.path.getsize(srv.log_path) - log0
    for c in conns:
        c.close()
    deadline = time.monotonic() + 20
    while open_fds(srv.pid) > base + 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    note = (f"soft limit {soft}, {len(conns)} connections ({len(conns) - (soft - base)} queued): "
            f"{cpu:.2f} CPU s and +{log_growth} log bytes in 1 s")
    return [], note, cpu < 0.5 and log_growth < 65536, 0


def server_side(port: int):
    """(established connections to local `port`, bytes unread in their receive queues) from /proc/net/tcp."""
    established = unread = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            if int(parts[1].split(":")[1], 16) != port or parts[3] != "01":
                continue
            established += 1
            unread += int(parts[4].split(":")[1], 16)
    return established, unread


def attack_bodies_held(srv: Server, budget_mib):
    """budget_mib: max_buffered_body_bytes in MiB (the server's setting, passed for the expectations)."""
    n = 64
    head = (f"POST {PATH} HTTP/1.1\r\nHost: x\r\nx-docspace-signature-256: {sign(b'')}\r\n"
            f"Content-Length: {MIB}\r\n\r\n").encode()
    almost = head + b"x" * (MIB - 1)
    conns = []
    for _ in range(n):
        c = connect(srv.port)
        c.settimeout(5)
        try:
            c.sendall(almost)
        except OSError:
            pass
        conns.append(c)
    held = min(n, budget_mib)
    deadline = time.monotonic() + 20
    while server_side(srv.port) != (held, 0) and time.monotonic() < deadline:
        time.sleep(0.01)
    seen = []
    for c in conns:
        c.settimeout(0.05)
        try:
            seen += statuses(c.recv(4096))
        except OSError:
            pass
    small, _ = post(srv.port, body_for(1))
    rss_held = proc_kb(srv.pid, "VmRSS")
    for c in conns:
        c.close()
    deadline = time.monotonic() + 20
    while server_side(srv.port)[0] and time.monotonic() < deadline:
        time.sleep(0.01)
    budget = f"{budget_mib} MiB" if budget_mib < (1 << 20) else "1 TiB"
    note = (f"{n} x (1 MiB - 1 byte), budget {budget}: {n - len(seen)} held (RSS {rss_held} kB), "
            f"{len(seen)} answered; a small delivery meanwhile: {small}")
    return sorted(set(seen)), note, seen == [503] * (n - held), 1 if small == 200 else 0


UTF8_TITLES = [b"a\xffb", b"a\x80b", b"a\xc0\xafb", b"a\xe0\x80\x80b", b"a\xf0\x80\x80\xafb", b"a\xed\xa0\x80b",
               b"a\xed\xa0\xbd\xed\xb8\x80b", b"a\xf4\x90\x80\x80b", b"a\xe2\x82", b"a\\uD800b", b"a\\uDC00b",
               b"a\\uD800\\u0041"]


def attack_utf8(srv: Server, _):
    seen = []
    for t in UTF8_TITLES:
        b = body_for(1, t)
        seen += [post(srv.port, b)[0], post(srv.port, b, sig=False)[0], post(srv.port, b, secret="wrong")[0]]
    counts = {c: seen.count(c) for c in sorted(set(seen))}
    ok = counts == {400: len(UTF8_TITLES), 401: 2 * len(UTF8_TITLES)}
    return sorted(set(seen)), f"{len(UTF8_TITLES)} bodies: {counts}", ok, 0


def attack_deep(srv: Server, _):
    d = 100000
    bodies = [b"[" * d, b"[" * d + b"]" * d, b'{"a":' * d + b"1" + b"}" * d,
              b'{"event":{"id":1,"trigger":"file.uploaded"},"payload":' + b"[" * d + b"]" * d + b"}"]
    seen, slowest = [], 0.0
    for b in bodies:
        t0 = time.monotonic()
        seen.append(post(srv.port, b)[0])
        slowest = max(slowest, time.monotonic() - t0)
        seen.append(post(srv.port, b, sig=False)[0])
    return seen, f"slowest signed answer {slowest * 1000:.0f} ms", seen == [400, 401] * 4, 0


ATTACKS = [
    # name, function, argument, server settings, what is expected
    ("idle10k", attack_idle, None, None, "200 on the extra, 503 + close over the cap"),
    ("emfile", attack_emfile, None, {}, "no spin, no log flood; recovers"),
    ("body-cl", attack_body_cl, None, {}, "413 + close, upload cut"),
    ("body-chunked", attack_body_chunked, None, {}, "413 + close, upload cut"),
    ("bodies-held", attack_bodies_held, 16, {"max_buffered_body_bytes": 16 * MIB}, "16 held, 48 x 503 + close"),
    ("bodies-unbudgeted", attack_bodies_held, 1 << 20, {"max_buffered_body_bytes": 1 << 40}, "all 64 held (no cap)"),
    ("pipeline", attack_pipeline, None, {}, "200 200 200 401 400 200 200, in order"),
    ("pipeline-bad", attack_pipeline_bad, None, {}, "200 then 400 + close"),
    ("headers-many", attack_headers, "many", {}, "431 + close"),
    ("headers-big", attack_headers, "big", {}, "431 + close"),
    ("slowloris", attack_slowloris, None, {"header_timeout_ms": 500}, "closed, no bytes"),
    ("slowloris-500", attack_slowloris_many, None, {"header_timeout_ms": 500}, "all closed; delivery 200"),
    ("utf8", attack_utf8, None, {}, "400 signed, 401 otherwise"),
    ("deep-json", attack_deep, None, {}, "400 signed, 401 unsigned"),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--only", default="")
    ap.add_argument("--json", default="")
    ap.add_argument("--idle", type=int, default=10000)
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, args.idle + 1000))
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < args.idle + 100:
        print(f"RLIMIT_NOFILE hard limit {hard} is too low for {args.idle} connections", file=sys.stderr)
        return 1

    rows, results, all_ok = [], [], True
    print("| attack | expected | statuses seen | ok | time | RSS before / peak / after (kB) | peak growth | "
          "stored | then | notes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, fn, arg, settings, expected in ATTACKS:
        if only and name not in only:
            continue
        if name == "idle10k":
            settings = {"max_connections": args.idle + 1, "header_timeout_ms": 120000}
            arg = args.idle
        srv = Server(args.binary, settings)
        try:
            post(srv.port, b"{}", sig=False)  # warm the 401 path and the first connection
            exchange(srv.port, [request("GET", "/healthz", keep_alive=False)], deadline=5)
            time.sleep(0.2)
            before = proc_kb(srv.pid, "VmRSS")
            with open(f"/proc/{srv.pid}/clear_refs", "w") as f:
                f.write("5")
            sampler = Sampler(srv.pid)
            sampler.start()
            t0 = time.monotonic()
            codes, note, ok, stored_expected = fn(srv, arg)
            seconds = time.monotonic() - t0
            sampler.done.set()
            sampler.join()
            time.sleep(0.2)
            peak = max(sampler.peak, proc_kb(srv.pid, "VmHWM"))
            after = proc_kb(srv.pid, "VmRSS")
            stored = srv.rows("events")
            jobs = srv.rows("jobs")
            then, _ = post(srv.port, body_for(999))
            alive = srv.proc.poll() is None
        finally:
            code = srv.stop()
        ok = ok and stored == stored_expected and jobs == stored_expected and then == 200 and alive and code == 0
        all_ok &= ok
        codes_text = " ".join(map(str, codes)) if len(codes) <= 12 else f"{len(codes)} answers"
        print(f"| {name} | {expected} | {codes_text} | {'yes' if ok else 'NO'} | {seconds:.2f} s | "
              f"{before} / {peak} / {after} | +{(peak - before) / 1024:.1f} MB | {stored} events, {jobs} jobs | "
              f"{then}, exit {code} | {note} |", flush=True)
        results.append({"attack": name, "statuses": codes, "ok": ok, "seconds": seconds, "rss_before_kb": before,
                        "rss_peak_kb": peak, "rss_after_kb": after, "events": stored, "jobs": jobs,
                        "delivery_after": then, "exit_code": code, "note": note})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0 if all_ok else 3


if __name__ == "__main__":
    sys.exit(main())
