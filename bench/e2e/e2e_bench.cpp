// bench/e2e: events per second from the first delivery to the last job succeeded, for the invoice rule
// (move + notify to the log channel), against the in-process DocSpace simulator on loopback.
//
//   spacehook_bench_e2e [events=2000] [workers=32] [postgresql://URL [instances=1]]
//
// With a PostgreSQL URL (an empty database) the queue is there, and `instances` services share it in this process:
// the simulator delivers to the first, and every instance's workers lease from the shared queue.
//
// The simulator publishes one file.uploaded per upload (the web UI's chunked upload), spacehook ingests,
// and its workers read the file, its folder path, move it (PUT + poll) and notify. The simulator's own
// share of the CPU is reported (its thread's CPU time) so one can tell whether it was the bottleneck.
#include "spacehook/core/log.hpp"
#include "spacehook/service/app.hpp"
#include "spacehook/sim/docspace_sim.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/store/pg.hpp"
#include "spacehook/store/sqlite.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <pthread.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>
#include <thread>

#include <fmt/format.h>

using namespace spacehook;

namespace {
double thread_cpu_seconds(pthread_t t) {
    clockid_t cid;
    pthread_getcpuclockid(t, &cid);
    timespec ts{};
    clock_gettime(cid, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
}  // namespace

int main(int argc, char** argv) {
    const int events = argc > 1 ? std::atoi(argv[1]) : 2000;
    const unsigned workers = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 32;
    const std::string pg_url = argc > 3 ? argv[3] : "";
    const int instances = argc > 4 ? std::max(1, std::atoi(argv[4])) : 1;
    log::set_min_level(log::level::error);

    std::string tmpl = (std::filesystem::temp_directory_path() / "spacehook-bench-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return 1;
    std::filesystem::path dir = tmpl;

    asio::io_context io{1};
    auto guard = asio::make_work_guard(io);
    sim::sim_options so;
    so.fileop_delay = std::chrono::milliseconds(0);
    so.probe_webhook_uri = false;
    so.max_concurrent_deliveries = 64;
    so.request_log_limit = 1000;
    sim::docspace_sim ds(io, so);
    std::thread sim_thread([&] { io.run(); });

    auto user = ds.add_user({.first_name = "Clara", .last_name = "Client", .email = "c@example.com"});
    auto bot = ds.add_user({.first_name = "Bot", .last_name = "", .email = "bot@example.com"});
    ds.add_api_key("sk-bot", bot);
    ds.add_room("Client A", 86193);
    ds.add_folder(86193, "Incoming", 654321);

    config::settings s;
    s.server.listen = "127.0.0.1:0";
    s.server.threads = 1;
    s.database.path = (dir / "spacehook.db").string();
    if (!pg_url.empty()) {
        s.database.url = pg_url;
        s.database.path.clear();
    }
    s.docspace.base_url = ds.base_url();
    s.docspace.api_key = "sk-bot";
    s.docspace.poll_interval_ms = 1;
    s.webhooks.push_back({"/docspace/webhook", {"bench-Secret-1"}});
    s.workers.concurrency = workers;
    notify::channel_settings console;
    console.name = "console";
    s.channels.push_back(console);
    rules::rule r;
    r.name = "invoice-intake";
    r.on = {"file.uploaded"};
    r.when.in_room = "86193";
    r.when.title = rules::title_filter{rules::title_match::prefix, "invoice", false};
    rules::action mv;
    mv.kind = rules::action_kind::move;
    mv.to_folder = "654321";
    rules::action n;
    n.kind = rules::action_kind::notify;
    n.channel = "console";
    n.subject = "Invoice uploaded: {{file.title}}";
    r.actions = {mv, n};
    s.rules.push_back(r);

    std::vector<std::unique_ptr<service::app>> apps;
    for (int i = 0; i < (pg_url.empty() ? 1 : instances); ++i) apps.push_back(std::make_unique<service::app>(s));
    ds.subscribe(fmt::format("http://127.0.0.1:{}/docspace/webhook", apps.front()->port()), "bench-Secret-1", 256);

    // Jobs by state, from whichever database the queue is in.
    auto count = [&]() {
        std::map<store::job_state, std::int64_t> c;
        if (pg_url.empty()) {
            store::database db(s.database.path, {.read_only = true});
            return store::count_by_state(db);
        }
        store::pg::connection conn(pg_url);
        auto r = conn.exec("SELECT state, count(*) FROM jobs GROUP BY state");
        for (int i = 0; i < r.rows(); ++i) c[*store::parse_job_state(r.text(i, 0))] = r.int64(i, 1);
        return c;
    };
    const double sim_cpu0 = thread_cpu_seconds(sim_thread.native_handle());
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < events; ++i) ds.upload(user, 86193, fmt::format("invoice-{:06}.pdf", i), false);
    std::int64_t done = 0;
    while (true) {
        auto c = count();
        done = c[store::job_state::succeeded] + c[store::job_state::dead] + c[store::job_state::skipped];
        if (done >= events) break;
        if (std::chrono::steady_clock::now() - t0 > std::chrono::minutes(5)) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double sim_cpu = thread_cpu_seconds(sim_thread.native_handle()) - sim_cpu0;
    auto c = count();
    std::printf("database: %s, %d instance(s)\n", pg_url.empty() ? "SQLite" : "PostgreSQL", static_cast<int>(apps.size()));
    std::printf("events: %d  workers: %u  wall: %.2f s  throughput: %.0f events/s\n", events, workers, secs, events / secs);
    std::printf("jobs: succeeded %lld, dead %lld, skipped %lld; moves seen by the simulator: %zu files in Incoming\n",
                static_cast<long long>(c[store::job_state::succeeded]), static_cast<long long>(c[store::job_state::dead]), static_cast<long long>(c[store::job_state::skipped]),
                ds.files_in(654321).size());
    std::printf("simulator thread CPU: %.2f s (%.0f%% of wall): %s\n", sim_cpu, 100 * sim_cpu / secs,
                sim_cpu / secs > 0.9 ? "the simulator was the bottleneck" : "the simulator was not the bottleneck");
    for (auto& a : apps) a->stop();
    for (auto& a : apps) a->wait();
    asio::post(io, [&] { ds.stop(); });
    guard.reset();
    sim_thread.join();
    std::filesystem::remove_all(dir);
    return done >= events ? 0 : 1;
}
