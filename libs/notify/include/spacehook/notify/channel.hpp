// Notification channels: where a rule's `notify` action sends its rendered subject and body.
// Several real implementations (SMTP, HTTP chat, log) sit behind one interface; channels are built from
// config::channel_settings and are safe to share: concurrent send() calls do not interfere.
#ifndef SPACEHOOK_NOTIFY_CHANNEL_HPP
#define SPACEHOOK_NOTIFY_CHANNEL_HPP

#include "spacehook/config/settings.hpp"
#include "spacehook/core/asio.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace spacehook::notify {

struct message {
    std::string subject;  // UTF-8, one line (CR/LF are folded into spaces by channels that need one line)
    std::string body;             // UTF-8 plain text, any line endings
    std::string message_id;       // e.g. "<job-12.step-1@spacehook>": a resend carries the same id
    std::string idempotency_key;  // e.g. "job-12.step-1"
};

// sent: the peer took responsibility for the message. transient: worth retrying later (4xx, network,
// timeout, TLS handshake). permanent: retrying the same message will not help (5xx, bad config,
// certificate verification failure).
enum class outcome { sent, transient, permanent };

struct send_result {
    outcome kind = outcome::sent;
    std::string detail;  // the server's reply or the error reason; never contains a secret
};

std::string_view to_string(outcome o);  // "sent", "transient", "permanent"

class channel {
public:
    virtual ~channel() = default;
    virtual const std::string& name() const = 0;
    // Runs on the caller's executor; never throws for network/protocol failures (returns
    // transient/permanent). `m` must stay alive until the returned awaitable completes (co_await it in the
    // same full expression).
    virtual awaitable<send_result> send(const message& m) = 0;
};

// SMTP submission (docs/contract.md §2, type "smtp"): smtp://host[:port] (default 25, STARTTLS when
// s.starttls) or smtps://host[:port] (implicit TLS, default 465). AUTH PLAIN, else LOGIN, when
// s.username is set; AUTH is never sent unencrypted when s.starttls is true. The peer certificate is
// verified against the system store plus s.ca_file, and against the host name (or IP literal).
// s.timeout_ms bounds the whole conversation. 4xx -> transient, 5xx -> permanent, network/timeout/TLS
// handshake -> transient, certificate verification failure or bad url/addresses -> permanent.
// A message the server accepted (250 after DATA) is `sent` even if QUIT then fails.
std::unique_ptr<channel> make_smtp_channel(const config::channel_settings& s);

// Writes one log line `notify` {channel, subject, body, message_id}; always `sent`.
std::unique_ptr<channel> make_log_channel(const config::channel_settings& s);

}  // namespace spacehook::notify

#endif
