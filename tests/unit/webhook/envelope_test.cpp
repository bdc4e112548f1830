#include "spacehook/webhook/envelope.hpp"

#include "envelope_reference.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using spacehook::webhook::envelope;
using spacehook::webhook::parse_envelope;

namespace {
envelope ok(std::string_view body) {
    auto r = parse_envelope(body);
    if (auto* why = std::get_if<std::string>(&r)) FAIL("unexpected parse failure: " << *why);
    return std::get<envelope>(r);
}
std::string err(std::string_view body) {
    auto r = parse_envelope(body);
    REQUIRE(std::holds_alternative<std::string>(r));
    return std::get<std::string>(r);
}
}  // namespace

TEST_SUITE("webhook envelope") {
    TEST_CASE("fields are read from the v3.1 envelope and escapes are decoded") {
        auto e = ok(R"({"event":{"id":1532,"createOn":"2025-06-10T09:15:42Z","createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","trigger":"file.uploaded","triggerId":256},"payload":{"id":8421,"parentId":8410,"title":"Invoice \u0026 \u00FCbersicht \uD83D\uDE00.pdf","fileEntryType":2},"webhook":{"id":7,"name":"automation"}})");
        CHECK(e.event_id == "1532");
        CHECK(e.trigger == "file.uploaded");
        CHECK(e.created_by == "66faa6e4-f133-11ea-b126-00ffeec8b4ef");
        CHECK(e.created_on == "2025-06-10T09:15:42Z");
        CHECK(e.webhook_id == "7");
        CHECK(e.webhook_name == "automation");
        CHECK(e.entry_id == "8421");
        CHECK(e.parent_id == "8410");
        CHECK(e.entry_type == 2);
        CHECK(e.title == "Invoice & \xC3\xBC" "bersicht \xF0\x9F\x98\x80.pdf");
    }

    TEST_CASE("string ids from third-party storage are accepted") {
        auto e = ok(R"({"event":{"id":"77","trigger":"file.created"},"payload":{"id":"sbox-123","parentId":"sbox-9"},"webhook":{"id":"w1"}})");
        CHECK(e.event_id == "77");
        CHECK(e.entry_id == "sbox-123");
        CHECK(e.parent_id == "sbox-9");
        CHECK(e.webhook_id == "w1");
    }

    TEST_CASE("optional parts may be missing and unknown fields are ignored") {
        auto e = ok(R"({"event":{"id":5,"trigger":"*","extra":[1,2]},"future":{"x":true}})");
        CHECK(e.event_id == "5");
        CHECK(e.webhook_id.empty());
        CHECK(e.entry_id.empty());
        CHECK(e.created_by.empty());
    }

    TEST_CASE("missing or malformed required fields give a one-line reason") {
        CHECK(err("not json").rfind("body is not JSON", 0) == 0);
        CHECK(err("[1,2]") == "body must be a JSON object");
        CHECK(err(R"({"payload":{}})") == "event is missing or not an object");
        CHECK(err(R"({"event":{"trigger":"file.uploaded"}})") == "event.id is missing");
        CHECK(err(R"({"event":{"id":1}})") == "event.trigger is missing");
        CHECK(err(R"({"event":{"id":1.5,"trigger":"x.y"}})") == "event.id must be an integer or a non-empty string");
        CHECK(err(R"({"event":{"id":1,"trigger":7}})") == "event.trigger must be a non-empty string");
        CHECK(err("{\"event\":{\"id\":1,\"trigger\":\"a\\uZZZZ\"}}").rfind("body is not JSON", 0) == 0);
    }

    TEST_CASE("deep nesting is refused instead of recursing without bound") {
        std::string deep = R"({"event":{"id":1,"trigger":"t.x"},"payload":)";
        for (int i = 0; i < 10000; ++i) deep += "[";
        for (int i = 0; i < 10000; ++i) deep += "]";
        deep += "}";
        CHECK(err(deep).rfind("body is not JSON", 0) == 0);
    }

    TEST_CASE("the one-pass reader answers as a DOM read would, on duplicates, wrong types and nesting") {
        // Each body is read by parse_envelope and by the DOM reference; the answers must be the same,
        // reason for reason and field for field.
        const std::vector<std::string> bodies = {
            // a duplicate key's last value wins, at the root and inside a section
            R"({"event":{"id":1,"trigger":"a.b"},"event":{"id":2,"trigger":"c.d"}})",
            R"({"event":{"id":1,"trigger":"a.b"},"event":5})",
            R"({"event":{"id":1,"trigger":"a.b"},"event":{"trigger":"c.d"}})",
            R"({"event":{"id":1,"trigger":"a.b","createBy":"u"},"event":{"id":2,"trigger":"c.d"}})",
            R"({"event":{"id":1,"trigger":"a.b"},"payload":{"id":3,"title":"t"},"payload":{"parentId":4}})",
            R"({"event":5,"event":{"id":1,"trigger":"a.b"}})",
            R"({"event":{"id":1,"id":"x","trigger":"a.b","trigger":"e.f"}})",
            R"({"event":{"id":"x","id":1.5,"trigger":"a.b"}})",
            R"({"event":{"id":1,"trigger":"a.b"},"payload":{"title":"one","title":{"x":"two"}}})",
            R"({"event":{"id":1,"trigger":"a.b"},"payload":{"title":{"x":"two"},"title":"three"}})",
            R"({"event":{"id":1,"trigger":"a.b"},"payload":{"id":3},"payload":[1,2]})",
            R"({"event":{"id":1,"trigger":"a.b"},"webhook":{"id":3,"name":"n"},"webhook":{"name":"m"}})",
            // null, bool, double, arrays and objects where a scalar is read
            R"({"event":{"id":null,"trigger":"a.b"}})",
            R"({"event":{"id":true,"trigger":"a.b"}})",
            R"({"event":{"id":[1],"trigger":"a.b"}})",
            R"({"event":{"id":{"id":1},"trigger":"a.b"}})",
            R"({"event":{"id":1,"trigger":null}})",
            R"({"event":{"id":1,"trigger":""}})",
            R"({"event":{"id":"","trigger":"a.b"}})",
            R"({"event":{"id":1,"trigger":"a.b","createBy":5,"createOn":null}})",
            R"({"event":{"id":1,"trigger":"a.b"},"payload":{"fileEntryType":2.0,"parentId":-4}})",
            R"({"event":{"id":1,"trigger":"a.b"},"payload":{"fileEntryType":18446744073709551615,"id":18446744073709551615}})",
            R"({"event":{"id":-9223372036854775808,"trigger":"a.b"}})",
            // the fields are read only where they belong
            R"({"event":{"id":1,"trigger":"a.b","payload":{"id":9}},"x":{"event":{"id":2}},"payload":{"x":{"id":7},"id":8}})",
            R"({"id":1,"trigger":"a.b","event":{"id":1,"trigger":"a.b","title":"not here"},"title":"nor here"})",
            R"({"event":{"id":1,"trigger":"a.b"},"payload":{"title":"t","nested":[{"title":"u"}],"after":"x"}})",
            R"([{"event":{"id":1,"trigger":"a.b"}}])",
            R"("event")",
            R"({"event":[{"id":1,"trigger":"a.b"}]})",
            // escapes in keys and values
            R"({"\u0065vent":{"\u0069d":1,"trig\u0067er":"a\u002eb"},"payload":{"t\u0069tle":"\ud83d\ude00"}})",
            // JSON errors
            R"({"event":{"id":1,"trigger":"a.b"}} x)",
            R"({"event":{"id":1,"trigger":"a.b"})",
            R"({"event":{"id":1,"trigger":"a.b"}}   )",
            "",
            "{\"event\":{\"id\":1,\"trigger\":\"a\xff\"}}",
        };
        for (const auto& body : bodies) {
            INFO(body);
            CHECK(spacehook::testing::same_answer(parse_envelope(body), spacehook::testing::reference_parse_envelope(body)));
        }
    }

    TEST_CASE("long strings and keys with escapes, which arrive in parts, are read whole") {
        const std::string title(20000, 'x');
        const std::string key = std::string(5000, 'k') + "\\u0041" + std::string(5000, 'k');
        const std::string body = R"({")" + key + R"(":")" + title + R"(","event":{"id":"1","trigger":"a.b"},"payload":{")" +
                                 key + R"(":1,"title":")" + title + R"(\u00e9"}})";
        auto e = ok(body);
        CHECK(e.title == title + "\xC3\xA9");
        CHECK(spacehook::testing::same_answer(parse_envelope(body), spacehook::testing::reference_parse_envelope(body)));
    }
}
