// How a step or an attempt of a job ended, as the worker decides it: done, skipped (with the reason),
// retry (network, 401, 429, 5xx, a lost lease, a store that did not answer; Retry-After honoured) or dead.
// Which DocSpace and channel failures are dead is core/error.hpp's permanent(errc), through failed(). A store
// failure during an attempt is always a retry (held_lease): the job's row, not the action, is what failed.
#ifndef SPACEHOOK_WORKER_OUTCOME_HPP
#define SPACEHOOK_WORKER_OUTCOME_HPP

#include "spacehook/docspace/types.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace spacehook::worker {

enum class result_kind { done, skipped, retry, dead };

struct result {
    result_kind kind = result_kind::done;
    std::string detail;
    std::optional<std::int64_t> retry_after_ms;
};

inline result done(std::string d) { return {result_kind::done, std::move(d), {}}; }
inline result skipped(std::string d) { return {result_kind::skipped, std::move(d), {}}; }
inline result dead(std::string d) { return {result_kind::dead, std::move(d), {}}; }
inline result retry(std::string d, std::optional<std::int64_t> after = {}) {
    return {result_kind::retry, std::move(d), after};
}

// A failure as a result: permanent ones end the job, everything else is retried.
inline result failed(errc code, std::string d, std::optional<std::int64_t> retry_after = {}) {
    if (permanent(code)) return dead(std::move(d));
    return retry(std::move(d), retry_after);
}

inline result from_api(const docspace::api_error& e) { return failed(e.code(), e.describe(), e.retry_after_ms); }

inline result lease_lost() { return retry("lease lost while running"); }

}  // namespace spacehook::worker

#endif
