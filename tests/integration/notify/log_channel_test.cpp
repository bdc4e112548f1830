// The log channel writes the notification as one structured log line.
#include "spacehook/core/log.hpp"
#include "spacehook/notify/channel.hpp"
#include "test_support.hpp"

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

TEST_SUITE("notify log channel") {

TEST_CASE("the log channel writes one notify line with the message and reports sent") {
    using namespace spacehook;
    std::vector<std::string> lines;
    auto previous = log::set_sink([&](log::level, std::string_view line) { lines.emplace_back(line); });
    boost::asio::io_context ctx;
    notify::channel_settings s;
    s.name = "console";
    s.type = notify::channel_type::log;
    auto ch = notify::make_log_channel(s);
    CHECK(ch->name() == "console");
    notify::message m{
        "File changed in Compliance folder", "policy.docx ✓", "<job-3.step-0@spacehook>", "job-3.step-0"};
    auto r = test::run_coro(ctx, [&] { return ch->send(m); });
    log::set_sink(previous);

    CHECK(r.sent());
    REQUIRE(lines.size() == 1);
    auto line = boost::json::parse(lines[0]).as_object();
    CHECK(line.at("event") == "notify");
    CHECK(line.at("channel") == "console");
    CHECK(line.at("subject") == "File changed in Compliance folder");
    CHECK(line.at("body") == "policy.docx ✓");
    CHECK(line.at("message_id") == "<job-3.step-0@spacehook>");
    CHECK(notify::to_string(r) == "sent");
}

}  // TEST_SUITE
