// store::queue over SQLite: answers are values or classified failures, never exceptions, and a call that
// passes its deadline gives up waiting while its write still lands.
#include "spacehook/store/events.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/store/queue.hpp"
#include "spacehook/store/writer.hpp"
#include "deliveries.hpp"
#include "test_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <doctest/doctest.h>

using namespace spacehook;
using namespace std::chrono_literals;

namespace {

store::delivery delivery(const std::string& event_id) { return test::stored_delivery(event_id, {"rule"}); }

template <class Make>
auto run(Make make) {
    return test::run_coroutine(std::move(make));
}

std::int64_t scalar(const std::string& path, const char* sql) { return test::count_rows(path, sql); }

}  // namespace

TEST_SUITE("store queue") {
    TEST_CASE("a delivery is stored once: accepted, then duplicate") {
        test::temp_dir dir;
        store::writer w({.path = dir.file("q.db")});
        auto q = store::make_sqlite_queue(w);
        auto first = run([&]() -> awaitable<store::result<store::insert_result>> { co_return co_await q->insert_delivery(delivery("1")); });
        auto again = run([&]() -> awaitable<store::result<store::insert_result>> { co_return co_await q->insert_delivery(delivery("1")); });
        REQUIRE(first);
        REQUIRE(again);
        CHECK(first->outcome == store::insert_outcome::accepted);
        CHECK(first->jobs_created == 1);
        CHECK(again->outcome == store::insert_outcome::duplicate);
        CHECK(scalar(dir.file("q.db"), "SELECT count(*) FROM jobs") == 1);
    }

    TEST_CASE("past its deadline a call answers timed_out, and its write lands once the database frees") {
        test::temp_dir dir;
        const auto path = dir.file("q.db");
        store::writer w({.path = path, .busy_timeout_ms = 30000});
        auto q = store::make_sqlite_queue(w);
        store::database locker(path);
        locker.exec("BEGIN IMMEDIATE");  // the writer's BEGIN now waits (busy_timeout) as behind a stalled fsync
        boost::asio::io_context ctx;
        auto f = boost::asio::co_spawn(
            ctx, [&]() -> awaitable<store::result<bool>> { co_return co_await q->probe_write(200ms); }, boost::asio::use_future);
        while (f.wait_for(0s) != std::future_status::ready) ctx.run_one();
        auto r = f.get();
        REQUIRE_FALSE(r);
        CHECK(r.error().code == spacehook::errc::timed_out);
        CHECK(r.error().transient());
        CHECK(scalar(path, "SELECT count(*) FROM store_state WHERE key = 'ready_probe'") == 0);
        locker.exec("ROLLBACK");
        // The caller's coroutine is gone; the task it left runs on inputs it owns, and its completion (work the
        // io_context still counts) finds no one waiting: run() returns once the writer answered.
        ctx.run();
        CHECK(scalar(path, "SELECT count(*) FROM store_state WHERE key = 'ready_probe'") == 1);
    }

    TEST_CASE("a database locked past busy_timeout answers unavailable, a wrong transition invalid") {
        test::temp_dir dir;
        const auto path = dir.file("q.db");
        store::writer w({.path = path, .busy_timeout_ms = 100});
        auto q = store::make_sqlite_queue(w);
        {
            store::database locker(path);
            locker.exec("BEGIN IMMEDIATE");
            auto r = run([&]() -> awaitable<store::result<store::insert_result>> { co_return co_await q->insert_delivery(delivery("1")); });
            REQUIRE_FALSE(r);
            CHECK(r.error().code == spacehook::errc::unavailable);
            CHECK(r.error().transient());
            locker.exec("ROLLBACK");
        }
        auto stored = run([&]() -> awaitable<store::result<store::insert_result>> { co_return co_await q->insert_delivery(delivery("1")); });
        REQUIRE(stored);
        auto leased = run([&]() -> awaitable<store::result<store::lease_found>> {
            co_return co_await q->lease_next(60000, [](const store::job&) { return std::vector<std::string>{"notify"}; });
        });
        REQUIRE(leased);
        REQUIRE(leased->leased);
        CHECK(leased->steps.size() == 1);
        const auto l = store::lease_of(*leased->leased);
        auto wrong = run([&]() -> awaitable<store::result<bool>> { co_return co_await q->finish_job(l, {.state = store::job_state::queued}); });
        REQUIRE_FALSE(wrong);
        CHECK(wrong.error().code == spacehook::errc::invalid);
        CHECK_FALSE(wrong.error().transient());
        auto right = run([&]() -> awaitable<store::result<bool>> { co_return co_await q->finish_job(l, {.state = store::job_state::succeeded}); });
        REQUIRE(right);
        CHECK(*right);
        auto ev = run([&]() -> awaitable<store::result<std::optional<store::event_record>>> { co_return co_await q->get_event(stored->event_row); });
        REQUIRE(ev);
        REQUIRE(*ev);
        CHECK((*ev)->event_id == "1");
    }

    TEST_CASE("a queue that owns its writer gives back what a previous run left running, and reports its gauges") {
        test::temp_dir dir;
        const auto path = dir.file("q.db");
        {
            auto q = store::open_sqlite_queue({.path = path});
            for (const char* id : {"1", "2", "3"}) {
                auto r = run([&]() -> awaitable<store::result<store::insert_result>> { co_return co_await q->insert_delivery(delivery(id)); });
                REQUIRE(r);
            }
            auto leased = run([&]() -> awaitable<store::result<store::lease_found>> {
                co_return co_await q->lease_next(3'600'000, [](const store::job&) { return std::vector<std::string>{"notify"}; });
            });
            REQUIRE(leased);
            REQUIRE(leased->leased);
            // The process "dies" here: the job stays running under an hour-long lease.
        }
        CHECK(scalar(path, "SELECT count(*) FROM jobs WHERE state = 'running'") == 1);
        auto q = store::open_sqlite_queue({.path = path});
        auto released = run([&]() -> awaitable<store::result<int>> { co_return co_await q->release_abandoned(); });
        REQUIRE(released);
        CHECK(*released == 1);
        CHECK(scalar(path, "SELECT count(*) FROM jobs WHERE state = 'running'") == 0);
        auto g = q->read_gauges();
        REQUIRE(g);
        std::int64_t total = 0;
        for (const auto& [state, n] : g->jobs_by_state) total += n;
        CHECK(total == 3);
        CHECK(g->jobs_by_state.at(store::job_state::running) == 0);
        REQUIRE(g->next_due_ms);
        CHECK(*g->next_due_ms == scalar(path, "SELECT min(run_at) FROM jobs WHERE state IN ('queued', 'retrying')"));
    }
}
