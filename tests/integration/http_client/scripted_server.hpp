// A scripted HTTP/1.1 peer on 127.0.0.1:0 (optionally TLS) for client tests: it counts connections and
// records requests, and the test's script decides per request whether to answer, hang, close without an
// answer, or send half a response and close. Also: a self-signed certificate maker for TLS tests.
#ifndef SPACEHOOK_TESTS_SCRIPTED_SERVER_HPP
#define SPACEHOOK_TESTS_SCRIPTED_SERVER_HPP

#include "spacehook/core/asio.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <ctime>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace spacehook::test {

struct seen_request {
    int connection = 0;  // 0-based order of the accepted connection
    int index = 0;       // 0-based order of the request on its connection
    std::string method, target, body;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string header(std::string_view name) const {
        for (const auto& [k, v] : headers)
            if (boost::beast::iequals(k, name)) return v;
        return {};
    }
};

enum class reply_kind {
    answer,   // send the response (and close after it when keep_alive is false)
    close,    // close the connection without answering
    hang,     // never answer
    partial,  // send headers promising more body than sent, then close
};

struct reply {
    reply_kind kind = reply_kind::answer;
    unsigned status = 200;
    std::string body;
    bool keep_alive = true;
    bool close_after = false;  // answer with keep-alive, then close anyway (an idle timeout on the server)
    std::vector<std::pair<std::string, std::string>> headers;
};

using script = std::function<reply(const seen_request&)>;

class scripted_server {
public:
    // `tls` (PEM certificate chain and key) makes it an https server.
    scripted_server(asio::io_context& ctx, script fn, std::string cert_pem = {}, std::string key_pem = {})
        : st_(std::make_shared<state>(ctx, std::move(fn))) {
        if (!cert_pem.empty()) {
            st_->tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
            st_->tls->use_certificate_chain(asio::buffer(cert_pem));
            st_->tls->use_private_key(asio::buffer(key_pem), asio::ssl::context::pem);
        }
        asio::co_spawn(ctx, accept_loop(st_), asio::detached);
    }
    ~scripted_server() {
        boost::system::error_code ignored;
        st_->acceptor.close(ignored);
    }
    scripted_server(const scripted_server&) = delete;
    scripted_server& operator=(const scripted_server&) = delete;

    std::uint16_t port() const { return st_->acceptor.local_endpoint().port(); }
    std::string url(std::string_view path = "/") const {
        return std::string(st_->tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port()) + std::string(path);
    }
    int connections() const { return st_->connections; }
    int closed() const { return st_->closed; }
    const std::vector<seen_request>& requests() const { return st_->requests; }
    const std::vector<std::string>& server_names() const { return st_->server_names; }

private:
    using tcp = asio::ip::tcp;
    struct state {
        state(asio::io_context& ctx, script s)
            : acceptor(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), fn(std::move(s)) {}
        tcp::acceptor acceptor;
        script fn;
        std::unique_ptr<asio::ssl::context> tls;
        int connections = 0;
        int closed = 0;
        std::vector<seen_request> requests;
        std::vector<std::string> server_names;  // SNI seen per TLS connection
    };

    static awaitable<void> accept_loop(std::shared_ptr<state> st) {
        for (;;) {
            auto [ec, sock] = co_await st->acceptor.async_accept(tuple_awaitable);
            if (ec) co_return;
            const int index = st->connections++;
            asio::co_spawn(st->acceptor.get_executor(), serve(st, std::move(sock), index), asio::detached);
        }
    }

    static awaitable<void> serve(std::shared_ptr<state> st, tcp::socket sock, int index) {
        if (st->tls) {
            asio::ssl::stream<tcp::socket> stream(std::move(sock), *st->tls);
            auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, tuple_awaitable);
            if (!ec) {
                const char* sni = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
                st->server_names.emplace_back(sni ? sni : "");
                co_await conversation(st, stream, index);
            }
        } else {
            co_await conversation(st, sock, index);
        }
        ++st->closed;
    }

    template <class Stream>
    static awaitable<void> conversation(std::shared_ptr<state> st, Stream& stream, int index) {
        namespace bhttp = boost::beast::http;
        boost::beast::flat_buffer buffer;
        for (int n = 0;; ++n) {
            bhttp::request<bhttp::string_body> req;
            auto [ec, bytes] = co_await bhttp::async_read(stream, buffer, req, tuple_awaitable);
            if (ec) co_return;
            seen_request seen{index, n, std::string(req.method_string()), std::string(req.target()), req.body(), {}};
            for (const auto& f : req) seen.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
            st->requests.push_back(seen);
            reply r = st->fn(seen);
            switch (r.kind) {
            case reply_kind::close:
                co_return;
            case reply_kind::hang: {
                asio::steady_timer forever(stream.get_executor());
                forever.expires_after(std::chrono::hours(1));
                co_await forever.async_wait(tuple_awaitable);
                co_return;
            }
            case reply_kind::partial: {
                std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-part";
                co_await asio::async_write(stream, asio::buffer(head), tuple_awaitable);
                co_return;
            }
            case reply_kind::answer: {
                bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), 11};
                for (auto& [k, v] : r.headers) res.insert(k, v);
                res.body() = r.body;
                res.keep_alive(r.keep_alive);
                res.prepare_payload();
                auto [wec, wn] = co_await bhttp::async_write(stream, res, tuple_awaitable);
                if (wec || !r.keep_alive || r.close_after) co_return;
                break;
            }
            }
        }
    }

    std::shared_ptr<state> st_;
};

// A self-signed certificate (also its own CA) with the given subjectAltName, e.g. "IP:127.0.0.1,DNS:localhost".
struct test_certificate {
    std::string cert_pem, key_pem;
};

inline test_certificate make_self_signed(const std::string& subject_alt_name) {
    static long serial = 1;
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
    if (!key || !cert) throw std::runtime_error("openssl: key or cert allocation failed");
    X509* x = cert.get();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++ + static_cast<long>(std::time(nullptr)));
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
    X509_set_pubkey(x, key.get());
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("spacehook test"), -1,
                               -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
    const std::pair<int, std::string> extensions[] = {
        {NID_subject_alt_name, subject_alt_name},
        {NID_basic_constraints, "critical,CA:TRUE"},
        {NID_key_usage, "critical,digitalSignature,keyCertSign"},
        {NID_ext_key_usage, "serverAuth"},
        {NID_subject_key_identifier, "hash"},
    };
    for (const auto& [nid, value] : extensions) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
        if (!ext) throw std::runtime_error("openssl: bad extension " + value);
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    if (!X509_sign(x, key.get(), EVP_sha256())) throw std::runtime_error("openssl: sign failed");

    auto to_pem = [](auto write) {
        std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
        write(bio.get());
        char* data = nullptr;
        const long n = BIO_get_mem_data(bio.get(), &data);
        return std::string(data, static_cast<std::size_t>(n));
    };
    test_certificate out;
    out.cert_pem = to_pem([&](BIO* b) { PEM_write_bio_X509(b, x); });
    out.key_pem = to_pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
    return out;
}

}  // namespace spacehook::test

#endif
