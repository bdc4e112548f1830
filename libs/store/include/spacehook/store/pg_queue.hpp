// store::queue on PostgreSQL (docs/contract.md §7): several `serve` instances share one database.
//
// - Group commit, as on SQLite: each of `pool` connection threads takes the calls waiting when its last
//   transaction ended and runs them in one READ COMMITTED transaction (when one fails, each again in a
//   transaction of its own, so it fails alone), and answers them after COMMIT (synchronous_commit as the server has it: on by default, on disk).
// - Leasing: the oldest due job whose file has no older unfinished job, picked FOR UPDATE SKIP LOCKED, so two
//   instances never lease the same job and the per-file order holds across instances (an older unfinished job
//   of the file is visible to every instance, leased or not).
// - Wake-up: an insert that creates jobs NOTIFYs channel `spacehook_jobs` (delivered at COMMIT); the queue
//   LISTENs on a connection of its own and calls on_jobs(). Without notifications (a transaction-pooling proxy
//   drops them) workers still find jobs by their 1 s poll.
// - Periodic work (release_expired, purge) runs under a transaction-level advisory lock taken with try: while
//   one instance does it, the others skip their turn.
// - A broken connection is reconnected at the next call; until then calls fail with errc::unavailable (the
//   front door answers 503, workers wait and lease again).
#ifndef SPACEHOOK_STORE_PG_QUEUE_HPP
#define SPACEHOOK_STORE_PG_QUEUE_HPP

#include "spacehook/store/admin.hpp"
#include "spacehook/store/queue.hpp"

#include <functional>
#include <memory>
#include <string>

namespace spacehook::store {

struct pg_queue_options {
    std::string url;             // postgresql://... (the password from the URL or PGPASSWORD)
    int pool = 2;                // connection threads running calls
    std::size_t max_batch = 512; // calls per transaction
    int connect_timeout_s = 5;
    // Called on the listener thread when another transaction (this instance's or another's) created jobs.
    std::function<void()> on_jobs;
};

// Connects, applies the PostgreSQL migrations (once across instances starting together) and starts the
// connection threads. Throws pg::error when the database cannot be reached or migrated.
std::unique_ptr<queue> open_pg_queue(pg_queue_options pg, queue_options options = {});

// The operator's calls (admin.hpp) on one connection to `url`; applies pending migrations. Throws pg::error.
std::unique_ptr<admin> open_pg_admin(const std::string& url, int connect_timeout_s = 10);

}  // namespace spacehook::store

#endif
