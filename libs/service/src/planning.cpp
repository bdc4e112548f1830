#include "spacehook/service/planning.hpp"

#include "spacehook/core/clock.hpp"

namespace spacehook::service {

std::vector<store::planned_job> plan_jobs(const rules::matcher& m, const webhook::envelope& e) {
    std::vector<store::planned_job> jobs;
    auto key = file_key_for(e);
    for (auto i : m.candidates(e.trigger, rules::file_view{e.entry_id, e.parent_id, e.title}))
        jobs.push_back({m.rule(i).name, key});
    return jobs;
}

store::delivery delivery_for(const rules::matcher& m, const config::settings& s, const webhook::envelope& e,
                             std::string body, std::string path, std::string source, std::int64_t now) {
    store::delivery d;
    d.path = std::move(path);
    d.webhook_id = e.webhook_id;
    d.event_id = e.event_id;
    d.trigger = e.trigger;
    d.content_key = content_key_for(e);
    d.received_at = now;
    d.max_attempts = s.workers.max_attempts;
    d.jobs = plan_jobs(m, e);
    d.body = std::move(body);
    d.source = std::move(source);
    d.created_on = clock::parse_iso_ms(e.created_on);
    return d;
}

std::optional<std::string> file_key_for(const webhook::envelope& e) {
    if (e.entry_id.empty()) return std::nullopt;
    bool file = e.entry_type == 2 || (e.entry_type == 0 && e.trigger.rfind("file.", 0) == 0);
    if (!file) return std::nullopt;
    return "file:" + e.entry_id;
}

std::optional<std::string> content_key_for(const webhook::envelope& e) {
    if (e.trigger.empty() || e.created_on.empty() || e.created_by.empty() || e.entry_id.empty()) return std::nullopt;
    std::string k;
    k.reserve(e.trigger.size() + e.created_on.size() + e.created_by.size() + e.entry_id.size() + 3);
    k.append(e.trigger).append("|").append(e.created_on).append("|").append(e.created_by).append("|").append(e.entry_id);
    return k;
}

}  // namespace spacehook::service
