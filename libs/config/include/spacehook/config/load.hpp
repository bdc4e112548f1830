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
// bad ids, rules naming unknown channels, every template string and every title filter. Templates and title
// patterns are judged by the library that compiles them (rules::check_template, rules::check_title), once.
load_result load(std::string_view json_text, const env_lookup& env);

// Valid but risky settings, one readable sentence each (`check` prints them, `serve` logs them at start):
// a webhook path without secrets, the DocSpace API key or SMTP credentials sent over cleartext to a host
// that is not loopback.
std::vector<std::string> security_warnings(const settings& s);

// Reads FILE and calls load(); an unreadable file is reported as a problem at path "$".
load_result load_file(const std::string& file, const env_lookup& env);

}  // namespace spacehook::config

#endif
