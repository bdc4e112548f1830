-- wrk script for bench/ingest: each wrk thread POSTs the pre-signed deliveries of its own file, one line
-- per request (gen_deliveries.py writes "sha256=<hex> <body>" lines, PREFIX-<thread>.txt), and counts the
-- answers by kind. The same script drives nginx and spacehook so the client does the same work for both.
--
--   wrk -t T -c C -d 10s --latency -s deliveries.lua URL -- PREFIX
--
-- When a thread reaches the end of its file it starts over and counts a wrap: from then on its requests are
-- re-sends that spacehook answers {"status":"duplicate"} (cheaper than a new delivery), so the run reports
-- accepted and duplicate answers separately. done() prints one line of JSON, starting '{"duration_us"', after
-- wrk's own summary (done() runs in wrk's main Lua state, which never sees init()'s arguments).

local threads = {}
local next_id = 0

function setup(thread)
    thread:set("tid", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end

function init(args)
    prefix = args[1]
    local u = wrk.path
    target = (u ~= nil and u ~= "") and u or "/docspace/webhook"
    file = assert(io.open(prefix .. "-" .. tid .. ".txt", "r"))
    sent, accepted, duplicate, other_2xx, non_2xx, wraps = 0, 0, 0, 0, 0, 0
    headers = { ["Content-Type"] = "application/json" }
end

function request()
    local line = file:read("*l")
    if line == nil then
        wraps = wraps + 1
        file:seek("set", 0)
        line = file:read("*l")
    end
    sent = sent + 1
    -- "sha256=" + 64 hex = 71 characters, then one space, then the body.
    headers["x-docspace-signature-256"] = line:sub(1, 71)
    return wrk.format("POST", target, headers, line:sub(73))
end

function response(status, hdrs, body)
    if status >= 200 and status < 300 then
        if body:find("accepted", 1, true) then
            accepted = accepted + 1
        elseif body:find("duplicate", 1, true) then
            duplicate = duplicate + 1
        else
            other_2xx = other_2xx + 1
        end
    else
        non_2xx = non_2xx + 1
    end
end

function done(summary, latency, requests)
    local t = { sent = 0, accepted = 0, duplicate = 0, other_2xx = 0, non_2xx = 0, wraps = 0 }
    for _, thread in ipairs(threads) do
        for k, _ in pairs(t) do
            t[k] = t[k] + (thread:get(k) or 0)
        end
    end
    local e = summary.errors
    local out = string.format(
        '{"duration_us":%d,"requests":%d,"bytes":%d,"sent":%d,"accepted":%d,"duplicate":%d,"other_2xx":%d,' ..
        '"non_2xx":%d,"wraps":%d,"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,' ..
        '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f}\n',
        summary.duration, summary.requests, summary.bytes, t.sent, t.accepted, t.duplicate, t.other_2xx,
        t.non_2xx, t.wraps, e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
        latency.max, latency.mean)
    io.write(out)
end
