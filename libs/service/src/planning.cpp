#include "spacehook/service/planning.hpp"

namespace spacehook::service {

std::vector<store::planned_job> plan_jobs(const rules::matcher& m, const webhook::envelope& e) {
    std::vector<store::planned_job> jobs;
    auto key = file_key_for(e);
    for (auto i : m.candidates(e.trigger, rules::file_view{e.entry_id, e.parent_id, e.title}))
        jobs.push_back({m.rule(i).name, key});
    return jobs;
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
