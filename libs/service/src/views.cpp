#include "spacehook/service/views.hpp"

#include "spacehook/core/clock.hpp"
#include "spacehook/rules/matcher.hpp"
#include "spacehook/service/planning.hpp"
#include "spacehook/webhook/envelope.hpp"

#include <fmt/format.h>

namespace spacehook::service {
namespace json = boost::json;

namespace {
json::value opt_text(const std::optional<std::string>& s) { return s ? json::value(*s) : json::value(nullptr); }
}  // namespace

json::object job_json(const store::job& j) {
    json::object o;
    o["id"] = j.id;
    o["event_row"] = j.event_row;
    o["rule"] = j.rule;
    o["state"] = store::to_string(j.state);
    o["attempts"] = j.attempts;
    o["max_attempts"] = j.max_attempts;
    o["run_at"] = clock::format_iso(j.run_at);
    o["lease_until"] = j.lease_until ? json::value(clock::format_iso(*j.lease_until)) : json::value(nullptr);
    o["last_error"] = opt_text(j.last_error);
    o["created_at"] = clock::format_iso(j.created_at);
    o["updated_at"] = clock::format_iso(j.updated_at);
    o["file_key"] = opt_text(j.file_key);
    if (j.title) o["title"] = *j.title;
    return o;
}

json::object step_json(const store::step& s) {
    return {{"idx", s.idx}, {"action", s.action}, {"state", store::to_string(s.state)}, {"result", opt_text(s.result)}};
}

json::object event_json(const store::event_record& e, bool with_body) {
    json::object o{{"id", e.id},
                   {"webhook_id", e.webhook_id},
                   {"event_id", e.event_id},
                   {"trigger", e.trigger},
                   {"path", e.path},
                   {"received_at", clock::format_iso(e.received_at)},
                   {"jobs", e.jobs},
                   {"source", e.source}};
    if (with_body) o["body"] = e.body;
    return o;
}

replay_result replay_event(store::admin& db, const config::settings& s, std::int64_t event_row, std::int64_t now) {
    replay_result r;
    auto e = db.get_event(event_row);
    if (!e) {
        r.outcome = replay_result::status::no_event;
        return r;
    }
    if (e->body.empty()) {
        r.outcome = replay_result::status::refused;
        r.why = fmt::format("event {}: its body was purged by retention; there is nothing to replay", event_row);
        return r;
    }
    auto parsed = webhook::parse_envelope(e->body);
    if (auto* why = std::get_if<std::string>(&parsed)) {
        r.outcome = replay_result::status::refused;
        r.why = fmt::format("event {}: {}", event_row, *why);
        return r;
    }
    const auto& env = std::get<webhook::envelope>(parsed);
    rules::matcher m(s.rules);
    std::vector<std::string> names;
    for (const auto& p : plan_jobs(m, env)) names.push_back(p.rule);
    r.rules = names.size();
    r.counts = db.replay_event(event_row, names, file_key_for(env), s.workers.max_attempts, now);
    return r;
}

}  // namespace spacehook::service
