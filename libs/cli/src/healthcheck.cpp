#include "args.hpp"
#include "commands.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <cstdio>

#include <fmt/format.h>

namespace spacehook::cli {

// For container HEALTHCHECKs, where no curl is installed: GET http://HOST:PORT/PATH, exit 0 on 2xx.
int cmd_healthcheck(const argv_t& argv) {
    args a(argv, {.with_value = {"url", "timeout-ms"}});
    std::string url = a.get("url").value_or("http://127.0.0.1:8080/healthz");
    if (url.rfind("http://", 0) != 0) throw usage_error("--url must be http://host:port/path");
    auto rest = url.substr(7);
    auto slash = rest.find('/');
    std::string hostport = rest.substr(0, slash), path = slash == std::string::npos ? "/" : rest.substr(slash);
    auto colon = hostport.rfind(':');
    std::string host = colon == std::string::npos ? hostport : hostport.substr(0, colon);
    std::string port = colon == std::string::npos ? "80" : hostport.substr(colon + 1);
    long timeout_ms = std::stol(a.get("timeout-ms").value_or("3000"));

    boost::asio::io_context io;
    boost::asio::ip::tcp::socket sock(io);
    boost::system::error_code ec;
    auto endpoints = boost::asio::ip::tcp::resolver(io).resolve(host, port, ec);
    if (!ec) boost::asio::connect(sock, endpoints, ec);
    if (ec) throw user_error(fmt::format("cannot connect to {}: {}", hostport, ec.message()));
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(sock.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    auto req = fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", path, hostport);
    boost::asio::write(sock, boost::asio::buffer(req), ec);
    std::string head(12, '\0');
    if (!ec) boost::asio::read(sock, boost::asio::buffer(head), ec);
    if (ec) throw user_error(fmt::format("no answer from {}: {}", url, ec.message()));
    if (head.compare(0, 5, "HTTP/") != 0 || head[9] != '2') throw user_error(fmt::format("{} answered {}", url, head.substr(9, 3)));
    std::printf("ok %s\n", head.substr(9, 3).c_str());
    return 0;
}

}  // namespace spacehook::cli
