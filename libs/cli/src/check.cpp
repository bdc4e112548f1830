#include "args.hpp"
#include "commands.hpp"
#include "spacehook/config/load.hpp"
#include "spacehook/http/server.hpp"

#include <cstdio>

#include <fmt/format.h>

namespace spacehook::cli {
namespace {

std::string join(const std::vector<std::string>& v, std::string_view sep) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += sep;
        out += s;
    }
    return out;
}

}  // namespace

int cmd_check(const argv_t& argv) {
    args a(argv, {.with_value = {"config"}});
    auto file = a.required("config");
    auto s = load_config(file);
    if (s.server.tls.enabled()) {
        try {
            http::make_server_tls(s.server.tls.cert_file, s.server.tls.key_file);
        } catch (const std::exception& e) {
            throw user_error(fmt::format("{} has 1 problem:\n  $.server.tls: {}", file, e.what()));
        }
    }
    std::string out = fmt::format("config OK: {} webhook path(s), {} channel(s), {} rule(s), database {}{}\n\n",
                                  s.webhooks.size(), s.channels.size(), s.rules.size(), s.database.display(),
                                  s.server.tls.enabled() ? ", TLS on" : "");
    for (const auto& w : s.webhooks)
        out += fmt::format("webhook {}  ({} secret{})\n", w.path, w.secrets.size(), w.secrets.size() == 1 ? "" : "s");
    for (const auto& c : s.channels) out += fmt::format("channel {}  ({})\n", c.name, notify::to_string(c.type));
    out += fmt::format("\n{:<22} {:<30} {:<40} {}\n", "RULE", "ON", "IF", "DO");
    for (const auto& r : s.rules) {
        std::vector<std::string> actions;
        for (const auto& ac : r.actions) actions.push_back(rules::describe(ac));
        out += fmt::format("{:<22} {:<30} {:<40} {}\n", r.name, join(r.on, ","), rules::describe(r.when),
                           join(actions, "; "));
    }
    auto warnings = config::security_warnings(s);
    if (!warnings.empty()) out += "\n";
    for (const auto& w : warnings) out += fmt::format("warning: {}\n", w);
    std::fputs(out.c_str(), stdout);
    return 0;
}

}  // namespace spacehook::cli
