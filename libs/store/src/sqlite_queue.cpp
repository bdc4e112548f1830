#include "await_task.hpp"
#include "spacehook/core/clock.hpp"
#include "spacehook/store/queue.hpp"
#include "spacehook/store/writer.hpp"

#include <sqlite3.h>

#include <mutex>

#include <fmt/format.h>

namespace spacehook::store {

failure failure_of(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const error& x) {
        switch (x.code()) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
        case SQLITE_FULL:
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
        case SQLITE_READONLY:
        case SQLITE_PROTOCOL: return {errc::unavailable, x.what()};
        default: return {errc::invalid, x.what()};
        }
    } catch (const std::bad_alloc& x) {
        return {errc::unavailable, x.what()};
    } catch (const std::exception& x) {
        return {errc::invalid, x.what()};
    } catch (...) {
        return {errc::invalid, "unknown exception"};
    }
}

namespace {

class sqlite_queue final : public queue {
public:
    // The read connection is opened now: opening it at the first read would take descriptors at a moment no
    // one expects (after start-up's, which operators and hostile_test count).
    sqlite_queue(writer& w, queue_options o)
        : writer_(w),
          options_(o),
          reader_(std::make_unique<database>(w.path(), open_options{.read_only = true})),
          gauges_reader_(std::make_unique<database>(w.path(), open_options{.read_only = true})) {}
    // Owning its writer: declared first, it is destroyed last, after the read connection.
    sqlite_queue(std::unique_ptr<writer> own, queue_options o) : sqlite_queue(*own, o) { own_ = std::move(own); }

    awaitable<result<std::optional<event_record>>> get_event(std::int64_t row) override {
        co_return read<std::optional<event_record>>([row](database& db) { return store::get_event(db, row); });
    }

    awaitable<result<webhook_paths>> webhooks_seen(std::int64_t since_ms) override {
        co_return read<webhook_paths>([since_ms](database& db) { return store::webhooks_seen(db, since_ms); });
    }

    awaitable<result<bool>> event_known(const std::string& webhook_id, const std::string& event_id) override {
        co_return read<bool>([&](database& db) { return store::event_known(db, webhook_id, event_id); });
    }

    awaitable<result<insert_result>> insert_delivery(delivery&& d) override {
        auto task = [d = std::move(d)](database& db) { return store::insert_delivery(db, d); };
        auto r = co_await run<insert_result>(std::move(task), options_.deadline);
        co_return r;
    }

    awaitable<result<std::vector<insert_result>>> insert_deliveries(std::vector<delivery>&& ds) override {
        auto task = [ds = std::move(ds)](database& db) {
            std::vector<insert_result> out;
            out.reserve(ds.size());
            for (const auto& d : ds) out.push_back(store::insert_delivery(db, d));
            return out;
        };
        auto r = co_await run<std::vector<insert_result>>(std::move(task), options_.deadline);
        co_return r;
    }

    awaitable<result<bool>> probe_write(std::chrono::milliseconds deadline) override {
        auto task = [](database& db) {
            store::probe_write(db, clock::now_ms());
            return true;
        };
        auto r = co_await run<bool>(std::move(task), deadline);
        co_return r;
    }

    awaitable<result<lease_found>> lease_next(std::int64_t lease_ms, step_names names) override {
        // One transaction leases the job and creates its step rows.
        auto task = [lease_ms, names = std::move(names)](database& db) {
            lease_found f;
            f.at = clock::now_ms();
            f.leased = store::lease_next(db, f.at, lease_ms);
            if (!f.leased) {
                f.next_due = store::next_due(db);
                return f;
            }
            if (auto n = names(*f.leased); !n.empty()) f.steps = store::ensure_steps(db, f.leased->id, n, f.at);
            return f;
        };
        auto r = co_await run<lease_found>(std::move(task), options_.deadline, durability::lazy);
        co_return r;
    }

    awaitable<result<std::vector<step>>> ensure_steps(std::int64_t job_id, const std::vector<std::string>& names) override {
        auto task = [job_id, names](database& db) { return store::ensure_steps(db, job_id, names, clock::now_ms()); };
        auto r = co_await run<std::vector<step>>(std::move(task), options_.deadline, durability::lazy);
        co_return r;
    }

    awaitable<result<bool>> extend_lease(lease l, std::int64_t lease_until) override {
        auto task = [l, lease_until](database& db) { return store::extend_lease(db, l, lease_until, clock::now_ms()); };
        auto r = co_await run<bool>(std::move(task), options_.deadline, durability::lazy);
        co_return r;
    }

    awaitable<result<bool>> start_step(lease l, int idx, const std::string& note) override {
        auto task = [l, idx, note](database& db) { return store::start_step(db, l, idx, note, clock::now_ms()); };
        auto r = co_await run<bool>(std::move(task), options_.deadline);
        co_return r;
    }

    awaitable<result<bool>> set_step_operation(lease l, int idx, const std::string& operation) override {
        auto task = [l, idx, operation](database& db) {
            return store::set_step_operation(db, l, idx, operation, clock::now_ms());
        };
        auto r = co_await run<bool>(std::move(task), options_.deadline, durability::lazy);
        co_return r;
    }

    awaitable<result<bool>> finish_step(lease l, const step_end& end) override {
        auto task = [l, end](database& db) { return store::finish_step(db, l, end, clock::now_ms()); };
        auto r = co_await run<bool>(std::move(task), options_.deadline, end.durable ? durability::synced : durability::lazy);
        co_return r;
    }

    awaitable<result<bool>> finish_job(lease l, const job_end& end) override {
        auto task = [l, end](database& db) { return store::finish_job(db, l, end, clock::now_ms()); };
        auto r = co_await run<bool>(std::move(task), options_.deadline);
        co_return r;
    }

    awaitable<result<bool>> release_job(lease l) override {
        auto task = [l](database& db) { return store::release_job(db, l, clock::now_ms()); };
        auto r = co_await run<bool>(std::move(task), options_.deadline, durability::lazy);
        co_return r;
    }

    awaitable<result<int>> release_expired() override {
        auto task = [](database& db) { return store::release_expired(db, clock::now_ms()); };
        auto r = co_await run<int>(std::move(task), options_.deadline, durability::lazy);
        co_return r;
    }

    awaitable<result<purge_counts>> purge(const std::vector<job_state>& states, std::int64_t older_than,
                                         std::int64_t forget_before) override {
        auto task = [states, older_than, forget_before](database& db) {
            return store::purge(db, states, older_than, forget_before);
        };
        auto r = co_await run<purge_counts>(std::move(task), options_.deadline, durability::lazy);
        co_return r;
    }

    awaitable<result<bool>> claim_turn(const std::string&, std::int64_t) override { co_return true; }

    awaitable<result<int>> release_abandoned() override {
        // No deadline of the queue's: start-up has nothing better to do than wait for it.
        auto task = [](database& db) { return store::release_expired(db, clock::now_ms(), true); };
        auto r = co_await run<int>(std::move(task), std::chrono::hours(24));
        co_return r;
    }

    // On a connection of its own: a count over a long queue must not hold up the worker's reads.
    result<queue_gauges> read_gauges() override {
        std::lock_guard lock(gauges_mutex_);
        try {
            queue_gauges g{.jobs_by_state = store::count_by_state(*gauges_reader_),
                           .next_due_ms = store::next_due(*gauges_reader_)};
            if (writer_.options().checkpoint_pages > 0) {  // else SQLite checkpoints, and the writer sees nothing
                const auto& w = writer_.stats();
                g.wal = wal_gauges{.pages = w.wal_pages.load(),
                                   .background_checkpoints = w.background_checkpoints.load(),
                                   .writer_checkpoints = w.writer_checkpoints.load()};
            }
            return g;
        } catch (...) {
            return failure_of(std::current_exception());
        }
    }

private:
    // A read on the queue's read-only connection.
    template <class T, class Fn>
    result<T> read(Fn fn) {
        std::lock_guard lock(read_mutex_);
        try {
            return fn(*reader_);
        } catch (...) {
            return failure_of(std::current_exception());
        }
    }

    // Runs `fn` (T(database&)) in the writer's next group commit and waits for its COMMIT, or for `deadline`.
    // `d`: whether that commit must be fsynced (writer.hpp).
    template <class T, class Fn>
    awaitable<result<T>> run(Fn fn, std::chrono::milliseconds deadline, durability d = durability::synced) {
        auto submit = [this, d](writer::task_fn task, auto on_commit) { writer_.async_run(std::move(task), std::move(on_commit), d); };
        auto r = co_await detail::await_task<T, database>(submit, std::move(fn), deadline, failure_of);
        co_return r;
    }

    std::unique_ptr<writer> own_;  // when the queue owns its writer (open_sqlite_queue)
    writer& writer_;
    queue_options options_;
    std::mutex read_mutex_;
    std::unique_ptr<database> reader_;
    std::mutex gauges_mutex_;
    std::unique_ptr<database> gauges_reader_;
};

}  // namespace

std::unique_ptr<queue> make_sqlite_queue(writer& w, queue_options options) {
    return std::make_unique<sqlite_queue>(w, options);
}

std::unique_ptr<queue> open_sqlite_queue(writer_options w, queue_options options) {
    return std::make_unique<sqlite_queue>(std::make_unique<writer>(std::move(w)), options);
}

}  // namespace spacehook::store
