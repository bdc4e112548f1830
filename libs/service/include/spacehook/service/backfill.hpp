// Recovery of missed deliveries from DocSpace's delivery log (docs/backfill.md). DocSpace gives up on a
// delivery after about 31 s, but keeps the exact body of every delivery in its log. A pass finds our
// webhooks there, pages their failed rows (newest first, back to a horizon) and stores each row like a
// delivery: the same validation, the same key (webhook.id + event.id), the same jobs, events.source =
// 'backfill'. Rows that are already stored are "known", which makes the races with DocSpace's own late
// retries and with an overlapping pass harmless.
//
// `spacehook serve` runs a pass at start-up and every docspace.backfill.interval; `spacehook events
// backfill` runs one by hand.
#ifndef SPACEHOOK_SERVICE_BACKFILL_HPP
#define SPACEHOOK_SERVICE_BACKFILL_HPP

#include "spacehook/config/settings.hpp"
#include "spacehook/core/asio.hpp"
#include "spacehook/rules/matcher.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace spacehook::metrics {
class registry;
}
namespace spacehook::store {
class queue;
}

namespace spacehook::service {

// A DocSpace webhook the pass counts as ours.
struct backfill_webhook {
    std::int64_t id = 0;
    std::string name, uri;
    std::string path;      // the webhooks[].path its deliveries arrive on
    bool listed = false;   // false: known from stored events only, DocSpace no longer lists it (deleted)
    bool enabled = false;  // as DocSpace lists it
    int rows = 0;          // failed log rows read within the horizon
};

struct backfill_refusal {
    std::int64_t log_id = 0;  // the log row's id
    std::int64_t webhook_id = 0;
    std::string reason;
};

struct backfill_report {
    std::vector<backfill_webhook> webhooks;
    int ingested = 0;  // stored now (with their jobs); in a dry run: would be
    int known = 0;     // already stored
    int refused = 0;
    int not_sent = 0;  // rows DocSpace has not attempted yet (no event.id in their payload): left for later
    std::vector<backfill_refusal> refusals;
    std::optional<std::string> error;  // the pass could not finish: the log or the database failed
};

struct backfill_options {
    std::int64_t since_ms = 0;  // rows created before this are left alone
    bool dry_run = false;       // read and classify only; store nothing
};

class backfiller {
public:
    // Runs its DocSpace requests on `ex`, which must be single-threaded. `registry` may be null (the CLI):
    // otherwise the pass updates spacehook_backfill_* and spacehook_docspace_webhook_enabled.
    backfiller(asio::any_io_executor ex, const config::docspace_settings& docspace, store::queue& queue,
               metrics::registry* registry);
    ~backfiller();
    backfiller(const backfiller&) = delete;
    backfiller& operator=(const backfiller&) = delete;

    // One pass. Never throws for what DocSpace or the database answer: that ends up in report.error.
    awaitable<backfill_report> run(const config::settings& s, const rules::matcher& m, backfill_options o);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace spacehook::service

#endif
