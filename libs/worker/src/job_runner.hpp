// One attempt of one leased job, from the stored event to its steps' effects, returned as a value: how the
// attempt ended and the step that ended it (recorded by the pool together with the job's transition).
//
// The attempt reads the event, drops events caused by spacehook's own user (ignore_own_events), reads the
// file when the rule needs its current state, matches the rule (only before any step has begun: a match is
// decided once, since the job's own move may take the file out of the watched room), then runs the steps
// that are not done, in order, under its lease.
#ifndef SPACEHOOK_WORKER_JOB_RUNNER_HPP
#define SPACEHOOK_WORKER_JOB_RUNNER_HPP

#include "docspace_reads.hpp"
#include "outcome.hpp"
#include "spacehook/metrics/registry.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/store/queue.hpp"
#include "spacehook/worker/runtime.hpp"

#include <atomic>
#include <optional>
#include <vector>

namespace spacehook::worker {

struct attempt_end {
    result r;
    std::optional<store::step_end> last_step;  // the step that ended the attempt, not yet recorded
    bool released = false;                     // given back at shutdown: nothing more to record
};

struct runner_deps {
    store::queue& queue;
    docspace_reads& docspace;
    metrics::registry& registry;
    const std::atomic<bool>& stopping;
};

// `steps` are the job's step rows as leased (empty when its rule was unknown at the lease).
awaitable<attempt_end> run_attempt(runner_deps deps, const runtime& rt, const store::job& job, std::vector<store::step> steps);

}  // namespace spacehook::worker

#endif
