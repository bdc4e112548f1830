// spacehook::http::client against real loopback peers: the project's own HTTP server for plain
// exchanges, and a scripted peer (scripted_server.hpp) for keep-alive accounting, misbehaviour and TLS.
#include "scripted_server.hpp"
#include "test_support.hpp"

#include "spacehook/http/client.hpp"
#include "spacehook/http/server.hpp"

#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http/error.hpp>

#include <doctest/doctest.h>

#include <fstream>

namespace {

using namespace spacehook;
using spacehook::test::reply;
using spacehook::test::reply_kind;
using spacehook::test::run_coro;
using spacehook::test::scripted_server;
using spacehook::test::seen_request;
namespace bhttp = boost::beast::http;
using result = boost::system::result<http::client_response>;
using namespace std::chrono_literals;

http::client_request get(std::string url, std::chrono::milliseconds timeout = 5000ms) {
    http::client_request r;
    r.url = std::move(url);
    r.timeout = timeout;
    return r;
}

result fetch(asio::io_context& ctx, http::client& c, http::client_request req) {
    return run_coro(ctx, [&c, req]() -> awaitable<result> { co_return co_await c.request(req); });
}

reply ok(std::string body = "ok") {
    reply r;
    r.body = std::move(body);
    return r;
}

std::string write_file(const spacehook::test::temp_dir& dir, const std::string& name, const std::string& text) {
    auto path = dir.file(name);
    std::ofstream(path) << text;
    return path;
}

}  // namespace

TEST_SUITE("http client") {

TEST_CASE("a GET and a PUT with a body reach the project's HTTP server and their answers come back") {
    asio::io_context ctx;
    http::server srv({&ctx}, {}, [](http::request& req) -> awaitable<http::response> {
        auto res = http::make_response(req, bhttp::status::created,
                                       std::string(req.method_string()) + " " + std::string(req.target()) + " [" +
                                           req.body() + "] len=" +
                                           std::string(req[bhttp::field::content_length]),
                                       "text/plain");
        res.set("X-Echo-Auth", req[bhttp::field::authorization]);
        co_return res;
    });
    srv.listen("127.0.0.1", 0);
    srv.start();
    const std::string base = "http://127.0.0.1:" + std::to_string(srv.port());
    http::client c(ctx.get_executor());

    auto g = get(base + "/api/2.0/files/file/8421?version=2");
    g.headers.emplace_back("Authorization", "Bearer sk-test");
    auto r1 = fetch(ctx, c, g);
    REQUIRE(r1.has_value());
    CHECK(r1->status == 201);
    CHECK(r1->body == "GET /api/2.0/files/file/8421?version=2 [] len=");
    CHECK(r1->header("x-echo-auth") == "Bearer sk-test");
    CHECK(r1->header("CONTENT-TYPE") == "text/plain");

    auto p = get(base + "/api/2.0/files/file/8421/comment");
    p.method = bhttp::verb::put;
    p.body = R"({"version":3,"comment":"Need Review"})";
    auto r2 = fetch(ctx, c, p);
    REQUIRE(r2.has_value());
    CHECK(r2->body == R"(PUT /api/2.0/files/file/8421/comment [{"version":3,"comment":"Need Review"}] len=37)");

    auto empty_put = get(base + "/x");
    empty_put.method = bhttp::verb::put;
    auto r3 = fetch(ctx, c, empty_put);
    REQUIRE(r3.has_value());
    CHECK(r3->body == "PUT /x [] len=0");
    srv.stop();
}

TEST_CASE("three requests to one host share one keep-alive connection") {
    asio::io_context ctx;
    scripted_server srv(ctx, [](const seen_request& r) { return ok("n" + std::to_string(r.index)); });
    http::client c(ctx.get_executor());
    for (int i = 0; i < 3; ++i) {
        auto r = fetch(ctx, c, get(srv.url("/ping")));
        REQUIRE(r.has_value());
        CHECK(r->body == "n" + std::to_string(i));
    }
    CHECK(srv.connections() == 1);
    REQUIRE(srv.requests().size() == 3);
    CHECK(srv.requests()[0].header("Host") == "127.0.0.1:" + std::to_string(srv.port()));
    CHECK(srv.requests()[0].header("User-Agent") == "spacehook");
}

TEST_CASE("a server that never answers fails the request with timed_out at its deadline") {
    asio::io_context ctx;
    scripted_server srv(ctx, [](const seen_request&) { return reply{reply_kind::hang}; });
    http::client c(ctx.get_executor());
    const auto started = std::chrono::steady_clock::now();
    auto r = fetch(ctx, c, get(srv.url(), 300ms));
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == asio::error::timed_out);
    CHECK(took >= 250ms);
    CHECK(took < 5s);
}

TEST_CASE("a TLS peer that never completes the handshake times out too") {
    asio::io_context ctx;
    asio::ip::tcp::acceptor silent(ctx, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket held(ctx);
    silent.async_accept(held, [](boost::system::error_code) {});
    http::client c(ctx.get_executor());
    auto r = fetch(ctx, c, get("https://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/", 300ms));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == asio::error::timed_out);
}

TEST_CASE("a closed port fails with connection_refused") {
    asio::io_context ctx;
    std::uint16_t port = 0;
    {
        asio::ip::tcp::acceptor a(ctx, {asio::ip::make_address("127.0.0.1"), 0});
        port = a.local_endpoint().port();
    }
    http::client c(ctx.get_executor());
    auto r = fetch(ctx, c, get("http://127.0.0.1:" + std::to_string(port) + "/"));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == asio::error::connection_refused);
}

TEST_CASE("a pooled connection the peer dropped while the request was in flight is retried once on a new one") {
    asio::io_context ctx;
    // Connection 0 answers its first request, then reads the second and closes without answering.
    scripted_server srv(ctx, [](const seen_request& r) {
        if (r.connection == 0 && r.index == 1) return reply{reply_kind::close};
        return ok("c" + std::to_string(r.connection) + "r" + std::to_string(r.index));
    });
    http::client c(ctx.get_executor());
    auto r1 = fetch(ctx, c, get(srv.url("/a")));
    REQUIRE(r1.has_value());
    CHECK(r1->body == "c0r0");
    auto r2 = fetch(ctx, c, get(srv.url("/b")));
    REQUIRE(r2.has_value());
    CHECK(r2->body == "c1r0");
    CHECK(srv.connections() == 2);
    REQUIRE(srv.requests().size() == 3);
    CHECK(srv.requests()[1].target == "/b");
    CHECK(srv.requests()[2].target == "/b");

    SUBCASE("but only once: a second drop is the caller's error") {
        scripted_server always(ctx, [](const seen_request& r) {
            return r.index == 0 && r.connection == 0 ? ok() : reply{reply_kind::close};
        });
        REQUIRE(fetch(ctx, c, get(always.url())).has_value());
        auto r = fetch(ctx, c, get(always.url()));
        REQUIRE_FALSE(r.has_value());
        CHECK(always.connections() == 2);
        CHECK(always.requests().size() == 3);
    }
}

TEST_CASE("a POST on a dropped pooled connection is not retried") {
    asio::io_context ctx;
    scripted_server srv(ctx, [](const seen_request& r) { return r.index == 0 ? ok() : reply{reply_kind::close}; });
    http::client c(ctx.get_executor());
    REQUIRE(fetch(ctx, c, get(srv.url())).has_value());
    auto post = get(srv.url("/hook"));
    post.method = bhttp::verb::post;
    post.body = "{}";
    auto r = fetch(ctx, c, post);
    REQUIRE_FALSE(r.has_value());
    CHECK(srv.connections() == 1);
    CHECK(srv.requests().size() == 2);
}

TEST_CASE("a response cut off in the middle is an error and is not retried") {
    asio::io_context ctx;
    scripted_server srv(ctx, [](const seen_request& r) { return r.index == 0 ? ok() : reply{reply_kind::partial}; });
    http::client c(ctx.get_executor());
    REQUIRE(fetch(ctx, c, get(srv.url())).has_value());
    auto r = fetch(ctx, c, get(srv.url()));
    REQUIRE_FALSE(r.has_value());
    CHECK(srv.connections() == 1);
    CHECK(srv.requests().size() == 2);
}

TEST_CASE("an idle connection the server closed is not reused") {
    asio::io_context ctx;
    scripted_server srv(ctx, [](const seen_request& r) {
        reply out = ok("c" + std::to_string(r.connection));
        out.close_after = true;  // says keep-alive, then closes (its idle timeout)
        return out;
    });
    http::client c(ctx.get_executor());
    REQUIRE(fetch(ctx, c, get(srv.url())).has_value());
    REQUIRE(spacehook::test::poll_until([&] { return srv.closed() == 1; }, 5s, &ctx));
    auto r = fetch(ctx, c, get(srv.url()));
    REQUIRE(r.has_value());
    CHECK(r->body == "c1");
    CHECK(srv.requests().size() == 2);
}

TEST_CASE("idle connections expire after idle_timeout and close_idle drops them") {
    asio::io_context ctx;
    scripted_server srv(ctx, [](const seen_request&) { return ok(); });
    SUBCASE("expired") {
        http::client_options o;
        o.idle_timeout = 0ms;
        http::client c(ctx.get_executor(), o);
        REQUIRE(fetch(ctx, c, get(srv.url())).has_value());
        REQUIRE(fetch(ctx, c, get(srv.url())).has_value());
        CHECK(srv.connections() == 2);
    }
    SUBCASE("closed by close_idle") {
        http::client c(ctx.get_executor());
        REQUIRE(fetch(ctx, c, get(srv.url())).has_value());
        c.close_idle();
        REQUIRE(fetch(ctx, c, get(srv.url())).has_value());
        CHECK(srv.connections() == 2);
    }
}

TEST_CASE("a response over max_response_bytes is refused") {
    asio::io_context ctx;
    scripted_server srv(ctx, [](const seen_request&) { return ok(std::string(4096, 'x')); });
    http::client_options o;
    o.max_response_bytes = 1000;
    http::client c(ctx.get_executor(), o);
    auto r = fetch(ctx, c, get(srv.url()));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == bhttp::error::body_limit);
}

TEST_CASE("URLs that are not absolute http or https are rejected before any I/O") {
    asio::io_context ctx;
    http::client c(ctx.get_executor());
    CHECK_FALSE(fetch(ctx, c, get("ftp://127.0.0.1/x")).has_value());
    CHECK_FALSE(fetch(ctx, c, get("not a url")).has_value());
    CHECK_FALSE(fetch(ctx, c, get("/relative/path")).has_value());
    CHECK_FALSE(fetch(ctx, c, get("http://127.0.0.1:99999/")).has_value());
}

TEST_CASE("https verifies the server certificate against ca_file and the host name") {
    asio::io_context ctx;
    spacehook::test::temp_dir dir;
    auto cert = spacehook::test::make_self_signed("IP:127.0.0.1,DNS:localhost");
    const auto ca_file = write_file(dir, "ca.pem", cert.cert_pem);
    scripted_server srv(ctx, [](const seen_request& r) { return ok("tls" + std::to_string(r.index)); }, cert.cert_pem,
                        cert.key_pem);

    SUBCASE("trusted through ca_file: works and keeps the connection alive") {
        http::client_options o;
        o.ca_file = ca_file;
        http::client c(ctx.get_executor(), o);
        auto r1 = fetch(ctx, c, get(srv.url("/secure")));
        REQUIRE(r1.has_value());
        CHECK(r1->body == "tls0");
        auto r2 = fetch(ctx, c, get(srv.url("/secure")));
        REQUIRE(r2.has_value());
        CHECK(r2->body == "tls1");
        CHECK(srv.connections() == 1);
    }
    SUBCASE("by DNS name: SNI carries the name and the DNS SAN matches") {
        http::client_options o;
        o.ca_file = ca_file;
        http::client c(ctx.get_executor(), o);
        auto r = fetch(ctx, c, get("https://localhost:" + std::to_string(srv.port()) + "/"));
        REQUIRE(r.has_value());  // every resolved address is tried, so ::1 being refused first does not matter
        REQUIRE(srv.server_names().size() == 1);
        CHECK(srv.server_names()[0] == "localhost");
    }
    SUBCASE("not trusted without ca_file") {
        http::client c(ctx.get_executor());
        auto r = fetch(ctx, c, get(srv.url()));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().category() == asio::error::get_ssl_category());
        CHECK(srv.requests().empty());
    }
    SUBCASE("accepted without verification when verify_peer is false") {
        http::client_options o;
        o.verify_peer = false;
        http::client c(ctx.get_executor(), o);
        CHECK(fetch(ctx, c, get(srv.url())).has_value());
    }
    SUBCASE("a missing ca_file fails https requests") {
        http::client_options o;
        o.ca_file = dir.file("missing.pem");
        http::client c(ctx.get_executor(), o);
        CHECK_FALSE(fetch(ctx, c, get(srv.url())).has_value());
    }
}

TEST_CASE("https rejects a trusted certificate issued for another host") {
    asio::io_context ctx;
    spacehook::test::temp_dir dir;
    auto cert = spacehook::test::make_self_signed("DNS:portal.example.com,IP:10.1.2.3");
    scripted_server srv(ctx, [](const seen_request&) { return ok(); }, cert.cert_pem, cert.key_pem);
    http::client_options o;
    o.ca_file = write_file(dir, "ca.pem", cert.cert_pem);
    http::client c(ctx.get_executor(), o);
    auto r = fetch(ctx, c, get(srv.url()));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().category() == asio::error::get_ssl_category());
    CHECK(srv.requests().empty());
}

}  // TEST_SUITE
