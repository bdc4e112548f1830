// The configured database, SQLite or PostgreSQL (docs/contract.md §7), opened as the service and the CLI use it.
#ifndef SPACEHOOK_SERVICE_DATABASE_HPP
#define SPACEHOOK_SERVICE_DATABASE_HPP

#include "spacehook/config/settings.hpp"
#include "spacehook/store/admin.hpp"
#include "spacehook/store/queue.hpp"

#include <functional>
#include <memory>

namespace spacehook::service {

// The queue over `d`. On PostgreSQL, `on_jobs` is called (on a thread of the queue's) when any instance's
// transaction created jobs. Throws std::runtime_error naming the database (never its password).
std::unique_ptr<store::queue> open_queue(const config::database_settings& d, std::function<void()> on_jobs = {});

// The operator's calls on `d`; a SQLite file must exist already (serve creates it). Throws std::runtime_error.
std::unique_ptr<store::admin> open_admin(const config::database_settings& d);

}  // namespace spacehook::service

#endif
