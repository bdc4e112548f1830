// JSON text exactly as DocSpace's .NET System.Text.Json writes it with the default JavaScriptEncoder
// (docs/docspace-protocol.md §2.1): compact, members in insertion order, every non-ASCII character and
// every HTML-sensitive one (< > & ' + ` ") escaped as \uXXXX with uppercase hex digits, surrogate pairs for
// characters above U+FFFF, and the short escapes \b \t \n \f \r \\ for the rest. The output is pure ASCII.
#ifndef SPACEHOOK_SIM_DOTNET_JSON_HPP
#define SPACEHOOK_SIM_DOTNET_JSON_HPP

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace spacehook::sim::dotnet_json {

// Appends `utf8` as a quoted JSON string. Invalid UTF-8 sequences become \uFFFD, as .NET does.
void append_string(std::string& out, std::string_view utf8);
std::string quote(std::string_view utf8);

// Serializes `v` (objects keep their member order). Doubles are written with up to 17 significant digits.
std::string serialize(const boost::json::value& v);

// "2025-06-10T09:15:41Z": whole seconds, UTC, as webhook event and entry dates are written.
std::string utc_seconds(std::int64_t unix_ms);
// "2025-06-10T09:15:43": whole seconds without a zone, as a DateTime read back from the database is written.
std::string unspecified_seconds(std::int64_t unix_ms);
// "2025-06-10T12:15:41.0000000+03:00": an ApiDateTime in the tenant's offset, as the REST API writes dates.
std::string api_date_time(std::int64_t unix_ms, int utc_offset_minutes);

}  // namespace spacehook::sim::dotnet_json

#endif
