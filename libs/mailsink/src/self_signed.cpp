#include "spacehook/mailsink/self_signed.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

namespace spacehook::mailsink {
namespace {

template <class T, void (*Free)(T*)>
struct deleter {
    void operator()(T* p) const { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, deleter<BIO, BIO_free_all>>;
using bn_ptr = std::unique_ptr<BIGNUM, deleter<BIGNUM, BN_free>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, deleter<X509_EXTENSION, X509_EXTENSION_free>>;

[[noreturn]] void fail(const char* what) {
    char buf[256] = "unknown error";
    if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    throw std::runtime_error(std::string("mailsink certificate: ") + what + ": " + buf);
}

void check(int ok, const char* what) {
    if (ok != 1) fail(what);
}

std::string to_pem(BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

tls_identity make_self_signed() {
    pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) fail("key generation");

    x509_ptr cert(X509_new());
    if (!cert) fail("X509_new");
    check(X509_set_version(cert.get(), 2), "version");
    bn_ptr serial(BN_new());
    if (!serial) fail("BN_new");
    check(BN_rand(serial.get(), 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "serial");
    if (!BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) fail("serial");
    if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600)) fail("notBefore");
    if (!X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7L * 24 * 3600)) fail("notAfter");
    check(X509_set_pubkey(cert.get(), key.get()), "public key");

    X509_NAME* name = X509_get_subject_name(cert.get());
    check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>("spacehook mailsink"), -1, -1, 0),
          "subject");
    check(
        X509_NAME_add_entry_by_txt(
            name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0
        ),
        "subject"
    );
    check(X509_set_issuer_name(cert.get(), name), "issuer");

    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    const std::pair<int, const char*> extensions[] = {
        {NID_basic_constraints, "critical,CA:TRUE"},
        {NID_key_usage, "critical,digitalSignature,keyCertSign"},
        {NID_ext_key_usage, "serverAuth"},
        {NID_subject_key_identifier, "hash"},
        {NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
    };
    for (const auto& [nid, value] : extensions) {
        ext_ptr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
        if (!ext) fail("extension");
        check(X509_add_ext(cert.get(), ext.get(), -1), "extension");
    }
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) fail("sign");

    tls_identity id;
    bio_ptr key_bio(BIO_new(BIO_s_mem()));
    if (!key_bio) fail("BIO_new");
    check(
        PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr), "key PEM"
    );
    id.key_pem = to_pem(key_bio.get());
    bio_ptr cert_bio(BIO_new(BIO_s_mem()));
    if (!cert_bio) fail("BIO_new");
    check(PEM_write_bio_X509(cert_bio.get(), cert.get()), "certificate PEM");
    id.cert_pem = to_pem(cert_bio.get());
    return id;
}

}  // namespace spacehook::mailsink
