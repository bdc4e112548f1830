#include "spacehook/store/pg_queue.hpp"

#include "await_task.hpp"
#include "pg_store.hpp"
#include "take_batch.hpp"
#include "spacehook/core/clock.hpp"
#include "spacehook/core/log.hpp"
#include "spacehook/core/thread_name.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/system_executor.hpp>

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace spacehook::store {
namespace {
namespace asio = boost::asio;

// Advisory lock keys of the periodic work (one instance at a time; any fixed values, the same in every instance).
constexpr std::int64_t lock_release_expired = 7310593858020254572;
constexpr std::int64_t lock_purge = 7310593858020254573;

failure pg_failure_of(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const pg::error& x) {
        return {x.code(), x.what()};
    } catch (...) {
        return failure_of(std::current_exception());
    }
}

// Runs tasks on `pool` connections, each a thread of its own with group commit: the tasks waiting when a
// thread's last transaction ended run in its next one, each inside a SAVEPOINT, and complete after COMMIT.
class runner {
public:
    using task_fn = std::function<void(pg::connection&)>;

    runner(const pg_queue_options& o) : options_(o) {
        // The first connection applies the migrations (once across instances starting together).
        std::vector<pg::connection> conns;
        conns.emplace_back(o.url, o.connect_timeout_s);
        for (const auto& name : pg::migrate(conns.front())) log::info("store.migrated", {{"migration", name}});
        for (int i = 1; i < std::max(1, o.pool); ++i) conns.emplace_back(o.url, o.connect_timeout_s);
        for (auto& c : conns)
            threads_.emplace_back([this, c = std::move(c)]() mutable {
                name_this_thread("sh-postgresql");
                loop(c);
            });
    }
    ~runner() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        for (auto& t : threads_) t.join();
    }
    runner(const runner&) = delete;
    runner& operator=(const runner&) = delete;

    // As writer::async_run: `handler` (void(std::exception_ptr)) completes on its executor after COMMIT.
    template <class Handler>
    void submit(task_fn fn, Handler handler, durability d) {
        auto ex = asio::prefer(asio::get_associated_executor(handler, asio::system_executor()),
                               asio::execution::outstanding_work.tracked);
        std::unique_lock lock(mutex_);
        if (stopping_) {
            lock.unlock();
            auto err = std::make_exception_ptr(pg::error(errc::unavailable, "", "the PostgreSQL queue is stopped"));
            asio::post(ex, [h = std::move(handler), err]() mutable { std::move(h)(err); });
            return;
        }
        queue_.push_back(task{std::move(fn), {std::move(handler)}, asio::any_io_executor(std::move(ex)), d, nullptr});
        lock.unlock();
        wake_.notify_one();
    }

private:
    struct task {
        task_fn fn;
        asio::any_completion_handler<void(std::exception_ptr)> handler;
        asio::any_io_executor executor;
        durability kind = durability::synced;
        std::exception_ptr error;
    };

    void loop(pg::connection& c) {
        std::vector<task> batch;
        bool must_reset = false;
        for (;;) {
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
                if (queue_.empty()) return;  // stopping and drained
                detail::take_batch(queue_, batch, options_.max_batch);
            }
            run_batch(c, must_reset, batch);
            for (auto& t : batch) {
                auto ex = t.executor;
                asio::post(ex, [h = std::move(t.handler), e = t.error]() mutable { std::move(h)(e); });
            }
            batch.clear();
        }
    }

    // All tasks in one transaction, without a savepoint each (SAVEPOINT and RELEASE would be two more round trips
    // per task). When a task fails the transaction is lost, so then every task runs again, each in a transaction
    // of its own: the failing one fails alone. Tasks only touch the database and their own answer, so running
    // one again after a rollback is harmless.
    //
    // The connection is made again before the batch when it broke, or when the last batch failed as
    // unavailable with the connection still up (a server that turned read-only in a failover: a new connection
    // may reach the new primary).
    void run_batch(pg::connection& c, bool& must_reset, std::vector<task>& batch) {
        try {
            if (must_reset || !c.healthy()) {
                must_reset = false;
                c.reset();  // throws unavailable while the server cannot be reached
                log::info("store.reconnected", {});
            }
            try {
                const bool sync = std::any_of(batch.begin(), batch.end(), [](const task& t) { return t.kind == durability::synced; });
                std::optional<pg::transaction> tx;
                begin(c, tx, sync);
                for (auto& t : batch) t.fn(c);
                tx->commit();
                return;
            } catch (const std::exception&) {
                if (batch.size() == 1 || !c.healthy()) throw;  // alone already, or the connection broke
            }
            for (auto& t : batch) {
                try {
                    pg::transaction tx(c, t.kind == durability::synced ? read_committed : read_committed_lazy);
                    t.fn(c);
                    tx.commit();
                } catch (const std::exception&) {
                    if (!c.healthy()) throw;
                    t.error = std::current_exception();
                }
            }
        } catch (const std::exception& e) {
            auto err = std::current_exception();
            if (const auto* pe = dynamic_cast<const pg::error*>(&e); pe && pe->code() == errc::unavailable) must_reset = true;
            log::error("store.batch_failed", {{"error", e.what()}, {"tasks", batch.size()}});
            for (auto& t : batch) t.error = err;
        }
    }

    // BEGIN; a connection that still looked up but turns out broken (the server restarted since the last batch)
    // is made again once, before any task ran.
    static void begin(pg::connection& c, std::optional<pg::transaction>& tx, bool sync) {
        const auto sql = sync ? read_committed : read_committed_lazy;
        try {
            tx.emplace(c, sql);
        } catch (const pg::error&) {
            if (c.healthy()) throw;
            c.reset();
            log::info("store.reconnected", {});
            tx.emplace(c, sql);
        }
    }

    // Every batch: READ COMMITTED, and planned without bitmap scans. Every statement of the queue is an index lookup
    // or an index walk, and a bitmap scan over jobs_due's queued jobs followed by a sort is what the planner picks
    // for the lease when its statistics are missing or old (a fresh table, a backlog that grew since the last
    // ANALYZE): O(queued) per lease instead of O(log n) (migrations/postgresql/0001_init.sql). SET LOCAL, in the
    // same round trip as BEGIN: it holds for the transaction only, so it needs no session state and works
    // through a transaction-pooling proxy.
    static constexpr std::string_view read_committed =
        "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL enable_bitmapscan = off";
    // A batch of lazy tasks only (store::durability): COMMIT returns before the server flushed the WAL. The server
    // flushes it within three wal_writer_delay (600 ms by default); a server crash before that loses the last such
    // commits, never an earlier one without a later one, and the next synced commit's flush covers them all.
    static constexpr std::string_view read_committed_lazy =
        "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL enable_bitmapscan = off; SET LOCAL synchronous_commit = off";

    pg_queue_options options_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<task> queue_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

// LISTENs on a connection of its own and calls on_jobs() for each wake-up; reconnects after a failure. Polls its
// socket with a timeout so that stop() is seen within 200 ms.
class listener {
public:
    listener(std::string url, int connect_timeout_s, std::function<void()> on_jobs)
        : url_(std::move(url)), timeout_(connect_timeout_s), on_jobs_(std::move(on_jobs)) {
        thread_ = std::thread([this] {
            name_this_thread("sh-listen");
            loop();
        });
    }
    ~listener() {
        stopping_ = true;
        thread_.join();
    }
    listener(const listener&) = delete;
    listener& operator=(const listener&) = delete;

private:
    void loop() {
        std::optional<pg::connection> c;
        while (!stopping_) {
            try {
                if (!c || !c->healthy()) {
                    c.reset();
                    c.emplace(url_, timeout_);
                    c->exec(fmt::format("LISTEN {}", pgstore::jobs_channel));
                    on_jobs_();  // anything inserted while not listening is found now
                }
                pollfd p{c->socket(), POLLIN, 0};
                if (::poll(&p, 1, 200) > 0 && !c->notifications().empty()) on_jobs_();
            } catch (const std::exception& e) {
                log::warn("store.listen_failed", {{"error", e.what()}});
                c.reset();
                for (int i = 0; i < 10 && !stopping_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
        }
    }

    std::string url_;
    int timeout_;
    std::function<void()> on_jobs_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

class pg_queue final : public queue {
public:
    pg_queue(pg_queue_options o, queue_options q)
        : options_(q), url_(o.url), timeout_(o.connect_timeout_s), runner_(std::make_unique<runner>(o)) {
        if (o.on_jobs) listener_ = std::make_unique<listener>(o.url, o.connect_timeout_s, std::move(o.on_jobs));
    }

    awaitable<result<insert_result>> insert_delivery(delivery&& d) override {
        auto task = [d = std::move(d)](pg::connection& c) { return pgstore::insert_delivery(c, d); };
        auto r = co_await run<insert_result>(std::move(task), options_.deadline);
        co_return r;
    }

    awaitable<result<std::vector<insert_result>>> insert_deliveries(std::vector<delivery>&& ds) override {
        auto task = [ds = std::move(ds)](pg::connection& c) {
            std::vector<insert_result> out;
            out.reserve(ds.size());
            for (const auto& d : ds) out.push_back(pgstore::insert_delivery(c, d));
            return out;
        };
        auto r = co_await run<std::vector<insert_result>>(std::move(task), options_.deadline);
        co_return r;
    }

    awaitable<result<bool>> probe_write(std::chrono::milliseconds deadline) override {
        auto task = [](pg::connection& c) {
            pgstore::probe_write(c, clock::now_ms());
            return true;
        };
        auto r = co_await run<bool>(std::move(task), deadline);
        co_return r;
    }

    awaitable<result<std::optional<event_record>>> get_event(std::int64_t row) override {
        auto task = [row](pg::connection& c) { return pgstore::get_event(c, row); };
        auto r = co_await run<std::optional<event_record>>(std::move(task), options_.deadline, durability::lazy);
        co_return r;
    }

    awaitable<result<webhook_paths>> webhooks_seen(std::int64_t since_ms) override {
        auto task = [since_ms](pg::connection& c) { return pgstore::webhooks_seen(c, since_ms); };
        auto r = co_await run<webhook_paths>(std::move(task), options_.deadline, durability::lazy);
        co_return r;
    }

    awaitable<result<bool>> event_known(const std::string& webhook_id, const std::string& event_id) override {
        auto task = [webhook_id, event_id](pg::connection& c) { return pgstore::event_known(c, webhook_id, event_id); };
        auto r = co_await run<bool>(std::move(task), options_.deadline, durability::lazy);
        co_return r;
    }

    awaitable<result<lease_found>> lease_next(std::int64_t lease_ms, step_names names) override {
        // One transaction leases the job and creates its step rows.
        auto task = [lease_ms, names = std::move(names)](pg::connection& c) {
            lease_found f;
            f.at = clock::now_ms();
            f.leased = pgstore::lease_next(c, f.at, lease_ms);
            if (!f.leased) {
                f.next_due = pgstore::next_due(c);
                return f;
            }
            if (auto n = names(*f.leased); !n.empty()) f.steps = pgstore::ensure_steps(c, f.leased->id, n, f.at);
            return f;
        };
        auto r = co_await run<lease_found>(std::move(task), options_.deadline);
        co_return r;
    }

    awaitable<result<std::vector<step>>> ensure_steps(std::int64_t job_id, const std::vector<std::string>& names) override {
        auto task = [job_id, names](pg::connection& c) { return pgstore::ensure_steps(c, job_id, names, clock::now_ms()); };
        auto r = co_await run<std::vector<step>>(std::move(task), options_.deadline, durability::lazy);
        co_return r;
    }

    awaitable<result<bool>> extend_lease(lease l, std::int64_t lease_until) override {
        auto task = [l, lease_until](pg::connection& c) { return pgstore::extend_lease(c, l, lease_until, clock::now_ms()); };
        auto r = co_await run<bool>(std::move(task), options_.deadline);
        co_return r;
    }

    awaitable<result<bool>> start_step(lease l, int idx, const std::string& note) override {
        auto task = [l, idx, note](pg::connection& c) { return pgstore::start_step(c, l, idx, note, clock::now_ms()); };
        auto r = co_await run<bool>(std::move(task), options_.deadline);
        co_return r;
    }

    awaitable<result<bool>> set_step_operation(lease l, int idx, const std::string& operation) override {
        auto task = [l, idx, operation](pg::connection& c) {
            return pgstore::set_step_operation(c, l, idx, operation, clock::now_ms());
        };
        auto r = co_await run<bool>(std::move(task), options_.deadline, durability::lazy);
        co_return r;
    }

    awaitable<result<bool>> finish_step(lease l, const step_end& end) override {
        auto task = [l, end](pg::connection& c) { return pgstore::finish_step(c, l, end, clock::now_ms()); };
        auto r = co_await run<bool>(std::move(task), options_.deadline);
        co_return r;
    }

    awaitable<result<bool>> finish_job(lease l, const job_end& end) override {
        auto task = [l, end](pg::connection& c) { return pgstore::finish_job(c, l, end, clock::now_ms()); };
        auto r = co_await run<bool>(std::move(task), options_.deadline);
        co_return r;
    }

    awaitable<result<bool>> release_job(lease l) override {
        auto task = [l](pg::connection& c) { return pgstore::release_job(c, l, clock::now_ms()); };
        auto r = co_await run<bool>(std::move(task), options_.deadline, durability::lazy);
        co_return r;
    }

    // One instance at a time: the others' turns find the lock taken and release nothing.
    awaitable<result<int>> release_expired() override {
        auto task = [](pg::connection& c) {
            if (!pgstore::try_xact_lock(c, lock_release_expired)) return 0;
            return pgstore::release_expired(c, clock::now_ms());
        };
        auto r = co_await run<int>(std::move(task), options_.deadline, durability::lazy);
        co_return r;
    }

    awaitable<result<purge_counts>> purge(const std::vector<job_state>& states, std::int64_t older_than,
                                         std::int64_t forget_before) override {
        auto task = [states, older_than, forget_before](pg::connection& c) {
            if (!pgstore::try_xact_lock(c, lock_purge)) return purge_counts{};
            return pgstore::purge(c, states, older_than, forget_before);
        };
        auto r = co_await run<purge_counts>(std::move(task), options_.deadline, durability::lazy);
        co_return r;
    }

    awaitable<result<bool>> claim_turn(const std::string& name, std::int64_t period_ms) override {
        auto task = [name, period_ms](pg::connection& c) { return pgstore::claim_turn(c, name, clock::now_ms(), period_ms); };
        auto r = co_await run<bool>(std::move(task), options_.deadline, durability::lazy);
        co_return r;
    }

    // Other instances may be running jobs right now: only leases that expired are released (a job of this
    // instance's previous run waits for its lease to expire, lease_ms at most).
    awaitable<result<int>> release_abandoned() override {
        auto task = [](pg::connection& c) { return pgstore::release_expired(c, clock::now_ms()); };
        auto r = co_await run<int>(std::move(task), std::chrono::hours(24));
        co_return r;
    }

    // On a connection of its own, connected again after a failure; a read, so tried once more when the connection
    // turns out to have broken since the last call.
    result<queue_gauges> read_gauges() override {
        std::lock_guard lock(gauges_mutex_);
        for (int attempt = 0;; ++attempt) {
            try {
                if (!gauges_conn_ || !gauges_conn_->healthy()) {
                    gauges_conn_.reset();
                    gauges_conn_.emplace(url_, timeout_);
                }
                return queue_gauges{.jobs_by_state = pgstore::count_by_state(*gauges_conn_),
                                    .next_due_ms = pgstore::next_due(*gauges_conn_)};
            } catch (...) {
                if (attempt == 0 && gauges_conn_ && !gauges_conn_->healthy()) continue;
                return pg_failure_of(std::current_exception());
            }
        }
    }

private:
    template <class T, class Fn>
    awaitable<result<T>> run(Fn fn, std::chrono::milliseconds deadline, durability d = durability::synced) {
        auto submit = [this, d](runner::task_fn task, auto on_commit) { runner_->submit(std::move(task), std::move(on_commit), d); };
        auto r = co_await detail::await_task<T, pg::connection>(submit, std::move(fn), deadline, pg_failure_of);
        co_return r;
    }

    queue_options options_;
    std::string url_;
    int timeout_;
    std::unique_ptr<runner> runner_;
    std::unique_ptr<listener> listener_;
    std::mutex gauges_mutex_;
    std::optional<pg::connection> gauges_conn_;
};

}  // namespace

std::unique_ptr<queue> open_pg_queue(pg_queue_options pg, queue_options options) {
    return std::make_unique<pg_queue>(std::move(pg), options);
}

}  // namespace spacehook::store
