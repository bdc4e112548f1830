// The v3.1+ DocSpace webhook envelope {event, payload, webhook} (docs/docspace-protocol.md §2.2), reduced
// to what spacehook routes on. Unknown fields are ignored, optional ones may be missing, and ids may be
// numbers or strings (third-party storage).
#ifndef SPACEHOOK_WEBHOOK_ENVELOPE_HPP
#define SPACEHOOK_WEBHOOK_ENVELOPE_HPP

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace spacehook::webhook {

struct envelope {
    std::string event_id;    // event.id as canonical text ("1532")
    std::string trigger;     // event.trigger ("file.uploaded")
    std::string created_by;  // event.createBy: the acting user's GUID, empty when omitted
    std::string created_on;  // event.createOn as sent
    std::string webhook_id;  // webhook.id as text, empty when absent
    std::string webhook_name;  // webhook.name
    // From payload, when it is a file/folder entry:
    std::string entry_id;         // payload.id
    std::string parent_id;        // payload.parentId
    std::string title;            // payload.title (decoded UTF-8)
    int entry_type = 0;           // payload.fileEntryType: 2 file, 1 folder, 0 unknown
};

// Parses the raw body. On failure returns a one-line reason suitable for a 400 answer
// ("body is not JSON: ...", "event.id is missing", "event.trigger must be a string", ...).
// Nesting deeper than 64 levels is rejected.
std::variant<envelope, std::string> parse_envelope(std::string_view body);

}  // namespace spacehook::webhook

#endif
