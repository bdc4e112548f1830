// The DocSpace simulator driven over loopback with spacehook::http::client: REST envelopes and errors,
// fileops semantics, comments, webhook publishing, signing and retries, webhook management and fault
// injection. Assertions are on bytes on the wire and on the simulator's recorded state.
#include "spacehook/core/clock.hpp"
#include "spacehook/http/client.hpp"
#include "spacehook/http/server.hpp"
#include "spacehook/sim/docspace_sim.hpp"
#include "spacehook/webhook/signature.hpp"
#include "test_support.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <regex>
#include <set>
#include <map>

namespace {

using namespace spacehook;
using namespace std::chrono_literals;
namespace json = boost::json;
using verb = boost::beast::http::verb;

constexpr std::string_view title_amp_umlaut = "Invoice & \xC3\xBC" "bersicht.pdf";

sim::sim_options fast_options() {
    sim::sim_options o;
    o.fileop_delay = 20ms;
    o.retry_scale = 0.01;  // retries after 10, 20, 40, 80, 160 ms
    o.delivery_timeout = 5s;
    o.probe_timeout = 2s;
    return o;
}

// A webhook receiver: records every request and answers from a script (200 once the script is empty).
class receiver {
public:
    struct hit {
        std::string method;
        std::string target;
        std::string body;
        std::vector<std::pair<std::string, std::string>> headers;
        std::string header(std::string_view name) const {
            for (const auto& [k, v] : headers)
                if (boost::beast::iequals(k, name)) return v;
            return {};
        }
        bool has_header(std::string_view name) const {
            for (const auto& [k, v] : headers)
                if (boost::beast::iequals(k, name)) return true;
            return false;
        }
    };

    explicit receiver(asio::io_context& ctx)
        : server_({&ctx}, http::server_options{}, [this](http::request& req) { return on_request(req); }) {
        server_.listen("127.0.0.1", 0);
        server_.start();
    }

    std::string url(std::string_view path) const {
        return "http://127.0.0.1:" + std::to_string(server_.port()) + std::string(path);
    }
    void script(std::initializer_list<unsigned> statuses) {
        std::lock_guard lock(mu_);
        script_.assign(statuses.begin(), statuses.end());
    }
    std::vector<hit> posts() const {
        std::lock_guard lock(mu_);
        std::vector<hit> out;
        for (const auto& h : hits_)
            if (h.method == "POST") out.push_back(h);
        return out;
    }
    std::size_t count(std::string_view method) const {
        std::lock_guard lock(mu_);
        return static_cast<std::size_t>(
            std::count_if(hits_.begin(), hits_.end(), [&](const hit& h) { return h.method == method; }));
    }

private:
    awaitable<http::response> on_request(http::request& req) {
        hit h{std::string(req.method_string()), std::string(req.target()), req.body(), {}};
        for (const auto& f : req) h.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        unsigned status = 200;
        {
            std::lock_guard lock(mu_);
            hits_.push_back(std::move(h));
            if (req.method() != verb::head && !script_.empty()) {
                status = script_.front();
                script_.pop_front();
            }
        }
        co_return http::make_response(req, static_cast<http::beast_http::status>(status),
                                      req.method() == verb::head ? "" : "{}");
    }

    mutable std::mutex mu_;
    std::vector<hit> hits_;
    std::deque<unsigned> script_;
    http::server server_;
};

struct fixture {
    asio::io_context ctx;
    sim::docspace_sim sim;
    http::client client{ctx.get_executor()};
    std::string alice;
    sim::entry_id room = 0, inbox = 0, archive = 0;

    explicit fixture(sim::sim_options o = fast_options()) : sim(ctx, std::move(o)) {
        alice = sim.add_user({"", "Alice", "Smith", "alice@example.com"});
        sim.add_api_key("sk-alice", alice);
        room = sim.add_room("Invoices", 86193);
        inbox = sim.add_folder(room, "Inbox", 8410);
        archive = sim.add_folder(room, "Archive", 654321);
    }

    boost::system::result<http::client_response> raw(verb method, std::string target, std::string body = {},
                                                      std::string key = "sk-alice") {
        return test::run_coro(ctx, [&]() -> awaitable<boost::system::result<http::client_response>> {
            http::client_request req;
            req.method = method;
            req.url = sim.base_url() + target;
            if (!key.empty()) req.headers.emplace_back("Authorization", "Bearer " + key);
            if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
            req.body = body;
            req.timeout = 5s;
            co_return co_await client.request(std::move(req));
        });
    }

    http::client_response call(verb method, std::string target, std::string body = {}, std::string key = "sk-alice") {
        auto r = raw(method, std::move(target), std::move(body), std::move(key));
        REQUIRE(r.has_value());
        return *r;
    }

    json::value call_json(verb method, std::string target, std::string body = {}) {
        auto r = call(method, std::move(target), std::move(body));
        return json::parse(r.body);
    }

    json::array poll(const std::string& op_id) {
        auto v = call_json(verb::get, "/api/2.0/files/fileops?id=" + op_id);
        return v.at("response").as_array();
    }

    bool wait(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5s) {
        return test::poll_until(pred, timeout, &ctx);
    }
};

std::string envelope_tail(const fixture& f, std::string_view target, std::string_view method, int count) {
    return "\"count\":" + std::to_string(count) + ",\"links\":[{\"href\":\"" + f.sim.base_url() + std::string(target) +
           "\",\"action\":\"" + std::string(method) + "\"}],\"status\":0,\"statusCode\":200}";
}

std::string move_body(sim::entry_id file, sim::entry_id dest, std::string_view resolve = "Skip",
                      bool delete_after = false) {
    return "{\"fileIds\":[" + std::to_string(file) + "],\"folderIds\":[],\"destFolderId\":" + std::to_string(dest) +
           ",\"conflictResolveType\":\"" + std::string(resolve) + "\",\"deleteAfter\":" +
           (delete_after ? "true" : "false") + ",\"content\":false,\"toFillOut\":false,\"returnSingleOperation\":true}";
}

// Polls an operation until its finished state was reported; returns that report (empty when it vanished).
json::object finish(fixture& f, const std::string& id) {
    for (int i = 0; i < 5000; ++i) {
        auto ops = f.poll(id);
        if (ops.empty()) return {};
        if (ops.at(0).at("finished").as_bool()) return ops.at(0).as_object();
    }
    FAIL("operation never finished");
    return {};
}

json::value parse_body(const receiver::hit& h) { return json::parse(h.body); }

// A loopback URL nobody listens on: every delivery to it is refused at once (logged as status 0).
std::string closed_url() {
    asio::io_context ctx;
    asio::ip::tcp::acceptor a(ctx, {asio::ip::make_address("127.0.0.1"), 0});
    return "http://127.0.0.1:" + std::to_string(a.local_endpoint().port()) + "/hook";
}

// The fixture plus an API key for the portal owner, a DocSpace admin who reads every config's log rows.
struct log_fixture : fixture {
    explicit log_fixture(sim::sim_options o) : fixture(std::move(o)) { sim.add_api_key("sk-owner", sim.owner_id()); }

    // GET settings/webhooks/log?<query>; the whole envelope.
    json::object log(std::string_view query = {}, std::string key = "sk-owner") {
        auto r = call(verb::get, "/api/2.0/settings/webhooks/log" + (query.empty() ? "" : "?" + std::string(query)), {},
                      std::move(key));
        REQUIRE(r.status == 200);
        return json::parse(r.body).as_object();
    }
    std::vector<std::int64_t> ids(std::string_view query) {
        std::vector<std::int64_t> out;
        const auto env = log(query);
        for (const auto& row : env.at("response").as_array()) out.push_back(row.at("id").as_int64());
        return out;
    }
    bool all_done(std::size_t rows, std::chrono::milliseconds timeout = 5s) {
        return wait([&] {
            auto l = sim.deliveries();
            return l.size() == rows && std::all_of(l.begin(), l.end(), [](const auto& d) { return d.done; });
        }, timeout);
    }
};

sim::sim_options quick_retries() {
    auto o = fast_options();
    o.retry_scale = 0.001;  // the whole schedule (5 retries) waits 31 ms
    return o;
}

}  // namespace

TEST_SUITE("sim.rest") {
    TEST_CASE("requests without a valid API key get 401 in the error envelope") {
        fixture f;
        auto none = f.call(verb::get, "/api/2.0/people/@self", {}, "");
        CHECK(none.status == 401);
        CHECK(none.body ==
              R"({"error":{"message":"The user is not authenticated","type":"System.Security.Authentication.AuthenticationException","stack":"","hresult":-2146233087},"status":1,"statusCode":401})");
        CHECK(none.header("Content-Type") == "application/json; charset=utf-8");
        CHECK(f.call(verb::get, "/api/2.0/people/@self", {}, "sk-wrong").status == 401);
        auto recs = f.sim.requests();
        REQUIRE(recs.size() == 2);
        CHECK_FALSE(recs[0].authorization);
        CHECK(recs[0].status == 401);
        CHECK(recs[1].authorization);
        CHECK(recs[1].user_id.empty());
    }

    TEST_CASE("people/@self answers the key's user in the success envelope") {
        fixture f;
        auto r = f.call(verb::get, "/api/2.0/people/@self");
        CHECK(r.status == 200);
        CHECK(r.body.rfind(R"({"response":{"firstName":"Alice","lastName":"Smith")", 0) == 0);
        const auto tail = envelope_tail(f, "/api/2.0/people/@self", "GET", 1);
        CHECK(r.body.substr(r.body.size() - tail.size()) == tail);
        auto v = json::parse(r.body);
        CHECK(v.at("response").at("id").as_string() == f.alice);
        CHECK(v.at("response").at("displayName").as_string() == "Alice Smith");
        CHECK(v.at("response").at("email").as_string() == "alice@example.com");

        auto other = f.call_json(verb::get, "/api/2.0/people/" + f.sim.owner_id());
        CHECK(other.at("response").at("id").as_string() == f.sim.owner_id());
        CHECK(f.call(verb::get, "/api/2.0/people/not-a-guid").status == 400);
        CHECK(f.call(verb::get, "/api/2.0/people/00000000-0000-0000-0000-0000000000aa").status == 404);
    }

    TEST_CASE("files/file/{id} answers the FileDto subset with formatted size and ApiDateTime strings") {
        fixture f;
        auto id = f.sim.add_file(f.inbox, "Invoice-2025-06.pdf", 12595);
        auto v = f.call_json(verb::get, "/api/2.0/files/file/" + std::to_string(id));
        const auto& dto = v.at("response").as_object();
        CHECK(dto.at("id").as_int64() == id);
        CHECK(dto.at("title").as_string() == "Invoice-2025-06.pdf");
        CHECK(dto.at("folderId").as_int64() == f.inbox);
        CHECK(dto.at("rootFolderId").as_int64() == f.sim.rooms_root_id());
        CHECK(dto.at("rootFolderType").as_int64() == 14);
        CHECK(dto.at("fileEntryType").as_int64() == 2);
        CHECK(dto.at("version").as_int64() == 1);
        CHECK(dto.at("versionGroup").as_int64() == 1);
        CHECK(dto.at("contentLength").as_string() == "12.3 KB");
        CHECK(dto.at("pureContentLength").as_int64() == 12595);
        CHECK(dto.at("fileExst").as_string() == ".pdf");
        CHECK(dto.at("comment").as_string() == "");
        CHECK_FALSE(dto.contains("locked"));
        CHECK(std::regex_match(std::string(dto.at("created").as_string()),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.0000000\+00:00)")));
        CHECK(dto.at("createdBy").at("id").as_string() == f.sim.owner_id());
        CHECK(dto.at("createdBy").at("displayName").as_string() == "Portal Owner");
        CHECK(dto.at("updatedBy").at("id").as_string() == f.sim.owner_id());
        CHECK(std::string(dto.at("webUrl").as_string()).find("fileid=" + std::to_string(id)) != std::string::npos);

        CHECK(f.call_json(verb::get, "/api/2.0/files/file/" + std::to_string(f.sim.add_file(f.inbox, "a.txt", 100)))
                  .at("response")
                  .at("contentLength")
                  .as_string() == "100 bytes");
        CHECK(f.call_json(verb::get, "/api/2.0/files/file/" + std::to_string(f.sim.add_file(f.inbox, "b.txt", 1000)))
                  .at("response")
                  .at("contentLength")
                  .as_string() == "1,000 bytes");
        CHECK(f.call_json(verb::get,
                          "/api/2.0/files/file/" + std::to_string(f.sim.add_file(f.inbox, "c.txt", 5 * 1048576 / 2)))
                  .at("response")
                  .at("contentLength")
                  .as_string() == "2.5 MB");

        auto missing = f.call(verb::get, "/api/2.0/files/file/999999");
        CHECK(missing.status == 404);
        CHECK(json::parse(missing.body).at("error").at("message").as_string() == "The required file was not found");

        f.sim.set_access(f.alice, f.inbox, sim::access::none);
        auto hidden = f.call(verb::get, "/api/2.0/files/file/" + std::to_string(id));
        CHECK(hidden.status == 403);
        CHECK(json::parse(hidden.body).at("error").at("type").as_string() == "System.InvalidOperationException");
    }

    TEST_CASE("folder/{id}/path lists the folders from the section root down to the folder") {
        fixture f;
        auto sub = f.sim.add_folder(f.inbox, "2025");
        auto v = f.call_json(verb::get, "/api/2.0/files/folder/" + std::to_string(sub) + "/path");
        const auto& path = v.at("response").as_array();
        REQUIRE(path.size() == 4);
        CHECK(v.at("count").as_int64() == 4);
        CHECK(path[0].at("id").as_int64() == f.sim.rooms_root_id());
        CHECK(path[0].at("parentId").as_int64() == 0);
        CHECK(path[1].at("id").as_int64() == f.room);
        CHECK(path[1].at("roomType").as_int64() == 5);
        CHECK(path[1].at("parentId").as_int64() == f.sim.rooms_root_id());
        CHECK(path[2].at("id").as_int64() == f.inbox);
        CHECK(path[2].at("title").as_string() == "Inbox");
        CHECK(path[3].at("id").as_int64() == sub);
        for (const auto& e : path) {
            CHECK(e.at("fileEntryType").as_int64() == 1);
            CHECK(e.at("rootFolderType").as_int64() == 14);
        }
        CHECK(f.call(verb::get, "/api/2.0/files/folder/777777/path").status == 404);
    }

    TEST_CASE("comment stores the version comment, answers the string and refuses with 403") {
        fixture f;
        auto id = f.sim.add_file(f.inbox, "report.docx");
        const auto target = "/api/2.0/files/file/" + std::to_string(id) + "/comment";
        auto r = f.call(verb::put, target, R"({"version":1,"comment":"Need Review"})");
        CHECK(r.status == 200);
        CHECK(r.body.rfind(R"({"response":"Need Review","count":1,)", 0) == 0);
        CHECK(f.sim.file(id)->comment == "Need Review");
        CHECK(f.sim.file(id)->comments.at(1) == "Need Review");

        SUBCASE("missing version") {
            auto e = f.call(verb::put, target, R"({"comment":"x"})");
            CHECK(e.status == 403);
            CHECK(e.body ==
                  R"({"error":{"message":"The required file was not found","type":"System.InvalidOperationException","stack":"","hresult":-2146233079},"status":1,"statusCode":403})");
        }
        SUBCASE("unknown version") {
            CHECK(f.call(verb::put, target, R"({"version":7,"comment":"x"})").status == 403);
        }
        SUBCASE("locked file") {
            f.sim.lock_file(id);
            auto e = f.call(verb::put, target, R"({"version":1,"comment":"x"})");
            CHECK(e.status == 403);
            CHECK(json::parse(e.body).at("error").at("message").as_string() ==
                  "The file is currently locked by another user");
            CHECK(f.sim.file(id)->comment == "Need Review");
            f.sim.unlock_file(id);
            CHECK(f.call(verb::put, target, R"({"version":1,"comment":"again"})").status == 200);
        }
        SUBCASE("locked by the caller is fine") {
            f.sim.lock_file(id, f.alice);
            CHECK(f.call(verb::put, target, R"({"version":1,"comment":"mine"})").status == 200);
            CHECK(f.call_json(verb::get, "/api/2.0/files/file/" + std::to_string(id)).at("response").at("locked") ==
                  true);
        }
        SUBCASE("no rights") {
            f.sim.set_access(f.alice, f.room, sim::access::read);
            auto e = f.call(verb::put, target, R"({"version":1,"comment":"x"})");
            CHECK(e.status == 403);
            CHECK(json::parse(e.body).at("error").at("message").as_string() ==
                  "You do not have enough permissions to edit the file");
        }
    }
}

TEST_SUITE("sim.fileops") {
    TEST_CASE("a move runs asynchronously, reports finished once and then vanishes") {
        fixture f;
        auto id = f.sim.add_file(f.inbox, "invoice-1.pdf");
        auto put = f.call(verb::put, "/api/2.0/files/fileops/move", move_body(id, f.archive));
        CHECK(put.status == 200);
        auto first = json::parse(put.body).at("response").as_array();
        REQUIRE(first.size() == 1);
        const auto& op = first[0].as_object();
        CHECK(op.at("Operation").as_int64() == 0);
        CHECK_FALSE(op.contains("operation"));
        CHECK(op.at("finished").as_bool() == false);
        CHECK(op.at("progress").as_int64() == 0);
        CHECK(op.at("processed").as_string() == "0");
        CHECK(op.at("error").as_string() == "");
        const std::string op_id(op.at("id").as_string());
        CHECK(f.sim.file(id)->folder_id == f.inbox);

        auto done = finish(f, op_id);
        REQUIRE_FALSE(done.empty());
        CHECK(done.at("progress").as_int64() == 100);
        CHECK(done.at("status").as_int64() == 2);
        CHECK(done.at("processed").as_string() == "1");
        CHECK(done.at("error").as_string() == "");
        REQUIRE(done.at("files").as_array().size() == 1);
        CHECK(done.at("files").at(0).at("id").as_int64() == id);
        CHECK(done.at("files").at(0).at("folderId").as_int64() == f.archive);
        CHECK(f.sim.file(id)->folder_id == f.archive);

        CHECK(f.poll(op_id).empty());
        CHECK(f.sim.fileops_pending() == 0);
    }

    TEST_CASE("deleteAfter true means the finished state is never observable") {
        fixture f;
        auto id = f.sim.add_file(f.inbox, "invoice-2.pdf");
        auto put = f.call_json(verb::put, "/api/2.0/files/fileops/move", move_body(id, f.archive, "Skip", true));
        const std::string op_id(put.at("response").at(0).at("id").as_string());
        bool saw_finished = false;
        for (int i = 0; i < 5000 && f.sim.file(id)->folder_id != f.archive; ++i)
            for (const auto& o : f.poll(op_id)) saw_finished |= o.at("finished").as_bool();
        CHECK(f.sim.file(id)->folder_id == f.archive);
        CHECK(f.poll(op_id).empty());
        CHECK_FALSE(saw_finished);
    }

    TEST_CASE("a name clash with Skip is silently skipped") {
        fixture f;
        auto id = f.sim.add_file(f.inbox, "same.pdf");
        auto existing = f.sim.add_file(f.archive, "SAME.pdf");
        auto put = f.call_json(verb::put, "/api/2.0/files/fileops/move", move_body(id, f.archive));
        auto done = finish(f, std::string(put.at("response").at(0).at("id").as_string()));
        REQUIRE_FALSE(done.empty());
        CHECK(done.at("error").as_string() == "");
        CHECK(done.at("processed").as_string() == "0");
        CHECK_FALSE(done.contains("files"));
        CHECK(f.sim.file(id)->folder_id == f.inbox);
        CHECK(f.sim.files_in(f.archive).size() == 1);
        CHECK(f.sim.file(existing)->version == 1);
    }

    TEST_CASE("copy creates a new file with a new id and conflicts resolve as asked") {
        fixture f;
        auto id = f.sim.add_file(f.inbox, "contract.pdf", 4096);
        auto put = f.call_json(verb::put, "/api/2.0/files/fileops/copy", move_body(id, f.archive, "Skip"));
        CHECK(put.at("response").at(0).at("Operation").as_int64() == 1);
        auto done = finish(f, std::string(put.at("response").at(0).at("id").as_string()));
        REQUIRE(done.at("files").as_array().size() == 1);
        const auto copy_id = done.at("files").at(0).at("id").as_int64();
        CHECK(copy_id != id);
        CHECK(f.sim.file(id)->folder_id == f.inbox);
        CHECK(f.sim.file(copy_id)->folder_id == f.archive);
        CHECK(f.sim.file(copy_id)->title == "contract.pdf");
        CHECK(f.sim.file(copy_id)->created_by == f.alice);

        SUBCASE("Duplicate picks a free title") {
            auto p = f.call_json(verb::put, "/api/2.0/files/fileops/copy", move_body(id, f.archive, "Duplicate"));
            auto d = finish(f, std::string(p.at("response").at(0).at("id").as_string()));
            CHECK(d.at("files").at(0).at("title").as_string() == "contract (1).pdf");
        }
        SUBCASE("Overwrite (as an integer) adds a version to the existing copy") {
            auto p = f.call_json(verb::put, "/api/2.0/files/fileops/copy",
                                 R"({"fileIds":[")" + std::to_string(id) + R"("],"destFolderId":")" +
                                     std::to_string(f.archive) +
                                     R"(","conflictResolveType":1,"returnSingleOperation":true})");
            auto d = finish(f, std::string(p.at("response").at(0).at("id").as_string()));
            CHECK(d.at("files").at(0).at("id").as_int64() == copy_id);
            CHECK(f.sim.file(copy_id)->version == 2);
            CHECK(f.sim.files_in(f.archive).size() == 1);
        }
    }

    TEST_CASE("a zero delay completes before the PUT answers and terminate cancels a pending one") {
        SUBCASE("zero delay") {
            auto o = fast_options();
            o.fileop_delay = 0ms;
            fixture f(o);
            auto id = f.sim.add_file(f.inbox, "now.pdf");
            auto put = f.call_json(verb::put, "/api/2.0/files/fileops/move", move_body(id, f.archive));
            CHECK(put.at("response").at(0).at("finished").as_bool());
            CHECK(f.poll(std::string(put.at("response").at(0).at("id").as_string())).empty());
        }
        SUBCASE("terminate") {
            auto o = fast_options();
            o.fileop_delay = 60s;
            fixture f(o);
            auto id = f.sim.add_file(f.inbox, "later.pdf");
            auto put = f.call_json(verb::put, "/api/2.0/files/fileops/move", move_body(id, f.archive));
            const std::string op_id(put.at("response").at(0).at("id").as_string());
            CHECK(f.poll(op_id).size() == 1);
            auto term = f.call_json(verb::put, "/api/2.0/files/fileops/terminate/" + op_id);
            CHECK(term.at("response").as_array().empty());
            CHECK(f.poll(op_id).empty());
            CHECK(f.sim.file(id)->folder_id == f.inbox);
        }
    }

    TEST_CASE("fileops without an id lists only the caller's operations") {
        auto o = fast_options();
        o.fileop_delay = 60s;
        fixture f(o);
        auto bob = f.sim.add_user({"", "Bob", "Jones", "bob@example.com"});
        f.sim.add_api_key("sk-bob", bob);
        auto a = f.sim.add_file(f.inbox, "a.pdf");
        auto b = f.sim.add_file(f.inbox, "b.pdf");
        f.call(verb::put, "/api/2.0/files/fileops/move", move_body(a, f.archive));
        f.call(verb::put, "/api/2.0/files/fileops/copy", move_body(b, f.archive), "sk-bob");
        auto mine = f.call_json(verb::get, "/api/2.0/files/fileops");
        REQUIRE(mine.at("response").as_array().size() == 1);
        CHECK(mine.at("response").at(0).at("Operation").as_int64() == 0);
    }

    TEST_CASE("move and copy refuse with 403 without rights and 404 for an unknown destination") {
        fixture f;
        auto id = f.sim.add_file(f.inbox, "x.pdf");
        CHECK(f.call(verb::put, "/api/2.0/files/fileops/move", move_body(id, 31337)).status == 404);
        f.sim.set_access(f.alice, f.archive, sim::access::read);
        auto e = f.call(verb::put, "/api/2.0/files/fileops/move", move_body(id, f.archive));
        CHECK(e.status == 403);
        CHECK(json::parse(e.body).at("error").at("message").as_string() == "Access denied");
        CHECK(f.sim.fileops_pending() == 0);
    }
}

TEST_SUITE("sim.webhooks") {
    TEST_CASE("an upload publishes file.created and file.uploaded with DocSpace's bytes and signature") {
        fixture f;
        receiver r(f.ctx);
        const int cfg = f.sim.subscribe(r.url("/docspace/webhook?x=1"), "S3cret-Key_01", 0, "automation");
        const auto id = f.sim.upload(f.alice, f.inbox, std::string(title_amp_umlaut), true);
        REQUIRE(f.wait([&] { return r.posts().size() >= 2; }));
        auto posts = r.posts();
        REQUIRE(posts.size() == 2);
        std::set<std::string> triggers;
        for (const auto& h : posts) {
            CHECK(h.target == "/docspace/webhook?x=1");
            CHECK(h.header("Accept") == "*/*");
            CHECK(h.header("Content-Type") == "application/json; charset=utf-8");
            // DocSpace sends no User-Agent. The simulator asks http::client for none (empty user_agent); until
            // the client omits the header for an empty value it goes out empty.
            CHECK(h.header("User-Agent").empty());
            const std::vector<std::string> secrets{"S3cret-Key_01"};
            CHECK(webhook::verify(secrets, h.body, h.header("x-docspace-signature-256")));
            CHECK(h.header("x-docspace-signature-256") == webhook::sign("S3cret-Key_01", h.body));
            // Pure ASCII, .NET escaping.
            CHECK(std::all_of(h.body.begin(), h.body.end(), [](char ch) { return ch > 0 && ch < 0x7F; }));
            CHECK(h.body.find(R"("title":"Invoice \u0026 \u00FCbersicht.pdf")") != std::string::npos);
            auto v = parse_body(h);
            const auto& ev = v.at("event").as_object();
            triggers.insert(std::string(ev.at("trigger").as_string()));
            CHECK(ev.at("createBy").as_string() == f.alice);
            const auto& p = v.at("payload").as_object();
            CHECK(p.at("id").as_int64() == id);
            CHECK(p.at("parentId").as_int64() == f.inbox);
            CHECK(p.at("folderIdDisplay").as_int64() == f.inbox);
            CHECK(p.at("rootId").as_int64() == f.sim.rooms_root_id());
            CHECK(p.at("rootFolderType").as_int64() == 14);
            CHECK(p.at("fileEntryType").as_int64() == 2);
            CHECK(p.at("title").as_string() == title_amp_umlaut);
            CHECK_FALSE(p.contains("version"));
            CHECK_FALSE(p.contains("folderId"));
            const auto& w = v.at("webhook").as_object();
            CHECK(w.at("id").as_int64() == cfg);
            CHECK(w.at("name").as_string() == "automation");
            CHECK(w.at("triggers") == json::array{"*"});
            CHECK_FALSE(w.contains("retryCount"));
            CHECK_FALSE(w.contains("target"));
            CHECK(h.body.rfind(R"({"event":{"id":)" + std::to_string(ev.at("id").as_int64()) + R"(,"createOn":")",
                               0) == 0);
        }
        CHECK(triggers == std::set<std::string>{"file.created", "file.uploaded"});
        // The receiver answered; the simulator records the attempt once the answer is back.
        REQUIRE(f.wait([&] {
            auto l = f.sim.deliveries();
            return std::all_of(l.begin(), l.end(), [](const auto& d) { return d.done; });
        }));
        auto log = f.sim.deliveries();
        REQUIRE(log.size() == 2);
        CHECK(log[0].trigger == "file.created");
        CHECK(log[1].trigger == "file.uploaded");
        CHECK(log[0].id + 1 == log[1].id);
        for (const auto& d : log) {
            CHECK(d.delivered);
            CHECK(d.done);
            CHECK(d.attempts.size() == 1);
            CHECK(d.last_status == 200);
        }
    }

    TEST_CASE("a receiver that answers 500 twice gets three attempts with the same event id") {
        fixture f;
        receiver r(f.ctx);
        r.script({500, 500});
        f.sim.subscribe(r.url("/hook"), "another-secret", sim::trigger_flag("file.uploaded"), "retry-test");
        f.sim.upload(f.alice, f.inbox, "retry.pdf", false);
        REQUIRE(f.wait([&] { return r.posts().size() >= 3; }));
        REQUIRE(f.wait([&] { return f.sim.deliveries().at(0).done; }));
        auto posts = r.posts();
        REQUIRE(posts.size() == 3);
        const std::vector<std::string> secrets{"another-secret"};
        std::set<std::string> bodies;
        for (std::size_t i = 0; i < 3; ++i) {
            auto v = parse_body(posts[i]);
            CHECK(v.at("event").at("id").as_int64() == f.sim.deliveries().at(0).id);
            CHECK(webhook::verify(secrets, posts[i].body, posts[i].header("x-docspace-signature-256")));
            bodies.insert(posts[i].body);
            const auto& w = v.at("webhook").as_object();
            if (i == 0) {
                CHECK_FALSE(w.contains("retryCount"));
                CHECK_FALSE(w.contains("lastFailureContent"));
            } else {
                CHECK(w.at("retryCount").as_int64() == static_cast<std::int64_t>(i));
                CHECK(w.at("lastFailureContent").as_string() ==
                      "Response status code does not indicate success: 500 (Internal Server Error).");
                CHECK(w.contains("lastFailureOn"));
                CHECK(w.contains("retryOn"));
                CHECK_FALSE(w.contains("lastSuccessOn"));
            }
        }
        CHECK(bodies.size() == 3);
        auto d = f.sim.deliveries().at(0);
        CHECK(d.trigger == "file.uploaded");
        REQUIRE(d.attempts.size() == 3);
        CHECK(d.attempts[0].status == 500);
        CHECK(d.attempts[2].status == 200);
        CHECK(d.delivered);
        CHECK(d.last_status == 200);
        CHECK(f.sim.deliveries().size() == 1);  // simple_api false: no file.created
    }

    TEST_CASE("a receiver that never succeeds gets six attempts and the config keeps the failure") {
        fixture f;
        receiver r(f.ctx);
        r.script({503, 503, 503, 503, 503, 503, 503});
        f.sim.subscribe(r.url("/hook"), "another-secret", 0);
        f.sim.upload(f.alice, f.inbox, "never.pdf", false);
        REQUIRE(f.wait([&] { return !f.sim.deliveries().empty() && f.sim.deliveries().at(0).done; }));
        auto d = f.sim.deliveries().at(0);
        CHECK(d.attempts.size() == 6);
        CHECK_FALSE(d.delivered);
        CHECK(d.last_status == 503);
        CHECK(r.posts().size() == 6);
        CHECK(f.sim.webhook_configs().at(0).last_failure_content ==
              "Response status code does not indicate success: 503 (Service Unavailable).");
    }

    TEST_CASE("redeliver sends the same payload under a new event id") {
        fixture f;
        receiver r(f.ctx);
        f.sim.subscribe(r.url("/hook"), "another-secret", 0);
        f.sim.upload(f.alice, f.inbox, "again.pdf", false);
        REQUIRE(f.wait([&] { return r.posts().size() == 1; }));
        const int first = f.sim.deliveries().at(0).id;
        const int second = f.sim.redeliver(first);
        CHECK(second != first);
        REQUIRE(f.wait([&] { return r.posts().size() == 2; }));
        auto a = parse_body(r.posts()[0]), b = parse_body(r.posts()[1]);
        CHECK(a.at("event").at("id").as_int64() == first);
        CHECK(b.at("event").at("id").as_int64() == second);
        CHECK(a.at("event").at("createOn") == b.at("event").at("createOn"));
        CHECK(a.at("event").at("createBy") == b.at("event").at("createBy"));
        CHECK(a.at("payload") == b.at("payload"));
        CHECK(f.sim.delivery(second)->redelivery_of == first);
        CHECK(f.sim.redeliver(424242) == 0);
    }

    TEST_CASE("REST writes publish as the API key's user: comment, move and copy") {
        fixture f;
        receiver r(f.ctx);
        f.sim.subscribe(r.url("/hook"), "another-secret",
                        sim::trigger_flag("file.updated") | sim::trigger_flag("file.moved") |
                            sim::trigger_flag("file.copied"));
        auto id = f.sim.add_file(f.inbox, "doc.pdf");
        f.call(verb::put, "/api/2.0/files/file/" + std::to_string(id) + "/comment", R"({"version":1,"comment":"c"})");
        auto mv = f.call_json(verb::put, "/api/2.0/files/fileops/move", move_body(id, f.archive));
        finish(f, std::string(mv.at("response").at(0).at("id").as_string()));
        auto cp = f.call_json(verb::put, "/api/2.0/files/fileops/copy", move_body(id, f.inbox));
        auto done = finish(f, std::string(cp.at("response").at(0).at("id").as_string()));
        const auto copy_id = done.at("files").at(0).at("id").as_int64();
        REQUIRE(f.wait([&] { return r.posts().size() == 3; }));
        std::map<std::string, json::value> by_trigger;
        for (const auto& h : r.posts()) {
            auto v = parse_body(h);
            CHECK(v.at("event").at("createBy").as_string() == f.alice);
            by_trigger[std::string(v.at("event").at("trigger").as_string())] = v;
        }
        CHECK(by_trigger.at("file.updated").at("payload").at("id").as_int64() == id);
        CHECK(by_trigger.at("file.updated").at("event").at("triggerId").as_int64() == 512);
        CHECK(by_trigger.at("file.moved").at("payload").at("parentId").as_int64() == f.archive);
        CHECK(by_trigger.at("file.copied").at("payload").at("id").as_int64() == copy_id);
        CHECK(by_trigger.at("file.copied").at("payload").at("parentId").as_int64() == f.inbox);
        CHECK(by_trigger.at("file.copied").at("webhook").at("triggers") ==
              json::array{"file.updated", "file.copied", "file.moved"});
    }

    TEST_CASE("configs match by trigger mask and by target id") {
        fixture f;
        receiver r(f.ctx);
        auto a = f.sim.add_file(f.inbox, "a.pdf");
        auto b = f.sim.add_file(f.inbox, "b.pdf");
        f.sim.subscribe(r.url("/only-a"), "another-secret", sim::trigger_flag("file.updated"), "a", std::to_string(a));
        f.sim.update(f.alice, b);
        f.sim.update(f.alice, a);
        f.sim.publish_file_event("file.trashed", f.alice, a);
        REQUIRE(f.wait([&] { return r.posts().size() >= 1; }));
        f.wait([] { return false; }, 100ms);
        auto posts = r.posts();
        REQUIRE(posts.size() == 1);
        auto v = parse_body(posts[0]);
        CHECK(v.at("payload").at("id").as_int64() == a);
        CHECK(v.at("webhook").at("target").at("id").as_int64() == a);
        CHECK(v.at("webhook").at("target").at("type").as_string() == "file");
        CHECK(f.sim.file(a)->version == 2);
        CHECK(f.sim.file(a)->updated_by == f.alice);
    }

    TEST_CASE("settings/webhook creates, lists, enables and deletes configs with DocSpace's validation") {
        fixture f;
        receiver r(f.ctx);
        const auto url = r.url("/docspace/webhook");

        auto missing = f.call(verb::post, "/api/2.0/settings/webhook", R"({"uri":")" + url + R"(","secretKey":"abcdefgh12"})");
        CHECK(missing.status == 400);
        CHECK(json::parse(missing.body).at("response").at("errors").at("Name").at(0).as_string() ==
              "The Name field is required.");
        CHECK(json::parse(missing.body).at("status").as_int64() == 1);

        auto weak = f.call(verb::post, "/api/2.0/settings/webhook",
                           R"({"name":"n","uri":")" + url + R"(","secretKey":"short"})");
        CHECK(weak.status == 400);
        CHECK(json::parse(weak.body).at("error").at("type").as_string() == "System.ArgumentException");
        CHECK(f.call(verb::post, "/api/2.0/settings/webhook",
                     R"({"name":"n","uri":")" + url + R"(","secretKey":"has space 123"})")
                  .status == 400);
        CHECK(f.call(verb::post, "/api/2.0/settings/webhook", R"({"name":"n","uri":")" + url + R"("})").status == 400);

        auto insecure = f.call(verb::post, "/api/2.0/settings/webhook",
                               R"({"name":"n","uri":")" + url + R"(","secretKey":"abcdefgh12","ssl":true})");
        CHECK(insecure.status == 400);
        CHECK(json::parse(insecure.body).at("error").at("message").as_string() == "HTTPS is required");

        auto dead = f.call(verb::post, "/api/2.0/settings/webhook",
                           R"({"name":"n","uri":"http://127.0.0.1:1/x","secretKey":"abcdefgh12"})");
        CHECK(dead.status == 400);
        CHECK(json::parse(dead.body).at("error").at("message").as_string() ==
              "Webhook URL is not available. HEAD request is not response 200 http status.");
        CHECK(r.count("HEAD") == 0);

        const auto create = R"({"name":"automation","uri":")" + url +
                            R"(","secretKey":"S3cret-Key_01","enabled":true,"ssl":false,"triggers":768})";
        auto created = f.call(verb::post, "/api/2.0/settings/webhook", create);
        CHECK(created.status == 200);
        CHECK(r.count("HEAD") == 1);
        auto dto = json::parse(created.body).at("response").as_object();
        CHECK(dto.at("name").as_string() == "automation");
        CHECK(dto.at("uri").as_string() == url);
        CHECK(dto.at("enabled").as_bool());
        CHECK(dto.at("ssl").as_bool() == false);
        CHECK(dto.at("triggers").as_int64() == 768);
        CHECK_FALSE(dto.contains("secretKey"));
        CHECK(dto.at("createdBy").at("id").as_string() == f.alice);
        const auto id = dto.at("id").as_int64();

        auto dup = f.call(verb::post, "/api/2.0/settings/webhook", create);
        CHECK(dup.status == 400);
        CHECK(json::parse(dup.body).at("error").at("message").as_string() ==
              "Webhook with the same name and payload URL already exists");
        CHECK(r.count("HEAD") == 2);  // the duplicate check comes after the HEAD check, as in DocSpace

        auto list = f.call_json(verb::get, "/api/2.0/settings/webhook");
        REQUIRE(list.at("response").as_array().size() == 1);
        CHECK(list.at("response").at(0).at("configs").at("id").as_int64() == id);
        CHECK(list.at("response").at(0).at("status").as_int64() == 0);

        // The new config receives events with the secret it was created with.
        f.sim.upload(f.alice, f.inbox, "via-rest.pdf", false);
        REQUIRE(f.wait([&] { return r.posts().size() == 1; }));
        const std::vector<std::string> secrets{"S3cret-Key_01"};
        CHECK(webhook::verify(secrets, r.posts()[0].body, r.posts()[0].header("x-docspace-signature-256")));

        const auto enable_body = [&](bool on) {
            return R"({"id":)" + std::to_string(id) + R"(,"name":"automation","uri":")" + url +
                   R"(","enabled":)" + (on ? "true" : "false") + "}";
        };
        auto off = f.call_json(verb::put, "/api/2.0/settings/webhook/enable", enable_body(false));
        CHECK(off.at("response").at("enabled").as_bool() == false);
        auto on = f.call_json(verb::put, "/api/2.0/settings/webhook/enable", enable_body(true));
        CHECK(on.at("response").at("enabled").as_bool());
        CHECK(r.count("HEAD") == 3);  // enabling re-runs the check, disabling does not

        auto upd = f.call_json(verb::put, "/api/2.0/settings/webhook",
                               R"({"id":)" + std::to_string(id) + R"(,"name":"renamed","uri":")" + url +
                                   R"(","enabled":true,"triggers":0})");
        CHECK(upd.at("response").at("name").as_string() == "renamed");
        CHECK(f.sim.webhook_configs().at(0).secret == "S3cret-Key_01");

        auto triggers = f.call_json(verb::get, "/api/2.0/settings/webhook/triggers");
        CHECK(triggers.at("response").at(9).at("name").as_string() == "file.uploaded");
        CHECK(triggers.at("response").at(9).at("id").as_int64() == 256);

        auto del = f.call(verb::delete_, "/api/2.0/settings/webhook/" + std::to_string(id));
        CHECK(del.status == 200);
        CHECK(f.sim.webhook_configs().empty());
        CHECK(f.call(verb::delete_, "/api/2.0/settings/webhook/" + std::to_string(id)).status == 404);
    }
}

TEST_SUITE("sim.lifecycle") {
    TEST_CASE("uploading a title the folder already holds adds a version and still fires file.uploaded") {
        fixture f;
        receiver r(f.ctx);
        f.sim.subscribe(r.url("/hook"), "another-secret", sim::trigger_flag("file.uploaded"));
        const auto a = f.sim.upload(f.alice, f.inbox, "weekly.xlsx", false);
        const auto b = f.sim.upload(f.sim.owner_id(), f.inbox, "WEEKLY.xlsx", false, 2048);
        CHECK(a == b);
        CHECK(f.sim.file(a)->version == 2);
        CHECK(f.sim.file(a)->updated_by == f.sim.owner_id());
        CHECK(f.sim.file(a)->size == 2048);
        REQUIRE(f.wait([&] { return r.posts().size() == 2; }));
    }

    TEST_CASE("stopping with retries and operations pending neither crashes nor delivers more") {
        auto o = fast_options();
        o.retry_scale = 100;  // first retry after 100 s
        o.fileop_delay = 60s;
        fixture f(o);
        receiver r(f.ctx);
        r.script({500});
        f.sim.subscribe(r.url("/hook"), "another-secret", 0);
        auto id = f.sim.add_file(f.inbox, "pending.pdf");
        f.call(verb::put, "/api/2.0/files/fileops/move", move_body(id, f.archive));
        f.sim.update(f.alice, id);
        REQUIRE(f.wait([&] { return !f.sim.deliveries().empty() && f.sim.deliveries()[0].attempts.size() == 1; }));
        f.sim.stop();
        f.sim.stop();
        REQUIRE(f.wait([&] { return f.sim.deliveries()[0].done; }));
        CHECK(r.posts().size() == 1);
        CHECK(f.sim.file(id)->folder_id == f.inbox);
        CHECK_FALSE(f.raw(verb::get, "/api/2.0/people/@self").has_value());
    }
}

TEST_SUITE("sim.faults") {
    TEST_CASE("fail_next answers the scripted status once, with Retry-After, and then serves again") {
        fixture f;
        f.sim.fail_next("GET", "/api/2.0/people/@self", 429, 1, 7);
        auto limited = f.call(verb::get, "/api/2.0/people/@self");
        CHECK(limited.status == 429);
        CHECK(limited.header("Retry-After") == "7");
        CHECK(json::parse(limited.body).at("statusCode").as_int64() == 429);
        CHECK(f.call(verb::get, "/api/2.0/people/@self").status == 200);

        f.sim.fail_next("*", "/api/2.0/files", 503, 2, std::nullopt, std::string("down"));
        CHECK(f.call(verb::get, "/api/2.0/people/@self").status == 200);
        auto down = f.call(verb::get, "/api/2.0/files/file/1");
        CHECK(down.status == 503);
        CHECK(down.body == "down");
        CHECK(f.call(verb::put, "/api/2.0/files/fileops/move", "{}").status == 503);
        CHECK(f.call(verb::get, "/api/2.0/files/file/1").status == 404);

        CHECK(f.sim.count("GET", "/api/2.0/people/@self") == 3);
        CHECK(f.sim.count("", "/api/2.0/files") == 3);
        CHECK(f.sim.count("PUT", "/api/2.0/files/fileops/move") == 1);
        auto recs = f.sim.requests();
        CHECK(recs.at(0).status == 429);
        CHECK(recs.at(0).user_id == f.alice);
        CHECK(recs.back().status == 404);
    }

    TEST_CASE("delay_next holds the answer and reset_next drops the connection") {
        fixture f;
        f.sim.delay_next("GET", "/api/2.0/people", 150ms);
        const auto t0 = std::chrono::steady_clock::now();
        CHECK(f.call(verb::get, "/api/2.0/people/@self").status == 200);
        CHECK(std::chrono::steady_clock::now() - t0 >= 150ms);

        f.sim.reset_next("GET", "/api/2.0/files/file/", 1);
        auto id = f.sim.add_file(f.inbox, "r.pdf");
        auto reset = f.raw(verb::get, "/api/2.0/files/file/" + std::to_string(id));
        CHECK_FALSE(reset.has_value());
        CHECK(f.sim.requests().back().status == 0);
        CHECK(f.call(verb::get, "/api/2.0/files/file/" + std::to_string(id)).status == 200);
    }

    TEST_CASE("revoked rights make comment and move answer 403 until restored") {
        fixture f;
        auto id = f.sim.add_file(f.inbox, "guarded.pdf");
        f.sim.set_access(f.alice, f.inbox, sim::access::read);
        CHECK(f.call(verb::put, "/api/2.0/files/file/" + std::to_string(id) + "/comment",
                     R"({"version":1,"comment":"x"})")
                  .status == 403);
        CHECK(f.call(verb::put, "/api/2.0/files/fileops/move", move_body(id, f.archive)).status == 403);
        CHECK(f.call(verb::get, "/api/2.0/files/file/" + std::to_string(id)).status == 200);
        f.sim.set_access(f.alice, f.inbox, sim::access::full);
        CHECK(f.call(verb::put, "/api/2.0/files/file/" + std::to_string(id) + "/comment",
                     R"({"version":1,"comment":"x"})")
                  .status == 200);
    }
}

TEST_SUITE("sim.webhooks_log") {
    TEST_CASE("deliveries to a closed port are one row each, status 0, found by groupStatus=29 and not by 2") {
        log_fixture f(quick_retries());
        const int cfg = f.sim.subscribe(closed_url(), "another-secret", sim::trigger_flag("file.uploaded"), "gone");
        f.sim.upload(f.alice, f.inbox, "lost.pdf", false);
        REQUIRE(f.all_done(1));
        const auto d = f.sim.deliveries().at(0);
        CHECK(d.attempts.size() == 6);  // the automatic retries updated the one row

        auto env = f.log();
        CHECK(env.at("total").as_int64() == 1);
        CHECK(env.at("count").as_int64() == 1);
        const auto& row = env.at("response").at(0).as_object();
        CHECK(row.at("id").as_int64() == d.id);
        CHECK(row.at("configName").as_string() == "gone");
        CHECK(row.at("trigger").as_int64() == 256);
        CHECK(row.at("status").as_int64() == 0);
        CHECK_FALSE(row.contains("delivery"));
        CHECK(std::regex_match(std::string(row.at("creationTime").as_string()),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
        // requestPayload: the last attempt's exact bytes (the fifth retry); requestHeaders: a JSON string.
        const std::string payload(row.at("requestPayload").as_string());
        CHECK(payload == d.attempts.back().body);
        CHECK(json::parse(payload).at("webhook").at("retryCount").as_int64() == 5);
        CHECK(json::parse(payload).at("event").at("id").as_int64() == d.id);
        const auto headers = json::parse(row.at("requestHeaders").as_string());
        CHECK(headers.at("Accept") == json::array{"*/*"});
        CHECK(headers.at("x-docspace-signature-256") ==
              json::array{json::string(webhook::sign("another-secret", payload))});

        CHECK(f.log("groupStatus=29").at("total").as_int64() == 1);
        CHECK(f.log("groupStatus=1").at("total").as_int64() == 1);
        CHECK(f.log("groupStatus=2").at("total").as_int64() == 0);
        CHECK(f.log("groupStatus=28").at("total").as_int64() == 0);
        CHECK(f.log("groupStatus=0").at("total").as_int64() == 1);  // no filter
        CHECK(f.log("configId=" + std::to_string(cfg)).at("total").as_int64() == 1);
        CHECK(f.log("configId=" + std::to_string(cfg + 1)).at("total").as_int64() == 0);
    }

    TEST_CASE("a row not sent yet has status 0 and the published body without event.id") {
        auto o = fast_options();
        o.max_concurrent_deliveries = 0;  // nothing is sent
        log_fixture f(o);
        f.sim.subscribe(closed_url(), "another-secret", 0);
        f.sim.upload(f.alice, f.inbox, "queued.pdf", false);
        auto row = f.log().at("response").at(0).as_object();
        CHECK(row.at("status").as_int64() == 0);
        CHECK_FALSE(row.contains("requestHeaders"));
        auto payload = json::parse(row.at("requestPayload").as_string());
        CHECK_FALSE(payload.at("event").as_object().contains("id"));
        CHECK(payload.at("event").at("trigger").as_string() == "file.uploaded");
        CHECK(f.sim.deliveries().at(0).attempts.empty());
    }

    TEST_CASE("an attempt that times out is logged with status 500, in the 5xx group") {
        auto o = fast_options();
        o.max_retries = 0;
        o.delivery_timeout = 100ms;
        log_fixture f(o);
        // Listens but never accepts: the kernel completes the handshake, nobody answers.
        asio::ip::tcp::acceptor silent(f.ctx, {asio::ip::make_address("127.0.0.1"), 0});
        f.sim.subscribe("http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/hook",
                        "another-secret", 0);
        f.sim.upload(f.alice, f.inbox, "slow.pdf", false);
        REQUIRE(f.all_done(1));
        auto row = f.log().at("response").at(0).as_object();
        CHECK(row.at("status").as_int64() == 500);
        CHECK(f.log("groupStatus=16").at("total").as_int64() == 1);
        CHECK(f.log("groupStatus=29").at("total").as_int64() == 1);
        CHECK(f.log("groupStatus=1").at("total").as_int64() == 0);
    }

    TEST_CASE("a delivered row is found by groupStatus=2 and by its delivery time, a failed one by neither") {
        log_fixture f(quick_retries());
        receiver r(f.ctx);
        const int good = f.sim.subscribe(r.url("/hook"), "another-secret", 0, "good");
        const int bad = f.sim.subscribe(closed_url(), "another-secret", 0, "bad");
        const auto before = clock::now_ms();
        f.sim.upload(f.alice, f.inbox, "both.pdf", false);
        REQUIRE(f.all_done(2));
        const auto after = clock::now_ms();
        auto rows = f.sim.deliveries();
        const auto good_row = rows.at(0).config_id == good ? rows.at(0).id : rows.at(1).id;
        const auto bad_row = rows.at(0).config_id == bad ? rows.at(0).id : rows.at(1).id;

        CHECK(f.ids("groupStatus=2") == std::vector<std::int64_t>{good_row});
        CHECK(f.ids("groupStatus=29") == std::vector<std::int64_t>{bad_row});
        const auto range =
            "deliveryFrom=" + clock::format_iso(before - 60'000) + "&deliveryTo=" + clock::format_iso(after + 60'000);
        CHECK(f.ids(range) == std::vector<std::int64_t>{good_row});
        CHECK(f.ids("deliveryFrom=" + clock::format_iso(before - 60'000)) == std::vector<std::int64_t>{good_row});
        CHECK(f.ids("deliveryTo=" + clock::format_iso(after + 60'000)) == std::vector<std::int64_t>{good_row});
        CHECK(f.ids(range + "&groupStatus=29").empty());
        CHECK(f.ids("deliveryFrom=" + clock::format_iso(after + 60'000)).empty());

        // `delivery` is whole seconds, and the bounds include it.
        auto delivered = f.log("eventId=" + std::to_string(good_row)).at("response").at(0).as_object();
        CHECK(delivered.at("status").as_int64() == 200);
        const std::string at(delivered.at("delivery").as_string());
        CHECK(f.ids("deliveryFrom=" + at + "&deliveryTo=" + at) == std::vector<std::int64_t>{good_row});
        // The same instant without a zone (UTC) and with an offset ('+' percent-encoded in a query).
        CHECK(f.ids("deliveryTo=" + at.substr(0, 19)) == std::vector<std::int64_t>{good_row});
        CHECK(f.ids("deliveryFrom=" + at.substr(0, 19) + "%2B00:00") == std::vector<std::int64_t>{good_row});

        CHECK(f.ids("configId=" + std::to_string(bad)) == std::vector<std::int64_t>{bad_row});
        CHECK(f.ids("hookUri=" + r.url("/hook")) == std::vector<std::int64_t>{good_row});
        CHECK(f.ids("eventId=" + std::to_string(bad_row)) == std::vector<std::int64_t>{bad_row});
        CHECK(f.ids("trigger=256").size() == 2);
        CHECK(f.ids("trigger=128").empty());

        CHECK(f.call(verb::get, "/api/2.0/settings/webhooks/log?deliveryFrom=yesterday", {}, "sk-owner").status == 400);
        CHECK(f.call(verb::get, "/api/2.0/settings/webhooks/log?configId=x", {}, "sk-owner").status == 400);
    }

    TEST_CASE("the log pages newest first, with the total of all pages, over 260 rows") {
        auto o = fast_options();
        o.max_retries = 0;
        log_fixture f(o);
        f.sim.subscribe(closed_url(), "another-secret", 0);
        for (int i = 0; i < 130; ++i) f.sim.upload(f.alice, f.inbox, "bulk-" + std::to_string(i) + ".pdf");
        REQUIRE(f.all_done(260, 30s));

        std::vector<std::int64_t> seen;
        for (int start : {0, 100, 200}) {
            auto env = f.log("groupStatus=29&count=100&startIndex=" + std::to_string(start));
            CHECK(env.at("total").as_int64() == 260);
            CHECK(env.at("count").as_int64() == (start == 200 ? 60 : 100));
            for (const auto& row : env.at("response").as_array()) seen.push_back(row.at("id").as_int64());
        }
        std::vector<std::int64_t> expected;
        for (const auto& d : f.sim.deliveries()) expected.push_back(d.id);
        std::reverse(expected.begin(), expected.end());
        CHECK(seen == expected);

        CHECK(f.log().at("count").as_int64() == 100);  // count defaults to 100
        CHECK(f.log("startIndex=300").at("response").as_array().empty());
        CHECK(f.log("startIndex=300").at("total").as_int64() == 260);
        CHECK(f.call(verb::get, "/api/2.0/settings/webhooks/log?count=0", {}, "sk-owner").status == 400);
        CHECK(f.call(verb::get, "/api/2.0/settings/webhooks/log?count=101", {}, "sk-owner").status == 400);

        // A row published between two pages shifts the next page by one: page with overlap.
        const auto first_page = f.ids("count=100");
        f.sim.upload(f.alice, f.inbox, "late.pdf", false);
        const auto second_page = f.ids("count=100&startIndex=100");
        CHECK(second_page.front() == first_page.back());
    }

    TEST_CASE("a manual retry is a new row with a new id and the same payload but event.id") {
        log_fixture f(quick_retries());
        receiver r(f.ctx);
        r.script({500});
        const int cfg = f.sim.subscribe(r.url("/hook"), "another-secret", 0);
        f.sim.upload(f.alice, f.inbox, "retried.pdf", false);
        REQUIRE(f.all_done(1));
        // The automatic retry updated the one row: the second attempt's status and body.
        auto env = f.log();
        REQUIRE(env.at("total").as_int64() == 1);
        const auto first = env.at("response").at(0).as_object();
        CHECK(first.at("status").as_int64() == 200);
        CHECK(first.contains("delivery"));
        const auto first_id = first.at("id").as_int64();
        const std::string first_payload(first.at("requestPayload").as_string());
        CHECK(json::parse(first_payload).at("webhook").at("retryCount").as_int64() == 1);

        // PUT settings/webhook/{id}/retry answers the new row before it is sent: the copied payload.
        auto put = f.call(verb::put, "/api/2.0/settings/webhook/" + std::to_string(first_id) + "/retry", {},
                          "sk-owner");
        REQUIRE(put.status == 200);
        const auto created = json::parse(put.body).at("response").as_object();
        const auto second_id = created.at("id").as_int64();
        CHECK(second_id > first_id);
        CHECK(created.at("status").as_int64() == 0);
        CHECK(created.at("requestPayload").as_string() == first_payload);

        REQUIRE(f.all_done(2));
        env = f.log("configId=" + std::to_string(cfg));
        CHECK(env.at("total").as_int64() == 2);
        const auto second = env.at("response").at(0).as_object();  // newest first
        CHECK(second.at("id").as_int64() == second_id);
        CHECK(env.at("response").at(1).at("id").as_int64() == first_id);
        auto a = json::parse(first_payload), b = json::parse(second.at("requestPayload").as_string());
        CHECK(b.at("event").at("id").as_int64() == second_id);
        CHECK_FALSE(b.at("webhook").as_object().contains("retryCount"));  // sent fresh
        a.as_object()["event"].as_object().erase("id");
        b.as_object()["event"].as_object().erase("id");
        CHECK(a.at("event") == b.at("event"));
        CHECK(a.at("payload") == b.at("payload"));
    }

    TEST_CASE("admins read every config's rows, users their own, guests and limited users get 403") {
        auto o = fast_options();
        o.max_retries = 0;
        log_fixture f(o);
        const auto bob = f.sim.add_user({"", "Bob", "Jones", "bob@example.com"});
        f.sim.add_api_key("sk-bob", bob);
        sim::user_info guest_info{"", "Gail", "Guest", "gail@example.com"};
        guest_info.guest = true;
        const auto guest = f.sim.add_user(guest_info);
        f.sim.add_api_key("sk-guest", guest);
        const int alices = f.sim.subscribe(closed_url(), "another-secret", 0, "alice's", {}, f.alice);
        const int bobs = f.sim.subscribe(closed_url(), "another-secret", 0, "bob's", {}, bob);
        f.sim.subscribe(closed_url(), "another-secret", 0, "owner's");
        f.sim.upload(f.alice, f.inbox, "seen.pdf", false);
        REQUIRE(f.all_done(3));

        CHECK(f.log().at("total").as_int64() == 3);
        CHECK(f.log("userId=" + bob).at("total").as_int64() == 1);
        auto mine = f.log({}, "sk-alice");
        CHECK(mine.at("total").as_int64() == 1);
        CHECK(mine.at("response").at(0).at("configName").as_string() == "alice's");
        CHECK(f.log("userId=" + bob, "sk-alice").at("total").as_int64() == 1);  // forced to her own
        CHECK(f.log("configId=" + std::to_string(bobs), "sk-alice").at("total").as_int64() == 0);
        CHECK(f.log({}, "sk-bob").at("response").at(0).at("configName").as_string() == "bob's");

        auto denied = f.call(verb::get, "/api/2.0/settings/webhooks/log", {}, "sk-guest");
        CHECK(denied.status == 403);
        CHECK(json::parse(denied.body).at("error").at("message").as_string() == "Access denied");
        CHECK(f.call(verb::get, "/api/2.0/settings/webhook", {}, "sk-guest").status == 403);
        CHECK(f.call(verb::post, "/api/2.0/settings/webhook",
                     R"({"name":"n","uri":"http://127.0.0.1:1/x","secretKey":"abcdefgh12"})", "sk-guest")
                  .status == 403);
        CHECK(f.call(verb::get, "/api/2.0/settings/webhook/triggers", {}, "sk-guest").status == 200);
        auto guest_self = json::parse(f.call(verb::get, "/api/2.0/people/@self", {}, "sk-guest").body);
        CHECK(guest_self.at("response").at("isVisitor") == true);

        f.sim.set_limited_access_for_users(true);
        CHECK(f.call(verb::get, "/api/2.0/settings/webhooks/log", {}, "sk-alice").status == 403);
        CHECK(f.call(verb::put, "/api/2.0/settings/webhook/retry", R"({"ids":[1]})", "sk-alice").status == 403);
        CHECK(f.log().at("total").as_int64() == 3);
        f.sim.set_limited_access_for_users(false);
        CHECK(f.log({}, "sk-alice").at("total").as_int64() == 1);

        // The log is read joined with the configs: a deleted config's rows are gone from it.
        f.sim.remove_webhook(alices);
        CHECK(f.log().at("total").as_int64() == 2);
        CHECK(f.log({}, "sk-alice").at("total").as_int64() == 0);
        CHECK(f.sim.deliveries().size() == 3);
        CHECK_THROWS_AS(f.sim.remove_webhook(alices), std::invalid_argument);
    }

    TEST_CASE("a disabled config gets no new deliveries and is listed enabled:false until enabled again") {
        log_fixture f(fast_options());
        receiver r(f.ctx);
        const int cfg = f.sim.subscribe(r.url("/hook"), "another-secret", 0);
        f.sim.set_webhook_enabled(cfg, false);
        f.sim.upload(f.alice, f.inbox, "unheard.pdf", false);
        CHECK(f.sim.deliveries().empty());
        CHECK(f.sim.webhook_configs().at(0).enabled == false);
        auto listed = json::parse(f.call(verb::get, "/api/2.0/settings/webhook", {}, "sk-owner").body);
        CHECK(listed.at("response").at(0).at("configs").at("enabled") == false);

        f.sim.set_webhook_enabled(cfg, true);
        f.sim.upload(f.alice, f.inbox, "heard.pdf", false);
        REQUIRE(f.wait([&] { return r.posts().size() == 1; }));
        CHECK(parse_body(r.posts()[0]).at("payload").at("title").as_string() == "heard.pdf");
        CHECK_THROWS_AS(f.sim.set_webhook_enabled(cfg + 1, false), std::invalid_argument);
    }
}
