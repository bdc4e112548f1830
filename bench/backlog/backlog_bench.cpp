// bench/backlog: what enqueueing and leasing cost when N jobs are already queued (N = 10k, 100k, 1M).
//
//   spacehook_bench_backlog [--sizes=10k,100k,1M] [--enqueue=10000] [--inflight=64] [--leases=10000]
//                           [--hot=10000] [--blocked-leases=1000] [--budget=60] [--dir=DIR] [--keep]
//                           [--fill-batch=50000] [--seed=1]
//
// For each N it builds a fresh SQLite file with the store library itself (migrate, then insert_delivery for N
// parsed ~1.5 KB file.updated/file.uploaded envelopes, one job each, file ids spread over N/4 files, all due,
// committed --fill-batch deliveries per transaction, in a forked child with its own allocator settings: the
// fill is not measured). Then, through a store::writer
// (the production connection: WAL, synchronous=FULL, group commit of up to 512 tasks), it measures:
//
//  (a) enqueue: --enqueue more deliveries, each one writer task running insert_delivery as the ingest path
//      does, with --inflight of them outstanding at a time (like concurrent HTTP connections). Reported:
//      deliveries/s, the commit batch size the writer formed (tasks per commit), the time inside
//      insert_delivery (the part that can grow with N) and the submit-to-committed latency. Measured twice:
//      alone, and again (after the spread leases) while one worker leases and finishes jobs back to back on
//      the same writer, as in production, where a lease's cost delays the deliveries of its batch. No
//      delivery is submitted after --budget seconds.
//  (b) lease: single worker, each lease_next in its own writer task (own commit) followed by finish_job in
//      another, as the worker pool does. Reported: the time inside lease_next (the query) and the lease's
//      round trip including its commit, p50/p99/max. Three shapes:
//        spread   the backlog's own jobs: many distinct file keys;
//        hot      --hot jobs of one file key placed at the head of the queue (oldest run_at), leased one
//                 after the other (the per-file FIFO check on a long chain);
//        blocked  another --hot jobs of one file key at the head while that file's first job is running (a
//                 second worker's view: every lease must step over the blocked jobs).
//      Each shape stops after its count or --budget seconds, whichever comes first; the count done is shown.
//  (c) EXPLAIN QUERY PLAN of the statements the store prepared on a connection (read back from SQLite, so
//      they are the production SQL text), with a verdict on whether the lease walks jobs_due in order.
//  (d) the file size (database + WAL) at the end, and the cost of the metrics scrape's queries
//      (count_by_state, next_due) on a read-only connection.
//
// One table line per N at the end (markdown). Progress goes to stderr.
//
//   spacehook_bench_backlog --idle-spin [--spin-workers=8] [--spin-queued=1] [--spin-seconds=5] [--dir=DIR]
//
// A separate check of the worker pool (libs/worker) itself: one file's first job is running (leased by
// someone else for an hour) and --spin-queued more jobs of that file are queued and due, so nothing can be
// leased. It runs the real worker::pool with --spin-workers workers for --spin-seconds and reports how many
// writer tasks (lease attempts) per second the idle pool makes and the process's CPU. An idle pool should
// poll about once a second per worker.
#include "spacehook/core/clock.hpp"
#include "spacehook/core/log.hpp"
#include "spacehook/rules/matcher.hpp"
#include "spacehook/service/planning.hpp"
#include "spacehook/store/events.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/store/queue.hpp"
#include "spacehook/store/migrate.hpp"
#include "spacehook/store/sqlite.hpp"
#include "spacehook/store/writer.hpp"
#include "spacehook/webhook/envelope.hpp"
#include "spacehook/worker/pool.hpp"
#include "spacehook/worker/runtime.hpp"

#include <boost/asio/io_context.hpp>

#include <sqlite3.h>

#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace spacehook;
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

namespace {

struct options {
    std::vector<std::int64_t> sizes{10'000, 100'000, 1'000'000};
    int enqueue = 10'000;
    int inflight = 64;
    int leases = 10'000;
    int hot = 10'000;
    int blocked_leases = 1'000;
    double budget_s = 60;
    std::string dir;
    bool keep = false;
    int fill_batch = 50'000;
    unsigned seed = 1;
    bool idle_spin = false;
    unsigned spin_workers = 8;
    int spin_queued = 1;
    double spin_seconds = 5;
};

double us_since(steady::time_point t) { return std::chrono::duration<double, std::micro>(steady::now() - t).count(); }
double s_since(steady::time_point t) { return std::chrono::duration<double>(steady::now() - t).count(); }

struct dist {
    std::size_t n = 0;
    double p50 = 0, p99 = 0, max = 0, mean = 0;
};

dist summarise(std::vector<double> v) {
    dist d;
    d.n = v.size();
    if (v.empty()) return d;
    std::sort(v.begin(), v.end());
    auto rank = [&](double q) {
        auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
        return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
    };
    d.p50 = rank(0.50);
    d.p99 = rank(0.99);
    d.max = v.back();
    double sum = 0;
    for (double x : v) sum += x;
    d.mean = sum / static_cast<double>(v.size());
    return d;
}

// "1.2 ms", "850 µs": values given in microseconds.
std::string fmt_us(double us) {
    if (us >= 1e6) return fmt::format("{:.2f} s", us / 1e6);
    if (us >= 1e4) return fmt::format("{:.0f} ms", us / 1e3);
    if (us >= 1e3) return fmt::format("{:.1f} ms", us / 1e3);
    return fmt::format("{:.0f} µs", us);
}
std::string fmt_dist(const dist& d) {
    if (d.n == 0) return "-";
    return fmt::format("{} / {} / {}", fmt_us(d.p50), fmt_us(d.p99), fmt_us(d.max));
}
std::string fmt_count(std::int64_t n) {
    if (n >= 1'000'000 && n % 1'000'000 == 0) return fmt::format("{}M", n / 1'000'000);
    if (n >= 1'000 && n % 1'000 == 0) return fmt::format("{}k", n / 1'000);
    return std::to_string(n);
}
std::string fmt_bytes(std::uintmax_t b) {
    if (b >= (1ull << 30)) return fmt::format("{:.2f} GiB", static_cast<double>(b) / (1ull << 30));
    return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1ull << 20));
}

std::string iso_seconds(std::int64_t unix_s) {
    return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(static_cast<std::time_t>(unix_s)));
}

// ---- realistic deliveries ----------------------------------------------------------------------------

// A retried file.updated / file.uploaded envelope of DocSpace v3.1+ (docs/docspace-protocol.md §2.2, §2.5, §2.6):
// compact, ASCII-escaped, with the retry fields and a 502 page in lastFailureContent, which puts it at
// about 1.5 KB.
std::string make_body(std::int64_t event_id, std::int64_t file_id, std::int64_t folder_id, bool uploaded,
                      std::int64_t event_s, const std::string& user) {
    const auto on = iso_seconds(event_s);
    const auto created = iso_seconds(event_s - 3600);
    return fmt::format(
        R"({{"event":{{"id":{0},"createOn":"{1}","createBy":"{2}","trigger":"{3}","triggerId":{4}}},)"
        R"("payload":{{"id":{5},"parentId":{6},"folderIdDisplay":{6},"rootId":3,"originId":{6},"originRoomId":86193,)"
        R"("originTitle":"Incoming","originRoomTitle":"Client A \u0026 Partners","securityByUsers":{{}},)"
        R"("title":"Invoice-2025-{5:08}-Kunde \u00DCbersicht.pdf","access":1,"shared":true,"sharedBy":"{2}",)"
        R"("createBy":"{2}","modifiedBy":"{2}","createOn":"{7}","modifiedOn":"{1}","rootFolderType":14,)"
        R"("rootCreateBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","parentRoomType":6,)"
        R"("parentRoomCreatedBy":"66faa6e4-f133-11ea-b126-00ffeec8b4ef","fileEntryType":2}},)"
        R"("webhook":{{"id":7,"name":"automation","url":"https://hooks.example.com/docspace/webhook?tenant=acme",)"
        R"("triggers":["file.uploaded","file.updated","file.moved","file.copied"],)"
        R"("lastFailureOn":"{1}","lastFailureContent":"Response status code does not indicate success: 502 (Bad )"
        R"(Gateway). \u003Chtml\u003E\r\n\u003Chead\u003E\u003Ctitle\u003E502 Bad Gateway\u003C/title\u003E)"
        R"(\u003C/head\u003E\r\n\u003Cbody\u003E\r\n\u003Ccenter\u003E\u003Ch1\u003E502 Bad Gateway\u003C/h1\u003E)"
        R"(\u003C/center\u003E\r\n\u003Chr\u003E\u003Ccenter\u003Enginx\u003C/center\u003E\r\n\u003C/body\u003E)"
        R"(\r\n\u003C/html\u003E\r\n","lastSuccessOn":"{7}","retryCount":1,"retryOn":"{1}"}}}})",
        event_id, on, user, uploaded ? "file.uploaded" : "file.updated", uploaded ? 256 : 512, file_id, folder_id,
        created);
}

// Deliveries as the ingest path builds them: the body parsed by webhook::parse_envelope, the jobs planned by
// service::plan_jobs against the rules (one rule matches each, so one job per delivery), the keys by the
// service's own functions.
class generator {
public:
    generator(unsigned seed, std::int64_t files) : rng_(seed), files_(std::max<std::int64_t>(files, 1000)) {
        rules::rule r;
        r.name = "invoice-intake";
        r.on = {"file.uploaded", "file.updated"};
        rules::action mv;
        mv.kind = rules::action_kind::move;
        mv.to_folder = "654321";
        rules::action n;
        n.kind = rules::action_kind::notify;
        n.channel = "console";
        n.subject = "Invoice: {{file.title}}";
        r.actions = {mv, n};
        rules_.push_back(r);
        matcher_.emplace(std::span<const rules::rule>(rules_));
        for (int i = 0; i < 50; ++i)
            users_.push_back(fmt::format("{:08x}-f133-11ea-b126-{:012x}", 0x66faa6e4u + i, 0xffeec8b4efu + i));
    }

    // A delivery for a random file (or `file_id` when given), received (and so due) at `received_at`.
    store::delivery next(std::int64_t received_at, std::optional<std::int64_t> file_id = std::nullopt) {
        const std::int64_t id = ++event_id_;
        const std::int64_t file = file_id ? *file_id : 100'000 + static_cast<std::int64_t>(rng_() % files_);
        const std::int64_t folder = 86'200 + file % 97;
        const bool uploaded = rng_() % 10 < 3;
        // createOn is unique per event, so no delivery is taken for a manual re-send (docs/docspace-protocol.md §2.7).
        auto body = make_body(id, file, folder, uploaded, 1'750'000'000 + id, users_[rng_() % users_.size()]);
        auto parsed = webhook::parse_envelope(body);
        if (auto* why = std::get_if<std::string>(&parsed)) throw std::runtime_error("generated envelope rejected: " + *why);
        const auto& env = std::get<webhook::envelope>(parsed);
        store::delivery d;
        d.path = "/docspace/webhook";
        d.webhook_id = env.webhook_id;
        d.event_id = env.event_id;
        d.trigger = env.trigger;
        d.content_key = service::content_key_for(env);
        d.received_at = received_at;
        d.max_attempts = 10;
        d.jobs = service::plan_jobs(*matcher_, env);
        if (d.jobs.size() != 1 || !d.jobs[0].file_key) throw std::runtime_error("expected one job with a file key");
        body_bytes_ += body.size();
        ++bodies_;
        d.body = std::move(body);
        return d;
    }

    void skip(std::int64_t deliveries) { event_id_ += deliveries; }
    double mean_body_bytes() const { return bodies_ ? static_cast<double>(body_bytes_) / static_cast<double>(bodies_) : 0; }

private:
    std::mt19937_64 rng_;
    std::uint64_t files_;
    std::vector<rules::rule> rules_;
    std::optional<rules::matcher> matcher_;
    std::vector<std::string> users_;
    std::int64_t event_id_ = 0;
    std::uint64_t body_bytes_ = 0, bodies_ = 0;
};

// ---- query plans ---------------------------------------------------------------------------------------

struct plan_report {
    std::string text;
    bool lease_ordered = false;  // the lease walks jobs_due in run_at order (stops at the first leasable job)
    bool next_due_indexed = false;
};

// Runs the store's statements once on a connection inside a transaction that is rolled back, then reads
// the SQL of every statement SQLite holds prepared for it and prints its EXPLAIN QUERY PLAN.
plan_report explain_store_queries(const std::string& path, generator& gen) {
    store::database db(path);
    {
        store::transaction tx(db);  // rolled back
        store::lease_next(db, 0, 0);
        store::next_due(db);
        store::finish_job(db, {0, 1}, {}, 0);
        store::release_expired(db, 0);
        store::count_by_state(db);
        auto d = gen.next(0);
        store::insert_delivery(db, d);
    }
    plan_report r;
    for (sqlite3_stmt* s = sqlite3_next_stmt(db.handle(), nullptr); s; s = sqlite3_next_stmt(db.handle(), s)) {
        std::string sql = sqlite3_sql(s);
        if (sql.rfind("EXPLAIN", 0) == 0) continue;
        auto eqp = db.prepare("EXPLAIN QUERY PLAN " + sql);
        std::map<std::int64_t, int> depth;
        std::string lines;
        bool uses_due = false, temp_sort = false, scans_jobs = false;
        while (eqp.step()) {
            auto id = eqp.int64(0), parent = eqp.int64(1);
            auto detail = eqp.text(3);
            int d = parent == 0 ? 0 : depth[parent] + 1;
            depth[id] = d;
            lines += fmt::format("    {}{}\n", std::string(static_cast<std::size_t>(2 * d), ' '), detail);
            if (detail.find("INDEX jobs_due") != std::string::npos) uses_due = true;
            if (detail.find("TEMP B-TREE") != std::string::npos) temp_sort = true;
            if (detail.rfind("SCAN jobs", 0) == 0 || detail.rfind("SCAN j ", 0) == 0 || detail.rfind("SCAN k ", 0) == 0)
                scans_jobs = true;
        }
        std::string verdict;
        if (sql.find("INDEXED BY jobs_due") != std::string::npos && sql.find("ORDER BY j.run_at") != std::string::npos) {
            r.lease_ordered = uses_due && !temp_sort && !scans_jobs;
            verdict = r.lease_ordered ? "lease: walks jobs_due in run_at order and stops at the first leasable job"
                                      : "lease: does NOT walk jobs_due in order: it reads every candidate row, then sorts";
        } else if (sql.find("min(run_at)") != std::string::npos) {
            r.next_due_indexed = uses_due;
            verdict = uses_due ? "next_due: min() from jobs_due (one index probe)"
                               : "next_due: NOT from jobs_due: reads every queued/retrying row";
        } else if (scans_jobs) {
            verdict = "full scan of jobs";
        }
        std::string one_line = sql.size() > 160 ? sql.substr(0, 157) + "..." : sql;
        r.text += fmt::format("  {}\n{}", one_line, lines);
        if (!verdict.empty()) r.text += fmt::format("    => {}\n", verdict);
    }
    return r;
}

// ---- the measured parts ----------------------------------------------------------------------------------

struct enqueue_result {
    int count = 0;  // deliveries committed (fewer than asked when the budget ran out)
    double seconds = 0;
    double per_commit = 0;
    std::uint64_t max_batch = 0;
    dist insert_us, ack_us;
};

// `count` deliveries through writer::async_run with `inflight` outstanding: the ingest path's write. No new
// delivery is submitted after `budget_s`.
enqueue_result run_enqueue(store::writer& w, generator& gen, int count, int inflight, double budget_s) {
    std::vector<store::delivery> ds;
    ds.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) ds.push_back(gen.next(0));
    std::vector<double> insert_us(static_cast<std::size_t>(count)), ack_us(static_cast<std::size_t>(count));
    std::mutex m;
    std::condition_variable cv;
    int outstanding = 0, done = 0;
    std::exception_ptr failure;
    const auto batches0 = w.stats().batches.load(), tasks0 = w.stats().tasks.load();
    const auto t0 = steady::now();
    int submitted = 0;
    for (int i = 0; i < count && s_since(t0) < budget_s; ++i, ++submitted) {
        {
            std::unique_lock lock(m);
            cv.wait(lock, [&] { return outstanding < inflight; });
            ++outstanding;
        }
        auto& d = ds[static_cast<std::size_t>(i)];
        d.received_at = clock::now_ms();  // as ingest does, just before the write
        const auto submitted = steady::now();
        w.async_run(
            [&d, &insert_us, i](store::database& db) {
                const auto a = steady::now();
                auto r = store::insert_delivery(db, d);
                insert_us[static_cast<std::size_t>(i)] = us_since(a);
                if (r.outcome != store::insert_outcome::accepted || r.jobs_created != 1)
                    throw std::runtime_error("delivery not accepted with one job");
            },
            [&, i, submitted](std::exception_ptr e) {
                ack_us[static_cast<std::size_t>(i)] = us_since(submitted);
                std::lock_guard lock(m);
                --outstanding;
                ++done;
                if (e && !failure) failure = e;
                cv.notify_all();
            });
    }
    {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return done == submitted; });
    }
    insert_us.resize(static_cast<std::size_t>(submitted));
    ack_us.resize(static_cast<std::size_t>(submitted));
    enqueue_result r;
    r.count = submitted;
    r.seconds = s_since(t0);
    if (failure) std::rethrow_exception(failure);
    const auto batches = w.stats().batches.load() - batches0, tasks = w.stats().tasks.load() - tasks0;
    r.per_commit = batches ? static_cast<double>(tasks) / static_cast<double>(batches) : 0;
    r.max_batch = w.stats().max_batch.load();
    r.insert_us = summarise(std::move(insert_us));
    r.ack_us = summarise(std::move(ack_us));
    return r;
}

struct lease_result {
    int done = 0;
    int wrong = 0;  // leases that did not take the expected kind of job
    int empty = 0;  // lease_next found nothing
    double seconds = 0;
    dist stmt_us;   // inside lease_next
    dist round_us;  // lease task submitted -> committed
    dist finish_us; // inside finish_job
};

// Single worker: lease (own commit), then finish (own commit), up to `count` times or `budget_s`.
template <class Check>
lease_result run_leases(store::writer& w, int count, double budget_s, Check expected) {
    std::vector<double> stmt, round, finish;
    lease_result r;
    const auto t0 = steady::now();
    for (int i = 0; i < count && s_since(t0) < budget_s; ++i) {
        std::optional<store::job> job;
        double stmt_us = 0, finish_us = 0;
        const auto a = steady::now();
        w.run_sync([&](store::database& db) {
            const auto b = steady::now();
            job = store::lease_next(db, clock::now_ms(), 60'000);
            stmt_us = us_since(b);
        });
        round.push_back(us_since(a));
        stmt.push_back(stmt_us);
        if (!job) {
            ++r.empty;
            break;
        }
        if (!expected(*job)) ++r.wrong;
        w.run_sync([&](store::database& db) {
            const auto b = steady::now();
            if (!store::finish_job(db, {job->id, job->attempts}, {}, clock::now_ms()))
                throw std::runtime_error("lease lost");
            finish_us = us_since(b);
        });
        finish.push_back(finish_us);
        ++r.done;
    }
    r.seconds = s_since(t0);
    r.stmt_us = summarise(std::move(stmt));
    r.round_us = summarise(std::move(round));
    r.finish_us = summarise(std::move(finish));
    return r;
}

// `count` deliveries of one file, due before everything already queued (received at `first_ms` + k), in
// one untimed transaction.
void insert_hot_block(store::writer& w, generator& gen, int count, std::int64_t file_id, std::int64_t first_ms) {
    w.run_sync([&](store::database& db) {
        for (int k = 0; k < count; ++k) {
            auto d = gen.next(first_ms + k, file_id);
            if (store::insert_delivery(db, d).jobs_created != 1) throw std::runtime_error("hot delivery not queued");
        }
    });
}

// N deliveries received (and due) at t0, t0 + 1 ms, ..., committed fill_batch per transaction.
void fill(const std::string& path, generator& gen, std::int64_t n, std::int64_t t0, int fill_batch) {
    store::database db(path);
    store::migrate(db);
    // This connection only: a big page cache keeps the large transactions from spilling into the WAL. The
    // measured connections (the writer's, the read-only one) keep SQLite's defaults, as production does.
    db.exec("PRAGMA cache_size=-524288");
    // glibc gave the heap top back to the kernel after nearly every transaction-sized free, and on this VM
    // each shrink is a TLB-flush IPI (40% of the fill's time). This process only: mallopt also turns off
    // glibc's dynamic thresholds, which would change what the measured part costs.
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 64 << 20);
    const auto started = steady::now();
    std::int64_t i = 0;
    while (i < n) {
        store::transaction tx(db);
        for (int k = 0; k < fill_batch && i < n; ++k, ++i) store::insert_delivery(db, gen.next(t0 + i));
        tx.commit();
        if (i % 100'000 == 0 || i == n) fmt::print(stderr, "[N={}]   {} deliveries, {:.0f} s\n", fmt_count(n), i, s_since(started));
    }
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

std::uintmax_t bytes_of(const fs::path& p) {
    std::error_code ec;
    auto n = fs::file_size(p, ec);
    return ec ? 0 : n;
}

struct size_result {
    std::int64_t n = 0;
    double fill_s = 0;
    std::uintmax_t bytes_after_fill = 0, bytes_end = 0;
    enqueue_result enq;
    lease_result spread, hot, blocked;
    enqueue_result enq_leasing;  // enqueue while one worker leases and finishes jobs back to back
    int leases_during = 0;
    double count_by_state_us = 0, next_due_us = 0;
    std::int64_t queued_end = 0;
    bool lease_ordered = false, next_due_indexed = false;
    double mean_body = 0;
};

size_result run_size(const options& o, std::int64_t n) {
    size_result res;
    res.n = n;
    const fs::path db_path = fs::path(o.dir) / fmt::format("backlog-{}.db", fmt_count(n));
    for (auto suffix : {"", "-wal", "-shm"}) fs::remove(db_path.string() + suffix);
    generator gen(o.seed, n / 4);

    // Fill (not measured): N due deliveries, one job each, oldest first, in a child process so that its
    // allocator settings (below) do not carry over into the measured part.
    const std::int64_t t0 = clock::now_ms() - 86'400'000 - n - 8LL * o.hot;
    {
        fmt::print(stderr, "[N={}] filling {}\n", fmt_count(n), db_path.string());
        const auto started = steady::now();
        std::fflush(stdout);
        std::fflush(stderr);
        const pid_t child = fork();
        if (child < 0) throw std::runtime_error("fork failed");
        if (child == 0) {
            int rc = 0;
            try {
                fill(db_path.string(), gen, n, t0, o.fill_batch);
            } catch (const std::exception& e) {
                fmt::print(stderr, "fill failed: {}\n", e.what());
                rc = 1;
            }
            std::fflush(stderr);
            _exit(rc);  // no destructors: this process has none of the parent's other threads
        }
        int status = 0;
        if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            throw std::runtime_error("the fill failed");
        gen.skip(n);  // the child used the event ids 1..n
        res.fill_s = s_since(started);
    }
    res.bytes_after_fill = bytes_of(db_path);
    fmt::print(stderr, "[N={}] filled in {:.1f} s ({:.0f} deliveries/s), {}\n", fmt_count(n), res.fill_s,
               static_cast<double>(n) / res.fill_s, fmt_bytes(res.bytes_after_fill));

    // (c) The plans, on the filled file.
    auto plans = explain_store_queries(db_path.string(), gen);
    res.lease_ordered = plans.lease_ordered;
    res.next_due_indexed = plans.next_due_indexed;
    fmt::print("\n## N = {}: EXPLAIN QUERY PLAN of the store's statements\n{}", fmt_count(n), plans.text);
    std::fflush(stdout);

    {
        store::writer w({.path = db_path.string()});

        // (a) Enqueue.
        fmt::print(stderr, "[N={}] enqueue {} with {} in flight\n", fmt_count(n), o.enqueue, o.inflight);
        res.enq = run_enqueue(w, gen, o.enqueue, o.inflight, o.budget_s);

        // (b) Leases. The spread shape takes the backlog's oldest jobs.
        fmt::print(stderr, "[N={}] lease: spread\n", fmt_count(n));
        res.spread = run_leases(w, o.leases, o.budget_s, [](const store::job&) { return true; });

        // (a) again, with one worker leasing on the same writer, as in production: each lease is a writer
        // task, so its cost is paid by the deliveries committed in the same batch.
        fmt::print(stderr, "[N={}] enqueue {} with {} in flight while a worker leases\n", fmt_count(n), o.enqueue,
                   o.inflight);
        {
            std::atomic<bool> stop{false};
            std::exception_ptr failed;
            std::thread worker([&] {
                try {
                    while (!stop.load()) res.leases_during += run_leases(w, 1, 1e9, [](const store::job&) { return true; }).done;
                } catch (...) {
                    failed = std::current_exception();
                }
            });
            try {
                res.enq_leasing = run_enqueue(w, gen, o.enqueue, o.inflight, o.budget_s);
            } catch (...) {
                stop = true;
                worker.join();
                throw;
            }
            stop = true;
            worker.join();
            if (failed) std::rethrow_exception(failed);
        }

        const std::int64_t hot_file = 9'000'001, blocked_file = 9'000'002;
        const std::string hot_key = fmt::format("file:{}", hot_file), blocked_key = fmt::format("file:{}", blocked_file);
        fmt::print(stderr, "[N={}] lease: hot ({} jobs of {} at the head)\n", fmt_count(n), o.hot, hot_key);
        insert_hot_block(w, gen, o.hot, hot_file, t0 - 4LL * o.hot);
        res.hot = run_leases(w, std::min(o.leases, o.hot), o.budget_s,
                             [&](const store::job& j) { return j.file_key == hot_key; });

        fmt::print(stderr, "[N={}] lease: blocked ({} jobs of {} at the head, its first one running)\n", fmt_count(n),
                   o.hot, blocked_key);
        insert_hot_block(w, gen, o.hot, blocked_file, t0 - 8LL * o.hot);
        std::optional<store::job> held;
        w.run_sync([&](store::database& db) { held = store::lease_next(db, clock::now_ms(), 3'600'000); });
        if (!held || held->file_key != blocked_key) throw std::runtime_error("the blocked file's first job was not leased first");
        res.blocked = run_leases(w, o.blocked_leases, o.budget_s,
                                 [&](const store::job& j) { return j.file_key != blocked_key; });
        w.run_sync([&](store::database& db) {
            store::finish_job(db, {held->id, held->attempts}, {}, clock::now_ms());
        });
        w.stop();
    }

    // (d) Size and the metrics scrape's queries.
    {
        store::database ro(db_path.string(), {.read_only = true});
        auto a = steady::now();
        auto counts = store::count_by_state(ro);
        res.count_by_state_us = us_since(a);
        a = steady::now();
        store::next_due(ro);
        res.next_due_us = us_since(a);
        res.queued_end = counts[store::job_state::queued] + counts[store::job_state::retrying];
    }
    res.bytes_end = bytes_of(db_path) + bytes_of(db_path.string() + "-wal");
    res.mean_body = gen.mean_body_bytes();
    if (!o.keep)
        for (auto suffix : {"", "-wal", "-shm"}) fs::remove(db_path.string() + suffix);
    return res;
}

double process_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

int run_idle_spin(const options& o) {
    const fs::path db_path = fs::path(o.dir) / "idle-spin.db";
    for (auto suffix : {"", "-wal", "-shm"}) fs::remove(db_path.string() + suffix);
    auto s = std::make_shared<config::settings>();
    s->database.path = db_path.string();
    s->docspace.base_url = "http://127.0.0.1:9";  // never called: no job can be leased
    s->docspace.api_key = "unused";
    s->workers.concurrency = o.spin_workers;
    notify::channel_settings console;
    console.name = "console";
    s->channels.push_back(console);
    rules::rule r;
    r.name = "invoice-intake";
    r.on = {"file.uploaded", "file.updated"};
    rules::action n;
    n.kind = rules::action_kind::notify;
    n.channel = "console";
    n.subject = "Invoice: {{file.title}}";
    r.actions = {n};
    s->rules.push_back(r);

    store::writer w({.path = db_path.string()});
    generator gen(o.seed, 1000);
    const std::int64_t file = 9'000'003;
    const auto now = clock::now_ms();
    w.run_sync([&](store::database& db) {
        for (int k = 0; k <= o.spin_queued; ++k) store::insert_delivery(db, gen.next(now - 10'000 + k, file));
    });
    std::optional<store::job> held;
    w.run_sync([&](store::database& db) { held = store::lease_next(db, clock::now_ms(), 3'600'000); });
    if (!held) throw std::runtime_error("could not lease the file's first job");

    metrics::registry registry;
    boost::asio::io_context ctx{1};
    auto queue = store::make_sqlite_queue(w);
    worker::pool pool(ctx, *queue, registry, worker::build_runtime(s));
    pool.start();
    std::thread io([&] { ctx.run(); });
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const auto b0 = w.stats().batches.load(), k0 = w.stats().tasks.load();
    const auto c0 = process_cpu_seconds();
    const auto t0 = steady::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(o.spin_seconds));
    const double secs = s_since(t0);
    const auto batches = w.stats().batches.load() - b0, tasks = w.stats().tasks.load() - k0;
    const double cpu = process_cpu_seconds() - c0;
    pool.stop();
    const auto deadline = steady::now() + std::chrono::seconds(10);
    while (!pool.stopped() && steady::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ctx.stop();
    io.join();
    std::int64_t queued = 0;
    w.run_sync([&](store::database& db) { queued = store::count_by_state(db)[store::job_state::queued]; });
    w.stop();
    fmt::print("idle pool: {} workers; 1 job running, {} queued and due behind it (same file), nothing leasable\n",
               o.spin_workers, queued);
    fmt::print("writer tasks (lease attempts and the reaper's): {:.0f}/s in {:.0f} transactions/s over {:.1f} s; process CPU "
               "{:.0f}% of one core\n",
               static_cast<double>(tasks) / secs, static_cast<double>(batches) / secs, secs, 100 * cpu / secs);
    fmt::print("an idle pool polls about once a second per worker: <= {} tasks/s expected\n", o.spin_workers + 1);
    if (!o.keep)
        for (auto suffix : {"", "-wal", "-shm"}) fs::remove(db_path.string() + suffix);
    return 0;
}

std::vector<std::int64_t> parse_sizes(const std::string& s) {
    std::vector<std::int64_t> out;
    std::size_t pos = 0;
    while (pos <= s.size()) {
        auto comma = s.find(',', pos);
        auto item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        if (!item.empty()) {
            std::int64_t mult = 1;
            char last = item.back();
            if (last == 'k' || last == 'K') mult = 1'000;
            if (last == 'm' || last == 'M') mult = 1'000'000;
            if (mult != 1) item.pop_back();
            out.push_back(std::stoll(item) * mult);
        }
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    return out;
}

void usage() {
    std::fprintf(stderr,
                 "usage: spacehook_bench_backlog [--sizes=10k,100k,1M] [--enqueue=10000] [--inflight=64] [--leases=10000]\n"
                 "         [--hot=10000] [--blocked-leases=1000] [--budget=60] [--dir=DIR] [--keep] [--fill-batch=50000]\n"
                 "         [--seed=1]\n"
                 "       spacehook_bench_backlog --idle-spin [--spin-workers=8] [--spin-queued=1] [--spin-seconds=5] [--dir=DIR]\n");
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto eq = a.find('=');
        std::string key = a.substr(0, eq), val = eq == std::string::npos ? "" : a.substr(eq + 1);
        try {
            if (key == "--sizes") o.sizes = parse_sizes(val);
            else if (key == "--enqueue") o.enqueue = std::stoi(val);
            else if (key == "--inflight") o.inflight = std::stoi(val);
            else if (key == "--leases") o.leases = std::stoi(val);
            else if (key == "--hot") o.hot = std::stoi(val);
            else if (key == "--blocked-leases") o.blocked_leases = std::stoi(val);
            else if (key == "--budget") o.budget_s = std::stod(val);
            else if (key == "--dir") o.dir = val;
            else if (key == "--keep") o.keep = true;
            else if (key == "--fill-batch") o.fill_batch = std::stoi(val);
            else if (key == "--seed") o.seed = static_cast<unsigned>(std::stoul(val));
            else if (key == "--idle-spin") o.idle_spin = true;
            else if (key == "--spin-workers") o.spin_workers = static_cast<unsigned>(std::stoul(val));
            else if (key == "--spin-queued") o.spin_queued = std::stoi(val);
            else if (key == "--spin-seconds") o.spin_seconds = std::stod(val);
            else {
                usage();
                return 2;
            }
        } catch (const std::exception&) {
            usage();
            return 2;
        }
    }
    if (o.sizes.empty() || o.enqueue < 1 || o.inflight < 1 || o.leases < 1 || o.hot < 2 || o.blocked_leases < 1 ||
        o.fill_batch < 1) {
        usage();
        return 2;
    }
    bool own_dir = false;
    if (o.dir.empty()) {
        std::string tmpl = (fs::temp_directory_path() / "spacehook-backlog-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) return 1;
        o.dir = tmpl;
        own_dir = !o.keep;
    }
    fs::create_directories(o.dir);
    log::set_min_level(log::level::error);
    if (o.idle_spin) {
        int rc = 1;
        try {
            rc = run_idle_spin(o);
        } catch (const std::exception& e) {
            fmt::print(stderr, "failed: {}\n", e.what());
        }
        if (own_dir) fs::remove_all(o.dir);
        return rc;
    }
    fmt::print("spacehook_bench_backlog: sizes {}, enqueue {} ({} in flight), leases {} per shape (blocked: {}), hot block "
               "{}, budget {:.0f} s per shape, dir {}, SQLite {}\n",
               fmt::join(o.sizes, ","), o.enqueue, o.inflight, o.leases, o.blocked_leases, o.hot, o.budget_s, o.dir,
               sqlite3_libversion());

    std::vector<size_result> results;
    const auto started = steady::now();
    try {
        for (auto n : o.sizes) {
            const auto t = steady::now();
            results.push_back(run_size(o, n));
            fmt::print(stderr, "[N={}] done in {:.0f} s\n", fmt_count(n), s_since(t));
        }
    } catch (const std::exception& e) {
        fmt::print(stderr, "failed: {}\n", e.what());
        return 1;
    }
    if (own_dir) fs::remove_all(o.dir);

    fmt::print("\n## Enqueue: {} deliveries through the writer, {} in flight, WAL + synchronous=FULL; mean body {:.0f} "
               "bytes\n\n",
               o.enqueue, o.inflight, results.empty() ? 0.0 : results.front().mean_body);
    fmt::print("| queued jobs N | file after fill | fill (untimed part) | deliveries/s | deliveries per commit (max) | "
               "insert_delivery p50 / p99 / max | submit to committed p50 / p99 / max | with a leasing worker: "
               "deliveries/s | with a leasing worker: submit to committed p50 / p99 / max | leases meanwhile |\n");
    fmt::print("|---|---|---|---|---|---|---|---|---|---|\n");
    for (const auto& r : results)
        fmt::print("| {} | {} | {:.0f} s ({:.0f}/s) | {:.0f} | {:.1f} ({}) | {} | {} | {:.0f}{} | {} | {} |\n",
                   fmt_count(r.n), fmt_bytes(r.bytes_after_fill), r.fill_s, static_cast<double>(r.n) / r.fill_s,
                   static_cast<double>(r.enq.count) / r.enq.seconds, r.enq.per_commit, r.enq.max_batch,
                   fmt_dist(r.enq.insert_us), fmt_dist(r.enq.ack_us),
                   static_cast<double>(r.enq_leasing.count) / r.enq_leasing.seconds,
                   r.enq_leasing.count < o.enqueue ? fmt::format(" ({} in {:.0f} s)", r.enq_leasing.count, r.enq_leasing.seconds)
                                                   : std::string(),
                   fmt_dist(r.enq_leasing.ack_us), r.leases_during);

    fmt::print("\n## Lease: single worker, lease_next (own commit) then finish_job (own commit); p50 / p99 / max\n\n");
    fmt::print("| queued jobs N | plan: lease ordered by jobs_due | spread: leases done | spread: lease_next | spread: "
               "lease round trip with commit | hot key: done | hot key: lease_next | blocked: done | blocked: lease_next "
               "| finish_job (spread) | count_by_state / next_due | file at end |\n");
    fmt::print("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (const auto& r : results) {
        auto done = [](const lease_result& l) {
            std::string s = fmt::format("{} in {:.1f} s", l.done, l.seconds);
            if (l.wrong) s += fmt::format(" ({} WRONG)", l.wrong);
            if (l.empty) s += " (ran dry)";
            return s;
        };
        fmt::print("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} |\n", fmt_count(r.n),
                   r.lease_ordered ? "yes" : "**no**", done(r.spread), fmt_dist(r.spread.stmt_us), fmt_dist(r.spread.round_us),
                   done(r.hot), fmt_dist(r.hot.stmt_us), done(r.blocked), fmt_dist(r.blocked.stmt_us),
                   fmt_dist(r.spread.finish_us), fmt_us(r.count_by_state_us), fmt_us(r.next_due_us), fmt_bytes(r.bytes_end));
    }
    // One line per size for bench/run-all: p50s in µs.
    for (const auto& r : results)
        fmt::print("result n={} insert_p50_us={:.0f} lease_p50_us={:.0f} leasing_deliveries_per_s={:.0f} ordered={}\n", r.n,
                   r.enq.insert_us.p50, r.spread.stmt_us.p50,
                   static_cast<double>(r.enq_leasing.count) / r.enq_leasing.seconds, r.lease_ordered ? 1 : 0);
    fmt::print("\ntotal {:.0f} s\n", s_since(started));
    return 0;
}
