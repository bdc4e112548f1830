#include "spacehook/core/clock.hpp"

#include <charconv>
#include <chrono>
#include <ctime>
#include <limits>

#include <fmt/format.h>

namespace spacehook::clock {

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_iso(std::int64_t unix_ms) {
    std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(unix_ms % 1000));
}

namespace {
// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, std::size_t& pos, std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const char c = s[pos + i];
        if (c < '0' || c > '9') return false;
        out = out * 10 + (c - '0');
    }
    pos += n;
    return true;
}
}  // namespace

std::optional<std::int64_t> parse_iso_ms(std::string_view s) {
    std::size_t p = 0;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
    auto sep = [&](char c) { return p < s.size() && s[p++] == c; };
    if (!digits(s, p, 4, y) || !sep('-') || !digits(s, p, 2, mo) || !sep('-') || !digits(s, p, 2, d)) return std::nullopt;
    if (p >= s.size() || (s[p] != 'T' && s[p] != ' ')) return std::nullopt;
    ++p;
    if (!digits(s, p, 2, h) || !sep(':') || !digits(s, p, 2, mi) || !sep(':') || !digits(s, p, 2, sec)) return std::nullopt;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
    std::int64_t ms = 0;
    if (p < s.size() && s[p] == '.') {
        ++p;
        int scale = 100, n = 0;
        for (; p < s.size() && s[p] >= '0' && s[p] <= '9'; ++p, ++n) {
            ms += (s[p] - '0') * scale;
            scale /= 10;
        }
        if (n == 0) return std::nullopt;
    }
    std::int64_t offset_min = 0;
    if (p < s.size()) {
        if (s[p] == 'Z' && p + 1 == s.size()) {
            ++p;
        } else if (s[p] == '+' || s[p] == '-') {
            const int sign = s[p++] == '-' ? -1 : 1;
            int oh = 0, om = 0;
            if (!digits(s, p, 2, oh) || !sep(':') || !digits(s, p, 2, om) || p != s.size()) return std::nullopt;
            offset_min = sign * (oh * 60 + om);
        } else {
            return std::nullopt;
        }
    }
    const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    return ((days * 24 + h) * 60 + mi - offset_min) * 60'000 + sec * 1000LL + ms;
}

std::optional<std::int64_t> parse_duration_ms(std::string_view text) {
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || p == text.data() || n < 0) return std::nullopt;
    std::string_view unit(p, text.data() + text.size() - p);
    std::int64_t mult = 0;
    if (unit == "ms") mult = 1;
    else if (unit == "s") mult = 1000;
    else if (unit == "m") mult = 60'000;
    else if (unit == "h") mult = 3'600'000;
    else if (unit == "d") mult = 86'400'000;
    else return std::nullopt;
    if (n > std::numeric_limits<std::int64_t>::max() / mult) return std::nullopt;  // would overflow
    return n * mult;
}

}  // namespace spacehook::clock
