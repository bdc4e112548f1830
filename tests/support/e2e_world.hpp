// An end-to-end world on loopback for integration tests: the DocSpace simulator and the SMTP sink on one
// io_context driven by their own thread, and an in-process spacehook::service::app configured with the
// recipe rules (invoice intake, copy to internal, compliance watch, need review) against them. The
// simulator publishes signed webhooks to the app; the app's workers call the simulator's REST API and
// mail the sink. Tests tweak the settings and the simulator/sink options before anything starts, then
// assert on effects: simulator requests and files, mails, job rows.
//
// With world_options::start_app = false nothing of spacehook runs: a test can start the real binary with
// config_json() instead, then subscribe(port). Header-only; link spacehook::service, spacehook::sim,
// spacehook::mailsink and spacehook::store.
#ifndef SPACEHOOK_TEST_E2E_WORLD_HPP
#define SPACEHOOK_TEST_E2E_WORLD_HPP

#include "spacehook/config/settings.hpp"
#include "spacehook/mailsink/smtp_sink.hpp"
#include "spacehook/service/app.hpp"
#include "spacehook/sim/docspace_sim.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/store/sqlite.hpp"
#include "test_support.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace spacehook::test {

struct world_options {
    sim::sim_options sim = fast_sim();
    mailsink::sink_options sink;
    bool start_app = true;  // false: build settings only; start_app() (or a real binary) later
    bool subscribe = true;  // subscribe the app's webhook URL (all triggers) when the app first starts

    // Quick fileops, webhook retries after 10, 20, 40... ms, no HEAD probe on subscribe.
    static sim::sim_options fast_sim() {
        sim::sim_options so;
        so.fileop_delay = std::chrono::milliseconds(5);
        so.retry_scale = 0.01;
        so.probe_webhook_uri = false;
        return so;
    }
};

class e2e_world {
public:
    // The recipes' rooms and folders (seeds 000-004): invoices arrive in client_room and move to incoming;
    // uploads to compliance are copied to internal_room.
    static constexpr sim::entry_id client_room = 86193, incoming = 654321, compliance = 539564, internal_room = 341029;
    static constexpr const char* secret = "S3cret-Key_01";
    static constexpr const char* webhook_path = "/docspace/webhook";

    using settings_tweak = std::function<void(config::settings&)>;

    test::temp_dir dir;
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    std::unique_ptr<sim::docspace_sim> ds;
    std::unique_ptr<mailsink::smtp_sink> sink;
    std::thread io_thread;
    std::string client_user, bot_user;  // Clara Client uploads; Space Hook owns the API key "sk-bot"
    config::settings settings;
    std::unique_ptr<service::app> app;
    int webhook_config = 0;  // the simulator's webhook config id, 0 until subscribed

    // Starts the simulator, the sink and their thread, builds the settings (recipe_rules(), channels
    // "manager-mail" to the sink and "console"), applies `tweak` to them, then starts the app unless
    // options.start_app is false. Throws what the app throws on a bad configuration.
    explicit e2e_world(const settings_tweak& tweak = {}, world_options options = {}) : options_(std::move(options)) {
        ds = std::make_unique<sim::docspace_sim>(io, options_.sim);
        sink = std::make_unique<mailsink::smtp_sink>(io, options_.sink);
        io_thread = std::thread([this] { io.run(); });
        try {
            client_user = ds->add_user({.first_name = "Clara", .last_name = "Client", .email = "clara@client.example"});
            bot_user = ds->add_user({.first_name = "Space", .last_name = "Hook", .email = "bot@example.com"});
            ds->add_api_key("sk-bot", bot_user);
            ds->add_room("Client A", client_room);
            ds->add_folder(client_room, "Incoming", incoming);
            ds->add_room("Compliance", compliance);
            ds->add_room("Internal", internal_room);
            settings = default_settings();
            if (tweak) tweak(settings);
            if (options_.start_app) start_app();
        } catch (...) {
            shutdown();
            throw;
        }
    }

    ~e2e_world() { shutdown(); }

    e2e_world(const e2e_world&) = delete;
    e2e_world& operator=(const e2e_world&) = delete;

    // Starts the app with the current settings. The first start binds an ephemeral port, which later
    // starts reuse (so the subscription stays valid), and subscribes when options.subscribe is set.
    void start_app() {
        if (app) throw std::logic_error("e2e_world::start_app: the app is running");
        app = std::make_unique<service::app>(settings);
        settings.server.listen = fmt::format("127.0.0.1:{}", app->port());
        if (options_.subscribe && webhook_config == 0) subscribe(app->port());
    }

    // Graceful stop (drain, release leases) and wait; no-op when the app is not running.
    void stop_app() {
        if (!app) return;
        app->stop();
        app->wait();
        app.reset();
    }

    void restart_app() {
        stop_app();
        start_app();
    }

    // Subscribes http://127.0.0.1:<port>/docspace/webhook to every trigger with `secret`.
    int subscribe(std::uint16_t port) {
        webhook_config = ds->subscribe(fmt::format("http://127.0.0.1:{}{}", port, webhook_path), secret, 0, "spacehook");
        return webhook_config;
    }

    // The settings as a config file for `spacehook serve` (the keys the world sets; retention and TLS are
    // left out).
    std::string config_json() const { return to_config_json(settings); }

    // ---- observation (read-only connections to the database; safe while the app runs) ----------------

    // Jobs by state name (every state, 0 when none).
    std::map<std::string, std::int64_t> job_states() const {
        store::database db(settings.database.path, {.read_only = true});
        std::map<std::string, std::int64_t> out;
        for (const auto& [state, n] : store::count_by_state(db)) out[std::string(store::to_string(state))] = n;
        return out;
    }

    // The jobs of `rule` (every rule when empty), oldest first.
    std::vector<store::job> jobs(const std::string& rule = {}) const {
        store::database db(settings.database.path, {.read_only = true});
        store::job_filter f;
        if (!rule.empty()) f.rule = rule;
        f.limit = 1 << 30;
        auto out = store::list_jobs(db, f);
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
        return out;
    }

    std::vector<store::step> steps(std::int64_t job_id) const {
        store::database db(settings.database.path, {.read_only = true});
        return store::get_steps(db, job_id);
    }

    // Every webhook delivery is done and no job is queued, retrying or running. The deliveries are read before
    // and after the jobs: a job's last call can make DocSpace publish a new delivery (file.updated for a comment)
    // just before the job is committed as finished, which a single read before the jobs would miss.
    bool settled() const {
        auto all_done = [&](std::size_t& count) {
            auto deliveries = ds->deliveries();
            count = deliveries.size();
            return std::all_of(deliveries.begin(), deliveries.end(), [](const auto& d) { return d.done; });
        };
        std::size_t before = 0, after = 0;
        if (!all_done(before)) return false;
        auto s = job_states();
        if (s["queued"] + s["retrying"] + s["running"] != 0) return false;
        return all_done(after) && after == before;
    }

    // Waits until settled(); false when `timeout` passed first.
    bool settle(std::chrono::milliseconds timeout = std::chrono::seconds(30)) const {
        return test::poll_until([&] { return settled(); }, timeout);
    }

    // ---- building blocks ------------------------------------------------------------------------------

    // The settings every world starts from (before the tweak).
    config::settings default_settings() const {
        config::settings s;
        s.server.listen = "127.0.0.1:0";
        s.server.threads = 1;
        s.database.path = dir.file("spacehook.db");
        s.docspace.base_url = ds->base_url();
        s.docspace.api_key = "sk-bot";
        s.docspace.poll_interval_ms = 10;
        s.webhooks.push_back({webhook_path, {secret}});
        s.workers.concurrency = 4;
        s.workers.backoff_initial_ms = 50;
        s.workers.backoff_max_ms = 300;
        s.workers.max_attempts = 5;
        notify::channel_settings mail;
        mail.name = "manager-mail";
        mail.type = notify::channel_type::smtp;
        mail.url = fmt::format("smtp://127.0.0.1:{}", sink->port());
        mail.from = "spacehook@example.com";
        mail.to = {"manager@example.com"};
        mail.timeout_ms = 5000;
        notify::channel_settings console;
        console.name = "console";
        s.channels = {mail, console};
        s.rules = recipe_rules();
        return s;
    }

    // The four receiver recipes as rules: invoice-intake, copy-to-internal, compliance-watch, need-review.
    static std::vector<rules::rule> recipe_rules() {
        auto action = [](rules::action_kind k) {
            rules::action a;
            a.kind = k;
            return a;
        };
        std::vector<rules::rule> rules;
        {  // recipe 000: move an uploaded invoice to Incoming and tell the account manager
            rules::rule r;
            r.name = "invoice-intake";
            r.on = {"file.uploaded", "file.created"};
            r.when.in_room = std::to_string(client_room);
            r.when.title = rules::title_filter{rules::title_match::prefix, "invoice", false};
            auto mv = action(rules::action_kind::move);
            mv.to_folder = std::to_string(incoming);
            auto n = action(rules::action_kind::notify);
            n.channel = "manager-mail";
            n.subject = "Invoice uploaded: {{file.title}}";
            n.body = "{{file.title}} (id {{file.id}}) by {{actor.name}}: {{file.web_url}}";
            r.actions = {mv, n};
            rules.push_back(r);
        }
        {  // recipe 001: copy every upload into the internal room
            rules::rule r;
            r.name = "copy-to-internal";
            r.on = {"file.uploaded"};
            r.when.in_folder = std::to_string(compliance);
            auto cp = action(rules::action_kind::copy);
            cp.to_folder = std::to_string(internal_room);
            r.actions = {cp};
            rules.push_back(r);
        }
        {  // recipe 002: tell someone when a compliance file changes
            rules::rule r;
            r.name = "compliance-watch";
            r.on = {"file.updated"};
            r.when.in_folder = std::to_string(compliance);
            auto n = action(rules::action_kind::notify);
            n.channel = "console";
            n.subject = "File changed in Compliance folder: {{file.title}}";
            r.actions = {n};
            rules.push_back(r);
        }
        {  // recipe 004: "Need Review" on every update, without looping on our own comment
            rules::rule r;
            r.name = "need-review";
            r.on = {"file.updated"};
            auto c = action(rules::action_kind::comment);
            c.text = "Need Review";
            r.actions = {c};
            rules.push_back(r);
        }
        return rules;
    }

    // `s` in the configuration file format (docs/contract.md §2).
    static std::string to_config_json(const config::settings& s) {
        namespace json = boost::json;
        json::object root;
        root["server"] = {{"listen", s.server.listen}, {"threads", s.server.threads}};
        if (!s.server.admin_token.empty()) {
            root["server"].as_object()["admin_token"] = s.server.admin_token;
            root["server"].as_object()["admin_session_ms"] = s.server.admin_session_ms;
        }
        root["database"] = s.database.path;
        root["docspace"] = {{"base_url", s.docspace.base_url},
                            {"api_key", s.docspace.api_key},
                            {"ignore_own_events", s.docspace.ignore_own_events},
                            {"timeout_ms", s.docspace.timeout_ms},
                            {"fileop_timeout_ms", s.docspace.fileop_timeout_ms},
                            {"poll_interval_ms", s.docspace.poll_interval_ms}};
        json::array hooks;
        for (const auto& w : s.webhooks) {
            json::array secrets;
            for (const auto& k : w.secrets) secrets.emplace_back(k);
            hooks.push_back(json::object{{"path", w.path}, {"secrets", std::move(secrets)}});
        }
        root["webhooks"] = std::move(hooks);
        root["workers"] = {{"concurrency", s.workers.concurrency},
                           {"max_attempts", s.workers.max_attempts},
                           {"backoff_initial_ms", s.workers.backoff_initial_ms},
                           {"backoff_max_ms", s.workers.backoff_max_ms},
                           {"lease_ms", s.workers.lease_ms},
                           {"shutdown_grace_ms", s.workers.shutdown_grace_ms}};
        json::object channels;
        for (const auto& c : s.channels) {
            json::object o{{"type", std::string(notify::to_string(c.type))}};
            if (c.type == notify::channel_type::smtp) {
                o["url"] = c.url;
                o["starttls"] = c.starttls;
                if (!c.username.empty()) o["username"] = c.username;
                if (!c.password.empty()) o["password"] = c.password;
                o["from"] = c.from;
                json::array to;
                for (const auto& t : c.to) to.emplace_back(t);
                o["to"] = std::move(to);
            } else if (c.type == notify::channel_type::http) {
                o["url"] = c.url;
                o["format"] = c.format == notify::chat_format::slack   ? "slack"
                              : c.format == notify::chat_format::teams ? "teams"
                                                                       : "raw";
            }
            if (c.type != notify::channel_type::log) {
                if (!c.ca_file.empty()) o["ca_file"] = c.ca_file;
                o["timeout_ms"] = c.timeout_ms;
            }
            channels[c.name] = std::move(o);
        }
        root["channels"] = std::move(channels);
        json::array rules;
        for (const auto& r : s.rules) {
            json::array on;
            for (const auto& t : r.on) on.emplace_back(t);
            json::object when;
            if (r.when.in_folder) when["in_folder"] = *r.when.in_folder;
            if (r.when.in_room) when["in_room"] = *r.when.in_room;
            if (r.when.title) {
                static constexpr const char* kinds[] = {"prefix", "suffix", "glob", "regex"};
                json::object t{{kinds[static_cast<int>(r.when.title->kind)], r.when.title->pattern}};
                if (r.when.title->case_sensitive) t["case"] = "sensitive";
                when["title"] = std::move(t);
            }
            json::array actions;
            for (const auto& a : r.actions) {
                json::object body;
                switch (a.kind) {
                case rules::action_kind::move:
                case rules::action_kind::copy:
                    body = {{"to_folder", a.to_folder}, {"on_conflict", std::string(docspace::to_string(a.on_conflict))}};
                    break;
                case rules::action_kind::comment: body = {{"text", a.text}}; break;
                case rules::action_kind::notify:
                    body = {{"channel", a.channel}, {"subject", a.subject}, {"body", a.body}};
                    break;
                }
                actions.push_back(json::object{{std::string(rules::to_string(a.kind)), std::move(body)}});
            }
            json::object rule{{"name", r.name}, {"on", std::move(on)}, {"do", std::move(actions)}};
            if (!when.empty()) rule["if"] = std::move(when);
            rules.push_back(std::move(rule));
        }
        root["rules"] = std::move(rules);
        return json::serialize(root);
    }

private:
    // Stops the app, then the simulator and the sink on their thread, then joins it. Idempotent.
    void shutdown() {
        stop_app();
        if (!io_thread.joinable()) return;
        asio::post(io, [this] {
            if (ds) ds->stop();
            if (sink) sink->stop();
        });
        guard.reset();
        io_thread.join();
    }

    world_options options_;
};

}  // namespace spacehook::test

#endif
