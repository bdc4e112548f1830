// The store as the running service uses it: deliveries in, jobs leased and moved through their states, all
// asynchronous and typed. This is the seam for a second backend (PostgreSQL, issue F); the SQLite
// implementation (make_sqlite_queue) runs every call as a task of the group-commit writer.
//
// Contract of every call:
// - it completes on the calling coroutine's executor, which must be single-threaded (an io_context run by
//   one thread, or a strand);
// - it never throws for what the database says: the answer is a value or a store::failure;
// - it has a deadline (queue_options, or the call's own): past it the caller gets errc::timed_out
//   and may go on; the task still runs later, on inputs it owns (nothing points into the caller's frame).
//   Every transition is written so that running late is harmless: lease-checked transitions of a job whose
//   lease expired change nothing, a late delivery insert makes DocSpace's retry a duplicate.
// - what it wrote is durable when it completes (it survives a power loss), except the writes marked "lazy"
//   below (store::durability): those survive the process being killed, and after a power loss or a kernel crash
//   they may be lost, always as the last writes before it. Each lazy write only records what a later attempt
//   would find out or redo anyway: a lease (start-up releases every lease), a lease's extension, step rows, a
//   fileops id (a resumed step waits for its user's unfinished operations without it), the end of a step whose
//   effect a resumed attempt can see in DocSpace. What guards against doing something twice is synced: a
//   delivery before its 200, a step's start before its effect, a notification's end, a job's outcome.
//   SQLite only: there a power loss takes the process, and the leases it held, with it. A PostgreSQL server can
//   crash or fail over while this process runs on: a lost lease would let the job be leased again under the same
//   (id, attempts) while its first holder still works, so on PostgreSQL a lease, its extension and a step's end
//   are synced too, and only what a running holder never relies on is lazy.
#ifndef SPACEHOOK_STORE_QUEUE_HPP
#define SPACEHOOK_STORE_QUEUE_HPP

#include "spacehook/core/asio.hpp"
#include "spacehook/core/error.hpp"
#include "spacehook/store/events.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/store/writer.hpp"

#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace spacehook::store {

// Why a call did not answer with a value, in the project's vocabulary (core/error.hpp):
//   errc::unavailable  busy or locked past busy_timeout, disk full, I/O error, unreachable: try again later;
//   errc::timed_out    no answer within the deadline (a stalled fsync): try again later;
//   errc::invalid      a statement or the data is wrong: retrying will not help.
using failure = spacehook::error;

// The failure an exception from the SQLite layer (or anything else thrown by a task) stands for.
failure failure_of(std::exception_ptr e);

template <class T>
using result = expected<T, failure>;

// What lease_next found: a job (running under its new lease) with its step rows, or none and when the next
// one is due.
struct lease_found {
    std::optional<job> leased;
    std::vector<step> steps;
    std::optional<std::int64_t> next_due;
    std::int64_t at = 0;  // the time the lease was taken with
};

// What the metrics endpoint shows of the queue.
// SQLite only: the write-ahead log and who checkpointed it (store::writer).
struct wal_gauges {
    int pages = 0;  // the WAL's length after the last commit, in pages
    std::uint64_t background_checkpoints = 0;
    std::uint64_t writer_checkpoints = 0;
};

struct queue_gauges {
    std::map<job_state, std::int64_t> jobs_by_state;
    std::optional<std::int64_t> next_due_ms;  // earliest run_at of a queued or retrying job
    std::optional<wal_gauges> wal;            // SQLite
};

struct queue_options {
    std::chrono::milliseconds deadline{10000};  // for every call that takes none of its own
};

class queue {
public:
    virtual ~queue() = default;

    // ---- deliveries (the front door, the backfill pass) ----
    virtual awaitable<result<insert_result>> insert_delivery(delivery&& d) = 0;
    // Several deliveries in one transaction, in order.
    virtual awaitable<result<std::vector<insert_result>>> insert_deliveries(std::vector<delivery>&& ds) = 0;
    // A write that changes one small row: it fails while the database cannot be written (for /readyz).
    virtual awaitable<result<bool>> probe_write(std::chrono::milliseconds deadline) = 0;

    // ---- reads ----
    // The stored event (its body included) a job was made for.
    virtual awaitable<result<std::optional<event_record>>> get_event(std::int64_t row) = 0;
    // Backfill's look-ups: (webhook id, path) stored since `since_ms` (events.hpp), and whether an event is stored.
    using webhook_paths = std::vector<std::pair<std::string, std::string>>;
    virtual awaitable<result<webhook_paths>> webhooks_seen(std::int64_t since_ms) = 0;
    virtual awaitable<result<bool>> event_known(const std::string& webhook_id, const std::string& event_id) = 0;

    // ---- jobs (the worker pool) ----
    // The action names of a leased job's rule, for its step rows; empty when the rule is unknown.
    using step_names = std::function<std::vector<std::string>(const job&)>;
    virtual awaitable<result<lease_found>> lease_next(std::int64_t lease_ms, step_names names) = 0;  // lazy (SQLite)
    virtual awaitable<result<std::vector<step>>> ensure_steps(std::int64_t job_id,
                                                             const std::vector<std::string>& names) = 0;  // lazy
    // Transitions of a leased job: true when done, false when the lease is no longer held (jobs.hpp).
    virtual awaitable<result<bool>> extend_lease(lease l, std::int64_t lease_until) = 0;  // lazy (SQLite)
    virtual awaitable<result<bool>> start_step(lease l, int idx, const std::string& note) = 0;
    virtual awaitable<result<bool>> set_step_operation(lease l, int idx, const std::string& operation) = 0;  // lazy
    virtual awaitable<result<bool>> finish_step(lease l, const step_end& end) = 0;  // lazy unless end.durable (SQLite)
    virtual awaitable<result<bool>> finish_job(lease l, const job_end& end) = 0;
    virtual awaitable<result<bool>> release_job(lease l) = 0;  // lazy
    // Expired leases become due again (or dead); returns how many.
    virtual awaitable<result<int>> release_expired() = 0;  // lazy
    virtual awaitable<result<purge_counts>> purge(const std::vector<job_state>& states, std::int64_t older_than,
                                                 std::int64_t forget_before) = 0;  // lazy

    // ---- periodic work shared by several instances ----
    // Claims this instance's turn at the periodic work `name` (e.g. a backfill pass): true when no instance claimed
    // it within the last `period_ms`, and then the claim is this one's. An instance that dies mid-turn loses it
    // once `period_ms` has passed. (SQLite: one instance per database, always its turn.)
    virtual awaitable<result<bool>> claim_turn(const std::string& name, std::int64_t period_ms) = 0;

    // ---- the service's start and its gauges ----
    // At start-up, before any worker leases: jobs a previous run left running become due again at once,
    // without waiting for their leases to expire; returns how many. (SQLite: serve's instance lock makes this
    // process the database's only user, so every running job was abandoned.) It waits as long as that takes.
    virtual awaitable<result<int>> release_abandoned() = 0;
    // Synchronous, for a thread that may block (the metrics collector): a read that never waits for writes.
    virtual result<queue_gauges> read_gauges() = 0;
};

// Over `w`, which must outlive the queue and every call's task. Reads run on the caller's thread on a read-only
// connection of the queue's (WAL: they never wait for the writer), one caller at a time.
std::unique_ptr<queue> make_sqlite_queue(writer& w, queue_options options = {});

// A queue over a writer of its own on the SQLite file `w.path` (what serve uses): destroying the queue runs
// what the writer has queued, then closes the database.
std::unique_ptr<queue> open_sqlite_queue(writer_options w, queue_options options = {});

}  // namespace spacehook::store

#endif
