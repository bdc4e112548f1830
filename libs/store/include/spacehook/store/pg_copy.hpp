// `spacehook db copy`: moves a SQLite installation (events, jobs, steps and the store's own facts) into a
// PostgreSQL database in one transaction, so that nothing is lost and nothing runs again: jobs keep their state,
// attempts and steps, events keep their identities (a later delivery of a copied event is a duplicate).
#ifndef SPACEHOOK_STORE_PG_COPY_HPP
#define SPACEHOOK_STORE_PG_COPY_HPP

#include <cstdint>
#include <functional>
#include <string>

namespace spacehook::store {

struct copy_options {
    // Into a database that has events already: ids are then the target's own (the copied rows get new ones), and
    // an event the target holds already is left out with its jobs. Without it, a non-empty target is refused.
    bool allow_non_empty = false;
    // Called after every 10000 events copied, and at the end.
    std::function<void(std::int64_t events_done, std::int64_t events_total)> progress;
};

struct copy_counts {
    std::int64_t events = 0, jobs = 0, steps = 0;
    std::int64_t already_there = 0;  // events the target held already (allow_non_empty)
};

// Throws store::error (SQLite) or pg::error; on a throw the target is unchanged.
copy_counts copy_sqlite_to_pg(const std::string& sqlite_path, const std::string& pg_url, const copy_options& o = {});

}  // namespace spacehook::store

#endif
