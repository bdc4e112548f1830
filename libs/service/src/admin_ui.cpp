#include "admin_ui.hpp"

#include "spacehook/core/clock.hpp"
#include "spacehook/core/hex.hpp"
#include "spacehook/core/log.hpp"
#include "spacehook/rules/rule.hpp"
#include "spacehook/service/database.hpp"
#include "spacehook/service/views.hpp"
#include "spacehook/webhook/signature.hpp"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <functional>
#include <charconv>

#include <fmt/format.h>

namespace spacehook::service {
namespace bh = boost::beast::http;
namespace json = boost::json;

// ---- delivery_history ------------------------------------------------------------------------------------

void delivery_history::add(kind k, std::int64_t now_ms) {
    const std::int64_t m = now_ms / 60000;
    std::lock_guard lock(mutex_);
    auto& slot = ring_[static_cast<std::size_t>(m) % minutes];
    if (slot.index != m) slot = {m, {}};
    ++slot.n[k];
}

std::array<std::vector<std::int64_t>, 2> delivery_history::series(std::int64_t now_ms, std::int64_t bucket_ms,
                                                                  int buckets) const {
    std::array<std::vector<std::int64_t>, 2> out;
    for (auto& v : out) v.assign(static_cast<std::size_t>(buckets), 0);
    const std::int64_t from = now_ms - bucket_ms * buckets;
    std::lock_guard lock(mutex_);
    for (const auto& slot : ring_) {
        if (slot.index < 0) continue;
        const std::int64_t at = slot.index * 60000;
        if (at < from || at >= now_ms) continue;
        const auto b = static_cast<std::size_t>((at - from) / bucket_ms);
        for (std::size_t k = 0; k < out.size(); ++k) out[k][b] += slot.n[k];
    }
    return out;
}

// ---- the admin UI ----------------------------------------------------------------------------------------

namespace {

constexpr std::string_view cookie_name = "spacehook_admin";
constexpr std::string_view csrf_header = "X-CSRF-Token";
constexpr std::size_t max_sessions = 1000;
// Sign-in: at most this many wrong tokens in a minute, from anyone; then 429 until the oldest ages out.
constexpr std::size_t max_failed_logins = 5;
constexpr std::int64_t failed_login_window_ms = 60000;
constexpr std::size_t activity_kept = 200;
constexpr int max_page = 500;
constexpr std::size_t bulk_chunk = 500;
// The job ids one listing page may read below its cursor (bench/admin: about 10 ms at 100k ids, a title
// filter about 150 ms).
constexpr std::int64_t scan_window = 100000;

// Every admin answer: no caching, no framing, no sniffing, and a policy that runs only our own files.
constexpr std::string_view content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

std::string_view target_path(std::string_view target) {
    auto q = target.find('?');
    return q == std::string_view::npos ? target : target.substr(0, q);
}

std::string url_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%' && i + 2 < s.size() && hex::digit_value(s[i + 1]) >= 0 && hex::digit_value(s[i + 2]) >= 0) {
            out += static_cast<char>(hex::digit_value(s[i + 1]) * 16 + hex::digit_value(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::unordered_map<std::string, std::string> query_of(std::string_view target) {
    std::unordered_map<std::string, std::string> out;
    auto q = target.find('?');
    if (q == std::string_view::npos) return out;
    auto rest = target.substr(q + 1);
    while (!rest.empty()) {
        auto amp = rest.find('&');
        auto pair = rest.substr(0, amp);
        auto eq = pair.find('=');
        auto key = url_decode(pair.substr(0, eq));
        auto value = eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
        if (!key.empty() && !value.empty()) out[key] = value;
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    }
    return out;
}

std::optional<std::int64_t> positive_id(std::string_view s) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || v <= 0) return std::nullopt;
    return v;
}

// "{id}" or "{id}/{verb}" after /jobs/ or /events/.
struct item_path {
    std::optional<std::int64_t> id;
    std::string_view verb;
};
item_path item_of(std::string_view rest) {
    auto slash = rest.find('/');
    return {positive_id(rest.substr(0, slash)), slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1)};
}

std::string random_hex(std::size_t bytes) {
    std::string raw(bytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
        throw std::runtime_error("RAND_bytes failed");
    return hex::encode(raw);
}

// Sessions are kept by the digest of their cookie: a lookup's timing tells nothing about live cookies.
std::string digest(std::string_view s) {
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
    return hex::encode(std::string_view(reinterpret_cast<const char*>(d), sizeof d));
}

std::string cookie_value(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        auto semi = header.find(';');
        auto part = header.substr(0, semi);
        while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
        if (part.size() > name.size() && part.starts_with(name) && part[name.size()] == '=')
            return std::string(part.substr(name.size() + 1));
        header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    }
    return {};
}

// A time bound from the API: ISO 8601, Unix milliseconds, or a duration meaning that long ago ("24h").
std::optional<std::int64_t> time_bound(const std::string& s, std::int64_t now) {
    if (auto ms = clock::parse_duration_ms(s)) return now - *ms;
    if (auto t = clock::parse_iso_ms(s)) return t;
    if (auto n = positive_id(s)) return n;
    return std::nullopt;
}

json::value opt_time(const std::optional<std::int64_t>& t) {
    return t ? json::value(clock::format_iso(*t)) : json::value(nullptr);
}

// What a database call answers: a status and its JSON.
struct reply {
    unsigned status = 200;
    json::value body;
};

using db_task = std::function<reply(store::admin&)>;

reply error_reply(unsigned status, std::string message) { return {status, json::object{{"error", std::move(message)}}}; }

// The job filter of the query string or of a bulk action's "filter" object (the same keys).
struct filter_or_error {
    store::job_filter filter;
    std::string error;
};

filter_or_error job_filter_from(const std::unordered_map<std::string, std::string>& q, std::int64_t now) {
    filter_or_error out;
    auto& f = out.filter;
    f.limit = 50;
    for (const auto& [key, value] : q) {
        if (key == "state") {
            f.state = store::parse_job_state(value);
            if (!f.state) out.error = "state must be one of queued, running, retrying, succeeded, skipped, dead, cancelled";
        } else if (key == "rule") {
            f.rule = value;
        } else if (key == "since" || key == "until") {
            auto t = time_bound(value, now);
            if (!t) out.error = key + " takes an ISO 8601 time, Unix milliseconds or a duration such as 24h";
            (key == "since" ? f.since_ms : f.until_ms) = t;
        } else if (key == "title") {
            f.title = value;
        } else if (key == "error") {
            f.error = value;
        } else if (key == "before") {
            f.before_id = positive_id(value);
            if (!f.before_id) out.error = "before must be a job id";
        } else if (key == "limit") {
            auto n = positive_id(value);
            if (!n || *n > max_page) out.error = fmt::format("limit must be 1 to {}", max_page);
            else f.limit = static_cast<int>(*n);
        }
    }
    return out;
}

}  // namespace

struct admin_ui::impl {
    wiring w;
    boost::asio::thread_pool pool{1};      // the store's calls, one at a time
    std::unique_ptr<store::admin> db;      // on the pool's thread only; reopened after a failure

    struct session {
        std::string name;
        std::string csrf;
        std::int64_t expires_at = 0;
    };
    std::mutex mutex;  // guards the three below
    std::unordered_map<std::string, session> sessions;  // by digest of the cookie
    std::deque<std::int64_t> failed_logins;              // times of recent wrong tokens
    std::deque<json::object> activity;                   // newest last

    explicit impl(wiring wi) : w(std::move(wi)) {}
    ~impl() { pool.join(); }

    struct caller {
        std::string who;
        std::optional<std::string> csrf;  // a session's; none for a bearer token
    };

    http::response answer(const http::request& req, unsigned status, const json::value& body) {
        auto res = http::make_response(req, static_cast<bh::status>(status), json::serialize(body));
        return res;
    }

    // Runs `task` on the store's thread and resumes here with its reply. Not a coroutine on the pool: GCC 12 mishandles
    // temporaries in a co_await (PR 99576), so callers pass a named task and nothing here is built inside one.
    awaitable<reply> on_db(db_task task) {
        auto initiation = [this](auto handler, db_task t) {
            boost::asio::post(pool, [this, handler = std::move(handler), t = std::move(t)]() mutable {
                reply out = run(t);
                auto ex = boost::asio::get_associated_executor(handler);
                boost::asio::post(ex, [handler = std::move(handler), out = std::move(out)]() mutable {
                    std::move(handler)(std::move(out));
                });
            });
        };
        auto r = co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(reply)>(
            initiation, boost::asio::use_awaitable, std::move(task));
        co_return r;
    }

    // On the pool's thread: opens the database when needed, runs `t`, and turns a failure into a 503.
    reply run(const db_task& t) {
        try {
            if (!db) db = open_admin(w.routes->load()->settings->database);
            return t(*db);
        } catch (const std::exception& e) {
            db.reset();
            log::error("admin.database_failed", {{"error", e.what()}});
            return error_reply(503, fmt::format("database: {}", e.what()));
        }
    }

    void record(const caller& c, std::string_view action, json::object detail) {
        detail["who"] = c.who;
        detail["action"] = action;
        detail["at"] = clock::format_iso(clock::now_ms());
        log::info("admin.action", detail);
        std::lock_guard lock(mutex);
        activity.push_back(std::move(detail));
        if (activity.size() > activity_kept) activity.pop_front();
    }

    // Wrong tokens, by sign-in or as a Bearer header, all count against one limit. While it is reached, token
    // attempts are refused unchecked (429); sessions already open keep working.
    std::optional<std::int64_t> token_attempts_blocked(std::int64_t now) {  // the seconds to wait, when blocked
        while (!failed_logins.empty() && failed_logins.front() <= now - failed_login_window_ms) failed_logins.pop_front();
        if (failed_logins.size() < max_failed_logins) return std::nullopt;
        return std::max<std::int64_t>((failed_logins.front() + failed_login_window_ms - now + 999) / 1000, 1);
    }

    http::response too_many_attempts(const http::request& req, std::int64_t wait_s) {
        auto res = answer(req, 429, json::object{{"error", "too many wrong tokens: wait and try again"}});
        res.set(bh::field::retry_after, std::to_string(wait_s));
        log::warn("admin.token_attempts_limited", {{"retry_after_s", wait_s}});
        return res;
    }

    struct auth_result {
        std::optional<caller> who;
        std::optional<std::int64_t> blocked_s;  // set: too many wrong tokens, answer 429
    };

    auth_result authenticate(const http::request& req, const std::string& token) {
        const auto now = clock::now_ms();
        auto auth = req[bh::field::authorization];
        if (!auth.empty()) {
            std::lock_guard lock(mutex);
            if (auto wait_s = token_attempts_blocked(now)) return {std::nullopt, wait_s};
            if (webhook::same_token(auth, "Bearer " + token)) return {caller{"api token", std::nullopt}, std::nullopt};
            failed_logins.push_back(now);
            log::warn("admin.bearer_token_wrong", {});
            return {};
        }
        auto cookie = cookie_value(req[bh::field::cookie], cookie_name);
        if (cookie.empty()) return {};
        std::lock_guard lock(mutex);
        auto it = sessions.find(digest(cookie));
        if (it == sessions.end()) return {};
        if (it->second.expires_at <= now) {
            sessions.erase(it);
            return {};
        }
        return {caller{it->second.name, it->second.csrf}, std::nullopt};
    }

    awaitable<http::response> login(http::request& req, const config::settings& s) {
        const auto now = clock::now_ms();
        json::error_code ec;
        auto v = json::parse(req.body(), ec);
        const auto* o = ec ? nullptr : v.if_object();
        const auto* tok = o ? o->if_contains("token") : nullptr;
        if (!tok || !tok->is_string()) co_return answer(req, 400, json::object{{"error", "send {\"token\": ...}"}});
        std::string name = "operator";
        if (const auto* n = o->if_contains("name"); n && n->is_string() && !n->as_string().empty())
            name = std::string(n->as_string().subview().substr(0, 64));
        {
            std::lock_guard lock(mutex);
            if (auto wait_s = token_attempts_blocked(now)) co_return too_many_attempts(req, *wait_s);
            if (!webhook::same_token(tok->as_string().subview(), s.server.admin_token)) {
                failed_logins.push_back(now);
                log::warn("admin.sign_in_failed", {{"name", name}});
                co_return answer(req, 401, json::object{{"error", "wrong token"}});
            }
        }
        const auto cookie = random_hex(32);
        session fresh{name, random_hex(32), now + s.server.admin_session_ms};
        {
            std::lock_guard lock(mutex);
            std::erase_if(sessions, [&](const auto& kv) { return kv.second.expires_at <= now; });
            if (sessions.size() >= max_sessions) {
                auto oldest = std::min_element(sessions.begin(), sessions.end(), [](const auto& a, const auto& b) {
                    return a.second.expires_at < b.second.expires_at;
                });
                sessions.erase(oldest);
            }
            sessions[digest(cookie)] = fresh;
        }
        record({name, {}}, "sign_in", {});
        auto res = answer(req, 200, session_json(fresh));
        res.set(bh::field::set_cookie, fmt::format("{}={}; Path=/admin; Max-Age={}; HttpOnly; SameSite=Strict{}", cookie_name,
                                                   cookie, s.server.admin_session_ms / 1000, w.tls ? "; Secure" : ""));
        co_return res;
    }

    static json::object session_json(const session& s) {
        return {{"name", s.name}, {"csrf", s.csrf}, {"expires_at", clock::format_iso(s.expires_at)}};
    }

    http::response logout(http::request& req) {
        auto cookie = cookie_value(req[bh::field::cookie], cookie_name);
        {
            std::lock_guard lock(mutex);
            sessions.erase(digest(cookie));
        }
        auto res = answer(req, 200, json::object{{"status", "signed out"}});
        res.set(bh::field::set_cookie, fmt::format("{}=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict", cookie_name));
        return res;
    }

    http::response asset(const http::request& req, std::string_view name) {
        for (const auto& a : admin_detail::assets()) {
            if (a.name != name) continue;
            std::string_view type = "application/octet-stream";
            if (name.ends_with(".html")) type = "text/html; charset=utf-8";
            else if (name.ends_with(".js")) type = "text/javascript; charset=utf-8";
            else if (name.ends_with(".css")) type = "text/css; charset=utf-8";
            else if (name.ends_with(".png")) type = "image/png";
            return http::make_response(req, bh::status::ok, std::string(a.body), type);
        }
        return answer(req, 404, json::object{{"error", "not found"}});
    }

    awaitable<http::response> api(http::request& req, std::string_view path, const routing& r, const caller& c);
    awaitable<http::response> route(http::request& req);
};

admin_ui::admin_ui(wiring w) : impl_(std::make_unique<impl>(std::move(w))) {}
admin_ui::~admin_ui() = default;

awaitable<http::response> admin_ui::handle(http::request& req) {
    auto res = co_await impl_->route(req);
    if (req.method() == bh::verb::head) {  // a HEAD answer carries no body (RFC 9110 9.3.2)
        res.body().clear();
        res.content_length(0);
    }
    res.set(bh::field::cache_control, "no-store");
    res.set("Content-Security-Policy", content_security_policy);
    res.set("X-Content-Type-Options", "nosniff");
    res.set("X-Frame-Options", "DENY");
    res.set("Referrer-Policy", "no-referrer");
    co_return res;
}

awaitable<http::response> admin_ui::impl::route(http::request& req) {
    const auto routes = w.routes->load();
    const auto& s = *routes->settings;
    const auto path = target_path(req.target());
    if (s.server.admin_token.empty()) co_return answer(req, 404, json::object{{"error", "not found"}});
    const bool get = req.method() == bh::verb::get || req.method() == bh::verb::head;
    const bool post = req.method() == bh::verb::post;
    if (path == "/admin") {
        auto res = answer(req, 308, json::object{{"location", "/admin/"}});
        res.set(bh::field::location, "/admin/");
        co_return res;
    }
    if (!path.starts_with("/admin/api/")) {
        if (!get) co_return answer(req, 405, json::object{{"error", "use GET"}});
        auto name = path.substr(std::string_view("/admin/").size());
        co_return asset(req, name.empty() ? "index.html" : name);
    }
    if (path == "/admin/api/login") {
        if (!post) co_return answer(req, 405, json::object{{"error", "use POST"}});
        auto res = co_await login(req, s);
        co_return res;
    }
    auto auth = authenticate(req, s.server.admin_token);
    if (auth.blocked_s) co_return too_many_attempts(req, *auth.blocked_s);
    auto& who = auth.who;
    if (!who) co_return answer(req, 401, json::object{{"error", "sign in first (or send Authorization: Bearer <admin token>)"}});
    if (post && who->csrf && !webhook::same_token(req[csrf_header], *who->csrf))
        co_return answer(req, 403, json::object{{"error", "missing or wrong X-CSRF-Token"}});
    auto res = co_await api(req, path.substr(std::string_view("/admin/api").size()), *routes, *who);
    co_return res;
}

awaitable<http::response> admin_ui::impl::api(http::request& req, std::string_view path, const routing& r,
                                              const caller& c) {
    const auto& s = *r.settings;
    const bool get = req.method() == bh::verb::get || req.method() == bh::verb::head;
    const bool post = req.method() == bh::verb::post;
    const auto now = clock::now_ms();
    const auto q = query_of(req.target());
    auto done = [&](const reply& rep) { return answer(req, rep.status, rep.body); };

    if (path == "/session" && get) {
        if (!c.csrf) co_return answer(req, 200, json::object{{"name", c.who}, {"csrf", nullptr}, {"expires_at", nullptr}});
        auto cookie = cookie_value(req[bh::field::cookie], cookie_name);
        std::lock_guard lock(mutex);
        auto it = sessions.find(digest(cookie));
        if (it == sessions.end()) co_return answer(req, 401, json::object{{"error", "signed out"}});
        co_return answer(req, 200, session_json(it->second));
    }
    if (path == "/logout" && post) co_return logout(req);
    if (path == "/activity" && get) {
        json::array a;
        {
            std::lock_guard lock(mutex);
            for (auto it = activity.rbegin(); it != activity.rend(); ++it) a.push_back(*it);
        }
        co_return answer(req, 200, json::object{{"activity", std::move(a)}});
    }

    if (path == "/stats" && get) {
        std::vector<std::string> paths;
        for (const auto& ep : s.webhooks) paths.push_back(ep.path);
        db_task task = [now, paths](store::admin& db) {
            json::object out{{"now", clock::format_iso(now)}};
            const std::vector<store::window_spec> specs = {{5 * 60000LL, 12}, {3600000LL, 24}};
            const auto o = db.stats(now, specs);
            json::object by_state;
            for (const auto& [st, n] : o.by_state) by_state[store::to_string(st)] = n;
            out["by_state"] = std::move(by_state);
            out["oldest_due"] = opt_time(o.oldest_due);
            auto to_array = [](const std::vector<std::int64_t>& v) { return json::array(v.begin(), v.end()); };
            json::object windows;
            for (std::size_t i = 0; i < specs.size(); ++i) {
                const auto& wc = o.windows[i];
                windows[i == 0 ? "hour" : "day"] =
                    json::object{{"from", clock::format_iso(wc.accepted.from)}, {"bucket_ms", specs[i].bucket_ms},
                                 {"accepted", to_array(wc.accepted.counts)}, {"succeeded", to_array(wc.succeeded.counts)},
                                 {"dead", to_array(wc.dead.counts)}};
            }
            out["windows"] = std::move(windows);
            json::array hooks;
            for (const auto& p : paths)
                hooks.push_back(json::object{{"path", p}, {"last_delivery", opt_time(db.last_delivery(p, now - 30LL * 86400000))}});
            out["webhooks"] = std::move(hooks);
            return reply{200, std::move(out)};
        };
        auto rep = co_await on_db(std::move(task));
        if (rep.status != 200) co_return done(rep);
        auto& out = rep.body.as_object();
        // This process's duplicates and refusals (stored nowhere else), beside the database's counts.
        for (auto& [name, win] : out["windows"].as_object()) {
            auto& o = win.as_object();
            const auto bucket_ms = o["bucket_ms"].as_int64();
            const int buckets = static_cast<int>(o["accepted"].as_array().size());
            auto h = w.history->series(now, bucket_ms, buckets);
            o["duplicate"] = json::array(h[delivery_history::duplicate].begin(), h[delivery_history::duplicate].end());
            o["refused"] = json::array(h[delivery_history::refused].begin(), h[delivery_history::refused].end());
        }
        auto bf = w.backfill ? w.backfill->get() : std::nullopt;
        for (auto& hv : out["webhooks"].as_array()) {
            auto& h = hv.as_object();
            h["docspace"] = nullptr;
            if (!bf) continue;
            for (const auto& wh : bf->report.webhooks)
                if (wh.path == h["path"].as_string())
                    h["docspace"] = json::object{{"id", wh.id}, {"name", wh.name}, {"listed", wh.listed}, {"enabled", wh.enabled}};
        }
        if (bf) {
            const auto& b = bf->report;
            out["backfill"] = json::object{{"at", clock::format_iso(bf->at)}, {"ingested", b.ingested}, {"known", b.known},
                                           {"refused", b.refused}, {"not_sent", b.not_sent},
                                           {"error", b.error ? json::value(*b.error) : json::value(nullptr)}};
        } else {
            out["backfill"] = nullptr;
        }
        co_return done(rep);
    }

    if (path == "/rules" && get) {
        db_task task = [](store::admin& db) {
            json::object counts;
            for (const auto& [rule, by_state] : db.rule_counts()) {
                json::object o;
                for (const auto& [st, n] : by_state) o[store::to_string(st)] = n;
                counts[rule] = std::move(o);
            }
            return reply{200, std::move(counts)};
        };
        auto rep = co_await on_db(std::move(task));
        if (rep.status != 200) co_return done(rep);
        auto& counts = rep.body.as_object();
        json::array rules;
        for (const auto& rule : s.rules) {
            json::array actions;
            for (const auto& a : rule.actions) actions.push_back(json::value(rules::describe(a)));
            auto* n = counts.if_contains(rule.name);
            rules.push_back(json::object{{"name", rule.name},
                                         {"on", json::array(rule.on.begin(), rule.on.end())},
                                         {"if", rules::describe(rule.when)},
                                         {"do", std::move(actions)},
                                         {"counts", n ? *n : json::object{}}});
            counts.erase(rule.name);
        }
        // Jobs of rules the configuration no longer has.
        co_return answer(req, 200, json::object{{"rules", std::move(rules)}, {"unconfigured", std::move(counts)}});
    }

    if (path == "/jobs" || path == "/jobs/count") {
        if (!get) co_return answer(req, 405, json::object{{"error", "use GET"}});
        auto f = job_filter_from(q, now);
        if (!f.error.empty()) co_return answer(req, 400, json::object{{"error", f.error}});
        const bool count = path == "/jobs/count";
        db_task task = [filter = f.filter, count](store::admin& db) {
            if (count) return reply{200, json::object{{"count", db.count_jobs(filter)}}};
            // One page reads at most scan_window ids below its cursor: a filter that matches rarely answers with
            // fewer rows (maybe none) and a cursor to go on from, instead of reading the whole table at once.
            auto page = filter;
            const std::int64_t top = page.before_id.value_or(db.max_job_id() + 1);
            page.before_id = top;
            page.after_id = std::max<std::int64_t>(0, top - scan_window - 1);
            auto jobs = db.list_jobs(page);
            json::array arr;
            for (const auto& j : jobs) arr.push_back(job_json(j));
            json::value next = nullptr;
            if (static_cast<int>(jobs.size()) == page.limit) next = jobs.back().id;
            else if (*page.after_id > 0) next = *page.after_id + 1;
            return reply{200, json::object{{"jobs", std::move(arr)}, {"next_before", next},
                                           {"searched_from", top - 1},
                                           {"searched_to", jobs.size() == static_cast<std::size_t>(page.limit)
                                                               ? jobs.back().id : *page.after_id + 1}}};
        };
        auto rep = co_await on_db(std::move(task));
        co_return done(rep);
    }

    if ((path == "/jobs/retry" || path == "/jobs/cancel") && post) {
        json::error_code ec;
        auto v = json::parse(req.body(), ec);
        const auto* o = ec ? nullptr : v.if_object();
        const auto* fo = o ? o->if_contains("filter") : nullptr;
        const auto* expected = o ? o->if_contains("expected") : nullptr;
        if (!fo || !fo->is_object() || !expected || !expected->is_int64())
            co_return answer(req, 400, json::object{{"error", "send {\"filter\": {...}, \"expected\": N} (N from /jobs/count)"}});
        // Only the listing's filter keys, as strings or integers: anything else could widen the filter silently.
        std::unordered_map<std::string, std::string> fq;
        for (const auto& [k, val] : fo->as_object()) {
            static constexpr std::string_view keys[] = {"state", "rule", "since", "until", "title", "error"};
            if (std::find(std::begin(keys), std::end(keys), std::string_view(k)) == std::end(keys))
                co_return answer(req, 400, json::object{{"error", fmt::format("unknown filter key \"{}\"", std::string_view(k))}});
            if (val.is_string()) fq[std::string(k)] = std::string(val.as_string());
            else if (val.is_int64()) fq[std::string(k)] = std::to_string(val.as_int64());
            else co_return answer(req, 400, json::object{{"error", fmt::format("filter \"{}\" must be a string", std::string_view(k))}});
        }
        auto f = job_filter_from(fq, now);
        if (!f.error.empty()) co_return answer(req, 400, json::object{{"error", f.error}});
        const bool retry = path == "/jobs/retry";
        const auto want = expected->as_int64();
        db_task task = [filter = f.filter, retry, want, now](store::admin& db) {
            // Jobs created after the confirmation are left alone: the walk starts at the largest id of now.
            const auto top = db.max_job_id() + 1;
            auto n = db.count_jobs(filter);
            if (n != want)
                return reply{409, json::object{{"error", fmt::format("the filter now matches {} jobs, not {}: confirm again", n, want)},
                                               {"count", n}}};
            // A page of ids at a time, newest first, acted on in one transaction each.
            auto page = filter;
            page.limit = static_cast<int>(bulk_chunk);
            page.before_id = top;
            std::int64_t matched = 0, changed = 0;
            for (;;) {
                auto jobs = db.list_jobs(page);
                if (jobs.empty()) break;
                std::vector<std::int64_t> ids;
                for (const auto& j : jobs) ids.push_back(j.id);
                matched += static_cast<std::int64_t>(ids.size());
                changed += retry ? db.retry_jobs(ids, now) : db.cancel_jobs(ids, now);
                page.before_id = ids.back();
                if (jobs.size() < bulk_chunk) break;
            }
            return reply{200, json::object{{"matched", matched}, {"changed", changed}}};
        };
        auto rep = co_await on_db(std::move(task));
        if (rep.status == 200) {
            auto filter_copy = fo->as_object();
            record(c, retry ? "bulk_retry" : "bulk_cancel",
                   {{"filter", std::move(filter_copy)}, {"matched", rep.body.at("matched")}, {"changed", rep.body.at("changed")}});
            if (retry && rep.body.at("changed").as_int64() > 0 && w.wake_workers) w.wake_workers();
        }
        co_return done(rep);
    }

    if (path.starts_with("/jobs/")) {
        const auto [id, verb] = item_of(path.substr(6));
        if (!id) co_return answer(req, 404, json::object{{"error", "no such job"}});
        if (verb.empty() && get) {
            db_task task = [id = *id](store::admin& db) {
                auto j = db.get_job(id);
                if (!j) return error_reply(404, fmt::format("no job {}", id));
                auto o = job_json(*j);
                json::array steps;
                for (const auto& st : db.get_steps(id)) steps.push_back(step_json(st));
                o["steps"] = std::move(steps);
                auto e = db.get_event(j->event_row);
                return reply{200, json::object{{"job", std::move(o)}, {"event", e ? json::value(event_json(*e, true)) : json::value(nullptr)}}};
            };
            auto rep = co_await on_db(std::move(task));
            co_return done(rep);
        }
        if ((verb == "retry" || verb == "cancel") && post) {
            const bool retry = verb == "retry";
            db_task task = [id = *id, retry, now](store::admin& db) {
                auto t = retry ? db.retry_job(id, now) : db.cancel_job(id, now);
                if (!t.was) return error_reply(404, fmt::format("no job {}", id));
                if (!t.changed)
                    return error_reply(409, retry ? fmt::format("job {} is {}: only dead, cancelled, skipped or succeeded jobs can be retried",
                                                                id, store::to_string(*t.was))
                                                  : fmt::format("job {} is {}: only queued or retrying jobs can be cancelled", id,
                                                                store::to_string(*t.was)));
                return reply{200, json::object{{"id", id}, {"was", store::to_string(*t.was)},
                                               {"now", retry ? "queued" : "cancelled"}}};
            };
            auto rep = co_await on_db(std::move(task));
            if (rep.status == 200) {
                record(c, retry ? "retry" : "cancel", {{"job", *id}, {"was", rep.body.at("was")}});
                if (retry && w.wake_workers) w.wake_workers();
            }
            co_return done(rep);
        }
        co_return answer(req, 405, json::object{{"error", "GET /jobs/{id}, POST /jobs/{id}/retry or /jobs/{id}/cancel"}});
    }

    if (path == "/events" && get) {
        store::event_filter f;
        f.limit = 50;
        if (auto it = q.find("trigger"); it != q.end()) f.trigger = it->second;
        if (auto it = q.find("since"); it != q.end()) {
            f.since_ms = time_bound(it->second, now);
            if (!f.since_ms) co_return answer(req, 400, json::object{{"error", "since takes an ISO 8601 time or a duration"}});
        }
        if (auto it = q.find("before"); it != q.end()) {
            f.before_id = positive_id(it->second);
            if (!f.before_id) co_return answer(req, 400, json::object{{"error", "before must be an event id"}});
        }
        if (auto it = q.find("limit"); it != q.end()) {
            auto n = positive_id(it->second);
            if (!n || *n > max_page) co_return answer(req, 400, json::object{{"error", fmt::format("limit must be 1 to {}", max_page)}});
            f.limit = static_cast<int>(*n);
        }
        db_task task = [f](store::admin& db) {
            auto events = db.list_events(f);
            json::array arr;
            for (const auto& e : events) arr.push_back(event_json(e, false));
            json::value next = nullptr;
            if (static_cast<int>(events.size()) == f.limit && !events.empty()) next = events.back().id;
            return reply{200, json::object{{"events", std::move(arr)}, {"next_before", next}}};
        };
        auto rep = co_await on_db(std::move(task));
        co_return done(rep);
    }

    if (path.starts_with("/events/")) {
        const auto [id, verb] = item_of(path.substr(8));
        if (!id) co_return answer(req, 404, json::object{{"error", "no such event"}});
        if (verb.empty() && get) {
            db_task task = [id = *id](store::admin& db) {
                auto e = db.get_event(id);
                if (!e) return error_reply(404, fmt::format("no event {}", id));
                return reply{200, event_json(*e, true)};
            };
            auto rep = co_await on_db(std::move(task));
            co_return done(rep);
        }
        if (verb == "replay" && post) {
            auto settings = r.settings;
            db_task task = [id = *id, settings, now](store::admin& db) {
                auto out = replay_event(db, *settings, id, now);
                if (out.outcome == replay_result::status::no_event) return error_reply(404, fmt::format("no event {}", id));
                if (out.outcome == replay_result::status::refused) return error_reply(409, out.why);
                return reply{200, json::object{{"rules", out.rules}, {"created", out.counts.created},
                                               {"requeued", out.counts.requeued}, {"busy", out.counts.busy}}};
            };
            auto rep = co_await on_db(std::move(task));
            if (rep.status == 200) {
                record(c, "replay", {{"event", *id}, {"created", rep.body.at("created")}, {"requeued", rep.body.at("requeued")}});
                if (w.wake_workers) w.wake_workers();
            }
            co_return done(rep);
        }
        co_return answer(req, 405, json::object{{"error", "GET /events/{id} or POST /events/{id}/replay"}});
    }
    co_return answer(req, 404, json::object{{"error", "no such admin API path"}});
}

}  // namespace spacehook::service
