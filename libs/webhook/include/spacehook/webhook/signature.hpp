// DocSpace webhook signatures (docs/docspace-protocol.md §1): header x-docspace-signature-256 carries
// "sha256=" + HMAC-SHA256(secret, raw body) as 64 hex digits; DocSpace sends UPPERCASE hex.
#ifndef SPACEHOOK_WEBHOOK_SIGNATURE_HPP
#define SPACEHOOK_WEBHOOK_SIGNATURE_HPP

#include <span>
#include <string>
#include <string_view>

namespace spacehook::webhook {

inline constexpr std::string_view signature_header = "x-docspace-signature-256";

// The header value DocSpace would send for `body`: "sha256=" + 64 uppercase hex digits. Throws
// std::runtime_error when OpenSSL refuses the key (a FIPS provider rejects keys under 14 bytes).
std::string sign(std::string_view secret, std::string_view body);

// True when `header_value` is "sha256=<64 hex>" (prefix and hex in either case, surrounding blanks ignored) and
// matches the HMAC of `body` under any of `secrets`. The comparison runs in constant time with respect to
// the digest bytes, and every secret is tried (no early exit that would reveal which one matched).
// A secret OpenSSL refuses to use matches nothing (fail closed).
bool verify(std::span<const std::string> secrets, std::string_view body, std::string_view header_value);

// Constant-time equality of a presented credential (e.g. an admin bearer token) and the expected one: both are
// hashed with SHA-256 and the digests compared with CRYPTO_memcmp, so the time taken shows neither the
// expected length nor the length of a common prefix.
bool same_token(std::string_view presented, std::string_view expected);

}  // namespace spacehook::webhook

#endif
