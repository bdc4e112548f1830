// spacehook::docspace::client against the DocSpace simulator (spacehook::sim::docspace_sim) on loopback:
// every call goes over real HTTP, and the assertions look at the simulator's state and request log.
#include "test_support.hpp"

#include "spacehook/core/clock.hpp"
#include "spacehook/docspace/client.hpp"
#include "spacehook/http/client.hpp"
#include "spacehook/http/server.hpp"
#include "spacehook/sim/docspace_sim.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <doctest/doctest.h>

namespace {

using namespace spacehook;
using namespace spacehook::docspace;
using namespace std::chrono_literals;
using spacehook::test::poll_until;
using spacehook::test::run_coro;

constexpr std::string_view api_key = "sk-spacehook-test";

// A simulator with a room "Finance" > folder "Inbox" holding one file, and a client on the owner's key.
struct fixture {
    asio::io_context ctx;
    sim::docspace_sim sim;
    client api;
    std::vector<std::pair<std::string, unsigned>> responses;  // on_response calls
    sim::entry_id room = 0, inbox = 0, archive = 0, file_id = 0;

    explicit fixture(sim::sim_options o = {}, std::chrono::milliseconds timeout = 5000ms)
        : sim(ctx, std::move(o)), api(ctx.get_executor(), settings(sim.base_url(), timeout)) {
        sim.add_api_key(std::string(api_key), sim.owner_id());
        room = sim.add_room("Finance", 86193);
        inbox = sim.add_folder(room, "Inbox", 8410);
        archive = sim.add_folder(room, "Archive", 654321);
        file_id = sim.add_file(inbox, "Invoice-2025-06.pdf", 12595, 8421);
        api.on_response = [this](std::string_view endpoint, unsigned status) {
            responses.emplace_back(std::string(endpoint), status);
        };
    }

    static client_settings settings(std::string base, std::chrono::milliseconds timeout) {
        client_settings s;
        s.base_url = base + "/";  // a trailing slash is tolerated
        s.api_key = std::string(api_key);
        s.timeout = timeout;
        return s;
    }

    template <class Fn>
    auto run(Fn fn) {
        return run_coro(ctx, std::move(fn), 20s);
    }
};

// Settings for a second client of the same simulator with another API key.
client_settings with_key(const fixture& f, std::string key) {
    client_settings s = fixture::settings(f.sim.base_url(), 5000ms);
    s.api_key = std::move(key);
    return s;
}

}  // namespace

TEST_SUITE("docspace client") {

TEST_CASE("people/@self returns the API key's user and the request carries the bearer key") {
    fixture f;
    auto me = f.run([&]() -> awaitable<outcome<person>> { co_return co_await f.api.self(); });
    REQUIRE(me.has_value());
    CHECK(me->id == f.sim.owner_id());
    auto reqs = f.sim.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].method == "GET");
    CHECK(reqs[0].target == "/api/2.0/people/@self");
    CHECK(reqs[0].authorization);
    CHECK(reqs[0].user_id == f.sim.owner_id());
    REQUIRE(f.responses.size() == 1);
    CHECK(f.responses[0] == std::pair<std::string, unsigned>{"people.self", 200});
}

TEST_CASE("people/{id} finds a user and maps a malformed id to 400 and an unknown one to 404") {
    fixture f;
    auto id = f.sim.add_user({"", "Ann", "O'Brien", "ann@example.com", "", false});
    auto ann = f.run([&]() -> awaitable<outcome<person>> { co_return co_await f.api.person_by_id(id); });
    REQUIRE(ann.has_value());
    CHECK(ann->email == "ann@example.com");
    CHECK(ann->display_name == "Ann O'Brien");

    auto bad = f.run([&]() -> awaitable<outcome<person>> { co_return co_await f.api.person_by_id("not-a-guid"); });
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().status == 400);
    CHECK(bad.error().message == "Incorrect UserId");
    CHECK(bad.error().endpoint == "people.get");
    CHECK(bad.error().permanent());

    auto unknown = f.run([&]() -> awaitable<outcome<person>> {
        co_return co_await f.api.person_by_id("00000000-0000-4000-8000-000000000000");
    });
    REQUIRE_FALSE(unknown.has_value());
    CHECK(unknown.error().status == 404);
}

TEST_CASE("a wrong API key is a 401 that is neither retryable nor permanent") {
    fixture f;
    client_settings s = fixture::settings(f.sim.base_url(), 5000ms);
    s.api_key = "sk-wrong";
    client other(f.ctx.get_executor(), s);
    auto r = f.run([&]() -> awaitable<outcome<person>> { co_return co_await other.self(); });
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().status == 401);
    CHECK_FALSE(r.error().transient());
    CHECK_FALSE(r.error().permanent());
}

TEST_CASE("files/file/{id} returns the FileDto fields, 404 when missing, 403 without read access") {
    fixture f;
    auto info = f.run([&]() -> awaitable<outcome<file_info>> { co_return co_await f.api.file("8421"); });
    REQUIRE(info.has_value());
    CHECK(info->id == "8421");
    CHECK(info->folder_id == "8410");
    CHECK(info->title == "Invoice-2025-06.pdf");
    CHECK(info->version == 1);
    CHECK(info->size == 12595);
    CHECK(info->file_exst == ".pdf");
    CHECK(info->root_folder_type == 14);
    CHECK_FALSE(info->updated.empty());

    auto missing = f.run([&]() -> awaitable<outcome<file_info>> { co_return co_await f.api.file("999999"); });
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().status == 404);
    CHECK(missing.error().permanent());

    auto guest = f.sim.add_user({"", "Guest", "User", "guest@example.com", "", false});
    f.sim.add_api_key("sk-guest", guest);
    f.sim.set_access(guest, f.inbox, sim::access::none);
    client_settings s = fixture::settings(f.sim.base_url(), 5000ms);
    s.api_key = "sk-guest";
    client as_guest(f.ctx.get_executor(), s);
    auto denied = f.run([&]() -> awaitable<outcome<file_info>> { co_return co_await as_guest.file("8421"); });
    REQUIRE_FALSE(denied.has_value());
    CHECK(denied.error().status == 403);
    CHECK_FALSE(denied.error().message.empty());
}

TEST_CASE("non-numeric ids are percent-encoded into the path") {
    fixture f;
    auto r = f.run([&]() -> awaitable<outcome<file_info>> { co_return co_await f.api.file("sbox-1-|a b.pdf"); });
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().status == 404);
    auto reqs = f.sim.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].target == "/api/2.0/files/file/sbox-1-%7Ca%20b.pdf");
}

TEST_CASE("the folder path runs from the section root down to the folder") {
    fixture f;
    auto path = f.run([&]() -> awaitable<outcome<std::vector<folder_ref>>> {
        co_return co_await f.api.folder_path("8410");
    });
    REQUIRE(path.has_value());
    REQUIRE(path->size() == 3);
    CHECK((*path)[0].id == std::to_string(f.sim.rooms_root_id()));
    CHECK((*path)[1].id == "86193");
    CHECK((*path)[1].title == "Finance");
    CHECK((*path)[1].room_type != 0);
    CHECK((*path)[2].id == "8410");
    CHECK((*path)[2].parent_id == "86193");
    CHECK((*path)[2].room_type == 0);
}

TEST_CASE("set_comment writes the version comment and maps a locked file to 403") {
    fixture f;
    auto stored = f.run([&]() -> awaitable<outcome<std::string>> {
        co_return co_await f.api.set_comment("8421", 1, "Need Review");
    });
    REQUIRE(stored.has_value());
    CHECK(stored.value() == "Need Review");
    CHECK(f.sim.file(8421)->comments.at(1) == "Need Review");
    auto reqs = f.sim.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].method == "PUT");
    CHECK(reqs[0].target == "/api/2.0/files/file/8421/comment");
    CHECK(reqs[0].body == R"({"version":1,"comment":"Need Review"})");

    SUBCASE("a version that does not exist is 403 too") {
        auto r = f.run([&]() -> awaitable<outcome<std::string>> { co_return co_await f.api.set_comment("8421", 9, "x"); });
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().status == 403);
        CHECK(r.error().permanent());
    }
    SUBCASE("a file locked by someone else") {
        f.sim.lock_file(8421);
        auto r = f.run([&]() -> awaitable<outcome<std::string>> { co_return co_await f.api.set_comment("8421", 1, "x"); });
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().status == 403);
        CHECK(r.error().endpoint == "files.file.comment");
    }
}

TEST_CASE("run_fileop moves a file: polls until finished and reports the file") {
    sim::sim_options o;
    o.fileop_delay = 30ms;
    fixture f(o);
    auto r = f.run([&]() -> awaitable<outcome<fileop_result>> {
        co_return co_await f.api.run_fileop(fileop_kind::move, "8421", "654321", docspace::conflict::skip, 10ms, 10s);
    });
    REQUIRE(r.has_value());
    CHECK_FALSE(r->vanished);
    CHECK(r->op.finished);
    CHECK(r->op.error.empty());
    CHECK(r->op.operation == 0);
    CHECK(r->op.file_ids == std::vector<entry_id>{"8421"});
    CHECK(f.sim.file(8421)->folder_id == 654321);

    auto reqs = f.sim.requests();
    REQUIRE(reqs.size() >= 2);
    CHECK(reqs[0].method == "PUT");
    CHECK(reqs[0].target == "/api/2.0/files/fileops/move");
    CHECK(reqs[0].body == R"({"fileIds":[8421],"folderIds":[],"destFolderId":654321,"conflictResolveType":"Skip",)"
                          R"("deleteAfter":false,"content":false,"toFillOut":false,"returnSingleOperation":true})");
    CHECK(reqs[1].target.rfind("/api/2.0/files/fileops?id=", 0) == 0);

    SUBCASE("the finished state is reported once: the next poll finds nothing") {
        const auto id = r->op.id;
        auto again = f.run([&]() -> awaitable<outcome<std::optional<fileop>>> { co_return co_await f.api.fileop_status(id); });
        REQUIRE(again.has_value());
        CHECK_FALSE(again->has_value());
    }
}

TEST_CASE("run_fileop copies a file and reports the new copy's id") {
    fixture f;
    auto r = f.run([&]() -> awaitable<outcome<fileop_result>> {
        co_return co_await f.api.run_fileop(fileop_kind::copy, "8421", "654321", docspace::conflict::skip, 10ms, 10s);
    });
    REQUIRE(r.has_value());
    REQUIRE(r->op.finished);
    REQUIRE(r->op.file_ids.size() == 1);
    const auto copy_id = r->op.file_ids[0];
    CHECK(copy_id != "8421");
    CHECK(r->op.operation == 1);
    auto copy = f.sim.file(std::stoll(copy_id));
    REQUIRE(copy.has_value());
    CHECK(copy->folder_id == 654321);
    CHECK(f.sim.file(8421)->folder_id == 8410);
    CHECK(f.sim.count("PUT", "/api/2.0/files/fileops/copy") == 1);
}

TEST_CASE("an op finished before the PUT answers needs no poll") {
    sim::sim_options o;
    o.fileop_delay = 0ms;
    fixture f(o);
    auto r = f.run([&]() -> awaitable<outcome<fileop_result>> {
        co_return co_await f.api.run_fileop(fileop_kind::move, "8421", "654321", docspace::conflict::skip, 10ms, 10s);
    });
    REQUIRE(r.has_value());
    CHECK(r->op.finished);
    CHECK(r->op.file_ids == std::vector<entry_id>{"8421"});
    CHECK(f.sim.count("GET", "/api/2.0/files/fileops") == 0);
}

TEST_CASE("a Skip conflict finishes without error and without the file") {
    fixture f;
    f.sim.add_file(f.archive, "Invoice-2025-06.pdf", 100, 9000);
    auto r = f.run([&]() -> awaitable<outcome<fileop_result>> {
        co_return co_await f.api.run_fileop(fileop_kind::move, "8421", "654321", docspace::conflict::skip, 10ms, 10s);
    });
    REQUIRE(r.has_value());
    CHECK(r->op.finished);
    CHECK(r->op.error.empty());
    CHECK(r->op.file_ids.empty());
    CHECK(f.sim.file(8421)->folder_id == 8410);

    SUBCASE("Duplicate makes a second file instead") {
        auto d = f.run([&]() -> awaitable<outcome<fileop_result>> {
            co_return co_await f.api.run_fileop(fileop_kind::copy, "8421", "654321", docspace::conflict::duplicate, 10ms,
                                                10s);
        });
        REQUIRE(d.has_value());
        REQUIRE(d->op.file_ids.size() == 1);
        CHECK(f.sim.files_in(654321).size() == 2);
    }
}

TEST_CASE("an op that vanishes before we see it finished is reported as vanished") {
    fixture f;
    // Someone else (another poller with the same key) dequeues the finished op before our first poll.
    std::optional<outcome<fileop_result>> result;
    auto spawned = [&]() -> awaitable<void> {
        result.emplace(co_await f.api.run_fileop(fileop_kind::move, "8421", "654321", docspace::conflict::skip, 1500ms, 10s));
    };
    asio::co_spawn(f.ctx, spawned(), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
    REQUIRE(poll_until([&] { return f.sim.file(8421)->folder_id == 654321; }, 5s, &f.ctx));
    http::client other(f.ctx.get_executor());
    auto stolen = f.run([&]() -> awaitable<boost::system::result<http::client_response>> {
        http::client_request req;
        req.url = f.sim.base_url() + "/api/2.0/files/fileops";
        req.headers.emplace_back("Authorization", "Bearer " + std::string(api_key));
        co_return co_await other.request(req);
    });
    REQUIRE(stolen.has_value());
    CHECK(stolen->body.find("\"finished\":true") != std::string::npos);
    REQUIRE(poll_until([&] { return result.has_value(); }, 10s, &f.ctx));
    REQUIRE(result->has_value());
    CHECK(result->value().vanished);
    CHECK_FALSE(result->value().op.finished);
}

TEST_CASE("run_fileop gives up at its deadline with status 0") {
    sim::sim_options o;
    o.fileop_delay = 60s;
    fixture f(o);
    const auto started = std::chrono::steady_clock::now();
    auto r = f.run([&]() -> awaitable<outcome<fileop_result>> {
        co_return co_await f.api.run_fileop(fileop_kind::move, "8421", "654321", docspace::conflict::skip, 20ms, 300ms);
    });
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().status == 0);
    CHECK(r.error().message == "timed out waiting for fileop");
    CHECK(r.error().transient());
    CHECK(took >= 300ms);
    CHECK(took < 5s);
    // 20, 40, 80, 160 ms: the doubling interval fits four polls into 300 ms, and never polls after the deadline.
    CHECK(f.sim.count("GET", "/api/2.0/files/fileops") <= 4);
}

TEST_CASE("the first poll learns how long operations take: one status call each, soon after the move finished") {
    sim::sim_options o;
    o.fileop_delay = 20ms;
    fixture f(o);
    constexpr auto poll_interval = 300ms;
    CHECK(f.api.first_poll(poll_interval) == poll_interval);  // a new client waits poll_interval
    // 60 moves back and forth, one after another.
    std::vector<std::int64_t> waits;  // PUT to the poll that found the move finished, per move (ms)
    std::size_t calls = 0;            // status calls of the last 20 moves
    for (int i = 0; i < 60; ++i) {
        f.sim.clear_requests();
        const std::string to = i % 2 == 0 ? "654321" : "8410";
        auto r = f.run([&]() -> awaitable<outcome<fileop_result>> {
            co_return co_await f.api.run_fileop(fileop_kind::move, "8421", to, docspace::conflict::skip, poll_interval, 10s);
        });
        REQUIRE(r.has_value());
        REQUIRE(r->op.finished);
        const auto reqs = f.sim.requests();
        REQUIRE(reqs.size() >= 2);
        CHECK(reqs.front().method == "PUT");
        waits.push_back(reqs.back().at_ms - reqs.front().at_ms);
        if (i >= 40) calls += f.sim.count("GET", "/api/2.0/files/fileops");
    }
    CHECK(waits.front() >= 300);
    // Learned: the last 20 moves' first polls came well before poll_interval (300 ms) after the PUT, and most
    // found it finished (20 moves, 20 PUTs, not many more than 20 status calls).
    for (std::size_t i = 40; i < waits.size(); ++i) CHECK(waits[i] <= 150);
    CHECK(f.api.first_poll(poll_interval) < 100ms);
    CHECK(f.api.first_poll(poll_interval) >= 5ms);
    CHECK(calls >= 20);
    CHECK(calls <= 26);  // a few first polls may come too early: that is how the estimate stays near the operation's time
}

TEST_CASE("only an answered first poll of a fresh operation teaches the first-poll estimate") {
    sim::sim_options o;
    o.fileop_delay = 20ms;
    fixture f(o);
    constexpr auto poll_interval = 300ms;
    SUBCASE("a wait for an operation started elsewhere (a resumed step) is not fresh") {
        auto r = f.run([&]() -> awaitable<outcome<fileop_result>> {
            auto op = co_await f.api.start_fileop(fileop_kind::move, "8421", "654321", docspace::conflict::skip);
            if (!op) co_return op.error();
            auto waited = co_await f.api.await_fileop(std::move(*op), poll_interval, 10s);
            co_return waited;
        });
        REQUIRE(r.has_value());
        CHECK(r->op.finished);
        CHECK(f.api.first_poll(poll_interval) == poll_interval);
    }
    SUBCASE("a first poll that failed (503) makes the next answer come after a wait the estimate did not choose") {
        f.sim.fail_next("GET", "/api/2.0/files/fileops", 503, 1);
        auto r = f.run([&]() -> awaitable<outcome<fileop_result>> {
            co_return co_await f.api.run_fileop(fileop_kind::move, "8421", "654321", docspace::conflict::skip, poll_interval, 10s);
        });
        REQUIRE(r.has_value());
        CHECK(r->op.finished);
        CHECK(f.api.first_poll(poll_interval) == poll_interval);
    }
    SUBCASE("a fresh operation's answered first poll does") {
        auto r = f.run([&]() -> awaitable<outcome<fileop_result>> {
            co_return co_await f.api.run_fileop(fileop_kind::move, "8421", "654321", docspace::conflict::skip, poll_interval, 10s);
        });
        REQUIRE(r.has_value());
        CHECK(f.api.first_poll(poll_interval) < poll_interval);
    }
}

TEST_CASE("run_fileop polls through a transient failure") {
    fixture f;
    f.sim.fail_next("GET", "/api/2.0/files/fileops", 503, 2);
    auto r = f.run([&]() -> awaitable<outcome<fileop_result>> {
        co_return co_await f.api.run_fileop(fileop_kind::move, "8421", "654321", docspace::conflict::skip, 10ms, 10s);
    });
    REQUIRE(r.has_value());
    CHECK(r->op.finished);
    CHECK(f.sim.count("GET", "/api/2.0/files/fileops") >= 3);
    CHECK(std::count(f.responses.begin(), f.responses.end(),
                     std::pair<std::string, unsigned>{"files.fileops.status", 503}) == 2);
}

TEST_CASE("run_fileop stops at a permanent failure of the start or of a poll") {
    fixture f;
    SUBCASE("a destination we may not write to") {
        auto guest = f.sim.add_user({"", "Guest", "User", "guest@example.com", "", false});
        f.sim.add_api_key("sk-guest", guest);
        f.sim.set_access(guest, f.archive, sim::access::read);
        client_settings s = fixture::settings(f.sim.base_url(), 5000ms);
        s.api_key = "sk-guest";
        client as_guest(f.ctx.get_executor(), s);
        auto r = f.run([&]() -> awaitable<outcome<fileop_result>> {
            co_return co_await as_guest.run_fileop(fileop_kind::move, "8421", "654321", docspace::conflict::skip, 10ms, 10s);
        });
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().status == 403);
        CHECK(r.error().endpoint == "files.fileops.move");
    }
    SUBCASE("a poll answered 404") {
        f.sim.fail_next("GET", "/api/2.0/files/fileops", 404);
        auto r = f.run([&]() -> awaitable<outcome<fileop_result>> {
            co_return co_await f.api.run_fileop(fileop_kind::move, "8421", "654321", docspace::conflict::skip, 10ms, 10s);
        });
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().status == 404);
        CHECK(r.error().endpoint == "files.fileops.status");
    }
}

TEST_CASE("a 429 carries Retry-After, and the next call goes through") {
    fixture f;
    f.sim.fail_next("GET", "/api/2.0/files/file/", 429, 1, 3);
    auto r1 = f.run([&]() -> awaitable<outcome<file_info>> { co_return co_await f.api.file("8421"); });
    REQUIRE_FALSE(r1.has_value());
    CHECK(r1.error().status == 429);
    REQUIRE(r1.error().retry_after_ms.has_value());
    CHECK(*r1.error().retry_after_ms == 3000);
    CHECK(r1.error().transient());
    CHECK(r1.error().endpoint == "files.file.get");
    auto r2 = f.run([&]() -> awaitable<outcome<file_info>> { co_return co_await f.api.file("8421"); });
    CHECK(r2.has_value());
    CHECK(f.responses == std::vector<std::pair<std::string, unsigned>>{{"files.file.get", 429}, {"files.file.get", 200}});
}

TEST_CASE("no answer within the timeout, a dropped connection, and a dead port are status 0 and retryable") {
    SUBCASE("slow") {
        fixture f({}, 200ms);
        f.sim.delay_next("GET", "/api/2.0/files/file/", 2s);
        auto r = f.run([&]() -> awaitable<outcome<file_info>> { co_return co_await f.api.file("8421"); });
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().status == 0);
        CHECK(r.error().transient());
        CHECK_FALSE(r.error().message.empty());
        REQUIRE(f.responses.size() == 1);
        CHECK(f.responses[0].second == 0);
    }
    SUBCASE("reset mid-response") {
        fixture f;
        f.sim.reset_next("GET", "/api/2.0/files/file/");
        auto r = f.run([&]() -> awaitable<outcome<file_info>> { co_return co_await f.api.file("8421"); });
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().status == 0);
        CHECK(r.error().transient());
    }
    SUBCASE("nobody listening") {
        asio::io_context ctx;
        std::uint16_t port = 0;
        {
            asio::ip::tcp::acceptor a(ctx, {asio::ip::make_address("127.0.0.1"), 0});
            port = a.local_endpoint().port();
        }
        client nobody(ctx.get_executor(), fixture::settings("http://127.0.0.1:" + std::to_string(port), 2000ms));
        auto r = run_coro(ctx, [&]() -> awaitable<outcome<person>> { co_return co_await nobody.self(); });
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().status == 0);
        CHECK(r.error().endpoint == "people.self");
        CHECK(r.error().transient());
    }
}

TEST_CASE("an error page that echoes the request does not carry the API key into the error") {
    asio::io_context ctx;
    http::server echo({&ctx}, {}, [](http::request& req) -> awaitable<http::response> {
        co_return http::make_response(req, boost::beast::http::status::bad_gateway,
                                      "Bad gateway. You sent: Authorization: " +
                                          std::string(req[boost::beast::http::field::authorization]),
                                      "text/plain");
    });
    echo.listen("127.0.0.1", 0);
    echo.start();
    client c(ctx.get_executor(), fixture::settings("http://127.0.0.1:" + std::to_string(echo.port()), 2000ms));
    auto r = run_coro(ctx, [&]() -> awaitable<outcome<file_info>> { co_return co_await c.file("8421"); });
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().status == 502);
    CHECK(r.error().message.find(api_key) == std::string::npos);
    CHECK(r.error().message.find("Bearer ***") != std::string::npos);
    echo.stop();
}

TEST_CASE("webhooks: create, list, update, enable, triggers and delete") {
    sim::sim_options o;
    o.probe_webhook_uri = false;
    fixture f(o);
    webhook_spec spec;
    spec.name = "automation";
    spec.uri = "https://hooks.example.com/docspace";
    spec.secret = "S3cret-Key_01";
    spec.triggers = *webhook::trigger_mask({"file.uploaded", "file.updated"});

    auto created = f.run([&]() -> awaitable<outcome<webhook_config>> { co_return co_await f.api.create_webhook(spec); });
    REQUIRE(created.has_value());
    CHECK(created->id > 0);
    CHECK(created->name == "automation");
    CHECK(created->triggers == 768);
    CHECK(created->enabled);
    REQUIRE(f.sim.webhook_configs().size() == 1);
    CHECK(f.sim.webhook_configs()[0].secret == "S3cret-Key_01");
    const auto id = created->id;

    auto dup = f.run([&]() -> awaitable<outcome<webhook_config>> { co_return co_await f.api.create_webhook(spec); });
    REQUIRE_FALSE(dup.has_value());
    CHECK(dup.error().status == 400);
    CHECK(dup.error().message == "Webhook with the same name and payload URL already exists");

    auto listed = f.run([&]() -> awaitable<outcome<std::vector<webhook_config>>> { co_return co_await f.api.list_webhooks(); });
    REQUIRE(listed.has_value());
    REQUIRE(listed->size() == 1);
    CHECK((*listed)[0].id == id);
    CHECK((*listed)[0].uri == "https://hooks.example.com/docspace");
    CHECK((*listed)[0].last_status == 0);

    webhook_spec changed = spec;
    changed.name = "renamed";
    changed.secret.clear();  // keeps the old secret
    auto updated = f.run([&]() -> awaitable<outcome<webhook_config>> { co_return co_await f.api.update_webhook(id, changed); });
    REQUIRE(updated.has_value());
    CHECK(updated->name == "renamed");
    CHECK(f.sim.webhook_configs()[0].secret == "S3cret-Key_01");

    auto disabled = f.run([&]() -> awaitable<outcome<webhook_config>> {
        co_return co_await f.api.enable_webhook(id, "renamed", spec.uri, false);
    });
    REQUIRE(disabled.has_value());
    CHECK_FALSE(disabled->enabled);
    CHECK_FALSE(f.sim.webhook_configs()[0].enabled);

    auto triggers = f.run([&]() -> awaitable<outcome<std::vector<webhook_trigger>>> { co_return co_await f.api.webhook_triggers(); });
    REQUIRE(triggers.has_value());
    CHECK(triggers->size() == webhook::trigger_table().size() + 1);  // Enum.GetValues includes All ("*", 0)
    for (const auto& t : *triggers) {
        CAPTURE(t.name);
        CHECK(webhook::trigger_bit(t.name) == t.id);
    }

    auto deleted = f.run([&]() -> awaitable<outcome<webhook_config>> { co_return co_await f.api.delete_webhook(id); });
    REQUIRE(deleted.has_value());
    CHECK(deleted->id == id);
    CHECK(f.sim.webhook_configs().empty());
    auto again = f.run([&]() -> awaitable<outcome<webhook_config>> { co_return co_await f.api.delete_webhook(id); });
    REQUIRE_FALSE(again.has_value());
    CHECK(again.error().status == 404);
}

TEST_CASE("webhook_log reads pages of the delivery log with their total, and maps 401, 403 and 429") {
    sim::sim_options o;
    o.max_retries = 0;
    fixture f(o);
    std::uint16_t closed = 0;
    {
        asio::ip::tcp::acceptor a(f.ctx, {asio::ip::make_address("127.0.0.1"), 0});
        closed = a.local_endpoint().port();
    }
    const int cfg = f.sim.subscribe("http://127.0.0.1:" + std::to_string(closed) + "/hook", "another-secret",
                                    sim::trigger_flag("file.uploaded"), "automation");
    const auto before = clock::now_ms();
    for (const char* title : {"a.pdf", "b.pdf", "c.pdf"}) f.sim.upload(f.sim.owner_id(), f.inbox, title, false);
    REQUIRE(poll_until(
        [&] {
            auto l = f.sim.deliveries();
            return l.size() == 3 && std::all_of(l.begin(), l.end(), [](const auto& d) { return d.done; });
        },
        10s, &f.ctx));
    const auto deliveries = f.sim.deliveries();
    auto read = [&](client& c, webhook_log_query query) {
        return f.run([&]() -> awaitable<outcome<webhook_log_page>> { co_return co_await c.webhook_log(query); });
    };

    webhook_log_query q;
    q.config_id = cfg;
    q.group_status = 29;
    q.count = 2;
    auto first = read(f.api, q);
    REQUIRE(first.has_value());
    CHECK(first->total == 3);
    REQUIRE(first->rows.size() == 2);
    CHECK(f.sim.requests().back().target ==
          "/api/2.0/settings/webhooks/log?configId=" + std::to_string(cfg) + "&groupStatus=29&count=2");
    CHECK(f.responses.back() == std::pair<std::string, unsigned>{"settings.webhooks.log", 200});
    const auto& newest = first->rows[0];
    CHECK(newest.id == deliveries[2].id);
    CHECK(first->rows[1].id == deliveries[1].id);
    CHECK(newest.config_name == "automation");
    CHECK(newest.trigger == 256);
    CHECK(newest.status == 0);
    CHECK_FALSE(newest.delivered);
    CHECK(newest.request_payload == deliveries[2].attempts.back().body);
    CHECK(newest.request_headers.find(R"("x-docspace-signature-256":[")" + deliveries[2].attempts.back().signature) !=
          std::string::npos);
    CHECK(newest.creation_time_ms >= before - 1000);
    CHECK(newest.creation_time_ms <= clock::now_ms());

    q.start_index = 2;
    auto rest = read(f.api, q);
    REQUIRE(rest.has_value());
    REQUIRE(rest->rows.size() == 1);
    CHECK(rest->rows[0].id == deliveries[0].id);
    CHECK(rest->total == 3);

    webhook_log_query delivered;
    delivered.group_status = 2;
    auto none = read(f.api, delivered);
    REQUIRE(none.has_value());
    CHECK(none->rows.empty());
    CHECK(none->total == 0);

    webhook_log_query one;
    one.event_id = deliveries[1].id;
    auto by_id = read(f.api, one);
    REQUIRE(by_id.has_value());
    REQUIRE(by_id->rows.size() == 1);
    CHECK(by_id->rows[0].id == deliveries[1].id);

    SUBCASE("429 keeps Retry-After") {
        f.sim.fail_next("GET", "/api/2.0/settings/webhooks/log", 429, 1, 3);
        auto limited = read(f.api, {});
        REQUIRE_FALSE(limited.has_value());
        CHECK(limited.error().status == 429);
        CHECK(limited.error().retry_after_ms == 3000);
        CHECK(limited.error().transient());
        CHECK(limited.error().endpoint == "settings.webhooks.log");
    }
    SUBCASE("403 for a guest") {
        sim::user_info guest{"", "Gail", "Guest", "gail@example.com"};
        guest.guest = true;
        f.sim.add_api_key("sk-guest", f.sim.add_user(guest));
        client other(f.ctx.get_executor(), with_key(f, "sk-guest"));
        auto denied = read(other, {});
        REQUIRE_FALSE(denied.has_value());
        CHECK(denied.error().status == 403);
        CHECK(denied.error().message == "Access denied");
        CHECK(denied.error().permanent());
    }
    SUBCASE("a user reads only their own configs' rows, and gets 403 once access is limited to admins") {
        f.sim.add_api_key("sk-user", f.sim.add_user({"", "Ursula", "User", "ursula@example.com"}));
        client other(f.ctx.get_executor(), with_key(f, "sk-user"));
        auto own = read(other, {});
        REQUIRE(own.has_value());
        CHECK(own->total == 0);
        f.sim.set_limited_access_for_users(true);
        auto denied = read(other, {});
        REQUIRE_FALSE(denied.has_value());
        CHECK(denied.error().status == 403);
    }
    SUBCASE("401 for a key DocSpace does not know") {
        client other(f.ctx.get_executor(), with_key(f, "sk-wrong"));
        auto r = read(other, {});
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().status == 401);
    }
}

}  // TEST_SUITE
