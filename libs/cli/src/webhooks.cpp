// `spacehook webhooks ...`: the portal's webhook configurations (recipe 003) through
// /api/2.0/settings/webhook, with DocSpace's 400s turned into advice.
#include "args.hpp"
#include "commands.hpp"
#include "db_commands.hpp"
#include "spacehook/docspace/client.hpp"
#include "spacehook/webhook/triggers.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdio>

#include <fmt/format.h>

namespace spacehook::cli {
namespace json = boost::json;
namespace {


// Runs one client call to completion on a private io_context.
template <class Fn>
auto call(const config::settings& s, Fn fn) {
    asio::io_context io{1};
    docspace::client client(io.get_executor(), config::docspace_client(s.docspace));
    auto fut = asio::co_spawn(io, fn(client), asio::use_future);
    io.run();
    auto r = fut.get();
    if (!r) {
        const auto& e = r.error();
        std::string advice;
        const auto& m = e.message;
        if (e.status == 400 && m.find("already exists") != std::string::npos)
            advice = " (a webhook with this name and URL exists: pick another name, or `webhooks update`)";
        else if (e.status == 400 && (m.find("HEAD") != std::string::npos || m.find("vailable") != std::string::npos))
            advice = " (DocSpace probes the URL with HEAD and needs a 2xx within 10 s: is spacehook reachable there? "
                     "Private and loopback addresses are refused by default)";
        else if (e.status == 400 && (m.find("assword") != std::string::npos || m.find("ecret") != std::string::npos))
            advice = " (the secret must be 8 to 30 printable ASCII characters and meet the portal's password policy)";
        else if (e.status == 400 && m.find("HTTPS") != std::string::npos)
            advice = " (with --ssl the URI must be https://; use --no-ssl for http)";
        else if (e.status == 401 || e.status == 403)
            advice = " (check docspace.api_key: managing webhooks needs a full-access key)";
        throw user_error(e.status ? fmt::format("DocSpace answered {}: {}{}", e.status, m, advice)
                                  : fmt::format("cannot reach DocSpace: {}", m));
    }
    return std::move(r.value());
}

json::object config_json(const docspace::webhook_config& c) {
    json::array trig;
    for (const auto& n : webhook::trigger_names(c.triggers)) trig.emplace_back(n);
    return {{"id", c.id},
            {"name", c.name},
            {"uri", c.uri},
            {"enabled", c.enabled},
            {"ssl", c.ssl},
            {"triggers", std::move(trig)},
            {"target_id", c.target_id},
            {"last_status", c.last_status},
            {"last_success_on", c.last_success_on},
            {"last_failure_on", c.last_failure_on}};
}

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
    return out;
}

void print_config(const args& a, const docspace::webhook_config& c, const char* verb) {
    if (a.has("json")) return print(json::serialize(config_json(c)) + "\n");
    print(fmt::format("webhook {} {}: \"{}\" -> {} ({}, triggers {})\n", c.id, verb, c.name, c.uri,
                      c.enabled ? "enabled" : "disabled", join(webhook::trigger_names(c.triggers))));
}

// The spec for create/update from the flags; `existing` fills what update leaves out.
docspace::webhook_spec spec_from(const args& a, const docspace::webhook_config* existing) {
    docspace::webhook_spec s;
    if (existing) {
        s.name = existing->name;
        s.uri = existing->uri;
        s.enabled = existing->enabled;
        s.ssl = existing->ssl;
        s.triggers = existing->triggers;
        s.target_id = existing->target_id;
    }
    if (auto v = a.get("name")) s.name = *v;
    if (auto v = a.get("uri")) s.uri = *v;
    if (a.has("ssl") && a.has("no-ssl")) throw usage_error("--ssl and --no-ssl exclude each other");
    if (a.has("ssl")) s.ssl = true;
    if (a.has("no-ssl")) s.ssl = false;
    if (a.has("disabled")) s.enabled = false;
    if (auto v = a.get("target-id")) s.target_id = *v;
    auto names = a.all("trigger");
    if (!names.empty()) {
        auto mask = webhook::trigger_mask(names);
        if (!mask) throw usage_error(fmt::format("unknown trigger in {} (see `spacehook webhooks triggers`)", join(names)));
        s.triggers = *mask;
    } else if (!existing) {
        throw usage_error("--trigger is required (a name such as file.uploaded, repeatable, or All)");
    }
    s.secret = secret_from(a.get("secret"), a.get("secret-env"), a.get("secret-file"));
    if (!existing && s.secret.empty()) throw usage_error("a secret is required: --secret, --secret-env or --secret-file");
    if (!s.secret.empty() && (s.secret.size() < 8 || s.secret.size() > 30))
        throw user_error("the secret must be 8 to 30 printable ASCII characters (DocSpace's rule)");
    if (s.name.empty() || s.uri.empty()) throw usage_error("--name and --uri are required");
    return s;
}

}  // namespace

int cmd_webhooks(const argv_t& argv) {
    args a(argv, {.with_value = {"config", "name", "uri", "secret", "secret-env", "secret-file", "target-id"},
                  .boolean = {"json", "ssl", "no-ssl", "disabled"},
                  .repeatable = {"trigger"}});
    if (a.positional().empty())
        throw usage_error("which subcommand: create, list, update, enable, disable, delete or triggers?");
    const auto& sub = a.positional()[0];
    auto settings = load_config(a.required("config"));
    if (settings.docspace.base_url.empty()) throw user_error("the config has no docspace.base_url");
    auto need_id = [&]() {
        if (a.positional().size() != 2) throw usage_error(fmt::format("webhooks {} takes one webhook ID", sub));
        return parse_id(a.positional()[1], "webhook ID");
    };
    if (sub == "triggers") {
        auto list = call(settings, [](docspace::client& c) { return c.webhook_triggers(); });
        if (a.has("json")) {
            json::array arr;
            for (const auto& t : list) arr.push_back({{"name", t.name}, {"id", t.id}, {"available", t.available}});
            print(json::serialize(arr) + "\n");
            return 0;
        }
        std::vector<std::vector<std::string>> rows;
        for (const auto& t : list) rows.push_back({t.name, std::to_string(t.id), t.available ? "yes" : "no"});
        print(format_table({"TRIGGER", "BIT", "AVAILABLE"}, rows));
        return 0;
    }
    if (sub == "list") {
        auto list = call(settings, [](docspace::client& c) { return c.list_webhooks(); });
        if (a.has("json")) {
            json::array arr;
            for (const auto& c : list) arr.push_back(config_json(c));
            print(json::serialize(arr) + "\n");
            return 0;
        }
        std::vector<std::vector<std::string>> rows;
        for (const auto& c : list)
            rows.push_back({std::to_string(c.id), c.name, c.uri, c.enabled ? "yes" : "no", join(webhook::trigger_names(c.triggers)),
                            c.last_status ? std::to_string(c.last_status) : "-"});
        print(format_table({"ID", "NAME", "URI", "ENABLED", "TRIGGERS", "LAST STATUS"}, rows));
        // DocSpace disables a webhook after 3 days without a successful delivery and tells nobody.
        for (const auto& c : list)
            if (!c.enabled)
                print(fmt::format("webhook {} is disabled: DocSpace sends it nothing (last failure {}); "
                                  "`spacehook webhooks enable {}` turns it on again\n",
                                  c.id, c.last_failure_on.empty() ? "unknown" : c.last_failure_on, c.id));
        return 0;
    }
    if (sub == "create") {
        auto spec = spec_from(a, nullptr);
        auto c = call(settings, [spec](docspace::client& cl) { return cl.create_webhook(spec); });
        print_config(a, c, "created");
        return 0;
    }
    auto find = [&](std::int64_t id) {
        auto list = call(settings, [](docspace::client& c) { return c.list_webhooks(); });
        for (const auto& c : list)
            if (c.id == id) return c;
        throw user_error(fmt::format("no webhook {} on the portal (see `spacehook webhooks list`)", id));
    };
    if (sub == "update") {
        auto id = need_id();
        auto existing = find(id);
        auto spec = spec_from(a, &existing);
        auto c = call(settings, [id, spec](docspace::client& cl) { return cl.update_webhook(id, spec); });
        print_config(a, c, "updated");
        return 0;
    }
    if (sub == "enable" || sub == "disable") {
        auto id = need_id();
        auto existing = find(id);
        bool on = sub == "enable";
        auto c = call(settings, [id, existing, on](docspace::client& cl) {
            return cl.enable_webhook(id, existing.name, existing.uri, on);
        });
        print_config(a, c, on ? "enabled" : "disabled");
        return 0;
    }
    if (sub == "delete") {
        auto id = need_id();
        auto c = call(settings, [id](docspace::client& cl) { return cl.delete_webhook(id); });
        print_config(a, c, "deleted");
        return 0;
    }
    throw usage_error(fmt::format("unknown webhooks subcommand \"{}\"", sub));
}

}  // namespace spacehook::cli
