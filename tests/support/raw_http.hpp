// Blocking HTTP/1.1 over a plain socket for tests: exact bytes on the wire, no client library in between.
#ifndef SPACEHOOK_TEST_RAW_HTTP_HPP
#define SPACEHOOK_TEST_RAW_HTTP_HPP

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace spacehook::test {

struct raw_response {
    int status = 0;  // 0: no response (connection closed or timed out)
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
};

// A connection that can carry several requests (keep-alive).
class raw_conn {
public:
    explicit raw_conn(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10)) : sock_(io_) {
        sock_.connect({boost::asio::ip::make_address("127.0.0.1"), port});
        set_timeout(timeout);
    }
    void set_timeout(std::chrono::milliseconds t) {
        timeval tv{static_cast<time_t>(t.count() / 1000), static_cast<suseconds_t>((t.count() % 1000) * 1000)};
        setsockopt(sock_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(sock_.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    // Writes bytes; false when the peer closed.
    bool write(std::string_view bytes) {
        boost::system::error_code ec;
        boost::asio::write(sock_, boost::asio::buffer(bytes.data(), bytes.size()), ec);
        return !ec;
    }
    // Reads one response (headers + Content-Length body). status 0 when the connection closed first.
    raw_response read_response() {
        raw_response r;
        std::size_t header_end;
        while ((header_end = buf_.find("\r\n\r\n")) == std::string::npos)
            if (!fill()) return r;
        std::string head = buf_.substr(0, header_end);
        buf_.erase(0, header_end + 4);
        auto line_end = head.find("\r\n");
        auto status_line = head.substr(0, line_end);
        r.status = std::stoi(status_line.substr(9, 3));
        std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
        while (pos < head.size()) {
            auto e = head.find("\r\n", pos);
            if (e == std::string::npos) e = head.size();
            auto line = head.substr(pos, e - pos);
            auto colon = line.find(':');
            if (colon != std::string::npos) {
                std::string name = line.substr(0, colon);
                for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                auto value = line.substr(colon + 1);
                while (!value.empty() && value.front() == ' ') value.erase(0, 1);
                r.headers[name] = value;
            }
            pos = e + 2;
        }
        std::size_t len = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
        while (buf_.size() < len)
            if (!fill()) break;
        r.body = buf_.substr(0, len);
        buf_.erase(0, std::min(len, buf_.size()));
        return r;
    }
    // True when the peer closed the connection (reads EOF) within the socket timeout.
    bool closed_by_peer() {
        char c;
        boost::system::error_code ec;
        for (;;) {
            sock_.read_some(boost::asio::buffer(&c, 1), ec);
            if (ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset) return true;
            if (ec) return false;  // timeout
        }
    }

private:
    bool fill() {
        char tmp[65536];
        boost::system::error_code ec;
        auto n = sock_.read_some(boost::asio::buffer(tmp), ec);
        if (ec) return false;
        buf_.append(tmp, n);
        return true;
    }
    boost::asio::io_context io_;
    boost::asio::ip::tcp::socket sock_;
    std::string buf_;
};

inline std::string make_request(std::string_view method, std::string_view path, std::string_view body,
                                const std::vector<std::pair<std::string, std::string>>& headers = {},
                                bool keep_alive = true) {
    std::string r = std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (const auto& [k, v] : headers) r += k + ": " + v + "\r\n";
    if (!keep_alive) r += "Connection: close\r\n";
    if (method == "POST" || method == "PUT" || !body.empty()) r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    r += "\r\n";
    r += body;
    return r;
}

// One request on a fresh connection.
inline raw_response request(std::uint16_t port, std::string_view method, std::string_view path, std::string_view body = {},
                            const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    raw_conn c(port);
    c.write(make_request(method, path, body, headers, false));
    return c.read_response();
}

}  // namespace spacehook::test

#endif
