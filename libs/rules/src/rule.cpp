#include "spacehook/rules/rule.hpp"

#include <algorithm>

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

}  // namespace spacehook::rules
