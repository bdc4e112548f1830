#include "spacehook/store/events.hpp"

#include "spacehook/core/clock.hpp"

namespace spacehook::store {
namespace {
constexpr std::string_view sql_insert_event =
    "INSERT INTO events(webhook_id, event_id, trigger, received_at, body, path, content_key, source) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING";
constexpr std::string_view sql_event_known = "SELECT 1 FROM events WHERE webhook_id = ?1 AND event_id = ?2";
constexpr std::string_view sql_forgotten_before =
    "SELECT value FROM store_state WHERE key = 'identities_forgotten_before'";
constexpr std::string_view sql_find_content =
    "SELECT id FROM events WHERE content_key = ?1 ORDER BY id LIMIT 1";
constexpr std::string_view sql_insert_job =
    "INSERT INTO jobs(event_row, rule, state, attempts, max_attempts, run_at, created_at, updated_at, file_key, "
    "last_error) VALUES(?1, ?2, ?6, 0, ?3, ?4, ?4, ?4, ?5, ?7)";
}  // namespace

insert_result insert_delivery(database& db, const delivery& d) {
    std::int64_t resend_of = 0;
    if (d.content_key) {
        auto& find = db.cached(sql_find_content);
        find.bind(1, *d.content_key);
        if (find.step()) resend_of = find.int64(0);
        find.reset();
    }
    auto& ins = db.cached(sql_insert_event);
    ins.bind(1, d.webhook_id)
        .bind(2, d.event_id)
        .bind(3, d.trigger)
        .bind(4, d.received_at)
        .bind_blob(5, d.body)
        .bind(6, d.path)
        .bind(7, d.content_key)
        .bind(8, d.source);
    ins.run();
    if (db.changes() == 0) return {insert_outcome::duplicate, 0, 0};
    insert_result r{insert_outcome::accepted, db.last_insert_rowid(), 0, resend_of};
    std::optional<std::string> reason;
    if (resend_of)
        reason = "a re-send of event row " + std::to_string(resend_of) + " (same trigger, createOn, createBy and payload id)";
    if (!reason && !d.jobs.empty() && d.created_on) {
        auto& st = db.cached(sql_forgotten_before);
        if (st.step() && *d.created_on < st.int64(0))
            reason = "the event was created " + clock::format_iso(*d.created_on) + ", before " +
                     clock::format_iso(st.int64(0)) +
                     ": identities of events received before then were forgotten (retention.dedup_window), so an "
                     "earlier delivery of it may have run";
        st.reset();
    }
    for (const auto& j : d.jobs) {
        auto& job = db.cached(sql_insert_job);
        job.bind(1, r.event_row).bind(2, j.rule).bind(3, d.max_attempts).bind(4, d.received_at).bind(5, j.file_key);
        job.bind(6, reason ? "skipped" : "queued").bind(7, reason);
        job.run();
        if (!reason) ++r.jobs_created;
    }
    return r;
}

bool event_known(database& db, std::string_view webhook_id, std::string_view event_id) {
    auto& st = db.cached(sql_event_known);
    st.bind(1, webhook_id).bind(2, event_id);
    const bool found = st.step();
    st.reset();
    return found;
}

std::vector<std::pair<std::string, std::string>> webhooks_seen(database& db, std::int64_t since_ms) {
    // events_received_at bounds the read to the window; the newest path per webhook wins.
    auto st = db.prepare(
        "SELECT webhook_id, path FROM events WHERE id IN (SELECT max(id) FROM events WHERE received_at >= ?1 "
        "GROUP BY webhook_id) ORDER BY 1");
    st.bind(1, since_ms);
    std::vector<std::pair<std::string, std::string>> out;
    while (st.step()) out.emplace_back(st.text(0), st.text(1));
    return out;
}

std::vector<event_record> list_events(database& db, const event_filter& f) {
    auto st = db.prepare(
        "SELECT e.id, e.webhook_id, e.event_id, e.trigger, e.path, e.received_at, "
        "(SELECT count(*) FROM jobs j WHERE j.event_row = e.id), e.source FROM events e "
        "WHERE (?1 IS NULL OR e.trigger = ?1) AND (?2 IS NULL OR e.received_at >= ?2) "
        "AND (?4 IS NULL OR e.id < ?4) ORDER BY e.id DESC LIMIT ?3");
    st.bind(1, f.trigger);
    if (f.since_ms) st.bind(2, *f.since_ms);
    else st.bind(2, std::nullopt);
    st.bind(3, f.limit);
    if (f.before_id) st.bind(4, *f.before_id);
    else st.bind(4, std::nullopt);
    std::vector<event_record> out;
    while (st.step())
        out.push_back({st.int64(0), st.text(1), st.text(2), st.text(3), st.text(4), st.int64(5), {},
                       static_cast<int>(st.int64(6)), st.text(7)});
    return out;
}

std::optional<event_record> get_event(database& db, std::int64_t id) {
    // Every job's attempt reads its event: prepared once per connection.
    static constexpr std::string_view sql =
        "SELECT e.id, e.webhook_id, e.event_id, e.trigger, e.path, e.received_at, e.body, "
        "(SELECT count(*) FROM jobs j WHERE j.event_row = e.id), e.source FROM events e WHERE e.id = ?1";
    auto& st = db.cached(sql);
    // Reset however this ends: a statement left on its row would hold the read connection's snapshot open.
    struct reset_at_exit {
        statement& s;
        ~reset_at_exit() { s.reset(); }
    } guard{st};
    st.bind(1, id);
    if (!st.step()) return std::nullopt;
    return event_record{st.int64(0), st.text(1), st.text(2), st.text(3), st.text(4), st.int64(5), st.text(6),
                        static_cast<int>(st.int64(7)), st.text(8)};
}

}  // namespace spacehook::store
