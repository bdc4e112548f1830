// The SMTP channel: one short SMTP conversation per message (RFC 5321 with ESMTP, STARTTLS per RFC 3207,
// AUTH PLAIN / LOGIN per RFC 4954 / 4616) on Asio coroutines, bounded by one deadline.
#include "mime.hpp"
#include "spacehook/core/log.hpp"
#include "spacehook/notify/channel.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <tuple>

namespace spacehook::notify {
namespace {

using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;
using boost::system::error_code;

constexpr std::size_t max_reply_line = 4096;  // RFC 5321 4.5.3.1.5 says 512; be lenient
constexpr std::size_t max_reply_lines = 256;

struct smtp_url {
    bool implicit_tls = false;
    std::string host;  // without brackets for IPv6
    std::uint16_t port = 25;
};

// smtp://host[:port] or smtps://host[:port]; a trailing '/' is tolerated, anything else is not.
std::optional<smtp_url> parse_url(std::string_view url) {
    smtp_url u;
    if (url.starts_with("smtps://")) {
        u.implicit_tls = true;
        u.port = 465;
        url.remove_prefix(8);
    } else if (url.starts_with("smtp://")) {
        url.remove_prefix(7);
    } else {
        return std::nullopt;
    }
    while (!url.empty() && url.back() == '/') url.remove_suffix(1);
    if (url.find_first_of("/?#@ ") != std::string_view::npos) return std::nullopt;
    std::optional<std::string_view> port_text;
    if (url.starts_with('[')) {
        auto rb = url.find(']');
        if (rb == std::string_view::npos) return std::nullopt;
        u.host = std::string(url.substr(1, rb - 1));
        auto rest = url.substr(rb + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            port_text = rest.substr(1);
        }
    } else {
        auto colon = url.find(':');
        if (colon != std::string_view::npos) {
            port_text = url.substr(colon + 1);
            url = url.substr(0, colon);
        }
        u.host = std::string(url);
    }
    if (u.host.empty()) return std::nullopt;
    if (port_text) {
        unsigned port = 0;
        auto [end, ec] = std::from_chars(port_text->data(), port_text->data() + port_text->size(), port);
        if (ec != std::errc{} || end != port_text->data() + port_text->size() || port == 0 || port > 65535)
            return std::nullopt;
        u.port = static_cast<std::uint16_t>(port);
    }
    return u;
}

struct reply {
    int code = 0;
    std::vector<std::string> lines;  // text after "NNN-" / "NNN "

    std::string text() const {
        std::string out = std::to_string(code);
        for (const auto& l : lines) {
            out += ' ';
            out += l;
        }
        return out;
    }
};

struct capabilities {
    bool starttls = false;
    bool auth_plain = false;
    bool auth_login = false;
};

// Thrown inside the conversation only; send() turns it into a send_result.
struct smtp_failure : std::runtime_error {
    smtp_failure(errc k, const std::string& detail) : std::runtime_error(detail), kind(k) {}
    errc kind;
};

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

// One TCP (+TLS) connection with a deadline that closes the socket when it passes. Owned by a
// shared_ptr so the timer handler can tell whether the connection still exists. Used from one
// coroutine on one (implicitly serialised) executor.
struct connection {
    connection(
        const asio::any_io_executor& ex, ssl::context& ctx, std::string host_, std::int64_t timeout_ms_
    )
        : resolver(ex), stream(ex, ctx), deadline(ex), host(std::move(host_)), timeout_ms(timeout_ms_) {}

    tcp::resolver resolver;
    ssl::stream<tcp::socket> stream;
    asio::steady_timer deadline;
    std::string host;
    std::int64_t timeout_ms;
    bool tls = false;
    bool timed_out = false;
    std::string rbuf;
    std::string stage = "resolve";

    tcp::socket& socket() { return stream.next_layer(); }

    static void arm(const std::shared_ptr<connection>& self) {
        self->deadline.expires_after(std::chrono::milliseconds(self->timeout_ms));
        self->deadline.async_wait([weak = std::weak_ptr<connection>(self)](error_code ec) {
            if (ec) return;
            if (auto c = weak.lock()) c->expire();
        });
    }

    void expire() {
        timed_out = true;
        resolver.cancel();
        error_code ignored;
        socket().close(ignored);
    }

    void close() {
        deadline.cancel();
        error_code ignored;
        socket().close(ignored);
    }

    [[noreturn]] void io_failed(const error_code& ec) const {
        if (timed_out)
            throw smtp_failure(
                errc::timed_out, "timed out after " + std::to_string(timeout_ms) + " ms (" + stage + ")"
            );
        throw smtp_failure(errc::unavailable, stage + ": " + ec.message());
    }

    awaitable<error_code> try_write(std::string data) {
        error_code ec;
        std::size_t n = 0;
        if (tls) std::tie(ec, n) = co_await asio::async_write(stream, asio::buffer(data), tuple_awaitable);
        else std::tie(ec, n) = co_await asio::async_write(socket(), asio::buffer(data), tuple_awaitable);
        co_return ec;
    }

    awaitable<error_code> try_read_line(std::string& line) {
        auto buf = asio::dynamic_buffer(rbuf, max_reply_line);
        error_code ec;
        std::size_t n = 0;
        if (tls) std::tie(ec, n) = co_await asio::async_read_until(stream, buf, "\r\n", tuple_awaitable);
        else std::tie(ec, n) = co_await asio::async_read_until(socket(), buf, "\r\n", tuple_awaitable);
        if (ec) co_return ec;
        line.assign(rbuf, 0, n - 2);
        rbuf.erase(0, n);
        co_return ec;
    }

    awaitable<void> write(std::string data) {
        if (auto ec = co_await try_write(std::move(data))) io_failed(ec);
    }

    // A complete (possibly multi-line) reply.
    awaitable<reply> read_reply() {
        reply r;
        for (;;) {
            std::string line;
            if (auto ec = co_await try_read_line(line)) io_failed(ec);
            bool digits = line.size() >= 3 && std::isdigit(static_cast<unsigned char>(line[0])) &&
                          std::isdigit(static_cast<unsigned char>(line[1])) &&
                          std::isdigit(static_cast<unsigned char>(line[2]));
            bool sep_ok = line.size() == 3 || line[3] == ' ' || line[3] == '-';
            if (!digits || !sep_ok)
                throw smtp_failure(
                    errc::unexpected, stage + ": malformed reply line \"" + line.substr(0, 80) + "\""
                );
            int code = std::stoi(line.substr(0, 3));
            if (r.code != 0 && code != r.code)
                throw smtp_failure(errc::unexpected, stage + ": inconsistent multi-line reply");
            r.code = code;
            r.lines.push_back(line.size() > 4 ? line.substr(4) : std::string());
            if (line.size() == 3 || line[3] == ' ') co_return r;
            if (r.lines.size() >= max_reply_lines)
                throw smtp_failure(errc::unexpected, stage + ": reply too long");
        }
    }

    // Sends one command line and reads its reply. `stage_name` names the step in errors (never the
    // command itself, which may carry credentials).
    awaitable<reply> command(std::string line, std::string stage_name) {
        stage = std::move(stage_name);
        co_await write(std::move(line) + "\r\n");
        co_return co_await read_reply();
    }

    // TLS client handshake with SNI and host name (or IP address) verification.
    awaitable<void> handshake() {
        stage = "TLS handshake";
        SSL* ssl_handle = stream.native_handle();
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
        error_code addr_ec;
        asio::ip::make_address(host, addr_ec);
        if (!addr_ec) {
            X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
        } else {
            SSL_set_tlsext_host_name(ssl_handle, host.c_str());
            X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
        }
        stream.set_verify_mode(ssl::verify_peer);
        auto [ec] = co_await stream.async_handshake(ssl::stream_base::client, tuple_awaitable);
        if (ec) {
            long vr = SSL_get_verify_result(ssl_handle);
            if (!timed_out && vr != X509_V_OK)
                throw smtp_failure(
                    errc::rejected, "TLS certificate verification failed for " + host + ": " +
                                            X509_verify_cert_error_string(vr)
                );
            io_failed(ec);
        }
        tls = true;
    }

    // RFC 5321 4.1.4: the client names itself; an address literal of our end is always valid.
    std::string ehlo_name() {
        error_code ec;
        auto ep = socket().local_endpoint(ec);
        if (ec) return "localhost";
        auto addr = ep.address();
        if (addr.is_v4()) return "[" + addr.to_string() + "]";
        if (addr.to_v6().is_v4_mapped())
            return "[" + asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6()).to_string() + "]";
        return "[IPv6:" + addr.to_string() + "]";
    }
};

// Accepts any 2xx (or exactly `want` when given); otherwise 4xx -> transient, 5xx -> permanent,
// anything else -> transient (a server speaking something we do not understand may be fixed later).
void expect(const reply& r, std::string_view what, int want = 0) {
    if (want ? r.code == want : r.code / 100 == 2) return;
    std::string detail = std::string(what) + " rejected: " + r.text();
    if (r.code / 100 == 5) throw smtp_failure(errc::rejected, detail);
    if (r.code / 100 == 4) throw smtp_failure(errc::unavailable, detail);
    throw smtp_failure(errc::unexpected, std::string(what) + ": unexpected reply " + r.text());
}

capabilities parse_capabilities(const reply& r) {
    capabilities caps;
    for (std::size_t i = 1; i < r.lines.size(); ++i) {
        std::string line = upper(r.lines[i]);
        std::string_view keyword(line);
        std::string_view params;
        if (auto sp = keyword.find_first_of(" ="); sp != std::string_view::npos) {
            params = keyword.substr(sp + 1);
            keyword = keyword.substr(0, sp);
        }
        if (keyword == "STARTTLS") caps.starttls = true;
        if (keyword == "AUTH") {
            std::size_t pos = 0;
            while (pos < params.size()) {
                auto end = params.find(' ', pos);
                if (end == std::string_view::npos) end = params.size();
                auto mech = params.substr(pos, end - pos);
                if (mech == "PLAIN") caps.auth_plain = true;
                if (mech == "LOGIN") caps.auth_login = true;
                pos = end + 1;
            }
        }
    }
    return caps;
}

class smtp_channel final : public channel {
public:
    explicit smtp_channel(const channel_settings& s) : settings_(s), ssl_(ssl::context::tls_client) {
        if (auto u = parse_url(s.url)) {
            url_ = *u;
        } else {
            // Echo the url only when it cannot carry credentials (user:password@host).
            std::string shown = s.url.find('@') == std::string::npos ? " \"" + s.url + "\"" : "";
            config_error_ = "invalid smtp url" + shown + " (want smtp://host[:port] or smtps://host[:port])";
        }

        SSL_CTX_set_min_proto_version(ssl_.native_handle(), TLS1_2_VERSION);
        error_code ec;
        ssl_.set_default_verify_paths(ec);
        if (!s.ca_file.empty()) {
            ssl_.load_verify_file(s.ca_file, ec);
            if (ec) config_error_ = "cannot load ca_file " + s.ca_file + ": " + ec.message();
        }
        ssl_.set_verify_mode(ssl::verify_peer);

        if (!s.password.empty()) {
            secrets_.push_back(s.password);
            secrets_.push_back(mime::base64(s.password));
            secrets_.push_back(plain_token());
        }
        if (!s.username.empty() && !s.starttls && !url_.implicit_tls)
            log::warn(
                "smtp_plaintext_auth", {{"channel", s.name}, {"reason", "credentials are sent without TLS"}}
            );
    }

    const std::string& name() const override { return settings_.name; }

    awaitable<send_result> send(const message& m) override {
        send_result result;
        std::string mail;
        std::string from;
        std::vector<std::string> rcpt;
        if (auto problem = prepare(m, mail, from, rcpt)) {
            result = {errc::invalid, *problem};
            log_result(result);
            co_return result;
        }

        auto ex = co_await asio::this_coro::executor;
        auto conn = std::make_shared<connection>(ex, ssl_, url_.host, settings_.timeout_ms);
        connection::arm(conn);
        try {
            result.detail = co_await converse(conn, std::move(mail), std::move(from), std::move(rcpt));
            result.failed.reset();
        } catch (const smtp_failure& f) {
            result = {f.kind, f.what()};
        } catch (const boost::system::system_error& e) {
            result = {errc::unavailable, conn->stage + ": " + e.code().message()};
        }
        conn->close();
        result.detail = scrub(std::move(result.detail));
        log_result(result);
        co_return result;
    }

private:
    std::string plain_token() const {
        std::string raw;
        raw.push_back('\0');
        raw += settings_.username;
        raw.push_back('\0');
        raw += settings_.password;
        return mime::base64(raw);
    }

    // Builds the message and the envelope; returns the reason when the configuration or message is unusable.
    std::optional<std::string> prepare(const message& m, std::string& mail, std::string& from,
                                       std::vector<std::string>& rcpt) const {
        if (!config_error_.empty()) return config_error_;
        auto f = mime::addr_spec(settings_.from);
        if (!f) return "invalid from address \"" + settings_.from + "\"";
        from = *f;
        if (settings_.to.empty()) return std::string("no recipients configured");
        for (const auto& t : settings_.to) {
            auto a = mime::addr_spec(t);
            if (!a) return "invalid recipient address \"" + t + "\"";
            rcpt.push_back(*a);
        }
        mime::mail_fields fields;
        fields.from = settings_.from;
        fields.to = settings_.to;
        fields.subject = m.subject;
        fields.body = m.body;
        fields.message_id = m.message_id;
        fields.idempotency_key = m.idempotency_key;
        fields.date = std::time(nullptr);
        mail = mime::dot_stuff(mime::compose(fields)) + ".\r\n";
        return std::nullopt;
    }

    // The conversation up to the server's acceptance of DATA; returns that reply's text.
    awaitable<std::string> converse(std::shared_ptr<connection> c, std::string mail, std::string from,
                                    std::vector<std::string> rcpt) {
        auto [rec, results] =
            co_await c->resolver.async_resolve(c->host, std::to_string(url_.port), tuple_awaitable);
        if (rec) c->io_failed(rec);
        c->stage = "connect to " + c->host + ":" + std::to_string(url_.port);
        error_code cec = asio::error::host_not_found;
        for (const auto& entry : results) {
            if (c->timed_out) break;
            error_code ignored;
            c->socket().close(ignored);
            std::tie(cec) = co_await c->socket().async_connect(entry.endpoint(), tuple_awaitable);
            if (!cec) break;
        }
        if (cec || c->timed_out) c->io_failed(cec ? cec : asio::error::timed_out);

        if (url_.implicit_tls) co_await c->handshake();
        c->stage = "greeting";
        expect(co_await c->read_reply(), "greeting");

        capabilities caps = co_await ehlo(*c);
        if (settings_.starttls && !c->tls) {
            if (!caps.starttls)
                throw smtp_failure(errc::invalid, "server does not offer STARTTLS (\"starttls\": true)");
            expect(co_await c->command("STARTTLS", "STARTTLS"), "STARTTLS");
            // RFC 3207 section 6: anything already buffered was sent in the clear and must not be trusted.
            if (!c->rbuf.empty())
                throw smtp_failure(errc::unexpected, "STARTTLS: unexpected data after the reply");
            co_await c->handshake();
            caps = co_await ehlo(*c);
        }

        if (!settings_.username.empty()) {
            if (caps.auth_plain) {
                expect(co_await c->command("AUTH PLAIN " + plain_token(), "AUTH PLAIN"), "AUTH PLAIN");
            } else if (caps.auth_login) {
                expect(co_await c->command("AUTH LOGIN", "AUTH LOGIN"), "AUTH LOGIN", 334);
                expect(
                    co_await c->command(mime::base64(settings_.username), "AUTH LOGIN"), "AUTH LOGIN", 334
                );
                expect(co_await c->command(mime::base64(settings_.password), "AUTH LOGIN"), "AUTH LOGIN");
            } else {
                throw smtp_failure(errc::invalid, "server does not advertise AUTH PLAIN or LOGIN");
            }
        }

        expect(co_await c->command("MAIL FROM:<" + from + ">", "MAIL FROM"), "MAIL FROM:<" + from + ">");
        for (const auto& r : rcpt)
            expect(co_await c->command("RCPT TO:<" + r + ">", "RCPT TO"), "RCPT TO:<" + r + ">");
        expect(co_await c->command("DATA", "DATA"), "DATA", 354);
        c->stage = "message content";
        co_await c->write(std::move(mail));
        reply accepted = co_await c->read_reply();
        expect(accepted, "message");

        // The server owns the message now: QUIT is a courtesy whose failure changes nothing.
        c->stage = "QUIT";
        if (!co_await c->try_write("QUIT\r\n")) {
            std::string line;
            co_await c->try_read_line(line);
        }
        co_return accepted.text();
    }

    // EHLO, falling back to HELO (no extensions) when the server rejects EHLO with 5xx.
    awaitable<capabilities> ehlo(connection& c) {
        std::string name = c.ehlo_name();
        reply r = co_await c.command("EHLO " + name, "EHLO");
        if (r.code / 100 == 5) {
            expect(co_await c.command("HELO " + name, "HELO"), "HELO");
            co_return capabilities{};
        }
        expect(r, "EHLO");
        co_return parse_capabilities(r);
    }

    std::string scrub(std::string detail) const {
        for (const auto& s : secrets_) {
            if (s.empty()) continue;
            for (auto pos = detail.find(s); pos != std::string::npos; pos = detail.find(s, pos + 3))
                detail.replace(pos, s.size(), "***");
        }
        return detail;
    }

    void log_result(const send_result& r) const {
        log::emit(r.sent() ? log::level::debug : log::level::info, "smtp_send",
                  {{"channel", settings_.name}, {"outcome", to_string(r)}, {"detail", r.detail}});
    }

    channel_settings settings_;
    smtp_url url_;
    std::string config_error_;
    ssl::context ssl_;
    std::vector<std::string> secrets_;  // scrubbed from every detail
};

}  // namespace

std::unique_ptr<channel> make_smtp_channel(const channel_settings& s) {
    return std::make_unique<smtp_channel>(s);
}

}  // namespace spacehook::notify
