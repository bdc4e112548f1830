// Schema migrations: migrations/NNNN_name.sql, compiled into the binary, applied in name order inside one
// transaction each and recorded in schema_migrations (docs/contract.md §4).
#ifndef SPACEHOOK_STORE_MIGRATE_HPP
#define SPACEHOOK_STORE_MIGRATE_HPP

#include "spacehook/store/sqlite.hpp"

#include <string>
#include <vector>

namespace spacehook::store {

struct migration {
    std::string name;  // "0001_init.sql"
    std::string sql;
};

const std::vector<migration>& builtin_migrations();

// Applies every migration not yet recorded; returns the names applied now. Throws store::error.
std::vector<std::string> migrate(database& db, const std::vector<migration>& all = builtin_migrations());

}  // namespace spacehook::store

#endif
