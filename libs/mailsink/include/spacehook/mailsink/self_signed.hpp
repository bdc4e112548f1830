// A throw-away TLS identity: the sink's STARTTLS, and tests of TLS listeners.
#ifndef SPACEHOOK_MAILSINK_SELF_SIGNED_HPP
#define SPACEHOOK_MAILSINK_SELF_SIGNED_HPP

#include <string>

namespace spacehook::mailsink {

struct tls_identity {
    std::string key_pem;
    std::string cert_pem;
};

// A fresh P-256 key and a self-signed certificate for CN=localhost with SAN IP:127.0.0.1 and
// DNS:localhost, valid from an hour ago for a week, usable as its own trust anchor.
// Throws std::runtime_error (with OpenSSL's reason) on failure.
tls_identity make_self_signed();

}  // namespace spacehook::mailsink

#endif
