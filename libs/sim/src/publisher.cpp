// Webhook publishing and delivery as DocSpace does it (docs/docspace-protocol.md §1-§3):
// WebhookPublisher picks the configs and writes one log row per (event x config); WebhookSender sends each
// row with Polly retries (1, 2, 4, 8, 16 s), re-rendering and re-signing every retry.
#include "impl.hpp"

#include "spacehook/core/log.hpp"
#include "spacehook/sim/dotnet_json.hpp"
#include "spacehook/webhook/signature.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/status.hpp>

#include <cmath>

#include <fmt/format.h>

namespace spacehook::sim {
namespace bh = http::beast_http;

// WebhookPublisher.GetWebhookConfigsAsync + PublishAsync, for a file entity.
void docspace_sim::impl::publish(std::string_view trigger, const std::string& actor, const file_state& f) {
    const auto flag = trigger_flag(trigger);
    json::object payload;  // rendered once: the entity as it is at publish time
    bool have_payload = false;
    const auto create_on = now_s_ms();
    for (const auto& [cid, cfg] : configs) {
        if (!cfg.enabled) continue;
        if (cfg.triggers != 0 && (flag <= 0 || (cfg.triggers & flag) != flag)) continue;
        if (!cfg.target_id.empty() && cfg.target_id != std::to_string(f.id)) continue;
        if (actor != cfg.created_by && access_of(cfg.created_by, f.folder_id) == access::none) continue;
        if (!have_payload) {
            payload = file_entry_payload(f);
            have_payload = true;
        }
        delivery_entry d;
        d.record.id = next_delivery_id++;
        d.record.config_id = cid;
        d.record.config_name = cfg.name;
        d.record.url = cfg.uri;
        d.record.trigger = std::string(trigger);
        d.record.payload_id = std::to_string(f.id);
        d.record.create_by = actor;
        d.record.create_on_ms = create_on;
        d.trigger_flag = flag;
        d.created_ms = now_s_ms();
        auto& b = d.body;
        b.create_on_ms = create_on;
        b.create_by = actor;
        b.trigger = std::string(trigger);
        b.trigger_id = flag;
        b.payload = payload;
        b.webhook_id = cid;
        b.webhook_name = cfg.name;
        b.webhook_url = cfg.uri;
        b.webhook_triggers = trigger_names(cfg.triggers);
        if (!cfg.target_id.empty()) b.target = webhook_target{json::value(f.id), "file"};
        d.request_payload = render(b);  // event.id is still 0, so it is left out
        const int id = d.record.id;
        deliveries.emplace(id, std::move(d));
        delivery_queue.push_back(id);
    }
}

// WebhookPublisher.RetryPublishAsync: a new row with the old request payload; the sender then overwrites
// event.id and clears the retry fields, so only the id changes.
int docspace_sim::impl::redeliver_locked(int id) {
    auto it = deliveries.find(id);
    if (it == deliveries.end()) return 0;
    delivery_entry d;
    d.record = it->second.record;
    d.body = it->second.body;
    d.trigger_flag = it->second.trigger_flag;
    d.request_payload = it->second.request_payload;
    d.record.id = next_delivery_id++;
    d.record.redelivery_of = id;
    d.record.attempts.clear();
    d.record.last_status = 0;
    d.record.delivered = false;
    d.record.done = false;
    d.created_ms = now_s_ms();
    const int nid = d.record.id;
    deliveries.emplace(nid, std::move(d));
    delivery_queue.push_back(nid);
    return nid;
}

void docspace_sim::impl::kick() {
    asio::post(ctx, [self = shared_from_this()] { self->drain(); });
}

// WorkerService: up to max_concurrent_deliveries sends at once, in no particular order.
void docspace_sim::impl::drain() {
    for (;;) {
        int id = 0;
        {
            std::lock_guard lock(mu);
            if (stopped || delivery_queue.empty() || active_deliveries >= opt.max_concurrent_deliveries) return;
            id = delivery_queue.front();
            delivery_queue.pop_front();
        }
        ++active_deliveries;
        auto self = shared_from_this();
        asio::co_spawn(ctx, deliver(self, id), [self](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    log::error("sim.delivery_failed", {{"error", ex.what()}});
                }
            }
            --self->active_deliveries;
            self->drain();
        });
    }
}

namespace {

// The message of the HttpRequestException that EnsureSuccessStatusCode throws.
std::string status_failure_text(unsigned status) {
    return fmt::format("Response status code does not indicate success: {} ({}).", status,
                       std::string(bh::obsolete_reason(static_cast<bh::status>(status))));
}

std::string headers_json(const std::vector<std::pair<std::string, std::string>>& headers) {
    json::object o;
    for (const auto& [k, v] : headers) o[k] = json::array{json::string(v)};
    return dotnet_json::serialize(o);
}

}  // namespace

// WebhookSender.Send for one log row.
awaitable<void> docspace_sim::impl::deliver(std::shared_ptr<impl> self, int id) {
    std::optional<std::int64_t> previous_retry_on;
    std::int64_t request_date = 0;
    std::string previous_error;
    for (int attempt = 0;; ++attempt) {
        http::client_request req;
        std::string request_headers;
        {
            std::lock_guard lock(self->mu);
            auto dit = self->deliveries.find(id);
            if (dit == self->deliveries.end() || self->stopped) co_return;
            auto& d = dit->second;
            auto cit = self->configs.find(d.record.config_id);
            if (cit == self->configs.end()) {
                // The config was deleted since: the row is never sent.
                d.record.done = true;
                co_return;
            }
            const auto& cfg = cit->second;
            if (attempt == 0) request_date = self->now_s_ms();
            webhook_body body = d.body;
            body.event_id = d.record.id;
            if (attempt > 0) {
                body.last_failure_on_ms = previous_retry_on ? *previous_retry_on : request_date;
                body.last_failure_content = previous_error;
                body.last_success_on_ms = cfg.last_success_ms;
                body.retry_count = attempt;
                body.retry_on_ms = self->now_s_ms();
                previous_retry_on = body.retry_on_ms;
            }
            req.method = bh::verb::post;
            req.url = cfg.uri;
            req.body = render(body);
            req.timeout = self->opt.delivery_timeout;
            req.headers = {{"Accept", "*/*"},
                           {std::string(webhook::signature_header), webhook::sign(cfg.secret, req.body)},
                           {"Content-Type", "application/json; charset=utf-8"}};
            request_headers = headers_json({req.headers[0], req.headers[1]});
        }

        const auto sent_at = self->now_ms();
        delivery_attempt a;
        a.body = req.body;
        a.signature = req.headers[1].second;
        a.at_ms = sent_at;
        auto result = co_await self->client().request(req);
        unsigned log_status = 0;
        std::string response_payload;
        if (result) {
            a.status = result->status;
            log_status = a.status;
            response_payload = result->body;
            if (a.status < 200 || a.status > 299) a.error = status_failure_text(a.status);
        } else {
            const auto ec = result.error();
            const bool timed_out = ec == asio::error::timed_out;
            a.error = timed_out ? fmt::format("The request was canceled due to the configured HttpClient.Timeout of "
                                              "{} seconds elapsing.",
                                              std::chrono::duration_cast<std::chrono::seconds>(req.timeout).count())
                                : fmt::format("{} ({})", ec.message(), req.url);
            log_status = timed_out ? 500 : 0;
            response_payload = a.error;
        }
        const bool success = a.status >= 200 && a.status <= 299;
        const bool last = success || attempt >= self->opt.max_retries;
        {
            std::lock_guard lock(self->mu);
            auto dit = self->deliveries.find(id);
            if (dit == self->deliveries.end()) co_return;
            auto& d = dit->second;
            previous_error = a.error;
            // UpdateWebhookJournal: the row now describes this attempt.
            d.request_payload = a.body;
            d.last_request_headers = std::move(request_headers);
            d.record.attempts.push_back(std::move(a));
            d.record.last_status = log_status;
            d.last_response_payload = response_payload;
            auto cit = self->configs.find(d.record.config_id);
            if (success) {
                d.record.delivered = true;
                d.delivered_ms = self->now_s_ms();
                if (cit != self->configs.end()) cit->second.last_success_ms = self->now_s_ms();
            } else if (last && cit != self->configs.end()) {
                cit->second.last_failure_ms = self->now_s_ms();
                cit->second.last_failure_content = previous_error;
                // 410 Gone after the last retry deletes the config.
                if (log_status == 410) self->configs.erase(cit);
            }
            if (last) d.record.done = true;
            if (self->stopped) co_return;
        }
        if (last) co_return;

        // Polly v8 exponential backoff: 1 s * 2^attempt, scaled for tests.
        const auto wait = std::chrono::milliseconds(
            static_cast<std::int64_t>(std::llround(1000.0 * std::pow(2.0, attempt) * self->opt.retry_scale)));
        asio::steady_timer timer(self->ctx);
        timer.expires_after(wait);
        self->waits.insert(&timer);
        auto [ec] = co_await timer.async_wait(tuple_awaitable);
        self->waits.erase(&timer);
        if (ec) {
            std::lock_guard lock(self->mu);
            if (auto dit = self->deliveries.find(id); dit != self->deliveries.end()) dit->second.record.done = true;
            co_return;
        }
    }
}

// WebhooksController.CheckWebhook's URL part: UrlValidator (scheme, https when ssl) then a HEAD that must
// answer 2xx.
awaitable<std::string> docspace_sim::impl::probe(std::shared_ptr<impl> self, std::string uri, bool ssl) {
    if (uri.empty()) co_return std::string("URL is null or empty");
    const auto colon = uri.find("://");
    if (colon == std::string::npos || colon == 0) co_return std::string("Invalid URL format");
    std::string scheme = uri.substr(0, colon);
    for (auto& ch : scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (scheme != "http" && scheme != "https")
        co_return fmt::format("Invalid URL scheme: {}. Only http and https are allowed", scheme);
    if (ssl && scheme != "https") co_return std::string("HTTPS is required");
    if (!self->opt.probe_webhook_uri) co_return std::string();
    http::client_request req;
    req.method = bh::verb::head;
    req.url = uri;
    req.timeout = self->opt.probe_timeout;
    auto result = co_await self->client().request(req);
    if (!result || result->status < 200 || result->status > 299)
        co_return std::string("Webhook URL is not available. HEAD request is not response 200 http status.");
    co_return std::string();
}

}  // namespace spacehook::sim
