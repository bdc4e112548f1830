// Matching events against the configured rules (docs/contract.md §2: `on` and `if`), in two stages:
//
//  1. prefilter() at ingestion, from the webhook payload alone: the trigger, `title` on payload.title and
//     `in_folder` on payload.parentId. `in_room` needs the folder's ancestry and passes here. It is
//     conservative: a field the payload lacks (empty) passes, so it never rejects what evaluate() accepts
//     for an unchanged file.
//  2. evaluate() in the worker, on the file's current state (GET files/file/{id}): the same checks on
//     the current title and folder, plus `in_room` through the folder's ancestry.
//
// A matcher is immutable once built: its const members may be called from any thread at once.
#ifndef SPACEHOOK_RULES_MATCHER_HPP
#define SPACEHOOK_RULES_MATCHER_HPP

#include "spacehook/rules/rule.hpp"
#include "spacehook/rules/template.hpp"
#include "spacehook/rules/title_pattern.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace spacehook::rules {

// Which check rejected a file (the first failing one, in the order listed).
enum class mismatch : std::uint8_t {
    none,              // matched
    trigger,           // `on` does not name the trigger
    invalid_rule,      // the title filter could not be compiled (see matcher::problems())
    title,             // `if.title`
    folder,            // `if.in_folder`, or the file's folder is unknown (evaluate only)
    room,              // `if.in_room`: the folder is not at or below the room
    unknown_ancestry,  // `if.in_room` and evaluate() got no ancestry for a folder other than the room
};
std::string_view to_string(mismatch m);

struct verdict {
    mismatch why = mismatch::none;
    std::string reason;  // one human-readable sentence for logs and last_error; empty when matched

    bool matched() const { return why == mismatch::none; }
    explicit operator bool() const { return matched(); }
};

// explain::no skips building the reason text (no allocation): for hot paths that only need the answer.
enum class explain : bool { no, yes };

class matcher {
public:
    // Compiles each rule's title filter once. Rules keep their index in `rules`.
    explicit matcher(std::span<const rules::rule> rules);

    std::size_t size() const { return rules_.size(); }
    // Precondition for every `index` below: index < size() (std::out_of_range otherwise).
    const rules::rule& rule(std::size_t index) const;
    std::optional<std::size_t> find(std::string_view name) const;
    // rule_needs() of the rule, computed once.
    const data_needs& needs(std::size_t index) const;

    // One line per rule that can never match (an invalid regex), e.g. for `spacehook check` and startup logs.
    std::vector<std::string> problems() const;

    // Stage 1, from the payload. Reasons read e.g. `title "x.pdf" does not start with "invoice"`,
    // `file is in folder 9001, not 539564`.
    verdict prefilter(std::size_t index, std::string_view trigger, const file_view& payload,
                      explain e = explain::yes) const;
    // Indices of the rules whose prefilter passes, ascending.
    std::vector<std::size_t> candidates(std::string_view trigger, const file_view& payload) const;

    // Stage 2, on the current state. `anc` is the ancestry of current.parent_id (root..folder), required
    // when the rule has in_room (needs(index).ancestry) unless the file sits directly in the room; null
    // otherwise. Reasons add e.g. `folder 9001 is not inside room 86193`.
    verdict evaluate(std::size_t index, std::string_view trigger, const file_view& current, const ancestry* anc,
                     explain e = explain::yes) const;

private:
    struct compiled_rule {
        rules::rule rule;
        std::optional<title_pattern> title;
        data_needs needs;
    };
    const compiled_rule& at(std::size_t index) const;
    verdict check_common(const compiled_rule& r, std::string_view trigger, const file_view& f, bool from_payload,
                         explain e) const;

    std::vector<compiled_rule> rules_;
};

}  // namespace spacehook::rules

#endif
