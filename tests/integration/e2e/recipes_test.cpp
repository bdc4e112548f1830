// The four receiver recipes end to end over loopback: the DocSpace simulator publishes signed webhooks to
// an in-process spacehook, whose workers call the simulator's REST API and mail an SMTP sink. Assertions
// are on effects: calls the simulator received, where files are, mails that arrived, job rows.
#include "e2e_world.hpp"
#include "raw_http.hpp"

#include <doctest/doctest.h>

#include <filesystem>

#include <fmt/format.h>

using namespace spacehook;

namespace {

using world = test::e2e_world;
constexpr auto client_room = world::client_room, incoming = world::incoming, compliance = world::compliance,
               internal_room = world::internal_room;

}  // namespace

namespace {
void with_conflict(config::settings& s, docspace::conflict c) {
    for (auto& r : s.rules)
        for (auto& a : r.actions)
            if (a.kind == rules::action_kind::copy) a.on_conflict = c;
}
}  // namespace

TEST_SUITE("recipes end to end") {
    TEST_CASE("an invoice upload is moved once and mailed once, despite file.created + file.uploaded") {
        world w;
        auto file = w.ds->upload(w.client_user, client_room, "Invoice-2025-06.pdf", /*simple_api=*/true);
        REQUIRE(w.settle());
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
            succeeded += j.state == store::job_state::succeeded;
            skipped += j.state == store::job_state::skipped;
        }
        CHECK(succeeded == 1);
        CHECK(skipped == 1);
        // A file that is not an invoice, and an invoice outside the room, are left alone.
        w.ds->upload(w.client_user, client_room, "notes.txt", true);
        w.ds->upload(w.client_user, internal_room, "Invoice-other.pdf", true);
        REQUIRE(w.settle());
        CHECK(w.ds->count("PUT", "/api/2.0/files/fileops/move") == 1);
        CHECK(w.sink->count() == 1);
    }

    TEST_CASE("the job gauges follow the job table (refreshed off the I/O threads every 5 s)") {
        world w;
        w.ds->upload(w.client_user, compliance, "report.docx", false);
        REQUIRE(w.settle());
        auto metric = [&] { return test::request(w.app->port(), "GET", "/metrics").body; };
        CHECK(test::poll_until([&] { return metric().find(R"(spacehook_jobs{state="succeeded"} 1)") != std::string::npos; },
                               std::chrono::seconds(15)));
        CHECK(metric().find("spacehook_queue_oldest_seconds 0") != std::string::npos);
        // The WAL gauge is the writer's count after its last commit: the WAL file holds at least that many frames.
        const auto body = metric();
        const auto at = body.find("\nspacehook_sqlite_wal_pages ");
        REQUIRE(at != std::string::npos);
        const long pages = std::stol(body.substr(at + std::string_view("\nspacehook_sqlite_wal_pages ").size()));
        CHECK(pages > 0);
        CHECK(std::filesystem::file_size(w.settings.database.path + "-wal") >=
              static_cast<std::uintmax_t>(32 + pages * (4096 + 24)));
        CHECK(body.find(R"(spacehook_sqlite_checkpoints_total{thread="checkpointer"} )") != std::string::npos);
        CHECK(body.find(R"(spacehook_sqlite_checkpoints_total{thread="writer"} )") != std::string::npos);
    }

    TEST_CASE("an upload to the compliance room is copied once into the internal room") {
        world w;
        auto file = w.ds->upload(w.client_user, compliance, "policy.docx", /*simple_api=*/false);
        REQUIRE(w.settle());
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
        REQUIRE(w.settle());
        CHECK(w.ds->count("PUT", fmt::format("/api/2.0/files/file/{}/comment", file)) == 1);
        CHECK(w.ds->file(file)->comment == "Need Review");
        // DocSpace published file.updated for our own comment: those jobs were skipped, not run.
        auto review = w.jobs("need-review");
        REQUIRE(review.size() == 2);
        int own = 0;
        for (const auto& j : review)
            own += j.state == store::job_state::skipped && j.last_error && j.last_error->find("own DocSpace user") != std::string::npos;
        CHECK(own == 1);
        auto watch = w.jobs("compliance-watch");
        int succeeded = 0;
        for (const auto& j : watch) succeeded += j.state == store::job_state::succeeded;
        CHECK(succeeded == 1);
    }

    TEST_CASE("transient 500 and 429 with Retry-After are retried and succeed exactly once") {
        world w;
        w.ds->fail_next("PUT", "/api/2.0/files/fileops/move", 500, 1);
        w.ds->fail_next("GET", "/api/2.0/people/", 429, 1, 1);
        auto file = w.ds->upload(w.client_user, client_room, "invoice-42.pdf", false);
        REQUIRE(w.settle());
        CHECK(w.ds->file(file)->folder_id == incoming);
        CHECK(w.sink->count() == 1);
        auto jobs = w.jobs("invoice-intake");
        REQUIRE(jobs.size() == 1);
        CHECK(jobs[0].state == store::job_state::succeeded);
        CHECK(jobs[0].attempts == 3);
        // The successful move was issued once more after the 500, never twice in effect.
        CHECK(w.ds->count("PUT", "/api/2.0/files/fileops/move") == 2);
    }

    TEST_CASE("a 403 from DocSpace ends the job as dead with the reason") {
        world w;
        auto file = w.ds->add_file(client_room, "locked.docx");
        w.ds->lock_file(file);
        w.ds->update(w.client_user, file);
        REQUIRE(w.settle());
        auto jobs = w.jobs("need-review");
        REQUIRE(jobs.size() == 1);
        CHECK(jobs[0].state == store::job_state::dead);
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
        REQUIRE(w.settle());
        auto jobs = w.jobs("invoice-intake");
        REQUIRE(jobs.size() == 1);
        CHECK(jobs[0].state == store::job_state::dead);
        CHECK(jobs[0].attempts == 3);
        CHECK(jobs[0].last_error->find("gave up after 3 attempts") != std::string::npos);
        // The move step was done on the first attempt and not repeated by the retries.
        CHECK(w.ds->count("PUT", "/api/2.0/files/fileops/move") == 1);
    }

    TEST_CASE("an Overwrite copy whose PUT never reached DocSpace is made when the job resumes, not assumed made") {
        world w([](config::settings& s) { with_conflict(s, docspace::conflict::overwrite); });
        const auto existing = w.ds->add_file(internal_room, "policy.docx");  // the copy will overwrite it
        w.ds->reset_next("PUT", "/api/2.0/files/fileops/copy", 1);        // closed before it is served
        w.ds->upload(w.client_user, compliance, "policy.docx", false);
        REQUIRE(w.settle());
        auto jobs = w.jobs("copy-to-internal");
        REQUIRE(jobs.size() == 1);
        CHECK(jobs[0].state == store::job_state::succeeded);
        CHECK(jobs[0].attempts == 2);
        CHECK(w.ds->file(existing)->version == 2);  // overwritten, once
        CHECK(w.ds->files_in(internal_room).size() == 1);
        CHECK(w.ds->completed_fileops().size() == 1);
        auto steps = w.steps(jobs[0].id);
        REQUIRE(steps.size() == 1);
        CHECK(steps[0].result->find("copied to folder 341029 as file") != std::string::npos);
    }

    TEST_CASE("a Duplicate copy whose answer was lost is recognised when the job resumes, and not made twice") {
        world w([](config::settings& s) { with_conflict(s, docspace::conflict::duplicate); });
        w.ds->add_file(internal_room, "policy.docx");
        // Every copy PUT is served, then its answer is lost.
        w.ds->set_fault_profile({.p_drop = 1.0, .method = "PUT", .path_prefix = "/api/2.0/files/fileops/copy"});
        w.ds->upload(w.client_user, compliance, "policy.docx", false);
        REQUIRE(w.settle());
        auto jobs = w.jobs("copy-to-internal");
        REQUIRE(jobs.size() == 1);
        CHECK(jobs[0].state == store::job_state::succeeded);
        CHECK(w.ds->count("PUT", "/api/2.0/files/fileops/copy") == 1);
        auto files = w.ds->files_in(internal_room);
        REQUIRE(files.size() == 2);
        CHECK(files[1].title == "policy (1).docx");
        auto steps = w.steps(jobs[0].id);
        REQUIRE(steps.size() == 1);
        CHECK(steps[0].result->find("by an earlier attempt") != std::string::npos);
    }

    TEST_CASE("retention purges finished jobs and their events' bodies on its schedule, keeping their identities") {
        world w([](config::settings& s) {
            s.retention.succeeded_after_ms = 1;
            s.retention.interval_ms = 1000;
        });
        w.ds->upload(w.client_user, compliance, "report.docx", false);
        REQUIRE(w.settle());
        CHECK(w.ds->files_in(internal_room).size() == 1);
        REQUIRE(test::poll_until([&] {
            store::database db(w.settings.database.path, {.read_only = true});
            auto st = db.prepare("SELECT (SELECT count(*) FROM jobs) + (SELECT count(*) FROM events WHERE length(body) > 0)");
            st.step();
            return st.int64(0) == 0;
        }));
        store::database db(w.settings.database.path, {.read_only = true});
        auto st = db.prepare("SELECT count(*) FROM events");
        REQUIRE(st.step());
        CHECK(st.int64(0) >= 1);  // kept for retention.dedup_window: the same delivery stays a duplicate
    }
}
