// The simulator object: setup, observation, fault injection and request dispatch.
#include "impl.hpp"

#include "spacehook/core/clock.hpp"
#include "spacehook/core/log.hpp"
#include "spacehook/sim/dotnet_json.hpp"

#include <boost/asio/post.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

namespace spacehook::sim {

// ---------------------------------------------------------------------------------------------------------
// small helpers

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& ch : out)
        if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    return out;
}

bool iequals_ascii(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

const json::value* find_ci(const json::object& o, std::string_view key) {
    if (auto* v = o.if_contains(key)) return v;
    for (const auto& m : o)
        if (iequals_ascii(m.key(), key)) return &m.value();
    return nullptr;
}

std::optional<std::int64_t> as_int(const json::value* v) {
    if (!v) return std::nullopt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        return static_cast<std::int64_t>(v->get_uint64());
    if (v->is_double()) {
        double d = v->get_double();
        if (std::floor(d) == d && std::fabs(d) < 9.0e15) return static_cast<std::int64_t>(d);
        return std::nullopt;
    }
    if (v->is_string()) {
        std::string_view s = v->get_string();
        if (s.empty()) return std::nullopt;
        std::int64_t n = 0;
        std::size_t i = 0;
        bool neg = false;
        if (s[0] == '-') {
            neg = true;
            i = 1;
        }
        if (i == s.size()) return std::nullopt;
        for (; i < s.size(); ++i) {
            if (s[i] < '0' || s[i] > '9') return std::nullopt;
            n = n * 10 + (s[i] - '0');
        }
        return neg ? -n : n;
    }
    return std::nullopt;
}

std::optional<bool> as_bool(const json::value* v) {
    if (!v) return std::nullopt;
    if (v->is_bool()) return v->get_bool();
    if (v->is_string()) {
        if (iequals_ascii(v->get_string(), "true")) return true;
        if (iequals_ascii(v->get_string(), "false")) return false;
    }
    return std::nullopt;
}

std::string html_encode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char ch : s) {
        switch (ch) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += ch;
        }
    }
    return out;
}

std::string format_size(std::int64_t bytes) {
    // CommonFileSizeComment.FilesSizeToString: $"{size:#,0.##} {unit}" with 1024 steps.
    static constexpr std::string_view units[] = {"bytes", "KB", "MB", "GB", "TB"};
    double size = static_cast<double>(bytes);
    int power = 0;
    if (size >= 1024) {
        power = static_cast<int>(std::log(size) / std::log(1024.0));
        power = std::min(power, 4);
        size /= std::pow(1024.0, power);
    }
    // Round half away from zero to two decimals, then drop trailing zeros.
    const auto hundredths = static_cast<std::int64_t>(std::floor(size * 100.0 + 0.5));
    std::int64_t whole = hundredths / 100;
    int frac = static_cast<int>(hundredths % 100);
    std::string digits = std::to_string(whole);
    std::string grouped;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) grouped += ',';
        grouped += digits[i];
    }
    if (frac) {
        grouped += '.';
        grouped += static_cast<char>('0' + frac / 10);
        if (frac % 10) grouped += static_cast<char>('0' + frac % 10);
    }
    return fmt::format("{} {}", grouped, units[power]);
}

// ---------------------------------------------------------------------------------------------------------
// impl basics

namespace {
constexpr std::string_view default_owner_id = "66faa6e4-f133-11ea-b126-00ffeec8b4ef";
}

docspace_sim::impl::impl(asio::io_context& c, sim_options o) : ctx(c), opt(std::move(o)) {
    next_delivery_id = opt.first_delivery_id;
    next_config_id = opt.first_webhook_config_id;
    owner = std::string(default_owner_id);
    users[owner] = user_info{owner, "Portal", "Owner", "owner@docspace.test", "Portal Owner", true};
    const auto t = now_s_ms();
    folders[rooms_root] = folder_state{rooms_root, 0, "Rooms", false, owner, t};
}

http::client& docspace_sim::impl::client() {
    if (!client_) {
        http::client_options copt;
        copt.user_agent.clear();   // DocSpace's HttpClient sends no User-Agent
        copt.verify_peer = false;  // ssl=false deliveries ignore certificates; tests use loopback
        client_ = std::make_unique<http::client>(ctx.get_executor(), copt);
    }
    return *client_;
}

std::int64_t docspace_sim::impl::now_ms() const { return opt.now_ms ? opt.now_ms() : clock::now_ms(); }

std::int64_t docspace_sim::impl::now_s_ms() const {
    const auto t = now_ms();
    return t - ((t % 1000) + 1000) % 1000;
}

std::string docspace_sim::impl::new_guid() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    const auto a = rng(), b = rng();
    return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", static_cast<std::uint32_t>(a >> 32),
                       static_cast<std::uint32_t>((a >> 16) & 0xFFFF), static_cast<std::uint32_t>(a & 0xFFF),
                       static_cast<std::uint32_t>(0x8000 | ((b >> 48) & 0x3FFF)), b & 0xFFFFFFFFFFFFULL);
}

entry_id docspace_sim::impl::take_folder_id(entry_id wanted) {
    if (wanted > 0) {
        if (folders.count(wanted)) throw std::invalid_argument(fmt::format("folder id {} is taken", wanted));
        return wanted;
    }
    while (folders.count(next_folder_id)) ++next_folder_id;
    return next_folder_id++;
}

entry_id docspace_sim::impl::take_file_id(entry_id wanted) {
    if (wanted > 0) {
        if (files.count(wanted)) throw std::invalid_argument(fmt::format("file id {} is taken", wanted));
        return wanted;
    }
    while (files.count(next_file_id)) ++next_file_id;
    return next_file_id++;
}

const folder_state& docspace_sim::impl::root_of(entry_id folder) const {
    const folder_state* f = &folders.at(folder);
    while (f->parent_id != 0) f = &folders.at(f->parent_id);
    return *f;
}

access docspace_sim::impl::access_of(const std::string& user, entry_id folder) const {
    for (entry_id id = folder; id != 0;) {
        if (auto it = acl.find({user, id}); it != acl.end()) return it->second;
        auto f = folders.find(id);
        if (f == folders.end()) break;
        id = f->second.parent_id;
    }
    return access::full;
}

bool docspace_sim::impl::locked_for(const file_state& f, const std::string& user) const {
    return f.locked && (f.locked_by.empty() || f.locked_by != user);
}

std::string docspace_sim::impl::display_name(const std::string& user_id) const {
    auto it = users.find(user_id);
    return it == users.end() ? std::string() : it->second.display_name;
}

file_state* docspace_sim::impl::file_titled(entry_id folder, std::string_view title) {
    for (auto& [id, f] : files)
        if (f.folder_id == folder && iequals_ascii(f.title, title)) return &f;
    return nullptr;
}

std::string docspace_sim::impl::free_title(entry_id folder, const std::string& title) {
    // "name (1).ext", "name (2).ext", ... as DocSpace's Global.GetAvailableTitle does.
    const auto dot = title.rfind('.');
    const std::string stem = dot == std::string::npos || dot == 0 ? title : title.substr(0, dot);
    const std::string ext = dot == std::string::npos || dot == 0 ? std::string() : title.substr(dot);
    for (int n = 1;; ++n) {
        auto candidate = fmt::format("{} ({}){}", stem, n, ext);
        if (!file_titled(folder, candidate)) return candidate;
    }
}

file_state& docspace_sim::impl::create_file(entry_id folder, std::string title, std::int64_t size,
                                            const std::string& by, entry_id id) {
    file_state f;
    f.id = take_file_id(id);
    f.folder_id = folder;
    f.title = std::move(title);
    f.created_by = f.updated_by = by;
    f.created_ms = f.updated_ms = now_s_ms();
    f.size = size;
    f.comments[1] = "";
    return files[f.id] = std::move(f);
}

void docspace_sim::impl::new_version(file_state& f, const std::string& by, std::int64_t size) {
    ++f.version;
    ++f.version_group;
    f.comments[f.version] = "";
    f.comment.clear();
    f.updated_by = by;
    f.updated_ms = now_s_ms();
    if (size >= 0) f.size = size;
}

void docspace_sim::impl::record(const http::request& req, std::string user, unsigned status, std::int64_t at,
                                std::string fault) {
    request_record r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.body = req.body();
    r.authorization = req.find(http::beast_http::field::authorization) != req.end();
    r.user_id = std::move(user);
    r.status = status;
    r.at_ms = at;
    r.fault = std::move(fault);
    std::lock_guard lock(mu);
    requests.push_back(std::move(r));
    while (requests.size() > opt.request_log_limit && !requests.empty()) requests.pop_front();
}

// ---------------------------------------------------------------------------------------------------------
// dispatch

namespace {

bool fault_matches(const fault& f, std::string_view method, std::string_view target) {
    if (f.remaining <= 0) return false;
    if (!f.method.empty() && f.method != "*" && f.method != method) return false;
    return target.substr(0, f.prefix.size()) == f.prefix;
}

bool profile_matches(const fault_profile& p, std::string_view method, std::string_view target) {
    if (!p.method.empty() && p.method != "*" && p.method != method) return false;
    return target.substr(0, p.path_prefix.size()) == p.path_prefix;
}

// What one draw of the profile injects into a request.
struct profile_fault {
    enum kind { none, server_error, rate_limited, reset, slow, dropped } what = none;
    unsigned status = 0;
};

// One draw: the top 53 bits pick the kind, the remainder modulo the number of 5xx statuses picks one.
profile_fault draw(const fault_profile& p, std::mt19937_64& rng, fault_counts& counts) {
    const std::uint64_t x = rng();
    const double u = static_cast<double>(x >> 11) * 0x1.0p-53;
    ++counts.draws;
    profile_fault out;
    double edge = p.p_5xx;
    if (u < edge) {
        out.what = profile_fault::server_error;
        out.status = p.statuses_5xx[x % p.statuses_5xx.size()];
        ++counts.server_error;
    } else if (u < (edge += p.p_429)) {
        out.what = profile_fault::rate_limited;
        out.status = 429;
        ++counts.rate_limited;
    } else if (u < (edge += p.p_reset)) {
        out.what = profile_fault::reset;
        ++counts.reset;
    } else if (u < (edge += p.p_slow)) {
        out.what = profile_fault::slow;
        ++counts.slow;
    } else if (u < (edge += p.p_drop)) {
        out.what = profile_fault::dropped;
        ++counts.dropped;
    }
    return out;
}

// A response that promises a body it never sends: with keep-alive off the server closes the connection
// right after the headers, so the client sees the connection drop mid-response (no usable answer).
http::response truncated(http::request& req) {
    req.keep_alive(false);
    http::response res{http::beast_http::status::ok, req.version()};
    res.set(http::beast_http::field::content_type, "application/json; charset=utf-8");
    res.set(http::beast_http::field::content_length, "1048576");
    return res;
}

}  // namespace

awaitable<http::response> docspace_sim::impl::handle(std::shared_ptr<impl> self, http::request& req) {
    const auto at = self->now_ms();
    const std::string method = std::string(req.method_string());
    const std::string target = std::string(req.target());

    // Faults first, like a proxy in front of the portal: scripted ones, else a draw from the profile.
    std::chrono::milliseconds delay{0};
    std::optional<fault> action;
    std::string fault_name;
    bool drop_answer = false;
    {
        std::lock_guard lock(self->mu);
        for (auto& f : self->faults) {
            if (!fault_matches(f, method, target)) continue;
            if (f.kind == fault_kind::delay) {
                if (delay.count() == 0) {
                    delay = f.delay;
                    --f.remaining;
                }
            } else if (!action) {
                action = f;
                --f.remaining;
            }
        }
        std::erase_if(self->faults, [](const fault& f) { return f.remaining <= 0; });
        if (action || delay.count() > 0) {
            fault_name = "scripted";
        } else if (self->profile && profile_matches(*self->profile, method, target)) {
            const auto& p = *self->profile;
            switch (auto d = draw(p, self->profile_rng, self->injected); d.what) {
            case profile_fault::none: break;
            case profile_fault::server_error:
            case profile_fault::rate_limited:
                action.emplace();
                action->kind = fault_kind::fail;
                action->status = d.status;
                if (d.what == profile_fault::rate_limited) action->retry_after = p.retry_after_seconds;
                fault_name = d.what == profile_fault::rate_limited ? "429" : "5xx";
                break;
            case profile_fault::reset:
                action.emplace();
                action->kind = fault_kind::reset;
                fault_name = "reset";
                break;
            case profile_fault::slow:
                delay = p.slow_delay;
                fault_name = "slow";
                break;
            case profile_fault::dropped:
                drop_answer = true;
                fault_name = "drop";
                break;
            }
        }
    }
    if (delay.count() > 0) {
        asio::steady_timer timer(self->ctx);
        timer.expires_after(delay);
        co_await timer.async_wait(tuple_awaitable);
    }

    // Authentication: "Bearer <api key>".
    std::string user;
    {
        std::lock_guard lock(self->mu);
        auto auth = req[http::beast_http::field::authorization];
        constexpr std::string_view bearer = "Bearer ";
        if (auth.size() > bearer.size() && iequals_ascii(auth.substr(0, bearer.size()), bearer)) {
            auto key = auth.substr(bearer.size());
            while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
            if (auto it = self->api_keys.find(std::string(key)); it != self->api_keys.end()) user = it->second;
        }
    }

    if (action) {
        if (action->kind == fault_kind::reset) {
            self->record(req, user, 0, at, std::move(fault_name));
            co_return truncated(req);
        }
        http::response res{static_cast<http::beast_http::status>(action->status), req.version()};
        res.set(http::beast_http::field::content_type, "application/json; charset=utf-8");
        if (action->retry_after) res.set(http::beast_http::field::retry_after, std::to_string(*action->retry_after));
        if (action->body) {
            res.body() = *action->body;
        } else {
            json::object err;
            err["message"] = std::string(http::beast_http::obsolete_reason(res.result()));
            err["type"] = "System.Exception";
            err["stack"] = "";
            err["hresult"] = -2146233088;
            json::object env;
            env["error"] = std::move(err);
            env["status"] = 1;
            env["statusCode"] = action->status;
            res.body() = dotnet_json::serialize(env);
        }
        res.prepare_payload();
        self->record(req, user, action->status, at, std::move(fault_name));
        co_return res;
    }

    // Route.
    auto url = boost::urls::parse_origin_form(target);
    call c{req, method, {}, {}, {}, user};
    if (url) {
        c.path = std::string(url->encoded_path());
        for (auto seg : url->segments()) c.seg.push_back(seg);
        for (auto p : url->params()) c.query[p.key] = p.value;
    }
    constexpr std::string_view api = "/api/2.0/";
    std::optional<http::response> res;
    if (!url || c.path.substr(0, api.size()) != api) {
        res.emplace(http::beast_http::status::not_found, req.version());
        res->prepare_payload();
    } else {
        c.seg.erase(c.seg.begin(), c.seg.begin() + 2);
        if (user.empty()) {
            std::lock_guard lock(self->mu);
            res = self->error(c, 401, "The user is not authenticated",
                              "System.Security.Authentication.AuthenticationException", -2146233087);
        }
    }
    if (!res) {
        int mode = -1;
        {
            std::lock_guard lock(self->mu);
            auto r = self->route_locked(c, mode);
            if (mode < 0) res = std::move(r);
        }
        if (mode >= 0) res = co_await post_put_webhook(self, c, mode);
    }
    if (drop_answer) {
        self->record(req, user, 0, at, std::move(fault_name));
        co_return truncated(req);
    }
    self->record(req, user, res->result_int(), at, std::move(fault_name));
    co_return std::move(*res);
}

// ---------------------------------------------------------------------------------------------------------
// docspace_sim

docspace_sim::docspace_sim(asio::io_context& ctx, sim_options options)
    : impl_(std::make_shared<impl>(ctx, std::move(options))) {
    std::weak_ptr<impl> weak = impl_;
    http::server_options sopt;
    sopt.server_header = "";  // Kestrel behind nginx: nothing product-specific
    impl_->server = std::make_unique<http::server>(
        std::vector<asio::io_context*>{&ctx}, sopt, [weak](http::request& req) -> awaitable<http::response> {
            if (auto self = weak.lock()) return impl::handle(std::move(self), req);
            return [](http::request& r) -> awaitable<http::response> {
                co_return http::make_response(r, http::beast_http::status::service_unavailable, "");
            }(req);
        });
    impl_->server->listen("127.0.0.1", 0);
    impl_->port = impl_->server->port();
    impl_->base = fmt::format("http://127.0.0.1:{}", impl_->port);
    impl_->server->start();
}

docspace_sim::~docspace_sim() { stop(); }

std::string docspace_sim::base_url() const { return impl_->base; }
std::uint16_t docspace_sim::port() const { return impl_->port; }

void docspace_sim::stop() {
    {
        std::lock_guard lock(impl_->mu);
        if (impl_->stopped) return;
        impl_->stopped = true;
    }
    impl_->server->stop();
    auto self = impl_;
    asio::post(self->ctx, [self] {
        for (auto* t : self->waits) t->cancel();
        std::lock_guard lock(self->mu);
        for (auto& op : self->fileops)
            if (op->timer) op->timer->cancel();
        if (self->client_) self->client_->close_idle();
    });
}

const std::string& docspace_sim::owner_id() const { return impl_->owner; }
entry_id docspace_sim::rooms_root_id() const { return impl_->rooms_root; }

std::string docspace_sim::add_user(user_info user) {
    std::lock_guard lock(impl_->mu);
    if (user.id.empty()) user.id = impl_->new_guid();
    if (user.display_name.empty()) {
        user.display_name = user.first_name;
        if (!user.last_name.empty()) user.display_name += (user.display_name.empty() ? "" : " ") + user.last_name;
    }
    auto id = user.id;
    impl_->users[id] = std::move(user);
    return id;
}

void docspace_sim::add_api_key(std::string key, std::string user_id) {
    std::lock_guard lock(impl_->mu);
    if (!impl_->users.count(user_id)) throw std::invalid_argument("add_api_key: unknown user " + user_id);
    impl_->api_keys[std::move(key)] = std::move(user_id);
}

entry_id docspace_sim::add_room(std::string title, entry_id id, std::string created_by) {
    std::lock_guard lock(impl_->mu);
    folder_state f{impl_->take_folder_id(id), impl_->rooms_root, std::move(title), true,
                   created_by.empty() ? impl_->owner : std::move(created_by), impl_->now_s_ms()};
    auto fid = f.id;
    impl_->folders[fid] = std::move(f);
    return fid;
}

entry_id docspace_sim::add_folder(entry_id parent, std::string title, entry_id id, std::string created_by) {
    std::lock_guard lock(impl_->mu);
    if (!impl_->folders.count(parent)) throw std::invalid_argument(fmt::format("add_folder: no folder {}", parent));
    folder_state f{impl_->take_folder_id(id), parent, std::move(title), false,
                   created_by.empty() ? impl_->owner : std::move(created_by), impl_->now_s_ms()};
    auto fid = f.id;
    impl_->folders[fid] = std::move(f);
    return fid;
}

entry_id docspace_sim::add_file(entry_id folder, std::string title, std::int64_t size, entry_id id,
                                std::string created_by) {
    std::lock_guard lock(impl_->mu);
    if (!impl_->folders.count(folder)) throw std::invalid_argument(fmt::format("add_file: no folder {}", folder));
    return impl_->create_file(folder, std::move(title), size, created_by.empty() ? impl_->owner : created_by, id).id;
}

void docspace_sim::set_access(const std::string& user_id, entry_id folder, access a) {
    std::lock_guard lock(impl_->mu);
    impl_->acl[{user_id, folder}] = a;
}

void docspace_sim::lock_file(entry_id file, std::string locked_by) {
    std::lock_guard lock(impl_->mu);
    auto& f = impl_->files.at(file);
    f.locked = true;
    f.locked_by = std::move(locked_by);
}

void docspace_sim::unlock_file(entry_id file) {
    std::lock_guard lock(impl_->mu);
    auto& f = impl_->files.at(file);
    f.locked = false;
    f.locked_by.clear();
}

entry_id docspace_sim::upload(const std::string& user_id, entry_id folder, std::string title, bool simple_api,
                              std::int64_t size) {
    entry_id id = 0;
    {
        std::lock_guard lock(impl_->mu);
        if (!impl_->folders.count(folder)) throw std::invalid_argument(fmt::format("upload: no folder {}", folder));
        file_state* f = impl_->file_titled(folder, title);
        if (f) {
            impl_->new_version(*f, user_id, size);
        } else {
            f = &impl_->create_file(folder, std::move(title), size, user_id, 0);
        }
        id = f->id;
        if (simple_api) impl_->publish("file.created", user_id, *f);
        impl_->publish("file.uploaded", user_id, *f);
    }
    impl_->kick();
    return id;
}

void docspace_sim::update(const std::string& user_id, entry_id file) {
    {
        std::lock_guard lock(impl_->mu);
        auto& f = impl_->files.at(file);
        impl_->new_version(f, user_id, -1);
        impl_->publish("file.updated", user_id, f);
    }
    impl_->kick();
}

void docspace_sim::publish_file_event(std::string_view trigger, const std::string& user_id, entry_id file) {
    if (trigger_flag(trigger) <= 0) throw std::invalid_argument("publish_file_event: unknown trigger");
    {
        std::lock_guard lock(impl_->mu);
        impl_->publish(trigger, user_id, impl_->files.at(file));
    }
    impl_->kick();
}

int docspace_sim::subscribe(std::string uri, std::string secret, std::int64_t triggers_mask, std::string name,
                            std::string target_id, std::string created_by) {
    std::lock_guard lock(impl_->mu);
    webhook_config_state c;
    c.id = impl_->next_config_id++;
    c.name = std::move(name);
    c.uri = std::move(uri);
    c.secret = std::move(secret);
    c.triggers = triggers_mask;
    c.target_id = std::move(target_id);
    c.created_by = created_by.empty() ? impl_->owner : std::move(created_by);
    impl_->config_created_ms[c.id] = impl_->now_s_ms();
    auto id = c.id;
    impl_->configs[id] = std::move(c);
    return id;
}

int docspace_sim::redeliver(int delivery_id) {
    int id = 0;
    {
        std::lock_guard lock(impl_->mu);
        id = impl_->redeliver_locked(delivery_id);
    }
    if (id) impl_->kick();
    return id;
}

int docspace_sim::add_log_row(int config_id, std::string payload, unsigned status) {
    std::lock_guard lock(impl_->mu);
    auto& m = *impl_;
    auto cfg = m.configs.find(config_id);
    if (cfg == m.configs.end()) throw std::invalid_argument(fmt::format("add_log_row: no webhook config {}", config_id));
    delivery_entry d;
    d.record.id = m.next_delivery_id++;
    d.record.config_id = config_id;
    d.record.config_name = cfg->second.name;
    d.record.url = cfg->second.uri;
    d.record.last_status = status;
    d.record.done = true;
    d.record.attempts.push_back({status, "injected", payload, "", m.now_ms()});
    d.created_ms = m.now_s_ms();
    d.request_payload = std::move(payload);
    d.last_request_headers = R"({"Accept":["*/*"]})";
    const int id = d.record.id;
    m.deliveries.emplace(id, std::move(d));
    return id;
}

void docspace_sim::set_webhook_enabled(int config_id, bool enabled) {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->configs.find(config_id);
    if (it == impl_->configs.end())
        throw std::invalid_argument(fmt::format("set_webhook_enabled: no webhook config {}", config_id));
    it->second.enabled = enabled;
}

void docspace_sim::remove_webhook(int config_id) {
    std::lock_guard lock(impl_->mu);
    if (!impl_->configs.erase(config_id))
        throw std::invalid_argument(fmt::format("remove_webhook: no webhook config {}", config_id));
}

void docspace_sim::set_limited_access_for_users(bool on) {
    std::lock_guard lock(impl_->mu);
    impl_->limited_access_for_users = on;
}

std::vector<request_record> docspace_sim::requests() const {
    std::lock_guard lock(impl_->mu);
    return {impl_->requests.begin(), impl_->requests.end()};
}

std::size_t docspace_sim::count(std::string_view method, std::string_view path_prefix) const {
    const auto m = upper(method);
    std::lock_guard lock(impl_->mu);
    return static_cast<std::size_t>(std::count_if(impl_->requests.begin(), impl_->requests.end(), [&](const auto& r) {
        return (m.empty() || m == "*" || r.method == m) && std::string_view(r.target).substr(0, path_prefix.size()) ==
                                                               path_prefix;
    }));
}

void docspace_sim::clear_requests() {
    std::lock_guard lock(impl_->mu);
    impl_->requests.clear();
}

std::optional<file_state> docspace_sim::file(entry_id id) const {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->files.find(id);
    if (it == impl_->files.end()) return std::nullopt;
    return it->second;
}

std::vector<file_state> docspace_sim::files_in(entry_id folder) const {
    std::lock_guard lock(impl_->mu);
    std::vector<file_state> out;
    for (const auto& [id, f] : impl_->files)
        if (f.folder_id == folder) out.push_back(f);
    return out;
}

std::optional<folder_state> docspace_sim::folder(entry_id id) const {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->folders.find(id);
    if (it == impl_->folders.end()) return std::nullopt;
    return it->second;
}

std::vector<delivery_record> docspace_sim::deliveries() const {
    std::lock_guard lock(impl_->mu);
    std::vector<delivery_record> out;
    out.reserve(impl_->deliveries.size());
    for (const auto& [id, d] : impl_->deliveries) out.push_back(d.record);
    return out;
}

std::optional<delivery_record> docspace_sim::delivery(int id) const {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->deliveries.find(id);
    if (it == impl_->deliveries.end()) return std::nullopt;
    return it->second.record;
}

std::vector<webhook_config_state> docspace_sim::webhook_configs() const {
    std::lock_guard lock(impl_->mu);
    std::vector<webhook_config_state> out;
    for (const auto& [id, c] : impl_->configs) out.push_back(c);
    return out;
}

std::size_t docspace_sim::fileops_pending() const {
    std::lock_guard lock(impl_->mu);
    return impl_->fileops.size();
}

void docspace_sim::fail_next(std::string method, std::string path_prefix, unsigned status, int count,
                             std::optional<int> retry_after_seconds, std::optional<std::string> body) {
    fault f;
    f.kind = fault_kind::fail;
    f.method = upper(method);
    f.prefix = std::move(path_prefix);
    f.remaining = count;
    f.status = status;
    f.retry_after = retry_after_seconds;
    f.body = std::move(body);
    std::lock_guard lock(impl_->mu);
    impl_->faults.push_back(std::move(f));
}

void docspace_sim::delay_next(std::string method, std::string path_prefix, std::chrono::milliseconds delay,
                              int count) {
    fault f;
    f.kind = fault_kind::delay;
    f.method = upper(method);
    f.prefix = std::move(path_prefix);
    f.remaining = count;
    f.delay = delay;
    std::lock_guard lock(impl_->mu);
    impl_->faults.push_back(std::move(f));
}

void docspace_sim::reset_next(std::string method, std::string path_prefix, int count) {
    fault f;
    f.kind = fault_kind::reset;
    f.method = upper(method);
    f.prefix = std::move(path_prefix);
    f.remaining = count;
    std::lock_guard lock(impl_->mu);
    impl_->faults.push_back(std::move(f));
}

void docspace_sim::clear_faults() {
    std::lock_guard lock(impl_->mu);
    impl_->faults.clear();
}

void docspace_sim::set_fault_profile(fault_profile profile) {
    const double ps[] = {profile.p_5xx, profile.p_429, profile.p_reset, profile.p_slow, profile.p_drop};
    double sum = 0;
    for (double p : ps) {
        if (!(p >= 0.0 && p <= 1.0)) throw std::invalid_argument("set_fault_profile: a probability is outside [0, 1]");
        sum += p;
    }
    if (sum > 1.0 + 1e-9) throw std::invalid_argument("set_fault_profile: the probabilities add up to more than 1");
    if (profile.p_5xx > 0 && profile.statuses_5xx.empty())
        throw std::invalid_argument("set_fault_profile: p_5xx > 0 needs at least one status in statuses_5xx");
    profile.method = upper(profile.method);
    std::lock_guard lock(impl_->mu);
    impl_->profile_rng.seed(profile.seed);
    impl_->injected = {};
    impl_->profile = std::move(profile);
}

void docspace_sim::clear_fault_profile() {
    std::lock_guard lock(impl_->mu);
    impl_->profile.reset();
}

fault_counts docspace_sim::injected_faults() const {
    std::lock_guard lock(impl_->mu);
    return impl_->injected;
}

std::vector<fileop_record> docspace_sim::completed_fileops() const {
    std::lock_guard lock(impl_->mu);
    return impl_->fileop_log;
}

}  // namespace spacehook::sim
