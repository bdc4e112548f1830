// The store as an operator works it (the `jobs` and `events` commands): synchronous, each call one transaction,
// the same answers on SQLite and PostgreSQL. Calls throw what the database throws (store::error, pg::error).
#ifndef SPACEHOOK_STORE_ADMIN_HPP
#define SPACEHOOK_STORE_ADMIN_HPP

#include "spacehook/store/events.hpp"
#include "spacehook/store/jobs.hpp"

#include <cstdint>
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

class admin {
public:
    virtual ~admin() = default;

    virtual std::vector<job> list_jobs(const job_filter& f) = 0;
    virtual std::optional<job> get_job(std::int64_t id) = 0;
    virtual std::vector<step> get_steps(std::int64_t job_id) = 0;
    // As jobs.hpp's retry_job and cancel_job, with the state the job was in.
    virtual job_transition retry_job(std::int64_t id, std::int64_t now) = 0;
    virtual job_transition cancel_job(std::int64_t id, std::int64_t now) = 0;
    virtual purge_counts purge(const std::vector<job_state>& states, std::int64_t older_than, std::int64_t forget_before) = 0;

    virtual std::vector<event_record> list_events(const event_filter& f) = 0;
    virtual std::optional<event_record> get_event(std::int64_t id) = 0;
    virtual replay_counts replay_event(std::int64_t event_row, const std::vector<std::string>& rules,
                                       const std::optional<std::string>& file_key, int max_attempts, std::int64_t now) = 0;
};

// On the SQLite file `path`, which must exist; applies pending migrations.
std::unique_ptr<admin> open_sqlite_admin(const std::string& path, std::int64_t busy_timeout_ms = 5000);

}  // namespace spacehook::store

#endif
