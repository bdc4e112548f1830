// HTTP/1.1 client on Beast + OpenSSL with a keep-alive connection pool per (scheme, host, port).
// https:// verifies the peer against the system CA store (plus an optional CA file) and the host name;
// http:// is plain (tests, simulators). Every request has a deadline covering connect, TLS, write and read.
#ifndef SPACEHOOK_HTTP_CLIENT_HPP
#define SPACEHOOK_HTTP_CLIENT_HPP

#include "spacehook/core/asio.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace spacehook::http {

struct client_options {
    std::string ca_file;                       // extra PEM bundle trusted besides the system store
    bool verify_peer = true;                   // false only for tests against self-signed servers
    std::size_t max_idle_per_host = 16;        // idle keep-alive connections kept per host
    std::chrono::milliseconds idle_timeout{30000};  // idle pooled connections older than this are dropped
    std::size_t max_response_bytes = 8 * 1024 * 1024;
    std::string user_agent = "spacehook";
};

struct client_request {
    boost::beast::http::verb method = boost::beast::http::verb::get;
    std::string url;  // absolute: http(s)://host[:port]/path?query
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;  // sent with Content-Length when non-empty or when the method is POST/PUT
    std::chrono::milliseconds timeout{30000};
};

struct client_response {
    unsigned status = 0;
    std::vector<std::pair<std::string, std::string>> headers;  // as received
    std::string body;
    // First header named `name` (case-insensitive), or empty.
    std::string header(std::string_view name) const;
};

class client {
public:
    // All requests run on `ex` (a single-threaded executor: the pool is not synchronised).
    client(asio::any_io_executor ex, client_options options = {});
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // Performs one request. Network, TLS and timeout failures are the error (asio/ssl error codes;
    // timeout is asio::error::timed_out); any HTTP status is a value. A pooled connection that turns out
    // to be closed by the peer is retried once on a fresh connection, only when no byte of the
    // response was read and the request is idempotent (GET, HEAD, PUT, DELETE).
    awaitable<boost::system::result<client_response>> request(client_request req);

    // Closes every pooled connection.
    void close_idle();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace spacehook::http

#endif
