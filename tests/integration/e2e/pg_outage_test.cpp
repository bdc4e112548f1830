// PostgreSQL stopped under a running `serve` (docs/contract.md §7): deliveries are answered 503 with
// Retry-After and /readyz says why not, nothing acknowledged is lost; once the server is back, DocSpace's own
// retries get through and the job runs, without a restart of spacehook. And `serve` through a transaction-pooling
// proxy (pgbouncer), which keeps no session state between transactions: no prepared statements, no LISTEN.
#include "deliveries.hpp"
#include "pg_cluster.hpp"
#include "pgbouncer.hpp"
#include "process.hpp"
#include "raw_http.hpp"
#include "spacehook/webhook/signature.hpp"
#include "spacehook/sim/docspace_sim.hpp"
#include "spacehook/store/pg.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <thread>

#include <fmt/format.h>

using namespace spacehook;

namespace pg_outage_test {

constexpr sim::entry_id compliance = 539564;
const std::string secret = "outage-Secret-4b1d";
const std::string api_key = "sk-outage-key-9e20";

// A cluster of the test's own (scripts/pg-test-cluster.sh): stopping the shared one would fail other tests.
// The DocSpace simulator with the test's users, API key and room, on a thread of its own.
struct sim_world {
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(io);
    sim::docspace_sim ds;
    std::thread io_thread;
    std::string clara;
    explicit sim_world(sim::sim_options so) : ds(io, without_probe(so)) {
        io_thread = std::thread([this] { io.run(); });
        clara = ds.add_user({.first_name = "Clara", .last_name = "Client", .email = "clara@client.example"});
        auto bot = ds.add_user({.first_name = "Space", .last_name = "Hook", .email = "bot@example.com"});
        ds.add_api_key(api_key, bot);
        ds.add_room("Compliance", compliance);
    }
    static sim::sim_options without_probe(sim::sim_options so) {
        so.probe_webhook_uri = false;
        return so;
    }
    ~sim_world() {
        asio::post(io, [this] { ds.stop(); });
        guard.reset();
        io_thread.join();
    }
};

struct own_cluster {
    test::temp_dir dir;
    std::string state = dir.file("cluster");
    std::string url;
    int sh(const std::string& cmd) const {
        return std::system(fmt::format("bash {}/scripts/pg-test-cluster.sh {} {} >/dev/null", SPACEHOOK_SOURCE_DIR, cmd, state).c_str());
    }
    own_cluster() {
        if (sh("start") != 0) throw std::runtime_error("cannot start a PostgreSQL cluster");
        std::getline(std::ifstream(state + "/url"), url);
    }
    ~own_cluster() { sh("stop"); }
};

TEST_SUITE("postgresql outage") {
    TEST_CASE("PostgreSQL stopped under serve: 503 with Retry-After, not ready, then DocSpace's retry lands and the job runs") {
        own_cluster cluster;
        // 0.25, 0.5, 1 ... 32 s: the outage fits in DocSpace's schedule even on a loaded machine.
        sim_world world({.max_retries = 8, .retry_scale = 0.25});
        auto& ds = world.ds;
        const auto clara = world.clara;

        test::temp_dir dir;
        const auto cfg = dir.file("config.json");
        std::ofstream(cfg) << fmt::format(R"({{
          "server": {{"listen": "127.0.0.1:0", "threads": 1}},
          "database": {{"url": "{0}", "pool": 1}},
          "docspace": {{"base_url": "{1}", "api_key": "{2}", "poll_interval_ms": 10}},
          "webhooks": [{{"path": "/docspace/webhook", "secrets": ["{3}"]}}],
          "workers": {{"backoff_initial_ms": 50, "backoff_max_ms": 500}},
          "rules": [{{"name": "review", "on": ["file.uploaded"], "if": {{"in_room": {4}}},
                      "do": [{{"comment": {{"text": "Need Review"}}}}]}}]
        }})",
                                          cluster.url, ds.base_url(), api_key, secret, compliance);
        test::serve_process serve(dir, cfg);
        REQUIRE(serve.port() != 0);
        ds.subscribe(fmt::format("http://127.0.0.1:{}/docspace/webhook", serve.port()), secret, 0);

        auto before = ds.upload(clara, compliance, "Policy-1.docx", false);
        REQUIRE(test::poll_until([&] { return ds.file(before)->comment == "Need Review"; }));
        CHECK(test::request(serve.port(), "GET", "/readyz").status == 200);

        REQUIRE(cluster.sh("pause") == 0);
        auto during = ds.upload(clara, compliance, "Policy-2.docx", false);
        auto refused = [&] {
            for (const auto& d : ds.deliveries())
                if (d.payload_id == std::to_string(during))
                    for (const auto& a : d.attempts)
                        if (a.status == 503) return true;
            return false;
        };
        REQUIRE(test::poll_until(refused, std::chrono::seconds(20)));
        // What DocSpace gets meanwhile: 503 and when to come back.
        const auto body = test::uploaded_body(77);
        auto direct = test::request(serve.port(), "POST", "/docspace/webhook", body,
                                    {{std::string(webhook::signature_header), webhook::sign(secret, body)}});
        CHECK(direct.status == 503);
        CHECK(direct.headers["retry-after"] == "5");
        CHECK(direct.body == R"({"error":"storage unavailable"})");
        auto ready = test::request(serve.port(), "GET", "/readyz");
        CHECK(ready.status == 503);
        CHECK(ready.body.find("database not writable") != std::string::npos);

        REQUIRE(cluster.sh("resume") == 0);
        CHECK(test::poll_until([&] { return ds.file(during)->comment == "Need Review"; }, std::chrono::seconds(30)));
        CHECK(test::poll_until([&] { return test::request(serve.port(), "GET", "/readyz").status == 200; }));
        // Every delivery got through by DocSpace's own retries (none was given up on).
        REQUIRE(test::poll_until([&] {
            auto all = ds.deliveries();
            return std::all_of(all.begin(), all.end(), [](const auto& d) { return d.done; });
        }));
        for (const auto& d : ds.deliveries()) {
            std::string statuses;
            for (const auto& a : d.attempts) statuses += fmt::format(" {}", a.status);
            CAPTURE(d.trigger);
            CAPTURE(d.payload_id);
            CAPTURE(statuses);
            CHECK(d.delivered);
        }
        store::pg::connection c(cluster.url);
        CHECK(c.exec("SELECT count(*) FROM jobs WHERE state = 'succeeded'").int64(0, 0) == 2);
        CHECK(c.exec("SELECT count(*) FROM jobs").int64(0, 0) == 2);
        CHECK(c.exec("SELECT count(*) FROM events WHERE event_id = '77'").int64(0, 0) == 0);  // refused, not stored

        CHECK(serve.stop(SIGTERM) == 0);
    }

    TEST_CASE("through a transaction-pooling proxy (pgbouncer): every delivery stored once and every job run") {
        test::scratch_database db;
        std::string port_text;
        std::getline(std::ifstream(fmt::format("{}/pg-test/port", SPACEHOOK_BINARY_DIR)), port_text);
        test::temp_dir dir;
        const auto bouncer_port = test::free_tcp_port();
        test::pgbouncer_proxy bouncer(bouncer_port, static_cast<std::uint16_t>(std::stoi(port_text)));

        sim_world world({.retry_scale = 0.05});
        auto& ds = world.ds;
        const auto clara = world.clara;

        const auto cfg = dir.file("config.json");
        std::ofstream(cfg) << fmt::format(R"({{
          "server": {{"listen": "127.0.0.1:0", "threads": 1}},
          "database": "postgresql://spacehook@127.0.0.1:{0}/{1}",
          "docspace": {{"base_url": "{2}", "api_key": "{3}", "poll_interval_ms": 10}},
          "webhooks": [{{"path": "/docspace/webhook", "secrets": ["{4}"]}}],
          "workers": {{"backoff_initial_ms": 50, "backoff_max_ms": 500}},
          "rules": [{{"name": "review", "on": ["file.uploaded"], "if": {{"in_room": {5}}},
                      "do": [{{"comment": {{"text": "Need Review"}}}}]}}]
        }})",
                                          bouncer_port, db.name, ds.base_url(), api_key, secret, compliance);
        test::serve_process serve(dir, cfg);
        REQUIRE(serve.port() != 0);
        ds.subscribe(fmt::format("http://127.0.0.1:{}/docspace/webhook", serve.port()), secret, 0);
        std::vector<sim::entry_id> files;
        for (int i = 0; i < 12; ++i) files.push_back(ds.upload(clara, compliance, fmt::format("Policy-{}.docx", i), false));
        CHECK(test::poll_until([&] {
            return std::all_of(files.begin(), files.end(), [&](auto id) { return ds.file(id)->comment == "Need Review"; });
        }, std::chrono::seconds(30)));
        store::pg::connection c(db.url);
        // The comment is the job's last step; its outcome commits just after.
        CHECK(test::poll_until([&] { return c.exec("SELECT count(*) FROM jobs WHERE state = 'succeeded'").int64(0, 0) == 12; }));
        CHECK(c.exec("SELECT count(*) FROM jobs").int64(0, 0) == 12);
        CHECK(c.exec("SELECT count(*) FROM events WHERE trigger = 'file.uploaded'").int64(0, 0) == 12);
        // Every delivery (the comments' own events included, published while the jobs ran) got its 200.
        REQUIRE(test::poll_until([&] {
            auto all = ds.deliveries();
            return std::all_of(all.begin(), all.end(), [](const auto& d) { return d.done; });
        }));
        for (const auto& d : ds.deliveries()) CHECK(d.delivered);

        CHECK(serve.stop(SIGTERM) == 0);
    }
}

}  // namespace pg_outage_test
