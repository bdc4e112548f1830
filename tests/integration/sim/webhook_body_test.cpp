// The bytes the simulator writes: .NET JSON escaping, date formats, the webhook envelope (checked against
// the test vector of docs/docspace-protocol.md §1.4) and the size strings of FileDto.contentLength.
#include "spacehook/sim/dotnet_json.hpp"
#include "spacehook/sim/webhook_body.hpp"
#include "spacehook/webhook/signature.hpp"

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

using namespace spacehook;
namespace dj = sim::dotnet_json;

// 2025-06-10T09:15:41Z
constexpr std::int64_t t_0915_41 = 1749546941000;

sim::webhook_body vector_body() {
    const std::string user = "66faa6e4-f133-11ea-b126-00ffeec8b4ef";
    sim::webhook_body b;
    b.event_id = 1532;
    b.create_on_ms = t_0915_41 + 1000;
    b.create_by = user;
    b.trigger = "file.uploaded";
    b.trigger_id = 256;
    auto& p = b.payload;
    p["id"] = 8421;
    p["parentId"] = 8410;
    p["folderIdDisplay"] = 8410;
    p["rootId"] = 3;
    p["securityByUsers"] = boost::json::object{};
    p["title"] = "Invoice & \xC3\xBC" "bersicht.pdf";
    p["createBy"] = user;
    p["modifiedBy"] = user;
    p["createOn"] = dj::utc_seconds(t_0915_41);
    p["modifiedOn"] = dj::utc_seconds(t_0915_41);
    p["rootFolderType"] = 14;
    p["rootCreateBy"] = user;
    p["fileEntryType"] = 2;
    b.webhook_id = 7;
    b.webhook_name = "automation";
    b.webhook_url = "https://hooks.example.com/docspace";
    b.webhook_triggers = sim::trigger_names(256 | 512);
    return b;
}

}  // namespace

TEST_SUITE("sim.webhook_body") {
    TEST_CASE("strings are escaped the way the .NET default JavaScriptEncoder does") {
        CHECK(dj::quote("plain ASCII/text") == R"("plain ASCII/text")");
        CHECK(dj::quote("<a href='x'>&+`\"</a>") ==
              R"("\u003Ca href=\u0027x\u0027\u003E\u0026\u002B\u0060\u0022\u003C/a\u003E")");
        CHECK(dj::quote("back\\slash\n\t\r\b\f") == R"("back\\slash\n\t\r\b\f")");
        CHECK(dj::quote(std::string("\x01\x1f\x7f", 3)) == R"("\u0001\u001F\u007F")");
        CHECK(dj::quote("\xC3\xBC\xC3\xA9\xE2\x82\xAC") == R"("\u00FC\u00E9\u20AC")");
        // U+1F600 as a surrogate pair with uppercase hex digits.
        CHECK(dj::quote("\xF0\x9F\x98\x80") == R"("\uD83D\uDE00")");
        // Invalid UTF-8 becomes U+FFFD.
        CHECK(dj::quote("a\xFF" "b") == R"("a\uFFFDb")");
    }

    TEST_CASE("dates come out as DocSpace writes them") {
        CHECK(dj::utc_seconds(t_0915_41 + 999) == "2025-06-10T09:15:41Z");
        CHECK(dj::unspecified_seconds(t_0915_41) == "2025-06-10T09:15:41");
        CHECK(dj::api_date_time(t_0915_41, 180) == "2025-06-10T12:15:41.0000000+03:00");
        CHECK(dj::api_date_time(t_0915_41, -90) == "2025-06-10T07:45:41.0000000-01:30");
        CHECK(dj::api_date_time(t_0915_41, 0) == "2025-06-10T09:15:41.0000000+00:00");
    }

    TEST_CASE("the protocol test vector renders byte for byte and its signature matches") {
        const std::string expected =
            R"({"event":{"id":1532,"createOn":"2025-06-10T09:15:42Z","createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","trigger":"file.uploaded","triggerId":256},"payload":{"id":8421,"parentId":8410,"folderIdDisplay":8410,"rootId":3,"securityByUsers":{},"title":"Invoice \u0026 \u00FCbersicht.pdf","createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","modifiedBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","createOn":"2025-06-10T09:15:41Z","modifiedOn":"2025-06-10T09:15:41Z","rootFolderType":14,"rootCreateBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","fileEntryType":2},"webhook":{"id":7,"name":"automation","url":"https://hooks.example.com/docspace","triggers":["file.uploaded","file.updated"]}})";
        const auto body = sim::render(vector_body());
        CHECK(body.size() == 674);
        CHECK(body == expected);
        CHECK(webhook::sign("S3cret-Key_01", body) ==
              "sha256=64F8BFB756D1489A7E16E5650ED3071140958A5094C1E1A60F93E93681BAD3AA");
    }

    TEST_CASE("a retry attempt carries the retry fields and an optional target") {
        auto b = vector_body();
        b.target = sim::webhook_target{boost::json::value(8421), "file"};
        b.last_failure_on_ms = t_0915_41 + 1000;
        b.last_failure_content = "Response status code does not indicate success: 500 (Internal Server Error).";
        b.last_success_on_ms = t_0915_41 + 2000;
        b.retry_count = 1;
        b.retry_on_ms = t_0915_41 + 3000;
        const auto body = sim::render(b);
        const std::string tail =
            R"("triggers":["file.uploaded","file.updated"],"target":{"id":8421,"type":"file"},"lastFailureOn":"2025-06-10T09:15:42Z","lastFailureContent":"Response status code does not indicate success: 500 (Internal Server Error).","lastSuccessOn":"2025-06-10T09:15:43","retryCount":1,"retryOn":"2025-06-10T09:15:44Z"}})";
        CHECK(body.substr(body.size() - tail.size()) == tail);
        CHECK_NOTHROW(boost::json::parse(body));
    }

    TEST_CASE("trigger names and flags follow WebhookTrigger") {
        CHECK(sim::trigger_flag("file.uploaded") == 256);
        CHECK(sim::trigger_flag("folder.downloaded") == 34359738368);
        CHECK(sim::trigger_flag("*") == 0);
        CHECK(sim::trigger_flag("nope") == -1);
        CHECK(sim::trigger_name(16384) == "file.moved");
        CHECK(sim::trigger_names(0) == std::vector<std::string>{"*"});
        CHECK(sim::trigger_names(128 | 256 | 8192) ==
              std::vector<std::string>{"file.created", "file.uploaded", "file.copied"});
    }
}
