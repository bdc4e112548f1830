// Private UTF-8 helpers shared by the matchers and templates. Decoding never fails: a byte that does not
// start a valid sequence (bad lead, truncated, overlong, surrogate, > U+10FFFF) is consumed alone and
// yields U+DC80..U+DCFF (the "surrogateescape" convention). Valid UTF-8 never decodes to those values, so
// an invalid byte matches only the same invalid byte, and encode() writes it back unchanged.
#ifndef SPACEHOOK_RULES_UTF8_HPP
#define SPACEHOOK_RULES_UTF8_HPP

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace spacehook::rules::utf8 {

inline constexpr char32_t escaped_byte_first = 0xDC80;
inline constexpr char32_t escaped_byte_last = 0xDCFF;

// Decodes the code point at `p` (requires p < end) and advances `p` past it.
inline char32_t next(const char*& p, const char* end) noexcept {
    const auto b0 = static_cast<unsigned char>(*p);
    if (b0 < 0x80) {
        ++p;
        return b0;
    }
    std::ptrdiff_t n;
    char32_t cp, min;
    if ((b0 & 0xE0) == 0xC0) n = 1, cp = b0 & 0x1F, min = 0x80;
    else if ((b0 & 0xF0) == 0xE0) n = 2, cp = b0 & 0x0F, min = 0x800;
    else if ((b0 & 0xF8) == 0xF0) n = 3, cp = b0 & 0x07, min = 0x10000;
    else n = 0, cp = 0, min = 1;
    if (n == 0 || end - p <= n) {
        ++p;
        return 0xDC00 + b0;
    }
    for (std::ptrdiff_t i = 1; i <= n; ++i) {
        const auto b = static_cast<unsigned char>(p[i]);
        if ((b & 0xC0) != 0x80) {
            ++p;
            return 0xDC00 + b0;
        }
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        ++p;
        return 0xDC00 + b0;
    }
    p += n + 1;
    return cp;
}

// Appends `cp` as UTF-8; an escaped byte (U+DC80..U+DCFF) is appended as the raw byte it stands for.
inline void encode(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp >= escaped_byte_first && cp <= escaped_byte_last) {
        out += static_cast<char>(cp - 0xDC00);
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Number of code points (as next() counts them) in `s`.
inline std::size_t length(std::string_view s) noexcept {
    std::size_t n = 0;
    for (const char *p = s.data(), *end = p + s.size(); p < end; ++n) next(p, end);
    return n;
}

// fold_case() with the ASCII case inline; the rest goes to the table in text.cpp.
char32_t fold_non_ascii(char32_t c) noexcept;
inline char32_t fold(char32_t c) noexcept {
    if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    return fold_non_ascii(c);
}

// The foldings fold(c) != c of every code point c in [first, last], sorted, without duplicates.
std::vector<char32_t> foldings_in(char32_t first, char32_t last);

}  // namespace spacehook::rules::utf8

#endif
