// `spacehook serve` with server.tls: HTTPS on the listener, verified by a real TLS client against the
// certificate it was given; plain HTTP gets nothing; SIGHUP re-reads rotated certificate files; `check` and
// `healthcheck` know about TLS.
#include "deliveries.hpp"
#include "process.hpp"
#include "raw_http.hpp"
#include "spacehook/http/client.hpp"
#include "spacehook/mailsink/self_signed.hpp"
#include "spacehook/store/sqlite.hpp"
#include "spacehook/webhook/signature.hpp"

#include <boost/asio/io_context.hpp>

#include <doctest/doctest.h>

#include <fstream>

#include <fmt/format.h>

using namespace spacehook;

// Named, not anonymous: the executable compiles as one unity translation unit, and these helpers share names
// with other files'.
namespace tls_test {
const std::string secret = "S3cret-Key_01";

struct tls_files {
    std::string cert, key;
};

tls_files write_identity(const test::temp_dir& dir, const mailsink::tls_identity& id, const std::string& name) {
    tls_files f{dir.file(name + ".crt"), dir.file(name + ".key")};
    std::ofstream(f.cert) << id.cert_pem;
    std::ofstream(f.key) << id.key_pem;
    return f;
}

std::string write_config(const test::temp_dir& dir, const tls_files& tls) {
    auto path = dir.file("config.json");
    std::ofstream(path) << fmt::format(R"({{
      "server": {{"listen": "127.0.0.1:0", "threads": 1, "tls": {{"cert_file": "{}", "key_file": "{}"}}}},
      "database": "{}",
      "webhooks": [{{"path": "/docspace/webhook", "secrets": ["{}"]}}]
    }})",
                                       tls.cert, tls.key, dir.file("spacehook.db"), secret);
    return path;
}

// One signed delivery over HTTPS, trusting only `ca_file` (empty: the system store only).
boost::system::result<http::client_response> post_https(std::uint16_t port, int id, const std::string& ca_file) {
    asio::io_context io;
    http::client c(io.get_executor(), {.ca_file = ca_file});
    auto b = test::uploaded_body(id);
    return test::run_coro(io, [&]() -> awaitable<boost::system::result<http::client_response>> {
        http::client_request req;
        req.method = boost::beast::http::verb::post;
        req.url = fmt::format("https://127.0.0.1:{}/docspace/webhook", port);
        req.headers = {{"x-docspace-signature-256", webhook::sign(secret, b)}, {"content-type", "application/json"}};
        req.body = b;
        req.timeout = std::chrono::seconds(5);
        co_return co_await c.request(std::move(req));
    });
}

std::int64_t event_count(const test::temp_dir& dir) {
    return test::count_rows(dir.file("spacehook.db"), "SELECT count(*) FROM events");
}

TEST_SUITE("serve over TLS") {
    TEST_CASE("a TLS listener stores deliveries sent over verified HTTPS and answers nothing to plain HTTP") {
        test::temp_dir dir;
        auto identity = mailsink::make_self_signed();
        auto files = write_identity(dir, identity, "a");
        test::serve_process serve(dir, write_config(dir, files));
        REQUIRE(serve.port() != 0);

        auto ok = post_https(serve.port(), 1, files.cert);
        REQUIRE(ok.has_value());
        CHECK(ok->status == 200);
        CHECK(ok->body == R"({"status":"accepted"})");

        // A client that does not trust this certificate refuses the connection: it really is that certificate.
        auto untrusted = post_https(serve.port(), 2, "");
        CHECK(untrusted.has_error());

        // Plain HTTP to the TLS port: the bytes are not a ClientHello, the handshake fails, no HTTP answer.
        auto plain = test::request(serve.port(), "POST", "/docspace/webhook", test::uploaded_body(3),
                                   {{"x-docspace-signature-256", webhook::sign(secret, test::uploaded_body(3))}});
        CHECK(plain.status == 0);
        CHECK(event_count(dir) == 1);

        auto hc = test::run_cli(dir, {"healthcheck", "--url", fmt::format("https://127.0.0.1:{}/healthz", serve.port())});
        CHECK(hc.exit_code == 0);
        CHECK(hc.out == "ok 200\n");

        auto log = serve.log();
        CHECK(log.find(R"("tls":true)") != std::string::npos);
        CHECK(log.find("PRIVATE KEY") == std::string::npos);
        CHECK(serve.stop(SIGTERM) == 0);
    }

    TEST_CASE("SIGHUP re-reads rotated certificate files, a broken pair is refused and the old one keeps serving") {
        test::temp_dir dir;
        auto first = mailsink::make_self_signed(), second = mailsink::make_self_signed();
        auto files = write_identity(dir, first, "live");
        auto first_ca = write_identity(dir, first, "first-ca").cert;
        auto second_ca = write_identity(dir, second, "second-ca").cert;
        test::serve_process serve(dir, write_config(dir, files));
        REQUIRE(serve.port() != 0);
        REQUIRE(post_https(serve.port(), 1, first_ca).has_value());

        // A half-rotated pair (new certificate, old key) is refused; the first identity stays.
        std::ofstream(files.cert) << second.cert_pem;
        auto before = serve.log().size();
        CHECK(serve.signal(SIGHUP));
        REQUIRE(test::poll_until([&] { return serve.log().find("serve.reload_refused", before) != std::string::npos; }));
        CHECK(serve.log().find("does not match", before) != std::string::npos);
        CHECK(post_https(serve.port(), 2, first_ca).has_value());

        // The complete new pair is taken: new connections present the second certificate.
        std::ofstream(files.key) << second.key_pem;
        before = serve.log().size();
        CHECK(serve.signal(SIGHUP));
        REQUIRE(test::poll_until([&] { return serve.log().find("serve.reloaded", before) != std::string::npos; }));
        CHECK(post_https(serve.port(), 3, first_ca).has_error());
        auto rotated = post_https(serve.port(), 4, second_ca);
        REQUIRE(rotated.has_value());
        CHECK(rotated->status == 200);
        CHECK(event_count(dir) == 3);
        CHECK(serve.stop(SIGTERM) == 0);
    }

    TEST_CASE("check names $.server.tls when the key does not match the certificate") {
        test::temp_dir dir;
        auto a = write_identity(dir, mailsink::make_self_signed(), "a");
        auto b = write_identity(dir, mailsink::make_self_signed(), "b");
        auto good = test::run_cli(dir, {"check", "--config", write_config(dir, a)});
        CHECK(good.exit_code == 0);
        CHECK(good.out.find("TLS on") != std::string::npos);
        auto bad = test::run_cli(dir, {"check", "--config", write_config(dir, {a.cert, b.key})});
        CHECK(bad.exit_code != 0);
        CHECK(bad.err.find("$.server.tls") != std::string::npos);
        CHECK(bad.err.find("does not match") != std::string::npos);
        auto missing = test::run_cli(dir, {"check", "--config", write_config(dir, {dir.file("nope.crt"), a.key})});
        CHECK(missing.exit_code != 0);
        CHECK(missing.err.find("nope.crt") != std::string::npos);
    }
}

}  // namespace tls_test
