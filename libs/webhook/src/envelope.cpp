#include "spacehook/webhook/envelope.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <array>

#include <fmt/format.h>

namespace spacehook::webhook {
namespace json = boost::json;

namespace {

// DocSpace ids are ints for its own storage and strings for third-party storage.
std::optional<std::string> id_text(const json::value* v) {
    if (!v) return std::nullopt;
    if (v->is_int64()) return std::to_string(v->get_int64());
    if (v->is_uint64()) return std::to_string(v->get_uint64());
    if (v->is_string() && !v->get_string().empty()) return std::string(v->get_string());
    return std::nullopt;
}

std::string string_or_empty(const json::object& o, std::string_view key) {
    auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

std::variant<envelope, std::string> parse_envelope(std::string_view body) {
    // Deliveries are small; parse into a stack buffer first and spill to the heap only for large ones.
    std::array<unsigned char, 8192> stack_buf;
    json::monotonic_resource mr(stack_buf.data(), stack_buf.size());
    json::parse_options opts;
    opts.max_depth = 64;
    boost::system::error_code ec;
    json::value root = json::parse(body, ec, &mr, opts);
    if (ec) return fmt::format("body is not JSON: {}", ec.message());
    if (!root.is_object()) return std::string("body must be a JSON object");
    const auto& top = root.get_object();
    auto* ev = top.if_contains("event");
    if (!ev || !ev->is_object()) return std::string("event is missing or not an object");
    const auto& e = ev->get_object();

    envelope out;
    auto* id = e.if_contains("id");
    if (!id) return std::string("event.id is missing");
    auto idt = id_text(id);
    if (!idt) return std::string("event.id must be an integer or a non-empty string");
    out.event_id = std::move(*idt);
    auto* trig = e.if_contains("trigger");
    if (!trig) return std::string("event.trigger is missing");
    if (!trig->is_string() || trig->get_string().empty()) return std::string("event.trigger must be a non-empty string");
    out.trigger = std::string(trig->get_string());
    out.created_by = string_or_empty(e, "createBy");
    out.created_on = string_or_empty(e, "createOn");

    if (auto* wh = top.if_contains("webhook"); wh && wh->is_object()) {
        out.webhook_id = id_text(wh->get_object().if_contains("id")).value_or("");
        out.webhook_name = string_or_empty(wh->get_object(), "name");
    }
    if (auto* pl = top.if_contains("payload"); pl && pl->is_object()) {
        const auto& p = pl->get_object();
        out.entry_id = id_text(p.if_contains("id")).value_or("");
        out.parent_id = id_text(p.if_contains("parentId")).value_or("");
        out.title = string_or_empty(p, "title");
        if (auto* t = p.if_contains("fileEntryType"); t && t->is_int64()) out.entry_type = static_cast<int>(t->get_int64());
    }
    return out;
}

}  // namespace spacehook::webhook
