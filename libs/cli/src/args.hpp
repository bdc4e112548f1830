// Minimal argument parsing shared by the subcommands: `--name value`, `--name=value`, boolean `--flag`,
// and positionals. Unknown flags are a usage error (exit 2).
#ifndef SPACEHOOK_CLI_ARGS_HPP
#define SPACEHOOK_CLI_ARGS_HPP

#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace spacehook::cli {

// Thrown for a malformed command line; run() prints it with the command's usage and exits 2.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};
// Thrown for a user error (bad config, missing job); run() prints it and exits 1.
struct user_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct flag_spec {
    std::set<std::string> with_value;  // flags that take a value ("--config")
    std::set<std::string> boolean;     // flags without one ("--json")
    std::set<std::string> repeatable;  // value flags that may appear several times ("--trigger")
};

class args {
public:
    args(const std::vector<std::string>& argv, const flag_spec& spec);
    bool has(const std::string& name) const { return values_.count(name) > 0; }
    std::optional<std::string> get(const std::string& name) const;
    std::vector<std::string> all(const std::string& name) const;
    std::string required(const std::string& name) const;
    const std::vector<std::string>& positional() const { return positional_; }

private:
    std::multimap<std::string, std::string> values_;
    std::vector<std::string> positional_;
};

// Reads a whole file ("-" = stdin); throws user_error when unreadable.
std::string read_file(const std::string& path);

}  // namespace spacehook::cli

#endif
