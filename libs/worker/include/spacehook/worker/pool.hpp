// The worker pool: `workers.concurrency` coroutines on one io_context thread that lease due jobs from the
// queue, run one attempt each (src/job_runner.cpp: the event, the rule, the steps in src/actions.cpp) and
// record how it ended in one transition: succeeded, skipped (with the reason), retrying (backoff with full
// jitter, Retry-After honoured) or dead (permanent error, or out of attempts). A reaper coroutine returns
// expired leases and applies retention. Everything it asks of the database goes through store::queue.
#ifndef SPACEHOOK_WORKER_POOL_HPP
#define SPACEHOOK_WORKER_POOL_HPP

#include "spacehook/metrics/registry.hpp"
#include "spacehook/store/queue.hpp"
#include "spacehook/worker/runtime.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>

namespace spacehook::docspace {
class client;
}

namespace spacehook::worker {

// Feeds spacehook_docspace_requests_total{endpoint,code} from every request `c` makes.
void count_docspace_requests(docspace::client& c, metrics::registry& registry);

class pool {
public:
    // Nothing runs until start(). `ctx` must be run by exactly one thread; `queue` and `registry` outlive
    // the pool.
    pool(boost::asio::io_context& ctx, store::queue& queue, metrics::registry& registry,
         std::shared_ptr<const runtime> rt);
    ~pool();
    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;

    void start();
    // New jobs were committed: an idle worker looks for them now instead of at its next poll, and one that finds a
    // job wakes another, until the jobs are taken. Thread-safe.
    void wake();
    // Rules and channels for jobs leased from now on. Thread-safe.
    void reload(std::shared_ptr<const runtime> rt);
    // Stops leasing; running jobs finish their current step, then give their lease back. Thread-safe.
    void stop();
    // True when every worker coroutine has ended (after stop()). Thread-safe.
    bool stopped() const;
    // Blocks until stopped() or `grace` passed; returns stopped(). Thread-safe (not on the pool's thread).
    bool wait_stopped(std::chrono::milliseconds grace);
    // True between start() and stop(): for /readyz.
    bool running() const;

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace spacehook::worker

#endif
