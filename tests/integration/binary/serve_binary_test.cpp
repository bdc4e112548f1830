// The real `spacehook serve` process: signals, restarts and what survives them.
#include "deliveries.hpp"
#include "process.hpp"
#include "raw_http.hpp"
#include "spacehook/store/sqlite.hpp"
#include "spacehook/webhook/signature.hpp"

#include <doctest/doctest.h>

#include <fstream>

#include <fmt/format.h>

using namespace spacehook;

namespace {
const std::string secret = "S3cret-Key_01";

std::string write_config(const test::temp_dir& dir) {
    auto path = dir.file("config.json");
    std::ofstream(path) << fmt::format(R"({{
      "server": {{"listen": "127.0.0.1:0", "threads": 2}},
      "database": "{}",
      "webhooks": [{{"path": "/docspace/webhook", "secrets": ["${{TEST_WEBHOOK_SECRET}}"]}}]
    }})",
                                       dir.file("spacehook.db"));
    return path;
}

int post(std::uint16_t port, int id) {
    auto b = test::uploaded_body(id);
    return test::request(port, "POST", "/docspace/webhook", b, {{"x-docspace-signature-256", webhook::sign(secret, b)}})
        .status;
}

std::int64_t event_count(const test::temp_dir& dir) {
    return test::count_rows(dir.file("spacehook.db"), "SELECT count(*) FROM events");
}
}  // namespace

TEST_SUITE("serve binary") {
    TEST_CASE("SIGTERM exits 0 and a restart keeps every acknowledged delivery") {
        setenv("TEST_WEBHOOK_SECRET", secret.c_str(), 1);
        test::temp_dir dir;
        auto cfg = write_config(dir);
        test::serve_process serve(dir, cfg);
        REQUIRE(serve.port() != 0);
        int acked = 0;
        for (int i = 1; i <= 50; ++i) acked += post(serve.port(), i) == 200;
        CHECK(acked == 50);
        CHECK(serve.stop(SIGTERM) == 0);
        auto log = serve.log();
        CHECK(log.find(R"("event":"serve.stopped")") != std::string::npos);
        CHECK(log.find(secret) == std::string::npos);  // the secret never reaches the log
        CHECK(event_count(dir) == 50);

        serve.start();
        REQUIRE(serve.port() != 0);
        auto b = test::uploaded_body(7);
        auto dup = test::request(serve.port(), "POST", "/docspace/webhook", b,
                                 {{"x-docspace-signature-256", webhook::sign(secret, b)}});
        CHECK(dup.body == R"({"status":"duplicate"})");
        CHECK(post(serve.port(), 51) == 200);
        CHECK(serve.stop(SIGINT) == 0);
        CHECK(event_count(dir) == 51);
    }

    TEST_CASE("kill -9 loses no acknowledged delivery") {
        setenv("TEST_WEBHOOK_SECRET", secret.c_str(), 1);
        test::temp_dir dir;
        auto cfg = write_config(dir);
        test::serve_process serve(dir, cfg);
        REQUIRE(serve.port() != 0);
        int acked = 0;
        for (int i = 1; i <= 30; ++i) acked += post(serve.port(), i) == 200;
        serve.stop(SIGKILL);
        CHECK(event_count(dir) == acked);
        serve.start();
        REQUIRE(serve.port() != 0);
        CHECK(post(serve.port(), 31) == 200);
        serve.stop();
    }

    TEST_CASE("a second serve on the same database refuses to start") {
        setenv("TEST_WEBHOOK_SECRET", secret.c_str(), 1);
        test::temp_dir dir;
        auto cfg = write_config(dir);
        test::serve_process first(dir, cfg);
        REQUIRE(first.port() != 0);
        auto second = test::run_cli(dir, {"serve", "--config", cfg});
        CHECK(second.exit_code == 1);
        CHECK(second.err.find("another spacehook serve is using") != std::string::npos);
        first.stop();
    }

    TEST_CASE("a missing environment variable stops start-up with its path") {
        unsetenv("TEST_WEBHOOK_SECRET");
        test::temp_dir dir;
        auto r = test::run_cli(dir, {"serve", "--config", write_config(dir)});
        CHECK(r.exit_code == 1);
        CHECK(r.err.find("$.webhooks[0].secrets[0]: environment variable TEST_WEBHOOK_SECRET is not set") !=
              std::string::npos);
    }

    TEST_CASE("SIGHUP reloads rules atomically and refuses a bad config") {
        setenv("TEST_WEBHOOK_SECRET", secret.c_str(), 1);
        test::temp_dir dir;
        auto cfg = write_config(dir);
        test::serve_process serve(dir, cfg);
        REQUIRE(serve.port() != 0);
        auto jobs = [&] {
            store::database db(dir.file("spacehook.db"), {.read_only = true});
            auto st = db.prepare("SELECT count(*) FROM jobs");
            st.step();
            return st.int64(0);
        };
        CHECK(post(serve.port(), 1) == 200);
        CHECK(jobs() == 0);  // no rules yet

        // A rule appears: the next delivery creates a job.
        std::ofstream(cfg) << fmt::format(R"({{
          "server": {{"listen": "127.0.0.1:0", "threads": 2}},
          "database": "{}",
          "docspace": {{"base_url": "http://127.0.0.1:9", "api_key": "k"}},
          "webhooks": [{{"path": "/docspace/webhook", "secrets": ["${{TEST_WEBHOOK_SECRET}}"]}}],
          "channels": {{"console": {{"type": "log"}}}},
          "rules": [{{"name": "all-uploads", "on": ["file.uploaded"], "do": [{{"notify": {{"channel": "console", "subject": "x"}}}}]}}]
        }})",
                                          dir.file("spacehook.db"));
        auto pid_log = serve.log().size();
        CHECK(serve.signal(SIGHUP));
        REQUIRE(test::poll_until([&] { return serve.log().find("serve.reloaded", pid_log) != std::string::npos; }));
        CHECK(post(serve.port(), 2) == 200);
        CHECK(jobs() == 1);

        // A broken config is refused and the running one stays.
        std::ofstream(cfg) << R"({"database": "x", "webhooks": [{"path": "nope", "secrets": []}]})";
        CHECK(serve.signal(SIGHUP));
        REQUIRE(test::poll_until([&] { return serve.log().find("serve.reload_refused") != std::string::npos; }));
        CHECK(post(serve.port(), 3) == 200);
        CHECK(jobs() == 2);
        CHECK(serve.stop() == 0);
    }

    TEST_CASE("SIGHUP applies a new shutdown grace and names the settings that need a restart") {
        setenv("TEST_WEBHOOK_SECRET", secret.c_str(), 1);
        test::temp_dir dir;
        // An SMTP server that accepts and never greets: a notify step waits on it for the channel's timeout.
        boost::asio::io_context io;
        boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
        auto config = [&](int grace_ms, int concurrency) {
            return fmt::format(R"({{
              "server": {{"listen": "127.0.0.1:0", "threads": 2}},
              "database": "{}",
              "docspace": {{"base_url": "http://127.0.0.1:9", "api_key": "k", "ignore_own_events": false, "backfill": false}},
              "webhooks": [{{"path": "/docspace/webhook", "secrets": ["${{TEST_WEBHOOK_SECRET}}"]}}],
              "workers": {{"shutdown_grace_ms": {}, "concurrency": {}}},
              "channels": {{"mail": {{"type": "smtp", "url": "smtp://127.0.0.1:{}", "from": "a@example.com",
                                      "to": ["b@example.com"], "timeout_ms": 60000}}}},
              "rules": [{{"name": "mail-uploads", "on": ["file.uploaded"], "do": [{{"notify": {{"channel": "mail", "subject": "x"}}}}]}}]
            }})",
                               dir.file("spacehook.db"), grace_ms, concurrency, silent.local_endpoint().port());
        };
        const auto cfg = dir.file("config.json");
        std::ofstream(cfg) << config(60000, 2);
        test::serve_process serve(dir, cfg);
        REQUIRE(serve.port() != 0);
        std::ofstream(cfg) << config(300, 3);
        const auto before = serve.log().size();
        CHECK(serve.signal(SIGHUP));
        REQUIRE(test::poll_until([&] { return serve.log().find("serve.reloaded", before) != std::string::npos; }));
        const auto reload_log = serve.log().substr(before);
        CHECK(reload_log.find(R"("event":"serve.reload_needs_restart","setting":"workers.concurrency")") != std::string::npos);
        CHECK(reload_log.find("workers.shutdown_grace_ms") == std::string::npos);  // applied, not reported

        CHECK(post(serve.port(), 1) == 200);
        auto held = silent.accept();  // the job's notify step is now waiting for a greeting that never comes
        const auto t0 = std::chrono::steady_clock::now();
        const int exit_code = serve.stop(SIGTERM);
        if (exit_code != 0) MESSAGE(serve.log());  // a sanitizer's report ends up there
        CHECK(exit_code == 0);
        const auto took = std::chrono::steady_clock::now() - t0;
        // The reloaded grace (300 ms), not the start-up one (60 s): the step is abandoned, its lease released at
        // the next start.
        CHECK(serve.log().find(R"("event":"workers.grace_expired","grace_ms":300)") != std::string::npos);
        CHECK(took < std::chrono::seconds(20));
    }

    TEST_CASE("healthcheck exits 0 against a running serve and 1 within its timeout against a silent peer") {
        setenv("TEST_WEBHOOK_SECRET", secret.c_str(), 1);
        test::temp_dir dir;
        test::serve_process serve(dir, write_config(dir));
        REQUIRE(serve.port() != 0);
        auto ok = test::run_cli(dir, {"healthcheck", "--url", fmt::format("http://127.0.0.1:{}/healthz", serve.port())});
        CHECK(ok.exit_code == 0);
        CHECK(ok.out == "ok 200\n");
        // A listener that accepts (backlog) and never answers.
        boost::asio::io_context io;
        boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
        auto t0 = std::chrono::steady_clock::now();
        auto hung = test::run_cli(dir, {"healthcheck", "--url",
                                        fmt::format("http://127.0.0.1:{}/healthz", silent.local_endpoint().port()),
                                        "--timeout-ms", "500"});
        CHECK(hung.exit_code == 1);
        CHECK(hung.err.find("within 500 ms") != std::string::npos);
        CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
        serve.stop();
    }
}
