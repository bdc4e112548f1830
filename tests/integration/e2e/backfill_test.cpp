// Issue E: nothing is lost across downtime. The real `spacehook serve` is stopped while DocSpace (the
// simulator, with its retry schedule scaled down) publishes uploads and gives up on them; when serve starts
// again, its backfill pass reads DocSpace's delivery log and every upload is moved once and mailed once.
// Also: DocSpace's own late retries landing on the running service, 250+ failed rows paged while new ones
// arrive, `events backfill` by hand, rows that must be refused, a 403 and a 429 from the log API, and a
// SIGKILL in the middle of a pass.
#include "process.hpp"
#include "raw_http.hpp"
#include "spacehook/mailsink/smtp_sink.hpp"
#include "spacehook/sim/docspace_sim.hpp"
#include "spacehook/core/clock.hpp"
#include "spacehook/store/sqlite.hpp"
#include "spacehook/webhook/signature.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>

using namespace spacehook;

// Named, not anonymous: the executable compiles as one unity translation unit, and these helpers share names
// with other files'.
namespace backfill_test {

constexpr sim::entry_id client_room = 86193, accounting = 86200, incoming = 654321;
const std::string secret = "backfill-Secret-9c1";
const std::string api_key = "sk-backfill-key-77a0";

// A DocSpace simulator, an SMTP sink and a config for `serve` on a fixed port (the webhook URL DocSpace keeps
// delivering to). The invoice rule moves an invoice out of the client room into Accounting/Incoming and mails
// the manager.
struct world {
    test::temp_dir dir;
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(io);
    std::unique_ptr<sim::docspace_sim> ds;
    std::unique_ptr<mailsink::smtp_sink> sink;
    std::thread io_thread;
    std::string clara, bot;
    std::uint16_t port = test::free_tcp_port();
    std::string db_path = dir.file("spacehook.db");
    std::string cfg = dir.file("config.json");
    int webhook_id = 0;

    explicit world(double retry_scale, std::string backfill = R"({"interval": "1h", "horizon": "72h"})") {
        sim::sim_options so;
        so.fileop_delay = std::chrono::milliseconds(5);
        so.probe_webhook_uri = false;
        so.retry_scale = retry_scale;
        ds = std::make_unique<sim::docspace_sim>(io, so);
        sink = std::make_unique<mailsink::smtp_sink>(io);
        io_thread = std::thread([this] { io.run(); });
        clara = ds->add_user({.first_name = "Clara", .last_name = "Client", .email = "clara@client.example"});
        bot = ds->add_user({.first_name = "Space", .last_name = "Hook", .email = "bot@example.com", .admin = true});
        ds->add_api_key(api_key, bot);
        ds->add_room("Client A", client_room);
        ds->add_room("Accounting", accounting);
        ds->add_folder(accounting, "Incoming", incoming);
        std::ofstream(cfg) << fmt::format(R"({{
          "server": {{"listen": "127.0.0.1:{0}", "threads": 1}},
          "database": "{1}",
          "docspace": {{"base_url": "{2}", "api_key": "{3}", "poll_interval_ms": 10, "backfill": {4}}},
          "webhooks": [{{"path": "/docspace/webhook", "secrets": ["{5}"]}}],
          "workers": {{"concurrency": 8, "backoff_initial_ms": 50, "backoff_max_ms": 500}},
          "channels": {{"manager-mail": {{"type": "smtp", "url": "smtp://127.0.0.1:{6}", "from": "s@example.com",
                                          "to": ["manager@example.com"]}}}},
          "rules": [{{"name": "invoice-intake", "on": ["file.uploaded"],
                      "if": {{"in_room": {7}, "title": {{"prefix": "invoice"}}}},
                      "do": [{{"move": {{"to_folder": {8}}}}},
                             {{"notify": {{"channel": "manager-mail", "subject": "Invoice uploaded: {{{{file.title}}}}"}}}}]}}]
        }})",
                                          port, db_path, ds->base_url(), api_key, backfill, secret, sink->port(),
                                          client_room, incoming);
        webhook_id = ds->subscribe(fmt::format("http://127.0.0.1:{}/docspace/webhook", port), secret, 0);
    }
    ~world() {
        asio::post(io, [this] {
            ds->stop();
            sink->stop();
        });
        guard.reset();
        io_thread.join();
    }

    std::vector<sim::entry_id> upload_invoices(int n, int first = 0) {
        std::vector<sim::entry_id> ids;
        for (int i = first; i < first + n; ++i)
            ids.push_back(ds->upload(clara, client_room, fmt::format("Invoice-{:04}.pdf", i), false));
        return ids;
    }
    // Every delivery has had its last attempt (DocSpace gave up or got through).
    bool deliveries_done() const {
        auto d = ds->deliveries();
        return std::all_of(d.begin(), d.end(), [](const auto& r) { return r.done; });
    }
    std::int64_t scalar(const std::string& sql) const {
        store::database db(db_path, {.read_only = true});
        auto st = db.prepare(sql);
        return st.step() ? st.int64(0) : -1;
    }
    std::int64_t jobs(const std::string& state) const {
        return scalar(fmt::format("SELECT count(*) FROM jobs WHERE state = '{}'", state));
    }
    // One move PUT per file, each invoice in Incoming, one mail per invoice (by Message-ID).
    void check_each_once(const std::vector<sim::entry_id>& invoices) const {
        std::map<std::string, int> move_puts;
        for (const auto& r : ds->requests())
            if (r.method == "PUT" && r.status == 200 && r.target.starts_with("/api/2.0/files/fileops/move"))
                ++move_puts[r.body.substr(0, r.body.find(']'))];
        std::size_t repeated = 0, not_moved = 0;
        for (const auto& [ids, n] : move_puts) repeated += n > 1;
        for (auto id : invoices) not_moved += ds->file(id)->folder_id != incoming;
        CHECK(move_puts.size() == invoices.size());
        CHECK(repeated == 0);
        CHECK(not_moved == 0);
        REQUIRE(test::poll_until([&] { return sink->count() >= invoices.size(); }));
        std::set<std::string> ids;
        for (const auto& m : sink->messages()) ids.insert(m.header("Message-ID"));
        CHECK(ids.size() == invoices.size());
        CHECK(sink->count() == invoices.size());
    }
};

std::string metrics(std::uint16_t port) { return test::request(port, "GET", "/metrics").body; }


TEST_SUITE("backfill") {
    TEST_CASE("uploads DocSpace gave up on while serve was down are recovered from its log, each acted on once") {
        world w(0.01);  // DocSpace's 1, 2, 4, 8, 16 s become 10 .. 160 ms
        test::serve_process serve(w.dir, w.cfg);
        REQUIRE(serve.port() == w.port);
        CHECK(serve.stop(SIGTERM) == 0);

        auto invoices = w.upload_invoices(10);
        REQUIRE(test::poll_until([&] { return w.deliveries_done(); }));
        for (const auto& d : w.ds->deliveries()) {
            CHECK_FALSE(d.delivered);
            CHECK(d.last_status == 0);  // connection refused: logged as "not sent"
            CHECK(d.attempts.size() == 6);
        }

        serve.start();
        REQUIRE(serve.port() == w.port);
        REQUIRE(test::poll_until([&] { return w.jobs("succeeded") == 10; }, std::chrono::seconds(30)));
        w.check_each_once(invoices);
        CHECK(w.scalar("SELECT count(*) FROM events WHERE source = 'backfill'") == 10);
        // DocSpace publishes file.moved for each of spacehook's moves; those arrive as ordinary deliveries.
        CHECK(w.scalar("SELECT count(*) FROM events WHERE source = 'backfill' AND trigger != 'file.uploaded'") == 0);
        auto m = metrics(w.port);
        CHECK(m.find(R"(spacehook_backfill_events_total{result="ingested"} 10)") != std::string::npos);
        CHECK(m.find(R"(spacehook_backfill_runs_total{result="ok"} 1)") != std::string::npos);
        CHECK(m.find(fmt::format(R"(spacehook_docspace_webhook_enabled{{webhook_id="{}"}} 1)", w.webhook_id)) !=
              std::string::npos);
        CHECK(m.find("spacehook_backfill_last_success_timestamp_seconds") != std::string::npos);

        // A pass by hand now finds every failed row already stored.
        auto again = test::run_cli(w.dir, {"events", "backfill", "--config", w.cfg, "--json"});
        CHECK(again.exit_code == 0);
        auto report = boost::json::parse(again.out).as_object();
        CHECK(report.at("ingested").as_int64() == 0);
        CHECK(report.at("known").as_int64() == 10);
        CHECK(report.at("refused").as_int64() == 0);
        CHECK(serve.stop(SIGTERM) == 0);
    }

    TEST_CASE("DocSpace's own late retries landing during and after the pass are duplicates") {
        world w(0.25);  // retries after 0.25, 0.5, 1, 2, 4 s
        test::serve_process serve(w.dir, w.cfg);
        REQUIRE(serve.port() == w.port);
        CHECK(serve.stop(SIGTERM) == 0);
        auto invoices = w.upload_invoices(6);
        // Two attempts each have failed; DocSpace is still retrying when serve comes back.
        REQUIRE(test::poll_until([&] {
            auto d = w.ds->deliveries();
            return d.size() == 6 && std::all_of(d.begin(), d.end(), [](const auto& r) { return r.attempts.size() >= 2; });
        }));
        serve.start();
        REQUIRE(serve.port() == w.port);
        REQUIRE(test::poll_until([&] { return w.deliveries_done(); }, std::chrono::seconds(20)));
        REQUIRE(test::poll_until([&] { return w.jobs("succeeded") == 6; }, std::chrono::seconds(30)));
        for (const auto& d : w.ds->deliveries()) CHECK(d.delivered);  // every retry that landed was answered 200
        CHECK(w.scalar("SELECT count(*) FROM events WHERE trigger = 'file.uploaded'") == 6);
        CHECK(w.jobs("skipped") == 0);
        w.check_each_once(invoices);
        // The start-up pass stored what it found first (normally all six: DocSpace's next retry is most of a second
        // away); a retry that landed before the pass read its row was stored as a delivery and was known to the
        // pass. Each one the pass stored was then answered `duplicate` when its retry came.
        const auto recovered = w.scalar("SELECT count(*) FROM events WHERE source = 'backfill'");
        CHECK(recovered >= 1);
        CHECK(recovered + w.scalar("SELECT count(*) FROM events WHERE source = 'delivery' AND trigger = 'file.uploaded'") == 6);
        CHECK(metrics(w.port).find(fmt::format(R"(spacehook_deliveries_total{{result="duplicate"}} {})", recovered)) !=
              std::string::npos);
        CHECK(serve.stop(SIGTERM) == 0);
    }

    TEST_CASE("events backfill pages 250+ failed rows while new failures arrive, then stores nothing twice") {
        world w(0.001);
        // serve never ran: every delivery is refused, and DocSpace gives up at once.
        auto invoices = w.upload_invoices(260);
        REQUIRE(test::poll_until([&] { return w.deliveries_done(); }, std::chrono::seconds(30)));

        // The pass by hand, dry run first: nothing stored.
        auto dry = test::run_cli(w.dir, {"events", "backfill", "--config", w.cfg, "--dry-run", "--json"});
        REQUIRE(dry.exit_code == 0);
        CHECK(boost::json::parse(dry.out).at("ingested").as_int64() == 260);
        CHECK(w.scalar("SELECT count(*) FROM events") == 0);

        // Uploads go on while the real pass pages through the log: new rows push the old ones down the pages.
        std::atomic<bool> paging{true};
        std::vector<sim::entry_id> more;
        std::thread uploader([&] {
            for (int i = 0; i < 40 && paging.load(); ++i) {
                more.push_back(w.ds->upload(w.clara, client_room, fmt::format("Invoice-late-{:03}.pdf", i), false));
                std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the upload rate, not a wait
            }
        });
        auto first = test::run_cli(w.dir, {"events", "backfill", "--config", w.cfg, "--json"});
        paging.store(false);
        uploader.join();
        REQUIRE(first.exit_code == 0);
        auto r1 = boost::json::parse(first.out).as_object();
        CHECK(r1.at("ingested").as_int64() >= 260);
        CHECK(r1.at("refused").as_int64() == 0);
        MESSAGE(fmt::format("first pass: {} ingested, {} uploads arrived during it", r1.at("ingested").as_int64(), more.size()));

        REQUIRE(test::poll_until([&] { return w.deliveries_done(); }, std::chrono::seconds(30)));
        const auto total = static_cast<std::int64_t>(invoices.size() + more.size());
        auto second = test::run_cli(w.dir, {"events", "backfill", "--config", w.cfg});
        REQUIRE(second.exit_code == 0);
        const auto first_ingested = r1.at("ingested").as_int64();
        CHECK(second.out.find(fmt::format("{} failed deliveries since", total)) != std::string::npos);
        CHECK(second.out.find(fmt::format(": {} ingested, {} already stored, 0 refused", total - first_ingested,
                                          first_ingested)) != std::string::npos);
        CHECK(w.scalar("SELECT count(*) FROM events") == total);
        CHECK(w.scalar("SELECT count(DISTINCT event_id) FROM events") == total);
        CHECK(w.jobs("queued") == total);

        // serve then runs each job once.
        invoices.insert(invoices.end(), more.begin(), more.end());
        test::serve_process serve(w.dir, w.cfg);
        REQUIRE(test::poll_until([&] { return w.jobs("succeeded") == total; }, std::chrono::seconds(60)));
        w.check_each_once(invoices);
        CHECK(serve.stop(SIGTERM) == 0);
    }

    TEST_CASE("rows signed with another secret are refused, a 429 is waited out, and a 403 is one clear error") {
        world w(0.001);
        // A second DocSpace webhook on the same URL with a secret that is not ours: its rows are refused.
        const int foreign = w.ds->subscribe(fmt::format("http://127.0.0.1:{}/docspace/webhook", w.port),
                                            "not-our-Secret-5", 0, "someone-else");
        w.upload_invoices(3);
        REQUIRE(test::poll_until([&] { return w.deliveries_done(); }));

        w.ds->fail_next("GET", "/api/2.0/settings/webhooks/log", 429, 1, 1);
        auto r = test::run_cli(w.dir, {"events", "backfill", "--config", w.cfg, "--json"});
        REQUIRE(r.exit_code == 0);
        auto rep = boost::json::parse(r.out).as_object();
        CHECK(rep.at("ingested").as_int64() == 3);
        CHECK(rep.at("refused").as_int64() == 3);
        for (const auto& x : rep.at("refusals").as_array()) {
            CHECK(x.at("webhook_id").as_int64() == foreign);
            CHECK(std::string(x.at("reason").as_string()).find("signature") != std::string::npos);
        }
        CHECK(r.err.find("backfill.rate_limited") != std::string::npos);
        CHECK(w.scalar("SELECT count(*) FROM events") == 3);

        // The log answers 403 (the API key's user may not read it): exit 1 with one line that says why.
        w.ds->fail_next("GET", "/api/2.0/settings/webhooks/log", 403, 1);
        auto denied = test::run_cli(w.dir, {"events", "backfill", "--config", w.cfg});
        CHECK(denied.exit_code == 1);
        CHECK(denied.err.find("403") != std::string::npos);
        CHECK(denied.err.find("delivery log needs a DocSpace admin") != std::string::npos);
    }

    TEST_CASE("log rows that are not deliveries of ours are refused with a reason, once, and the rest is stored") {
        world w(0.001);
        test::serve_process serve(w.dir, w.cfg);
        REQUIRE(serve.port() == w.port);
        CHECK(serve.stop(SIGTERM) == 0);
        auto invoices = w.upload_invoices(2);
        REQUIRE(test::poll_until([&] { return w.deliveries_done(); }));
        // A real row to borrow a shape from, then four rows DocSpace would never write.
        const auto real = w.ds->deliveries().front().attempts.back().body;
        auto with = [&](const std::string& from, const std::string& to) {
            auto body = real;
            body.replace(body.find(from), from.size(), to);
            return body;
        };
        std::map<int, std::string> bad{
            {w.ds->add_log_row(w.webhook_id, "<html>502 Bad Gateway</html>"), "not a delivery"},
            {w.ds->add_log_row(w.webhook_id, with("\"trigger\":\"file.uploaded\"", "\"triggr\":\"file.uploaded\"")),
             "not a delivery"},
            {w.ds->add_log_row(w.webhook_id, with(fmt::format("\"webhook\":{{\"id\":{}", w.webhook_id), "\"webhook\":{\"id\":99")),
             "names webhook 99"},
            {w.ds->add_log_row(w.webhook_id, std::string(1048577, ' ') + real), "max_body_bytes"}};

        serve.start();
        REQUIRE(serve.port() == w.port);
        REQUIRE(test::poll_until([&] { return w.jobs("succeeded") == 2; }, std::chrono::seconds(30)));
        w.check_each_once(invoices);
        auto m = metrics(w.port);
        CHECK(m.find(R"(spacehook_backfill_events_total{result="refused"} 4)") != std::string::npos);
        CHECK(m.find(R"(spacehook_backfill_events_total{result="ingested"} 2)") != std::string::npos);
        CHECK(m.find(R"(spacehook_backfill_runs_total{result="ok"} 1)") != std::string::npos);
        auto log = serve.log();
        for (const auto& [id, reason] : bad) {
            const auto line = fmt::format(R"("event":"backfill.refused","log_id":{},)", id);
            CHECK_MESSAGE(log.find(line) != std::string::npos, line);
        }
        CHECK(serve.stop(SIGTERM) == 0);

        // The CLI lists each refusal with its reason; the service stayed healthy and stored nothing for them.
        auto r = test::run_cli(w.dir, {"events", "backfill", "--config", w.cfg, "--json"});
        REQUIRE(r.exit_code == 0);
        auto rep = boost::json::parse(r.out).as_object();
        CHECK(rep.at("known").as_int64() == 2);
        CHECK(rep.at("refused").as_int64() == 4);
        for (const auto& x : rep.at("refusals").as_array()) {
            const auto id = static_cast<int>(x.at("log_id").as_int64());
            REQUIRE(bad.contains(id));
            const std::string reason(x.at("reason").as_string());
            CHECK_MESSAGE(reason.find(bad[id]) != std::string::npos, reason);
        }
        CHECK(w.scalar("SELECT count(*) FROM events WHERE source = 'backfill'") == 2);
    }

    TEST_CASE("a webhook DocSpace disabled or deleted shows as enabled 0, a warning and a line in webhooks list") {
        world w(0.001);
        const int other = w.ds->subscribe(fmt::format("http://127.0.0.1:{}/docspace/webhook", w.port), secret, 0, "second");
        test::serve_process serve(w.dir, w.cfg);
        REQUIRE(serve.port() == w.port);
        // A delivery through the second webhook makes its id known from a stored event, as after months of use.
        w.upload_invoices(1);
        REQUIRE(test::poll_until([&] { return w.jobs("succeeded") == 1; }, std::chrono::seconds(30)));
        CHECK(serve.stop(SIGTERM) == 0);

        w.ds->set_webhook_enabled(w.webhook_id, false);  // 3 days without a success
        w.ds->remove_webhook(other);                     // a 410, or someone deleted it
        serve.start();
        REQUIRE(serve.port() == w.port);
        REQUIRE(test::poll_until([&] { return serve.log().find("\"event\":\"backfill.done\"", 0) != std::string::npos &&
                                              metrics(w.port).find("spacehook_backfill_runs_total") != std::string::npos; }));
        auto m = metrics(w.port);
        CHECK(m.find(fmt::format(R"(spacehook_docspace_webhook_enabled{{webhook_id="{}"}} 0)", w.webhook_id)) != std::string::npos);
        CHECK(m.find(fmt::format(R"(spacehook_docspace_webhook_enabled{{webhook_id="{}"}} 0)", other)) != std::string::npos);
        auto log = serve.log();
        CHECK(log.find(fmt::format(R"("event":"docspace.webhook_disabled","webhook_id":{})", w.webhook_id)) != std::string::npos);
        CHECK(log.find(fmt::format(R"("event":"docspace.webhook_deleted","webhook_id":{})", other)) != std::string::npos);
        CHECK(serve.stop(SIGTERM) == 0);

        auto list = test::run_cli(w.dir, {"webhooks", "list", "--config", w.cfg});
        CHECK(list.exit_code == 0);
        CHECK(list.out.find(fmt::format("webhook {} is disabled", w.webhook_id)) != std::string::npos);
    }

    TEST_CASE("a purged event's delivery replayed later is still a duplicate, and an event older than forgotten identities runs nothing") {
        world w(0.01, "false");  // no backfill: this is about deliveries, and it allows a 1h dedup window
        {
            std::string c = test::slurp(w.cfg);
            c.replace(c.rfind('}'), 1, R"(, "retention": {"dedup_window": "1h"}})");
            std::ofstream(w.cfg) << c;
        }
        test::serve_process serve(w.dir, w.cfg);
        REQUIRE(serve.port() == w.port);
        w.upload_invoices(1);
        REQUIRE(test::poll_until([&] { return w.jobs("succeeded") == 1 && w.deliveries_done(); }, std::chrono::seconds(30)));
        const auto first = w.ds->deliveries().front();
        const auto& sent = first.attempts.back();
        CHECK(serve.stop(SIGTERM) == 0);

        // An event received 2 h ago (before the window), so that purging forgets an identity.
        {
            store::database db(w.db_path);
            db.exec(fmt::format("INSERT INTO events(webhook_id, event_id, trigger, received_at, body, path) "
                                "VALUES('{}', '999999', 'file.uploaded', {}, X'7B7D', '/docspace/webhook')",
                                w.webhook_id, clock::now_ms() - 2 * 3'600'000));
        }
        auto purge = test::run_cli(w.dir, {"jobs", "purge", "--config", w.cfg, "--older-than", "0s", "--json"});
        REQUIRE(purge.exit_code == 0);
        // Three bodies dropped (the upload, spacehook's own file.moved, the old one); the old one's identity goes.
        CHECK(purge.out == "{\"jobs\":1,\"events\":3,\"forgotten\":1}\n");

        serve.start();
        REQUIRE(serve.port() == w.port);
        // The identical signed request again (a captured delivery, or a manual retry days later): a duplicate.
        const std::vector<std::pair<std::string, std::string>> headers{
            {"Content-Type", "application/json; charset=utf-8"}, {"x-docspace-signature-256", sent.signature}};
        auto again = test::request(w.port, "POST", "/docspace/webhook", sent.body, headers);
        CHECK(again.status == 200);
        CHECK(again.body == R"({"status":"duplicate"})");
        CHECK(w.scalar("SELECT count(*) FROM jobs") == 0);  // the purged job is not back

        // A delivery of an event created before the forgotten identities' cutoff is stored, its jobs skipped.
        auto old_body = sent.body;
        const auto created = old_body.find("\"createOn\":\"");
        REQUIRE(created != std::string::npos);
        old_body.replace(created + 12, 20, clock::format_iso(clock::now_ms() - 3 * 3'600'000).substr(0, 19) + "Z");
        const auto id_at = old_body.find(fmt::format("\"id\":{}", first.id));
        REQUIRE(id_at != std::string::npos);
        old_body.replace(id_at, fmt::format("\"id\":{}", first.id).size(), "\"id\":424242");
        auto old = test::request(w.port, "POST", "/docspace/webhook", old_body,
                                 {{"Content-Type", "application/json"}, {"x-docspace-signature-256", webhook::sign(secret, old_body)}});
        CHECK(old.body == R"({"status":"accepted"})");
        CHECK(w.jobs("skipped") == 1);
        CHECK(w.jobs("queued") + w.jobs("running") + w.jobs("succeeded") == 0);
        {
            store::database db(w.db_path, {.read_only = true});
            auto st = db.prepare("SELECT last_error FROM jobs WHERE state = 'skipped'");
            REQUIRE(st.step());
            CHECK(st.text(0).find("were forgotten (retention.dedup_window)") != std::string::npos);
        }
        CHECK(w.ds->count("PUT", "/api/2.0/files/fileops/move") == 1);
        CHECK(w.sink->count() == 1);
        CHECK(serve.stop(SIGTERM) == 0);
    }

    TEST_CASE("a database that cannot be written during a pass stores nothing of it, and the next pass stores all") {
        world w(0.001);
        w.upload_invoices(120);
        REQUIRE(test::poll_until([&] { return w.deliveries_done(); }, std::chrono::seconds(30)));
        {  // the schema exists before the test takes the lock
            auto dry = test::run_cli(w.dir, {"events", "backfill", "--config", w.cfg, "--dry-run"});
            REQUIRE(dry.exit_code == 0);
        }
        // The log's pages are slow; while the pass reads them, another process takes the write lock and keeps it
        // past the pass's busy timeout (2 s): its COMMIT fails as it would on a full disk.
        w.ds->delay_next("GET", "/api/2.0/settings/webhooks/log", std::chrono::milliseconds(700), 2);
        auto out = w.dir.file("pass.out"), err = w.dir.file("pass.err");
        pid_t pid = test::spawn({"events", "backfill", "--config", w.cfg, "--json"}, out, err);
        REQUIRE(pid > 0);
        REQUIRE(test::poll_until([&] { return w.ds->count("GET", "/api/2.0/settings/webhooks/log") >= 1; }));
        {
            store::database locker(w.db_path);
            locker.exec("BEGIN IMMEDIATE");
            int status = 0;
            REQUIRE(waitpid(pid, &status, 0) == pid);
            CHECK(WIFEXITED(status));
            CHECK(WEXITSTATUS(status) == 1);
            locker.exec("ROLLBACK");
        }
        CHECK(test::slurp(err).find("database") != std::string::npos);
        CHECK(w.scalar("SELECT count(*) FROM events") == 0);  // nothing half-stored

        auto next = test::run_cli(w.dir, {"events", "backfill", "--config", w.cfg, "--json"});
        INFO(next.err);
        REQUIRE(next.exit_code == 0);
        CHECK(boost::json::parse(next.out).at("ingested").as_int64() == 120);
        CHECK(w.scalar("SELECT count(*) FROM events") == 120);
        CHECK(w.jobs("queued") == 120);
    }

    TEST_CASE("SIGKILL in the middle of a pass: the next pass completes it and nothing is stored twice") {
        world w(0.001);
        auto invoices = w.upload_invoices(300);
        REQUIRE(test::poll_until([&] { return w.deliveries_done(); }, std::chrono::seconds(30)));
        // A pass reads every page first and then stores the rows oldest first. Each of the first three log pages
        // is held 1 s: the kill lands while the third is on its way.
        w.ds->delay_next("GET", "/api/2.0/settings/webhooks/log", std::chrono::seconds(1), 3);
        test::serve_process serve(w.dir, w.cfg);
        REQUIRE(test::poll_until([&] { return w.ds->count("GET", "/api/2.0/settings/webhooks/log") >= 2; },
                                 std::chrono::seconds(20)));
        CHECK(serve.stop(SIGKILL) == 128 + SIGKILL);
        const auto stored_before = w.scalar("SELECT count(*) FROM events");
        CHECK(stored_before == 0);
        serve.start();
        REQUIRE(test::poll_until([&] { return w.jobs("succeeded") == 300; }, std::chrono::seconds(90)));
        CHECK(w.scalar("SELECT count(*) FROM events WHERE trigger = 'file.uploaded'") == 300);
        w.check_each_once(invoices);
        CHECK(serve.stop(SIGTERM) == 0);
    }
}

}  // namespace backfill_test
