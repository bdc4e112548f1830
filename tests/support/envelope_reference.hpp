// The envelope read the simple way, through a Boost.JSON DOM: the reference that webhook::parse_envelope's
// one-pass reader must agree with (tests/unit/webhook/envelope_test.cpp, tests/fuzz/fuzz_webhook.cpp).
// This was parse_envelope itself until the front door stopped building a DOM per delivery (issue G).
#ifndef SPACEHOOK_TESTS_ENVELOPE_REFERENCE_HPP
#define SPACEHOOK_TESTS_ENVELOPE_REFERENCE_HPP

#include "spacehook/webhook/envelope.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace spacehook::testing {

inline std::optional<std::string> reference_id_text(const boost::json::value* v) {
    if (!v) return std::nullopt;
    if (v->is_int64()) return std::to_string(v->get_int64());
    if (v->is_uint64()) return std::to_string(v->get_uint64());
    if (v->is_string() && !v->get_string().empty()) return std::string(v->get_string());
    return std::nullopt;
}

inline std::string reference_string_or_empty(const boost::json::object& o, std::string_view key) {
    auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

inline std::variant<webhook::envelope, std::string> reference_parse_envelope(std::string_view body) {
    namespace json = boost::json;
    json::parse_options opts;
    opts.max_depth = 64;
    boost::system::error_code ec;
    json::value root = json::parse(body, ec, {}, opts);
    if (ec) return "body is not JSON: " + ec.message();
    if (!root.is_object()) return std::string("body must be a JSON object");
    const auto& top = root.get_object();
    auto* ev = top.if_contains("event");
    if (!ev || !ev->is_object()) return std::string("event is missing or not an object");
    const auto& e = ev->get_object();
    webhook::envelope out;
    auto* id = e.if_contains("id");
    if (!id) return std::string("event.id is missing");
    auto idt = reference_id_text(id);
    if (!idt) return std::string("event.id must be an integer or a non-empty string");
    out.event_id = std::move(*idt);
    auto* trig = e.if_contains("trigger");
    if (!trig) return std::string("event.trigger is missing");
    if (!trig->is_string() || trig->get_string().empty())
        return std::string("event.trigger must be a non-empty string");
    out.trigger = std::string(trig->get_string());
    out.created_by = reference_string_or_empty(e, "createBy");
    out.created_on = reference_string_or_empty(e, "createOn");
    if (auto* wh = top.if_contains("webhook"); wh && wh->is_object()) {
        out.webhook_id = reference_id_text(wh->get_object().if_contains("id")).value_or("");
        out.webhook_name = reference_string_or_empty(wh->get_object(), "name");
    }
    if (auto* pl = top.if_contains("payload"); pl && pl->is_object()) {
        const auto& p = pl->get_object();
        out.entry_id = reference_id_text(p.if_contains("id")).value_or("");
        out.parent_id = reference_id_text(p.if_contains("parentId")).value_or("");
        out.title = reference_string_or_empty(p, "title");
        if (auto* t = p.if_contains("fileEntryType"); t && t->is_int64()) out.entry_type = static_cast<int>(t->get_int64());
    }
    return out;
}

inline bool same_envelope(const webhook::envelope& a, const webhook::envelope& b) {
    return a.event_id == b.event_id && a.trigger == b.trigger && a.created_by == b.created_by &&
           a.created_on == b.created_on && a.webhook_id == b.webhook_id && a.webhook_name == b.webhook_name &&
           a.entry_id == b.entry_id && a.parent_id == b.parent_id && a.title == b.title &&
           a.entry_type == b.entry_type;
}

// The two readers agree: the same reason, or the same fields.
inline bool same_answer(const std::variant<webhook::envelope, std::string>& a,
                        const std::variant<webhook::envelope, std::string>& b) {
    if (a.index() != b.index()) return false;
    if (auto* ra = std::get_if<std::string>(&a)) return *ra == std::get<std::string>(b);
    return same_envelope(std::get<webhook::envelope>(a), std::get<webhook::envelope>(b));
}

}  // namespace spacehook::testing

#endif
