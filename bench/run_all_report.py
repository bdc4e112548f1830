#!/usr/bin/env python3
"""bench/run_all_report.py RESULTS_DIR: the table bench/run-all prints, from the stages' outputs in RESULTS_DIR.

Every figure is read from what a stage wrote; a stage that failed or did not run shows as "not measured".
A target is "met" only when the figure was measured and satisfies it.
"""
import json
import re
import sys
from pathlib import Path


def read(path):
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def result_line(text):
    """The last `result k=v ...` line of a bench/e2e output, as a dict of floats (strings where not numbers)."""
    out = {}
    for line in text.splitlines():
        if line.startswith("result "):
            out = {}
            for kv in line.split()[1:]:
                k, _, v = kv.partition("=")
                try:
                    out[k] = float(v)
                except ValueError:
                    out[k] = v
    return out


def fmt(v, unit="", digits=0):
    if v is None:
        return "not measured"
    return f"{v:,.{digits}f}{unit}"


def main():
    d = Path(sys.argv[1])
    rows = []  # (what, figure, target, met)

    def row(what, value, shown, target, ok):
        rows.append((what, shown if value is not None else "not measured", target,
                     "—" if ok is None else ("**yes**" if ok else "**no**") if value is not None else "no"))

    # ---- ingestion
    ing = None
    try:
        ing = json.loads(read(d / "ingest" / "result.json"))
    except ValueError:
        pass
    if ing:
        n = ing["nginx"]["run"]
        s = ing["spacehook"]["run"]
        n_rate = n["requests"] / (n["duration_us"] / 1e6)
        s_rate = s["accepted"] / (s["duration_us"] / 1e6)
        ratio = s_rate / n_rate
        row("ingestion: durable acks/s at 32 connections (nginx static 200 in the same run)", s_rate,
            f"{s_rate:,.0f} vs nginx {n_rate:,.0f}: **{100 * ratio:.1f}%**", ">= 50% of nginx", ratio >= 0.5)
        p99 = s["p99_us"] / 1000
        row("ingestion: p99 latency", p99, f"{p99:.2f} ms (p50 {s['p50_us'] / 1000:.2f} ms)", "<= 5 ms", p99 <= 5)
        rss = ing["spacehook"]["hwm_kb"] / 1024
        row("ingestion: peak RSS under that load", rss, f"{rss:.1f} MB", "<= 64 MB", rss <= 64)
    else:
        row("ingestion: durable acks/s vs nginx", None, "", ">= 50% of nginx", False)

    cg = read(d / "callgrind.txt")
    m = re.search(r"totals per delivery: Ir ([\d,\.]+)", cg)
    ir = float(m.group(1).replace(",", "")) if m else None
    row("ingestion: user-space instructions per delivery (callgrind; valgrind hides SHA-NI, so SHA-256 counts high)",
        ir, fmt(ir), "<= 60,000", ir is not None and ir <= 60000)

    # ---- jobs
    sat = result_line(read(d / "e2e-sat.txt"))
    mod = result_line(read(d / "e2e-modest.txt"))
    noop = result_line(read(d / "noop.txt"))
    g = lambda r, k: r.get(k) if r else None  # noqa: E731
    v = g(sat, "events_per_s")
    row("invoice events (move + notify), 5,000 at once: events/s", v, fmt(v), ">= 3,000", v is not None and v >= 3000)
    v = g(sat, "cpu_us_per_event")
    row("... spacehook's own CPU per event at saturation", v, fmt(v, " µs"), "<= 250 µs", v is not None and v <= 250)
    v = g(sat, "p50_ms")
    row("... delivery to effect p50 / p99 at saturation (queueing included)", v,
        f"{fmt(v, ' ms')} / {fmt(g(sat, 'p99_ms'), ' ms')}", "reported", None)
    v = g(mod, "cpu_us_per_event")
    row("invoice events at 100/s, 20 ms moves: spacehook's own CPU per event", v, fmt(v, " µs"), "<= 250 µs",
        v is not None and v <= 250)
    v = g(mod, "p50_ms")
    row("... delivery to effect p50 / p99 at 100/s", v, f"{fmt(v, ' ms')} / {fmt(g(mod, 'p99_ms'), ' ms')}",
        "reported; the poll schedule must not add hundreds of ms", None)
    calls = [x for x in (g(sat, "calls_per_event"), g(mod, "calls_per_event")) if x is not None]
    v = max(calls) if calls else None
    row("DocSpace REST calls per invoice event (the simulator's count; worst of the two runs)", v,
        " / ".join(f"{c:.2f}" for c in calls), "<= 3", v is not None and v <= 3)
    v = g(noop, "events_per_s")
    row("no-op jobs (log notify only), drained from a filled queue: jobs/s, durable", v, fmt(v), ">= 10,000",
        v is not None and v >= 10000)

    # ---- backlog
    bl = {}
    for line in read(d / "backlog.txt").splitlines():
        if line.startswith("result n="):
            kv = dict(x.split("=", 1) for x in line.split()[1:])
            bl[int(kv["n"])] = kv
    if len(bl) >= 2:
        lo, hi = min(bl), max(bl)
        ins = [float(bl[n]["insert_p50_us"]) for n in (lo, hi)]
        lea = [float(bl[n]["lease_p50_us"]) for n in (lo, hi)]
        flat = ins[1] <= 2 * ins[0] + 20 and lea[1] <= 2 * lea[0] + 20
        row(f"backlog: enqueue / lease p50 at {lo:,} and {hi:,} queued jobs", 1,
            f"{ins[0]:.0f} → {ins[1]:.0f} µs / {lea[0]:.0f} → {lea[1]:.0f} µs", "flat (within 2x + 20 µs)", flat)
    else:
        row("backlog: enqueue and lease flat in N", None, "", "flat", False)

    # ---- image
    img = read(d / "image.txt")
    m = re.search(r"image size estimate: ([\d\.]+) MB uncompressed", img)
    v = float(m.group(1)) if m else None
    row("Docker image, uncompressed", v, fmt(v, " MB", 1) if v else "not measured (IMAGE=1)", "<= 40 MB",
        v is not None and v <= 40)

    print("## bench/run-all\n")
    for line in read(d / "machine.txt").splitlines():
        print(f"- {line}")
    print()
    print("| figure | measured | target | met |")
    print("|---|---|---|---|")
    for what, shown, target, met in rows:
        print(f"| {what} | {shown} | {target} | {met} |")
    failed = [p.stem for p in sorted(d.glob("*.txt")) if "STAGE FAILED" in read(p)]
    if failed:
        print(f"\nstages that failed: {', '.join(failed)} (their outputs are in {d})")


if __name__ == "__main__":
    main()
