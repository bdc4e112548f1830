// A small HTTP/1.1 server on Beast + Asio coroutines, with no product knowledge: limits, timeouts,
// keep-alive, connection accounting and graceful stop. The product's routes are one handler function.
#ifndef SPACEHOOK_HTTP_SERVER_HPP
#define SPACEHOOK_HTTP_SERVER_HPP

#include "spacehook/core/asio.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace spacehook::http {

namespace beast_http = boost::beast::http;
using request = beast_http::request<beast_http::string_body>;
using response = beast_http::response<beast_http::string_body>;

struct server_options {
    std::size_t max_body_bytes = 1048576;                 // over: 413, connection closed
    std::size_t max_header_bytes = 16384;                 // over: 431, connection closed
    std::chrono::milliseconds header_timeout{10000};      // headers (and keep-alive idle) deadline
    std::chrono::milliseconds request_timeout{30000};     // body deadline, from the end of the headers
    std::size_t max_connections = 4096;                   // over: accepted and closed at once
    // Bodies being received, all connections together: each claims its Content-Length (max_body_bytes when
    // chunked) from the end of its headers until its response is written. Over: 503, connection closed.
    // Bodies are read before any handler check, so this bounds what unauthenticated clients make us hold.
    std::size_t max_buffered_body_bytes = 64u << 20;
    std::string server_header = "spacehook";
    // When set, every connection is TLS (server role) with this context; the handshake must finish within
    // header_timeout. Replaceable while running with server::set_tls (certificate rotation).
    std::shared_ptr<boost::asio::ssl::context> tls;
    // Called (on an I/O thread) when the server itself rejects a request it could not read: 413 body too
    // large, 431 headers too large, 400 malformed, 503 over max_buffered_body_bytes (each answered, then the
    // connection closes), and 408 when a timeout ends a started request (closed without an answer).
    std::function<void(unsigned status)> on_rejected;
};

// Called once per complete request on the connection's io_context thread. Must not throw; a throw is
// logged and answered with 500. The response's keep_alive is decided by the server.
using handler = std::function<awaitable<response>(request& req)>;

struct server_stats {
    std::atomic<std::uint64_t> connections_open{0};
    std::atomic<std::uint64_t> connections_rejected{0};
    std::atomic<std::uint64_t> too_large{0};
    std::atomic<std::uint64_t> timeouts{0};
    std::atomic<std::uint64_t> tls_failures{0};  // handshakes that failed or timed out
    std::atomic<std::uint64_t> busy{0};          // 503s over max_buffered_body_bytes
    std::atomic<std::size_t> buffered_body_bytes{0};  // claimed by bodies being received (max_buffered_body_bytes)
};

// Helper to build a response with a body and content type; sets Content-Length.
response make_response(const request& req, beast_http::status status, std::string body,
                       std::string_view content_type = "application/json");

class server {
public:
    // `contexts` are the I/O contexts connections are spread over (round robin); the acceptor lives on the
    // first. They must outlive the server and be run by the caller.
    server(std::vector<asio::io_context*> contexts, server_options options, handler h);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Binds and listens ("127.0.0.1", 0 picks a free port). Throws boost::system::system_error on failure.
    void listen(const std::string& host, std::uint16_t port);
    std::uint16_t port() const;
    asio::ip::tcp::endpoint local_endpoint() const;

    // Starts accepting. Safe to call once, from any thread.
    void start();
    // Stops accepting, closes idle keep-alive connections, and lets in-flight requests finish (their
    // responses are sent with Connection: close). Returns at once; `wait_idle` waits for the drain.
    void stop();
    // True once stop() was called and every connection has closed.
    bool idle() const;
    // Blocks until idle() or `timeout` passed; returns idle(). Not on one of the server's threads.
    bool wait_idle(std::chrono::milliseconds timeout);

    const server_stats& stats() const;

    // Replaces the TLS context for connections accepted from now on (a server started without TLS stays
    // plain: `tls` must be non-null, and it is ignored then).
    void set_tls(std::shared_ptr<boost::asio::ssl::context> tls);

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

// A server-side TLS context (TLS 1.2 and later, the system's default ciphers) from a PEM certificate
// chain and its unencrypted private key. Throws std::runtime_error naming the file and OpenSSL's reason.
std::shared_ptr<boost::asio::ssl::context> make_server_tls(const std::string& cert_file, const std::string& key_file);

// Parses "host:port", "[v6]:port"; returns false when malformed.
bool split_host_port(const std::string& listen, std::string& host, std::uint16_t& port);

}  // namespace spacehook::http

#endif
