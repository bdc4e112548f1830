// The front door over real loopback sockets against an in-process service with a real SQLite file.
#include "raw_http.hpp"
#include "spacehook/config/load.hpp"
#include "spacehook/service/app.hpp"
#include "spacehook/store/sqlite.hpp"
#include "spacehook/webhook/signature.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <sys/resource.h>

#include <array>
#include <atomic>
#include <csignal>
#include <thread>

#include <fmt/format.h>

using namespace spacehook;

namespace {

const std::string secret = "S3cret-Key_01";

// Each event id gets its own file id, as distinct uploads would.
std::string body_for(const std::string& event_id, const std::string& trigger = "file.uploaded",
                     const std::string& title = "Invoice \\u0026 \\u00FCbersicht.pdf") {
    return fmt::format(
        R"({{"event":{{"id":{},"createOn":"2025-06-10T09:15:42Z","createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","trigger":"{}","triggerId":256}},"payload":{{"id":{},"parentId":8410,"title":"{}","fileEntryType":2}},"webhook":{{"id":7,"name":"automation"}}}})",
        event_id, trigger, 100000 + std::stoll(event_id), title);
}

struct service_fixture {
    test::temp_dir dir;
    config::settings settings;
    std::unique_ptr<service::app> app;

    explicit service_fixture(const std::function<void(config::settings&)>& tweak = {}) {
        settings.server.listen = "127.0.0.1:0";
        settings.server.threads = 2;
        settings.database.path = dir.file("spacehook.db");
        settings.database.busy_timeout_ms = 100;
        settings.webhooks.push_back({"/docspace/webhook", {"old-secret-1", secret}});
        settings.docspace.base_url = "http://127.0.0.1:9";
        rules::rule r;
        r.name = "invoices";
        r.on = {"file.uploaded", "file.created"};
        r.when.title = rules::title_filter{rules::title_match::prefix, "invoice", false};
        rules::action a;
        a.kind = rules::action_kind::notify;
        a.channel = "console";
        a.subject = "x";
        r.actions.push_back(a);
        settings.rules.push_back(r);
        notify::channel_settings ch;
        ch.name = "console";
        settings.channels.push_back(ch);
        if (tweak) tweak(settings);
        app = std::make_unique<service::app>(settings, service::app_options{.run_workers = false});
    }
    ~service_fixture() {
        app->stop();
        app->wait();
    }
    std::uint16_t port() const { return app->port(); }

    test::raw_response post(const std::string& body, std::optional<std::string> sig = {}) {
        std::vector<std::pair<std::string, std::string>> h{{"Content-Type", "application/json; charset=utf-8"}};
        h.emplace_back("x-docspace-signature-256", sig.value_or(webhook::sign(secret, body)));
        return test::request(port(), "POST", "/docspace/webhook", body, h);
    }

    std::int64_t count(const std::string& sql) {
        store::database db(settings.database.path, {.read_only = true});
        auto st = db.prepare(sql);
        st.step();
        return st.int64(0);
    }
};

}  // namespace

TEST_SUITE("ingest") {
    TEST_CASE("a signed delivery is stored once, a repeat answers duplicate") {
        service_fixture f;
        auto b = body_for("1532");
        auto r1 = f.post(b);
        CHECK(r1.status == 200);
        CHECK(r1.body == R"({"status":"accepted"})");
        auto r2 = f.post(b);
        CHECK(r2.status == 200);
        CHECK(r2.body == R"({"status":"duplicate"})");
        CHECK(f.count("SELECT count(*) FROM events") == 1);
        // The raw bytes are kept exactly as received.
        store::database db(f.settings.database.path, {.read_only = true});
        auto st = db.prepare("SELECT body, webhook_id, event_id, trigger FROM events");
        REQUIRE(st.step());
        CHECK(st.text(0) == b);
        CHECK(st.text(1) == "7");
        CHECK(st.text(2) == "1532");
        CHECK(st.text(3) == "file.uploaded");
    }

    TEST_CASE("jobs are created for rules whose trigger and payload filters match") {
        service_fixture f;
        CHECK(f.post(body_for("1", "file.uploaded")).status == 200);
        CHECK(f.post(body_for("2", "file.created")).status == 200);
        CHECK(f.post(body_for("3", "file.updated")).status == 200);           // trigger not in `on`
        CHECK(f.post(body_for("4", "file.uploaded", "notes.txt")).status == 200);  // title filter fails
        CHECK(f.count("SELECT count(*) FROM events") == 4);
        CHECK(f.count("SELECT count(*) FROM jobs WHERE rule = 'invoices' AND state = 'queued'") == 2);
        CHECK(f.count("SELECT count(*) FROM jobs WHERE file_key = 'file:100001'") == 1);
    }

    TEST_CASE("uppercase, lowercase and rotated secrets are accepted") {
        service_fixture f;
        auto b1 = body_for("10");
        auto sig = webhook::sign(secret, b1);
        std::string lower = sig;
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        CHECK(f.post(b1, lower).status == 200);
        auto b2 = body_for("11");
        CHECK(f.post(b2, webhook::sign("old-secret-1", b2)).status == 200);
        CHECK(f.count("SELECT count(*) FROM events") == 2);
    }

    TEST_CASE("401, 400 and 413 store nothing") {
        service_fixture f([](config::settings& s) { s.server.max_body_bytes = 2048; });
        auto b = body_for("20");
        CHECK(f.post(b, "sha256=" + std::string(64, '0')).status == 401);
        CHECK(test::request(f.port(), "POST", "/docspace/webhook", b).status == 401);  // no header
        auto bad = f.post("{not json");
        CHECK(bad.status == 400);
        CHECK(bad.body.find("not JSON") != std::string::npos);
        auto no_id = f.post(R"({"event":{"trigger":"file.uploaded"}})");
        CHECK(no_id.status == 400);
        CHECK(no_id.body == R"({"error":"event.id is missing"})");
        std::string big = body_for("21", "file.uploaded", std::string(4096, 'a'));
        auto too_large = f.post(big);
        CHECK(too_large.status == 413);
        CHECK(f.count("SELECT count(*) FROM events") == 0);
        auto metrics = test::request(f.port(), "GET", "/metrics").body;
        CHECK(metrics.find(R"(spacehook_deliveries_total{result="unauthorized"} 2)") != std::string::npos);
        CHECK(metrics.find(R"(spacehook_deliveries_total{result="bad_request"} 2)") != std::string::npos);
        CHECK(metrics.find(R"(spacehook_deliveries_total{result="too_large"} 1)") != std::string::npos);
    }

    TEST_CASE("bodies in flight beyond max_buffered_body_bytes are refused with 503 before they are read") {
        service_fixture f([](config::settings& s) {
            s.server.max_body_bytes = 1 << 20;
            s.server.max_buffered_body_bytes = (2 << 20) + (64 << 10);
        });
        auto head = [](std::size_t n) {
            return "POST /docspace/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(n) + "\r\n\r\n";
        };
        // Two unauthenticated clients announce 1 MiB each and send a little of it: together they hold 2 MiB.
        auto a = std::make_unique<test::raw_conn>(f.port());
        test::raw_conn b(f.port());
        REQUIRE(a->write(head(1 << 20) + std::string(1000, 'x')));
        REQUIRE(b.write(head(1 << 20) + std::string(1000, 'x')));
        // Both claims are made before the first probe: a probe read first would take budget one of them needs.
        auto buffered = [&] {
            auto m = test::request(f.port(), "GET", "/metrics").body;
            auto at = m.find("\nspacehook_http_body_bytes_buffered ");
            return at == std::string::npos ? std::string{} : m.substr(at + 36, m.find('\n', at + 1) - at - 36);
        };
        REQUIRE(test::poll_until([&] { return buffered() == "2097152"; }));
        // A complete unsigned 128 KiB body is answered 401 while it fits and 503 once the two hold the budget.
        const std::string probe = head(128 << 10) + std::string(128 << 10, 'x');
        auto probe_status = [&] {
            test::raw_conn c(f.port());
            c.write(probe);
            return c.read_response().status;
        };
        REQUIRE(test::poll_until([&] { return probe_status() == 503; }));
        // A small signed delivery still fits in what is left.
        CHECK(f.post(body_for("30")).status == 200);
        // One of the two gives up: its share comes back.
        a.reset();
        REQUIRE(test::poll_until([&] { return buffered() == "1048576"; }));
        CHECK(probe_status() == 401);
        CHECK(f.count("SELECT count(*) FROM events") == 1);
        // The 503s are counted with the other "retry later" answers.
        auto metrics = test::request(f.port(), "GET", "/metrics").body;
        CHECK(metrics.find(R"(spacehook_deliveries_total{result="unavailable"} )") != std::string::npos);
        CHECK(metrics.find(R"(spacehook_deliveries_total{result="unavailable"} 0)") == std::string::npos);
    }

    TEST_CASE("an answer's bytes: status line, one field per line, a blank line, exactly Content-Length bytes of body") {
        service_fixture f;
        // Reads everything the server sends until it closes (each request asks it to).
        auto exchange = [&](const std::string& request) {
            boost::asio::io_context io;
            boost::asio::ip::tcp::socket sock(io);
            sock.connect({boost::asio::ip::make_address("127.0.0.1"), f.port()});
            boost::asio::write(sock, boost::asio::buffer(request));
            std::string got;
            boost::system::error_code ec;
            std::array<char, 4096> buf;
            while (!ec) got.append(buf.data(), sock.read_some(boost::asio::buffer(buf), ec));
            return got;
        };
        const std::string body = R"({"status":"ok"})";
        for (const auto& [request, status_line] :
             {std::pair<std::string, std::string>{"GET /healthz HTTP/1.0\r\n\r\n", "HTTP/1.0 200 OK\r\n"},
              {"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK\r\n"}}) {
            const auto got = exchange(request);
            INFO(got);
            REQUIRE(got.starts_with(status_line));
            const auto end = got.find("\r\n\r\n");
            REQUIRE(end != std::string::npos);
            CHECK(got.substr(end + 4) == body);
            const auto fields = got.substr(status_line.size(), end + 2 - status_line.size());
            CHECK(fields.find("Content-Length: 15\r\n") != std::string::npos);
            CHECK(fields.find("Content-Type: application/json\r\n") != std::string::npos);
            for (std::size_t pos = 0; pos < fields.size();) {  // every line is "Name: value"
                const auto eol = fields.find("\r\n", pos);
                REQUIRE(eol != std::string::npos);
                CHECK(fields.substr(pos, eol - pos).find(": ") != std::string::npos);
                pos = eol + 2;
            }
            if (status_line.starts_with("HTTP/1.1")) CHECK(fields.find("Connection: close\r\n") != std::string::npos);
        }
    }

    TEST_CASE("probes: HEAD and GET on the webhook path, healthz, readyz, 404, 405") {
        service_fixture f;
        auto head = test::request(f.port(), "HEAD", "/docspace/webhook");
        CHECK(head.status == 200);
        CHECK(test::request(f.port(), "GET", "/docspace/webhook?probe=1").status == 200);
        CHECK(test::request(f.port(), "GET", "/healthz").status == 200);
        CHECK(test::request(f.port(), "GET", "/readyz").status == 200);
        CHECK(test::request(f.port(), "GET", "/nope").status == 404);
        auto put = test::request(f.port(), "PUT", "/docspace/webhook", "{}");
        CHECK(put.status == 405);
        CHECK(put.headers["allow"] == "POST, GET, HEAD");
    }

    TEST_CASE("readiness and ingestion answer 503 while the database cannot be written, and recover") {
        service_fixture f;
        {
            store::database other(f.settings.database.path);
            other.exec("BEGIN IMMEDIATE");  // another process holds the write lock
            auto ready = test::request(f.port(), "GET", "/readyz");
            CHECK(ready.status == 503);
            CHECK(ready.body.find("database not writable") != std::string::npos);
            auto r = f.post(body_for("30"));
            CHECK(r.status == 503);
            CHECK(r.headers.count("retry-after") == 1);
            other.exec("ROLLBACK");
        }
        CHECK(test::request(f.port(), "GET", "/readyz").status == 200);
        CHECK(f.count("SELECT count(*) FROM events") == 0);
        CHECK(f.post(body_for("30")).status == 200);
        CHECK(f.count("SELECT count(*) FROM events") == 1);
    }

    TEST_CASE("readiness says not ready while the disk takes no writes, without the database's error text") {
        service_fixture f;
        CHECK(f.post(body_for("40")).status == 200);
        {
            store::database other(f.settings.database.path);
            other.exec("PRAGMA wal_checkpoint(TRUNCATE)");  // an empty WAL: every write from now on extends it
        }
        // No file may grow (RLIMIT_FSIZE 0, SIGXFSZ ignored): writes fail as on a full disk (EFBIG, not ENOSPC).
        auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
        rlimit old{};
        REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
        rlimit none{0, old.rlim_max};
        REQUIRE(setrlimit(RLIMIT_FSIZE, &none) == 0);
        auto ready = test::request(f.port(), "GET", "/readyz");
        auto post = f.post(body_for("41"));
        REQUIRE(setrlimit(RLIMIT_FSIZE, &old) == 0);
        std::signal(SIGXFSZ, old_handler);
        CHECK(ready.status == 503);
        CHECK(ready.body == R"({"status":"unavailable","reason":"database not writable"})");
        CHECK(post.status == 503);
        CHECK(test::request(f.port(), "GET", "/readyz").status == 200);
        CHECK(f.post(body_for("41")).status == 200);
        CHECK(f.count("SELECT count(*) FROM events") == 2);
    }

    TEST_CASE("concurrent deliveries over many keep-alive connections all land") {
        service_fixture f;
        constexpr int conns = 16, per_conn = 40;
        std::atomic<int> accepted{0};
        std::vector<std::thread> threads;
        for (int c = 0; c < conns; ++c) {
            threads.emplace_back([&, c] {
                test::raw_conn conn(f.port());
                for (int i = 0; i < per_conn; ++i) {
                    auto b = body_for(std::to_string(c * 1000 + i));
                    conn.write(test::make_request("POST", "/docspace/webhook", b,
                                                  {{"x-docspace-signature-256", webhook::sign(secret, b)}}));
                    auto r = conn.read_response();
                    if (r.status == 200 && r.body == R"({"status":"accepted"})") accepted.fetch_add(1);
                }
            });
        }
        for (auto& t : threads) t.join();
        CHECK(accepted.load() == conns * per_conn);
        CHECK(f.count("SELECT count(*) FROM events") == conns * per_conn);
    }

    TEST_CASE("limits: header size and slow clients") {
        service_fixture f([](config::settings& s) {
            s.server.max_header_bytes = 2048;
            s.server.header_timeout_ms = 300;
        });
        SUBCASE("oversized headers get 431") {
            auto r = test::request(f.port(), "GET", "/healthz", "", {{"X-Big", std::string(4096, 'x')}});
            CHECK(r.status == 431);
        }
        SUBCASE("a client that trickles its headers is cut off") {
            test::raw_conn c(f.port(), std::chrono::seconds(5));
            c.write("POST /docspace/webhook HTTP/1.1\r\nHost: x\r\n");
            auto t0 = std::chrono::steady_clock::now();
            CHECK(c.closed_by_peer());
            CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
        }
    }

    TEST_CASE("connections over the cap are answered 503 and closed") {
        // The default header timeout (10 s) also bounds an idle keep-alive connection: with 300 ms, a stall on a
        // loaded machine could close `a` before `d` arrives, and `d` would be accepted.
        service_fixture f([](config::settings& s) { s.server.max_connections = 3; });
        test::raw_conn a(f.port()), b(f.port()), c(f.port());
        // The three are accepted (each answered) before the fourth arrives; a's keep-alive counts them.
        for (auto* conn : {&a, &b, &c}) {
            conn->write(test::make_request("GET", "/healthz", ""));
            CHECK(conn->read_response().status == 200);
        }
        a.write(test::make_request("GET", "/metrics", ""));
        CHECK(a.read_response().body.find("\nspacehook_http_connections 3\n") != std::string::npos);
        test::raw_conn d(f.port());
        auto r = d.read_response();
        CHECK(r.status == 503);
        CHECK(d.closed_by_peer());
    }

    TEST_CASE("the metrics endpoint can require the admin token") {
        service_fixture f([](config::settings& s) { s.server.admin_token = "t0ken"; });
        CHECK(test::request(f.port(), "GET", "/metrics").status == 401);
        auto ok = test::request(f.port(), "GET", "/metrics", "", {{"Authorization", "Bearer t0ken"}});
        CHECK(ok.status == 200);
        CHECK(ok.body.find("spacehook_build_info{version=") != std::string::npos);
        CHECK(ok.headers["content-type"].rfind("text/plain; version=0.0.4", 0) == 0);
        // The whole header must match: a prefix of the token, a longer one and another scheme are refused.
        for (const char* wrong : {"Bearer t0ke", "Bearer t0ken0", "bearer t0ken", "t0ken", "Bearer  t0ken"})
            CHECK(test::request(f.port(), "GET", "/metrics", "", {{"Authorization", wrong}}).status == 401);
        // A reload replaces the token: the old one stops working at once.
        auto next = f.settings;
        next.server.admin_token = "n3w-t0ken";
        REQUIRE(f.app->reload(next).empty());
        CHECK(test::request(f.port(), "GET", "/metrics", "", {{"Authorization", "Bearer t0ken"}}).status == 401);
        CHECK(test::request(f.port(), "GET", "/metrics", "", {{"Authorization", "Bearer n3w-t0ken"}}).status == 200);
    }
}
