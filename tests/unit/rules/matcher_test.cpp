#include "spacehook/config/load.hpp"
#include "spacehook/rules/matcher.hpp"
#include "spacehook/rules/rule.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace spacehook;
using rules::ancestry;
using rules::explain;
using rules::file_view;
using rules::matcher;
using rules::mismatch;

namespace {

rules::rule make_rule(std::string name, std::vector<std::string> on, rules::rule_filter when = {},
                       std::vector<rules::action> actions = {{rules::action_kind::notify, {}, {}, {}, "log", "hi"}}) {
    return rules::rule{std::move(name), std::move(on), std::move(when), std::move(actions)};
}

rules::title_filter title(rules::title_match kind, std::string pattern, bool cs = false) {
    return {kind, std::move(pattern), cs};
}

// The rules of docs/contract.md §2, plus a glob and a regex one.
std::vector<rules::rule> contract_rules() {
    std::vector<rules::rule> r;
    r.push_back(make_rule("invoice-intake", {"file.uploaded", "file.created"},
                          {std::nullopt, "86193", title(rules::title_match::prefix, "invoice")}));
    r.push_back(make_rule("copy-to-internal", {"file.uploaded"}, {"539564", std::nullopt, std::nullopt}));
    r.push_back(make_rule("need-review", {"file.updated"}));
    r.push_back(make_rule("any-pdf", {"*"}, {std::nullopt, std::nullopt, title(rules::title_match::glob, "*.pdf")}));
    r.push_back(make_rule("scans", {"file.uploaded"},
                          {std::nullopt, std::nullopt, title(rules::title_match::regex, "^scan_\\d{4}")}));
    return r;
}

}  // namespace

TEST_SUITE("rules.matcher") {

TEST_CASE("trigger_matches takes listed triggers and the * wildcard, exactly") {
    auto r = make_rule("r", {"file.uploaded", "file.created"});
    CHECK(rules::trigger_matches(r, "file.uploaded"));
    CHECK(rules::trigger_matches(r, "file.created"));
    CHECK_FALSE(rules::trigger_matches(r, "file.updated"));
    CHECK_FALSE(rules::trigger_matches(r, "FILE.UPLOADED"));
    CHECK_FALSE(rules::trigger_matches(r, ""));
    CHECK(rules::trigger_matches(make_rule("any", {"*"}), "folder.deleted"));
}

TEST_CASE("prefilter checks trigger, title and in_folder from the payload") {
    matcher m(contract_rules());
    REQUIRE(m.size() == 5);
    const file_view invoice{"8421", "8410", "Invoice-2025-06.pdf"};

    CHECK(m.prefilter(0, "file.uploaded", invoice));
    auto v = m.prefilter(0, "file.updated", invoice);
    CHECK(v.why == mismatch::trigger);
    CHECK(v.reason == "trigger \"file.updated\" is not one of: file.uploaded, file.created");

    v = m.prefilter(0, "file.uploaded", {"1", "8410", "x.pdf"});
    CHECK(v.why == mismatch::title);
    CHECK(v.reason == "title \"x.pdf\" does not start with \"invoice\"");

    v = m.prefilter(1, "file.uploaded", invoice);
    CHECK(v.why == mismatch::folder);
    CHECK(v.reason == "file is in folder 8410, not 539564");
    CHECK(m.prefilter(1, "file.uploaded", {"1", "539564", "a.docx"}));

    CHECK(m.prefilter(3, "file.deleted", invoice));
    CHECK_FALSE(m.prefilter(3, "file.deleted", {"1", "2", "a.docx"}));
    CHECK(m.prefilter(4, "file.uploaded", {"1", "2", "SCAN_2025.tif"}));
    CHECK_FALSE(m.prefilter(4, "file.uploaded", {"1", "2", "my scan_2025.tif"}));
}

TEST_CASE("prefilter lets in_room and fields missing from the payload pass") {
    matcher m(contract_rules());
    // in_room 86193 cannot be decided from payload.parentId: it passes.
    CHECK(m.prefilter(0, "file.uploaded", {"1", "9001", "invoice.pdf"}));
    // No parentId or title in the payload: conservative.
    CHECK(m.prefilter(1, "file.uploaded", {"1", "", "a.docx"}));
    CHECK(m.prefilter(0, "file.uploaded", {"1", "9001", ""}));
}

TEST_CASE("explain::no gives the same answer without a reason") {
    matcher m(contract_rules());
    auto v = m.prefilter(0, "file.uploaded", {"1", "8410", "x.pdf"}, explain::no);
    CHECK(v.why == mismatch::title);
    CHECK(v.reason.empty());
    auto e = m.evaluate(0, "file.uploaded", {"1", "9001", "invoice.pdf"}, nullptr, explain::no);
    CHECK(e.why == mismatch::unknown_ancestry);
    CHECK(e.reason.empty());
}

TEST_CASE("candidates lists the rules whose prefilter passes") {
    matcher m(contract_rules());
    CHECK(m.candidates("file.uploaded", {"1", "539564", "invoice.pdf"}) == std::vector<std::size_t>{0, 1, 3});
    CHECK(m.candidates("file.updated", {"1", "539564", "a.docx"}) == std::vector<std::size_t>{2});
    CHECK(m.candidates("folder.created", {"1", "2", "a.docx"}).empty());
}

TEST_CASE("evaluate decides in_room through the ancestry") {
    matcher m(contract_rules());
    const ancestry inside{"3", "86193", "9001"};  // Rooms root -> room -> subfolder
    const ancestry outside{"3", "70000", "9001"};

    CHECK(m.evaluate(0, "file.uploaded", {"8421", "9001", "invoice.pdf"}, &inside));
    auto v = m.evaluate(0, "file.uploaded", {"8421", "9001", "invoice.pdf"}, &outside);
    CHECK(v.why == mismatch::room);
    CHECK(v.reason == "folder 9001 is not inside room 86193");

    // Directly in the room: no ancestry needed.
    CHECK(m.evaluate(0, "file.uploaded", {"8421", "86193", "invoice.pdf"}, nullptr));
    v = m.evaluate(0, "file.uploaded", {"8421", "9001", "invoice.pdf"}, nullptr);
    CHECK(v.why == mismatch::unknown_ancestry);
    CHECK(v.reason == "the ancestry of folder 9001 is not known (in_room 86193 needs it)");

    // The title is checked before the room.
    v = m.evaluate(0, "file.uploaded", {"8421", "9001", "Rechnung.pdf"}, &inside);
    CHECK(v.why == mismatch::title);
}

TEST_CASE("evaluate judges the current state, which may differ from the payload") {
    matcher m(contract_rules());
    const file_view at_event{"8421", "539564", "a.docx"};
    REQUIRE(m.prefilter(1, "file.uploaded", at_event));
    // Moved away before the worker ran.
    auto v = m.evaluate(1, "file.uploaded", {"8421", "9001", "a.docx"}, nullptr);
    CHECK(v.why == mismatch::folder);
    CHECK(v.reason == "file is in folder 9001, not 539564");
    // A file whose folder the REST answer lacks does not pass silently in the worker.
    v = m.evaluate(1, "file.uploaded", {"8421", "", "a.docx"}, nullptr);
    CHECK(v.why == mismatch::folder);
    CHECK(v.reason == "the file's folder is not known (in_folder 539564)");
    // Renamed after upload.
    CHECK_FALSE(m.evaluate(0, "file.uploaded", {"8421", "86193", "renamed.pdf"}, nullptr));
    // A rule without filters matches any file for its trigger.
    CHECK(m.evaluate(2, "file.updated", {"1", "", ""}, nullptr));
}

TEST_CASE("rules combine in_folder, in_room and title with AND") {
    rules::rule_filter f{"9001", "86193", title(rules::title_match::suffix, ".PDF", true)};
    matcher m(std::vector<rules::rule>{make_rule("all", {"*"}, f)});
    const ancestry anc{"3", "86193", "9001"};
    CHECK(m.evaluate(0, "x.y", {"1", "9001", "a.PDF"}, &anc));
    CHECK(m.evaluate(0, "x.y", {"1", "9001", "a.pdf"}, &anc).why == mismatch::title);
    CHECK(m.evaluate(0, "x.y", {"1", "9002", "a.PDF"}, &anc).why == mismatch::folder);
    const ancestry other{"3", "86194", "9001"};
    CHECK(m.evaluate(0, "x.y", {"1", "9001", "a.PDF"}, &other).why == mismatch::room);
}

TEST_CASE("string ids of third-party storage compare as text") {
    rules::rule_filter f{"sbox-123", "sbox-1", std::nullopt};
    matcher m(std::vector<rules::rule>{make_rule("tp", {"file.uploaded"}, f)});
    const ancestry anc{"sbox-1", "sbox-123"};
    CHECK(m.evaluate(0, "file.uploaded", {"sbox-9", "sbox-123", "a"}, &anc));
    CHECK_FALSE(m.evaluate(0, "file.uploaded", {"sbox-9", "sbox-1234", "a"}, &anc));
}

TEST_CASE("a rule with an invalid regex never matches and is listed in problems") {
    rules::rule_filter f{std::nullopt, std::nullopt, title(rules::title_match::regex, "([a-")};
    matcher m(std::vector<rules::rule>{make_rule("broken", {"*"}, f), make_rule("fine", {"*"})});
    auto v = m.prefilter(0, "file.uploaded", {"1", "2", "a"});
    CHECK(v.why == mismatch::invalid_rule);
    CHECK(v.reason.find("invalid regular expression \"([a-\"") != std::string::npos);
    REQUIRE(m.problems().size() == 1);
    CHECK(m.problems()[0].find("rule \"broken\"") == 0);
    CHECK(m.prefilter(1, "file.uploaded", {"1", "2", "a"}));
}

TEST_CASE("rule lookup, needs and bounds") {
    matcher m(contract_rules());
    CHECK(m.find("copy-to-internal") == 1u);
    CHECK_FALSE(m.find("nope").has_value());
    CHECK(m.rule(2).name == "need-review");
    CHECK(m.needs(0).ancestry);
    CHECK(m.needs(0).file_info);
    CHECK_THROWS_AS(m.prefilter(5, "file.uploaded", {}), std::out_of_range);
    CHECK_THROWS_AS(m.rule(99), std::out_of_range);
}

TEST_CASE("rule_needs fetches only what filters, actions and templates use") {
    using rules::action;
    using rules::action_kind;
    auto notify = [](std::string subject, std::string body = {}) {
        return action{action_kind::notify, {}, {}, {}, "mail", std::move(subject), std::move(body)};
    };
    // Notification with payload-only names, no filter: nothing to fetch.
    CHECK(rules::rule_needs(make_rule("a", {"*"}, {}, {notify("{{file.title}} by {{actor.id}}")})) ==
          rules::data_needs{});
    CHECK(rules::rule_needs(make_rule("a", {"*"}, {}, {notify("x", "{{actor.name}}")})) ==
          rules::data_needs{false, true, false});
    CHECK(rules::rule_needs(make_rule("a", {"*"}, {}, {notify("{{file.web_url}}")})) ==
          rules::data_needs{true, false, false});
    // Filters are evaluated on the current file state.
    CHECK(rules::rule_needs(make_rule("a", {"*"}, {"1", std::nullopt, std::nullopt}, {notify("x")})) ==
          rules::data_needs{true, false, false});
    CHECK(rules::rule_needs(make_rule("a", {"*"}, {std::nullopt, "1", std::nullopt}, {notify("x")})) ==
          rules::data_needs{true, false, true});
    // move / copy / comment act on the file.
    CHECK(rules::rule_needs(make_rule("a", {"*"}, {}, {action{action_kind::move, "5"}})).file_info);
    CHECK(rules::rule_needs(make_rule("a", {"*"}, {}, {action{action_kind::copy, "5"}})).file_info);
    auto comment = action{action_kind::comment};
    comment.text = "Reviewed by {{actor.email}}";
    CHECK(rules::rule_needs(make_rule("a", {"*"}, {}, {comment})) == rules::data_needs{true, true, false});
}

TEST_CASE("the contract's example config loads with check_template and matches as documented") {
    const char* json = R"({
      "database": "/tmp/x.db",
      "docspace": { "base_url": "https://portal.example.com", "api_key": "k" },
      "webhooks": [ { "path": "/docspace/webhook", "secrets": ["s"] } ],
      "channels": { "manager-mail": { "type": "log" }, "console": { "type": "log" } },
      "rules": [
        { "name": "invoice-intake", "on": ["file.uploaded", "file.created"],
          "if": { "in_room": 86193, "title": { "prefix": "invoice" } },
          "do": [ { "move": { "to_folder": 654321 } },
                  { "notify": { "channel": "manager-mail", "subject": "Invoice uploaded: {{file.title}}",
                                "body": "{{file.title}} (id {{file.id}}) by {{actor.name}}: {{file.web_url}}" } } ] },
        { "name": "copy-to-internal", "on": ["file.uploaded"], "if": { "in_folder": 539564 },
          "do": [ { "copy": { "to_folder": 341029 } } ] },
        { "name": "glob-case", "on": ["*"], "if": { "title": { "glob": "Счёт*.PDF", "case": "sensitive" } },
          "do": [ { "comment": { "text": "Need Review" } } ] }
      ]
    })";
    auto loaded = config::load(json, [](std::string_view) { return std::nullopt; });
    for (const auto& p : loaded.problems) INFO(p.path << ": " << p.message);
    REQUIRE(loaded.ok());
    matcher m(loaded.value.rules);
    CHECK(m.needs(0) == rules::data_needs{true, true, true});
    CHECK(m.needs(1) == rules::data_needs{true, false, false});
    const ancestry anc{"3", "86193"};
    CHECK(m.evaluate(0, "file.created", {"8421", "86193", "INVOICE 7.pdf"}, &anc));
    CHECK(m.prefilter(2, "file.uploaded", {"1", "2", "Счёт 7.PDF"}));
    CHECK_FALSE(m.prefilter(2, "file.uploaded", {"1", "2", "счёт 7.PDF"}));
}

TEST_CASE("the config loader reports template errors through check_template") {
    const char* json = R"({
      "database": "/tmp/x.db",
      "docspace": { "base_url": "https://portal.example.com", "api_key": "k" },
      "webhooks": [ { "path": "/h", "secrets": [] } ],
      "channels": { "console": { "type": "log" } },
      "rules": [ { "name": "r", "on": ["*"],
                   "do": [ { "notify": { "channel": "console", "subject": "Invoice: {{file.titel}}" } } ] } ]
    })";
    auto loaded = config::load(json, [](std::string_view) { return std::nullopt; });
    REQUIRE(loaded.problems.size() == 1);
    CHECK(loaded.problems[0].path == "$.rules[0].do[0].notify.subject");
    CHECK(loaded.problems[0].message.find("unknown name \"file.titel\" at column 12") == 0);
}

}
