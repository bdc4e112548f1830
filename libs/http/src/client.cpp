#include "spacehook/http/client.hpp"

#include "spacehook/core/log.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cerrno>
#include <deque>
#include <map>
#include <optional>
#include <variant>

#include <fmt/format.h>

namespace spacehook::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

constexpr std::uint32_t max_header_bytes = 64 * 1024;

// Where a request goes, from its absolute URL.
struct target {
    bool tls = false;
    bool ip_literal = false;
    std::string host;         // without IPv6 brackets, percent-decoded
    std::string port;         // numeric
    std::uint16_t port_number = 0;
    std::string host_header;  // host[:port] as sent in Host
    std::string path_query;   // origin-form request target
    std::string pool_key;     // scheme://host:port
};

error_code parse_target(std::string_view url, target& t) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed) return parsed.error();
    const auto& u = *parsed;
    if (u.scheme_id() == boost::urls::scheme::https) {
        t.tls = true;
    } else if (u.scheme_id() != boost::urls::scheme::http) {
        return asio::error::make_error_code(asio::error::operation_not_supported);
    }
    if (!u.has_authority() || u.encoded_host().empty()) return asio::error::make_error_code(asio::error::invalid_argument);
    t.host = u.host_address();
    const auto ht = u.host_type();
    t.ip_literal = ht == boost::urls::host_type::ipv4 || ht == boost::urls::host_type::ipv6;
    const std::string default_port = t.tls ? "443" : "80";
    t.port = u.has_port() && !u.port().empty() ? std::string(u.port()) : default_port;
    if (t.port.size() > 5 || std::stoul(t.port) > 65535 || std::stoul(t.port) == 0)
        return asio::error::make_error_code(asio::error::invalid_argument);
    t.port_number = static_cast<std::uint16_t>(std::stoul(t.port));
    t.host_header = std::string(u.encoded_host_and_port());
    if (u.has_port() && (u.port().empty() || u.port() == default_port)) t.host_header = std::string(u.encoded_host());
    t.path_query = std::string(u.encoded_target());
    if (t.path_query.empty()) t.path_query.push_back('/');  // not = "/": a GCC 12 -Wstringop-overflow false positive
    t.pool_key = fmt::format("{}://{}|{}", t.tls ? "https" : "http", t.host, t.port);
    return {};
}

// One TCP (and maybe TLS) connection with its read buffer, owned by one request at a time or by the pool.
struct connection {
    std::optional<beast::tcp_stream> plain;
    std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
    beast::flat_buffer buffer;
    steady::time_point idle_since{};

    beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
};

// A pooled connection is usable when the peer has neither closed it nor sent anything unsolicited (a TLS
// close_notify, a stray response): there is no pipelining, so any pending byte means it is finished.
bool looks_alive(connection& c) {
    auto& sock = c.lowest().socket();
    if (!sock.is_open() || c.buffer.size() != 0) return false;
    char byte = 0;
    const auto n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

bool is_idempotent(bhttp::verb v) {
    return v == bhttp::verb::get || v == bhttp::verb::head || v == bhttp::verb::put || v == bhttp::verb::delete_;
}

// Failures that mean "the peer had already given up on this keep-alive connection".
bool is_stale_error(const error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe || ec == asio::error::connection_aborted || ec == ssl::error::stream_truncated;
}

error_code normalise(error_code ec) {
    if (ec == beast::error::timeout) return asio::error::make_error_code(asio::error::timed_out);
    return ec;
}

// Shared by the client object and every request in flight, so a request that outlives the client (its
// caller dropped it mid-flight) still finds its pool and TLS context.
struct pool_state {
    asio::any_io_executor ex;
    client_options opts;
    std::unique_ptr<ssl::context> tls;  // made on the first https request (loading the CA store takes time)
    error_code tls_error;               // ca_file could not be loaded: every https request fails with this
    std::map<std::string, std::deque<std::unique_ptr<connection>>> idle;

    pool_state(asio::any_io_executor e, client_options o) : ex(std::move(e)), opts(std::move(o)) {}

    // The TLS context, or null with tls_error set.
    ssl::context* tls_context() {
        if (tls || tls_error) return tls.get();
        auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
        ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
        error_code ignored;  // a machine without a system store can still trust ca_file
        ctx->set_default_verify_paths(ignored);
        if (!opts.ca_file.empty()) {
            ctx->load_verify_file(opts.ca_file, tls_error);
            if (tls_error) {
                log::error("http.client.ca_file_failed", {{"path", opts.ca_file}, {"error", tls_error.message()}});
                return nullptr;
            }
        }
        tls = std::move(ctx);
        return tls.get();
    }

    void prune(steady::time_point now) {
        for (auto it = idle.begin(); it != idle.end();) {
            auto& q = it->second;
            while (!q.empty() && now - q.front()->idle_since >= opts.idle_timeout) q.pop_front();
            it = q.empty() ? idle.erase(it) : std::next(it);
        }
    }

    // The most recently used live connection for `key`, or null.
    std::unique_ptr<connection> checkout(const std::string& key) {
        prune(steady::now());
        auto it = idle.find(key);
        if (it == idle.end()) return nullptr;
        auto& q = it->second;
        std::unique_ptr<connection> found;
        while (!q.empty() && !found) {
            auto c = std::move(q.back());
            q.pop_back();
            if (looks_alive(*c)) found = std::move(c);
        }
        if (q.empty()) idle.erase(it);
        return found;
    }

    void checkin(const std::string& key, std::unique_ptr<connection> c) {
        if (opts.max_idle_per_host == 0) return;
        c->lowest().expires_never();
        c->idle_since = steady::now();
        auto& q = idle[key];
        q.push_back(std::move(c));
        while (q.size() > opts.max_idle_per_host) q.pop_front();
    }
};

using connect_result = std::pair<error_code, std::unique_ptr<connection>>;

// Resolves, connects and (for https) handshakes, all before `deadline`.
awaitable<connect_result> open_connection(std::shared_ptr<pool_state> st, const target& t, steady::time_point deadline) {
    std::vector<tcp::endpoint> endpoints;
    if (t.ip_literal) {
        error_code ec;
        auto addr = asio::ip::make_address(t.host, ec);
        if (ec) co_return connect_result{ec, nullptr};
        endpoints.emplace_back(addr, t.port_number);
    } else {
        tcp::resolver resolver(st->ex);
        asio::steady_timer timer(st->ex);
        timer.expires_at(deadline);
        auto raced = co_await (resolver.async_resolve(t.host, t.port, tuple_awaitable) || timer.async_wait(tuple_awaitable));
        if (raced.index() == 1) co_return connect_result{asio::error::make_error_code(asio::error::timed_out), nullptr};
        auto [ec, results] = std::get<0>(std::move(raced));
        if (ec) co_return connect_result{ec, nullptr};
        for (const auto& r : results) endpoints.push_back(r.endpoint());
    }

    auto conn = std::make_unique<connection>();
    if (t.tls) {
        conn->secure.emplace(st->ex, *st->tls);
    } else {
        conn->plain.emplace(st->ex);
    }
    auto& low = conn->lowest();
    low.expires_at(deadline);
    auto [cec, ep] = co_await low.async_connect(endpoints, tuple_awaitable);
    if (cec) co_return connect_result{normalise(cec), nullptr};
    error_code ignored;
    low.socket().set_option(tcp::no_delay(true), ignored);

    if (t.tls) {
        auto& s = *conn->secure;
        if (!t.ip_literal && !SSL_set_tlsext_host_name(s.native_handle(), t.host.c_str())) {
            co_return connect_result{error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()),
                                     nullptr};
        }
        if (st->opts.verify_peer) {
            s.set_verify_mode(ssl::verify_peer);
            s.set_verify_callback(ssl::host_name_verification(t.host));
        } else {
            s.set_verify_mode(ssl::verify_none);
        }
        low.expires_at(deadline);
        auto [hec] = co_await s.async_handshake(ssl::stream_base::client, tuple_awaitable);
        if (hec) co_return connect_result{normalise(hec), nullptr};
    }
    co_return connect_result{error_code{}, std::move(conn)};
}

using response_parser = bhttp::response_parser<bhttp::string_body>;
using request_message = bhttp::request<bhttp::string_body>;

// Writes `req` and reads one response into `parser` (whose got_some() tells whether any response byte came).
template <class Stream>
awaitable<error_code> exchange(Stream& stream, connection& c, const request_message& req, response_parser& parser,
                               steady::time_point deadline) {
    c.lowest().expires_at(deadline);
    auto [wec, wn] = co_await bhttp::async_write(stream, req, tuple_awaitable);
    if (wec) co_return wec;
    c.lowest().expires_at(deadline);
    auto [rec, rn] = co_await bhttp::async_read(stream, c.buffer, parser, tuple_awaitable);
    co_return rec;
}

awaitable<boost::system::result<client_response>> perform(std::shared_ptr<pool_state> st, client_request req) {
    target t;
    if (auto ec = parse_target(req.url, t)) co_return ec;
    if (t.tls && !st->tls_context()) co_return st->tls_error;
    const auto deadline = steady::now() + req.timeout;

    request_message msg{req.method, t.path_query, 11};
    msg.set(bhttp::field::host, t.host_header);
    if (!st->opts.user_agent.empty()) msg.set(bhttp::field::user_agent, st->opts.user_agent);  // DocSpace sends none
    for (auto& [name, value] : req.headers) msg.set(name, value);
    const bool wants_length = req.method == bhttp::verb::post || req.method == bhttp::verb::put ||
                              req.method == bhttp::verb::patch;
    msg.body() = std::move(req.body);
    if (!msg.body().empty() || wants_length) msg.content_length(msg.body().size());
    msg.keep_alive(true);

    for (int attempt = 0;; ++attempt) {
        // A retry (attempt 1) always uses a fresh connection.
        std::unique_ptr<connection> conn = attempt == 0 ? st->checkout(t.pool_key) : nullptr;
        const bool reused = conn != nullptr;
        if (!conn) {
            auto [ec, fresh] = co_await open_connection(st, t, deadline);
            if (ec) co_return ec;
            conn = std::move(fresh);
        }

        response_parser parser;
        parser.body_limit(st->opts.max_response_bytes);
        parser.header_limit(max_header_bytes);
        if (req.method == bhttp::verb::head) parser.skip(true);

        const error_code ec = conn->secure ? co_await exchange(*conn->secure, *conn, msg, parser, deadline)
                                           : co_await exchange(*conn->plain, *conn, msg, parser, deadline);
        if (ec) {
            if (attempt == 0 && reused && is_idempotent(req.method) && !parser.got_some() && is_stale_error(ec) &&
                steady::now() < deadline) {
                log::debug("http.client.stale_retry", {{"host", t.host}, {"error", ec.message()}});
                continue;
            }
            co_return normalise(ec);
        }

        auto& res = parser.get();
        client_response out;
        out.status = res.result_int();
        out.headers.reserve(static_cast<std::size_t>(std::distance(res.begin(), res.end())));
        for (const auto& field : res) out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
        const bool reusable = res.keep_alive() && !res.need_eof() && parser.is_done();
        out.body = std::move(res.body());
        if (reusable) st->checkin(t.pool_key, std::move(conn));
        co_return out;
    }
}

}  // namespace

std::string client_response::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (beast::iequals(k, name)) return v;
    return {};
}

struct client::impl {
    std::shared_ptr<pool_state> state;
};

client::client(asio::any_io_executor ex, client_options options)
    : impl_(std::make_unique<impl>(impl{std::make_shared<pool_state>(std::move(ex), std::move(options))})) {}

client::~client() {
    if (impl_) impl_->state->idle.clear();
}

awaitable<boost::system::result<client_response>> client::request(client_request req) {
    return perform(impl_->state, std::move(req));
}

void client::close_idle() { impl_->state->idle.clear(); }

}  // namespace spacehook::http
