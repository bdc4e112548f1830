// A compiled `if.title` filter (docs/contract.md §2): prefix, suffix, glob or regex over a UTF-8 title,
// case-insensitive (Unicode simple case folding, see text.hpp) unless the filter says "case": "sensitive".
//
//  prefix / suffix  compare code points; case-sensitive ones compare bytes.
//  glob             matched against the whole title: `*` any run, `?` exactly one code point, `[abc]`,
//                   `[a-z]`, `[!x]` or `[^x]` one code point from (not from) a set; `]` first in a set and
//                   `-` first or last are literal; `\` makes the next character literal; a `[` without a
//                   closing `]` is literal. Case-insensitive sets match when the folded character is in the
//                   folded set, so `[A-Z]` also takes 'q' and `[ä]` takes 'Ä'.
//  regex            ECMAScript (std::regex), searched anywhere unless anchored with ^ / $. Runs over code
//                   points, so `.` is one character and `[а-я]` works. Case-insensitive: the title is folded
//                   and so are the pattern's literals, \xHH and \uHHHH escapes, and bracket expressions
//                   (`[A-Z]` takes 'q', `[^Ä]` rejects 'ä'); `[:upper:]`/`[:lower:]` mean `[:alpha:]`, as
//                   with std::regex::icase; class escapes such as \w or \W keep their ASCII meaning.
//                   Matching takes time linear in the title (libstdc++'s breadth-first executor).
//                   Back-references (\1 ... \9) are not supported: they need backtracking, whose time can
//                   grow exponentially with the title, so a pattern with one does not compile (error()).
//
// Invalid UTF-8 never fails: bad bytes match only the same bad bytes. matches() does not allocate except
// for regex filters (std::regex's own state; the decoded title reuses a per-thread buffer).
// Immutable after construction; safe to share between threads.
#ifndef SPACEHOOK_RULES_TITLE_PATTERN_HPP
#define SPACEHOOK_RULES_TITLE_PATTERN_HPP

#include "spacehook/rules/rule.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <optional>
#include <string_view>
#include <vector>

namespace spacehook::rules {

// The title filter's error (title_pattern::error()) or nullopt: how the config loader judges a title filter
// (config/load.hpp), so `check` refuses what the matcher could not run.
std::optional<std::string> check_title(const title_filter& filter);

class title_pattern {
public:
    explicit title_pattern(const title_filter& filter);

    const title_filter& filter() const { return filter_; }

    // Non-empty when the filter could not be compiled (a regex std::regex rejects); such a filter
    // matches nothing, and explain() says why.
    const std::string& error() const { return error_; }

    bool matches(std::string_view title) const;

    // Why `title` does not match, e.g. `title "x.pdf" does not start with "invoice"`; names the case
    // sensitivity only for case-sensitive filters.
    std::string explain(std::string_view title) const;

private:
    struct regex_holder;

    enum class token_kind : std::uint8_t { literal, any_one, any_run, set };
    struct glob_token {
        token_kind kind = token_kind::literal;
        char32_t cp = 0;          // literal (folded unless case-sensitive)
        std::uint32_t set = 0;    // index into sets_
    };
    struct glob_set {
        bool negated = false;
        std::vector<std::pair<char32_t, char32_t>> ranges;  // inclusive; singles are {c, c}
    };

    char32_t fold(char32_t c) const;
    bool prefix_matches(std::string_view title) const;
    bool suffix_matches(std::string_view title) const;
    bool glob_matches(std::string_view title) const;
    bool token_matches(const glob_token& t, char32_t cp) const;
    bool regex_matches(std::string_view title) const;
    void compile_glob();
    void compile_regex();

    title_filter filter_;
    std::u32string folded_;               // prefix/suffix pattern as code points (folded if insensitive)
    std::vector<glob_token> tokens_;
    std::vector<glob_set> sets_;
    std::shared_ptr<const regex_holder> regex_;
    std::string error_;
};

}  // namespace spacehook::rules

#endif
