// The events table: one row per accepted delivery, deduplicated by (webhook_id, event_id). A content key
// spots DocSpace's manual re-sends (a new event.id for the same event, docs/docspace-protocol.md §2.7): such a
// delivery is stored, but its jobs are created as skipped, so the re-send does not repeat the actions.
#ifndef SPACEHOOK_STORE_EVENTS_HPP
#define SPACEHOOK_STORE_EVENTS_HPP

#include "spacehook/store/sqlite.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace spacehook::store {

struct planned_job {
    std::string rule;
    std::optional<std::string> file_key;  // jobs with the same key run one at a time
};

struct delivery {
    std::string path;
    std::string webhook_id;
    std::string event_id;
    std::string trigger;
    std::optional<std::string> content_key;
    std::string body;  // raw bytes
    std::int64_t received_at = 0;
    std::vector<planned_job> jobs;  // one per matching rule
    int max_attempts = 10;
    std::string source = "delivery";         // delivery, backfill or replay (events.source)
    std::optional<std::int64_t> created_on;  // event.createOn (Unix ms), when readable
};

enum class insert_outcome { accepted, duplicate };

struct insert_result {
    insert_outcome outcome = insert_outcome::accepted;
    std::int64_t event_row = 0;  // 0 for a duplicate
    int jobs_created = 0;
    std::int64_t resend_of = 0;  // event row with the same content key, when this delivery is a re-send
};

// Inserts the event and its jobs (queued, run_at = received_at). The jobs are created skipped, with the
// reason, for a re-send, and for an event created before identities were last forgotten by purge() (it may
// have been delivered, run and forgotten). A duplicate (same webhook_id and event_id) inserts nothing.
insert_result insert_delivery(database& db, const delivery& d);

struct event_record {
    std::int64_t id = 0;
    std::string webhook_id, event_id, trigger, path;
    std::int64_t received_at = 0;
    std::string body;  // empty in list results, and once retention purged it
    int jobs = 0;      // number of jobs created for it
    std::string source;  // delivery, backfill or replay
};

struct event_filter {
    std::optional<std::string> trigger;
    std::optional<std::int64_t> since_ms;
    std::optional<std::int64_t> before_id;  // keyset cursor: newest first, ids below this
    int limit = 100;
};

std::vector<event_record> list_events(database& db, const event_filter& f);
// Whether an event with this identity is stored (its body may have been purged).
bool event_known(database& db, std::string_view webhook_id, std::string_view event_id);
// Every webhook.id with an event received since `since_ms`, with the path its newest such event arrived on.
std::vector<std::pair<std::string, std::string>> webhooks_seen(database& db, std::int64_t since_ms);
std::optional<event_record> get_event(database& db, std::int64_t id);

}  // namespace spacehook::store

#endif
