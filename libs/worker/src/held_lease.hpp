// One attempt of one job as its worker holds it: the lease (job id, attempts) and its expiry, and every write
// the attempt makes to its job, each one transition in one writer task that owns its inputs and holds only
// under this lease (store/jobs.hpp). A write that finds the lease gone returns false: the attempt stops and
// leaves the job to whichever worker holds it now.
#ifndef SPACEHOOK_WORKER_HELD_LEASE_HPP
#define SPACEHOOK_WORKER_HELD_LEASE_HPP

#include "spacehook/core/asio.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/store/writer.hpp"

#include <string>

namespace spacehook::worker {

// Parameters are references: each method copies what it writes into its task before it suspends. Results are
// named before co_return: with GCC 12, `co_return co_await write(...)` and `if (!co_await start_step(...))`
// here resumed a finished frame (SIGILL in the ASan build), so neither form is used in the worker.
class held_lease {
public:
    held_lease(store::writer& writer, const store::job& job)
        : writer_(writer), lease_(store::lease_of(job)), until_(job.lease_until.value_or(0)) {}

    store::lease id() const { return lease_; }

    // Extends the lease when half of lease_ms has passed; false when it was lost (taken over after expiry).
    awaitable<bool> hold(std::int64_t lease_ms);
    // The step is started (its effect may happen from now on), with `note` as its result.
    awaitable<bool> start_step(int idx, const std::string& note);
    awaitable<bool> set_step_operation(int idx, const std::string& operation);
    awaitable<bool> finish_step(const store::step_end& end);
    // Gives the attempt back (shutdown): the job is due again now.
    awaitable<bool> release();

private:
    template <class Fn>
    awaitable<bool> write(Fn fn);

    store::writer& writer_;
    store::lease lease_;
    std::int64_t until_;
};

}  // namespace spacehook::worker

#endif
