// One attempt of one job as its worker holds it: the lease (job id, attempts) and its expiry, and every write
// the attempt makes to its job, each one lease-checked transition of the store's queue (store/queue.hpp). A
// write that finds the lease gone, or that the database could not make, returns false and ended() says which:
// the attempt stops and leaves the job to whichever worker holds it now, or to its next attempt.
#ifndef SPACEHOOK_WORKER_HELD_LEASE_HPP
#define SPACEHOOK_WORKER_HELD_LEASE_HPP

#include "outcome.hpp"
#include "spacehook/core/asio.hpp"
#include "spacehook/store/queue.hpp"

#include <string>

namespace spacehook::worker {

// Results are named before co_return: with GCC 12, `co_return co_await ...` and `if (!co_await ...)` on these
// coroutines resumed a finished frame (SIGILL in the ASan build), so neither form is used in the worker.
class held_lease {
public:
    held_lease(store::queue& q, const store::job& job)
        : queue_(q), lease_(store::lease_of(job)), until_(job.lease_until.value_or(0)) {}

    store::lease id() const { return lease_; }

    // Extends the lease when half of lease_ms has passed.
    awaitable<bool> hold(std::int64_t lease_ms);
    // The step is started (its effect may happen from now on), with `note` as its result.
    awaitable<bool> start_step(int idx, const std::string& note);
    awaitable<bool> set_step_operation(int idx, const std::string& operation);
    awaitable<bool> finish_step(const store::step_end& end);
    // Gives the attempt back (shutdown): the job is due again now.
    awaitable<bool> release();

    // Why the last write returned false, as the attempt's result (a retry either way).
    result ended() const;

private:
    bool check(const store::result<bool>& r);

    store::queue& queue_;
    store::lease lease_;
    std::int64_t until_;
    std::optional<store::failure> failed_;
};

}  // namespace spacehook::worker

#endif
