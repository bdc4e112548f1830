#include "spacehook/rules/title_pattern.hpp"

#include "utf8.hpp"

#include <algorithm>
#include <optional>
#include <regex>

#include <fmt/format.h>
#include <fmt/xchar.h>

namespace spacehook::rules {

struct title_pattern::regex_holder {
    std::wregex re;     // the pattern, for regex_search
    std::wregex whole;  // breadth-first only: [\s\S]*(?:pattern)[\s\S]*, for regex_match on long titles
    bool breadth_first = false;
    bool has_whole = false;  // `whole` compiled with the same groups as `re`
};

namespace {
// Backtracking std::regex recurses about once per title character; past this many code points a
// backtracking regex (only without libstdc++, which runs every accepted pattern breadth-first) does not
// match rather than risk the stack.
constexpr std::size_t max_backtracking_title = 1000;
// A breadth-first regex_search restarts at every position: O(title^2 x pattern). Titles longer than this
// use the one-pass whole-title form, which has a higher constant cost.
constexpr std::size_t max_restarting_title = 256;

std::u32string decode(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    for (const char *p = s.data(), *end = p + s.size(); p < end;) out += utf8::next(p, end);
    return out;
}

}  // namespace

title_pattern::title_pattern(const title_filter& filter) : filter_(filter) {
    switch (filter_.kind) {
    case title_match::prefix:
    case title_match::suffix:
        if (!filter_.case_sensitive) {
            folded_ = decode(filter_.pattern);
            for (auto& c : folded_) c = utf8::fold(c);
        }
        break;
    case title_match::glob: compile_glob(); break;
    case title_match::regex: compile_regex(); break;
    }
}

char32_t title_pattern::fold(char32_t c) const { return filter_.case_sensitive ? c : utf8::fold(c); }

bool title_pattern::matches(std::string_view title) const {
    if (!error_.empty()) return false;
    switch (filter_.kind) {
    case title_match::prefix: return prefix_matches(title);
    case title_match::suffix: return suffix_matches(title);
    case title_match::glob: return glob_matches(title);
    case title_match::regex: return regex_matches(title);
    }
    return false;
}

std::string title_pattern::explain(std::string_view title) const {
    if (!error_.empty()) return fmt::format("title filter is invalid: {}", error_);
    std::string_view what;
    switch (filter_.kind) {
    case title_match::prefix: what = "does not start with"; break;
    case title_match::suffix: what = "does not end with"; break;
    case title_match::glob: what = "does not match glob"; break;
    case title_match::regex: what = "does not match regex"; break;
    }
    return fmt::format("title \"{}\" {} \"{}\"{}", title, what, filter_.pattern,
                       filter_.case_sensitive ? " (case-sensitive)" : "");
}

// --- prefix / suffix ----------------------------------------------------------------------------------

bool title_pattern::prefix_matches(std::string_view title) const {
    if (filter_.case_sensitive) return title.starts_with(filter_.pattern);
    const char *p = title.data(), *end = p + title.size();
    for (char32_t want : folded_) {
        if (p == end || utf8::fold(utf8::next(p, end)) != want) return false;
    }
    return true;
}

bool title_pattern::suffix_matches(std::string_view title) const {
    if (filter_.case_sensitive) return title.ends_with(filter_.pattern);
    // Code points may have different byte lengths once folded ("Σ" vs "σ" do not, but invalid bytes and
    // e.g. U+212A KELVIN SIGN -> 'k' do), so count code points rather than bytes.
    const std::size_t have = utf8::length(title);
    if (have < folded_.size()) return false;
    const char *p = title.data(), *end = p + title.size();
    for (std::size_t skip = have - folded_.size(); skip > 0; --skip) utf8::next(p, end);
    for (char32_t want : folded_) {
        if (utf8::fold(utf8::next(p, end)) != want) return false;
    }
    return true;
}

// --- glob ---------------------------------------------------------------------------------------------

void title_pattern::compile_glob() {
    const std::u32string pat = decode(filter_.pattern);
    const std::size_t n = pat.size();
    std::size_t i = 0;
    auto literal = [&](char32_t c) { tokens_.push_back({token_kind::literal, fold(c), 0}); };
    while (i < n) {
        const char32_t c = pat[i];
        if (c == U'*') {
            if (tokens_.empty() || tokens_.back().kind != token_kind::any_run) tokens_.push_back({token_kind::any_run});
            ++i;
        } else if (c == U'?') {
            tokens_.push_back({token_kind::any_one});
            ++i;
        } else if (c == U'\\') {
            literal(i + 1 < n ? pat[i + 1] : U'\\');
            i += 2;
        } else if (c == U'[') {
            // Parse a set; without a closing ']' the '[' is literal.
            glob_set set;
            std::size_t j = i + 1;
            if (j < n && (pat[j] == U'!' || pat[j] == U'^')) set.negated = true, ++j;
            bool closed = false;
            for (bool first = true; j < n; first = false) {
                char32_t lo = pat[j];
                if (lo == U']' && !first) {
                    closed = true;
                    ++j;
                    break;
                }
                if (lo == U'\\' && j + 1 < n) lo = pat[++j];
                ++j;
                char32_t hi = lo;
                if (j + 1 < n && pat[j] == U'-' && pat[j + 1] != U']') {
                    hi = pat[j + 1];
                    j += 2;
                    if (hi == U'\\' && j < n) hi = pat[j++];
                }
                set.ranges.emplace_back(lo, hi);  // lo > hi: an empty range, as in fnmatch
            }
            if (!closed) {
                literal(U'[');
                ++i;
                continue;
            }
            if (!filter_.case_sensitive) {
                // Match fold(c) against {fold(x) : x in set}. fold is idempotent, so that set is the set's
                // own fixed points plus the foldings of its other members.
                std::vector<char32_t> extra;
                for (auto [lo, hi] : set.ranges) {
                    if (lo > hi) continue;
                    auto f = utf8::foldings_in(lo, hi);
                    extra.insert(extra.end(), f.begin(), f.end());
                }
                std::sort(extra.begin(), extra.end());
                extra.erase(std::unique(extra.begin(), extra.end()), extra.end());
                for (char32_t e : extra) set.ranges.emplace_back(e, e);
            }
            tokens_.push_back({token_kind::set, 0, static_cast<std::uint32_t>(sets_.size())});
            sets_.push_back(std::move(set));
            i = j;
        } else {
            literal(c);
            ++i;
        }
    }
}

bool title_pattern::token_matches(const glob_token& t, char32_t cp) const {
    switch (t.kind) {
    case token_kind::literal: return fold(cp) == t.cp;
    case token_kind::any_one: return true;
    case token_kind::any_run: return false;  // handled by the caller
    case token_kind::set: {
        const auto& s = sets_[t.set];
        const char32_t c = fold(cp);
        bool in = false;
        for (auto [lo, hi] : s.ranges)
            if (c >= lo && c <= hi) {
                in = true;
                break;
            }
        return in != s.negated;
    }
    }
    return false;
}

// Iterative matching with backtracking to the last '*' only: O(title x pattern) worst case, no allocation.
bool title_pattern::glob_matches(std::string_view title) const {
    const char *t = title.data(), *end = t + title.size();
    const std::size_t n = tokens_.size();
    std::size_t p = 0;
    std::size_t star = n;  // none
    const char* star_t = nullptr;
    while (t < end) {
        if (p < n) {
            if (tokens_[p].kind == token_kind::any_run) {
                star = p++;
                star_t = t;
                continue;
            }
            const char* next = t;
            if (token_matches(tokens_[p], utf8::next(next, end))) {
                ++p;
                t = next;
                continue;
            }
        }
        if (star == n) return false;
        // Let the last '*' take one more code point and retry the rest.
        p = star + 1;
        utf8::next(star_t, end);
        t = star_t;
    }
    while (p < n && tokens_[p].kind == token_kind::any_run) ++p;
    return p == n;
}

// --- regex ---------------------------------------------------------------------------------------

namespace {

std::optional<char32_t> hex_at(const std::u32string& p, std::size_t at, std::size_t digits) {
    if (at + digits > p.size()) return std::nullopt;
    char32_t v = 0;
    for (std::size_t k = 0; k < digits; ++k) {
        char32_t c = p[at + k];
        if (c >= U'0' && c <= U'9') v = v * 16 + (c - U'0');
        else if (c >= U'a' && c <= U'f') v = v * 16 + (c - U'a' + 10);
        else if (c >= U'A' && c <= U'F') v = v * 16 + (c - U'A' + 10);
        else return std::nullopt;
    }
    return v;
}

// A character written so that it is literal both inside and outside a bracket expression.
void append_literal(std::wstring& out, char32_t c) {
    if (c > 0xFFFF) {
        out += static_cast<wchar_t>(c);  // astral code points are never regex syntax
        return;
    }
    out += fmt::format(L"\\u{:04x}", static_cast<std::uint32_t>(c));
}

// Rewrites an ECMAScript pattern so that it matches case-folded titles exactly where the original matches
// the title ignoring case (std::regex::icase only folds what the C locale knows, and slowly):
//  - literal characters and \xHH / \uHHHH escapes are folded (\cX is spelled \u00XX too: libstdc++ 12
//    reads \cJ wrong);
//  - a bracket expression keeps its text and gains the foldings of its members, so [A-Z] becomes
//    [A-Z\u0061...\u007a] and [^Ä] rejects 'ä' too; [:upper:] and [:lower:] become [:alpha:] (as icase
//    does); other escapes (\W, \d, \b, back-references) stay as written.
// Works on a pattern std::regex already accepted, so it does not re-validate.
std::wstring fold_regex(const std::u32string& p) {
    std::wstring out;
    out.reserve(p.size() + 16);
    const std::size_t n = p.size();

    // Reads one escape at p[i] == '\\'; returns its character value when it denotes one character.
    auto escape_value = [&](std::size_t i, std::size_t& next, bool in_class) -> std::optional<char32_t> {
        next = i + 2;
        if (i + 1 >= n) {
            next = i + 1;
            return std::nullopt;
        }
        const char32_t d = p[i + 1];
        switch (d) {
        case U'x':
            if (auto v = hex_at(p, i + 2, 2)) return next = i + 4, v;
            return d;
        case U'u':
            if (auto v = hex_at(p, i + 2, 4)) return next = i + 6, v;
            return d;
        case U'c':
            if (i + 2 < n) return next = i + 3, static_cast<char32_t>(p[i + 2] % 32);
            return d;
        case U'd': case U'D': case U'w': case U'W': case U's': case U'S': return std::nullopt;
        case U'b': return in_class ? std::optional<char32_t>(8) : std::nullopt;
        case U'B': return std::nullopt;
        case U'n': return U'\n';
        case U'r': return U'\r';
        case U't': return U'\t';
        case U'v': return U'\v';
        case U'f': return U'\f';
        case U'0': return U'\0';
        default:
            if (d >= U'1' && d <= U'9') return std::nullopt;  // back-reference
            return d;                                          // identity escape
        }
    };
    auto copy = [&](std::size_t from, std::size_t to) {
        for (std::size_t k = from; k < to; ++k) out += static_cast<wchar_t>(p[k]);
    };

    std::size_t i = 0;
    while (i < n) {
        const char32_t c = p[i];
        if (c == U'\\') {
            std::size_t next;
            auto v = escape_value(i, next, false);
            const char32_t d = i + 1 < n ? p[i + 1] : 0;
            if (v && (d == U'x' || d == U'u' || d == U'c')) append_literal(out, utf8::fold(*v));
            else copy(i, next);
            i = next;
        } else if (c == U'[') {
            std::vector<char32_t> extra;
            std::size_t j = i + 1;
            out += L'[';
            if (j < n && p[j] == U'^') out += L'^', ++j;
            // One class atom at j: its character value, if it is a single character.
            auto atom = [&](std::size_t at, std::size_t& next) -> std::optional<char32_t> {
                if (p[at] == U'\\') return escape_value(at, next, true);
                if (p[at] == U'[' && at + 1 < n && (p[at + 1] == U':' || p[at + 1] == U'.' || p[at + 1] == U'=')) {
                    const char32_t kind = p[at + 1];
                    std::size_t k = at + 2;
                    while (k + 1 < n && !(p[k] == kind && p[k + 1] == U']')) ++k;
                    next = std::min(k + 2, n);
                    return std::nullopt;
                }
                next = at + 1;
                return p[at];
            };
            while (j < n && p[j] != U']') {
                std::size_t next;
                auto lo = atom(j, next);
                std::optional<char32_t> hi;
                std::size_t after = next;
                if (lo && next + 1 < n && p[next] == U'-' && p[next + 1] != U']') {
                    std::size_t next2;
                    hi = atom(next + 1, next2);
                    if (hi) after = next2;
                }
                const std::u32string_view text(p.data() + j, after - j);
                if (text == U"[:upper:]" || text == U"[:lower:]") out += L"[:alpha:]";
                else copy(j, after);
                if (lo && hi) {
                    if (*lo <= *hi) {
                        auto f = utf8::foldings_in(*lo, *hi);
                        extra.insert(extra.end(), f.begin(), f.end());
                    }
                } else if (lo && utf8::fold(*lo) != *lo) {
                    extra.push_back(utf8::fold(*lo));
                }
                j = after;
            }
            std::sort(extra.begin(), extra.end());
            extra.erase(std::unique(extra.begin(), extra.end()), extra.end());
            for (char32_t e : extra) append_literal(out, e);
            if (j < n) out += L']', ++j;
            i = j;
        } else {
            out += static_cast<wchar_t>(utf8::fold(c));
            ++i;
        }
    }
    return out;
}

// libstdc++'s regex compiler reads the digits of a {n,m} count or of a \N back-reference into a long with no
// overflow check: undefined behaviour from 19 digits on (found by tests/fuzz/fuzz_config). No title pattern needs
// a count or a group number that long, so such patterns are refused before they reach std::regex.
constexpr std::size_t max_regex_number_digits = 6;

bool has_oversized_regex_number(std::string_view re) {
    auto digits_at = [&](std::size_t i) {
        std::size_t n = 0;
        while (i + n < re.size() && re[i + n] >= '0' && re[i + n] <= '9') ++n;
        return n;
    };
    bool in_class = false;  // inside [...], where '{' is a literal (ECMAScript: the first ']' closes it)
    for (std::size_t i = 0; i < re.size(); ++i) {
        const char c = re[i];
        if (c == '\\') {
            if (digits_at(i + 1) > max_regex_number_digits) return true;  // \N, also inside a class
            ++i;
        } else if (in_class) {
            in_class = c != ']';
        } else if (c == '[') {
            in_class = true;
        } else if (c == '{') {
            const std::size_t low = digits_at(i + 1);
            if (low > max_regex_number_digits) return true;
            if (i + 1 + low < re.size() && re[i + 1 + low] == ',' && digits_at(i + 2 + low) > max_regex_number_digits)
                return true;
        }
    }
    return false;
}

// \1 ... \9 anywhere (an escaped backslash does not count).
bool has_back_reference(std::string_view re) {
    for (std::size_t i = 0; i + 1 < re.size(); ++i) {
        if (re[i] != '\\') continue;
        if (re[i + 1] >= '1' && re[i + 1] <= '9') return true;
        ++i;
    }
    return false;
}

constexpr std::string_view back_reference_refused =
    "back-references (\\1 ... \\9) are not supported in title regexes: matching one could take time exponential "
    "in the title's length";

}  // namespace

std::optional<std::string> check_title(const title_filter& filter) {
    title_pattern t(filter);
    if (t.error().empty()) return std::nullopt;
    return t.error();
}

void title_pattern::compile_regex() {
    // Refused before std::regex sees them: a back-reference (see below) and a number std::regex would overflow.
    if (has_back_reference(filter_.pattern)) {
        error_ = std::string(back_reference_refused);
        return;
    }
    if (has_oversized_regex_number(filter_.pattern)) {
        error_ = fmt::format("invalid regular expression: a repeat count or back-reference number has more than {} digits",
                             max_regex_number_digits);
        return;
    }
    static_assert(sizeof(wchar_t) == 4, "regex titles are matched as UTF-32 wchar_t");
    const std::u32string pattern = decode(filter_.pattern);
    const std::wstring as_written(pattern.begin(), pattern.end());
    const auto flags = std::regex_constants::ECMAScript;
    std::wstring body;  // what runs against the (folded, if case-insensitive) title
    std::wregex plain;
    try {
        plain = std::wregex(as_written, flags);  // reject invalid patterns as written, not as rewritten
        if (!filter_.case_sensitive) {
            body = fold_regex(pattern);
            plain = std::wregex(body, flags);
        } else {
            body = as_written;
        }
    } catch (const std::regex_error& e) {
        error_ = fmt::format("invalid regular expression \"{}\": {}", filter_.pattern, e.what());
        return;
    }
#ifdef __GLIBCXX__
    // libstdc++'s default executor backtracks: exponential time on patterns like (a*)*b, and recursion as
    // deep as the title. Its breadth-first executor (__polynomial) keeps a set of states instead, with
    // recursion bounded by the pattern. regex_search with it restarts at each position, which is fast for
    // titles of usual length; for long ones, [\s\S]*(?:pattern)[\s\S]* matched against the whole title
    // makes one pass and means the same (^, $, \b and lookaheads still see the whole title).
    // Back-references need backtracking, which takes time exponential in the title's length on patterns
    // such as ^(a|a)+\1b$ (about a second for 24 characters in a release build, doubling with each one), on
    // the ingestion path for a title any DocSpace user chooses: a pattern with one is refused (found by
    // tests/fuzz/fuzz_config). libstdc++ refuses them in polynomial mode, which is how they are detected.
    const auto bfs = flags | std::regex_constants::__polynomial;
    regex_holder h;
    h.breadth_first = true;
    try {
        h.re = std::wregex(body, bfs);
    } catch (const std::regex_error& e) {
        if (e.code() == std::regex_constants::error_complexity) error_ = std::string(back_reference_refused);
        else error_ = fmt::format("invalid regular expression \"{}\": {}", filter_.pattern, e.what());
        return;
    }
    try {
        h.whole = std::wregex(L"[\\s\\S]*(?:" + body + L")[\\s\\S]*", bfs);
        h.has_whole = h.whole.mark_count() == h.re.mark_count();
    } catch (const std::regex_error&) {
    }
    regex_ = std::make_shared<const regex_holder>(std::move(h));
    return;
#endif
    regex_ = std::make_shared<const regex_holder>(regex_holder{std::move(plain), {}, false});
}

bool title_pattern::regex_matches(std::string_view title) const {
    thread_local std::wstring buffer;  // reused: no allocation per match once warm
    buffer.clear();
    for (const char *p = title.data(), *end = p + title.size(); p < end;)
        buffer += static_cast<wchar_t>(fold(utf8::next(p, end)));
    const auto& h = *regex_;
    if (!h.breadth_first && buffer.size() > max_backtracking_title) return false;
    try {
        if (h.has_whole && buffer.size() > max_restarting_title) return std::regex_match(buffer, h.whole);
        return std::regex_search(buffer, h.re);
    } catch (const std::regex_error&) {
        return false;  // error_complexity / error_stack on pathological input: treat as no match
    }
}

}  // namespace spacehook::rules
