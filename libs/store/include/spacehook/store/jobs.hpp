// The job queue: leasing, state transitions and per-action steps (docs/contract.md §4), plus the operator
// queries behind `spacehook jobs`. Every function takes the connection it runs on: inside the service that
// is the writer thread's (writer::async_run), in the CLI its own.
//
// A lease is identified by (job id, attempts): a worker whose lease expired and was taken over cannot
// overwrite the newer attempt's outcome, because its transition matches no row (returns false).
#ifndef SPACEHOOK_STORE_JOBS_HPP
#define SPACEHOOK_STORE_JOBS_HPP

#include "spacehook/store/sqlite.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spacehook::store {

struct job {
    std::int64_t id = 0;
    std::int64_t event_row = 0;
    std::string rule;
    std::string state;
    int attempts = 0;
    int max_attempts = 0;
    std::int64_t run_at = 0;
    std::optional<std::int64_t> lease_until;
    std::optional<std::string> last_error;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    std::optional<std::string> file_key;
};

// Takes the oldest due job (queued/retrying with run_at <= now) whose file_key has no older unfinished job,
// marks it running with lease_until = now + lease_ms and attempts + 1.
std::optional<job> lease_next(database& db, std::int64_t now, std::int64_t lease_ms);
// Extends a lease still held by (id, attempts); false if it was lost.
bool extend_lease(database& db, std::int64_t id, int attempts, std::int64_t lease_until, std::int64_t now);
// Running jobs whose lease passed `now` become retrying (due now), or dead when out of attempts. Returns the
// number released. With `all` every running job is released (start-up, under the instance lock).
int release_expired(database& db, std::int64_t now, bool all = false);
// Earliest run_at among queued/retrying jobs.
std::optional<std::int64_t> next_due(database& db);

// Transitions of a leased job; false when the lease (id, attempts) is no longer held.
bool finish_job(database& db, std::int64_t id, int attempts, std::string_view state, const std::optional<std::string>& reason,
                std::int64_t now);
bool schedule_retry(database& db, std::int64_t id, int attempts, std::int64_t run_at, const std::string& reason,
                    std::int64_t now);

struct step {
    int idx = 0;
    std::string action;  // move, copy, comment, notify
    std::string state;   // pending, started, done, skipped
    std::optional<std::string> result;
    std::optional<std::string> operation;  // DocSpace's fileops id of a started move or copy, once known
};

// Creates the job's step rows on first run (one per action, in order) and returns them all.
std::vector<step> ensure_steps(database& db, std::int64_t job_id, const std::vector<std::string>& actions, std::int64_t now);
// Step transitions of a leased job; false when the lease (job_id, attempts) is no longer held.
bool finish_step(database& db, std::int64_t job_id, int attempts, int idx, std::string_view state, const std::string& result,
                 std::int64_t now);
std::vector<step> get_steps(database& db, std::int64_t job_id);
// Records (or, with nullopt, forgets) the fileops id of a started move or copy (see step::operation).
bool set_step_operation(database& db, std::int64_t job_id, int attempts, int idx,
                        const std::optional<std::string>& operation, std::int64_t now);
// Gives a lease back without using up the attempt (graceful shutdown): the job is due again now.
bool release_job(database& db, std::int64_t id, int attempts, std::int64_t now);

// Operator queries.
struct job_filter {
    std::optional<std::string> state;
    std::optional<std::string> rule;
    std::optional<std::int64_t> since_ms;
    int limit = 100;
};
std::vector<job> list_jobs(database& db, const job_filter& f);
std::optional<job> get_job(database& db, std::int64_t id);
// dead/cancelled/skipped/succeeded -> queued now with attempts 0 (steps that are done stay done).
// Returns false when the job does not exist or is queued/retrying/running.
bool retry_job(database& db, std::int64_t id, std::int64_t now);
// queued/retrying -> cancelled. Returns false otherwise.
bool cancel_job(database& db, std::int64_t id, std::int64_t now);
// Deletes jobs in `states` last updated before `older_than`; events left without jobs that are older too
// lose their body but keep their identity (webhook_id, event_id, content_key) until `forget_before`, so a
// delivery of the same event stays a duplicate for that long. Once identities were forgotten, deliveries of
// events created before that cutoff are stored with their jobs skipped (docs/backfill.md, "Nothing runs
// twice").
struct purge_counts {
    int jobs = 0;
    int events = 0;     // bodies dropped
    int forgotten = 0;  // event rows deleted, identity included
};
purge_counts purge(database& db, const std::vector<std::string>& states, std::int64_t older_than,
                   std::int64_t forget_before);

// `events replay`: for each planned rule, creates the event's job or, if it exists and is not pending or
// running, queues it again with its steps reset so every action runs again; the event's source becomes
// 'replay' when anything was queued. Returns (created, requeued).
struct replay_counts {
    int created = 0;
    int requeued = 0;
    int busy = 0;  // jobs left alone because they are queued, retrying or running
};
replay_counts replay_event(database& db, std::int64_t event_row, const std::vector<std::string>& rules,
                           const std::optional<std::string>& file_key, int max_attempts, std::int64_t now);

std::map<std::string, std::int64_t> count_by_state(database& db);

// Writes one small row (store_state 'ready_probe'): a transaction that changes nothing commits even on a full
// disk, this one does not. For /readyz.
void probe_write(database& db, std::int64_t now);

}  // namespace spacehook::store

#endif
