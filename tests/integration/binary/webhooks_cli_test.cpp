// `spacehook webhooks` against the DocSpace simulator's settings/webhook API.
#include "process.hpp"
#include "spacehook/sim/docspace_sim.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <doctest/doctest.h>

#include <fstream>
#include <thread>

#include <fmt/format.h>

using namespace spacehook;

namespace {
struct portal {
    test::temp_dir dir;
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    std::unique_ptr<sim::docspace_sim> ds;
    std::thread t;
    std::string cfg = dir.file("config.json");

    explicit portal(bool probe) {
        sim::sim_options so;
        so.probe_webhook_uri = probe;
        so.probe_timeout = std::chrono::milliseconds(500);
        ds = std::make_unique<sim::docspace_sim>(io, so);
        t = std::thread([this] { io.run(); });
        ds->add_api_key("sk-admin", ds->owner_id());
        std::ofstream(cfg) << fmt::format(R"({{"database": "{}", "docspace": {{"base_url": "{}", "api_key": "sk-admin"}},
          "webhooks": [{{"path": "/h", "secrets": []}}]}})",
                                          dir.file("x.db"), ds->base_url());
    }
    ~portal() {
        asio::post(io, [this] { ds->stop(); });
        guard.reset();
        t.join();
    }
    test::cli_result run(std::vector<std::string> args) {
        args.insert(args.begin(), "webhooks");
        args.push_back("--config");
        args.push_back(cfg);
        return test::run_cli(dir, args);
    }
};
}  // namespace

TEST_SUITE("webhooks cli") {
    TEST_CASE("create, list, update, disable, enable and delete a webhook") {
        portal p(false);
        auto created = p.run({"create", "--name", "spacehook", "--uri", "https://hooks.example.com/docspace/webhook",
                              "--trigger", "file.uploaded", "--trigger", "file.updated", "--secret", "S3cret-Key_01",
                              "--json"});
        REQUIRE(created.exit_code == 0);
        CHECK(created.out.find(R"("triggers":["file.uploaded","file.updated"])") != std::string::npos);
        auto configs = p.ds->webhook_configs();
        REQUIRE(configs.size() == 1);
        CHECK(configs[0].triggers == 256 + 512);
        CHECK(configs[0].secret == "S3cret-Key_01");
        CHECK(configs[0].enabled);
        const auto id = std::to_string(configs[0].id);

        auto list = p.run({"list"});
        CHECK(list.exit_code == 0);
        CHECK(list.out.find("https://hooks.example.com/docspace/webhook") != std::string::npos);

        CHECK(p.run({"update", id, "--trigger", "All"}).exit_code == 0);
        CHECK(p.ds->webhook_configs()[0].triggers == 0);
        CHECK(p.ds->webhook_configs()[0].secret == "S3cret-Key_01");  // an omitted secret is kept

        CHECK(p.run({"disable", id}).exit_code == 0);
        CHECK_FALSE(p.ds->webhook_configs()[0].enabled);
        CHECK(p.run({"enable", id}).exit_code == 0);
        CHECK(p.ds->webhook_configs()[0].enabled);

        auto dup = p.run({"create", "--name", "spacehook", "--uri", "https://hooks.example.com/docspace/webhook",
                          "--trigger", "All", "--secret", "S3cret-Key_01"});
        CHECK(dup.exit_code == 1);
        CHECK(dup.err.find("pick another name") != std::string::npos);

        CHECK(p.run({"delete", id}).exit_code == 0);
        CHECK(p.ds->webhook_configs().empty());
        CHECK(p.run({"delete", id}).exit_code == 1);
    }

    TEST_CASE("bad input is refused before DocSpace is asked, and DocSpace's 400s come with advice") {
        portal p(true);
        auto no_trigger = p.run({"create", "--name", "n", "--uri", "https://x.example/h", "--secret", "S3cret-Key_01"});
        CHECK(no_trigger.exit_code == 2);
        auto bad_trigger = p.run({"create", "--name", "n", "--uri", "https://x.example/h", "--trigger", "file.exploded",
                                  "--secret", "S3cret-Key_01"});
        CHECK(bad_trigger.exit_code == 2);
        auto short_secret = p.run({"create", "--name", "n", "--uri", "https://x.example/h", "--trigger", "All", "--secret", "short"});
        CHECK(short_secret.exit_code == 1);
        CHECK(p.ds->count("POST", "/api/2.0/settings/webhook") == 0);
        // Nothing answers HEAD on that port: DocSpace refuses the URL.
        auto unreachable = p.run({"create", "--name", "n", "--uri", "http://127.0.0.1:1/h", "--no-ssl", "--trigger",
                                  "All", "--secret", "S3cret-Key_01"});
        CHECK(unreachable.exit_code == 1);
        CHECK(unreachable.err.find("DocSpace answered 400") != std::string::npos);
        auto triggers = p.run({"triggers", "--json"});
        CHECK(triggers.exit_code == 0);
        CHECK(triggers.out.find(R"("name":"file.uploaded","id":256)") != std::string::npos);
    }
}
