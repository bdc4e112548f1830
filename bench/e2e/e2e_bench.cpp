// bench/e2e: what a job costs, first delivery to last job finished, against the in-process DocSpace simulator on
// loopback.
//
//   spacehook_bench_e2e [--events N] [--workers N] [--rate R] [--rule invoice|noop] [--fileop-delay MS]
//                       [--poll-interval MS] [--checkpoint-pages N] [--postgresql URL [--instances N]]
//
// --rule invoice (the default): the invoice recipe (move to Incoming + notify to the log channel). The simulator
//   publishes one file.uploaded per upload (the web UI's chunked upload), spacehook ingests, and its workers read
//   the file and its folder path, move it (PUT fileops/move and the polls it needs) and notify.
//   --rate R publishes R uploads per second, one after another (a modest rate); 0 (the default) publishes them
//   all at once (saturation). --fileop-delay is how long the simulator takes to finish a move (0: the PUT answers
//   finished); --poll-interval is docspace.poll_interval_ms (default: the configuration's default);
//   --checkpoint-pages is SQLite's database.checkpoint_pages (0: SQLite checkpoints inside the commit).
// --rule noop: a rule whose only action is a notify to the log channel, and no DocSpace call. The queue is filled
//   first with N deliveries (N jobs) through the store, then the service starts: the figure is the drain rate,
//   lease to durable outcome, of jobs that do nothing.
// --postgresql URL (an empty database): the queue is there, and `--instances` services share it in this process;
//   the simulator delivers to the first, and every instance's workers lease from the shared queue.
//
// Reported: events/s; spacehook's own CPU per event (this process's CPU minus the simulator's thread and this
// bench's polling thread); the simulator's CPU; delivery-to-effect latency (events.received_at to the job's
// final updated_at) p50/p99/max; DocSpace REST calls per event, as the simulator counted them. The last line is
// `result key=value ...` for bench/run-all.
#include "spacehook/core/asio.hpp"
#include "spacehook/core/log.hpp"
#include "spacehook/core/thread_name.hpp"
#include "spacehook/rules/matcher.hpp"
#include "spacehook/service/app.hpp"
#include "spacehook/service/database.hpp"
#include "spacehook/service/planning.hpp"
#include "spacehook/sim/docspace_sim.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/store/pg.hpp"
#include "spacehook/store/queue.hpp"
#include "spacehook/store/sqlite.hpp"
#include "spacehook/webhook/envelope.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include <pthread.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

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

double process_cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    auto s = [](timeval t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return s(u.ru_utime) + s(u.ru_stime);
}

struct options {
    int events = 2000;
    unsigned workers = 32;
    double rate = 0;
    std::string rule = "invoice";
    int fileop_delay_ms = 0;
    int poll_interval_ms = -1;  // the configuration's default
    int checkpoint_pages = -1;  // likewise
    std::string pg_url;
    int instances = 1;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "spacehook_bench_e2e: %s\nusage: spacehook_bench_e2e [--events N] [--workers N] [--rate R] "
                 "[--rule invoice|noop] [--fileop-delay MS] [--poll-interval MS] [--checkpoint-pages N] "
                 "[--postgresql URL [--instances N]]\n",
                 why);
    std::exit(2);
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) usage(("missing value after " + a).c_str());
        const char* v = argv[++i];
        if (a == "--events") o.events = std::atoi(v);
        else if (a == "--workers") o.workers = static_cast<unsigned>(std::atoi(v));
        else if (a == "--rate") o.rate = std::atof(v);
        else if (a == "--rule") o.rule = v;
        else if (a == "--fileop-delay") o.fileop_delay_ms = std::atoi(v);
        else if (a == "--poll-interval") o.poll_interval_ms = std::atoi(v);
        else if (a == "--checkpoint-pages") o.checkpoint_pages = std::atoi(v);
        else if (a == "--postgresql") o.pg_url = v;
        else if (a == "--instances") o.instances = std::max(1, std::atoi(v));
        else usage(("unknown option " + a).c_str());
    }
    if (o.events < 1 || o.workers < 1) usage("--events and --workers must be at least 1");
    if (o.rule != "invoice" && o.rule != "noop") usage("--rule is invoice or noop");
    return o;
}

rules::rule invoice_rule() {
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
    return r;
}

rules::rule noop_rule() {
    rules::rule r;
    r.name = "noop";
    r.on = {"file.uploaded"};
    rules::action n;
    n.kind = rules::action_kind::notify;
    n.channel = "console";
    n.subject = "{{file.title}}";
    r.actions = {n};
    return r;
}

// A file.uploaded envelope in DocSpace's shape (docs/docspace-protocol.md §2.6), event id `i`.
std::string envelope_body(int i) {
    return fmt::format(
        R"({{"event":{{"id":{0},"createOn":"2026-12-07T09:15:42Z","createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef",)"
        R"("trigger":"file.uploaded","triggerId":256}},"payload":{{"id":{1},"parentId":8410,"folderIdDisplay":8410,)"
        R"("rootId":3,"title":"noop-{1}.pdf","createBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef",)"
        R"("rootFolderType":14,"fileEntryType":2}},"webhook":{{"id":7,"name":"bench","url":"http://127.0.0.1/"}}}})",
        i, 100000 + i);
}

// Fills the queue with `n` deliveries of the no-op rule, 500 per transaction, through the store as ingestion does.
void prefill(const config::settings& s, int n) {
    rules::matcher m(s.rules);
    auto q = service::open_queue(s.database);
    asio::io_context io{1};
    auto fut = asio::co_spawn(
        io,
        [&]() -> awaitable<bool> {
            for (int i = 0; i < n; i += 500) {
                std::vector<store::delivery> batch;
                for (int k = i; k < std::min(n, i + 500); ++k) {
                    auto body = envelope_body(k + 1);
                    auto env = std::get<webhook::envelope>(webhook::parse_envelope(body));
                    batch.push_back(service::delivery_for(m, s, env, std::move(body), "/docspace/webhook", "delivery", 0));
                }
                auto r = co_await q->insert_deliveries(std::move(batch));
                if (!r) {
                    std::fprintf(stderr, "prefill failed: %s\n", r.error().message.c_str());
                    co_return false;
                }
            }
            co_return true;
        },
        asio::use_future);
    io.run();
    if (!fut.get()) std::exit(1);
}

// Every thread's CPU seconds so far (user, system), by thread id (from /proc/self/task), with its name.
struct thread_cpu {
    std::string name;
    double user = 0, system = 0;
};
std::map<int, thread_cpu> threads_cpu() {
    std::map<int, thread_cpu> out;
    const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream stat(e.path() / "stat");
        std::string line;
        std::getline(stat, line);
        const auto close = line.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream rest(line.substr(close + 2));
        std::string field;
        unsigned long utime = 0, stime = 0;
        for (int i = 3; i <= 15 && rest >> field; ++i) {
            if (i == 14) utime = std::stoul(field);
            if (i == 15) stime = std::stoul(field);
        }
        const auto open = line.find('(');
        out[std::stoi(e.path().filename().string())] = {line.substr(open + 1, close - open - 1),
                                                        static_cast<double>(utime) / tick, static_cast<double>(stime) / tick};
    }
    return out;
}

double percentile(std::vector<std::int64_t>& v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return static_cast<double>(v[std::min(i, v.size() - 1)]);
}

}  // namespace

int main(int argc, char** argv) {
    const auto o = parse(argc, argv);
    const bool noop = o.rule == "noop";
    log::set_min_level(log::level::error);

    std::string tmpl = (std::filesystem::temp_directory_path() / "spacehook-bench-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return 1;
    std::filesystem::path dir = tmpl;

    asio::io_context io{1};
    auto guard = asio::make_work_guard(io);
    sim::sim_options so;
    so.fileop_delay = std::chrono::milliseconds(o.fileop_delay_ms);
    so.probe_webhook_uri = false;
    so.max_concurrent_deliveries = 64;
    so.request_log_limit = static_cast<std::size_t>(o.events) * 8 + 100;
    sim::docspace_sim ds(io, so);
    std::thread sim_thread([&] {
        name_this_thread("simulator");
        io.run();
    });

    auto user = ds.add_user({.first_name = "Clara", .last_name = "Client", .email = "c@example.com"});
    auto bot = ds.add_user({.first_name = "Bot", .last_name = "", .email = "bot@example.com"});
    ds.add_api_key("sk-bot", bot);
    ds.add_room("Client A", 86193);
    ds.add_folder(86193, "Incoming", 654321);

    config::settings s;
    s.server.listen = "127.0.0.1:0";
    s.server.threads = 1;
    s.database.path = (dir / "spacehook.db").string();
    if (o.checkpoint_pages >= 0) s.database.checkpoint_pages = o.checkpoint_pages;
    if (!o.pg_url.empty()) {
        s.database.url = o.pg_url;
        s.database.path.clear();
    }
    s.docspace.base_url = ds.base_url();
    s.docspace.api_key = "sk-bot";
    if (o.poll_interval_ms >= 0) s.docspace.poll_interval_ms = o.poll_interval_ms;
    s.webhooks.push_back({"/docspace/webhook", {"bench-Secret-1"}});
    s.workers.concurrency = o.workers;
    notify::channel_settings console;
    console.name = "console";
    s.channels.push_back(console);
    s.rules.push_back(noop ? noop_rule() : invoice_rule());

    if (noop) prefill(s, o.events);

    // Jobs by state, from whichever database the queue is in.
    auto count = [&]() {
        std::map<store::job_state, std::int64_t> c;
        if (o.pg_url.empty()) {
            store::database db(s.database.path, {.read_only = true});
            return store::count_by_state(db);
        }
        store::pg::connection conn(o.pg_url);
        auto r = conn.exec("SELECT state, count(*) FROM jobs GROUP BY state");
        for (int i = 0; i < r.rows(); ++i) c[*store::parse_job_state(r.text(i, 0))] = r.int64(i, 1);
        return c;
    };
    // Delivery-to-effect times (ms) of the finished jobs.
    auto latencies = [&]() {
        const std::string sql =
            "SELECT j.updated_at - e.received_at FROM jobs j JOIN events e ON e.id = j.event_row WHERE j.state = 'succeeded'";
        std::vector<std::int64_t> out;
        if (o.pg_url.empty()) {
            store::database db(s.database.path, {.read_only = true});
            auto st = db.prepare(sql);
            while (st.step()) out.push_back(st.int64(0));
        } else {
            store::pg::connection conn(o.pg_url);
            auto r = conn.exec(sql);
            for (int i = 0; i < r.rows(); ++i) out.push_back(r.int64(i, 0));
        }
        return out;
    };

    const bool show_threads = std::getenv("E2E_THREADS") != nullptr;  // per-thread CPU, to see where it goes
    const auto threads0 = threads_cpu();
    const double cpu0 = process_cpu_seconds();
    const double sim_cpu0 = thread_cpu_seconds(sim_thread.native_handle());
    const double main_cpu0 = thread_cpu_seconds(pthread_self());
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::unique_ptr<service::app>> apps;
    for (int i = 0; i < (o.pg_url.empty() ? 1 : o.instances); ++i) apps.push_back(std::make_unique<service::app>(s));
    ds.subscribe(fmt::format("http://127.0.0.1:{}/docspace/webhook", apps.front()->port()), "bench-Secret-1", 256);
    if (!noop) {
        for (int i = 0; i < o.events; ++i) {
            if (o.rate > 0) std::this_thread::sleep_until(t0 + std::chrono::duration<double>(i / o.rate));
            ds.upload(user, 86193, fmt::format("invoice-{:06}.pdf", i), false);
        }
    }
    // Until every event's job exists (ids count from 1 in a new database) and none is left to run: two index
    // look-ups every 10 ms, on one connection, so that this thread takes little of the CPU it shares.
    {
        const std::string sql =
            "SELECT (SELECT coalesce(max(id), 0) FROM jobs), "
            "(SELECT count(*) FROM jobs WHERE state IN ('queued', 'retrying', 'running'))";
        std::optional<store::database> db;
        std::optional<store::pg::connection> conn;
        auto finished = [&]() {
            std::int64_t made = 0, active = 0;
            if (o.pg_url.empty()) {
                if (!db) db.emplace(s.database.path, store::open_options{.read_only = true});
                auto& st = db->cached(sql);
                st.step();
                made = st.int64(0);
                active = st.int64(1);
                st.reset();
            } else {
                if (!conn) conn.emplace(o.pg_url);
                auto r = conn->exec(sql);
                made = r.int64(0, 0);
                active = r.int64(0, 1);
            }
            return made >= o.events && active == 0;
        };
        while (!finished() && std::chrono::steady_clock::now() - t0 < std::chrono::minutes(5))
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double sim_cpu = thread_cpu_seconds(sim_thread.native_handle()) - sim_cpu0;
    const double main_cpu = thread_cpu_seconds(pthread_self()) - main_cpu0;
    const double own_cpu = process_cpu_seconds() - cpu0 - sim_cpu - main_cpu;

    auto c = count();
    const std::int64_t done = c[store::job_state::succeeded] + c[store::job_state::dead] + c[store::job_state::skipped];
    const std::size_t calls = ds.requests().size();
    auto lat = noop ? std::vector<std::int64_t>{} : latencies();
    const double p50 = percentile(lat, 0.50), p99 = percentile(lat, 0.99), pmax = lat.empty() ? 0 : lat.back();
    const double per_event_us = 1e6 * own_cpu / o.events;
    const double calls_per_event = static_cast<double>(calls) / o.events;

    std::printf("database: %s, %d instance(s); rule: %s; %s\n", o.pg_url.empty() ? "SQLite" : "PostgreSQL",
                static_cast<int>(apps.size()), o.rule.c_str(),
                noop ? "queue filled first, then drained"
                     : (o.rate > 0 ? fmt::format("{:.0f} uploads/s", o.rate) : std::string("all uploads at once")).c_str());
    std::printf("events: %d  workers: %u  fileop delay: %d ms  poll interval: %d ms  wall: %.2f s  throughput: %.0f events/s\n",
                o.events, o.workers, o.fileop_delay_ms, static_cast<int>(s.docspace.poll_interval_ms), secs, o.events / secs);
    std::printf("jobs: succeeded %lld, dead %lld, skipped %lld; files in Incoming: %zu\n",
                static_cast<long long>(c[store::job_state::succeeded]), static_cast<long long>(c[store::job_state::dead]),
                static_cast<long long>(c[store::job_state::skipped]), ds.files_in(654321).size());
    std::printf("spacehook CPU: %.2f s, %.0f us per event; simulator thread CPU: %.2f s (%.0f%% of wall)%s\n", own_cpu,
                per_event_us, sim_cpu, 100 * sim_cpu / secs, sim_cpu / secs > 0.9 ? ": the simulator was the bottleneck" : "");
    if (!noop)
        std::printf("delivery to effect: p50 %.0f ms, p99 %.0f ms, max %.0f ms; DocSpace calls per event: %.2f\n", p50, p99,
                    pmax, calls_per_event);
    std::printf("result rule=%s rate=%.0f events=%d events_per_s=%.0f cpu_us_per_event=%.0f p50_ms=%.0f p99_ms=%.0f "
                "calls_per_event=%.2f done=%lld\n",
                o.rule.c_str(), o.rate, o.events, o.events / secs, per_event_us, p50, p99, calls_per_event,
                static_cast<long long>(done));
    if (show_threads)
        for (const auto& [tid, t] : threads_cpu()) {
            const auto before = threads0.count(tid) ? threads0.at(tid) : thread_cpu{};
            const double user = t.user - before.user, system = t.system - before.system;
            if (user + system >= 0.01) std::printf("thread %d %s: user %.2f s, system %.2f s\n", tid, t.name.c_str(), user, system);
        }
    for (auto& a : apps) a->stop();
    for (auto& a : apps) a->wait();
    asio::post(io, [&] { ds.stop(); });
    guard.reset();
    sim_thread.join();
    std::filesystem::remove_all(dir);
    return done >= o.events ? 0 : 1;
}
