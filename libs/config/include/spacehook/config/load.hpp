// Loading and checking the JSON configuration (docs/contract.md §2).
#ifndef SPACEHOOK_CONFIG_LOAD_HPP
#define SPACEHOOK_CONFIG_LOAD_HPP

#include "spacehook/config/settings.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spacehook::config {

// One configuration error, located by its JSON path ("$.rules[1].do[0].move.to_folder").
struct problem {
    std::string path;
    std::string message;
};

struct load_result {
    settings value;                // meaningful only when problems is empty
    std::vector<problem> problems; // every problem found, not just the first
    bool ok() const { return problems.empty(); }
};

using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;

// The process environment (getenv).
env_lookup process_env();

// Parses JSON text (comments allowed), expands ${VAR} in every string (a missing variable is a problem;
// "$${" escapes a literal "${"), maps it onto settings and validates it: unknown keys, wrong types,
// bad ids, rules naming unknown channels, `template_check` on every template string and `title_check` on every
// title filter. The checkers belong to the library that compiles what they check (rules::check_template,
// rules::check_title); each returns an error message, or nullopt, and may be empty (no such check).
using template_checker = std::function<std::optional<std::string>(std::string_view tmpl)>;
using title_checker = std::function<std::optional<std::string>(const title_filter& filter)>;
load_result load(std::string_view json_text, const env_lookup& env, const template_checker& template_check = {},
                 const title_checker& title_check = {});

// Valid but risky settings, one readable sentence each (`check` prints them, `serve` logs them at start):
// a webhook path without secrets, the DocSpace API key or SMTP credentials sent over cleartext to a host
// that is not loopback.
std::vector<std::string> security_warnings(const settings& s);

// Reads FILE and calls load(); an unreadable file is reported as a problem at path "$".
load_result load_file(const std::string& file, const env_lookup& env, const template_checker& template_check = {},
                      const title_checker& title_check = {});

}  // namespace spacehook::config

#endif
