// The job queue: leasing, state transitions and per-action steps (docs/contract.md §4), plus the operator
// queries behind `spacehook jobs`. Every function takes the connection it runs on: inside the service that
// is the writer thread's (writer::async_run), in the CLI its own.
//
// A lease is identified by (job id, attempts): a worker whose lease expired and was taken over cannot
// overwrite the newer attempt's outcome, because its transition matches no row (returns false). States are
// typed here and stored as their names (the CHECK constraints in migrations/0001_init.sql).
#ifndef SPACEHOOK_STORE_JOBS_HPP
#define SPACEHOOK_STORE_JOBS_HPP

#include "spacehook/store/sqlite.hpp"

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spacehook::store {

// A job's life (docs/contract.md §4): queued -> running -> succeeded | skipped | dead, or back to retrying
// (due again at run_at) and running again; an operator may cancel a queued or retrying job and retry a
// finished one.
enum class job_state { queued, running, retrying, succeeded, skipped, dead, cancelled };
inline constexpr job_state all_job_states[] = {job_state::queued,    job_state::running, job_state::retrying,
                                               job_state::succeeded, job_state::skipped, job_state::dead,
                                               job_state::cancelled};
std::string_view to_string(job_state s);
std::optional<job_state> parse_job_state(std::string_view s);
// succeeded, skipped, dead or cancelled: nothing will run it again unless an operator says so.
bool is_final(job_state s);

// A step (one action of the job's rule): pending -> started (its effect may have happened) -> done | skipped.
// A move, copy or comment is marked started before its effect is attempted, so a resumed attempt checks the
// effect before doing it again.
enum class step_state { pending, started, done, skipped };
std::string_view to_string(step_state s);
std::optional<step_state> parse_step_state(std::string_view s);

std::ostream& operator<<(std::ostream& os, job_state s);  // for test output
std::ostream& operator<<(std::ostream& os, step_state s);

struct job {
    std::int64_t id = 0;
    std::int64_t event_row = 0;
    std::string rule;
    job_state state = job_state::queued;
    int attempts = 0;
    int max_attempts = 0;
    std::int64_t run_at = 0;
    std::optional<std::int64_t> lease_until;
    std::optional<std::string> last_error;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    std::optional<std::string> file_key;
    std::optional<std::string> title;  // the event's payload.title: list_jobs fills it, nothing else does
};

// A lease is one attempt of one job: (job id, attempts). Every write a worker makes to its job holds only
// while the job is still running under that attempt.
struct lease {
    std::int64_t job_id = 0;
    int attempts = 0;
};
inline lease lease_of(const job& j) { return {j.id, j.attempts}; }

// Takes the oldest due job (queued/retrying with run_at <= now) whose file_key has no older unfinished job,
// marks it running with lease_until = now + lease_ms and attempts + 1.
std::optional<job> lease_next(database& db, std::int64_t now, std::int64_t lease_ms);
// Extends a lease still held; false if it was lost.
bool extend_lease(database& db, lease l, std::int64_t lease_until, std::int64_t now);
// Running jobs whose lease passed `now` become retrying (due now), or dead when out of attempts. Returns the
// number released. With `all` every running job is released (start-up, under the instance lock).
int release_expired(database& db, std::int64_t now, bool all = false);
// Earliest run_at among queued/retrying jobs.
std::optional<std::int64_t> next_due(database& db);

struct step {
    int idx = 0;
    std::string action;  // move, copy, comment, notify
    step_state state = step_state::pending;
    std::optional<std::string> result;
    std::optional<std::string> operation;  // DocSpace's fileops id of a started move or copy, once known
};

// How a step ended: done or skipped, with what it did or why not.
struct step_end {
    int idx = 0;
    step_state state = step_state::done;
    std::string result;
    // Whether the record must survive a power loss (store::durability::synced). False for an effect a resumed
    // attempt can see in DocSpace (a move, a copy, a comment): losing the record costs a check, not a second
    // effect. True for one it cannot see (a notification): losing the record would send it again.
    bool durable = true;
};

// How an attempt ended, written in one transition: succeeded, skipped or dead (final, with the reason), or
// retrying at run_at. `last_step` is the step that ended the attempt, recorded in the same statement batch.
struct job_end {
    job_state state = job_state::succeeded;
    std::optional<std::string> reason;
    std::int64_t run_at = 0;  // retrying only
    std::optional<step_end> last_step;
};

// Creates the job's step rows on first run (one per action, in order) and returns them all.
std::vector<step> ensure_steps(database& db, std::int64_t job_id, const std::vector<std::string>& actions, std::int64_t now);
std::vector<step> get_steps(database& db, std::int64_t job_id);

// Transitions of a leased job; each returns false (and changes nothing) when the lease is no longer held.
// pending|started -> started, with `note` as its result and any earlier operation id forgotten.
bool start_step(database& db, lease l, int idx, std::string_view note, std::int64_t now);
// Records the fileops id of a started move or copy (see step::operation).
bool set_step_operation(database& db, lease l, int idx, std::string_view operation, std::int64_t now);
// A step -> done | skipped.
bool finish_step(database& db, lease l, const step_end& end, std::int64_t now);
// running -> succeeded | skipped | dead | retrying, with the last step's end when given. Must run inside a
// transaction when `end.last_step` is set (the writer's tasks do).
bool finish_job(database& db, lease l, const job_end& end, std::int64_t now);
// running -> queued|retrying, due now, the attempt given back (graceful shutdown).
bool release_job(database& db, lease l, std::int64_t now);

// Operator queries.
// Newest first (by id). `before_id` is the keyset cursor: the next page starts below the last id seen. The ids are
// a range of the primary key, so a page costs the rows between its cursor and its last row.
struct job_filter {
    std::optional<job_state> state;
    std::optional<std::string> rule;
    std::optional<std::int64_t> since_ms;  // created_at >= since_ms
    std::optional<std::int64_t> until_ms;  // created_at < until_ms
    std::optional<std::string> title;      // in the event's payload.title (case-insensitive for ASCII letters)
    std::optional<std::string> error;      // in last_error (likewise)
    std::optional<std::int64_t> before_id;
    std::optional<std::int64_t> after_id;  // only ids above this: bounds the rows a rare filter reads
    int limit = 100;
};
// A LIKE pattern matching `text` anywhere, with %, _ and the escape character \ taken literally (ESCAPE '\').
std::string like_contains(std::string_view text);
std::vector<job> list_jobs(database& db, const job_filter& f);
// How many jobs match `f` (its before_id, after_id and limit ignored).
std::int64_t count_jobs(database& db, const job_filter& f);
// The largest job id, 0 when there is none.
std::int64_t max_job_id(database& db);
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
purge_counts purge(database& db, const std::vector<job_state>& states, std::int64_t older_than,
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

// Every state, with 0 for those no job is in.
std::map<job_state, std::int64_t> count_by_state(database& db);

// Writes one small row (store_state 'ready_probe'): a transaction that changes nothing commits even on a full
// disk, this one does not. For /readyz.
void probe_write(database& db, std::int64_t now);

}  // namespace spacehook::store

#endif
