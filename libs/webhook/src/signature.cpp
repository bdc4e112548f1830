#include "spacehook/webhook/signature.hpp"

#include "spacehook/core/hex.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <optional>
#include <stdexcept>

namespace spacehook::webhook {
namespace {

using digest = std::array<unsigned char, 32>;

// Empty when OpenSSL refuses: an allocation failure, or a FIPS provider that rejects HMAC keys shorter than
// 112 bits (DocSpace allows 8-character secrets). Callers must fail closed: the zero-filled buffer of a
// failed call must never be compared, or "sha256=000...0" would pass.
std::optional<digest> hmac_sha256(std::string_view key, std::string_view body) {
    digest out{};
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(body.data()),
              body.size(), out.data(), &len) ||
        len != out.size())
        return std::nullopt;
    return out;
}

std::optional<digest> sha256(std::string_view bytes) {
    digest out{};
    unsigned int len = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 || len != out.size())
        return std::nullopt;
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Decodes exactly 64 hex digits (either case) into 32 bytes; false when malformed. Decoding first makes the
// comparison case-insensitive without branching on the secret-dependent digest.
bool decode_hex(std::string_view hex, digest& out) {
    if (hex.size() != out.size() * 2) return false;
    bool ok = true;
    for (std::size_t i = 0; i < out.size(); ++i) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        ok &= hi >= 0 && lo >= 0;
        out[i] = static_cast<unsigned char>(((hi & 0xF) << 4) | (lo & 0xF));
    }
    return ok;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

std::string sign(std::string_view secret, std::string_view body) {
    auto d = hmac_sha256(secret, body);
    if (!d) throw std::runtime_error("HMAC-SHA256 failed (OpenSSL refused the key; a FIPS provider needs 14+ bytes)");
    return "sha256=" + hex::encode(std::string_view(reinterpret_cast<const char*>(d->data()), d->size()),
                                   hex::letter_case::upper);
}

bool verify(std::span<const std::string> secrets, std::string_view body, std::string_view header_value) {
    auto v = trim(header_value);
    constexpr std::string_view prefix = "sha256=";
    if (v.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {  // the prefix itself is matched case-insensitively too
        // Only letters fold: OR-ing 0x20 into any byte would also let "sha2\x156=" or "sha256\x1d" through.
        const char c = v[i] >= 'A' && v[i] <= 'Z' ? static_cast<char>(v[i] - 'A' + 'a') : v[i];
        if (c != prefix[i]) return false;
    }
    digest received{};
    if (!decode_hex(v.substr(prefix.size()), received)) return false;
    bool any = false;
    for (const auto& secret : secrets) {
        auto expected = hmac_sha256(secret, body);
        if (!expected) continue;  // fail closed (see hmac_sha256)
        any |= CRYPTO_memcmp(expected->data(), received.data(), expected->size()) == 0;
    }
    return any;
}

bool same_token(std::string_view presented, std::string_view expected) {
    auto a = sha256(presented), b = sha256(expected);
    return a && b && CRYPTO_memcmp(a->data(), b->data(), a->size()) == 0;
}

}  // namespace spacehook::webhook
