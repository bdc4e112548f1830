#include "args.hpp"
#include "commands.hpp"
#include "spacehook/webhook/signature.hpp"

#include <cstdio>

namespace spacehook::cli {

int cmd_sign(const argv_t& argv) {
    args a(argv, {.with_value = {"secret", "secret-env", "secret-file"}});
    auto secret = secret_from(a.get("secret"), a.get("secret-env"), a.get("secret-file"));
    if (secret.empty()) throw usage_error("a secret is required (--secret, --secret-env or --secret-file)");
    if (a.positional().size() > 1) throw usage_error("at most one FILE");
    std::string body = read_file(a.positional().empty() ? "-" : a.positional()[0]);
    std::printf("%s\n", webhook::sign(secret, body).c_str());
    return 0;
}

}  // namespace spacehook::cli
