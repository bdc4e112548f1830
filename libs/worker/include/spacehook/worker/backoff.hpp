// Retry delays: exponential backoff with full jitter (a uniformly random delay between 0 and the capped
// exponential), never shorter than what the server asked for with Retry-After.
#ifndef SPACEHOOK_WORKER_BACKOFF_HPP
#define SPACEHOOK_WORKER_BACKOFF_HPP

#include <cstdint>
#include <optional>
#include <random>

namespace spacehook::worker {

struct backoff_policy {
    std::int64_t initial_ms = 1000;
    std::int64_t max_ms = 600000;
};

// Delay before attempt `attempt + 1`, given that `attempt` (1-based) just failed:
// uniform(initial, min(max, initial * 2^(attempt-1))), then at least retry_after_ms (itself capped at max_ms).
// The lower bound `initial` keeps a failing job from spinning when the jitter draws a value near 0.
std::int64_t next_delay_ms(const backoff_policy& p, int attempt, std::optional<std::int64_t> retry_after_ms,
                           std::mt19937_64& rng);

}  // namespace spacehook::worker

#endif
