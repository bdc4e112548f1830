#include "spacehook/service/app.hpp"
#include "spacehook/service/database.hpp"

#include "admin_ui.hpp"
#include "ingest.hpp"
#include "spacehook/config/load.hpp"
#include "spacehook/core/clock.hpp"
#include "spacehook/core/log.hpp"
#include "spacehook/core/thread_name.hpp"
#include "spacehook/docspace/client.hpp"
#include "spacehook/http/server.hpp"
#include "spacehook/metrics/registry.hpp"
#include "spacehook/service/backfill.hpp"
#include "spacehook/store/jobs.hpp"
#include "spacehook/store/queue.hpp"
#include "spacehook/worker/pool.hpp"
#include "spacehook/worker/runtime.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

namespace spacehook::service {

namespace {

// One `serve` per database: the lock file is held (flock) for the life of the process, so leases left in
// the database at start-up belong to a process that is gone.
class instance_lock {
public:
    explicit instance_lock(const std::string& db_path) {
        auto path = db_path + ".lock";
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0) throw std::runtime_error(fmt::format("cannot open lock file {}: {}", path, std::strerror(errno)));
        if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            ::close(fd_);
            throw std::runtime_error(
                fmt::format("another spacehook serve is using {} (lock {} is held)", db_path, path));
        }
    }
    ~instance_lock() {
        if (fd_ >= 0) ::close(fd_);
    }
    instance_lock(const instance_lock&) = delete;
    instance_lock& operator=(const instance_lock&) = delete;

private:
    int fd_ = -1;
};

// Settings read once at start: a reload that changes them says so instead of ignoring them silently.
std::vector<std::string> restart_needed(const config::settings& cur, const config::settings& next) {
    std::vector<std::string> out;
    auto check = [&](bool changed, const char* name) {
        if (changed) out.emplace_back(name);
    };
    const auto &a = cur.server, &b = next.server;
    check(a.threads != b.threads, "server.threads");
    check(a.max_connections != b.max_connections, "server.max_connections");
    check(a.max_body_bytes != b.max_body_bytes, "server.max_body_bytes");
    check(a.max_header_bytes != b.max_header_bytes, "server.max_header_bytes");
    check(a.max_buffered_body_bytes != b.max_buffered_body_bytes, "server.max_buffered_body_bytes");
    check(a.header_timeout_ms != b.header_timeout_ms, "server.header_timeout_ms");
    check(a.request_timeout_ms != b.request_timeout_ms, "server.request_timeout_ms");
    check(cur.workers.concurrency != next.workers.concurrency, "workers.concurrency");
    check(cur.database.busy_timeout_ms != next.database.busy_timeout_ms, "database.busy_timeout_ms");
    check(cur.database.checkpoint_pages != next.database.checkpoint_pages, "database.checkpoint_pages");
    return out;
}

unsigned thread_count(unsigned configured) {
    if (configured) return configured;
    unsigned n = std::thread::hardware_concurrency();
    return n ? n : 1;
}

// Runs `a` to completion on an io_context of its own, on this thread: for start-up, before any loop runs.
template <class T>
T run_now(awaitable<T> a) {
    asio::io_context io{1};
    T out;
    std::exception_ptr error;
    asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
        error = e;
        out = std::move(v);
    });
    io.run();
    if (error) std::rethrow_exception(error);
    return out;
}

}  // namespace

struct app::impl {
    config::settings settings;
    app_options options;
    std::unique_ptr<instance_lock> lock;
    std::unique_ptr<store::queue> queue;  // what ingestion, workers, backfill and the gauges use
    metrics::registry registry;
    front_door door;
    delivery_history history;        // for the admin UI's overview
    backfill_status backfill_state;  // likewise
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
    std::vector<std::thread> threads;
    // After the contexts and before the server: destroyed after the server and before the contexts its thread posts to.
    std::unique_ptr<admin_ui> admin;
    std::unique_ptr<http::server> server;
    asio::io_context worker_ctx{1};
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> worker_guard;
    std::thread worker_thread;
    // Refreshes the job gauges every gauge_interval, off the I/O threads (counting jobs by state reads every
    // job: too slow for a scrape at a million jobs).
    std::thread gauges_thread;
    std::mutex gauges_mutex;
    std::condition_variable gauges_cv;
    bool gauges_stop = false;
    static constexpr std::chrono::seconds gauge_interval{5};
    std::unique_ptr<worker::pool> workers;
    // The pool the PostgreSQL queue's listener thread wakes; the mutex is held while it calls wake(), so clearing
    // the pointer under it means no call is under way.
    std::mutex wake_mutex;
    worker::pool* wake_target = nullptr;
    void set_wake_target(worker::pool* p) {
        std::lock_guard lock(wake_mutex);
        wake_target = p;
    }

    std::mutex stop_mutex;
    std::condition_variable stop_cv;
    bool stop_requested = false;
    bool stopped = false;

    void start();
    void shutdown();
    awaitable<void> backfill_loop();
    void collect_db_gauges();
    void stop_gauges() {
        {
            std::lock_guard lock(gauges_mutex);
            gauges_stop = true;
        }
        gauges_cv.notify_all();
        if (gauges_thread.joinable()) gauges_thread.join();
    }
};

void app::impl::start() {
    const auto& s = settings;
    if (s.database.postgresql()) {
        // Any number of instances share the database (docs/contract.md §7): no instance lock. A delivery that
        // another instance's transaction turned into jobs wakes the workers through LISTEN/NOTIFY.
        queue = open_queue(s.database, [this] {
            std::lock_guard lock(wake_mutex);
            if (wake_target) wake_target->wake();
        });
    } else {
        auto dir = std::filesystem::path(s.database.path).parent_path();
        if (!dir.empty() && !std::filesystem::is_directory(dir))
            throw std::runtime_error(fmt::format("database directory {} does not exist", dir.string()));
        if (options.take_instance_lock) lock = std::make_unique<instance_lock>(s.database.path);
        queue = open_queue(s.database);
    }
    if (auto released = run_now(queue->release_abandoned()); !released)
        throw std::runtime_error("cannot release the jobs a previous run left running: " + released.error().message);
    else if (*released > 0)
        log::info("jobs.leases_released", {{"count", *released}});

    registry.get_gauge("spacehook_build_info", "Build information.", {{"version", SPACEHOOK_VERSION}}).set(1);
    collect_db_gauges();
    gauges_thread = std::thread([this] {
        name_this_thread("sh-gauges");
        std::unique_lock lock(gauges_mutex);
        while (!gauges_cv.wait_for(lock, gauge_interval, [this] { return gauges_stop; })) {
            lock.unlock();
            collect_db_gauges();
            lock.lock();
        }
    });

    auto shared_settings = std::make_shared<const config::settings>(settings);
    door.routes.store(make_routing(shared_settings));
    door.queue = queue.get();
    door.registry = &registry;
    door.m = std::make_unique<front_metrics>(registry);

    for (const auto& w : config::security_warnings(s)) log::warn("config.warning", {{"warning", w}});

    if (options.run_workers) {
        workers = std::make_unique<worker::pool>(worker_ctx, *queue, registry, worker::build_runtime(shared_settings));
        door.on_jobs_created = [w = workers.get()] { w->wake(); };
        set_wake_target(workers.get());
        door.workers_ready = [w = workers.get()] { return w->running(); };
        worker_guard.emplace(asio::make_work_guard(worker_ctx));
        workers->start();
        if (!s.docspace.base_url.empty()) {  // the loop checks docspace.backfill at every turn (SIGHUP)
            asio::co_spawn(worker_ctx, backfill_loop(), [](std::exception_ptr e) {
                if (!e) return;
                try {
                    std::rethrow_exception(e);
                } catch (const boost::system::system_error& ex) {
                    if (ex.code() != asio::error::operation_aborted) log::error("backfill.crashed", {{"error", ex.what()}});
                } catch (const std::exception& ex) {
                    log::error("backfill.crashed", {{"error", ex.what()}});
                }
            });
        }
        worker_thread = std::thread([this] {
            name_this_thread("sh-workers");
            worker_ctx.run();
        });
    }

    unsigned n = thread_count(s.server.threads);
    std::vector<asio::io_context*> raw;
    for (unsigned i = 0; i < n; ++i) {
        contexts.push_back(std::make_unique<asio::io_context>(1));
        guards.push_back(asio::make_work_guard(*contexts.back()));
        raw.push_back(contexts.back().get());
    }
    http::server_options so;
    so.max_body_bytes = s.server.max_body_bytes;
    so.max_header_bytes = s.server.max_header_bytes;
    so.header_timeout = std::chrono::milliseconds(s.server.header_timeout_ms);
    so.request_timeout = std::chrono::milliseconds(s.server.request_timeout_ms);
    so.max_connections = s.server.max_connections;
    so.max_buffered_body_bytes = s.server.max_buffered_body_bytes;
    if (s.server.tls.enabled()) so.tls = http::make_server_tls(s.server.tls.cert_file, s.server.tls.key_file);
    door.history = &history;
    admin = std::make_unique<admin_ui>(admin_ui::wiring{.routes = &door.routes,
                                                        .history = &history,
                                                        .backfill = &backfill_state,
                                                        .wake_workers = door.on_jobs_created,
                                                        .tls = s.server.tls.enabled()});
    door.admin = admin.get();
    so.on_rejected = [m = door.m.get(), h = &history](unsigned status) {
        if (status == 413) m->too_large.inc();
        if (status == 503) m->unavailable.inc();
        if (status == 413) h->add(delivery_history::refused, clock::now_ms());
    };
    server = std::make_unique<http::server>(raw, so, [this](http::request& req) { return door.handle(req); });
    // Registered after the server exists; /metrics is served by it, so it never runs after server.reset().
    registry.on_collect([this] {
        const auto& st = server->stats();
        registry.get_gauge("spacehook_http_connections", "Open client connections.")
            .set(static_cast<double>(st.connections_open.load()));
        registry
            .get_gauge("spacehook_http_body_bytes_buffered",
                       "Bytes of request bodies being received, claimed from server.max_buffered_body_bytes.")
            .set(static_cast<double>(st.buffered_body_bytes.load()));
    });
    std::string host;
    std::uint16_t port = 0;
    if (!http::split_host_port(s.server.listen, host, port))
        throw std::runtime_error(fmt::format("server.listen \"{}\" is not host:port", s.server.listen));
    try {
        server->listen(host, port);
    } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("cannot listen on {}: {}", s.server.listen, e.what()));
    }
    server->start();
    for (auto& ctx : contexts)
        threads.emplace_back([c = ctx.get()] {
            name_this_thread("sh-http");
            c->run();
        });
    log::info("serve.started", {{"listen", fmt::format("{}:{}", host, server->port())},
                                {"tls", s.server.tls.enabled()},
                                {"threads", n},
                                {"webhooks", s.webhooks.size()},
                                {"rules", s.rules.size()},
                                {"database", s.database.display()},
                                {"version", SPACEHOOK_VERSION}});
}

// A pass at start-up, then one every docspace.backfill.interval, with the configuration of the moment (a
// SIGHUP may change the rules, the paths, the interval, the horizon or the DocSpace connection; `false`
// there pauses it).
awaitable<void> app::impl::backfill_loop() {
    asio::steady_timer timer(worker_ctx);
    std::unique_ptr<backfiller> bf;
    docspace::client_settings made_with;
    bool first_pass = true;
    for (;;) {
        auto r = door.routes.load();
        const auto& b = r->settings->docspace.backfill;
        if (auto wanted = config::docspace_client(r->settings->docspace); !bf || wanted != made_with) {
            bf = std::make_unique<backfiller>(worker_ctx.get_executor(), r->settings->docspace, *queue, &registry);
            made_with = std::move(wanted);
        }
        if (b.enabled) {
            // Several instances on one PostgreSQL database take turns: one pass per interval between them. The pass
            // at start-up runs whatever the others did (it is the one that recovers what this instance missed
            // while it was down; its inserts are idempotent).
            const std::string turn_name = "backfill_turn";  // named: no temporary in a co_await (GCC 12)
            auto turn = co_await queue->claim_turn(turn_name, b.interval_ms * 9 / 10);
            if (first_pass || (turn && *turn)) {
                auto rep = co_await bf->run(*r->settings, *r->matcher, {.since_ms = clock::now_ms() - b.horizon_ms});
                if (rep.ingested > 0 && workers) workers->wake();
                backfill_state.set({clock::now_ms(), std::move(rep)});
            } else if (turn) {
                log::debug("backfill.turn_taken", {{"reason", "another instance ran a pass within the interval"}});
            } else {
                log::warn("backfill.turn_unknown", {{"error", turn.error().message}});
            }
            first_pass = false;
        }
        timer.expires_after(std::chrono::milliseconds(b.interval_ms));
        co_await timer.async_wait(asio::use_awaitable);
    }
}

void app::impl::collect_db_gauges() {
    auto g = queue->read_gauges();
    if (!g) {
        log::warn("metrics.collect_failed", {{"error", g.error().message}});
        return;
    }
    for (const auto& [state, n] : g->jobs_by_state)
        registry.get_gauge("spacehook_jobs", "Jobs by state.", {{"state", std::string(store::to_string(state))}})
            .set(static_cast<double>(n));
    double oldest = 0;
    if (g->next_due_ms) oldest = std::max<double>(0, static_cast<double>(clock::now_ms() - *g->next_due_ms) / 1000.0);
    registry.get_gauge("spacehook_queue_oldest_seconds", "How long the most overdue pending job has been due.")
        .set(oldest);
    if (g->wal) {
        registry.get_gauge("spacehook_sqlite_wal_pages", "Pages in SQLite's write-ahead log after the last commit.")
            .set(g->wal->pages);
        // Totals kept by the writer, carried over as counters.
        auto carry = [&](const char* by, std::uint64_t total) {
            auto& c = registry.get_counter("spacehook_sqlite_checkpoints_total",
                                           "SQLite checkpoints, by the thread that ran them (checkpointer, writer).",
                                           {{"thread", by}});
            if (total > c.value()) c.inc(total - c.value());
        };
        carry("checkpointer", g->wal->background_checkpoints);
        carry("writer", g->wal->writer_checkpoints);
    }
}

void app::impl::shutdown() {
    log::info("serve.stopping", {});
    server->stop();
    // In-flight requests finish (their commits included); idle keep-alive connections were closed.
    if (!server->wait_idle(std::chrono::milliseconds(settings.server.request_timeout_ms) + std::chrono::seconds(1)))
        log::warn("serve.drain_timed_out", {{"connections", server->stats().connections_open.load()}});
    guards.clear();
    for (auto& ctx : contexts) ctx->stop();
    for (auto& t : threads) t.join();
    threads.clear();
    server.reset();
    if (workers) {
        // Running jobs finish their current step and give their lease back; past the grace period the
        // worker thread is stopped and the leases are released at the next start.
        // The grace period of the configuration in force (a SIGHUP may have changed it).
        const auto grace_ms = door.routes.load()->settings->workers.shutdown_grace_ms;
        workers->stop();
        if (!workers->wait_stopped(std::chrono::milliseconds(grace_ms)))
            log::warn("workers.grace_expired", {{"grace_ms", grace_ms}});
        worker_guard.reset();
        worker_ctx.stop();
        worker_thread.join();
        set_wake_target(nullptr);
        workers.reset();
    }
    stop_gauges();
    queue.reset();  // its writer runs what is queued, then closes the database
    log::info("serve.stopped", {});
}

app::app(config::settings settings, app_options options) : impl_(std::make_unique<impl>()) {
    impl_->settings = std::move(settings);
    impl_->options = options;
    try {
        impl_->start();
    } catch (...) {
        impl_->set_wake_target(nullptr);
        impl_->guards.clear();
        for (auto& ctx : impl_->contexts) ctx->stop();
        for (auto& t : impl_->threads) t.join();
        if (impl_->worker_thread.joinable()) {
            impl_->worker_guard.reset();
            impl_->worker_ctx.stop();
            impl_->worker_thread.join();
        }
        impl_->stop_gauges();
        impl_->queue.reset();  // its threads post to the contexts and wake the pool: before those go
        throw;
    }
}

app::~app() {
    stop();
    wait();
}

std::uint16_t app::port() const { return impl_->server ? impl_->server->port() : 0; }

void app::stop() {
    {
        std::lock_guard lock(impl_->stop_mutex);
        impl_->stop_requested = true;
    }
    impl_->stop_cv.notify_all();
}

void app::wait() {
    std::unique_lock lock(impl_->stop_mutex);
    impl_->stop_cv.wait(lock, [&] { return impl_->stop_requested; });
    if (impl_->stopped) return;
    impl_->stopped = true;
    lock.unlock();
    impl_->shutdown();
}

std::vector<std::string> app::reload(config::settings next) {
    std::vector<std::string> refused;
    const auto& cur = impl_->settings;
    if (next.server.listen != cur.server.listen) refused.push_back("server.listen cannot change without a restart");
    if (next.database.path != cur.database.path || next.database.url != cur.database.url ||
        next.database.pool != cur.database.pool)
        refused.push_back("database cannot change without a restart");
    if (next.server.tls.enabled() != cur.server.tls.enabled())
        refused.push_back("server.tls cannot be switched on or off without a restart");
    if (!refused.empty()) return refused;
    // Certificate rotation: the files are re-read on every reload (they may have been replaced in place).
    std::shared_ptr<boost::asio::ssl::context> tls;
    if (next.server.tls.enabled()) {
        try {
            tls = http::make_server_tls(next.server.tls.cert_file, next.server.tls.key_file);
        } catch (const std::exception& e) {
            return {e.what()};
        }
    }
    auto shared = std::make_shared<const config::settings>(std::move(next));
    std::shared_ptr<const worker::runtime> rt;
    try {
        rt = worker::build_runtime(shared);
    } catch (const std::exception& e) {
        return {e.what()};
    }
    // impl_->settings stays what the service started with: the values above and those below keep applying
    // until a restart; everything else is read from the routing (ingestion, backfill, shutdown) or the
    // runtime (workers) in force.
    for (const auto& name : restart_needed(cur, *shared))
        log::warn("serve.reload_needs_restart", {{"setting", name}, {"advice", "the old value applies until a restart"}});
    impl_->door.routes.store(make_routing(shared));
    if (tls) impl_->server->set_tls(std::move(tls));
    if (impl_->workers) impl_->workers->reload(std::move(rt));
    log::info("serve.reloaded", {});
    return refused;
}

}  // namespace spacehook::service
