#include "spacehook/config/load.hpp"
#include "spacehook/rules/template.hpp"
#include "spacehook/rules/title_pattern.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <doctest/doctest.h>

#include <map>

#include <fmt/format.h>

using namespace spacehook;

namespace {
config::env_lookup env(std::map<std::string, std::string> vars) {
    return [vars](std::string_view n) -> std::optional<std::string> {
        auto it = vars.find(std::string(n));
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

bool has_problem(const config::load_result& r, const std::string& path, const std::string& fragment = "") {
    for (const auto& p : r.problems)
        if (p.path == path && p.message.find(fragment) != std::string::npos) return true;
    return false;
}

// The example of docs/contract.md §2.
const char* contract_example = R"({
  "server":   { "listen": "0.0.0.0:8080", "max_body_bytes": 1048576, "admin_token": "${SPACEHOOK_ADMIN_TOKEN}" },
  "database": "/var/lib/spacehook/spacehook.db",
  "docspace": { "base_url": "https://portal.example.com", "api_key": "${DOCSPACE_API_KEY}",
                "ignore_own_events": true },
  "webhooks": [ { "path": "/docspace/webhook", "secrets": ["${DOCSPACE_WEBHOOK_SECRET}"] } ],
  "workers":  { "concurrency": 8, "max_attempts": 10, "backoff_initial_ms": 1000, "backoff_max_ms": 600000 },
  "channels": {
    "manager-mail": { "type": "smtp", "url": "smtp://mail:587", "starttls": true, "username": "...",
                      "password": "${SMTP_PASSWORD}", "from": "spacehook@example.com", "to": ["manager@example.com"] },
    "ops-chat":     { "type": "http", "url": "https://hooks.example.com/...", "format": "slack" },
    "console":      { "type": "log" }
  },
  "rules": [
    { "name": "invoice-intake", "on": ["file.uploaded", "file.created"],
      "if": { "in_room": 86193, "title": { "prefix": "invoice" } },
      "do": [ { "move": { "to_folder": 654321 } },
              { "notify": { "channel": "manager-mail", "subject": "Invoice uploaded: {{file.title}}",
                            "body": "{{file.title}} (id {{file.id}}) by {{actor.name}}: {{file.web_url}}" } } ] },
    { "name": "copy-to-internal", "on": ["file.uploaded"], "if": { "in_folder": 539564 },
      "do": [ { "copy": { "to_folder": 341029 } } ] },
    { "name": "compliance-watch", "on": ["file.updated"], "if": { "in_folder": 539564 },
      "do": [ { "notify": { "channel": "console", "subject": "File changed in Compliance folder" } } ] },
    { "name": "need-review", "on": ["file.updated"], "do": [ { "comment": { "text": "Need Review" } } ] }
  ]
})";
const std::map<std::string, std::string> example_env{{"SPACEHOOK_ADMIN_TOKEN", "adm"},
                                                      {"DOCSPACE_API_KEY", "sk-abc"},
                                                      {"DOCSPACE_WEBHOOK_SECRET", "S3cret-Key_01"},
                                                      {"SMTP_PASSWORD", "pw"}};

// A config whose one rule filters titles by `pattern` (a JSON string, escaped here).
config::load_result load_regex(const std::string& pattern) {
    return config::load(R"({"database": "/tmp/r.db", "webhooks": [{"path": "/h", "secrets": []}],
      "docspace": {"base_url": "http://127.0.0.1:9", "api_key": "k"},
      "rules": [{"name": "r", "on": ["*"], "if": {"title": {"regex": )" +
                            boost::json::serialize(boost::json::string(pattern)) +
                            R"(}}, "do": [{"comment": {"text": "x"}}]}]})",
                        env({}));
}
}  // namespace

TEST_SUITE("config load") {
    TEST_CASE("the contract's example loads with variables expanded") {
        auto r = config::load(contract_example, env(example_env));
        for (const auto& p : r.problems) INFO(p.path << ": " << p.message);
        REQUIRE(r.ok());
        const auto& s = r.value;
        CHECK(s.server.admin_token == "adm");
        CHECK(s.docspace.api_key == "sk-abc");
        CHECK(s.webhooks.at(0).secrets.at(0) == "S3cret-Key_01");
        CHECK(s.database.path == "/var/lib/spacehook/spacehook.db");
        REQUIRE(s.rules.size() == 4);
        CHECK(*s.rules[0].when.in_room == "86193");
        CHECK(s.rules[0].when.title->pattern == "invoice");
        CHECK(s.rules[0].actions[0].kind == rules::action_kind::move);
        CHECK(s.rules[0].actions[0].to_folder == "654321");
        CHECK(s.rules[0].actions[0].on_conflict == docspace::conflict::skip);
        CHECK(s.find_channel("manager-mail")->starttls);
        CHECK(s.find_channel("ops-chat")->format == notify::chat_format::slack);
    }

    TEST_CASE("a missing environment variable is a problem at its path") {
        auto vars = example_env;
        vars.erase("DOCSPACE_API_KEY");
        auto r = config::load(contract_example, env(vars));
        CHECK(has_problem(r, "$.docspace.api_key", "DOCSPACE_API_KEY is not set"));
    }

    TEST_CASE("every problem is reported with its JSON path, not just the first") {
        auto r = config::load(R"({
          "database": "/tmp/x.db", "bogus": 1,
          "server": {"listen": "nope", "max_body_bytes": "big"},
          "docspace": {"base_url": "ftp://x", "api_key": "k"},
          "webhooks": [{"path": "hook", "secrets": ["s"]}, {"path": "/healthz", "secrets": []}],
          "workers": {"concurrency": 0},
          "channels": {"m": {"type": "smtp", "url": "http://x", "from": "a@b"}},
          "rules": [{"name": "r", "on": ["uploaded"], "if": {"in_folder": -3, "title": {"regex": "("}},
                     "do": [{"notify": {"channel": "nope", "subject": "{{file.titel}}"}}, {"explode": {}}]}]
        })",
                              env({}));
        CHECK(has_problem(r, "$.bogus", "unknown key"));
        CHECK(has_problem(r, "$.server.listen", "host:port"));
        CHECK(has_problem(r, "$.server.max_body_bytes", "integer"));
        CHECK(has_problem(r, "$.docspace.base_url", "https://"));
        CHECK(has_problem(r, "$.webhooks[0].path", "start with /"));
        CHECK(has_problem(r, "$.webhooks[1].path", "built-in"));
        CHECK(has_problem(r, "$.workers.concurrency", "between"));
        CHECK(has_problem(r, "$.channels.m.url", "smtp://"));
        CHECK(has_problem(r, "$.channels.m.to", "recipient"));
        CHECK(has_problem(r, "$.rules[0].on[0]", "not a DocSpace trigger"));
        CHECK(has_problem(r, "$.rules[0].if.in_folder", "id"));
        CHECK(has_problem(r, "$.rules[0].if.title.regex", "invalid regular expression"));
        CHECK(has_problem(r, "$.rules[0].do[0].notify.subject", "file.titel"));
        CHECK(has_problem(r, "$.rules[0].do[0].notify.channel", "no channel named"));
        CHECK(has_problem(r, "$.rules[0].do[1]", "unknown action"));
        CHECK(r.problems.size() >= 15);
    }

    TEST_CASE("not JSON is one problem at the root, comments and trailing commas are fine") {
        auto bad = config::load("{", env({}));
        CHECK(has_problem(bad, "$", "not valid JSON"));
        auto good = config::load(R"({
          // comment
          "database": {"path": "/tmp/y.db", "busy_timeout_ms": 10},
          "webhooks": [{"path": "/h", "secrets": [],},],
        })",
                                 env({}));
        CHECK(good.ok());
        CHECK(good.value.database.busy_timeout_ms == 10);
        CHECK(good.value.webhooks[0].secrets.empty());
    }

    TEST_CASE("$${ escapes a literal ${") {
        auto r = config::load(R"({"database": "/tmp/$${HOME}.db", "webhooks": [{"path": "/h", "secrets": []}]})", env({}));
        REQUIRE(r.ok());
        CHECK(r.value.database.path == "/tmp/${HOME}.db");
    }

    TEST_CASE("a retention duration too large for int64 milliseconds is a problem, not an overflow") {
        // Found by tests/fuzz/fuzz_config (UBSan: signed integer overflow in clock::parse_duration_ms).
        auto r = config::load(R"({"database": "/tmp/d.db", "webhooks": [{"path": "/h", "secrets": []}],
          "retention": {"succeeded_after": "00000000000000000008431504991845584437d", "interval": "106751991168d"}})",
                              env({}));
        CHECK(has_problem(r, "$.retention.succeeded_after", "must be a duration"));
        CHECK(has_problem(r, "$.retention.interval", "must be a duration"));
        auto ok = config::load(R"({"database": "/tmp/d.db", "webhooks": [{"path": "/h", "secrets": []}],
          "retention": {"succeeded_after": "106751991167d", "interval": "9223372036854775807ms"}})",
                               env({}));
        REQUIRE(ok.ok());
        CHECK(ok.value.retention.succeeded_after_ms == 106751991167LL * 86'400'000);
    }

    TEST_CASE("a misspelt trigger is refused with the nearest name, and a listen port must be 0..65535") {
        auto with = [](const std::string& listen, const std::string& on) {
            return config::load(R"({"database": "/tmp/d.db", "server": {"listen": ")" + listen +
                                    R"("}, "webhooks": [{"path": "/h", "secrets": []}],
              "docspace": {"base_url": "https://p.example", "api_key": "k"}, "channels": {"c": {"type": "log"}},
              "rules": [{"name": "r", "on": [)" + on + R"(], "do": [{"notify": {"channel": "c", "subject": "x"}}]}]})",
                                env({}));
        };
        auto typo = with("127.0.0.1:8080", R"("file.uploaded", "file.uploadd", "*", "form.filled.out", "nonsense")");
        CHECK(has_problem(typo, "$.rules[0].on[1]", "did you mean \"file.uploaded\"?"));
        CHECK(has_problem(typo, "$.rules[0].on[4]", "\"nonsense\" is not a DocSpace trigger (e.g. file.uploaded"));
        CHECK(typo.problems.size() == 2);  // *, file.uploaded and form.filled.out are fine
        for (auto bad : {"0.0.0.0:99999", "0.0.0.0:80x", "0.0.0.0:-1", "[::1]:65536"})
            CHECK_MESSAGE(has_problem(with(bad, R"("*")"), "$.server.listen", "no port from 0 to 65535"), bad);
        for (auto good : {"0.0.0.0:8080", "127.0.0.1:0", "[::1]:65535"}) CHECK_MESSAGE(with(good, R"("*")").ok(), good);
    }

    TEST_CASE("the database is a SQLite path or a PostgreSQL URL, and the URL shown never has its password") {
        auto with = [](const std::string& database) {
            return config::load(R"({"database": )" + database + R"(, "webhooks": [{"path": "/h", "secrets": []}]})", env({}));
        };
        for (auto url : {"postgresql://spacehook:s3cret@db:5432/spacehook?sslmode=require", "postgres://db/x"}) {
            auto r = with(fmt::format("\"{}\"", url));
            REQUIRE_MESSAGE(r.ok(), url);
            CHECK(r.value.database.postgresql());
            CHECK(r.value.database.url == url);
            CHECK(r.value.database.path.empty());
            CHECK(r.value.database.pool == 2);
        }
        auto object = with(R"({"url": "postgresql://u:p%40ss@db/s?password=other&sslmode=verify-full", "pool": 8})");
        REQUIRE(object.ok());
        CHECK(object.value.database.pool == 8);
        CHECK(object.value.database.display() == "postgresql://u:***@db/s?password=***&sslmode=verify-full");
        CHECK(with(R"("/var/lib/x.db")").value.database.display() == "/var/lib/x.db");
        // libpq ends the userinfo at the last '@' before the first '/': a password may hold '#', '?' and '@'.
        CHECK(with(R"("postgresql://u:s3cr#t@db/x")").value.database.display() == "postgresql://u:***@db/x");
        CHECK(with(R"("postgresql://u:a?b@c@db:5432/x")").value.database.display() == "postgresql://u:***@db:5432/x");
        CHECK(with(R"("postgresql://db:5432/x?sslmode=require")").value.database.display() == "postgresql://db:5432/x?sslmode=require");

        CHECK(has_problem(with(R"({"url": "postgresql://db/s", "path": "/x.db"})"), "$.database", "keep one"));
        CHECK(has_problem(with(R"({"url": "mysql://db/s"})"), "$.database.url", "postgresql://"));
        CHECK(has_problem(with(R"({"url": "postgresql://db/s", "busy_timeout_ms": 5})"), "$.database.busy_timeout_ms"));
        CHECK(has_problem(with(R"({"path": "/x.db", "pool": 4})"), "$.database.pool", "PostgreSQL"));
        CHECK(has_problem(with(R"({"url": "postgresql://db/s", "checkpoint_pages": 100})"), "$.database.checkpoint_pages"));
        CHECK(has_problem(with(R"({"path": "/x.db", "checkpoint_pages": -1})"), "$.database.checkpoint_pages"));
        CHECK(with(R"({"path": "/x.db", "checkpoint_pages": 0})").value.database.checkpoint_pages == 0);
        CHECK(with(R"({"path": "/x.db"})").value.database.checkpoint_pages == 1000);
        CHECK(has_problem(with(R"({"path": "postgresql://db/s"})"), "$.database.path", "name it \"url\""));
        CHECK(has_problem(with(R"({"url": "postgresql://db/s", "pool": 0})"), "$.database.pool"));

        // No sslmode towards another host: a warning (the password would cross the network in cleartext).
        auto remote = with(R"("postgresql://u:pw@db.example:5432/s")");
        REQUIRE(remote.ok());
        auto warnings = config::security_warnings(remote.value);
        REQUIRE(warnings.size() == 2);  // the webhook path without secrets, and the database
        CHECK(warnings[1].find("u:***@db.example") != std::string::npos);
        CHECK(warnings[1].find("pw") == std::string::npos);
        CHECK(config::security_warnings(with(R"("postgresql://u:pw@127.0.0.1/s")").value).size() == 1);
    }

    TEST_CASE("docspace.backfill is on by default, false turns it off, and its durations are checked") {
        auto with = [](const std::string& docspace_extra, const std::string& rest = "") {
            return config::load(R"({"database": "/tmp/d.db", "webhooks": [{"path": "/h", "secrets": []}],
              "docspace": {"base_url": "https://p.example", "api_key": "k")" +
                                    docspace_extra + "}" + rest + "}",
                                env({}));
        };
        auto defaults = with("");
        REQUIRE(defaults.ok());
        CHECK(defaults.value.docspace.backfill.enabled);
        CHECK(defaults.value.docspace.backfill.interval_ms == 5 * 60'000);
        CHECK(defaults.value.docspace.backfill.horizon_ms == 72 * 3'600'000LL);
        CHECK(defaults.value.retention.dedup_window_ms == 30 * 86'400'000LL);
        auto off = with(R"(, "backfill": false)");
        REQUIRE(off.ok());
        CHECK_FALSE(off.value.docspace.backfill.enabled);
        auto set = with(R"(, "backfill": {"interval": "30s", "horizon": "7d"})");
        REQUIRE(set.ok());
        CHECK(set.value.docspace.backfill.interval_ms == 30'000);
        CHECK(set.value.docspace.backfill.horizon_ms == 7 * 86'400'000LL);
        auto bad = with(R"(, "backfill": {"interval": "0s", "horizon": "soon", "every": "5m"})");
        CHECK(has_problem(bad, "$.docspace.backfill.interval", "at least 1s"));
        CHECK(has_problem(bad, "$.docspace.backfill.horizon", "must be a duration"));
        CHECK(has_problem(bad, "$.docspace.backfill.every"));
        CHECK(has_problem(with(R"(, "backfill": 5)"), "$.docspace.backfill"));
        // Purging identities sooner than the backfill looks back would let a recovered row run a second time.
        auto short_window = with(R"(, "backfill": {"horizon": "10d"})", R"(, "retention": {"dedup_window": "7d"})");
        CHECK(has_problem(short_window, "$.retention.dedup_window", "at least docspace.backfill.horizon"));
        CHECK(with("", R"(, "retention": {"succeeded_after": "1d", "dedup_window": "3d"})").ok());
        CHECK(with(R"(, "backfill": false)", R"(, "retention": {"dedup_window": "2h"})").ok());
        CHECK(has_problem(with(R"(, "backfill": false)", R"(, "retention": {"dedup_window": "5m"})"),
                          "$.retention.dedup_window", "at least 1h"));
    }

    TEST_CASE("a title pattern is judged once, by the rules library that compiles it") {
        auto r = load_regex("(");
        CHECK(std::count_if(r.problems.begin(), r.problems.end(),
                            [](const config::problem& p) { return p.path == "$.rules[0].if.title.regex"; }) == 1);
        CHECK(has_problem(r, "$.rules[0].if.title.regex", "invalid regular expression"));
        CHECK(load_regex("^inv.*\\.pdf$").ok());
    }

    TEST_CASE("a title regex with an overlong repeat count or back-reference number is refused before std::regex") {
        // Found by tests/fuzz/fuzz_config: libstdc++ reads these digits into a long without an overflow check
        // (UBSan: signed integer overflow in regex_compiler.tcc _M_cur_int_value).
        for (const std::string pattern : {"a{99999999999999999999}", "a{1,99999999999999999999}", "x{12345678}"}) {
            CAPTURE(pattern);
            auto r = load_regex(pattern);
            CHECK(has_problem(r, "$.rules[0].if.title.regex", "more than 6 digits"));
        }
        // A back-reference is refused whatever its length (see the next test), before std::regex sees it.
        CHECK(has_problem(load_regex("^(a+)+\\155555555555555555555555b$"), "$.rules[0].if.title.regex",
                          "back-references"));
        // Counts of ordinary size, long literal numbers and braces that are literals still load.
        for (const std::string pattern : {"^report-[0-9]{4}\\.(docx|xlsx)$", "order-12345678901234567890",
                                          "[{12345678901]", "\\{12345678901\\}", "a{2,}b{1,3}"}) {
            CAPTURE(pattern);
            CHECK(load_regex(pattern).ok());
        }
    }

    TEST_CASE("a title regex with a back-reference is refused: matching it could take exponential time") {
        // Found by tests/fuzz/fuzz_config: ^(a|a)+\1b$ needs a backtracking matcher, about a second on a
        // 24-character title and twice as long for each further character, on the ingestion path.
        for (const std::string pattern : {"^(a|a)+\\1b$", "(a)\\1", "(x)(y)\\2", "[\\1]"}) {
            CAPTURE(pattern);
            CHECK(has_problem(load_regex(pattern), "$.rules[0].if.title.regex", "back-references"));
        }
        // An escaped backslash before a digit and \0 (NUL) are not back-references.
        CHECK(load_regex("^a\\\\1$").ok());
        CHECK(load_regex("a\\0").ok());
    }
}

TEST_SUITE("config security warnings") {
    TEST_CASE("cleartext credentials to remote hosts and unsigned paths are warned about, loopback and TLS are not") {
        auto r = config::load(R"({
          "database": "/tmp/w.db",
          "docspace": {"base_url": "http://portal.example.com", "api_key": "sk-x"},
          "webhooks": [{"path": "/open", "secrets": []}, {"path": "/signed", "secrets": ["s3cret-s3cret"]}],
          "channels": {
            "plain": {"type": "smtp", "url": "smtp://mail.example.com:25", "from": "a@example.com", "to": ["b@example.com"],
                      "username": "u", "password": "p"},
            "tls": {"type": "smtp", "url": "smtp://mail.example.com:587", "starttls": true, "from": "a@example.com",
                    "to": ["b@example.com"], "username": "u", "password": "p"},
            "local": {"type": "smtp", "url": "smtp://127.0.0.1:25", "from": "a@example.com", "to": ["b@example.com"],
                      "username": "u", "password": "p"}}
        })",
                              env({}));
        REQUIRE(r.ok());
        auto w = config::security_warnings(r.value);
        REQUIRE(w.size() == 3);
        CHECK(w[0].find("/open has no secrets") != std::string::npos);
        CHECK(w[1].find("http://portal.example.com is plain http") != std::string::npos);
        CHECK(w[2].find("channel plain sends SMTP AUTH without TLS") != std::string::npos);
        CHECK(w[2].find("p\"") == std::string::npos);  // no credential in the text

        auto safe = config::load(R"({"database": "/tmp/w.db", "docspace": {"base_url": "http://127.0.0.1:8081", "api_key": "sk-x"},
                                     "webhooks": [{"path": "/h", "secrets": ["s3cret-s3cret"]}]})",
                                 env({}));
        REQUIRE(safe.ok());
        CHECK(config::security_warnings(safe.value).empty());
    }
}
