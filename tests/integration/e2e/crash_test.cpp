// kill -9 of the real `spacehook serve` in the middle of a job: the restarted service resumes the job at its
// first unfinished step and no side effect happens twice.
#include "process.hpp"
#include "spacehook/mailsink/smtp_sink.hpp"
#include "spacehook/sim/docspace_sim.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/store/sqlite.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <doctest/doctest.h>

#include <fstream>
#include <thread>

#include <fmt/format.h>

using namespace spacehook;

TEST_SUITE("crash") {
    TEST_CASE("kill -9 during a move resumes without repeating the move or the mail") {
        test::temp_dir dir;
        asio::io_context io{1};
        auto guard = asio::make_work_guard(io);
        sim::sim_options so;
        so.fileop_delay = std::chrono::milliseconds(5);
        so.retry_scale = 0.01;
        so.probe_webhook_uri = false;
        sim::docspace_sim ds(io, so);
        mailsink::smtp_sink sink(io);
        std::thread io_thread([&] { io.run(); });

        auto clara = ds.add_user({.first_name = "Clara", .last_name = "Client", .email = "clara@client.example"});
        auto bot = ds.add_user({.first_name = "Space", .last_name = "Hook", .email = "bot@example.com"});
        ds.add_api_key("sk-bot", bot);
        ds.add_room("Client A", 86193);
        ds.add_folder(86193, "Incoming", 654321);

        auto cfg = dir.file("config.json");
        std::ofstream(cfg) << fmt::format(R"({{
          "server": {{"listen": "127.0.0.1:0", "threads": 1}},
          "database": "{0}",
          "docspace": {{"base_url": "{1}", "api_key": "sk-bot", "poll_interval_ms": 10}},
          "webhooks": [{{"path": "/docspace/webhook", "secrets": ["crash-Secret-1"]}}],
          "workers": {{"concurrency": 2, "backoff_initial_ms": 50, "backoff_max_ms": 200}},
          "channels": {{"manager-mail": {{"type": "smtp", "url": "smtp://127.0.0.1:{2}", "from": "s@example.com",
                                          "to": ["manager@example.com"]}}}},
          "rules": [{{"name": "invoice-intake", "on": ["file.uploaded"], "if": {{"in_room": 86193, "title": {{"prefix": "invoice"}}}},
                     "do": [{{"move": {{"to_folder": 654321}}}},
                            {{"notify": {{"channel": "manager-mail", "subject": "Invoice uploaded: {{{{file.title}}}}"}}}}]}}]
        }})",
                                          dir.file("spacehook.db"), ds.base_url(), sink.port());

        test::serve_process serve(dir, cfg);
        REQUIRE(serve.port() != 0);
        ds.subscribe(fmt::format("http://127.0.0.1:{}/docspace/webhook", serve.port()), "crash-Secret-1", 0);
        // The move's status poll hangs for a while: the process is killed between issuing the move and
        // recording it.
        ds.delay_next("GET", "/api/2.0/files/fileops", std::chrono::seconds(5), 1);
        auto file = ds.upload(clara, 86193, "Invoice-crash.pdf", false);
        // Kill once the move was issued and its step is durably "started": the status poll is then held for 5 s,
        // so the kill lands before the step can be recorded as done.
        auto move_step_started = [&] {
            if (ds.count("PUT", "/api/2.0/files/fileops/move") != 1) return false;
            store::database db(dir.file("spacehook.db"), {.read_only = true});
            auto steps = store::get_steps(db, 1);
            return !steps.empty() && steps[0].state == store::step_state::started;
        };
        REQUIRE(test::poll_until(move_step_started));
        CHECK(serve.stop(SIGKILL) == 128 + SIGKILL);
        CHECK(sink.count() == 0);

        serve.start();
        REQUIRE(serve.port() != 0);
        auto db_path = dir.file("spacehook.db");
        auto job_state = [&] {
            store::database db(db_path, {.read_only = true});
            auto j = store::get_job(db, 1);
            return j ? std::string(store::to_string(j->state)) : std::string();
        };
        REQUIRE(test::poll_until([&] { return job_state() == "succeeded"; }, std::chrono::seconds(30)));
        CHECK(ds.file(file)->folder_id == 654321);
        CHECK(ds.count("PUT", "/api/2.0/files/fileops/move") == 1);
        REQUIRE(test::poll_until([&] { return sink.count() == 1; }));
        CHECK(sink.messages()[0].decoded_subject() == "Invoice uploaded: Invoice-crash.pdf");
        {
            store::database db(db_path, {.read_only = true});
            auto steps = store::get_steps(db, 1);
            REQUIRE(steps.size() == 2);
            CHECK(steps[0].state == store::step_state::done);
            CHECK(steps[0].result->find("already in folder 654321") != std::string::npos);
            CHECK(steps[1].state == store::step_state::done);
            CHECK(store::get_job(db, 1)->attempts == 2);
        }
        CHECK(serve.stop(SIGTERM) == 0);
        asio::post(io, [&] {
            ds.stop();
            sink.stop();
        });
        guard.reset();
        io_thread.join();
    }
}
