#include "spacehook/notify/channel.hpp"

#include "mime.hpp"
#include "spacehook/core/clock.hpp"
#include "spacehook/core/hex.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <atomic>
#include <cstdio>

namespace spacehook::notify {

std::string_view to_string(channel_type t) {
    switch (t) {
    case channel_type::smtp: return "smtp";
    case channel_type::http: return "http";
    case channel_type::log: return "log";
    }
    return "?";
}

std::string_view to_string(const send_result& r) { return r.failed ? to_string(*r.failed) : "sent"; }

namespace mime {
namespace {

bool is_printable_ascii(std::string_view s) {
    for (unsigned char c : s)
        if (c < 0x20 || c > 0x7e) return false;
    return true;
}

std::string_view trim_spaces(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

// Value with CR, LF and TAB turned into single spaces (a CRLF pair becomes one space).
std::string one_line(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
        char c = value[i];
        if (c == '\r' && i + 1 < value.size() && value[i + 1] == '\n') ++i;
        out.push_back(c == '\r' || c == '\n' || c == '\t' ? ' ' : c);
    }
    return out;
}

// Folds "Name: value" before spaces; nullopt when some line would still exceed max_header_line.
std::optional<std::string> fold_at_spaces(std::string_view name, std::string_view value) {
    std::string out(name);
    out += ": ";
    std::size_t line_len = out.size();
    const std::size_t first_len = line_len;
    std::size_t pos = 0;
    while (pos < value.size()) {
        std::size_t next = value.find(' ', pos + 1);
        if (next == std::string_view::npos) next = value.size();
        std::string_view piece = value.substr(pos, next - pos);
        if (line_len + piece.size() > max_header_line && line_len > first_len && piece.front() == ' ') {
            out += "\r\n";
            line_len = 0;
        }
        out += piece;
        line_len += piece.size();
        if (line_len > max_header_line) return std::nullopt;
        pos = next;
    }
    out += "\r\n";
    return out;
}

// RFC 2047 B encoded-words, one per line, never splitting a UTF-8 sequence.
std::string encoded_words(std::string_view name, std::string_view value) {
    constexpr std::string_view open = "=?UTF-8?B?", close = "?=";
    constexpr std::size_t max_word = 75;  // RFC 2047 section 2
    std::string out(name);
    out += ":";
    std::size_t prefix = out.size() + 1;  // the space before the word
    std::size_t pos = 0;
    while (pos < value.size()) {
        std::size_t room = std::min(max_header_line - prefix, max_word) - open.size() - close.size();
        std::size_t max_bytes = room / 4 * 3;
        std::size_t end = std::min(value.size(), pos + max_bytes);
        if (end < value.size())
            while (end > pos + 1 && (static_cast<unsigned char>(value[end]) & 0xC0) == 0x80) --end;
        if (pos > 0) out += "\r\n";
        out += ' ';
        out += open;
        out += base64(value.substr(pos, end - pos));
        out += close;
        pos = end;
        prefix = 1;
    }
    out += "\r\n";
    return out;
}

bool fits_7bit(std::string_view crlf_text) {
    std::size_t line_len = 0;
    for (std::size_t i = 0; i < crlf_text.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(crlf_text[i]);
        if (c == '\r' && i + 1 < crlf_text.size() && crlf_text[i + 1] == '\n') {
            ++i;
            line_len = 0;
            continue;
        }
        if (c == 0 || c > 0x7f || c == '\r' || c == '\n') return false;
        if (++line_len > 998) return false;
    }
    return true;
}

std::string random_hex(std::size_t bytes) {
    std::string raw(bytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size())) != 1) {
        static std::atomic<std::uint64_t> fallback{0};
        auto n = fallback.fetch_add(1) ^ static_cast<std::uint64_t>(clock::now_ms());
        for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<char>(n >> (8 * (i % 8)));
    }
    return hex::encode(raw);
}

}  // namespace

std::string base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    int n = EVP_EncodeBlock(
        reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(bytes.data()),
        static_cast<int>(bytes.size())
    );
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string normalize_crlf(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 32 + 2);
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '\r') {
            if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
            out += "\r\n";
        } else if (c == '\n') {
            out += "\r\n";
        } else {
            out.push_back(c);
        }
    }
    if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
    return out;
}

std::string dot_stuff(std::string_view crlf_text) {
    std::string out;
    out.reserve(crlf_text.size() + 16);
    bool line_start = true;
    for (std::size_t i = 0; i < crlf_text.size(); ++i) {
        char c = crlf_text[i];
        if (line_start && c == '.') out.push_back('.');
        out.push_back(c);
        line_start = c == '\n' && i > 0 && crlf_text[i - 1] == '\r';
    }
    return out;
}

std::string quoted_printable(std::string_view crlf_text) {
    static constexpr char digits[] = "0123456789ABCDEF";
    constexpr std::size_t max_col = 75;  // plus the '=' of a soft break makes RFC 2045's 76
    std::string out;
    out.reserve(crlf_text.size() * 3 / 2 + 8);
    std::size_t pos = 0;
    while (pos < crlf_text.size()) {
        std::size_t eol = crlf_text.find("\r\n", pos);
        bool has_eol = eol != std::string_view::npos;
        std::string_view line = crlf_text.substr(pos, (has_eol ? eol : crlf_text.size()) - pos);
        std::size_t col = 0;
        for (std::size_t i = 0; i < line.size(); ++i) {
            unsigned char c = static_cast<unsigned char>(line[i]);
            bool last = i + 1 == line.size();
            char tok[3];
            std::size_t len = 1;
            if ((c == ' ' || c == '\t') ? !last : (c >= 33 && c <= 126 && c != '=')) {
                tok[0] = static_cast<char>(c);
            } else {
                tok[0] = '=';
                tok[1] = digits[c >> 4];
                tok[2] = digits[c & 0x0f];
                len = 3;
            }
            if (col + len > max_col) {
                out += "=\r\n";
                col = 0;
            }
            out.append(tok, len);
            col += len;
        }
        if (has_eol) out += "\r\n";
        pos = has_eol ? eol + 2 : crlf_text.size();
    }
    return out;
}

std::string unstructured_header(std::string_view name, std::string_view value) {
    std::string clean = one_line(value);
    if (is_printable_ascii(clean) && clean.find("=?") == std::string::npos)
        if (auto folded = fold_at_spaces(name, clean)) return *folded;
    return encoded_words(name, clean);
}

std::string address_header(std::string_view name, const std::vector<std::string>& mailboxes) {
    std::string joined;
    for (const auto& m : mailboxes) {
        if (!joined.empty()) joined += ", ";
        joined += mailbox(m);
    }
    if (auto folded = fold_at_spaces(name, joined)) return *folded;
    return std::string(name) + ": " + joined + "\r\n";  // one overlong address: legal up to 998
}

std::optional<std::string> addr_spec(std::string_view mailbox) {
    std::string_view m = trim_spaces(mailbox);
    for (unsigned char c : m)
        if (c < 0x20 || c == 0x7f) return std::nullopt;
    std::string_view spec = m;
    if (auto lt = m.rfind('<'); lt != std::string_view::npos) {
        if (m.back() != '>') return std::nullopt;
        spec = m.substr(lt + 1, m.size() - lt - 2);
    }
    if (spec.empty() || !is_printable_ascii(spec) || spec.find_first_of(" <>\"") != std::string_view::npos)
        return std::nullopt;
    auto at = spec.rfind('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == spec.size()) return std::nullopt;
    return std::string(spec);
}

std::string mailbox(std::string_view configured) {
    std::string_view m = trim_spaces(configured);
    auto lt = m.rfind('<');
    if (lt == std::string_view::npos) return std::string(m);
    std::string_view display = trim_spaces(m.substr(0, lt));
    std::string_view angle = m.substr(lt);
    if (display.empty()) return std::string(angle);
    std::string out;
    if (!is_printable_ascii(display)) {
        // RFC 2047 section 5(3): encoded-words may stand for the words of a phrase.
        for (std::size_t pos = 0; pos < display.size();) {
            std::size_t end = std::min(display.size(), pos + 45);
            if (end < display.size())
                while (end > pos + 1 && (static_cast<unsigned char>(display[end]) & 0xC0) == 0x80) --end;
            if (!out.empty()) out += ' ';
            out += "=?UTF-8?B?" + base64(display.substr(pos, end - pos)) + "?=";
            pos = end;
        }
    } else if (display.size() >= 2 && display.front() == '"' && display.back() == '"') {
        out = display;
    } else if (display.find_first_of("()<>[]:;@\\,.\"") != std::string_view::npos) {
        out = "\"";
        for (char c : display) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    } else {
        out = display;
    }
    return out + " " + std::string(angle);
}

std::string date(std::time_t t) {
    static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
                  months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

std::string message_id(std::string_view id) {
    std::string clean;
    for (unsigned char c : id)
        if (c > 0x20 && c < 0x7f) clean.push_back(static_cast<char>(c));
    if (clean.starts_with('<')) clean.erase(0, 1);
    if (clean.ends_with('>')) clean.pop_back();
    std::erase_if(clean, [](char c) { return c == '<' || c == '>'; });
    if (clean.empty()) clean = random_hex(12) + "." + std::to_string(clock::now_ms()) + "@spacehook";
    if (clean.find('@') == std::string::npos) clean += "@spacehook";  // RFC 5322 3.6.4: id-left "@" id-right
    return "<" + clean + ">";
}

std::string compose(const mail_fields& f) {
    std::string body = normalize_crlf(f.body);
    bool seven_bit = fits_7bit(body);
    std::string out;
    out.reserve(body.size() * (seven_bit ? 1 : 2) + 512);
    out += "Date: " + date(f.date) + "\r\n";
    out += address_header("From", {f.from});
    out += address_header("To", f.to);
    out += unstructured_header("Subject", f.subject);
    out += "Message-ID: " + message_id(f.message_id) + "\r\n";
    out += "MIME-Version: 1.0\r\n";
    out += "Content-Type: text/plain; charset=UTF-8\r\n";
    out +=
        seven_bit ? "Content-Transfer-Encoding: 7bit\r\n" : "Content-Transfer-Encoding: quoted-printable\r\n";
    if (!f.idempotency_key.empty())
        out += unstructured_header("X-Spacehook-Idempotency-Key", f.idempotency_key);
    out += "\r\n";
    out += seven_bit ? body : quoted_printable(body);
    return out;
}

}  // namespace mime
}  // namespace spacehook::notify
