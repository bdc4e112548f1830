#include "spacehook/rules/rule.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace spacehook::rules {

std::string_view to_string(action_kind k) {
    switch (k) {
    case action_kind::move: return "move";
    case action_kind::copy: return "copy";
    case action_kind::comment: return "comment";
    case action_kind::notify: return "notify";
    }
    return "?";
}

bool trigger_matches(const rule& r, std::string_view trigger) {
    return std::any_of(r.on.begin(), r.on.end(), [&](const std::string& t) { return t == trigger || t == "*"; });
}

data_needs rule_needs(const rule& r) {
    data_needs n;
    const auto& w = r.when;
    n.file_info = w.in_folder.has_value() || w.in_room.has_value() || w.title.has_value();
    n.ancestry = w.in_room.has_value();
    for (const auto& a : r.actions) {
        switch (a.kind) {
        case action_kind::move:
        case action_kind::copy: n.file_info = true; break;
        case action_kind::comment:
            n.file_info = true;
            n |= needs(std::string_view(a.text));
            break;
        case action_kind::notify:
            n |= needs(std::string_view(a.subject));
            n |= needs(std::string_view(a.body));
            break;
        }
    }
    return n;
}

std::string describe(const rule_filter& f) {
    std::string out;
    auto add = [&](const std::string& part) { out += (out.empty() ? "" : " and ") + part; };
    if (f.in_folder) add("in_folder " + *f.in_folder);
    if (f.in_room) add("in_room " + *f.in_room);
    if (f.title) {
        static constexpr const char* kinds[] = {"prefix", "suffix", "glob", "regex"};
        add(fmt::format("title {} \"{}\"{}", kinds[static_cast<int>(f.title->kind)], f.title->pattern,
                        f.title->case_sensitive ? " (case-sensitive)" : ""));
    }
    return out.empty() ? "-" : out;
}

std::string describe(const action& a) {
    switch (a.kind) {
    case action_kind::move:
    case action_kind::copy:
        return fmt::format("{} to {} (on conflict {})", to_string(a.kind), a.to_folder, docspace::to_string(a.on_conflict));
    case action_kind::comment: return fmt::format("comment \"{}\"", a.text);
    case action_kind::notify: return fmt::format("notify {}", a.channel);
    }
    return "?";
}

}  // namespace spacehook::rules
