// DocSpace REST wire format (docs/docspace-protocol.md §4.0-4.6): the success/error envelopes, status and
// Retry-After mapping, DTO -> domain conversion and request bodies. Pure functions, no I/O; the client
// uses them and the unit tests feed them bodies exactly as the protocol page shows.
#ifndef SPACEHOOK_DOCSPACE_WIRE_HPP
#define SPACEHOOK_DOCSPACE_WIRE_HPP

#include "spacehook/docspace/types.hpp"
#include "spacehook/http/client.hpp"

#include <boost/json/value.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace spacehook::docspace::wire {

// The "response" member of a 2xx success envelope. Otherwise an api_error: status = the HTTP status,
// message = error.message of the error envelope (else a short description), retry_after_ms on 429/503.
// `now` resolves HTTP-date Retry-After and unix-time X-RateLimit-Reset values.
outcome<boost::json::value> unwrap(const http::client_response& res, std::string_view endpoint,
                                   std::chrono::system_clock::time_point now);
// As unwrap, but the whole success envelope (an object with a "response" member), for the paged lists
// whose `total` sits beside the response.
outcome<boost::json::value> unwrap_envelope(const http::client_response& res, std::string_view endpoint,
                                            std::chrono::system_clock::time_point now);

// Milliseconds to wait before retrying, from Retry-After (delta seconds or HTTP-date), else from
// X-RateLimit-Reset (unix seconds, or delta seconds when small). Never negative.
std::optional<std::int64_t> retry_after_ms(const http::client_response& res, std::chrono::system_clock::time_point now);

// DTO conversion. Ids may arrive as JSON numbers or strings; missing optional fields take defaults.
// A body of the wrong shape is an api_error with status 0 and a message naming what was wrong (the
// client replaces status and endpoint).
outcome<file_info> to_file(const boost::json::value& response);
// FolderContentDto: its `files`, each a FileDto.
outcome<std::vector<file_info>> to_folder_files(const boost::json::value& response);
outcome<person> to_person(const boost::json::value& response);
outcome<std::vector<folder_ref>> to_folder_path(const boost::json::value& response);
outcome<fileop> to_fileop(const boost::json::value& dto);
outcome<std::vector<fileop>> to_fileops(const boost::json::value& response);
outcome<webhook_config> to_webhook(const boost::json::value& response);
outcome<std::vector<webhook_config>> to_webhook_list(const boost::json::value& response);
outcome<std::vector<webhook_trigger>> to_triggers(const boost::json::value& response);
outcome<std::string> to_string_response(const boost::json::value& response);
outcome<webhook_log_row> to_webhook_log_row(const boost::json::value& dto);
// From the whole envelope (see unwrap_envelope): the rows of "response" and "total".
outcome<webhook_log_page> to_webhook_log_page(const boost::json::value& envelope);

// The canonical text of a JSON id (number or string); "" for anything else.
entry_id id_text(const boost::json::value& v);
// A numeric id ("8421") as a JSON number, anything else ("sbox-123") as a string.
boost::json::value id_value(const entry_id& id);
bool is_numeric_id(std::string_view id);

// Request bodies, compact JSON.
std::string fileop_body(const entry_id& file_id, const entry_id& dest_folder, conflict on_conflict);
std::string comment_body(int version, std::string_view text);
// `id` set: an update body (adds "id"; an empty secret is sent as "" and keeps the old one).
std::string webhook_body(const webhook_spec& spec, std::optional<std::int64_t> id = std::nullopt);
std::string webhook_enable_body(std::int64_t id, std::string_view name, std::string_view uri, bool enabled);
// The query of GET settings/webhooks/log: "" when no filter is set, else "?configId=7&groupStatus=29...".
std::string webhook_log_query_string(const webhook_log_query& q);

// "Skip" / "Overwrite" / "Duplicate" (FileConflictResolveType).
std::string_view conflict_name(conflict c);
// Percent-encodes one path segment or query value (everything but unreserved characters).
std::string encode_component(std::string_view s);
// Decodes the HTML entities DocSpace puts in displayName (&amp; &lt; &gt; &quot; &#39; &#NN; &#xNN;).
std::string html_decode(std::string_view s);
// At most `max` bytes, cut at a UTF-8 boundary.
std::string truncate_utf8(std::string_view s, std::size_t max = 200);

}  // namespace spacehook::docspace::wire

#endif
