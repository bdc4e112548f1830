#include "spacehook/webhook/signature.hpp"

#include "spacehook/core/hex.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <optional>
#include <stdexcept>
#include <vector>

namespace spacehook::webhook {
namespace {

using digest = hmac_key::digest;

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

// The digest a well-formed header carries: "sha256=<64 hex>", prefix and hex in either case, blanks around.
std::optional<digest> received_digest(std::string_view header_value) {
    auto v = trim(header_value);
    constexpr std::string_view prefix = "sha256=";
    if (v.size() < prefix.size()) return std::nullopt;
    for (std::size_t i = 0; i < prefix.size(); ++i) {  // the prefix itself is matched case-insensitively too
        // Only letters fold: OR-ing 0x20 into any byte would also let "sha2\x156=" or "sha256\x1d" through.
        const char c = v[i] >= 'A' && v[i] <= 'Z' ? static_cast<char>(v[i] - 'A' + 'a') : v[i];
        if (c != prefix[i]) return std::nullopt;
    }
    digest received{};
    if (!decode_hex(v.substr(prefix.size()), received)) return std::nullopt;
    return received;
}

struct md_ctx_free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using md_ctx = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;

const EVP_MD* sha256_md() {
    static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);  // fetched once: kept for the process
    return md;
}

}  // namespace

struct hmac_key::states {
    md_ctx inner, outer;  // SHA-256 after (key ^ ipad) and after (key ^ opad)
};

hmac_key::hmac_key(std::string_view secret) : s_(std::make_unique<states>()) {
    constexpr std::size_t block = 64;
    std::array<unsigned char, block> k{};
    if (secret.size() > block) {  // RFC 2104: a key longer than the block is hashed first
        auto h = sha256(secret);
        if (!h) throw std::runtime_error("SHA-256 failed");
        std::copy(h->begin(), h->end(), k.begin());
        OPENSSL_cleanse(h->data(), h->size());
    } else {
        std::copy(secret.begin(), secret.end(), k.begin());
    }
    auto absorb = [&](unsigned char pad) {
        std::array<unsigned char, block> padded{};
        for (std::size_t i = 0; i < block; ++i) padded[i] = k[i] ^ pad;
        md_ctx c(EVP_MD_CTX_new());
        const bool ok = c && sha256_md() && EVP_DigestInit_ex(c.get(), sha256_md(), nullptr) == 1 &&
                        EVP_DigestUpdate(c.get(), padded.data(), padded.size()) == 1;
        OPENSSL_cleanse(padded.data(), padded.size());
        if (!ok) throw std::runtime_error("OpenSSL could not make a SHA-256 context for the HMAC key");
        return c;
    };
    s_->inner = absorb(0x36);
    s_->outer = absorb(0x5c);
    OPENSSL_cleanse(k.data(), k.size());
}

hmac_key::~hmac_key() = default;
hmac_key::hmac_key(hmac_key&&) noexcept = default;
hmac_key& hmac_key::operator=(hmac_key&&) noexcept = default;

std::optional<digest> hmac_key::mac(std::string_view body) const {
    // One context per thread, reused: each use starts from a copy of a prepared state.
    thread_local md_ctx work(EVP_MD_CTX_new());
    digest inner{}, out{};
    unsigned int len = 0;
    if (!work || EVP_MD_CTX_copy_ex(work.get(), s_->inner.get()) != 1 ||
        EVP_DigestUpdate(work.get(), body.data(), body.size()) != 1 ||
        EVP_DigestFinal_ex(work.get(), inner.data(), &len) != 1 || len != inner.size() ||
        EVP_MD_CTX_copy_ex(work.get(), s_->outer.get()) != 1 ||
        EVP_DigestUpdate(work.get(), inner.data(), inner.size()) != 1 ||
        EVP_DigestFinal_ex(work.get(), out.data(), &len) != 1 || len != out.size())
        return std::nullopt;
    return out;
}

std::string sign(std::string_view secret, std::string_view body) {
    auto d = hmac_key(secret).mac(body);
    if (!d) throw std::runtime_error("HMAC-SHA256 failed");
    return "sha256=" + hex::encode(std::string_view(reinterpret_cast<const char*>(d->data()), d->size()),
                                   hex::letter_case::upper);
}

bool verify(std::span<const std::string> secrets, std::string_view body, std::string_view header_value) {
    std::vector<hmac_key> keys;
    keys.reserve(secrets.size());
    for (const auto& s : secrets) {
        try {
            keys.emplace_back(s);
        } catch (const std::exception&) {  // fail closed: this secret matches nothing
        }
    }
    return verify(keys, body, header_value);
}

// Every key is tried, each compared in constant time: no early exit that would reveal which one matched. A key
// whose HMAC failed matches nothing: the zero-filled buffer of a failed call must never be compared, or
// "sha256=000...0" would pass.
bool verify(std::span<const hmac_key> keys, std::string_view body, std::string_view header_value) {
    auto received = received_digest(header_value);
    if (!received) return false;
    bool any = false;
    for (const auto& key : keys) {
        auto expected = key.mac(body);
        if (!expected) continue;
        any |= CRYPTO_memcmp(expected->data(), received->data(), expected->size()) == 0;
    }
    return any;
}

bool same_token(std::string_view presented, std::string_view expected) {
    auto a = sha256(presented), b = sha256(expected);
    return a && b && CRYPTO_memcmp(a->data(), b->data(), a->size()) == 0;
}

}  // namespace spacehook::webhook
