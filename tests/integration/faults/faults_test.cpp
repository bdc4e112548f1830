// Fault-injection soak: uploads go through the invoice recipe (move + SMTP mail) and the copy recipe while
// the DocSpace simulator answers REST calls with seeded 5xx, 429 + Retry-After, resets, answers slower
// than docspace.timeout_ms and dropped answers, and the SMTP sink drops connections mid-DATA. Every job
// must end succeeded or dead with a precise reason, each effect must happen once, attempts must be
// bounded (no hot loop), and retries must wait as the worker's backoff rule says.
//
// SPACEHOOK_SOAK_EVENTS sets the number of uploads (default 60, the CI size), SPACEHOOK_SOAK_SEED the
// fault profile's seed.
#include "e2e_world.hpp"
#include "spacehook/config/load.hpp"
#include "spacehook/core/clock.hpp"
#include "spacehook/core/log.hpp"

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

using namespace spacehook;
using namespace std::chrono_literals;

namespace {

using world = test::e2e_world;

std::int64_t env_int(const char* name, std::int64_t fallback) {
    const char* v = std::getenv(name);
    if (!v || !*v) return fallback;
    char* end = nullptr;
    const long long n = std::strtoll(v, &end, 10);
    return end && *end == '\0' && n > 0 ? n : fallback;
}

// One attempt as the worker logged it (job.finished), with the time the line arrived.
struct attempt_log {
    std::int64_t job = 0;
    int attempt = 0;
    std::string state;   // succeeded, retrying, dead, skipped
    std::string reason;
    std::int64_t ms = 0;  // how long the attempt ran
    std::optional<std::int64_t> retry_in_ms;
    std::int64_t logged_ms = 0;  // Unix ms of the line ("ts", taken just after `ms` was measured)
    std::int64_t started_ms() const { return logged_ms - ms; }
};

// "2025-06-11T12:00:00.123Z" (log.hpp's ts) as Unix ms.
std::optional<std::int64_t> parse_ts(std::string_view ts) {
    std::tm tm{};
    int ms = 0;
    if (std::sscanf(std::string(ts).c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                    &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return std::nullopt;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}

// Captures the worker's job.finished lines and any line that means trouble (a crashed worker, a lost
// lease, an outcome that could not be recorded); everything else is dropped. Restores the previous sink.
class log_capture {
public:
    log_capture() {
        previous_ = log::set_sink([this](log::level, std::string_view line) { on_line(line); });
    }
    ~log_capture() { log::set_sink(std::move(previous_)); }
    log_capture(const log_capture&) = delete;
    log_capture& operator=(const log_capture&) = delete;

    std::vector<attempt_log> attempts() const {
        std::lock_guard lock(mu_);
        return attempts_;
    }
    std::vector<std::string> trouble() const {
        std::lock_guard lock(mu_);
        return trouble_;
    }

private:
    void on_line(std::string_view line) {
        static constexpr std::string_view bad[] = {"\"worker.crashed\"", "\"job.record_failed\"", "\"job.lease_lost\"",
                                                   "\"jobs.leases_expired\"", "\"worker.lease_failed\"",
                                                   "\"worker.reaper_failed\""};
        const auto now = clock::now_ms();
        if (line.find("\"job.finished\"") != std::string_view::npos) {
            boost::system::error_code ec;
            auto v = boost::json::parse(line, ec);
            if (ec || !v.is_object()) return;
            const auto& o = v.as_object();
            attempt_log a;
            a.job = o.at("job").to_number<std::int64_t>();
            a.attempt = o.at("attempt").to_number<int>();
            a.state = std::string(o.at("state").as_string());
            if (auto* r = o.if_contains("reason")) a.reason = std::string(r->as_string());
            a.ms = o.at("ms").to_number<std::int64_t>();
            if (auto* r = o.if_contains("retry_in_ms")) a.retry_in_ms = r->to_number<std::int64_t>();
            a.logged_ms = parse_ts(o.at("ts").as_string()).value_or(now);
            std::lock_guard lock(mu_);
            attempts_.push_back(std::move(a));
            return;
        }
        for (auto b : bad)
            if (line.find(b) != std::string_view::npos) {
                std::lock_guard lock(mu_);
                trouble_.emplace_back(line);
            }
    }

    mutable std::mutex mu_;
    std::vector<attempt_log> attempts_;
    std::vector<std::string> trouble_;
    log::sink_fn previous_;
};

// A dead job's reason names what failed: an HTTP status, a transport failure (timeout, reset, EOF), a
// fileop timeout or an SMTP failure, after the worker's "gave up after N attempts: " when it ran out.
bool precise_reason(const std::string& r) {
    static const std::regex shape(
        R"(^(gave up after \d+ attempts: )?(step \d \((move|copy|notify)\): )?)"
        R"((DocSpace [a-z.]+ answered \d{3}: .+|DocSpace [a-z.]+ failed: .+|manager-mail: .+|)"
        R"(the (move|copy) operation vanished.+)$)");
    if (r.empty() || r.find("unknown") != std::string::npos || r.find("no value") != std::string::npos ||
        r.find("internal error") != std::string::npos)
        return false;
    return std::regex_match(r, shape);
}

std::string file_of(const store::job& j) {
    const std::string prefix = "file:";
    return j.file_key && j.file_key->rfind(prefix, 0) == 0 ? j.file_key->substr(prefix.size()) : std::string();
}

// Requests of the simulator's log that name file `id`: GET files/file/{id}[/...] and PUT fileops with the
// id in fileIds.
bool names_file(const sim::request_record& r, const std::string& id) {
    if (r.method == "GET") return r.target == "/api/2.0/files/file/" + id;
    if (r.method == "PUT" && r.target.rfind("/api/2.0/files/fileops/", 0) == 0)
        return r.body.find("\"fileIds\":[" + id + "]") != std::string::npos;
    return false;
}

template <class Map>
std::string histogram(const Map& m) {
    std::string out;
    for (const auto& [k, v] : m) out += fmt::format("{}{}:{}", out.empty() ? "" : " ", k, v);
    return out;
}

}  // namespace

TEST_SUITE("faults") {
    TEST_CASE("the e2e world's config_json loads back into the same settings") {
        test::world_options o;
        o.start_app = false;
        world w({}, o);
        auto loaded = config::load(w.config_json(), [](std::string_view) { return std::nullopt; });
        for (const auto& p : loaded.problems) MESSAGE(p.path << ": " << p.message);
        REQUIRE(loaded.ok());
        const auto& s = loaded.value;
        CHECK(s.database.path == w.settings.database.path);
        CHECK(s.docspace.base_url == w.ds->base_url());
        CHECK(s.workers.backoff_max_ms == w.settings.workers.backoff_max_ms);
        REQUIRE(s.channels.size() == 2);
        REQUIRE(s.rules.size() == 4);
        CHECK(s.rules[0].when.in_room == std::to_string(world::client_room));
        CHECK(s.rules[0].when.title->pattern == "invoice");
        CHECK(s.rules[0].actions.at(1).body == w.settings.rules[0].actions.at(1).body);
        CHECK(s.rules[1].actions.at(0).to_folder == std::to_string(world::internal_room));
        CHECK(s.rules[3].actions.at(0).text == "Need Review");
        CHECK(w.app == nullptr);
    }

    TEST_CASE("under 5xx, 429, resets, slow answers and SMTP drops every job ends succeeded or dead, effects once") {
        const auto n_events = env_int("SPACEHOOK_SOAK_EVENTS", 60);
        const auto seed = static_cast<std::uint64_t>(env_int("SPACEHOOK_SOAK_SEED", 20250611));
        constexpr int max_attempts = 8;
        constexpr std::int64_t backoff_initial = 20, backoff_max = 200, retry_after_s = 1;

        log_capture logs;  // before the world: the app logs from its first job; restored after it stops
        test::world_options o;
        o.sink.drop_after_data_bytes = 64;
        o.sink.drop_times = static_cast<int>(std::max<std::int64_t>(3, n_events / 20));
        world w(
            [](config::settings& s) {
                s.docspace.timeout_ms = 200;
                s.docspace.poll_interval_ms = 10;
                s.docspace.fileop_timeout_ms = 10000;
                s.workers.concurrency = 8;
                s.workers.max_attempts = max_attempts;
                s.workers.backoff_initial_ms = backoff_initial;
                s.workers.backoff_max_ms = backoff_max;
                s.channels[0].timeout_ms = 2000;
            },
            o);

        sim::fault_profile p;
        p.p_5xx = 0.30;
        p.p_429 = 0.05;
        p.p_reset = 0.04;
        p.p_slow = 0.04;
        p.p_drop = 0.02;
        p.retry_after_seconds = static_cast<int>(retry_after_s);
        p.slow_delay = 400ms;  // twice docspace.timeout_ms
        p.seed = seed;
        p.path_prefix = "/api/2.0/";
        w.ds->set_fault_profile(p);

        // Even uploads are invoices into the client room (every other one through the simple API, which
        // publishes file.created + file.uploaded: two jobs for one file), odd ones go to the compliance room.
        struct upload {
            std::string id, title;
            bool invoice = false, simple = false;
        };
        std::vector<upload> uploads;
        std::size_t expected_jobs = 0;
        const auto t0 = std::chrono::steady_clock::now();
        for (std::int64_t i = 0; i < n_events; ++i) {
            upload u;
            u.invoice = i % 2 == 0;
            u.simple = i % 4 == 0;
            u.title = u.invoice ? fmt::format("invoice-{:05}.pdf", i) : fmt::format("report-{:05}.docx", i);
            u.id = std::to_string(w.ds->upload(w.client_user, u.invoice ? world::client_room : world::compliance,
                                               u.title, u.simple));
            expected_jobs += u.simple ? 2 : 1;
            uploads.push_back(std::move(u));
        }

        const auto budget = std::chrono::milliseconds(60'000 + n_events * 300);
        // Every expected job exists and none is queued, retrying or running (checked every 50 ms: the
        // count is a query on the database).
        auto last_check = std::chrono::steady_clock::now() - 1s;
        const bool finished = test::poll_until(
            [&] {
                if (std::chrono::steady_clock::now() - last_check < 50ms) return false;
                last_check = std::chrono::steady_clock::now();
                std::int64_t all = 0;
                auto s = w.job_states();
                for (const auto& [state, n] : s) all += n;
                return all == static_cast<std::int64_t>(expected_jobs) && s["queued"] + s["retrying"] + s["running"] == 0;
            },
            budget);
        const auto elapsed_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
        w.ds->clear_fault_profile();
        const auto jobs = w.jobs();
        if (!finished) {
            std::map<std::string, int> states;
            for (const auto& j : jobs) ++states[std::string(store::to_string(j.state))];
            FAIL_CHECK("jobs did not all end within " << budget.count() << " ms: " << jobs.size() << " of "
                                                      << expected_jobs << " jobs, states " << histogram(states));
        }
        REQUIRE(jobs.size() == expected_jobs);
        std::int64_t total_attempts = 0;
        for (const auto& j : jobs) total_attempts += j.attempts;
        // Every attempt was logged (the line follows the commit).
        CHECK(test::poll_until([&] { return static_cast<std::int64_t>(logs.attempts().size()) == total_attempts; }, 5s));
        const auto attempts = logs.attempts();
        const auto requests = w.ds->requests();
        const auto fileops = w.ds->completed_fileops();
        const auto faults = w.ds->injected_faults();
        const auto mails = w.sink->messages();
        for (const auto& t : logs.trouble()) FAIL_CHECK("worker trouble: " << t);

        std::map<std::string, const upload*> by_file;
        for (const auto& u : uploads) by_file[u.id] = &u;
        std::map<std::string, std::vector<const store::job*>> jobs_of_file;
        std::map<std::int64_t, std::vector<attempt_log>> log_of_job;
        for (const auto& a : attempts) log_of_job[a.job].push_back(a);
        for (auto& [id, v] : log_of_job)
            std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.attempt < b.attempt; });

        // ---- every job ends succeeded or dead (or skipped as the duplicate event of a simple upload) -----
        std::map<std::string, int> states;
        std::map<int, int> attempts_hist;
        for (const auto& j : jobs) {
            ++states[std::string(store::to_string(j.state))];
            ++attempts_hist[j.attempts];
            const auto file = file_of(j);
            REQUIRE_MESSAGE(by_file.count(file), "job " << j.id << " has file key " << j.file_key.value_or("-"));
            jobs_of_file[file].push_back(&j);
            const auto& u = *by_file[file];
            CHECK(j.rule == (u.invoice ? "invoice-intake" : "copy-to-internal"));
            CHECK_MESSAGE(j.attempts >= 1, "job " << j.id);
            CHECK_MESSAGE(j.attempts <= max_attempts, "job " << j.id << " ran " << j.attempts << " attempts");
            if (j.state == store::job_state::dead) {
                REQUIRE(j.last_error);
                CHECK_MESSAGE(precise_reason(*j.last_error), "job " << j.id << " dead with: " << *j.last_error);
            } else if (j.state == store::job_state::skipped) {
                CHECK_MESSAGE(u.simple, "job " << j.id << " skipped: " << j.last_error.value_or(""));
                CHECK_MESSAGE(j.last_error.value_or("").find("an earlier event moved it") != std::string::npos,
                              "job " << j.id << " skipped: " << j.last_error.value_or(""));
            } else {
                CHECK_MESSAGE(j.state == store::job_state::succeeded, "job " << j.id << " ended " << j.state);
            }
            CHECK_MESSAGE(static_cast<int>(log_of_job[j.id].size()) == j.attempts,
                          "job " << j.id << ": " << log_of_job[j.id].size() << " attempts logged, " << j.attempts
                                 << " counted");
        }

        // ---- each effect happened once -----------------------------------------------------------------
        std::map<std::string, int> moved, copied, other_effects;
        for (const auto& op : fileops)
            for (const auto& e : op.effects) {
                const auto id = std::to_string(e.file_id);
                if (op.kind == "move" && e.outcome == "moved") ++moved[id];
                else if (op.kind == "copy" && e.outcome == "copied") ++copied[id];
                else if (e.outcome != "unchanged" && e.outcome != "skipped") ++other_effects[id + " " + e.outcome];
            }
        CHECK_MESSAGE(other_effects.empty(), "unexpected fileop effects: " << histogram(other_effects));
        std::map<std::string, int> mails_by_id;
        for (const auto& m : mails) ++mails_by_id[m.header("Message-ID")];
        for (const auto& [mid, count] : mails_by_id) CHECK_MESSAGE(count == 1, mid << " was mailed " << count << " times");
        const auto internal = w.ds->files_in(world::internal_room);
        std::size_t invoices_done = 0, copies_done = 0;
        for (const auto& u : uploads) {
            const auto& js = jobs_of_file[u.id];
            const bool ok = std::any_of(js.begin(), js.end(), [](auto* j) { return j->state == store::job_state::succeeded; });
            if (u.invoice) {
                int mails_for_file = 0;
                for (auto* j : js) {
                    const auto mid = fmt::format("<spacehook-job-{}-step-2@spacehook>", j->id);
                    const int sent = mails_by_id.count(mid) ? mails_by_id[mid] : 0;
                    mails_for_file += sent;
                    CHECK_MESSAGE(sent == (j->state == store::job_state::succeeded ? 1 : 0), "job " << j->id << " (" << j->state
                                                                                    << ") mailed " << sent << " times");
                }
                CHECK_MESSAGE(moved[u.id] <= 1, u.title << " moved " << moved[u.id] << " times");
                CHECK_MESSAGE(mails_for_file <= 1, u.title << " mailed " << mails_for_file << " times");
                if (ok) {
                    ++invoices_done;
                    CHECK_MESSAGE(moved[u.id] == 1, u.title << " moved " << moved[u.id] << " times");
                    CHECK(w.ds->file(std::stoll(u.id))->folder_id == world::incoming);
                }
            } else {
                const auto in_dest = std::count_if(internal.begin(), internal.end(), [&](const auto& f) {
                    return f.title.rfind(u.title.substr(0, u.title.size() - 5), 0) == 0;  // "report-00001" + any suffix
                });
                CHECK_MESSAGE(copied[u.id] <= 1, u.title << " copied " << copied[u.id] << " times");
                CHECK_MESSAGE(in_dest <= 1, u.title << " is " << in_dest << " times in the internal room");
                if (ok) {
                    ++copies_done;
                    CHECK_MESSAGE(copied[u.id] == 1, u.title << " copied " << copied[u.id] << " times");
                    CHECK_MESSAGE(in_dest == 1, u.title << " is " << in_dest << " times in the internal room");
                }
                CHECK(w.ds->file(std::stoll(u.id))->folder_id == world::compliance);  // the original stays
            }
        }

        // ---- no hot loop: requests and SMTP sessions are bounded by the attempts made --------------------
        std::int64_t polls = 0, fileop_puts = 0, other_rest = 0, invoice_attempts = 0;
        for (const auto& r : requests) {
            if (r.target.rfind("/api/2.0/", 0) != 0) continue;
            if (r.method == "GET" && r.target.rfind("/api/2.0/files/fileops", 0) == 0) ++polls;
            else if (r.method == "PUT" && r.target.rfind("/api/2.0/files/fileops/", 0) == 0) ++fileop_puts;
            else ++other_rest;
        }
        for (const auto& j : jobs)
            if (j.rule == "invoice-intake") invoice_attempts += j.attempts;
        // Per attempt at most: people/@self, files/file, folder path, people/{id}, the fileop PUT and one
        // more files/file after a vanished op. Polls per operation are bounded by fileop_timeout_ms (10 ms
        // doubling to 4 s within 10 s: at most 12).
        constexpr std::int64_t calls_per_attempt = 6, polls_per_op = 12;
        CHECK(total_attempts <= static_cast<std::int64_t>(jobs.size()) * max_attempts);
        CHECK(other_rest + fileop_puts <= total_attempts * calls_per_attempt);
        CHECK(polls <= fileop_puts * polls_per_op);
        CHECK(static_cast<std::int64_t>(requests.size()) <=
              static_cast<std::int64_t>(jobs.size()) * max_attempts * (calls_per_attempt + polls_per_op));
        CHECK(static_cast<std::int64_t>(w.sink->connections()) <= invoice_attempts);

        // ---- backoff: the gap between a job's attempts, from the simulator's timestamps -------------------
        // pool.cpp + backoff.cpp: after attempt k fails the job is due after
        //   delay = uniform(initial, min(max, initial * 2^(k-1))), then max(delay, min(Retry-After, max)),
        // so every gap is >= initial, every retry_in_ms <= max, and a 429 with Retry-After: 1 s gets
        // min(1000, backoff_max_ms) = 200 ms here: the worker caps Retry-After at backoff_max_ms.
        const std::int64_t retry_after_floor = std::min(retry_after_s * 1000, backoff_max);
        std::int64_t gaps = 0, gaps_after_429 = 0, min_gap = INT64_MAX, max_gap = 0, sum_gap = 0;
        // Buckets of the measured gaps (ms, by lower bound), and per failed attempt number the mean delay the
        // worker chose and the idle time until the next attempt started (from the log: start of k+1 minus
        // the moment k's outcome was logged).
        std::map<std::int64_t, int> gap_hist;
        std::map<int, std::pair<std::int64_t, int>> delay_by_attempt, idle_by_attempt;
        auto bucket = [](std::int64_t ms) -> std::int64_t {
            for (std::int64_t b : {2000, 1000, 500, 200, 100, 50})
                if (ms >= b) return b;
            return 0;
        };
        std::string shown_timeline;
        int shown_attempts = 0;
        for (const auto& j : jobs) {
            const auto& log = log_of_job[j.id];
            for (const auto& a : log) {
                if (a.state != "retrying") continue;
                REQUIRE(a.retry_in_ms);
                CHECK(*a.retry_in_ms >= backoff_initial);
                CHECK(*a.retry_in_ms <= backoff_max);
                // Retry-After (1000 ms) is above backoff_max_ms here, so a 429 is retried after exactly the cap.
                if (a.reason.find("answered 429") != std::string::npos) CHECK(*a.retry_in_ms == retry_after_floor);
                CHECK_MESSAGE(precise_reason(a.reason), "job " << a.job << " attempt " << a.attempt << ": " << a.reason);
                auto& d = delay_by_attempt[a.attempt];
                d.first += *a.retry_in_ms;
                ++d.second;
            }
            for (std::size_t k = 0; k + 1 < log.size(); ++k) {
                auto& idle = idle_by_attempt[log[k].attempt];
                idle.first += log[k + 1].started_ms() - log[k].logged_ms;
                ++idle.second;
            }
            if (j.attempts < 3 || static_cast<int>(log.size()) != j.attempts) continue;
            // Attribute this file's requests to attempts by the attempts' start times (ts - ms of the log line,
            // never earlier than the true start, later by the time between measuring ms and stamping ts). A
            // request of attempt k arrives before k's outcome is decided, at least retry_in_ms(k) before attempt
            // k+1 starts, so a tolerance of retry_in_ms(k) - 2 cannot move one of k's requests into k+1, and
            // absorbs up to that much lateness of the start estimate.
            const auto file = file_of(j);
            std::vector<std::vector<std::int64_t>> at(log.size());
            const auto first = log.front().started_ms() - 5, last = log.back().logged_ms;
            auto boundary = [&](std::size_t k) {  // attempt k+1 (0-based k) starts here, tolerance included
                return log[k].started_ms() - std::max<std::int64_t>(log[k - 1].retry_in_ms.value_or(0) - 2, 0);
            };
            std::string trace;  // shown when a gap check fails
            for (const auto& a : log)
                trace += fmt::format("\n  attempt {}: started {} logged {} ({} ms) {} retry_in {}: {}", a.attempt,
                                     a.started_ms(), a.logged_ms, a.ms, a.state, a.retry_in_ms.value_or(-1), a.reason);
            for (const auto& r : requests) {
                if (r.at_ms < first || r.at_ms > last || !names_file(r, file)) continue;
                std::size_t k = 0;
                while (k + 1 < log.size() && r.at_ms >= boundary(k + 1)) ++k;
                at[k].push_back(r.at_ms);
                trace += fmt::format("\n  request at {} -> attempt {}: {} {} {} {}", r.at_ms, k + 1, r.method, r.target,
                                     r.status, r.fault);
            }
            std::string timeline = fmt::format("job {} ({}):", j.id, j.rule);
            for (std::size_t k = 0; k + 1 < log.size(); ++k) {
                timeline += fmt::format(" #{} {} -> retry in {} ms;", k + 1,
                                        log[k].reason.substr(0, log[k].reason.find(':')), log[k].retry_in_ms.value_or(-1));
                if (at[k].empty() || at[k + 1].empty()) continue;
                const auto gap = *std::min_element(at[k + 1].begin(), at[k + 1].end()) -
                                 *std::max_element(at[k].begin(), at[k].end());
                ++gaps;
                sum_gap += gap;
                min_gap = std::min(min_gap, gap);
                max_gap = std::max(max_gap, gap);
                ++gap_hist[bucket(gap)];
                CHECK_MESSAGE(gap >= backoff_initial, "job " << j.id << " attempt " << k + 2 << " came " << gap
                                                             << " ms after attempt " << k + 1 << trace);
                CHECK_MESSAGE(gap >= log[k].retry_in_ms.value_or(0) - 1,
                              "job " << j.id << " attempt " << k + 2 << " came " << gap << " ms after attempt " << k + 1
                                     << ", retry_in_ms was " << log[k].retry_in_ms.value_or(0) << trace);
                if (log[k].reason.find("answered 429") != std::string::npos) {
                    ++gaps_after_429;
                    CHECK_MESSAGE(gap >= retry_after_floor, "job " << j.id << ": " << gap << " ms after a 429" << trace);
                }
            }
            timeline += fmt::format(" #{} {}", log.size(), log.back().state);
            if (j.attempts > shown_attempts) {
                shown_attempts = j.attempts;
                shown_timeline = timeline;
            }
        }
        if (n_events >= 40) CHECK(gaps > 0);  // with 40+ uploads some job needs 3+ attempts

        std::map<std::string, int> dead_reasons;
        for (const auto& j : jobs)
            if (j.state == store::job_state::dead) {
                auto r = j.last_error.value_or("");
                if (auto p = r.find(": "); r.rfind("gave up", 0) == 0 && p != std::string::npos) r = r.substr(p + 2);
                r = std::regex_replace(r, std::regex(R"(\d{4,})"), "N");
                ++dead_reasons[r.substr(0, 70)];
            }
        std::ostringstream summary;
        summary << fmt::format(
            "soak: {} uploads, {} jobs: {} | attempts histogram {} (total {}) | injected {} of {} REST draws: "
            "5xx {}, 429 {}, reset {}, slow {}, drop {} | SMTP sessions {}, drops {} | mails {}, moves {} of {} "
            "invoices, copies {} of {} | REST requests {} (polls {}, fileop PUTs {}) | gaps measured {} "
            "(after 429: {}), min {} ms, mean {} ms, max {} ms, by lower bound in ms {} | elapsed {} ms, seed {}",
            n_events, jobs.size(), histogram(states), histogram(attempts_hist), total_attempts, faults.total(),
            faults.draws, faults.server_error, faults.rate_limited, faults.reset, faults.slow, faults.dropped,
            w.sink->connections(), o.sink.drop_times, mails.size(), invoices_done,
            (n_events + 1) / 2, copies_done, n_events / 2, requests.size(), polls, fileop_puts, gaps, gaps_after_429,
            gaps ? min_gap : 0, gaps ? sum_gap / gaps : 0, max_gap, histogram(gap_hist), elapsed_ms, seed);
        MESSAGE(summary.str());
        std::string backoff;
        for (const auto& [k, d] : delay_by_attempt) {
            const auto& idle = idle_by_attempt[k];
            backoff += fmt::format("{}after #{}: delay {} ms, idle {} ms (n={})", backoff.empty() ? "" : "; ", k,
                                   d.first / d.second, idle.second ? idle.first / idle.second : 0, d.second);
        }
        MESSAGE("backoff by failed attempt (means): " << backoff);
        MESSAGE("longest timeline: " << shown_timeline);
        if (!dead_reasons.empty()) MESSAGE("dead reasons: " << histogram(dead_reasons));
    }
}
