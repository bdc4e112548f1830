#include "spacehook/rules/text.hpp"

#include "utf8.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>

namespace spacehook::rules {
namespace {

// Every stride-th code point from first to last folds to itself + delta (see casefold_table.inc).
struct fold_range {
    char32_t first, last;
    std::int32_t delta;
    std::uint32_t stride;
};

constexpr fold_range fold_table[] = {
#include "casefold_table.inc"
};

constexpr bool table_is_sorted() {
    for (std::size_t i = 1; i < std::size(fold_table); ++i)
        if (fold_table[i].first <= fold_table[i - 1].last) return false;
    return true;
}
static_assert(table_is_sorted(), "casefold_table.inc must hold sorted, disjoint ranges");

}  // namespace

namespace utf8 {

char32_t fold_non_ascii(char32_t c) noexcept {
    if (c < 0xB5) return c;  // nothing between U+0080 and U+00B4 folds
    auto it = std::upper_bound(std::begin(fold_table), std::end(fold_table), c,
                               [](char32_t v, const fold_range& r) { return v < r.first; });
    if (it == std::begin(fold_table)) return c;
    --it;
    if (c > it->last || (c - it->first) % it->stride != 0) return c;
    return static_cast<char32_t>(static_cast<std::int64_t>(c) + it->delta);
}

std::vector<char32_t> foldings_in(char32_t first, char32_t last) {
    std::vector<char32_t> out;
    for (const auto& r : fold_table) {
        if (r.last < first || r.first > last) continue;
        for (char32_t c = r.first; c <= r.last; c += r.stride)
            if (c >= first && c <= last) out.push_back(static_cast<char32_t>(static_cast<std::int64_t>(c) + r.delta));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

}  // namespace utf8

char32_t fold_case(char32_t c) noexcept { return utf8::fold(c); }

std::string fold_case(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char *p = text.data(), *end = p + text.size(); p < end;) utf8::encode(out, utf8::fold(utf8::next(p, end)));
    return out;
}

namespace {

// Parses the numeric reference body after "&#" up to ';' (exclusive); nullopt-like 0 when invalid.
char32_t numeric_reference(std::string_view digits) {
    bool hex = !digits.empty() && (digits.front() == 'x' || digits.front() == 'X');
    if (hex) digits.remove_prefix(1);
    if (digits.empty() || digits.size() > 8) return 0;
    std::uint32_t v = 0;
    for (char ch : digits) {
        std::uint32_t d;
        if (ch >= '0' && ch <= '9') d = static_cast<std::uint32_t>(ch - '0');
        else if (hex && ch >= 'a' && ch <= 'f') d = static_cast<std::uint32_t>(ch - 'a' + 10);
        else if (hex && ch >= 'A' && ch <= 'F') d = static_cast<std::uint32_t>(ch - 'A' + 10);
        else return 0;
        v = v * (hex ? 16 : 10) + d;
        if (v > 0x10FFFF) return 0;
    }
    if (v >= 0xD800 && v <= 0xDFFF) return 0;
    return v;
}

}  // namespace

std::string html_unescape(std::string_view text) {
    static constexpr std::pair<std::string_view, std::string_view> named[] = {
        {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}, {"nbsp", "\xC2\xA0"}};
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        auto amp = text.find('&', i);
        if (amp == std::string_view::npos) break;
        out.append(text, i, amp - i);
        i = amp;
        // Entities are short: look for ';' within the longest one we decode ("&#x10FFFF;" is 10 bytes).
        auto semi = text.substr(amp, 12).find(';');
        bool done = false;
        if (semi != std::string_view::npos) {
            auto body = text.substr(amp + 1, semi - 1);
            if (!body.empty() && body.front() == '#') {
                if (char32_t cp = numeric_reference(body.substr(1))) {
                    utf8::encode(out, cp);
                    done = true;
                }
            } else {
                for (const auto& [name, value] : named)
                    if (body == name) {
                        out += value;
                        done = true;
                        break;
                    }
            }
        }
        if (done) {
            i = amp + semi + 1;
        } else {
            out += '&';
            i = amp + 1;
        }
    }
    if (i < text.size()) out.append(text, i);
    return out;
}

}  // namespace spacehook::rules
