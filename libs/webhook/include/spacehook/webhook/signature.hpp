// DocSpace webhook signatures (docs/docspace-protocol.md §1): header x-docspace-signature-256 carries
// "sha256=" + HMAC-SHA256(secret, raw body) as 64 hex digits; DocSpace sends UPPERCASE hex.
#ifndef SPACEHOOK_WEBHOOK_SIGNATURE_HPP
#define SPACEHOOK_WEBHOOK_SIGNATURE_HPP

#include <array>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace spacehook::webhook {

inline constexpr std::string_view signature_header = "x-docspace-signature-256";

// A secret made ready for HMAC-SHA256 (RFC 2104): the SHA-256 states after the key's inner and outer padded
// blocks, computed once. mac() then copies a state and hashes the body and the inner digest: no key schedule,
// digest fetch or MAC context per delivery. Immutable after construction: mac() may run on several threads.
class hmac_key {
public:
    using digest = std::array<unsigned char, 32>;
    // Throws std::runtime_error when OpenSSL cannot make a SHA-256 context.
    explicit hmac_key(std::string_view secret);
    ~hmac_key();
    hmac_key(hmac_key&&) noexcept;
    hmac_key& operator=(hmac_key&&) noexcept;
    // HMAC-SHA256(secret, body); nullopt when OpenSSL fails (an allocation): callers must fail closed.
    std::optional<digest> mac(std::string_view body) const;

private:
    struct states;
    std::unique_ptr<states> s_;
};

// The header value DocSpace would send for `body`: "sha256=" + 64 uppercase hex digits. Throws
// std::runtime_error when OpenSSL fails (an allocation).
std::string sign(std::string_view secret, std::string_view body);

// True when `header_value` is "sha256=<64 hex>" (prefix and hex in either case, surrounding blanks ignored) and
// matches the HMAC of `body` under any of `secrets`. The comparison runs in constant time with respect to
// the digest bytes, and every secret is tried (no early exit that would reveal which one matched).
// A secret OpenSSL cannot prepare or use (an allocation failure) matches nothing (fail closed).
bool verify(std::span<const std::string> secrets, std::string_view body, std::string_view header_value);
// The same, with the secrets prepared once (the front door's, per configuration).
bool verify(std::span<const hmac_key> keys, std::string_view body, std::string_view header_value);

// Constant-time equality of a presented credential (e.g. an admin bearer token) and the expected one: both are
// hashed with SHA-256 and the digests compared with CRYPTO_memcmp, so the time taken shows neither the
// expected length nor the length of a common prefix.
bool same_token(std::string_view presented, std::string_view expected);

}  // namespace spacehook::webhook

#endif
