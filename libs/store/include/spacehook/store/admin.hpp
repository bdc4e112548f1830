// The store as an operator works it (the `jobs` and `events` commands): synchronous, each call one transaction,
// the same answers on SQLite and PostgreSQL. Calls throw what the database throws (store::error, pg::error).
#ifndef SPACEHOOK_STORE_ADMIN_HPP
#define SPACEHOOK_STORE_ADMIN_HPP

#include "spacehook/store/events.hpp"
#include "spacehook/store/jobs.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace spacehook::store {

// What an operator's transition of one job found: no job, or the state it was in and whether it changed.
struct job_transition {
    std::optional<job_state> was;  // nullopt: there is no such job
    bool changed = false;
};

// A count per time bucket: `counts[i]` for [from + i*bucket_ms, from + (i+1)*bucket_ms).
struct series {
    std::int64_t from = 0;
    std::int64_t bucket_ms = 0;
    std::vector<std::int64_t> counts;
};

// A time window of the overview: `buckets` buckets of `bucket_ms` ending now.
struct window_spec {
    std::int64_t bucket_ms = 0;
    int buckets = 0;
};
struct window_counts {
    series accepted;         // events stored (deliveries, backfill), by received_at
    series succeeded, dead;  // jobs that ended so, by updated_at
};

// What the admin UI's overview shows from the database.
struct overview {
    std::map<job_state, std::int64_t> by_state;  // every state, 0 included
    std::optional<std::int64_t> oldest_due;      // run_at of the earliest queued or retrying job
    std::vector<window_counts> windows;          // one per window_spec asked for
};

class admin {
public:
    virtual ~admin() = default;

    virtual std::vector<job> list_jobs(const job_filter& f) = 0;
    // How many jobs match `f` (its before_id and limit ignored).
    virtual std::int64_t count_jobs(const job_filter& f) = 0;
    virtual std::optional<job> get_job(std::int64_t id) = 0;
    virtual std::vector<step> get_steps(std::int64_t job_id) = 0;
    // As jobs.hpp's retry_job and cancel_job, with the state the job was in.
    virtual job_transition retry_job(std::int64_t id, std::int64_t now) = 0;
    virtual job_transition cancel_job(std::int64_t id, std::int64_t now) = 0;
    // The same for many jobs in one transaction; returns how many changed (the others were in a state the
    // transition does not apply to, or are gone).
    virtual int retry_jobs(const std::vector<std::int64_t>& ids, std::int64_t now) = 0;
    virtual int cancel_jobs(const std::vector<std::int64_t>& ids, std::int64_t now) = 0;
    virtual purge_counts purge(const std::vector<job_state>& states, std::int64_t older_than, std::int64_t forget_before) = 0;

    virtual std::vector<event_record> list_events(const event_filter& f) = 0;
    virtual std::optional<event_record> get_event(std::int64_t id) = 0;
    virtual replay_counts replay_event(std::int64_t event_row, const std::vector<std::string>& rules,
                                       const std::optional<std::string>& file_key, int max_attempts, std::int64_t now) = 0;

    // The overview's figures, with each window ending at `now`.
    virtual overview stats(std::int64_t now, const std::vector<window_spec>& windows) = 0;
    // The largest job id (0 when there is none): where the newest page starts.
    virtual std::int64_t max_job_id() = 0;
    // received_at of the newest event that arrived on `path`, looking back to `since` at most.
    virtual std::optional<std::int64_t> last_delivery(const std::string& path, std::int64_t since) = 0;
    // Jobs by rule and state (rules with no jobs are absent).
    virtual std::map<std::string, std::map<job_state, std::int64_t>> rule_counts() = 0;
};

// On the SQLite file `path`, which must exist; applies pending migrations.
std::unique_ptr<admin> open_sqlite_admin(const std::string& path, std::int64_t busy_timeout_ms = 5000);

}  // namespace spacehook::store

#endif
