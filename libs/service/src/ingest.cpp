#include "ingest.hpp"

#include "admin_ui.hpp"

#include "spacehook/service/planning.hpp"

#include "spacehook/core/clock.hpp"
#include "spacehook/core/log.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/webhook/signature.hpp"

#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>

#include <chrono>

namespace spacehook::service {
namespace bh = boost::beast::http;

namespace {

// How long /readyz waits for its probe write: orchestrators time their probes out after a few seconds.
constexpr std::chrono::milliseconds probe_deadline{2000};
constexpr std::string_view deliveries_name = "spacehook_deliveries_total";
constexpr std::string_view deliveries_help = "Webhook deliveries received, by outcome.";

metrics::counter& delivery_counter(metrics::registry& r, const char* result) {
    return r.get_counter(deliveries_name, deliveries_help, {{"result", result}});
}

http::response json_response(const http::request& req, bh::status s, std::string body) {
    auto res = http::make_response(req, s, std::move(body));
    if (req.method() == bh::verb::head) {
        res.body().clear();
        res.content_length(0);
    }
    return res;
}

// A JSON string literal for a one-line reason.
std::string json_quoted(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;
        out += c;
    }
    return out + "\"";
}

std::string_view path_of(std::string_view target) {
    auto q = target.find('?');
    return q == std::string_view::npos ? target : target.substr(0, q);
}
}  // namespace

std::shared_ptr<const routing> make_routing(std::shared_ptr<const config::settings> s) {
    auto r = std::make_shared<routing>();
    r->settings = s;
    for (const auto& ep : s->webhooks) {
        routing::endpoint e{&ep, {}};
        for (const auto& secret : ep.secrets) e.keys.emplace_back(secret);
        r->endpoints.emplace(ep.path, std::move(e));
    }
    r->matcher = std::make_shared<const rules::matcher>(s->rules);
    return r;
}

front_metrics::front_metrics(metrics::registry& r)
    : accepted(delivery_counter(r, "accepted")),
      duplicate(delivery_counter(r, "duplicate")),
      unauthorized(delivery_counter(r, "unauthorized")),
      bad_request(delivery_counter(r, "bad_request")),
      too_large(delivery_counter(r, "too_large")),
      unavailable(delivery_counter(r, "unavailable")),
      ack_seconds(r.get_histogram("spacehook_ack_seconds",
                                  "Time from a delivery's last byte to its answer (accepted and duplicate).")) {}

awaitable<http::response> front_door::handle(http::request& req) {
    auto path = path_of(req.target());
    const bool get_or_head = req.method() == bh::verb::get || req.method() == bh::verb::head;
    auto r = routes.load();
    if (auto it = r->endpoints.find(std::string(path)); it != r->endpoints.end()) {
        if (req.method() == bh::verb::post) co_return co_await ingest(req, *r, it->second);
        // DocSpace probes the URL with HEAD on create, update and enable (docs/docspace-protocol.md §3, "URL probe").
        if (get_or_head) co_return json_response(req, bh::status::ok, R"({"status":"ok"})");
        auto res = json_response(req, bh::status::method_not_allowed, R"({"error":"use POST"})");
        res.set(bh::field::allow, "POST, GET, HEAD");
        co_return res;
    }
    if (admin && (path == "/admin" || path.starts_with("/admin/"))) {
        auto res = co_await admin->handle(req);
        co_return res;
    }
    if (path == "/healthz" && get_or_head) co_return json_response(req, bh::status::ok, R"({"status":"ok"})");
    if (path == "/readyz" && get_or_head) co_return co_await readyz(req);
    if (path == "/metrics" && get_or_head) {
        // The token of the current configuration (a SIGHUP replaces it), compared in constant time.
        const auto& token = r->settings->server.admin_token;
        if (!token.empty() && !webhook::same_token(req[bh::field::authorization], "Bearer " + token))
            co_return json_response(req, bh::status::unauthorized, R"({"error":"admin token required"})");
        auto res = http::make_response(req, bh::status::ok, registry->render(), "text/plain; version=0.0.4; charset=utf-8");
        if (req.method() == bh::verb::head) {  // a HEAD answer carries no body (RFC 9110 9.3.2), as json_response
            res.body().clear();
            res.content_length(0);
        }
        co_return res;
    }
    if (path == "/healthz" || path == "/readyz" || path == "/metrics") {
        auto res = json_response(req, bh::status::method_not_allowed, R"({"error":"use GET"})");
        res.set(bh::field::allow, "GET, HEAD");
        co_return res;
    }
    co_return json_response(req, bh::status::not_found, R"({"error":"not found"})");
}

awaitable<http::response> front_door::ingest(http::request& req, const routing& r, const routing::endpoint& route) {
    const auto started = std::chrono::steady_clock::now();
    const auto& ep = *route.config;
    const std::string& body = req.body();
    if (!ep.secrets.empty()) {
        auto sig = req[webhook::signature_header];
        if (sig.empty() || !webhook::verify(route.keys, body, sig)) {
            m->unauthorized.inc();
            if (history) history->add(delivery_history::refused, clock::now_ms());
            log::warn("delivery.rejected", {{"status", 401},
                                            {"path", ep.path},
                                            {"reason", sig.empty() ? "missing signature header" : "signature mismatch"},
                                            {"bytes", body.size()}});
            co_return json_response(req, bh::status::unauthorized, R"({"error":"invalid signature"})");
        }
    }
    auto parsed = webhook::parse_envelope(body);
    if (auto* reason = std::get_if<std::string>(&parsed)) {
        m->bad_request.inc();
        if (history) history->add(delivery_history::refused, clock::now_ms());
        log::warn("delivery.rejected", {{"status", 400}, {"path", ep.path}, {"reason", *reason}, {"bytes", body.size()}});
        co_return json_response(req, bh::status::bad_request, "{\"error\":" + json_quoted(*reason) + "}");
    }
    auto& env = std::get<webhook::envelope>(parsed);

    auto d = delivery_for(*r.matcher, *r.settings, env, std::move(req.body()), ep.path, "delivery", clock::now_ms());

    const auto event_id = d.event_id;
    const auto stored = co_await queue->insert_delivery(std::move(d));
    if (!stored) {
        // Whatever the failure, DocSpace's retry is the remedy: a write that lands after its deadline makes that
        // retry a duplicate, and one that never lands is made by it.
        m->unavailable.inc();
        log::error("delivery.storage_failed",
                   {{"status", 503}, {"path", ep.path}, {"event_id", event_id}, {"error", stored.error().message}});
        auto res = json_response(req, bh::status::service_unavailable, R"({"error":"storage unavailable"})");
        res.set(bh::field::retry_after, "5");
        co_return res;
    }
    const auto& result = *stored;
    auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    m->ack_seconds.observe(elapsed);
    if (result.outcome == store::insert_outcome::duplicate) {
        m->duplicate.inc();
        if (history) history->add(delivery_history::duplicate, clock::now_ms());
        co_return json_response(req, bh::status::ok, R"({"status":"duplicate"})");
    }
    m->accepted.inc();
    if (result.jobs_created > 0 && on_jobs_created) on_jobs_created();
    co_return json_response(req, bh::status::ok, R"({"status":"accepted"})");
}

awaitable<http::response> front_door::readyz(http::request& req) {
    std::string problem;
    // A real write (an empty transaction commits even on a full disk), through the same queue as deliveries,
    // with a deadline: a stalled fsync makes the service not ready instead of hanging the probe.
    const auto probed = co_await queue->probe_write(probe_deadline);
    if (!probed) {
        // The answer says only up or not (it may reach further than the operators); the log has the why.
        problem = "database not writable";
        log::warn("readyz.not_ready", {{"reason", problem}, {"error", probed.error().message}});
    }
    if (problem.empty() && workers_ready && !workers_ready()) problem = "workers not running";
    if (!problem.empty())
        co_return json_response(req, bh::status::service_unavailable,
                                "{\"status\":\"unavailable\",\"reason\":" + json_quoted(problem) + "}");
    co_return json_response(req, bh::status::ok, R"({"status":"ready"})");
}

}  // namespace spacehook::service
