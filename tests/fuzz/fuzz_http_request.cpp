// libFuzzer target: raw bytes from a client connection -> HTTP/1.1 requests -> the service's front door
// (service::front_door::handle, libs/service/src/ingest.hpp) -> a real store::writer on a SQLite file.
//
// The bytes are fed, sans I/O, to Beast request parsers set up as the server sets them up (server_options
// defaults: 16 KiB of headers, 1 MiB of body), one parser per request as the server's session loop does, so
// pipelined and keep-alive requests follow each other; a parse error ends the "connection" with the answer
// the server gives (413, 431, 400). Each complete request goes to front_door::handle on one io_context, and
// deliveries are committed by the writer thread (the database lives in /dev/shm when there is one, so a
// commit's fsync is cheap). The set-up is built once and shared by all inputs.
//
// Fixed config: "/docspace/webhook" with two secrets (the protocol's test-vector secret first), so signed
// deliveries from the corpus reach the insert path; "/unsigned" with no secret, so mutated bodies do too;
// four rules (prefix, in_folder, regex and glob filters) so deliveries plan jobs.
//
// Invariants (docs/contract.md §3), each abort()s when violated:
//   - handle() never throws, and answers only 200, 400, 401, 404 or 405 (never 5xx: storage is healthy);
//   - POST to a webhook path answers, in this order: 401 when the path has secrets and the signature header
//     is missing or does not verify; 400 when the body is not an envelope; else 200 {"status":"accepted"} or
//     {"status":"duplicate"}; and the same request again is then a duplicate;
//   - GET/HEAD on a webhook path, /healthz and /readyz answer 200; a HEAD answer has an empty body;
//   - Content-Length matches the body.
#include "ingest.hpp"

#include "spacehook/config/load.hpp"
#include "spacehook/core/log.hpp"
#include "spacehook/metrics/registry.hpp"
#include "spacehook/rules/template.hpp"
#include "spacehook/store/queue.hpp"
#include "spacehook/store/writer.hpp"
#include "spacehook/webhook/envelope.hpp"
#include "spacehook/webhook/signature.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <unistd.h>

namespace {

using namespace spacehook;
namespace bh = boost::beast::http;

[[noreturn]] void violated(const char* what) {
    std::fprintf(stderr, "fuzz_http_request: invariant violated: %s\n", what);
    std::abort();
}

#define FUZZ_CHECK(cond) ((cond) ? void() : violated(#cond))

constexpr std::string_view signed_path = "/docspace/webhook";
constexpr std::string_view unsigned_path = "/unsigned";
constexpr std::string_view admin_token = "admin-token";

constexpr std::string_view config_template = R"({{
  "server": {{ "listen": "127.0.0.1:0", "admin_token": "{admin}" }},
  "database": "{db}",
  "docspace": {{ "base_url": "http://127.0.0.1:9", "api_key": "fuzz-key" }},
  "webhooks": [
    {{ "path": "{signed}", "secrets": ["S3cret-Key_01", "Second-Secret_02"] }},
    {{ "path": "{unsigned}", "secrets": [] }}
  ],
  "channels": {{ "console": {{ "type": "log" }} }},
  "rules": [
    {{ "name": "invoice-intake", "on": ["file.uploaded", "file.created"],
      "if": {{ "in_room": 86193, "title": {{ "prefix": "invoice" }} }},
      "do": [ {{ "move": {{ "to_folder": 654321 }} }},
              {{ "notify": {{ "channel": "console", "subject": "Invoice uploaded: {{{{file.title}}}}" }} }} ] }},
    {{ "name": "copy-to-internal", "on": ["file.uploaded"], "if": {{ "in_folder": 8410 }},
      "do": [ {{ "copy": {{ "to_folder": 341029 }} }} ] }},
    {{ "name": "reports", "on": ["*"], "if": {{ "title": {{ "regex": "^report-[0-9]{{4}}\\.(docx|xlsx)$" }} }},
      "do": [ {{ "comment": {{ "text": "Need Review" }} }} ] }},
    {{ "name": "pdf-changed", "on": ["file.updated"], "if": {{ "title": {{ "glob": "*.pdf", "case": "sensitive" }} }},
      "do": [ {{ "comment": {{ "text": "{{{{file.title}}}} changed" }} }} ] }}
  ]
}})";

struct world {
    std::filesystem::path dir;
    config::settings settings;
    std::unique_ptr<store::writer> writer;
    std::unique_ptr<store::queue> queue;
    metrics::registry registry;
    service::front_door door;
    asio::io_context ctx{1};

    world() {
        log::set_min_level(log::level::error);
        log::set_sink([](log::level, std::string_view) {});
        const bool shm = ::access("/dev/shm", W_OK) == 0;
        std::string tmpl = ((shm ? std::filesystem::path("/dev/shm") : std::filesystem::temp_directory_path()) /
                            "spacehook-fuzz-XXXXXX")
                               .string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        dir = tmpl;
        const auto text = fmt::format(fmt::runtime(config_template), fmt::arg("admin", admin_token),
                                      fmt::arg("db", (dir / "fuzz.db").string()), fmt::arg("signed", signed_path),
                                      fmt::arg("unsigned", unsigned_path));
        auto loaded = config::load(text, [](std::string_view) { return std::nullopt; });
        if (!loaded.ok()) {
            for (const auto& p : loaded.problems) std::fprintf(stderr, "%s: %s\n", p.path.c_str(), p.message.c_str());
            throw std::runtime_error("fuzz config does not load");
        }
        settings = std::move(loaded.value);

        // As app.cpp wires it (make_routing and app::impl::start).
        writer = std::make_unique<store::writer>(
            store::writer_options{.path = settings.database.path, .busy_timeout_ms = settings.database.busy_timeout_ms});
        door.routes.store(service::make_routing(std::make_shared<const config::settings>(settings)));
        queue = store::make_sqlite_queue(*writer);
        door.queue = queue.get();
        door.registry = &registry;
        door.m = std::make_unique<service::front_metrics>(registry);
        door.on_jobs_created = [] {};
        door.workers_ready = [] { return true; };
    }

    ~world() {
        // One line at exit (scripts/fuzz.sh keeps it in the log): proof the runs reached each answer.
        const auto& m = *door.m;
        std::fprintf(stderr,
                     "fuzz_http_request: deliveries accepted %llu, duplicate %llu, unauthorized %llu, "
                     "bad_request %llu, unavailable %llu\n",
                     static_cast<unsigned long long>(m.accepted.value()),
                     static_cast<unsigned long long>(m.duplicate.value()),
                     static_cast<unsigned long long>(m.unauthorized.value()),
                     static_cast<unsigned long long>(m.bad_request.value()),
                     static_cast<unsigned long long>(m.unavailable.value()));
        queue.reset();
        writer.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

    const config::webhook_endpoint* endpoint(std::string_view path) const {
        for (const auto& ep : settings.webhooks)
            if (ep.path == path) return &ep;
        return nullptr;
    }

    http::response handle(http::request& req) {
        std::optional<http::response> res;
        std::exception_ptr failure;
        asio::co_spawn(ctx, door.handle(req), [&](std::exception_ptr e, http::response r) {
            failure = e;
            if (!e) res.emplace(std::move(r));
        });
        ctx.restart();
        ctx.run();
        if (failure) violated("front_door::handle threw");
        FUZZ_CHECK(res.has_value());
        return std::move(*res);
    }
};

world& the_world() {
    static world w;
    return w;
}

std::string_view path_of(std::string_view target) {
    auto q = target.find('?');
    return q == std::string_view::npos ? target : target.substr(0, q);
}

// What docs/contract.md §3 says a POST to a webhook endpoint gets.
enum class expect { unauthorized, bad_request, stored };

expect expected_for_post(const config::webhook_endpoint& ep, const http::request& req) {
    if (!ep.secrets.empty()) {
        auto sig = req[webhook::signature_header];
        if (sig.empty() || !webhook::verify(ep.secrets, req.body(), sig)) return expect::unauthorized;
    }
    if (std::holds_alternative<std::string>(webhook::parse_envelope(req.body()))) return expect::bad_request;
    return expect::stored;
}

void check_response(const http::request& req, const http::response& res) {
    const unsigned status = res.result_int();
    FUZZ_CHECK(status == 200 || status == 400 || status == 401 || status == 404 || status == 405);
    if (req.method() == bh::verb::head) {
        if (!res.body().empty()) {
            std::fprintf(stderr, "HEAD %s answered %u with a %zu-byte body\n", std::string(req.target()).c_str(),
                         status, res.body().size());
            violated("res.body().empty() for HEAD");
        }
    } else {
        FUZZ_CHECK(res[bh::field::content_length] == std::to_string(res.body().size()));
    }
}

void one_request(world& w, http::request& req) {
    const http::request copy = req;  // handle() moves the body out of `req` into the store
    const auto path = path_of(copy.target());
    const auto* ep = w.endpoint(path);
    const bool get_or_head = copy.method() == bh::verb::get || copy.method() == bh::verb::head;

    auto res = w.handle(req);
    check_response(copy, res);
    const unsigned status = res.result_int();

    if (ep && copy.method() == bh::verb::post) {
        switch (expected_for_post(*ep, copy)) {
        case expect::unauthorized: FUZZ_CHECK(status == 401); break;
        case expect::bad_request: FUZZ_CHECK(status == 400); break;
        case expect::stored: {
            FUZZ_CHECK(status == 200);
            FUZZ_CHECK(res.body() == R"({"status":"accepted"})" || res.body() == R"({"status":"duplicate"})");
            // The same delivery again (DocSpace's retry of an attempt it thinks failed) is a duplicate.
            http::request again = copy;
            auto res2 = w.handle(again);
            check_response(copy, res2);
            FUZZ_CHECK(res2.result_int() == 200 && res2.body() == R"({"status":"duplicate"})");
            break;
        }
        }
    } else if ((ep || path == "/healthz" || path == "/readyz") && get_or_head) {
        FUZZ_CHECK(status == 200);
    } else if (path == "/metrics" && get_or_head) {
        const bool authorized = copy[bh::field::authorization] == "Bearer " + std::string(admin_token);
        FUZZ_CHECK(status == (authorized ? 200u : 401u));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto& w = the_world();
    const http::server_options limits;  // the server's defaults
    std::string_view rest(reinterpret_cast<const char*>(data), size);

    // One parser per request, as the server's session loop; at most 16 pipelined requests per input.
    for (int n = 0; n < 16 && !rest.empty(); ++n) {
        bh::request_parser<bh::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
        parser.body_limit(limits.max_body_bytes);
        parser.eager(true);
        boost::system::error_code ec;
        // Every byte left is offered at once, so need_more means the client sent no more: end of stream (a
        // parser must not be offered the same bytes again after need_more; Beast asserts on that).
        while (!parser.is_done()) {
            const auto used = parser.put(asio::buffer(rest.data(), rest.size()), ec);
            rest.remove_prefix(used);
            if (ec == bh::error::need_more || (!ec && (rest.empty() || used == 0) && !parser.is_done())) {
                ec = {};
                parser.put_eof(ec);  // only a request without a body length completes here
                break;
            }
            if (ec) break;
        }
        if (ec || !parser.is_done()) return 0;  // 413 / 431 / 400 or a partial request: the server closes
        auto req = parser.release();
        const bool keep_alive = req.keep_alive();
        one_request(w, req);
        if (!keep_alive) break;
    }
    return 0;
}
