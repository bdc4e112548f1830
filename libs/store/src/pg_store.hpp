// The store's statements on PostgreSQL: the same operations, states and answers as events.hpp and jobs.hpp on
// SQLite, each taking the connection (and transaction) it runs in.
#ifndef SPACEHOOK_STORE_PG_STORE_HPP
#define SPACEHOOK_STORE_PG_STORE_HPP

#include "spacehook/store/events.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/store/pg.hpp"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace spacehook::store::pgstore {

// The channel an insert that created jobs notifies (at its COMMIT).
inline constexpr std::string_view jobs_channel = "spacehook_jobs";

insert_result insert_delivery(pg::connection& c, const delivery& d);
bool event_known(pg::connection& c, const std::string& webhook_id, const std::string& event_id);
std::vector<std::pair<std::string, std::string>> webhooks_seen(pg::connection& c, std::int64_t since_ms);
std::optional<event_record> get_event(pg::connection& c, std::int64_t id);
std::vector<event_record> list_events(pg::connection& c, const event_filter& f);

std::optional<job> lease_next(pg::connection& c, std::int64_t now, std::int64_t lease_ms);
std::optional<std::int64_t> next_due(pg::connection& c);
std::vector<step> ensure_steps(pg::connection& c, std::int64_t job_id, const std::vector<std::string>& actions,
                               std::int64_t now);
std::vector<step> get_steps(pg::connection& c, std::int64_t job_id);
bool extend_lease(pg::connection& c, lease l, std::int64_t lease_until, std::int64_t now);
bool start_step(pg::connection& c, lease l, int idx, const std::string& note, std::int64_t now);
bool set_step_operation(pg::connection& c, lease l, int idx, const std::string& operation, std::int64_t now);
bool finish_step(pg::connection& c, lease l, const step_end& end, std::int64_t now);
bool finish_job(pg::connection& c, lease l, const job_end& end, std::int64_t now);
bool release_job(pg::connection& c, lease l, std::int64_t now);
// Unlike SQLite's there is no `all`: other instances' running jobs are theirs until their leases expire.
int release_expired(pg::connection& c, std::int64_t now);
purge_counts purge(pg::connection& c, const std::vector<job_state>& states, std::int64_t older_than,
                   std::int64_t forget_before);
std::map<job_state, std::int64_t> count_by_state(pg::connection& c);
void probe_write(pg::connection& c, std::int64_t now);

// Operator queries (the CLI).
std::vector<job> list_jobs(pg::connection& c, const job_filter& f);
std::int64_t count_jobs(pg::connection& c, const job_filter& f);
std::int64_t max_job_id(pg::connection& c);
std::optional<job> get_job(pg::connection& c, std::int64_t id);
bool retry_job(pg::connection& c, std::int64_t id, std::int64_t now);
bool cancel_job(pg::connection& c, std::int64_t id, std::int64_t now);
replay_counts replay_event(pg::connection& c, std::int64_t event_row, const std::vector<std::string>& rules,
                           const std::optional<std::string>& file_key, int max_attempts, std::int64_t now);

// store_state[`name`] := now, when it is older than now - period_ms (or absent); true when it was.
bool claim_turn(pg::connection& c, const std::string& name, std::int64_t now, std::int64_t period_ms);

// Takes the transaction-level advisory lock `key` if no other session holds it (released at COMMIT or ROLLBACK).
bool try_xact_lock(pg::connection& c, std::int64_t key);

}  // namespace spacehook::store::pgstore

#endif
