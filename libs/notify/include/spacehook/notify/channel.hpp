// Notification channels: where a rule's `notify` action sends its rendered subject and body.
// Several real implementations (SMTP, HTTP chat, log) sit behind one interface; channels are built from
// channel_settings (the loader maps the config's "channels" onto them) and are safe to share: concurrent send() calls do not interfere.
#ifndef SPACEHOOK_NOTIFY_CHANNEL_HPP
#define SPACEHOOK_NOTIFY_CHANNEL_HPP

#include "spacehook/core/asio.hpp"
#include "spacehook/core/error.hpp"

#include <cstdint>
#include <optional>
#include <vector>

#include <memory>
#include <string>
#include <string_view>

namespace spacehook::notify {

enum class channel_type { smtp, http, log };
std::string_view to_string(channel_type t);  // "smtp", "http", "log"

enum class chat_format { raw, slack, teams };

struct channel_settings {
    std::string name;
    channel_type type = channel_type::log;
    std::string url;                  // smtp://host:port (smtps:// for implicit TLS) or http(s)://...
    bool starttls = false;            // smtp: upgrade with STARTTLS (required when true)
    std::string username, password;   // smtp AUTH (PLAIN, else LOGIN)
    std::string from;                 // smtp envelope and From:
    std::vector<std::string> to;      // smtp recipients
    chat_format format = chat_format::raw;  // http: body shape
    std::string ca_file;              // extra CA bundle for TLS
    std::int64_t timeout_ms = 30000;
};

struct message {
    std::string subject;  // UTF-8, one line (CR/LF are folded into spaces by channels that need one line)
    std::string body;             // UTF-8 plain text, any line endings
    std::string message_id;       // e.g. "<job-12.step-1@spacehook>": a resend carries the same id
    std::string idempotency_key;  // e.g. "job-12.step-1"
};

// Sent (the peer took responsibility for the message), or why not, in the project's vocabulary
// (core/error.hpp decides what is retried).
struct send_result {
    std::optional<errc> failed;  // empty: sent
    std::string detail;          // the server's reply or the error reason; never contains a secret

    bool sent() const { return !failed; }
};

std::string_view to_string(const send_result& r);  // "sent", else to_string(*r.failed)

class channel {
public:
    virtual ~channel() = default;
    virtual const std::string& name() const = 0;
    // Runs on the caller's executor; never throws for network/protocol failures (returns them). `m` must stay alive until the returned awaitable completes (co_await it in the
    // same full expression).
    virtual awaitable<send_result> send(const message& m) = 0;
};

// SMTP submission (docs/contract.md §2, type "smtp"): smtp://host[:port] (default 25, STARTTLS when
// s.starttls) or smtps://host[:port] (implicit TLS, default 465). AUTH PLAIN, else LOGIN, when
// s.username is set; AUTH is never sent unencrypted when s.starttls is true. The peer certificate is
// verified against the system store plus s.ca_file, and against the host name (or IP literal).
// s.timeout_ms bounds the whole conversation. 4xx and network/TLS handshake failures -> unavailable, the
// deadline -> timed_out, a reply that is not SMTP -> unexpected, 5xx and certificate verification failure ->
// rejected, a bad url/addresses or a server without a required extension -> invalid.
// A message the server accepted (250 after DATA) is `sent` even if QUIT then fails.
std::unique_ptr<channel> make_smtp_channel(const channel_settings& s);

// Writes one log line `notify` {channel, subject, body, message_id}; always `sent`.
std::unique_ptr<channel> make_log_channel(const channel_settings& s);

}  // namespace spacehook::notify

#endif
