// The running service: HTTP front end (ingestion, probes, metrics), the database writer and the worker
// pool, wired together. `spacehook serve` is an app plus signal handling; integration tests run an app
// in-process on 127.0.0.1:0.
#ifndef SPACEHOOK_SERVICE_APP_HPP
#define SPACEHOOK_SERVICE_APP_HPP

#include "spacehook/config/settings.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace spacehook::service {

struct app_options {
    bool run_workers = true;      // false: ingestion only (benchmarks of the front door, tests)
    bool take_instance_lock = true;
};

class app {
public:
    // Opens the database (applying migrations), takes the instance lock (<database>.lock: one serve per
    // database), releases leases left by a previous process, binds the listen address and starts the I/O
    // threads and workers. Throws std::runtime_error with a readable message on any start-up failure.
    app(config::settings settings, app_options options = {});
    ~app();  // stop() + wait()
    app(const app&) = delete;
    app& operator=(const app&) = delete;

    std::uint16_t port() const;

    // Graceful stop: no new connections, in-flight requests and their commits finish, workers get
    // workers.shutdown_grace_ms to finish running steps, then leases are released. Returns at once.
    void stop();
    // Blocks until stop() completed and every thread ended; the database is closed after it.
    void wait();

    // Applies a new configuration (SIGHUP): webhooks and secrets, rules, channels, the DocSpace connection
    // and backfill, retries and leases, retention, workers.shutdown_grace_ms, and the TLS certificate
    // files (re-read). Refused as a whole (the reasons returned, nothing applied) when server.listen or
    // database changes or TLS is switched on or off. Settings read once at start (server limits and
    // timeouts, server.threads, workers.concurrency, database.busy_timeout_ms) keep their old value and
    // are logged as serve.reload_needs_restart. Returns an empty list on success.
    std::vector<std::string> reload(config::settings next);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace spacehook::service

#endif
