// Hostile input at the front door of the real `spacehook serve` process: idle connection floods, descriptor
// exhaustion, 100 MB bodies, many almost complete bodies held open, pipelining and request smuggling shapes,
// header floods, slowloris, invalid UTF-8 and deep JSON nesting.
// Every case asserts the bytes on the wire, that nothing was stored, that the process lives on and still accepts
// a signed delivery, and bounds the growth of its resident set (VmRSS / VmHWM from /proc/<pid>/status).
//
// The test build runs under ASan: its shadow memory and its quarantine of freed blocks (up to 256 MB) make RSS
// grow with the volume allocated and rarely shrink, so the bounds below are set against the attack's size (a
// 100 MB upload must not cost anything near 100 MB), not against a release build's figures
// (bench/hostile/run.sh measures those).
#include "deliveries.hpp"
#include "hostile_support.hpp"
#include "raw_http.hpp"
#include "spacehook/store/sqlite.hpp"
#include "spacehook/webhook/signature.hpp"

#include <doctest/doctest.h>

#include <fstream>

#include <fmt/format.h>

using namespace spacehook;
using namespace spacehook::test::hostile;

namespace {

const std::string secret = "hostile-S3cret-Key_01";
const std::string accepted = R"({"status":"accepted"})";
constexpr std::uint64_t mib = 1024 * 1024;

// RSS bounds are for the ASan build the suite normally runs; ThreadSanitizer's shadow memory and per-thread
// state make the same heap about three times as large, so under TSan the bounds are scaled, not dropped.
#if defined(__SANITIZE_THREAD__)
constexpr long rss_scale = 3;
#else
constexpr long rss_scale = 1;
#endif

std::string signed_request(const std::string& body, bool keep_alive = true) {
    return test::make_request("POST", "/docspace/webhook", body, {{"x-docspace-signature-256", webhook::sign(secret, body)}},
                              keep_alive);
}

// A serve process on a fresh database with one rule matching every upload (so a stored delivery would also
// leave a job row). `server_extra` is spliced into the "server" object.
struct fixture {
    test::temp_dir dir;
    std::unique_ptr<serve_child> serve;
    rss_probe rss{};
    long rss_before_kb = 0;

    explicit fixture(std::string_view server_extra = "") {
        auto path = dir.file("config.json");
        std::ofstream(path) << fmt::format(R"({{
          "server": {{"listen": "127.0.0.1:0", "threads": 2{}{}}},
          "database": "{}",
          "docspace": {{"base_url": "http://127.0.0.1:9", "api_key": "k", "ignore_own_events": false}},
          "webhooks": [{{"path": "/docspace/webhook", "secrets": ["{}"]}}],
          "channels": {{"console": {{"type": "log"}}}},
          "rules": [{{"name": "every-upload", "on": ["file.uploaded"],
                      "do": [{{"notify": {{"channel": "console", "subject": "upload"}}}}]}}]
        }})",
                                           server_extra.empty() ? "" : ", ", server_extra, dir.file("spacehook.db"),
                                           secret);
        serve = std::make_unique<serve_child>(dir, path);
        REQUIRE(serve->port() != 0);
        rss.pid = serve->pid();
        // Warm the paths every case uses (the first connection, request and 401 answer) so that the baseline is
        // not the cold process.
        CHECK(test::request(port(), "GET", "/healthz").status == 200);
        CHECK(test::request(port(), "POST", "/docspace/webhook", "{}").status == 401);
        rss_before_kb = rss.now_kb();
        rss.reset_peak();
    }

    std::uint16_t port() const { return serve->port(); }
    pid_t pid() const { return serve->pid(); }

    std::int64_t count(const char* table) {
        return test::count_rows(dir.file("spacehook.db"), fmt::format("SELECT count(*) FROM {}", table));
    }
    std::int64_t events() { return count("events"); }
    std::int64_t jobs() { return count("jobs"); }

    // Prints before / peak / after and returns {peak growth, lasting growth} in kB.
    std::pair<long, long> report_rss(std::string_view attack) {
        long peak = rss.peak_kb(), after = rss.now_kb();
        MESSAGE(fmt::format("{}: RSS before {} kB, peak {} kB (+{} kB), after {} kB (+{} kB)", attack, rss_before_kb,
                            peak, peak - rss_before_kb, after, after - rss_before_kb));
        return {peak - rss_before_kb, after - rss_before_kb};
    }

    // The process lives and a fresh signed delivery `id` is accepted and stored (one event, one job more).
    void check_still_serving(int id) {
        REQUIRE(serve->alive());
        auto events_before = events(), jobs_before = jobs();
        auto b = test::uploaded_body(id);
        auto r = test::request(port(), "POST", "/docspace/webhook", b, {{"x-docspace-signature-256", webhook::sign(secret, b)}});
        CHECK(r.status == 200);
        CHECK(r.body == accepted);
        CHECK(events() == events_before + 1);
        CHECK(jobs() == jobs_before + 1);
    }
};

// Splits a byte stream of HTTP/1.1 responses with Content-Length bodies.
std::vector<test::raw_response> parse_responses(std::string_view bytes) {
    std::vector<test::raw_response> out;
    while (true) {
        auto end = bytes.find("\r\n\r\n");
        if (end == std::string_view::npos || bytes.substr(0, 9) != "HTTP/1.1 ") break;
        test::raw_response r;
        r.status = std::stoi(std::string(bytes.substr(9, 3)));
        auto head = bytes.substr(0, end);
        std::size_t pos = head.find("\r\n");
        while (pos != std::string_view::npos && pos < head.size()) {
            auto next = head.find("\r\n", pos + 2);
            auto line = head.substr(pos + 2, (next == std::string_view::npos ? head.size() : next) - pos - 2);
            if (auto colon = line.find(':'); colon != std::string_view::npos) {
                std::string name(line.substr(0, colon));
                for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                auto value = line.substr(colon + 1);
                while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
                r.headers[name] = std::string(value);
            }
            pos = next;
        }
        std::size_t len = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
        if (bytes.size() < end + 4 + len) break;
        r.body = std::string(bytes.substr(end + 4, len));
        out.push_back(std::move(r));
        bytes.remove_prefix(end + 4 + len);
    }
    return out;
}

// Opens `n` connections, each announcing a 1 MiB signed-looking body and sending all of it but the last byte.
std::vector<fd_guard> hold_almost_complete_bodies(std::uint16_t port, int n) {
    const auto head = fmt::format("POST /docspace/webhook HTTP/1.1\r\nHost: x\r\nx-docspace-signature-256: {}\r\n"
                                  "Content-Length: {}\r\n\r\n",
                                  webhook::sign(secret, ""), mib);
    const std::string almost = head + std::string(mib - 1, 'x');
    std::vector<fd_guard> conns;
    for (int i = 0; i < n; ++i) {
        conns.push_back(connect_loopback(port));
        REQUIRE(conns.back());
        timeval tv{5, 0};
        ::setsockopt(conns.back().get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        // A refused upload ends in EPIPE or ECONNRESET; the answer is read afterwards.
        for (std::size_t off = 0; off < almost.size();) {
            auto sent = ::send(conns.back().get(), almost.data() + off, almost.size() - off, MSG_NOSIGNAL);
            if (sent <= 0) break;
            off += static_cast<std::size_t>(sent);
        }
    }
    return conns;
}

struct answers_seen {
    int answered_503 = 0;
    int closed = 0;
    std::size_t other_bytes = 0;  // anything but a 503
};

// Reads what each connection got until `closed_wanted` of them were closed by the server (or `timeout`).
answers_seen read_answers(const std::vector<fd_guard>& conns, int closed_wanted, std::chrono::milliseconds timeout) {
    std::vector<std::string> got(conns.size());
    std::vector<bool> closed(conns.size(), false);
    answers_seen a;
    test::poll_until(
        [&] {
            for (std::size_t i = 0; i < conns.size(); ++i) {
                if (closed[i]) continue;
                char buf[4096];
                for (;;) {
                    auto n = ::recv(conns[i].get(), buf, sizeof buf, MSG_DONTWAIT);
                    if (n > 0) {
                        got[i].append(buf, static_cast<std::size_t>(n));
                        continue;
                    }
                    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                        closed[i] = true;
                        ++a.closed;
                    }
                    break;
                }
            }
            return a.closed >= closed_wanted;
        },
        timeout);
    for (const auto& g : got) {
        if (g.rfind("HTTP/1.1 503", 0) == 0 && g.find("Connection: close") != std::string::npos)
            ++a.answered_503;
        else
            a.other_bytes += g.size();
    }
    return a;
}

bool upload_refused(const exchange_result& r) {
    return r.send_errno == EPIPE || r.send_errno == ECONNRESET;
}

}  // namespace

TEST_SUITE("hostile input") {
    TEST_CASE("ten thousand idle connections are held in bounded memory, a delivery still gets through, and the "
              "connection over max_connections is answered 503 and closed") {
        constexpr std::size_t idle = 10000;
        auto limit = raise_nofile(20000);
        if (limit < idle + 500) {
            MESSAGE(fmt::format("skipped: RLIMIT_NOFILE is {} (hard limit too low for {} connections)", limit, idle));
            return;
        }
        // The cap is the idle connections plus the one delivery connection; the idle ones must outlive the test.
        fixture f(fmt::format(R"("max_connections": {}, "header_timeout_ms": 120000)", idle + 1));
        const auto base_fds = open_fds(f.pid());
        std::vector<fd_guard> conns;
        conns.reserve(idle);
        auto t0 = clock_type::now();
        // In batches, each accepted before the next, so the listen backlog never overflows and the server's
        // descriptor count proves every connection is held.
        while (conns.size() < idle) {
            for (int i = 0; i < 1000 && conns.size() < idle; ++i) {
                conns.push_back(connect_loopback(f.port()));
                REQUIRE_MESSAGE(conns.back(), "connect failed: ", std::strerror(errno));
            }
            // A few descriptors of the baseline may be transient (a warm-up connection closing, SQLite's
            // journal): allow for them rather than count them as connections.
            REQUIRE_MESSAGE(test::poll_until([&] { return open_fds(f.pid()) + 8 >= base_fds + conns.size(); }, 30s),
                            "the server holds ", open_fds(f.pid()), " descriptors for ", conns.size(),
                            " connections (", base_fds, " before)");
        }
        auto opened_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count();
        long held_kb = f.rss.now_kb();
        MESSAGE(fmt::format("{} idle connections open in {} ms; server holds {} descriptors; RSS {} kB (+{} kB, {} "
                            "bytes per connection)",
                            idle, opened_ms, open_fds(f.pid()), held_kb, held_kb - f.rss_before_kb,
                            (held_kb - f.rss_before_kb) * 1024 / static_cast<long>(idle)));

        // The 10,001st connection carries a delivery and stays open.
        test::raw_conn extra(f.port());
        auto t1 = clock_type::now();
        REQUIRE(extra.write(signed_request(test::uploaded_body(1))));
        auto r = extra.read_response();
        auto delivery_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t1).count();
        CHECK(r.status == 200);
        CHECK(r.body == accepted);
        CHECK(delivery_ms < 5000);
        CHECK(f.events() == 1);

        // The 10,002nd is over the cap: 503, Connection: close, closed, and nothing read from it.
        auto over = exchange(f.port(), once(signed_request(test::uploaded_body(2))), {.deadline = 5s});
        CHECK(over.status() == 503);
        CHECK(over.has("Connection: close"));
        CHECK(over.has("Retry-After: 1"));
        CHECK(over.closed);
        CHECK(f.events() == 1);

        // Closing them gives the descriptors back.
        conns.clear();
        CHECK(test::poll_until([&] { return open_fds(f.pid()) <= base_fds + 1; }, 30s));
        auto [peak_growth, lasting_growth] = f.report_rss("10,000 idle connections");
        // Measured under ASan: about 10 kB per held connection (about 5 kB in a release build, bench/hostile).
        // Bound: 20 kB per connection while open; ASan keeps what was freed in its quarantine, so the same bound
        // after.
        CHECK(peak_growth < 200 * 1024 * rss_scale);
        CHECK(lasting_growth < 200 * 1024 * rss_scale);
        f.check_still_serving(3);
        CHECK(f.events() == 2);
    }

    // Descriptors run out before max_connections does (a shell's default `ulimit -n` of 1024 against the default
    // cap of 4096): the acceptor meets EMFILE while connections wait in the listen queue.
    TEST_CASE("connections beyond the process's descriptor limit neither spin the acceptor nor flood the log") {
        auto f = std::make_unique<fixture>();
        const auto base_fds = open_fds(f->pid());
        REQUIRE(base_fds < 60);
        // The serve process's own soft limit, lowered from outside once it runs (whatever it set at start-up).
        REQUIRE(set_soft_nofile(f->pid(), 64));
        std::vector<fd_guard> conns;
        for (std::size_t i = 0; i < 64 - base_fds + 40; ++i) {
            conns.push_back(connect_loopback(f->port()));
            REQUIRE(conns.back());
        }
        REQUIRE(test::poll_until([&] { return open_fds(f->pid()) >= 63; }, 10s));
        // One second with the limit reached and 40 connections still queued.
        const auto log_before = f->serve->log().size();
        const auto cpu_before = cpu_seconds(f->pid());
        std::this_thread::sleep_for(1s);  // measuring a rate over a fixed window, not waiting for a condition
        const auto cpu = cpu_seconds(f->pid()) - cpu_before;
        const auto log_growth = f->serve->log().size() - log_before;
        MESSAGE(fmt::format("descriptors exhausted for 1 s: server CPU {:.2f} s, log +{} bytes", cpu, log_growth));
        CHECK(cpu < 0.5);
        CHECK(log_growth < 64 * 1024);
        // The limit comes back before the flood goes: UBSan's vptr check probes memory through pipe(2), and
        // with no descriptor left it takes the first polymorphic object it has not seen yet (the queued
        // connections' error categories) for one with an invalid vptr and aborts the dev build. A sanitizer
        // artefact (a 20-line program dies the same way); the release build runs on (bench/hostile).
        REQUIRE(set_soft_nofile(f->pid(), 20000));
        conns.clear();
        REQUIRE(test::poll_until([&] { return open_fds(f->pid()) <= base_fds + 2; }, 20s));
        CHECK(f->events() == 0);
        f->report_rss("descriptors exhausted");
        f->check_still_serving(1);
    }

    TEST_CASE("an announced 100 MB body is answered 413 before any of it is read, and the upload is cut off") {
        fixture f;
        const auto head = fmt::format(
            "POST /docspace/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "x-docspace-signature-256: {}\r\nContent-Length: {}\r\n",
            webhook::sign(secret, ""), 100 * mib);
        SUBCASE("the answer comes after the headers alone, instead of 100 Continue") {
            auto r = exchange(f.port(), once(head + "Expect: 100-continue\r\n\r\n"), {.deadline = 5s});
            CHECK(r.status() == 413);
            CHECK(r.status(1) == 0);  // no 100 Continue before or after it
            CHECK(r.has("Connection: close"));
            CHECK(r.has(R"({"error":"body too large"})"));
            CHECK(r.closed);
            CHECK(r.first_byte_after < 2000ms);
        }
        SUBCASE("a client streaming the 100 MB regardless is stopped by EPIPE or ECONNRESET") {
            auto r = exchange(f.port(), head_then_repeat(head + "\r\n", 100 * mib, std::string(64 * 1024, 'x')),
                              {.deadline = 20s});
            MESSAGE(fmt::format("announced 100 MB: {} bytes sent in {} ms, send error {} ({})", r.sent,
                                r.elapsed.count(), r.send_errno, std::strerror(r.send_errno)));
            CHECK(r.status() == 413);
            CHECK(r.closed);
            CHECK(upload_refused(r));
            CHECK(!r.source_done);
            CHECK(r.sent < 40 * mib);  // the body limit, the 4 MiB drain and the socket buffers
            CHECK(r.elapsed < 10s);
        }
        CHECK(f.events() == 0);
        CHECK(f.jobs() == 0);
        auto [peak_growth, lasting_growth] = f.report_rss("announced 100 MB body");
        CHECK(peak_growth < 32 * 1024 * rss_scale);
        CHECK(lasting_growth < 32 * 1024 * rss_scale);
        f.check_still_serving(1);
    }

    TEST_CASE("a chunked 100 MB body is answered 413 once over the limit, and the upload is cut off") {
        fixture f;
        const auto head = fmt::format(
            "POST /docspace/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "x-docspace-signature-256: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
            webhook::sign(secret, ""));
        const std::string chunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
        const std::uint64_t chunks = 100 * mib / 0x10000;
        auto r = exchange(f.port(), head_then_repeat(head, chunks * chunk.size(), chunk), {.deadline = 20s});
        MESSAGE(fmt::format("chunked 100 MB: {} bytes sent in {} ms, send error {} ({})", r.sent, r.elapsed.count(),
                            r.send_errno, std::strerror(r.send_errno)));
        CHECK(r.status() == 413);
        CHECK(r.has("Connection: close"));
        CHECK(r.closed);
        CHECK(upload_refused(r));
        CHECK(r.sent > 1 * mib);  // refused once over the limit, not before
        CHECK(r.sent < 40 * mib);
        CHECK(r.elapsed < 10s);
        CHECK(f.events() == 0);
        CHECK(f.jobs() == 0);
        auto [peak_growth, lasting_growth] = f.report_rss("chunked 100 MB body");
        CHECK(peak_growth < 32 * 1024 * rss_scale);
        CHECK(lasting_growth < 32 * 1024 * rss_scale);
        f.check_still_serving(1);
    }

    TEST_CASE("connections holding almost complete 1 MiB bodies are capped by the buffered-body budget, and those "
              "past it get 503 and close") {
        constexpr int held = 16, n = 64;
        fixture f(fmt::format(R"("max_buffered_body_bytes": {})", held * mib));
        auto conns = hold_almost_complete_bodies(f.port(), n);
        auto answers = read_answers(conns, n - held, 10s);
        // The held bodies are in the server's memory, not in the kernel's queues.
        CHECK(test::poll_until([&] {
            auto q = server_side(f.port());
            return q.established == static_cast<std::size_t>(held) && q.unread == 0;
        }, 20s));
        MESSAGE(fmt::format("{} connections x 1 MiB announced: {} answered 503, {} held", n, answers.answered_503,
                            n - answers.closed));
        CHECK(answers.answered_503 == n - held);
        CHECK(answers.closed == n - held);
        CHECK(answers.other_bytes == 0);
        auto [peak_growth, lasting_growth] = f.report_rss("64 almost complete 1 MiB bodies, 16 MiB budget");
        // 64 MiB were sent; the budget lets 16 MiB be held (about 32 MB of RSS under ASan).
        CHECK(peak_growth < 48 * 1024 * rss_scale);
        conns.clear();
        CHECK(test::poll_until([&] { return server_side(f.port()).established == 0; }, 20s));
        CHECK(f.events() == 0);
        CHECK(f.jobs() == 0);
        f.check_still_serving(1);
    }

    // A real DocSpace delivery is a few kB. Bodies up to 16 KiB are not counted against the budget, so large slow
    // bodies holding all of it (64 unauthenticated connections at the defaults) cannot turn deliveries away.
    TEST_CASE("a small signed delivery still gets through while large bodies hold the buffered-body budget") {
        constexpr int held = 16;
        fixture f(fmt::format(R"("max_buffered_body_bytes": {})", held * mib));
        auto conns = hold_almost_complete_bodies(f.port(), held);
        REQUIRE(test::poll_until([&] {
            auto q = server_side(f.port());
            return q.established == static_cast<std::size_t>(held) && q.unread == 0;
        }, 20s));
        auto b = test::uploaded_body(1);
        auto r = test::request(f.port(), "POST", "/docspace/webhook", b, {{"x-docspace-signature-256", webhook::sign(secret, b)}});
        MESSAGE(fmt::format("small delivery while the budget is held: {} {}", r.status, r.body));
        CHECK(r.status == 200);
        CHECK(r.body == accepted);
        conns.clear();
        CHECK(test::poll_until([&] { return server_side(f.port()).established == 0; }, 20s));
        f.check_still_serving(2);
    }

    TEST_CASE("pipelined requests in one write are answered in order, each delivery stored once") {
        fixture f;
        const auto a = test::uploaded_body(1), b = test::uploaded_body(2), e = test::uploaded_body(3);
        std::string batch = signed_request(a) + signed_request(b) + signed_request(a) +
                            test::make_request("POST", "/docspace/webhook", test::uploaded_body(4),
                                               {{"x-docspace-signature-256", webhook::sign("wrong", test::uploaded_body(4))}}) +
                            signed_request("{not json") + signed_request(e) +
                            test::make_request("GET", "/healthz", "", {}, false);
        auto r = exchange(f.port(), once(batch), {.deadline = 10s});
        auto responses = parse_responses(r.received);
        REQUIRE(responses.size() == 7);
        CHECK(responses[0].status == 200);
        CHECK(responses[0].body == accepted);
        CHECK(responses[1].body == accepted);
        CHECK(responses[2].status == 200);
        CHECK(responses[2].body == R"({"status":"duplicate"})");
        CHECK(responses[3].status == 401);
        CHECK(responses[4].status == 400);
        CHECK(responses[4].body.find("not JSON") != std::string::npos);
        CHECK(responses[5].body == accepted);
        CHECK(responses[6].status == 200);
        CHECK(responses[6].body == R"({"status":"ok"})");
        CHECK(r.closed);
        CHECK(f.events() == 3);
        CHECK(f.jobs() == 3);
        f.report_rss("pipelined batch");
        f.check_still_serving(5);
    }

    TEST_CASE("a pipelined batch whose second request is malformed: the first is answered and stored, then 400 "
              "and close, and what follows is never read") {
        fixture f;
        std::string malformed;
        const std::string sig = webhook::sign(secret, test::uploaded_body(2));
        SUBCASE("a Content-Length that is not a number") {
            malformed = "POST /docspace/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 12x\r\n\r\n";
        }
        SUBCASE("two different Content-Lengths") {
            malformed = "POST /docspace/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd";
        }
        SUBCASE("Transfer-Encoding: chunked next to a Content-Length (request smuggling)") {
            malformed = "POST /docspace/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        }
        SUBCASE("a request line that is not HTTP") {
            malformed = "GARBAGE\r\n\r\n";
        }
        SUBCASE("a control character in a header value") {
            malformed = std::string("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: b\x01") + "c\r\n\r\n";
        }
        SUBCASE("a bad chunk size") {
            malformed = "POST /docspace/webhook HTTP/1.1\r\nHost: x\r\nx-docspace-signature-256: " + sig +
                        "\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n";
        }
        auto batch = signed_request(test::uploaded_body(1)) + malformed + signed_request(test::uploaded_body(3));
        auto r = exchange(f.port(), once(batch), {.deadline = 10s});
        auto responses = parse_responses(r.received);
        REQUIRE(responses.size() == 2);
        CHECK(responses[0].status == 200);
        CHECK(responses[0].body == accepted);
        CHECK(responses[1].status == 400);
        CHECK(responses[1].headers["connection"] == "close");
        CHECK(r.closed);
        CHECK(f.events() == 1);
        CHECK(f.jobs() == 1);
        f.report_rss("pipelined batch with a malformed request");
        f.check_still_serving(4);
    }

    TEST_CASE("header floods are answered 431 and closed") {
        fixture f;
        std::string attack;
        SUBCASE("ten thousand small headers") {
            attack = "POST /docspace/webhook HTTP/1.1\r\nHost: x\r\n";
            for (int i = 0; i < 10000; ++i) attack += fmt::format("X-Flood-{}: v\r\n", i);
            attack += "Content-Length: 0\r\n\r\n";
        }
        SUBCASE("one header of 1 MB") {
            attack = "POST /docspace/webhook HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(mib, 'b') +
                     "\r\nContent-Length: 0\r\n\r\n";
        }
        SUBCASE("a 1 MB request target") {
            attack = "GET /healthz?" + std::string(mib, 'q') + " HTTP/1.1\r\nHost: x\r\n\r\n";
        }
        auto r = exchange(f.port(), once(attack), {.deadline = 10s});
        CHECK(r.status() == 431);
        CHECK(r.has("Connection: close"));
        CHECK(r.closed);
        CHECK(r.elapsed < 5s);
        CHECK(r.responses() == 1);
        CHECK(f.events() == 0);
        auto [peak_growth, lasting_growth] = f.report_rss("header flood");
        CHECK(peak_growth < 16 * 1024 * rss_scale);
        CHECK(lasting_growth < 16 * 1024 * rss_scale);
        f.check_still_serving(1);
    }

    TEST_CASE("many headers under the limit are parsed and answered normally") {
        fixture f;
        std::vector<std::pair<std::string, std::string>> headers;
        for (int i = 0; i < 1000; ++i) headers.emplace_back(fmt::format("X-{}", i), "v");  // about 10 kB
        auto b = test::uploaded_body(1);
        headers.emplace_back("x-docspace-signature-256", webhook::sign(secret, b));
        auto r = exchange(f.port(), once(test::make_request("POST", "/docspace/webhook", b, headers, false)));
        CHECK(r.status() == 200);
        CHECK(r.has(accepted));
        CHECK(f.events() == 1);
        f.report_rss("1,000 headers under the limit");
        f.check_still_serving(2);
    }

    TEST_CASE("slowloris: a client trickling one byte per 100 ms is cut off by the header timeout, without an answer") {
        fixture f(R"("header_timeout_ms": 500, "request_timeout_ms": 1000)");
        SUBCASE("one connection, headers one byte at a time") {
            source trickle = [first = true]() mutable -> std::string {
                if (first) {
                    first = false;
                    return "POST /docspace/webhook HTTP/1.1\r\nHost: x\r\nX-Slow: ";
                }
                return "a";
            };
            auto r = exchange(f.port(), trickle, {.pace = 100ms, .deadline = 10s});
            MESSAGE(fmt::format("slowloris: closed after {} ms, {} bytes sent", r.elapsed.count(), r.sent));
            CHECK(r.closed);
            // The server closes without writing anything (no 408): the timeout counts as a rejected request only
            // in its stats.
            CHECK(r.received.empty());
            CHECK(r.elapsed >= 400ms);
            CHECK(r.elapsed < 5s);
        }
        SUBCASE("five hundred connections at once, while a delivery gets through") {
            constexpr int n = 500;
            std::vector<fd_guard> conns;
            for (int i = 0; i < n; ++i) {
                conns.push_back(connect_loopback(f.port()));
                REQUIRE(conns.back());
                std::string_view prefix = "POST /docspace/webhook HTTP/1.1\r\nHost: x\r\nX-Slow: ";
                REQUIRE(::send(conns.back().get(), prefix.data(), prefix.size(), MSG_NOSIGNAL) ==
                        static_cast<ssize_t>(prefix.size()));
                ::fcntl(conns.back().get(), F_SETFL, ::fcntl(conns.back().get(), F_GETFL) | O_NONBLOCK);
            }
            auto t0 = clock_type::now();
            auto b = test::uploaded_body(1);
            auto ok = test::request(f.port(), "POST", "/docspace/webhook", b,
                                    {{"x-docspace-signature-256", webhook::sign(secret, b)}});
            CHECK(ok.status == 200);
            CHECK(ok.body == accepted);
            std::vector<bool> closed(n, false);
            int open = n;
            std::size_t received = 0;
            while (open > 0 && clock_type::now() - t0 < 10s) {
                for (int i = 0; i < n; ++i) {
                    if (closed[i]) continue;
                    char c[256];
                    auto got = ::recv(conns[i].get(), c, sizeof c, 0);
                    if (got > 0) received += static_cast<std::size_t>(got);
                    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
                        ::send(conns[i].get(), "a", 1, MSG_NOSIGNAL) < 0) {
                        closed[i] = true;
                        --open;
                    }
                }
                std::this_thread::sleep_for(100ms);
            }
            auto all_closed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count();
            MESSAGE(fmt::format("500 slowloris connections: all closed after {} ms", all_closed_ms));
            CHECK(open == 0);
            CHECK(received == 0);
            CHECK(all_closed_ms < 8000);
            CHECK(f.events() == 1);
        }
        SUBCASE("a body trickled one byte at a time is cut off by the request timeout") {
            auto b = test::uploaded_body(1);
            source trickle = [head = signed_request(b).substr(0, signed_request(b).size() - b.size()), b, i = std::size_t{0},
                              first = true]() mutable -> std::string {
                if (first) {
                    first = false;
                    return head;
                }
                return i < b.size() ? std::string(1, b[i++]) : std::string();
            };
            auto r = exchange(f.port(), trickle, {.pace = 100ms, .deadline = 10s});
            MESSAGE(fmt::format("slow body: closed after {} ms, {} bytes sent", r.elapsed.count(), r.sent));
            CHECK(r.closed);
            CHECK(r.received.empty());
            CHECK(r.elapsed >= 900ms);
            CHECK(r.elapsed < 6s);
            CHECK(f.events() == 0);
        }
        auto [peak_growth, lasting_growth] = f.report_rss("slowloris");
        CHECK(peak_growth < 32 * 1024 * rss_scale);
        f.check_still_serving(2);
    }

    TEST_CASE("invalid UTF-8 in a correctly signed body is 400 and stored nowhere, and the same unsigned is 401") {
        fixture f;
        struct bad_body {
            const char* what;
            std::string body;
        };
        // Spliced raw into the JSON string of payload.title.
        auto in_title = [](const char* what, std::string title) { return bad_body{what, test::uploaded_body(1, title)}; };
        const bad_body cases[] = {
            in_title("byte FF", "a\xFF" "b"),
            in_title("a lone continuation byte", "a\x80" "b"),
            in_title("an overlong slash (C0 AF)", "a\xC0\xAF" "b"),
            in_title("an overlong NUL in three bytes (E0 80 80)", "a\xE0\x80\x80" "b"),
            in_title("an overlong in four bytes (F0 80 80 AF)", "a\xF0\x80\x80\xAF" "b"),
            in_title("an encoded lone surrogate (ED A0 80)", "a\xED\xA0\x80" "b"),
            in_title("an encoded surrogate pair (ED A0 BD ED B8 80)", "a\xED\xA0\xBD\xED\xB8\x80" "b"),
            in_title("a code point over U+10FFFF (F4 90 80 80)", "a\xF4\x90\x80\x80" "b"),
            in_title("a sequence cut short by the closing quote (E2 82)", "a\xE2\x82"),
            in_title("an escaped lone leading surrogate", "a\\uD800b"),
            in_title("an escaped lone trailing surrogate", "a\\uDC00b"),
            in_title("an escaped leading surrogate before a non-surrogate", "a\\uD800\\u0041"),
            {"invalid UTF-8 in an object key", R"({"event":{"id":1,"trigger":"file.uploaded","k)" "\xC3\x28" R"(":1}})"},
            {"invalid UTF-8 between tokens", "{\"event\":{\"id\":1,\"trigger\":\"file.uploaded\"}\xFF}"},
        };
        for (const auto& c : cases) {
            CAPTURE(std::string(c.what));
            auto r = test::request(f.port(), "POST", "/docspace/webhook", c.body,
                                   {{"x-docspace-signature-256", webhook::sign(secret, c.body)}});
            CHECK(r.status == 400);
            CHECK(r.body.find("not JSON") != std::string::npos);
            CHECK(test::request(f.port(), "POST", "/docspace/webhook", c.body).status == 401);
            CHECK(test::request(f.port(), "POST", "/docspace/webhook", c.body,
                                {{"x-docspace-signature-256", webhook::sign("wrong", c.body)}})
                      .status == 401);
        }
        CHECK(f.events() == 0);
        CHECK(f.jobs() == 0);
        // Valid multi-byte text, raw and escaped (a surrogate pair), is accepted and kept byte for byte.
        auto good = test::uploaded_body(2, "\xC3\x9C" "bersicht \xE2\x9C\x93 \xF0\x9D\x84\x9E \\u00e9 \\uD83D\\uDE00");
        auto ok = test::request(f.port(), "POST", "/docspace/webhook", good,
                                {{"x-docspace-signature-256", webhook::sign(secret, good)}});
        CHECK(ok.status == 200);
        CHECK(ok.body == accepted);
        {
            store::database db(f.dir.file("spacehook.db"), {.read_only = true});
            auto st = db.prepare("SELECT body FROM events");
            REQUIRE(st.step());
            CHECK(st.text(0) == good);
        }
        f.report_rss("invalid UTF-8");
        f.check_still_serving(3);
    }

    TEST_CASE("deep JSON nesting is 400 quickly with no stack overflow, and unsigned it is 401 without being parsed") {
        fixture f;
        constexpr std::size_t depth = 100000;
        struct deep {
            const char* what;
            std::string body;
        };
        const deep cases[] = {
            {"10^5 opening brackets", std::string(depth, '[')},
            {"10^5 balanced brackets", std::string(depth, '[') + std::string(depth, ']')},
            {"10^5 nested objects", [] {
                 std::string s;
                 for (std::size_t i = 0; i < depth; ++i) s += R"({"a":)";
                 s += "1";
                 return s + std::string(depth, '}');
             }()},
            {"a valid envelope with a payload nested 10^5 deep",
             R"({"event":{"id":1,"trigger":"file.uploaded"},"payload":)" + std::string(depth, '[') +
                 std::string(depth, ']') + "}"},
        };
        for (const auto& c : cases) {
            CAPTURE(std::string(c.what));
            auto t0 = clock_type::now();
            auto r = test::request(f.port(), "POST", "/docspace/webhook", c.body,
                                   {{"x-docspace-signature-256", webhook::sign(secret, c.body)}});
            auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count();
            MESSAGE(fmt::format("{}: {} in {} ms", c.what, r.status, ms));
            CHECK(r.status == 400);
            CHECK(r.body.find("not JSON") != std::string::npos);
            CHECK(ms < 5000);
            CHECK(test::request(f.port(), "POST", "/docspace/webhook", c.body).status == 401);
            REQUIRE(f.serve->alive());
        }
        CHECK(f.events() == 0);
        CHECK(f.jobs() == 0);
        auto [peak_growth, lasting_growth] = f.report_rss("deep nesting");
        CHECK(peak_growth < 32 * 1024 * rss_scale);
        f.check_still_serving(1);
    }
}
