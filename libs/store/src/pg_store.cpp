#include "pg_store.hpp"

#include "spacehook/core/clock.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

namespace spacehook::store::pgstore {
namespace {

using pg::param;

std::string num(std::int64_t v) { return std::to_string(v); }

// ---- events ----------------------------------------------------------------------------------------------

// One round trip per delivery: the event row, the earliest event with the same content (a re-send, looked up in
// the snapshot before the insert, so never the new row itself) and the retention cutoff.
constexpr std::string_view sql_insert_event =
    "WITH prior AS (SELECT id FROM events WHERE content_key = $7 ORDER BY id LIMIT 1), "
    "ins AS (INSERT INTO events(webhook_id, event_id, trigger, received_at, body, path, content_key, source) "
    "  VALUES($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (webhook_id, event_id) DO NOTHING RETURNING id) "
    "SELECT (SELECT id FROM ins), (SELECT id FROM prior), "
    "(SELECT value FROM store_state WHERE key = 'identities_forgotten_before')";
constexpr std::string_view sql_insert_job =
    "INSERT INTO jobs(event_row, rule, state, attempts, max_attempts, run_at, created_at, updated_at, file_key, "
    "last_error) VALUES($1, $2, $6, 0, $3, $4, $4, $4, $5, $7)";
constexpr std::string_view sql_notify_jobs = "SELECT pg_notify('spacehook_jobs', '')";
constexpr std::string_view sql_event_known = "SELECT 1 FROM events WHERE webhook_id = $1 AND event_id = $2";
constexpr std::string_view sql_webhooks_seen =
    "SELECT webhook_id, path FROM events WHERE id IN (SELECT max(id) FROM events WHERE received_at >= $1 "
    "GROUP BY webhook_id) ORDER BY 1";
constexpr std::string_view sql_get_event =
    "SELECT e.id, e.webhook_id, e.event_id, e.trigger, e.path, e.received_at, e.body, "
    "(SELECT count(*) FROM jobs j WHERE j.event_row = e.id), e.source FROM events e WHERE e.id = $1";
constexpr std::string_view sql_list_events =
    "SELECT e.id, e.webhook_id, e.event_id, e.trigger, e.path, e.received_at, "
    "(SELECT count(*) FROM jobs j WHERE j.event_row = e.id), e.source FROM events e "
    "WHERE ($1::text IS NULL OR e.trigger = $1) AND ($2::bigint IS NULL OR e.received_at >= $2) "
    "AND ($4::bigint IS NULL OR e.id < $4) ORDER BY e.id DESC LIMIT $3";

// ---- jobs ------------------------------------------------------------------------------------------------

#define SPACEHOOK_JOB_COLUMNS \
    "id, event_row, rule, state, attempts, max_attempts, run_at, lease_until, last_error, created_at, updated_at, file_key"

// The due job with the smallest run_at whose file has no older unfinished job (per-file FIFO), locked with
// SKIP LOCKED so that concurrent leases (this instance's other connections, other instances) pass over it.
// An older unfinished job of the file blocks a younger one whether or not another session holds it: its row
// is visible as queued, retrying or running to every transaction.
constexpr std::string_view sql_lease =
    "WITH next AS (SELECT j.id FROM jobs AS j WHERE j.state IN ('queued', 'retrying') AND j.run_at <= $1 "
    "  AND (j.file_key IS NULL OR NOT EXISTS (SELECT 1 FROM jobs AS k "
    "    WHERE k.file_key = j.file_key AND k.id < j.id AND k.state IN ('queued', 'retrying', 'running'))) "
    "  ORDER BY j.run_at, j.id LIMIT 1 FOR UPDATE SKIP LOCKED) "
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = $2, updated_at = $1 "
    "FROM next WHERE jobs.id = next.id "
    "RETURNING jobs.id, jobs.event_row, jobs.rule, jobs.state, jobs.attempts, jobs.max_attempts, jobs.run_at, "
    "jobs.lease_until, jobs.last_error, jobs.created_at, jobs.updated_at, jobs.file_key";
constexpr std::string_view sql_next_due = "SELECT min(run_at) FROM jobs WHERE state IN ('queued', 'retrying')";
constexpr std::string_view sql_extend =
    "UPDATE jobs SET lease_until = $3, updated_at = $4 WHERE id = $1 AND attempts = $2 AND state = 'running'";
constexpr std::string_view sql_release_expired =
    "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'retrying' END, "
    "run_at = $1, lease_until = NULL, updated_at = $1, "
    "last_error = 'lease expired: the worker running it stopped or hung' "
    "WHERE state = 'running' AND lease_until < $1";
constexpr std::string_view sql_finish_job =
    "UPDATE jobs SET state = $3, last_error = $4, lease_until = NULL, updated_at = $5, "
    "run_at = CASE WHEN $3 = 'retrying' THEN $6 ELSE run_at END "
    "WHERE id = $1 AND attempts = $2 AND state = 'running'";
constexpr std::string_view sql_release_job =
    "UPDATE jobs SET state = CASE WHEN attempts > 1 THEN 'retrying' ELSE 'queued' END, attempts = attempts - 1, "
    "run_at = $3, lease_until = NULL, updated_at = $3 WHERE id = $1 AND attempts = $2 AND state = 'running'";
// Every step row of a job in one statement: $2 is the action names as a text array, in order.
constexpr std::string_view sql_insert_steps =
    "INSERT INTO job_steps(job_id, idx, action, state, updated_at) "
    "SELECT $1, t.n - 1, t.action, 'pending', $3 FROM unnest($2::text[]) WITH ORDINALITY AS t(action, n) "
    "ON CONFLICT DO NOTHING";
constexpr std::string_view sql_get_steps =
    "SELECT idx, action, state, result, operation FROM job_steps WHERE job_id = $1 ORDER BY idx";
// Step writes hold only while the lease (job id, attempts) does (jobs.cpp). FOR SHARE reads the job's latest row
// version and holds it until COMMIT: a lease expiry and a new lease committed after this statement's snapshot
// are seen (the write then matches nothing), and one not yet committed waits for this transaction.
constexpr std::string_view sql_start_step =
    "UPDATE job_steps SET state = 'started', result = $4, operation = NULL, updated_at = $5 "
    "WHERE job_id = $1 AND idx = $3 AND state IN ('pending', 'started') "
    "AND EXISTS (SELECT 1 FROM jobs WHERE id = $1 AND attempts = $2 AND state = 'running' FOR SHARE)";
constexpr std::string_view sql_finish_step =
    "UPDATE job_steps SET state = $4, result = $5, updated_at = $6 WHERE job_id = $1 AND idx = $3 "
    "AND EXISTS (SELECT 1 FROM jobs WHERE id = $1 AND attempts = $2 AND state = 'running' FOR SHARE)";
constexpr std::string_view sql_step_operation =
    "UPDATE job_steps SET operation = $4, updated_at = $5 WHERE job_id = $1 AND idx = $3 "
    "AND EXISTS (SELECT 1 FROM jobs WHERE id = $1 AND attempts = $2 AND state = 'running' FOR SHARE)";
constexpr std::string_view sql_purge_jobs = "DELETE FROM jobs WHERE state = $1 AND updated_at < $2";
constexpr std::string_view sql_drop_bodies =
    "UPDATE events SET body = ''::bytea WHERE octet_length(body) > 0 AND received_at < $1 "
    "AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.event_row = events.id)";
constexpr std::string_view sql_forget_events =
    "DELETE FROM events WHERE received_at < $1 AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.event_row = events.id)";
constexpr std::string_view sql_note_forgotten =
    "INSERT INTO store_state(key, value) VALUES('identities_forgotten_before', $1) "
    "ON CONFLICT (key) DO UPDATE SET value = GREATEST(store_state.value, excluded.value)";
constexpr std::string_view sql_count_by_state = "SELECT state, count(*) FROM jobs GROUP BY state";
constexpr std::string_view sql_probe_write =
    "INSERT INTO store_state(key, value) VALUES('ready_probe', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
// The operator's filters (job_filter), newest first, between $8 and $7; as SQLite's (jobs.cpp). A purged body is
// empty: no title. json, not jsonb: jsonb refuses a \u0000 escape, which a stored body may hold.
#define SPACEHOOK_EVENT_TITLE \
    "CASE WHEN octet_length(e.body) > 0 THEN convert_from(e.body, 'UTF8')::json->'payload'->>'title' END"
#define SPACEHOOK_JOB_CONDITIONS                                                                                    \
    "($1::text IS NULL OR j.state = $1) AND ($2::text IS NULL OR j.rule = $2) "                                     \
    "AND ($3::bigint IS NULL OR j.created_at >= $3) AND ($4::bigint IS NULL OR j.created_at < $4) "                 \
    "AND ($6::text IS NULL OR j.last_error ILIKE $6 ESCAPE '\\') AND j.id < $7::bigint AND j.id > $8::bigint "
#define SPACEHOOK_TITLE_CONDITION "AND ($5::text IS NULL OR (" SPACEHOOK_EVENT_TITLE ") ILIKE $5 ESCAPE '\\') "
constexpr std::string_view sql_list_jobs =
    "SELECT j.id, j.event_row, j.rule, j.state, j.attempts, j.max_attempts, j.run_at, j.lease_until, j.last_error, "
    "j.created_at, j.updated_at, j.file_key, " SPACEHOOK_EVENT_TITLE " FROM jobs j JOIN events e ON e.id = j.event_row "
    "WHERE " SPACEHOOK_JOB_CONDITIONS SPACEHOOK_TITLE_CONDITION "ORDER BY j.id DESC LIMIT $9";
constexpr std::string_view sql_count_titled_jobs =
    "SELECT count(*) FROM jobs j JOIN events e ON e.id = j.event_row WHERE " SPACEHOOK_JOB_CONDITIONS
    SPACEHOOK_TITLE_CONDITION;
constexpr std::string_view sql_count_jobs =
    "SELECT count(*) FROM jobs j WHERE " SPACEHOOK_JOB_CONDITIONS "AND $5::text IS NULL";
constexpr std::string_view sql_get_job = "SELECT " SPACEHOOK_JOB_COLUMNS " FROM jobs WHERE id = $1";
constexpr std::string_view sql_retry_job =
    "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $2, lease_until = NULL, updated_at = $2, "
    "last_error = NULL WHERE id = $1 AND state IN ('dead', 'cancelled', 'skipped', 'succeeded')";
constexpr std::string_view sql_cancel_job =
    "UPDATE jobs SET state = 'cancelled', lease_until = NULL, updated_at = $2, "
    "last_error = 'cancelled by operator' WHERE id = $1 AND state IN ('queued', 'retrying')";
constexpr std::string_view sql_replay_find = "SELECT id, state FROM jobs WHERE event_row = $1 AND rule = $2";
constexpr std::string_view sql_replay_insert =
    "INSERT INTO jobs(event_row, rule, state, attempts, max_attempts, run_at, created_at, updated_at, file_key) "
    "VALUES($1, $2, 'queued', 0, $3, $4, $4, $4, $5)";
constexpr std::string_view sql_replay_forget_steps = "DELETE FROM job_steps WHERE job_id = $1";
constexpr std::string_view sql_replay_requeue =
    "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $2, lease_until = NULL, last_error = NULL, "
    "updated_at = $2 WHERE id = $1";
constexpr std::string_view sql_replay_source = "UPDATE events SET source = 'replay' WHERE id = $1";
constexpr std::string_view sql_try_lock = "SELECT pg_try_advisory_xact_lock($1)";
// The row is locked by the upsert: of two instances claiming at once, the second sees the first's claim.
constexpr std::string_view sql_claim_turn =
    "INSERT INTO store_state(key, value) VALUES($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value "
    "WHERE store_state.value <= $2 - $3 RETURNING 1";
// The jobs of one file are numbered in the order they commit (see lock_files).
constexpr std::string_view sql_lock_file = "SELECT pg_advisory_xact_lock(hashtextextended($1, 7310593858020254574))";

#undef SPACEHOOK_JOB_COLUMNS

job_state job_state_of(std::string_view text) {
    if (auto s = parse_job_state(text)) return *s;
    throw pg::error(errc::invalid, "", fmt::format("jobs.state holds an unknown state \"{}\"", text));
}

step_state step_state_of(std::string_view text) {
    if (auto s = parse_step_state(text)) return *s;
    throw pg::error(errc::invalid, "", fmt::format("job_steps.state holds an unknown state \"{}\"", text));
}

std::optional<std::int64_t> opt_int64(const pg::result& r, int row, int col) {
    if (r.is_null(row, col)) return std::nullopt;
    return r.int64(row, col);
}

job read_job(const pg::result& r, int row) {
    job j;
    j.id = r.int64(row, 0);
    j.event_row = r.int64(row, 1);
    j.rule = std::string(r.text(row, 2));
    j.state = job_state_of(r.text(row, 3));
    j.attempts = static_cast<int>(r.int64(row, 4));
    j.max_attempts = static_cast<int>(r.int64(row, 5));
    j.run_at = r.int64(row, 6);
    j.lease_until = opt_int64(r, row, 7);
    j.last_error = r.opt_text(row, 8);
    j.created_at = r.int64(row, 9);
    j.updated_at = r.int64(row, 10);
    j.file_key = r.opt_text(row, 11);
    return j;
}

// Takes, until COMMIT, the lock of each distinct file key among `keys`, in sorted order. A job's id comes from
// the identity sequence when it is inserted but the row shows only at COMMIT; without the lock, two transactions
// creating jobs for one file could commit in the other order, and a lease would take the younger job while the
// older one was not yet visible (the per-file rule compares ids). With it, the second waits for the first to
// commit before taking its id. (Two batches that take the locks of two files in opposite orders deadlock:
// PostgreSQL aborts one after deadlock_timeout, 1 s by default, and its tasks run again one by one.)
void lock_files(pg::connection& c, std::vector<std::string_view> keys) {
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    for (auto k : keys) c.run(sql_lock_file, {k});
}

param opt(const std::optional<std::string>& s) {
    if (!s) return std::nullopt;
    return std::string_view(*s);
}

}  // namespace

// ---- events ----------------------------------------------------------------------------------------------

insert_result insert_delivery(pg::connection& c, const delivery& d) {
    const auto received = num(d.received_at);
    const auto body = pg::bytea_param(d.body);
    auto ins = c.run(sql_insert_event,
                     {d.webhook_id, d.event_id, d.trigger, received, body, d.path, opt(d.content_key), d.source});
    if (ins.is_null(0, 0)) return {insert_outcome::duplicate, 0, 0};
    const std::int64_t resend_of = ins.is_null(0, 1) ? 0 : ins.int64(0, 1);
    insert_result out{insert_outcome::accepted, ins.int64(0, 0), 0, resend_of};
    std::optional<std::string> reason;
    if (resend_of)
        reason = fmt::format("a re-send of event row {} (same trigger, createOn, createBy and payload id)", resend_of);
    if (!reason && !d.jobs.empty() && d.created_on && !ins.is_null(0, 2) && *d.created_on < ins.int64(0, 2))
        reason = fmt::format(
            "the event was created {}, before {}: identities of events received before then were forgotten "
            "(retention.dedup_window), so an earlier delivery of it may have run",
            clock::format_iso(*d.created_on), clock::format_iso(ins.int64(0, 2)));
    std::vector<std::string_view> files;
    for (const auto& j : d.jobs)
        if (j.file_key) files.push_back(*j.file_key);
    lock_files(c, std::move(files));
    const auto row = num(out.event_row);
    const auto max_attempts = num(d.max_attempts);
    const std::string_view state = reason ? "skipped" : "queued";
    for (const auto& j : d.jobs) {
        c.run(sql_insert_job, {row, j.rule, max_attempts, received, opt(j.file_key), state, opt(reason)});
        if (!reason) ++out.jobs_created;
    }
    if (out.jobs_created > 0) c.run(sql_notify_jobs, {});
    return out;
}

bool event_known(pg::connection& c, const std::string& webhook_id, const std::string& event_id) {
    return c.run(sql_event_known, {webhook_id, event_id}).rows() > 0;
}

std::vector<std::pair<std::string, std::string>> webhooks_seen(pg::connection& c, std::int64_t since_ms) {
    auto r = c.run(sql_webhooks_seen, {num(since_ms)});
    std::vector<std::pair<std::string, std::string>> out;
    for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0), r.text(i, 1));
    return out;
}

std::optional<event_record> get_event(pg::connection& c, std::int64_t id) {
    auto r = c.run(sql_get_event, {num(id)});
    if (r.rows() == 0) return std::nullopt;
    return event_record{r.int64(0, 0), std::string(r.text(0, 1)), std::string(r.text(0, 2)),
                        std::string(r.text(0, 3)), std::string(r.text(0, 4)), r.int64(0, 5),
                        r.bytes(0, 6), static_cast<int>(r.int64(0, 7)), std::string(r.text(0, 8))};
}

std::vector<event_record> list_events(pg::connection& c, const event_filter& f) {
    std::optional<std::string> since;
    if (f.since_ms) since = num(*f.since_ms);
    std::optional<std::string> before;
    if (f.before_id) before = num(*f.before_id);
    auto r = c.run(sql_list_events, {opt(f.trigger), opt(since), num(f.limit), opt(before)});
    std::vector<event_record> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back({r.int64(i, 0), std::string(r.text(i, 1)), std::string(r.text(i, 2)), std::string(r.text(i, 3)),
                       std::string(r.text(i, 4)), r.int64(i, 5), {}, static_cast<int>(r.int64(i, 6)),
                       std::string(r.text(i, 7))});
    return out;
}

// ---- jobs ------------------------------------------------------------------------------------------------

std::optional<job> lease_next(pg::connection& c, std::int64_t now, std::int64_t lease_ms) {
    auto r = c.run(sql_lease, {num(now), num(now + lease_ms)});
    if (r.rows() == 0) return std::nullopt;
    return read_job(r, 0);
}

std::optional<std::int64_t> next_due(pg::connection& c) {
    auto r = c.run(sql_next_due, {});
    return opt_int64(r, 0, 0);
}

std::vector<step> ensure_steps(pg::connection& c, std::int64_t job_id, const std::vector<std::string>& actions,
                               std::int64_t now) {
    // A text array literal: {"move","notify"}, each element quoted and its quotes and backslashes escaped.
    std::string array = "{";
    for (const auto& a : actions) {
        if (array.size() > 1) array += ',';
        array += '"';
        for (char ch : a) {
            if (ch == '"' || ch == '\\') array += '\\';
            array += ch;
        }
        array += '"';
    }
    array += '}';
    c.run(sql_insert_steps, {num(job_id), array, num(now)});
    return get_steps(c, job_id);
}

std::vector<step> get_steps(pg::connection& c, std::int64_t job_id) {
    auto r = c.run(sql_get_steps, {num(job_id)});
    std::vector<step> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back({static_cast<int>(r.int64(i, 0)), std::string(r.text(i, 1)), step_state_of(r.text(i, 2)),
                       r.opt_text(i, 3), r.opt_text(i, 4)});
    return out;
}

bool extend_lease(pg::connection& c, lease l, std::int64_t lease_until, std::int64_t now) {
    return c.run(sql_extend, {num(l.job_id), num(l.attempts), num(lease_until), num(now)}).affected() == 1;
}

bool start_step(pg::connection& c, lease l, int idx, const std::string& note, std::int64_t now) {
    return c.run(sql_start_step, {num(l.job_id), num(l.attempts), num(idx), note, num(now)}).affected() == 1;
}

bool set_step_operation(pg::connection& c, lease l, int idx, const std::string& operation, std::int64_t now) {
    return c.run(sql_step_operation, {num(l.job_id), num(l.attempts), num(idx), operation, num(now)}).affected() == 1;
}

bool finish_step(pg::connection& c, lease l, const step_end& end, std::int64_t now) {
    if (end.state != step_state::done && end.state != step_state::skipped)
        throw std::invalid_argument("finish_step: a step ends done or skipped");
    return c.run(sql_finish_step, {num(l.job_id), num(l.attempts), num(end.idx), to_string(end.state), end.result,
                                   num(now)})
               .affected() == 1;
}

bool finish_job(pg::connection& c, lease l, const job_end& end, std::int64_t now) {
    if (!is_final(end.state) && end.state != job_state::retrying)
        throw std::invalid_argument("finish_job: an attempt ends succeeded, skipped, dead or retrying");
    // The step first: its write checks the lease the job's transition is about to end.
    if (end.last_step && !finish_step(c, l, *end.last_step, now)) return false;
    return c.run(sql_finish_job, {num(l.job_id), num(l.attempts), to_string(end.state), opt(end.reason), num(now),
                                  num(end.run_at)})
               .affected() == 1;
}

bool release_job(pg::connection& c, lease l, std::int64_t now) {
    return c.run(sql_release_job, {num(l.job_id), num(l.attempts), num(now)}).affected() == 1;
}

int release_expired(pg::connection& c, std::int64_t now) {
    return static_cast<int>(c.run(sql_release_expired, {num(now)}).affected());
}

purge_counts purge(pg::connection& c, const std::vector<job_state>& states, std::int64_t older_than,
                   std::int64_t forget_before) {
    purge_counts out;
    const auto older = num(older_than);
    for (auto s : states) out.jobs += static_cast<int>(c.run(sql_purge_jobs, {to_string(s), older}).affected());
    out.events = static_cast<int>(c.run(sql_drop_bodies, {older}).affected());
    const auto cutoff = num(std::min(older_than, forget_before));
    out.forgotten = static_cast<int>(c.run(sql_forget_events, {cutoff}).affected());
    // From now on an event created before the cutoff may have been stored and forgotten (insert_delivery).
    if (out.forgotten > 0) c.run(sql_note_forgotten, {cutoff});
    return out;
}

std::map<job_state, std::int64_t> count_by_state(pg::connection& c) {
    std::map<job_state, std::int64_t> out;
    for (auto s : all_job_states) out[s] = 0;
    auto r = c.run(sql_count_by_state, {});
    for (int i = 0; i < r.rows(); ++i) out[job_state_of(r.text(i, 0))] = r.int64(i, 1);
    return out;
}

void probe_write(pg::connection& c, std::int64_t now) { c.run(sql_probe_write, {num(now)}); }

namespace {
// The parameters $1..$8 of SPACEHOOK_JOB_CONDITIONS; `texts` keeps the strings they point into.
std::vector<param> job_filter_params(const job_filter& f, bool with_cursor, std::vector<std::optional<std::string>>& texts) {
    texts.clear();
    texts.reserve(8);
    auto add_int = [&](const std::optional<std::int64_t>& v) {
        texts.push_back(v ? std::optional<std::string>(num(*v)) : std::nullopt);
    };
    auto add_like = [&](const std::optional<std::string>& v) {
        texts.push_back(v ? std::optional<std::string>(like_contains(*v)) : std::nullopt);
    };
    texts.push_back(f.state ? std::optional<std::string>(to_string(*f.state)) : std::nullopt);
    texts.push_back(f.rule);
    add_int(f.since_ms);
    add_int(f.until_ms);
    add_like(f.title);
    add_like(f.error);
    texts.push_back(num(with_cursor ? f.before_id.value_or(std::numeric_limits<std::int64_t>::max())
                                    : std::numeric_limits<std::int64_t>::max()));
    texts.push_back(num(with_cursor ? f.after_id.value_or(0) : 0));
    std::vector<param> out;
    for (const auto& t : texts) out.push_back(opt(t));
    return out;
}
}  // namespace

std::vector<job> list_jobs(pg::connection& c, const job_filter& f) {
    std::vector<std::optional<std::string>> texts;
    auto params = job_filter_params(f, true, texts);
    const auto limit = num(f.limit);
    params.push_back(std::string_view(limit));
    auto r = c.run(sql_list_jobs, params);
    std::vector<job> out;
    for (int i = 0; i < r.rows(); ++i) {
        out.push_back(read_job(r, i));
        out.back().title = r.opt_text(i, 12);
    }
    return out;
}

std::int64_t count_jobs(pg::connection& c, const job_filter& f) {
    std::vector<std::optional<std::string>> texts;
    auto r = c.run(f.title ? sql_count_titled_jobs : sql_count_jobs, job_filter_params(f, false, texts));
    return r.int64(0, 0);
}

std::int64_t max_job_id(pg::connection& c) {
    return c.run("SELECT coalesce(max(id), 0) FROM jobs", {}).int64(0, 0);
}

std::optional<job> get_job(pg::connection& c, std::int64_t id) {
    auto r = c.run(sql_get_job, {num(id)});
    if (r.rows() == 0) return std::nullopt;
    return read_job(r, 0);
}

bool retry_job(pg::connection& c, std::int64_t id, std::int64_t now) {
    return c.run(sql_retry_job, {num(id), num(now)}).affected() == 1;
}

bool cancel_job(pg::connection& c, std::int64_t id, std::int64_t now) {
    return c.run(sql_cancel_job, {num(id), num(now)}).affected() == 1;
}

replay_counts replay_event(pg::connection& c, std::int64_t event_row, const std::vector<std::string>& rules,
                           const std::optional<std::string>& file_key, int max_attempts, std::int64_t now) {
    replay_counts out;
    const auto row = num(event_row), at = num(now);
    if (file_key) lock_files(c, {*file_key});
    for (const auto& rule : rules) {
        auto found = c.run(sql_replay_find, {row, rule});
        if (found.rows() == 0) {
            c.run(sql_replay_insert, {row, rule, num(max_attempts), at, opt(file_key)});
            ++out.created;
            continue;
        }
        const auto id = num(found.int64(0, 0));
        if (!is_final(job_state_of(found.text(0, 1)))) {
            ++out.busy;
            continue;
        }
        c.run(sql_replay_forget_steps, {id});
        c.run(sql_replay_requeue, {id, at});
        ++out.requeued;
    }
    if (out.created + out.requeued > 0) {
        c.run(sql_replay_source, {row});
        c.run(sql_notify_jobs, {});
    }
    return out;
}

bool claim_turn(pg::connection& c, const std::string& name, std::int64_t now, std::int64_t period_ms) {
    return c.run(sql_claim_turn, {name, num(now), num(period_ms)}).rows() > 0;
}

bool try_xact_lock(pg::connection& c, std::int64_t key) { return c.run(sql_try_lock, {num(key)}).text(0, 0) == "t"; }

}  // namespace spacehook::store::pgstore
