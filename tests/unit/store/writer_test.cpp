#include "spacehook/store/events.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/store/migrate.hpp"
#include "spacehook/store/writer.hpp"
#include "deliveries.hpp"
#include "test_support.hpp"

#include <sqlite3.h>

#include <boost/asio/io_context.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

using namespace spacehook;

namespace {
store::delivery make_delivery(const std::string& event_id, const std::vector<std::string>& rules = {}) {
    return test::stored_delivery(event_id, rules);
}

std::int64_t count(store::database& db, const char* sql) {
    auto st = db.prepare(sql);
    st.step();
    return st.int64(0);
}
}  // namespace

TEST_SUITE("store writer") {
    TEST_CASE("migrations are applied once and recorded") {
        test::temp_dir dir;
        auto path = dir.file("a.db");
        { store::writer w({.path = path}); }
        { store::writer w({.path = path}); }
        store::database db(path);
        CHECK(count(db, "SELECT count(*) FROM schema_migrations") == static_cast<std::int64_t>(store::builtin_migrations().size()));
        CHECK(store::builtin_migrations().size() == 4);
        CHECK(count(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('events','jobs','job_steps')") == 3);
        auto st = db.prepare("PRAGMA journal_mode");
        st.step();
        CHECK(st.text(0) == "wal");
    }

    TEST_CASE("the writer's statements build no temporary b-tree per execution (IN lists, CHECK constraints)") {
        test::temp_dir dir;
        store::writer w({.path = dir.file("a.db")});
        w.run_sync([&](store::database& db) {
            // A job's whole life on the writer's connection: ingest, lease with its steps, step transitions, outcome.
            auto ins = store::insert_delivery(db, make_delivery("1", {"r1"}));
            REQUIRE(ins.jobs_created == 1);
            auto j = store::lease_next(db, 1000, 60000);
            REQUIRE(j);
            store::ensure_steps(db, j->id, {"move", "notify"}, 1000);
            const auto l = store::lease_of(*j);
            CHECK(store::start_step(db, l, 0, "", 1001));
            CHECK(store::finish_step(db, l, {0, store::step_state::done, "moved"}, 1002));
            CHECK(store::finish_job(db, l, {store::job_state::succeeded, std::nullopt, 0, std::nullopt}, 1003));
            CHECK(store::next_due(db) == std::nullopt);
            int checked = 0;
            for (auto* s = sqlite3_next_stmt(db.handle(), nullptr); s; s = sqlite3_next_stmt(db.handle(), s)) {
                const std::string sql = sqlite3_sql(s);
                if (sql.rfind("EXPLAIN", 0) == 0) continue;
                auto ex = db.prepare("EXPLAIN " + sql);
                bool ephemeral = false;
                while (ex.step()) ephemeral |= ex.text(1) == "OpenEphemeral";
                INFO(sql);
                CHECK_FALSE(ephemeral);
                ++checked;
            }
            CHECK(checked >= 8);
        });
    }

    TEST_CASE("a duplicate delivery stores nothing new") {
        test::temp_dir dir;
        store::writer w({.path = dir.file("a.db")});
        store::insert_result first, second;
        w.run_sync([&](store::database& db) { first = store::insert_delivery(db, make_delivery("1", {"r1", "r2"})); });
        w.run_sync([&](store::database& db) { second = store::insert_delivery(db, make_delivery("1", {"r1", "r2"})); });
        CHECK(first.outcome == store::insert_outcome::accepted);
        CHECK(first.jobs_created == 2);
        CHECK(second.outcome == store::insert_outcome::duplicate);
        store::database db(dir.file("a.db"));
        CHECK(count(db, "SELECT count(*) FROM events") == 1);
        CHECK(count(db, "SELECT count(*) FROM jobs") == 2);
    }

    TEST_CASE("a manual re-send (new event id, same content key) is stored but its jobs are skipped") {
        test::temp_dir dir;
        store::writer w({.path = dir.file("a.db")});
        auto a = make_delivery("1", {"r1"}), b = make_delivery("2", {"r1"});
        a.content_key = b.content_key = "file.uploaded|2025-06-10T09:15:42Z|u1|8421";
        store::insert_result ra, rb;
        w.run_sync([&](store::database& db) { ra = store::insert_delivery(db, a); });
        w.run_sync([&](store::database& db) { rb = store::insert_delivery(db, b); });
        CHECK(ra.outcome == store::insert_outcome::accepted);
        CHECK(ra.jobs_created == 1);
        CHECK(rb.outcome == store::insert_outcome::accepted);
        CHECK(rb.resend_of == ra.event_row);
        CHECK(rb.jobs_created == 0);
        store::database db(dir.file("a.db"));
        CHECK(count(db, "SELECT count(*) FROM events") == 2);
        CHECK(count(db, "SELECT count(*) FROM jobs WHERE state = 'skipped' AND last_error LIKE 'a re-send of event row%'") == 1);
        CHECK(count(db, "SELECT count(*) FROM jobs WHERE state = 'queued'") == 1);
    }

    TEST_CASE("concurrent tasks are group-committed and each completes on its own executor") {
        test::temp_dir dir;
        store::writer w({.path = dir.file("a.db")});
        boost::asio::io_context ctx;
        constexpr int n = 400;
        std::atomic<int> completed{0};
        for (int i = 0; i < n; ++i) {
            w.async_run(
                [i](store::database& db) { store::insert_delivery(db, make_delivery(std::to_string(i))); },
                [&](std::exception_ptr e) {
                    CHECK(!e);
                    completed.fetch_add(1);
                });
        }
        // The handlers have no executor of their own: they run on the system executor.
        CHECK(test::poll_until([&] { return completed.load() == n; }));
        CHECK(w.stats().tasks.load() == n);
        CHECK(w.stats().batches.load() < static_cast<std::uint64_t>(n));  // batching happened
        store::database db(dir.file("a.db"));
        CHECK(count(db, "SELECT count(*) FROM events") == n);
    }

    TEST_CASE("a batch of lazy tasks commits with synchronous=NORMAL, a batch with a synced task with FULL") {
        test::temp_dir dir;
        store::writer w({.path = dir.file("a.db")});
        auto synchronous = [](store::database& db) {  // the setting this transaction's COMMIT uses: 1 NORMAL, 2 FULL
            auto st = db.prepare("PRAGMA synchronous");
            st.step();
            return st.int64(0);
        };
        // Runs `tasks` (each with its durability) as one batch: a first task holds the writer until all are queued.
        auto batch = [&](std::vector<store::durability> kinds) {
            std::promise<void> go, holding;
            auto held = go.get_future().share();
            std::atomic<int> completed{0};
            std::vector<std::int64_t> seen(kinds.size(), -1);
            w.async_run(
                [held, &holding](store::database&) {
                    holding.set_value();
                    held.wait();
                },
                [&](std::exception_ptr) { completed.fetch_add(1); }, store::durability::lazy);
            holding.get_future().wait();  // its batch is under way: the tasks below queue for the next one
            for (std::size_t i = 0; i < kinds.size(); ++i)
                w.async_run(
                    [&, i](store::database& db) {
                        seen[i] = synchronous(db);
                        store::insert_delivery(db, make_delivery(fmt::format("{}-{}", kinds.size(), i)));
                    },
                    [&](std::exception_ptr e) {
                        CHECK(!e);
                        completed.fetch_add(1);
                    },
                    kinds[i]);
            go.set_value();
            REQUIRE(test::poll_until([&] { return completed.load() == static_cast<int>(kinds.size()) + 1; }));
            return seen;
        };
        const auto synced0 = w.stats().synced_commits.load();
        CHECK(batch({store::durability::lazy, store::durability::lazy}) == std::vector<std::int64_t>{1, 1});
        CHECK(w.stats().synced_commits.load() == synced0);
        CHECK(batch({store::durability::lazy, store::durability::synced, store::durability::lazy}) ==
              std::vector<std::int64_t>{2, 2, 2});
        CHECK(w.stats().synced_commits.load() == synced0 + 1);
        w.run_sync([&](store::database& db) { CHECK(synchronous(db) == 2); });  // the default is synced
        // Lazy commits are committed: another connection reads them.
        store::database db(dir.file("a.db"));
        CHECK(count(db, "SELECT count(*) FROM events") == 5);
    }

    TEST_CASE("one failing task rolls back alone, its neighbours in the batch commit") {
        test::temp_dir dir;
        store::writer w({.path = dir.file("a.db")});
        std::promise<void> gate;
        auto gate_f = gate.get_future().share();
        std::atomic<int> ok{0}, failed{0};
        // The first task holds the writer so the next three land in one batch.
        w.async_run([gate_f](store::database&) { gate_f.wait(); }, [](std::exception_ptr) {});
        for (int i = 0; i < 3; ++i) {
            w.async_run(
                [i](store::database& db) {
                    store::insert_delivery(db, make_delivery("x" + std::to_string(i)));
                    if (i == 1) throw std::runtime_error("boom");
                },
                [&](std::exception_ptr e) { (e ? failed : ok).fetch_add(1); });
        }
        gate.set_value();
        CHECK(test::poll_until([&] { return ok.load() + failed.load() == 3; }));
        CHECK(ok.load() == 2);
        CHECK(failed.load() == 1);
        store::database db(dir.file("a.db"));
        CHECK(count(db, "SELECT count(*) FROM events") == 2);
        CHECK(count(db, "SELECT count(*) FROM events WHERE event_id = 'x1'") == 0);
    }

    TEST_CASE("a write lock held by another process fails the batch as busy") {
        test::temp_dir dir;
        store::writer w({.path = dir.file("a.db"), .busy_timeout_ms = 50});
        store::database other(dir.file("a.db"));
        other.exec("BEGIN IMMEDIATE");
        std::exception_ptr err;
        try {
            w.run_sync([](store::database& db) { store::insert_delivery(db, make_delivery("1")); });
        } catch (...) {
            err = std::current_exception();
        }
        REQUIRE(err);
        try {
            std::rethrow_exception(err);
        } catch (const store::error& e) {
            CHECK(e.busy());
        }
        other.exec("ROLLBACK");
        w.run_sync([](store::database& db) { store::insert_delivery(db, make_delivery("1")); });
        CHECK(count(other, "SELECT count(*) FROM events") == 1);
    }

    TEST_CASE("the checkpointer copies the WAL into the database file while the writer is busy") {
        test::temp_dir dir;
        const auto path = dir.file("a.db");
        store::writer w({.path = path, .checkpoint_pages = 10, .checkpoint_limit_pages = 100000});
        w.run_sync([](store::database& db) { db.exec("CREATE TABLE filler(x BLOB)"); });
        // The schema's WAL (over 10 pages) is checkpointed by the idle writer, waiting for the checkpointer if it
        // is at it: after that, what the checkpointer counts comes from the commit below.
        REQUIRE(test::poll_until([&] { return w.stats().writer_checkpoints.load() >= 1; }));
        std::promise<void> gate;
        auto gate_f = gate.get_future().share();
        std::atomic<int> completed{0};
        // One commit of ~30 pages wakes the checkpointer; the next task keeps the writer from going idle (where
        // it would checkpoint itself), so what reaches the database file was copied by the checkpointer.
        std::promise<void> holding;
        w.async_run(
            [&holding, gate_f](store::database& db) {
                holding.set_value();
                gate_f.wait();
                for (int i = 0; i < 30; ++i) db.exec("INSERT INTO filler VALUES(randomblob(3000))");
            },
            [&](std::exception_ptr e) {
                CHECK(!e);
                completed.fetch_add(1);
            });
        holding.get_future().wait();
        // The writer is busy from here on, so no checkpoint of its own changes the file under us.
        const auto db_size0 = std::filesystem::file_size(path);
        // Queued behind the insert, so in the next batch: it holds the writer once the insert has committed.
        std::promise<void> second_gate;
        auto second_f = second_gate.get_future().share();
        w.async_run([second_f](store::database&) { second_f.wait(); }, [&](std::exception_ptr) { completed.fetch_add(1); });
        const auto writer_checkpoints0 = w.stats().writer_checkpoints.load();
        const auto background0 = w.stats().background_checkpoints.load();
        gate.set_value();
        CHECK(test::poll_until([&] { return w.stats().background_checkpoints.load() > background0; }));
        CHECK(test::poll_until([&] { return std::filesystem::file_size(path) >= db_size0 + 30 * 3000; }));
        CHECK(w.stats().writer_checkpoints.load() == writer_checkpoints0);
        second_gate.set_value();
        REQUIRE(test::poll_until([&] { return completed.load() == 2; }));
    }

    TEST_CASE("the WAL starts over once it reaches the limit, however busy the writer") {
        test::temp_dir dir;
        const auto path = dir.file("a.db");
        store::writer w({.path = path, .max_batch = 1, .checkpoint_pages = 10, .checkpoint_limit_pages = 60});
        w.run_sync([](store::database& db) { db.exec("CREATE TABLE filler(x BLOB)"); });
        // 200 commits of ~3 pages (one task per transaction) queued at once: the writer is never idle, so only the
        // limit rewinds the WAL.
        std::atomic<int> completed{0};
        const int commits = 200;
        std::promise<void> gate;
        auto gate_f = gate.get_future().share();
        w.async_run([gate_f](store::database&) { gate_f.wait(); }, [&](std::exception_ptr) {});
        for (int i = 0; i < commits; ++i)
            w.async_run(
                [](store::database& db) {
                    db.exec("INSERT INTO filler VALUES(randomblob(3000))");
                    db.exec("INSERT INTO filler VALUES(randomblob(3000))");
                },
                [&](std::exception_ptr e) {
                    CHECK(!e);
                    completed.fetch_add(1);
                });
        gate.set_value();
        REQUIRE(test::poll_until([&] { return completed.load() == commits; }));
        store::database db(path);
        CHECK(count(db, "SELECT count(*) FROM filler") == 2 * commits);
        // Without a rewind the WAL would hold every page written (well over 400); with one it stays near the limit.
        const auto wal = std::filesystem::file_size(path + "-wal");
        INFO("WAL bytes: " << wal);
        CHECK(wal < (60 + 40) * (4096 + 24) + 32);
        CHECK(w.stats().writer_checkpoints.load() >= 1);
    }

    TEST_CASE("after a quiet moment the next commit starts the WAL over") {
        test::temp_dir dir;
        store::writer w({.path = dir.file("a.db"), .checkpoint_pages = 10, .checkpoint_limit_pages = 100000});
        const auto checkpoints = [&] {
            return w.stats().writer_checkpoints.load() + w.stats().background_checkpoints.load();
        };
        const auto before = checkpoints();
        w.run_sync([](store::database& db) {
            db.exec("CREATE TABLE filler(x BLOB)");
            for (int i = 0; i < 30; ++i) db.exec("INSERT INTO filler VALUES(randomblob(3000))");
        });
        CHECK(w.stats().wal_pages.load() >= 30);
        // The checkpointer (woken by the commit) or the writer (finding its queue empty) copies the whole WAL:
        // nothing is written meanwhile. Whichever finishes first has copied it all.
        CHECK(test::poll_until([&] { return checkpoints() > before; }));
        w.run_sync([](store::database& db) { db.exec("INSERT INTO filler VALUES(1)"); });
        CHECK(w.stats().wal_pages.load() < 10);  // rewound: the commit wrote from the WAL's start
    }

    TEST_CASE("checkpoint_pages 0 leaves checkpoints to SQLite, inside the commit") {
        test::temp_dir dir;
        store::writer w({.path = dir.file("a.db"), .checkpoint_pages = 0});
        w.run_sync([](store::database& db) {
            db.exec("CREATE TABLE filler(x BLOB)");
            for (int i = 0; i < 1500; ++i) db.exec("INSERT INTO filler VALUES(randomblob(3000))");
        });
        w.run_sync([](store::database& db) { db.exec("INSERT INTO filler VALUES(1)"); });
        CHECK(w.stats().background_checkpoints.load() == 0);
        CHECK(w.stats().writer_checkpoints.load() == 0);
        store::database db(dir.file("a.db"));
        auto st = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
        REQUIRE(st.step());
        CHECK(st.int64(1) < 1500);  // SQLite's automatic checkpoint rewound the WAL after the big commit
    }
}
