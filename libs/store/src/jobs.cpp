#include "spacehook/store/jobs.hpp"

#include <algorithm>
#include <limits>
#include <ostream>

#include <fmt/format.h>

namespace spacehook::store {

namespace {

// The names stored in jobs.state and job_steps.state, in enum order.
constexpr std::string_view job_state_names[] = {"queued", "running", "retrying", "succeeded", "skipped", "dead", "cancelled"};
constexpr std::string_view step_state_names[] = {"pending", "started", "done", "skipped"};

template <class E, std::size_t N>
std::optional<E> parse_name(const std::string_view (&names)[N], std::string_view s) {
    for (std::size_t i = 0; i < N; ++i)
        if (names[i] == s) return static_cast<E>(i);
    return std::nullopt;
}

}  // namespace

std::string_view to_string(job_state s) { return job_state_names[static_cast<std::size_t>(s)]; }
std::optional<job_state> parse_job_state(std::string_view s) { return parse_name<job_state>(job_state_names, s); }
std::string_view to_string(step_state s) { return step_state_names[static_cast<std::size_t>(s)]; }
std::optional<step_state> parse_step_state(std::string_view s) { return parse_name<step_state>(step_state_names, s); }

bool is_final(job_state s) {
    return s == job_state::succeeded || s == job_state::skipped || s == job_state::dead || s == job_state::cancelled;
}

std::ostream& operator<<(std::ostream& os, job_state s) { return os << to_string(s); }
std::ostream& operator<<(std::ostream& os, step_state s) { return os << to_string(s); }

namespace {

// The schema's CHECK constraints keep other names out; a row that has one anyway is a damaged database.
job_state job_state_column(const statement& st, int col) {
    auto text = st.text(col);
    if (auto s = parse_job_state(text)) return *s;
    throw error(11 /* SQLITE_CORRUPT */, fmt::format("jobs.state holds an unknown state \"{}\"", text));
}

step_state step_state_column(const statement& st, int col) {
    auto text = st.text(col);
    if (auto s = parse_step_state(text)) return *s;
    throw error(11 /* SQLITE_CORRUPT */, fmt::format("job_steps.state holds an unknown state \"{}\"", text));
}

constexpr std::string_view job_columns =
    "id, event_row, rule, state, attempts, max_attempts, run_at, lease_until, last_error, created_at, updated_at, file_key";

job read_job(const statement& st) {
    job j;
    j.id = st.int64(0);
    j.event_row = st.int64(1);
    j.rule = st.text(2);
    j.state = job_state_column(st, 3);
    j.attempts = static_cast<int>(st.int64(4));
    j.max_attempts = static_cast<int>(st.int64(5));
    j.run_at = st.int64(6);
    j.lease_until = st.opt_int64(7);
    j.last_error = st.opt_text(8);
    j.created_at = st.int64(9);
    j.updated_at = st.int64(10);
    j.file_key = st.opt_text(11);
    return j;
}

// The due job with the smallest run_at whose file has no older unfinished job (per-file FIFO).
// INDEXED BY jobs_due: walked in run_at order, the subquery stops at the first leasable job. Left to itself,
// SQLite 3.40 (no ANALYZE statistics) takes jobs_state_updated for `state IN (...)`, reads every queued job
// and sorts them: O(queued) per lease, on the writer thread (bench/backlog: 35 ms at 10k, 12.5 s at 1M).
// The subquery's state test is jobs_file_active's predicate word for word (migrations/0004), so it uses that index.
constexpr std::string_view sql_lease_pick =
    "SELECT j.id FROM jobs AS j INDEXED BY jobs_due "
    "WHERE j.state IN ('queued', 'retrying') AND j.run_at <= ?1 "
    "  AND (j.file_key IS NULL OR NOT EXISTS (SELECT 1 FROM jobs AS k "
    "    WHERE k.file_key = j.file_key AND k.id < j.id AND (k.state IN ('queued', 'retrying') OR k.state = 'running'))) "
    "ORDER BY j.run_at LIMIT 1";
// Then the picked job, in the same transaction (the writer's): no RETURNING, which SQLite 3.40 buffers through a
// temporary b-tree at every execution.
constexpr std::string_view sql_lease_take =
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?3, updated_at = ?2 WHERE id = ?1";

constexpr std::string_view sql_extend =
    "UPDATE jobs SET lease_until = ?3, updated_at = ?4 WHERE id = ?1 AND attempts = ?2 AND state = 'running'";

constexpr std::string_view sql_release_expired =
    "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'retrying' END, "
    "run_at = ?1, lease_until = NULL, updated_at = ?1, "
    "last_error = 'lease expired: the worker running it stopped or hung' "
    "WHERE state = 'running' AND (?2 OR lease_until < ?1)";

// One probe of jobs_due (min() on its key) instead of reading every queued job through jobs_state_updated.
constexpr std::string_view sql_next_due =
    "SELECT min(run_at) FROM jobs INDEXED BY jobs_due WHERE state IN ('queued', 'retrying')";

// running -> succeeded/skipped/dead (run_at unchanged) or retrying at ?6.
constexpr std::string_view sql_finish_job =
    "UPDATE jobs SET state = ?3, last_error = ?4, lease_until = NULL, updated_at = ?5, "
    "run_at = CASE WHEN ?3 = 'retrying' THEN ?6 ELSE run_at END "
    "WHERE id = ?1 AND attempts = ?2 AND state = 'running'";

constexpr std::string_view sql_release_job =
    "UPDATE jobs SET state = CASE WHEN attempts > 1 THEN 'retrying' ELSE 'queued' END, attempts = attempts - 1, "
    "run_at = ?3, lease_until = NULL, updated_at = ?3 WHERE id = ?1 AND attempts = ?2 AND state = 'running'";

constexpr std::string_view sql_insert_step =
    "INSERT INTO job_steps(job_id, idx, action, state, updated_at) VALUES(?1, ?2, ?3, 'pending', ?4) "
    "ON CONFLICT DO NOTHING";
constexpr std::string_view sql_get_steps =
    "SELECT idx, action, state, result, operation FROM job_steps WHERE job_id = ?1 ORDER BY idx";
// Step writes hold only while the lease (job id, attempts) does: a worker whose lease expired and was taken
// over must not mark or finish a step of the newer attempt.
constexpr std::string_view sql_start_step =
    "UPDATE job_steps SET state = 'started', result = ?4, operation = NULL, updated_at = ?5 "
    "WHERE job_id = ?1 AND idx = ?3 AND state IN ('pending', 'started') "
    "AND EXISTS (SELECT 1 FROM jobs WHERE id = ?1 AND attempts = ?2 AND state = 'running')";
constexpr std::string_view sql_finish_step =
    "UPDATE job_steps SET state = ?4, result = ?5, updated_at = ?6 WHERE job_id = ?1 AND idx = ?3 "
    "AND EXISTS (SELECT 1 FROM jobs WHERE id = ?1 AND attempts = ?2 AND state = 'running')";
constexpr std::string_view sql_step_operation =
    "UPDATE job_steps SET operation = ?4, updated_at = ?5 WHERE job_id = ?1 AND idx = ?3 "
    "AND EXISTS (SELECT 1 FROM jobs WHERE id = ?1 AND attempts = ?2 AND state = 'running')";

// The operator's filters (job_filter), walked backwards along the primary key between ?9 and ?7: a page costs the
// rows between its cursor and its last match (bench/admin). Counting without a title filter reads jobs alone. A
// purged event's body is empty, not JSON: its title is NULL.
#define SPACEHOOK_EVENT_TITLE \
    "CASE WHEN length(e.body) > 0 THEN json_extract(CAST(e.body AS TEXT), '$.payload.title') END"
#define SPACEHOOK_JOB_CONDITIONS                                                                                   \
    "(?1 IS NULL OR j.state = ?1) AND (?2 IS NULL OR j.rule = ?2) AND (?3 IS NULL OR j.created_at >= ?3) "           \
    "AND (?4 IS NULL OR j.created_at < ?4) AND (?6 IS NULL OR j.last_error LIKE ?6 ESCAPE '\\') AND j.id < ?7 "      \
    "AND j.id > ?9 "
#define SPACEHOOK_TITLE_CONDITION "AND (?5 IS NULL OR " SPACEHOOK_EVENT_TITLE " LIKE ?5 ESCAPE '\\') "
constexpr std::string_view sql_list_jobs =
    "SELECT j.id, j.event_row, j.rule, j.state, j.attempts, j.max_attempts, j.run_at, j.lease_until, j.last_error, "
    "j.created_at, j.updated_at, j.file_key, " SPACEHOOK_EVENT_TITLE " FROM jobs j JOIN events e ON e.id = j.event_row "
    "WHERE " SPACEHOOK_JOB_CONDITIONS SPACEHOOK_TITLE_CONDITION "ORDER BY j.id DESC LIMIT ?8";
constexpr std::string_view sql_count_titled_jobs =
    "SELECT count(*) FROM jobs j JOIN events e ON e.id = j.event_row WHERE " SPACEHOOK_JOB_CONDITIONS
    SPACEHOOK_TITLE_CONDITION;
constexpr std::string_view sql_count_jobs =
    "SELECT count(*) FROM jobs j WHERE " SPACEHOOK_JOB_CONDITIONS "AND ?5 IS NULL AND ?8 IS NULL";
constexpr std::string_view sql_get_job =
    "SELECT id, event_row, rule, state, attempts, max_attempts, run_at, lease_until, last_error, created_at, "
    "updated_at, file_key FROM jobs WHERE id = ?1";
constexpr std::string_view sql_retry_job =
    "UPDATE jobs SET state = 'queued', attempts = 0, run_at = ?2, lease_until = NULL, updated_at = ?2, "
    "last_error = NULL WHERE id = ?1 AND state IN ('dead', 'cancelled', 'skipped', 'succeeded')";
constexpr std::string_view sql_cancel_job =
    "UPDATE jobs SET state = 'cancelled', lease_until = NULL, updated_at = ?2, "
    "last_error = 'cancelled by operator' WHERE id = ?1 AND state IN ('queued', 'retrying')";
constexpr std::string_view sql_purge_jobs = "DELETE FROM jobs WHERE state = ?1 AND updated_at < ?2";
// An event's identity outlives its body: the same delivery arriving again must still be a duplicate.
// (events_with_body keeps this to the events that still have one.)
constexpr std::string_view sql_drop_bodies =
    "UPDATE events SET body = X'' WHERE length(body) > 0 AND received_at < ?1 "
    "AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.event_row = events.id)";
constexpr std::string_view sql_forget_events =
    "DELETE FROM events WHERE received_at < ?1 AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.event_row = events.id)";
constexpr std::string_view sql_note_forgotten =
    "INSERT INTO store_state(key, value) VALUES('identities_forgotten_before', ?1) "
    "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)";
constexpr std::string_view sql_replay_find = "SELECT id, state FROM jobs WHERE event_row = ?1 AND rule = ?2";
constexpr std::string_view sql_replay_insert =
    "INSERT INTO jobs(event_row, rule, state, attempts, max_attempts, run_at, created_at, updated_at, file_key) "
    "VALUES(?1, ?2, 'queued', 0, ?3, ?4, ?4, ?4, ?5)";
constexpr std::string_view sql_replay_forget_steps = "DELETE FROM job_steps WHERE job_id = ?1";
constexpr std::string_view sql_replay_requeue =
    "UPDATE jobs SET state = 'queued', attempts = 0, run_at = ?2, lease_until = NULL, last_error = NULL, "
    "updated_at = ?2 WHERE id = ?1";
constexpr std::string_view sql_replay_source = "UPDATE events SET source = 'replay' WHERE id = ?1";
constexpr std::string_view sql_count_by_state = "SELECT state, count(*) FROM jobs GROUP BY state";
constexpr std::string_view sql_probe_write =
    "INSERT INTO store_state(key, value) VALUES('ready_probe', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value";

}  // namespace

std::optional<job> lease_next(database& db, std::int64_t now, std::int64_t lease_ms) {
    auto& pick = db.cached(sql_lease_pick);
    pick.bind(1, now);
    if (!pick.step()) return std::nullopt;
    const auto id = pick.int64(0);
    pick.reset();
    db.cached(sql_lease_take).bind(1, id).bind(2, now).bind(3, now + lease_ms).run();
    return get_job(db, id);
}

bool extend_lease(database& db, lease l, std::int64_t lease_until, std::int64_t now) {
    auto& st = db.cached(sql_extend);
    st.bind(1, l.job_id).bind(2, l.attempts).bind(3, lease_until).bind(4, now);
    st.run();
    return db.changes() == 1;
}

int release_expired(database& db, std::int64_t now, bool all) {
    auto& st = db.cached(sql_release_expired);
    st.bind(1, now).bind(2, all ? 1 : 0);
    st.run();
    return db.changes();
}

std::optional<std::int64_t> next_due(database& db) {
    auto& st = db.cached(sql_next_due);
    if (!st.step()) return std::nullopt;
    auto v = st.opt_int64(0);
    st.reset();
    return v;
}

std::vector<step> ensure_steps(database& db, std::int64_t job_id, const std::vector<std::string>& actions, std::int64_t now) {
    for (std::size_t i = 0; i < actions.size(); ++i) {
        auto& st = db.cached(sql_insert_step);
        st.bind(1, job_id).bind(2, static_cast<std::int64_t>(i)).bind(3, actions[i]).bind(4, now);
        st.run();
    }
    return get_steps(db, job_id);
}

std::vector<step> get_steps(database& db, std::int64_t job_id) {
    auto& st = db.cached(sql_get_steps);
    st.bind(1, job_id);
    std::vector<step> out;
    while (st.step())
        out.push_back({static_cast<int>(st.int64(0)), st.text(1), step_state_column(st, 2), st.opt_text(3), st.opt_text(4)});
    return out;
}

bool start_step(database& db, lease l, int idx, std::string_view note, std::int64_t now) {
    auto& st = db.cached(sql_start_step);
    st.bind(1, l.job_id).bind(2, l.attempts).bind(3, idx).bind(4, note).bind(5, now);
    st.run();
    return db.changes() == 1;
}

bool set_step_operation(database& db, lease l, int idx, std::string_view operation, std::int64_t now) {
    auto& st = db.cached(sql_step_operation);
    st.bind(1, l.job_id).bind(2, l.attempts).bind(3, idx).bind(4, operation).bind(5, now);
    st.run();
    return db.changes() == 1;
}

bool finish_step(database& db, lease l, const step_end& end, std::int64_t now) {
    if (end.state != step_state::done && end.state != step_state::skipped)
        throw std::invalid_argument("finish_step: a step ends done or skipped");
    auto& st = db.cached(sql_finish_step);
    st.bind(1, l.job_id).bind(2, l.attempts).bind(3, end.idx).bind(4, to_string(end.state)).bind(5, end.result).bind(6, now);
    st.run();
    return db.changes() == 1;
}

bool finish_job(database& db, lease l, const job_end& end, std::int64_t now) {
    if (!is_final(end.state) && end.state != job_state::retrying)
        throw std::invalid_argument("finish_job: an attempt ends succeeded, skipped, dead or retrying");
    // The step first: its write checks the lease the job's transition is about to end.
    if (end.last_step && !finish_step(db, l, *end.last_step, now)) return false;
    auto& st = db.cached(sql_finish_job);
    st.bind(1, l.job_id).bind(2, l.attempts).bind(3, to_string(end.state)).bind(4, end.reason).bind(5, now).bind(6, end.run_at);
    st.run();
    return db.changes() == 1;
}

bool release_job(database& db, lease l, std::int64_t now) {
    auto& st = db.cached(sql_release_job);
    st.bind(1, l.job_id).bind(2, l.attempts).bind(3, now);
    st.run();
    return db.changes() == 1;
}

std::string like_contains(std::string_view text) {
    std::string out = "%";
    for (char c : text) {
        if (c == '%' || c == '_' || c == '\\') out += '\\';
        out += c;
    }
    return out + "%";
}

namespace {
void bind_job_filter(statement& st, const job_filter& f, bool with_cursor) {
    auto opt_int = [&](int i, const std::optional<std::int64_t>& v) {
        if (v) st.bind(i, *v);
        else st.bind(i, std::nullopt);
    };
    auto opt_like = [&](int i, const std::optional<std::string>& v) {
        if (v) st.bind(i, like_contains(*v));
        else st.bind(i, std::nullopt);
    };
    if (f.state) st.bind(1, to_string(*f.state));
    else st.bind(1, std::nullopt);
    st.bind(2, f.rule);
    opt_int(3, f.since_ms);
    opt_int(4, f.until_ms);
    opt_like(5, f.title);
    opt_like(6, f.error);
    st.bind(7, with_cursor ? f.before_id.value_or(std::numeric_limits<std::int64_t>::max())
                           : std::numeric_limits<std::int64_t>::max());
    st.bind(9, with_cursor ? f.after_id.value_or(0) : 0);
}
}  // namespace

std::vector<job> list_jobs(database& db, const job_filter& f) {
    auto& st = db.cached(sql_list_jobs);
    bind_job_filter(st, f, true);
    st.bind(8, f.limit);
    std::vector<job> out;
    while (st.step()) {
        out.push_back(read_job(st));
        out.back().title = st.opt_text(12);
    }
    return out;
}

std::int64_t count_jobs(database& db, const job_filter& f) {
    auto& st = db.cached(f.title ? sql_count_titled_jobs : sql_count_jobs);
    bind_job_filter(st, f, false);
    st.bind(8, std::nullopt);
    st.step();
    auto n = st.int64(0);
    st.reset();
    return n;
}

std::int64_t max_job_id(database& db) {
    auto& st = db.cached("SELECT coalesce(max(id), 0) FROM jobs");
    st.step();
    auto n = st.int64(0);
    st.reset();
    return n;
}

std::optional<job> get_job(database& db, std::int64_t id) {
    auto& st = db.cached(sql_get_job);
    st.bind(1, id);
    if (!st.step()) return std::nullopt;
    auto j = read_job(st);
    st.reset();
    return j;
}

bool retry_job(database& db, std::int64_t id, std::int64_t now) {
    auto& st = db.cached(sql_retry_job);
    st.bind(1, id).bind(2, now).run();
    return db.changes() == 1;
}

bool cancel_job(database& db, std::int64_t id, std::int64_t now) {
    auto& st = db.cached(sql_cancel_job);
    st.bind(1, id).bind(2, now).run();
    return db.changes() == 1;
}

purge_counts purge(database& db, const std::vector<job_state>& states, std::int64_t older_than,
                   std::int64_t forget_before) {
    purge_counts c;
    for (auto s : states) {
        auto& st = db.cached(sql_purge_jobs);
        st.bind(1, to_string(s)).bind(2, older_than).run();
        c.jobs += db.changes();
    }
    db.cached(sql_drop_bodies).bind(1, older_than).run();
    c.events = db.changes();
    const auto cutoff = std::min(older_than, forget_before);
    db.cached(sql_forget_events).bind(1, cutoff).run();
    c.forgotten = db.changes();
    // From now on an event created before the cutoff may have been stored and forgotten (insert_delivery).
    if (c.forgotten > 0) db.cached(sql_note_forgotten).bind(1, cutoff).run();
    return c;
}

replay_counts replay_event(database& db, std::int64_t event_row, const std::vector<std::string>& rules,
                           const std::optional<std::string>& file_key, int max_attempts, std::int64_t now) {
    replay_counts c;
    for (const auto& rule : rules) {
        auto& find = db.cached(sql_replay_find);
        find.bind(1, event_row).bind(2, rule);
        if (!find.step()) {
            find.reset();
            db.cached(sql_replay_insert).bind(1, event_row).bind(2, rule).bind(3, max_attempts).bind(4, now).bind(5, file_key).run();
            ++c.created;
            continue;
        }
        const auto id = find.int64(0);
        const auto state = job_state_column(find, 1);
        find.reset();
        if (!is_final(state)) {
            ++c.busy;
            continue;
        }
        db.cached(sql_replay_forget_steps).bind(1, id).run();
        db.cached(sql_replay_requeue).bind(1, id).bind(2, now).run();
        ++c.requeued;
    }
    if (c.created + c.requeued > 0) db.cached(sql_replay_source).bind(1, event_row).run();
    return c;
}

std::map<job_state, std::int64_t> count_by_state(database& db) {
    std::map<job_state, std::int64_t> out;
    for (auto s : all_job_states) out[s] = 0;
    auto& st = db.cached(sql_count_by_state);
    while (st.step()) out[job_state_column(st, 0)] = st.int64(1);
    return out;
}

void probe_write(database& db, std::int64_t now) {
    auto& st = db.cached(sql_probe_write);
    st.bind(1, now);
    st.run();
}

}  // namespace spacehook::store
