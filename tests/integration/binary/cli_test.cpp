// The command line: exit codes, output and effect on the database (docs/contract.md §1).
#include "process.hpp"
#include "spacehook/store/events.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/store/migrate.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

using namespace spacehook;

namespace {

const char* vector_body =
    R"({"event":{"id":1532,"createOn":"2025-06-10T09:15:42Z","createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","trigger":"file.uploaded","triggerId":256},"payload":{"id":8421,"parentId":8410,"folderIdDisplay":8410,"rootId":3,"securityByUsers":{},"title":"Invoice \u0026 \u00FCbersicht.pdf","createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","modifiedBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","createOn":"2025-06-10T09:15:41Z","modifiedOn":"2025-06-10T09:15:41Z","rootFolderType":14,"rootCreateBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","fileEntryType":2},"webhook":{"id":7,"name":"automation","url":"https://hooks.example.com/docspace","triggers":["file.uploaded","file.updated"]}})";

struct db_fixture {
    test::temp_dir dir;
    std::string cfg = dir.file("config.json");
    std::string db_path = dir.file("spacehook.db");
    db_fixture() {
        std::ofstream(cfg) << fmt::format(R"({{
          "database": "{}",
          "docspace": {{"base_url": "http://127.0.0.1:9", "api_key": "k"}},
          "webhooks": [{{"path": "/h", "secrets": []}}],
          "channels": {{"console": {{"type": "log"}}}},
          "rules": [{{"name": "uploads", "on": ["file.uploaded"], "do": [{{"notify": {{"channel": "console", "subject": "{{{{file.title}}}}"}}}}]}},
                    {{"name": "all", "on": ["*"], "do": [{{"notify": {{"channel": "console", "subject": "x"}}}}]}}]
        }})",
                                          db_path);
        store::database db(db_path);
        store::migrate(db);
        store::delivery d;
        d.path = "/h";
        d.webhook_id = "7";
        d.event_id = "1532";
        d.trigger = "file.uploaded";
        d.body = vector_body;
        d.received_at = 1000;
        d.jobs = {{"uploads", "file:8421"}};
        store::insert_delivery(db, d);
    }
    std::string job_state(std::int64_t id) {
        store::database db(db_path, {.read_only = true});
        return std::string(store::to_string(store::get_job(db, id)->state));
    }
};

}  // namespace

TEST_SUITE("cli") {
    TEST_CASE("sign prints the header DocSpace would send, from a file or stdin") {
        test::temp_dir dir;
        auto body = dir.file("body.json");
        std::ofstream(body) << vector_body;
        auto r = test::run_cli(dir, {"sign", "--secret", "S3cret-Key_01", body});
        CHECK(r.exit_code == 0);
        CHECK(r.out == "sha256=64F8BFB756D1489A7E16E5650ED3071140958A5094C1E1A60F93E93681BAD3AA\n");
        auto piped = test::run_cli(dir, {"sign", "--secret", "S3cret-Key_01", "-"}, body);
        CHECK(piped.out == r.out);
        CHECK(test::run_cli(dir, {"sign", body}).exit_code == 2);  // no secret
    }

    TEST_CASE("usage errors exit 2, user errors exit 1, --version and --help exit 0") {
        test::temp_dir dir;
        CHECK(test::run_cli(dir, {}).exit_code == 2);
        CHECK(test::run_cli(dir, {"frobnicate"}).exit_code == 2);
        CHECK(test::run_cli(dir, {"jobs", "list", "--bogus"}).exit_code == 2);
        auto v = test::run_cli(dir, {"--version"});
        CHECK(v.exit_code == 0);
        CHECK(v.out.rfind("spacehook ", 0) == 0);
        CHECK(test::run_cli(dir, {"serve", "--help"}).exit_code == 0);
        auto missing = test::run_cli(dir, {"check", "--config", dir.file("nope.json")});
        CHECK(missing.exit_code == 1);
        CHECK(missing.err.find("cannot read config file") != std::string::npos);
    }

    TEST_CASE("check prints every problem with its JSON path, or the rule table") {
        test::temp_dir dir;
        auto bad = dir.file("bad.json");
        std::ofstream(bad) << R"({"database": "/tmp/x.db", "webhooks": [{"path": "h", "secrets": []}],
          "rules": [{"name": "r", "on": ["file.uploaded"], "do": [{"notify": {"channel": "nope", "subject": "{{file.titel}}"}}]}]})";
        auto r = test::run_cli(dir, {"check", "--config", bad});
        CHECK(r.exit_code == 1);
        CHECK(r.err.find("$.webhooks[0].path: must start with /") != std::string::npos);
        CHECK(r.err.find("$.rules[0].do[0].notify.channel: no channel named \"nope\"") != std::string::npos);
        CHECK(r.err.find("unknown name \"file.titel\"") != std::string::npos);
        CHECK(r.err.find("$.docspace: is required") != std::string::npos);
        db_fixture f;
        auto ok = test::run_cli(f.dir, {"check", "--config", f.cfg});
        CHECK(ok.exit_code == 0);
        CHECK(ok.out.find("uploads") != std::string::npos);
        CHECK(ok.out.find("notify console") != std::string::npos);
    }

    TEST_CASE("jobs list, show, cancel, retry and purge act on the database") {
        db_fixture f;
        auto list = test::run_cli(f.dir, {"jobs", "list", "--config", f.cfg, "--json"});
        CHECK(list.exit_code == 0);
        CHECK(list.out.find(R"("rule":"uploads","state":"queued")") != std::string::npos);
        auto show = test::run_cli(f.dir, {"jobs", "show", "1", "--config", f.cfg});
        CHECK(show.out.find("state queued") != std::string::npos);
        CHECK(test::run_cli(f.dir, {"jobs", "show", "99", "--config", f.cfg}).exit_code == 1);
        CHECK(test::run_cli(f.dir, {"jobs", "retry", "1", "--config", f.cfg}).exit_code == 1);  // queued
        CHECK(test::run_cli(f.dir, {"jobs", "cancel", "1", "--config", f.cfg}).exit_code == 0);
        CHECK(f.job_state(1) == "cancelled");
        CHECK(test::run_cli(f.dir, {"jobs", "retry", "1", "--config", f.cfg}).exit_code == 0);
        CHECK(f.job_state(1) == "queued");
        CHECK(test::run_cli(f.dir, {"jobs", "list", "--config", f.cfg, "--state", "bogus"}).exit_code == 2);
        CHECK(test::run_cli(f.dir, {"jobs", "cancel", "1", "--config", f.cfg}).exit_code == 0);
        auto purge = test::run_cli(f.dir, {"jobs", "purge", "--config", f.cfg, "--older-than", "0s", "--state",
                                           "cancelled", "--json"});
        CHECK(purge.exit_code == 0);
        // The event's body goes; its identity stays for retention.dedup_window (30 days), which this event,
        // received in 1970, is past: its identity goes too.
        CHECK(purge.out == "{\"jobs\":1,\"events\":1,\"forgotten\":1}\n");
    }

    TEST_CASE("events list, show and replay") {
        db_fixture f;
        auto list = test::run_cli(f.dir, {"events", "list", "--config", f.cfg});
        CHECK(list.exit_code == 0);
        CHECK(list.out.find("file.uploaded") != std::string::npos);
        auto show = test::run_cli(f.dir, {"events", "show", "1", "--config", f.cfg, "--json"});
        CHECK(show.out.find(R"("event_id":"1532")") != std::string::npos);
        // Replay: "uploads" exists (queued, left alone), "all" matches too and is created.
        auto replay = test::run_cli(f.dir, {"events", "replay", "1", "--config", f.cfg, "--json"});
        CHECK(replay.exit_code == 0);
        CHECK(replay.out == "{\"created\":1,\"requeued\":0,\"busy\":1}\n");
    }

    TEST_CASE("demo tells its story, passes its own checks and exits 0") {
        test::temp_dir dir;
        auto r = test::run_cli(dir, {"demo", "--keep", dir.file("demo")});
        CHECK(r.exit_code == 0);
        CHECK(r.out.find("All checks passed.") != std::string::npos);
        CHECK(r.out.find("FAIL") == std::string::npos);
        CHECK(r.out.find(R"(spacehook_deliveries_total{result="duplicate"} 1)") != std::string::npos);
        // The job table stays behind for the operator to look at.
        auto jobs = test::run_cli(dir, {"jobs", "list", "--config", dir.file("demo/config.json"), "--state", "succeeded"});
        CHECK(jobs.exit_code == 0);
        CHECK(jobs.out.find("invoice-intake") != std::string::npos);
    }

    TEST_CASE("every example configuration in deploy/ passes check") {
        test::temp_dir dir;
        for (auto v : {"DOCSPACE_URL=https://portal.example.com", "DOCSPACE_API_KEY=sk-x", "DOCSPACE_WEBHOOK_SECRET=s3cret-123",
                       "SPACEHOOK_ADMIN_TOKEN=t", "SMTP_URL=smtp://mail.example.com:587", "SMTP_USERNAME=u",
                       "SMTP_PASSWORD=p"})
            putenv(const_cast<char*>(v));
        int checked = 0;
        for (const auto& entry : std::filesystem::directory_iterator(std::string(SPACEHOOK_SOURCE_DIR) + "/deploy/examples")) {
            auto r = test::run_cli(dir, {"check", "--config", entry.path().string()});
            INFO(entry.path().string() << ": " << r.err);
            CHECK(r.exit_code == 0);
            ++checked;
        }
        CHECK(checked >= 5);
    }
}
