// Internet message formatting for the SMTP channel (RFC 5322 headers, RFC 2045 transfer encodings,
// RFC 2047 encoded-words, RFC 5321 dot-stuffing). Pure functions; defined in channel.cpp.
#ifndef SPACEHOOK_NOTIFY_MIME_HPP
#define SPACEHOOK_NOTIFY_MIME_HPP

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spacehook::notify::mime {

inline constexpr std::size_t max_header_line = 78;  // RFC 5322 2.1.1 "SHOULD" limit, without CRLF

std::string base64(std::string_view bytes);

// Turns every CR, LF and CRLF into CRLF; the result ends with CRLF unless it is empty.
std::string normalize_crlf(std::string_view text);

// RFC 5321 4.5.2: a '.' is prepended to every line that starts with '.'. `crlf_text` uses CRLF.
std::string dot_stuff(std::string_view crlf_text);

// RFC 2045 6.7 quoted-printable of CRLF text (lines kept as hard breaks, soft breaks at 76 columns).
std::string quoted_printable(std::string_view crlf_text);

// "Name: value\r\n", folded so no line exceeds max_header_line where possible. The value is sent as
// UTF-8 base64 encoded-words (RFC 2047) when it is not printable ASCII, contains "=?", or cannot be
// folded at spaces. CR, LF and TAB in `value` become spaces.
std::string unstructured_header(std::string_view name, std::string_view value);

// "Name: a@x, Name <b@y>\r\n" (each through mailbox()) folded after commas. The mailboxes must already
// have passed addr_spec().
std::string address_header(std::string_view name, const std::vector<std::string>& mailboxes);

// The addr-spec of "local@domain" or "Display Name <local@domain>", or nullopt when the addr-spec is empty,
// not ASCII, has no '@', or contains characters that could break the SMTP command or header (spaces,
// '<', '>', '"'), or the mailbox contains a control character (CR, LF, ...).
std::optional<std::string> addr_spec(std::string_view mailbox);

// A configured mailbox as header text: the display name is quoted when it has RFC 5322 specials and sent
// as encoded-words when it is not ASCII; the addr-spec is kept as is.
std::string mailbox(std::string_view configured);

// RFC 5322 3.3 date-time in UTC: "Tue, 10 Jun 2025 09:15:42 +0000".
std::string date(std::time_t t);

// "<left@right>" from `id` with bytes outside printable ASCII and stray angle brackets removed
// ("@spacehook" is appended when there is no '@'); a fresh unique id when `id` is empty.
std::string message_id(std::string_view id);

struct composed {
    std::string headers_and_body;  // CRLF, not yet dot-stuffed, ends with CRLF
};

struct mail_fields {
    std::string from;              // mailbox as configured
    std::vector<std::string> to;   // mailboxes as configured
    std::string subject, body, message_id, idempotency_key;
    std::time_t date = 0;
};

// The whole RFC 5322 message: From, To, Subject, Date, Message-ID, MIME-Version, Content-Type,
// Content-Transfer-Encoding (7bit for short-lined ASCII, else quoted-printable),
// X-Spacehook-Idempotency-Key (when set), blank line, body.
std::string compose(const mail_fields& f);

}  // namespace spacehook::notify::mime

#endif
