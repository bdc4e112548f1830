// The simulator's probabilistic fault profile (seeded 5xx, 429 + Retry-After, resets, slow and dropped
// answers on REST requests) and its record of completed file operations, driven over loopback with
// spacehook::http::client. Assertions are on what the client received and on the simulator's logs.
#include "spacehook/http/client.hpp"
#include "spacehook/sim/docspace_sim.hpp"
#include "test_support.hpp"

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <set>
#include <stdexcept>

// Named, not anonymous: the executable compiles as one unity translation unit, and these helpers share names
// with other files'.
namespace fault_profile_test {

using namespace spacehook;
using namespace std::chrono_literals;
namespace json = boost::json;
using verb = boost::beast::http::verb;

struct fixture {
    asio::io_context ctx;
    sim::docspace_sim sim;
    http::client client{ctx.get_executor()};
    std::string alice;
    sim::entry_id room = 0, inbox = 0, archive = 0;

    fixture() : sim(ctx, options()) {
        alice = sim.add_user({"", "Alice", "Smith", "alice@example.com"});
        sim.add_api_key("sk-alice", alice);
        room = sim.add_room("Invoices", 86193);
        inbox = sim.add_folder(room, "Inbox", 8410);
        archive = sim.add_folder(room, "Archive", 654321);
    }

    static sim::sim_options options() {
        sim::sim_options o;
        o.fileop_delay = 5ms;
        o.retry_scale = 0.01;
        return o;
    }

    // One request; the error when no usable answer came (reset, dropped answer, timeout).
    boost::system::result<http::client_response> raw(verb method, std::string target, std::string body = {},
                                                      std::chrono::milliseconds timeout = 5s) {
        return test::run_coro(ctx, [&]() -> awaitable<boost::system::result<http::client_response>> {
            http::client_request req;
            req.method = method;
            req.url = sim.base_url() + target;
            req.headers.emplace_back("Authorization", "Bearer sk-alice");
            if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
            req.body = body;
            req.timeout = timeout;
            co_return co_await client.request(std::move(req));
        });
    }

    // The status of one request, 0 when no usable answer came.
    unsigned status(verb method, std::string target, std::string body = {}) {
        auto r = raw(method, std::move(target), std::move(body));
        return r ? r->status : 0;
    }

    std::vector<unsigned> statuses(int n, const std::string& target) {
        std::vector<unsigned> out;
        for (int i = 0; i < n; ++i) out.push_back(status(verb::get, target));
        return out;
    }

    std::string comment_body(std::string_view text) { return R"({"version":1,"comment":")" + std::string(text) + "\"}"; }
};

std::string fileop_body(sim::entry_id file, sim::entry_id dest, std::string_view resolve = "Skip") {
    return "{\"fileIds\":[" + std::to_string(file) + "],\"destFolderId\":" + std::to_string(dest) +
           ",\"conflictResolveType\":\"" + std::string(resolve) + "\",\"deleteAfter\":false,\"returnSingleOperation\":true}";
}


TEST_SUITE("sim.fault_profile") {
    TEST_CASE("with p_5xx = 1 every matching request is a 5xx and the others are served") {
        fixture f;
        auto file = f.sim.add_file(f.inbox, "a.pdf");
        const auto target = "/api/2.0/files/file/" + std::to_string(file);
        sim::fault_profile p;
        p.p_5xx = 1;
        p.seed = 42;
        p.method = "get";
        p.path_prefix = "/api/2.0/files/";
        f.sim.set_fault_profile(p);

        std::set<unsigned> seen;
        for (auto s : f.statuses(40, target)) {
            CHECK(s >= 500);
            CHECK(s <= 504);
            CHECK(s != 501);
            seen.insert(s);
        }
        CHECK(seen.size() > 1);  // the status is drawn from the list too
        CHECK(f.status(verb::get, "/api/2.0/people/@self") == 200);  // another path
        CHECK(f.status(verb::put, target + "/comment", f.comment_body("x")) == 200);  // another method

        auto n = f.sim.injected_faults();
        CHECK(n.draws == 40);
        CHECK(n.server_error == 40);
        CHECK(n.total() == 40);
        auto recs = f.sim.requests();
        REQUIRE(recs.size() == 42);
        CHECK(recs.front().fault == "5xx");
        CHECK(recs.front().status >= 500);
        CHECK(recs.back().fault == "");
        // The body is DocSpace's error envelope with the same status.
        auto r = f.raw(verb::get, target);
        REQUIRE(r.has_value());
        CHECK(json::parse(r->body).at("statusCode").as_int64() == r->status);
    }

    TEST_CASE("the same seed draws the same faults for the same request sequence") {
        sim::fault_profile p;
        p.p_5xx = 0.25;
        p.p_429 = 0.25;
        p.seed = 7;
        auto run = [&](std::uint64_t seed) {
            fixture f;
            auto q = p;
            q.seed = seed;
            f.sim.set_fault_profile(q);
            return f.statuses(60, "/api/2.0/people/@self");
        };
        auto a = run(7), b = run(7), c = run(8);
        CHECK(a == b);
        CHECK(a != c);
    }

    TEST_CASE("p_5xx = 0.3 over 1000 requests fails a share within a sane band") {
        fixture f;
        sim::fault_profile p;
        p.p_5xx = 0.3;
        p.seed = 2025;
        f.sim.set_fault_profile(p);
        int failed = 0;
        for (auto s : f.statuses(1000, "/api/2.0/people/@self")) failed += s >= 500;
        // Binomial(1000, 0.3): sd 14.5, so 250..350 is more than 3 sd either side.
        CHECK(failed >= 250);
        CHECK(failed <= 350);
        auto n = f.sim.injected_faults();
        CHECK(n.draws == 1000);
        CHECK(n.server_error == static_cast<std::uint64_t>(failed));
        MESSAGE("p_5xx 0.3, seed 2025: " << failed << " of 1000 requests answered 5xx");
    }

    TEST_CASE("429 carries Retry-After, or none when retry_after_seconds is empty") {
        fixture f;
        sim::fault_profile p;
        p.p_429 = 1;
        p.retry_after_seconds = 3;
        f.sim.set_fault_profile(p);
        auto r = f.raw(verb::get, "/api/2.0/people/@self");
        REQUIRE(r.has_value());
        CHECK(r->status == 429);
        CHECK(r->header("Retry-After") == "3");
        CHECK(json::parse(r->body).at("statusCode").as_int64() == 429);
        CHECK(f.sim.requests().back().fault == "429");

        p.retry_after_seconds.reset();
        f.sim.set_fault_profile(p);
        r = f.raw(verb::get, "/api/2.0/people/@self");
        REQUIRE(r.has_value());
        CHECK(r->status == 429);
        CHECK(r->header("Retry-After").empty());
        CHECK(f.sim.injected_faults().rate_limited == 1);  // counters restart with a new profile
    }

    TEST_CASE("a reset request gets no answer, is not served and records status 0") {
        fixture f;
        auto file = f.sim.add_file(f.inbox, "r.pdf");
        const auto target = "/api/2.0/files/file/" + std::to_string(file) + "/comment";
        sim::fault_profile p;
        p.p_reset = 1;
        f.sim.set_fault_profile(p);
        CHECK_FALSE(f.raw(verb::put, target, f.comment_body("first")).has_value());
        CHECK(f.sim.file(file)->comment.empty());
        auto rec = f.sim.requests().back();
        CHECK(rec.status == 0);
        CHECK(rec.fault == "reset");
        CHECK(f.sim.injected_faults().reset == 1);

        f.sim.clear_fault_profile();
        CHECK(f.status(verb::put, target, f.comment_body("second")) == 200);
        CHECK(f.sim.file(file)->comment == "second");
        CHECK(f.sim.injected_faults().reset == 1);  // kept after clearing
    }

    TEST_CASE("a slow request is served after the delay even when the client gave up") {
        fixture f;
        auto file = f.sim.add_file(f.inbox, "s.pdf");
        sim::fault_profile p;
        p.p_slow = 1;
        p.slow_delay = 150ms;
        f.sim.set_fault_profile(p);
        const auto t0 = std::chrono::steady_clock::now();
        CHECK(f.status(verb::get, "/api/2.0/people/@self") == 200);
        CHECK(std::chrono::steady_clock::now() - t0 >= 150ms);

        const auto target = "/api/2.0/files/file/" + std::to_string(file) + "/comment";
        CHECK_FALSE(f.raw(verb::put, target, f.comment_body("late"), 50ms).has_value());  // timed out
        CHECK(test::poll_until([&] { return f.sim.file(file)->comment == "late"; }, 5s, &f.ctx));
        auto rec = f.sim.requests().back();
        CHECK(rec.fault == "slow");
        CHECK(rec.status == 200);
        CHECK(f.sim.injected_faults().slow == 2);
    }

    TEST_CASE("a dropped answer means the request took effect but the client got nothing") {
        fixture f;
        auto file = f.sim.add_file(f.inbox, "d.pdf");
        sim::fault_profile p;
        p.p_drop = 1;
        p.method = "PUT";
        f.sim.set_fault_profile(p);
        const auto target = "/api/2.0/files/file/" + std::to_string(file) + "/comment";
        CHECK_FALSE(f.raw(verb::put, target, f.comment_body("kept")).has_value());
        CHECK(f.sim.file(file)->comment == "kept");
        auto rec = f.sim.requests().back();
        CHECK(rec.status == 0);
        CHECK(rec.fault == "drop");
        CHECK(f.sim.injected_faults().dropped == 1);
    }

    TEST_CASE("scripted faults take precedence and the profile does not draw for them") {
        fixture f;
        sim::fault_profile p;
        p.p_5xx = 1;
        p.statuses_5xx = {502};
        f.sim.set_fault_profile(p);
        f.sim.fail_next("GET", "/api/2.0/people/@self", 429, 1, 9);
        auto r = f.raw(verb::get, "/api/2.0/people/@self");
        REQUIRE(r.has_value());
        CHECK(r->status == 429);
        CHECK(r->header("Retry-After") == "9");
        f.sim.delay_next("GET", "/api/2.0/people/@self", 1ms, 1);
        CHECK(f.status(verb::get, "/api/2.0/people/@self") == 200);  // the scripted delay, no draw
        CHECK(f.status(verb::get, "/api/2.0/people/@self") == 502);  // now the profile
        auto recs = f.sim.requests();
        REQUIRE(recs.size() == 3);
        CHECK(recs[0].fault == "scripted");
        CHECK(recs[1].fault == "scripted");
        CHECK(recs[2].fault == "5xx");
        CHECK(f.sim.injected_faults().draws == 1);
    }

    TEST_CASE("a profile with impossible probabilities is refused") {
        fixture f;
        sim::fault_profile p;
        p.p_5xx = 0.7;
        p.p_slow = 0.4;
        CHECK_THROWS_AS(f.sim.set_fault_profile(p), std::invalid_argument);
        p.p_slow = -0.1;
        CHECK_THROWS_AS(f.sim.set_fault_profile(p), std::invalid_argument);
        p.p_slow = 0;
        p.statuses_5xx.clear();
        CHECK_THROWS_AS(f.sim.set_fault_profile(p), std::invalid_argument);
        CHECK(f.status(verb::get, "/api/2.0/people/@self") == 200);  // nothing was installed
    }
}

TEST_SUITE("sim.fileop_log") {
    TEST_CASE("completed_fileops records what each move and copy did to each file") {
        fixture f;
        auto a = f.sim.add_file(f.inbox, "a.pdf");
        auto b = f.sim.add_file(f.inbox, "b.pdf");
        f.sim.add_file(f.archive, "b.pdf");
        auto run = [&](std::string_view kind, sim::entry_id file, std::string_view resolve = "Skip") {
            const auto before = f.sim.completed_fileops().size();
            REQUIRE(f.status(verb::put, "/api/2.0/files/fileops/" + std::string(kind),
                             fileop_body(file, f.archive, resolve)) == 200);
            REQUIRE(test::poll_until([&] { return f.sim.completed_fileops().size() == before + 1; }, 5s, &f.ctx));
            return f.sim.completed_fileops().back();
        };
        auto moved = run("move", a);
        CHECK(moved.kind == "move");
        CHECK(moved.owner == f.alice);
        CHECK(moved.dest == f.archive);
        REQUIRE(moved.effects.size() == 1);
        CHECK(moved.effects[0].file_id == a);
        CHECK(moved.effects[0].result_id == a);
        CHECK(moved.effects[0].outcome == "moved");
        CHECK(moved.completed_ms >= moved.started_ms);

        CHECK(run("move", a).effects.at(0).outcome == "unchanged");
        CHECK(run("copy", b).effects.at(0).outcome == "skipped");
        auto copied = run("copy", b, "Duplicate");
        CHECK(copied.kind == "copy");
        CHECK(copied.effects.at(0).outcome == "copied");
        CHECK(f.sim.file(copied.effects.at(0).result_id)->title == "b (1).pdf");
        CHECK(run("copy", b, "Overwrite").effects.at(0).outcome == "overwritten");
        CHECK(f.sim.completed_fileops().size() == 5);
    }
}

}  // namespace fault_profile_test
