#include "args.hpp"
#include "commands.hpp"
#include "spacehook/config/load.hpp"
#include "spacehook/rules/template.hpp"
#include "spacehook/rules/title_pattern.hpp"

#include <cstdlib>

#include <fmt/format.h>

namespace spacehook::cli {

config::settings load_config(const std::string& file) {
    auto res = config::load_file(file, config::process_env());
    if (!res.ok()) {
        std::string msg = fmt::format("{} has {} problem{}:", file, res.problems.size(), res.problems.size() == 1 ? "" : "s");
        for (const auto& p : res.problems) msg += fmt::format("\n  {}: {}", p.path, p.message);
        throw user_error(msg);
    }
    return std::move(res.value);
}

std::string secret_from(const std::optional<std::string>& value, const std::optional<std::string>& env_name,
                        const std::optional<std::string>& file) {
    int given = (value ? 1 : 0) + (env_name ? 1 : 0) + (file ? 1 : 0);
    if (given > 1) throw usage_error("give the secret once: --secret, --secret-env or --secret-file");
    std::string s;
    if (value) s = *value;
    else if (env_name) {
        const char* v = std::getenv(env_name->c_str());
        if (!v) throw user_error(fmt::format("environment variable {} is not set", *env_name));
        s = v;
    } else if (file) {
        s = read_file(*file);
    } else {
        return {};
    }
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

}  // namespace spacehook::cli
