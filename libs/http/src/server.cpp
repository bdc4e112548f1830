#include "spacehook/http/server.hpp"

#include "spacehook/core/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <mutex>
#include <unordered_set>

#include <fmt/format.h>

namespace spacehook::http {
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

response make_response(const request& req, beast_http::status status, std::string body, std::string_view content_type) {
    response res{status, req.version()};
    res.set(beast_http::field::content_type, content_type);
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

namespace {

// A response's bytes as Beast's serializer would write them: the status line, the fields as stored, the blank line,
// then the body. Beast's serializer walks a chain of buffer views to produce them, which cost about a tenth of a
// delivery's instructions (bench/ingest/profile.sh, issue G); this formats the head into one string and writes head
// and body in one gather write. Only for a body of known length (every response here has Content-Length).
std::string response_head(const response& res) {
    std::string head;
    head.reserve(192);
    head += res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    head += std::to_string(res.result_int());
    head += ' ';
    head += res.reason();
    head += "\r\n";
    for (const auto& f : res) {
        head += f.name_string();
        head += ": ";
        head += f.value();
        head += "\r\n";
    }
    head += "\r\n";
    return head;
}

template <class Stream>
awaitable<boost::system::error_code> write_response(Stream& stream, response& res) {
    if (res.chunked()) {
        auto [ec, n] = co_await beast_http::async_write(stream, res, tuple_awaitable);
        co_return ec;
    }
    const auto head = response_head(res);
    const std::array<asio::const_buffer, 2> bytes{asio::buffer(head), asio::buffer(res.body())};
    auto [ec, n] = co_await asio::async_write(stream, bytes, tuple_awaitable);
    co_return ec;
}

}  // namespace

bool split_host_port(const std::string& listen, std::string& host, std::uint16_t& port) {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) return false;
    host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    auto port_text = listen.substr(colon + 1);
    if (port_text.empty() || port_text.size() > 5) return false;
    unsigned long p = 0;
    for (char c : port_text) {
        if (c < '0' || c > '9') return false;
        p = p * 10 + static_cast<unsigned long>(c - '0');
    }
    if (p > 65535) return false;
    port = static_cast<std::uint16_t>(p);
    if (host.empty() || host == "*") host = "0.0.0.0";
    return true;
}

std::shared_ptr<asio::ssl::context> make_server_tls(const std::string& cert_file, const std::string& key_file) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                     asio::ssl::context::single_dh_use);
    boost::system::error_code ec;
    ctx->use_certificate_chain_file(cert_file, ec);
    if (ec) throw std::runtime_error(fmt::format("cannot load TLS certificate {}: {}", cert_file, ec.message()));
    ctx->use_private_key_file(key_file, asio::ssl::context::pem, ec);
    // OpenSSL checks the pair while loading the key ("key values mismatch").
    if (ec && ec.message().find("mismatch") != std::string::npos)
        throw std::runtime_error(fmt::format("TLS key {} does not match certificate {}", key_file, cert_file));
    if (ec) throw std::runtime_error(fmt::format("cannot load TLS key {}: {}", key_file, ec.message()));
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
        throw std::runtime_error(fmt::format("TLS key {} does not match certificate {}", key_file, cert_file));
    return ctx;
}

namespace {

// Bodies up to this size (a DocSpace delivery is a few kB) are not counted against max_buffered_body_bytes: all
// of them together hold at most max_connections x 16 KiB, and large slow bodies holding the whole budget must
// not turn real deliveries away (64 unauthenticated connections would otherwise do it at the defaults).
constexpr std::size_t small_body_bytes = 16 * 1024;

// A share of server_options::max_buffered_body_bytes, given back when it goes out of scope.
class body_claim {
public:
    explicit body_claim(std::atomic<std::size_t>& pool) : pool_(pool) {}
    ~body_claim() {
        if (bytes_) pool_.fetch_sub(bytes_);
    }
    body_claim(const body_claim&) = delete;
    body_claim& operator=(const body_claim&) = delete;
    // False (and nothing taken) when `bytes` more would exceed `limit`.
    bool take(std::size_t bytes, std::size_t limit) {
        if (pool_.fetch_add(bytes) + bytes > limit) {
            pool_.fetch_sub(bytes);
            return false;
        }
        bytes_ = bytes;
        return true;
    }

private:
    std::atomic<std::size_t>& pool_;
    std::size_t bytes_ = 0;
};

// One live connection, as seen by stop(): touched only on its own io_context thread.
struct live_connection {
    beast::tcp_stream stream;
    bool idle = true;  // waiting for the next request's headers
    explicit live_connection(tcp::socket s) : stream(std::move(s)) {}
};

}  // namespace

struct server::impl : std::enable_shared_from_this<impl> {
    std::vector<asio::io_context*> contexts;
    server_options options;
    handler on_request;
    tcp::acceptor acceptor;
    asio::steady_timer accept_pause;  // back-off after a failed accept; on the acceptor's context
    server_stats stats;
    std::atomic<bool> stopping{false};
    std::atomic<bool> accepting{false};
    const bool use_tls;
    // Swapped on reload (certificate rotation). Under a mutex, not std::atomic<std::shared_ptr>: libstdc++ 12's
    // atomic shared_ptr is reported by ThreadSanitizer (its load unlocks with a relaxed store).
    std::shared_ptr<asio::ssl::context> tls;
    std::mutex tls_mutex;
    std::mutex live_mutex;
    std::condition_variable live_cv;  // notified when a connection ends or the accept loop returns
    std::unordered_set<std::shared_ptr<live_connection>> live;

    impl(std::vector<asio::io_context*> ctxs, server_options opt, handler h)
        : contexts(std::move(ctxs)),
          options(std::move(opt)),
          on_request(std::move(h)),
          acceptor(*contexts.at(0)),
          accept_pause(*contexts.at(0)),
          use_tls(options.tls != nullptr),
          tls(options.tls) {}

    awaitable<void> accept_loop() {
        std::size_t next = 0;
        // EMFILE, ENFILE and ENOBUFS leave the connection in the listen queue, so an immediate retry fails again
        // at once: back off (10 ms doubling to 1 s) and log the first failure of a run and the recovery, so a
        // descriptor shortage neither spins a core nor floods the log.
        std::uint64_t failures = 0;
        while (!stopping.load()) {
            auto& ctx = *contexts[next++ % contexts.size()];
            auto [ec, socket] = co_await acceptor.async_accept(ctx, tuple_awaitable);
            if (ec) {
                if (ec == asio::error::operation_aborted || stopping.load()) break;
                if (failures++ == 0) log::warn("http.accept_failed", {{"error", ec.message()}});
                const std::uint64_t pause_ms = std::min<std::uint64_t>(1000, 10u << std::min<std::uint64_t>(failures - 1, 7));
                accept_pause.expires_after(std::chrono::milliseconds(pause_ms));
                auto [wec] = co_await accept_pause.async_wait(tuple_awaitable);
                (void)wec;  // cancelled by stop(): the loop condition ends the loop
                continue;
            }
            if (failures > 0) {
                log::info("http.accept_recovered", {{"failed_accepts", failures}});
                failures = 0;
            }
            if (stats.connections_open.load() >= options.max_connections) {
                reject(std::move(socket));
                continue;
            }
            boost::system::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            auto conn = std::make_shared<live_connection>(std::move(socket));
            {
                std::lock_guard lock(live_mutex);
                live.insert(conn);
            }
            stats.connections_open.fetch_add(1);
            auto ex = conn->stream.get_executor();
            asio::co_spawn(ex, run_connection(shared_from_this(), conn), [self = shared_from_this(), conn](std::exception_ptr e) {
                if (e) {
                    try {
                        std::rethrow_exception(e);
                    } catch (const std::exception& ex) {
                        log::error("http.session_failed", {{"error", ex.what()}});
                    }
                }
                self->forget(conn);
            });
        }
        {
            std::lock_guard lock(live_mutex);
            accepting.store(false);
        }
        live_cv.notify_all();
    }

    // Over max_connections: a best-effort 503 on the non-blocking socket, then close.
    void reject(tcp::socket socket) {
        stats.connections_rejected.fetch_add(1);
        static constexpr std::string_view busy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\nConnection: close\r\n\r\n";
        boost::system::error_code ec;
        socket.non_blocking(true, ec);
        socket.write_some(asio::buffer(busy.data(), busy.size()), ec);
        socket.close(ec);
    }

    void forget(const std::shared_ptr<live_connection>& conn) {
        stats.connections_open.fetch_sub(1);
        {
            std::lock_guard lock(live_mutex);
            live.erase(conn);
        }
        live_cv.notify_all();
    }

    bool drained() const { return stopping.load() && !accepting.load() && live.empty(); }  // under live_mutex

    // Serves one connection to its end: the TLS handshake when configured, the requests, and the close.
    static awaitable<void> run_connection(std::shared_ptr<impl> self, std::shared_ptr<live_connection> conn) {
        auto& tcp_stream = conn->stream;
        if (!self->use_tls) {
            co_await session(*self, *conn, tcp_stream);
        } else {
            std::shared_ptr<asio::ssl::context> ctx;
            {
                std::lock_guard lock(self->tls_mutex);
                ctx = self->tls;
            }
            asio::ssl::stream<beast::tcp_stream&> tls_stream(tcp_stream, *ctx);
            tcp_stream.expires_after(self->options.header_timeout);
            auto [ec] = co_await tls_stream.async_handshake(asio::ssl::stream_base::server, tuple_awaitable);
            if (ec) {
                self->stats.tls_failures.fetch_add(1);
                log::debug("http.tls_handshake_failed", {{"error", ec.message()}});
            } else {
                co_await session(*self, *conn, tls_stream);
                // close_notify, briefly: a peer that never answers it must not hold the connection.
                tcp_stream.expires_after(std::chrono::milliseconds(500));
                auto [sec] = co_await tls_stream.async_shutdown(tuple_awaitable);
                (void)sec;
            }
        }
        boost::system::error_code ignored;
        tcp_stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        tcp_stream.close();
    }

    // The request loop over `stream` (the plain TCP stream or TLS over it); returns when the connection
    // should close. Deadlines are set on the TCP layer and cover the TLS records too.
    template <class Stream>
    static awaitable<void> session(impl& self, live_connection& conn, Stream& stream) {
        auto& tcp_stream = conn.stream;
        const auto& opt = self.options;
        beast::flat_buffer buffer;
        for (;;) {
            beast_http::request_parser<beast_http::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(opt.max_header_bytes));
            parser.body_limit(opt.max_body_bytes);
            conn.idle = true;
            if (self.stopping.load()) break;
            tcp_stream.expires_after(opt.header_timeout);
            auto [ec, n] = co_await beast_http::async_read_header(stream, buffer, parser, tuple_awaitable);
            conn.idle = false;
            // A body is read whole before the handler (and so before any signature check) sees it: claim the
            // announced length (chunked: max_body_bytes) from a budget shared by all connections, so
            // unauthenticated clients cannot make us hold max_connections x max_body_bytes.
            body_claim claim(self.stats.buffered_body_bytes);
            if (!ec && !parser.is_done()) {
                const auto announced = parser.content_length();
                const std::size_t wanted = announced ? static_cast<std::size_t>(*announced) : opt.max_body_bytes;
                if (wanted > small_body_bytes && !claim.take(wanted, opt.max_buffered_body_bytes)) {
                    self.stats.busy.fetch_add(1);
                    co_await send_and_close(stream, tcp_stream, beast_http::status::service_unavailable,
                                            "too many request bodies in flight, retry later", opt);
                    break;
                }
                if (auto expect = parser.get()[beast_http::field::expect]; beast::iequals(expect, "100-continue")) {
                    beast_http::response<beast_http::empty_body> cont{beast_http::status::continue_, 11};
                    tcp_stream.expires_after(opt.request_timeout);
                    auto [wec, wn] = co_await beast_http::async_write(stream, cont, tuple_awaitable);
                    if (wec) break;
                }
                tcp_stream.expires_after(opt.request_timeout);
                std::tie(ec, n) = co_await beast_http::async_read(stream, buffer, parser, tuple_awaitable);
            }
            if (ec) {
                if (ec == beast_http::error::body_limit) {
                    self.stats.too_large.fetch_add(1);
                    co_await send_and_close(stream, tcp_stream, beast_http::status::payload_too_large,
                                            "body too large", opt);
                } else if (ec == beast_http::error::header_limit) {
                    co_await send_and_close(stream, tcp_stream, beast_http::status::request_header_fields_too_large,
                                            "header too large", opt);
                } else if (ec == beast::error::timeout) {
                    self.stats.timeouts.fetch_add(1);
                    if (parser.got_some() && opt.on_rejected) opt.on_rejected(408);
                } else if (ec != beast_http::error::end_of_stream && ec != beast_http::error::partial_message &&
                           ec.category() == beast_http::make_error_code(beast_http::error::bad_target).category()) {
                    co_await send_and_close(stream, tcp_stream, beast_http::status::bad_request,
                                            "malformed HTTP request", opt);
                }
                break;
            }
            request req = parser.release();
            std::optional<response> res;
            try {
                res.emplace(co_await self.on_request(req));
            } catch (const std::exception& e) {
                log::error("http.handler_failed", {{"error", e.what()}, {"target", std::string(req.target())}});
            }
            if (!res) res.emplace(make_response(req, beast_http::status::internal_server_error, R"({"error":"internal"})"));
            const bool keep_alive = req.keep_alive() && !self.stopping.load();
            res->keep_alive(keep_alive);
            if (!opt.server_header.empty()) res->set(beast_http::field::server, opt.server_header);
            tcp_stream.expires_after(opt.request_timeout);
            const auto wec = co_await write_response(stream, *res);
            if (wec || !keep_alive) break;
        }
    }

    // Answers `status` with Connection: close, then drains what the client is still sending for a moment so the
    // answer is not lost to a TCP reset, and closes.
    template <class Stream>
    static awaitable<void> send_and_close(Stream& stream, beast::tcp_stream& tcp_stream, beast_http::status status,
                                          std::string_view reason, const server_options& opt) {
        if (opt.on_rejected) opt.on_rejected(static_cast<unsigned>(status));
        response res{status, 11};
        res.set(beast_http::field::content_type, "application/json");
        res.keep_alive(false);
        res.body() = fmt::format(R"({{"error":"{}"}})", reason);
        res.prepare_payload();
        tcp_stream.expires_after(opt.request_timeout);
        auto [ec, n] = co_await beast_http::async_write(stream, res, tuple_awaitable);
        if (ec) co_return;
        // The raw bytes still arriving are discarded below TLS: nothing in them is read.
        boost::system::error_code ignored;
        tcp_stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        std::array<char, 16384> sink;
        std::size_t drained = 0;
        tcp_stream.expires_after(std::chrono::milliseconds(500));
        while (drained < (4u << 20)) {
            auto [rec, rn] = co_await tcp_stream.async_read_some(asio::buffer(sink), tuple_awaitable);
            if (rec) break;
            drained += rn;
        }
    }
};

server::server(std::vector<asio::io_context*> contexts, server_options options, handler h)
    : impl_(std::make_shared<impl>(std::move(contexts), std::move(options), std::move(h))) {}

server::~server() {
    stop();
}

void server::listen(const std::string& host, std::uint16_t port) {
    auto address = asio::ip::make_address(host);
    tcp::endpoint ep(address, port);
    auto& a = impl_->acceptor;
    a.open(ep.protocol());
    a.set_option(tcp::acceptor::reuse_address(true));
    if (address.is_v6()) a.set_option(asio::ip::v6_only(false));
    a.bind(ep);
    a.listen(asio::socket_base::max_listen_connections);
}

std::uint16_t server::port() const { return impl_->acceptor.local_endpoint().port(); }
asio::ip::tcp::endpoint server::local_endpoint() const { return impl_->acceptor.local_endpoint(); }

void server::start() {
    if (impl_->accepting.exchange(true)) return;
    auto self = impl_;
    asio::co_spawn(impl_->acceptor.get_executor(), self->accept_loop(), [self](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                log::error("http.accept_loop_failed", {{"error", ex.what()}});
            }
        }
    });
}

void server::stop() {
    auto self = impl_;
    if (self->stopping.exchange(true)) return;
    asio::post(self->acceptor.get_executor(), [self] {
        boost::system::error_code ignored;
        self->acceptor.close(ignored);
        self->accept_pause.cancel();
    });
    std::lock_guard lock(self->live_mutex);
    for (const auto& conn : self->live) {
        // Runs on the connection's own thread, so `idle` cannot change underneath: an idle connection is
        // waiting for headers and is cancelled; a busy one finishes its request and closes after it.
        asio::post(conn->stream.get_executor(), [conn] {
            if (conn->idle) conn->stream.cancel();
        });
    }
}

bool server::idle() const {
    std::lock_guard lock(impl_->live_mutex);
    return impl_->drained();
}

bool server::wait_idle(std::chrono::milliseconds timeout) {
    std::unique_lock lock(impl_->live_mutex);
    return impl_->live_cv.wait_for(lock, timeout, [&] { return impl_->drained(); });
}

const server_stats& server::stats() const { return impl_->stats; }

void server::set_tls(std::shared_ptr<asio::ssl::context> tls) {
    if (!tls || !impl_->use_tls) return;
    std::lock_guard lock(impl_->tls_mutex);
    impl_->tls.swap(tls);
}

}  // namespace spacehook::http
