// `spacehook demo`: the whole product on one machine with no account and no network. A DocSpace simulator
// (libs/sim) and an SMTP sink (libs/mailsink) run in-process on loopback; spacehook serves on a temp dir;
// the recipes' events are played and the effects are read back from the simulator, the sink and the job
// table, then printed as a short story.
#include "args.hpp"
#include "commands.hpp"
#include "spacehook/core/log.hpp"
#include "spacehook/http/client.hpp"
#include "spacehook/mailsink/smtp_sink.hpp"
#include "spacehook/service/app.hpp"
#include "spacehook/sim/docspace_sim.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/store/sqlite.hpp"
#include "spacehook/webhook/signature.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

namespace spacehook::cli {
namespace {

constexpr sim::entry_id client_room = 86193, incoming = 654321, compliance = 539564, internal_room = 341029;
const std::string demo_secret = "demo-Secret-01";

void say(const std::string& s) {
    std::fputs(s.c_str(), stdout);
    std::fflush(stdout);
}

std::string config_json(const std::string& dir, const std::string& base_url, std::uint16_t smtp_port) {
    return fmt::format(R"({{
  "server": {{ "listen": "127.0.0.1:0", "threads": 1 }},
  "database": "{0}/spacehook.db",
  "docspace": {{ "base_url": "{1}", "api_key": "sk-demo-bot", "poll_interval_ms": 20 }},
  "webhooks": [ {{ "path": "/docspace/webhook", "secrets": ["{3}"] }} ],
  "workers": {{ "concurrency": 4, "max_attempts": 5, "backoff_initial_ms": 200, "backoff_max_ms": 2000 }},
  "channels": {{
    "manager-mail": {{ "type": "smtp", "url": "smtp://127.0.0.1:{2}", "from": "spacehook@example.com",
                      "to": ["manager@example.com"] }},
    "console": {{ "type": "log" }}
  }},
  "rules": [
    {{ "name": "invoice-intake", "on": ["file.uploaded", "file.created"],
      "if": {{ "in_room": {4}, "title": {{ "prefix": "invoice" }} }},
      "do": [ {{ "move": {{ "to_folder": {5} }} }},
              {{ "notify": {{ "channel": "manager-mail", "subject": "Invoice uploaded: {{{{file.title}}}}",
                            "body": "{{{{file.title}}}} (id {{{{file.id}}}}) by {{{{actor.name}}}}: {{{{file.web_url}}}}" }} }} ] }},
    {{ "name": "copy-to-internal", "on": ["file.uploaded"], "if": {{ "in_folder": {6} }},
      "do": [ {{ "copy": {{ "to_folder": {7} }} }} ] }},
    {{ "name": "compliance-watch", "on": ["file.updated"], "if": {{ "in_folder": {6} }},
      "do": [ {{ "notify": {{ "channel": "console", "subject": "File changed in Compliance folder: {{{{file.title}}}}" }} }} ] }},
    {{ "name": "need-review", "on": ["file.updated"], "do": [ {{ "comment": {{ "text": "Need Review" }} }} ] }}
  ]
}}
)",
                       dir, base_url, smtp_port, demo_secret, client_room, incoming, compliance, internal_room);
}

struct demo_world {
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    std::unique_ptr<sim::docspace_sim> ds;
    std::unique_ptr<mailsink::smtp_sink> sink;
    std::thread thread;
    std::string db_path;

    demo_world() {
        sim::sim_options so;
        so.retry_scale = 0.05;
        so.probe_webhook_uri = false;
        ds = std::make_unique<sim::docspace_sim>(io, so);
        sink = std::make_unique<mailsink::smtp_sink>(io);
        thread = std::thread([this] { io.run(); });
    }
    ~demo_world() {
        asio::post(io, [this] {
            ds->stop();
            sink->stop();
        });
        guard.reset();
        thread.join();
    }

    std::map<store::job_state, std::int64_t> states() {
        store::database db(db_path, {.read_only = true});
        return store::count_by_state(db);
    }
    // Waits (bounded) until DocSpace delivered everything and no job is pending.
    bool settle() {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (std::chrono::steady_clock::now() < deadline) {
            bool delivered = true;
            for (const auto& d : ds->deliveries()) delivered = delivered && d.done;
            auto s = states();
            if (delivered && s[store::job_state::queued] + s[store::job_state::retrying] + s[store::job_state::running] == 0) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    }
    std::vector<store::job> jobs_since(std::int64_t after_id) {
        store::database db(db_path, {.read_only = true});
        auto all = store::list_jobs(db, {.limit = 1000});
        std::vector<store::job> out;
        for (auto it = all.rbegin(); it != all.rend(); ++it)
            if (it->id > after_id) out.push_back(*it);
        return out;
    }
    // POSTs raw bytes to the service as DocSpace would; returns "status body".
    std::string post(std::uint16_t port, const std::string& body, const std::string& signature) {
        return asio::co_spawn(io, request_once(boost::beast::http::verb::post, port, "/docspace/webhook", body, signature),
                              asio::use_future)
            .get();
    }
    std::string get(std::uint16_t port, const std::string& path) {
        return asio::co_spawn(io, request_once(boost::beast::http::verb::get, port, path, "", ""), asio::use_future).get();
    }

    static awaitable<std::string> request_once(boost::beast::http::verb method, std::uint16_t port, std::string path,
                                               std::string body, std::string signature) {
        auto ex = co_await asio::this_coro::executor;
        http::client c(ex);
        http::client_request req;
        req.method = method;
        req.url = fmt::format("http://127.0.0.1:{}{}", port, path);
        if (!signature.empty())
            req.headers = {{"Content-Type", "application/json; charset=utf-8"}, {"x-docspace-signature-256", signature}};
        req.body = std::move(body);
        auto r = co_await c.request(std::move(req));
        std::string out;
        if (!r) out = "no answer: " + r.error().message();
        else out = fmt::format("{} {}", r->status, r->body);
        co_return out;
    }
};

// The lines of a Prometheus text answer that start with one of `names`.
template <class... Names>
std::vector<std::string> metric_lines(const std::string& text, Names... names) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        const std::string_view line(text.data() + pos, end - pos);
        pos = end + 1;
        if ((line.starts_with(names) || ...)) out.emplace_back(line);
    }
    return out;
}

std::string describe(const store::job& j) {
    std::string s = fmt::format("    job {:<3} {:<17} {:<10}", j.id, j.rule, store::to_string(j.state));
    if (j.attempts > 1) s += fmt::format(" after {} attempts", j.attempts);
    if (j.last_error && j.state != store::job_state::succeeded) s += " - " + *j.last_error;
    return s + "\n";
}

}  // namespace

int cmd_demo(const argv_t& argv) {
    args a(argv, {.with_value = {"keep"}});
    namespace fs = std::filesystem;
    fs::path dir;
    if (auto keep = a.get("keep")) {
        dir = *keep;
        fs::create_directories(dir);
        if (fs::exists(dir / "spacehook.db")) throw user_error(fmt::format("{} already holds a spacehook.db", dir.string()));
    } else {
        std::string tmpl = (fs::temp_directory_path() / "spacehook-demo-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw user_error("cannot create a temporary directory");
        dir = tmpl;
    }
    // The service's own log lines would drown the story: keep them in a file next to the database.
    auto log_file = std::make_shared<std::ofstream>(dir / "spacehook.log");
    auto previous_sink = log::set_sink([log_file](log::level, std::string_view line) { *log_file << line << '\n'; });

    demo_world w;
    auto& ds = *w.ds;
    auto clara = ds.add_user({.first_name = "Clara", .last_name = "Client", .email = "clara@client.example"});
    // A DocSpace admin: reading the delivery log (chapter 6) needs one.
    auto bot = ds.add_user({.first_name = "Space", .last_name = "Hook", .email = "bot@example.com", .admin = true});
    ds.add_api_key("sk-demo-bot", bot);
    ds.add_room("Client A", client_room);
    ds.add_folder(client_room, "Incoming", incoming);
    ds.add_room("Compliance", compliance);
    ds.add_room("Internal", internal_room);

    auto cfg_path = (dir / "config.json").string();
    std::ofstream(cfg_path) << config_json(dir.string(), ds.base_url(), w.sink->port());
    auto settings = load_config(cfg_path);
    w.db_path = settings.database.path;
    auto app = std::make_unique<service::app>(settings);
    const auto port = app->port();
    ds.subscribe(fmt::format("http://127.0.0.1:{}/docspace/webhook", port), demo_secret, 0, "spacehook-demo");

    say(fmt::format("spacehook demo: a simulated DocSpace portal at {}, an SMTP sink on port {},\n"
                    "and spacehook serving on 127.0.0.1:{} with the four recipes (config: {})\n\n",
                    ds.base_url(), w.sink->port(), port, cfg_path));
    int failures = 0;
    auto check = [&](bool ok, const std::string& what) {
        say(fmt::format("  {} {}\n", ok ? "ok  " : "FAIL", what));
        failures += !ok;
    };
    std::int64_t seen = 0;
    auto show_jobs = [&] {
        auto jobs = w.jobs_since(seen);
        for (const auto& j : jobs) say(describe(j));
        if (!jobs.empty()) seen = jobs.back().id;
    };

    say("1. Clara uploads \"Invoice-2025-06.pdf\" to room Client A through the API.\n"
        "   DocSpace sends two events for it: file.created and file.uploaded.\n");
    auto invoice = ds.upload(clara, client_room, "Invoice-2025-06.pdf", true);
    w.settle();
    show_jobs();
    check(ds.file(invoice)->folder_id == incoming, "the invoice is now in Client A / Incoming");
    check(ds.count("PUT", "/api/2.0/files/fileops/move") == 1, "DocSpace received exactly one move");
    auto mails = w.sink->messages();
    check(mails.size() == 1, fmt::format("the manager got exactly one mail: \"{}\"",
                                         mails.empty() ? "" : mails[0].decoded_subject()));

    say("\n2. Clara uploads \"policy.docx\" to the Compliance room (the web UI's upload: file.uploaded only).\n");
    auto policy = ds.upload(clara, compliance, "policy.docx", false);
    w.settle();
    show_jobs();
    check(ds.files_in(internal_room).size() == 1, "a copy is in the Internal room; the original stays put");

    say("\n3. Clara edits \"policy.docx\" (file.updated). spacehook comments \"Need Review\"; DocSpace then sends\n"
        "   file.updated for that comment too, which spacehook recognises as its own and skips (no loop).\n");
    ds.update(clara, policy);
    w.settle();
    show_jobs();
    check(ds.count("PUT", fmt::format("/api/2.0/files/file/{}/comment", policy)) == 1,
          "exactly one comment call; the version comment is \"" + ds.file(policy)->comment + "\"");

    say("\n4. DocSpace has a bad moment: the next move answers 503 with Retry-After: 1.\n");
    ds.fail_next("PUT", "/api/2.0/files/fileops/move", 503, 1, 1);
    auto second = ds.upload(clara, client_room, "invoice-2025-07.pdf", false);
    w.settle();
    show_jobs();
    check(ds.file(second)->folder_id == incoming, "the job was retried after the Retry-After and the file moved");
    check(w.sink->count() == 2, "and the manager got one mail for it");

    say("\n5. The same delivery arrives twice, and a forged one arrives.\n");
    auto deliveries = ds.deliveries();
    const auto& last = deliveries.back().attempts.back();
    auto dup = w.post(port, last.body, last.signature);
    check(dup.rfind("200 {\"status\":\"duplicate\"}", 0) == 0, "the repeat is answered " + dup + ", nothing stored twice");
    auto forged = w.post(port, last.body, webhook::sign("not-the-secret", last.body));
    check(forged.rfind("401", 0) == 0, "the forged one is answered " + forged.substr(0, 3) + " and not stored");
    auto resent = ds.redeliver(deliveries.front().id);
    w.settle();
    show_jobs();
    check(resent != 0, "a manual re-send from DocSpace's log (new event id) is stored but its jobs are skipped");

    say("\nA few of its metrics (GET /metrics):\n");
    for (const auto& line : metric_lines(w.get(port, "/metrics"), "spacehook_deliveries_total", "spacehook_job_runs_total"))
        say("  " + line + "\n");
    say("\n6. spacehook is stopped for longer than DocSpace keeps retrying (about 31 s on a real portal, 1.5 s in\n"
        "   this simulator). Clara uploads two invoices meanwhile: DocSpace tries each 6 times, gives up, and\n"
        "   keeps them in its delivery log. When spacehook starts again, it reads that log and recovers them.\n");
    app->stop();
    app->wait();
    app.reset();
    const auto gave_up_before = ds.deliveries().size();
    const auto moves_before = ds.count("PUT", "/api/2.0/files/fileops/move");
    auto late1 = ds.upload(clara, client_room, "Invoice-2025-08.pdf", false);
    auto late2 = ds.upload(clara, client_room, "Invoice-2025-09.pdf", false);
    auto given_up = [&] {
        auto d = ds.deliveries();
        std::size_t n = 0;
        for (auto i = gave_up_before; i < d.size(); ++i) n += d[i].done && !d[i].delivered;
        return n;
    };
    for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
         given_up() < 2 && std::chrono::steady_clock::now() < until;)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    check(given_up() == 2, "DocSpace gave up on both deliveries (6 attempts each, connection refused)");
    settings.server.listen = fmt::format("127.0.0.1:{}", port);  // the URL DocSpace delivers to
    app = std::make_unique<service::app>(settings);
    auto recovered = [&] { return ds.file(late1)->folder_id == incoming && ds.file(late2)->folder_id == incoming; };
    for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
         !recovered() && std::chrono::steady_clock::now() < until;)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the start-up backfill pass, then the jobs
    w.settle();
    show_jobs();
    check(recovered(),
          "both invoices were recovered from the delivery log and moved to Incoming");
    check(ds.count("PUT", "/api/2.0/files/fileops/move") == moves_before + 2, "DocSpace received one move for each");
    check(w.sink->count() == 4, "and the manager got one mail for each");
    for (const auto& line : metric_lines(w.get(port, "/metrics"), "spacehook_backfill_events_total")) say("  " + line + "\n");

    auto s = w.states();
    say(fmt::format("\nJobs: {} succeeded, {} skipped, {} dead. Mails in the sink: {}.\n", s[store::job_state::succeeded], s[store::job_state::skipped],
                    s[store::job_state::dead], w.sink->count()));
    say(fmt::format("\nWhere to look (the service has stopped; the database stays in {}):\n"
                    "  spacehook jobs list --config {}\n"
                    "  spacehook jobs show 1 --config {}\n"
                    "  spacehook events list --config {}\n"
                    "  sqlite3 {} 'select id, rule, state, last_error from jobs'\n"
                    "  the service's log: {}\n"
                    "  and, for a running `spacehook serve`, curl http://HOST:PORT/metrics\n",
                    dir.string(), cfg_path, cfg_path, cfg_path, w.db_path, (dir / "spacehook.log").string()));
    app->stop();
    app->wait();
    log::set_sink(previous_sink);
    if (failures) {
        say(fmt::format("\n{} check(s) failed.\n", failures));
        return 1;
    }
    say("\nAll checks passed.\n");
    return 0;
}

}  // namespace spacehook::cli
