#include "spacehook/docspace/wire.hpp"

#include "spacehook/core/clock.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <ctime>

#include <fmt/format.h>

namespace spacehook::docspace {

errc api_error::code() const {
    switch (status) {
    case 0: return errc::unavailable;
    case 401: return errc::unauthorized;
    case 408: return errc::timed_out;
    case 429: return errc::rate_limited;
    case 400:
    case 402:
    case 403:
    case 404:
    case 410:
    case 415: return errc::rejected;
    default: return status >= 500 && status <= 599 && status != 501 ? errc::unavailable : errc::unexpected;
    }
}

std::string api_error::describe() const {
    return status == 0 ? fmt::format("DocSpace {} failed: {}", endpoint, message)
                       : fmt::format("DocSpace {} answered {}: {}", endpoint, status, message);
}

std::string_view to_string(conflict c) {
    switch (c) {
    case conflict::skip: return "skip";
    case conflict::overwrite: return "overwrite";
    case conflict::duplicate: return "duplicate";
    }
    return "?";
}

}  // namespace spacehook::docspace

namespace spacehook::docspace::wire {
namespace json = boost::json;

namespace {

api_error shape_error(std::string what) {
    api_error e;
    e.message = truncate_utf8("unexpected response: " + what);
    return e;
}

std::string str(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    if (it == o.end() || !it->value().is_string()) return {};
    return std::string(it->value().get_string());
}

std::optional<std::int64_t> parse_int(std::string_view s) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
    return v;
}

std::int64_t num(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    if (it == o.end()) return 0;
    const auto& v = it->value();
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64()) return static_cast<std::int64_t>(v.get_uint64());
    if (v.is_double()) return static_cast<std::int64_t>(v.get_double());
    if (v.is_string()) return parse_int(v.get_string()).value_or(0);
    return 0;
}

bool boolean(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    return it != o.end() && it->value().is_bool() && it->value().get_bool();
}

entry_id id_of(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    return it == o.end() ? entry_id{} : id_text(it->value());
}

// The "id" of a nested EmployeeDto ({"id":..,"displayName":..}), or a bare string.
std::string person_id(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    if (it == o.end()) return {};
    if (const auto* inner = it->value().if_object()) return str(*inner, "id");
    if (it->value().is_string()) return std::string(it->value().get_string());
    return {};
}

std::string date_text(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    if (it == o.end()) return {};
    if (it->value().is_string()) return std::string(it->value().get_string());
    // The OpenAPI spec (wrongly) shows ApiDateTime as {utcTime, timeZoneOffset}; accept it anyway.
    if (const auto* inner = it->value().if_object()) return str(*inner, "utcTime");
    return {};
}

const json::array* array_of(const json::value& v) { return v.if_array(); }

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text) {
    std::tm tm{};
    const std::string s(text);
    // IMF-fixdate, the only form senders should use (RFC 9110 5.6.7).
    const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end != '\0') return std::nullopt;
    const std::time_t t = timegm(&tm);
    if (t == static_cast<std::time_t>(-1)) return std::nullopt;
    return std::chrono::system_clock::from_time_t(t);
}

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return std::string(s);
}

}  // namespace

std::optional<std::int64_t> retry_after_ms(const http::client_response& res, std::chrono::system_clock::time_point now) {
    using namespace std::chrono;
    auto until_ms = [&](system_clock::time_point at) {
        return std::max<std::int64_t>(0, duration_cast<milliseconds>(at - now).count());
    };
    if (auto ra = trim(res.header("Retry-After")); !ra.empty()) {
        if (auto secs = parse_int(ra)) return std::max<std::int64_t>(0, *secs) * 1000;
        if (auto at = parse_http_date(ra)) return until_ms(*at);
    }
    if (auto reset = trim(res.header("X-RateLimit-Reset")); !reset.empty()) {
        if (auto v = parse_int(reset)) {
            // DocSpace documents a unix timestamp; some limiters send seconds to go. Tell them apart by size.
            if (*v > 1'000'000'000) return until_ms(system_clock::time_point(seconds(*v)));
            return std::max<std::int64_t>(0, *v) * 1000;
        }
    }
    return std::nullopt;
}

outcome<json::value> unwrap(const http::client_response& res, std::string_view endpoint,
                            std::chrono::system_clock::time_point now) {
    auto envelope = unwrap_envelope(res, endpoint, now);
    if (!envelope) return envelope.error();
    return std::move(envelope->as_object().at("response"));
}

outcome<json::value> unwrap_envelope(const http::client_response& res, std::string_view endpoint,
                                     std::chrono::system_clock::time_point now) {
    api_error err;
    err.status = res.status;
    err.endpoint = std::string(endpoint);

    boost::system::error_code ec;
    json::value body = res.body.empty() ? json::value() : json::parse(res.body, ec);
    const json::object* envelope = ec ? nullptr : body.if_object();

    if (res.status >= 200 && res.status <= 299) {
        if (envelope && envelope->contains("response")) return body;
        err.message = ec || res.body.empty() ? "unexpected response: body is not JSON"
                                             : "unexpected response: no \"response\" member";
        return err;
    }

    if (envelope) {
        if (auto it = envelope->find("error"); it != envelope->end()) {
            if (const auto* e = it->value().if_object()) err.message = str(*e, "message");
            else if (it->value().is_string()) err.message = std::string(it->value().get_string());
        }
    }
    if (err.message.empty()) {
        err.message = "HTTP " + std::to_string(res.status);
        // A proxy's text error page is more useful than nothing; a JSON body without error.message is not.
        if (!res.body.empty() && !envelope) err.message += ": " + res.body;
    }
    err.message = truncate_utf8(err.message);
    if (res.status == 429 || res.status == 503) err.retry_after_ms = retry_after_ms(res, now);
    return err;
}

entry_id id_text(const json::value& v) {
    if (v.is_int64()) return std::to_string(v.get_int64());
    if (v.is_uint64()) return std::to_string(v.get_uint64());
    if (v.is_string()) return std::string(v.get_string());
    return {};
}

bool is_numeric_id(std::string_view id) {
    if (id.empty() || id.size() > 18) return false;
    if (id.size() > 1 && id.front() == '0') return false;
    for (char c : id)
        if (c < '0' || c > '9') return false;
    return true;
}

json::value id_value(const entry_id& id) {
    if (is_numeric_id(id)) return json::value(*parse_int(id));
    return json::value(id);
}

outcome<file_info> to_file(const json::value& response) {
    const auto* o = response.if_object();
    if (!o) return shape_error("file is not an object");
    file_info f;
    f.id = id_of(*o, "id");
    if (f.id.empty()) return shape_error("file has no id");
    f.folder_id = id_of(*o, "folderId");
    f.root_folder_id = id_of(*o, "rootFolderId");
    f.title = str(*o, "title");
    f.web_url = str(*o, "webUrl");
    f.file_exst = str(*o, "fileExst");
    f.comment = str(*o, "comment");
    f.version = static_cast<int>(num(*o, "version"));
    f.size = num(*o, "pureContentLength");
    f.created_by_id = person_id(*o, "createdBy");
    f.updated_by_id = person_id(*o, "updatedBy");
    f.updated = date_text(*o, "updated");
    f.root_folder_type = static_cast<int>(num(*o, "rootFolderType"));
    return f;
}

outcome<std::vector<file_info>> to_folder_files(const json::value& response) {
    const auto* o = response.if_object();
    if (!o) return shape_error("folder content is not an object");
    std::vector<file_info> out;
    auto files = o->find("files");
    if (files == o->end() || files->value().is_null()) return out;
    if (!files->value().is_array()) return shape_error("folder content's files is not an array");
    for (const auto& item : files->value().get_array()) {
        auto f = to_file(item);
        if (!f) return f.error();
        out.push_back(std::move(f).value());
    }
    return out;
}

outcome<person> to_person(const json::value& response) {
    const auto* o = response.if_object();
    if (!o) return shape_error("person is not an object");
    person p;
    p.id = str(*o, "id");
    if (p.id.empty()) return shape_error("person has no id");
    p.display_name = html_decode(str(*o, "displayName"));
    p.first_name = str(*o, "firstName");
    p.last_name = str(*o, "lastName");
    p.email = str(*o, "email");
    return p;
}

outcome<std::vector<folder_ref>> to_folder_path(const json::value& response) {
    const auto* a = array_of(response);
    if (!a) return shape_error("folder path is not an array");
    std::vector<folder_ref> out;
    out.reserve(a->size());
    for (const auto& item : *a) {
        const auto* o = item.if_object();
        if (!o) return shape_error("folder path entry is not an object");
        folder_ref f;
        f.id = id_of(*o, "id");
        if (f.id.empty()) return shape_error("folder path entry has no id");
        f.title = str(*o, "title");
        f.parent_id = id_of(*o, "parentId");
        f.root_folder_type = static_cast<int>(num(*o, "rootFolderType"));
        f.room_type = static_cast<int>(num(*o, "roomType"));
        out.push_back(std::move(f));
    }
    return out;
}

outcome<fileop> to_fileop(const json::value& dto) {
    const auto* o = dto.if_object();
    if (!o) return shape_error("file operation is not an object");
    fileop op;
    op.id = id_of(*o, "id");
    if (op.id.empty()) return shape_error("file operation has no id");
    // [JsonPropertyName("Operation")]; the docs' lowercase spelling is accepted as a fallback.
    if (o->contains("Operation")) op.operation = static_cast<int>(num(*o, "Operation"));
    else if (o->contains("operation")) op.operation = static_cast<int>(num(*o, "operation"));
    op.finished = boolean(*o, "finished");
    op.error = str(*o, "error");
    op.progress = static_cast<int>(num(*o, "progress"));
    op.status = static_cast<int>(num(*o, "status"));
    auto ids = [&](std::string_view key, std::vector<entry_id>& into) {
        auto it = o->find(key);
        if (it == o->end() || !it->value().is_array()) return;
        for (const auto& e : it->value().get_array()) {
            if (const auto* eo = e.if_object()) {
                if (auto id = id_of(*eo, "id"); !id.empty()) into.push_back(std::move(id));
            }
        }
    };
    ids("files", op.file_ids);
    ids("folders", op.folder_ids);
    return op;
}

outcome<std::vector<fileop>> to_fileops(const json::value& response) {
    const auto* a = array_of(response);
    if (!a) return shape_error("file operations are not an array");
    std::vector<fileop> out;
    out.reserve(a->size());
    for (const auto& item : *a) {
        auto op = to_fileop(item);
        if (!op) return op.error();
        out.push_back(std::move(op).value());
    }
    return out;
}

outcome<webhook_config> to_webhook(const json::value& response) {
    const auto* o = response.if_object();
    if (!o) return shape_error("webhook config is not an object");
    webhook_config w;
    if (!o->contains("id")) return shape_error("webhook config has no id");
    w.id = num(*o, "id");
    w.name = str(*o, "name");
    w.uri = str(*o, "uri");
    w.target_id = id_of(*o, "targetId");
    w.enabled = boolean(*o, "enabled");
    w.ssl = boolean(*o, "ssl");
    w.triggers = num(*o, "triggers");
    w.last_failure_on = date_text(*o, "lastFailureOn");
    w.last_success_on = date_text(*o, "lastSuccessOn");
    w.last_failure_content = str(*o, "lastFailureContent");
    return w;
}

outcome<std::vector<webhook_config>> to_webhook_list(const json::value& response) {
    const auto* a = array_of(response);
    if (!a) return shape_error("webhook list is not an array");
    std::vector<webhook_config> out;
    for (const auto& item : *a) {
        const auto* o = item.if_object();
        if (!o) return shape_error("webhook list entry is not an object");
        // WebhooksConfigWithStatusDto {"configs": WebhooksConfigDto, "status": int}.
        auto it = o->find("configs");
        auto w = to_webhook(it != o->end() ? it->value() : item);
        if (!w) return w.error();
        w->last_status = static_cast<unsigned>(num(*o, "status"));
        out.push_back(std::move(w).value());
    }
    return out;
}

outcome<std::vector<webhook_trigger>> to_triggers(const json::value& response) {
    const auto* a = array_of(response);
    if (!a) return shape_error("trigger list is not an array");
    std::vector<webhook_trigger> out;
    for (const auto& item : *a) {
        const auto* o = item.if_object();
        if (!o) return shape_error("trigger entry is not an object");
        webhook_trigger t;
        t.name = str(*o, "name");
        t.id = num(*o, "id");
        auto it = o->find("available");
        t.available = it == o->end() || !it->value().is_bool() || it->value().get_bool();
        out.push_back(std::move(t));
    }
    return out;
}

outcome<std::string> to_string_response(const json::value& response) {
    if (response.is_string()) return std::string(response.get_string());
    if (response.is_null()) return std::string();
    return shape_error("expected a string");
}

outcome<webhook_log_row> to_webhook_log_row(const json::value& dto) {
    const auto* o = dto.if_object();
    if (!o) return shape_error("webhook log entry is not an object");
    webhook_log_row row;
    row.id = num(*o, "id");
    if (row.id <= 0) return shape_error("webhook log entry has no id");
    row.config_name = str(*o, "configName");
    row.trigger = num(*o, "trigger");
    // ApiDateTime with its offset, UTC with Z, or no zone (UTC, read back from the database).
    row.creation_time_ms = clock::parse_iso_ms(date_text(*o, "creationTime")).value_or(0);
    const auto status = num(*o, "status");
    row.status = status > 0 && status < 1000 ? static_cast<unsigned>(status) : 0;
    row.request_payload = str(*o, "requestPayload");
    row.request_headers = str(*o, "requestHeaders");
    row.delivered = !date_text(*o, "delivery").empty();
    return row;
}

outcome<webhook_log_page> to_webhook_log_page(const json::value& envelope) {
    const auto* o = envelope.if_object();
    if (!o) return shape_error("envelope is not an object");
    auto response = o->find("response");
    if (response == o->end() || !response->value().is_array()) return shape_error("webhook log is not an array");
    webhook_log_page page;
    page.rows.reserve(response->value().get_array().size());
    for (const auto& item : response->value().get_array()) {
        auto row = to_webhook_log_row(item);
        if (row) page.rows.push_back(std::move(row).value());
        else page.unreadable.push_back(row.error().message);  // one bad entry must not hide the others
    }
    auto total = o->find("total");
    if (total != o->end() && !total->value().is_null()) page.total = num(*o, "total");
    return page;
}

std::string_view conflict_name(conflict c) {
    switch (c) {
    case conflict::overwrite:
        return "Overwrite";
    case conflict::duplicate:
        return "Duplicate";
    case conflict::skip:
        break;
    }
    return "Skip";
}

std::string fileop_body(const entry_id& file_id, const entry_id& dest_folder, conflict on_conflict) {
    json::object o;
    o["fileIds"] = json::array{id_value(file_id)};
    o["folderIds"] = json::array{};
    o["destFolderId"] = id_value(dest_folder);
    o["conflictResolveType"] = conflict_name(on_conflict);
    // deleteAfter is passed as holdResult = !deleteAfter: false keeps the finished op visible to one poll.
    o["deleteAfter"] = false;
    o["content"] = false;
    o["toFillOut"] = false;
    o["returnSingleOperation"] = true;
    return json::serialize(o);
}

std::string comment_body(int version, std::string_view text) {
    json::object o;
    o["version"] = version;
    o["comment"] = text;
    return json::serialize(o);
}

std::string webhook_body(const webhook_spec& spec, std::optional<std::int64_t> id) {
    json::object o;
    if (id) o["id"] = *id;
    o["name"] = spec.name;
    o["uri"] = spec.uri;
    o["secretKey"] = spec.secret;
    o["enabled"] = spec.enabled;
    o["ssl"] = spec.ssl;
    o["triggers"] = spec.triggers;
    if (!spec.target_id.empty()) o["targetId"] = spec.target_id;
    return json::serialize(o);
}

std::string webhook_enable_body(std::int64_t id, std::string_view name, std::string_view uri, bool enabled) {
    json::object o;
    o["id"] = id;
    o["name"] = name;
    o["uri"] = uri;
    o["enabled"] = enabled;
    return json::serialize(o);
}

std::string webhook_log_query_string(const webhook_log_query& q) {
    std::string out;
    auto add = [&](std::string_view key, std::optional<std::int64_t> value) {
        if (!value) return;
        out += out.empty() ? '?' : '&';
        out += key;
        out += '=';
        out += std::to_string(*value);
    };
    add("configId", q.config_id);
    add("groupStatus", q.group_status);
    add("eventId", q.event_id);
    add("startIndex", q.start_index);
    add("count", q.count);
    return out;
}

std::string encode_component(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

namespace {
void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}
}  // namespace

std::string html_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        if (s[i] != '&') {
            out.push_back(s[i++]);
            continue;
        }
        const auto semi = s.find(';', i);
        if (semi == std::string_view::npos || semi - i > 10) {
            out.push_back(s[i++]);
            continue;
        }
        const auto entity = s.substr(i + 1, semi - i - 1);
        std::optional<std::uint32_t> cp;
        if (entity == "amp") cp = '&';
        else if (entity == "lt") cp = '<';
        else if (entity == "gt") cp = '>';
        else if (entity == "quot") cp = '"';
        else if (entity == "apos") cp = '\'';
        else if (entity.size() > 1 && entity[0] == '#') {
            std::uint32_t v = 0;
            const bool hexa = entity[1] == 'x' || entity[1] == 'X';
            const auto digits = entity.substr(hexa ? 2 : 1);
            auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, hexa ? 16 : 10);
            if (ec == std::errc{} && p == digits.data() + digits.size() && !digits.empty() && v > 0 && v <= 0x10FFFF &&
                !(v >= 0xD800 && v <= 0xDFFF))
                cp = v;
        }
        if (!cp) {
            out.push_back(s[i++]);
            continue;
        }
        append_utf8(out, *cp);
        i = semi + 1;
    }
    return out;
}

std::string truncate_utf8(std::string_view s, std::size_t max) {
    if (s.size() <= max) return std::string(s);
    std::size_t n = max;
    // Step back over continuation bytes so a multi-byte character is never split.
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return std::string(s.substr(0, n));
}

}  // namespace spacehook::docspace::wire
