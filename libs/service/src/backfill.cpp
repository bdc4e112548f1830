#include "spacehook/service/backfill.hpp"

#include "spacehook/core/clock.hpp"
#include "spacehook/core/log.hpp"
#include "spacehook/docspace/client.hpp"
#include "spacehook/metrics/registry.hpp"
#include "spacehook/service/planning.hpp"
#include "spacehook/store/events.hpp"
#include "spacehook/store/queue.hpp"
#include "spacehook/webhook/envelope.hpp"
#include "spacehook/webhook/signature.hpp"
#include "spacehook/worker/pool.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/url/parse.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace spacehook::service {
namespace {

// DocSpace's failure classes in the log's groupStatus bits: 1 not sent (status 0), 8 4xx, 16 5xx, and 4 3xx
// (redirects are not followed, so a 3xx is a failure too). 2 (2xx) is the only success.
constexpr std::int64_t failed_rows = 1 | 4 | 8 | 16;
// Rows per page (DocSpace's maximum), and how many rows each next page re-reads of the previous one, so a
// row moving up the list (an older failure delivered meanwhile leaves the filter) is not stepped over.
constexpr int page_rows = 100;
constexpr int page_overlap = 10;
// A 429 on the log is waited out (Retry-After, at most a minute) this many times per page.
constexpr int max_rate_limited_waits = 3;

// The path of an absolute URL ("https://h:1/a/b?q" -> "/a/b"); "" when it is not one.
std::string url_path(std::string_view uri) {
    auto u = boost::urls::parse_uri(uri);
    return u ? std::string(u->encoded_path()) : std::string();
}

// The configured endpoint a DocSpace webhook's uri delivers to: the one whose path its uri's path ends with
// (a reverse proxy may add a prefix). The longest such path wins.
const config::webhook_endpoint* endpoint_for_uri(const config::settings& s, std::string_view uri) {
    const auto path = url_path(uri);
    const config::webhook_endpoint* best = nullptr;
    for (const auto& ep : s.webhooks)
        if (path.ends_with(ep.path) && (!best || ep.path.size() > best->path.size())) best = &ep;
    return best;
}

const config::webhook_endpoint* endpoint_for_path(const config::settings& s, std::string_view path) {
    for (const auto& ep : s.webhooks)
        if (ep.path == path) return &ep;
    return nullptr;
}

// The x-docspace-signature-256 value in the log row's requestHeaders ({"name": ["value"], ...}); "" when absent
// or unreadable.
std::string logged_signature(std::string_view headers_json) {
    boost::system::error_code ec;
    auto v = boost::json::parse(headers_json, ec);
    if (ec || !v.is_object()) return {};
    for (const auto& kv : v.get_object()) {
        if (!boost::beast::iequals(kv.key(), webhook::signature_header)) continue;
        const auto& val = kv.value();
        if (val.is_string()) return std::string(val.get_string());
        if (val.is_array() && !val.get_array().empty() && val.get_array()[0].is_string())
            return std::string(val.get_array()[0].get_string());
    }
    return {};
}

// The error with what to do about the answers an operator can fix.
std::string describe(const docspace::api_error& e) {
    if (e.status == 401) return e.describe() + " (check docspace.api_key)";
    if (e.status == 403)
        return e.describe() +
               " (the API key's user may not read this: the delivery log needs a DocSpace admin, or the webhook's creator)";
    return e.describe();
}

// A store answer inside a pass: a failure ends the pass, reported as "database: ..." by run().
template <class T>
T must(store::result<T> r) {
    if (!r) throw std::runtime_error(r.error().message);
    return std::move(*r);
}

}  // namespace

struct backfiller::impl {
    asio::any_io_executor ex;
    store::queue& queue;
    metrics::registry* registry;
    docspace::client client;
    std::set<std::int64_t> refusals_logged;  // log ids whose refusal was logged (and counted) already

    impl(asio::any_io_executor e, const config::docspace_settings& ds, store::queue& q, metrics::registry* r)
        : ex(e), queue(q), registry(r), client(e, config::docspace_client(ds)) {
        if (registry) worker::count_docspace_requests(client, *registry);
    }

    // The call, with a 429 waited out (Retry-After) a few times.
    template <class Call>
    auto with_rate_limit(Call call) -> decltype(call()) {
        for (int waits = 0;; ++waits) {
            auto r = co_await call();
            if (r || r.error().status != 429 || waits == max_rate_limited_waits) co_return r;
            const auto wait_ms = std::clamp<std::int64_t>(r.error().retry_after_ms.value_or(1000), 100, 60'000);
            log::warn("backfill.rate_limited", {{"endpoint", r.error().endpoint}, {"wait_ms", wait_ms}});
            asio::steady_timer t(ex, std::chrono::milliseconds(wait_ms));
            co_await t.async_wait(asio::use_awaitable);
        }
    }

    // Our DocSpace webhooks: those whose uri ends with a configured path, and every webhook.id of a stored
    // event. Also sets spacehook_docspace_webhook_enabled and warns about disabled and deleted ones.
    awaitable<docspace::outcome<std::vector<backfill_webhook>>> find_webhooks(const config::settings& s,
                                                                             std::int64_t since_ms) {
        auto listed = co_await with_rate_limit([&] { return client.list_webhooks(); });
        if (!listed) co_return listed.error();
        // Webhooks known only from stored events count while they had events within the horizon; an id from
        // long ago (a webhook deleted and created again) is not reported as deleted forever.
        auto seen_r = co_await queue.webhooks_seen(since_ms);
        const auto seen = must(std::move(seen_r));

        std::vector<backfill_webhook> ours;
        for (const auto& cfg : *listed) {
            const config::webhook_endpoint* ep = endpoint_for_uri(s, cfg.uri);
            if (!ep)
                for (const auto& [id, path] : seen)
                    if (id == std::to_string(cfg.id)) ep = endpoint_for_path(s, path);
            if (ep) ours.push_back({cfg.id, cfg.name, cfg.uri, ep->path, true, cfg.enabled, 0});
        }
        for (const auto& [id, path] : seen) {
            std::int64_t n = 0;
            try {
                n = std::stoll(id);
            } catch (const std::exception&) {
                continue;  // not a DocSpace config id
            }
            if (std::none_of(ours.begin(), ours.end(), [&](const auto& w) { return w.id == n; }))
                ours.push_back({n, "", "", path, false, false, 0});
        }
        for (const auto& w : ours) {
            if (registry)
                registry
                    ->get_gauge("spacehook_docspace_webhook_enabled",
                                "1 while DocSpace lists the webhook as enabled; 0 when it disabled or deleted it.",
                                {{"webhook_id", std::to_string(w.id)}})
                    .set(w.enabled ? 1 : 0);
            if (!w.listed)
                log::warn("docspace.webhook_deleted",
                          {{"webhook_id", w.id},
                           {"advice", "DocSpace no longer lists this webhook to the API key's user: it was deleted (or "
                                      "answered 410), or another user created it and the key is not an admin's. Events "
                                      "reach spacehook only through a listed webhook (spacehook webhooks create)"}});
            else if (!w.enabled)
                log::warn("docspace.webhook_disabled",
                          {{"webhook_id", w.id},
                           {"name", w.name},
                           {"advice", "DocSpace disabled this webhook (3 days without a successful delivery): run "
                                      "spacehook webhooks enable " + std::to_string(w.id)}});
        }
        co_return ours;
    }

    // Why a log row cannot be stored as a delivery of webhook `w`, or its envelope.
    std::variant<webhook::envelope, std::string> check_row(const config::settings& s, const backfill_webhook& w,
                                                           const docspace::webhook_log_row& row) {
        if (row.request_payload.empty()) return std::string("the log row has no payload");
        if (row.request_payload.size() > s.server.max_body_bytes)
            return fmt::format("the payload has {} bytes, more than server.max_body_bytes", row.request_payload.size());
        const auto* ep = endpoint_for_path(s, w.path);
        if (ep && !ep->secrets.empty()) {
            // The log is read with the API key, so it is a trusted source; a signature it shows must still be ours.
            auto sig = logged_signature(row.request_headers);
            if (!sig.empty() && !webhook::verify(ep->secrets, row.request_payload, sig))
                return std::string("the signature logged with it does not match any secret of " + w.path);
        }
        auto parsed = webhook::parse_envelope(row.request_payload);
        if (auto* why = std::get_if<std::string>(&parsed)) return "the payload is not a delivery: " + *why;
        auto& env = std::get<webhook::envelope>(parsed);
        if (env.webhook_id != std::to_string(w.id))
            return fmt::format("the payload names webhook {}, not {}", env.webhook_id.empty() ? "(none)" : env.webhook_id,
                               w.id);
        return std::move(env);
    }

    void refuse(backfill_report& rep, const backfill_webhook& w, std::int64_t log_id, std::string why) {
        ++rep.refused;
        // Logged and counted once per row (0: an entry without a readable id, logged every time).
        if (log_id == 0 || refusals_logged.insert(log_id).second) {
            log::warn("backfill.refused", {{"log_id", log_id}, {"webhook_id", w.id}, {"reason", why}});
            if (registry) events_counter("refused").inc();
            if (refusals_logged.size() > 100'000) refusals_logged.erase(refusals_logged.begin());
        }
        rep.refusals.push_back({log_id, w.id, std::move(why)});
    }

    metrics::counter& events_counter(const char* result) {
        return registry->get_counter("spacehook_backfill_events_total",
                                     "Failed delivery-log rows a backfill pass handled, by outcome.", {{"result", result}});
    }

    void known(backfill_report& rep, int n, bool dry_run) {
        rep.known += n;
        if (registry && !dry_run && n > 0) events_counter("known").inc(n);
    }

    // Reads the webhook's failed rows back to the horizon, then stores the new ones oldest first (jobs of
    // one file run in the order their events were published), 100 to a transaction.
    awaitable<std::optional<std::string>> recover(const config::settings& s, const rules::matcher& m,
                                                  backfill_webhook& w, const backfill_options& o, backfill_report& rep,
                                                  int& created_jobs) {
        std::set<std::int64_t> seen_rows;
        std::vector<std::pair<std::int64_t, store::delivery>> found;  // (log row id, what to store)
        for (std::int64_t start = 0;;) {
            docspace::webhook_log_query q;
            q.config_id = w.id;
            q.group_status = failed_rows;
            q.count = page_rows;
            q.start_index = start;
            auto page = co_await with_rate_limit([&] { return client.webhook_log(q); });
            if (!page) co_return describe(page.error());

            for (auto& why : page->unreadable) refuse(rep, w, 0, "unreadable log entry: " + why);
            bool past_horizon = false;
            for (const auto& row : page->rows) {
                if (row.creation_time_ms != 0 && row.creation_time_ms < o.since_ms) {
                    past_horizon = true;  // newest first: every later row is older still
                    break;
                }
                if (!seen_rows.insert(row.id).second) continue;
                ++w.rows;
                // Not attempted yet: the payload has no event.id until DocSpace's sender sets it to the row id
                // (its queue runs every few seconds). A later pass finds it sent, or delivered.
                if (row.request_headers.empty() && row.status == 0) {
                    ++rep.not_sent;
                    continue;
                }
                auto checked = check_row(s, w, row);
                if (auto* why = std::get_if<std::string>(&checked)) {
                    refuse(rep, w, row.id, std::move(*why));
                    continue;
                }
                const auto& env = std::get<webhook::envelope>(checked);
                auto known_r = co_await queue.event_known(env.webhook_id, env.event_id);
                if (must(std::move(known_r))) {
                    known(rep, 1, o.dry_run);
                    continue;
                }
                found.emplace_back(row.id, delivery_for(m, s, env, row.request_payload, w.path, "backfill", clock::now_ms()));
            }
            const auto read = static_cast<std::int64_t>(page->rows.size() + page->unreadable.size());
            if (past_horizon || read < page_rows || (page->total >= 0 && start + read >= page->total)) break;
            start += page_rows - page_overlap;
        }
        if (o.dry_run) {
            rep.ingested += static_cast<int>(found.size());
            co_return std::nullopt;
        }
        std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (std::size_t at = 0; at < found.size(); at += page_rows) {
            const auto end = std::min(found.size(), at + page_rows);
            std::vector<store::delivery> batch;
            for (auto i = at; i < end; ++i) batch.push_back(found[i].second);
            auto inserted = co_await queue.insert_deliveries(std::move(batch));
            if (!inserted) co_return fmt::format("database: {}", inserted.error().message);
            for (auto i = at; i < end; ++i) {
                const auto& d = found[i].second;
                const auto& r = (*inserted)[i - at];
                created_jobs += r.jobs_created;
                if (r.outcome != store::insert_outcome::accepted) {  // stored meanwhile: DocSpace's late retry, or another pass
                    known(rep, 1, false);
                    continue;
                }
                ++rep.ingested;
                if (registry) events_counter("ingested").inc();
                log::info("backfill.ingested",
                          {{"webhook_id", w.id}, {"log_id", found[i].first}, {"event_id", d.event_id}, {"trigger", d.trigger}});
            }
        }
        co_return std::nullopt;
    }
};

backfiller::backfiller(asio::any_io_executor ex, const config::docspace_settings& docspace, store::queue& queue,
                       metrics::registry* registry)
    : impl_(std::make_unique<impl>(ex, docspace, queue, registry)) {}

backfiller::~backfiller() = default;

awaitable<backfill_report> backfiller::run(const config::settings& s, const rules::matcher& m, backfill_options o) {
    auto& d = *impl_;
    backfill_report rep;
    int created_jobs = 0;
    const auto started = std::chrono::steady_clock::now();
    try {
        auto ours = co_await d.find_webhooks(s, o.since_ms);
        if (!ours) {
            rep.error = describe(ours.error());
        } else {
            rep.webhooks = std::move(*ours);
            std::vector<std::string> errors;  // one webhook's failure does not keep the others from recovering
            for (auto& w : rep.webhooks) {
                if (!w.listed) continue;  // DocSpace does not list it: no log to read
                if (auto err = co_await d.recover(s, m, w, o, rep, created_jobs))
                    errors.push_back(fmt::format("webhook {}: {}", w.id, *err));
            }
            if (!errors.empty()) {
                rep.error = errors.front();
                for (std::size_t i = 1; i < errors.size(); ++i) *rep.error += "; " + errors[i];
            }
        }
    } catch (const std::exception& e) {
        rep.error = fmt::format("database: {}", e.what());
    }
    boost::json::object fields{{"ingested", rep.ingested},
                               {"known", rep.known},
                               {"refused", rep.refused},
                               {"not_sent", rep.not_sent},
                               {"jobs", created_jobs},
                               {"webhooks", rep.webhooks.size()},
                               {"dry_run", o.dry_run},
                               {"ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - started)
                                          .count()}};
    if (rep.error) {
        fields["error"] = *rep.error;
        log::error("backfill.failed", std::move(fields));
    } else {
        log::info("backfill.done", std::move(fields));
    }
    if (d.registry) {
        d.registry
            ->get_counter("spacehook_backfill_runs_total", "Backfill passes over DocSpace's delivery log, by outcome.",
                          {{"result", rep.error ? "error" : "ok"}})
            .inc();
        if (!rep.error)
            d.registry
                ->get_gauge("spacehook_backfill_last_success_timestamp_seconds",
                            "When the last backfill pass that read every webhook's log finished (Unix seconds).")
                .set(static_cast<double>(clock::now_ms()) / 1000.0);
    }
    co_return rep;
}

}  // namespace spacehook::service
