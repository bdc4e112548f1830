#include "spacehook/webhook/signature.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using spacehook::webhook::same_token;
using spacehook::webhook::sign;
using spacehook::webhook::verify;

namespace {
// docs/docspace-protocol.md §1.4: 674 bytes, escapes as .NET's JavaScriptEncoder writes them.
const std::string vector_body =
    R"({"event":{"id":1532,"createOn":"2025-06-10T09:15:42Z","createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","trigger":"file.uploaded","triggerId":256},"payload":{"id":8421,"parentId":8410,"folderIdDisplay":8410,"rootId":3,"securityByUsers":{},"title":"Invoice \u0026 \u00FCbersicht.pdf","createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","modifiedBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","createOn":"2025-06-10T09:15:41Z","modifiedOn":"2025-06-10T09:15:41Z","rootFolderType":14,"rootCreateBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","fileEntryType":2},"webhook":{"id":7,"name":"automation","url":"https://hooks.example.com/docspace","triggers":["file.uploaded","file.updated"]}})";
const std::string vector_header = "sha256=64F8BFB756D1489A7E16E5650ED3071140958A5094C1E1A60F93E93681BAD3AA";

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}
}  // namespace

TEST_SUITE("webhook signature") {
    TEST_CASE("sign reproduces the protocol test vector in uppercase hex") {
        REQUIRE(vector_body.size() == 674);
        CHECK(sign("S3cret-Key_01", vector_body) == vector_header);
    }

    TEST_CASE("verify accepts uppercase, lowercase and mixed-case hex") {
        std::vector<std::string> secrets{"S3cret-Key_01"};
        CHECK(verify(secrets, vector_body, vector_header));
        CHECK(verify(secrets, vector_body, "sha256=" + lower(vector_header.substr(7))));
        auto mixed = vector_header;
        mixed[10] = static_cast<char>(std::tolower(mixed[10]));
        CHECK(verify(secrets, vector_body, mixed));
        CHECK(verify(secrets, vector_body, "  " + vector_header + " "));
    }

    TEST_CASE("verify rejects a wrong secret, a changed body and malformed headers") {
        std::vector<std::string> secrets{"S3cret-Key_01"};
        CHECK_FALSE(verify(std::vector<std::string>{"other-secret"}, vector_body, vector_header));
        auto changed = vector_body;
        changed[20] = '9';
        CHECK_FALSE(verify(secrets, changed, vector_header));
        CHECK_FALSE(verify(secrets, vector_body, ""));
        CHECK_FALSE(verify(secrets, vector_body, vector_header.substr(7)));           // no prefix
        CHECK_FALSE(verify(secrets, vector_body, "sha1=" + vector_header.substr(7)));  // wrong algorithm
        CHECK_FALSE(verify(secrets, vector_body, vector_header.substr(0, 70)));        // truncated
        CHECK_FALSE(verify(secrets, vector_body, vector_header + "00"));              // too long
        auto bad_digit = vector_header;
        bad_digit[7] = 'G';
        CHECK_FALSE(verify(secrets, vector_body, bad_digit));
    }

    TEST_CASE("any secret of a rotation list may match") {
        std::vector<std::string> rotation{"new-secret-2026", "S3cret-Key_01"};
        CHECK(verify(rotation, vector_body, vector_header));
        CHECK(verify(rotation, vector_body, sign("new-secret-2026", vector_body)));
        CHECK_FALSE(verify(std::vector<std::string>{}, vector_body, vector_header));
    }

    TEST_CASE("the prefix is case-insensitive for its letters only") {
        // Found by tests/fuzz/fuzz_webhook: the prefix check OR-ed 0x20 into every byte, so a control byte in
        // place of a digit or of '=' ("sha2\x156=", "sha256\x1d") passed for the prefix.
        std::vector<std::string> secrets{"S3cret-Key_01"};
        const std::string hex = vector_header.substr(7);
        CHECK(verify(secrets, vector_body, "SHA256=" + hex));
        CHECK(verify(secrets, vector_body, "Sha256=" + hex));
        CHECK_FALSE(verify(secrets, vector_body, std::string("sha2\x15" "6=") + hex));
        CHECK_FALSE(verify(secrets, vector_body, std::string("sha\x12" "56=") + hex));
        CHECK_FALSE(verify(secrets, vector_body, std::string("sha256\x1d") + hex));
        CHECK_FALSE(verify(secrets, vector_body, std::string("sha25\x16=") + hex));
    }

    TEST_CASE("the signature covers the raw bytes: escaped and unescaped forms differ") {
        // Re-serialising the JSON (\u0026 -> &) changes the bytes and so the signature: never verify that.
        std::string reserialised = vector_body;
        auto pos = reserialised.find("\\u0026");
        reserialised.replace(pos, 6, "&");
        CHECK_FALSE(verify(std::vector<std::string>{"S3cret-Key_01"}, reserialised, vector_header));
        // Surrogate pairs are signed as the 12 ASCII bytes DocSpace sends.
        std::string emoji = R"({"event":{"id":1,"trigger":"file.uploaded"},"payload":{"title":"\uD83D\uDE00.pdf"}})";
        CHECK(verify(std::vector<std::string>{"k3y-secret"}, emoji, sign("k3y-secret", emoji)));
    }

    TEST_CASE("same_token compares whole credentials, including their length") {
        CHECK(same_token("Bearer s3cret-token", "Bearer s3cret-token"));
        CHECK_FALSE(same_token("Bearer s3cret-toke", "Bearer s3cret-token"));   // a prefix
        CHECK_FALSE(same_token("Bearer s3cret-token2", "Bearer s3cret-token"));  // longer
        CHECK_FALSE(same_token("Bearer S3cret-token", "Bearer s3cret-token"));   // case matters
        CHECK_FALSE(same_token("", "Bearer s3cret-token"));
        CHECK(same_token("", ""));
    }
}
