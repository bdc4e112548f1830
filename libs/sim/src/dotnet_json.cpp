#include "spacehook/sim/dotnet_json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <ctime>

#include <fmt/format.h>

namespace spacehook::sim::dotnet_json {
namespace {

// Next code point of `s` at `i` (advanced past it); U+FFFD for an invalid or truncated sequence, which
// consumes one byte, as a lenient UTF-8 decoder does.
char32_t next_code_point(std::string_view s, std::size_t& i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
        ++i;
        return b0;
    }
    int len = 0;
    char32_t cp = 0;
    if ((b0 & 0xE0) == 0xC0) {
        len = 2;
        cp = b0 & 0x1F;
    } else if ((b0 & 0xF0) == 0xE0) {
        len = 3;
        cp = b0 & 0x0F;
    } else if ((b0 & 0xF8) == 0xF0) {
        len = 4;
        cp = b0 & 0x07;
    } else {
        ++i;
        return 0xFFFD;
    }
    if (i + static_cast<std::size_t>(len) > s.size()) {
        ++i;
        return 0xFFFD;
    }
    for (int k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
        if ((b & 0xC0) != 0x80) {
            ++i;
            return 0xFFFD;
        }
        cp = (cp << 6) | (b & 0x3F);
    }
    // Overlong forms, surrogates and out-of-range values are invalid.
    static constexpr char32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        ++i;
        return 0xFFFD;
    }
    i += static_cast<std::size_t>(len);
    return cp;
}

void append_u(std::string& out, unsigned unit) { fmt::format_to(std::back_inserter(out), "\\u{:04X}", unit); }

void append_value(std::string& out, const boost::json::value& v) {
    switch (v.kind()) {
    case boost::json::kind::null: out += "null"; break;
    case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
    case boost::json::kind::int64: fmt::format_to(std::back_inserter(out), "{}", v.get_int64()); break;
    case boost::json::kind::uint64: fmt::format_to(std::back_inserter(out), "{}", v.get_uint64()); break;
    case boost::json::kind::double_: fmt::format_to(std::back_inserter(out), "{}", v.get_double()); break;
    case boost::json::kind::string: append_string(out, v.get_string()); break;
    case boost::json::kind::array: {
        out += '[';
        bool first = true;
        for (const auto& e : v.get_array()) {
            if (!first) out += ',';
            first = false;
            append_value(out, e);
        }
        out += ']';
        break;
    }
    case boost::json::kind::object: {
        out += '{';
        bool first = true;
        for (const auto& m : v.get_object()) {
            if (!first) out += ',';
            first = false;
            append_string(out, m.key());
            out += ':';
            append_value(out, m.value());
        }
        out += '}';
        break;
    }
    }
}

std::tm utc_tm(std::int64_t unix_ms) {
    auto secs = static_cast<std::time_t>(unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return tm;
}

std::string seconds_text(std::int64_t unix_ms) {
    const auto tm = utc_tm(unix_ms);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                       tm.tm_min, tm.tm_sec);
}

}  // namespace

void append_string(std::string& out, std::string_view utf8) {
    out += '"';
    std::size_t i = 0;
    while (i < utf8.size()) {
        const char32_t cp = next_code_point(utf8, i);
        switch (cp) {
        case '\b': out += "\\b"; continue;
        case '\t': out += "\\t"; continue;
        case '\n': out += "\\n"; continue;
        case '\f': out += "\\f"; continue;
        case '\r': out += "\\r"; continue;
        case '\\': out += "\\\\"; continue;
        case '"':
        case '&':
        case '\'':
        case '+':
        case '<':
        case '>':
        case '`': append_u(out, static_cast<unsigned>(cp)); continue;
        default: break;
        }
        if (cp >= 0x20 && cp < 0x7F) {
            out += static_cast<char>(cp);
        } else if (cp < 0x10000) {
            append_u(out, static_cast<unsigned>(cp));
        } else {
            const char32_t v = cp - 0x10000;
            append_u(out, static_cast<unsigned>(0xD800 + (v >> 10)));
            append_u(out, static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
        }
    }
    out += '"';
}

std::string quote(std::string_view utf8) {
    std::string out;
    out.reserve(utf8.size() + 2);
    append_string(out, utf8);
    return out;
}

std::string serialize(const boost::json::value& v) {
    std::string out;
    append_value(out, v);
    return out;
}

std::string utc_seconds(std::int64_t unix_ms) { return seconds_text(unix_ms) + 'Z'; }

std::string unspecified_seconds(std::int64_t unix_ms) { return seconds_text(unix_ms); }

std::string api_date_time(std::int64_t unix_ms, int utc_offset_minutes) {
    const std::int64_t local_ms = unix_ms + std::int64_t{utc_offset_minutes} * 60'000;
    const auto ms = static_cast<int>(((local_ms % 1000) + 1000) % 1000);
    const int off = utc_offset_minutes < 0 ? -utc_offset_minutes : utc_offset_minutes;
    return fmt::format("{}.{:07}{}{:02}:{:02}", seconds_text(local_ms), ms * 10000, utc_offset_minutes < 0 ? '-' : '+',
                       off / 60, off % 60);
}

}  // namespace spacehook::sim::dotnet_json
