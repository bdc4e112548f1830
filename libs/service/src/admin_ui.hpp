// The admin web UI and its JSON API under /admin (docs/admin-ui.md, contract §8): sign-in with
// server.admin_token to a session cookie, CSRF tokens on state changes, pages served from files compiled into
// the binary, and the store's operator calls (store::admin) run on a thread of their own, never on an I/O
// thread.
#ifndef SPACEHOOK_SERVICE_ADMIN_UI_HPP
#define SPACEHOOK_SERVICE_ADMIN_UI_HPP

#include "ingest.hpp"
#include "spacehook/service/backfill.hpp"

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace spacehook::service {

// Duplicate and refused deliveries by minute for the last day, this process only: they are stored nowhere else.
// The overview charts them beside the database's count of accepted events.
class delivery_history {
public:
    enum kind { duplicate = 0, refused = 1 };
    void add(kind k, std::int64_t now_ms);
    // Counts of each kind in `buckets` buckets of `bucket_ms` (a multiple of a minute) ending at `now_ms`.
    std::array<std::vector<std::int64_t>, 2> series(std::int64_t now_ms, std::int64_t bucket_ms, int buckets) const;

private:
    static constexpr std::size_t minutes = 24 * 60;
    struct minute {
        std::int64_t index = -1;  // Unix minute this slot holds
        std::array<std::int64_t, 2> n{};
    };
    mutable std::mutex mutex_;
    std::array<minute, minutes> ring_{};
};

// The last backfill pass, for the overview.
struct backfill_snapshot {
    std::int64_t at = 0;
    backfill_report report;
};

class backfill_status {
public:
    void set(backfill_snapshot s) {
        std::lock_guard lock(mutex_);
        last_ = std::move(s);
    }
    std::optional<backfill_snapshot> get() const {
        std::lock_guard lock(mutex_);
        return last_;
    }

private:
    mutable std::mutex mutex_;
    std::optional<backfill_snapshot> last_;
};

namespace admin_detail {
struct asset {
    std::string_view name;  // file name under libs/service/admin/
    std::string_view body;
};
const std::vector<asset>& assets();
}  // namespace admin_detail

class admin_ui {
public:
    struct wiring {
        const routing_slot* routes = nullptr;  // the configuration in force (token, rules, webhooks)
        const delivery_history* history = nullptr;
        const backfill_status* backfill = nullptr;
        std::function<void()> wake_workers;  // after a retry or replay queued jobs
        bool tls = false;                    // the cookie gets Secure
    };
    explicit admin_ui(wiring w);
    ~admin_ui();
    admin_ui(const admin_ui&) = delete;
    admin_ui& operator=(const admin_ui&) = delete;

    // A request whose path is /admin or starts with /admin/.
    awaitable<http::response> handle(http::request& req);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace spacehook::service

#endif
