// Text helpers for matching and display: Unicode simple case folding over UTF-8, and HTML entity decoding
// (DocSpace returns display names HTML-encoded).
#ifndef SPACEHOOK_RULES_TEXT_HPP
#define SPACEHOOK_RULES_TEXT_HPP

#include <string>
#include <string_view>

namespace spacehook::rules {

// Unicode simple case folding (CaseFolding.txt statuses C and S, Unicode 14): one code point to one code
// point, e.g. 'A' -> 'a', U+00C4 'Ä' -> 'ä', U+03A3 'Σ' and U+03C2 'ς' -> 'σ', U+0416 'Ж' -> 'ж',
// U+1E9E 'ẞ' -> 'ß'. Idempotent. Characters whose only folding is to several code points ('ß' -> "ss",
// U+0130 'İ') fold to themselves, so folding never changes a string's length in code points.
char32_t fold_case(char32_t c) noexcept;

// fold_case applied to every code point of UTF-8 `text`. Invalid UTF-8 bytes are copied unchanged.
std::string fold_case(std::string_view text);

// Decodes the HTML entities DocSpace emits: &amp; &lt; &gt; &quot; &#39; &apos; &nbsp; and numeric
// references &#NNN; / &#xHH; (to UTF-8). One pass ("&amp;lt;" -> "&lt;"); anything else, including
// malformed or out-of-range references, is kept as written.
std::string html_unescape(std::string_view text);

}  // namespace spacehook::rules

#endif
