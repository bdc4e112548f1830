#include "spacehook/rules/matcher.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace spacehook::rules {

std::string_view to_string(mismatch m) {
    switch (m) {
    case mismatch::none: return "none";
    case mismatch::trigger: return "trigger";
    case mismatch::invalid_rule: return "invalid_rule";
    case mismatch::title: return "title";
    case mismatch::folder: return "folder";
    case mismatch::room: return "room";
    case mismatch::unknown_ancestry: return "unknown_ancestry";
    }
    return "?";
}


matcher::matcher(std::span<const rules::rule> rules) {
    rules_.reserve(rules.size());
    for (const auto& r : rules) {
        compiled_rule c{r, std::nullopt, rule_needs(r)};
        if (r.when.title) c.title.emplace(*r.when.title);
        rules_.push_back(std::move(c));
    }
}

const matcher::compiled_rule& matcher::at(std::size_t index) const {
    if (index >= rules_.size())
        throw std::out_of_range(fmt::format("rule index {} out of range ({} rules)", index, rules_.size()));
    return rules_[index];
}

const rules::rule& matcher::rule(std::size_t index) const { return at(index).rule; }

const data_needs& matcher::needs(std::size_t index) const { return at(index).needs; }

std::optional<std::size_t> matcher::find(std::string_view name) const {
    for (std::size_t i = 0; i < rules_.size(); ++i)
        if (rules_[i].rule.name == name) return i;
    return std::nullopt;
}

std::vector<std::string> matcher::problems() const {
    std::vector<std::string> out;
    for (const auto& r : rules_)
        if (r.title && !r.title->error().empty())
            out.push_back(fmt::format("rule \"{}\": {}; the rule never matches", r.rule.name, r.title->error()));
    return out;
}

namespace {

verdict fail(mismatch why, explain e, auto&& make_reason) {
    verdict v{why, {}};
    if (e == explain::yes) v.reason = make_reason();
    return v;
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) {
        if (!out.empty()) out += ", ";
        out += s;
    }
    return out;
}

}  // namespace

verdict matcher::check_common(const compiled_rule& r, std::string_view trigger, const file_view& f, bool from_payload,
                              explain e) const {
    if (!trigger_matches(r.rule, trigger))
        return fail(mismatch::trigger, e, [&] {
            return fmt::format("trigger \"{}\" is not one of: {}", trigger, join(r.rule.on));
        });
    if (r.title) {
        if (!r.title->error().empty())
            return fail(mismatch::invalid_rule, e, [&] { return r.title->explain(f.title); });
        if (!(from_payload && f.title.empty()) && !r.title->matches(f.title))
            return fail(mismatch::title, e, [&] { return r.title->explain(f.title); });
    }
    if (const auto& folder = r.rule.when.in_folder) {
        if (f.parent_id.empty()) {
            if (!from_payload)
                return fail(mismatch::folder, e, [&] {
                    return fmt::format("the file's folder is not known (in_folder {})", *folder);
                });
        } else if (f.parent_id != *folder) {
            return fail(mismatch::folder, e, [&] {
                return fmt::format("file is in folder {}, not {}", f.parent_id, *folder);
            });
        }
    }
    return {};
}

verdict matcher::prefilter(std::size_t index, std::string_view trigger, const file_view& payload, explain e) const {
    return check_common(at(index), trigger, payload, true, e);
}

std::vector<std::size_t> matcher::candidates(std::string_view trigger, const file_view& payload) const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < rules_.size(); ++i)
        if (check_common(rules_[i], trigger, payload, true, explain::no)) out.push_back(i);
    return out;
}

verdict matcher::evaluate(std::size_t index, std::string_view trigger, const file_view& current, const ancestry* anc,
                          explain e) const {
    const auto& r = at(index);
    if (auto v = check_common(r, trigger, current, false, e); !v) return v;
    if (const auto& room = r.rule.when.in_room) {
        if (current.parent_id.empty())
            return fail(mismatch::folder, e, [&] {
                return fmt::format("the file's folder is not known (in_room {})", *room);
            });
        if (current.parent_id == *room) return {};
        if (!anc)
            return fail(mismatch::unknown_ancestry, e, [&] {
                return fmt::format("the ancestry of folder {} is not known (in_room {} needs it)", current.parent_id,
                                   *room);
            });
        for (const auto& id : *anc)
            if (id == *room) return {};
        return fail(mismatch::room, e, [&] {
            return fmt::format("folder {} is not inside room {}", current.parent_id, *room);
        });
    }
    return {};
}

}  // namespace spacehook::rules
