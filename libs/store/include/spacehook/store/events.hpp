// The events table: one row per accepted delivery, deduplicated by (webhook_id, event_id) and by a
// content key that catches DocSpace's manual re-sends (which get a new event.id, protocol 2.7).
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
};

enum class insert_outcome { accepted, duplicate };

struct insert_result {
    insert_outcome outcome = insert_outcome::accepted;
    std::int64_t event_row = 0;  // 0 for a duplicate
    int jobs_created = 0;
};

// Inserts the event and its jobs (state queued, run_at = received_at). A duplicate inserts nothing.
insert_result insert_delivery(database& db, const delivery& d);

struct event_record {
    std::int64_t id = 0;
    std::string webhook_id, event_id, trigger, path;
    std::int64_t received_at = 0;
    std::string body;  // empty in list results
    int jobs = 0;      // number of jobs created for it
};

struct event_filter {
    std::optional<std::string> trigger;
    std::optional<std::int64_t> since_ms;
    int limit = 100;
};

std::vector<event_record> list_events(database& db, const event_filter& f);
std::optional<event_record> get_event(database& db, std::int64_t id);

}  // namespace spacehook::store

#endif
