// Rule-level facts that need no compilation: trigger matching, the inputs matching works on, and which
// DocSpace reads a rule needs. Compiled matching lives in matcher.hpp.
#ifndef SPACEHOOK_RULES_RULE_HPP
#define SPACEHOOK_RULES_RULE_HPP

#include "spacehook/config/settings.hpp"
#include "spacehook/rules/template.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace spacehook::rules {

// The file a rule is matched against: from the webhook payload (id, parentId, title) at ingestion, or
// from GET files/file/{id} (id, folderId, title) in the worker. An empty field means "not known".
struct file_view {
    config::entry_id id, parent_id;
    std::string title;
};

// Folder ids from the root down to a folder, the folder itself last (GET files/folder/{id}/path).
using ancestry = std::vector<config::entry_id>;

// True when the rule's `on` list names `trigger` or contains "*". Exact, case-sensitive comparison.
bool trigger_matches(const config::rule& r, std::string_view trigger);

// What the worker must fetch to evaluate and run `r`:
//  file_info when the rule has any `if` filter (evaluate() checks the file's current state), a move, copy
//            or comment action (comments need the version), or a template name from the file info;
//  actor     when a template uses actor.name or actor.email;
//  ancestry  when the rule has `in_room`.
data_needs rule_needs(const config::rule& r);

}  // namespace spacehook::rules

#endif
