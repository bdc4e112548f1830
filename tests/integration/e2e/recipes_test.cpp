// The four receiver recipes end to end over loopback: the DocSpace simulator publishes signed webhooks to
// an in-process spacehook, whose workers call the simulator's REST API and mail an SMTP sink. Assertions
// are on effects: calls the simulator received, where files are, mails that arrived, job rows.
#include "spacehook/mailsink/smtp_sink.hpp"
#include "spacehook/service/app.hpp"
#include "spacehook/sim/docspace_sim.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/store/sqlite.hpp"
#include "test_support.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <doctest/doctest.h>

#include <thread>

#include <fmt/format.h>

using namespace spacehook;

namespace {

const std::string secret = "S3cret-Key_01";
constexpr sim::entry_id client_room = 86193, incoming = 654321, compliance = 539564, internal_room = 341029;

struct world {
    test::temp_dir dir;
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    std::unique_ptr<sim::docspace_sim> ds;
    std::unique_ptr<mailsink::smtp_sink> sink;
    std::thread io_thread;
    std::string client_user, bot_user;
    config::settings settings;
    std::unique_ptr<service::app> app;

    explicit world(const std::function<void(config::settings&)>& tweak = {}) {
        sim::sim_options so;
        so.fileop_delay = std::chrono::milliseconds(5);
        so.retry_scale = 0.01;
        so.probe_webhook_uri = false;
        ds = std::make_unique<sim::docspace_sim>(io, so);
        sink = std::make_unique<mailsink::smtp_sink>(io);
        io_thread = std::thread([this] { io.run(); });

        client_user = ds->add_user({.first_name = "Clara", .last_name = "Client", .email = "clara@client.example"});
        bot_user = ds->add_user({.first_name = "Space", .last_name = "Hook", .email = "bot@example.com"});
        ds->add_api_key("sk-bot", bot_user);
        ds->add_room("Client A", client_room);
        ds->add_folder(client_room, "Incoming", incoming);
        ds->add_room("Compliance", compliance);
        ds->add_room("Internal", internal_room);

        settings.server.listen = "127.0.0.1:0";
        settings.server.threads = 1;
        settings.database.path = dir.file("spacehook.db");
        settings.docspace.base_url = ds->base_url();
        settings.docspace.api_key = "sk-bot";
        settings.docspace.poll_interval_ms = 10;
        settings.webhooks.push_back({"/docspace/webhook", {secret}});
        settings.workers.concurrency = 4;
        settings.workers.backoff_initial_ms = 50;
        settings.workers.backoff_max_ms = 300;
        settings.workers.max_attempts = 5;
        config::channel_settings mail;
        mail.name = "manager-mail";
        mail.type = config::channel_type::smtp;
        mail.url = fmt::format("smtp://127.0.0.1:{}", sink->port());
        mail.from = "spacehook@example.com";
        mail.to = {"manager@example.com"};
        mail.timeout_ms = 5000;
        config::channel_settings console;
        console.name = "console";
        settings.channels = {mail, console};
        settings.rules = recipe_rules();
        if (tweak) tweak(settings);
        app = std::make_unique<service::app>(settings);
        ds->subscribe(fmt::format("http://127.0.0.1:{}/docspace/webhook", app->port()), secret, 0, "spacehook");
    }

    ~world() {
        app->stop();
        app->wait();
        asio::post(io, [this] {
            ds->stop();
            sink->stop();
        });
        guard.reset();
        io_thread.join();
    }

    static std::vector<config::rule> recipe_rules() {
        auto action = [](config::action_kind k) {
            config::action a;
            a.kind = k;
            return a;
        };
        std::vector<config::rule> rules;
        {  // recipe 000: move an uploaded invoice to Incoming and tell the account manager
            config::rule r;
            r.name = "invoice-intake";
            r.on = {"file.uploaded", "file.created"};
            r.when.in_room = std::to_string(client_room);
            r.when.title = config::title_filter{config::title_match::prefix, "invoice", false};
            auto mv = action(config::action_kind::move);
            mv.to_folder = std::to_string(incoming);
            auto n = action(config::action_kind::notify);
            n.channel = "manager-mail";
            n.subject = "Invoice uploaded: {{file.title}}";
            n.body = "{{file.title}} (id {{file.id}}) by {{actor.name}}: {{file.web_url}}";
            r.actions = {mv, n};
            rules.push_back(r);
        }
        {  // recipe 001: copy every upload into the internal room
            config::rule r;
            r.name = "copy-to-internal";
            r.on = {"file.uploaded"};
            r.when.in_folder = std::to_string(compliance);
            auto cp = action(config::action_kind::copy);
            cp.to_folder = std::to_string(internal_room);
            r.actions = {cp};
            rules.push_back(r);
        }
        {  // recipe 002: tell someone when a compliance file changes
            config::rule r;
            r.name = "compliance-watch";
            r.on = {"file.updated"};
            r.when.in_folder = std::to_string(compliance);
            auto n = action(config::action_kind::notify);
            n.channel = "console";
            n.subject = "File changed in Compliance folder: {{file.title}}";
            r.actions = {n};
            rules.push_back(r);
        }
        {  // recipe 004: "Need Review" on every update, without looping on our own comment
            config::rule r;
            r.name = "need-review";
            r.on = {"file.updated"};
            auto c = action(config::action_kind::comment);
            c.text = "Need Review";
            r.actions = {c};
            rules.push_back(r);
        }
        return rules;
    }

    std::map<std::string, std::int64_t> job_states() {
        store::database db(settings.database.path, {.read_only = true});
        return store::count_by_state(db);
    }
    std::vector<store::job> jobs(const std::string& rule) {
        store::database db(settings.database.path, {.read_only = true});
        return store::list_jobs(db, {.rule = rule});
    }

    // All deliveries made and every job finished (nothing queued, retrying or running).
    bool settled() {
        for (const auto& d : ds->deliveries())
            if (!d.done) return false;
        auto s = job_states();
        return s["queued"] + s["retrying"] + s["running"] == 0;
    }
    void settle() { REQUIRE(test::poll_until([&] { return settled(); }, std::chrono::seconds(30))); }
};

}  // namespace

TEST_SUITE("recipes end to end") {
    TEST_CASE("an invoice upload is moved once and mailed once, despite file.created + file.uploaded") {
        world w;
        auto file = w.ds->upload(w.client_user, client_room, "Invoice-2025-06.pdf", /*simple_api=*/true);
        w.settle();
        CHECK(w.ds->file(file)->folder_id == incoming);
        CHECK(w.ds->count("PUT", "/api/2.0/files/fileops/move") == 1);
        REQUIRE(test::poll_until([&] { return w.sink->count() == 1; }));
        auto mail = w.sink->messages().at(0);
        CHECK(mail.rcpt_to == std::vector<std::string>{"manager@example.com"});
        CHECK(mail.decoded_subject() == "Invoice uploaded: Invoice-2025-06.pdf");
        CHECK(mail.decoded_body().find("by Clara Client") != std::string::npos);
        CHECK(mail.header("Message-ID").find("spacehook-job-") != std::string::npos);
        auto jobs = w.jobs("invoice-intake");
        REQUIRE(jobs.size() == 2);
        int succeeded = 0, skipped = 0;
        for (const auto& j : jobs) {
            succeeded += j.state == "succeeded";
            skipped += j.state == "skipped";
        }
        CHECK(succeeded == 1);
        CHECK(skipped == 1);
        // A file that is not an invoice, and an invoice outside the room, are left alone.
        w.ds->upload(w.client_user, client_room, "notes.txt", true);
        w.ds->upload(w.client_user, internal_room, "Invoice-other.pdf", true);
        w.settle();
        CHECK(w.ds->count("PUT", "/api/2.0/files/fileops/move") == 1);
        CHECK(w.sink->count() == 1);
    }

    TEST_CASE("an upload to the compliance room is copied once into the internal room") {
        world w;
        auto file = w.ds->upload(w.client_user, compliance, "policy.docx", /*simple_api=*/false);
        w.settle();
        CHECK(w.ds->count("PUT", "/api/2.0/files/fileops/copy") == 1);
        auto copies = w.ds->files_in(internal_room);
        REQUIRE(copies.size() == 1);
        CHECK(copies[0].title == "policy.docx");
        CHECK(copies[0].id != file);
        CHECK(w.ds->file(file)->folder_id == compliance);  // the original stays
    }

    TEST_CASE("an update gets one Need Review comment and one compliance notice, and does not loop") {
        world w;
        auto file = w.ds->add_file(compliance, "Handbook.docx");
        w.ds->update(w.client_user, file);
        w.settle();
        CHECK(w.ds->count("PUT", fmt::format("/api/2.0/files/file/{}/comment", file)) == 1);
        CHECK(w.ds->file(file)->comment == "Need Review");
        // DocSpace published file.updated for our own comment: those jobs were skipped, not run.
        auto review = w.jobs("need-review");
        REQUIRE(review.size() == 2);
        int own = 0;
        for (const auto& j : review)
            own += j.state == "skipped" && j.last_error && j.last_error->find("own DocSpace user") != std::string::npos;
        CHECK(own == 1);
        auto watch = w.jobs("compliance-watch");
        int succeeded = 0;
        for (const auto& j : watch) succeeded += j.state == "succeeded";
        CHECK(succeeded == 1);
    }

    TEST_CASE("transient 500 and 429 with Retry-After are retried and succeed exactly once") {
        world w;
        w.ds->fail_next("PUT", "/api/2.0/files/fileops/move", 500, 1);
        w.ds->fail_next("GET", "/api/2.0/people/", 429, 1, 1);
        auto file = w.ds->upload(w.client_user, client_room, "invoice-42.pdf", false);
        w.settle();
        CHECK(w.ds->file(file)->folder_id == incoming);
        CHECK(w.sink->count() == 1);
        auto jobs = w.jobs("invoice-intake");
        REQUIRE(jobs.size() == 1);
        CHECK(jobs[0].state == "succeeded");
        CHECK(jobs[0].attempts == 3);
        // The successful move was issued once more after the 500, never twice in effect.
        CHECK(w.ds->count("PUT", "/api/2.0/files/fileops/move") == 2);
    }

    TEST_CASE("a 403 from DocSpace ends the job as dead with the reason") {
        world w;
        auto file = w.ds->add_file(client_room, "locked.docx");
        w.ds->lock_file(file);
        w.ds->update(w.client_user, file);
        w.settle();
        auto jobs = w.jobs("need-review");
        REQUIRE(jobs.size() == 1);
        CHECK(jobs[0].state == "dead");
        CHECK(jobs[0].attempts == 1);
        REQUIRE(jobs[0].last_error);
        CHECK(jobs[0].last_error->find("403") != std::string::npos);
    }

    TEST_CASE("an SMTP server that keeps failing makes the job retry with backoff, then dead") {
        world w([](config::settings& s) {
            s.channels[0].url = "smtp://127.0.0.1:1";  // nothing listens there
            s.workers.max_attempts = 3;
        });
        w.ds->upload(w.client_user, client_room, "Invoice-9.pdf", false);
        w.settle();
        auto jobs = w.jobs("invoice-intake");
        REQUIRE(jobs.size() == 1);
        CHECK(jobs[0].state == "dead");
        CHECK(jobs[0].attempts == 3);
        CHECK(jobs[0].last_error->find("gave up after 3 attempts") != std::string::npos);
        // The move step was done on the first attempt and not repeated by the retries.
        CHECK(w.ds->count("PUT", "/api/2.0/files/fileops/move") == 1);
    }

    TEST_CASE("retention purges finished jobs and their events on its schedule") {
        world w([](config::settings& s) {
            s.retention.succeeded_after_ms = 1;
            s.retention.interval_ms = 1000;
        });
        w.ds->upload(w.client_user, compliance, "report.docx", false);
        w.settle();
        CHECK(w.ds->files_in(internal_room).size() == 1);
        REQUIRE(test::poll_until([&] {
            store::database db(w.settings.database.path, {.read_only = true});
            auto st = db.prepare("SELECT (SELECT count(*) FROM jobs) + (SELECT count(*) FROM events)");
            st.step();
            return st.int64(0) == 0;
        }));
    }
}
