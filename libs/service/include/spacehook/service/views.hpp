// What the operator's tools show of the store, as JSON: `jobs list --json`, `jobs show --json`, `events list
// --json` and the admin API (/admin/api) print the same objects. Times are ISO 8601 (UTC).
#ifndef SPACEHOOK_SERVICE_VIEWS_HPP
#define SPACEHOOK_SERVICE_VIEWS_HPP

#include "spacehook/config/settings.hpp"
#include "spacehook/store/admin.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>

namespace spacehook::service {

// id, event_row, rule, state, attempts, max_attempts, run_at, lease_until, last_error, created_at, updated_at,
// file_key, and title when the listing read it.
boost::json::object job_json(const store::job& j);
// idx, action, state, result.
boost::json::object step_json(const store::step& s);
// id, webhook_id, event_id, trigger, path, received_at, jobs, source; body when `with_body`.
boost::json::object event_json(const store::event_record& e, bool with_body);

// `events replay` (CLI and admin API): runs the rules that match the stored event again.
struct replay_result {
    enum class status { done, no_event, refused } outcome = status::done;
    std::string why;  // refused: the body was purged, or does not parse
    std::size_t rules = 0;  // rules that match it
    store::replay_counts counts;
};
replay_result replay_event(store::admin& db, const config::settings& s, std::int64_t event_row, std::int64_t now);

}  // namespace spacehook::service

#endif
