#!/usr/bin/env python3
"""Pre-generates signed DocSpace deliveries for bench/ingest (stdlib only).

Writes DIR/NAME-<t>.txt for t in 0..threads-1, one delivery per line:

    sha256=<64 uppercase hex> <body>

The body is the one-line file.uploaded envelope of docs/docspace-protocol.md §1.4 / §2.6 (about 670 bytes, pure
ASCII, HTML-escaped like .NET's encoder) with event.id and payload.id = first_id + i, so every line of every
file is a distinct delivery (distinct (webhook.id, event.id) and distinct re-send content key). Lines are dealt
round-robin to the files, one file per wrk thread, so no two wrk threads send the same delivery.

    gen_deliveries.py --secret S --out DIR --name run --threads 2 --count 500000 --first-id 1000000
    gen_deliveries.py --self-test      # checks the signer against the test vector of docs/docspace-protocol.md §1.4
"""

import argparse
import hashlib
import hmac
import os
import sys

# docs/docspace-protocol.md §1.4: the signer must reproduce this header for this body.
VECTOR_SECRET = b"S3cret-Key_01"
VECTOR_BODY = (
    '{"event":{"id":1532,"createOn":"2025-06-10T09:15:42Z","createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef",'
    '"trigger":"file.uploaded","triggerId":256},"payload":{"id":8421,"parentId":8410,"folderIdDisplay":8410,'
    '"rootId":3,"securityByUsers":{},"title":"Invoice \\u0026 \\u00FCbersicht.pdf",'
    '"createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","modifiedBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef",'
    '"createOn":"2025-06-10T09:15:41Z","modifiedOn":"2025-06-10T09:15:41Z","rootFolderType":14,'
    '"rootCreateBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","fileEntryType":2},"webhook":{"id":7,'
    '"name":"automation","url":"https://hooks.example.com/docspace","triggers":["file.uploaded","file.updated"]}}'
)
VECTOR_HEADER = "sha256=64F8BFB756D1489A7E16E5650ED3071140958A5094C1E1A60F93E93681BAD3AA"

# Same shape as the vector; %(eid)d / %(pid)d / %(on)s vary per delivery.
TEMPLATE = (
    '{"event":{"id":%(eid)d,"createOn":"%(on)s","createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef",'
    '"trigger":"file.uploaded","triggerId":256},"payload":{"id":%(pid)d,"parentId":8410,"folderIdDisplay":8410,'
    '"rootId":3,"securityByUsers":{},"title":"Invoice-%(pid)d \\u0026 \\u00FCbersicht.pdf",'
    '"createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","modifiedBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef",'
    '"createOn":"2025-06-10T09:15:41Z","modifiedOn":"2025-06-10T09:15:41Z","rootFolderType":14,'
    '"rootCreateBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","fileEntryType":2},"webhook":{"id":7,'
    '"name":"automation","url":"https://hooks.example.com/docspace","triggers":["file.uploaded","file.updated"]}}'
)


def header_for(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest().upper()


def self_test() -> int:
    got = header_for(VECTOR_SECRET, VECTOR_BODY.encode("ascii"))
    if len(VECTOR_BODY) != 674 or got != VECTOR_HEADER:
        print(f"self-test FAILED: {len(VECTOR_BODY)} bytes, {got}", file=sys.stderr)
        return 1
    print("self-test ok: test vector 1.4 reproduced")
    return 0


def generate(secret: bytes, out: str, name: str, threads: int, count: int, first_id: int) -> None:
    files = [open(os.path.join(out, f"{name}-{t}.txt"), "w", encoding="ascii", buffering=1 << 20)
             for t in range(threads)]
    try:
        for i in range(count):
            n = first_id + i
            # createOn varies too (seconds within a day), as real events do.
            on = "2025-06-10T%02d:%02d:%02dZ" % ((n // 3600) % 24, (n // 60) % 60, n % 60)
            body = TEMPLATE % {"eid": n, "pid": n, "on": on}
            files[i % threads].write(header_for(secret, body.encode("ascii")) + " " + body + "\n")
    finally:
        for f in files:
            f.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--self-test", action="store_true")
    p.add_argument("--secret")
    p.add_argument("--out")
    p.add_argument("--name")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--count", type=int)
    p.add_argument("--first-id", type=int, default=1)
    a = p.parse_args()
    if a.self_test:
        return self_test()
    if not (a.secret and a.out and a.name and a.count and a.threads >= 1):
        p.error("--secret, --out, --name and --count are required")
    generate(a.secret.encode("utf-8"), a.out, a.name, a.threads, a.count, a.first_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
