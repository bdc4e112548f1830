#include "spacehook/notify/http_channel.hpp"

#include "spacehook/http/client.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <fmt/format.h>

namespace spacehook::notify {
namespace {

class http_channel final : public channel {
public:
    explicit http_channel(channel_settings s) : s_(std::move(s)) {}
    const std::string& name() const override { return s_.name; }

    awaitable<send_result> send(const message& m) override {
        if (!client_) {
            // Created on first use, on the executor of the (single) worker thread that sends.
            http::client_options o;
            o.ca_file = s_.ca_file;
            auto ex = co_await asio::this_coro::executor;  // not inside the call: g++ 12 coroutine bug
            client_ = std::make_unique<http::client>(ex, o);
        }
        http::client_request req;
        req.method = boost::beast::http::verb::post;
        req.url = s_.url;
        req.timeout = std::chrono::milliseconds(s_.timeout_ms);
        req.headers = {{"Content-Type", "application/json"}, {"Idempotency-Key", m.idempotency_key}};
        req.body = boost::json::serialize(payload(m));
        auto r = co_await client_->request(std::move(req));
        if (!r) co_return send_result{errc::unavailable, fmt::format("POST failed: {}", r.error().message())};
        auto status = r->status;
        auto detail = fmt::format("HTTP {}", status);
        if (status >= 200 && status < 300) co_return send_result{std::nullopt, detail};
        if (status == 408) co_return send_result{errc::timed_out, detail};
        if (status == 429) co_return send_result{errc::rate_limited, detail};
        if (status >= 500) co_return send_result{errc::unavailable, detail};
        co_return send_result{errc::rejected, detail};
    }

private:
    boost::json::object payload(const message& m) const {
        switch (s_.format) {
        case chat_format::slack:
            return {{"text", m.body.empty() ? "*" + m.subject + "*" : "*" + m.subject + "*\n" + m.body}};
        case chat_format::teams:
            return {{"@type", "MessageCard"},
                    {"@context", "https://schema.org/extensions"},
                    {"summary", m.subject},
                    {"title", m.subject},
                    {"text", m.body}};
        case chat_format::raw: break;
        }
        return {{"subject", m.subject}, {"body", m.body}, {"message_id", m.message_id}, {"idempotency_key", m.idempotency_key}};
    }

    channel_settings s_;
    std::unique_ptr<http::client> client_;
};

}  // namespace

std::unique_ptr<channel> make_http_channel(const channel_settings& s) { return std::make_unique<http_channel>(s); }

}  // namespace spacehook::notify
