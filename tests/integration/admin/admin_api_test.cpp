// The admin API (/admin/api, contract §8) over loopback against an in-process service: what it answers without a
// token configured, without credentials, with a bearer token and with a session; CSRF; the sign-in limit; the
// job filters and keyset pages; the security headers.
#include "deliveries.hpp"
#include "e2e_world.hpp"
#include "raw_http.hpp"

#include <boost/json/parse.hpp>

#include <doctest/doctest.h>

#include <set>

#include <fmt/format.h>

using namespace spacehook;

namespace admin_api {

const std::string api_token = "adm-Token_77aa";
using headers = std::vector<std::pair<std::string, std::string>>;

test::raw_response get(std::uint16_t port, const std::string& path, const headers& h = {}) {
    return test::request(port, "GET", path, {}, h);
}
boost::json::value json_of(const test::raw_response& r) { return boost::json::parse(r.body); }
headers bearer() { return {{"Authorization", "Bearer " + api_token}}; }

test::e2e_world world_with_token() {
    return test::e2e_world([](config::settings& s) { s.server.admin_token = api_token; });
}

}  // namespace admin_api

using namespace admin_api;

TEST_SUITE("admin API") {
    TEST_CASE("without server.admin_token the admin UI does not exist") {
        test::e2e_world w;
        CHECK(get(w.app->port(), "/admin/").status == 404);
        CHECK(get(w.app->port(), "/admin/api/jobs").status == 404);
        CHECK(test::request(w.app->port(), "POST", "/admin/api/login", R"({"token":""})").status == 404);
    }

    TEST_CASE("anonymous requests get 401; pages come with a strict policy") {
        auto w = world_with_token();
        const auto port = w.app->port();
        for (const char* p : {"/admin/api/jobs", "/admin/api/jobs/1", "/admin/api/events", "/admin/api/stats", "/admin/api/rules"})
            CHECK_MESSAGE(get(port, p).status == 401, p);
        CHECK(test::request(port, "POST", "/admin/api/jobs/1/retry", "{}").status == 401);
        CHECK(get(port, "/admin/api/jobs", {{"Authorization", "Bearer wrong"}}).status == 401);
        auto page = get(port, "/admin/");
        CHECK(page.status == 200);
        CHECK(page.headers["content-type"] == "text/html; charset=utf-8");
        CHECK(page.headers["content-security-policy"].find("script-src 'self'") != std::string::npos);
        CHECK(page.headers["content-security-policy"].find("'unsafe-inline'") == std::string::npos);
        CHECK(page.headers["x-frame-options"] == "DENY");
        CHECK(page.body.find("/admin/admin.js") != std::string::npos);
        CHECK(get(port, "/admin/admin.js").headers["content-type"] == "text/javascript; charset=utf-8");
        CHECK(get(port, "/admin").status == 308);
        // HEAD answers carry no body: on a kept-alive connection one would be read as the next response.
        test::raw_conn c(port);
        c.write(test::make_request("HEAD", "/admin/", {}));
        auto head = c.read_response();
        CHECK(head.status == 200);
        CHECK(head.headers["content-length"] == "0");
        c.write(test::make_request("GET", "/healthz", {}));
        CHECK(c.read_response().body == R"({"status":"ok"})");
    }

    TEST_CASE("a session cookie is HttpOnly and SameSite=Strict, and its POSTs need the CSRF token") {
        auto w = world_with_token();
        const auto port = w.app->port();
        auto file = w.ds->upload(w.client_user, w.client_room, "invoice-1.pdf", false);
        (void)file;
        REQUIRE(w.settle());
        auto jobs = w.jobs("invoice-intake");
        REQUIRE(jobs.size() == 1);
        const auto id = jobs.front().id;

        auto login = test::request(port, "POST", "/admin/api/login", fmt::format(R"({{"token":"{}","name":"Ann"}})", api_token));
        REQUIRE(login.status == 200);
        const auto cookie_header = login.headers["set-cookie"];
        CHECK(cookie_header.find("HttpOnly") != std::string::npos);
        CHECK(cookie_header.find("SameSite=Strict") != std::string::npos);
        CHECK(cookie_header.find("Path=/admin") != std::string::npos);
        CHECK(cookie_header.find("Max-Age=28800") != std::string::npos);
        const auto cookie = cookie_header.substr(0, cookie_header.find(';'));
        const auto csrf = std::string(json_of(login).at("csrf").as_string());
        CHECK(csrf.size() == 64);

        CHECK(get(port, "/admin/api/jobs", {{"Cookie", cookie}}).status == 200);
        auto no_csrf = test::request(port, "POST", fmt::format("/admin/api/jobs/{}/retry", id), "{}", {{"Cookie", cookie}});
        CHECK(no_csrf.status == 403);
        auto wrong_csrf = test::request(port, "POST", fmt::format("/admin/api/jobs/{}/retry", id), "{}",
                                        {{"Cookie", cookie}, {"X-CSRF-Token", std::string(64, 'a')}});
        CHECK(wrong_csrf.status == 403);
        CHECK(w.jobs("invoice-intake").front().state == store::job_state::succeeded);
        auto ok = test::request(port, "POST", fmt::format("/admin/api/jobs/{}/retry", id), "{}",
                                {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
        CHECK(ok.status == 200);
        CHECK(json_of(ok).at("was") == "succeeded");
        // Retried: done steps stay done, so it succeeds again without a second move or mail.
        REQUIRE(w.settle());
        CHECK(w.jobs("invoice-intake").front().state == store::job_state::succeeded);
        CHECK(w.sink->count() == 1);
        // The same POST with a bearer token needs no CSRF token; a running job cannot be cancelled.
        auto cancel = test::request(port, "POST", fmt::format("/admin/api/jobs/{}/cancel", id), "{}", bearer());
        CHECK(cancel.status == 409);
        CHECK(std::string(json_of(cancel).at("error").as_string()).find("is succeeded") != std::string::npos);

        // Signed out, the cookie is worthless.
        CHECK(test::request(port, "POST", "/admin/api/logout", "{}", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}}).status == 200);
        CHECK(get(port, "/admin/api/jobs", {{"Cookie", cookie}}).status == 401);
    }

    TEST_CASE("wrong tokens are limited to five a minute") {
        auto w = world_with_token();
        const auto port = w.app->port();
        for (int i = 0; i < 5; ++i)
            CHECK(test::request(port, "POST", "/admin/api/login", R"({"token":"guess"})").status == 401);
        auto limited = test::request(port, "POST", "/admin/api/login", fmt::format(R"({{"token":"{}"}})", api_token));
        CHECK(limited.status == 429);
        CHECK(!limited.headers["retry-after"].empty());
        CHECK(test::request(port, "POST", "/admin/api/login", "not json").status == 400);
    }

    TEST_CASE("wrong Bearer tokens count against the same limit, and then the right one waits too") {
        auto w = world_with_token();
        const auto port = w.app->port();
        for (int i = 0; i < 5; ++i)
            CHECK(get(port, "/admin/api/stats", {{"Authorization", "Bearer guess-" + std::to_string(i)}}).status == 401);
        auto limited = get(port, "/admin/api/stats", bearer());
        CHECK(limited.status == 429);
        CHECK(!limited.headers["retry-after"].empty());
        CHECK(test::request(port, "POST", "/admin/api/login", fmt::format(R"({{"token":"{}"}})", api_token)).status == 429);
    }

    TEST_CASE("a bulk action refuses a filter it does not understand") {
        auto w = world_with_token();
        const auto port = w.app->port();
        auto unknown = test::request(port, "POST", "/admin/api/jobs/cancel", R"({"filter":{"stat":"dead"},"expected":0})", bearer());
        CHECK(unknown.status == 400);
        CHECK(std::string(json_of(unknown).at("error").as_string()) == R"(unknown filter key "stat")");
        auto array = test::request(port, "POST", "/admin/api/jobs/cancel", R"({"filter":{"state":["dead"]},"expected":0})", bearer());
        CHECK(array.status == 400);
    }

    TEST_CASE("job filters, counts and keyset pages") {
        auto w = world_with_token();
        const auto port = w.app->port();
        for (int i = 1; i <= 7; ++i) w.ds->upload(w.client_user, w.client_room, fmt::format("invoice-{}.pdf", i), false);
        w.ds->upload(w.client_user, w.client_room, "Invoice_100%.pdf", false);
        REQUIRE(w.settle());

        // Pages of 3, newest first, each below the last id of the one before, until next_before is null.
        std::vector<std::int64_t> seen;
        std::string path = "/admin/api/jobs?rule=invoice-intake&limit=3";
        for (int pages = 0; pages < 10; ++pages) {
            auto v = json_of(get(port, path, bearer()));
            for (const auto& j : v.at("jobs").as_array()) seen.push_back(j.at("id").as_int64());
            if (v.at("next_before").is_null()) break;
            path = fmt::format("/admin/api/jobs?rule=invoice-intake&limit=3&before={}", v.at("next_before").as_int64());
        }
        CHECK(seen.size() == 8);
        CHECK(std::is_sorted(seen.rbegin(), seen.rend()));
        CHECK(std::set<std::int64_t>(seen.begin(), seen.end()).size() == 8);

        // Title: case-insensitive, with % taken literally.
        auto by_title = json_of(get(port, "/admin/api/jobs?title=INVOICE-3", bearer())).at("jobs").as_array();
        REQUIRE(by_title.size() == 1);
        CHECK(by_title[0].at("title") == "invoice-3.pdf");
        CHECK(json_of(get(port, "/admin/api/jobs?title=100%25", bearer())).at("jobs").as_array().size() == 1);
        CHECK(json_of(get(port, "/admin/api/jobs?title=0%25", bearer())).at("jobs").as_array().size() == 1);
        CHECK(json_of(get(port, "/admin/api/jobs/count?rule=invoice-intake&state=succeeded", bearer())).at("count") == 8);
        CHECK(json_of(get(port, "/admin/api/jobs/count?state=dead", bearer())).at("count") == 0);
        CHECK(json_of(get(port, "/admin/api/jobs/count?since=1h&rule=invoice-intake", bearer())).at("count") == 8);
        CHECK(json_of(get(port, "/admin/api/jobs/count?until=1h&rule=invoice-intake", bearer())).at("count") == 0);
        CHECK(get(port, "/admin/api/jobs?state=nope", bearer()).status == 400);
        CHECK(get(port, "/admin/api/jobs?limit=100000", bearer()).status == 400);

        // A bulk action checks the count it was confirmed with.
        auto stale = test::request(port, "POST", "/admin/api/jobs/retry", R"({"filter":{"rule":"invoice-intake"},"expected":3})", bearer());
        CHECK(stale.status == 409);
        CHECK(json_of(stale).at("count") == 8);

        // Stats: the overview's numbers are the database's.
        auto stats = json_of(get(port, "/admin/api/stats", bearer()));
        for (const auto& [state, n] : w.job_states()) CHECK_MESSAGE(stats.at("by_state").at(state) == n, state);
        std::int64_t accepted = 0;
        for (const auto& n : stats.at("windows").at("hour").at("accepted").as_array()) accepted += n.as_int64();
        // Every stored event: the 8 uploads and the file.moved events the moves published.
        CHECK(accepted == test::count_rows(w.settings.database.path, "SELECT count(*) FROM events"));
        CHECK(accepted > 8);
        CHECK(!stats.at("webhooks").as_array()[0].at("last_delivery").is_null());

        // Events: listed newest first; one replayed by the API.
        auto events = json_of(get(port, "/admin/api/events?trigger=file.uploaded&limit=2", bearer()));
        CHECK(events.at("events").as_array().size() == 2);
        const auto event_id = events.at("events").as_array()[0].at("id").as_int64();
        auto replay = test::request(port, "POST", fmt::format("/admin/api/events/{}/replay", event_id), "{}", bearer());
        CHECK(replay.status == 200);
        CHECK(json_of(replay).at("requeued") == 1);
    }
}
