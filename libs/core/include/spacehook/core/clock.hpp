// Wall-clock helpers. Every time stored in the database is Unix milliseconds (UTC).
#ifndef SPACEHOOK_CORE_CLOCK_HPP
#define SPACEHOOK_CORE_CLOCK_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace spacehook::clock {

std::int64_t now_ms();
// "2025-06-10T09:15:42.123Z"
std::string format_iso(std::int64_t unix_ms);
// Parses an ISO-8601 date-time as DocSpace writes them: "2025-06-10T09:15:42Z", with or without a fraction,
// with an offset ("+03:00"), or with no zone at all (taken as UTC). nullopt when malformed.
std::optional<std::int64_t> parse_iso_ms(std::string_view text);
// Parses a duration such as "30d", "12h", "15m", "90s", "500ms"; nullopt when malformed.
std::optional<std::int64_t> parse_duration_ms(std::string_view text);

}  // namespace spacehook::clock

#endif
