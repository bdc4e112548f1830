#include "spacehook/worker/backoff.hpp"

#include <algorithm>

namespace spacehook::worker {

std::int64_t next_delay_ms(const backoff_policy& p, int attempt, std::optional<std::int64_t> retry_after_ms,
                           std::mt19937_64& rng) {
    const int shift = std::clamp(attempt - 1, 0, 40);
    std::int64_t cap = p.initial_ms;
    for (int i = 0; i < shift && cap < p.max_ms; ++i) cap *= 2;
    cap = std::min(cap, p.max_ms);
    std::uniform_int_distribution<std::int64_t> dist(std::min(p.initial_ms, cap), cap);
    std::int64_t delay = dist(rng);
    if (retry_after_ms) delay = std::max(delay, std::min(*retry_after_ms, p.max_ms));
    return delay;
}

}  // namespace spacehook::worker
