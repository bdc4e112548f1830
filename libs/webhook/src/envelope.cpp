#include "spacehook/webhook/envelope.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <cstdint>
#include <limits>

#include <fmt/format.h>

namespace spacehook::webhook {
namespace json = boost::json;

namespace {

// The envelope is read in one pass of Boost.JSON's SAX parser: no DOM is built. The handler keeps only the
// ten fields spacehook routes on (every other value is validated as JSON and dropped), and it answers exactly
// as a DOM read would: a duplicate key's last value wins, and a field whose value is an object or an array
// counts as present but of the wrong type. tests/fuzz/fuzz_webhook.cpp checks it against a DOM reference.

enum class section { none, event, webhook, payload };
enum class field { none, id, trigger, create_by, create_on, name, parent_id, title, entry_type };

// One captured value: what a json::value would have held, reduced to the kinds the envelope reads.
struct scalar {
    enum class kind { absent, string, int64, uint64, other } k = kind::absent;
    std::string text;
    std::int64_t i = 0;
    std::uint64_t u = 0;
};

// DocSpace ids are ints for its own storage and strings for third-party storage.
std::optional<std::string> id_text(const scalar& v) {
    switch (v.k) {
        case scalar::kind::int64: return std::to_string(v.i);
        case scalar::kind::uint64: return std::to_string(v.u);
        case scalar::kind::string:
            if (!v.text.empty()) return v.text;
            return std::nullopt;
        default: return std::nullopt;
    }
}

std::string string_or_empty(const scalar& v) { return v.k == scalar::kind::string ? v.text : std::string(); }

struct event_fields {
    scalar id, trigger, create_by, create_on;
};
struct webhook_fields {
    scalar id, name;
};
struct payload_fields {
    scalar id, parent_id, title, entry_type;
};

class envelope_handler {
public:
    static constexpr std::size_t max_object_size = std::numeric_limits<std::size_t>::max();
    static constexpr std::size_t max_array_size = std::numeric_limits<std::size_t>::max();
    static constexpr std::size_t max_key_size = std::numeric_limits<std::size_t>::max();
    static constexpr std::size_t max_string_size = std::numeric_limits<std::size_t>::max();

    bool root_is_object = false;
    bool event_is_object = false;
    bool webhook_is_object = false;
    bool payload_is_object = false;
    event_fields event;
    webhook_fields hook;
    payload_fields payload;

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }

    bool on_object_begin(boost::system::error_code&) {
        container_begins(true);
        return true;
    }
    bool on_object_end(std::size_t, boost::system::error_code&) {
        --depth_;
        return true;
    }
    bool on_array_begin(boost::system::error_code&) {
        container_begins(false);
        return true;
    }
    bool on_array_end(std::size_t, boost::system::error_code&) {
        --depth_;
        return true;
    }

    bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) {
        if (depth_ <= 2) key_.append(s.data(), s.size());
        return true;
    }
    bool on_key(json::string_view s, std::size_t, boost::system::error_code&) {
        if (depth_ <= 2) {
            key_.append(s.data(), s.size());
            if (depth_ == 1) {
                section_ = section_named(key_);
            } else if (field_target_ != section::none) {
                field_ = field_named(key_);
            }
            key_.clear();
        }
        return true;
    }

    bool on_string_part(json::string_view s, std::size_t, boost::system::error_code&) {
        if (scalar* t = target()) {
            if (!in_string_) t->text.clear();
            in_string_ = true;
            t->text.append(s.data(), s.size());
        }
        return true;
    }
    bool on_string(json::string_view s, std::size_t, boost::system::error_code&) {
        return value([&](scalar& t) {
            if (!in_string_) t.text.clear();
            in_string_ = false;
            t.text.append(s.data(), s.size());
            t.k = scalar::kind::string;
        });
    }

    bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_int64(std::int64_t v, json::string_view, boost::system::error_code&) {
        return value([&](scalar& t) { t = scalar{scalar::kind::int64, {}, v, 0}; });
    }
    bool on_uint64(std::uint64_t v, json::string_view, boost::system::error_code&) {
        return value([&](scalar& t) { t = scalar{scalar::kind::uint64, {}, 0, v}; });
    }
    bool on_double(double, json::string_view, boost::system::error_code&) { return other_scalar(); }
    bool on_bool(bool, boost::system::error_code&) { return other_scalar(); }
    bool on_null(boost::system::error_code&) { return other_scalar(); }
    bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_comment(json::string_view, boost::system::error_code&) { return true; }

private:
    // Depth counts open containers: 1 inside the root object, 2 inside one of its values.
    int depth_ = 0;
    section section_ = section::none;       // the root key whose value comes next (depth 1)
    section field_target_ = section::none;  // the section object we are inside (depth 2), if any
    field field_ = field::none;             // the section key whose value comes next (depth 2)
    std::string key_;
    bool in_string_ = false;

    static section section_named(std::string_view k) {
        if (k == "event") return section::event;
        if (k == "webhook") return section::webhook;
        if (k == "payload") return section::payload;
        return section::none;
    }

    field field_named(std::string_view k) const {
        switch (field_target_) {
            case section::event:
                if (k == "id") return field::id;
                if (k == "trigger") return field::trigger;
                if (k == "createBy") return field::create_by;
                if (k == "createOn") return field::create_on;
                return field::none;
            case section::webhook:
                if (k == "id") return field::id;
                if (k == "name") return field::name;
                return field::none;
            case section::payload:
                if (k == "id") return field::id;
                if (k == "parentId") return field::parent_id;
                if (k == "title") return field::title;
                if (k == "fileEntryType") return field::entry_type;
                return field::none;
            case section::none: return field::none;
        }
        return field::none;
    }

    // The value about to be read at depth 2, when it is one the envelope keeps.
    scalar* target() {
        if (depth_ != 2 || field_target_ == section::none) return nullptr;
        switch (field_) {
            case field::id:
                return field_target_ == section::event     ? &event.id
                       : field_target_ == section::webhook ? &hook.id
                                                           : &payload.id;
            case field::trigger: return &event.trigger;
            case field::create_by: return &event.create_by;
            case field::create_on: return &event.create_on;
            case field::name: return &hook.name;
            case field::parent_id: return &payload.parent_id;
            case field::title: return &payload.title;
            case field::entry_type: return &payload.entry_type;
            case field::none: return nullptr;
        }
        return nullptr;
    }

    bool* section_flag(section s) {
        switch (s) {
            case section::event: return &event_is_object;
            case section::webhook: return &webhook_is_object;
            case section::payload: return &payload_is_object;
            case section::none: return nullptr;
        }
        return nullptr;
    }

    // A new value for a root key replaces the old one (the last duplicate wins): forget what the old one held.
    void section_replaced(section s, bool is_object) {
        if (bool* flag = section_flag(s)) *flag = is_object;
        if (s == section::event) event = {};
        if (s == section::webhook) hook = {};
        if (s == section::payload) payload = {};
    }

    void container_begins(bool is_object) {
        if (depth_ == 0) {
            root_is_object = is_object;
        } else if (depth_ == 1) {
            section_replaced(section_, is_object);
            field_target_ = is_object ? section_ : section::none;
        } else if (scalar* t = target()) {
            *t = scalar{scalar::kind::other, {}, 0, 0};
        }
        ++depth_;
    }

    void scalar_at_section() {
        if (depth_ == 1) section_replaced(section_, false);
    }

    // A scalar value: kept by `set` where the envelope reads one, else it may replace a whole section.
    template <class Set>
    bool value(Set set) {
        if (scalar* t = target()) set(*t);
        else scalar_at_section();
        return true;
    }

    bool other_scalar() {
        return value([](scalar& t) { t = scalar{scalar::kind::other, {}, 0, 0}; });
    }
};

}  // namespace

std::variant<envelope, std::string> parse_envelope(std::string_view body) {
    json::parse_options opts;
    opts.max_depth = 64;
    json::basic_parser<envelope_handler> p(opts);
    boost::system::error_code ec;
    const auto n = p.write_some(false, body.data(), body.size(), ec);
    if (!ec && n < body.size()) ec = json::error::extra_data;
    if (ec) return fmt::format("body is not JSON: {}", ec.message());
    const auto& h = p.handler();
    if (!h.root_is_object) return std::string("body must be a JSON object");
    if (!h.event_is_object) return std::string("event is missing or not an object");

    envelope out;
    if (h.event.id.k == scalar::kind::absent) return std::string("event.id is missing");
    auto idt = id_text(h.event.id);
    if (!idt) return std::string("event.id must be an integer or a non-empty string");
    out.event_id = std::move(*idt);
    const auto& trig = h.event.trigger;
    if (trig.k == scalar::kind::absent) return std::string("event.trigger is missing");
    if (trig.k != scalar::kind::string || trig.text.empty())
        return std::string("event.trigger must be a non-empty string");
    out.trigger = trig.text;
    out.created_by = string_or_empty(h.event.create_by);
    out.created_on = string_or_empty(h.event.create_on);

    if (h.webhook_is_object) {
        out.webhook_id = id_text(h.hook.id).value_or("");
        out.webhook_name = string_or_empty(h.hook.name);
    }
    if (h.payload_is_object) {
        out.entry_id = id_text(h.payload.id).value_or("");
        out.parent_id = id_text(h.payload.parent_id).value_or("");
        out.title = string_or_empty(h.payload.title);
        if (h.payload.entry_type.k == scalar::kind::int64)
            out.entry_type = static_cast<int>(h.payload.entry_type.i);
    }
    return out;
}

}  // namespace spacehook::webhook
