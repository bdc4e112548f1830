#include "spacehook/worker/pool.hpp"

#include "spacehook/core/clock.hpp"
#include "spacehook/core/log.hpp"
#include "spacehook/docspace/client.hpp"
#include "spacehook/rules/ancestry_cache.hpp"
#include "spacehook/store/events.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/webhook/envelope.hpp"
#include "spacehook/worker/backoff.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>

namespace spacehook::worker {
namespace {

using config::action_kind;

constexpr std::string_view timed_out_message = "timed out waiting for fileop";

// How a step or a whole job ended.
enum class result_kind { done, skipped, retry, dead };

struct result {
    result_kind kind = result_kind::done;
    std::string detail;
    std::optional<std::int64_t> retry_after_ms;
};

result done(std::string d) { return {result_kind::done, std::move(d), {}}; }
result skipped(std::string d) { return {result_kind::skipped, std::move(d), {}}; }
result dead(std::string d) { return {result_kind::dead, std::move(d), {}}; }
result retry(std::string d, std::optional<std::int64_t> after = {}) { return {result_kind::retry, std::move(d), after}; }

// A DocSpace failure as a job result: permanent answers (400/403/404/...) end the job, everything else
// (network, 401, 429, 5xx) is retried.
result from_api(const docspace::api_error& e) {
    if (e.permanent()) return dead(e.describe());
    return retry(e.describe(), e.retry_after_ms);
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// Everything known about the job's event while it runs.
struct job_context {
    const store::job* job = nullptr;
    std::int64_t lease_until = 0;  // of the lease (job->id, job->attempts) this worker holds
    webhook::envelope env;
    std::optional<docspace::file_info> file;  // current state, when the rule needs it
    std::optional<docspace::person> actor;
    rules::file_view view;  // what the rule is evaluated against

    std::optional<std::string> lookup(std::string_view name, const config::rule& rule) const {
        auto from_file = [&](auto get) -> std::optional<std::string> {
            if (!file) return std::nullopt;
            return get(*file);
        };
        if (name == "file.id") return file ? file->id : env.entry_id;
        if (name == "file.title") return file ? file->title : env.title;
        if (name == "file.folder_id") return file ? file->folder_id : env.parent_id;
        if (name == "file.web_url") return from_file([](const auto& f) { return f.web_url; });
        if (name == "file.version") return from_file([](const auto& f) { return std::to_string(f.version); });
        if (name == "file.ext") return from_file([](const auto& f) { return f.file_exst; });
        if (name == "file.size") return from_file([](const auto& f) { return std::to_string(f.size); });
        if (name == "actor.id") return env.created_by;
        if (name == "actor.name") return actor ? std::optional(actor->display_name) : std::nullopt;
        if (name == "actor.email") return actor ? std::optional(actor->email) : std::nullopt;
        if (name == "event.id") return env.event_id;
        if (name == "event.trigger") return env.trigger;
        if (name == "event.created_on") return env.created_on;
        if (name == "rule.name") return rule.name;
        if (name == "webhook.id") return env.webhook_id;
        if (name == "webhook.name") return env.webhook_name;
        return std::nullopt;
    }
};

}  // namespace

struct pool::impl : std::enable_shared_from_this<impl> {
    boost::asio::io_context& ctx;
    store::writer& writer;
    metrics::registry& registry;
    std::mutex runtime_mutex;
    std::shared_ptr<const runtime> rt;
    std::unique_ptr<docspace::client> client;
    std::unique_ptr<store::database> reader;  // event bodies, read on the worker thread
    rules::ancestry_cache ancestry{4096, 10 * 60 * 1000};
    struct cached_person {
        docspace::person p;
        std::int64_t at = 0;
    };
    std::unordered_map<std::string, cached_person> people;
    std::optional<std::string> self_id;
    // DocSpace reports a finished move or copy once, to whichever poll sees it first. When that is another
    // worker's (a resumed step waiting for every operation of ours), the report is kept here for the
    // operation's own worker, which would otherwise see it vanish.
    std::unordered_map<std::string, docspace::fileop> reported_elsewhere;
    std::deque<std::string> reported_order;
    std::mt19937_64 rng{std::random_device{}()};
    std::vector<std::unique_ptr<boost::asio::steady_timer>> timers;
    std::atomic<bool> stopping{false};
    std::atomic<bool> started{false};
    std::atomic<int> active{0};

    impl(boost::asio::io_context& c, store::writer& w, metrics::registry& r, std::shared_ptr<const runtime> runtime_)
        : ctx(c), writer(w), registry(r), rt(std::move(runtime_)) {}

    std::shared_ptr<const runtime> current() {
        std::lock_guard lock(runtime_mutex);
        return rt;
    }

    template <class Fn>
    awaitable<void> write(Fn fn) {
        co_await writer.async_run(std::move(fn), asio::use_awaitable);
    }

    void make_client(const config::settings& s) {
        client = std::make_unique<docspace::client>(ctx.get_executor(), docspace::client_settings::from(s.docspace));
        count_docspace_requests(*client, registry);
    }

    // ---- loops -------------------------------------------------------------------------------------

    awaitable<void> worker_loop(std::size_t index) {
        auto& timer = *timers[index];
        while (!stopping.load()) {
            const auto rt_now = current();
            const auto lease_ms = rt_now->settings->workers.lease_ms;
            std::optional<store::job> job;
            std::optional<std::int64_t> next;
            std::int64_t leased_at = 0;
            std::vector<store::step> steps;
            bool failed = false;
            try {
                // One transaction leases the job and creates its step rows.
                co_await write([&](store::database& db) {
                    auto now = clock::now_ms();
                    leased_at = now;
                    job = store::lease_next(db, now, lease_ms);
                    if (!job) {
                        next = store::next_due(db);
                        return;
                    }
                    if (auto idx = rt_now->matcher->find(job->rule))
                        steps = store::ensure_steps(db, job->id, action_kinds(rt_now->matcher->rule(*idx)), now);
                });
            } catch (const std::exception& e) {
                log::error("worker.lease_failed", {{"error", e.what()}});
                failed = true;
            }
            if (job) {
                co_await run_and_record(*job, std::move(steps));
                continue;
            }
            // Idle until the next job is due, a wake(), or a 1 s poll (jobs retried from the CLI).
            // next_due also counts jobs waiting behind an unfinished job of their file. One that was due at
            // the lease yet not leased is such a follower: it becomes leasable when its file's job finishes
            // (that worker leases again at once) or its retry comes due, so poll instead of leasing again
            // at once, which spun every idle worker through the writer for as long as the file's job ran.
            std::int64_t wait_ms = 1000;
            if (next && !failed && *next > leased_at) wait_ms = std::clamp<std::int64_t>(*next - clock::now_ms(), 0, 1000);
            if (wait_ms == 0) continue;
            timer.expires_after(std::chrono::milliseconds(wait_ms));
            co_await timer.async_wait(tuple_awaitable);
        }
    }

    // Once a second: expired leases become due again. Every retention.interval: old succeeded and skipped
    // jobs (and events left without jobs) are purged when retention.succeeded_after is set.
    awaitable<void> reaper_loop() {
        boost::asio::steady_timer t(ctx);
        std::int64_t last_purge = clock::now_ms();
        while (!stopping.load()) {
            t.expires_after(std::chrono::seconds(1));
            co_await t.async_wait(tuple_awaitable);
            if (stopping.load()) break;
            const auto retention = current()->settings->retention;
            if (retention.succeeded_after_ms > 0 && clock::now_ms() - last_purge >= retention.interval_ms) {
                last_purge = clock::now_ms();
                try {
                    store::purge_counts c;
                    co_await write([&](store::database& db) {
                        c = store::purge(db, {"succeeded", "skipped"}, last_purge - retention.succeeded_after_ms,
                                         last_purge - retention.dedup_window_ms);
                    });
                    if (c.jobs + c.events + c.forgotten > 0)
                        log::info("retention.purged", {{"jobs", c.jobs}, {"events", c.events}, {"forgotten", c.forgotten}});
                } catch (const std::exception& e) {
                    log::error("retention.purge_failed", {{"error", e.what()}});
                }
            }
            try {
                int n = 0;
                co_await write([&](store::database& db) { n = store::release_expired(db, clock::now_ms()); });
                if (n > 0) {
                    log::warn("jobs.leases_expired", {{"count", n}});
                    wake_all();
                }
            } catch (const std::exception& e) {
                log::error("worker.reaper_failed", {{"error", e.what()}});
            }
        }
    }

    void wake_all() {
        for (auto& t : timers) t->cancel();
    }

    // ---- one job -----------------------------------------------------------------------------------

    static std::vector<std::string> action_kinds(const config::rule& rule) {
        std::vector<std::string> kinds;
        for (const auto& a : rule.actions) kinds.emplace_back(config::to_string(a.kind));
        return kinds;
    }

    // The last step's record, written in the same transaction as the job's outcome.
    struct step_record {
        int idx = 0;
        std::string state, detail;
    };

    awaitable<void> run_and_record(const store::job& job, std::vector<store::step> steps) {
        const auto rt_now = current();
        const auto started_at = std::chrono::steady_clock::now();
        result r;
        bool released = false;
        std::optional<step_record> last_step;
        try {
            r = co_await run_job(job, *rt_now, std::move(steps), released, last_step);
        } catch (const std::exception& e) {
            r = retry(fmt::format("internal error: {}", e.what()));
        }
        if (released) co_return;
        const auto now = clock::now_ms();
        std::string state;
        std::optional<std::string> reason;
        switch (r.kind) {
        case result_kind::done: state = "succeeded"; break;
        case result_kind::skipped:
            state = "skipped";
            reason = r.detail;
            break;
        case result_kind::dead:
            state = "dead";
            reason = r.detail;
            break;
        case result_kind::retry:
            if (job.attempts >= job.max_attempts) {
                state = "dead";
                reason = fmt::format("gave up after {} attempts: {}", job.attempts, r.detail);
            } else {
                state = "retrying";
                reason = r.detail;
            }
            break;
        }
        std::int64_t run_at = now;
        if (state == "retrying") {
            const auto& w = rt_now->settings->workers;
            run_at = now + next_delay_ms({w.backoff_initial_ms, w.backoff_max_ms}, job.attempts, r.retry_after_ms, rng);
        }
        bool recorded = false;
        try {
            co_await write([&](store::database& db) {
                if (last_step)
                    store::finish_step(db, job.id, job.attempts, last_step->idx, last_step->state, last_step->detail, now);
                recorded = state == "retrying" ? store::schedule_retry(db, job.id, job.attempts, run_at, *reason, now)
                                               : store::finish_job(db, job.id, job.attempts, state, reason, now);
            });
        } catch (const std::exception& e) {
            // The lease will expire and the job run again; its finished steps are not repeated.
            log::error("job.record_failed", {{"job", job.id}, {"error", e.what()}});
            co_return;
        }
        if (!recorded) {
            log::warn("job.lease_lost", {{"job", job.id}, {"attempt", job.attempts}});
            co_return;
        }
        registry
            .get_counter("spacehook_job_runs_total", "Job attempts, by rule and outcome.",
                         {{"rule", job.rule}, {"result", state == "retrying" ? "retry" : state}})
            .inc();
        boost::json::object fields{{"job", job.id},
                                   {"rule", job.rule},
                                   {"state", state},
                                   {"attempt", job.attempts},
                                   {"ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::steady_clock::now() - started_at)
                                              .count()}};
        if (reason) fields["reason"] = *reason;
        if (state == "retrying") fields["retry_in_ms"] = run_at - now;
        if (state == "dead") log::error("job.finished", std::move(fields));
        else if (state == "retrying") log::warn("job.finished", std::move(fields));
        else log::info("job.finished", std::move(fields));
    }

    awaitable<result> run_job(const store::job& job, const runtime& rt_now, std::vector<store::step> steps, bool& released,
                              std::optional<step_record>& last_step) {
        const auto& s = *rt_now.settings;
        auto idx = rt_now.matcher->find(job.rule);
        if (!idx) co_return skipped(fmt::format("rule \"{}\" is no longer in the configuration", job.rule));
        const auto& rule = rt_now.matcher->rule(*idx);
        if (!client) make_client(s);

        auto ev = store::get_event(*reader, job.event_row);
        if (!ev) co_return dead(fmt::format("event row {} no longer exists", job.event_row));
        auto parsed = webhook::parse_envelope(ev->body);
        if (auto* why = std::get_if<std::string>(&parsed)) co_return dead("stored event is unreadable: " + *why);
        job_context jc;
        jc.job = &job;
        jc.lease_until = job.lease_until.value_or(0);
        jc.env = std::move(std::get<webhook::envelope>(parsed));
        jc.view = {jc.env.entry_id, jc.env.parent_id, jc.env.title};

        if (s.docspace.ignore_own_events && !jc.env.created_by.empty()) {
            if (!self_id) {
                auto me = co_await client->self();
                if (!me) co_return from_api(me.error());
                self_id = me->id;
                log::info("docspace.self", {{"user", *self_id}});
            }
            if (iequals(jc.env.created_by, *self_id))
                co_return skipped("the event was caused by spacehook's own DocSpace user (ignore_own_events)");
        }

        const auto& needs = rt_now.matcher->needs(*idx);
        const bool is_file = jc.env.entry_type == 2 || (jc.env.entry_type == 0 && jc.env.trigger.rfind("file.", 0) == 0);
        if (needs.file_info && is_file && !jc.env.entry_id.empty()) {
            auto fi = co_await client->file(jc.env.entry_id);
            if (!fi) {
                if (fi.error().status == 404)
                    co_return dead(fmt::format("file {} no longer exists (DocSpace answered 404)", jc.env.entry_id));
                co_return from_api(fi.error());
            }
            jc.file = std::move(*fi);
            jc.view = {jc.file->id, jc.file->folder_id, jc.file->title};
        }
        // A job with a step under way or finished was matched by an earlier attempt, and that decision stands:
        // matching it again would judge the rule against a world the job itself has changed (its move took
        // the file out of the room the rule watches), and skip the steps that are left.
        const bool begun = std::any_of(steps.begin(), steps.end(), [](const auto& st) { return st.state != "pending"; });
        if (!begun) {
            const rules::ancestry* anc = nullptr;
            rules::ancestry anc_copy;
            if (needs.ancestry && !jc.view.parent_id.empty()) {
                auto now = clock::now_ms();
                if (auto* hit = ancestry.get(jc.view.parent_id, now)) {
                    anc_copy = *hit;
                } else {
                    auto path = co_await client->folder_path(jc.view.parent_id);
                    if (!path) co_return from_api(path.error());
                    for (const auto& f : *path) anc_copy.push_back(f.id);
                    ancestry.put(jc.view.parent_id, anc_copy, now);
                }
                anc = &anc_copy;
            }
            auto v = rt_now.matcher->evaluate(*idx, jc.env.trigger, jc.view, anc);
            if (!v) co_return skipped(v.reason);
        }

        const auto kinds = action_kinds(rule);
        if (steps.empty())  // the rule appeared by a reload between lease and now
            co_await write([&](store::database& db) { steps = store::ensure_steps(db, job.id, kinds, clock::now_ms()); });
        if (steps.size() != kinds.size() ||
            !std::equal(steps.begin(), steps.end(), kinds.begin(), [](const auto& st, const auto& k) { return st.action == k; }))
            co_return dead("the rule's actions changed since this job first ran; run `spacehook events replay` to apply the new rule");

        // One upload, one effect: DocSpace sends file.created and file.uploaded for one API upload. A rule
        // that moves the file is done once the file sits in its destination, so the second event's job
        // (which runs after the first, same file key) is skipped instead of notifying twice. Only a job that
        // has not begun: for one that has, the file may sit there because of its own move.
        if (!begun && jc.file)
            for (const auto& a : rule.actions)
                if (a.kind == action_kind::move && jc.file->folder_id == a.to_folder)
                    co_return skipped(fmt::format("file {} is already in folder {}: an earlier event moved it",
                                                  jc.file->id, a.to_folder));

        if (needs.actor && !jc.env.created_by.empty()) {
            auto p = co_await person(jc.env.created_by);
            if (!p && !p.error().permanent()) co_return from_api(p.error());
            if (p) jc.actor = *p;
        }

        for (auto& st : steps) {
            if (st.state == "done" || st.state == "skipped") continue;
            if (stopping.load()) {
                co_await write([&](store::database& db) { store::release_job(db, job.id, job.attempts, clock::now_ms()); });
                log::info("job.released", {{"job", job.id}, {"step", st.idx}});
                released = true;
                co_return retry("released at shutdown");
            }
            if (!co_await hold_lease(jc, s.workers.lease_ms)) co_return retry("lease lost while running");
            const auto& action = rule.actions[static_cast<std::size_t>(st.idx)];
            const auto& tmpl = rt_now.templates[*idx][static_cast<std::size_t>(st.idx)];
            auto t0 = std::chrono::steady_clock::now();
            result r = co_await run_step(job, st, action, tmpl, rule, jc, rt_now);
            registry
                .get_histogram("spacehook_action_seconds", "Time one action took, by kind.",
                               {{"action", std::string(config::to_string(action.kind))}})
                .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            if (r.kind == result_kind::done || r.kind == result_kind::skipped) {
                std::string state = r.kind == result_kind::done ? "done" : "skipped";
                if (&st == &steps.back()) {  // recorded together with the job's outcome
                    last_step = step_record{st.idx, state, r.detail};
                    break;
                }
                bool held = false;
                co_await write([&](store::database& db) {
                    held = store::finish_step(db, job.id, job.attempts, st.idx, state, r.detail, clock::now_ms());
                });
                if (!held) co_return retry("lease lost while running");
                continue;
            }
            r.detail = fmt::format("step {} ({}): {}", st.idx + 1, config::to_string(action.kind), r.detail);
            co_return r;
        }
        co_return done("");
    }

    awaitable<docspace::outcome<docspace::person>> person(const std::string& id) {
        auto now = clock::now_ms();
        if (auto it = people.find(id); it != people.end() && now - it->second.at < 10 * 60 * 1000) co_return it->second.p;
        auto p = co_await client->person_by_id(id);
        if (p) people[id] = {*p, now};
        co_return p;
    }

    // Extends the job's lease when half of it has passed; false when it was lost (taken over after expiry).
    awaitable<bool> hold_lease(job_context& jc, std::int64_t lease_ms) {
        const auto now = clock::now_ms();
        if (jc.lease_until - now >= lease_ms / 2) co_return true;
        bool held = false;
        co_await write([&](store::database& db) {
            held = store::extend_lease(db, jc.job->id, jc.job->attempts, now + lease_ms, now);
        });
        if (held) jc.lease_until = now + lease_ms;
        co_return held;
    }

    // Marks the step started (before its effect is attempted, with `note` as its result) and forgets an earlier
    // operation id, in one write that holds only under this worker's lease.
    awaitable<bool> mark_started(const store::job& job, store::step& st, const std::string& note = {}) {
        bool held = false;
        co_await write([&](store::database& db) {
            held = store::finish_step(db, job.id, job.attempts, st.idx, "started", note, clock::now_ms()) &&
                   (!st.operation || store::set_step_operation(db, job.id, job.attempts, st.idx, std::nullopt, clock::now_ms()));
        });
        if (!held) co_return false;
        st.state = "started";
        st.result = note;
        st.operation.reset();
        co_return true;
    }

    // The destination's copies of a file titled `title`: files named so, or "stem (N).ext" as DocSpace names
    // a duplicate; id -> version.
    using copies = std::map<std::string, int>;
    static constexpr std::string_view copies_prefix = "destination before the copy:";

    awaitable<docspace::outcome<copies>> copies_in(const std::string& title, const config::entry_id& folder) {
        const auto dot = title.rfind('.');
        const auto stem = dot == std::string::npos || dot == 0 ? title : title.substr(0, dot);
        const auto ext = dot == std::string::npos || dot == 0 ? std::string() : title.substr(dot);
        auto files = co_await client->folder_files(folder, stem);
        if (!files) co_return files.error();
        copies out;
        for (const auto& f : *files) {
            bool numbered = f.title.size() > stem.size() + ext.size() + 3 && f.title.starts_with(stem + " (") &&
                            f.title.ends_with(")" + ext);
            if (numbered) {
                const auto digits = std::string_view(f.title).substr(stem.size() + 2, f.title.size() - stem.size() - ext.size() - 3);
                numbered = std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
            }
            if (f.title == title || numbered) out[f.id] = f.version;
        }
        co_return out;
    }

    static std::string format_copies(const copies& c) {
        std::string out(copies_prefix);
        for (const auto& [id, version] : c) out += fmt::format(" {}@v{}", id, version);
        return out;
    }

    static copies parse_copies(std::string_view text) {
        copies c;
        text.remove_prefix(std::min(text.size(), copies_prefix.size()));
        while (!text.empty()) {
            text.remove_prefix(std::min(text.find_first_not_of(' '), text.size()));
            const auto word = text.substr(0, text.find(' '));
            text.remove_prefix(word.size());
            if (auto at = word.rfind("@v"); at != std::string_view::npos)
                c[std::string(word.substr(0, at))] = std::atoi(std::string(word.substr(at + 2)).c_str());
        }
        return c;
    }

    // The copy a Duplicate or Overwrite operation made: a copy that is new, or whose version grew.
    static std::optional<std::string> copy_made(const copies& before, const copies& now) {
        for (const auto& [id, version] : now)
            if (auto it = before.find(id); it == before.end() || version > it->second) return id;
        return std::nullopt;
    }

    // A move or copy. The step is marked started before the PUT and keeps the operation's id once DocSpace
    // answers, so a resumed step first learns how the earlier operation ended (it may still be running)
    // and checks its effect, and issues the operation again only when it did not take effect.
    awaitable<result> run_fileop_step(const store::job& job, store::step& st, const config::action& a, job_context& jc,
                                      const runtime& rt_now) {
        if (!jc.file) co_return dead("move and copy need a file event (the payload is not a file)");
        const auto& ds = rt_now.settings->docspace;
        const auto lease_ms = rt_now.settings->workers.lease_ms;
        const bool is_move = a.kind == action_kind::move;
        const auto kind = is_move ? docspace::fileop_kind::move : docspace::fileop_kind::copy;
        const auto poll = std::chrono::milliseconds(ds.poll_interval_ms);
        const auto limit = std::chrono::milliseconds(ds.fileop_timeout_ms);
        if (is_move && jc.file->folder_id == a.to_folder) co_return done(fmt::format("already in folder {}", a.to_folder));

        const bool resumed = st.state == "started";
        if (resumed) {
            auto earlier = co_await settle_earlier_fileop(st, kind, jc, rt_now);
            if (!earlier) co_return from_api(earlier.error());
            if (*earlier) co_return fileop_outcome(**earlier, a, jc, true);
            if (is_move) {  // it ended unseen, or was never issued: the file's folder tells
                auto fi = co_await client->file(jc.file->id);
                if (!fi) co_return from_api(fi.error());
                jc.file = std::move(*fi);
                if (jc.file->folder_id == a.to_folder)
                    co_return done(fmt::format("moved to folder {} by an earlier attempt", a.to_folder));
            }
        }
        // Overwrite and Duplicate copies note the destination's copies of the file before the operation, so a
        // resumed step can tell whether its copy was made (a copy with Skip cannot be issued twice).
        const bool noted = !is_move && a.on_conflict != config::conflict::skip;
        std::string before;
        if (noted) {
            auto now = co_await copies_in(jc.file->title, a.to_folder);
            if (!now) co_return from_api(now.error());
            if (resumed && st.result && st.result->starts_with(copies_prefix)) {
                if (auto made = copy_made(parse_copies(*st.result), *now))
                    co_return done(fmt::format("copied to folder {} as file {} by an earlier attempt", a.to_folder, *made));
            }
            before = format_copies(*now);
        }
        // Issued (again) only under a held lease, with any earlier operation id forgotten first: a stale id
        // would let the next resume skip waiting for this operation.
        if (!co_await mark_started(job, st, before)) co_return retry("lease lost while running");
        // A Skip copy that may already have happened is issued again with Skip, so it cannot make a second
        // copy; an Overwrite or Duplicate copy was found not made above, and is issued as configured.
        const auto conflict = (!is_move && resumed && !noted) ? config::conflict::skip : a.on_conflict;
        auto op = co_await client->start_fileop(kind, jc.file->id, a.to_folder, conflict);
        if (!op) co_return from_api(op.error());
        if (!op->finished) {
            bool held = false;
            co_await write([&](store::database& db) {
                held = store::set_step_operation(db, job.id, job.attempts, st.idx, op->id, clock::now_ms());
            });
            if (!held) co_return retry("lease lost while running");
            st.operation = op->id;
        }
        auto r = co_await await_op(std::move(*op), poll, limit, jc, lease_ms);
        if (!r) co_return from_api(r.error());
        if (r->vanished) {
            if (!is_move) co_return retry("the copy operation vanished before it reported its result");
            auto fi = co_await client->file(jc.file->id);
            if (!fi) co_return from_api(fi.error());
            if (fi->folder_id == a.to_folder) {
                jc.file = std::move(*fi);
                co_return done(fmt::format("moved to folder {} (verified after the operation vanished)", a.to_folder));
            }
            co_return retry(fmt::format("the move operation vanished; the file is still in folder {}", fi->folder_id));
        }
        co_return fileop_outcome(r->op, a, jc, resumed);
    }

    // How the operation an earlier attempt of this step issued ended: its finished report, or nullopt when
    // it ended without one reaching us (DocSpace reports a finished operation once) or was never issued.
    // Without a recorded id (the PUT's answer never arrived) DocSpace may be running it right now, under an
    // id we cannot tie to the file: every unfinished operation of that kind of the API key's user is waited
    // for first, up to docspace.fileop_timeout_ms in all. (That user's own operations, made in DocSpace's UI,
    // are among them, and this listing consumes their finished reports.)
    awaitable<docspace::outcome<std::optional<docspace::fileop>>> settle_earlier_fileop(const store::step& st,
                                                                                        docspace::fileop_kind kind,
                                                                                        job_context& jc,
                                                                                        const runtime& rt_now) {
        using found = std::optional<docspace::fileop>;
        const auto& ds = rt_now.settings->docspace;
        const auto poll = std::chrono::milliseconds(ds.poll_interval_ms);
        const auto limit = std::chrono::milliseconds(ds.fileop_timeout_ms);
        const auto lease_ms = rt_now.settings->workers.lease_ms;
        if (st.operation) {
            docspace::fileop earlier;
            earlier.id = *st.operation;
            auto r = co_await await_op(std::move(earlier), poll, limit, jc, lease_ms);
            if (!r) co_return r.error();
            co_return r->vanished ? found() : found(std::move(r->op));
        }
        auto ops = co_await client->my_fileops();
        if (!ops) co_return ops.error();
        const int operation = kind == docspace::fileop_kind::copy ? 1 : 0;
        std::vector<docspace::fileop> running;
        for (auto& op : *ops) {  // first keep every finished report the listing consumed, for its own worker
            if (op.finished) keep_report(std::move(op));
            else if (op.operation == operation) running.push_back(std::move(op));
        }
        const auto until = std::chrono::steady_clock::now() + limit;
        for (auto& op : running) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;  // what still runs after that long is not waited for: check the effect
            auto r = co_await await_op(std::move(op), poll, left, jc, lease_ms);
            if (!r) {
                if (r.error().status == 0 && r.error().message == timed_out_message) break;
                co_return r.error();
            }
            if (!r->vanished) keep_report(std::move(r->op));  // another worker's, most likely
        }
        co_return found();
    }

    // Polls `op` until it is finished or vanished, up to `limit`, renewing the job's lease as it goes (a move
    // may take longer than workers.lease_ms). A report another worker's poll consumed is taken from
    // reported_elsewhere.
    awaitable<docspace::outcome<docspace::fileop_result>> await_op(docspace::fileop op, std::chrono::milliseconds poll,
                                                                   std::chrono::milliseconds limit, job_context& jc,
                                                                   std::int64_t lease_ms) {
        const auto until = std::chrono::steady_clock::now() + limit;
        const auto id = op.id;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
            auto r = co_await client->await_fileop(std::move(op), poll,
                                                   std::min(left, std::chrono::milliseconds(lease_ms / 3)));
            if (r && r->vanished)
                if (auto it = reported_elsewhere.find(id); it != reported_elsewhere.end()) {
                    r->op = std::move(it->second);
                    r->vanished = false;
                    reported_elsewhere.erase(it);
                }
            if (!r || !r->timed_out) co_return r;
            if (left <= std::chrono::milliseconds(lease_ms / 3)) {
                docspace::api_error e;
                e.endpoint = "files.fileops.status";
                e.message = std::string(timed_out_message);
                co_return e;
            }
            if (!co_await hold_lease(jc, lease_ms)) {
                docspace::api_error e;
                e.endpoint = "files.fileops.status";
                e.message = "lease lost while waiting for the operation";
                co_return e;
            }
            op = std::move(r->op);
        }
    }

    void keep_report(docspace::fileop op) {
        constexpr std::size_t max_kept = 4096;
        auto id = op.id;
        if (!reported_elsewhere.emplace(id, std::move(op)).second) return;
        reported_order.push_back(std::move(id));
        if (reported_order.size() > max_kept) {
            reported_elsewhere.erase(reported_order.front());
            reported_order.pop_front();
        }
    }

    // The result of a finished move or copy of jc.file. `after_resume`: the step had been started before, so
    // a copy that made no file found one by its name in the destination, most likely the earlier attempt's.
    static result fileop_outcome(const docspace::fileop& op, const config::action& a, job_context& jc, bool after_resume) {
        const bool is_move = a.kind == action_kind::move;
        if (!op.error.empty())
            return dead(fmt::format("DocSpace could not {} file {}: {}", is_move ? "move" : "copy", jc.file->id, op.error));
        if (is_move) {
            if (std::find(op.file_ids.begin(), op.file_ids.end(), jc.file->id) != op.file_ids.end()) {
                jc.file->folder_id = a.to_folder;
                return done(fmt::format("moved to folder {}", a.to_folder));
            }
            return skipped(fmt::format("not moved: folder {} already has a file named \"{}\" (on_conflict {})", a.to_folder,
                                       jc.file->title, config::to_string(a.on_conflict)));
        }
        if (!op.file_ids.empty()) return done(fmt::format("copied to folder {} as file {}", a.to_folder, op.file_ids.front()));
        if (after_resume) return done(fmt::format("copied to folder {} by an earlier attempt", a.to_folder));
        return skipped(fmt::format("not copied: folder {} already has a file named \"{}\" (on_conflict skip)", a.to_folder,
                                   jc.file->title));
    }

    awaitable<result> run_step(const store::job& job, store::step& st, const config::action& a, const action_templates& tmpl,
                               const config::rule& rule, job_context& jc, const runtime& rt_now) {
        auto render = [&](const rules::compiled_template& t) {
            auto out = rules::render(t, [&](std::string_view n) { return jc.lookup(n, rule); });
            if (!out.missing.empty()) {
                boost::json::array names;
                for (const auto& m : out.missing) names.emplace_back(m);
                log::warn("template.missing_values", {{"job", job.id}, {"names", std::move(names)}});
            }
            return std::move(out.text);
        };
        switch (a.kind) {
        case action_kind::move:
        case action_kind::copy: co_return co_await run_fileop_step(job, st, a, jc, rt_now);
        case action_kind::comment: {
            if (!jc.file) co_return dead("comment needs a file event (the payload is not a file)");
            auto text = render(tmpl.text);
            if (jc.file->comment == text) co_return done(fmt::format("version {} already has this comment", jc.file->version));
            auto r = co_await client->set_comment(jc.file->id, jc.file->version, text);
            if (!r) co_return from_api(r.error());
            jc.file->comment = text;
            co_return done(fmt::format("comment set on version {}", jc.file->version));
        }
        case action_kind::notify: {
            auto it = rt_now.channels.find(a.channel);
            if (it == rt_now.channels.end()) co_return dead(fmt::format("no channel named \"{}\"", a.channel));
            notify::message m;
            m.subject = render(tmpl.subject);
            m.body = render(tmpl.body);
            m.idempotency_key = fmt::format("spacehook-job-{}-step-{}", job.id, st.idx + 1);
            m.message_id = fmt::format("<{}@spacehook>", m.idempotency_key);
            auto channel = it->second;  // keeps the channel alive across a reload
            auto r = co_await channel->send(m);
            switch (r.kind) {
            case notify::outcome::sent: co_return done(fmt::format("sent via {}: {}", a.channel, r.detail));
            case notify::outcome::transient: co_return retry(fmt::format("{}: {}", a.channel, r.detail));
            case notify::outcome::permanent: co_return dead(fmt::format("{}: {}", a.channel, r.detail));
            }
        }
        }
        co_return dead("unknown action");
    }
};

void count_docspace_requests(docspace::client& c, metrics::registry& registry) {
    c.on_response = [&registry](std::string_view endpoint, unsigned status) {
        registry
            .get_counter("spacehook_docspace_requests_total", "DocSpace REST calls, by route and HTTP status (0 = no answer).",
                         {{"endpoint", std::string(endpoint)}, {"code", std::to_string(status)}})
            .inc();
    };
}

pool::pool(boost::asio::io_context& ctx, store::writer& writer, metrics::registry& registry, std::shared_ptr<const runtime> rt)
    : impl_(std::make_shared<impl>(ctx, writer, registry, std::move(rt))) {}

pool::~pool() { stop(); }

void pool::start() {
    auto self = impl_;
    if (self->started.exchange(true)) return;
    self->reader = std::make_unique<store::database>(self->writer.path(), store::open_options{.read_only = true});
    const auto n = self->current()->settings->workers.concurrency;
    for (unsigned i = 0; i < n; ++i) self->timers.push_back(std::make_unique<boost::asio::steady_timer>(self->ctx));
    auto on_done = [self](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                log::error("worker.crashed", {{"error", ex.what()}});
            }
        }
        self->active.fetch_sub(1);
    };
    self->active.store(static_cast<int>(n) + 1);
    for (unsigned i = 0; i < n; ++i) boost::asio::co_spawn(self->ctx, self->worker_loop(i), on_done);
    boost::asio::co_spawn(self->ctx, self->reaper_loop(), on_done);
    log::info("workers.started", {{"concurrency", n}});
}

void pool::wake() {
    auto self = impl_;
    boost::asio::post(self->ctx, [self] { self->wake_all(); });
}

void pool::reload(std::shared_ptr<const runtime> rt) {
    std::lock_guard lock(impl_->runtime_mutex);
    impl_->rt = std::move(rt);
}

void pool::stop() {
    auto self = impl_;
    if (self->stopping.exchange(true)) return;
    boost::asio::post(self->ctx, [self] { self->wake_all(); });
}

bool pool::stopped() const { return impl_->active.load() == 0; }

bool pool::running() const { return impl_->started.load() && !impl_->stopping.load() && impl_->active.load() > 0; }

}  // namespace spacehook::worker
