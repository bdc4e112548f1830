#include "spacehook/metrics/registry.hpp"

#include <doctest/doctest.h>

using namespace spacehook::metrics;

TEST_SUITE("metrics registry") {
    TEST_CASE("renders counters, gauges and cumulative histograms in the text format") {
        registry r;
        r.get_counter("spacehook_deliveries_total", "Deliveries.", {{"result", "accepted"}}).inc(3);
        r.get_counter("spacehook_deliveries_total", "Deliveries.", {{"result", "duplicate"}}).inc();
        r.get_gauge("spacehook_jobs", "Jobs.", {{"state", "queued"}}).set(7);
        auto& h = r.get_histogram("spacehook_ack_seconds", "Ack.", {}, {0.001, 0.01});
        h.observe(0.0005);
        h.observe(0.005);
        h.observe(5);
        auto text = r.render();
        CHECK(text.find("# TYPE spacehook_deliveries_total counter\n") != std::string::npos);
        CHECK(text.find("spacehook_deliveries_total{result=\"accepted\"} 3\n") != std::string::npos);
        CHECK(text.find("spacehook_deliveries_total{result=\"duplicate\"} 1\n") != std::string::npos);
        CHECK(text.find("# TYPE spacehook_jobs gauge\nspacehook_jobs{state=\"queued\"} 7\n") != std::string::npos);
        CHECK(text.find("spacehook_ack_seconds_bucket{le=\"0.001\"} 1\n") != std::string::npos);
        CHECK(text.find("spacehook_ack_seconds_bucket{le=\"0.01\"} 2\n") != std::string::npos);
        CHECK(text.find("spacehook_ack_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
        CHECK(text.find("spacehook_ack_seconds_count 3\n") != std::string::npos);
    }

    TEST_CASE("label values are escaped and the same series is returned twice") {
        registry r;
        auto& a = r.get_counter("x_total", "X.", {{"rule", "a\"b\\c\nd"}});
        auto& b = r.get_counter("x_total", "X.", {{"rule", "a\"b\\c\nd"}});
        CHECK(&a == &b);
        a.inc();
        CHECK(r.render().find(R"(x_total{rule="a\"b\\c\nd"} 1)") != std::string::npos);
    }

    TEST_CASE("collectors run before rendering") {
        registry r;
        int calls = 0;
        r.on_collect([&] { r.get_gauge("g", "G.").set(++calls); });
        CHECK(r.render().find("g 1\n") != std::string::npos);
        CHECK(r.render().find("g 2\n") != std::string::npos);
    }
}
