// The front door's request handling: routes (webhook paths, probes, metrics) and ingestion.
#ifndef SPACEHOOK_SERVICE_INGEST_HPP
#define SPACEHOOK_SERVICE_INGEST_HPP

#include "spacehook/config/settings.hpp"
#include "spacehook/http/server.hpp"
#include "spacehook/metrics/registry.hpp"
#include "spacehook/store/events.hpp"
#include "spacehook/store/queue.hpp"
#include "spacehook/rules/matcher.hpp"
#include "spacehook/webhook/envelope.hpp"
#include "spacehook/webhook/signature.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace spacehook::service {

class admin_ui;
class delivery_history;

// What a delivery is checked and routed against; replaced as a whole on reload.
struct routing {
    std::shared_ptr<const config::settings> settings;
    struct endpoint {
        const config::webhook_endpoint* config;
        std::vector<webhook::hmac_key> keys;  // its secrets, prepared once
    };
    std::unordered_map<std::string, endpoint> endpoints;  // by path
    // Rules whose trigger and payload-only filters match the envelope (stage 1 of rule matching).
    std::shared_ptr<const rules::matcher> matcher;
};

// The routing of a configuration: its endpoints by path with their secrets prepared, and its rules' matcher.
std::shared_ptr<const routing> make_routing(std::shared_ptr<const config::settings> s);

// Metric series the front door updates, looked up once.
struct front_metrics {
    explicit front_metrics(metrics::registry& r);
    metrics::counter& accepted;
    metrics::counter& duplicate;
    metrics::counter& unauthorized;
    metrics::counter& bad_request;
    metrics::counter& too_large;
    metrics::counter& unavailable;
    metrics::histogram& ack_seconds;
};

// The routing in force, swapped whole on reload. A mutex, not std::atomic<std::shared_ptr>: libstdc++ 12's
// atomic shared_ptr unlocks a load with a relaxed store, which ThreadSanitizer (rightly, by the letter of the
// memory model) reports as racing with the next store. One uncontended lock per request costs nothing here.
class routing_slot {
public:
    std::shared_ptr<const routing> load() const {
        std::lock_guard lock(mutex_);
        return current_;
    }
    void store(std::shared_ptr<const routing> r) {
        std::lock_guard lock(mutex_);
        current_.swap(r);
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const routing> current_;
};

struct front_door {
    routing_slot routes;
    store::queue* queue = nullptr;
    metrics::registry* registry = nullptr;
    std::unique_ptr<front_metrics> m;
    std::function<void()> on_jobs_created;       // wakes the workers
    std::function<bool()> workers_ready;         // for /readyz
    delivery_history* history = nullptr;         // duplicates and refusals, for the admin UI
    admin_ui* admin = nullptr;                   // /admin and /admin/...

    awaitable<http::response> handle(http::request& req);

private:
    awaitable<http::response> ingest(http::request& req, const routing& r, const routing::endpoint& route);
    awaitable<http::response> readyz(http::request& req);
};

}  // namespace spacehook::service

#endif
