#include "spacehook/config/load.hpp"

#include "spacehook/core/clock.hpp"
#include "spacehook/rules/template.hpp"
#include "spacehook/rules/title_pattern.hpp"
#include "spacehook/webhook/triggers.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

#include <fmt/format.h>

namespace spacehook::config {
namespace json = boost::json;
using docspace::conflict;
using docspace::entry_id;
using notify::channel_settings;
using notify::channel_type;
using notify::chat_format;
using rules::action;
using rules::action_kind;
using rules::rule;
using rules::rule_filter;
using rules::title_filter;
using rules::title_match;

const rules::rule* settings::find_rule(std::string_view name) const {
    for (const auto& r : rules)
        if (r.name == name) return &r;
    return nullptr;
}

const notify::channel_settings* settings::find_channel(std::string_view name) const {
    for (const auto& c : channels)
        if (c.name == name) return &c;
    return nullptr;
}

docspace::client_settings docspace_client(const docspace_settings& s) {
    docspace::client_settings out;
    out.base_url = s.base_url;
    out.api_key = s.api_key;
    out.ca_file = s.ca_file;
    out.timeout = std::chrono::milliseconds(s.timeout_ms);
    return out;
}

env_lookup process_env() {
    return [](std::string_view name) -> std::optional<std::string> {
        const char* v = std::getenv(std::string(name).c_str());
        if (!v) return std::nullopt;
        return std::string(v);
    };
}

namespace {

// Walks the JSON tree with the current path, collecting problems instead of stopping at the first.
class reader {
public:
    explicit reader(std::vector<problem>& problems) : problems_(problems) {}

    void fail(const std::string& path, std::string message) { problems_.push_back({path, std::move(message)}); }

    // Reports keys of `obj` not in `known`.
    void known_keys(const json::object& obj, const std::string& path, std::initializer_list<std::string_view> known) {
        for (const auto& kv : obj) {
            bool found = false;
            for (auto k : known) found = found || kv.key() == k;
            if (!found) fail(path + "." + std::string(kv.key()), "unknown key");
        }
    }

    const json::object* object(const json::value& v, const std::string& path) {
        if (!v.is_object()) {
            fail(path, "must be an object");
            return nullptr;
        }
        return &v.get_object();
    }

    const json::array* array(const json::value& v, const std::string& path) {
        if (!v.is_array()) {
            fail(path, "must be an array");
            return nullptr;
        }
        return &v.get_array();
    }

    void str(const json::object& o, std::string_view key, const std::string& path, std::string& out, bool required = false) {
        auto* v = o.if_contains(key);
        std::string p = path + "." + std::string(key);
        if (!v) {
            if (required) fail(p, "is required");
            return;
        }
        if (!v->is_string()) return fail(p, "must be a string");
        out = std::string(v->get_string());
        if (required && out.empty()) fail(p, "must not be empty");
    }

    void boolean(const json::object& o, std::string_view key, const std::string& path, bool& out) {
        auto* v = o.if_contains(key);
        if (!v) return;
        if (!v->is_bool()) return fail(path + "." + std::string(key), "must be true or false");
        out = v->get_bool();
    }

    template <class Int>
    void integer(const json::object& o, std::string_view key, const std::string& path, Int& out, std::int64_t min,
                 std::int64_t max) {
        auto* v = o.if_contains(key);
        if (!v) return;
        std::string p = path + "." + std::string(key);
        std::int64_t n = 0;
        if (v->is_int64()) n = v->get_int64();
        else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) n = static_cast<std::int64_t>(v->get_uint64());
        else return fail(p, "must be an integer");
        if (n < min || n > max) return fail(p, fmt::format("must be between {} and {}", min, max));
        out = static_cast<Int>(n);
    }

    // Accepts 123, "123" or "sbox-123" (third-party storage ids are strings).
    std::optional<entry_id> id(const json::value& v, const std::string& path) {
        if (v.is_int64() && v.get_int64() > 0) return std::to_string(v.get_int64());
        if (v.is_uint64()) return std::to_string(v.get_uint64());
        if (v.is_string() && !v.get_string().empty()) return std::string(v.get_string());
        fail(path, "must be a positive integer id or a non-empty string id");
        return std::nullopt;
    }

    void strings(const json::value& v, const std::string& path, std::vector<std::string>& out) {
        auto* a = array(v, path);
        if (!a) return;
        for (std::size_t i = 0; i < a->size(); ++i) {
            if (!(*a)[i].is_string()) fail(fmt::format("{}[{}]", path, i), "must be a string");
            else out.emplace_back((*a)[i].get_string());
        }
    }

private:
    std::vector<problem>& problems_;
};

// Replaces ${VAR} in every string; "$${" stands for a literal "${".
void expand_env(json::value& v, const std::string& path, const env_lookup& env, reader& r) {
    if (v.is_object()) {
        for (auto& kv : v.get_object()) expand_env(kv.value(), path + "." + std::string(kv.key()), env, r);
    } else if (v.is_array()) {
        auto& a = v.get_array();
        for (std::size_t i = 0; i < a.size(); ++i) expand_env(a[i], fmt::format("{}[{}]", path, i), env, r);
    } else if (v.is_string()) {
        std::string_view s = v.get_string();
        if (s.find('$') == std::string_view::npos) return;
        std::string out;
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (s.compare(i, 3, "$${") == 0) {
                out += "${";
                i += 2;
            } else if (s.compare(i, 2, "${") == 0) {
                auto end = s.find('}', i + 2);
                if (end == std::string_view::npos) {
                    r.fail(path, "unterminated ${ in string");
                    return;
                }
                auto name = s.substr(i + 2, end - i - 2);
                auto val = env ? env(name) : std::nullopt;
                if (!val) r.fail(path, fmt::format("environment variable {} is not set", name));
                else out += *val;
                i = end;
            } else {
                out += s[i];
            }
        }
        v = json::string(out);
    }
}

void read_server(const json::value& v, reader& r, server_settings& s) {
    const std::string p = "$.server";
    auto* o = r.object(v, p);
    if (!o) return;
    r.known_keys(*o, p, {"listen", "max_body_bytes", "max_header_bytes", "header_timeout_ms", "request_timeout_ms",
                         "max_connections", "max_buffered_body_bytes", "threads", "admin_token", "admin_session_ms",
                         "tls"});
    r.str(*o, "listen", p, s.listen);
    r.integer(*o, "max_body_bytes", p, s.max_body_bytes, 1, 1LL << 30);
    r.integer(*o, "max_header_bytes", p, s.max_header_bytes, 1024, 1 << 20);
    r.integer(*o, "header_timeout_ms", p, s.header_timeout_ms, 1, 3'600'000);
    r.integer(*o, "request_timeout_ms", p, s.request_timeout_ms, 1, 3'600'000);
    r.integer(*o, "max_connections", p, s.max_connections, 1, 1'000'000);
    r.integer(*o, "max_buffered_body_bytes", p, s.max_buffered_body_bytes, 1, 1LL << 40);
    if (s.max_buffered_body_bytes < s.max_body_bytes)
        r.fail(p + ".max_buffered_body_bytes", "must be at least max_body_bytes");
    r.integer(*o, "threads", p, s.threads, 0, 256);
    r.str(*o, "admin_token", p, s.admin_token);
    r.integer(*o, "admin_session_ms", p, s.admin_session_ms, 1000, 7LL * 24 * 3600 * 1000);
    if (auto* t = o->if_contains("tls")) {
        if (auto* to = r.object(*t, p + ".tls")) {
            r.known_keys(*to, p + ".tls", {"cert_file", "key_file"});
            r.str(*to, "cert_file", p + ".tls", s.tls.cert_file, true);
            r.str(*to, "key_file", p + ".tls", s.tls.key_file, true);
        }
    }
    auto colon = s.listen.rfind(':');
    if (colon == std::string::npos || colon + 1 == s.listen.size()) {
        r.fail(p + ".listen", "must be host:port");
    } else {
        unsigned port = 0;
        const auto* first = s.listen.data() + colon + 1;
        const auto* last = s.listen.data() + s.listen.size();
        auto [end, ec] = std::from_chars(first, last, port);
        if (ec != std::errc{} || end != last || port > 65535)
            r.fail(p + ".listen", fmt::format("\"{}\" has no port from 0 to 65535 after the last ':'", s.listen));
    }
}

bool is_postgresql_url(std::string_view s) { return s.starts_with("postgresql://") || s.starts_with("postgres://"); }

// A SQLite path, a PostgreSQL URL, or {"path", "busy_timeout_ms", "checkpoint_pages"} / {"url", "pool"}.
void read_database(const json::value& v, reader& r, database_settings& d) {
    const std::string p = "$.database";
    std::string where;
    if (v.is_string()) {
        where = std::string(v.get_string());
        if (is_postgresql_url(where)) d.url = where;
        else d.path = where;
    } else if (auto* o = r.object(v, p)) {
        r.known_keys(*o, p, {"path", "busy_timeout_ms", "checkpoint_pages", "url", "pool"});
        const bool has_url = o->contains("url");
        if (has_url && o->contains("path")) r.fail(p, "names both a path (SQLite) and a url (PostgreSQL): keep one");
        if (has_url) {
            r.str(*o, "url", p, d.url, true);
            r.integer(*o, "pool", p, d.pool, 1, 64);
            if (o->contains("busy_timeout_ms")) r.fail(p + ".busy_timeout_ms", "is for SQLite; PostgreSQL waits for locks itself");
            if (o->contains("checkpoint_pages")) r.fail(p + ".checkpoint_pages", "is for SQLite; PostgreSQL checkpoints itself");
            if (!d.url.empty() && !is_postgresql_url(d.url))
                r.fail(p + ".url", "must start with postgresql:// or postgres://");
        } else {
            r.str(*o, "path", p, d.path, true);
            r.integer(*o, "busy_timeout_ms", p, d.busy_timeout_ms, 0, 600'000);
            r.integer(*o, "checkpoint_pages", p, d.checkpoint_pages, 0, 1'000'000);
            if (o->contains("pool")) r.fail(p + ".pool", "is for PostgreSQL (with \"url\")");
            if (is_postgresql_url(d.path)) r.fail(p + ".path", "is a PostgreSQL URL: name it \"url\"");
        }
    }
    if (d.postgresql()) d.path.clear();
    else if (d.path.empty()) r.fail(p, "must name a SQLite database file or a postgresql:// URL");
}

// The known trigger closest to `name` by edit distance, when it is close (at most 3 edits); "" otherwise.
std::string nearest_trigger(std::string_view name) {
    auto distance = [](std::string_view a, std::string_view b) {
        std::vector<std::size_t> row(b.size() + 1);
        for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
        for (std::size_t i = 1; i <= a.size(); ++i) {
            std::size_t diag = row[0];
            row[0] = i;
            for (std::size_t j = 1; j <= b.size(); ++j) {
                const auto up = row[j];
                row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
                diag = up;
            }
        }
        return row[b.size()];
    };
    std::string best;
    std::size_t best_d = 4;
    for (const auto& t : webhook::trigger_table())
        if (auto d = distance(name, t.name); d < best_d) {
            best_d = d;
            best = std::string(t.name);
        }
    return best;
}

// Reads the durations named in `keys` from object `o` at JSON path `p`.
void read_durations(const json::object& o, reader& r, const std::string& p,
                    std::initializer_list<std::pair<const char*, std::int64_t*>> keys) {
    for (auto [key, out] : keys) {
        auto* d = o.if_contains(key);
        if (!d) continue;
        auto ms = d->is_string() ? clock::parse_duration_ms(d->get_string()) : std::nullopt;
        if (!ms) r.fail(p + "." + key, "must be a duration such as \"30d\", \"12h\" or \"15m\"");
        else *out = *ms;
    }
}

// false, or {"interval": "5m", "horizon": "72h"}.
void read_backfill(const json::value& v, reader& r, backfill_settings& b) {
    const std::string p = "$.docspace.backfill";
    if (v.is_bool()) {
        b.enabled = v.get_bool();
        return;
    }
    auto* o = r.object(v, p);
    if (!o) return;
    r.known_keys(*o, p, {"interval", "horizon"});
    read_durations(*o, r, p, {{"interval", &b.interval_ms}, {"horizon", &b.horizon_ms}});
    if (b.interval_ms < 1000) r.fail(p + ".interval", "must be at least 1s");
    if (b.horizon_ms < 60'000) r.fail(p + ".horizon", "must be at least 1m");
}

void read_docspace(const json::value& v, reader& r, docspace_settings& d) {
    const std::string p = "$.docspace";
    auto* o = r.object(v, p);
    if (!o) return;
    r.known_keys(*o, p, {"base_url", "api_key", "ignore_own_events", "ca_file", "timeout_ms", "fileop_timeout_ms",
                         "poll_interval_ms", "backfill"});
    r.str(*o, "base_url", p, d.base_url, true);
    r.str(*o, "api_key", p, d.api_key, true);
    r.boolean(*o, "ignore_own_events", p, d.ignore_own_events);
    r.str(*o, "ca_file", p, d.ca_file);
    r.integer(*o, "timeout_ms", p, d.timeout_ms, 1, 3'600'000);
    r.integer(*o, "fileop_timeout_ms", p, d.fileop_timeout_ms, 1, 86'400'000);
    r.integer(*o, "poll_interval_ms", p, d.poll_interval_ms, 1, 60'000);
    if (auto* b = o->if_contains("backfill")) read_backfill(*b, r, d.backfill);
    while (!d.base_url.empty() && d.base_url.back() == '/') d.base_url.pop_back();
    if (!d.base_url.empty() && d.base_url.rfind("https://", 0) != 0 && d.base_url.rfind("http://", 0) != 0)
        r.fail(p + ".base_url", "must start with https:// or http://");
}

void read_webhooks(const json::value& v, reader& r, std::vector<webhook_endpoint>& out) {
    auto* a = r.array(v, "$.webhooks");
    if (!a) return;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < a->size(); ++i) {
        std::string p = fmt::format("$.webhooks[{}]", i);
        auto* o = r.object((*a)[i], p);
        if (!o) continue;
        r.known_keys(*o, p, {"path", "secrets"});
        webhook_endpoint w;
        r.str(*o, "path", p, w.path, true);
        if (!w.path.empty() && w.path[0] != '/') r.fail(p + ".path", "must start with /");
        for (auto reserved : {"/healthz", "/readyz", "/metrics"})
            if (w.path == reserved) r.fail(p + ".path", "collides with a built-in endpoint");
        if (!w.path.empty() && !seen.insert(w.path).second) r.fail(p + ".path", "is configured twice");
        if (auto* s = o->if_contains("secrets")) r.strings(*s, p + ".secrets", w.secrets);
        else r.fail(p + ".secrets", "is required (use [] to disable signature checks)");
        for (std::size_t k = 0; k < w.secrets.size(); ++k)
            if (w.secrets[k].empty()) r.fail(fmt::format("{}.secrets[{}]", p, k), "must not be empty");
        out.push_back(std::move(w));
    }
}

void read_workers(const json::value& v, reader& r, worker_settings& w) {
    const std::string p = "$.workers";
    auto* o = r.object(v, p);
    if (!o) return;
    r.known_keys(*o, p, {"concurrency", "max_attempts", "backoff_initial_ms", "backoff_max_ms", "lease_ms",
                         "shutdown_grace_ms"});
    r.integer(*o, "concurrency", p, w.concurrency, 1, 1024);
    r.integer(*o, "max_attempts", p, w.max_attempts, 1, 1000);
    r.integer(*o, "backoff_initial_ms", p, w.backoff_initial_ms, 1, 86'400'000);
    r.integer(*o, "backoff_max_ms", p, w.backoff_max_ms, 1, 7 * 86'400'000LL);
    r.integer(*o, "lease_ms", p, w.lease_ms, 1000, 86'400'000);
    r.integer(*o, "shutdown_grace_ms", p, w.shutdown_grace_ms, 0, 3'600'000);
    if (w.backoff_max_ms < w.backoff_initial_ms) r.fail(p + ".backoff_max_ms", "must be >= backoff_initial_ms");
}

void read_retention(const json::value& v, reader& r, retention_settings& s) {
    const std::string p = "$.retention";
    auto* o = r.object(v, p);
    if (!o) return;
    r.known_keys(*o, p, {"succeeded_after", "interval", "dedup_window"});
    read_durations(*o, r, p,
                   {{"succeeded_after", &s.succeeded_after_ms}, {"interval", &s.interval_ms}, {"dedup_window", &s.dedup_window_ms}});
}

void read_channels(const json::value& v, reader& r, std::vector<channel_settings>& out) {
    auto* o = r.object(v, "$.channels");
    if (!o) return;
    for (const auto& kv : *o) {
        std::string p = "$.channels." + std::string(kv.key());
        auto* c = r.object(kv.value(), p);
        if (!c) continue;
        channel_settings ch;
        ch.name = std::string(kv.key());
        std::string type;
        r.str(*c, "type", p, type, true);
        if (type == "smtp") {
            ch.type = channel_type::smtp;
            r.known_keys(*c, p, {"type", "url", "starttls", "username", "password", "from", "to", "ca_file", "timeout_ms"});
            r.str(*c, "url", p, ch.url, true);
            r.boolean(*c, "starttls", p, ch.starttls);
            r.str(*c, "username", p, ch.username);
            r.str(*c, "password", p, ch.password);
            r.str(*c, "from", p, ch.from, true);
            if (auto* to = c->if_contains("to")) r.strings(*to, p + ".to", ch.to);
            if (ch.to.empty()) r.fail(p + ".to", "needs at least one recipient");
            if (!ch.url.empty() && ch.url.rfind("smtp://", 0) != 0 && ch.url.rfind("smtps://", 0) != 0)
                r.fail(p + ".url", "must start with smtp:// or smtps://");
            if (!ch.username.empty() && ch.password.empty()) r.fail(p + ".password", "is required with username");
        } else if (type == "http") {
            ch.type = channel_type::http;
            r.known_keys(*c, p, {"type", "url", "format", "ca_file", "timeout_ms"});
            r.str(*c, "url", p, ch.url, true);
            std::string format = "raw";
            r.str(*c, "format", p, format);
            if (format == "raw") ch.format = chat_format::raw;
            else if (format == "slack") ch.format = chat_format::slack;
            else if (format == "teams") ch.format = chat_format::teams;
            else r.fail(p + ".format", "must be raw, slack or teams");
            if (!ch.url.empty() && ch.url.rfind("https://", 0) != 0 && ch.url.rfind("http://", 0) != 0)
                r.fail(p + ".url", "must start with https:// or http://");
        } else if (type == "log") {
            ch.type = channel_type::log;
            r.known_keys(*c, p, {"type"});
        } else if (!type.empty()) {
            r.fail(p + ".type", "must be smtp, http or log");
        }
        r.str(*c, "ca_file", p, ch.ca_file);
        r.integer(*c, "timeout_ms", p, ch.timeout_ms, 1, 3'600'000);
        out.push_back(std::move(ch));
    }
}

void read_title(const json::value& v, const std::string& p, reader& r, rule_filter& f) {
    auto* o = r.object(v, p);
    if (!o) return;
    r.known_keys(*o, p, {"prefix", "suffix", "glob", "regex", "case"});
    title_filter t;
    int kinds = 0;
    for (auto [key, kind] : {std::pair{"prefix", title_match::prefix}, std::pair{"suffix", title_match::suffix},
                             std::pair{"glob", title_match::glob}, std::pair{"regex", title_match::regex}}) {
        if (o->contains(key)) {
            ++kinds;
            t.kind = kind;
            r.str(*o, key, p, t.pattern, true);
        }
    }
    if (kinds != 1) r.fail(p, "needs exactly one of prefix, suffix, glob, regex");
    std::string cs = "insensitive";
    r.str(*o, "case", p, cs);
    if (cs == "sensitive") t.case_sensitive = true;
    else if (cs != "insensitive") r.fail(p + ".case", "must be \"sensitive\" or \"insensitive\"");
    // Whether the pattern compiles (and is safe to match) is the rules library's to say: it is the one that
    // compiles it.
    if (kinds == 1)
        if (auto why = rules::check_title(t)) r.fail(p + (t.kind == title_match::regex ? ".regex" : ""), *why);
    f.title = std::move(t);
}

void read_action(const json::value& v, const std::string& p, reader& r, action& a) {
    auto* o = r.object(v, p);
    if (!o) return;
    if (o->size() != 1) {
        r.fail(p, "must have exactly one key: move, copy, comment or notify");
        return;
    }
    const auto& kv = *o->begin();
    std::string ap = p + "." + std::string(kv.key());
    auto* body = r.object(kv.value(), ap);
    if (!body) return;
    auto check_tmpl = [&](std::string_view key, const std::string& text) {
        if (auto err = rules::check_template(text)) r.fail(ap + "." + std::string(key), *err);
    };
    if (kv.key() == "move" || kv.key() == "copy") {
        a.kind = kv.key() == "move" ? action_kind::move : action_kind::copy;
        r.known_keys(*body, ap, {"to_folder", "on_conflict"});
        if (auto* f = body->if_contains("to_folder")) {
            if (auto id = r.id(*f, ap + ".to_folder")) a.to_folder = *id;
        } else {
            r.fail(ap + ".to_folder", "is required");
        }
        std::string oc = "skip";
        r.str(*body, "on_conflict", ap, oc);
        if (oc == "skip") a.on_conflict = conflict::skip;
        else if (oc == "overwrite") a.on_conflict = conflict::overwrite;
        else if (oc == "duplicate") a.on_conflict = conflict::duplicate;
        else r.fail(ap + ".on_conflict", "must be skip, overwrite or duplicate");
    } else if (kv.key() == "comment") {
        a.kind = action_kind::comment;
        r.known_keys(*body, ap, {"text"});
        r.str(*body, "text", ap, a.text, true);
        check_tmpl("text", a.text);
    } else if (kv.key() == "notify") {
        a.kind = action_kind::notify;
        r.known_keys(*body, ap, {"channel", "subject", "body"});
        r.str(*body, "channel", ap, a.channel, true);
        r.str(*body, "subject", ap, a.subject);
        r.str(*body, "body", ap, a.body);
        if (a.subject.empty() && a.body.empty()) r.fail(ap, "needs a subject or a body");
        check_tmpl("subject", a.subject);
        check_tmpl("body", a.body);
    } else {
        r.fail(p, fmt::format("unknown action \"{}\" (expected move, copy, comment or notify)", std::string(kv.key())));
    }
}

void read_rules(const json::value& v, reader& r, std::vector<rule>& out) {
    auto* a = r.array(v, "$.rules");
    if (!a) return;
    std::set<std::string> names;
    for (std::size_t i = 0; i < a->size(); ++i) {
        std::string p = fmt::format("$.rules[{}]", i);
        auto* o = r.object((*a)[i], p);
        if (!o) continue;
        r.known_keys(*o, p, {"name", "on", "if", "do"});
        rule ru;
        r.str(*o, "name", p, ru.name, true);
        if (!ru.name.empty() && !names.insert(ru.name).second) r.fail(p + ".name", "is used by another rule");
        if (auto* on = o->if_contains("on")) r.strings(*on, p + ".on", ru.on);
        if (ru.on.empty()) r.fail(p + ".on", "needs at least one trigger");
        for (std::size_t k = 0; k < ru.on.size(); ++k) {
            const auto& t = ru.on[k];
            if (t == "*" || webhook::trigger_bit(t)) continue;
            // A misspelt trigger would make a rule that never fires.
            auto near = nearest_trigger(t);
            r.fail(fmt::format("{}.on[{}]", p, k),
                   near.empty() ? fmt::format("\"{}\" is not a DocSpace trigger (e.g. file.uploaded, or * for any)", t)
                                : fmt::format("\"{}\" is not a DocSpace trigger; did you mean \"{}\"?", t, near));
        }
        if (auto* w = o->if_contains("if")) {
            std::string wp = p + ".if";
            if (auto* wo = r.object(*w, wp)) {
                r.known_keys(*wo, wp, {"in_folder", "in_room", "title"});
                if (auto* f = wo->if_contains("in_folder")) ru.when.in_folder = r.id(*f, wp + ".in_folder");
                if (auto* f = wo->if_contains("in_room")) ru.when.in_room = r.id(*f, wp + ".in_room");
                if (auto* t = wo->if_contains("title")) read_title(*t, wp + ".title", r, ru.when);
            }
        }
        if (auto* d = o->if_contains("do")) {
            if (auto* da = r.array(*d, p + ".do")) {
                for (std::size_t k = 0; k < da->size(); ++k) {
                    action ac;
                    read_action((*da)[k], fmt::format("{}.do[{}]", p, k), r, ac);
                    ru.actions.push_back(std::move(ac));
                }
            }
        }
        if (ru.actions.empty()) r.fail(p + ".do", "needs at least one action");
        out.push_back(std::move(ru));
    }
}

}  // namespace

load_result load(std::string_view json_text, const env_lookup& env) {
    load_result res;
    reader r(res.problems);
    json::parse_options opts;
    opts.allow_comments = true;
    opts.allow_trailing_commas = true;
    boost::system::error_code ec;
    json::value root = json::parse(json_text, ec, {}, opts);
    if (ec) {
        r.fail("$", fmt::format("not valid JSON: {}", ec.message()));
        return res;
    }
    expand_env(root, "$", env, r);
    auto* o = r.object(root, "$");
    if (!o) return res;
    r.known_keys(*o, "$", {"server", "database", "docspace", "webhooks", "workers", "retention", "channels", "rules"});
    auto& s = res.value;
    if (auto* v = o->if_contains("server")) read_server(*v, r, s.server);
    if (auto* v = o->if_contains("database")) read_database(*v, r, s.database);
    else r.fail("$.database", "is required");
    if (auto* v = o->if_contains("docspace")) read_docspace(*v, r, s.docspace);
    else if (o->contains("rules")) r.fail("$.docspace", "is required when rules are configured");
    if (auto* v = o->if_contains("webhooks")) read_webhooks(*v, r, s.webhooks);
    if (s.webhooks.empty()) r.fail("$.webhooks", "needs at least one webhook endpoint");
    if (auto* v = o->if_contains("workers")) read_workers(*v, r, s.workers);
    if (auto* v = o->if_contains("retention")) read_retention(*v, r, s.retention);
    if (auto* v = o->if_contains("channels")) read_channels(*v, r, s.channels);
    if (auto* v = o->if_contains("rules")) read_rules(*v, r, s.rules);
    if (s.retention.dedup_window_ms < 3'600'000) r.fail("$.retention.dedup_window", "must be at least 1h");
    else if (s.docspace.backfill.enabled && !s.docspace.base_url.empty() &&
             s.retention.dedup_window_ms < s.docspace.backfill.horizon_ms)
        r.fail("$.retention.dedup_window", "must be at least docspace.backfill.horizon: a recovered delivery must still "
                                           "find the identity of the same event delivered before");
    for (std::size_t i = 0; i < s.rules.size(); ++i)
        for (std::size_t k = 0; k < s.rules[i].actions.size(); ++k) {
            const auto& a = s.rules[i].actions[k];
            if (a.kind == action_kind::notify && !a.channel.empty() && !s.find_channel(a.channel))
                r.fail(fmt::format("$.rules[{}].do[{}].notify.channel", i, k),
                       fmt::format("no channel named \"{}\" in $.channels", a.channel));
        }
    return res;
}

load_result load_file(const std::string& file, const env_lookup& env) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        load_result res;
        res.problems.push_back({"$", fmt::format("cannot read config file {}", file)});
        return res;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return load(ss.str(), env);
}

namespace {
// The host of scheme://host[:port]/..., lowercased; "" when there is none.
std::string url_host(std::string_view url) {
    auto p = url.find("://");
    if (p == std::string_view::npos) return {};
    auto rest = url.substr(p + 3);
    rest = rest.substr(0, rest.find_first_of("/?#"));
    if (auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
    std::string host;
    if (!rest.empty() && rest.front() == '[') host = std::string(rest.substr(1, rest.find(']') - 1));
    else host = std::string(rest.substr(0, rest.rfind(':') == std::string_view::npos ? rest.size() : rest.rfind(':')));
    for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return host;
}
bool loopback(const std::string& host) {
    return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}
}  // namespace

std::string database_settings::display() const {
    if (!postgresql()) return path;
    // scheme://user:password@host... -> scheme://user:***@host.... As libpq reads a URL, the userinfo ends at the
    // last '@' before the first '/' (a password may hold '?', '#' or '@'; a '/' must be percent-encoded).
    std::string out = url;
    if (auto p = out.find("://"); p != std::string::npos) {
        const auto start = p + 3;
        const auto end = std::min(out.find('/', start), out.size());
        const auto at = out.rfind('@', end == 0 ? 0 : end - 1);
        if (at != std::string::npos && at >= start)
            if (auto colon = out.find(':', start); colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
    for (auto q = out.find("password="); q != std::string::npos; q = out.find("password=", q + 1)) {
        const auto v = q + 9;
        out.replace(v, out.find('&', v) == std::string::npos ? std::string::npos : out.find('&', v) - v, "***");
    }
    return out;
}

std::vector<std::string> security_warnings(const settings& s) {
    std::vector<std::string> out;
    for (const auto& w : s.webhooks)
        if (w.secrets.empty())
            out.push_back(fmt::format("webhook path {} has no secrets: signatures are NOT checked there", w.path));
    if (s.database.postgresql() && s.database.url.find("sslmode=") == std::string::npos &&
        !loopback(url_host(s.database.url)))
        out.push_back(fmt::format("database {} names no sslmode: libpq falls back to an unencrypted connection when "
                                  "the server offers no TLS (add ?sslmode=require or verify-full)",
                                  s.database.display()));
    if (s.docspace.base_url.rfind("http://", 0) == 0 && !loopback(url_host(s.docspace.base_url)))
        out.push_back(fmt::format("docspace.base_url {} is plain http: the API key crosses the network in cleartext",
                                  s.docspace.base_url));
    for (const auto& c : s.channels)
        if (c.type == channel_type::smtp && !c.username.empty() && !c.starttls && c.url.rfind("smtp://", 0) == 0 &&
            !loopback(url_host(c.url)))
            out.push_back(fmt::format("channel {} sends SMTP AUTH without TLS: use smtps:// or \"starttls\": true",
                                      c.name));
    return out;
}

}  // namespace spacehook::config
