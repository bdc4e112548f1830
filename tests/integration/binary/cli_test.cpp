// The command line: exit codes, output and effect on the database (docs/contract.md §1).
#include "pg_cluster.hpp"
#include "process.hpp"
#include "spacehook/store/pg.hpp"
#include "spacehook/store/events.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/store/migrate.hpp"

#include <doctest/doctest.h>

#include <sys/file.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include <fmt/format.h>

using namespace spacehook;

namespace {

const char* vector_body =
    R"({"event":{"id":1532,"createOn":"2025-06-10T09:15:42Z","createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","trigger":"file.uploaded","triggerId":256},"payload":{"id":8421,"parentId":8410,"folderIdDisplay":8410,"rootId":3,"securityByUsers":{},"title":"Invoice \u0026 \u00FCbersicht.pdf","createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","modifiedBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","createOn":"2025-06-10T09:15:41Z","modifiedOn":"2025-06-10T09:15:41Z","rootFolderType":14,"rootCreateBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","fileEntryType":2},"webhook":{"id":7,"name":"automation","url":"https://hooks.example.com/docspace","triggers":["file.uploaded","file.updated"]}})";

// A configuration over a database holding one event and its job: a SQLite file, or (postgresql) that file copied
// into a PostgreSQL database by `spacehook db copy`.
struct db_fixture {
    test::temp_dir dir;
    std::string cfg = dir.file("config.json");
    std::string db_path = dir.file("spacehook.db");
    std::optional<test::scratch_database> pg;
    explicit db_fixture(bool postgresql = false) {
        if (postgresql) pg.emplace();
        std::ofstream(cfg) << fmt::format(R"({{
          "database": "{}",
          "docspace": {{"base_url": "http://127.0.0.1:9", "api_key": "k"}},
          "webhooks": [{{"path": "/h", "secrets": []}}],
          "channels": {{"console": {{"type": "log"}}}},
          "rules": [{{"name": "uploads", "on": ["file.uploaded"], "do": [{{"notify": {{"channel": "console", "subject": "{{{{file.title}}}}"}}}}]}},
                    {{"name": "all", "on": ["*"], "do": [{{"notify": {{"channel": "console", "subject": "x"}}}}]}}]
        }})",
                                          pg ? pg->url : db_path);
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
        if (pg) REQUIRE(test::run_cli(dir, {"db", "copy", "--from", db_path, "--to", pg->url}).exit_code == 0);
    }
    std::string job_state(std::int64_t id) {
        if (pg) return std::string(store::pg::connection(pg->url).exec(fmt::format("SELECT state FROM jobs WHERE id = {}", id)).text(0, 0));
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

    TEST_CASE("jobs list, show, cancel, retry and purge act on the database, SQLite or PostgreSQL") {
      for (bool postgresql : {false, true}) {
        CAPTURE(postgresql);
        db_fixture f(postgresql);
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
    }

    TEST_CASE("events list, show and replay, SQLite or PostgreSQL") {
      for (bool postgresql : {false, true}) {
        CAPTURE(postgresql);
        db_fixture f(postgresql);
        auto list = test::run_cli(f.dir, {"events", "list", "--config", f.cfg});
        CHECK(list.exit_code == 0);
        CHECK(list.out.find("file.uploaded") != std::string::npos);
        auto show = test::run_cli(f.dir, {"events", "show", "1", "--config", f.cfg, "--json"});
        CHECK(show.out.find(R"("event_id":"1532")") != std::string::npos);
        CHECK(show.out.find(R"(\"title\":\"Invoice \\u0026 \\u00FCbersicht.pdf\")") != std::string::npos);  // the bytes as received
        // Replay: "uploads" exists (queued, left alone), "all" matches too and is created.
        auto replay = test::run_cli(f.dir, {"events", "replay", "1", "--config", f.cfg, "--json"});
        CHECK(replay.exit_code == 0);
        CHECK(replay.out == "{\"created\":1,\"requeued\":0,\"busy\":1}\n");
        CHECK(f.job_state(2) == "queued");
      }
    }

    TEST_CASE("db copy moves a SQLite installation into PostgreSQL with its ids, states and steps, once") {
        db_fixture f;  // event 1532 with its queued job 1
        {
            store::database db(f.db_path);
            auto done = store::lease_next(db, 2000, 60000);
            REQUIRE(done);
            store::ensure_steps(db, done->id, {"notify"}, 2000);
            REQUIRE(store::finish_job(db, store::lease_of(*done), {.state = store::job_state::succeeded,
                                                                   .last_step = store::step_end{.idx = 0, .result = "sent"}}, 2001));
            store::delivery d;
            d.path = "/h";
            d.webhook_id = "7";
            d.event_id = "1533";
            d.trigger = "file.uploaded";
            d.body = std::string("\0\xff raw", 6);
            d.received_at = 3000;
            d.jobs = {{"uploads", "file:1"}};
            store::insert_delivery(db, d);
            db.exec("INSERT INTO store_state(key, value) VALUES('identities_forgotten_before', 500)");
        }
        test::scratch_database target;
        auto copy = test::run_cli(f.dir, {"db", "copy", "--from", f.db_path, "--to", target.url});
        CHECK(copy.exit_code == 0);
        CHECK(copy.out == "copied 2 event(s), 2 job(s) and 1 step(s)\n");
        CHECK(copy.err.find("copied 2 of 2 events") != std::string::npos);
        store::pg::connection c(target.url);
        auto jobs = c.exec("SELECT id, event_row, state, attempts FROM jobs ORDER BY id");
        REQUIRE(jobs.rows() == 2);
        CHECK(jobs.text(0, 2) == "succeeded");
        CHECK(jobs.text(0, 3) == "1");
        CHECK(jobs.text(1, 0) == "2");
        CHECK(jobs.text(1, 1) == "2");
        CHECK(jobs.text(1, 2) == "queued");
        CHECK(c.exec("SELECT result FROM job_steps WHERE job_id = 1 AND state = 'done'").text(0, 0) == "sent");
        CHECK(c.exec("SELECT body FROM events WHERE id = 2").bytes(0, 0) == std::string("\0\xff raw", 6));
        CHECK(c.exec("SELECT value FROM store_state WHERE key = 'identities_forgotten_before'").int64(0, 0) == 500);
        // The identity sequences continue after the copied ids.
        CHECK(c.exec("INSERT INTO events(webhook_id, event_id, trigger, received_at, body, path) "
                     "VALUES('7', 'new', 'file.uploaded', 1, '', '/h') RETURNING id").int64(0, 0) == 3);

        // A second copy into the same database is refused, and changes nothing.
        auto again = test::run_cli(f.dir, {"db", "copy", "--from", f.db_path, "--to", target.url});
        CHECK(again.exit_code == 1);
        CHECK(again.err.find("holds events already") != std::string::npos);
        CHECK(c.exec("SELECT count(*) FROM jobs").int64(0, 0) == 2);
        // Told to, it adds what is not there: every event is, so nothing.
        auto add = test::run_cli(f.dir, {"db", "copy", "--from", f.db_path, "--to", target.url, "--allow-non-empty", "--json"});
        CHECK(add.exit_code == 0);
        CHECK(add.out == R"({"events":0,"jobs":0,"steps":0,"already_there":2})" "\n");
        CHECK(c.exec("SELECT count(*) FROM jobs").int64(0, 0) == 2);

        // Not while a serve holds the SQLite database.
        int lock = ::open((f.db_path + ".lock").c_str(), O_RDWR | O_CREAT, 0600);
        REQUIRE(::flock(lock, LOCK_EX) == 0);
        test::scratch_database other;
        auto busy = test::run_cli(f.dir, {"db", "copy", "--from", f.db_path, "--to", other.url});
        ::close(lock);
        CHECK(busy.exit_code == 1);
        CHECK(busy.err.find("a spacehook serve is using") != std::string::npos);
        CHECK(test::run_cli(f.dir, {"db", "copy", "--from", f.db_path, "--to", "/tmp/x.db"}).exit_code == 2);
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
        // The several-instances example (deploy/postgresql): the same rules on a PostgreSQL URL.
        putenv(const_cast<char*>("SPACEHOOK_DATABASE_URL=postgresql://spacehook@db:5432/spacehook?sslmode=disable"));
        putenv(const_cast<char*>("CHAT_WEBHOOK_URL=https://hooks.example.com/services/x"));
        auto pg = test::run_cli(dir, {"check", "--config", std::string(SPACEHOOK_SOURCE_DIR) + "/deploy/postgresql/config.json"});
        CHECK(pg.exit_code == 0);
        CHECK(pg.out.find("database postgresql://spacehook@db:5432/spacehook?sslmode=disable") != std::string::npos);
    }
}
