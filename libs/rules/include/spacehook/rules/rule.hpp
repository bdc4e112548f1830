// What a rule is (docs/contract.md §2: `on`, `if`, `do`), and the rule-level facts that need no compilation:
// trigger matching, the inputs matching works on, and which DocSpace reads a rule needs. The config loader
// maps JSON onto these types; compiled matching lives in matcher.hpp.
#ifndef SPACEHOOK_RULES_RULE_HPP
#define SPACEHOOK_RULES_RULE_HPP

#include "spacehook/docspace/types.hpp"
#include "spacehook/rules/template.hpp"

#include <optional>

#include <string>
#include <string_view>
#include <vector>

namespace spacehook::rules {

using docspace::entry_id;

enum class title_match { prefix, suffix, glob, regex };

struct title_filter {
    title_match kind = title_match::prefix;
    std::string pattern;
    bool case_sensitive = false;
};

// The `if` object: every filter that is set must hold.
struct rule_filter {
    std::optional<entry_id> in_folder;  // direct parent
    std::optional<entry_id> in_room;    // anywhere below this room or folder
    std::optional<title_filter> title;
};

enum class action_kind { move, copy, comment, notify };
std::string_view to_string(action_kind k);  // "move", "copy", "comment", "notify"

// One entry of the `do` list; the fields its kind does not use stay empty.
struct action {
    action_kind kind = action_kind::notify;
    entry_id to_folder;                                       // move, copy
    docspace::conflict on_conflict = docspace::conflict::skip;  // move, copy
    std::string text;                                         // comment (template)
    std::string channel;                                      // notify
    std::string subject;                                      // notify (template)
    std::string body;                                         // notify (template)
};

struct rule {
    std::string name;
    std::vector<std::string> on;  // triggers, e.g. "file.uploaded"; "*" = any
    rule_filter when;             // the "if" object
    std::vector<action> actions;  // the "do" list
};

// The file a rule is matched against: from the webhook payload (id, parentId, title) at ingestion, or
// from GET files/file/{id} (id, folderId, title) in the worker. An empty field means "not known".
struct file_view {
    entry_id id, parent_id;
    std::string title;
};

// Folder ids from the root down to a folder, the folder itself last (GET files/folder/{id}/path).
using ancestry = std::vector<entry_id>;

// True when the rule's `on` list names `trigger` or contains "*". Exact, case-sensitive comparison.
bool trigger_matches(const rule& r, std::string_view trigger);

// What the worker must fetch to evaluate and run `r`:
//  file_info when the rule has any `if` filter (evaluate() checks the file's current state), a move, copy
//            or comment action (comments need the version), or a template name from the file info;
//  actor     when a template uses actor.name or actor.email;
//  ancestry  when the rule has `in_room`.
data_needs rule_needs(const rule& r);

// One line each for people (`spacehook check`, the admin UI): `in_folder 12 and title prefix "invoice"` ("-"
// for no filter); `move to 654321 (on conflict skip)`, `notify manager-mail`.
std::string describe(const rule_filter& f);
std::string describe(const action& a);

}  // namespace spacehook::rules

#endif
