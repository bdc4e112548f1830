// store::pg against a real PostgreSQL 15: the throwaway cluster of scripts/pg-test-cluster.sh, started by CTest
// (fixture "postgresql"). Each test case works in a database of its own, since test cases run in parallel.
#include "spacehook/store/migrate.hpp"
#include "spacehook/store/pg.hpp"
#include "spacehook/store/sqlite.hpp"
#include "pg_cluster.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include <fmt/format.h>

using namespace spacehook;
namespace pg = spacehook::store::pg;
using test::cluster_url;
using test::scratch_database;

namespace {

std::set<std::string> pg_columns(pg::connection& c, const std::string& table) {
    std::set<std::string> out;
    auto r = c.exec("SELECT column_name FROM information_schema.columns WHERE table_name = $1", {table});
    for (int i = 0; i < r.rows(); ++i) out.emplace(r.text(i, 0));
    return out;
}

std::set<std::string> sqlite_columns(store::database& db, const std::string& table) {
    std::set<std::string> out;
    auto st = db.prepare("SELECT name FROM pragma_table_info(?1)");
    st.bind(1, table);
    while (st.step()) out.insert(st.text(0));
    return out;
}

// An error's code and SQLSTATE, or nullopt when `fn` did not throw.
template <class Fn>
std::optional<std::pair<errc, std::string>> failure_of(Fn fn) {
    try {
        fn();
    } catch (const pg::error& e) {
        return std::pair{e.code(), e.sqlstate()};
    }
    return std::nullopt;
}

const std::string insert_event =
    "INSERT INTO events(webhook_id, event_id, trigger, received_at, body, path) VALUES($1, $2, 'file.uploaded', 1, "
    "$3, '/h')";

}  // namespace

TEST_SUITE("store pg") {
    TEST_CASE("migrations apply once: a second run applies nothing, and the tables are there") {
        scratch_database db;
        pg::connection c(db.url);
        auto first = pg::migrate(c);
        CHECK(first == std::vector<std::string>{"0001_init.sql"});
        CHECK(pg::migrate(c).empty());
        CHECK(c.exec("SELECT count(*) FROM schema_migrations").int64(0, 0) == 1);
        CHECK(c.exec("SHOW application_name").text(0, 0) == "spacehook");
        // What the URL sets wins over the connection's defaults.
        CHECK(pg::connection(db.url + "?application_name=mine").exec("SHOW application_name").text(0, 0) == "mine");
        for (const char* t : {"events", "jobs", "job_steps", "store_state"})
            CHECK_MESSAGE(c.exec("SELECT to_regclass($1) IS NOT NULL", {t}).text(0, 0) == "t", t);
    }

    TEST_CASE("instances that migrate at once apply each migration once") {
        scratch_database db;
        std::atomic<int> applied{0}, failed{0};
        std::vector<std::thread> instances;
        for (int i = 0; i < 4; ++i)
            instances.emplace_back([&] {
                try {
                    pg::connection c(db.url);
                    applied += static_cast<int>(pg::migrate(c).size());
                } catch (const pg::error&) {
                    ++failed;
                }
            });
        for (auto& t : instances) t.join();
        CHECK(failed == 0);
        CHECK(applied == static_cast<int>(pg::builtin_migrations().size()));
        pg::connection c(db.url);
        CHECK(c.exec("SELECT count(*) FROM schema_migrations").int64(0, 0) ==
              static_cast<std::int64_t>(pg::builtin_migrations().size()));
    }

    TEST_CASE("the PostgreSQL tables have the columns of the SQLite tables") {
        scratch_database db;
        pg::connection c(db.url);
        pg::migrate(c);
        test::temp_dir dir;
        store::database lite(dir.file("s.db"));
        store::migrate(lite);
        for (const std::string t : {"events", "jobs", "job_steps", "store_state", "schema_migrations"}) {
            CAPTURE(t);
            CHECK(pg_columns(c, t) == sqlite_columns(lite, t));
            CHECK_FALSE(pg_columns(c, t).empty());
        }
    }

    TEST_CASE("the schema refuses a second event id, an unknown state and a step of a missing job") {
        scratch_database db;
        pg::connection c(db.url);
        pg::migrate(c);
        c.exec(insert_event, {"w1", "e1", pg::bytea_param("{}")});
        auto dup = failure_of([&] { c.exec(insert_event, {"w1", "e1", pg::bytea_param("{}")}); });
        REQUIRE(dup);
        CHECK(dup->first == errc::invalid);
        CHECK(dup->second == "23505");
        // What ingestion will write: a repeated delivery inserts nothing and is no error.
        CHECK(c.exec(insert_event + " ON CONFLICT (webhook_id, event_id) DO NOTHING", {"w1", "e1", pg::bytea_param("{}")})
                  .affected() == 0);
        CHECK(c.exec(insert_event + " ON CONFLICT (webhook_id, event_id) DO NOTHING", {"w1", "e2", pg::bytea_param("{}")})
                  .affected() == 1);
        auto state = failure_of([&] {
            c.exec("INSERT INTO jobs(event_row, rule, state, max_attempts, run_at, created_at, updated_at) "
                   "SELECT id, 'r', 'bogus', 3, 0, 0, 0 FROM events LIMIT 1");
        });
        REQUIRE(state);
        CHECK(state->second == "23514");
        {
            // A transaction in which a statement failed does not commit, and commit() says so.
            pg::transaction tx(c);
            c.exec(insert_event, {"w1", "e3", pg::bytea_param("{}")});
            REQUIRE(failure_of([&] { c.exec(insert_event, {"w1", "e1", pg::bytea_param("{}")}); }));
            auto commit = failure_of([&] { tx.commit(); });
            REQUIRE(commit);
            CHECK(commit->first == errc::invalid);
        }
        CHECK(c.exec("SELECT count(*) FROM events WHERE event_id = 'e3'").int64(0, 0) == 0);
        auto orphan = failure_of([&] {
            c.exec("INSERT INTO job_steps(job_id, idx, action, state, updated_at) VALUES(999, 0, 'move', 'pending', 0)");
        });
        REQUIRE(orphan);
        CHECK(orphan->second == "23503");
    }

    TEST_CASE("a body's bytes come back as they went in, NUL and invalid UTF-8 included") {
        scratch_database db;
        pg::connection c(db.url);
        pg::migrate(c);
        std::string body;
        for (int i = 0; i < 256; ++i) body.push_back(static_cast<char>(i));
        body += std::string("\0\xff{\"a\":1}", 10);
        c.exec(insert_event, {"w", "e", pg::bytea_param(body)});
        auto r = c.exec("SELECT body, octet_length(body), trigger, content_key FROM events");
        REQUIRE(r.rows() == 1);
        CHECK(r.bytes(0, 0) == body);
        CHECK(r.int64(0, 1) == static_cast<std::int64_t>(body.size()));
        CHECK(r.text(0, 2) == "file.uploaded");
        CHECK(r.is_null(0, 3));
        CHECK_FALSE(r.opt_text(0, 3).has_value());
    }

    TEST_CASE("a connection whose prepared statements vanish (a pooling proxy) stops preparing and goes on") {
        scratch_database db;
        pg::connection c(db.url);
        CHECK(c.run("SELECT $1::int + 1", {"1"}).int64(0, 0) == 2);
        CHECK(c.exec("SELECT count(*) FROM pg_prepared_statements").int64(0, 0) == 1);
        c.exec("DEALLOCATE ALL");  // as when a transaction-pooling proxy hands this client another session
        auto e = failure_of([&] { c.run("SELECT $1::int + 1", {"2"}); });
        REQUIRE(e);
        CHECK(e->second == "26000");
        CHECK(c.run("SELECT $1::int + 1", {"3"}).int64(0, 0) == 4);
        CHECK(c.exec("SELECT count(*) FROM pg_prepared_statements").int64(0, 0) == 0);  // no longer prepares
    }

    TEST_CASE("a malformed URL is refused without libpq's words, which could quote the password") {
        try {
            pg::connection("postgresql://spacehook:pa%zzword@127.0.0.1:1/x");
            FAIL("connected");
        } catch (const pg::error& e) {
            CHECK(e.code() == errc::invalid);
            CHECK(std::string(e.what()).find("pa%zz") == std::string::npos);
            CHECK(std::string(e.what()).find("malformed") != std::string::npos);
        }
    }

    TEST_CASE("errors are classified: unreachable, read-only and a killed session are unavailable, a cancelled statement timed out") {
        // Nothing listens on port 1; the password in the URL must not reach the message.
        try {
            pg::connection c("postgresql://spacehook:s3cret-pw@127.0.0.1:1/spacehook", 2);
            FAIL("connected to a closed port");
        } catch (const pg::error& e) {
            CHECK(e.code() == errc::unavailable);
            CHECK(std::string(e.what()).find("s3cret-pw") == std::string::npos);
            CHECK(std::string(e.what()).find("127.0.0.1") != std::string::npos);
        }

        scratch_database db;
        pg::connection c(db.url);
        pg::migrate(c);
        auto slow = failure_of([&] { c.exec("SET statement_timeout = 50; SELECT pg_sleep(5)"); });
        REQUIRE(slow);
        CHECK(slow->first == errc::timed_out);
        CHECK(slow->second == "57014");
        c.exec("SET statement_timeout = 0");

        // A standby being promoted (or a primary demoted) answers writes with 25006.
        c.exec("SET default_transaction_read_only = on");
        auto ro = failure_of([&] { c.exec("INSERT INTO store_state(key, value) VALUES('k', 1)"); });
        REQUIRE(ro);
        CHECK(ro->first == errc::unavailable);
        CHECK(ro->second == "25006");
        c.exec("SET default_transaction_read_only = off");

        // The server ends the session (a restart, a failover, an administrator): unavailable, and reset() recovers.
        pg::connection admin(db.url);
        admin.exec("SELECT pg_terminate_backend($1)", {std::to_string(c.backend_pid())});
        auto killed = failure_of([&] { c.exec("SELECT 1"); });
        REQUIRE(killed);
        CHECK(killed->first == errc::unavailable);
        CHECK_FALSE(c.healthy());
        c.reset();
        CHECK(c.exec("SELECT 41 + 1").int64(0, 0) == 42);

        CHECK(pg::classify("23505") == errc::invalid);
        CHECK(pg::classify("40P01") == errc::unavailable);
        CHECK(pg::classify("08006") == errc::unavailable);
        CHECK(pg::classify("53300") == errc::unavailable);
        CHECK(pg::classify("") == errc::unavailable);
    }
}
