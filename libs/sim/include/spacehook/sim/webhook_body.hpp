// The webhook request body DocSpace v3.1+ sends (docs/docspace-protocol.md §2.2-2.3, §3), rendered
// byte for byte: {"event":{...},"payload":{...},"webhook":{...}}, default values omitted, .NET escaping.
// The simulator renders every delivery attempt through `render`; tests use it to rebuild known vectors.
#ifndef SPACEHOOK_SIM_WEBHOOK_BODY_HPP
#define SPACEHOOK_SIM_WEBHOOK_BODY_HPP

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spacehook::sim {

// WebhookTrigger flag for a trigger string ("file.uploaded" -> 256, "*" -> 0); -1 when unknown.
std::int64_t trigger_flag(std::string_view name);
// Trigger string for one flag (256 -> "file.uploaded", 0 -> "*"); empty when unknown.
std::string_view trigger_name(std::int64_t flag);
// The `webhook.triggers` array for a config's mask: ["*"] for 0 (All), else the names of the set flags in
// ascending flag order.
std::vector<std::string> trigger_names(std::int64_t mask);
// Every trigger DocSpace v3.7.1 knows, in flag order (All first).
const std::vector<std::pair<std::string_view, std::int64_t>>& all_triggers();

struct webhook_target {
    boost::json::value id;  // the entity id (int, or string for third-party storage)
    std::string type;       // "file", "folder", "room", ...
};

struct webhook_body {
    // event
    int event_id = 0;            // the delivery log row id
    std::int64_t create_on_ms = 0;
    std::string create_by;       // acting user GUID; omitted when empty or the empty GUID
    std::string trigger;         // "file.uploaded"
    std::int64_t trigger_id = 0; // omitted when 0
    // payload: members in the order they are to appear
    boost::json::object payload;
    // webhook
    int webhook_id = 0;
    std::string webhook_name;
    std::string webhook_url;
    std::vector<std::string> webhook_triggers;
    std::optional<webhook_target> target;  // only when the config has a targetId
    // Retry fields: written only when set / non-zero, i.e. on automatic retry attempts.
    std::optional<std::int64_t> last_failure_on_ms;
    std::string last_failure_content;
    std::optional<std::int64_t> last_success_on_ms;  // written without a zone (read back from the database)
    int retry_count = 0;
    std::optional<std::int64_t> retry_on_ms;
};

// The exact body bytes (pure ASCII).
std::string render(const webhook_body& body);

}  // namespace spacehook::sim

#endif
