// libFuzzer target: configuration loading (config/load.hpp, which judges templates and titles with
// rules::check_template and rules::check_title) and a fixed environment; a config that loads is then compiled into a rules::matcher
// and matched against a few payloads, as `serve` and `check` do.
//
// Invariants, each abort()s when violated:
//   - load() never throws; every problem has a "$..." path and a message;
//   - a config without problems has what docs/contract.md §2 requires: a database path, at least one webhook path,
//     rules with a unique name, triggers and actions, move/copy with a folder, notify naming a configured
//     channel with a subject or body, and every template compiling;
//   - building the matcher from it and matching payloads never throws, and returns (a -timeout=10 run fails on
//     a match that backtracks for long: that is how back-references came to be refused).
#include "spacehook/config/load.hpp"
#include "spacehook/rules/matcher.hpp"
#include "spacehook/rules/template.hpp"
#include "spacehook/rules/title_pattern.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

namespace {

using namespace spacehook;

[[noreturn]] void violated(const char* what) {
    std::fprintf(stderr, "fuzz_config: invariant violated: %s\n", what);
    std::abort();
}

#define FUZZ_CHECK(cond) ((cond) ? void() : violated(#cond))

// The variables the example configs under deploy/examples use, plus a few awkward ones.
std::optional<std::string> fixed_env(std::string_view name) {
    if (name == "DOCSPACE_URL") return "http://127.0.0.1:9";
    if (name == "DOCSPACE_API_KEY") return "test-api-key";
    if (name == "DOCSPACE_WEBHOOK_SECRET") return "S3cret-Key_01";
    if (name == "SMTP_URL") return "smtp://127.0.0.1:2525";
    if (name == "SMTP_USERNAME") return "user";
    if (name == "SMTP_PASSWORD") return "password";
    if (name == "SPACEHOOK_ADMIN_TOKEN") return "admin-token";
    if (name == "EMPTY") return "";
    if (name == "SELF") return "${SELF}";  // expansion is one pass: must come out literally
    if (name == "TEMPLATE") return "{{file.title}}";
    return std::nullopt;
}

bool compiles(const std::string& text) { return !text.empty() ? rules::compile(text).ok() : true; }

void check_settings(const config::settings& s) {
    // A SQLite path or a PostgreSQL URL, exactly one; the URL as shown never holds what followed "user:".
    FUZZ_CHECK(s.database.path.empty() != s.database.url.empty());
    if (s.database.postgresql()) {
        FUZZ_CHECK(s.database.url.starts_with("postgresql://") || s.database.url.starts_with("postgres://"));
        FUZZ_CHECK(s.database.pool >= 1 && s.database.pool <= 64);
        FUZZ_CHECK(!s.database.display().empty());
    }
    FUZZ_CHECK(!s.webhooks.empty());
    std::set<std::string> rule_names;
    for (const auto& r : s.rules) {
        FUZZ_CHECK(!r.name.empty());
        FUZZ_CHECK(rule_names.insert(r.name).second);
        FUZZ_CHECK(!r.on.empty());
        FUZZ_CHECK(!r.actions.empty());
        FUZZ_CHECK(s.find_rule(r.name) == &r);
        for (const auto& a : r.actions) {
            switch (a.kind) {
            case rules::action_kind::move:
            case rules::action_kind::copy: FUZZ_CHECK(!a.to_folder.empty()); break;
            case rules::action_kind::comment: FUZZ_CHECK(!a.text.empty() && compiles(a.text)); break;
            case rules::action_kind::notify:
                FUZZ_CHECK(s.find_channel(a.channel) != nullptr);
                FUZZ_CHECK(!a.subject.empty() || !a.body.empty());
                FUZZ_CHECK(compiles(a.subject) && compiles(a.body));
                break;
            }
        }
    }
}

void check_matching(const config::settings& s) {
    const rules::matcher m(s.rules);
    FUZZ_CHECK(m.size() == s.rules.size());
    (void)m.problems();
    static const rules::file_view payloads[] = {
        {"8421", "8410", "Invoice \xC3\xBC" "bersicht.pdf"},
        {"sbox-1", "539564", "report-2025.DOCX"},
        {"", "", ""},
        {"1", "2", "\xFF\xFE invalid utf-8 \xC3"},
        {"3", "4", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.pdf"},  // what exponential backtracking chokes on
    };
    static const rules::ancestry path{"1", "86193", "8410"};
    for (const auto& p : payloads) {
        for (auto trigger : {"file.uploaded", "file.updated", "folder.created"}) {
            auto c = m.candidates(trigger, p);
            for (auto i : c) FUZZ_CHECK(i < m.size());
            for (std::size_t i = 0; i < m.size(); ++i) {
                auto v = m.evaluate(i, trigger, p, &path);
                FUZZ_CHECK(v.matched() == v.reason.empty());
            }
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    static const config::env_lookup env = fixed_env;

    const auto res = config::load(text, env);
    for (const auto& p : res.problems) {
        FUZZ_CHECK(!p.path.empty() && p.path[0] == '$');
        FUZZ_CHECK(!p.message.empty());
    }
    if (!res.ok()) return 0;
    check_settings(res.value);
    check_matching(res.value);
    return 0;
}
