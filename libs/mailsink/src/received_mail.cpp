// Reading back what the sink received: header lookup (RFC 5322 unfolding), RFC 2047 encoded-words and
// RFC 2045 transfer encodings. Written independently of the SMTP channel's encoder on purpose.
#include "spacehook/mailsink/smtp_sink.hpp"

#include "spacehook/core/hex.hpp"

#include <cstdint>

namespace spacehook::mailsink {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

// RFC 2045 6.7 (soft breaks "=\r\n", "=XX"); `underscore_is_space` gives RFC 2047's Q encoding.
std::string qp_decode(std::string_view in, bool underscore_is_space) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '_' && underscore_is_space) {
            out.push_back(' ');
        } else if (c == '=') {
            std::size_t j = i + 1;
            while (j < in.size() && (in[j] == ' ' || in[j] == '\t')) ++j;  // transport padding
            if (in.substr(j, 2) == "\r\n") {
                i = j + 1;
            } else if (i + 2 < in.size() && hex::digit_value(in[i + 1]) >= 0 && hex::digit_value(in[i + 2]) >= 0) {
                out.push_back(static_cast<char>(hex::digit_value(in[i + 1]) * 16 + hex::digit_value(in[i + 2])));
                i += 2;
            } else {
                out.push_back(c);
            }
        } else {
            out.push_back(c);
        }
    }
    return out;
}

// "=?charset?B|Q?text?=" at the start of `s`: the decoded bytes and the length consumed.
bool decode_word(std::string_view s, std::string& decoded, std::size_t& used) {
    if (!s.starts_with("=?")) return false;
    auto q1 = s.find('?', 2);
    if (q1 == std::string_view::npos || q1 + 2 >= s.size() || s[q1 + 2] != '?') return false;
    char enc = lower(s[q1 + 1]);
    auto end = s.find("?=", q1 + 3);
    if (end == std::string_view::npos) return false;
    std::string_view text = s.substr(q1 + 3, end - q1 - 3);
    if (text.find(' ') != std::string_view::npos) return false;
    if (enc == 'b') decoded = base64::decode_lenient(text);
    else if (enc == 'q') decoded = qp_decode(text, true);
    else return false;
    used = end + 2;
    return true;
}

std::string_view header_block(std::string_view data) {
    if (data.starts_with("\r\n")) return {};
    auto end = data.find("\r\n\r\n");
    return end == std::string_view::npos ? data : data.substr(0, end + 2);
}

}  // namespace

std::string received_mail::header(std::string_view name) const {
    std::string_view block = header_block(data);
    std::size_t pos = 0;
    while (pos < block.size()) {
        // One field: its first line plus continuation lines that start with SP or HT.
        std::size_t end = pos;
        do {
            end = block.find("\r\n", end);
            if (end == std::string_view::npos) end = block.size();
            else end += 2;
        } while (end < block.size() && (block[end] == ' ' || block[end] == '\t'));
        std::string_view field = block.substr(pos, end - pos);
        pos = end;
        auto colon = field.find(':');
        if (colon == std::string_view::npos || !iequals(field.substr(0, colon), name)) continue;
        std::string value;
        for (std::size_t i = colon + 1; i < field.size(); ++i)
            if (field[i] != '\r' && field[i] != '\n') value.push_back(field[i]);
        std::size_t first = value.find_first_not_of(" \t");
        return first == std::string::npos ? std::string() : value.substr(first);
    }
    return {};
}

std::string received_mail::decoded_subject() const {
    std::string raw = header("Subject");
    std::string_view s(raw);
    std::string out, pending_space;
    bool after_word = false;
    std::size_t pos = 0;
    while (pos < s.size()) {
        std::string decoded;
        std::size_t used = 0;
        if (decode_word(s.substr(pos), decoded, used)) {
            if (!after_word) out += pending_space;  // whitespace between encoded-words is dropped
            pending_space.clear();
            out += decoded;
            after_word = true;
            pos += used;
        } else if (s[pos] == ' ' || s[pos] == '\t') {
            pending_space.push_back(s[pos++]);
        } else {
            out += pending_space;
            pending_space.clear();
            out.push_back(s[pos++]);
            after_word = false;
        }
    }
    return out + pending_space;
}

std::string received_mail::decoded_body() const {
    std::string_view d(data);
    std::size_t start = d.starts_with("\r\n") ? 2 : d.find("\r\n\r\n");
    if (start == std::string_view::npos) return {};
    if (start != 2) start += 4;
    std::string_view body = d.substr(start);
    std::string cte = header("Content-Transfer-Encoding");
    for (auto& c : cte) c = lower(c);
    while (!cte.empty() && (cte.back() == ' ' || cte.back() == '\t')) cte.pop_back();
    if (cte == "base64") return base64::decode_lenient(body);
    if (cte == "quoted-printable") return qp_decode(body, false);
    return std::string(body);
}

}  // namespace spacehook::mailsink
