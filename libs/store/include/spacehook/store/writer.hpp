// The single writer: one thread owns the read-write SQLite connection and runs every write of the service
// (deliveries, job transitions, leases) with group commit. Tasks that arrive while a commit is in flight are
// batched into the next transaction, each inside its own SAVEPOINT so one failing task does not sink the
// others; every task of a batch completes only after its COMMIT returned.
//
// A task is `synced` (the default) or `lazy` (store::durability). A batch with a synced task commits with
// synchronous=FULL: on disk (WAL fsynced) before it completes. A batch of lazy tasks only commits with
// synchronous=NORMAL: written to the WAL, which survives the process being killed, but not fsynced, so a power
// loss or a kernel crash may take it back. What is lost is always the last commits (the WAL is replayed up to
// its first frame that was not written; the next synced commit's fsync makes every earlier one durable too).
//
// Checkpoints (copying the WAL's pages into the database file, then fsyncing it) run on a thread and connection of
// their own, so a commit never waits for one. SQLite's automatic checkpoint would run inside the COMMIT that
// crossed 1,000 WAL pages: a few ms of copying and an fsync of the database file, about once per 75 commits
// under load, which every delivery in the next batch waited for (docs/benchmarks.md). The writer now only wakes
// the checkpointer each time the WAL has grown by `checkpoint_pages`. A background checkpoint can copy every page but the
// ones committed while it ran, so the WAL is rewound from its start only when the writer itself checkpoints:
// whenever it finds its queue empty after a commit, and at the latest once the WAL holds `checkpoint_limit_pages`.
#ifndef SPACEHOOK_STORE_WRITER_HPP
#define SPACEHOOK_STORE_WRITER_HPP

#include "spacehook/store/sqlite.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>

#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace spacehook::store {

// Whether a write must survive a power loss once it completed (see writer, and jobs.hpp for which do).
enum class durability { synced, lazy };

struct writer_options {
    std::string path;
    std::int64_t busy_timeout_ms = 2000;
    std::size_t max_batch = 512;  // tasks per transaction
    // WAL pages (4 KiB) after which the checkpointer thread is woken, and after which the writer checkpoints
    // itself so that the WAL starts over. 0 for checkpoint_pages: no checkpointer thread, SQLite's own
    // automatic checkpoint at 1,000 pages inside the writer's COMMIT (the behaviour before issue G).
    int checkpoint_pages = 1000;
    int checkpoint_limit_pages = 8000;
};

struct writer_stats {
    std::atomic<std::uint64_t> batches{0};
    std::atomic<std::uint64_t> tasks{0};
    std::atomic<std::uint64_t> failed_batches{0};
    std::atomic<std::uint64_t> max_batch{0};
    std::atomic<std::uint64_t> synced_commits{0};  // batches committed with synchronous=FULL
    std::atomic<std::uint64_t> background_checkpoints{0};  // run by the checkpointer thread
    std::atomic<std::uint64_t> writer_checkpoints{0};      // run by the writer: at the limit, or when idle
    std::atomic<int> wal_pages{0};  // the WAL's length after the last commit (0 until a commit with the hook)
};

class writer {
public:
    using task_fn = std::function<void(database&)>;

    // Opens the database and applies migrations on the calling thread (throws store::error), then starts
    // the writer thread.
    explicit writer(writer_options options);
    ~writer();  // stop() then join
    writer(const writer&) = delete;
    writer& operator=(const writer&) = delete;

    // Runs `fn` on the writer thread inside the next group transaction. Completes with nullptr once the
    // transaction committed, or with the exception that `fn` threw (its savepoint rolled back) or that
    // BEGIN/COMMIT threw (the whole batch failed: store::error, busy() for a lock held elsewhere).
    // With asio::use_awaitable the exception is rethrown at the co_await.
    // `fn` may capture references into the awaiting coroutine's frame: it runs before the completion.
    template <class Token>
    auto async_run(task_fn fn, Token&& token, durability d = durability::synced) {
        return boost::asio::async_initiate<Token, void(std::exception_ptr)>(
            [this, d](auto handler, task_fn f) {
                auto ex = boost::asio::prefer(boost::asio::get_associated_executor(handler, fallback_executor()),
                                              boost::asio::execution::outstanding_work.tracked);
                enqueue(std::move(f), completion{std::move(handler), std::move(ex)}, d);
            },
            token, std::move(fn));
    }

    // Blocks the caller until the writer thread ran `fn` and committed; rethrows its failure.
    // For start-up, the CLI and tests only, never on an I/O thread.
    void run_sync(task_fn fn);

    // Stops after the queued tasks have run. Idempotent.
    void stop();

    const writer_stats& stats() const { return stats_; }
    const writer_options& options() const { return options_; }
    const std::string& path() const { return options_.path; }

private:
    struct completion {
        boost::asio::any_completion_handler<void(std::exception_ptr)> handler;
        boost::asio::any_io_executor executor;
    };
    struct task {
        task_fn fn;
        completion done;
        durability kind = durability::synced;
        std::exception_ptr error;
    };

    static boost::asio::any_io_executor fallback_executor();
    void enqueue(task_fn fn, completion c, durability d);
    void loop();
    void run_batch(std::vector<task>& batch);
    static int on_wal_commit(void* self, sqlite3* db, const char* schema, int pages);
    void checkpoint_loop();
    int checkpoint_here();
    void stop_checkpointer();

    writer_options options_;
    std::unique_ptr<database> db_;
    bool synced_ = true;  // the connection's synchronous setting is FULL (else NORMAL); writer thread only
    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<task> queue_;
    bool stopping_ = false;
    writer_stats stats_;
    int wal_pages_ = 0;  // the WAL's size after the last commit, as its hook reported it; writer thread only
    int wal_pages_at_wake_ = 0;  // its size when the checkpointer was last woken; writer thread only
    int wal_pages_at_idle_checkpoint_ = -1;  // its size at the writer's last idle checkpoint; writer thread only

    // The checkpointer: its own connection, woken by the writer's commit hook.
    std::unique_ptr<database> checkpoint_db_;
    std::mutex checkpoint_mutex_;
    std::condition_variable checkpoint_wake_;
    bool checkpoint_due_ = false;
    bool checkpoint_stopping_ = false;
    std::thread checkpoint_thread_;

    std::thread thread_;
};

}  // namespace spacehook::store

#endif
