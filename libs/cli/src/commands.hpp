// One function per subcommand; each receives the arguments after its name.
#ifndef SPACEHOOK_CLI_COMMANDS_HPP
#define SPACEHOOK_CLI_COMMANDS_HPP

#include "spacehook/config/settings.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace spacehook::cli {

// Writes `s` to stdout as it is (no newline added).
inline void print(const std::string& s) { std::fputs(s.c_str(), stdout); }

using argv_t = std::vector<std::string>;

struct command {
    const char* name;
    const char* summary;
    const char* usage;  // full help text
    int (*run)(const argv_t&);
};

int cmd_serve(const argv_t&);
int cmd_check(const argv_t&);
int cmd_sign(const argv_t&);
int cmd_jobs(const argv_t&);
int cmd_events(const argv_t&);
int cmd_webhooks(const argv_t&);
int cmd_demo(const argv_t&);
int cmd_healthcheck(const argv_t&);
int cmd_db(const argv_t&);

// Loads and checks FILE; throws user_error listing every problem ("$.path: message").
config::settings load_config(const std::string& file);

// A secret from --secret, --secret-env VAR or --secret-file FILE (trailing newline trimmed).
std::string secret_from(const std::optional<std::string>& value, const std::optional<std::string>& env_name,
                        const std::optional<std::string>& file);

}  // namespace spacehook::cli

#endif
