#include "spacehook/docspace/client.hpp"

#include "spacehook/core/log.hpp"
#include "spacehook/docspace/wire.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/verb.hpp>

#include <algorithm>

namespace spacehook::docspace {
namespace {

using verb = boost::beast::http::verb;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::microseconds;

constexpr milliseconds max_poll_interval{4000};

http::client_options http_options(const client_settings& s) {
    http::client_options o;
    o.ca_file = s.ca_file;
    // Every worker may hold a connection to the portal at once; keep them all rather than reconnecting.
    o.max_idle_per_host = 256;
    return o;
}

// Replaces status/endpoint of a shape error from wire:: (which knows neither).
template <class T>
outcome<T> stamp(outcome<T> o, unsigned status, std::string_view endpoint) {
    if (o) return o;
    api_error e = o.error();
    e.status = status;
    e.endpoint = std::string(endpoint);
    return e;
}

// Replaces every occurrence of `secret` in `text` with "***".
void redact(std::string& text, std::string_view secret) {
    if (secret.empty()) return;
    for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3))
        text.replace(pos, secret.size(), "***");
}

std::string_view fileop_route(fileop_kind k) { return k == fileop_kind::copy ? "copy" : "move"; }
std::string_view fileop_endpoint(fileop_kind k) {
    return k == fileop_kind::copy ? "files.fileops.copy" : "files.fileops.move";
}

}  // namespace

client::client(asio::any_io_executor ex, client_settings settings)
    : ex_(ex), settings_(std::move(settings)), base_(settings_.base_url), http_(ex, http_options(settings_)) {
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
}

void client::close_idle() { http_.close_idle(); }

awaitable<outcome<http::client_response>> client::send(std::string_view endpoint, verb method, std::string path,
                                                       std::string body) {
    http::client_request req;
    req.method = method;
    req.url = base_ + path;
    req.timeout = settings_.timeout;
    req.headers.emplace_back("Authorization", "Bearer " + settings_.api_key);
    req.headers.emplace_back("Accept", "application/json");
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    req.body = std::move(body);

    const auto started = steady::now();
    auto res = co_await http_.request(std::move(req));
    const auto took_ms = std::chrono::duration_cast<milliseconds>(steady::now() - started).count();
    const unsigned status = res ? res->status : 0;
    if (on_response) on_response(endpoint, status);
    log::debug("docspace.request", {{"endpoint", endpoint}, {"status", status}, {"ms", took_ms}});
    if (!res) {
        api_error e;
        e.endpoint = std::string(endpoint);
        e.message = wire::truncate_utf8(res.error().message());
        co_return e;
    }
    // An error page may echo the request (a debugging proxy, a WAF): the API key must not reach the error
    // message, which ends up in jobs.last_error and the log.
    if (res->status >= 300) redact(res->body, settings_.api_key);
    co_return std::move(*res);
}

awaitable<outcome<boost::json::value>> client::call(std::string_view endpoint, verb method, std::string path,
                                                    std::string body) {
    auto res = co_await send(endpoint, method, std::move(path), std::move(body));
    if (!res) co_return res.error();
    co_return wire::unwrap(*res, endpoint, std::chrono::system_clock::now());
}

awaitable<outcome<person>> client::self() {
    auto r = co_await call("people.self", verb::get, "/api/2.0/people/@self");
    if (!r) co_return r.error();
    co_return stamp(wire::to_person(*r), 200, "people.self");
}

awaitable<outcome<person>> client::person_by_id(std::string id) {
    auto r = co_await call("people.get", verb::get, "/api/2.0/people/" + wire::encode_component(id));
    if (!r) co_return r.error();
    co_return stamp(wire::to_person(*r), 200, "people.get");
}

awaitable<outcome<file_info>> client::file(entry_id id) {
    auto r = co_await call("files.file.get", verb::get, "/api/2.0/files/file/" + wire::encode_component(id));
    if (!r) co_return r.error();
    co_return stamp(wire::to_file(*r), 200, "files.file.get");
}

awaitable<outcome<std::vector<file_info>>> client::folder_files(entry_id folder_id, std::string title_filter) {
    auto r = co_await call("files.folder.files", verb::get,
                           "/api/2.0/files/" + wire::encode_component(folder_id) +
                               "?filterValue=" + wire::encode_component(title_filter) + "&count=100");
    if (!r) co_return r.error();
    co_return stamp(wire::to_folder_files(*r), 200, "files.folder.files");
}

awaitable<outcome<std::vector<folder_ref>>> client::folder_path(entry_id folder_id) {
    auto r = co_await call("files.folder.path", verb::get,
                           "/api/2.0/files/folder/" + wire::encode_component(folder_id) + "/path");
    if (!r) co_return r.error();
    co_return stamp(wire::to_folder_path(*r), 200, "files.folder.path");
}

awaitable<outcome<fileop>> client::start_fileop(fileop_kind kind, entry_id file_id, entry_id dest_folder,
                                                conflict on_conflict) {
    const auto endpoint = fileop_endpoint(kind);
    auto r = co_await call(endpoint, verb::put, "/api/2.0/files/fileops/" + std::string(fileop_route(kind)),
                           wire::fileop_body(file_id, dest_folder, on_conflict));
    if (!r) co_return r.error();
    auto ops = stamp(wire::to_fileops(*r), 200, endpoint);
    if (!ops) co_return ops.error();
    if (ops->empty()) {
        api_error e;
        e.status = 200;
        e.endpoint = std::string(endpoint);
        e.message = "unexpected response: no file operation returned";
        co_return e;
    }
    co_return std::move(ops->front());
}

awaitable<outcome<std::optional<fileop>>> client::fileop_status(std::string op_id) {
    auto r = co_await call("files.fileops.status", verb::get, "/api/2.0/files/fileops?id=" + wire::encode_component(op_id));
    if (!r) co_return r.error();
    auto ops = stamp(wire::to_fileops(*r), 200, "files.fileops.status");
    if (!ops) co_return ops.error();
    for (auto& op : *ops)
        if (op.id == op_id) co_return std::optional<fileop>(std::move(op));
    co_return std::optional<fileop>();
}

awaitable<outcome<std::vector<fileop>>> client::my_fileops() {
    auto r = co_await call("files.fileops.list", verb::get, "/api/2.0/files/fileops");
    if (!r) co_return r.error();
    co_return stamp(wire::to_fileops(*r), 200, "files.fileops.list");
}

namespace {
// The estimate's ceiling: poll_interval, kept within 1 ms .. 4 s.
microseconds first_poll_ceiling(milliseconds poll_interval) {
    return std::chrono::duration_cast<microseconds>(std::clamp(poll_interval, milliseconds(1), max_poll_interval));
}
// The estimate's floor: 5 ms, or the ceiling when that is shorter.
microseconds min_first_poll(microseconds ceiling) { return std::min<microseconds>(ceiling, milliseconds(5)); }
}  // namespace

microseconds client::first_poll(milliseconds poll_interval) const {
    const auto ceiling = first_poll_ceiling(poll_interval);
    if (first_poll_.count() == 0) return ceiling;
    return std::clamp(first_poll_, min_first_poll(ceiling), ceiling);
}

awaitable<outcome<fileop_result>> client::await_fileop(fileop op, milliseconds poll_interval, milliseconds deadline,
                                                       bool fresh) {
    const auto until = steady::now() + deadline;
    fileop_result result;
    result.op = std::move(op);

    const auto ceiling = first_poll_ceiling(poll_interval);
    microseconds interval = first_poll(poll_interval);
    bool learn = fresh;  // the first poll of an operation just started, if it gets an answer, teaches the estimate
    asio::steady_timer timer(ex_);
    while (!result.op.finished) {
        const auto now = steady::now();
        if (now >= until) {
            result.timed_out = true;
            co_return result;
        }
        const auto wait = std::min<steady::duration>(interval, until - now);
        timer.expires_after(wait);
        auto [ec] = co_await timer.async_wait(tuple_awaitable);
        if (ec) {
            api_error e;
            e.endpoint = "files.fileops.status";
            e.message = "cancelled while waiting for fileop";
            co_return e;
        }
        const auto waited = std::chrono::duration_cast<microseconds>(wait);
        interval = std::min<microseconds>(interval * 2, max_poll_interval);

        auto status = co_await fileop_status(result.op.id);
        if (!status) {
            if (!status.error().transient()) co_return status.error();
            if (auto ra = status.error().retry_after_ms)  // (a day at most: the deadline bounds the wait anyway)
                interval = std::max<microseconds>(interval, milliseconds(std::min<std::int64_t>(*ra, 86'400'000)));
            learn = false;  // the next answer comes after a wait the estimate did not choose
            continue;
        }
        if (learn) {  // what this operation says about the next one's first poll
            learn = false;
            const bool done = !status->has_value() || (*status)->finished;
            if (!done) missed_first_poll_ = true;
            first_poll_ = done ? std::max(min_first_poll(ceiling), waited * (missed_first_poll_ ? 49 : 45) / 50)
                               : std::min(ceiling, waited * 3 / 2);
        }
        if (!status->has_value()) {
            result.vanished = true;
            co_return result;
        }
        result.op = std::move(**status);
    }
    co_return result;
}

awaitable<outcome<fileop_result>> client::run_fileop(fileop_kind kind, entry_id file_id, entry_id dest_folder,
                                                     conflict on_conflict, milliseconds poll_interval,
                                                     milliseconds deadline) {
    const auto until = steady::now() + deadline;
    auto started = co_await start_fileop(kind, std::move(file_id), std::move(dest_folder), on_conflict);
    if (!started) co_return started.error();
    auto r = co_await await_fileop(std::move(started).value(), poll_interval,
                                   std::chrono::duration_cast<milliseconds>(until - steady::now()), true);
    if (r && r->timed_out) {
        api_error e;
        e.endpoint = "files.fileops.status";
        e.message = "timed out waiting for fileop";
        co_return e;
    }
    co_return r;
}

awaitable<outcome<std::string>> client::set_comment(entry_id file_id, int version, std::string text) {
    auto r = co_await call("files.file.comment", verb::put,
                           "/api/2.0/files/file/" + wire::encode_component(file_id) + "/comment",
                           wire::comment_body(version, text));
    if (!r) co_return r.error();
    co_return stamp(wire::to_string_response(*r), 200, "files.file.comment");
}

awaitable<outcome<std::vector<webhook_config>>> client::list_webhooks() {
    auto r = co_await call("settings.webhook.list", verb::get, "/api/2.0/settings/webhook");
    if (!r) co_return r.error();
    co_return stamp(wire::to_webhook_list(*r), 200, "settings.webhook.list");
}

awaitable<outcome<webhook_config>> client::create_webhook(webhook_spec spec) {
    auto r = co_await call("settings.webhook.create", verb::post, "/api/2.0/settings/webhook", wire::webhook_body(spec));
    if (!r) co_return r.error();
    co_return stamp(wire::to_webhook(*r), 200, "settings.webhook.create");
}

awaitable<outcome<webhook_config>> client::update_webhook(std::int64_t id, webhook_spec spec) {
    auto r = co_await call("settings.webhook.update", verb::put, "/api/2.0/settings/webhook",
                           wire::webhook_body(spec, id));
    if (!r) co_return r.error();
    co_return stamp(wire::to_webhook(*r), 200, "settings.webhook.update");
}

awaitable<outcome<webhook_config>> client::enable_webhook(std::int64_t id, std::string name, std::string uri,
                                                          bool enabled) {
    auto r = co_await call("settings.webhook.enable", verb::put, "/api/2.0/settings/webhook/enable",
                           wire::webhook_enable_body(id, name, uri, enabled));
    if (!r) co_return r.error();
    co_return stamp(wire::to_webhook(*r), 200, "settings.webhook.enable");
}

awaitable<outcome<webhook_config>> client::delete_webhook(std::int64_t id) {
    auto r = co_await call("settings.webhook.delete", verb::delete_, "/api/2.0/settings/webhook/" + std::to_string(id));
    if (!r) co_return r.error();
    co_return stamp(wire::to_webhook(*r), 200, "settings.webhook.delete");
}

awaitable<outcome<std::vector<webhook_trigger>>> client::webhook_triggers() {
    auto r = co_await call("settings.webhook.triggers", verb::get, "/api/2.0/settings/webhook/triggers");
    if (!r) co_return r.error();
    co_return stamp(wire::to_triggers(*r), 200, "settings.webhook.triggers");
}

awaitable<outcome<webhook_log_page>> client::webhook_log(webhook_log_query q) {
    constexpr std::string_view endpoint = "settings.webhooks.log";
    auto res = co_await send(endpoint, verb::get,
                             "/api/2.0/settings/webhooks/log" + wire::webhook_log_query_string(q), {});
    if (!res) co_return res.error();
    // The page's `total` sits beside "response" in the envelope, so this call reads the whole envelope.
    auto envelope = wire::unwrap_envelope(*res, endpoint, std::chrono::system_clock::now());
    if (!envelope) co_return envelope.error();
    co_return stamp(wire::to_webhook_log_page(*envelope), 200, endpoint);
}

}  // namespace spacehook::docspace
