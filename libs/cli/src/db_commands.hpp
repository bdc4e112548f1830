// Shared by `jobs` and `events`: open the configured database the way a second process should (short
// transactions), and print tables.
#ifndef SPACEHOOK_CLI_DB_COMMANDS_HPP
#define SPACEHOOK_CLI_DB_COMMANDS_HPP

#include "spacehook/config/settings.hpp"
#include "spacehook/store/admin.hpp"

#include <memory>
#include <string>
#include <vector>

namespace spacehook::cli {

// The configured database (SQLite, which must exist, or PostgreSQL) for the operator's commands; applies pending
// migrations. Throws user_error.
std::unique_ptr<store::admin> open_database(const config::settings& s);

// Left-aligned columns sized to their content.
std::string format_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

// "30d", "12h" ago from now, in Unix ms; throws usage_error when malformed.
std::int64_t since_to_ms(const std::string& duration, const char* flag);

std::int64_t parse_id(const std::string& text, const char* what);

}  // namespace spacehook::cli

#endif
