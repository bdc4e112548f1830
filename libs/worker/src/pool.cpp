#include "spacehook/worker/pool.hpp"

#include "docspace_reads.hpp"
#include "job_runner.hpp"
#include "spacehook/core/clock.hpp"
#include "spacehook/core/log.hpp"
#include "spacehook/docspace/client.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/worker/backoff.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>

#include <fmt/format.h>

namespace spacehook::worker {
namespace {

// The job's transition for how its attempt ended: retry becomes retrying with backoff (or dead when out of
// attempts), done succeeded.
store::job_end end_of(const store::job& job, attempt_end a, const config::worker_settings& w, std::mt19937_64& rng,
                      std::int64_t now) {
    store::job_end end;
    end.last_step = std::move(a.last_step);
    auto& r = a.r;
    switch (r.kind) {
    case result_kind::done: end.state = store::job_state::succeeded; break;
    case result_kind::skipped: end.state = store::job_state::skipped; end.reason = std::move(r.detail); break;
    case result_kind::dead: end.state = store::job_state::dead; end.reason = std::move(r.detail); break;
    case result_kind::retry:
        if (job.attempts >= job.max_attempts) {
            end.state = store::job_state::dead;
            end.reason = fmt::format("gave up after {} attempts: {}", job.attempts, r.detail);
        } else {
            end.state = store::job_state::retrying;
            end.reason = std::move(r.detail);
            end.run_at = now + next_delay_ms({w.backoff_initial_ms, w.backoff_max_ms}, job.attempts, r.retry_after_ms, rng);
        }
        break;
    }
    return end;
}

}  // namespace

struct pool::impl : std::enable_shared_from_this<impl> {
    asio::io_context& ctx;
    store::queue& queue;
    metrics::registry& registry;
    std::mutex runtime_mutex;
    std::shared_ptr<const runtime> rt;
    std::shared_ptr<docspace_reads> docspace;  // made at the first job, again when a reload changes it
    std::mt19937_64 rng{std::random_device{}()};
    std::vector<std::unique_ptr<asio::steady_timer>> timers;
    std::atomic<bool> stopping{false};
    std::atomic<bool> started{false};
    std::mutex active_mutex;
    std::condition_variable active_cv;
    int active = 0;  // coroutines still running, under active_mutex

    impl(asio::io_context& c, store::queue& q, metrics::registry& r, std::shared_ptr<const runtime> runtime_)
        : ctx(c), queue(q), registry(r), rt(std::move(runtime_)) {}

    std::shared_ptr<const runtime> current() {
        std::lock_guard lock(runtime_mutex);
        return rt;
    }

    // A store call's answer, or nullopt with the failure logged as `what`.
    template <class T>
    static std::optional<T> logged(store::result<T> r, std::string_view what) {
        if (r) return std::move(*r);
        log::error(what, {{"error", r.error().message}, {"transient", r.error().transient()}});
        return std::nullopt;
    }

    // Idle workers wait on their timers; `idle` lists them, the most recently idle last (ctx only). A wake-up
    // rouses one of them: one that leases a job hands the wake-up on (wake_one again), so a burst of jobs fans
    // out over the idle workers one lease at a time, and a single job costs one lease that finds it and at most
    // one that finds nothing, not one per idle worker. A wake-up that finds no worker idle is kept
    // (`wake_pending`) for the next worker about to go idle, which leases once more instead: its empty lease may
    // have run just before the transaction that made the job.
    std::vector<std::size_t> idle;
    bool wake_pending = false;

    void wake_one() {
        if (idle.empty()) {
            wake_pending = true;
            return;
        }
        const auto i = idle.back();
        idle.pop_back();
        timers[i]->cancel();
    }

    void wake_all() {
        idle.clear();
        for (auto& t : timers) t->cancel();
    }

    // ---- loops -------------------------------------------------------------------------------------

    awaitable<void> worker_loop(std::size_t index) {
        auto& timer = *timers[index];
        while (!stopping.load()) {
            const auto rt_now = current();
            store::queue::step_names names = [rt = rt_now](const store::job& j) {
                std::vector<std::string> out;
                if (auto idx = rt->matcher->find(j.rule))
                    for (const auto& a : rt->matcher->rule(*idx).actions) out.emplace_back(rules::to_string(a.kind));
                return out;
            };
            auto r = co_await queue.lease_next(rt_now->settings->workers.lease_ms, std::move(names));
            const bool ok = static_cast<bool>(r);
            auto found = logged(std::move(r), "worker.lease_failed");
            if (found && found->leased) {
                wake_one();
                co_await run_and_record(*rt_now, *found->leased, std::move(found->steps));
                continue;
            }
            if (wake_pending) {
                wake_pending = false;
                continue;
            }
            if (stopping.load()) break;
            // Idle until the next job is due, a wake(), or a 1 s poll (jobs retried from the CLI).
            // next_due also counts jobs waiting behind an unfinished job of their file. One that was due at
            // the lease yet not leased is such a follower: it becomes leasable when its file's job finishes
            // (that worker leases again at once) or its retry comes due, so poll instead of leasing again
            // at once, which spun every idle worker through the writer for as long as the file's job ran.
            std::int64_t wait_ms = 1000;
            if (ok && found->next_due && *found->next_due > found->at)
                wait_ms = std::clamp<std::int64_t>(*found->next_due - clock::now_ms(), 0, 1000);
            if (wait_ms == 0) continue;
            timer.expires_after(std::chrono::milliseconds(wait_ms));
            idle.push_back(index);
            co_await timer.async_wait(tuple_awaitable);
            if (auto it = std::find(idle.begin(), idle.end(), index); it != idle.end()) idle.erase(it);  // timed out
        }
    }

    // Once a second: expired leases become due again. Every retention.interval: old succeeded and skipped
    // jobs (and events left without jobs) are purged when retention.succeeded_after is set.
    awaitable<void> reaper_loop() {
        asio::steady_timer t(ctx);
        std::int64_t last_purge = clock::now_ms();
        // A turn at start-up, then one a second. (Starting with a turn also makes every type the turn uses
        // known to UBSan's vptr cache early: a first check later, with the descriptors exhausted, aborts the
        // sanitizer build; hostile_test.)
        for (bool first = true; !stopping.load(); first = false) {
            if (!first) {
                t.expires_after(std::chrono::seconds(1));
                co_await t.async_wait(tuple_awaitable);
                if (stopping.load()) break;
            }
            const auto retention = current()->settings->retention;
            if (retention.succeeded_after_ms > 0 && clock::now_ms() - last_purge >= retention.interval_ms) {
                last_purge = clock::now_ms();
                const std::vector<store::job_state> finished{store::job_state::succeeded, store::job_state::skipped};
                auto r = co_await queue.purge(finished, last_purge - retention.succeeded_after_ms,
                                              last_purge - retention.dedup_window_ms);
                if (auto c = logged(std::move(r), "retention.purge_failed"); c && c->jobs + c->events + c->forgotten > 0)
                    log::info("retention.purged", {{"jobs", c->jobs}, {"events", c->events}, {"forgotten", c->forgotten}});
            }
            auto r = co_await queue.release_expired();
            if (auto n = logged(std::move(r), "worker.reaper_failed"); n && *n > 0) {
                log::warn("jobs.leases_expired", {{"count", *n}});
                wake_all();
            }
        }
    }

    // ---- one job -----------------------------------------------------------------------------------

    awaitable<void> run_and_record(const runtime& rt_now, const store::job& job, std::vector<store::step> steps) {
        const auto started_at = std::chrono::steady_clock::now();
        auto ds = docspace_for(rt_now);  // this attempt's, even if a reload replaces it meanwhile
        attempt_end a;
        try {
            a = co_await run_attempt({queue, *ds, registry, stopping}, rt_now, job, std::move(steps));
        } catch (const std::exception& e) {
            a = attempt_end{retry(fmt::format("internal error: {}", e.what()))};
        }
        if (a.released) co_return;
        const auto now = clock::now_ms();
        const auto end = end_of(job, std::move(a), rt_now.settings->workers, rng, now);
        auto r = co_await queue.finish_job(store::lease_of(job), end);
        const auto recorded = logged(std::move(r), "job.record_failed");
        if (!recorded) co_return;  // the lease will expire and the job run again; its finished steps are not repeated
        if (!*recorded) {
            log::warn("job.lease_lost", {{"job", job.id}, {"attempt", job.attempts}});
            co_return;
        }
        const auto state = store::to_string(end.state);
        const bool retrying = end.state == store::job_state::retrying;
        registry
            .get_counter("spacehook_job_runs_total", "Job attempts, by rule and outcome.",
                         {{"rule", job.rule}, {"result", std::string(retrying ? "retry" : state)}})
            .inc();
        boost::json::object fields{{"job", job.id},
                                   {"rule", job.rule},
                                   {"state", state},
                                   {"attempt", job.attempts},
                                   {"ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::steady_clock::now() - started_at)
                                              .count()}};
        if (end.reason) fields["reason"] = *end.reason;
        if (retrying) fields["retry_in_ms"] = end.run_at - now;
        if (end.state == store::job_state::dead) log::error("job.finished", std::move(fields));
        else if (retrying) log::warn("job.finished", std::move(fields));
        else log::info("job.finished", std::move(fields));
    }

    std::shared_ptr<docspace_reads> docspace_for(const runtime& rt_now) {
        auto wanted = config::docspace_client(rt_now.settings->docspace);
        if (!docspace || docspace->settings() != wanted) {
            if (docspace) log::info("docspace.client_replaced", {{"base_url", wanted.base_url}});
            docspace = std::make_shared<docspace_reads>(ctx.get_executor(), std::move(wanted));
            count_docspace_requests(docspace->client(), registry);
        }
        return docspace;
    }

    void coroutine_ended(std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                log::error("worker.crashed", {{"error", ex.what()}});
            }
        }
        std::lock_guard lock(active_mutex);
        if (--active == 0) active_cv.notify_all();
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

pool::pool(asio::io_context& ctx, store::queue& queue, metrics::registry& registry, std::shared_ptr<const runtime> rt)
    : impl_(std::make_shared<impl>(ctx, queue, registry, std::move(rt))) {}

pool::~pool() { stop(); }

void pool::start() {
    auto self = impl_;
    if (self->started.exchange(true)) return;
    const auto n = self->current()->settings->workers.concurrency;
    for (unsigned i = 0; i < n; ++i) self->timers.push_back(std::make_unique<asio::steady_timer>(self->ctx));
    auto on_done = [self](std::exception_ptr e) { self->coroutine_ended(e); };
    {
        std::lock_guard lock(self->active_mutex);
        self->active = static_cast<int>(n) + 1;
    }
    for (unsigned i = 0; i < n; ++i) asio::co_spawn(self->ctx, self->worker_loop(i), on_done);
    asio::co_spawn(self->ctx, self->reaper_loop(), on_done);
    log::info("workers.started", {{"concurrency", n}});
}

void pool::wake() {
    auto self = impl_;
    asio::post(self->ctx, [self] { self->wake_one(); });
}

void pool::reload(std::shared_ptr<const runtime> rt) {
    std::lock_guard lock(impl_->runtime_mutex);
    impl_->rt = std::move(rt);
}

void pool::stop() {
    auto self = impl_;
    if (self->stopping.exchange(true)) return;
    asio::post(self->ctx, [self] { self->wake_all(); });
}

bool pool::stopped() const {
    std::lock_guard lock(impl_->active_mutex);
    return impl_->active == 0;
}

bool pool::wait_stopped(std::chrono::milliseconds grace) {
    std::unique_lock lock(impl_->active_mutex);
    return impl_->active_cv.wait_for(lock, grace, [&] { return impl_->active == 0; });
}

bool pool::running() const {
    if (!impl_->started.load() || impl_->stopping.load()) return false;
    std::lock_guard lock(impl_->active_mutex);
    return impl_->active > 0;
}

}  // namespace spacehook::worker
