// store::queue, the seam the service runs on, against both backends: every case in the first suite runs on a
// SQLite file and on a PostgreSQL database and must give the same answers. The second suite is what only
// PostgreSQL has: several instances on one database (leasing across them, the per-file order across them,
// LISTEN/NOTIFY), a session killed under the queue, and the server restarted.
#include "spacehook/core/clock.hpp"
#include "spacehook/store/pg.hpp"
#include "spacehook/store/admin.hpp"
#include "spacehook/store/pg_queue.hpp"
#include "spacehook/store/queue.hpp"
#include "deliveries.hpp"
#include "pg_cluster.hpp"
#include "test_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>

#include <doctest/doctest.h>

#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <numeric>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>

using namespace spacehook;
using namespace std::chrono_literals;
namespace pg = spacehook::store::pg;

namespace queue_backends_test {

template <class Make>
auto run(Make make) {
    return test::run_coroutine(std::move(make));
}

store::result<store::insert_result> insert(store::queue& q, store::delivery d) {
    return run([&]() -> awaitable<store::result<store::insert_result>> {
        auto r = co_await q.insert_delivery(std::move(d));
        co_return r;
    });
}

store::result<store::lease_found> lease(store::queue& q, std::int64_t lease_ms = 60'000) {
    return run([&]() -> awaitable<store::result<store::lease_found>> {
        store::queue::step_names names = [](const store::job&) { return std::vector<std::string>{"move", "notify"}; };
        auto r = co_await q.lease_next(lease_ms, std::move(names));
        co_return r;
    });
}

store::result<bool> finish(store::queue& q, store::lease l, store::job_end end) {
    return run([&]() -> awaitable<store::result<bool>> {
        auto r = co_await q.finish_job(l, end);
        co_return r;
    });
}

store::result<int> release_expired(store::queue& q) {
    return run([&]() -> awaitable<store::result<int>> {
        auto r = co_await q.release_expired();
        co_return r;
    });
}

// A delivery of event `id` with one job per rule, on file `file`.
store::delivery on_file(const std::string& id, const std::string& file, std::vector<std::string> rules = {"rule"}) {
    auto d = test::stored_delivery(id);
    for (auto& r : rules) d.jobs.push_back({std::move(r), file});
    return d;
}

// One backend: a fresh, empty database, a queue over it, and a way to count rows in it.
struct backend {
    std::string name;
    std::unique_ptr<store::queue> q;
    std::function<std::int64_t(const std::string&)> scalar;
    std::function<std::unique_ptr<store::admin>()> admin;  // the operator's calls on the same database
};

struct sqlite_backend : backend {
    test::temp_dir dir;
    ~sqlite_backend() { q.reset(); }  // before the directory goes
    sqlite_backend() {
        name = "sqlite";
        q = store::open_sqlite_queue({.path = dir.file("q.db")});
        scalar = [p = dir.file("q.db")](const std::string& sql) { return test::count_rows(p, sql); };
        admin = [p = dir.file("q.db")] { return store::open_sqlite_admin(p); };
    }
};

std::int64_t pg_scalar(const std::string& url, const std::string& sql) {
    pg::connection c(url);
    auto r = c.exec(sql);
    return r.is_null(0, 0) ? 0 : r.int64(0, 0);
}

struct pg_backend : backend {
    test::scratch_database db;
    ~pg_backend() { q.reset(); }  // before the database is dropped
    explicit pg_backend(std::function<void()> on_jobs = {}) {
        name = "postgresql";
        q = store::open_pg_queue({.url = db.url, .on_jobs = std::move(on_jobs)});
        scalar = [u = db.url](const std::string& sql) { return pg_scalar(u, sql); };
        admin = [u = db.url] { return store::open_pg_admin(u); };
    }
};

// Runs `body` once on each backend.
template <class Body>
void on_both(Body body) {
    {
        sqlite_backend b;
        CAPTURE(b.name);
        body(static_cast<backend&>(b));
    }
    {
        pg_backend b;
        CAPTURE(b.name);
        body(static_cast<backend&>(b));
    }
}

}  // namespace queue_backends_test

using namespace queue_backends_test;

TEST_SUITE("store queue on both backends") {
    TEST_CASE("a delivery is stored once, and a re-send of its content creates skipped jobs") {
        on_both([](backend& b) {
            auto first = insert(*b.q, on_file("1", "file:1"));
            auto again = insert(*b.q, on_file("1", "file:1"));
            REQUIRE(first);
            REQUIRE(again);
            CHECK(first->outcome == store::insert_outcome::accepted);
            CHECK(first->jobs_created == 1);
            CHECK(again->outcome == store::insert_outcome::duplicate);
            auto resend = on_file("2", "file:1");
            auto original = on_file("3", "file:3");
            original.content_key = resend.content_key = "file.uploaded|t|u|50001";
            auto o = insert(*b.q, std::move(original));
            auto r = insert(*b.q, std::move(resend));
            REQUIRE(o);
            REQUIRE(r);
            CHECK(r->resend_of == o->event_row);
            CHECK(r->jobs_created == 0);
            CHECK(b.scalar("SELECT count(*) FROM events") == 3);
            CHECK(b.scalar("SELECT count(*) FROM jobs WHERE state = 'skipped'") == 1);
            CHECK(b.scalar("SELECT count(*) FROM jobs WHERE state = 'queued'") == 2);
            auto ev = run([&]() -> awaitable<store::result<std::optional<store::event_record>>> {
                auto e = co_await b.q->get_event(first->event_row);
                co_return e;
            });
            REQUIRE(ev);
            REQUIRE(*ev);
            CHECK((*ev)->body == R"({"event":{"id":1}})");
            CHECK((*ev)->jobs == 1);
        });
    }

    TEST_CASE("the operator's calls filter, count, page, act in bulk and summarise alike") {
        on_both([](backend& b) {
            // Events 1..6 with titles; rule "a" on every one, "b" on the even ones.
            const std::vector<std::string> titles = {"Invoice_1.pdf", "Invoicex1.pdf", "invoice_3.PDF",
                                                     "report 100%.docx", "notes.txt", "Invoice_6.pdf"};
            for (int i = 1; i <= 6; ++i) {
                auto d = test::stored_delivery(std::to_string(i));
                d.body = fmt::format(R"({{"event":{{"id":{}}},"payload":{{"title":"{}"}}}})", i, titles[i - 1]);
                d.received_at = 1000 * i;
                d.jobs.push_back({"a", "file:" + std::to_string(i)});
                if (i % 2 == 0) d.jobs.push_back({"b", "file:" + std::to_string(i)});
                REQUIRE(insert(*b.q, std::move(d)));
            }
            auto l = lease(*b.q);
            REQUIRE(l);
            REQUIRE(l->leased);
            REQUIRE(finish(*b.q, store::lease_of(*l->leased), {.state = store::job_state::dead, .reason = "DocSpace answered 403"}));
            auto db = b.admin();

            // Keyset pages of 4, newest first: 9 jobs in 3 pages, none twice.
            store::job_filter all;
            all.limit = 4;
            std::vector<std::int64_t> ids;
            for (int page = 0; page < 5; ++page) {
                auto jobs = db->list_jobs(all);
                for (const auto& j : jobs) ids.push_back(j.id);
                if (static_cast<int>(jobs.size()) < all.limit) break;
                all.before_id = jobs.back().id;
            }
            CHECK(ids.size() == 9);
            CHECK(std::is_sorted(ids.rbegin(), ids.rend()));
            CHECK(std::set<std::int64_t>(ids.begin(), ids.end()).size() == 9);

            // Title: a case-insensitive substring; _ and % are literal.
            store::job_filter t;
            t.title = "INVOICE_";
            t.rule = "a";
            auto found = db->list_jobs(t);
            REQUIRE(found.size() == 3);  // Invoice_1, invoice_3, Invoice_6; not Invoicex1
            CHECK(found[0].title == "Invoice_6.pdf");
            t.title = "100%";
            CHECK(db->count_jobs(t) == 1);
            t.title = "0%.";
            CHECK(db->count_jobs(t) == 1);
            t.title = "nothing";
            CHECK(db->count_jobs(t) == 0);

            store::job_filter e;
            e.error = "answered 403";
            auto dead = db->list_jobs(e);
            REQUIRE(dead.size() == 1);
            CHECK(dead[0].state == store::job_state::dead);
            store::job_filter span;
            span.since_ms = 2000;
            span.until_ms = 4000;  // events 2 and 3: a, b, a
            CHECK(db->count_jobs(span) == 3);

            // Bulk: cancel what is queued among rule b; retry the dead one.
            store::job_filter rb;
            rb.rule = "b";
            std::vector<std::int64_t> b_ids;
            for (const auto& j : db->list_jobs(rb)) b_ids.push_back(j.id);
            CHECK(db->cancel_jobs(b_ids, 50'000) == 3);
            CHECK(db->cancel_jobs(b_ids, 50'000) == 0);
            CHECK(db->retry_jobs({dead[0].id, 999'999}, 50'000) == 1);

            auto all_stats = db->stats(10'000, {{1000, 10}, {5000, 2}});  // [0 s, 1 s), ..., [9 s, 10 s); [0, 5 s), [5 s, 10 s)
            REQUIRE(all_stats.windows.size() == 2);
            CHECK(all_stats.windows[1].accepted.counts == std::vector<std::int64_t>{4, 2});
            auto& o = all_stats;
            auto& w0 = all_stats.windows[0];
            CHECK(o.by_state[store::job_state::cancelled] == 3);
            CHECK(o.by_state[store::job_state::queued] == 6);
            CHECK(o.by_state[store::job_state::dead] == 0);
            REQUIRE(w0.accepted.counts.size() == 10);
            CHECK(w0.accepted.counts[1] == 1);
            CHECK(w0.accepted.counts[6] == 1);
            CHECK(std::accumulate(w0.accepted.counts.begin(), w0.accepted.counts.end(), std::int64_t{0}) == 6);
            CHECK(db->max_job_id() == ids.front());
            store::job_filter window;
            window.before_id = ids.front();
            window.after_id = ids.front() - 3;  // two ids between
            CHECK(db->list_jobs(window).size() == 2);
            CHECK(o.oldest_due.has_value());
            CHECK(db->last_delivery("/hook", 0) == 6000);
            CHECK(db->last_delivery("/elsewhere", 0) == std::nullopt);
            CHECK(db->last_delivery("/hook", 7000) == std::nullopt);
            auto rc = db->rule_counts();
            CHECK(rc["a"][store::job_state::queued] == 6);
            CHECK(rc["b"][store::job_state::cancelled] == 3);

            store::event_filter ef;
            ef.limit = 4;
            auto first = db->list_events(ef);
            REQUIRE(first.size() == 4);
            ef.before_id = first.back().id;
            CHECK(db->list_events(ef).size() == 2);
        });
    }

    TEST_CASE("jobs of one file lease one at a time, oldest first, with their step rows") {
        on_both([](backend& b) {
            REQUIRE(insert(*b.q, on_file("1", "file:a")));
            REQUIRE(insert(*b.q, on_file("2", "file:a")));
            REQUIRE(insert(*b.q, on_file("3", "file:b")));
            auto first = lease(*b.q);
            REQUIRE(first);
            REQUIRE(first->leased);
            CHECK(first->leased->file_key == "file:a");
            CHECK(first->leased->attempts == 1);
            REQUIRE(first->steps.size() == 2);
            CHECK(first->steps[0].action == "move");
            auto second = lease(*b.q);
            REQUIRE(second);
            REQUIRE(second->leased);
            CHECK(second->leased->file_key == "file:b");  // file:a's second job waits for its first
            auto none = lease(*b.q);
            REQUIRE(none);
            CHECK_FALSE(none->leased);
            REQUIRE(none->next_due);  // the follower is due, yet not leasable
            auto done = finish(*b.q, store::lease_of(*first->leased), {.state = store::job_state::succeeded});
            REQUIRE(done);
            CHECK(*done);
            auto third = lease(*b.q);
            REQUIRE(third);
            REQUIRE(third->leased);
            CHECK(third->leased->id > first->leased->id);
            CHECK(third->leased->file_key == "file:a");
        });
    }

    TEST_CASE("an expired lease is released, its worker's late transition changes nothing, the next attempt runs") {
        on_both([](backend& b) {
            REQUIRE(insert(*b.q, on_file("1", "file:a")));
            auto stale = lease(*b.q, -1000);  // expired at once
            REQUIRE(stale);
            REQUIRE(stale->leased);
            auto released = release_expired(*b.q);
            REQUIRE(released);
            CHECK(*released == 1);
            CHECK(b.scalar("SELECT count(*) FROM jobs WHERE state = 'retrying'") == 1);
            auto fresh = lease(*b.q);
            REQUIRE(fresh);
            REQUIRE(fresh->leased);
            CHECK(fresh->leased->attempts == 2);
            auto late = finish(*b.q, store::lease_of(*stale->leased), {.state = store::job_state::dead, .reason = "late"});
            REQUIRE(late);
            CHECK_FALSE(*late);
            auto step = run([&]() -> awaitable<store::result<bool>> {
                auto r = co_await b.q->start_step(store::lease_of(*stale->leased), 0, "late");
                co_return r;
            });
            REQUIRE(step);
            CHECK_FALSE(*step);
            store::job_end end{.state = store::job_state::retrying, .reason = "429", .run_at = 5};
            end.last_step = store::step_end{.idx = 0, .state = store::step_state::done, .result = "moved"};
            auto retried = finish(*b.q, store::lease_of(*fresh->leased), end);
            REQUIRE(retried);
            CHECK(*retried);
            CHECK(b.scalar("SELECT count(*) FROM jobs WHERE state = 'retrying' AND run_at = 5 AND last_error = '429'") == 1);
            CHECK(b.scalar("SELECT count(*) FROM job_steps WHERE state = 'done' AND result = 'moved'") == 1);
        });
    }

    TEST_CASE("a wrong transition is invalid, and purge drops finished jobs and the bodies of their events") {
        on_both([](backend& b) {
            REQUIRE(insert(*b.q, on_file("1", "file:a")));
            REQUIRE(insert(*b.q, on_file("2", "file:b")));
            auto l = lease(*b.q);
            REQUIRE(l);
            REQUIRE(l->leased);
            auto wrong = finish(*b.q, store::lease_of(*l->leased), {.state = store::job_state::queued});
            REQUIRE_FALSE(wrong);
            CHECK(wrong.error().code == errc::invalid);
            REQUIRE(finish(*b.q, store::lease_of(*l->leased), {.state = store::job_state::succeeded}));
            auto purged = run([&]() -> awaitable<store::result<store::purge_counts>> {
                std::vector<store::job_state> states{store::job_state::succeeded};
                auto r = co_await b.q->purge(states, spacehook::clock::now_ms() + 1000, 0);
                co_return r;
            });
            REQUIRE(purged);
            CHECK(purged->jobs == 1);
            CHECK(purged->events == 1);
            CHECK(purged->forgotten == 0);
            CHECK(b.scalar("SELECT count(*) FROM jobs") == 1);
            CHECK(b.scalar("SELECT count(*) FROM events") == 2);
            auto g = b.q->read_gauges();
            REQUIRE(g);
            CHECK(g->jobs_by_state.at(store::job_state::queued) == 1);
            CHECK(g->jobs_by_state.at(store::job_state::succeeded) == 0);
            CHECK(g->next_due_ms == 1000);
        });
    }
}

TEST_SUITE("store queue on PostgreSQL, several instances") {
    TEST_CASE("two instances drain one queue: every job leased once, one job per file at a time, oldest first") {
        test::scratch_database db;
        auto a = store::open_pg_queue({.url = db.url, .pool = 2});
        auto b = store::open_pg_queue({.url = db.url, .pool = 2});
        constexpr int files = 12, per_file = 10;
        std::vector<store::delivery> ds;
        for (int i = 0; i < files * per_file; ++i) ds.push_back(on_file(std::to_string(i), fmt::format("file:{}", i % files)));
        REQUIRE(run([&]() -> awaitable<store::result<std::vector<store::insert_result>>> {
            auto r = co_await a->insert_deliveries(std::move(ds));
            co_return r;
        }));

        std::mutex m;
        std::set<std::string> running_files;
        std::map<std::string, std::vector<std::int64_t>> order;  // file -> job ids in lease order
        std::vector<std::string> violations;
        // Four workers per instance, each on an io_context of its own thread.
        auto worker = [&](store::queue& q) -> awaitable<void> {
            auto ex = co_await boost::asio::this_coro::executor;
            boost::asio::steady_timer pause(ex);
            for (int idle = 0; idle < 20;) {
                store::queue::step_names names = [](const store::job&) { return std::vector<std::string>{}; };
                auto l = co_await q.lease_next(60'000, std::move(names));
                if (!l || !l->leased) {
                    ++idle;
                    pause.expires_after(20ms);
                    co_await pause.async_wait(tuple_awaitable);
                    continue;
                }
                idle = 0;
                const auto file = *l->leased->file_key;
                {
                    std::lock_guard lock(m);
                    if (!running_files.insert(file).second) violations.push_back(file + " ran twice at once");
                    order[file].push_back(l->leased->id);
                }
                pause.expires_after(2ms);
                co_await pause.async_wait(tuple_awaitable);
                {
                    std::lock_guard lock(m);
                    running_files.erase(file);
                }
                auto ok = co_await q.finish_job(store::lease_of(*l->leased), {.state = store::job_state::succeeded});
                if (!ok || !*ok) {
                    std::lock_guard lock(m);
                    violations.push_back(fmt::format("job {} lost its lease", l->leased->id));
                }
            }
        };
        std::vector<std::thread> threads;
        for (auto* q : {a.get(), b.get()})
            for (int i = 0; i < 4; ++i)
                threads.emplace_back([&, q] {
                    boost::asio::io_context ctx;
                    boost::asio::co_spawn(ctx, worker(*q), boost::asio::detached);
                    ctx.run();
                });
        for (auto& t : threads) t.join();
        CHECK(violations.empty());
        for (const auto& v : violations) MESSAGE(v);
        CHECK(pg_scalar(db.url, "SELECT count(*) FROM jobs WHERE state = 'succeeded' AND attempts = 1") == files * per_file);
        for (const auto& [file, ids] : order) {
            CAPTURE(file);
            CHECK(ids.size() == per_file);
            CHECK(std::is_sorted(ids.begin(), ids.end()));
        }
    }

    TEST_CASE("instances take turns at periodic work: one claim per period, taken over once the period passed") {
        test::scratch_database db;
        auto a = store::open_pg_queue({.url = db.url, .pool = 1});
        auto b = store::open_pg_queue({.url = db.url, .pool = 1});
        auto claim = [](store::queue& q, std::int64_t period) {
            return run([&]() -> awaitable<store::result<bool>> {
                const std::string name = "backfill_turn";
                auto r = co_await q.claim_turn(name, period);
                co_return r;
            });
        };
        auto first = claim(*a, 60'000);
        REQUIRE(first);
        CHECK(*first);
        auto second = claim(*b, 60'000);  // within a's period
        REQUIRE(second);
        CHECK_FALSE(*second);
        auto again = claim(*a, 60'000);  // a's own claim counts too
        REQUIRE(again);
        CHECK_FALSE(*again);
        auto later = claim(*b, 0);  // as if the period had passed (a died mid-turn): b takes it
        REQUIRE(later);
        CHECK(*later);
        auto sqlite = sqlite_backend();
        auto always = claim(*sqlite.q, 60'000);
        REQUIRE(always);
        CHECK(*always);
        auto still = claim(*sqlite.q, 60'000);
        REQUIRE(still);
        CHECK(*still);
    }

    TEST_CASE("an insert on one instance wakes the other through LISTEN/NOTIFY") {
        test::scratch_database db;
        std::mutex m;
        std::condition_variable cv;
        int wakes = 0;
        auto listening = store::open_pg_queue({.url = db.url, .on_jobs = [&] {
                                                   std::lock_guard lock(m);
                                                   ++wakes;
                                                   cv.notify_all();
                                               }});
        {
            std::unique_lock lock(m);  // the first call comes once it listens (anything before is found then)
            REQUIRE(cv.wait_for(lock, 10s, [&] { return wakes >= 1; }));
        }
        auto other = store::open_pg_queue({.url = db.url});
        auto no_jobs = test::stored_delivery("1");  // no job: no notification
        REQUIRE(insert(*other, std::move(no_jobs)));
        REQUIRE(insert(*other, on_file("2", "file:a")));
        std::unique_lock lock(m);
        CHECK(cv.wait_for(lock, 10s, [&] { return wakes >= 2; }));
        lock.unlock();
        std::this_thread::sleep_for(300ms);  // a third wake would show within a poll turn (200 ms)
        lock.lock();
        CHECK(wakes == 2);
    }

    TEST_CASE("a killed session is replaced before the next call begins: the call succeeds on a new session") {
        test::scratch_database db;
        auto q = store::open_pg_queue({.url = db.url, .pool = 1});
        REQUIRE(insert(*q, on_file("1", "file:a")));
        REQUIRE(q->read_gauges());
        pg::connection admin(db.url);
        auto sessions = [&] {
            return admin.exec("SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity WHERE "
                              "datname = current_database() AND application_name = 'spacehook' AND pid <> pg_backend_pid()")
                .opt_text(0, 0)
                .value_or("");
        };
        const auto before = sessions();
        admin.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                   "AND application_name = 'spacehook' AND pid <> pg_backend_pid()");
        REQUIRE(test::poll_until([&] { return sessions().empty(); }));
        auto again = insert(*q, on_file("2", "file:a"));
        REQUIRE(again);
        CHECK(again->outcome == store::insert_outcome::accepted);
        auto g = q->read_gauges();  // its own session was killed too
        REQUIRE(g);
        CHECK(g->jobs_by_state.at(store::job_state::queued) == 2);
        const auto after = sessions();
        CHECK_FALSE(after.empty());
        CHECK(after != before);
    }

    TEST_CASE("a read-only server (a failover) fails writes as unavailable, and the next call connects again") {
        test::scratch_database db;
        auto q = store::open_pg_queue({.url = db.url, .pool = 1});
        pg::connection admin(db.url);
        // New sessions are read-only, as on a standby; the queue's session is replaced by one.
        admin.exec("ALTER DATABASE " + db.name + " SET default_transaction_read_only = on");
        admin.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                   "AND application_name = 'spacehook' AND pid <> pg_backend_pid()");
        auto first = insert(*q, on_file("1", "file:a"));  // the dead session (reconnected for the next call)
        REQUIRE_FALSE(first);
        auto read_only = insert(*q, on_file("1", "file:a"));
        REQUIRE_FALSE(read_only);
        CHECK(read_only.error().code == errc::unavailable);
        CHECK(read_only.error().message.find("read-only") != std::string::npos);
        // The failover completes: new sessions can write. The queue's read-only session must not be kept.
        admin.exec("ALTER DATABASE " + db.name + " RESET default_transaction_read_only");
        auto written = insert(*q, on_file("1", "file:a"));
        REQUIRE(written);
        CHECK(written->outcome == store::insert_outcome::accepted);
    }

    TEST_CASE("jobs of one file take their ids in commit order: a second insert waits for the first's commit") {
        test::scratch_database db;
        auto q = store::open_pg_queue({.url = db.url, .pool = 1});
        REQUIRE(insert(*q, on_file("0", "file:other")));  // the queue is connected and migrated
        pg::connection holder(db.url);
        holder.exec("BEGIN");
        holder.exec("SELECT pg_advisory_xact_lock(hashtextextended('file:a', 7310593858020254574))");  // as an insert does
        boost::asio::io_context ctx;
        auto waiting = boost::asio::co_spawn(
            ctx,
            [&]() -> awaitable<store::result<store::insert_result>> {
                auto d = on_file("1", "file:a");
                auto r = co_await q->insert_delivery(std::move(d));
                co_return r;
            },
            boost::asio::use_future);
        ctx.run_for(300ms);
        CHECK(waiting.wait_for(0s) != std::future_status::ready);
        CHECK(pg_scalar(db.url, "SELECT count(*) FROM jobs WHERE file_key = 'file:a'") == 0);
        holder.exec("COMMIT");
        ctx.run();
        auto r = waiting.get();
        REQUIRE(r);
        CHECK(r->jobs_created == 1);
    }

    TEST_CASE("while the server is down calls answer unavailable, and work goes on once it is back") {
        // A cluster of this test's own: stopping the shared one would fail the other test cases.
        test::temp_dir dir;
        const std::string script = std::string(SPACEHOOK_SOURCE_DIR) + "/scripts/pg-test-cluster.sh";
        const auto state = dir.file("cluster");
        auto sh = [&](const std::string& cmd) { return std::system(fmt::format("bash {} {} {} >/dev/null", script, cmd, state).c_str()); };
        REQUIRE(sh("start") == 0);
        struct stop_at_end {
            std::function<void()> fn;
            ~stop_at_end() { fn(); }
        } cleanup{[&] { sh("stop"); }};
        std::string url;
        std::getline(std::ifstream(state + "/url"), url);
        auto q = store::open_pg_queue({.url = url, .pool = 1, .connect_timeout_s = 2});
        REQUIRE(insert(*q, on_file("1", "file:a")));
        REQUIRE(sh("pause") == 0);
        auto down = insert(*q, on_file("2", "file:a"));
        REQUIRE_FALSE(down);
        CHECK(down.error().code == errc::unavailable);
        CHECK(down.error().message.find("spacehook@") == std::string::npos);
        REQUIRE(sh("resume") == 0);
        auto back = insert(*q, on_file("2", "file:a"));
        REQUIRE(back);
        CHECK(back->outcome == store::insert_outcome::accepted);
        CHECK(pg_scalar(url, "SELECT count(*) FROM jobs") == 2);
    }
}
