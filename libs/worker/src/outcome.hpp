// How a step or an attempt of a job ended, as the worker decides it: done, skipped (with the reason),
// retry (transient: network, 401, 429, 5xx, a lost lease; Retry-After honoured) or dead (permanent).
// The transient/permanent split of DocSpace's answers is api_error::permanent(); of a channel's, its
// send_result.
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

// A DocSpace failure as a result: permanent answers (400/403/404/...) end the job, everything else is retried.
inline result from_api(const docspace::api_error& e) {
    if (e.permanent()) return dead(e.describe());
    return retry(e.describe(), e.retry_after_ms);
}

inline result lease_lost() { return retry("lease lost while running"); }

}  // namespace spacehook::worker

#endif
