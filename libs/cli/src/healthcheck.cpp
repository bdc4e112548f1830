#include "args.hpp"
#include "commands.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <cstdio>

#include <fmt/format.h>

namespace spacehook::cli {

// For container HEALTHCHECKs, where no curl is installed: GET http(s)://HOST:PORT/PATH, exit 0 on 2xx.
// Over https the server's certificate is not verified: this is a liveness probe of a local listener (often
// by an address the certificate does not name) and it sends nothing secret.
int cmd_healthcheck(const argv_t& argv) {
    args a(argv, {.with_value = {"url", "timeout-ms"}});
    std::string url = a.get("url").value_or("http://127.0.0.1:8080/healthz");
    const bool https = url.rfind("https://", 0) == 0;
    if (!https && url.rfind("http://", 0) != 0) throw usage_error("--url must be http(s)://host:port/path");
    auto rest = url.substr(https ? 8 : 7);
    auto slash = rest.find('/');
    std::string hostport = rest.substr(0, slash), path = slash == std::string::npos ? "/" : rest.substr(slash);
    auto colon = hostport.rfind(':');
    std::string host = colon == std::string::npos ? hostport : hostport.substr(0, colon);
    std::string port = colon == std::string::npos ? (https ? "443" : "80") : hostport.substr(colon + 1);
    long timeout_ms = std::stol(a.get("timeout-ms").value_or("3000"));

    // Every step is asynchronous and the whole exchange runs under one io_context::run_for deadline, so a peer
    // that accepts and never answers cannot hold the probe past --timeout-ms.
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket sock(io);
    boost::asio::ssl::context tls_ctx(boost::asio::ssl::context::tls_client);
    tls_ctx.set_verify_mode(boost::asio::ssl::verify_none);
    boost::asio::ssl::stream<boost::asio::ip::tcp::socket&> tls(sock, tls_ctx);
    if (https) SSL_set_tlsext_host_name(tls.native_handle(), host.c_str());
    boost::asio::ip::tcp::resolver resolver(io);
    auto req = fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", path, hostport);
    std::string head(12, '\0');
    boost::system::error_code result = boost::asio::error::timed_out;
    bool done = false;
    auto finish = [&](boost::system::error_code ec) {
        result = ec;
        done = true;
    };
    // Write the request and read the status line over `stream` (the socket, or TLS over it). Lives in this
    // frame: the handlers that call it run inside io.run_for below.
    auto exchange = [&](auto& stream) {
        boost::asio::async_write(stream, boost::asio::buffer(req), [&](boost::system::error_code ec, std::size_t) {
            if (ec) return finish(ec);
            boost::asio::async_read(stream, boost::asio::buffer(head),
                                    [&](boost::system::error_code ec, std::size_t) { finish(ec); });
        });
    };
    resolver.async_resolve(host, port, [&](boost::system::error_code ec, const auto& endpoints) {
        if (ec) return finish(ec);
        boost::asio::async_connect(sock, endpoints, [&](boost::system::error_code ec, const auto&) {
            if (ec) return finish(ec);
            if (!https) return exchange(sock);
            tls.async_handshake(boost::asio::ssl::stream_base::client, [&](boost::system::error_code ec) {
                if (ec) return finish(ec);
                exchange(tls);
            });
        });
    });
    io.run_for(std::chrono::milliseconds(timeout_ms));
    if (!done) throw user_error(fmt::format("no answer from {} within {} ms", url, timeout_ms));
    if (result) throw user_error(fmt::format("no answer from {}: {}", url, result.message()));
    if (head.compare(0, 5, "HTTP/") != 0 || head[9] != '2') throw user_error(fmt::format("{} answered {}", url, head.substr(9, 3)));
    std::printf("ok %s\n", head.substr(9, 3).c_str());
    return 0;
}

}  // namespace spacehook::cli
