#!/usr/bin/env python3
"""Per-delivery costs from a callgrind dump (stdlib only; callgrind_annotate 3.19 mis-attributes self cost
in dumps taken with callgrind_control after a zero, so this reads the format itself).

  callgrind_summary.py DUMP DELIVERIES [TOP]

Prints, for the first event column (Ir) and, when present, sysCount / sysTime: the total per delivery,
then the TOP functions by inclusive cost (self + calls made from them) and by self cost, per delivery.
Inclusive cost of recursive or mutually recursive functions is counted once per call edge, as
callgrind_annotate does, so such rows can exceed 100%.
"""

import re
import sys
from collections import defaultdict

NAME_RE = re.compile(r"^\((\d+)\)(?: (.*))?$")


def parse(path):
    names = {"fn": {}, "fl": {}, "ob": {}}
    events, summary = [], None
    self_cost = defaultdict(lambda: None)
    incl_calls = defaultdict(lambda: None)
    obj_of = {}
    cur_fn, cur_ob = None, "???"
    pending_call = None  # (callee) when the next cost line is a call's inclusive cost
    cfn_ob = None
    callee = None
    call_count = defaultdict(int)

    def resolve(kind, text):
        m = NAME_RE.match(text)
        if not m:
            return text
        ident, name = m.group(1), m.group(2)
        if name is not None:
            names[kind][ident] = name
            return name
        return names[kind].get(ident, "(" + ident + ")")

    def add(table, key, values):
        cur = table[key]
        if cur is None:
            table[key] = list(values)
        else:
            for i, v in enumerate(values):
                if i < len(cur):
                    cur[i] += v
                else:
                    cur.append(v)

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                vals = [int(x) for x in parts[1:]]
                if pending_call is not None:
                    add(incl_calls, cur_fn, vals)
                    pending_call = None
                elif cur_fn is not None:
                    add(self_cost, cur_fn, vals)
                continue
            key, _, rest = line.partition("=")
            if key == "events":
                events = rest.split()
            elif line.startswith("events:"):
                events = line.split(":", 1)[1].split()
            elif line.startswith("summary:"):
                summary = [int(x) for x in line.split(":", 1)[1].split()]
            elif key == "ob":
                cur_ob = resolve("ob", rest)
            elif key == "fl" or key == "fi" or key == "fe" or key == "cfi" or key == "cfl":
                resolve("fl", rest)
            elif key == "fn":
                cur_fn = resolve("fn", rest)
                obj_of.setdefault(cur_fn, cur_ob)
            elif key == "cob":
                cfn_ob = resolve("ob", rest)
            elif key == "cfn":
                callee = resolve("fn", rest)
                if cfn_ob:
                    obj_of.setdefault(callee, cfn_ob)
                cfn_ob = None
            elif key == "calls":
                pending_call = True
                if callee != cur_fn:
                    call_count[callee] += int(rest.split()[0])
    return events, summary, self_cost, incl_calls, obj_of, call_count


def short(name, width=150):
    return name if len(name) <= width else name[: width - 3] + "..."


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    events, summary, self_cost, incl_calls, obj_of, call_count = parse(path)
    if not events:
        events = ["Ir"]
    width = len(events)
    zero = [0] * width

    def vec(v):
        v = v or zero
        return v + [0] * (width - len(v))

    fns = set(self_cost) | set(incl_calls)
    incl = {f: [a + b for a, b in zip(vec(self_cost[f]), vec(incl_calls[f]))] for f in fns}
    total = summary or [sum(vec(self_cost[f])[i] for f in self_cost) for i in range(width)]
    ix = {e: i for i, e in enumerate(events)}
    ir = ix.get("Ir", 0)
    extra = [e for e in ("sysCount", "sysTime") if e in ix]
    print(f"deliveries: {n}")
    print("totals per delivery: " + ", ".join(
        f"{e} {total[ix[e]] / n:,.1f}" + (" ns" if e == "sysTime" else "") for e in events if e in ix))

    def head():
        cols = "  {:>10} {:>6} {:>8}".format("Ir/deliv", "Ir %", "calls/d")
        for e in extra:
            cols += " {:>11}".format(e + "/d" if e == "sysCount" else "sys us/d")
        return cols + "  function [object]"

    def row(f, v):
        s = "  {:>10,.0f} {:>5.1f}% {:>8.3f}".format(v[ir] / n, 100 * v[ir] / total[ir], call_count.get(f, 0) / n)
        for e in extra:
            x = v[ix[e]] / n
            s += " {:>11,.2f}".format(x if e == "sysCount" else x / 1000)
        obj = obj_of.get(f, "?").rsplit("/", 1)[-1]
        return s + "  " + short(f) + " [" + obj + "]"

    print()
    print(f"inclusive (top {top}):")
    print(head())
    for f in sorted(incl, key=lambda f: -incl[f][ir])[:top]:
        print(row(f, incl[f]))
    print()
    print(f"self (top {top}):")
    print(head())
    for f in sorted(self_cost, key=lambda f: -vec(self_cost[f])[ir])[:top]:
        print(row(f, vec(self_cost[f])))
    print()
    print("calls per delivery of selected functions:")
    for f in sorted(call_count):
        if re.search(r"^(fdatasync|fsync|__libc_pwrite|pwrite64|sendmsg|recvmsg|__libc_sendmsg|__libc_recvmsg|epoll_wait|"
                     r"malloc|free|sqlite3_step|HMAC|EVP_Q_mac|spacehook::store::writer::run_batch\(|"
                     r"spacehook::webhook::parse_envelope|spacehook::webhook::verify|sqlite3WalFrames|"
                     r"spacehook::store::insert_delivery|pthread_cond_signal|pthread_mutex_lock)", f):
            print(f"  {call_count[f] / n:>8.3f}  {short(f, 120)}")
    # self cost by object file: which library the instructions are spent in
    by_obj = defaultdict(int)
    for f in self_cost:
        by_obj[obj_of.get(f, "?").rsplit("/", 1)[-1]] += vec(self_cost[f])[ir]
    print()
    print("self cost by object:")
    for o, v in sorted(by_obj.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {v / n:>10,.0f} {100 * v / total[ir]:>5.1f}%  {o}")


if __name__ == "__main__":
    main()
