#include "spacehook/store/writer.hpp"

#include "spacehook/core/log.hpp"
#include "spacehook/core/thread_name.hpp"
#include "spacehook/store/migrate.hpp"
#include "take_batch.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/system_executor.hpp>

#include <algorithm>
#include <chrono>
#include <future>

#include <sqlite3.h>

namespace spacehook::store {
namespace asio = boost::asio;

namespace {
constexpr std::string_view sql_savepoint = "SAVEPOINT task";
constexpr std::string_view sql_release = "RELEASE task";
constexpr std::string_view sql_rollback_to = "ROLLBACK TO task";
constexpr std::string_view sql_begin = "BEGIN IMMEDIATE";
constexpr std::string_view sql_commit = "COMMIT";
constexpr std::string_view sql_synchronous_full = "PRAGMA synchronous=FULL";
constexpr std::string_view sql_synchronous_normal = "PRAGMA synchronous=NORMAL";
}  // namespace

writer::writer(writer_options options) : options_(std::move(options)) {
    db_ = std::make_unique<database>(options_.path, open_options{.busy_timeout_ms = options_.busy_timeout_ms});
    // 16 MiB of page cache (SQLite's default is 2 MiB): the pages every transition touches (the jobs indexes'
    // right edges, the tables' last pages) stay in memory instead of being read again with pread.
    db_->exec("PRAGMA cache_size=-16384");
    auto applied = migrate(*db_);  // with the CHECK constraints on
    for (const auto& name : applied) log::info("store.migrated", {{"migration", name}, {"database", options_.path}});
    // The schema's CHECK (state IN (...seven names...)) constraints cost a temporary b-tree per insert or state
    // change (SQLite 3.40 evaluates an IN list of three or more constants that way): a third of the writer's
    // instructions per job. The writer only writes the store's own constants (to_string of its enums), so it skips
    // them; every other connection (the CLI, an operator's sqlite3 shell) still has them checked.
    db_->exec("PRAGMA ignore_check_constraints=ON");
    if (options_.checkpoint_pages > 0) {
        checkpoint_db_ = std::make_unique<database>(options_.path, open_options{.busy_timeout_ms = options_.busy_timeout_ms});
        // Replaces SQLite's automatic checkpoint on this connection (sqlite3_wal_hook and wal_autocheckpoint
        // share one slot).
        sqlite3_wal_hook(db_->handle(), &writer::on_wal_commit, this);
        checkpoint_thread_ = std::thread([this] {
            name_this_thread("sh-checkpoint");
            checkpoint_loop();
        });
    }
    try {
        thread_ = std::thread([this] {
            name_this_thread("sh-writer");
            loop();
        });
    } catch (...) {
        stop_checkpointer();
        throw;
    }
}

void writer::stop_checkpointer() {
    {
        std::lock_guard lock(checkpoint_mutex_);
        checkpoint_stopping_ = true;
    }
    checkpoint_wake_.notify_all();
    if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
    checkpoint_db_.reset();
}

writer::~writer() {
    // The checkpointer's connection closes first, so that the writer's is the last one and the WAL goes with it.
    stop_checkpointer();
    stop();
    if (thread_.joinable()) thread_.join();
}

// Called by SQLite on the writer thread after each COMMIT, with the WAL's size in pages.
int writer::on_wal_commit(void* self, sqlite3*, const char*, int pages) {
    auto& w = *static_cast<writer*>(self);
    // Shorter than after the last commit: the WAL was rewound. (After a full checkpoint, checkpoint_here also
    // says so: the first commit of a new WAL may be longer than the old one was.)
    if (pages < w.wal_pages_) w.wal_pages_at_wake_ = 0;
    w.wal_pages_ = pages;
    w.stats_.wal_pages.store(pages, std::memory_order_relaxed);
    if (pages >= w.options_.checkpoint_limit_pages) {
        w.checkpoint_here();
    } else if (pages - w.wal_pages_at_wake_ >= w.options_.checkpoint_pages) {
        // Once per checkpoint_pages of new WAL, as SQLite would: each checkpoint that copies anything ends
        // with an fsync of the database file.
        w.wal_pages_at_wake_ = pages;
        {
            std::lock_guard lock(w.checkpoint_mutex_);
            w.checkpoint_due_ = true;
        }
        w.checkpoint_wake_.notify_one();
    }
    return SQLITE_OK;
}

// A passive checkpoint on the writer's connection, between two transactions: nothing is written meanwhile,
// so it copies the WAL to its end (unless a reader still needs old pages) and the next commit rewinds the WAL.
// SQLITE_BUSY: the checkpointer holds the checkpoint lock.
int writer::checkpoint_here() {
    int frames = 0, copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
    if (rc == SQLITE_OK) {
        stats_.writer_checkpoints.fetch_add(1, std::memory_order_relaxed);
        if (copied == frames) wal_pages_at_wake_ = 0;  // the next commit starts a new WAL
    }
    return rc;
}

void writer::checkpoint_loop() {
    for (;;) {
        {
            std::unique_lock lock(checkpoint_mutex_);
            checkpoint_wake_.wait(lock, [&] { return checkpoint_stopping_ || checkpoint_due_; });
            if (checkpoint_stopping_) return;
            checkpoint_due_ = false;
        }
        const int rc =
            sqlite3_wal_checkpoint_v2(checkpoint_db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        if (rc == SQLITE_OK) stats_.background_checkpoints.fetch_add(1, std::memory_order_relaxed);
        else if (rc != SQLITE_BUSY)
            log::warn("store.checkpoint_failed", {{"error", sqlite3_errstr(rc)}, {"database", options_.path}});
    }
}

asio::any_io_executor writer::fallback_executor() { return asio::system_executor(); }

void writer::enqueue(task_fn fn, completion c, durability d) {
    std::unique_lock lock(mutex_);
    if (stopping_) {
        lock.unlock();
        auto err = std::make_exception_ptr(error(21 /* SQLITE_MISUSE */, "database writer is stopped"));
        auto ex = c.executor;
        asio::post(ex, [h = std::move(c.handler), err]() mutable { std::move(h)(err); });
        return;
    }
    queue_.push_back(task{std::move(fn), std::move(c), d, nullptr});
    lock.unlock();
    wake_.notify_one();
}

void writer::run_sync(task_fn fn) {
    std::promise<void> done;
    auto fut = done.get_future();
    async_run(std::move(fn), [&done](std::exception_ptr e) {
        if (e) done.set_exception(e);
        else done.set_value();
    });
    fut.get();
}

void writer::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
}

void writer::loop() {
    std::vector<task> batch;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            if (queue_.empty() && !stopping_ && options_.checkpoint_pages > 0 && wal_pages_ >= options_.checkpoint_pages &&
                wal_pages_ != wal_pages_at_idle_checkpoint_) {
                // Nothing to commit and a WAL worth rewinding: finish the checkpoint here, before sleeping. Under
                // load the queue is empty for moments between batches, and what arrives meanwhile waits for the
                // rest of the copy and the fsync. Waiting for 100 ms of quiet first was measured worse (ingestion
                // p99 6.10 against 5.29 ms, three pairs; docs/benchmarks.md). Our reading, not measured: the WAL
                // then runs to the limit, where the writer's checkpoints have more left to copy.
                lock.unlock();
                // The checkpointer may be at it, having started before the last commit: wait for it (a few ms
                // at a time, while nothing arrives) and then copy what it left.
                while (checkpoint_here() == SQLITE_BUSY) {
                    lock.lock();
                    const bool woken = wake_.wait_for(lock, std::chrono::milliseconds(2),
                                                      [&] { return stopping_ || !queue_.empty(); });
                    lock.unlock();
                    if (woken) break;
                }
                wal_pages_at_idle_checkpoint_ = wal_pages_;  // once per idle spell, not again until a commit
                lock.lock();
            }
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) break;  // stopping and drained
            detail::take_batch(queue_, batch, options_.max_batch);
        }
        run_batch(batch);
        for (auto& t : batch) {
            auto ex = t.done.executor;
            asio::post(ex, [h = std::move(t.done.handler), e = t.error]() mutable { std::move(h)(e); });
        }
        batch.clear();
    }
    db_.reset();
}

void writer::run_batch(std::vector<task>& batch) {
    stats_.batches.fetch_add(1, std::memory_order_relaxed);
    stats_.tasks.fetch_add(batch.size(), std::memory_order_relaxed);
    if (batch.size() > stats_.max_batch.load(std::memory_order_relaxed))
        stats_.max_batch.store(batch.size(), std::memory_order_relaxed);
    auto& db = *db_;
    try {
        // synchronous applies at COMMIT and may only change outside a transaction.
        const bool sync = std::any_of(batch.begin(), batch.end(), [](const task& t) { return t.kind == durability::synced; });
        if (sync != synced_) {
            db.cached(sync ? sql_synchronous_full : sql_synchronous_normal).run();
            synced_ = sync;
        }
        if (sync) stats_.synced_commits.fetch_add(1, std::memory_order_relaxed);
        db.cached(sql_begin).run();
        for (auto& t : batch) {
            if (batch.size() == 1) {  // no savepoint needed: the task's failure is the batch's
                t.fn(db);
                continue;
            }
            db.cached(sql_savepoint).run();
            try {
                t.fn(db);
                db.cached(sql_release).run();
            } catch (...) {
                t.error = std::current_exception();
                db.cached(sql_rollback_to).run();
                db.cached(sql_release).run();
            }
        }
        db.cached(sql_commit).run();
    } catch (const std::exception& e) {
        stats_.failed_batches.fetch_add(1, std::memory_order_relaxed);
        auto err = std::current_exception();
        if (sqlite3_get_autocommit(db.handle()) == 0) {
            try {
                db.exec("ROLLBACK");
            } catch (...) {
            }
        }
        log::error("store.batch_failed", {{"error", e.what()}, {"tasks", batch.size()}});
        for (auto& t : batch) t.error = err;
    }
}

}  // namespace spacehook::store
