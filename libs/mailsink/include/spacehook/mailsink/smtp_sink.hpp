// A real SMTP server on 127.0.0.1 that keeps what it receives in memory: the peer of the SMTP channel in
// the integration tests and the mail server of `spacehook demo`. It speaks EHLO/HELO, STARTTLS (with a
// self-signed certificate made at start), AUTH PLAIN and LOGIN, MAIL, RCPT, DATA, RSET, NOOP and QUIT, and
// can be told to misbehave (drop connections mid-DATA, reject recipients with 4xx).
#ifndef SPACEHOOK_MAILSINK_SMTP_SINK_HPP
#define SPACEHOOK_MAILSINK_SMTP_SINK_HPP

#include "spacehook/core/asio.hpp"

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace spacehook::mailsink {

namespace detail {
struct sink_state;
}

struct received_mail {
    std::string helo;                  // argument of the last EHLO/HELO
    std::string mail_from;             // the address inside MAIL FROM:<...>
    std::vector<std::string> rcpt_to;  // the addresses inside RCPT TO:<...>, in order
    std::string data;                  // the message as sent, un-dot-stuffed, CRLF line endings
    std::string auth_user;             // empty unless the session authenticated
    bool tls = false;                  // the message travelled over TLS (after STARTTLS)

    // The first header field named `name` (case-insensitive), unfolded, as raw text (encoded-words are
    // left encoded); empty when absent.
    std::string header(std::string_view name) const;
    // The Subject with RFC 2047 encoded-words (B and Q) decoded; the charset is assumed to be UTF-8.
    std::string decoded_subject() const;
    // The body after the header block, decoded per Content-Transfer-Encoding (base64, quoted-printable,
    // or as is), CRLF line endings.
    std::string decoded_body() const;
};

struct sink_options {
    bool offer_starttls = false;  // advertise STARTTLS (a certificate is generated at construction)
    bool implicit_tls = false;    // TLS from the first byte, as on port 465 (smtps://)
    bool require_auth = false;    // MAIL FROM is refused (530) until AUTH succeeds
    std::string user, password;   // credentials AUTH accepts; AUTH is advertised when user is set or required
    std::string auth_mechanisms = "PLAIN LOGIN";  // as advertised in EHLO; others get 504
    // > 0: after that many DATA bytes the connection is closed abruptly (RST, no reply), `drop_times`
    // times over the life of the sink (0 with drop_after_data_bytes > 0: every time).
    std::size_t drop_after_data_bytes = 0;
    int drop_times = 0;
    int reject_rcpt_4xx_times = 0;      // the first N RCPT commands get "451 4.3.0", later ones succeed
    std::int64_t command_timeout_ms = 30000;  // a client silent for this long is disconnected
    std::size_t max_message_bytes = 10 * 1024 * 1024;  // larger DATA gets 552
    bool reject_ehlo = false;  // answer EHLO with 502 like an RFC 821 server (HELO still works)
};

// Runs on one io_context driven by one thread (the sessions are not synchronised with each other beyond
// the counters and the message list); destroy the sink before `ctx`.
class smtp_sink {
public:
    // Listens on 127.0.0.1:0 at once; sessions run on `ctx`. Throws if it cannot listen or make a
    // certificate.
    smtp_sink(asio::io_context& ctx, sink_options options = {});
    ~smtp_sink();  // stop()
    smtp_sink(const smtp_sink&) = delete;
    smtp_sink& operator=(const smtp_sink&) = delete;

    std::uint16_t port() const;
    // The self-signed certificate (PEM; SAN IP:127.0.0.1 and DNS:localhost) when offer_starttls or
    // implicit_tls, else empty.
    std::string cert_pem() const;

    // Messages accepted so far (thread-safe).
    std::vector<received_mail> messages() const;
    std::size_t count() const;
    // Connections accepted so far (thread-safe).
    std::size_t connections() const;

    // Closes the listener and every open session. Safe from any thread; idempotent.
    void stop();

private:
    std::shared_ptr<detail::sink_state> state_;
};

}  // namespace spacehook::mailsink

#endif
