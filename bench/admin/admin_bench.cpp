// bench/admin: what the admin UI's store calls cost on a big table (docs/admin-ui.md, "How fast").
//
//   spacehook_bench_admin [--sizes=10k,1M] [--dir=DIR] [--runs=5]
//
// For each N it fills a fresh SQLite file (the production schema, migrated by the store) with N events of
// ~700 bytes and one job each: 97% succeeded, 3% queued, and 10 dead ones spread through the table (with a
// "403" error); ten events carry a title "invoice-special-<i>.pdf", the rest "report-<i>.docx". Then it runs
// each call of store::admin (the connection the admin UI uses), alone and as one admin API page asks for it
// (at most 100k ids below the cursor), --runs times and prints the median and the
// slowest, in milliseconds, as one markdown table. The fill is not measured.
#include "spacehook/store/admin.hpp"
#include "spacehook/store/migrate.hpp"
#include "spacehook/store/sqlite.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

using namespace spacehook;

namespace {

std::int64_t parse_size(const std::string& s) {
    std::int64_t mult = 1;
    std::string digits = s;
    if (!s.empty() && (s.back() == 'k' || s.back() == 'K')) mult = 1000, digits.pop_back();
    if (!s.empty() && (s.back() == 'M' || s.back() == 'm')) mult = 1000000, digits.pop_back();
    return std::stoll(digits) * mult;
}

void fill(const std::string& path, std::int64_t n, std::int64_t now) {
    store::database db(path, {.create = true});
    store::migrate(db);
    db.exec("PRAGMA synchronous=OFF");
    store::transaction tx(db);
    auto ev = db.prepare(
        "INSERT INTO events(id, webhook_id, event_id, trigger, received_at, body, path, content_key, source) "
        "VALUES(?1, '1', ?1, 'file.uploaded', ?2, CAST(?3 AS BLOB), '/docspace/webhook', NULL, 'delivery')");
    auto job = db.prepare(
        "INSERT INTO jobs(id, event_row, rule, state, attempts, max_attempts, run_at, last_error, created_at, "
        "updated_at, file_key) VALUES(?1, ?1, ?2, ?3, 1, 10, ?4, ?5, ?4, ?4, ?6)");
    const std::int64_t dead_every = std::max<std::int64_t>(n / 10, 1);
    const std::string padding(420, 'x');
    for (std::int64_t i = 1; i <= n; ++i) {
        const std::int64_t at = now - (n - i) * 10;  // one every 10 ms, the newest now
        const bool special = i % dead_every == dead_every / 2;
        const std::string title = special ? fmt::format("invoice-special-{}.pdf", i) : fmt::format("report-{}.docx", i);
        ev.bind(1, i);
        ev.bind(2, at);
        ev.bind(3, fmt::format(R"({{"event":{{"id":{0},"trigger":"file.uploaded"}},"payload":{{"id":{0},"title":"{1}",)"
                               R"("folderId":86193,"note":"{2}"}},"webhook":{{"id":1}}}})",
                               i, title, padding));
        ev.step();
        ev.reset();
        const bool dead = i % dead_every == 0;
        const bool queued = !dead && i % 33 == 0;
        job.bind(1, i);
        job.bind(2, fmt::format("rule-{}", i % 5));
        job.bind(3, dead ? "dead" : queued ? "queued" : "succeeded");
        job.bind(4, at);
        if (dead) job.bind(5, "step 1 (move): DocSpace files.fileops.move answered 403: Access denied");
        else job.bind(5, std::nullopt);
        job.bind(6, fmt::format("file:{}", i));
        job.step();
        job.reset();
        if (i % 200000 == 0) std::fprintf(stderr, "filled %lld of %lld\n", static_cast<long long>(i), static_cast<long long>(n));
    }
    tx.commit();
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

struct timing {
    double median_ms = 0, max_ms = 0;
    std::int64_t rows = 0;
};

timing measure(int runs, const std::function<std::int64_t()>& call) {
    std::vector<double> ms;
    std::int64_t rows = 0;
    for (int r = 0; r < runs; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        rows = call();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    return {ms[ms.size() / 2], ms.back(), rows};
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> sizes = {"10k", "1M"};
    std::string dir = "/var/tmp";
    int runs = 5;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a.starts_with("--sizes=")) {
            sizes.clear();
            std::string rest = a.substr(8);
            for (std::size_t p = 0; p != std::string::npos;) {
                auto c = rest.find(',', p);
                sizes.push_back(rest.substr(p, c == std::string::npos ? c : c - p));
                p = c == std::string::npos ? c : c + 1;
            }
        } else if (a.starts_with("--dir=")) {
            dir = a.substr(6);
        } else if (a.starts_with("--runs=")) {
            runs = std::stoi(a.substr(7));
        } else {
            std::fprintf(stderr, "usage: spacehook_bench_admin [--sizes=10k,1M] [--dir=DIR] [--runs=5]\n");
            return 2;
        }
    }
    std::printf("| jobs | call | rows | median ms | max ms |\n|---|---|---|---|---|\n");
    for (const auto& size : sizes) {
        const auto n = parse_size(size);
        const auto path = fmt::format("{}/spacehook-admin-bench-{}.db", dir, n);
        std::filesystem::remove(path);
        const std::int64_t now = 1'800'000'000'000;
        std::fprintf(stderr, "filling %s with %lld jobs\n", path.c_str(), static_cast<long long>(n));
        fill(path, n, now);
        auto db = store::open_sqlite_admin(path);
        auto page = [&](store::job_filter f) {
            return [&db, f] { return static_cast<std::int64_t>(db->list_jobs(f).size()); };
        };
        store::job_filter first;
        first.limit = 50;
        store::job_filter deep = first;
        deep.before_id = 100;
        store::job_filter queued = first;
        queued.state = store::job_state::queued;
        store::job_filter dead = first;
        dead.state = store::job_state::dead;
        store::job_filter title = first;
        title.title = "invoice-special";
        store::job_filter error = first;
        error.error = "403";
        // What the admin API asks for one page: the 100k ids below the cursor at most.
        store::job_filter title_window = title;
        title_window.before_id = n + 1;
        title_window.after_id = std::max<std::int64_t>(0, n - 100000);
        store::job_filter dead_window = dead;
        dead_window.before_id = title_window.before_id;
        dead_window.after_id = title_window.after_id;
        store::job_filter since = first;
        since.since_ms = now - 3600 * 1000;
        since.rule = "rule-3";
        struct row {
            const char* name;
            std::function<std::int64_t()> call;
        };
        std::vector<row> rows = {
            {"jobs: newest page (50)", page(first)},
            {"jobs: oldest page (before id 100)", page(deep)},
            {"jobs: state=queued (3%)", page(queued)},
            {"jobs: state=dead (10 jobs)", page(dead)},
            {"jobs: title contains (10 jobs)", page(title)},
            {"jobs: error contains (10 jobs)", page(error)},
            {"jobs: rule + last hour", page(since)},
            {"jobs/count: all", [&] { return db->count_jobs({}); }},
            {"jobs/count: state=dead", [&] { return db->count_jobs(dead); }},
            {"events: newest page (50)", [&] { return static_cast<std::int64_t>(db->list_events({.limit = 50}).size()); }},
            {"jobs: title contains, one API page (100k ids)", page(title_window)},
            {"jobs: state=dead, one API page (100k ids)", page(dead_window)},
            {"max job id (each API page's start)", [&] { return db->max_job_id(); }},
            {"stats: the overview's (hour and day)",
             [&] { return static_cast<std::int64_t>(db->stats(now, {{300000, 12}, {3600000, 24}}).windows.size()); }},
            {"last delivery of a path", [&] { return db->last_delivery("/docspace/webhook", now - 30LL * 86400000).has_value() ? 1 : 0; }},
            {"rules: jobs by rule and state", [&] { return static_cast<std::int64_t>(db->rule_counts().size()); }},
        };
        for (const auto& r : rows) {
            auto t = measure(runs, r.call);
            std::printf("| %s | %s | %lld | %.2f | %.2f |\n", size.c_str(), r.name, static_cast<long long>(t.rows), t.median_ms, t.max_ms);
            std::fflush(stdout);
        }
        db.reset();
        std::filesystem::remove(path);
        std::filesystem::remove(path + "-wal");
        std::filesystem::remove(path + "-shm");
    }
    return 0;
}
