// Domain types of the DocSpace REST client (docs/docspace-protocol.md §4): what a call returns, and
// api_error, what it returns instead when DocSpace or the network says no.
#ifndef SPACEHOOK_DOCSPACE_TYPES_HPP
#define SPACEHOOK_DOCSPACE_TYPES_HPP

#include "spacehook/core/error.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace spacehook::docspace {

// Canonical text of a DocSpace id: "8421" for DocSpace storage, "sbox-123" for third-party storage
// (integers for DocSpace's own storage, strings for third-party storage; docs/docspace-protocol.md §2.5).
using entry_id = std::string;

// What a move or copy does when the destination already holds a file of the same title
// (FileConflictResolveType: skip 0, overwrite 1, duplicate 2).
enum class conflict { skip, overwrite, duplicate };
std::string_view to_string(conflict c);  // "skip", "overwrite", "duplicate"

struct api_error {
    unsigned status = 0;                         // HTTP status; 0 = no response (network, timeout, cancelled)
    std::string message;                         // error.message of the error envelope, else the transport's; <= 200 chars
    std::optional<std::int64_t> retry_after_ms;  // 429/503: from Retry-After, else X-RateLimit-Reset
    std::string endpoint;                        // route name, e.g. "files.file.get"

    // The status in the project's vocabulary (core/error.hpp): no response and 5xx other than 501 ->
    // unavailable; 408 -> timed_out; 429 -> rate_limited; 401 -> unauthorized; 400, 402, 403 (DocSpace's
    // InvalidOperation), 404, 410, 415 -> rejected; anything else, a 2xx whose body could not be read
    // included -> unexpected.
    errc code() const;
    bool transient() const { return spacehook::transient(code()); }
    bool permanent() const { return spacehook::permanent(code()); }
    // One line for logs and jobs.last_error: "DocSpace files.file.get answered 403: ..." or "... failed: ...".
    std::string describe() const;
};

// A value or the api_error that stands in for it.
template <class T>
using outcome = expected<T, api_error>;

// GET files/file/{id} (FileDto, the fields spacehook uses).
struct file_info {
    entry_id id;
    entry_id folder_id;       // direct parent
    entry_id root_folder_id;  // section root (not the room)
    std::string title;
    std::string web_url;
    std::string file_exst;  // ".pdf"
    std::string comment;    // comment of the current version
    int version = 0;        // what PUT files/file/{id}/comment needs
    std::int64_t size = 0;  // pureContentLength, bytes
    std::string created_by_id, updated_by_id;
    std::string updated;  // ApiDateTime text as sent, e.g. "2025-06-10T12:15:41.0000000+03:00"
    int root_folder_type = 0;
};

// GET people/{id} and people/@self.
struct person {
    std::string id;
    std::string display_name;  // HTML entities decoded (DocSpace sends it HTML-encoded)
    std::string first_name, last_name, email;
};

// One step of GET files/folder/{id}/path.
struct folder_ref {
    entry_id id;
    std::string title;
    entry_id parent_id;  // "0" for a section root
    int root_folder_type = 0;
    int room_type = 0;  // 0 = not a room
};

enum class fileop_kind { move, copy };

// FileOperationDto.
struct fileop {
    std::string id;
    int operation = -1;  // "Operation" (capital O): 0 move, 1 copy, ...
    bool finished = false;
    std::string error;  // "" when fine
    int progress = 0;
    int status = 0;  // 0 created, 1 running, 2 completed, 3 cancelled, 4 failed
    std::vector<entry_id> file_ids;    // resulting files; for copy the NEW ids; a skipped file is absent
    std::vector<entry_id> folder_ids;  // resulting folders
};

struct fileop_result {
    // The op disappeared ([] from fileops?id=) before a poll saw it finished: the caller must verify the
    // effect itself (e.g. GET files/file/{id} and compare folderId). `op` is then the last state seen.
    bool vanished = false;
    // client::await_fileop only: the deadline passed with the op still unfinished (`op` as last seen); it
    // may still complete.
    bool timed_out = false;
    fileop op;
};

// WebhooksConfigDto (+ the last delivery status from the list endpoint).
struct webhook_config {
    std::int64_t id = 0;
    std::string name, uri, target_id;
    bool enabled = false, ssl = false;
    std::int64_t triggers = 0;  // bitmask, 0 = all
    std::string last_failure_on, last_success_on, last_failure_content;
    unsigned last_status = 0;  // list only: HTTP status of the last delivery, 0 = none
};

// What POST/PUT settings/webhook sends.
struct webhook_spec {
    std::string name;    // required, <= 50
    std::string uri;     // required
    std::string secret;  // required on create (8..30 printable ASCII); empty on update keeps the old one
    bool enabled = true;
    bool ssl = true;
    std::int64_t triggers = 0;  // bitmask, 0 = all
    std::string target_id;      // empty = none
};

// GET settings/webhook/triggers.
struct webhook_trigger {
    std::string name;
    std::int64_t id = 0;
    bool available = true;
};

// GET settings/webhooks/log filters (docs/docspace-protocol.md §4.6); unset ones are not sent.
struct webhook_log_query {
    std::optional<std::int64_t> config_id;     // configId: the webhook config's id
    std::optional<std::int64_t> group_status;  // groupStatus bits: 1 not sent (status 0), 2 2xx, 4 3xx, 8 4xx, 16 5xx
    std::optional<std::int64_t> event_id;      // eventId: one row, by its id (= event.id of what it sent)
    std::optional<int> count;                  // 1..100; DocSpace's default is 100
    std::optional<std::int64_t> start_index;   // rows to skip, counting from the newest
};

// One WebhooksLogDto: one event delivered (or not) to one config. Automatic retries update the row; a
// manual retry is a new row with a new id.
struct webhook_log_row {
    std::int64_t id = 0;                // the row id, which is the event.id its deliveries carry
    std::string config_name;
    std::int64_t trigger = 0;           // the single trigger bit, e.g. 256 for file.uploaded
    std::int64_t creation_time_ms = 0;  // Unix ms; 0 when absent or unreadable
    unsigned status = 0;                // last attempt's HTTP status; 0 no answer or not sent yet, 500 timeout
    std::string request_payload;        // exact body of the last attempt; empty when absent
    std::string request_headers;        // JSON text of the headers sent with it; empty when absent
    bool delivered = false;             // `delivery` is set, which DocSpace does on a 2xx only
};

// One page of the log, newest first.
struct webhook_log_page {
    std::vector<webhook_log_row> rows;
    std::vector<std::string> unreadable;  // why each entry that is not a readable log row was left out
    std::int64_t total = -1;  // rows matching the filters, all pages together; -1 when the envelope has none
};

struct client_settings {
    std::string base_url;  // https://portal.example.com (a path prefix is kept; a trailing / is ignored)
    std::string api_key;   // sent as "Authorization: Bearer <api_key>"
    std::string ca_file;   // extra PEM bundle besides the system store
    std::chrono::milliseconds timeout{30000};  // per HTTP request

    bool operator==(const client_settings&) const = default;
};

}  // namespace spacehook::docspace

#endif
