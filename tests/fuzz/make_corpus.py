#!/usr/bin/env python3
"""Writes the seed corpus under tests/fuzz/corpus/<target>/ (run from anywhere; overwrites the seeds it
names, leaves other files alone). The seeds are real shapes: deliveries built from the protocol's test vector
(docs/docspace-protocol.md §1.4 and §2.6), the example configs under deploy/examples, HTTP requests as DocSpace and
hostile clients send them. scripts/fuzz.sh --merge adds minimised finds next to them."""
import hashlib
import hmac
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fuzz" / "corpus"

SECRET = "S3cret-Key_01"
SECOND = "Second-Secret_02"
# docs/docspace-protocol.md §1.4, byte for byte (674 bytes).
VECTOR = (
    '{"event":{"id":1532,"createOn":"2025-06-10T09:15:42Z","createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef",'
    '"trigger":"file.uploaded","triggerId":256},"payload":{"id":8421,"parentId":8410,"folderIdDisplay":8410,'
    '"rootId":3,"securityByUsers":{},"title":"Invoice \\u0026 \\u00FCbersicht.pdf","createBy":'
    '"66faa6e4-f133-11ea-b126-00ffeec8b4ef","modifiedBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","createOn":'
    '"2025-06-10T09:15:41Z","modifiedOn":"2025-06-10T09:15:41Z","rootFolderType":14,"rootCreateBy":'
    '"66faa6e4-f133-11ea-b126-00ffeec8b4ef","fileEntryType":2},"webhook":{"id":7,"name":"automation","url":'
    '"https://hooks.example.com/docspace","triggers":["file.uploaded","file.updated"]}}'
)
VECTOR_HEADER = "sha256=64F8BFB756D1489A7E16E5650ED3071140958A5094C1E1A60F93E93681BAD3AA"

UPDATED_RETRY = (
    '{"event":{"id":1533,"createOn":"2025-06-10T09:20:03Z","createBy":"0f6c2b7e-1d1a-4c55-9a43-7d1e2f9b0c11",'
    '"trigger":"file.updated","triggerId":512},"payload":{"id":8421,"parentId":8410,"folderIdDisplay":8410,'
    '"rootId":3,"securityByUsers":{},"title":"Invoice-2025-06.pdf","createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef",'
    '"modifiedBy":"0f6c2b7e-1d1a-4c55-9a43-7d1e2f9b0c11","createOn":"2025-06-10T09:15:41Z","modifiedOn":'
    '"2025-06-10T09:20:02Z","rootFolderType":14,"rootCreateBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef",'
    '"fileEntryType":2},"webhook":{"id":7,"name":"automation","url":"https://hooks.example.com/docspace",'
    '"triggers":["file.updated"],"target":{"id":8421,"type":"file"},"lastFailureOn":"2025-06-10T09:20:03Z",'
    '"lastFailureContent":"Response status code does not indicate success: 500 (Internal Server Error).",'
    '"lastSuccessOn":"2025-06-10T09:15:43","retryCount":1,"retryOn":"2025-06-10T09:20:04Z"}}'
)
THIRD_PARTY = (
    '{"event":{"id":"77","createOn":"2025-06-11T08:00:00Z","trigger":"file.created","triggerId":128},'
    '"payload":{"id":"sbox-123","parentId":"sbox-100","title":"report-2025.docx","providerId":4,'
    '"providerKey":"Box","fileEntryType":2},"webhook":{"id":"9","name":"box"}}'
)
FOLDER = (
    '{"event":{"id":2001,"createOn":"2025-06-12T10:00:00Z","createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef",'
    '"trigger":"folder.created","triggerId":32768},"payload":{"id":9000,"parentId":86193,"title":"Q3",'
    '"fileEntryType":1},"webhook":{"id":7,"name":"automation","triggers":["*"]}}'
)
FORM = (
    '{"event":{"id":3001,"createOn":"2025-06-13T10:00:00Z","trigger":"form.submit","triggerId":268435456},'
    '"payload":{"originalForm":{"id":1,"title":"Form.pdf","fileEntryType":2},"submittedForm":{"id":2,'
    '"title":"Form - filled.pdf","fileEntryType":2}},"webhook":{"id":7}}'
)
OLD_MODEL = '{"count":1,"response":{"id":8421,"title":"a.docx"},"status":0,"statusCode":200}'
BAD_BODIES = {
    "no-event-id": '{"event":{"trigger":"file.uploaded"},"payload":{},"webhook":{"id":7}}',
    "trigger-number": '{"event":{"id":5,"trigger":256},"webhook":{"id":7}}',
    "id-float": '{"event":{"id":1.5e3,"trigger":"file.uploaded"}}',
    "id-negative-huge": '{"event":{"id":-9223372036854775808,"trigger":"x.y"},"webhook":{"id":18446744073709551615}}',
    "deep": "[" * 70 + "]" * 70,
    "not-json": "event=1532&trigger=file.uploaded",
    "truncated": VECTOR[:300],
    "bom": "\ufeff" + VECTOR,
    "surrogates": '{"event":{"id":1,"trigger":"file.uploaded"},"payload":{"title":"\\ud83d\\ude00 \\ud800 x"}}',
    "duplicate-keys": '{"event":{"id":1,"id":2,"trigger":"a.b","trigger":"c.d"},"event":{"id":3,"trigger":"e.f"}}',
}


def sign(secret: str, body: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body.encode("utf-8"), hashlib.sha256).hexdigest().upper()


assert len(VECTOR) == 674 and sign(SECRET, VECTOR) == VECTOR_HEADER


def write(target: str, name: str, data) -> None:
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


# --- fuzz_webhook: "<secret>|<secret>\n<header>\n<body>" --------------------------------------------------
def webhook_input(secrets, header, body):
    return "|".join(secrets) + "\n" + header + "\n" + body


write("fuzz_webhook", "vector", webhook_input([SECRET], VECTOR_HEADER, VECTOR))
write("fuzz_webhook", "vector-lowercase", webhook_input([SECRET], VECTOR_HEADER.lower(), VECTOR))
write("fuzz_webhook", "vector-blanks", webhook_input([SECRET], " \t" + VECTOR_HEADER + " ", VECTOR))
write("fuzz_webhook", "rotation", webhook_input(["new-secret-2026", SECRET], VECTOR_HEADER, VECTOR))
write("fuzz_webhook", "wrong-secret", webhook_input(["other-secret"], VECTOR_HEADER, VECTOR))
write("fuzz_webhook", "no-secrets", webhook_input([], VECTOR_HEADER, VECTOR))
write("fuzz_webhook", "sha1-prefix", webhook_input([SECRET], "sha1=" + VECTOR_HEADER[7:], VECTOR))
write("fuzz_webhook", "body-only", VECTOR)
write("fuzz_webhook", "retry", webhook_input([SECRET], sign(SECRET, UPDATED_RETRY), UPDATED_RETRY))
write("fuzz_webhook", "third-party", webhook_input([SECRET, SECOND], sign(SECOND, THIRD_PARTY), THIRD_PARTY))
write("fuzz_webhook", "folder", webhook_input([SECRET], sign(SECRET, FOLDER), FOLDER))
write("fuzz_webhook", "form", webhook_input([SECRET], sign(SECRET, FORM), FORM))
write("fuzz_webhook", "old-model", webhook_input([SECRET], sign(SECRET, OLD_MODEL), OLD_MODEL))
for name, body in BAD_BODIES.items():
    write("fuzz_webhook", "bad-" + name, webhook_input([SECRET], sign(SECRET, body), body))


# --- fuzz_http_request: raw bytes from a client ----------------------------------------------------------
def post(path, body, headers=None, signature=None, secret=SECRET, version="1.1"):
    h = [f"POST {path} HTTP/{version}", "Host: spacehook.example.com", "Accept: */*",
         "Content-Type: application/json; charset=utf-8"]
    if signature is None:
        signature = sign(secret, body)
    if signature:
        h.append("x-docspace-signature-256: " + signature)
    h += headers or []
    if not any(x.lower().startswith("transfer-encoding") for x in h):
        h.append(f"Content-Length: {len(body.encode())}")
    return "\r\n".join(h) + "\r\n\r\n" + body


def chunked(body, size=100):
    out = ""
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        out += f"{len(piece):x}\r\n{piece}\r\n"
    return out + "0\r\n\r\n"


def get(path, method="GET", headers=None, version="1.1"):
    return "\r\n".join([f"{method} {path} HTTP/{version}", "Host: spacehook.example.com"] + (headers or [])) + "\r\n\r\n"


WH = "/docspace/webhook"
write("fuzz_http_request", "signed-vector", post(WH, VECTOR))
write("fuzz_http_request", "signed-second-secret", post(WH, UPDATED_RETRY, secret=SECOND))
write("fuzz_http_request", "signed-lowercase", post(WH, THIRD_PARTY, signature=sign(SECRET, THIRD_PARTY).lower()))
write("fuzz_http_request", "signed-query", post(WH + "?source=docspace&x=1", FOLDER))
write("fuzz_http_request", "signed-chunked",
      post(WH, "", headers=["Transfer-Encoding: chunked"], signature=sign(SECRET, VECTOR))
      + chunked(VECTOR))
write("fuzz_http_request", "signed-expect-continue", post(WH, FORM, headers=["Expect: 100-continue"]))
write("fuzz_http_request", "wrong-signature", post(WH, VECTOR, signature=sign("other-secret", VECTOR)))
write("fuzz_http_request", "missing-signature", post(WH, VECTOR, signature=""))
write("fuzz_http_request", "signed-not-json", post(WH, BAD_BODIES["not-json"]))
write("fuzz_http_request", "signed-no-event-id", post(WH, BAD_BODIES["no-event-id"]))
write("fuzz_http_request", "unsigned-vector", post("/unsigned", VECTOR, signature=""))
write("fuzz_http_request", "unsigned-deep", post("/unsigned", BAD_BODIES["deep"], signature=""))
write("fuzz_http_request", "unsigned-surrogates", post("/unsigned", BAD_BODIES["surrogates"], signature=""))
write("fuzz_http_request", "pipelined",
      get(WH, "HEAD") + post(WH, VECTOR) + post(WH, VECTOR) + get("/healthz") + get("/readyz", "HEAD"))
write("fuzz_http_request", "probes", get("/healthz") + get("/readyz") + get("/nope") + get("/healthz", "POST")
      + get(WH, "PUT") + get(WH, "GET", ["Connection: close"]))
write("fuzz_http_request", "metrics",
      get("/metrics", headers=["Authorization: Bearer admin-token"]) + get("/metrics")
      + get("/metrics", headers=["Authorization: Bearer wrong"])
      + get("/metrics", "HEAD", headers=["Authorization: Bearer admin-token"]))
write("fuzz_http_request", "http10", post(WH, FOLDER, version="1.0") + get("/healthz"))
write("fuzz_http_request", "too-large-declared",
      "POST /unsigned HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n" + VECTOR)
write("fuzz_http_request", "header-too-large", get("/healthz", headers=["X-Padding: " + "a" * 17000]))
write("fuzz_http_request", "many-headers", get("/healthz", headers=[f"X-H{i}: {i}" for i in range(200)]))
write("fuzz_http_request", "bad-request-line", "GET /healthz HTTP/9.Z\r\n\r\n")
write("fuzz_http_request", "bad-chunk",
      "POST /unsigned HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
write("fuzz_http_request", "te-and-cl",
      "POST /unsigned HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
      + chunked(FOLDER, 40))
write("fuzz_http_request", "two-signatures",
      post(WH, VECTOR, headers=["x-docspace-signature-256: sha256=00"], signature=VECTOR_HEADER))
write("fuzz_http_request", "absolute-target", post("http://spacehook.example.com" + WH, VECTOR))
write("fuzz_http_request", "partial", post(WH, VECTOR)[:400])
write("fuzz_http_request", "chunked-final-chunk-cut",  # once tripped the harness (see fuzz_http_request.cpp)
      "POST /unsigned HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n00\r\n")
write("fuzz_http_request", "obs-fold", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n")


# --- fuzz_config: JSON configs ----------------------------------------------------------------------------
for f in sorted((ROOT / "deploy" / "examples").glob("*.json")):
    write("fuzz_config", "example-" + f.stem, f.read_bytes())

CONTRACT = {
    "server": {"listen": "0.0.0.0:8080", "max_body_bytes": 1048576, "admin_token": "${SPACEHOOK_ADMIN_TOKEN}"},
    "database": "/var/lib/spacehook/spacehook.db",
    "docspace": {"base_url": "https://portal.example.com", "api_key": "${DOCSPACE_API_KEY}",
                 "ignore_own_events": True},
    "webhooks": [{"path": "/docspace/webhook", "secrets": ["${DOCSPACE_WEBHOOK_SECRET}"]}],
    "workers": {"concurrency": 8, "max_attempts": 10, "backoff_initial_ms": 1000, "backoff_max_ms": 600000},
    "channels": {
        "manager-mail": {"type": "smtp", "url": "smtp://mail:587", "starttls": True, "username": "u",
                         "password": "${SMTP_PASSWORD}", "from": "spacehook@example.com",
                         "to": ["manager@example.com"]},
        "ops-chat": {"type": "http", "url": "https://hooks.example.com/x", "format": "slack"},
        "console": {"type": "log"}},
    "rules": [
        {"name": "invoice-intake", "on": ["file.uploaded", "file.created"],
         "if": {"in_room": 86193, "title": {"prefix": "invoice"}},
         "do": [{"move": {"to_folder": 654321}},
                {"notify": {"channel": "manager-mail", "subject": "Invoice uploaded: {{file.title}}",
                            "body": "{{file.title}} (id {{file.id}}) by {{actor.name}}: {{file.web_url}}"}}]},
        {"name": "copy-to-internal", "on": ["file.uploaded"], "if": {"in_folder": 539564},
         "do": [{"copy": {"to_folder": 341029}}]},
        {"name": "compliance-watch", "on": ["file.updated"], "if": {"in_folder": 539564},
         "do": [{"notify": {"channel": "console", "subject": "File changed in Compliance folder"}}]},
        {"name": "need-review", "on": ["file.updated"], "do": [{"comment": {"text": "Need Review"}}]}]}
write("fuzz_config", "contract", json.dumps(CONTRACT, indent=2))

FULL = json.loads(json.dumps(CONTRACT))
FULL["server"].update({"max_header_bytes": 16384, "header_timeout_ms": 10000, "request_timeout_ms": 30000,
                       "max_connections": 4096, "threads": 2, "tls": {"cert_file": "/etc/c.pem", "key_file": "/etc/k.pem"}})
FULL["database"] = {"path": "/var/lib/spacehook/s.db", "busy_timeout_ms": 2000}
FULL["docspace"].update({"ca_file": "/etc/ca.pem", "timeout_ms": 30000, "fileop_timeout_ms": 300000,
                         "poll_interval_ms": 500})
FULL["workers"].update({"lease_ms": 60000, "shutdown_grace_ms": 10000})
FULL["retention"] = {"succeeded_after": "30d", "interval": "1h"}
FULL["webhooks"].append({"path": "/second", "secrets": []})
FULL["channels"]["teams"] = {"type": "http", "url": "http://127.0.0.1:9/t", "format": "teams", "timeout_ms": 5000}
FULL["rules"] += [
    {"name": "regex", "on": ["*"], "if": {"title": {"regex": "^report-[0-9]{4}\\.(docx|xlsx)$", "case": "sensitive"}},
     "do": [{"comment": {"text": "{{ rule.name }} matched {{file.title}} \\{{literal}}"}}]},
    {"name": "glob", "on": ["file.updated"], "if": {"in_folder": "sbox-100", "title": {"glob": "*.[pP][dD]F"}},
     "do": [{"move": {"to_folder": "sbox-200", "on_conflict": "overwrite"}}]},
    {"name": "suffix", "on": ["file.created"], "if": {"title": {"suffix": ".DOCX"}},
     "do": [{"copy": {"to_folder": 1, "on_conflict": "duplicate"}},
            {"notify": {"channel": "teams", "body": "{{event.id}} {{event.trigger}} {{event.created_on}} "
                                                     "{{webhook.id}} {{webhook.name}} {{actor.id}} {{actor.email}} "
                                                     "{{file.folder_id}} {{file.version}} {{file.ext}} {{file.size}}"}}]},
    {"name": "lookahead", "on": ["file.uploaded"], "if": {"title": {"regex": "^(?:inv|rech)\\w*(?=\\.pdf$)"}},
     "do": [{"comment": {"text": "x"}}]}]
write("fuzz_config", "every-key", json.dumps(FULL, indent=1))

MINIMAL = '{"database": "/tmp/s.db", "webhooks": [{"path": "/h", "secrets": ["${DOCSPACE_WEBHOOK_SECRET}"]}]}'
write("fuzz_config", "minimal", MINIMAL)
write("fuzz_config", "comments-trailing-commas",
      '// spacehook\n{\n  /* db */ "database": "/tmp/s.db",\n  "webhooks": [{"path": "/h", "secrets": [],},],\n}\n')
write("fuzz_config", "env-escapes",
      '{"database": "$${NOT_EXPANDED}/${EMPTY}x", "webhooks": [{"path": "/h${SELF}", "secrets": ["${MISSING}", '
      '"${unterminated", "$$", "${TEMPLATE}"]}]}')
write("fuzz_config", "problems",
      '{"server": {"listen": "nope", "max_body_bytes": -1, "threads": 1e3, "extra": 1}, "database": 5, '
      '"docspace": {"base_url": ""}, "webhooks": {}, "workers": {"backoff_initial_ms": 10, "backoff_max_ms": 5}, '
      '"retention": {"succeeded_after": "forever"}, "channels": {"m": {"type": "smtp", "url": "http://x"}, '
      '"c": {"type": "pigeon"}}, "rules": [{"name": "a", "on": ["uploaded", ".x", "*"], '
      '"if": {"in_folder": -3, "title": {"prefix": "a", "regex": "("}}, "do": [{"move": {}, "copy": {}}, '
      '{"notify": {"channel": "nope", "subject": "{{file.titel}}"}}, {"comment": {"text": "{{"}}]}, '
      '{"name": "a", "on": [], "do": []}]}')
write("fuzz_config", "regex-numbers",  # found by fuzz_config: overlong \\N and {n} overflowed in libstdc++
      '{"database": "/tmp/s.db", "webhooks": [{"path": "/h", "secrets": []}], "docspace": {"base_url": '
      '"http://127.0.0.1:9", "api_key": "k"}, "rules": [{"name": "a", "on": ["*"], "if": {"title": {"regex": '
      '"^(a+)+\\\\155555555555555555555555b$"}}, "do": [{"comment": {"text": "x"}}]}, {"name": "b", "on": ["*"], '
      '"if": {"title": {"regex": "a{1,99999999999999999999}"}}, "do": [{"comment": {"text": "x"}}]}]}')
write("fuzz_config", "retention-overflow",  # found by fuzz_config: clock::parse_duration_ms overflowed
      '{"database": "/tmp/s.db", "webhooks": [{"path": "/h", "secrets": []}], '
      '"retention": {"succeeded_after": "00000000000000000008431504991845584437d", "interval": "106751991168d"}}')
write("fuzz_config", "regex-backref",  # found by fuzz_config: a back-reference backtracked for minutes
      '{"database": "/tmp/s.db", "webhooks": [{"path": "/h", "secrets": []}], "docspace": {"base_url": '
      '"http://127.0.0.1:9", "api_key": "k"}, "rules": [{"name": "a", "on": ["*"], "if": {"title": {"regex": '
      '"^(a|a)+\\\\1b$"}}, "do": [{"comment": {"text": "x"}}]}]}')
write("fuzz_config", "not-json", '{"database": "/tmp/s.db", "webhooks": [')


# --- fuzz_template: template text --------------------------------------------------------------------------
TEMPLATES = {
    "subject": "Invoice uploaded: {{file.title}}",
    "body": "{{file.title}} (id {{file.id}}) was uploaded by {{actor.name}} <{{actor.email}}> and moved to "
            "Incoming.\n{{file.web_url}}",
    "blanks": "{{ file.title }} {{\tevent.trigger\n}}",
    "every-name": " ".join("{{%s}}" % n for n in [
        "file.id", "file.title", "file.folder_id", "file.web_url", "file.version", "file.ext", "file.size",
        "actor.id", "actor.name", "actor.email", "event.id", "event.trigger", "event.created_on", "rule.name",
        "webhook.id", "webhook.name"]),
    "escape": "literal \\{{file.title}} and {{file.title}}",
    "lone-braces": "{ } }} \\ \\\\{{rule.name}}",
    "plain": "Need Review",
    "unterminated": "Hello {{file.title",
    "empty": "{{}}",
    "unknown": "{{file.titel}}",
    "bad-char": "{{file.title!}}",
    "multi-line-error": "line one\nline two {{ actor.nme }}",
    "utf8": "Rechnung \xfcber {{file.title}} \u2014 \U0001F600 {{nope",
    "triple": "{{{file.id}}}",
}
for name, text in TEMPLATES.items():
    write("fuzz_template", name, text)
