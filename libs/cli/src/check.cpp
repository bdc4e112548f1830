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

std::string describe_filter(const rules::rule_filter& f) {
    std::vector<std::string> parts;
    if (f.in_folder) parts.push_back("in_folder " + *f.in_folder);
    if (f.in_room) parts.push_back("in_room " + *f.in_room);
    if (f.title) {
        static constexpr const char* kinds[] = {"prefix", "suffix", "glob", "regex"};
        parts.push_back(fmt::format("title {} \"{}\"{}", kinds[static_cast<int>(f.title->kind)], f.title->pattern,
                                    f.title->case_sensitive ? " (case-sensitive)" : ""));
    }
    return parts.empty() ? "-" : join(parts, " and ");
}

std::string describe_action(const rules::action& a) {
    switch (a.kind) {
    case rules::action_kind::move:
    case rules::action_kind::copy:
        return fmt::format("{} to {} (on conflict {})", rules::to_string(a.kind), a.to_folder, docspace::to_string(a.on_conflict));
    case rules::action_kind::comment: return fmt::format("comment \"{}\"", a.text);
    case rules::action_kind::notify: return fmt::format("notify {}", a.channel);
    }
    return "?";
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
        for (const auto& ac : r.actions) actions.push_back(describe_action(ac));
        out += fmt::format("{:<22} {:<30} {:<40} {}\n", r.name, join(r.on, ","), describe_filter(r.when),
                           join(actions, "; "));
    }
    auto warnings = config::security_warnings(s);
    if (!warnings.empty()) out += "\n";
    for (const auto& w : warnings) out += fmt::format("warning: {}\n", w);
    std::fputs(out.c_str(), stdout);
    return 0;
}

}  // namespace spacehook::cli
