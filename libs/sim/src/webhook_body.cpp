#include "spacehook/sim/webhook_body.hpp"

#include "spacehook/sim/dotnet_json.hpp"

namespace spacehook::sim {
namespace {

constexpr std::string_view empty_guid = "00000000-0000-0000-0000-000000000000";

}  // namespace

const std::vector<std::pair<std::string_view, std::int64_t>>& all_triggers() {
    // WebhookTrigger.cs, v3.7.1 (docs/docspace-protocol.md §2.3).
    static const std::vector<std::pair<std::string_view, std::int64_t>> table = {
        {"*", 0},
        {"user.created", 1},
        {"user.invited", 2},
        {"user.updated", 4},
        {"user.deleted", 8},
        {"group.created", 16},
        {"group.updated", 32},
        {"group.deleted", 64},
        {"file.created", 128},
        {"file.uploaded", 256},
        {"file.updated", 512},
        {"file.trashed", 1024},
        {"file.deleted", 2048},
        {"file.restored", 4096},
        {"file.copied", 8192},
        {"file.moved", 16384},
        {"folder.created", 32768},
        {"folder.updated", 65536},
        {"folder.trashed", 131072},
        {"folder.deleted", 262144},
        {"folder.restored", 524288},
        {"folder.copied", 1048576},
        {"folder.moved", 2097152},
        {"room.created", 4194304},
        {"room.updated", 8388608},
        {"room.archived", 16777216},
        {"room.deleted", 33554432},
        {"room.restored", 67108864},
        {"room.copied", 134217728},
        {"form.submit", 268435456},
        {"form.filled.out", 536870912},
        {"form.stopped", 1073741824},
        {"agent.created", 2147483648},
        {"agent.updated", 4294967296},
        {"agent.deleted", 8589934592},
        {"file.downloaded", 17179869184},
        {"folder.downloaded", 34359738368},
    };
    return table;
}

std::int64_t trigger_flag(std::string_view name) {
    for (const auto& [n, f] : all_triggers())
        if (n == name) return f;
    return -1;
}

std::string_view trigger_name(std::int64_t flag) {
    for (const auto& [n, f] : all_triggers())
        if (f == flag) return n;
    return {};
}

std::vector<std::string> trigger_names(std::int64_t mask) {
    if (mask == 0) return {"*"};
    std::vector<std::string> out;
    for (const auto& [n, f] : all_triggers())
        if (f != 0 && (mask & f) == f) out.emplace_back(n);
    return out;
}

std::string render(const webhook_body& b) {
    using dotnet_json::append_string;
    std::string out;
    out.reserve(1024);
    auto key = [&](std::string_view k) {
        append_string(out, k);
        out += ':';
    };
    auto sep = [&](bool& first) {
        if (!first) out += ',';
        first = false;
    };

    out += "{";
    key("event");
    out += '{';
    bool first = true;
    if (b.event_id != 0) {
        sep(first);
        key("id");
        out += std::to_string(b.event_id);
    }
    sep(first);
    key("createOn");
    append_string(out, dotnet_json::utc_seconds(b.create_on_ms));
    if (!b.create_by.empty() && b.create_by != empty_guid) {
        sep(first);
        key("createBy");
        append_string(out, b.create_by);
    }
    if (!b.trigger.empty()) {
        sep(first);
        key("trigger");
        append_string(out, b.trigger);
    }
    if (b.trigger_id != 0) {
        sep(first);
        key("triggerId");
        out += std::to_string(b.trigger_id);
    }
    out += "},";

    key("payload");
    out += dotnet_json::serialize(b.payload);
    out += ',';

    key("webhook");
    out += '{';
    first = true;
    if (b.webhook_id != 0) {
        sep(first);
        key("id");
        out += std::to_string(b.webhook_id);
    }
    if (!b.webhook_name.empty()) {
        sep(first);
        key("name");
        append_string(out, b.webhook_name);
    }
    if (!b.webhook_url.empty()) {
        sep(first);
        key("url");
        append_string(out, b.webhook_url);
    }
    sep(first);
    key("triggers");
    out += '[';
    for (std::size_t i = 0; i < b.webhook_triggers.size(); ++i) {
        if (i) out += ',';
        append_string(out, b.webhook_triggers[i]);
    }
    out += ']';
    if (b.target) {
        sep(first);
        key("target");
        boost::json::object t;
        t["id"] = b.target->id;
        if (!b.target->type.empty()) t["type"] = b.target->type;
        out += dotnet_json::serialize(t);
    }
    if (b.last_failure_on_ms) {
        sep(first);
        key("lastFailureOn");
        append_string(out, dotnet_json::utc_seconds(*b.last_failure_on_ms));
    }
    if (!b.last_failure_content.empty()) {
        sep(first);
        key("lastFailureContent");
        append_string(out, b.last_failure_content);
    }
    if (b.last_success_on_ms) {
        sep(first);
        key("lastSuccessOn");
        append_string(out, dotnet_json::unspecified_seconds(*b.last_success_on_ms));
    }
    if (b.retry_count != 0) {
        sep(first);
        key("retryCount");
        out += std::to_string(b.retry_count);
    }
    if (b.retry_on_ms) {
        sep(first);
        key("retryOn");
        append_string(out, dotnet_json::utc_seconds(*b.retry_on_ms));
    }
    out += "}}";
    return out;
}

}  // namespace spacehook::sim
