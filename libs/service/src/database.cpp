#include "spacehook/service/database.hpp"

#include "spacehook/store/pg_queue.hpp"

#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

namespace spacehook::service {

std::unique_ptr<store::queue> open_queue(const config::database_settings& d, std::function<void()> on_jobs) {
    if (!d.postgresql())
        return store::open_sqlite_queue({.path = d.path,
                                         .busy_timeout_ms = d.busy_timeout_ms,
                                         .checkpoint_pages = d.checkpoint_pages,
                                         .checkpoint_limit_pages = 8 * d.checkpoint_pages});
    try {
        return store::open_pg_queue({.url = d.url, .pool = d.pool, .on_jobs = std::move(on_jobs)});
    } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("database {}: {}", d.display(), e.what()));
    }
}

std::unique_ptr<store::admin> open_admin(const config::database_settings& d) {
    try {
        if (d.postgresql()) return store::open_pg_admin(d.url);
        if (!std::filesystem::exists(d.path))
            throw std::runtime_error("it does not exist (has `spacehook serve` run with this config?)");
        return store::open_sqlite_admin(d.path);
    } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("database {}: {}", d.display(), e.what()));
    }
}

}  // namespace spacehook::service
