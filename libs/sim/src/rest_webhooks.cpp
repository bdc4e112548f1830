// REST: settings/webhook management and the delivery log (docs/docspace-protocol.md §4.5-4.6,
// WebhooksController).
#include "impl.hpp"

#include "spacehook/core/clock.hpp"
#include "spacehook/sim/dotnet_json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include <fmt/format.h>

namespace spacehook::sim {

namespace {

// Triggers only DocSpace admins and room admins may subscribe to (WebhookTrigger availability "A").
bool admin_only(std::int64_t flag) {
    switch (flag) {
    case 1:           // user.created
    case 2:           // user.invited
    case 16:          // group.created
    case 32:          // group.updated
    case 64:          // group.deleted
    case 4194304:     // room.created
    case 134217728:   // room.copied
    case 2147483648:  // agent.created
        return true;
    default: return false;
    }
}

// PasswordSettings: [\x21-\x7E]{8,30}.
bool secret_ok(std::string_view s) {
    if (s.size() < 8 || s.size() > 30) return false;
    for (char ch : s)
        if (ch < 0x21 || ch > 0x7E) return false;
    return true;
}

constexpr std::string_view secret_policy_message =
    "Password must contain from 8 to 30 characters, only latin letters, no spaces";

struct config_request {
    std::optional<std::int64_t> id;
    std::optional<std::string> name;
    std::optional<std::string> uri;
    std::optional<std::string> secret;
    bool enabled = false;
    bool ssl = false;
    std::int64_t triggers = 0;
    std::string target_id;
};

std::optional<std::string> string_member(const json::object& o, std::string_view key) {
    auto* v = find_ci(o, key);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->get_string());
}

// DbWorker.GetQueryForJournal drops each status class whose groupStatus bit is clear (1 NotSent = status 0,
// 2 2xx, 4 3xx, 8 4xx, 16 5xx); 0 filters nothing. So a row stays when the bit of its class is set.
bool group_status_keeps(std::int64_t mask, unsigned status) {
    if (mask == 0) return true;
    if (!(mask & 1) && status == 0) return false;
    if (!(mask & 2) && status >= 200 && status < 300) return false;
    if (!(mask & 4) && status >= 300 && status < 400) return false;
    if (!(mask & 8) && status >= 400 && status < 500) return false;
    if (!(mask & 16) && status >= 500) return false;
    return true;
}

}  // namespace

std::optional<bool> docspace_sim::impl::webhook_admin(const std::string& user) const {
    const auto& u = users.at(user);
    if (u.admin) return true;
    if (u.guest || limited_access_for_users) return std::nullopt;
    return false;
}

json::object docspace_sim::impl::webhook_config_dto(const webhook_config_state& c) const {
    const auto local = [&](std::int64_t ms) {
        return dotnet_json::unspecified_seconds(ms + std::int64_t{opt.utc_offset_minutes} * 60'000);
    };
    json::object o;
    o["id"] = c.id;
    o["name"] = c.name;
    o["uri"] = c.uri;
    o["enabled"] = c.enabled;
    o["ssl"] = c.ssl;
    o["triggers"] = c.triggers;
    if (!c.target_id.empty()) o["targetId"] = c.target_id;
    o["createdBy"] = employee_dto(c.created_by);
    if (auto it = config_created_ms.find(c.id); it != config_created_ms.end()) o["createdOn"] = local(it->second);
    if (c.last_failure_ms) o["lastFailureOn"] = local(*c.last_failure_ms);
    if (!c.last_failure_content.empty()) o["lastFailureContent"] = c.last_failure_content;
    if (c.last_success_ms) o["lastSuccessOn"] = local(*c.last_success_ms);
    return o;
}

// WebhooksLogDto; configName is the config's name as it is now (the log is read joined with the configs).
json::object docspace_sim::impl::webhook_log_dto(const delivery_entry& d, const webhook_config_state& cfg) const {
    json::object o;
    o["id"] = d.record.id;
    o["configName"] = cfg.name;
    o["trigger"] = d.trigger_flag;
    o["creationTime"] = dotnet_json::utc_seconds(d.created_ms);
    if (!d.last_request_headers.empty()) o["requestHeaders"] = d.last_request_headers;
    if (!d.request_payload.empty()) o["requestPayload"] = d.request_payload;
    if (!d.last_response_payload.empty()) o["responsePayload"] = d.last_response_payload;
    o["status"] = d.record.last_status;
    if (d.delivered_ms) o["delivery"] = dotnet_json::utc_seconds(*d.delivered_ms);
    return o;
}

http::response docspace_sim::impl::get_webhooks(const call& c) {
    const auto admin = webhook_admin(c.user);
    if (!admin) return access_denied(c);
    json::array out;
    for (const auto& [id, cfg] : configs) {
        if (!*admin && cfg.created_by != c.user) continue;
        unsigned status = 0;
        for (auto it = deliveries.rbegin(); it != deliveries.rend(); ++it)
            if (it->second.record.config_id == id && !it->second.record.attempts.empty()) {
                status = it->second.record.last_status;
                break;
            }
        json::object entry;
        entry["configs"] = webhook_config_dto(cfg);
        entry["status"] = status;
        out.push_back(std::move(entry));
    }
    return ok(c, std::move(out));
}

// POST (mode 0), PUT (1) and PUT enable (2): model validation, CheckWebhook (secret policy, URL validation,
// HEAD probe) and then the change.
awaitable<http::response> docspace_sim::impl::post_put_webhook(std::shared_ptr<impl> self, call& c, int mode) {
    config_request in;
    std::optional<http::response> early;
    std::string probe_uri;
    bool probe_ssl = false;
    bool need_probe = true;
    {
        std::lock_guard lock(self->mu);
        boost::system::error_code ec;
        auto v = json::parse(c.req.body(), ec);
        if (ec || !v.is_object()) {
            early = self->bad_argument(c, "The request body is not a JSON object");
        } else {
            const auto& o = v.get_object();
            in.id = as_int(find_ci(o, "id"));
            in.name = string_member(o, "name");
            in.uri = string_member(o, "uri");
            in.secret = string_member(o, "secretKey");
            in.enabled = as_bool(find_ci(o, "enabled")).value_or(false);
            in.ssl = as_bool(find_ci(o, "ssl")).value_or(false);
            in.triggers = as_int(find_ci(o, "triggers")).value_or(0);
            in.target_id = string_member(o, "targetId").value_or("");
            const auto admin = self->webhook_admin(c.user);
            if (!in.name || in.name->empty()) {
                early = self->validation_problem(c, "Name", "The Name field is required.");
            } else if (in.name->size() > 50) {
                early = self->validation_problem(c, "Name",
                                                 "The field Name must be a string with a maximum length of 50.");
            } else if (!in.uri || in.uri->empty()) {
                early = self->validation_problem(c, "Uri", "The Uri field is required.");
            } else if (in.secret && in.secret->size() > 50) {
                early = self->validation_problem(c, "SecretKey",
                                                 "The field SecretKey must be a string with a maximum length of 50.");
            } else if (in.target_id.size() > 255) {
                early = self->validation_problem(c, "TargetId",
                                                 "The field TargetId must be a string with a maximum length of 255.");
            } else if (mode != 0 && !in.id) {
                early = self->validation_problem(c, "Id", "The Id field is required.");
            } else if (mode == 2) {
                auto it = self->configs.find(static_cast<int>(*in.id));
                if (it == self->configs.end()) {
                    early = self->not_found(c, "Not found");
                } else if (!admin || (!*admin && it->second.created_by != c.user)) {
                    early = self->access_denied(c);
                } else if (!in.enabled) {
                    it->second.enabled = false;
                    early = self->ok(c, self->webhook_config_dto(it->second));
                } else {
                    probe_uri = it->second.uri;
                    probe_ssl = it->second.ssl;
                }
            } else if (mode == 0 && !admin) {
                early = self->access_denied(c);
            } else {
                // CheckWebhook
                if (in.triggers != 0 && !admin.value_or(false)) {
                    for (const auto& [name, flag] : all_triggers())
                        if (flag != 0 && (in.triggers & flag) == flag && admin_only(flag)) {
                            early = self->bad_argument(c, "Trigger is not available");
                            break;
                        }
                }
                if (!early && (mode == 0 || (in.secret && !in.secret->empty()))) {
                    if (!in.secret)
                        early = self->error(c, 400, "Value cannot be null. (Parameter 'secret')",
                                            "System.ArgumentNullException", hresult_argument_null);
                    else if (!secret_ok(*in.secret))
                        early = self->bad_argument(c, secret_policy_message);
                }
                probe_uri = *in.uri;
                probe_ssl = in.ssl;
            }
        }
        if (early) need_probe = false;
    }
    if (!need_probe) co_return std::move(*early);

    const std::string problem = co_await probe(self, probe_uri, probe_ssl);

    std::lock_guard lock(self->mu);
    if (!problem.empty()) co_return self->error(c, 400, problem, "System.ArgumentException", hresult_argument);
    if (mode == 0) {
        for (const auto& [id, cfg] : self->configs)
            if (cfg.uri == *in.uri && cfg.name == *in.name)
                co_return self->bad_argument(c, "Webhook with the same name and payload URL already exists");
        webhook_config_state cfg;
        cfg.id = self->next_config_id++;
        cfg.name = *in.name;
        cfg.uri = *in.uri;
        cfg.secret = *in.secret;
        cfg.enabled = in.enabled;
        cfg.ssl = in.ssl;
        cfg.triggers = in.triggers;
        cfg.target_id = in.target_id;
        cfg.created_by = c.user;
        self->config_created_ms[cfg.id] = self->now_s_ms();
        const int id = cfg.id;
        self->configs[id] = std::move(cfg);
        co_return self->ok(c, self->webhook_config_dto(self->configs.at(id)));
    }
    auto it = self->configs.find(static_cast<int>(*in.id));
    if (it == self->configs.end()) co_return self->not_found(c, "Not found");
    // UpdateWebhook checks the caller only now, after CheckWebhook.
    const auto admin = self->webhook_admin(c.user);
    if (!admin || (!*admin && it->second.created_by != c.user)) co_return self->access_denied(c);
    auto& cfg = it->second;
    if (mode == 2) {
        cfg.enabled = true;
        co_return self->ok(c, self->webhook_config_dto(cfg));
    }
    cfg.name = *in.name;
    cfg.uri = *in.uri;
    cfg.enabled = in.enabled;
    cfg.ssl = in.ssl;
    cfg.triggers = in.triggers;
    cfg.target_id = in.target_id;
    if (in.secret && !in.secret->empty()) cfg.secret = *in.secret;
    co_return self->ok(c, self->webhook_config_dto(cfg));
}

http::response docspace_sim::impl::delete_webhook(const call& c, int id) {
    auto it = configs.find(id);
    if (it == configs.end()) return not_found(c, "Not found");
    const auto admin = webhook_admin(c.user);
    if (!admin || (!*admin && it->second.created_by != c.user)) return access_denied(c);
    auto dto = webhook_config_dto(it->second);
    configs.erase(it);
    return ok(c, std::move(dto));
}

http::response docspace_sim::impl::get_webhook_triggers(const call& c) {
    const bool admin = users.at(c.user).admin;
    json::array out;
    for (const auto& [name, flag] : all_triggers()) {
        json::object t;
        t["name"] = name;
        t["id"] = flag;
        t["available"] = admin || !admin_only(flag);
        out.push_back(std::move(t));
    }
    return ok(c, std::move(out));
}

// ReadJournal(tenant, id) finds a row only while its config exists.
http::response docspace_sim::impl::put_webhook_retry(const call& c, int id) {
    if (id == 0) return bad_argument(c, "Id");
    auto it = deliveries.find(id);
    if (it == deliveries.end()) return not_found(c, "Not found");
    auto cfg = configs.find(it->second.record.config_id);
    if (cfg == configs.end()) return not_found(c, "Not found");
    const auto admin = webhook_admin(c.user);
    if (!admin || (!*admin && cfg->second.created_by != c.user)) return access_denied(c);
    const int nid = redeliver_locked(id);
    kick();
    return ok(c, webhook_log_dto(deliveries.at(nid), cfg->second));
}

http::response docspace_sim::impl::put_webhooks_retry(const call& c) {
    boost::system::error_code ec;
    auto v = json::parse(c.req.body(), ec);
    if (ec || !v.is_object()) return bad_argument(c, "The request body is not a JSON object");
    const auto admin = webhook_admin(c.user);
    if (!admin) return access_denied(c);
    json::array out;
    if (auto* ids = find_ci(v.get_object(), "ids"); ids && ids->is_array()) {
        for (const auto& e : ids->get_array()) {
            auto id = as_int(&e);
            if (!id) continue;
            auto it = deliveries.find(static_cast<int>(*id));
            if (it == deliveries.end()) continue;
            auto cfg = configs.find(it->second.record.config_id);
            if (cfg == configs.end() || (!*admin && cfg->second.created_by != c.user)) continue;
            const int nid = redeliver_locked(static_cast<int>(*id));
            out.push_back(webhook_log_dto(deliveries.at(nid), cfg->second));
        }
    }
    kick();
    return ok(c, std::move(out));
}

// WebhooksController.GetWebhooksLogs over DbWorker.GetQueryForJournal: the rows joined with their configs
// (the rows of a deleted config are gone), every filter ANDed, newest first, `total` counted before paging.
// A non-admin's userId is forced to their own, so they see the rows of the configs they created.
http::response docspace_sim::impl::get_webhooks_log(const call& c) {
    const auto admin = webhook_admin(c.user);
    if (!admin) return access_denied(c);

    // Model binding: a value that does not convert is a validation problem.
    std::optional<http::response> invalid;
    auto text = [&](const char* key) -> std::optional<std::string> {
        auto it = c.query.find(key);
        if (it == c.query.end() || it->second.empty()) return std::nullopt;
        return it->second;
    };
    auto number = [&](const char* key) -> std::optional<std::int64_t> {
        auto t = text(key);
        if (!t) return std::nullopt;
        json::value v = json::string(*t);
        auto n = as_int(&v);
        if (!n && !invalid) invalid = validation_problem(c, key, fmt::format("The value '{}' is not valid.", *t));
        return n;
    };
    auto date = [&](const char* key) -> std::optional<std::int64_t> {
        auto t = text(key);
        if (!t) return std::nullopt;
        // ASP.NET binds "...Z", an offset, or no zone, which the log's UTC columns compare as UTC.
        auto ms = clock::parse_iso_ms(*t);
        if (!ms && !invalid) invalid = validation_problem(c, key, fmt::format("The value '{}' is not valid.", *t));
        return ms;
    };
    const auto config_id = number("configId");
    const auto event_id = number("eventId");
    const auto group_status = number("groupStatus");
    const auto trigger = number("trigger");
    const auto count = number("count").value_or(100);
    const auto start = number("startIndex").value_or(0);
    const auto from = date("deliveryFrom");
    const auto to = date("deliveryTo");
    const auto hook_uri = text("hookUri");
    auto user_id = text("userId");
    if (invalid) return std::move(*invalid);
    if (count < 1 || count > 100) return validation_problem(c, "count", "The field Count must be between 1 and 100.");
    if (!*admin) user_id = c.user;

    json::array page;
    std::int64_t total = 0;
    for (auto it = deliveries.rbegin(); it != deliveries.rend(); ++it) {
        const auto& d = it->second;
        auto cfg = configs.find(d.record.config_id);
        if (cfg == configs.end()) continue;
        if (user_id && !iequals_ascii(cfg->second.created_by, *user_id)) continue;
        if (trigger && *trigger != 0 && d.trigger_flag != *trigger) continue;
        // `delivery` is set on success only, so a date bound never keeps an undelivered row.
        if (from && (!d.delivered_ms || *d.delivered_ms < *from)) continue;
        if (to && (!d.delivered_ms || *d.delivered_ms > *to)) continue;
        if (hook_uri && cfg->second.uri != *hook_uri) continue;
        if (config_id && d.record.config_id != *config_id) continue;
        if (event_id && d.record.id != *event_id) continue;
        if (group_status && !group_status_keeps(*group_status, d.record.last_status)) continue;
        if (total++ >= start && static_cast<std::int64_t>(page.size()) < count)
            page.push_back(webhook_log_dto(d, cfg->second));
    }
    return ok_paged(c, std::move(page), total);
}

}  // namespace spacehook::sim
