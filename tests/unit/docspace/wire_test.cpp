// DocSpace wire parsing from bodies written exactly as docs/docspace-protocol.md §4 shows them.
#include "spacehook/docspace/wire.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <doctest/doctest.h>

namespace {

using namespace spacehook;
using namespace spacehook::docspace;
namespace json = boost::json;
using std::chrono::system_clock;

const auto now = system_clock::time_point(std::chrono::seconds(1750000000));

http::client_response response(unsigned status, std::string body,
                               std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::client_response r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
}

json::value unwrapped(const std::string& body) {
    auto r = wire::unwrap(response(200, body), "test", now);
    REQUIRE(r.has_value());
    return r.value();
}

}  // namespace

TEST_SUITE("docspace wire") {

TEST_CASE("a success envelope yields its response member") {
    auto r = wire::unwrap(response(200, R"({"response": {"id": 1}, "count": 1, "total": 57, )"
                                        R"("links":[{"href":"https://portal/api/2.0/files/file/1","action":"GET"}],)"
                                        R"( "status": 0, "statusCode": 200})"),
                          "files.file.get", now);
    REQUIRE(r.has_value());
    CHECK(json::serialize(r.value()) == R"({"id":1})");

    SUBCASE("a string response") {
        auto s = wire::to_string_response(unwrapped(R"({"response":"Need Review","count":1,"status":0,"statusCode":200})"));
        REQUIRE(s.has_value());
        CHECK(s.value() == "Need Review");
    }
}

TEST_CASE("a 2xx body that is not an envelope is an error carrying the status") {
    auto not_json = wire::unwrap(response(200, "<html>login</html>"), "people.self", now);
    REQUIRE_FALSE(not_json.has_value());
    CHECK(not_json.error().status == 200);
    CHECK(not_json.error().endpoint == "people.self");
    CHECK_FALSE(not_json.error().transient());
    CHECK_FALSE(not_json.error().permanent());

    auto no_member = wire::unwrap(response(200, R"({"status":0})"), "people.self", now);
    REQUIRE_FALSE(no_member.has_value());
    CHECK(no_member.error().message.find("response") != std::string::npos);
}

TEST_CASE("the error envelope's message and the status become the api_error") {
    const std::string body =
        R"({"error":{"message":"You don't have enough permission to edit the file","type":"System.InvalidOperationException",)"
        R"("stack":"   at ASC.Files.Core...","hresult":-2146233079},"status":1,"statusCode":403})";
    auto r = wire::unwrap(response(403, body), "files.file.comment", now);
    REQUIRE_FALSE(r.has_value());
    const auto& e = r.error();
    CHECK(e.status == 403);
    CHECK(e.message == "You don't have enough permission to edit the file");
    CHECK(e.endpoint == "files.file.comment");
    CHECK_FALSE(e.retry_after_ms.has_value());
    CHECK(e.permanent());
    CHECK_FALSE(e.transient());
}

TEST_CASE("error messages are cut to 200 bytes at a character boundary") {
    std::string long_message(199, 'a');
    long_message += "\xC3\xBC";  // u-umlaut straddles byte 200
    long_message += std::string(50, 'b');
    auto r = wire::unwrap(response(500, R"({"error":{"message":")" + long_message + R"("},"status":1,"statusCode":500})"),
                          "x", now);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message == std::string(199, 'a'));
    CHECK(r.error().transient());
}

TEST_CASE("a non-JSON error body is described by status and text") {
    auto r = wire::unwrap(response(502, "Bad Gateway"), "x", now);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message == "HTTP 502: Bad Gateway");
    auto empty = wire::unwrap(response(404, ""), "x", now);
    CHECK(empty.error().message == "HTTP 404");
}

TEST_CASE("429 and 503 carry the wait from Retry-After or X-RateLimit-Reset") {
    const std::string body = R"({"error":{"message":"Too many requests"},"status":1,"statusCode":429})";
    SUBCASE("Retry-After in seconds") {
        auto r = wire::unwrap(response(429, body, {{"Retry-After", "30"}}), "x", now);
        REQUIRE(r.error().retry_after_ms.has_value());
        CHECK(*r.error().retry_after_ms == 30000);
        CHECK(r.error().transient());
    }
    SUBCASE("Retry-After as an HTTP date") {
        // 1750000000 = Sun, 15 Jun 2025 15:06:40 GMT
        auto r = wire::unwrap(response(503, "", {{"retry-after", "Sun, 15 Jun 2025 15:06:52 GMT"}}), "x", now);
        REQUIRE(r.error().retry_after_ms.has_value());
        CHECK(*r.error().retry_after_ms == 12000);
    }
    SUBCASE("X-RateLimit-Reset as a unix timestamp") {
        auto r = wire::unwrap(response(429, body, {{"X-RateLimit-Limit", "1500"}, {"X-RateLimit-Remaining", "0"},
                                                   {"X-RateLimit-Reset", "1750000045"}}),
                              "x", now);
        REQUIRE(r.error().retry_after_ms.has_value());
        CHECK(*r.error().retry_after_ms == 45000);
    }
    SUBCASE("X-RateLimit-Reset as seconds to go") {
        auto r = wire::unwrap(response(429, body, {{"X-RateLimit-Reset", "7"}}), "x", now);
        CHECK(*r.error().retry_after_ms == 7000);
    }
    SUBCASE("Retry-After wins over X-RateLimit-Reset") {
        auto r = wire::unwrap(response(429, body, {{"X-RateLimit-Reset", "1750000045"}, {"Retry-After", "2"}}), "x", now);
        CHECK(*r.error().retry_after_ms == 2000);
    }
    SUBCASE("a reset in the past waits zero") {
        auto r = wire::unwrap(response(429, body, {{"X-RateLimit-Reset", "1740000000"}}), "x", now);
        CHECK(*r.error().retry_after_ms == 0);
    }
    SUBCASE("nothing usable") {
        auto r = wire::unwrap(response(429, body, {{"Retry-After", "soon"}}), "x", now);
        CHECK_FALSE(r.error().retry_after_ms.has_value());
    }
    SUBCASE("not looked at for other statuses") {
        auto r = wire::unwrap(response(500, body, {{"Retry-After", "30"}}), "x", now);
        CHECK_FALSE(r.error().retry_after_ms.has_value());
    }
}

TEST_CASE("statuses sort into transient, permanent and neither (core errc)") {
    auto err = [](unsigned s) {
        api_error e;
        e.status = s;
        return e;
    };
    for (unsigned s : {0u, 408u, 429u, 500u, 502u, 503u, 504u}) {
        CAPTURE(s);
        CHECK(err(s).transient());
        CHECK_FALSE(err(s).permanent());
    }
    for (unsigned s : {400u, 402u, 403u, 404u, 410u, 415u}) {
        CAPTURE(s);
        CHECK(err(s).permanent());
        CHECK_FALSE(err(s).transient());
    }
    CHECK_FALSE(err(501).transient());
    CHECK_FALSE(err(401).transient());
    CHECK_FALSE(err(401).permanent());
    CHECK(err(0).code() == spacehook::errc::unavailable);
    CHECK(err(401).code() == spacehook::errc::unauthorized);
    CHECK(err(408).code() == spacehook::errc::timed_out);
    CHECK(err(429).code() == spacehook::errc::rate_limited);
    CHECK(err(403).code() == spacehook::errc::rejected);
    CHECK(err(501).code() == spacehook::errc::unexpected);
    CHECK(err(200).code() == spacehook::errc::unexpected);  // a 2xx whose body could not be read
}

TEST_CASE("a FileDto becomes file_info, with ApiDateTime strings kept as sent") {
    auto v = unwrapped(R"({"response":{"folderId":8410,"version":3,"versionGroup":2,"contentLength":"12.3 KB",)"
                       R"("pureContentLength":12595,"fileStatus":0,"mute":false,"viewUrl":"https://portal/filehandler.ashx?action=view&fileid=8421",)"
                       R"("webUrl":"https://portal/doceditor?fileid=8421&version=3","fileType":7,"fileExst":".pdf",)"
                       R"("comment":"Uploaded","id":8421,"rootFolderId":3,"canShare":true,"security":{"Read":true,"Edit":true},)"
                       R"("title":"Invoice-2025-06.pdf","access":0,"shared":false,"created":"2025-06-10T12:15:41.0000000+03:00",)"
                       R"("createdBy":{"id":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","displayName":"Ann Lee","avatarSmall":"/a.png",)"
                       R"("profileUrl":"https://portal/accounts/people/filter?search=ann"},"updated":"2025-06-10T12:20:02.0000000+03:00",)"
                       R"("rootFolderType":14,"updatedBy":{"id":"0f6c1a2b-0000-4000-8000-000000000001","displayName":"Bot"},)"
                       R"("fileEntryType":2},"count":1,"links":[{"href":"https://portal/api/2.0/files/file/8421","action":"GET"}],)"
                       R"("status":0,"statusCode":200})");
    auto f = wire::to_file(v);
    REQUIRE(f.has_value());
    CHECK(f->id == "8421");
    CHECK(f->folder_id == "8410");
    CHECK(f->root_folder_id == "3");
    CHECK(f->title == "Invoice-2025-06.pdf");
    CHECK(f->version == 3);
    CHECK(f->size == 12595);
    CHECK(f->file_exst == ".pdf");
    CHECK(f->comment == "Uploaded");
    CHECK(f->web_url == "https://portal/doceditor?fileid=8421&version=3");
    CHECK(f->created_by_id == "66faa6e4-f133-11ea-b126-00ffeec8b4ef");
    CHECK(f->updated_by_id == "0f6c1a2b-0000-4000-8000-000000000001");
    CHECK(f->updated == "2025-06-10T12:20:02.0000000+03:00");
    CHECK(f->root_folder_type == 14);
}

TEST_CASE("third-party files have string ids") {
    auto f = wire::to_file(unwrapped(R"({"response":{"id":"sbox-123-|report.docx","folderId":"sbox-123-|",)"
                                     R"("title":"report.docx","version":1,"fileEntryType":2},"status":0,"statusCode":200})"));
    REQUIRE(f.has_value());
    CHECK(f->id == "sbox-123-|report.docx");
    CHECK(f->folder_id == "sbox-123-|");
    CHECK_FALSE(wire::to_file(json::parse(R"({"title":"no id"})")).has_value());
    CHECK_FALSE(wire::to_file(json::parse(R"([1,2])")).has_value());
}

TEST_CASE("a FileOperationDto with a capital-O Operation becomes a fileop") {
    auto v = unwrapped(R"({"response":[{"id":"9c3e5a0e-6f1d-4b1e-9a57-2f3b6f1f1a01","Operation":1,"progress":100,)"
                       R"("error":"","processed":"1","finished":true,"files":[{"id":9102,"title":"Invoice-2025-06.pdf",)"
                       R"("folderId":341029,"version":1,"fileEntryType":2}],"folders":[],"status":2}],"count":1,"status":0,"statusCode":200})");
    auto ops = wire::to_fileops(v);
    REQUIRE(ops.has_value());
    REQUIRE(ops->size() == 1);
    const auto& op = ops->front();
    CHECK(op.id == "9c3e5a0e-6f1d-4b1e-9a57-2f3b6f1f1a01");
    CHECK(op.operation == 1);
    CHECK(op.finished);
    CHECK(op.error.empty());
    CHECK(op.progress == 100);
    CHECK(op.status == 2);
    CHECK(op.file_ids == std::vector<entry_id>{"9102"});
    CHECK(op.folder_ids.empty());

    SUBCASE("a running op, a failed op, the docs' lowercase spelling") {
        auto running = wire::to_fileop(json::parse(R"({"id":"a","Operation":0,"progress":0,"error":"","processed":"0","finished":false,"files":[],"folders":[],"status":1})"));
        REQUIRE(running.has_value());
        CHECK_FALSE(running->finished);
        CHECK(running->operation == 0);
        auto failed = wire::to_fileop(json::parse(R"({"id":"b","Operation":0,"progress":100,"error":"You don't have enough permission to move","finished":true,"files":[],"status":4})"));
        CHECK(failed->error == "You don't have enough permission to move");
        CHECK(failed->file_ids.empty());
        auto lower = wire::to_fileop(json::parse(R"({"id":"c","operation":1,"finished":false})"));
        CHECK(lower->operation == 1);
    }
    SUBCASE("an op that is gone is an empty array") {
        auto none = wire::to_fileops(unwrapped(R"({"response":[],"count":0,"status":0,"statusCode":200})"));
        REQUIRE(none.has_value());
        CHECK(none->empty());
    }
}

TEST_CASE("a person comes from EmployeeFullDto with displayName HTML-decoded") {
    auto p = wire::to_person(unwrapped(
        R"({"response":{"firstName":"Ann","lastName":"O'Brien","userName":"ann","email":"ann@example.com","status":1,)"
        R"("activationStatus":1,"isAdmin":true,"id":"66faa6e4-f133-11ea-b126-00ffeec8b4ef",)"
        R"("displayName":"Ann O&#39;Brien &amp; Co &lt;QA&gt;","profileUrl":"https://portal/accounts/people/filter?search=ann"},)"
        R"("count":1,"status":0,"statusCode":200})"));
    REQUIRE(p.has_value());
    CHECK(p->id == "66faa6e4-f133-11ea-b126-00ffeec8b4ef");
    CHECK(p->display_name == "Ann O'Brien & Co <QA>");
    CHECK(p->first_name == "Ann");
    CHECK(p->last_name == "O'Brien");
    CHECK(p->email == "ann@example.com");
}

TEST_CASE("the folder path is a list of FolderDto from the section root down") {
    auto path = wire::to_folder_path(unwrapped(
        R"({"response":[{"parentId":0,"filesCount":0,"foldersCount":3,"id":3,"title":"Rooms","rootFolderType":14,"fileEntryType":1},)"
        R"({"parentId":3,"filesCount":4,"foldersCount":1,"roomType":6,"id":86193,"title":"Finance","rootFolderType":14,"fileEntryType":1},)"
        R"({"parentId":86193,"filesCount":9,"foldersCount":0,"id":8410,"title":"Inbox","rootFolderType":14,"fileEntryType":1}],)"
        R"("count":3,"links":[],"status":0,"statusCode":200})"));
    REQUIRE(path.has_value());
    REQUIRE(path->size() == 3);
    CHECK((*path)[0].id == "3");
    CHECK((*path)[0].parent_id == "0");
    CHECK((*path)[0].room_type == 0);
    CHECK((*path)[1].id == "86193");
    CHECK((*path)[1].title == "Finance");
    CHECK((*path)[1].room_type == 6);
    CHECK((*path)[2].parent_id == "86193");
    CHECK((*path)[2].root_folder_type == 14);
}

TEST_CASE("webhook configs, the list with statuses, and the trigger list") {
    const std::string dto = R"({"id":7,"name":"automation","uri":"https://hooks.example.com/docspace","enabled":true,)"
                            R"("ssl":true,"triggers":768,"targetId":"8421","createdBy":{"id":"66fa"},"createdOn":"2025-06-01T10:00:00",)"
                            R"("lastFailureOn":"2025-06-10T09:20:03","lastFailureContent":"Response status code does not indicate success: 500",)"
                            R"("lastSuccessOn":"2025-06-10T09:15:43"})";
    auto one = wire::to_webhook(json::parse(dto));
    REQUIRE(one.has_value());
    CHECK(one->id == 7);
    CHECK(one->name == "automation");
    CHECK(one->uri == "https://hooks.example.com/docspace");
    CHECK(one->enabled);
    CHECK(one->ssl);
    CHECK(one->triggers == 768);
    CHECK(one->target_id == "8421");
    CHECK(one->last_failure_on == "2025-06-10T09:20:03");
    CHECK(one->last_success_on == "2025-06-10T09:15:43");

    auto list = wire::to_webhook_list(unwrapped(R"({"response":[{"configs":)" + dto +
                                                R"(,"status":500},{"configs":{"id":8,"name":"b","uri":"https://x/"},"status":0}],"count":2,"status":0,"statusCode":200})"));
    REQUIRE(list.has_value());
    REQUIRE(list->size() == 2);
    CHECK((*list)[0].last_status == 500);
    CHECK((*list)[1].id == 8);
    CHECK_FALSE((*list)[1].enabled);
    CHECK((*list)[1].triggers == 0);

    auto triggers = wire::to_triggers(unwrapped(R"({"response":[{"name":"user.created","id":1,"available":false},)"
                                                R"({"name":"file.uploaded","id":256,"available":true},{"name":"file.downloaded","id":17179869184,"available":true}],)"
                                                R"("count":3,"status":0,"statusCode":200})"));
    REQUIRE(triggers.has_value());
    REQUIRE(triggers->size() == 3);
    CHECK_FALSE((*triggers)[0].available);
    CHECK((*triggers)[1].id == 256);
    CHECK((*triggers)[2].id == 17179869184LL);
}

TEST_CASE("a page of the webhook log: rows newest first and the total from beside the response") {
    // A delivered row with numeric fields, and a failed one as a lenient reader may meet it: string id and
    // status, no delivery, no payload, no headers, a creationTime without a zone.
    const std::string body =
        R"({"response":[{"id":1533,"configName":"automation","trigger":256,)"
        R"("creationTime":"2025-06-10T12:15:41.0000000+03:00","requestHeaders":"{\"Accept\":[\"*/*\"],)"
        R"(\"x-docspace-signature-256\":[\"sha256=AB12\"]}","requestPayload":"{\"event\":{\"id\":1533,)"
        R"(\"trigger\":\"file.uploaded\"},\"payload\":{\"title\":\"a \\u0026 b.pdf\"}}",)"
        R"("responsePayload":"{}","status":200,"delivery":"2025-06-10T09:15:42Z"},)"
        R"({"id":"1532","configName":"automation","trigger":128,"creationTime":"2025-06-10T09:15:40",)"
        R"("status":"0"}],"count":2,"total":57,"links":[],"status":0,"statusCode":200})";
    auto envelope = wire::unwrap_envelope(response(200, body), "settings.webhooks.log", now);
    REQUIRE(envelope.has_value());
    auto page = wire::to_webhook_log_page(envelope.value());
    REQUIRE(page.has_value());
    CHECK(page->total == 57);
    REQUIRE(page->rows.size() == 2);

    const auto& ok = page->rows[0];
    CHECK(ok.id == 1533);
    CHECK(ok.config_name == "automation");
    CHECK(ok.trigger == 256);
    CHECK(ok.creation_time_ms == 1749546941000);
    CHECK(ok.status == 200);
    CHECK(ok.delivered);
    CHECK(ok.request_headers == R"({"Accept":["*/*"],"x-docspace-signature-256":["sha256=AB12"]})");
    // The payload is the body's bytes, escapes and all, so its signature can still be checked.
    CHECK(ok.request_payload ==
          R"({"event":{"id":1533,"trigger":"file.uploaded"},"payload":{"title":"a \u0026 b.pdf"}})");

    const auto& failed = page->rows[1];
    CHECK(failed.id == 1532);
    CHECK(failed.trigger == 128);
    CHECK(failed.creation_time_ms == 1749546940000);
    CHECK(failed.status == 0);
    CHECK_FALSE(failed.delivered);
    CHECK(failed.request_payload.empty());
    CHECK(failed.request_headers.empty());

    SUBCASE("no total in the envelope") {
        auto p = wire::to_webhook_log_page(json::parse(R"({"response":[],"count":0,"status":0})"));
        REQUIRE(p.has_value());
        CHECK(p->rows.empty());
        CHECK(p->total == -1);
    }
    SUBCASE("a creationTime in UTC with Z") {
        auto row = wire::to_webhook_log_row(json::parse(R"({"id":7,"creationTime":"2025-06-10T09:15:41Z"})"));
        REQUIRE(row.has_value());
        CHECK(row->creation_time_ms == 1749546941000);
    }
    SUBCASE("a row with only its id") {
        auto p = wire::to_webhook_log_page(json::parse(R"({"response":[{"id":7}],"total":1})"));
        REQUIRE(p.has_value());
        CHECK(p->rows.at(0).id == 7);
        CHECK(p->rows.at(0).config_name.empty());
        CHECK(p->rows.at(0).creation_time_ms == 0);
        CHECK(p->rows.at(0).status == 0);
        CHECK_FALSE(p->rows.at(0).delivered);
    }
    SUBCASE("a null delivery is not a delivery") {
        auto row = wire::to_webhook_log_row(json::parse(R"({"id":7,"status":503,"delivery":null})"));
        REQUIRE(row.has_value());
        CHECK(row->status == 503);
        CHECK_FALSE(row->delivered);
    }
    SUBCASE("shapes that are refused") {
        CHECK_FALSE(wire::to_webhook_log_page(json::parse(R"({"response":{"id":7}})")).has_value());
        CHECK_FALSE(wire::to_webhook_log_page(json::parse(R"([{"id":7}])")).has_value());
        // One unreadable entry is set aside with its reason; the readable ones around it are kept.
        auto mixed = wire::to_webhook_log_page(
            json::parse(R"({"response":[{"id":9},{"configName":"x"},"junk",{"id":7}],"total":4})"));
        REQUIRE(mixed.has_value());
        REQUIRE(mixed->rows.size() == 2);
        CHECK(mixed->rows[0].id == 9);
        CHECK(mixed->rows[1].id == 7);
        REQUIRE(mixed->unreadable.size() == 2);
        CHECK(mixed->unreadable[0] == "unexpected response: webhook log entry has no id");
        CHECK(mixed->unreadable[1] == "unexpected response: webhook log entry is not an object");
        CHECK_FALSE(wire::to_webhook_log_row(json::parse(R"({"id":"abc"})")).has_value());
        CHECK_FALSE(wire::to_webhook_log_row(json::parse("1532")).has_value());
    }
}

TEST_CASE("the whole envelope is an error like unwrap's for the statuses the log answers") {
    const std::string body = R"({"error":{"message":"Access denied","type":"System.Security.SecurityException"},)"
                             R"("status":1,"statusCode":403})";
    auto denied = wire::unwrap_envelope(response(403, body), "settings.webhooks.log", now);
    REQUIRE_FALSE(denied.has_value());
    CHECK(denied.error().status == 403);
    CHECK(denied.error().message == "Access denied");
    CHECK(denied.error().permanent());

    auto limited = wire::unwrap_envelope(response(429, "", {{"Retry-After", "4"}}), "settings.webhooks.log", now);
    REQUIRE_FALSE(limited.has_value());
    CHECK(limited.error().retry_after_ms == 4000);
    CHECK(limited.error().transient());

    auto html = wire::unwrap_envelope(response(200, "<html>login</html>"), "settings.webhooks.log", now);
    REQUIRE_FALSE(html.has_value());
    CHECK(html.error().status == 200);
}

TEST_CASE("the log query sends only the filters that are set") {
    CHECK(wire::webhook_log_query_string({}).empty());
    webhook_log_query q;
    q.config_id = 7;
    q.group_status = 29;
    q.event_id = 1532;
    q.start_index = 200;
    q.count = 100;
    CHECK(wire::webhook_log_query_string(q) == "?configId=7&groupStatus=29&eventId=1532&startIndex=200&count=100");
    webhook_log_query only_count;
    only_count.count = 5;
    CHECK(wire::webhook_log_query_string(only_count) == "?count=5");
}

TEST_CASE("request bodies send numeric ids as numbers and other ids as strings") {
    CHECK(wire::fileop_body("8421", "654321", docspace::conflict::skip) ==
          R"({"fileIds":[8421],"folderIds":[],"destFolderId":654321,"conflictResolveType":"Skip",)"
          R"("deleteAfter":false,"content":false,"toFillOut":false,"returnSingleOperation":true})");
    CHECK(wire::fileop_body("sbox-1-|a.pdf", "007", docspace::conflict::duplicate) ==
          R"({"fileIds":["sbox-1-|a.pdf"],"folderIds":[],"destFolderId":"007","conflictResolveType":"Duplicate",)"
          R"("deleteAfter":false,"content":false,"toFillOut":false,"returnSingleOperation":true})");
    CHECK(wire::conflict_name(docspace::conflict::overwrite) == "Overwrite");
    CHECK(wire::comment_body(3, "Need \"Review\"") == R"({"version":3,"comment":"Need \"Review\""})");
    CHECK(wire::is_numeric_id("0"));
    CHECK_FALSE(wire::is_numeric_id(""));
    CHECK_FALSE(wire::is_numeric_id("12a"));
    CHECK_FALSE(wire::is_numeric_id("-5"));
    CHECK_FALSE(wire::is_numeric_id("1234567890123456789"));  // beyond what we send as a number
    CHECK(wire::id_text(json::parse("8421")) == "8421");
    CHECK(wire::id_text(json::parse(R"("sbox-9")")) == "sbox-9");
    CHECK(wire::id_text(json::parse("null")).empty());
}

TEST_CASE("webhook bodies carry the fields DocSpace's DTOs require") {
    webhook_spec s;
    s.name = "automation";
    s.uri = "https://hooks.example.com/docspace";
    s.secret = "S3cret-Key_01";
    s.triggers = 768;
    CHECK(wire::webhook_body(s) == R"({"name":"automation","uri":"https://hooks.example.com/docspace",)"
                                   R"("secretKey":"S3cret-Key_01","enabled":true,"ssl":true,"triggers":768})");
    s.secret.clear();
    s.target_id = "8421";
    s.ssl = false;
    CHECK(wire::webhook_body(s, 7) == R"({"id":7,"name":"automation","uri":"https://hooks.example.com/docspace",)"
                                      R"("secretKey":"","enabled":true,"ssl":false,"triggers":768,"targetId":"8421"})");
    CHECK(wire::webhook_enable_body(7, "automation", "https://h/", false) ==
          R"({"id":7,"name":"automation","uri":"https://h/","enabled":false})");
}

TEST_CASE("helpers: path encoding and HTML decoding") {
    CHECK(wire::encode_component("8421") == "8421");
    CHECK(wire::encode_component("sbox-1-|a b/c") == "sbox-1-%7Ca%20b%2Fc");
    CHECK(wire::html_decode("a &amp;&amp; b &#x41;&#66; &unknown; & ;") == "a && b AB &unknown; & ;");
    CHECK(wire::html_decode("&#252;") == "\xC3\xBC");
    CHECK(wire::truncate_utf8("short") == "short");
}

}  // TEST_SUITE
