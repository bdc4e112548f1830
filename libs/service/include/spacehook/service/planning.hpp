// Which jobs a delivery creates: one per rule whose trigger and payload-only filters pass (stage 1 of
// rule matching, rules::matcher::prefilter). Used by ingestion and by `spacehook events replay`.
#ifndef SPACEHOOK_SERVICE_PLANNING_HPP
#define SPACEHOOK_SERVICE_PLANNING_HPP

#include "spacehook/config/settings.hpp"
#include "spacehook/rules/matcher.hpp"
#include "spacehook/store/events.hpp"
#include "spacehook/webhook/envelope.hpp"

#include <optional>
#include <string>
#include <vector>

namespace spacehook::service {

std::vector<store::planned_job> plan_jobs(const rules::matcher& m, const webhook::envelope& e);

// The row a delivery is stored as, whether DocSpace POSTed it or the backfill read it from DocSpace's delivery
// log: its identity, content key, creation time and planned jobs.
store::delivery delivery_for(const rules::matcher& m, const config::settings& s, const webhook::envelope& e,
                             std::string body, std::string path, std::string source, std::int64_t now);

// File events on the same file share a key so their jobs run one at a time, in arrival order.
std::optional<std::string> file_key_for(const webhook::envelope& e);
// trigger|createOn|createBy|payload.id: the identity of a DocSpace event across manual re-sends (which get a
// new event.id, docs/docspace-protocol.md §2.7); nullopt when any part is missing.
std::optional<std::string> content_key_for(const webhook::envelope& e);

}  // namespace spacehook::service

#endif
